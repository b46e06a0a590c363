/*
 * LVM2 physical volumes, volume groups and logical volumes, read from the
 * on-disk format only (no lvm2 tools, no device-mapper): the PV label in
 * one of the first four sectors, the PV header with its data and metadata
 * areas, the metadata-area header with its raw location descriptors, the
 * text metadata (parsed by lvm_text.c), and the "lvm" image driver that
 * maps an LV's bytes onto its PVs.  Layouts and sources: part_disk.h.
 *
 * Volume groups are assembled across all the devices given (the disks of
 * one VM): PVs are matched by UUID, the metadata copy with the highest
 * seqno wins, and LVs whose PVs are all present are exposed as images.
 * Linear and striped segments are supported; other segment types (thin,
 * raid, mirror, snapshot, cache...) are reported with an error.
 *
 * Every number from the metadata is checked: extent size, extent counts
 * and stripe ranges against the PV sizes, and counts of PVs, LVs,
 * segments and stripes against the LVM_MAX_* limits below.
 */
#include "part.h"
#include "part_disk.h"
#include "part_int.h"
#include "../core/budget.h"
#include "../core/checked.h"
#include "../core/endian.h"
#include "../core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LVM_MAX_DEVS        1024
#define LVM_MAX_MDAS        4                 /* per PV */
#define LVM_MAX_TEXT        ((uint64_t)8 << 20)
#define LVM_MAX_VGS         64
#define LVM_MAX_PVS         1024              /* per VG */
#define LVM_MAX_LVS         4096              /* in all */
#define LVM_MAX_SEGS        65536             /* per LV */
#define LVM_MAX_STRIPES     128
#define LVM_MAX_EXTENT      ((int64_t)1 << 32) /* sectors: 2 TiB */

enum { LVM_NONE = 0, LVM_FOUND = 1, LVM_BAD = 2 };

struct lvm_label {
	char uuid[LVM_ID_LEN + 1];
	uint64_t dev_size;
	unsigned n_mda;
	uint64_t mda_off[LVM_MAX_MDAS], mda_size[LVM_MAX_MDAS];
	bool usable;
};

