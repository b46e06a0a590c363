/*
 * The "window" image driver: a block device that is the byte range
 * [off, off + len) of another image, i.e. a partition of a disk.  Reads and
 * block status are forwarded to the base image shifted by off; the
 * framework checks every request against the window size and the base
 * image checks it again against the disk size.
 */
#include "part.h"
#include "part_int.h"
#include "../core/checked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct window {
	struct vmie_image *base;
	uint64_t off;
};

static int window_pread(struct vmie_image *img, void *buf, size_t len,
			uint64_t off, struct vmie_err *err)
{
	struct window *w = img->priv;
	uint64_t at;
	if (vmie_range_outside(off, len, img->size) ||
	    vmie_add_u64(off, w->off, &at))
		return VMIE_ERR(err, VMIE_ERANGE, "%s: read of %zu bytes at %llu "
				"outside the partition", img->name, len,
				(unsigned long long)off);
	return vmie_image_pread(w->base, buf, len, at, err);
}

static int window_block_status(struct vmie_image *img, uint64_t off,
			       uint64_t max_len, uint64_t *pnum,
			       unsigned *status, struct vmie_err *err)
{
	struct window *w = img->priv;
	if (off >= img->size)
		return VMIE_ERR(err, VMIE_ERANGE, "%s: block status past the "
				"end of the partition", img->name);
	if (max_len > img->size - off)
		max_len = img->size - off;
	return vmie_image_block_status(w->base, w->off + off, max_len, pnum,
				       status, err);
}

static int window_info(struct vmie_image *img, struct vmie_image_info *info,
		       struct vmie_err *err)
{
	struct window *w = img->priv;
	(void)err;
	vmie_info_add(info, "base", "%s", w->base->name);
	vmie_info_add(info, "offset", "%llu", (unsigned long long)w->off);
	return 0;
}

static void window_close(struct vmie_image *img)
{
	free(img->priv);
	img->priv = NULL;
}

static const struct vmie_image_driver window_driver = {
	.name = "window",
	.description = "a byte range of another image (a partition)",
	.pread = window_pread,
	.block_status = window_block_status,
	.info = window_info,
	.close = window_close,
};

int vmie_image_window(struct vmie_image *base, uint64_t off, uint64_t len,
		      const char *name, struct vmie_image **out,
		      struct vmie_err *err)
{
	struct vmie_image *img = NULL;
	struct window *w = NULL;
	char def[96];
	int r = 0;

	*out = NULL;
	if (!base)
		return VMIE_ERR(err, VMIE_EINVAL, "window: no base image");
	if (vmie_range_outside(off, len, base->size))
		return VMIE_ERR(err, VMIE_ERANGE, "%s: partition [%llu, +%llu) "
				"runs past the end of the disk (%llu bytes)",
				name ? name : base->name,
				(unsigned long long)off,
				(unsigned long long)len,
				(unsigned long long)base->size);
	if (!name) {
		snprintf(def, sizeof def, "%.60s@%llu", base->name,
			 (unsigned long long)off);
		name = def;
	}
	img = calloc(1, sizeof *img);
	w = calloc(1, sizeof *w);
	if (!img || !w || !(img->name = strdup(name))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "window: out of memory");
		goto out;
	}
	w->base = base;
	w->off = off;
	img->drv = &window_driver;
	img->src = base->src;
	if (img->src)
		vmie_src_ref(img->src);
	img->size = len;
	img->priv = w;
	vmie_image_share_budget(img, base, true);
	snprintf(img->subformat, sizeof img->subformat, "%s", "partition");
	*out = img;
	img = NULL;
	w = NULL;
out:
	if (img)
		free(img->name);
	free(img);
	free(w);
	return r;
}

/* ---- volumes mapped onto pieces of other images (LVM, LDM) ---- */

int part_mapped_pread(struct vmie_image *img, part_locate_fn locate,
		      void *buf, size_t len, uint64_t off,
		      struct vmie_err *err)
{
	uint8_t *p = buf;
	while (len) {
		struct vmie_image *dev;
		uint64_t at, run;
		int r = locate(img, off, len, &dev, &at, &run, err);
		if (!r)
			r = vmie_image_pread(dev, p, (size_t)run, at, err);
		if (r)
			return r;
		p += run;
		off += run;
		len -= (size_t)run;
	}
	return 0;
}

int part_mapped_block_status(struct vmie_image *img, part_locate_fn locate,
			     uint64_t off, uint64_t max_len, uint64_t *pnum,
			     unsigned *status, struct vmie_err *err)
{
	struct vmie_image *dev;
	uint64_t at, run;
	int r = locate(img, off, max_len, &dev, &at, &run, err);
	if (r)
		return r;
	return vmie_image_block_status(dev, at, run, pnum, status, err);
}
