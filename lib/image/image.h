/*
 * The image layer: one driver per disk image format behind one vtable.
 *
 * A driver reads a container (VMDK, VHD, VHDX, qcow2, raw, an OVA) from a
 * byte source (lib/io) and exposes the guest-visible disk: a virtual size,
 * pread, and block status (which ranges hold data, which read as zeros).
 * Writers turn a stream of in-order chunks into a container on a sink.
 *
 * Drivers are listed in registry.c, in probe order.  Adding a format is one
 * file and one line there.
 *
 * Untrusted input: every size, count and offset a driver reads from the
 * container is checked (lib/core/checked.h) against the source size and a
 * per-format limit before it is used to allocate, seek or loop.  Corruption
 * is reported as VMIE_ECORRUPT with rule FMT-005 (VMIE_CORRUPT()), naming
 * the structure and the offset.  Refusals of valid but unsupported images
 * carry their rule id (FMT-002 SEsparse, FMT-003 RDM, FMT-004 parent).
 */
#ifndef VMIE_IMAGE_IMAGE_H
#define VMIE_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../io/io.h"

struct vmie_image;
struct vmie_writer;

/* Block status bits (vmie_image_block_status). */
#define VMIE_BS_DATA    1u   /* allocated, holds data (may still be zeros) */
#define VMIE_BS_ZERO    2u   /* reads as zeros (allocated-zero or hole) */
#define VMIE_BS_HOLE    4u   /* not allocated in the container (with ZERO) */

/* Limits shared by all drivers. */
#define VMIE_MAX_VIRTUAL_SIZE   ((uint64_t)1 << 56)   /* 64 PiB: refuse above */
#define VMIE_MAX_TABLE_BYTES    ((uint64_t)512 << 20) /* one metadata table */

struct vmie_open_opts {
	/* Format name to use without probing ("raw", "vmdk"...), or NULL to
	 * probe.  When set, the driver still validates its structures but
	 * content probing of other formats is skipped: "-f raw" is raw. */
	const char *format;
	/* Accept images with a parent / backing file by reading only this
	 * layer (info only): default false = refuse with FMT-004. */
	bool info_only;
	/* VHDX: replay a dirty log into memory (default true); if false, a
	 * dirty log is refused with a clear message. */
	bool no_log_replay;
	/* OVA: index of the disk to expose (0 = first disk in the OVF). */
	unsigned ova_disk;
	/* The resource budget to draw on (lib/core/budget.h), or NULL: then
	 * the source's own, or a new one with the default limits.  The image
	 * takes its own reference. */
	struct vmie_budget *budget;
};

