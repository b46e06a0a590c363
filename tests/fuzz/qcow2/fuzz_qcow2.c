/* libFuzzer target for the qcow2 reader: open (forced qcow2, info only so
 * images with a backing file are parsed too), info, the refcount check, a
 * block-status walk and reads spread over the disk, including compressed
 * clusters.  Everything is bounded: the input is small, the walk and the
 * reads are capped, so a huge virtual size costs nothing. */
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_open_opts o = { .format = "qcow2", .info_only = true };
	if (vmie_src_open_mem(data, size, false, "fuzz.qcow2", &s, &e))
		return 0;
	/* the probe must not crash either */
	(void)vmie_image_probe(s, &e);
	if (vmie_image_open_src(s, &o, &img, &e)) {
		vmie_src_unref(s);
		return 0;
	}
	struct vmie_image_info in;
	(void)vmie_image_info(img, &in, &e);
	struct vmie_check_result cr;
	(void)vmie_image_check(img, &cr, &e);

	uint64_t off = 0;
	for (int i = 0; i < 256 && off < img->size; i++) {
		uint64_t n;
		unsigned st;
		if (vmie_image_block_status(img, off, img->size - off, &n, &st,
					    &e))
			break;
		off += n;
	}
	enum { LEN = 70000 };
	uint8_t *buf = malloc(LEN);
	if (buf && img->size) {
		/* the start, some spread offsets, the end */
		for (int i = 0; i < 16; i++) {
			uint64_t at = img->size / 16 * (uint64_t)i;
			size_t len = LEN;
			if (i == 0)
				at = 0;
			if (at >= img->size)
				break;
			if (len > img->size - at)
				len = (size_t)(img->size - at);
			(void)vmie_image_pread(img, buf, len, at, &e);
		}
		size_t len = img->size < 1000 ? (size_t)img->size : 1000;
		(void)vmie_image_pread(img, buf, len, img->size - len, &e);
	}
	free(buf);
	vmie_image_close(img);
	vmie_src_unref(s);
	return 0;
}
