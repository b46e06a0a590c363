/*
 * The VMDK driver: probing, opening (sparse and stream-optimized files with
 * an embedded descriptor, and descriptor files naming extents), reading,
 * block status, info and check.  Writers are in vmdk_write.c.
 *
 * Spec: VMware "Virtual Disk Format 5.0".  What vmie refuses, with the rule:
 * SEsparse and vmfsSparse (FMT-002), raw device maps (FMT-003), disks with a
 * parent (FMT-004, unless the caller only wants info).  Extent files are
 * opened only with vmie_src_open_sibling: same directory, never a path.
 */
#include "vmdk_int.h"
#include "../../core/checked.h"
#include "../../core/util.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VMDK_NO_PARENT 0xffffffffu

static int vmdk_probe(struct vmie_src *src, const uint8_t *head, size_t len)
{
	(void)src;
	if (len >= 4 && (vmie_le32(head) == VMDK_MAGIC ||
			 vmie_le32(head) == VMDK_COWD_MAGIC))
		return 100;
	if (len >= 8 && vmie_le64(head) == VMDK_SESPARSE_MAGIC)
		return 90;
	if (vmdk_desc_looks_like(head, len))
		return memmem(head, len, "createType", 10) ? 100 : 60;
	return 0;
}

/* ---- scratch pool (per-thread working memory for compressed reads) ---- */

static void vmdk_scratch_free(struct vmdk_scratch *sc)
{
	if (!sc)
		return;
	if (sc->dec)
		libdeflate_free_decompressor(sc->dec);
	free(sc->win);
	free(sc->grain);
	free(sc);
}

static struct vmdk_scratch *vmdk_scratch_get(struct vmdk_state *st,
					     struct vmie_err *err)
{
	struct vmdk_scratch *sc;
	pthread_mutex_lock(&st->pool_lock);
	sc = st->pool;
	if (sc)
		st->pool = sc->next;
	pthread_mutex_unlock(&st->pool_lock);
	if (sc)
		return sc;
	sc = calloc(1, sizeof *sc);
	if (sc) {
		sc->dec = libdeflate_alloc_decompressor();
		sc->win_size = st->win_size;
		sc->grain_size = st->grain_size;
		sc->win = malloc(sc->win_size);
		sc->grain = malloc(sc->grain_size);
	}
	if (!sc || !sc->dec || !sc->win || !sc->grain) {
		vmdk_scratch_free(sc);
		VMIE_ERR(err, VMIE_ENOMEM, "out of memory for a VMDK read "
			 "buffer");
		return NULL;
	}
	return sc;
}

static void vmdk_scratch_put(struct vmdk_state *st, struct vmdk_scratch *sc)
{
	pthread_mutex_lock(&st->pool_lock);
	sc->next = st->pool;
	st->pool = sc;
	pthread_mutex_unlock(&st->pool_lock);
}

/* ---- open ---- */

static void vmdk_close(struct vmie_image *img)
{
	struct vmdk_state *st = img->priv;
	if (!st)
		return;
	for (unsigned i = 0; i < st->n_files; i++) {
		struct vmdk_file *f = &st->files[i];
		if (f->sp) {
			vmdk_sparse_close(f->sp);
			free(f->sp);
		}
		vmie_src_unref(f->src);
	}
	vmie_budget_free(st->budget, st->files,
			 (size_t)st->ext_cap * sizeof *st->files);
	vmie_budget_free(st->budget, st->ext,
			 (size_t)st->ext_cap * sizeof *st->ext);
	while (st->pool) {
		struct vmdk_scratch *sc = st->pool;
		st->pool = sc->next;
		vmdk_scratch_free(sc);
	}
	pthread_mutex_destroy(&st->pool_lock);
	vmdk_desc_free(&st->desc);
	free(st);
	img->priv = NULL;
}

static bool vmdk_type_is(const char *ct, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcasecmp(ct, list[i]))
			return true;
	return false;
}

