/*
 * qcow2 integrity walk (`vmie info --check`), like `qemu-img check`.
 *
 * Spec: qemu docs/interop/qcow2.txt, "Host cluster management", "Cluster
 * mapping", "Snapshots", "Bitmaps".  Every structure that owns host
 * clusters is visited (header, active and snapshot L1 tables, their L2
 * tables and data clusters, compressed sector ranges, the refcount table and
 * blocks, the snapshot table, the bitmap directory and bitmap tables), the
 * references are counted per host cluster, and the counts are compared with
 * the stored refcounts: fewer stored than referenced is a corruption, more
 * is a leak.  In the active L1, bit 63 ("copied") must be set exactly when
 * the refcount is 1, as qemu checks.
 *
 * Memory: one 16-bit counter per host cluster of the file (saturating),
 * bounded by VMIE_MAX_TABLE_BYTES; L2 tables and refcount blocks are read
 * one at a time.
 */
#include "qcow2_int.h"
#include "../../core/checked.h"
#include "../../core/endian.h"
#include "../../core/util.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

struct qcow2_ck {
	struct qcow2 *q;
	struct vmie_check_result *res;
	uint16_t *refs;          /* computed references per host cluster */
	uint64_t nb_clusters;    /* host clusters in the file */
	uint8_t *tbuf;           /* one cluster */
	uint8_t *zbuf, *obuf;    /* compressed bytes, one inflated cluster */
	uint16_t *l2refs;        /* L1 entries naming each host cluster */
	uint8_t *walked;         /* bit per host cluster: L2 table visited */
	uint8_t *l1map;          /* bit per host cluster: in a walked L1 */
	uint8_t *skip;           /* per snapshot: L1 table not walked */
	bool inflate_stopped;    /* the inflate budget is spent */
};

static bool bit_get(const uint8_t *m, uint64_t c)
{
	return m[c / 8] & (1u << (c % 8));
}

static void bit_set(uint8_t *m, uint64_t c)
{
	m[c / 8] |= (uint8_t)(1u << (c % 8));
}

/* Count one reference to every host cluster overlapping [off, off+len). */
static void qcow2_ck_refn(struct qcow2_ck *k, uint64_t off, uint64_t len,
			  const char *what, unsigned n);
static void qcow2_ck_ref(struct qcow2_ck *k, uint64_t off, uint64_t len,
			 const char *what)
{
	qcow2_ck_refn(k, off, len, what, 1);
}

/* Count n references to every host cluster overlapping [off, off+len). */
static void qcow2_ck_refn(struct qcow2_ck *k, uint64_t off, uint64_t len,
			  const char *what, unsigned n)
{
	struct qcow2 *q = k->q;
	if (!len)
		return;
	uint64_t first = off >> q->cluster_bits, last, end;
	if (vmie_add_u64(off, len - 1, &end)) {
		vmie_check_add(k->res, true, "%s at 0x%llx: size overflows",
			       what, (unsigned long long)off);
		return;
	}
	last = end >> q->cluster_bits;
	if (last >= k->nb_clusters) {
		vmie_check_add(k->res, true, "%s at 0x%llx (%llu bytes) is past "
			       "the end of the file", what,
			       (unsigned long long)off,
			       (unsigned long long)len);
		if (first >= k->nb_clusters)
			return;
		last = k->nb_clusters - 1;
	}
	for (uint64_t c = first; c <= last; c++)
		k->refs[c] = (uint16_t)vmie_min_u64((uint64_t)k->refs[c] + n,
						    UINT16_MAX);
}

/* A compressed cluster must inflate to exactly one cluster, as pread
 * requires (budget "inflate": one cluster each).  Once the budget is
 * spent the remaining clusters are not inflated here and the result says
 * so: the table walk goes on, and `vmie check`'s data pass inflates every
 * cluster anyway (data reads do not draw on the budget). */
