/*
 * qcow2 writer: a qcow2 v3 (compat=1.1, default) or v2 (compat=0.10) image
 * from the convert engine's in-order chunks.
 *
 * Spec: qemu docs/interop/qcow2.txt; layout in qcow2_disk.h.  The result
 * passes `qemu-img check` with no errors and no leaks.
 *
 * The file grows append-only, one cluster at a time, and every cluster
 * below the allocation frontier is in use:
 *
 *   cluster 0        header (written last, by finish)
 *   1 .. L           the L1 table (reserved by create, written by finish)
 *   L+1 ..           data clusters in guest order, with each L2 table
 *                    appended when the writer moves past its range, and
 *                    each refcount block appended once the frontier has
 *                    moved past the clusters it counts
 *   end              the last refcount blocks, then the refcount table
 *
 * So only one L2 table and one refcount block are in memory at a time
 * (plus the L1 table, at most 32 MiB), whatever the disk size.  Zero
 * clusters are never written: they stay unallocated.
 *
 * Compression (compression=zlib|zstd) happens in encode(), in the engine's
 * worker threads; write() packs the compressed clusters byte after byte as
 * qemu does.  A compressed cluster is kept only when it is shorter than a
 * cluster; otherwise the cluster is stored as is.  A host cluster holding
 * pieces of several compressed clusters has a refcount of one per piece,
 * which is what `qemu-img check` expects.
 *
 * Options: compression=none|zlib|zstd (default none, like qemu-img convert
 * without -c), cluster_size=512..2M (power of two, default 64K),
 * compat=1.1|0.10 (same as the v3/v2 subformats).
 */
#include "qcow2_int.h"
#include "../../core/checked.h"
#include "../../core/endian.h"
#include "../../core/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QCOW2_W_DEFAULT_CLUSTER  (64u * 1024)
#define QCOW2_W_REFCOUNT_ORDER   4u           /* 16-bit refcounts */
#define QCOW2_W_NO_COMPRESSION   (~0u)

/* encode() output for one chunk: per cluster, 0 = zero cluster, cs =
 * store as is, else the length of its compressed bytes in data. */
struct qcow2_enc {
	size_t n;
	uint32_t *len;
	uint8_t *data;           /* n slots of cs bytes */
};

struct qcow2_w {
	unsigned version;
	unsigned cluster_bits;
	uint32_t cs;
	unsigned l2_bits;
	unsigned compression;    /* QCOW2_COMPRESS_* or NO_COMPRESSION */
	uint64_t size;
	struct vmie_sink *sink;

	uint32_t l1_size;
	uint64_t l1_clusters;
	uint64_t *l1;

	uint64_t next_cl;        /* allocation frontier (host cluster) */

	uint8_t *l2;             /* the L2 table being filled */
	uint64_t l2_index;       /* its L1 index */
	bool l2_used;

	uint64_t cend;           /* end of the last compressed cluster */
	bool have_c;

	uint64_t rb_per;         /* refcounts per refcount block */
	uint8_t *rb;             /* refcount block being filled */
	uint64_t rb_index;       /* its index in the refcount table */
	uint8_t **pend;          /* finished blocks not yet placed */
	size_t n_pend, cap_pend;
	uint64_t *reft;          /* offsets of placed refcount blocks */
	size_t n_reft, cap_reft;

	uint8_t *tail;           /* one cluster: a short last cluster */
	/* a run of data clusters written with one pwrite */
	const uint8_t *run_src;
	uint64_t run_host;
	size_t run_len;
};

/* ---- refcounts ---- */

static int qcow2w_push(void ***v, size_t *n, size_t *cap, size_t elem,
		       struct vmie_err *err)
{
	if (*n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*v, nc * elem);
	if (!p)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	*v = p;
	*cap = nc;
	return 0;
}

/* One more reference to host cluster c.  References arrive in
 * non-decreasing cluster order, so a block is finished (queued for
 * placement) as soon as a cluster past its range is counted. */
