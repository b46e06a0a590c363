/*
 * qcow2 driver internals shared by its files: qcow2.c (open, read, info),
 * qcow2_check.c (refcount walk), qcow2_compress.c (deflate / zstd for
 * compressed clusters) and qcow2_write.c (the writer).  Layout facts are in
 * qcow2_disk.h; the spec is qemu docs/interop/qcow2.txt.
 */
#ifndef VMIE_IMAGE_QCOW2_INT_H
#define VMIE_IMAGE_QCOW2_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../image.h"
#include "qcow2_disk.h"

/* An internal snapshot (the snapshot table, read at open). */
struct qcow2_snap {
	uint64_t l1_off;
	uint32_t l1_size;
	uint64_t disk_size;      /* 0 if not recorded (v2) */
	uint32_t date_sec;
	char id[32];
	char name[64];           /* truncated for display */
};

/* One cached L2 table. */
struct qcow2_l2slot {
	uint64_t host_off;       /* 0 = empty slot */
	uint64_t last_use;
	uint8_t *data;           /* one cluster, as on disk (big-endian) */
};

/* What a guest cluster maps to (qcow2_lookup). */
enum qcow2_ctype {
	QCOW2_C_UNALLOC,         /* no L2 table or entry 0: reads as zeros */
	QCOW2_C_ZERO,            /* zero flag (v3) */
	QCOW2_C_NORMAL,          /* host_off holds the data */
	QCOW2_C_COMPRESSED,      /* host_off, csize: compressed bytes */
};

struct qcow2_map {
	enum qcow2_ctype type;
	uint64_t host_off;       /* cluster-aligned (normal) or byte offset */
	uint64_t csize;          /* compressed: bytes from host_off (<= EOF) */
	uint32_t alloc_bits;     /* extended L2: allocated subclusters */
	uint32_t zero_bits;      /* extended L2: zero subclusters */
};

struct qcow2 {
	struct vmie_image *img;  /* for img->src and img->name */
	unsigned version;
	unsigned cluster_bits;
	uint32_t cluster_size;
	unsigned l2_bits;        /* log2 of entries per L2 table */
	unsigned l2_entry_size;  /* 8, or 16 with extended L2 */
	uint32_t sub_size;       /* subcluster size (extended L2), else cs */
	unsigned refcount_order;
	unsigned compression;    /* QCOW2_COMPRESS_* */
	bool ext_l2;
	bool dirty;
	uint64_t incompat, compat, autoclear;
	uint64_t file_size;
	uint64_t size;

	uint64_t l1_off;
	uint32_t l1_size;
	uint64_t *l1;            /* decoded active L1 */
	/* two active L1 entries share an L2 table (open with info_only
	 * only; otherwise refused): the first such pair */
	bool shared_l2;
	uint32_t shared_l1a, shared_l1b;
	uint64_t shared_off;

	uint64_t reft_off;
	uint32_t reft_clusters;

	uint32_t nb_snaps;
	uint64_t snap_off;
	uint64_t snaptab_len;    /* bytes of the snapshot table */
	struct qcow2_snap *snaps;

	bool has_bitmaps_ext;
	uint32_t nb_bitmaps;
	uint64_t bitmap_dir_off, bitmap_dir_size;

	char backing[QCOW2_MAX_BACKING_NAME + 1];
	char backing_fmt[64];

	/* L2 cache: shared by every reader thread, under lock. */
	pthread_mutex_t lock;
	struct qcow2_l2slot *slots;
	unsigned n_slots;
	uint64_t tick;
};

/* qcow2.c */
/* Map guest cluster vcl (< number of guest clusters) through the active
 * L1 table: thread-safe, uses the L2 cache. */
int qcow2_lookup(struct qcow2 *q, uint64_t vcl, struct qcow2_map *m,
		 struct vmie_err *err);
/* Decode an L2 entry (e = first word, bm = bitmap word for extended L2)
 * into m, validating it against the file; l1i/l2i name it in messages. */
int qcow2_decode_l2e(struct qcow2 *q, uint64_t e, uint64_t bm, uint64_t l1i,
		     uint64_t l2i, struct qcow2_map *m, struct vmie_err *err);

/* qcow2_check.c */
int qcow2_check(struct vmie_image *img, struct vmie_check_result *res,
		struct vmie_err *err);

/* qcow2_compress.c */
/* Inflate a compressed cluster: in (in_len bytes, may carry trailing
 * bytes) must produce exactly out_len bytes.  Returns 0, or -1 with *why
 * set to a short reason. */
int qcow2_decompress(unsigned type, const uint8_t *in, size_t in_len,
		     uint8_t *out, size_t out_len, const char **why);
/* A compressor for one thread. */
struct qcow2_cctx;
struct qcow2_cctx *qcow2_cctx_new(unsigned type);
void qcow2_cctx_free(struct qcow2_cctx *c);
/* Compress len bytes into out (at most out_max bytes).  Returns the
 * compressed length, or 0 when it does not fit (store the cluster
 * uncompressed) or on failure. */
size_t qcow2_compress(struct qcow2_cctx *c, const uint8_t *in, size_t len,
		      uint8_t *out, size_t out_max);

/* qcow2_write.c */
extern const struct vmie_writer_ops qcow2_writer_ops;

#endif