static void lvm_warn(struct vmie_lvm *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lvm_warn(struct vmie_lvm *l, const char *fmt, ...)
{
	va_list ap;
	if (l->n_warnings >= VMIE_PT_MAX_WARN) {
		vmie_strlcpy(l->warnings[VMIE_PT_MAX_WARN - 1],
			     "(more warnings not shown)", sizeof l->warnings[0]);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(l->warnings[l->n_warnings], sizeof l->warnings[0], fmt, ap);
	va_end(ap);
	l->n_warnings++;
}

/* ---- label and PV header ---- */

static int lvm_label_read(struct vmie_image *dev, struct lvm_label *lb,
			  char *why, size_t why_len, struct vmie_err *err)
{
	uint8_t s[LVM_SECTOR];
	memset(lb, 0, sizeof *lb);
	for (unsigned i = 0; i < LVM_LABEL_SCAN_SECTORS; i++) {
		uint64_t at = (uint64_t)i * LVM_SECTOR;
		uint32_t off;
		unsigned p, list = 0, n;
		int r;
		if (vmie_range_outside(at, LVM_SECTOR, dev->size))
			break;
		r = vmie_image_pread(dev, s, sizeof s, at, err);
		if (r)
			return r;
		if (memcmp(s + LVM_L_ID, LVM_LABEL_ID, 8))
			continue;
		if (vmie_le64(s + LVM_L_SECTOR) != i) {
			snprintf(why, why_len, "label in sector %u says it is "
				 "in sector %llu", i, (unsigned long long)
				 vmie_le64(s + LVM_L_SECTOR));
			return LVM_BAD;
		}
		if (lvm_crc(LVM_INITIAL_CRC, s + LVM_L_OFFSET,
			    LVM_SECTOR - LVM_L_OFFSET) != vmie_le32(s + LVM_L_CRC)) {
			snprintf(why, why_len, "label in sector %u: CRC "
				 "mismatch", i);
			return LVM_BAD;
		}
		if (memcmp(s + LVM_L_TYPE, LVM_LABEL_TYPE, 8)) {
			snprintf(why, why_len, "label in sector %u: type is "
				 "not \"LVM2 001\"", i);
			return LVM_BAD;
		}
		off = vmie_le32(s + LVM_L_OFFSET);
		if (off < 0x20 || off > LVM_SECTOR - LVM_PVH_AREAS -
		    2 * LVM_DISK_LOCN_LEN) {
			snprintf(why, why_len, "label in sector %u: PV header "
				 "offset %u out of range", i, off);
			return LVM_BAD;
		}
		for (unsigned k = 0; k < LVM_ID_LEN; k++) {
			char c = (char)s[off + LVM_PVH_UUID + k];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z'))) {
				snprintf(why, why_len, "PV header: UUID has a "
					 "bad character at %u", k);
				return LVM_BAD;
			}
			lb->uuid[k] = c;
		}
		lb->dev_size = vmie_le64(s + off + LVM_PVH_DEV_SIZE);
		/* two zero-terminated lists: data areas, then metadata */
		n = 0;
		for (p = off + LVM_PVH_AREAS; p + LVM_DISK_LOCN_LEN <= LVM_SECTOR;
		     p += LVM_DISK_LOCN_LEN) {
			uint64_t o = vmie_le64(s + p);
			uint64_t sz = vmie_le64(s + p + 8);
			if (!o) {
				if (++list == 2)
					break;
				n = 0;
				continue;
			}
			if (list == 1 && n < LVM_MAX_MDAS) {
				lb->mda_off[n] = o;
				lb->mda_size[n] = sz;
				lb->n_mda = ++n;
			}
		}
		if (list < 2) {
			snprintf(why, why_len, "PV header: area lists are not "
				 "terminated inside the label sector");
			return LVM_BAD;
		}
		lb->usable = true;
		return LVM_FOUND;
	}
	return LVM_NONE;
}

bool vmie_lvm_is_pv(struct vmie_image *dev)
{
	struct lvm_label lb;
	char why[160];
	return dev && lvm_label_read(dev, &lb, why, sizeof why, NULL) ==
		      LVM_FOUND;
}

/* ---- metadata area ---- */

/* The current metadata text of the area at [start, +size).  Returns
 * LVM_NONE (no metadata: an orphan PV or an ignored area), LVM_FOUND with
 * *text (NUL-terminated) or LVM_BAD with why. */
static int lvm_mda_text(struct vmie_image *dev, uint64_t start, uint64_t size,
			char **text, size_t *len, char *why, size_t why_len,
			struct vmie_err *err)
{
	uint8_t h[LVM_MDA_HEADER_LEN];
	uint64_t msize, off, tlen, first;
	uint32_t crc, flags;
	char *t;
	int r;

	*text = NULL;
	if (vmie_range_outside(start, LVM_MDA_HEADER_LEN, dev->size)) {
		snprintf(why, why_len, "metadata area at %llu is past the end "
			 "of the device", (unsigned long long)start);
		return LVM_BAD;
	}
	r = vmie_image_pread(dev, h, sizeof h, start, err);
	if (r)
		return r;
	if (memcmp(h + LVM_MDA_MAGIC, LVM_MDA_MAGIC_STR, 16)) {
		snprintf(why, why_len, "metadata area at %llu: bad magic",
			 (unsigned long long)start);
		return LVM_BAD;
	}
	if (lvm_crc(LVM_INITIAL_CRC, h + LVM_MDA_MAGIC,
		    LVM_MDA_HEADER_LEN - LVM_MDA_MAGIC) != vmie_le32(h)) {
		snprintf(why, why_len, "metadata area at %llu: header CRC "
			 "mismatch", (unsigned long long)start);
		return LVM_BAD;
	}
	if (vmie_le32(h + LVM_MDA_VERSION) != 1 ||
	    vmie_le64(h + LVM_MDA_START) != start) {
		snprintf(why, why_len, "metadata area at %llu: unknown version "
			 "or wrong start", (unsigned long long)start);
		return LVM_BAD;
	}
	/* The area may run past the end of a truncated device; only the
	 * text itself must be there (checked below). */
	msize = vmie_le64(h + LVM_MDA_SIZE);
	if (msize <= LVM_MDA_HEADER_LEN || (size && msize != size) ||
	    vmie_range_outside(start, msize, UINT64_MAX)) {
		snprintf(why, why_len, "metadata area at %llu: size %llu is "
			 "invalid", (unsigned long long)start,
			 (unsigned long long)msize);
		return LVM_BAD;
	}
	off = vmie_le64(h + LVM_MDA_LOCNS);
	tlen = vmie_le64(h + LVM_MDA_LOCNS + 8);
	crc = vmie_le32(h + LVM_MDA_LOCNS + 16);
	flags = vmie_le32(h + LVM_MDA_LOCNS + 20);
	if (!off || (flags & LVM_RLOCN_IGNORED))
		return LVM_NONE;
	if (off < LVM_MDA_HEADER_LEN || off >= msize || !tlen ||
	    tlen > msize - LVM_MDA_HEADER_LEN || tlen > LVM_MAX_TEXT) {
		snprintf(why, why_len, "metadata area at %llu: text location "
			 "%llu+%llu is invalid", (unsigned long long)start,
			 (unsigned long long)off, (unsigned long long)tlen);
		return LVM_BAD;
	}
	/* the text is a circular buffer after the header */
	first = vmie_min_u64(tlen, msize - off);
	if (vmie_range_outside(start + off, first, dev->size) ||
	    vmie_range_outside(start + LVM_MDA_HEADER_LEN, tlen - first,
			       dev->size)) {
		snprintf(why, why_len, "metadata area at %llu: text runs past "
			 "the end of the device", (unsigned long long)start);
		return LVM_BAD;
	}
	t = vmie_budget_malloc(dev->budget, tlen + 1, "lvm: metadata text",
			       err);
	if (!t)
		return err ? err->code : VMIE_ENOMEM;
	r = vmie_image_pread(dev, t, first, start + off, err);
	if (!r && first < tlen)
		r = vmie_image_pread(dev, t + first, tlen - first,
				     start + LVM_MDA_HEADER_LEN, err);
	if (r) {
		vmie_budget_free(dev->budget, t, tlen + 1);
		return r;
	}
	if (lvm_crc(LVM_INITIAL_CRC, t, tlen) != crc) {
		vmie_budget_free(dev->budget, t, tlen + 1);
		snprintf(why, why_len, "metadata area at %llu: text CRC "
			 "mismatch", (unsigned long long)start);
		return LVM_BAD;
	}
	t[tlen] = 0;
	*text = t;
	*len = tlen;
	return LVM_FOUND;
}

/* ---- the lvm image driver ---- */

struct lvm_stripe {
	struct vmie_image *dev;
	uint64_t off;           /* byte offset of the stripe area on dev */
};

struct lvm_seg {
	uint64_t start, len;    /* bytes of the LV */
	uint64_t stripe_bytes;  /* chunk size when n_stripes > 1 */
	unsigned n_stripes;
	struct lvm_stripe *st;
};

struct lvm_map {
	unsigned n_segs;
	struct lvm_seg *segs;
};

/* Where LV byte off lives: device, offset on it, and how many bytes are
 * contiguous there (<= max). */
static int lvm_locate(struct vmie_image *img, uint64_t off, uint64_t max,
		      struct vmie_image **dev, uint64_t *dev_off,
		      uint64_t *run, struct vmie_err *err)
{
	const struct lvm_map *m = img->priv;
	unsigned lo = 0, hi = m->n_segs;
	const struct lvm_seg *s = NULL;
	uint64_t rel;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (off < m->segs[mid].start)
			hi = mid;
		else if (off - m->segs[mid].start >= m->segs[mid].len)
			lo = mid + 1;
		else {
			s = &m->segs[mid];
			break;
		}
	}
	if (!s)
		return VMIE_ERR(err, VMIE_ERANGE, "%s: offset %llu is not "
				"mapped", img->name, (unsigned long long)off);
	rel = off - s->start;
	if (s->n_stripes == 1) {
		*dev = s->st[0].dev;
		*dev_off = s->st[0].off + rel;
		*run = vmie_min_u64(max, s->len - rel);
	} else {
		uint64_t chunk = rel / s->stripe_bytes;
		uint64_t in = rel % s->stripe_bytes;
		const struct lvm_stripe *st = &s->st[chunk % s->n_stripes];
		*dev = st->dev;
		*dev_off = st->off + (chunk / s->n_stripes) * s->stripe_bytes + in;
		*run = vmie_min_u64(max, s->stripe_bytes - in);
	}
	return 0;
}