static int qcow2w_ref(struct qcow2_w *w, uint64_t c, struct vmie_err *err)
{
	while (c / w->rb_per > w->rb_index) {
		int r = qcow2w_push((void ***)&w->pend, &w->n_pend,
				    &w->cap_pend, sizeof *w->pend, err);
		if (r)
			return r;
		uint8_t *nb = calloc(1, w->cs);
		if (!nb)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		w->pend[w->n_pend++] = w->rb;
		w->rb = nb;
		w->rb_index++;
	}
	uint8_t *p = w->rb + (c % w->rb_per) * 2;
	uint16_t v = vmie_be16(p);
	if (v == UINT16_MAX)
		return VMIE_ERR(err, VMIE_ERANGE, "qcow2: refcount overflow "
				"on host cluster %llu", (unsigned long long)c);
	vmie_put_be16(p, (uint16_t)(v + 1));
	return 0;
}

/* Reserve n clusters at the frontier, each with one reference. */
static int qcow2w_alloc(struct qcow2_w *w, uint64_t n, uint64_t *first,
			struct vmie_err *err)
{
	*first = w->next_cl;
	for (uint64_t i = 0; i < n; i++) {
		int r = qcow2w_ref(w, w->next_cl++, err);
		if (r)
			return r;
	}
	return 0;
}

static int qcow2w_put_reft(struct qcow2_w *w, uint64_t off,
			   struct vmie_err *err)
{
	int r = qcow2w_push((void ***)&w->reft, &w->n_reft, &w->cap_reft,
			    sizeof *w->reft, err);
	if (r)
		return r;
	w->reft[w->n_reft++] = off;
	return 0;
}

/* Place finished refcount blocks at the frontier (placing one may finish
 * another). */
static int qcow2w_flush_pending(struct qcow2_w *w, struct vmie_err *err)
{
	size_t i = 0;
	int r = 0;
	while (i < w->n_pend) {
		uint64_t c;
		r = qcow2w_alloc(w, 1, &c, err);
		if (r)
			break;
		uint64_t off = c << w->cluster_bits;
		r = vmie_sink_pwrite(w->sink, w->pend[i], w->cs, off, err);
		if (!r)
			r = qcow2w_put_reft(w, off, err);
		free(w->pend[i]);
		w->pend[i++] = NULL;
		if (r)
			break;
	}
	/* keep the unplaced tail (only on error) */
	if (i && i < w->n_pend)
		memmove(w->pend, w->pend + i,
			(w->n_pend - i) * sizeof *w->pend);
	w->n_pend -= i;
	return r;
}

/* ---- data and L2 tables ---- */

static int qcow2w_run_flush(struct qcow2_w *w, struct vmie_err *err)
{
	int r = 0;
	if (w->run_len)
		r = vmie_sink_pwrite(w->sink, w->run_src, w->run_len,
				     w->run_host, err);
	w->run_len = 0;
	return r;
}

static int qcow2w_l2_flush(struct qcow2_w *w, struct vmie_err *err)
{
	uint64_t c;
	if (!w->l2_used)
		return 0;
	int r = qcow2w_alloc(w, 1, &c, err);
	if (!r)
		r = vmie_sink_pwrite(w->sink, w->l2, w->cs,
				     c << w->cluster_bits, err);
	if (r)
		return r;
	w->l1[w->l2_index] = (c << w->cluster_bits) | QCOW2_OFLAG_COPIED;
	memset(w->l2, 0, w->cs);
	w->l2_used = false;
	return qcow2w_flush_pending(w, err);
}

/* Point guest cluster vcl at entry e, switching L2 tables as needed. */
static int qcow2w_set(struct qcow2_w *w, uint64_t vcl, uint64_t e,
		      struct vmie_err *err)
{
	uint64_t l1i = vcl >> w->l2_bits;
	if (w->l2_used && l1i != w->l2_index) {
		int r = qcow2w_run_flush(w, err);
		if (!r)
			r = qcow2w_l2_flush(w, err);
		if (r)
			return r;
	}
	w->l2_index = l1i;
	w->l2_used = true;
	vmie_put_be64(w->l2 + (vcl & ((1ull << w->l2_bits) - 1)) * 8, e);
	return 0;
}

