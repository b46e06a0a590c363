/*
 * qcow2 reader: probe, open, pread, block status, info, close.
 *
 * Spec: qemu docs/interop/qcow2.txt (versions 2 and 3); layout in
 * qcow2_disk.h.  The refcount walk (check) is in qcow2_check.c, compressed
 * clusters in qcow2_compress.c, the writer in qcow2_write.c.
 *
 * What is read: the active L1 table only (internal snapshots are listed by
 * info, not exposed); standard, zero-flagged and compressed (zlib or zstd)
 * clusters; extended L2 entries (subclusters).  What is refused: encryption,
 * external data files, the corrupt bit, unknown incompatible bits (named by
 * number and by the image's feature name table), and backing files (FMT-004)
 * unless the caller asked for info only.  The dirty bit is accepted: it
 * only says that refcounts may be stale, and reading never uses refcounts.
 *
 * Memory: the active L1 table (at most 32 MiB, qemu's limit) is kept; L2
 * tables are loaded on demand into a bounded, lock-protected cache, so a
 * multi-TiB disk never needs all its L2 tables in memory at once.
 */
#include "qcow2_int.h"
#include "../../core/checked.h"
#include "../../core/endian.h"
#include "../../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QCOW2_CACHE_BYTES    ((uint64_t)32 << 20)
#define QCOW2_CACHE_MIN      4u
#define QCOW2_CACHE_MAX      512u
#define QCOW2_SNAP_MAX_EXTRA 1024u   /* qemu: QCOW_MAX_SNAPSHOT_EXTRA_DATA */
#define QCOW2_BS_MAX_LOOKUPS 8192u   /* clusters one block_status may scan */
#define QCOW2_INFO_SNAPS     8u      /* snapshots listed by info */

static int qcow2_probe(struct vmie_src *src, const uint8_t *head, size_t len)
{
	(void)src;
	if (len < 8 || vmie_be32(head) != QCOW2_MAGIC)
		return 0;
	/* version 1 is the older qcow format: not ours; versions above 3
	 * are claimed so that open can say the version is unsupported */
	uint32_t v = vmie_be32(head + 0x04);
	if (v < 2)
		return 0;
	if (v > 3)
		return 50;
	/* magic + version; cluster_bits in range adds certainty.  A short
	 * file or a bad cluster_bits still claims the file, so that open
	 * names the problem instead of reading it as raw. */
	if (len < QCOW2_V2_HEADER_LEN)
		return 60;
	uint32_t cb = vmie_be32(head + 0x14);
	return cb >= QCOW2_MIN_CLUSTER_BITS && cb <= QCOW2_MAX_CLUSTER_BITS ?
	       100 : 60;
}

/* Copy a string field from the image for messages: stop at NUL, replace
 * control and non-ASCII bytes. */