static int qcow2_ck_inflate(struct qcow2_ck *k, const struct qcow2_map *m,
			    uint64_t l2off, uint64_t j, struct vmie_err *err)
{
	struct qcow2 *q = k->q;
	struct vmie_err e2 = { 0 };
	const char *why;
	int r;

	if (k->inflate_stopped)
		return 0;
	if (vmie_budget_inflate(q->img->budget, q->cluster_size,
				"qcow2 check: compressed clusters", &e2)) {
		k->inflate_stopped = true;
		if (k->res->n_msgs < VMIE_CHECK_MAX_MSGS)
			snprintf(k->res->msgs[k->res->n_msgs++],
				 sizeof k->res->msgs[0], "compressed clusters "
				 "from L2 0x%llx entry %llu on not inflated: "
				 "inflate budget spent (check's data pass reads "
				 "them; --limit inflate=SIZE)",
				 (unsigned long long)l2off,
				 (unsigned long long)j);
		return 0;
	}
	r = vmie_src_pread(q->img->src, k->zbuf, (size_t)m->csize,
			   m->host_off, err);
	if (r)
		return r;
	if (qcow2_decompress(q->compression, k->zbuf, (size_t)m->csize,
			     k->obuf, q->cluster_size, &why))
		vmie_check_add(k->res, true, "L2 table 0x%llx entry %llu: "
			       "compressed cluster at 0x%llx (%s) does not "
			       "decompress: %s", (unsigned long long)l2off,
			       (unsigned long long)j,
			       (unsigned long long)m->host_off,
			       q->compression == QCOW2_COMPRESS_ZSTD ? "zstd" :
			       "deflate", why);
	return 0;
}

/* Count the references of one L2 table and of the data it maps, n times
 * (the number of L1 entries that name it: each distinct table is read
 * once, whatever the count). */
static int qcow2_ck_l2(struct qcow2_ck *k, uint64_t l1i, uint64_t l2off,
		       unsigned n, struct vmie_err *err)
{
	struct qcow2 *q = k->q;
	struct vmie_budget *bg = q->img->budget;
	struct vmie_err e2;
	int r = vmie_budget_read(bg, q->cluster_size, "qcow2 check: L2 table",
				 err);
	if (!r)
		r = vmie_budget_entries(bg, 1ull << q->l2_bits,
					"qcow2 check: L2 entries", err);
	if (!r)
		r = vmie_src_pread(q->img->src, k->tbuf, q->cluster_size,
				   l2off, err);
	if (r)
		return r;
	for (uint64_t j = 0; j < (1ull << q->l2_bits); j++) {
		const uint8_t *p = k->tbuf + j * q->l2_entry_size;
		uint64_t e = vmie_be64(p), bm = q->ext_l2 ? vmie_be64(p + 8) : 0;
		struct qcow2_map m;
		k->res->tables_checked++;
		if (!e && !bm)
			continue;
		memset(&e2, 0, sizeof e2);
		if (qcow2_decode_l2e(q, e, bm, l1i, j, &m, &e2)) {
			vmie_check_add(k->res, true, "L2 table 0x%llx entry "
				       "%llu: %s", (unsigned long long)l2off,
				       (unsigned long long)j, e2.msg);
			continue;
		}
		if (m.type == QCOW2_C_COMPRESSED) {
			if (e & QCOW2_OFLAG_COPIED)
				vmie_check_add(k->res, true, "L2 table 0x%llx "
					       "entry %llu: compressed cluster "
					       "has the copied flag",
					       (unsigned long long)l2off,
					       (unsigned long long)j);
			unsigned sh = qcow2_csize_shift(q->cluster_bits);
			uint64_t nsec = ((e >> sh) &
					 qcow2_csize_mask(q->cluster_bits)) + 1;
			qcow2_ck_refn(k, m.host_off & ~511ull, nsec * 512,
				      "compressed cluster", n);
			r = qcow2_ck_inflate(k, &m, l2off, j, err);
			if (r)
				return r;
		} else if (m.host_off) {
			qcow2_ck_refn(k, m.host_off, q->cluster_size,
				      "data cluster", n);
		}
	}
	return 0;
}