/* Store guest cluster vcl uncompressed from src (cs bytes). */
static int qcow2w_data(struct qcow2_w *w, uint64_t vcl, const uint8_t *src,
		       struct vmie_err *err)
{
	uint64_t c;
	/* switch L2 tables before allocating, so data follows its table's
	 * predecessor and runs stay contiguous */
	int r = qcow2w_set(w, vcl, 0, err);
	if (!r)
		r = qcow2w_alloc(w, 1, &c, err);
	if (r)
		return r;
	uint64_t host = c << w->cluster_bits;
	vmie_put_be64(w->l2 + (vcl & ((1ull << w->l2_bits) - 1)) * 8,
		      host | QCOW2_OFLAG_COPIED);
	if (w->run_len && w->run_host + w->run_len == host &&
	    w->run_src + w->run_len == src) {
		w->run_len += w->cs;
	} else {
		r = qcow2w_run_flush(w, err);
		w->run_src = src;
		w->run_host = host;
		w->run_len = w->cs;
	}
	if (!r && w->n_pend) {
		r = qcow2w_run_flush(w, err);
		if (!r)
			r = qcow2w_flush_pending(w, err);
	}
	return r;
}

/* Store guest cluster vcl as len compressed bytes, packed after the
 * previous compressed cluster when that one ends in the last allocated
 * host cluster. */
static int qcow2w_compressed(struct qcow2_w *w, uint64_t vcl,
			     const uint8_t *data, uint32_t len,
			     struct vmie_err *err)
{
	int r = qcow2w_set(w, vcl, 0, err);
	if (!r)
		r = qcow2w_run_flush(w, err);
	if (r)
		return r;
	uint64_t start;
	if (w->have_c && (w->cend & (w->cs - 1)) &&
	    (w->cend >> w->cluster_bits) == w->next_cl - 1)
		start = w->cend;
	else
		start = w->next_cl << w->cluster_bits;
	uint64_t first = start >> w->cluster_bits;
	uint64_t last = (start + len - 1) >> w->cluster_bits;
	/* every touched cluster not yet allocated is the next one */
	for (uint64_t c = first; c <= last; c++) {
		if (c >= w->next_cl)
			w->next_cl = c + 1;
		r = qcow2w_ref(w, c, err);
		if (r)
			return r;
	}
	unsigned sh = qcow2_csize_shift(w->cluster_bits);
	if (start >= (1ull << sh) || start >= (1ull << 56))
		return VMIE_ERR(err, VMIE_ERANGE, "qcow2: compressed cluster "
				"offset 0x%llx is past what the format can "
				"address", (unsigned long long)start);
	uint64_t extra = ((start + len - 1) >> 9) - (start >> 9);
	uint64_t e = QCOW2_OFLAG_COMPRESSED | (extra << sh) | start;
	vmie_put_be64(w->l2 + (vcl & ((1ull << w->l2_bits) - 1)) * 8, e);
	r = vmie_sink_pwrite(w->sink, data, len, start, err);
	if (r)
		return r;
	w->cend = start + len;
	w->have_c = true;
	return qcow2w_flush_pending(w, err);
}

/* ---- writer ops ---- */