/* The refusals, in rule order, before any extent file is opened. */
static int vmdk_policy(struct vmie_image *img, const struct vmdk_desc *d,
		       const struct vmie_open_opts *o, struct vmie_err *err)
{
	static const char *const delta[] = { "seSparse", "vmfsSparse",
					     "vmfsSparseThin", NULL };
	static const char *const rdm[] = { "vmfsRawDeviceMap",
					   "vmfsPassthroughRawDeviceMap", NULL };
	static const char *const phys[] = { "fullDevice", "partitionedDevice",
					    NULL };
	const char *ct = d->create_type;

	if (vmdk_type_is(ct, delta))
		return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-002", "%s: VMware "
				     "%s disks are not supported (SEsparse and "
				     "vmfsSparse delta disks: consolidate the "
				     "snapshot or convert the disk first)",
				     img->name, ct);
	for (unsigned i = 0; i < d->n_extents; i++)
		if (d->extents[i].type == VMDK_EXT_SESPARSE ||
		    d->extents[i].type == VMDK_EXT_VMFSSPARSE)
			return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-002",
					     "%s: extent %u ('%s') is a %s "
					     "extent, which is not supported",
					     img->name, i, d->extents[i].file,
					     d->extents[i].type == VMDK_EXT_SESPARSE
					     ? "SEsparse" : "vmfsSparse");
	if (vmdk_type_is(ct, rdm))
		return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-003", "%s: raw "
				     "device map VMDKs (%s) are not supported",
				     img->name, ct);
	for (unsigned i = 0; i < d->n_extents; i++)
		if (d->extents[i].type == VMDK_EXT_RDM)
			return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-003",
					     "%s: extent %u is a raw device map, "
					     "which is not supported", img->name,
					     i);
	if (vmdk_type_is(ct, phys))
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: VMDK type %s maps a "
				"physical disk of the host; copy the disk into "
				"an image first", img->name, ct);
	bool parent = (d->has_parent_cid && d->parent_cid != VMDK_NO_PARENT) ||
		      d->parent_hint[0];
	if (parent && !o->info_only)
		return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-004", "%s: VMDK has "
				     "a parent disk (parentFileNameHint \"%s\", "
				     "parentCID %08x): differencing disks are "
				     "not supported", img->name,
				     d->parent_hint[0] ? d->parent_hint : "",
				     d->parent_cid);
	return 0;
}

/* Room for n extents (and as many files), charged to the budget. */
static int vmdk_alloc_extents(struct vmdk_state *st, unsigned n,
			      const char *where, struct vmie_err *err)
{
	st->ext = vmie_budget_calloc(st->budget, n, sizeof *st->ext, where,
				     err);
	if (!st->ext)
		return err ? err->code : VMIE_ENOMEM;
	st->files = vmie_budget_calloc(st->budget, n, sizeof *st->files,
				       where, err);
	if (!st->files) {
		vmie_budget_free(st->budget, st->ext, (size_t)n * sizeof *st->ext);
		st->ext = NULL;
		return err ? err->code : VMIE_ENOMEM;
	}
	st->ext_cap = n;
	return 0;
}

/* The file behind extent i, named name: one already open under that name
 * or (through a link) as the same device and inode, or newly opened. */
static int vmdk_get_file(struct vmie_image *img, struct vmdk_state *st,
			 unsigned i, const char *name, struct vmdk_file **out,
			 struct vmie_err *err)
{
	struct vmie_src *src;
	uint64_t dev = 0, ino = 0;
	bool have_id;
	int r;

	for (unsigned k = 0; k < st->n_files; k++)
		if (!strcmp(st->ext[st->files[k].first_ext].file, name)) {
			*out = &st->files[k];
			return 0;
		}
	r = vmie_src_open_sibling(img->src, name, &src, err);
	if (r) {
		vmie_err_prefix(err, "%s: VMDK extent %u", img->name, i);
		return r;
	}
	have_id = vmie_src_file_id(src, &dev, &ino);
	for (unsigned k = 0; have_id && k < st->n_files; k++)
		if (st->files[k].have_id && st->files[k].dev == dev &&
		    st->files[k].ino == ino) {
			vmie_src_unref(src);
			*out = &st->files[k];
			return 0;
		}
	struct vmdk_file *f = &st->files[st->n_files++];
	f->dev = dev;
	f->ino = ino;
	f->have_id = have_id;
	f->first_ext = i;
	f->src = src;
	*out = f;
	return 0;
}