static void qcow2_copy_name(char *dst, size_t dsize, const uint8_t *p,
			    size_t n)
{
	size_t i;
	if (!dsize)
		return;
	for (i = 0; i < n && i + 1 < dsize && p[i]; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[i] = 0;
}

/* Name of incompatible feature bit `bit` from the feature name table. */
static void qcow2_feature_name(const uint8_t *c0, uint64_t ft_off,
			       uint32_t ft_len, unsigned bit, char *out,
			       size_t out_size)
{
	out[0] = 0;
	for (uint32_t i = 0; i + QCOW2_FEATURE_ENTRY_LEN <= ft_len;
	     i += QCOW2_FEATURE_ENTRY_LEN) {
		const uint8_t *e = c0 + ft_off + i;
		if (e[0] == 0 && e[1] == bit) {
			qcow2_copy_name(out, out_size, e + 2,
					QCOW2_FEATURE_NAME_LEN);
			return;
		}
	}
}

/* Check that [off, off+len) is cluster-aligned and inside the file. */
static int qcow2_check_table(struct qcow2 *q, uint64_t off, uint64_t len,
			     const char *what, struct vmie_err *err)
{
	if (off & (q->cluster_size - 1))
		return VMIE_CORRUPT(err, "%s: %s offset 0x%llx is not aligned "
				    "to the cluster size (%u)", q->img->name,
				    what, (unsigned long long)off,
				    q->cluster_size);
	if (vmie_range_outside(off, len, q->file_size))
		return VMIE_CORRUPT(err, "%s: %s at 0x%llx (%llu bytes) is past "
				    "the end of the file (%llu bytes)",
				    q->img->name, what,
				    (unsigned long long)off,
				    (unsigned long long)len,
				    (unsigned long long)q->file_size);
	return 0;
}

/* Header extensions live between the header and the backing file name (or
 * the end of cluster 0).  c0 holds c0_len bytes of cluster 0. */
static int qcow2_read_extensions(struct qcow2 *q, const uint8_t *c0,
				 size_t c0_len, uint64_t start, uint64_t end,
				 uint64_t *ft_off, uint32_t *ft_len,
				 char *data_file, size_t df_size,
				 struct vmie_err *err)
{
	uint64_t off = start;
	const char *name = q->img->name;
	if (end > c0_len)
		end = c0_len;
	while (off < end) {
		if (end - off < 8)
			return VMIE_CORRUPT(err, "%s: truncated header extension "
					    "at offset 0x%llx", name,
					    (unsigned long long)off);
		uint32_t type = vmie_be32(c0 + off);
		uint32_t len = vmie_be32(c0 + off + 4);
		off += 8;
		if (len > end - off)
			return VMIE_CORRUPT(err, "%s: header extension 0x%08x "
					    "at offset 0x%llx is %u bytes, past "
					    "the end of the header area", name,
					    type, (unsigned long long)(off - 8),
					    len);
		const uint8_t *d = c0 + off;
		switch (type) {
		case QCOW2_EXT_END:
			return 0;
		case QCOW2_EXT_BACKING_FMT:
			qcow2_copy_name(q->backing_fmt, sizeof q->backing_fmt,
					d, len);
			break;
		case QCOW2_EXT_FEATURE_NAMES:
			*ft_off = off;
			*ft_len = len;
			break;
		case QCOW2_EXT_DATA_FILE:
			qcow2_copy_name(data_file, df_size, d, len);
			break;
		case QCOW2_EXT_BITMAPS:
			if (len < QCOW2_BITMAPS_EXT_LEN)
				return VMIE_CORRUPT(err, "%s: bitmaps header "
						    "extension is %u bytes "
						    "(expected %u)", name, len,
						    QCOW2_BITMAPS_EXT_LEN);
			/* Without the autoclear bit the bitmaps are stale
			 * and ignored (as qemu does). */
			if (!(q->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
				break;
			q->has_bitmaps_ext = true;
			q->nb_bitmaps = vmie_be32(d);
			q->bitmap_dir_size = vmie_be64(d + 8);
			q->bitmap_dir_off = vmie_be64(d + 16);
			break;
		default:
			break;      /* unknown extensions may be ignored */
		}
		off += (uint64_t)((len + 7u) & ~7u);
	}
	return 0;
}

static int qcow2_read_snapshots(struct qcow2 *q, struct vmie_err *err)
{
	const char *name = q->img->name;
	uint8_t *buf = NULL;
	uint64_t off = q->snap_off;
	int r = 0;
	if (!q->nb_snaps)
		return 0;
	if (q->nb_snaps > QCOW2_MAX_SNAPSHOTS)
		return VMIE_CORRUPT(err, "%s: %u internal snapshots (limit %u)",
				    name, q->nb_snaps, QCOW2_MAX_SNAPSHOTS);
	r = qcow2_check_table(q, q->snap_off, QCOW2_SNAP_FIXED_LEN,
			      "snapshot table", err);
	if (r)
		return r;
	/* The fixed part is 40 bytes per entry: the count is bounded by the
	 * file size before anything is allocated for it. */
	if (vmie_range_outside(q->snap_off,
			       (uint64_t)q->nb_snaps * QCOW2_SNAP_FIXED_LEN,
			       q->file_size))
		return VMIE_CORRUPT(err, "%s: snapshot table of %u entries at "
				    "0x%llx is past the end of the file", name,
				    q->nb_snaps,
				    (unsigned long long)q->snap_off);
	r = vmie_budget_entries(q->img->budget, q->nb_snaps,
				"qcow2: snapshot table", err);
	if (r)
		return r;
	q->snaps = calloc(q->nb_snaps, sizeof *q->snaps);
	size_t bufsz = QCOW2_SNAP_FIXED_LEN + QCOW2_SNAP_MAX_EXTRA +
		       2 * 65535u + 8;
	buf = malloc(bufsz);
	if (!q->snaps || !buf) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < q->nb_snaps; i++) {
		struct qcow2_snapshot_disk sd;
		struct qcow2_snap *s = &q->snaps[i];
		r = vmie_src_pread(q->img->src, buf, QCOW2_SNAP_FIXED_LEN, off,
				   err);
		if (r)
			goto out;
		qcow2_snapshot_decode(&sd, buf);
		if (sd.extra_data_size > QCOW2_SNAP_MAX_EXTRA) {
			r = VMIE_CORRUPT(err, "%s: snapshot %u at 0x%llx has "
					 "%u bytes of extra data (limit %u)",
					 name, i, (unsigned long long)off,
					 sd.extra_data_size,
					 QCOW2_SNAP_MAX_EXTRA);
			goto out;
		}
		uint64_t var = (uint64_t)sd.extra_data_size + sd.id_str_size +
			       sd.name_size;
		uint64_t elen = QCOW2_SNAP_FIXED_LEN + var;
		elen = (elen + 7) & ~7ull;
		if (vmie_range_outside(off, elen, q->file_size) ||
		    off + elen - q->snap_off > QCOW2_MAX_SNAPTAB_BYTES) {
			r = VMIE_CORRUPT(err, "%s: snapshot %u at 0x%llx runs "
					 "past the end of the file or the "
					 "snapshot table limit", name, i,
					 (unsigned long long)off);
			goto out;
		}
		r = vmie_budget_read(q->img->budget, elen,
				     "qcow2: snapshot table", err);
		if (!r)
			r = vmie_src_pread(q->img->src, buf, (size_t)var,
					   off + QCOW2_SNAP_FIXED_LEN, err);
		if (r)
			goto out;
		const uint8_t *ex = buf, *id = buf + sd.extra_data_size;
		const uint8_t *nm = id + sd.id_str_size;
		if (sd.extra_data_size >= 16)
			s->disk_size = vmie_be64(ex + 8);
		s->l1_off = sd.l1_table_offset;
		s->l1_size = sd.l1_size;
		s->date_sec = sd.date_sec;
		qcow2_copy_name(s->id, sizeof s->id, id, sd.id_str_size);
		qcow2_copy_name(s->name, sizeof s->name, nm, sd.name_size);
		if ((uint64_t)sd.l1_size * 8 > QCOW2_MAX_L1_BYTES) {
			r = VMIE_CORRUPT(err, "%s: snapshot '%s' has an L1 table "
					 "of %u entries (limit %llu)", name,
					 s->name, sd.l1_size,
					 (unsigned long long)
					 (QCOW2_MAX_L1_BYTES / 8));
			goto out;
		}
		if (sd.l1_size) {
			char what[96];
			snprintf(what, sizeof what, "L1 table of snapshot '%s'",
				 s->name);
			r = qcow2_check_table(q, sd.l1_table_offset,
					      (uint64_t)sd.l1_size * 8, what,
					      err);
			if (r)
				goto out;
		}
		off += elen;
	}
	q->snaptab_len = off - q->snap_off;
out:
	free(buf);
	return r;
}

/* Two entries of the active L1 table naming one L2 table is corruption
 * (qemu never shares an L2 table inside one L1 table) and the way a few MB
 * of L1 make every walk load the same table a million times.  Found with
 * one bit per host cluster; refused (FMT-005) unless info_only, where
 * check reports it and every walk visits each distinct table once. */
static int qcow2_find_shared_l2(struct qcow2 *q, bool info_only,
				struct vmie_err *err)
{
	struct vmie_budget *bg = q->img->budget;
	uint64_t nbits = (q->file_size >> q->cluster_bits) + 1;
	size_t len = (size_t)((nbits + 7) / 8);
	uint8_t *seen = vmie_budget_calloc(bg, len, 1, "qcow2: L2 table map",
					   err);
	int r = 0;
	if (!seen)
		return err->code;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t off = q->l1[i] & QCOW2_L1E_OFFSET_MASK;
		if (!off || (off & (q->cluster_size - 1)) ||
		    vmie_range_outside(off, q->cluster_size, q->file_size))
			continue;      /* reported when used */
		uint64_t c = off >> q->cluster_bits;
		if (!(seen[c / 8] & (1u << (c % 8)))) {
			seen[c / 8] |= (uint8_t)(1u << (c % 8));
			continue;
		}
		uint32_t first = 0;
		while ((q->l1[first] & QCOW2_L1E_OFFSET_MASK) != off)
			first++;
		q->shared_l2 = true;
		q->shared_l1a = first;
		q->shared_l1b = i;
		q->shared_off = off;
		if (!info_only)
			r = VMIE_CORRUPT(err, "%s: L1 entries %u and %u both "
					 "point at the L2 table at 0x%llx",
					 q->img->name, first, i,
					 (unsigned long long)off);
		break;
	}
	vmie_budget_free(bg, seen, len);
	return r;
}

static int qcow2_open(struct vmie_image *img, const struct vmie_open_opts *o,
		      struct vmie_err *err)
{
	struct qcow2_header_disk h;
	struct qcow2 *q;
	uint8_t hb[QCOW2_V3_HEADER_LEN_CT] = { 0 };
	uint8_t *c0 = NULL, *l1raw = NULL;
	const char *name = img->name;
	char data_file[256] = "";
	uint64_t ft_off = 0;
	uint32_t ft_len = 0;
	int r;

	q = calloc(1, sizeof *q);
	if (!q)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	img->priv = q;
	q->img = img;
	q->file_size = img->src->size;
	pthread_mutex_init(&q->lock, NULL);

	if (q->file_size < QCOW2_V2_HEADER_LEN) {
		r = VMIE_CORRUPT(err, "%s: file is %llu bytes, too short for a "
				 "qcow2 header (72 bytes)", name,
				 (unsigned long long)q->file_size);
		goto out;
	}
	size_t hlen = (size_t)vmie_min_u64(q->file_size, sizeof hb);
	r = vmie_src_pread(img->src, hb, hlen, 0, err);
	if (r)
		goto out;
	qcow2_header_decode(&h, hb, hlen);
	if (h.magic != QCOW2_MAGIC) {
		r = VMIE_ERR(err, VMIE_EFORMAT, "%s: not a qcow2 image (bad "
			     "magic)", name);
		goto out;
	}
	if (h.version != 2 && h.version != 3) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001", "%s: qcow2 "
				  "version %u is not supported (versions 2 "
				  "and 3 are)", name, h.version);
		goto out;
	}
	if (h.cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		r = VMIE_CORRUPT(err, "%s: cluster_bits %u (header offset 0x14) "
				 "is outside %u..%u (512 bytes to 2 MiB)", name,
				 h.cluster_bits, QCOW2_MIN_CLUSTER_BITS,
				 QCOW2_MAX_CLUSTER_BITS);
		goto out;
	}
	q->version = h.version;
	q->cluster_bits = h.cluster_bits;
	q->cluster_size = 1u << h.cluster_bits;
	if (h.version == 3) {
		if (q->file_size < QCOW2_V3_HEADER_LEN) {
			r = VMIE_CORRUPT(err, "%s: file is %llu bytes, too short "
					 "for a version 3 header (104 bytes)",
					 name,
					 (unsigned long long)q->file_size);
			goto out;
		}
		if (h.header_length < QCOW2_V3_HEADER_LEN ||
		    h.header_length > q->cluster_size) {
			r = VMIE_CORRUPT(err, "%s: header_length %u (offset 0x64) "
					 "is outside 104..%u", name,
					 h.header_length, q->cluster_size);
			goto out;
		}
	}
	q->incompat = h.incompatible_features;
	q->compat = h.compatible_features;
	q->autoclear = h.autoclear_features;
	q->size = h.size;

	/* Cluster 0: header extensions and the backing file name. */
	size_t c0_len = (size_t)vmie_min_u64(q->file_size, q->cluster_size);
	c0 = malloc(c0_len);
	if (!c0) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	r = vmie_src_pread(img->src, c0, c0_len, 0, err);
	if (r)
		goto out;
	uint64_t ext_end = q->cluster_size;
	if (h.backing_file_offset) {
		if (h.backing_file_offset >= q->cluster_size ||
		    h.backing_file_size > QCOW2_MAX_BACKING_NAME ||
		    h.backing_file_size > q->cluster_size -
					  h.backing_file_offset ||
		    h.backing_file_offset + h.backing_file_size > c0_len) {
			r = VMIE_CORRUPT(err, "%s: backing file name at 0x%llx "
					 "(%u bytes) is outside the first "
					 "cluster or longer than %u bytes",
					 name, (unsigned long long)
					 h.backing_file_offset,
					 h.backing_file_size,
					 QCOW2_MAX_BACKING_NAME);
			goto out;
		}
		qcow2_copy_name(q->backing, sizeof q->backing,
				c0 + h.backing_file_offset,
				h.backing_file_size);
		if (!q->backing[0])
			vmie_strlcpy(q->backing, "?", sizeof q->backing);
		if (h.backing_file_offset > h.header_length)
			ext_end = h.backing_file_offset;
	}
	r = qcow2_read_extensions(q, c0, c0_len, h.header_length, ext_end,
				  &ft_off, &ft_len, data_file,
				  sizeof data_file, err);
	if (r)
		goto out;

	/* Incompatible features: refuse what we cannot honour. */
	uint64_t unknown = q->incompat & ~QCOW2_INCOMPAT_KNOWN;
	if (unknown) {
		unsigned bit = (unsigned)__builtin_ctzll(unknown);
		char fname[QCOW2_FEATURE_NAME_LEN + 1];
		qcow2_feature_name(c0, ft_off, ft_len, bit, fname,
				   sizeof fname);
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-005", "%s: unknown "
				  "incompatible feature bit %u%s%s%s is set "
				  "(incompatible_features 0x%llx): the image "
				  "needs a newer reader", name, bit,
				  fname[0] ? " ('" : "", fname,
				  fname[0] ? "')" : "",
				  (unsigned long long)q->incompat);
		goto out;
	}
	if (q->incompat & QCOW2_INCOMPAT_CORRUPT) {
		r = VMIE_CORRUPT(err, "%s: image is marked corrupt "
				 "(incompatible feature bit 1): qemu found "
				 "inconsistent metadata; repair a copy with "
				 "'qemu-img check -r all' first", name);
		goto out;
	}
	if (q->incompat & QCOW2_INCOMPAT_DATA_FILE) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001", "%s: guest data "
				  "is in an external data file '%s' "
				  "(incompatible feature bit 2), which is not "
				  "supported", name,
				  data_file[0] ? data_file : "(unnamed)");
		goto out;
	}
	if (h.crypt_method != QCOW2_CRYPT_NONE) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001", "%s: image is "
				  "encrypted (crypt_method %u: %s), which is "
				  "not supported", name, h.crypt_method,
				  h.crypt_method == QCOW2_CRYPT_AES ? "AES" :
				  h.crypt_method == QCOW2_CRYPT_LUKS ? "LUKS" :
				  "unknown");
		goto out;
	}
	q->dirty = (q->incompat & QCOW2_INCOMPAT_DIRTY) != 0;
	q->ext_l2 = (q->incompat & QCOW2_INCOMPAT_EXTL2) != 0;
	if (q->ext_l2 && q->cluster_bits < QCOW2_MIN_EXT_L2_BITS) {
		r = VMIE_CORRUPT(err, "%s: extended L2 entries need clusters "
				 "of at least 16 KiB (cluster_bits %u)", name,
				 q->cluster_bits);
		goto out;
	}
	if (q->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		if (h.header_length <= 0x68 ||
		    h.compression_type == QCOW2_COMPRESS_ZLIB) {
			r = VMIE_CORRUPT(err, "%s: compression type bit is set "
					 "but the compression_type field is "
					 "missing or zlib", name);
			goto out;
		}
	} else if (h.compression_type != QCOW2_COMPRESS_ZLIB) {
		r = VMIE_CORRUPT(err, "%s: compression_type %u without the "
				 "compression type feature bit", name,
				 h.compression_type);
		goto out;
	}
	if (h.compression_type > QCOW2_COMPRESS_ZSTD) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001", "%s: unknown "
				  "compression type %u (0 zlib and 1 zstd are "
				  "known)", name, h.compression_type);
		goto out;
	}
	q->compression = h.compression_type;
	if (h.refcount_order > QCOW2_MAX_REFCOUNT_ORDER) {
		r = VMIE_CORRUPT(err, "%s: refcount_order %u (offset 0x60) is "
				 "over 6", name, h.refcount_order);
		goto out;
	}
	q->refcount_order = h.refcount_order;

	if (q->backing[0] && !o->info_only) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-004", "%s: image has "
				  "a backing file '%s' (a differencing disk); "
				  "only the full chain is a disk: flatten it "
				  "first (qemu-img convert -O qcow2 %s "
				  "full.qcow2)", name, q->backing, name);
		goto out;
	}

	/* L1 table: enough entries for the virtual size, at most 32 MiB. */
	q->l2_entry_size = q->ext_l2 ? 16 : 8;
	q->l2_bits = q->cluster_bits - (q->ext_l2 ? 4 : 3);
	q->sub_size = q->ext_l2 ? q->cluster_size / QCOW2_SUBCLUSTERS :
				  q->cluster_size;
	if (q->size > VMIE_MAX_VIRTUAL_SIZE) {
		r = VMIE_CORRUPT(err, "%s: virtual size %llu bytes (offset "
				 "0x18) is over the limit of %llu", name,
				 (unsigned long long)q->size,
				 (unsigned long long)VMIE_MAX_VIRTUAL_SIZE);
		goto out;
	}
	unsigned span_bits = q->cluster_bits + q->l2_bits;
	uint64_t need = (q->size >> span_bits) +
			((q->size & ((1ull << span_bits) - 1)) != 0);
	q->l1_size = h.l1_size;
	q->l1_off = h.l1_table_offset;
	if ((uint64_t)h.l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		r = VMIE_CORRUPT(err, "%s: L1 table of %u entries (offset "
				 "0x24) is over the limit of %llu entries",
				 name, h.l1_size, (unsigned long long)
				 (QCOW2_MAX_L1_BYTES / 8));
		goto out;
	}
	if (h.l1_size < need) {
		r = VMIE_CORRUPT(err, "%s: L1 table has %u entries but the "
				 "virtual size of %llu bytes needs %llu", name,
				 h.l1_size, (unsigned long long)q->size,
				 (unsigned long long)need);
		goto out;
	}
	if (h.l1_size) {
		r = qcow2_check_table(q, q->l1_off, (uint64_t)h.l1_size * 8,
				      "L1 table", err);
		if (r)
			goto out;
	}

	/* Refcount table: only check uses it, but an image whose refcount
	 * table is outside the file is not intact. */
	q->reft_off = h.refcount_table_offset;
	q->reft_clusters = h.refcount_table_clusters;
	if ((uint64_t)q->reft_clusters * q->cluster_size >
	    QCOW2_MAX_REFT_BYTES) {
		r = VMIE_CORRUPT(err, "%s: refcount table of %u clusters "
				 "(offset 0x38) is over the limit of %llu "
				 "bytes", name, q->reft_clusters,
				 (unsigned long long)QCOW2_MAX_REFT_BYTES);
		goto out;
	}
	if (q->reft_clusters) {
		r = qcow2_check_table(q, q->reft_off, (uint64_t)q->reft_clusters
				      * q->cluster_size, "refcount table",
				      err);
		if (r)
			goto out;
	}

	q->nb_snaps = h.nb_snapshots;
	q->snap_off = h.snapshots_offset;
	r = qcow2_read_snapshots(q, err);
	if (r)
		goto out;

	if (q->has_bitmaps_ext) {
		if (q->nb_bitmaps > QCOW2_MAX_BITMAPS ||
		    q->bitmap_dir_size > QCOW2_MAX_SNAPTAB_BYTES) {
			r = VMIE_CORRUPT(err, "%s: bitmaps extension: %u "
					 "bitmaps, directory of %llu bytes is "
					 "over the limit", name, q->nb_bitmaps,
					 (unsigned long long)
					 q->bitmap_dir_size);
			goto out;
		}
		r = qcow2_check_table(q, q->bitmap_dir_off, q->bitmap_dir_size,
				      "bitmap directory", err);
		if (r)
			goto out;
	}

	if (h.l1_size) {
		size_t l1_bytes = (size_t)h.l1_size * 8;
		l1raw = malloc(l1_bytes);
		q->l1 = malloc((size_t)h.l1_size * sizeof *q->l1);
		if (!l1raw || !q->l1) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory for an L1 "
				     "table of %u entries", h.l1_size);
			goto out;
		}
		r = vmie_budget_read(img->budget, l1_bytes, "qcow2: L1 table",
				     err);
		if (!r)
			r = vmie_budget_entries(img->budget, h.l1_size,
						"qcow2: L1 table", err);
		if (!r)
			r = vmie_src_pread(img->src, l1raw, l1_bytes,
					   q->l1_off, err);
		if (r)
			goto out;
		for (uint32_t i = 0; i < h.l1_size; i++)
			q->l1[i] = vmie_be64(l1raw + (size_t)i * 8);
		r = qcow2_find_shared_l2(q, o->info_only, err);
		if (r)
			goto out;
	}

	/* L2 cache: at most 32 MiB, at most as many slots as L2 tables. */
	uint64_t slots = QCOW2_CACHE_BYTES >> q->cluster_bits;
	slots = vmie_min_u64(slots, QCOW2_CACHE_MAX);
	slots = vmie_min_u64(slots, vmie_max_u64(h.l1_size, 1));
	slots = vmie_max_u64(slots, QCOW2_CACHE_MIN);
	q->n_slots = (unsigned)slots;
	q->slots = calloc(q->n_slots, sizeof *q->slots);
	if (!q->slots) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}

	/* qemu sees the size in whole 512-byte sectors (a partial last
	 * sector is not part of its disk); do the same so both tools read
	 * the same disk.  qemu-img and vmie write sizes rounded up. */
	img->size = q->size & ~511ull;
	snprintf(img->subformat, sizeof img->subformat, "v%u", q->version);
	r = 0;
