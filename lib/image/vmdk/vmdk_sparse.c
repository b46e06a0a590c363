/*
 * VMDK sparse extents: hosted sparse (monolithicSparse, twoGbMaxExtentSparse
 * extents) and stream-optimized (compressed grains with markers, the real
 * header in the footer).  Validates the header, loads the grain directory,
 * reads grain tables on demand through a small lock-protected cache, and
 * reads grains (decompressing with libdeflate).
 *
 * Spec: VMware "Virtual Disk Format 5.0", "Hosted Sparse Extents" and
 * "Stream-Optimized Compressed Sparse Extents"; layouts in vmdk_disk.h.
 *
 * Memory: the grain directory is held (4 bytes per 512 grains, and bounded
 * by the file size since it must lie inside the file); grain tables are
 * cached in at most VMDK_GT_CACHE_BYTES, direct-mapped by table index, so a
 * 2 TiB+ disk never loads all its tables.  Reads are thread-safe: the cache
 * is the only shared mutable state and it is guarded by sp->lock.
 */
#include "vmdk_int.h"
#include "../../core/checked.h"
#include "../../core/util.h"

#include <libdeflate.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMDK_GT_CACHE_BYTES     ((uint64_t)64 << 20)
/* block status: stop a data run after this many table loads */
#define VMDK_STATUS_MAX_LOADS   4
/* check: overlap bitmap (one bit per file sector) at most this big */
#define VMDK_CHECK_BITMAP_MAX   ((uint64_t)64 << 20)

static uint64_t vmdk_align512(uint64_t v)
{
	return (v + VMDK_SECTOR - 1) & ~(uint64_t)(VMDK_SECTOR - 1);
}

/* Largest compressed grain accepted (deflate of incompressible data grows a
 * little; some writers use fixed Huffman codes, which grow up to 1/8). */
static uint32_t vmdk_max_csize(uint32_t grain_bytes)
{
	return 2 * grain_bytes + 4096;
}

/* Record size to guess when the next grain's size is not known yet. */
static uint64_t vmdk_typical_record(const struct vmdk_sparse *sp)
{
	return vmdk_align512(VMDK_MARKER_HDR + sp->grain_bytes +
			     sp->grain_bytes / 8 + 1024);
}

/* Does [off, off+len) touch the header, the descriptor or a directory? */
static const char *vmdk_meta_overlap(const struct vmdk_sparse *sp,
				     uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	if (off < VMDK_SECTOR)
		return "the header";
	if (sp->desc_len && off < sp->desc_off + sp->desc_len &&
	    end > sp->desc_off)
		return "the embedded descriptor";
	if (sp->gd_bytes && off < sp->gd_off + sp->gd_bytes && end > sp->gd_off)
		return "the grain directory";
	if (sp->rgd_off && off < sp->rgd_off + sp->gd_bytes &&
	    end > sp->rgd_off)
		return "the redundant grain directory";
	return NULL;
}

static int vmdk_read_footer(struct vmdk_sparse *sp, struct vmie_src *src,
			    struct vmie_err *err)
{
	uint8_t b[3 * VMDK_SECTOR];
	struct vmdk_marker_disk fm, eos;
	struct vmdk_header_disk f;
	uint64_t at;

	if (src->size < 5 * VMDK_SECTOR)
		return VMIE_CORRUPT(err, "%s: stream-optimized VMDK of %llu "
				    "bytes is too small to hold its footer "
				    "(truncated)", src->name,
				    (unsigned long long)src->size);
	at = src->size - sizeof b;
	int r = vmie_src_pread(src, b, sizeof b, at, err);
	if (r)
		return r;
	vmdk_marker_decode(&fm, b);
	vmdk_header_decode(&f, b + VMDK_SECTOR);
	vmdk_marker_decode(&eos, b + 2 * VMDK_SECTOR);
	if (fm.size != 0 || fm.type != VMDK_MARKER_FOOTER ||
	    f.magic != VMDK_MAGIC)
		return VMIE_CORRUPT(err, "%s: stream-optimized VMDK has no "
				    "footer at offset %llu (the header says the "
				    "grain directory is at the end): truncated "
				    "or not finished", src->name,
				    (unsigned long long)at);
	if (eos.val != 0 || eos.size != 0 || eos.type != VMDK_MARKER_EOS)
		return VMIE_CORRUPT(err, "%s: stream-optimized VMDK has no "
				    "end-of-stream marker at offset %llu",
				    src->name, (unsigned long long)(at + 1024));
	if (f.gd_offset == VMDK_GD_AT_END)
		return VMIE_CORRUPT(err, "%s: stream-optimized VMDK footer at "
				    "offset %llu does not give the grain "
				    "directory offset", src->name,
				    (unsigned long long)(at + VMDK_SECTOR));
	/* the footer is authoritative, but keep the header's descriptor
	 * location if the footer omits it */
	if (!f.desc_offset) {
		f.desc_offset = sp->h.desc_offset;
		f.desc_size = sp->h.desc_size;
	}
	sp->h = f;
	sp->stream_footer = true;
	return 0;
}

static int vmdk_check_header(struct vmdk_sparse *sp, struct vmie_src *src,
			     struct vmie_err *err)
{
	const struct vmdk_header_disk *h = &sp->h;
	const char *n = src->name;