/* Walk one L1 table (the active one or a snapshot's).  Pass 1 validates
 * its entries, counts the references to the L1 and L2 clusters and
 * reports two entries naming one L2 table; pass 2 visits each L2 table
 * not visited yet, weighted by the L1 entries of every table naming it. */
static int qcow2_ck_l1(struct qcow2_ck *k, uint64_t l1_off, uint32_t l1_size,
		       const char *what, int pass, struct vmie_err *err)
{
	struct qcow2 *q = k->q;
	struct vmie_budget *bg = q->img->budget;
	size_t bytes = (size_t)l1_size * 8;
	uint8_t *l1 = NULL;
	int r = 0;
	if (!l1_size)
		return 0;
	if (pass == 1)
		qcow2_ck_ref(k, l1_off, bytes, what);
	l1 = vmie_budget_malloc(bg, bytes, "qcow2 check: L1 table", err);
	if (!l1)
		return err->code;
	r = vmie_budget_read(bg, bytes, "qcow2 check: L1 table", err);
	if (!r)
		r = vmie_budget_entries(bg, l1_size, "qcow2 check: L1 entries",
					err);
	if (!r)
		r = vmie_src_pread(q->img->src, l1, bytes, l1_off, err);
	if (r)
		goto out;
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2off = vmie_be64(l1 + (size_t)i * 8) &
				 QCOW2_L1E_OFFSET_MASK;
		if (pass == 1)
			k->res->tables_checked++;
		if (!l2off)
			continue;
		if ((l2off & (q->cluster_size - 1)) ||
		    vmie_range_outside(l2off, q->cluster_size, q->file_size)) {
			if (pass == 1)
				vmie_check_add(k->res, true, "%s entry %u: L2 "
					       "table offset 0x%llx is unaligned "
					       "or past the end of the file "
					       "(%llu bytes)", what, i,
					       (unsigned long long)l2off,
					       (unsigned long long)q->file_size);
			continue;
		}
		uint64_t c = l2off >> q->cluster_bits;
		if (pass == 1) {
			qcow2_ck_ref(k, l2off, q->cluster_size, "L2 table");
			if (k->l2refs[c] != UINT16_MAX)
				k->l2refs[c]++;
			continue;
		}
		if (bit_get(k->walked, c))
			continue;
		bit_set(k->walked, c);
		r = qcow2_ck_l2(k, i, l2off, k->l2refs[c], err);
		if (r)
			goto out;
	}
out:
	vmie_budget_free(bg, l1, bytes);
	return r;
}

/* Both passes over every L1 table: the active one, then each snapshot's
 * unless its clusters overlap a table already walked (reported once, in
 * pass 1: qemu gives every snapshot its own copy). */
static int qcow2_ck_tables(struct qcow2_ck *k, int pass, struct vmie_err *err)
{
	struct qcow2 *q = k->q;
	char what[64];
	int r = qcow2_ck_l1(k, q->l1_off, q->l1_size, "active L1 table", pass,
			    err);
	if (r)
		return r;
	for (uint32_t i = 0; i < q->nb_snaps; i++) {
		const struct qcow2_snap *sn = &q->snaps[i];
		if (!sn->l1_size)
			continue;
		if (pass == 1) {
			uint64_t a = sn->l1_off >> q->cluster_bits;
			uint64_t b = (sn->l1_off + (uint64_t)sn->l1_size * 8 -
				      1) >> q->cluster_bits;
			for (uint64_t c = a; c <= b && !k->skip[i]; c++)
				if (bit_get(k->l1map, c))
					k->skip[i] = 1;
			if (k->skip[i]) {
				vmie_check_add(k->res, true, "snapshot %u: L1 "
					       "table at 0x%llx (%u entries) "
					       "overlaps another L1 table; not "
					       "walked", i + 1, (unsigned long
					       long)sn->l1_off, sn->l1_size);
				qcow2_ck_ref(k, sn->l1_off,
					     (uint64_t)sn->l1_size * 8,
					     "snapshot L1 table");
				continue;
			}
			for (uint64_t c = a; c <= b; c++)
				bit_set(k->l1map, c);
		} else if (k->skip[i]) {
			continue;
		}
		snprintf(what, sizeof what, "L1 table of snapshot %u", i + 1);
		r = qcow2_ck_l1(k, sn->l1_off, sn->l1_size, what, pass, err);
		if (r)
			return r;
	}
	return 0;
}