out:
	free(c0);
	free(l1raw);
	/* on failure the framework does not call close: free here */
	if (r) {
		img->priv = NULL;
		pthread_mutex_destroy(&q->lock);
		free(q->l1);
		free(q->snaps);
		free(q->slots);
		free(q);
	}
	return r;
}

static void qcow2_close(struct vmie_image *img)
{
	struct qcow2 *q = img->priv;
	if (!q)
		return;
	for (unsigned i = 0; q->slots && i < q->n_slots; i++)
		free(q->slots[i].data);
	free(q->slots);
	free(q->l1);
	free(q->snaps);
	pthread_mutex_destroy(&q->lock);
	free(q);
	img->priv = NULL;
}

/* ---- address translation ---- */

int qcow2_decode_l2e(struct qcow2 *q, uint64_t e, uint64_t bm, uint64_t l1i,
		     uint64_t l2i, struct qcow2_map *m, struct vmie_err *err)
{
	const char *name = q->img->name;
	uint64_t vcl = (l1i << q->l2_bits) | l2i;
	memset(m, 0, sizeof *m);
	if (e & QCOW2_OFLAG_COMPRESSED) {
		unsigned sh = qcow2_csize_shift(q->cluster_bits);
		uint64_t off = e & ((1ull << sh) - 1);
		off &= (1ull << 56) - 1;    /* upper bits must be 0 */
		uint64_t nsec = ((e >> sh) & qcow2_csize_mask(q->cluster_bits))
				+ 1;
		uint64_t csize = nsec * 512 - (off & 511);
		if (off >= q->file_size)
			return VMIE_CORRUPT(err, "%s: guest cluster %llu (L1 "
					    "entry %llu, L2 entry %llu): "
					    "compressed data at 0x%llx is past "
					    "the end of the file (%llu bytes)",
					    name, (unsigned long long)vcl,
					    (unsigned long long)l1i,
					    (unsigned long long)l2i,
					    (unsigned long long)off,
					    (unsigned long long)q->file_size);
		/* the last sector may be cut short by the end of the file */
		m->type = QCOW2_C_COMPRESSED;
		m->host_off = off;
		m->csize = vmie_min_u64(csize, q->file_size - off);
		return 0;
	}
	uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
	if (host) {
		if (host & (q->cluster_size - 1))
			return VMIE_CORRUPT(err, "%s: guest cluster %llu (L1 "
					    "entry %llu, L2 entry %llu): data "
					    "offset 0x%llx is not cluster-"
					    "aligned", name,
					    (unsigned long long)vcl,
					    (unsigned long long)l1i,
					    (unsigned long long)l2i,
					    (unsigned long long)host);
		if (host >= q->file_size)
			return VMIE_CORRUPT(err, "%s: guest cluster %llu (L1 "
					    "entry %llu, L2 entry %llu): data "
					    "at 0x%llx is past the end of the "
					    "file (%llu bytes)", name,
					    (unsigned long long)vcl,
					    (unsigned long long)l1i,
					    (unsigned long long)l2i,
					    (unsigned long long)host,
					    (unsigned long long)q->file_size);
	}
	m->host_off = host;
	if (q->ext_l2) {
		m->alloc_bits = (uint32_t)bm;
		m->zero_bits = (uint32_t)(bm >> 32);
		if (m->alloc_bits & m->zero_bits)
			return VMIE_CORRUPT(err, "%s: guest cluster %llu: "
					    "subclusters marked both allocated "
					    "and zero (bitmap 0x%016llx)", name,
					    (unsigned long long)vcl,
					    (unsigned long long)bm);
		if (m->alloc_bits && !host)
			return VMIE_CORRUPT(err, "%s: guest cluster %llu: "
					    "allocated subclusters without a "
					    "host cluster", name,
					    (unsigned long long)vcl);
		m->type = host ? QCOW2_C_NORMAL : QCOW2_C_UNALLOC;
		return 0;
	}
	/* like qemu, the zero flag wins whatever the version */
	if (e & QCOW2_OFLAG_ZERO)
		m->type = QCOW2_C_ZERO;
	else
		m->type = host ? QCOW2_C_NORMAL : QCOW2_C_UNALLOC;
	return 0;
}