	if (h->version < 1 || h->version > 3)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: VMDK sparse header "
				"version %u is not supported (1 to 3 are)", n,
				h->version);
	if (h->capacity > VMIE_MAX_VIRTUAL_SIZE / VMDK_SECTOR)
		return VMIE_CORRUPT(err, "%s: VMDK capacity of %llu sectors is "
				    "absurd (limit %llu bytes)", n,
				    (unsigned long long)h->capacity,
				    (unsigned long long)VMIE_MAX_VIRTUAL_SIZE);
	if (!vmie_is_pow2(h->grain_size) ||
	    h->grain_size < VMDK_MIN_GRAIN_SECTORS ||
	    h->grain_size > VMDK_MAX_GRAIN_SECTORS)
		return VMIE_CORRUPT(err, "%s: VMDK grain size of %llu sectors "
				    "is invalid (a power of two from %u to %u)",
				    n, (unsigned long long)h->grain_size,
				    VMDK_MIN_GRAIN_SECTORS,
				    VMDK_MAX_GRAIN_SECTORS);
	if (h->num_gtes == 0 || h->num_gtes > VMDK_MAX_GTES)
		return VMIE_CORRUPT(err, "%s: VMDK numGTEsPerGT %u is invalid "
				    "(1 to %u)", n, h->num_gtes, VMDK_MAX_GTES);
	if (h->compress > VMDK_COMPRESS_DEFLATE)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: VMDK compression "
				"algorithm %u is not supported (only deflate)",
				n, h->compress);
	if ((h->flags & VMDK_FLAG_COMPRESSED) &&
	    h->compress != VMDK_COMPRESS_DEFLATE)
		return VMIE_CORRUPT(err, "%s: VMDK header says grains are "
				    "compressed but names no algorithm", n);
	return 0;
}