/* Open the extents a descriptor file names.  Each distinct file is opened
 * once and a sparse file's grain directory loaded once, however many
 * extents name it; every extent is an entry drawn on the budget. */
static int vmdk_open_extents(struct vmie_image *img, struct vmdk_state *st,
			     struct vmie_err *err)
{
	const struct vmdk_desc *d = &st->desc;
	uint64_t start = 0;
	char what[64];
	int r;

	if (!d->n_extents)
		return VMIE_CORRUPT(err, "%s: VMDK descriptor lists no extents",
				    img->name);
	snprintf(what, sizeof what, "vmdk: %u extents of the descriptor",
		 d->n_extents);
	r = vmie_budget_entries(st->budget, d->n_extents, what, err);
	if (r)
		return r;
	r = vmdk_alloc_extents(st, d->n_extents, what, err);
	if (r)
		return r;
	for (unsigned i = 0; i < d->n_extents; i++) {
		const struct vmdk_desc_extent *de = &d->extents[i];
		struct vmdk_extent *x = &st->ext[i];
		x->type = de->type;
		x->access = de->access;
		x->start = start;
		x->len = de->sectors * VMDK_SECTOR;
		vmie_strlcpy(x->file, de->file, sizeof x->file);
		st->n_ext = i + 1;
		if (vmie_add_u64(start, x->len, &start) ||
		    start > VMIE_MAX_VIRTUAL_SIZE)
			return VMIE_CORRUPT(err, "%s: VMDK extents add up to "
					    "more than %llu bytes", img->name,
					    (unsigned long long)VMIE_MAX_VIRTUAL_SIZE);
		if (de->type == VMDK_EXT_ZERO || de->access == VMDK_NOACCESS)
			continue;
		struct vmdk_file *f;
		snprintf(what, sizeof what, "%s: VMDK extent %u", img->name, i);
		r = vmie_check_member_name(de->file, what, err);
		if (r)
			return r;
		r = vmdk_get_file(img, st, i, de->file, &f, err);
		if (r)
			return r;
		if (de->type == VMDK_EXT_FLAT) {
			x->src = f->src;
			x->flat_off = de->offset * VMDK_SECTOR;
			if (de->offset > UINT64_MAX / VMDK_SECTOR ||
			    vmie_range_outside(x->flat_off, x->len,
					       f->src->size))
				return VMIE_CORRUPT(err, "%s: flat extent %u file "
					"'%s' is %llu bytes, too short for %llu "
					"sectors at sector %llu", img->name, i,
					de->file,
					(unsigned long long)f->src->size,
					(unsigned long long)de->sectors,
					(unsigned long long)de->offset);
			continue;
		}
		if (!f->sp) {
			struct vmdk_sparse *sp = calloc(1, sizeof *sp);
			if (!sp)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"out of memory");
			r = vmdk_sparse_open(sp, f->src, NULL, err);
			if (r) {
				free(sp);
				return r;
			}
			f->sp = sp;
		}
		x->sp = f->sp;
		if (f->sp->capacity < de->sectors)
			return VMIE_CORRUPT(err, "%s: sparse extent %u '%s' "
					    "holds %llu sectors, fewer than the "
					    "%llu the descriptor gives",
					    img->name, i, de->file,
					    (unsigned long long)f->sp->capacity,
					    (unsigned long long)de->sectors);
	}
	img->size = start;
	return 0;
}

