/*
 * VMDK driver internals shared by vmdk.c (open, read, info), vmdk_sparse.c
 * (sparse and stream-optimized extents), vmdk_desc.c (descriptor parser) and
 * vmdk_write.c (writers).  Spec: VMware "Virtual Disk Format 5.0".
 */
#ifndef VMIE_IMAGE_VMDK_INT_H
#define VMIE_IMAGE_VMDK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../image.h"
#include "vmdk_disk.h"

/* ---- descriptor (vmdk_desc.c) ---- */

enum vmdk_access { VMDK_RW, VMDK_RDONLY, VMDK_NOACCESS };
enum vmdk_ext_type {
	VMDK_EXT_FLAT,          /* FLAT and VMFS: raw bytes at an offset */
	VMDK_EXT_SPARSE,        /* hosted sparse / stream-optimized file */
	VMDK_EXT_ZERO,          /* reads as zeros, no file */
	VMDK_EXT_VMFSSPARSE,    /* refused: FMT-002 */
	VMDK_EXT_SESPARSE,      /* refused: FMT-002 */
	VMDK_EXT_RDM,           /* VMFSRDM / VMFSRAW: refused, FMT-003 */
};

struct vmdk_desc_extent {
	enum vmdk_access access;
	enum vmdk_ext_type type;
	uint64_t sectors;
	uint64_t offset;        /* FLAT: start sector in the file */
	char file[256];         /* "" for ZERO */
};

#define VMDK_DDB_MAX 32
struct vmdk_desc {
	unsigned version;
	uint32_t cid, parent_cid;
	bool has_cid, has_parent_cid;
	char create_type[48];
	char parent_hint[256];
	unsigned n_extents, ext_cap;
	struct vmdk_desc_extent *extents;   /* malloc'd */
	unsigned n_ddb;
	struct { char key[48]; char val[160]; } ddb[VMDK_DDB_MAX];
};

/* Parse descriptor text (len bytes, need not be NUL-terminated; stops at
 * the first NUL).  what names the source in messages. */
int vmdk_desc_parse(struct vmdk_desc *d, const char *text, size_t len,
		    const char *what, struct vmie_err *err);
void vmdk_desc_free(struct vmdk_desc *d);
/* Value of a ddb key ("ddb.adapterType"), or NULL. */
const char *vmdk_desc_ddb(const struct vmdk_desc *d, const char *key);
/* True when the text starts (after comments and blank lines) with
 * "version=N": how a descriptor file is recognised. */
bool vmdk_desc_looks_like(const uint8_t *buf, size_t len);

/* ---- sparse extents (vmdk_sparse.c) ---- */

struct vmdk_gt_slot {
	uint64_t tag;           /* GT index + 1; 0 = empty */
	uint32_t *gte;          /* num_gtes entries, host order */
};

struct vmdk_sparse {
	struct vmie_src *src;   /* one reference */
	struct vmdk_header_disk h;
	uint64_t capacity;      /* sectors */
	uint32_t grain_sectors;
	uint32_t grain_bytes;
	uint32_t num_gtes;
	uint64_t n_grains;
	uint64_t n_gd;          /* grain directory entries */
	uint32_t *gd;           /* host order */
	uint64_t gd_off, rgd_off;       /* bytes; rgd_off 0 = none */
	uint64_t gd_bytes;              /* bytes of one directory on disk */
	uint64_t desc_off, desc_len;    /* bytes */
	bool compressed, markers, stream_footer;
	uint32_t max_record;    /* bytes: marker + largest compressed grain */
	/* GT cache: direct-mapped by GT index, lock-protected; the slot
	 * array and every cached table are charged to the budget (a table
	 * the budget has no room for is read again instead of cached) */
	pthread_mutex_t lock;
	size_t n_slots;
	struct vmdk_gt_slot *slots;
	uint64_t n_cached;      /* tables cached (charged) */
	struct vmie_budget *budget;     /* of src, not a reference */
};

struct vmdk_scratch;

/* Open the sparse file src (takes a reference).  desc_out, if not NULL,
 * receives the embedded descriptor text (malloc'd, NUL-terminated) or NULL
 * when there is none. */
int vmdk_sparse_open(struct vmdk_sparse *sp, struct vmie_src *src,
		     char **desc_out, struct vmie_err *err);
void vmdk_sparse_close(struct vmdk_sparse *sp);
int vmdk_sparse_read(struct vmdk_sparse *sp, struct vmdk_scratch *sc,
		     uint8_t *buf, size_t len, uint64_t off,
		     struct vmie_err *err);
int vmdk_sparse_status(struct vmdk_sparse *sp, uint64_t off, uint64_t max,
		       uint64_t *pnum, unsigned *status, struct vmie_err *err);
/* Grains allocated (data or zeroed) and of them zeroed. */
int vmdk_sparse_count(struct vmdk_sparse *sp, uint64_t *alloc,
		      uint64_t *zeroed, struct vmie_err *err);
int vmdk_sparse_check(struct vmdk_sparse *sp, unsigned idx,
		      struct vmie_check_result *res, struct vmie_err *err);

/* Per-thread working memory for reads, taken from a pool in the image. */
struct vmdk_scratch {
	struct vmdk_scratch *next;
	struct libdeflate_decompressor *dec;
	uint8_t *win;           /* file window for compressed grains */
	size_t win_size;
	uint8_t *grain;         /* one decompressed grain */
	size_t grain_size;
};

/* ---- the image (vmdk.c) ---- */

/* One distinct file behind the extents: a descriptor may name the same
 * file (by name, or by device and inode through links) many times, as the
 * same flat file at several offsets does legitimately; it is opened once
 * and, when sparse, its grain directory is loaded once. */
struct vmdk_file {
	uint64_t dev, ino;
	bool have_id;
	unsigned first_ext;     /* the first extent that names it */
	struct vmie_src *src;   /* one reference */
	struct vmdk_sparse *sp; /* opened on the first SPARSE use, or NULL */
};

struct vmdk_extent {
	enum vmdk_ext_type type;
	enum vmdk_access access;
	uint64_t start, len;    /* bytes of the virtual disk */
	uint64_t flat_off;      /* FLAT: bytes into src */
	struct vmie_src *src;   /* FLAT (borrowed from files[]), SPARSE: in sp */
	struct vmdk_sparse *sp; /* borrowed from files[] */
	char file[256];
};

struct vmdk_state {
	struct vmdk_desc desc;
	bool have_desc;
	bool embedded;          /* descriptor inside the sparse file */
	unsigned n_ext, ext_cap;
	struct vmdk_extent *ext;
	unsigned n_files;
	struct vmdk_file *files;   /* at most one per extent, budget-charged */
	struct vmie_budget *budget;
	/* scratch pool */
	pthread_mutex_t pool_lock;
	struct vmdk_scratch *pool;
	size_t win_size, grain_size;
};

/* ---- writers (vmdk_write.c) ---- */
extern const struct vmie_writer_ops vmdk_writer_ops;

#endif