int vmdk_sparse_open(struct vmdk_sparse *sp, struct vmie_src *src,
		     char **desc_out, struct vmie_err *err)
{
	uint8_t hb[VMDK_SECTOR];
	char *desc = NULL;
	uint8_t *raw = NULL;
	int r;

	memset(sp, 0, sizeof *sp);
	sp->budget = src->budget;
	if (desc_out)
		*desc_out = NULL;
	if (src->size < VMDK_SECTOR)
		return VMIE_CORRUPT(err, "%s: %llu bytes is too small for a "
				    "VMDK sparse header", src->name,
				    (unsigned long long)src->size);
	r = vmie_src_pread(src, hb, sizeof hb, 0, err);
	if (r)
		return r;
	vmdk_header_decode(&sp->h, hb);
	if (sp->h.magic == VMDK_COWD_MAGIC)
		return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-002", "%s: VMware "
				     "vmfsSparse (COWD) extents are not "
				     "supported", src->name);
	if (vmie_le64(hb) == VMDK_SESPARSE_MAGIC)
		return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-002", "%s: VMware "
				     "SEsparse extents are not supported",
				     src->name);
	if (sp->h.magic != VMDK_MAGIC)
		return VMIE_CORRUPT(err, "%s: not a VMDK sparse extent (bad "
				    "magic 0x%08x at offset 0)", src->name,
				    sp->h.magic);
	if (sp->h.gd_offset == VMDK_GD_AT_END) {
		r = vmdk_read_footer(sp, src, err);
		if (r)
			return r;
	}
	r = vmdk_check_header(sp, src, err);
	if (r)
		return r;

	const struct vmdk_header_disk *h = &sp->h;
	sp->capacity = h->capacity;
	sp->grain_sectors = (uint32_t)h->grain_size;
	sp->grain_bytes = sp->grain_sectors * VMDK_SECTOR;
	sp->num_gtes = h->num_gtes;
	sp->compressed = h->compress == VMDK_COMPRESS_DEFLATE;
	sp->markers = sp->compressed && (h->flags & VMDK_FLAG_MARKERS);
	sp->max_record = (uint32_t)vmdk_align512(VMDK_MARKER_HDR +
						 vmdk_max_csize(sp->grain_bytes));

	/* embedded descriptor */
	if (h->desc_offset && h->desc_size) {
		if (h->desc_size > VMDK_MAX_DESC_BYTES / VMDK_SECTOR)
			return VMIE_CORRUPT(err, "%s: embedded descriptor of "
					    "%llu sectors is larger than the "
					    "%u-byte limit", src->name,
					    (unsigned long long)h->desc_size,
					    VMDK_MAX_DESC_BYTES);
		if (h->desc_offset > UINT64_MAX / VMDK_SECTOR ||
		    vmie_range_outside(h->desc_offset * VMDK_SECTOR,
				       h->desc_size * VMDK_SECTOR, src->size))
			return VMIE_CORRUPT(err, "%s: embedded descriptor at "
					    "sector %llu (%llu sectors) lies past "
					    "the end of the file", src->name,
					    (unsigned long long)h->desc_offset,
					    (unsigned long long)h->desc_size);
		sp->desc_off = h->desc_offset * VMDK_SECTOR;
		sp->desc_len = h->desc_size * VMDK_SECTOR;
		if (desc_out) {
			desc = malloc(sp->desc_len + 1);
			if (!desc)
				return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			r = vmie_src_pread(src, desc, sp->desc_len, sp->desc_off,
					   err);
			if (r)
				goto out;
			desc[sp->desc_len] = 0;
		}
	}

	/* grain directory */
	sp->n_grains = vmie_div_round_up(sp->capacity, sp->grain_sectors);
	sp->n_gd = vmie_div_round_up(sp->n_grains, sp->num_gtes);
	sp->gd_bytes = sp->n_gd * 4;
	if (sp->n_gd) {
		if (sp->gd_bytes > VMIE_MAX_TABLE_BYTES) {
			r = VMIE_CORRUPT(err, "%s: grain directory of %llu "
					 "entries is larger than the %llu-byte "
					 "limit", src->name,
					 (unsigned long long)sp->n_gd,
					 (unsigned long long)VMIE_MAX_TABLE_BYTES);
			goto out;
		}
		if (!h->gd_offset || h->gd_offset > UINT64_MAX / VMDK_SECTOR ||
		    vmie_range_outside(h->gd_offset * VMDK_SECTOR, sp->gd_bytes,
				       src->size)) {
			r = VMIE_CORRUPT(err, "%s: grain directory at sector "
					 "%llu (%llu entries) lies outside the "
					 "file (%llu bytes)", src->name,
					 (unsigned long long)h->gd_offset,
					 (unsigned long long)sp->n_gd,
					 (unsigned long long)src->size);
			goto out;
		}
		sp->gd_off = h->gd_offset * VMDK_SECTOR;
		if ((h->flags & VMDK_FLAG_RGD) && h->rgd_offset) {
			if (h->rgd_offset > UINT64_MAX / VMDK_SECTOR ||
			    vmie_range_outside(h->rgd_offset * VMDK_SECTOR,
					       sp->gd_bytes, src->size)) {
				r = VMIE_CORRUPT(err, "%s: redundant grain "
						 "directory at sector %llu lies "
						 "outside the file", src->name,
						 (unsigned long long)h->rgd_offset);
				goto out;
			}
			sp->rgd_off = h->rgd_offset * VMDK_SECTOR;
		}
		char where[160];
		snprintf(where, sizeof where, "%s: VMDK grain directory of %llu "
			 "entries", src->name, (unsigned long long)sp->n_gd);
		r = vmie_budget_entries(sp->budget, sp->n_gd, where, err);
		if (!r)
			r = vmie_budget_read(sp->budget, sp->gd_bytes, where, err);
		if (r)
			goto out;
		raw = vmie_budget_malloc(sp->budget, sp->gd_bytes, where, err);
		if (!raw) {
			r = err ? err->code : VMIE_ENOMEM;
			goto out;
		}
		sp->gd = vmie_budget_malloc(sp->budget, sp->gd_bytes, where, err);
		if (!sp->gd) {
			r = err ? err->code : VMIE_ENOMEM;
			goto out;
		}
		r = vmie_src_pread(src, raw, sp->gd_bytes, sp->gd_off, err);
		if (r)
			goto out;
		uint64_t gt_bytes = (uint64_t)sp->num_gtes * 4;
		for (uint64_t i = 0; i < sp->n_gd; i++) {
			uint32_t e = vmie_le32(raw + 4 * i);
			sp->gd[i] = e;
			if (!e)
				continue;
			uint64_t at = (uint64_t)e * VMDK_SECTOR;
			const char *what;
			if (vmie_range_outside(at, gt_bytes, src->size)) {
				r = VMIE_CORRUPT(err, "%s: grain directory entry "
						 "%llu points past the end of the "
						 "file (grain table at offset "
						 "%llu, file is %llu bytes)",
						 src->name, (unsigned long long)i,
						 (unsigned long long)at,
						 (unsigned long long)src->size);
				goto out;
			}
			if ((what = vmdk_meta_overlap(sp, at, gt_bytes))) {
				r = VMIE_CORRUPT(err, "%s: grain directory entry "
						 "%llu puts a grain table at "
						 "offset %llu, inside %s", src->name,
						 (unsigned long long)i,
						 (unsigned long long)at, what);
				goto out;
			}
		}
		uint64_t slot_cost = gt_bytes + sizeof(struct vmdk_gt_slot);
		sp->n_slots = (size_t)vmie_min_u64(sp->n_gd,
						   VMDK_GT_CACHE_BYTES / slot_cost);
		sp->slots = vmie_budget_calloc(sp->budget, sp->n_slots,
					       sizeof *sp->slots, where, err);
		if (!sp->slots) {
			r = err ? err->code : VMIE_ENOMEM;
			goto out;
		}
	}
	pthread_mutex_init(&sp->lock, NULL);
	sp->src = src;
	vmie_src_ref(src);
	if (desc_out) {
		*desc_out = desc;
		desc = NULL;
	}
	r = 0;
out:
	vmie_budget_free(sp->budget, raw, (size_t)sp->gd_bytes);
	free(desc);
	if (r) {
		vmie_budget_free(sp->budget, sp->gd, (size_t)sp->gd_bytes);
		vmie_budget_free(sp->budget, sp->slots,
				 sp->n_slots * sizeof *sp->slots);
		sp->gd = NULL;
		sp->slots = NULL;
	}
	return r;
}

void vmdk_sparse_close(struct vmdk_sparse *sp)
{
	for (size_t i = 0; sp->slots && i < sp->n_slots; i++)
		free(sp->slots[i].gte);
	vmie_budget_release(sp->budget, sp->n_cached * sp->num_gtes * 4);
	vmie_budget_free(sp->budget, sp->slots, sp->n_slots * sizeof *sp->slots);
	vmie_budget_free(sp->budget, sp->gd, (size_t)sp->gd_bytes);
	pthread_mutex_destroy(&sp->lock);
	vmie_src_unref(sp->src);
	sp->src = NULL;
}

/* Read a whole grain table from the file (no cache). */
static int vmdk_gt_load(struct vmdk_sparse *sp, uint64_t gt, uint32_t *out,
			struct vmie_err *err)
{
	uint8_t raw[VMDK_MAX_GTES * 4];
	int r = vmie_src_pread(sp->src, raw, (size_t)sp->num_gtes * 4,
			       (uint64_t)sp->gd[gt] * VMDK_SECTOR, err);
	if (r)
		return r;
	for (uint32_t i = 0; i < sp->num_gtes; i++)
		out[i] = vmie_le32(raw + 4 * i);
	return 0;
}