static int qcow2w_parse_opts(const struct vmie_create_opts *o,
			     unsigned *version, unsigned *cbits,
			     unsigned *comp, struct vmie_err *err)
{
	const char *sub = o->subformat;
	*version = 3;
	*cbits = 16;
	*comp = QCOW2_W_NO_COMPRESSION;
	if (sub && !strcasecmp(sub, "v2"))
		*version = 2;
	else if (sub && *sub && strcasecmp(sub, "v3"))
		return VMIE_ERR(err, VMIE_EINVAL, "qcow2: unknown subformat "
				"'%s' (v3, v2)", sub);
	for (size_t i = 0; i < o->n_kv; i++) {
		const char *kv = o->kv[i], *eq = strchr(kv, '=');
		size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
		const char *v = eq ? eq + 1 : "";
		if (klen == 11 && !strncmp(kv, "compression", klen)) {
			if (!strcmp(v, "none") || !strcmp(v, "off"))
				*comp = QCOW2_W_NO_COMPRESSION;
			else if (!strcmp(v, "zlib") || !strcmp(v, "on"))
				*comp = QCOW2_COMPRESS_ZLIB;
			else if (!strcmp(v, "zstd"))
				*comp = QCOW2_COMPRESS_ZSTD;
			else
				return VMIE_ERR(err, VMIE_EINVAL, "qcow2: "
						"compression='%s': expected "
						"none, zlib or zstd", v);
		} else if (klen == 12 && !strncmp(kv, "cluster_size", klen)) {
			uint64_t cs;
			if (vmie_parse_size(v, &cs) || !vmie_is_pow2(cs) ||
			    cs < (1u << QCOW2_MIN_CLUSTER_BITS) ||
			    cs > (1u << QCOW2_MAX_CLUSTER_BITS))
				return VMIE_ERR(err, VMIE_EINVAL, "qcow2: "
						"cluster_size='%s': expected a "
						"power of two from 512 to 2M",
						v);
			*cbits = (unsigned)__builtin_ctzll(cs);
		} else if (klen == 6 && !strncmp(kv, "compat", klen)) {
			if (!strcmp(v, "1.1") || !strcasecmp(v, "v3"))
				*version = 3;
			else if (!strcmp(v, "0.10") || !strcasecmp(v, "v2"))
				*version = 2;
			else
				return VMIE_ERR(err, VMIE_EINVAL, "qcow2: "
						"compat='%s': expected 1.1 or "
						"0.10", v);
		} else {
			return VMIE_ERR(err, VMIE_EINVAL, "qcow2: unknown option "
					"'%.*s' (known: compression, "
					"cluster_size, compat)", (int)klen, kv);
		}
	}
	if (*comp == QCOW2_COMPRESS_ZSTD && *version < 3)
		return VMIE_ERR(err, VMIE_EINVAL, "qcow2: zstd compression "
				"needs version 3 (compat=1.1)");
	return 0;
}

static void qcow2w_free(struct vmie_writer *vw)
{
	struct qcow2_w *w = vw->priv;
	if (!w)
		return;
	for (size_t i = 0; i < w->n_pend; i++)
		free(w->pend[i]);
	free(w->pend);
	free(w->reft);
	free(w->rb);
	free(w->l2);
	free(w->l1);
	free(w->tail);
	free(w);
	vw->priv = NULL;
}

static int qcow2w_create(struct vmie_writer *vw,
			 const struct vmie_create_opts *o,
			 struct vmie_err *err)
{
	unsigned version, cbits, comp;
	int r = qcow2w_parse_opts(o, &version, &cbits, &comp, err);
	if (r)
		return r;
	uint32_t cs = 1u << cbits;
	unsigned l2_bits = cbits - 3;
	unsigned span = cbits + l2_bits;
	uint64_t vsize = (o->size + 511) & ~511ull;
	uint64_t l1_size = (vsize >> span) +
			   ((vsize & ((1ull << span) - 1)) != 0);
	if (l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return VMIE_ERR(err, VMIE_EINVAL, "qcow2: a %llu-byte disk "
				"needs an L1 table of %llu entries with %u-byte "
				"clusters (limit %llu): use a bigger "
				"cluster_size", (unsigned long long)vsize,
				(unsigned long long)l1_size, cs,
				(unsigned long long)(QCOW2_MAX_L1_BYTES / 8));
	struct qcow2_w *w = calloc(1, sizeof *w);
	if (!w)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	vw->priv = w;
	w->version = version;
	w->cluster_bits = cbits;
	w->cs = cs;
	w->l2_bits = l2_bits;
	w->compression = comp;
	/* qemu reads whole 512-byte sectors only: round the size up, as
	 * qemu-img does (the added bytes read as zeros) */
	w->size = (o->size + 511) & ~511ull;
	w->sink = vw->sink;
	w->l1_size = (uint32_t)l1_size;
	w->l1_clusters = (l1_size * 8 + cs - 1) / cs;
	w->rb_per = ((uint64_t)cs * 8) >> QCOW2_W_REFCOUNT_ORDER;
	w->l1 = calloc(l1_size ? l1_size : 1, sizeof *w->l1);
	w->l2 = calloc(1, cs);
	w->rb = calloc(1, cs);
	w->tail = malloc(cs);
	if (!w->l1 || !w->l2 || !w->rb || !w->tail) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	uint64_t first;
	r = qcow2w_alloc(w, 1 + w->l1_clusters, &first, err);   /* 0, L1 */
	if (!r)
		r = qcow2w_flush_pending(w, err);
	vw->granule = cs;
	/* data clusters are written from the chunk; tables stay in order */
	vw->flags = VMIE_WRITER_DEFER_DATA;
out:
	if (r)
		qcow2w_free(vw);
	return r;
}

static int qcow2w_encode(struct vmie_writer *vw, struct vmie_chunk *c,
			 struct vmie_err *err)
{
	struct qcow2_w *w = vw->priv;
	struct qcow2_cctx *cc = NULL;
	struct qcow2_enc *enc = NULL;
	uint8_t *tail = NULL;
	int r = 0;
	if (w->compression == QCOW2_W_NO_COMPRESSION)
		return 0;
	size_t n = (c->len + w->cs - 1) / w->cs;
	enc = calloc(1, sizeof *enc);
	if (enc) {
		enc->n = n;
		enc->len = calloc(n, sizeof *enc->len);
		enc->data = malloc(n * w->cs);
	}
	cc = qcow2_cctx_new(w->compression);
	if (!enc || !enc->len || !enc->data || !cc) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *src = c->data + i * w->cs;
		size_t have = vmie_min_u64(w->cs, c->len - i * w->cs);
		if (have < w->cs) {
			if (!tail && !(tail = malloc(w->cs))) {
				r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
				goto out;
			}
			memcpy(tail, src, have);
			memset(tail + have, 0, w->cs - have);
			src = tail;
		}
		if (vmie_is_zero(src, w->cs)) {
			enc->len[i] = 0;
			continue;
		}
		size_t z = qcow2_compress(cc, src, w->cs,
					  enc->data + i * w->cs, w->cs - 1);
		enc->len[i] = z ? (uint32_t)z : w->cs;
	}
	c->enc = enc;
	c->enc_len = n;
	enc = NULL;
out:
	if (enc) {
		free(enc->len);
		free(enc->data);
		free(enc);
	}
	free(tail);
	qcow2_cctx_free(cc);
	return r;
}