static int vmdk_open(struct vmie_image *img, const struct vmie_open_opts *o,
		     struct vmie_err *err)
{
	struct vmdk_state *st;
	struct vmie_src *src = img->src;
	uint8_t head[8] = { 0 };
	char *text = NULL;
	struct vmdk_sparse *sp = NULL;
	int r;

	st = calloc(1, sizeof *st);
	if (!st)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	st->budget = img->budget;
	pthread_mutex_init(&st->pool_lock, NULL);
	img->priv = st;
	if (src->size < 4) {
		r = VMIE_ERR(err, VMIE_EFORMAT, "%s: too small to be a VMDK",
			     img->name);
		goto out;
	}
	r = vmie_src_pread(src, head, src->size < 8 ? 4 : 8, 0, err);
	if (r)
		goto out;
	uint32_t magic = vmie_le32(head);
	if (magic == VMDK_MAGIC || magic == VMDK_COWD_MAGIC ||
	    vmie_le64(head) == VMDK_SESPARSE_MAGIC) {
		sp = calloc(1, sizeof *sp);
		if (!sp) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			goto out;
		}
		r = vmdk_sparse_open(sp, src, &text, err);
		if (r) {
			free(sp);
			sp = NULL;
			goto out;
		}
		if (text) {
			r = vmdk_desc_parse(&st->desc, text, strlen(text),
					    img->name, err);
			if (r)
				goto out;
			st->have_desc = true;
		}
		if (!sp->capacity && st->have_desc && st->desc.n_extents) {
			/* a descriptor with extents kept in a sparse header */
			vmdk_sparse_close(sp);
			free(sp);
			sp = NULL;
		} else {
			st->embedded = true;
		}
	} else {
		if (src->size > VMDK_MAX_DESC_BYTES) {
			r = VMIE_ERR(err, VMIE_EFORMAT, "%s: not a VMDK (no "
				     "sparse magic, and %llu bytes is too big "
				     "for a descriptor file)", img->name,
				     (unsigned long long)src->size);
			goto out;
		}
		text = malloc((size_t)src->size + 1);
		if (!text) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			goto out;
		}
		r = vmie_src_pread(src, text, (size_t)src->size, 0, err);
		if (r)
			goto out;
		text[src->size] = 0;
		if (!vmdk_desc_looks_like((uint8_t *)text, (size_t)src->size)) {
			r = VMIE_ERR(err, VMIE_EFORMAT, "%s: not a VMDK (no "
				     "sparse magic and no 'version=' line)",
				     img->name);
			goto out;
		}
		r = vmdk_desc_parse(&st->desc, text, (size_t)src->size,
				    img->name, err);
		if (r)
			goto out;
		st->have_desc = true;
	}

	if (st->have_desc) {
		r = vmdk_policy(img, &st->desc, o, err);
		if (r)
			goto out;
	}
	if (sp) {
		r = vmdk_alloc_extents(st, 1, "vmdk: the sparse extent", err);
		if (r)
			goto out;
		struct vmdk_extent *x = &st->ext[0];
		x->type = VMDK_EXT_SPARSE;
		x->access = VMDK_RW;
		x->len = sp->capacity * VMDK_SECTOR;
		x->sp = sp;
		st->n_ext = 1;
		st->files[0].src = src;
		vmie_src_ref(src);
		st->files[0].sp = sp;
		st->n_files = 1;
		sp = NULL;
		img->size = x->len;
		const char *ct = st->desc.create_type;
		if (!ct[0])
			ct = st->ext[0].sp->compressed ? "streamOptimized"
						       : "monolithicSparse";
		vmie_strlcpy(img->subformat, ct, sizeof img->subformat);
	} else {
		r = vmdk_open_extents(img, st, err);
		if (r)
			goto out;
		vmie_strlcpy(img->subformat, st->desc.create_type[0] ?
			     st->desc.create_type : "custom",
			     sizeof img->subformat);
	}
	for (unsigned i = 0; i < st->n_ext; i++) {
		struct vmdk_sparse *s = st->ext[i].sp;
		if (!s || !s->compressed)
			continue;
		st->grain_size = vmie_max_u64(st->grain_size, s->grain_bytes);
		st->win_size = vmie_max_u64(st->win_size,
					    (1u << 20) + 2 * (size_t)s->max_record);
	}
	r = 0;