static struct qcow2_l2slot *qcow2_cache_find(struct qcow2 *q, uint64_t off)
{
	for (unsigned i = 0; i < q->n_slots; i++)
		if (q->slots[i].host_off == off)
			return &q->slots[i];
	return NULL;
}

static void qcow2_entry_at(struct qcow2 *q, const uint8_t *t, uint64_t l2i,
			   uint64_t *e, uint64_t *bm)
{
	const uint8_t *p = t + l2i * q->l2_entry_size;
	*e = vmie_be64(p);
	*bm = q->ext_l2 ? vmie_be64(p + 8) : 0;
}

/* Entry l2i of the L2 table at l2off, through the cache.  The table is
 * read without the lock held; two threads missing the same table both
 * read it and the second insert is dropped. */
static int qcow2_l2_get(struct qcow2 *q, uint64_t l2off, uint64_t l2i,
			uint64_t *e, uint64_t *bm, struct vmie_err *err)
{
	struct qcow2_l2slot *s;
	uint8_t *t;
	pthread_mutex_lock(&q->lock);
	s = qcow2_cache_find(q, l2off);
	if (s) {
		qcow2_entry_at(q, s->data, l2i, e, bm);
		s->last_use = ++q->tick;
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	pthread_mutex_unlock(&q->lock);

	t = malloc(q->cluster_size);
	if (!t)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	int r = vmie_budget_read(q->img->budget, q->cluster_size,
				 "qcow2: L2 table load", err);
	if (!r)
		r = vmie_src_pread(q->img->src, t, q->cluster_size, l2off,
				   err);
	if (r) {
		free(t);
		return r;
	}
	pthread_mutex_lock(&q->lock);
	s = qcow2_cache_find(q, l2off);
	if (!s) {
		s = &q->slots[0];
		for (unsigned i = 1; i < q->n_slots && s->host_off; i++)
			if (!q->slots[i].host_off ||
			    q->slots[i].last_use < s->last_use)
				s = &q->slots[i];
		free(s->data);
		s->data = t;
		s->host_off = l2off;
		t = NULL;
	}
	qcow2_entry_at(q, s->data, l2i, e, bm);
	s->last_use = ++q->tick;
	pthread_mutex_unlock(&q->lock);
	free(t);
	return 0;
}

/* L2 table offset of L1 entry l1i, validated; 0 if unallocated. */
static int qcow2_l2_offset(struct qcow2 *q, uint64_t l1i, uint64_t *l2off,
			   struct vmie_err *err)
{
	*l2off = 0;
	if (l1i >= q->l1_size)
		return 0;
	uint64_t off = q->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
	if (!off)
		return 0;
	if (off & (q->cluster_size - 1))
		return VMIE_CORRUPT(err, "%s: L1 entry %llu: L2 table offset "
				    "0x%llx is not cluster-aligned",
				    q->img->name, (unsigned long long)l1i,
				    (unsigned long long)off);
	if (vmie_range_outside(off, q->cluster_size, q->file_size))
		return VMIE_CORRUPT(err, "%s: L1 entry %llu: L2 table at 0x%llx "
				    "is past the end of the file (%llu bytes)",
				    q->img->name, (unsigned long long)l1i,
				    (unsigned long long)off,
				    (unsigned long long)q->file_size);
	*l2off = off;
	return 0;
}

int qcow2_lookup(struct qcow2 *q, uint64_t vcl, struct qcow2_map *m,
		 struct vmie_err *err)
{
	uint64_t l1i = vcl >> q->l2_bits;
	uint64_t l2i = vcl & ((1ull << q->l2_bits) - 1);
	uint64_t l2off, e = 0, bm = 0;
	int r = qcow2_l2_offset(q, l1i, &l2off, err);
	if (r)
		return r;
	if (!l2off) {
		memset(m, 0, sizeof *m);
		m->type = QCOW2_C_UNALLOC;
		return 0;
	}
	r = qcow2_l2_get(q, l2off, l2i, &e, &bm, err);
	if (r)
		return r;
	return qcow2_decode_l2e(q, e, bm, l1i, l2i, m, err);
}

/* ---- reading ---- */

/* A run of guest bytes that sit contiguously in the file. */
struct qcow2_run {
	uint8_t *dst;
	uint64_t host;
	size_t len;
};

static int qcow2_run_flush(struct qcow2 *q, struct qcow2_run *run,
			   struct vmie_err *err)
{
	if (!run->len)
		return 0;
	/* A last data cluster cut short by the end of the file reads as
	 * zeros past it (the host offset itself was checked). */
	size_t avail = run->len;
	if (run->host >= q->file_size)
		avail = 0;
	else if (q->file_size - run->host < avail)
		avail = (size_t)(q->file_size - run->host);
	int r = avail ? vmie_src_pread(q->img->src, run->dst, avail, run->host,
				       err) : 0;
	if (!r && avail < run->len)
		memset(run->dst + avail, 0, run->len - avail);
	run->len = 0;
	return r;
}

static int qcow2_run_add(struct qcow2 *q, struct qcow2_run *run, uint8_t *dst,
			 uint64_t host, size_t len, struct vmie_err *err)
{
	if (run->len && run->dst + run->len == dst &&
	    run->host + run->len == host && run->len <= (64u << 20)) {
		run->len += len;
		return 0;
	}
	int r = qcow2_run_flush(q, run, err);
	run->dst = dst;
	run->host = host;
	run->len = len;
	return r;
}

static int qcow2_read_compressed(struct qcow2 *q, const struct qcow2_map *m,
				 uint64_t vcl, uint8_t *out, uint8_t **zbuf,
				 struct vmie_err *err)
{
	const char *why;
	if (!*zbuf) {
		/* csize is at most (2^(cluster_bits-8)) sectors */
		*zbuf = malloc((size_t)q->cluster_size * 2 + 512);
		if (!*zbuf)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	int r = vmie_src_pread(q->img->src, *zbuf, (size_t)m->csize,
			       m->host_off, err);
	if (r)
		return r;
	if (qcow2_decompress(q->compression, *zbuf, (size_t)m->csize, out,
			     q->cluster_size, &why))
		return VMIE_CORRUPT(err, "%s: guest cluster %llu: compressed "
				    "data at 0x%llx (%llu bytes, %s) does not "
				    "decompress: %s", q->img->name,
				    (unsigned long long)vcl,
				    (unsigned long long)m->host_off,
				    (unsigned long long)m->csize,
				    q->compression == QCOW2_COMPRESS_ZSTD ?
				    "zstd" : "deflate", why);
	return 0;
}

static int qcow2_pread(struct vmie_image *img, void *vbuf, size_t len,
		       uint64_t off, struct vmie_err *err)
{
	struct qcow2 *q = img->priv;
	uint8_t *buf = vbuf, *zbuf = NULL, *cbuf = NULL;
	struct qcow2_run run = { 0 };
	struct qcow2_map m;
	int r = 0;
	while (len) {
		uint64_t vcl = off >> q->cluster_bits;
		uint32_t in_cl = (uint32_t)(off & (q->cluster_size - 1));
		size_t n = (size_t)vmie_min_u64(len, q->cluster_size - in_cl);
		r = qcow2_lookup(q, vcl, &m, err);
		if (r)
			goto out;
		switch (m.type) {
		case QCOW2_C_UNALLOC:
		case QCOW2_C_ZERO:
			memset(buf, 0, n);
			break;
		case QCOW2_C_NORMAL:
			if (!q->ext_l2) {
				r = qcow2_run_add(q, &run, buf,
						  m.host_off + in_cl, n, err);
				if (r)
					goto out;
				break;
			}
			for (size_t done = 0; done < n;) {
				uint32_t pos = in_cl + (uint32_t)done;
				uint32_t sc = pos / q->sub_size;
				size_t k = vmie_min_u64(n - done, q->sub_size -
							pos % q->sub_size);
				if (m.alloc_bits & (1u << sc))
					r = qcow2_run_add(q, &run, buf + done,
							  m.host_off + pos, k,
							  err);
				else
					memset(buf + done, 0, k);
				if (r)
					goto out;
				done += k;
			}
			break;
		case QCOW2_C_COMPRESSED:
			if (in_cl == 0 && n == q->cluster_size) {
				r = qcow2_read_compressed(q, &m, vcl, buf,
							  &zbuf, err);
			} else {
				if (!cbuf && !(cbuf = malloc(q->cluster_size))) {
					r = VMIE_ERR(err, VMIE_ENOMEM,
						     "out of memory");
					goto out;
				}
				r = qcow2_read_compressed(q, &m, vcl, cbuf,
							  &zbuf, err);
				if (!r)
					memcpy(buf, cbuf + in_cl, n);
			}
			if (r)
				goto out;
			break;
		}
		buf += n;
		off += n;
		len -= n;
	}
	r = qcow2_run_flush(q, &run, err);
out:
	free(zbuf);
	free(cbuf);
	return r;
}

/* Status of the guest bytes at pos: sets *n to the bytes up to the end of
 * the cluster (or subcluster, or whole unallocated L2 range). */
static int qcow2_status_at(struct qcow2 *q, uint64_t pos, uint64_t *n,
			   unsigned *st, struct vmie_err *err)
{
	uint64_t vcl = pos >> q->cluster_bits;
	uint64_t l1i = vcl >> q->l2_bits, l2off;
	struct qcow2_map m;
	int r = qcow2_l2_offset(q, l1i, &l2off, err);
	if (r)
		return r;
	if (!l2off) {
		unsigned span = q->cluster_bits + q->l2_bits;
		*n = ((l1i + 1) << span) - pos;
		*st = VMIE_BS_ZERO | VMIE_BS_HOLE;
		return 0;
	}
	r = qcow2_lookup(q, vcl, &m, err);
	if (r)
		return r;
	*n = q->cluster_size - (pos & (q->cluster_size - 1));
	switch (m.type) {
	case QCOW2_C_UNALLOC:
		*st = VMIE_BS_ZERO | VMIE_BS_HOLE;
		if (q->ext_l2) {
			uint32_t sc = (uint32_t)(pos & (q->cluster_size - 1)) /
				      q->sub_size;
			*n = q->sub_size - pos % q->sub_size;
			if (m.zero_bits & (1u << sc))
				*st = VMIE_BS_ZERO;
		}
		break;
	case QCOW2_C_ZERO:
		*st = VMIE_BS_ZERO;
		break;
	case QCOW2_C_COMPRESSED:
		*st = VMIE_BS_DATA;
		break;
	case QCOW2_C_NORMAL:
		*st = VMIE_BS_DATA;
		if (q->ext_l2) {
			uint32_t sc = (uint32_t)(pos & (q->cluster_size - 1)) /
				      q->sub_size;
			*n = q->sub_size - pos % q->sub_size;
			if (!(m.alloc_bits & (1u << sc)))
				*st = m.zero_bits & (1u << sc) ? VMIE_BS_ZERO :
				      VMIE_BS_ZERO | VMIE_BS_HOLE;
		}
		break;
	}
	return 0;
}

static int qcow2_block_status(struct vmie_image *img, uint64_t off,
			      uint64_t max_len, uint64_t *pnum,
			      unsigned *status, struct vmie_err *err)
{
	struct qcow2 *q = img->priv;
	uint64_t done = 0, n;
	unsigned st0 = 0, st = 0, lookups = 0;
	while (done < max_len && lookups++ < QCOW2_BS_MAX_LOOKUPS) {
		int r = qcow2_status_at(q, off + done, &n, &st, err);
		if (r)
			return r;
		if (done && st != st0)
			break;
		st0 = st;
		done += n;
	}
	*pnum = vmie_min_u64(done, max_len);
	*status = st0;
	return 0;
}

/* ---- info ---- */

/* Bytes of the file holding data mapped by the active L1 (whole host
 * clusters; subclusters for extended L2); invalid entries are skipped
 * (check reports them). */
static int qcow2_allocated(struct qcow2 *q, uint64_t *alloc,
			   struct vmie_err *err)
{
	struct vmie_budget *bg = q->img->budget;
	uint64_t nbits = (q->file_size >> q->cluster_bits) + 1;
	size_t seen_len = (size_t)((nbits + 7) / 8);
	uint8_t *t = NULL, *seen = NULL;
	struct vmie_err tmp;
	uint64_t sum = 0, last_ccl = UINT64_MAX;
	int r = 0;
	t = vmie_budget_malloc(bg, q->cluster_size, "qcow2: L2 table", err);
	if (!t)
		return err->code;
	/* one bit per host cluster: each distinct L2 table is read once,
	 * however many L1 entries name it */
	seen = vmie_budget_calloc(bg, seen_len, 1, "qcow2: L2 table map", err);
	if (!seen) {
		r = err->code;
		goto out;
	}
	for (uint64_t i = 0; i < q->l1_size; i++) {
		uint64_t l2off;
		if (qcow2_l2_offset(q, i, &l2off, &tmp) || !l2off)
			continue;
		uint64_t c = l2off >> q->cluster_bits;
		if (seen[c / 8] & (1u << (c % 8)))
			continue;
		seen[c / 8] |= (uint8_t)(1u << (c % 8));
		r = vmie_budget_read(bg, q->cluster_size, "qcow2: L2 tables "
				     "(allocated size)", err);
		if (!r)
			r = vmie_budget_entries(bg, 1ull << q->l2_bits,
						"qcow2: L2 entries (allocated "
						"size)", err);
		if (!r)
			r = vmie_src_pread(q->img->src, t, q->cluster_size,
					   l2off, err);
		if (r)
			break;
		for (uint64_t j = 0; j < (1ull << q->l2_bits); j++) {
			uint64_t e, bm;
			struct qcow2_map m;
			qcow2_entry_at(q, t, j, &e, &bm);
			if (qcow2_decode_l2e(q, e, bm, i, j, &m, &tmp))
				continue;
			if (m.type == QCOW2_C_COMPRESSED) {
				/* compressed clusters share host clusters:
				 * count each host cluster once (they are
				 * packed in order) */
				uint64_t a = m.host_off >> q->cluster_bits;
				uint64_t b = (m.host_off + m.csize - 1) >>
					     q->cluster_bits;
				if (a == last_ccl)
					a++;
				if (b >= a)
					sum += (b - a + 1) * q->cluster_size;
				last_ccl = b;
			}
			else if (m.type == QCOW2_C_NORMAL && !q->ext_l2)
				sum += q->cluster_size;
			else if (m.type == QCOW2_C_NORMAL)
				sum += (uint64_t)__builtin_popcount(
					m.alloc_bits) * q->sub_size;
		}
	}
out:
	vmie_budget_free(bg, t, q->cluster_size);
	vmie_budget_free(bg, seen, seen_len);
	/* data clusters named twice are counted once in the file */
	*alloc = vmie_min_u64(sum, q->file_size);
	return r;
}

static int qcow2_info(struct vmie_image *img, struct vmie_image_info *info,
		      struct vmie_err *err)
{
	struct qcow2 *q = img->priv;
	uint64_t alloc;
	int r = qcow2_allocated(q, &alloc, err);
	if (r)
		return r;
	info->allocated = alloc;
	info->cluster_size = q->cluster_size;
	vmie_strlcpy(info->parent, q->backing, sizeof info->parent);
	vmie_info_add(info, "compat", "%s", q->version == 2 ? "0.10" : "1.1");
	vmie_info_add(info, "compression type", "%s",
		      q->compression == QCOW2_COMPRESS_ZSTD ? "zstd" : "zlib");
	vmie_info_add(info, "refcount bits", "%u", 1u << q->refcount_order);
	if (q->version >= 3) {
		vmie_info_add(info, "lazy refcounts", "%s",
			      q->compat & QCOW2_COMPAT_LAZY_REFCOUNTS ?
			      "true" : "false");
		vmie_info_add(info, "extended l2", "%s",
			      q->ext_l2 ? "true" : "false");
	}
	if (q->dirty)
		vmie_info_add(info, "dirty", "yes: refcounts may be stale "
			      "(guest data is read through L1/L2 and is not "
			      "affected)");
	if (q->backing[0])
		vmie_info_add(info, "backing file format", "%s",
			      q->backing_fmt[0] ? q->backing_fmt : "(probe)");
	if (q->has_bitmaps_ext)
		vmie_info_add(info, "bitmaps", "%u", q->nb_bitmaps);
	vmie_info_add(info, "snapshots", "%u", q->nb_snaps);
	for (uint32_t i = 0; i < q->nb_snaps && i < QCOW2_INFO_SNAPS; i++) {
		char key[32];
		snprintf(key, sizeof key, "snapshot %u", i + 1);
		vmie_info_add(info, key, "id %s, name '%s', date %u, disk size "
			      "%llu", q->snaps[i].id, q->snaps[i].name,
			      q->snaps[i].date_sec,
			      (unsigned long long)q->snaps[i].disk_size);
	}
	if (q->nb_snaps > QCOW2_INFO_SNAPS)
		vmie_info_add(info, "snapshots not listed", "%u",
			      q->nb_snaps - QCOW2_INFO_SNAPS);
	return 0;
}

static const char *const qcow2_subformats[] = { "v3", "v2", NULL };

const struct vmie_image_driver vmie_drv_qcow2 = {
	.name = "qcow2",
	.description = "QEMU copy-on-write v2/v3 (zlib/zstd compression, "
		       "subclusters; no backing chains, no encryption)",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.pread = qcow2_pread,
	.block_status = qcow2_block_status,
	.info = qcow2_info,
	.check = qcow2_check,
	.close = qcow2_close,
	.writer = &qcow2_writer_ops,
	.write_subformats = qcow2_subformats,
};