/* Charge n bytes of cache if the budget has room for them: a cache the
 * budget cannot hold is not an error, the table is read again instead. */
static bool vmdk_budget_room(struct vmie_budget *b, uint64_t n)
{
	if (!b)
		return true;
	uint64_t lim = b->limit[VMIE_BUDGET_MEM];
	if (lim && (vmie_budget_used(b, VMIE_BUDGET_MEM) > lim ||
		    n > lim - vmie_budget_used(b, VMIE_BUDGET_MEM)))
		return false;
	return !vmie_budget_alloc(b, n, NULL, NULL);
}

/* Copy count entries of grain table gt starting at first into out.
 * *loaded is set when the table had to be read from the file. */
static int vmdk_gt_get(struct vmdk_sparse *sp, uint64_t gt, uint32_t first,
		       uint32_t count, uint32_t *out, bool *loaded,
		       struct vmie_err *err)
{
	uint32_t tmp[VMDK_MAX_GTES];
	if (loaded)
		*loaded = false;
	if (!sp->gd[gt]) {
		memset(out, 0, (size_t)count * 4);
		return 0;
	}
	struct vmdk_gt_slot *s = &sp->slots[gt % sp->n_slots];
	pthread_mutex_lock(&sp->lock);
	if (s->tag == gt + 1) {
		memcpy(out, s->gte + first, (size_t)count * 4);
		pthread_mutex_unlock(&sp->lock);
		return 0;
	}
	pthread_mutex_unlock(&sp->lock);
	int r = vmdk_gt_load(sp, gt, tmp, err);
	if (r)
		return r;
	if (loaded)
		*loaded = true;
	pthread_mutex_lock(&sp->lock);
	if (!s->gte && vmdk_budget_room(sp->budget, (uint64_t)sp->num_gtes * 4)) {
		s->gte = malloc((size_t)sp->num_gtes * 4);
		if (s->gte)
			sp->n_cached++;
		else
			vmie_budget_release(sp->budget,
					    (uint64_t)sp->num_gtes * 4);
	}
	if (s->gte) {
		memcpy(s->gte, tmp, (size_t)sp->num_gtes * 4);
		s->tag = gt + 1;
	}
	pthread_mutex_unlock(&sp->lock);
	memcpy(out, tmp + first, (size_t)count * 4);
	return 0;
}

/* Check that grain gi's entry e (>= 2) points at something readable. */
static int vmdk_grain_valid(struct vmdk_sparse *sp, uint64_t gi, uint32_t e,
			    struct vmie_err *err)
{
	uint64_t at = (uint64_t)e * VMDK_SECTOR, len;
	const char *what;
	if (sp->compressed) {
		len = sp->markers ? VMDK_MARKER_HDR : 1;
	} else {
		/* the last grain may stop at the end of the capacity */
		uint64_t left = sp->capacity * VMDK_SECTOR - gi * sp->grain_bytes;
		len = vmie_min_u64(sp->grain_bytes, left);
	}
	if (vmie_range_outside(at, len, sp->src->size))
		return VMIE_CORRUPT(err, "%s: grain table %llu entry %llu "
				    "points past the end of the file (grain at "
				    "offset %llu, file is %llu bytes)",
				    sp->src->name,
				    (unsigned long long)(gi / sp->num_gtes),
				    (unsigned long long)(gi % sp->num_gtes),
				    (unsigned long long)at,
				    (unsigned long long)sp->src->size);
	if ((what = vmdk_meta_overlap(sp, at, len)))
		return VMIE_CORRUPT(err, "%s: grain table %llu entry %llu puts "
				    "grain %llu at offset %llu, inside %s",
				    sp->src->name,
				    (unsigned long long)(gi / sp->num_gtes),
				    (unsigned long long)(gi % sp->num_gtes),
				    (unsigned long long)gi,
				    (unsigned long long)at, what);
	return 0;
}

static int vmdk_read_plain(struct vmdk_sparse *sp, const uint32_t *gte,
			   uint64_t gi0, uint32_t count, uint8_t *buf,
			   size_t len, uint64_t off, struct vmie_err *err)
{
	uint64_t run_file = 0;
	uint8_t *run_buf = NULL;
	size_t run_len = 0;
	int r;

	for (uint32_t i = 0; i < count; i++) {
		uint64_t gi = gi0 + i;
		uint64_t o = i == 0 ? off - gi * sp->grain_bytes : 0;
		size_t n = (size_t)vmie_min_u64(sp->grain_bytes - o, len);
		uint32_t e = gte[i];
		if (e <= VMDK_GTE_ZEROED) {
			memset(buf, 0, n);
		} else {
			r = vmdk_grain_valid(sp, gi, e, err);
			if (r)
				return r;
			uint64_t fo = (uint64_t)e * VMDK_SECTOR + o;
			if (run_len && run_file + run_len == fo &&
			    run_buf + run_len == buf) {
				run_len += n;
			} else {
				if (run_len) {
					r = vmie_src_pread(sp->src, run_buf,
							   run_len, run_file, err);
					if (r)
						return r;
				}
				run_file = fo;
				run_buf = buf;
				run_len = n;
			}
		}
		buf += n;
		len -= n;
	}
	if (run_len)
		return vmie_src_pread(sp->src, run_buf, run_len, run_file, err);
	return 0;
}

/* Fill the window with file bytes from fo, guessing how far the following
 * grains (if they are laid out one after the other) reach. */
