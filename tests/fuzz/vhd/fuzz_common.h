/*
 * Shared by the VHD and VHDX fuzz targets: turn a fuzz input into the bytes
 * of an image file, open it with one driver and exercise every entry point.
 *
 * Real VHDX files (and dynamic VHDs with 2 MiB blocks) are megabytes of
 * mostly zeros, too big for a corpus, so an input may be a sparse image:
 *   "VMIEFZ1\n", u32le file size, then records of
 *   u32le offset, u16le length, length bytes
 * (zeros elsewhere; file size capped at 32 MiB).  Any other input is the
 * file itself.  tests/fuzz/vhd/mkcorpus.py writes the sparse form.
 */
#ifndef VMIE_FUZZ_VHD_COMMON_H
#define VMIE_FUZZ_VHD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "image/image.h"

#define FUZZ_SPARSE_MAGIC "VMIEFZ1\n"
#define FUZZ_MAX_FILE (32u << 20)

static uint8_t *fuzz_expand(const uint8_t *data, size_t size, size_t *out_len,
			    bool *owned)
{
	*owned = false;
	if (size < 12 || memcmp(data, FUZZ_SPARSE_MAGIC, 8)) {
		*out_len = size;
		return (uint8_t *)data;
	}
	uint32_t fsize = vmie_le32(data + 8);
	if (fsize > FUZZ_MAX_FILE)
		fsize = FUZZ_MAX_FILE;
	uint8_t *f = calloc(1, fsize ? fsize : 1);
	if (!f)
		return NULL;
	for (size_t p = 12; p + 6 <= size;) {
		uint32_t off = vmie_le32(data + p);
		uint16_t len = vmie_le16(data + p + 4);
		p += 6;
		if (len > size - p)
			len = (uint16_t)(size - p);
		if (off < fsize) {
			size_t n = fsize - off < len ? fsize - off : len;
			memcpy(f + off, data + p, n);
		}
		p += len;
	}
	*owned = true;
	*out_len = fsize;
	return f;
}

static void fuzz_image(const uint8_t *data, size_t size, const char *fmt)
{
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_open_opts o = { .format = fmt, .info_only = true };
	static uint8_t buf[256 * 1024];
	size_t flen;
	bool owned;
	uint8_t *file = fuzz_expand(data, size, &flen, &owned);

	if (!file)
		return;
	if (vmie_src_open_mem(file, flen, owned, "fuzz", &s, &e)) {
		if (owned)
			free(file);
		return;
	}
	if (vmie_image_open_src(s, &o, &img, &e)) {
		vmie_src_unref(s);
		return;
	}
	vmie_src_unref(s);
	uint64_t offs[] = { 0, img->size / 2, img->size > sizeof buf ?
			    img->size - sizeof buf : 0, (1u << 20) - 100 };
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		uint64_t off = offs[i], pnum;
		unsigned st;
		if (off >= img->size)
			continue;
		size_t len = img->size - off < sizeof buf ?
			     (size_t)(img->size - off) : sizeof buf;
		vmie_image_pread(img, buf, len, off, &e);
		vmie_image_block_status(img, off, img->size - off, &pnum, &st,
					&e);
	}
	struct vmie_image_info in;
	vmie_image_info(img, &in, &e);
	struct vmie_check_result cr;
	vmie_image_check(img, &cr, &e);
	vmie_image_close(img);
}

#endif