static int lvm_pread(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	return part_mapped_pread(img, lvm_locate, buf, len, off, err);
}

static int lvm_pwrite(struct vmie_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	if (off > img->size || len > img->size - off)
		return VMIE_ERR(err, VMIE_ERANGE, "%s: write past the end of "
				"the logical volume", img->name);
	return part_mapped_pwrite(img, lvm_locate, buf, len, off, err);
}

static int lvm_block_status(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err)
{
	return part_mapped_block_status(img, lvm_locate, off, max_len, pnum,
					status, err);
}

static void lvm_map_free(struct lvm_map *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n_segs; i++)
		free(m->segs[i].st);
	free(m->segs);
	free(m);
}

static void lvm_close(struct vmie_image *img)
{
	lvm_map_free(img->priv);
	img->priv = NULL;
}

static int lvm_info(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err)
{
	const struct lvm_map *m = img->priv;
	(void)err;
	vmie_info_add(info, "segments", "%u", m->n_segs);
	return 0;
}

static const struct vmie_image_driver lvm_driver = {
	.name = "lvm",
	.description = "LVM2 logical volume (linear or striped)",
	.pread = lvm_pread,
	.pwrite = lvm_pwrite,
	.block_status = lvm_block_status,
	.info = lvm_info,
	.close = lvm_close,
};

