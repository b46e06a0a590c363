/* Content comparison of two images of any formats (like qemu-img compare):
 * runs both report as zero are not read. */
#include "image.h"
#include "../core/checked.h"
#include "../core/util.h"

#include <stdlib.h>
#include <string.h>

#define CMP_CHUNK ((size_t)1 << 20)

/* Whether [off, off+len) reads as zeros per block status.  *known_end
 * caches the end of the last run the image reported (zero or data), so a
 * long run is asked about once, not once per chunk. */
struct zrun {
	uint64_t end;
	bool zero;
};

static int range_is_zero(struct vmie_image *img, uint64_t off, uint64_t len,
			 struct zrun *run, bool *zero, struct vmie_err *err)
{
	uint64_t pnum;
	unsigned st;
	if (off < run->end && (!run->zero || off + len <= run->end)) {
		*zero = run->zero && off + len <= run->end;
		return 0;
	}
	int r = vmie_image_block_status(img, off, img->size - off, &pnum, &st, err);
	if (r)
		return r;
	run->end = off + pnum;
	run->zero = (st & VMIE_BS_ZERO) && !(st & VMIE_BS_DATA);
	*zero = run->zero && pnum >= len;
	return 0;
}

static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return n;
}

static size_t first_nonzero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return i;
	return n;
}

int vmie_compare(struct vmie_image *a, struct vmie_image *b, bool strict_size,
		 uint64_t *differ_at, struct vmie_err *err)
{
	uint8_t *ba = malloc(CMP_CHUNK), *bb = malloc(CMP_CHUNK);
	uint64_t common = vmie_min_u64(a->size, b->size), off = 0;
	struct zrun ra = { 0 }, rb = { 0 };
	int r = 0;
	*differ_at = UINT64_MAX;
	if (!ba || !bb) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (strict_size && a->size != b->size) {
		*differ_at = common;
		goto out;
	}
	while (off < common) {
		size_t n = (size_t)vmie_min_u64(CMP_CHUNK, common - off);
		bool za, zb;
		if ((r = range_is_zero(a, off, n, &ra, &za, err)) ||
		    (r = range_is_zero(b, off, n, &rb, &zb, err)))
			goto out;
		if (za && zb) {
			off += n;
			continue;
		}
		if (!za && (r = vmie_image_pread(a, ba, n, off, err)))
			goto out;
		if (za)
			memset(ba, 0, n);
		if (!zb && (r = vmie_image_pread(b, bb, n, off, err)))
			goto out;
		if (zb)
			memset(bb, 0, n);
		if (memcmp(ba, bb, n)) {
			*differ_at = off + first_diff(ba, bb, n);
			goto out;
		}
		off += n;
	}
	/* the tail of the larger image must read as zeros */
	struct vmie_image *big = a->size > b->size ? a : b;
	struct zrun *rbig = a->size > b->size ? &ra : &rb;
	while (off < big->size) {
		size_t n = (size_t)vmie_min_u64(CMP_CHUNK, big->size - off);
		bool z;
		if ((r = range_is_zero(big, off, n, rbig, &z, err)))
			goto out;
		if (!z) {
			if ((r = vmie_image_pread(big, ba, n, off, err)))
				goto out;
			size_t i = first_nonzero(ba, n);
			if (i < n) {
				*differ_at = off + i;
				goto out;
			}
		}
		off += n;
	}
out:
	free(ba);
	free(bb);
	return r;
}
