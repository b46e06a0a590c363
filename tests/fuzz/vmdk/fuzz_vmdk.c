/* libFuzzer target for the VMDK driver: open the input as a memory source
 * with the vmdk driver (sparse, stream-optimized or a descriptor file), read
 * a few ranges, ask block status, info and check, close.  Built as a real
 * fuzzer with -Dfuzz=true (clang), and always as a corpus replay test. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_open_opts o = { .format = "vmdk", .info_only = true };
	static uint8_t buf[256 * 1024];

	if (vmie_src_open_mem(data, size, false, "fuzz.vmdk", &s, &e))
		return 0;
	if (vmie_image_open_src(s, &o, &img, &e)) {
		vmie_src_unref(s);
		return 0;
	}
	vmie_src_unref(s);
	uint64_t offs[] = { 0, img->size / 2, img->size > sizeof buf ?
			    img->size - sizeof buf : 0, 65536 - 100 };
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		uint64_t off = offs[i];
		if (off >= img->size)
			continue;
		size_t len = img->size - off < sizeof buf ?
			     (size_t)(img->size - off) : sizeof buf;
		vmie_image_pread(img, buf, len, off, &e);
		uint64_t pnum;
		unsigned st;
		vmie_image_block_status(img, off, img->size - off, &pnum, &st,
					&e);
	}
	struct vmie_image_info in;
	vmie_image_info(img, &in, &e);
	if (size < (1u << 20)) {
		struct vmie_check_result cr;
		vmie_image_check(img, &cr, &e);
	}
	vmie_image_close(img);
	return 0;
}