int part_lvm_layout(struct vmie_layout *l, struct vmie_image *img,
		    uint64_t off, uint64_t len, unsigned depth,
		    struct vmie_err *err)
{
	const struct lvm_map *m;
	uint64_t end = off + len;   /* inside the LV: checked by the walk */
	unsigned lo = 0, hi;

	if (img->drv != &lvm_driver)
		return 1;
	m = img->priv;
	/* the first segment holding off */
	hi = m->n_segs;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (off - m->segs[mid].start >= m->segs[mid].len &&
		    off >= m->segs[mid].start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (unsigned i = lo; i < m->n_segs && off < end; i++) {
		const struct lvm_seg *s = &m->segs[i];
		uint64_t rel = off - s->start;
		uint64_t n = vmie_min_u64(end - off, s->len - rel);
		int r;
		if (s->n_stripes == 1) {
			r = part_layout_walk(l, s->st[0].dev, s->st[0].off + rel,
					     n, depth + 1, err);
		} else {
			r = part_layout_stripes(l, rel, n, s->stripe_bytes,
						s->n_stripes, err);
			for (unsigned k = 0; !r && k < s->n_stripes; k++) {
				r = part_layout_walk(l, s->st[k].dev,
						     s->st[k].off,
						     s->len / s->n_stripes,
						     depth + 1, err);
				part_layout_barrier(l);
			}
		}
		if (r)
			return r;
		off += n;
	}
	return 0;
}

/* ---- assembling volume groups ---- */

struct lvm_vgpv {
	const char *name;       /* "pv0" (points into the tree) */
	unsigned idx;           /* position in physical_volumes */
	char uuid[LVM_ID_LEN + 1];
	int64_t pe_start, pe_count;
	struct vmie_image *dev; /* NULL: missing */
};

struct lvm_cand {
	struct lvm_node *tree;
	const struct lvm_node *vg;
	const char *id;
	int64_t seqno;
};

struct lvm_scan {
	struct vmie_image *const *devs;
	unsigned n;
	struct lvm_label *labels;
	struct lvm_cand cands[LVM_MAX_VGS];
	unsigned n_cands;
	struct vmie_lvm *out;
	struct vmie_budget *budget;     /* of the first device */
};

/* An LVM id "xxxxxx-xxxx-...": the 32 characters without dashes. */
static bool lvm_id_strip(const char *id, char out[LVM_ID_LEN + 1])
{
	unsigned n = 0;
	for (; id && *id; id++) {
		if (*id == '-')
			continue;
		if (n >= LVM_ID_LEN)
			return false;
		out[n++] = *id;
	}
	out[n] = 0;
	return n == LVM_ID_LEN;
}

static int lvm_seg_cmp(const void *a, const void *b)
{
	const struct lvm_node *x = *(const struct lvm_node *const *)a;
	const struct lvm_node *y = *(const struct lvm_node *const *)b;
	int64_t sx = -1, sy = -1;
	lvm_get_int(x, "start_extent", &sx);
	lvm_get_int(y, "start_extent", &sy);
	return sx < sy ? -1 : sx > sy;
}

/* PVs sorted by name (then position), so that a stripe finds its PV in
 * log time however many a VG lists. */
static int lvm_pv_cmp(const void *a, const void *b)
{
	const struct lvm_vgpv *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The PV named name (the last listed when a name repeats), or NULL. */
static const struct lvm_vgpv *lvm_pv_find(const struct lvm_vgpv *pvs,
					  unsigned n, const char *name)
{
	unsigned lo = 0, hi = n;
	/* first index whose name is > name */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (strcmp(pvs[mid].name, name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && !strcmp(pvs[lo - 1].name, name) ? &pvs[lo - 1] : NULL;
}

/* Build the map of one segment; on failure write why. */
static bool lvm_build_seg(const struct lvm_node *seg, unsigned segno,
			  uint64_t ext_bytes, const struct lvm_vgpv *pvs,
			  unsigned n_pvs, struct lvm_seg *out, char *why,
			  size_t why_len)
{
	int64_t count = 0, n_st = 1, st_size = 0;
	const struct lvm_node *arr, *e;
	uint64_t area_ext, area_bytes;
	unsigned k = 0;

	lvm_get_int(seg, "extent_count", &count);
	if (!lvm_get_int(seg, "stripe_count", &n_st) || n_st < 1 ||
	    n_st > LVM_MAX_STRIPES) {
		snprintf(why, why_len, "segment %u: stripe_count missing or "
			 "out of range", segno);
		return false;
	}
	if (count % n_st) {
		snprintf(why, why_len, "segment %u: extent_count %lld is not "
			 "a multiple of stripe_count %lld", segno,
			 (long long)count, (long long)n_st);
		return false;
	}
	area_ext = (uint64_t)(count / n_st);
	area_bytes = area_ext * ext_bytes;   /* < 2^63 checked by caller */
	out->n_stripes = (unsigned)n_st;
	if (n_st > 1) {
		if (!lvm_get_int(seg, "stripe_size", &st_size) ||
		    st_size <= 0 || st_size > LVM_MAX_EXTENT ||
		    area_bytes % ((uint64_t)st_size * LVM_SECTOR)) {
			snprintf(why, why_len, "segment %u: stripe_size "
				 "missing or does not divide the stripe area",
				 segno);
			return false;
		}
		out->stripe_bytes = (uint64_t)st_size * LVM_SECTOR;
	}
	arr = lvm_find(seg, "stripes");
	if (!arr || arr->type != LVM_V_ARRAY) {
		snprintf(why, why_len, "segment %u: no stripes list", segno);
		return false;
	}
	out->st = calloc((size_t)n_st, sizeof *out->st);
	if (!out->st) {
		snprintf(why, why_len, "out of memory");
		return false;
	}
	for (e = arr->child; e; e = e->next ? e->next->next : NULL) {
		const struct lvm_node *pe = e->next;
		const struct lvm_vgpv *pv = NULL;
		uint64_t off;
		if (k >= (unsigned)n_st || e->type != LVM_V_STR || !pe ||
		    pe->type != LVM_V_INT || pe->i < 0) {
			snprintf(why, why_len, "segment %u: stripes list is "
				 "not %lld pairs of \"pvN\", extent", segno,
				 (long long)n_st);
			return false;
		}
		pv = lvm_pv_find(pvs, n_pvs, e->s);
		if (!pv) {
			snprintf(why, why_len, "segment %u: stripe on unknown "
				 "PV '%.40s'", segno, e->s);
			return false;
		}
		if (!pv->dev) {
			snprintf(why, why_len, "segment %u: PV %.40s (%s) is "
				 "missing", segno, pv->name, pv->uuid);
			return false;
		}
		if ((pv->pe_count >= 0 &&
		     (uint64_t)pe->i + area_ext > (uint64_t)pv->pe_count) ||
		    vmie_mul_u64((uint64_t)pe->i, ext_bytes, &off) ||
		    vmie_add_u64(off, (uint64_t)pv->pe_start * LVM_SECTOR,
				 &off) ||
		    vmie_range_outside(off, area_bytes, pv->dev->size)) {
			snprintf(why, why_len, "segment %u: extents %lld+%llu "
				 "run past the end of PV %.40s", segno,
				 (long long)pe->i, (unsigned long long)area_ext,
				 pv->name);
			return false;
		}
		out->st[k].dev = pv->dev;
		out->st[k].off = off;
		k++;
	}
	if (k != (unsigned)n_st) {
		snprintf(why, why_len, "segment %u: %u stripes listed, "
			 "stripe_count says %lld", segno, k, (long long)n_st);
		return false;
	}
	return true;
}

static int lvm_add_lv(struct vmie_lvm *out, struct vmie_lvm_lv **lv,
		      struct vmie_err *err)
{
	if (out->n_lvs >= LVM_MAX_LVS)
		return VMIE_CORRUPT(err, "lvm: more than %u logical volumes",
				    LVM_MAX_LVS);
	if ((out->n_lvs & (out->n_lvs - 1)) == 0) {
		unsigned cap = out->n_lvs ? out->n_lvs * 2 : 8;
		struct vmie_lvm_lv *n = realloc(out->lvs, cap * sizeof *n);
		if (!n)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		out->lvs = n;
	}
	*lv = &out->lvs[out->n_lvs++];
	memset(*lv, 0, sizeof **lv);
	return 0;
}

/* One LV: fill lv (size, segtype) and open its image, or set lv->error. */
static int lvm_build_lv(const struct lvm_node *lvn, uint64_t ext_bytes,
			const struct lvm_vgpv *pvs, unsigned n_pvs,
			struct vmie_budget *budget, struct vmie_lvm_lv *lv,
			struct vmie_err *err)
{
	const struct lvm_node **segs = NULL;
	struct lvm_map *m = NULL;
	struct vmie_image *img = NULL;
	unsigned n = 0, striped = 0;
	uint64_t next = 0;
	char name[260];
	int r = 0;

	for (const struct lvm_node *c = lvn->child; c; c = c->next)
		if (c->type == LVM_V_SECTION && lvm_find(c, "start_extent"))
			n++;
	if (!n || n > LVM_MAX_SEGS) {
		snprintf(lv->error, sizeof lv->error, "%u segments (1..%u "
			 "expected)", n, LVM_MAX_SEGS);
		return 0;
	}
	r = vmie_budget_entries(budget, n, "lvm: LV segments", err);
	if (r)
		return r;
	segs = malloc(n * sizeof *segs);
	m = calloc(1, sizeof *m);
	if (!segs || !m || !(m->segs = calloc(n, sizeof *m->segs))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	n = 0;
	for (const struct lvm_node *c = lvn->child; c; c = c->next)
		if (c->type == LVM_V_SECTION && lvm_find(c, "start_extent"))
			segs[n++] = c;
	qsort(segs, n, sizeof *segs, lvm_seg_cmp);

	/* size and type first, so they are reported even if unassembled */
	vmie_strlcpy(lv->segtype, "linear", sizeof lv->segtype);
	for (unsigned i = 0; i < n; i++) {
		const char *type = lvm_get_str(segs[i], "type");
		int64_t start = -1, count = -1, nst = 1;
		uint64_t bytes;
		lvm_get_int(segs[i], "start_extent", &start);
		lvm_get_int(segs[i], "extent_count", &count);
		lvm_get_int(segs[i], "stripe_count", &nst);
		if (!type)
			type = "?";
		if (strcmp(type, "striped") && strcmp(type, "linear")) {
			vmie_strlcpy(lv->segtype, type, sizeof lv->segtype);
			snprintf(lv->error, sizeof lv->error, "segment type "
				 "'%.40s' is not supported (only linear and "
				 "striped)", type);
		} else if (nst > 1 && !lv->error[0]) {
			striped++;
		}
		if (start < 0 || count <= 0 || (uint64_t)start != next ||
		    vmie_add_u64(next, (uint64_t)count, &next) ||
		    vmie_mul_u64(next, ext_bytes, &bytes) ||
		    bytes > VMIE_MAX_VIRTUAL_SIZE) {
			snprintf(lv->error, sizeof lv->error, "segment %u: "
				 "extents %lld+%lld do not follow the previous "
				 "segment or are too many", i + 1,
				 (long long)start, (long long)count);
			lv->size = 0;
			goto out;
		}
		lv->size = bytes;
		m->segs[i].start = (uint64_t)start * ext_bytes;
		m->segs[i].len = (uint64_t)count * ext_bytes;
	}
	if (striped && !strcmp(lv->segtype, "linear"))
		vmie_strlcpy(lv->segtype, "striped", sizeof lv->segtype);
	if (lv->error[0])
		goto out;
	for (unsigned i = 0; i < n; i++) {
		if (!lvm_build_seg(segs[i], i + 1, ext_bytes, pvs, n_pvs,
				   &m->segs[i], lv->error, sizeof lv->error)) {
			m->n_segs = n;      /* free the stripes built so far */
			goto out;
		}
	}
	m->n_segs = n;
	img = calloc(1, sizeof *img);
	snprintf(name, sizeof name, "%s/%s", lv->vg, lv->name);
	if (!img || !(img->name = strdup(name))) {
		free(img);
		img = NULL;
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	img->drv = &lvm_driver;
	img->src = m->segs[0].st[0].dev->src;
	if (img->src)
		vmie_src_ref(img->src);
	img->size = lv->size;
	img->priv = m;
	vmie_image_share_budget(img, m->segs[0].st[0].dev, true);
	vmie_strlcpy(img->subformat, lv->segtype, sizeof img->subformat);
	m = NULL;
	lv->dev = img;
out:
	if (m) {
		if (!m->n_segs)
			m->n_segs = n;
		lvm_map_free(m);
	}
	free(segs);
	return r;
}

static int lvm_build_vg(struct lvm_scan *sc, const struct lvm_cand *c,
			struct vmie_err *err)
{
	struct vmie_lvm *out = sc->out;
	const char *vgname = c->vg->key;
	const struct lvm_node *pvsec, *lvsec;
	struct lvm_vgpv *pvs = NULL;
	unsigned n_pvs = 0;
	int64_t ext = 0;
	uint64_t ext_bytes;
	int r = 0;

	if (strlen(vgname) >= sizeof out->vgs[0]) {
		lvm_warn(out, "lvm: VG name '%.60s...' too long; skipped",
			 vgname);
		return 0;
	}
	if (!lvm_get_int(c->vg, "extent_size", &ext) || ext <= 0 ||
	    ext > LVM_MAX_EXTENT) {
		lvm_warn(out, "lvm: VG %s: extent_size missing or out of range; "
			 "skipped", vgname);
		return 0;
	}
	ext_bytes = (uint64_t)ext * LVM_SECTOR;
	pvsec = lvm_find(c->vg, "physical_volumes");
	if (!pvsec || pvsec->type != LVM_V_SECTION) {
		lvm_warn(out, "lvm: VG %s has no physical_volumes; skipped",
			 vgname);
		return 0;
	}
	for (const struct lvm_node *p = pvsec->child; p; p = p->next)
		n_pvs++;
	if (n_pvs > LVM_MAX_PVS) {
		lvm_warn(out, "lvm: VG %s lists %u PVs (limit %u); skipped",
			 vgname, n_pvs, LVM_MAX_PVS);
		return 0;
	}
	r = vmie_budget_entries(sc->budget, n_pvs, "lvm: physical_volumes",
				err);
	if (r)
		return r;
	pvs = calloc(n_pvs ? n_pvs : 1, sizeof *pvs);
	if (!pvs)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	n_pvs = 0;
	for (const struct lvm_node *p = pvsec->child; p; p = p->next) {
		struct lvm_vgpv *v = &pvs[n_pvs];
		v->idx = n_pvs++;
		v->name = p->key;
		v->pe_start = -1;
		v->pe_count = -1;
		if (p->type != LVM_V_SECTION ||
		    !lvm_id_strip(lvm_get_str(p, "id"), v->uuid) ||
		    !lvm_get_int(p, "pe_start", &v->pe_start) ||
		    v->pe_start < 0 || v->pe_start > INT64_MAX / LVM_SECTOR) {
			lvm_warn(out, "lvm: VG %s: PV %.40s has no valid id or "
				 "pe_start", vgname, p->key);
			v->uuid[0] = 0;
			continue;
		}
		lvm_get_int(p, "pe_count", &v->pe_count);
		for (unsigned i = 0; i < sc->n; i++)
			if (sc->labels[i].usable &&
			    !strcmp(sc->labels[i].uuid, v->uuid))
				v->dev = sc->devs[i];
	}
	qsort(pvs, n_pvs, sizeof *pvs, lvm_pv_cmp);

	/* the VG name list */
	{
		char (*names)[128] = realloc(out->vgs, (out->n_vgs + 1) *
					     sizeof *names);
		if (!names) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			goto out;
		}
		out->vgs = names;
		vmie_strlcpy(out->vgs[out->n_vgs++], vgname, sizeof *names);
	}

	lvsec = lvm_find(c->vg, "logical_volumes");
	for (const struct lvm_node *lvn = lvsec && lvsec->type == LVM_V_SECTION
	     ? lvsec->child : NULL; lvn; lvn = lvn->next) {
		struct vmie_lvm_lv *lv = NULL;
		if (lvn->type != LVM_V_SECTION ||
		    !lvm_has_flag(lvn, "status", "VISIBLE"))
			continue;   /* sub-LVs of raid, thin pools... */
		r = vmie_budget_entries(sc->budget, 1, "lvm: logical_volumes",
					err);
		if (!r)
			r = lvm_add_lv(out, &lv, err);
		if (r)
			goto out;
		vmie_strlcpy(lv->vg, vgname, sizeof lv->vg);
		if (strlen(lvn->key) >= sizeof lv->name) {
			vmie_strlcpy(lv->name, lvn->key, sizeof lv->name);
			vmie_strlcpy(lv->error, "LV name too long",
				     sizeof lv->error);
			continue;
		}
		vmie_strlcpy(lv->name, lvn->key, sizeof lv->name);
		r = lvm_build_lv(lvn, ext_bytes, pvs, n_pvs, sc->budget, lv,
				 err);
		if (r)
			goto out;
	}
out:
	free(pvs);
	return r;
}

/* Read every metadata copy of PV i and keep the newest per VG id. */
static int lvm_collect(struct lvm_scan *sc, unsigned i, unsigned *problems,
		       struct vmie_err *first, struct vmie_err *err)
{
	struct vmie_image *dev = sc->devs[i];
	const struct lvm_label *lb = &sc->labels[i];
	for (unsigned m = 0; m < lb->n_mda; m++) {
		char why[200], *text = NULL;
		size_t len = 0;
		struct lvm_node *tree = NULL;
		const struct lvm_node *vg = NULL;
		const char *id;
		int64_t seqno = -1;
		struct vmie_err perr = { 0 };
		unsigned nsec = 0;
		int r = lvm_mda_text(dev, lb->mda_off[m], lb->mda_size[m],
				     &text, &len, why, sizeof why, err);
		if (r < 0)
			return r;
		if (r == LVM_NONE)
			continue;
		if (r == LVM_BAD) {
			lvm_warn(sc->out, "lvm: %s: %s", dev->name, why);
			if (!(*problems)++)
				VMIE_CORRUPT(first, "lvm: %s: %s", dev->name,
					     why);
			continue;
		}
		r = lvm_text_parse(text, len, &tree, &perr);
		vmie_budget_free(dev->budget, text, len + 1);
		if (r == VMIE_ENOMEM)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		if (r) {
			lvm_warn(sc->out, "%s: %s", dev->name, perr.msg);
			if (!(*problems)++)
				VMIE_CORRUPT(first, "%s: %s", dev->name,
					     perr.msg);
			continue;
		}
		for (const struct lvm_node *n = tree->child; n; n = n->next)
			if (n->type == LVM_V_SECTION) {
				vg = n;
				nsec++;
			}
		id = vg ? lvm_get_str(vg, "id") : NULL;
		if (nsec != 1 || !id || !lvm_get_int(vg, "seqno", &seqno)) {
			lvm_warn(sc->out, "lvm: %s: metadata does not describe "
				 "exactly one VG with an id and a seqno",
				 dev->name);
			if (!(*problems)++)
				VMIE_CORRUPT(first, "lvm: %s: metadata does "
					     "not describe exactly one VG with "
					     "an id and a seqno", dev->name);
			lvm_text_free(tree);
			continue;
		}
		unsigned k;
		for (k = 0; k < sc->n_cands; k++)
			if (!strcmp(sc->cands[k].id, id))
				break;
		if (k < sc->n_cands) {
			if (seqno > sc->cands[k].seqno) {
				lvm_text_free(sc->cands[k].tree);
				sc->cands[k] = (struct lvm_cand){ tree, vg, id,
								  seqno };
			} else {
				lvm_text_free(tree);
			}
			continue;
		}
		if (sc->n_cands >= LVM_MAX_VGS) {
			lvm_warn(sc->out, "lvm: more than %u VGs; the rest are "
				 "ignored", LVM_MAX_VGS);
			lvm_text_free(tree);
			continue;
		}
		sc->cands[sc->n_cands++] = (struct lvm_cand){ tree, vg, id,
							      seqno };
	}
	return 0;
}

int vmie_lvm_scan(struct vmie_image *const *devs, unsigned n,
		  struct vmie_lvm *out, struct vmie_err *err)
{
	struct lvm_scan *sc = NULL;
	struct vmie_err first = { 0 };
	unsigned problems = 0;
	int r = 0;

	memset(out, 0, sizeof *out);
	if (n > LVM_MAX_DEVS)
		return VMIE_ERR(err, VMIE_EINVAL, "lvm: %u devices to scan "
				"(limit %u)", n, LVM_MAX_DEVS);
	sc = calloc(1, sizeof *sc);
	if (!sc || !(sc->labels = calloc(n ? n : 1, sizeof *sc->labels))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	sc->devs = devs;
	sc->n = n;
	sc->budget = n ? devs[0]->budget : NULL;
	sc->out = out;
	for (unsigned i = 0; i < n; i++) {
		char why[200];
		r = lvm_label_read(devs[i], &sc->labels[i], why, sizeof why,
				   err);
		if (r < 0)
			goto out;
		if (r == LVM_BAD) {
			lvm_warn(out, "lvm: %s: %s", devs[i]->name, why);
			if (!problems++)
				VMIE_CORRUPT(&first, "lvm: %s: %s",
					     devs[i]->name, why);
		}
		r = 0;
		if (!sc->labels[i].usable)
			continue;
		if (sc->labels[i].dev_size > devs[i]->size)
			lvm_warn(out, "lvm: %s: PV header says %llu bytes, the "
				 "device has %llu (truncated?)", devs[i]->name,
				 (unsigned long long)sc->labels[i].dev_size,
				 (unsigned long long)devs[i]->size);
		for (unsigned j = 0; j < i; j++)
			if (sc->labels[j].usable &&
			    !strcmp(sc->labels[j].uuid, sc->labels[i].uuid)) {
				lvm_warn(out, "lvm: %s and %s carry the same PV "
					 "UUID %s; using %s", devs[j]->name,
					 devs[i]->name, sc->labels[i].uuid,
					 devs[j]->name);
				sc->labels[i].usable = false;
				break;
			}
	}
	for (unsigned i = 0; i < n; i++) {
		if (!sc->labels[i].usable)
			continue;
		r = lvm_collect(sc, i, &problems, &first, err);
		if (r)
			goto out;
	}
	for (unsigned k = 0; k < sc->n_cands; k++) {
		r = lvm_build_vg(sc, &sc->cands[k], err);
		if (r)
			goto out;
	}
	if (!out->n_vgs && problems) {
		if (err)
			*err = first;
		r = first.code ? first.code : VMIE_ECORRUPT;
	}
out:
	if (sc) {
		for (unsigned k = 0; k < sc->n_cands; k++)
			lvm_text_free(sc->cands[k].tree);
		free(sc->labels);
		free(sc);
	}
	if (r)
		vmie_lvm_free(out);
	return r;
}

void vmie_lvm_free(struct vmie_lvm *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n_lvs; i++)
		if (l->lvs[i].dev)
			vmie_image_close(l->lvs[i].dev);
	free(l->lvs);
	free(l->vgs);
	l->lvs = NULL;
	l->vgs = NULL;
	l->n_lvs = l->n_vgs = 0;
}
