/*
 * The "window" image driver: a block device that is the byte range
 * [off, off + len) of another image, i.e. a partition of a disk.  Reads,
 * writes and block status are forwarded to the base image shifted by off;
 * the framework checks every request against the window size and the base
 * image checks it again against the disk size.  A write succeeds only when
 * the base accepts writes (a copy-on-write overlay): a window over a
 * read-only image is as read-only as it.
 *
 * Also here: layouts (vmie_image_layout), the list of runs of top-level
 * images a device's bytes come from, by which inspection recognises
 * partitions and volumes that alias the same bytes.
 */
#include "part.h"
#include "part_int.h"
#include "../core/budget.h"
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

/* Writes pass through to the base image (an overlay, when a guest is
 * changed), only inside the window: a partition cannot write over its
 * neighbours or the partition table. */
static int window_pwrite(struct vmie_image *img, const void *buf, size_t len,
			 uint64_t off, struct vmie_err *err)
{
	struct window *w = img->priv;
	uint64_t at;
	if (vmie_range_outside(off, len, img->size) ||
	    vmie_add_u64(off, w->off, &at))
		return VMIE_ERR(err, VMIE_ERANGE, "%s: write of %zu bytes at "
				"%llu outside the partition", img->name, len,
				(unsigned long long)off);
	return vmie_image_pwrite(w->base, buf, len, at, err);
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
	.pwrite = window_pwrite,
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

int part_mapped_pwrite(struct vmie_image *img, part_locate_fn locate,
		       const void *buf, size_t len, uint64_t off,
		       struct vmie_err *err)
{
	const uint8_t *p = buf;
	while (len) {
		struct vmie_image *dev;
		uint64_t at, run;
		int r = locate(img, off, len, &dev, &at, &run, err);
		if (!r)
			r = vmie_image_pwrite(dev, p, (size_t)run, at, err);
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

/* ---- layouts ---- */

#define LAYOUT_MAX_DEPTH 8

static uint64_t layout_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

static int layout_push(struct vmie_layout *l, const struct vmie_layout_rec *rec,
		       struct vmie_err *err)
{
	struct vmie_layout_rec *p = l->n ? &l->r[l->n - 1] : NULL;
	if (rec->disk && p && !l->barrier && p->disk == rec->disk &&
	    p->off + p->len == rec->off) {
		p->len += rec->len;         /* off + len <= the disk size */
		return 0;
	}
	l->barrier = false;
	if (l->n >= VMIE_LAYOUT_MAX_RECS)
		return VMIE_ERR(err, VMIE_ELIMIT, "layout: more than %u pieces",
				VMIE_LAYOUT_MAX_RECS);
	int r = vmie_budget_entries(l->budget, 1, "layout: volume pieces", err);
	if (r)
		return r;
	if (l->n == l->cap) {
		unsigned nc = l->cap ? l->cap * 2 : 4;
		r = vmie_budget_alloc(l->budget, (uint64_t)(nc - l->cap) *
				      sizeof *l->r, "layout: volume pieces", err);
		if (r)
			return r;
		void *a = realloc(l->r, (size_t)nc * sizeof *l->r);
		if (!a) {
			vmie_budget_release(l->budget, (uint64_t)(nc - l->cap) *
					    sizeof *l->r);
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		}
		l->r = a;
		l->cap = nc;
	}
	l->r[l->n++] = *rec;
	return 0;
}

int part_layout_stripes(struct vmie_layout *l, uint64_t off, uint64_t len,
			uint64_t chunk, unsigned n, struct vmie_err *err)
{
	const struct vmie_layout_rec h = { NULL, off, len, chunk, n };
	int r = layout_push(l, &h, err);
	l->barrier = true;
	return r;
}

void part_layout_barrier(struct vmie_layout *l)
{
	l->barrier = true;
}

int part_layout_walk(struct vmie_layout *l, struct vmie_image *img,
		     uint64_t off, uint64_t len, unsigned depth,
		     struct vmie_err *err)
{
	int r;
	if (depth > LAYOUT_MAX_DEPTH)
		return VMIE_ERR(err, VMIE_ELIMIT, "layout: %s: devices nested "
				"more than %u deep", img->name, LAYOUT_MAX_DEPTH);
	if (!len)
		return 0;
	if (vmie_range_outside(off, len, img->size))
		return VMIE_ERR(err, VMIE_ERANGE, "layout: %s: [%llu, +%llu) "
				"is outside the device", img->name,
				(unsigned long long)off,
				(unsigned long long)len);
	if (img->drv == &window_driver) {
		const struct window *w = img->priv;
		return part_layout_walk(l, w->base, w->off + off, len,
					depth + 1, err);
	}
	r = part_lvm_layout(l, img, off, len, depth, err);
	if (r != 1)
		return r;
	r = part_ldm_layout(l, img, off, len, depth, err);
	if (r != 1)
		return r;
	const struct vmie_layout_rec rec = { img, off, len, 0, 0 };
	return layout_push(l, &rec, err);
}

int vmie_image_layout(struct vmie_image *dev, struct vmie_layout *out,
		      struct vmie_err *err)
{
	int r;
	memset(out, 0, sizeof *out);
	out->budget = dev->budget;
	r = part_layout_walk(out, dev, 0, dev->size, 0, err);
	if (r) {
		vmie_layout_free(out);
		return r;
	}
	out->hash = layout_mix(0, out->n);
	for (unsigned i = 0; i < out->n; i++) {
		const struct vmie_layout_rec *x = &out->r[i];
		out->hash = layout_mix(out->hash, (uint64_t)(uintptr_t)x->disk);
		out->hash = layout_mix(out->hash, x->off);
		out->hash = layout_mix(out->hash, x->len);
		out->hash = layout_mix(out->hash, x->chunk);
		out->hash = layout_mix(out->hash, x->n);
	}
	/* byte 0: the first run, or column 0 of a stripe set read from its
	 * start */
	if (out->n && out->r[0].disk) {
		out->start_disk = out->r[0].disk;
		out->start_off = out->r[0].off;
	} else if (out->n > 1 && !out->r[0].off && out->r[1].disk) {
		out->start_disk = out->r[1].disk;
		out->start_off = out->r[1].off;
	}
	return 0;
}

void vmie_layout_free(struct vmie_layout *l)
{
	if (!l)
		return;
	free(l->r);
	vmie_budget_release(l->budget, (uint64_t)l->cap * sizeof *l->r);
	memset(l, 0, sizeof *l);
}

bool vmie_layout_equal(const struct vmie_layout *a,
		       const struct vmie_layout *b)
{
	if (a->n != b->n || a->hash != b->hash)
		return false;
	for (unsigned i = 0; i < a->n; i++) {
		const struct vmie_layout_rec *x = &a->r[i], *y = &b->r[i];
		if (x->disk != y->disk || x->off != y->off || x->len != y->len ||
		    x->chunk != y->chunk || x->n != y->n)
			return false;
	}
	return true;
}