static int vmdk_refill(struct vmdk_sparse *sp, struct vmdk_scratch *sc,
		       const uint32_t *gte, uint32_t i, uint32_t count,
		       uint64_t fo, uint64_t need, uint64_t *win_off,
		       size_t *win_len, struct vmie_err *err)
{
	uint64_t typ = vmdk_typical_record(sp);
	uint64_t end = fo + vmie_max_u64(need, typ), prev = fo;
	for (uint32_t j = i + 1; j < count; j++) {
		if (gte[j] <= VMDK_GTE_ZEROED)
			continue;
		uint64_t at = (uint64_t)gte[j] * VMDK_SECTOR;
		if (at < prev || at - prev > typ || at + typ - fo > sc->win_size)
			break;
		end = at + typ;
		prev = at;
	}
	if (end - fo > sc->win_size)
		end = fo + sc->win_size;
	if (end > sp->src->size)
		end = sp->src->size;
	*win_off = fo;
	*win_len = (size_t)(end - fo);
	return vmie_src_pread(sp->src, sc->win, *win_len, fo, err);
}

static int vmdk_read_compressed(struct vmdk_sparse *sp,
				struct vmdk_scratch *sc, const uint32_t *gte,
				uint64_t gi0, uint32_t count, uint8_t *buf,
				size_t len, uint64_t off, struct vmie_err *err)
{
	uint64_t win_off = 0;
	size_t win_len = 0;
	uint32_t max_csize = vmdk_max_csize(sp->grain_bytes);
	int r;

	for (uint32_t i = 0; i < count; i++) {
		uint64_t gi = gi0 + i;
		uint64_t o = i == 0 ? off - gi * sp->grain_bytes : 0;
		size_t n = (size_t)vmie_min_u64(sp->grain_bytes - o, len);
		uint32_t e = gte[i];
		if (e <= VMDK_GTE_ZEROED) {
			memset(buf, 0, n);
			goto next;
		}
		r = vmdk_grain_valid(sp, gi, e, err);
		if (r)
			return r;
		uint64_t fo = (uint64_t)e * VMDK_SECTOR;
		uint64_t hdr = sp->markers ? VMDK_MARKER_HDR : 0;
		if (fo < win_off || fo + hdr + 1 > win_off + win_len) {
			r = vmdk_refill(sp, sc, gte, i, count, fo, hdr + 1,
					&win_off, &win_len, err);
			if (r)
				return r;
		}
		uint64_t csize;
		if (sp->markers) {
			const uint8_t *m = sc->win + (fo - win_off);
			uint64_t lba = vmie_le64(m);
			csize = vmie_le32(m + 8);
			if (lba != gi * sp->grain_sectors)
				return VMIE_CORRUPT(err, "%s: grain %llu at offset "
						    "%llu has a marker for sector "
						    "%llu, not %llu", sp->src->name,
						    (unsigned long long)gi,
						    (unsigned long long)fo,
						    (unsigned long long)lba,
						    (unsigned long long)(gi *
							sp->grain_sectors));
			if (!csize || csize > max_csize)
				return VMIE_CORRUPT(err, "%s: grain %llu at offset "
						    "%llu has a compressed size of "
						    "%llu bytes (limit %u)",
						    sp->src->name,
						    (unsigned long long)gi,
						    (unsigned long long)fo,
						    (unsigned long long)csize,
						    max_csize);
			if (vmie_range_outside(fo + hdr, csize, sp->src->size))
				return VMIE_CORRUPT(err, "%s: compressed grain "
						    "%llu at offset %llu (%llu "
						    "bytes) runs past the end of "
						    "the file: truncated",
						    sp->src->name,
						    (unsigned long long)gi,
						    (unsigned long long)fo,
						    (unsigned long long)csize);
		} else {
			csize = vmie_min_u64(max_csize, sp->src->size - fo);
		}
		if (fo + hdr + csize > win_off + win_len) {
			r = vmdk_refill(sp, sc, gte, i, count, fo, hdr + csize,
					&win_off, &win_len, err);
			if (r)
				return r;
		}
		const uint8_t *data = sc->win + (fo - win_off) + hdr;
		uint8_t *dst = (o == 0 && n == sp->grain_bytes) ? buf : sc->grain;
		size_t got = 0;
		enum libdeflate_result dr;
		dr = libdeflate_zlib_decompress(sc->dec, data, (size_t)csize,
						dst, sp->grain_bytes, &got);
		if (dr != LIBDEFLATE_SUCCESS)
			return VMIE_CORRUPT(err, "%s: compressed grain %llu at "
					    "offset %llu does not inflate (%s)",
					    sp->src->name, (unsigned long long)gi,
					    (unsigned long long)fo,
					    dr == LIBDEFLATE_INSUFFICIENT_SPACE ?
					    "larger than a grain" :
					    "bad zlib data");
		if (got < o + n)
			return VMIE_CORRUPT(err, "%s: compressed grain %llu at "
					    "offset %llu inflates to %zu bytes, "
					    "fewer than the %llu needed",
					    sp->src->name, (unsigned long long)gi,
					    (unsigned long long)fo, got,
					    (unsigned long long)(o + n));
		if (dst != buf)
			memcpy(buf, sc->grain + o, n);
next:
		buf += n;
		len -= n;
	}
	return 0;
}

int vmdk_sparse_read(struct vmdk_sparse *sp, struct vmdk_scratch *sc,
		     uint8_t *buf, size_t len, uint64_t off,
		     struct vmie_err *err)
{
	uint32_t gte[VMDK_MAX_GTES];
	uint64_t gt_span = (uint64_t)sp->num_gtes * sp->grain_bytes;
	int r;