static void qcow2w_discard(struct vmie_writer *vw, struct vmie_chunk *c)
{
	struct qcow2_enc *enc = c->enc;
	(void)vw;
	if (!enc)
		return;
	free(enc->len);
	free(enc->data);
	free(enc);
	c->enc = NULL;
}

static int qcow2w_write(struct vmie_writer *vw, struct vmie_chunk *c,
			struct vmie_err *err)
{
	struct qcow2_w *w = vw->priv;
	struct qcow2_enc *enc = c->enc;
	size_t n = (c->len + w->cs - 1) / w->cs;
	uint64_t vcl0 = c->off >> w->cluster_bits;
	int r = 0;
	w->sink = vw->sink;      /* the engine may wrap it after create() */
	if (c->off & (w->cs - 1)) {
		r = VMIE_ERR(err, VMIE_EINVAL, "qcow2: chunk at %llu is not "
			     "cluster-aligned", (unsigned long long)c->off);
		goto out;
	}
	for (size_t i = 0; i < n && !r; i++) {
		const uint8_t *src = c->data + i * w->cs;
		size_t have = vmie_min_u64(w->cs, c->len - i * w->cs);
		if (enc && enc->len[i] == 0)
			continue;
		if (enc && enc->len[i] < w->cs) {
			r = qcow2w_compressed(w, vcl0 + i,
					      enc->data + i * w->cs,
					      enc->len[i], err);
			continue;
		}
		if (have < w->cs) {
			/* the short last cluster of the disk */
			r = qcow2w_run_flush(w, err);
			if (r)
				break;
			memcpy(w->tail, src, have);
			memset(w->tail + have, 0, w->cs - have);
			src = w->tail;
		}
		if (!enc && vmie_is_zero(src, w->cs))
			continue;
		r = qcow2w_data(w, vcl0 + i, src, err);
	}
	/* the run points into c->data: write it before the chunk goes */
	if (!r)
		r = qcow2w_run_flush(w, err);
out:
	qcow2w_discard(vw, c);
	return r;
}