/* Extra facts a driver reports for `vmie info` (key/value, in order). */
#define VMIE_INFO_MAX_EXTRA 24
struct vmie_image_info {
	char format[16];         /* driver name: "vmdk" */
	char subformat[48];      /* "streamOptimized", "dynamic", "fixed"... */
	uint64_t virtual_size;
	uint64_t file_size;      /* size of the container (source) */
	uint64_t allocated;      /* bytes the container stores for data;
				    UINT64_MAX if unknown */
	uint32_t cluster_size;   /* grain / block / cluster, 0 if none */
	char creator[64];        /* creator app / tool, "" if not recorded */
	char parent[256];        /* parent/backing name if any, else "" */
	unsigned n_extra;
	struct { char key[32]; char val[160]; } extra[VMIE_INFO_MAX_EXTRA];
};
/* Append a key/value to info->extra (silently dropped when full). */
void vmie_info_add(struct vmie_image_info *info, const char *key,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Result of a deep integrity walk (`vmie info --check`, like qemu-img
 * check).  Drivers count problems; the message list keeps the first few. */
#define VMIE_CHECK_MAX_MSGS 16
struct vmie_check_result {
	uint64_t tables_checked;     /* table entries visited */
	uint64_t corruptions;        /* entries that are invalid */
	uint64_t leaks;              /* allocated but unreferenced clusters */
	unsigned n_msgs;
	char msgs[VMIE_CHECK_MAX_MSGS][200];
};
void vmie_check_add(struct vmie_check_result *r, bool corruption,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The driver vtable.  Every member is documented with its contract.
 */
struct vmie_image_driver {
	/* Short name as users type it: "raw", "vmdk", "vhd", "vhdx", "qcow2",
	 * "ova". */
	const char *name;
	const char *description;

	/* Score how sure the driver is that src holds its format: 0 = not
	 * mine, 1..100 = the more bits verified (magic, version, checksum)
	 * the higher.  head holds the first head_len bytes (up to 64 KiB);
	 * probe may read more from src (e.g. a VHD footer at the end) but
	 * must not allocate in proportion to anything it reads.  Never
	 * fails: an unreadable file just scores 0.  NULL: never probed. */
	int (*probe)(struct vmie_src *src, const uint8_t *head, size_t head_len);

	/* Open src as this format: validate headers and load the tables
	 * needed to read, set img->size and img->subformat, store state in
	 * img->priv.  Takes its own reference on src (vmie_src_ref) if it
	 * keeps it; the framework already stored src in img->src with one
	 * reference.  Refuse parents (FMT-004) unless o->info_only. */
	int (*open)(struct vmie_image *img, const struct vmie_open_opts *o,
		    struct vmie_err *err);

	/* Read len bytes of the virtual disk at off into buf.  The caller
	 * guarantees off + len <= img->size.  MUST be safe to call from
	 * several threads at once after open (no unlocked shared caches).
	 * Unallocated ranges read as zeros. */
	int (*pread)(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err);

	/* Status of the range starting at off: set *pnum to the length (> 0,
	 * <= max_len) of the run with the same status and *status to
	 * VMIE_BS_* bits.  Thread-safe.  NULL: everything is DATA. */
	int (*block_status)(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err);

	/* Fill driver-specific fields of info (the framework pre-fills
	 * format, subformat, virtual_size, file_size, allocated=UINT64_MAX).
	 * NULL is fine. */
	int (*info)(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err);

	/* Walk every table and report problems into res (like qemu-img
	 * check).  Returns 0 when the walk completed (even if problems were
	 * found), or an error when it could not run.  NULL: nothing to
	 * check beyond open. */
	int (*check)(struct vmie_image *img, struct vmie_check_result *res,
		     struct vmie_err *err);

	/* Optional: write to the virtual disk (only the copy-on-write overlay
	 * implements this). */
	int (*pwrite)(struct vmie_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err);

	/* Free img->priv and anything open() took. */
	void (*close)(struct vmie_image *img);

	/* Writing, or NULL for read-only formats. */
	const struct vmie_writer_ops *writer;
	/* Subformats the writer accepts; first is the default.  NULL-ended. */
	const char *const *write_subformats;
};

struct vmie_image {
	const struct vmie_image_driver *drv;
	struct vmie_src *src;     /* the container (one reference held) */
	uint64_t size;            /* virtual disk size in bytes */
	char subformat[48];
	char *name;               /* for messages */
	void *priv;
	/* The budget every parser of this image and of every device derived
	 * from it draws on (one reference held; never NULL after open). */
	struct vmie_budget *budget;
	/* VMIE_IMAGE_METERED: every vmie_image_pread is counted as metadata
	 * read (budget "read").  Set on the devices that partition, volume
	 * and file system readers read through (windows, volumes), never on
	 * the disk the convert engine copies. */
	unsigned flags;
};
#define VMIE_IMAGE_METERED 1u

/* Give a derived device (window, volume, overlay) the budget of base: one
 * new reference, and the METERED flag when meter is true. */
void vmie_image_share_budget(struct vmie_image *img,
			     const struct vmie_image *base, bool meter);

/* ---- writers ---- */

/* Options for creating an image (vmie convert -O fmt,sub -o k=v). */
struct vmie_create_opts {
	const char *subformat;    /* NULL = the driver's default */
	uint64_t size;            /* virtual size to create */
	unsigned threads;         /* worker threads the writer may assume */
	/* Driver options "key=value" from -o, e.g. adapter_type=lsilogic,
	 * hwversion=13, block_size=2M, azure=on (1 MiB-aligned VHD), compat. */
	const char *const *kv;
	size_t n_kv;
	/* Set non-zero to stop (e.g. from SIGINT); writers that do long work
	 * in finish() (hashing, table writes) should poll it. May be NULL. */
	volatile int *cancel;
};
/* Value of key in o->kv, or NULL. */
const char *vmie_create_opt(const struct vmie_create_opts *o, const char *key);

/* A chunk of the virtual disk handed to a writer by the convert engine.
 * Chunks start at multiples of the engine's chunk size (a multiple of the
 * writer's granule); len == chunk size except the last chunk of the disk,
 * which may be shorter and need not be a multiple of the granule. */
struct vmie_chunk {
	uint64_t off;
	size_t len;
	uint8_t *data;            /* len bytes; the writer may modify it */
	void *enc;                /* encode()'s output, owned by the writer */
	size_t enc_len;
	void *enc_aux;            /* free for the writer's use */
};

struct vmie_writer_ops {
	/* Prepare to write an image of o->size bytes to w->sink: validate
	 * options (unknown keys are an error naming the key), set
	 * w->granule (the unit it wants chunks aligned to: 512 for VHD,
	 * 64 KiB for VMDK grains and qcow2 clusters), write what can be
	 * written up front. */
	int (*create)(struct vmie_writer *w, const struct vmie_create_opts *o,
		      struct vmie_err *err);
	/* Optional, run in worker threads, several at once: transform one
	 * chunk (compress its grains) into c->enc.  Must not touch the sink
	 * or shared writer state without its own locking. */
	int (*encode)(struct vmie_writer *w, struct vmie_chunk *c,
		      struct vmie_err *err);
	/* Called in strictly increasing offset order, only for chunks that
	 * are not all zeros (the engine skips zero chunks; a writer must
	 * still skip zero granules inside a chunk if its format can).
	 * Frees c->enc if it set it. */
	int (*write)(struct vmie_writer *w, struct vmie_chunk *c,
		     struct vmie_err *err);
	/* Optional: release c->enc of a chunk that will never be written
	 * (an error happened elsewhere). */
	void (*discard)(struct vmie_writer *w, struct vmie_chunk *c);
	/* Write the remaining metadata (tables, footer, end-of-stream).  Does
	 * not commit the sink: the caller does, after finish succeeds. */
	int (*finish)(struct vmie_writer *w, struct vmie_err *err);
	/* Free w->priv.  Called once, after finish or after a failure. */
	void (*free)(struct vmie_writer *w);
};

struct vmie_writer {
	const struct vmie_image_driver *drv;
	const struct vmie_writer_ops *ops;
	struct vmie_sink *sink;
	uint64_t size;
	size_t granule;           /* set by create(); 0 means 512 */
	char subformat[48];
	/* Hint from the source for writers that record it (may be NULL):
	 * e.g. the OVA writer names the VMDK after it. */
	const char *source_name;
	void *priv;
	/* VMIE_WRITER_* set by create() (0: the in-order contract above).
	 * The engine honours them only when the sink is parallel
	 * (vmie_sink_parallel); otherwise it calls write() in order from
	 * its own thread as usual. */
	unsigned flags;
	/* Set by finish() when the writer knows it: bytes of the virtual
	 * disk its output stores data for (stream VMDK: stored grains x
	 * 64 KiB), as OVF's populatedSize means it.  0 = not known. */
	uint64_t populated;
};

/* write() is thread-safe and independent of order: the engine may call it
 * from its worker threads, several at once, right after a chunk is read
 * (positional layouts: raw, fixed VHD/VHDX). */
#define VMIE_WRITER_ANY_ORDER   1u
/* write() stays in order on the engine's thread, but the sink pwrites it
 * makes from inside c->data are queued and done later by a worker thread
 * (before the chunk's buffer is reused and before finish()).  Pwrites of
 * other buffers (metadata, c->enc) happen at once, as before.  The writer
 * must not change c->data after handing it to pwrite nor write over that
 * range again, and must use w->sink at each call (the engine puts a
 * queueing sink there after create()).  For layouts allocated in order
 * (dynamic VHD/VHDX, qcow2). */
#define VMIE_WRITER_DEFER_DATA  2u
/* With either flag, chunks follow the source's data: a chunk starts on a
 * multiple of the granule and ends on one (or at the end of the disk),
 * never crosses a multiple of the chunk size, and may be shorter than the
 * chunk size (the engine cuts it where a hole starts).
 * For any writer, c->data may point into a private mapping of the source
 * file instead of a buffer (zero-copy reads): changing it stays allowed. */

/* ---- the registry and the framework (image.c, registry.c) ---- */

/* NULL-terminated list of drivers in probe order. */
extern const struct vmie_image_driver *const vmie_image_drivers[];
const struct vmie_image_driver *vmie_image_driver_find(const char *name);

/* Probe src and return the best driver, or NULL (err says why: the best
 * guess of what it is, e.g. "VDI is not an import format"). */
const struct vmie_image_driver *vmie_image_probe(struct vmie_src *src,
						 struct vmie_err *err);
/* A format vmie recognises by its signature only to refuse it (FMT-001:
 * VirtualBox VDI, QED, vmfsSparse COWD, Parallels): its description
 * ("VirtualBox VDI"), with its short name ("vdi") in name; NULL for any
 * other file. */
const char *vmie_image_refused_format(struct vmie_src *src, char *name,
				      size_t size);

/* Open an image on a source (takes a new reference on src). */
int vmie_image_open_src(struct vmie_src *src, const struct vmie_open_opts *o,
			struct vmie_image **out, struct vmie_err *err);
/* Open a local file. */
int vmie_image_open(const char *path, const struct vmie_open_opts *o,
		    struct vmie_image **out, struct vmie_err *err);
void vmie_image_close(struct vmie_image *img);

/* Bounds-checked read (off + len <= size). */
int vmie_image_pread(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err);
int vmie_image_pwrite(struct vmie_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err);
/* Block status with the contract above; falls back to DATA. */
int vmie_image_block_status(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err);
int vmie_image_info(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err);
int vmie_image_check(struct vmie_image *img, struct vmie_check_result *res,
		     struct vmie_err *err);

/* Parse "vmdk,streamOptimized" / "vhd,dynamic" / "raw" into a driver and a
 * subformat (checked against write_subformats, case-insensitively; the
 * canonical spelling is copied to sub).  Aliases: "vpc" = vhd. */
int vmie_parse_output_format(const char *spec,
			     const struct vmie_image_driver **drv,
			     char *sub, size_t sub_size, struct vmie_err *err);

/* ---- convert (convert.c) ---- */

struct vmie_convert_opts {
	const char *format;       /* output driver name */
	const char *subformat;    /* NULL = default */
	const char *const *kv;    /* -o key=value options */
	size_t n_kv;
	unsigned threads;         /* 0 = CPU count */
	unsigned sink_flags;      /* VMIE_SINK_* */
	/* Called from the main thread at most every few MiB. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Set non-zero (e.g. from a SIGINT handler) to stop: returns
	 * VMIE_EINTR and leaves no output. */
	volatile int *cancel;
};

struct vmie_convert_stats {
	uint64_t bytes_read;      /* data bytes read from the source */
	uint64_t bytes_skipped;   /* zero/hole bytes never read or written */
	uint64_t out_size;        /* size of the output file */
	uint64_t populated;       /* the writer's populated bytes, 0 if it
				     does not say (struct vmie_writer) */
};

/* Convert img into a new file at dst (written to a temp name, renamed on
 * success, removed on failure). */
int vmie_convert(struct vmie_image *img, const char *dst,
		 const struct vmie_convert_opts *o,
		 struct vmie_convert_stats *stats, struct vmie_err *err);
/* Same into an open sink (not committed here).  Used by the OVA writer. */
int vmie_convert_to_sink(struct vmie_image *img, struct vmie_sink *sink,
			 const struct vmie_convert_opts *o,
			 struct vmie_convert_stats *stats, struct vmie_err *err);

/* ---- compare (compare.c) ---- */
/* *differ_at = first differing byte offset, or UINT64_MAX if equal.  A
 * size mismatch compares the common part, then requires the tail of the
 * longer image to be zeros (like qemu-img compare without -s). */
int vmie_compare(struct vmie_image *a, struct vmie_image *b, bool strict_size,
		 uint64_t *differ_at, struct vmie_err *err);

/* ---- copy-on-write overlay (overlay.c) ---- */
/* An image that reads through to base and keeps writes in memory (in
 * 64 KiB clusters).  base must outlive the overlay.  Block status reports
 * written clusters as DATA. */
int vmie_overlay_open(struct vmie_image *base, struct vmie_image **out,
		      struct vmie_err *err);
/* Bytes held by the overlay. */
uint64_t vmie_overlay_bytes(struct vmie_image *ov);
/* The image an overlay reads through to, or NULL when img is none. */
struct vmie_image *vmie_overlay_base(struct vmie_image *img);

/* ---- verify (verify.c): what `vmie check` proves ---- */
/* The table walk (vmie_image_check) and then a data pass that reads every
 * range block status reports as DATA through vmie_image_pread, in 4 MiB
 * chunks on a thread pool, writing nothing: every compressed unit is
 * inflated and every table entry followed, as convert will.  About the
 * time of a conversion to nowhere; memory = threads x 4 MiB. */
struct vmie_verify_opts {
	bool quick;               /* tables only: no data pass */
	/* Nothing beyond what opening proved (headers, footers,
	 * directories): no table walk, no data pass, tables_walked stays
	 * false.  For a caller that reads every table entry and every
	 * grain or block next anyway, and refuses there with the same
	 * FMT-005 messages (the import's conversion): a stream-optimized
	 * VMDK's walk reads each grain's marker and data, so over S3 it
	 * would be a second full read of the source. */
	bool open_only;
	unsigned threads;         /* 0 = CPU count */
	volatile int *cancel;     /* non-zero stops with VMIE_EINTR */
	/* Called from a worker thread, under the pass's lock, at most every
	 * 64 MiB of the disk and once at the end. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};
struct vmie_verify_result {
	struct vmie_check_result check;   /* the table walk */
	bool tables_walked;       /* the walk ran to the end */
	bool data_read;           /* the data pass read every DATA range */
	uint64_t data_bytes;      /* bytes read (and inflated) */
	uint64_t data_chunks;
	uint64_t zero_bytes;      /* zero / unallocated bytes skipped */
	unsigned threads;
};
/* 0 when the image will convert: tables consistent and (unless quick)
 * every data range readable.  Otherwise a negative VMIE_E* with err naming
 * what failed and where (corrupt tables or data: rule FMT-005; a budget
 * exceeded: VMIE_ELIMIT; cancelled: VMIE_EINTR). */
int vmie_image_verify(struct vmie_image *img,
		      const struct vmie_verify_opts *o,
		      struct vmie_verify_result *res, struct vmie_err *err);
/* ---- end verify ---- */

#endif