out:
	if (sp) {
		vmdk_sparse_close(sp);
		free(sp);
	}
	free(text);
	if (r)
		vmdk_close(img);
	return r;
}

/* ---- read ---- */

static struct vmdk_extent *vmdk_find(struct vmdk_state *st, uint64_t off)
{
	unsigned lo = 0, hi = st->n_ext;
	while (lo + 1 < hi) {
		unsigned mid = (lo + hi) / 2;
		if (st->ext[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &st->ext[lo];
}

static int vmdk_pread(struct vmie_image *img, void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	struct vmdk_state *st = img->priv;
	struct vmdk_scratch *sc = NULL;
	uint8_t *p = buf;
	int r = 0;

	while (len) {
		struct vmdk_extent *e = vmdk_find(st, off);
		uint64_t rel = off - e->start;
		size_t n = (size_t)vmie_min_u64(len, e->len - rel);
		if (e->access == VMDK_NOACCESS) {
			r = VMIE_ERR(err, VMIE_EUNSUPP, "%s: extent '%s' is "
				     "marked NOACCESS and cannot be read",
				     img->name, e->file);
			break;
		}
		switch (e->type) {
		case VMDK_EXT_ZERO:
			memset(p, 0, n);
			break;
		case VMDK_EXT_FLAT:
			r = vmie_src_pread(e->src, p, n, e->flat_off + rel, err);
			break;
		default:
			if (e->sp->compressed && !sc) {
				sc = vmdk_scratch_get(st, err);
				if (!sc) {
					r = VMIE_ENOMEM;
					break;
				}
			}
			r = vmdk_sparse_read(e->sp, sc, p, n, rel, err);
			break;
		}
		if (r)
			break;
		p += n;
		off += n;
		len -= n;
	}
	if (sc)
		vmdk_scratch_put(st, sc);
	return r;
}

static int vmdk_block_status(struct vmie_image *img, uint64_t off,
			     uint64_t max_len, uint64_t *pnum, unsigned *status,
			     struct vmie_err *err)
{
	struct vmdk_state *st = img->priv;
	struct vmdk_extent *e = vmdk_find(st, off);
	uint64_t rel = off - e->start;
	uint64_t n = vmie_min_u64(max_len, e->len - rel);
	bool hole;
	int r;

	if (e->access == VMDK_NOACCESS) {
		*pnum = n;
		*status = VMIE_BS_DATA;
		return 0;
	}
	switch (e->type) {
	case VMDK_EXT_ZERO:
		*pnum = n;
		*status = VMIE_BS_ZERO | VMIE_BS_HOLE;
		return 0;
	case VMDK_EXT_FLAT:
		r = vmie_src_extent(e->src, e->flat_off + rel, n, pnum, &hole,
				    err);
		if (r)
			return r;
		if (!*pnum || *pnum > n)
			*pnum = n;
		*status = hole ? VMIE_BS_ZERO | VMIE_BS_HOLE : VMIE_BS_DATA;
		return 0;
	default:
		return vmdk_sparse_status(e->sp, rel, n, pnum, status, err);
	}
}

/* ---- info and check ---- */

static int vmdk_info(struct vmie_image *img, struct vmie_image_info *info,
		     struct vmie_err *err)
{
	struct vmdk_state *st = img->priv;
	const struct vmdk_desc *d = &st->desc;
	uint64_t alloc = 0;
	static const struct { const char *ddb, *key; } keys[] = {
		{ "ddb.adapterType", "adapter type" },
		{ "ddb.virtualHWVersion", "hw version" },
		{ "ddb.toolsVersion", "tools version" },
		{ "ddb.longContentID", "long content id" },
		{ "ddb.uuid", "uuid" },
	};
	int r;

	if (st->have_desc) {
		vmie_info_add(info, "descriptor version", "%u", d->version);
		if (d->has_cid)
			vmie_info_add(info, "CID", "%08x", d->cid);
		if (d->has_parent_cid)
			vmie_info_add(info, "parent CID", "%08x", d->parent_cid);
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
			const char *v = vmdk_desc_ddb(d, keys[i].ddb);
			if (v)
				vmie_info_add(info, keys[i].key, "%s", v);
		}
		const char *c = vmdk_desc_ddb(d, "ddb.geometry.cylinders");
		const char *h = vmdk_desc_ddb(d, "ddb.geometry.heads");
		const char *s = vmdk_desc_ddb(d, "ddb.geometry.sectors");
		if (c && h && s)
			vmie_info_add(info, "geometry", "%s/%s/%s", c, h, s);
		if (d->parent_hint[0])
			vmie_strlcpy(info->parent, d->parent_hint,
				     sizeof info->parent);
		else if (d->has_parent_cid && d->parent_cid != VMDK_NO_PARENT)
			snprintf(info->parent, sizeof info->parent,
				 "(parent CID %08x, no file name)",
				 d->parent_cid);
	}
	vmie_info_add(info, "extents", "%u", st->n_ext);
	for (unsigned i = 0; i < st->n_ext; i++) {
		struct vmdk_extent *e = &st->ext[i];
		if (e->sp) {
			if (!info->cluster_size)
				info->cluster_size = e->sp->grain_bytes;
			if (i == 0) {
				vmie_info_add(info, "sparse header version",
					      "%u", e->sp->h.version);
				vmie_info_add(info, "compressed", "%s",
					      e->sp->compressed ? "deflate"
								: "no");
				if (e->sp->stream_footer)
					vmie_info_add(info, "footer", "yes");
			}
		} else if (e->type == VMDK_EXT_FLAT && e->src) {
			uint64_t pos = 0, n;
			bool hole;
			while (pos < e->len) {
				r = vmie_src_extent(e->src, e->flat_off + pos,
						    e->len - pos, &n, &hole, err);
				if (!r)
					r = vmie_budget_entries(st->budget, 1,
						"vmdk: data runs of a flat "
						"extent", err);
				if (r)
					return r;
				if (!n)
					break;
				if (!hole)
					alloc += n;
				pos += n;
			}
		}
	}
	/* a sparse file's grains are counted once, however many extents
	 * name it */
	for (unsigned i = 0; i < st->n_files; i++) {
		struct vmdk_sparse *sp = st->files[i].sp;
		uint64_t a, z;
		if (!sp)
			continue;
		r = vmdk_sparse_count(sp, &a, &z, err);
		if (r)
			return r;
		alloc += (a - z) * sp->grain_bytes;
	}
	info->allocated = alloc;
	return 0;
}

static int vmdk_check(struct vmie_image *img, struct vmie_check_result *res,
		      struct vmie_err *err)
{
	struct vmdk_state *st = img->priv;
	/* each sparse file once, however many extents name it */
	for (unsigned i = 0; i < st->n_files; i++) {
		if (!st->files[i].sp)
			continue;
		int r = vmdk_sparse_check(st->files[i].sp,
					  st->files[i].first_ext, res, err);
		if (r)
			return r;
	}
	return 0;
}

static const char *const vmdk_write_subformats[] = {
	"streamOptimized", "monolithicSparse", NULL
};

const struct vmie_image_driver vmie_drv_vmdk = {
	.name = "vmdk",
	.description = "VMware VMDK: stream-optimized, sparse, flat, split "
		       "(descriptor files)",
	.probe = vmdk_probe,
	.open = vmdk_open,
	.pread = vmdk_pread,
	.block_status = vmdk_block_status,
	.info = vmdk_info,
	.check = vmdk_check,
	.close = vmdk_close,
	.writer = &vmdk_writer_ops,
	.write_subformats = vmdk_write_subformats,
};