static int qcow2w_write_header(struct qcow2_w *w, uint64_t reft_off,
			       uint32_t reft_clusters, struct vmie_err *err)
{
	struct qcow2_header_disk h = { 0 };
	uint8_t *b = calloc(1, w->cs);
	int r;
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	h.magic = QCOW2_MAGIC;
	h.version = w->version;
	h.cluster_bits = w->cluster_bits;
	h.size = w->size;
	h.l1_size = w->l1_size;
	h.l1_table_offset = (uint64_t)w->cs;
	h.refcount_table_offset = reft_off;
	h.refcount_table_clusters = reft_clusters;
	if (w->version >= 3) {
		h.refcount_order = QCOW2_W_REFCOUNT_ORDER;
		h.header_length = QCOW2_V3_HEADER_LEN_CT;
		if (w->compression == QCOW2_COMPRESS_ZSTD) {
			h.incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
			h.compression_type = QCOW2_COMPRESS_ZSTD;
		}
	}
	qcow2_header_encode(b, &h);
	/* the header extension area ends at once (type 0, length 0): the
	 * rest of the cluster is already zeros */
	r = vmie_sink_pwrite(w->sink, b, w->cs, 0, err);
	free(b);
	return r;
}

static int qcow2w_finish(struct vmie_writer *vw, struct vmie_err *err)
{
	struct qcow2_w *w = vw->priv;
	uint8_t *buf = NULL;
	w->sink = vw->sink;
	int r = qcow2w_run_flush(w, err);
	if (!r)
		r = qcow2w_l2_flush(w, err);
	if (!r)
		r = qcow2w_flush_pending(w, err);
	if (r)
		return r;

	/* The last refcount blocks and the refcount table go at the end;
	 * they must count themselves.  Find the number of blocks R and of
	 * table clusters T such that the blocks cover every cluster. */
	uint64_t f = w->next_cl, nr = 1, t;
	for (;;) {
		t = ((w->n_reft + nr) * 8 + w->cs - 1) / w->cs;
		if (f + nr + t <= (w->rb_index + nr) * w->rb_per)
			break;
		nr++;
	}
	if (t * w->cs > QCOW2_MAX_REFT_BYTES)
		return VMIE_ERR(err, VMIE_ERANGE, "qcow2: refcount table of "
				"%llu clusters is over qemu's limit",
				(unsigned long long)t);
	for (uint64_t c = f; c < f + nr + t; c++) {
		r = qcow2w_ref(w, c, err);
		if (r)
			return r;
	}
	w->next_cl = f + nr + t;
	/* blocks now waiting: the finished ones, then the current one */
	if (w->n_pend + 1 != nr)
		return VMIE_ERR(err, VMIE_EIO, "qcow2: internal error: %zu "
				"refcount blocks for %llu slots",
				w->n_pend + 1, (unsigned long long)nr);
	for (uint64_t i = 0; i < nr; i++) {
		uint8_t *blk = i < w->n_pend ? w->pend[i] : w->rb;
		uint64_t off = (f + i) << w->cluster_bits;
		r = vmie_sink_pwrite(w->sink, blk, w->cs, off, err);
		if (!r)
			r = qcow2w_put_reft(w, off, err);
		if (r)
			return r;
	}
	buf = calloc(t, w->cs);
	if (!buf)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (size_t i = 0; i < w->n_reft; i++)
		vmie_put_be64(buf + i * 8, w->reft[i]);
	uint64_t reft_off = (f + nr) << w->cluster_bits;
	r = vmie_sink_pwrite(w->sink, buf, (size_t)(t * w->cs), reft_off, err);
	free(buf);
	buf = NULL;
	if (r)
		return r;

	if (w->l1_size) {
		buf = calloc(w->l1_clusters, w->cs);
		if (!buf)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		for (uint32_t i = 0; i < w->l1_size; i++)
			vmie_put_be64(buf + (size_t)i * 8, w->l1[i]);
		r = vmie_sink_pwrite(w->sink, buf,
				     (size_t)(w->l1_clusters * w->cs),
				     (uint64_t)w->cs, err);
		free(buf);
		if (r)
			return r;
	}
	r = qcow2w_write_header(w, reft_off, (uint32_t)t, err);
	if (!r)
		r = vmie_sink_truncate(w->sink, w->next_cl << w->cluster_bits,
				       err);
	return r;
}

const struct vmie_writer_ops qcow2_writer_ops = {
	.create = qcow2w_create,
	.encode = qcow2w_encode,
	.write = qcow2w_write,
	.discard = qcow2w_discard,
	.finish = qcow2w_finish,
	.free = qcow2w_free,
};