static void qcow2_ck_bitmaps(struct qcow2_ck *k, struct vmie_err *err)
{
	struct qcow2 *q = k->q;
	uint8_t *dir = NULL, *bt = NULL;
	if (!q->has_bitmaps_ext || !q->bitmap_dir_size)
		return;
	qcow2_ck_ref(k, q->bitmap_dir_off, q->bitmap_dir_size,
		     "bitmap directory");
	dir = malloc((size_t)q->bitmap_dir_size);
	if (!dir || vmie_src_pread(q->img->src, dir,
				   (size_t)q->bitmap_dir_size,
				   q->bitmap_dir_off, err))
		goto out;
	uint64_t off = 0;
	for (uint32_t i = 0; i < q->nb_bitmaps; i++) {
		if (off > q->bitmap_dir_size ||
		    q->bitmap_dir_size - off < QCOW2_BITMAP_DIR_FIXED) {
			vmie_check_add(k->res, true, "bitmap directory entry %u "
				       "is past the end of the directory", i);
			break;
		}
		const uint8_t *d = dir + off;
		uint64_t t_off = vmie_be64(d) & QCOW2_BME_OFFSET_MASK;
		uint32_t t_size = vmie_be32(d + 8);
		uint16_t name_size = vmie_be16(d + 18);
		uint32_t extra = vmie_be32(d + 20);
		uint64_t elen = (QCOW2_BITMAP_DIR_FIXED + (uint64_t)extra +
				 name_size + 7) & ~7ull;
		off += elen;
		if ((uint64_t)t_size * 8 > QCOW2_MAX_L1_BYTES ||
		    vmie_range_outside(t_off, (uint64_t)t_size * 8,
				       q->file_size)) {
			vmie_check_add(k->res, true, "bitmap %u: table at "
				       "0x%llx (%u entries) is invalid", i,
				       (unsigned long long)t_off, t_size);
			continue;
		}
		qcow2_ck_ref(k, t_off, (uint64_t)t_size * 8, "bitmap table");
		free(bt);
		bt = malloc((size_t)t_size * 8 + 1);
		if (!bt || vmie_src_pread(q->img->src, bt, (size_t)t_size * 8,
					  t_off, err))
			goto out;
		for (uint32_t j = 0; j < t_size; j++) {
			uint64_t c = vmie_be64(bt + (size_t)j * 8) &
				     QCOW2_BME_OFFSET_MASK;
			if (c)
				qcow2_ck_ref(k, c, q->cluster_size,
					     "bitmap data cluster");
		}
	}
out:
	free(dir);
	free(bt);
}