	if (vmie_range_outside(off, len, sp->capacity * VMDK_SECTOR))
		return VMIE_ERR(err, VMIE_ERANGE, "%s: read past the capacity "
				"of the sparse extent", sp->src->name);
	while (len) {
		uint64_t gi = off / sp->grain_bytes;
		uint64_t gt = gi / sp->num_gtes;
		uint32_t first = (uint32_t)(gi % sp->num_gtes);
		uint64_t stop = vmie_min_u64(off + len, (gt + 1) * gt_span);
		uint32_t count = (uint32_t)((stop - 1) / sp->grain_bytes - gi + 1);
		size_t n = (size_t)(stop - off);
		r = vmdk_gt_get(sp, gt, first, count, gte, NULL, err);
		if (r)
			return r;
		if (sp->compressed)
			r = vmdk_read_compressed(sp, sc, gte, gi, count, buf, n,
						 off, err);
		else
			r = vmdk_read_plain(sp, gte, gi, count, buf, n, off, err);
		if (r)
			return r;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static unsigned vmdk_gte_status(uint32_t e)
{
	if (e == 0)
		return VMIE_BS_ZERO | VMIE_BS_HOLE;
	if (e == VMDK_GTE_ZEROED)
		return VMIE_BS_ZERO;
	return VMIE_BS_DATA;
}

int vmdk_sparse_status(struct vmdk_sparse *sp, uint64_t off, uint64_t max,
		       uint64_t *pnum, unsigned *status, struct vmie_err *err)
{
	uint32_t gte[VMDK_MAX_GTES];
	uint64_t gt_span = (uint64_t)sp->num_gtes * sp->grain_bytes;
	uint64_t pos = off, end = off + max;
	unsigned st0 = 0, loads = 0;
	bool have = false;

	while (pos < end) {
		uint64_t gi = pos / sp->grain_bytes;
		uint64_t gt = gi / sp->num_gtes;
		uint64_t gt_end = vmie_min_u64((gt + 1) * gt_span, end);
		if (!sp->gd[gt]) {
			if (have && st0 != (VMIE_BS_ZERO | VMIE_BS_HOLE))
				break;
			st0 = VMIE_BS_ZERO | VMIE_BS_HOLE;
			have = true;
			pos = gt_end;
			continue;
		}
		if (loads >= VMDK_STATUS_MAX_LOADS && have)
			break;
		uint32_t first = (uint32_t)(gi % sp->num_gtes);
		uint32_t count = (uint32_t)((gt_end - 1) / sp->grain_bytes -
					    gi + 1);
		bool loaded;
		int r = vmdk_gt_get(sp, gt, first, count, gte, &loaded, err);
		if (r)
			return r;
		loads += loaded;
		for (uint32_t i = 0; i < count; i++) {
			unsigned st = vmdk_gte_status(gte[i]);
			if (have && st != st0)
				goto done;
			st0 = st;
			have = true;
			pos = vmie_min_u64((gi + i + 1) * sp->grain_bytes, end);
		}
	}
done:
	*pnum = pos - off;
	*status = st0;
	return 0;
}

/* A walk (count, check) visits grain table gt: its entries and bytes are
 * drawn on the budget. */
static int vmdk_budget_gt(struct vmdk_sparse *sp, uint64_t gt, uint32_t count,
			  struct vmie_err *err)
{
	char where[160];
	if (!sp->budget)
		return 0;
	snprintf(where, sizeof where, "%s: VMDK grain table %llu at offset "
		 "%llu", sp->src->name, (unsigned long long)gt,
		 (unsigned long long)sp->gd[gt] * VMDK_SECTOR);
	int r = vmie_budget_entries(sp->budget, count, where, err);
	return r ? r : vmie_budget_read(sp->budget, (uint64_t)sp->num_gtes * 4,
					where, err);
}

int vmdk_sparse_count(struct vmdk_sparse *sp, uint64_t *alloc,
		      uint64_t *zeroed, struct vmie_err *err)
{
	uint32_t gte[VMDK_MAX_GTES];
	*alloc = *zeroed = 0;
	for (uint64_t gt = 0; gt < sp->n_gd; gt++) {
		if (!sp->gd[gt])
			continue;
		uint64_t left = sp->n_grains - gt * sp->num_gtes;
		uint32_t count = (uint32_t)vmie_min_u64(sp->num_gtes, left);
		int r = vmdk_budget_gt(sp, gt, count, err);
		if (r)
			return r;
		r = vmdk_gt_get(sp, gt, 0, count, gte, NULL, err);
		if (r)
			return r;
		for (uint32_t i = 0; i < count; i++) {
			*alloc += gte[i] != 0;
			*zeroed += gte[i] == VMDK_GTE_ZEROED;
		}
	}
	return 0;
}

/* ---- check ---- */

struct vmdk_bitmap {
	uint8_t *bits;
	uint64_t nbits;
};

/* Mark sectors [off, off+len); true if any was already marked. */
static bool vmdk_mark(struct vmdk_bitmap *b, uint64_t off, uint64_t len)
{
	bool seen = false;
	if (!b->bits || !len)
		return false;
	uint64_t s = off / VMDK_SECTOR, e = (off + len - 1) / VMDK_SECTOR;
	for (uint64_t i = s; i <= e && i < b->nbits; i++) {
		uint8_t m = (uint8_t)(1u << (i & 7));
		if (b->bits[i >> 3] & m)
			seen = true;
		b->bits[i >> 3] |= m;
	}
	return seen;
}

/* A line in the check's report that is neither a corruption nor a leak. */
static void vmdk_check_note(struct vmie_check_result *res, const char *fmt,
			    ...) __attribute__((format(printf, 2, 3)));
static void vmdk_check_note(struct vmie_check_result *res, const char *fmt,
			    ...)
{
	va_list ap;
	if (res->n_msgs >= VMIE_CHECK_MAX_MSGS)
		return;
	va_start(ap, fmt);
	vsnprintf(res->msgs[res->n_msgs], sizeof res->msgs[0], fmt, ap);
	va_end(ap);
	res->n_msgs++;
}

/* Working memory of the check's grain inflation (charged to the budget). */
struct vmdk_inflater {
	struct libdeflate_decompressor *dec;
	uint8_t *in, *out;
	size_t in_size, out_size;
	bool stopped;           /* the inflate budget is spent */
	uint64_t grains;        /* inflated so far */
};

static void vmdk_inflater_free(struct vmdk_sparse *sp, struct vmdk_inflater *z)
{
	if (z->dec)
		libdeflate_free_decompressor(z->dec);
	vmie_budget_free(sp->budget, z->in, z->in_size);
	vmie_budget_free(sp->budget, z->out, z->out_size);
}

/*
 * Inflate compressed grain gi, whose record (marker included, or csize
 * bytes of zlib data without markers) is at file offset at: it must
 * inflate, to no more than a grain, and cover the grain's bytes of the
 * disk, as a read of it during convert needs.  Inflation draws on the
 * budget's inflate counter; once it is spent the remaining grains are not
 * inflated and the report says so (vmie check reads them all).  Returns an
 * error only when the walk cannot go on.
 */
static int vmdk_check_inflate(struct vmdk_sparse *sp, struct vmdk_inflater *z,
			      unsigned idx, uint64_t gi, uint64_t at,
			      uint64_t hdr, uint64_t csize,
			      struct vmie_check_result *res,
			      struct vmie_err *err)
{
	uint64_t need = vmie_min_u64(sp->grain_bytes, sp->capacity * VMDK_SECTOR -
				     gi * sp->grain_bytes);
	struct vmie_err e2 = { 0 };
	size_t got = 0;
	int r;

	if (z->stopped)
		return 0;
	if (!z->dec) {
		z->in_size = sp->max_record;
		z->out_size = sp->grain_bytes;
		z->in = vmie_budget_malloc(sp->budget, z->in_size,
					   "vmdk: check's grain buffer", err);
		if (!z->in)
			return err ? err->code : VMIE_ENOMEM;
		z->out = vmie_budget_malloc(sp->budget, z->out_size,
					    "vmdk: check's grain buffer", err);
		if (!z->out)
			return err ? err->code : VMIE_ENOMEM;
		z->dec = libdeflate_alloc_decompressor();
		if (!z->dec)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	if (hdr + csize > z->in_size)
		csize = z->in_size - hdr;
	if (vmie_budget_inflate(sp->budget, sp->grain_bytes, NULL, &e2)) {
		z->stopped = true;
		vmdk_check_note(res, "extent %u: the data of compressed grains "
				"from grain %llu on was not inflated (the "
				"inflate budget is spent; `vmie check` reads "
				"every grain, or raise it with --limit "
				"inflate=SIZE)", idx, (unsigned long long)gi);
		return 0;
	}
	r = vmie_src_pread(sp->src, z->in, (size_t)(hdr + csize), at, err);
	if (r)
		return r;
	enum libdeflate_result dr;
	dr = libdeflate_zlib_decompress(z->dec, z->in + hdr, (size_t)csize,
					z->out, z->out_size, &got);
	z->grains++;
	if (dr != LIBDEFLATE_SUCCESS)
		vmie_check_add(res, true, "extent %u: compressed grain %llu at "
			       "offset %llu does not inflate (%s)", idx,
			       (unsigned long long)gi, (unsigned long long)at,
			       dr == LIBDEFLATE_INSUFFICIENT_SPACE ?
			       "larger than a grain" : "bad zlib data");
	else if (got < need)
		vmie_check_add(res, true, "extent %u: compressed grain %llu at "
			       "offset %llu inflates to %zu bytes, fewer than "
			       "the %llu of the grain", idx,
			       (unsigned long long)gi, (unsigned long long)at,
			       got, (unsigned long long)need);
	return 0;
}

int vmdk_sparse_check(struct vmdk_sparse *sp, unsigned idx,
		      struct vmie_check_result *res, struct vmie_err *err)
{
	struct vmdk_inflater z = { 0 };
	uint32_t gte[VMDK_MAX_GTES], rgte[VMDK_MAX_GTES];
	struct vmdk_bitmap bm = { 0 };
	const char *n = sp->src->name;
	uint64_t gt_bytes = (uint64_t)sp->num_gtes * 4;
	uint8_t *rraw = NULL;
	int r = 0;

	bm.nbits = vmie_div_round_up(sp->src->size, VMDK_SECTOR);
	if (bm.nbits / 8 + 1 <= VMDK_CHECK_BITMAP_MAX)
		bm.bits = calloc(1, (size_t)(bm.nbits / 8 + 1));
	vmdk_mark(&bm, 0, VMDK_SECTOR);
	vmdk_mark(&bm, sp->desc_off, sp->desc_len);
	vmdk_mark(&bm, sp->gd_off, sp->gd_bytes);
	if (sp->rgd_off && vmdk_mark(&bm, sp->rgd_off, sp->gd_bytes))
		vmie_check_add(res, true, "%s: the redundant grain directory "
			       "overlaps other metadata", n);

	if (sp->rgd_off) {
		rraw = malloc(sp->gd_bytes);
		if (!rraw) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			goto out;
		}
		r = vmie_src_pread(sp->src, rraw, sp->gd_bytes, sp->rgd_off, err);
		if (r)
			goto out;
	}
	for (uint64_t gt = 0; gt < sp->n_gd; gt++) {
		res->tables_checked++;
		uint32_t rge = rraw ? vmie_le32(rraw + 4 * gt) : 0;
		uint64_t left = sp->n_grains - gt * sp->num_gtes;
		uint32_t count = (uint32_t)vmie_min_u64(sp->num_gtes, left);
		bool have_r = false;
		if (rraw && !rge && sp->gd[gt])
			vmie_check_add(res, true, "extent %u: redundant grain "
				       "directory entry %llu is 0 but the grain "
				       "directory has a table", idx,
				       (unsigned long long)gt);
		if (rge) {
			uint64_t at = (uint64_t)rge * VMDK_SECTOR;
			if (vmie_range_outside(at, gt_bytes, sp->src->size)) {
				vmie_check_add(res, true, "extent %u: redundant "
					       "grain directory entry %llu points "
					       "past the end of the file", idx,
					       (unsigned long long)gt);
			} else {
				if (vmdk_mark(&bm, at, gt_bytes))
					vmie_check_add(res, true, "extent %u: "
						       "redundant grain table %llu "
						       "overlaps other data", idx,
						       (unsigned long long)gt);
				r = vmie_budget_read(sp->budget, gt_bytes,
						     "vmdk: redundant grain table",
						     err);
				if (r)
					goto out;
				uint8_t raw[VMDK_MAX_GTES * 4];
				r = vmie_src_pread(sp->src, raw, gt_bytes, at, err);
				if (r)
					goto out;
				for (uint32_t i = 0; i < sp->num_gtes; i++)
					rgte[i] = vmie_le32(raw + 4 * i);
				have_r = true;
			}
		}
		if (!sp->gd[gt])
			continue;
		if (vmdk_mark(&bm, (uint64_t)sp->gd[gt] * VMDK_SECTOR, gt_bytes))
			vmie_check_add(res, true, "extent %u: grain table %llu "
				       "at sector %u overlaps other data (a "
				       "loop in the grain directory?)", idx,
				       (unsigned long long)gt, sp->gd[gt]);
		r = vmdk_budget_gt(sp, gt, count, err);
		if (r)
			goto out;
		r = vmdk_gt_load(sp, gt, gte, err);
		if (r)
			goto out;
		if (have_r && memcmp(gte, rgte, count * 4))
			vmie_check_add(res, true, "extent %u: grain table %llu "
				       "differs from its redundant copy", idx,
				       (unsigned long long)gt);
		for (uint32_t i = 0; i < count; i++) {
			uint64_t gi = gt * sp->num_gtes + i;
			uint32_t e = gte[i];
			res->tables_checked++;
			if (e <= VMDK_GTE_ZEROED)
				continue;
			struct vmie_err e2 = { 0 };
			if (vmdk_grain_valid(sp, gi, e, &e2)) {
				vmie_check_add(res, true, "%s", e2.msg);
				continue;
			}
			uint64_t at = (uint64_t)e * VMDK_SECTOR;
			uint64_t len = sp->grain_bytes;
			if (sp->markers) {
				uint8_t m[VMDK_MARKER_HDR];
				r = vmie_src_pread(sp->src, m, sizeof m, at, err);
				if (r)
					goto out;
				uint64_t lba = vmie_le64(m);
				uint32_t cs = vmie_le32(m + 8);
				if (lba != gi * sp->grain_sectors)
					vmie_check_add(res, true, "extent %u: "
						       "grain %llu at offset %llu "
						       "is marked for sector %llu",
						       idx, (unsigned long long)gi,
						       (unsigned long long)at,
						       (unsigned long long)lba);
				if (!cs || cs > vmdk_max_csize(sp->grain_bytes) ||
				    vmie_range_outside(at + VMDK_MARKER_HDR, cs,
						       sp->src->size)) {
					vmie_check_add(res, true, "extent %u: "
						       "grain %llu at offset %llu "
						       "has a bad compressed size "
						       "%u (past the end of the "
						       "file or too big)", idx,
						       (unsigned long long)gi,
						       (unsigned long long)at, cs);
					continue;
				}
				len = VMDK_MARKER_HDR + cs;
			} else if (sp->compressed) {
				len = VMDK_SECTOR;
			} else {
				len = vmie_min_u64(len, sp->src->size - at);
			}
			if (vmdk_mark(&bm, at, len))
				vmie_check_add(res, true, "extent %u: grain %llu "
					       "at offset %llu overlaps another "
					       "grain or metadata", idx,
					       (unsigned long long)gi,
					       (unsigned long long)at);
			if (sp->compressed) {
				uint64_t hdr = sp->markers ? VMDK_MARKER_HDR : 0;
				uint64_t cs = sp->markers ? len - hdr :
					vmie_min_u64(vmdk_max_csize(sp->grain_bytes),
						     sp->src->size - at);
				r = vmdk_check_inflate(sp, &z, idx, gi, at, hdr,
						       cs, res, err);
				if (r)
					goto out;
			}
		}
	}
	/* files over 256 GiB: overlaps between grains are not checked */
out:
	vmdk_inflater_free(sp, &z);
	free(bm.bits);
	free(rraw);
	return r;
}