static uint64_t qcow2_ck_refcount_at(const uint8_t *blk, uint64_t idx,
				     unsigned order)
{
	unsigned bits = 1u << order;
	switch (bits) {
	case 64: return vmie_be64(blk + idx * 8);
	case 32: return vmie_be32(blk + idx * 4);
	case 16: return vmie_be16(blk + idx * 2);
	case 8:  return blk[idx];
	default: {
		uint64_t bit = idx * bits;
		return (blk[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	}
}

/* Second pass over the active L1: the copied flag must be set exactly
 * when the stored refcount is 1.  stored[] holds the stored refcounts
 * (saturated to 16 bits). */
static int qcow2_ck_copied(struct qcow2_ck *k, const uint16_t *stored,
			   struct vmie_err *err)
{
	struct qcow2 *q = k->q;
	struct vmie_err e2;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l1e = q->l1[i], l2off = l1e & QCOW2_L1E_OFFSET_MASK;
		if (!l2off || (l2off & (q->cluster_size - 1)) ||
		    vmie_range_outside(l2off, q->cluster_size, q->file_size))
			continue;
		uint64_t c = l2off >> q->cluster_bits;
		if ((stored[c] == 1) != !!(l1e & QCOW2_OFLAG_COPIED))
			vmie_check_add(k->res, true, "L1 entry %u: copied flag "
				       "%s but the L2 table's refcount is %u",
				       i, l1e & QCOW2_OFLAG_COPIED ? "set" :
				       "clear", stored[c]);
		if (bit_get(k->walked, c))
			continue;      /* a shared table, reported already */
		bit_set(k->walked, c);
		int r = vmie_budget_read(q->img->budget, q->cluster_size,
					 "qcow2 check: L2 table", err);
		if (!r)
			r = vmie_budget_entries(q->img->budget,
						1ull << q->l2_bits,
						"qcow2 check: L2 entries", err);
		if (!r)
			r = vmie_src_pread(q->img->src, k->tbuf,
					   q->cluster_size, l2off, err);
		if (r)
			return r;
		for (uint64_t j = 0; j < (1ull << q->l2_bits); j++) {
			const uint8_t *p = k->tbuf + j * q->l2_entry_size;
			uint64_t e = vmie_be64(p);
			uint64_t bm = q->ext_l2 ? vmie_be64(p + 8) : 0;
			struct qcow2_map m;
			if (qcow2_decode_l2e(q, e, bm, i, j, &m, &e2) ||
			    m.type == QCOW2_C_COMPRESSED || !m.host_off)
				continue;
			uint64_t hc = m.host_off >> q->cluster_bits;
			if ((stored[hc] == 1) != !!(e & QCOW2_OFLAG_COPIED))
				vmie_check_add(k->res, true, "data cluster "
					       "0x%llx (L1 entry %u, L2 entry "
					       "%llu): copied flag %s but "
					       "refcount is %u",
					       (unsigned long long)m.host_off,
					       i, (unsigned long long)j,
					       e & QCOW2_OFLAG_COPIED ? "set" :
					       "clear", stored[hc]);
		}
	}
	return 0;
}

int qcow2_check(struct vmie_image *img, struct vmie_check_result *res,
		struct vmie_err *err)
{
	struct qcow2 *q = img->priv;
	struct qcow2_ck k = { .q = q, .res = res };
	uint8_t *reft = NULL;
	uint16_t *stored = NULL;
	bool charged = false;
	int r = 0;

	k.nb_clusters = (q->file_size + q->cluster_size - 1) >>
			q->cluster_bits;
	if (k.nb_clusters * sizeof(uint16_t) > VMIE_MAX_TABLE_BYTES)
		return VMIE_ERR(err, VMIE_ENOMEM, "%s: file of %llu clusters "
				"is too big to check (limit %llu)", img->name,
				(unsigned long long)k.nb_clusters,
				(unsigned long long)(VMIE_MAX_TABLE_BYTES / 2));
	k.refs = calloc((size_t)k.nb_clusters + 1, sizeof *k.refs);
	stored = calloc((size_t)k.nb_clusters + 1, sizeof *stored);
	k.tbuf = malloc(q->cluster_size);
	k.zbuf = malloc((size_t)q->cluster_size * 2 + 512);
	k.obuf = malloc(q->cluster_size);
	size_t map_len = (size_t)(k.nb_clusters / 8 + 1);
	k.l2refs = calloc((size_t)k.nb_clusters + 1, sizeof *k.l2refs);
	k.walked = calloc(map_len, 1);
	k.l1map = calloc(map_len, 1);
	k.skip = calloc((size_t)q->nb_snaps + 1, 1);
	r = vmie_budget_alloc(img->budget, 3 * ((k.nb_clusters + 1) * 2 +
						 map_len), "qcow2 check: "
			      "reference counts", err);
	if (r)
		goto out;
	charged = true;
	size_t reft_bytes = (size_t)q->reft_clusters * q->cluster_size;
	reft = malloc(reft_bytes + 1);
	if (!k.refs || !stored || !k.tbuf || !reft || !k.zbuf || !k.obuf || !k.l2refs || !k.walked ||
	    !k.l1map || !k.skip) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}

	/* references */
	qcow2_ck_ref(&k, 0, q->cluster_size, "header");
	if (q->shared_l2)
		vmie_check_add(res, true, "L1 entries %u and %u both point at "
			       "the L2 table at 0x%llx", q->shared_l1a,
			       q->shared_l1b, (unsigned long long)q->shared_off);
	r = qcow2_ck_tables(&k, 1, err);
	if (!r)
		r = qcow2_ck_tables(&k, 2, err);
	if (r)
		goto out;
	memset(k.walked, 0, map_len);
	if (q->nb_snaps)
		qcow2_ck_ref(&k, q->snap_off, q->snaptab_len, "snapshot table");
	qcow2_ck_bitmaps(&k, err);
	qcow2_ck_ref(&k, q->reft_off, reft_bytes, "refcount table");

	/* stored refcounts, and the refcount blocks' own references */
	if (reft_bytes) {
		r = vmie_src_pread(img->src, reft, reft_bytes, q->reft_off, err);
		if (r)
			goto out;
	}
	uint64_t per_block = ((uint64_t)q->cluster_size * 8) >>
			     q->refcount_order;
	for (uint64_t i = 0; i < reft_bytes / 8; i++) {
		uint64_t rb = vmie_be64(reft + i * 8) & QCOW2_REFT_OFFSET_MASK;
		res->tables_checked++;
		if (!rb)
			continue;
		if ((rb & (q->cluster_size - 1)) ||
		    vmie_range_outside(rb, q->cluster_size, q->file_size)) {
			vmie_check_add(res, true, "refcount table entry %llu: "
				       "refcount block offset 0x%llx is "
				       "unaligned or past the end of the file",
				       (unsigned long long)i,
				       (unsigned long long)rb);
			continue;
		}
		qcow2_ck_ref(&k, rb, q->cluster_size, "refcount block");
		uint64_t first = i * per_block;
		if (first >= k.nb_clusters)
			continue;
		r = vmie_src_pread(img->src, k.tbuf, q->cluster_size, rb, err);
		if (r)
			goto out;
		for (uint64_t j = 0; j < per_block &&
		     first + j < k.nb_clusters; j++) {
			uint64_t v = qcow2_ck_refcount_at(k.tbuf, j,
							  q->refcount_order);
			stored[first + j] = v > UINT16_MAX ? UINT16_MAX :
					    (uint16_t)v;
		}
	}

	/* compare */
	for (uint64_t c = 0; c < k.nb_clusters; c++) {
		if (stored[c] == k.refs[c])
			continue;
		bool corrupt = stored[c] < k.refs[c];
		vmie_check_add(res, corrupt, "%s cluster %llu (offset 0x%llx): "
			       "refcount %u, referenced %u times",
			       corrupt ? "ERROR" : "Leaked",
			       (unsigned long long)c,
			       (unsigned long long)(c << q->cluster_bits),
			       stored[c], k.refs[c]);
	}
	r = qcow2_ck_copied(&k, stored, err);
out:
	if (charged)
		vmie_budget_release(img->budget, 3 * ((k.nb_clusters + 1) * 2 +
					       k.nb_clusters / 8 + 1));
	free(k.l2refs);
	free(k.zbuf);
	free(k.obuf);
	free(k.walked);
	free(k.l1map);
	free(k.skip);
	free(k.refs);
	free(stored);
	free(k.tbuf);
	free(reft);
	return r;
}
