/*
 * Byte sources and sinks: the bottom layer of the stack.
 *
 * A source (struct vmie_src) is a read-only, random-access range of bytes of
 * known size: a local file, a memory buffer, a window onto a member of a tar
 * file (an OVA), later an S3 object.  Image drivers read their container
 * through a source and never see where the bytes live.
 *
 * A sink (struct vmie_sink) is where a writer puts an output file.  Writers
 * may pwrite anywhere (VHD and qcow2 rewrite tables at the end).  A file sink
 * writes to a temporary name beside the destination and renames it only on
 * vmie_sink_commit(); vmie_sink_abort() (or freeing without commit) removes
 * it, so a failed or interrupted conversion leaves no partial file.
 *
 * Thread safety: pread on a source may be called from several threads at
 * once (every implementation here is stateless per call).
 */
#ifndef VMIE_IO_IO_H
#define VMIE_IO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/budget.h"

struct vmie_err;
struct vmie_src;

struct vmie_src_ops {
	const char *kind;   /* "file", "memory", "tar-member", "s3" */
	/* Read exactly len bytes at off.  Reading past size is an error
	 * (VMIE_ECORRUPT naming the source: "truncated").  Thread-safe. */
	int (*pread)(struct vmie_src *s, void *buf, size_t len, uint64_t off,
		     struct vmie_err *err);
	/* Optional: open a sibling file by name (a VMDK extent, a qcow2
	 * backing file) from the same place.  name is never a path: callers
	 * must reject '/' and ".." first; implementations check again.  Only
	 * a regular file is opened (not a FIFO, socket, device or
	 * directory), and a symbolic link only if it leads to one inside the
	 * same directory: VMIE_EPERM naming the file otherwise. */
	int (*open_sibling)(struct vmie_src *s, const char *name,
			    struct vmie_src **out, struct vmie_err *err);
	/* Optional: find holes.  Set *pnum to the length (> 0) of the run at
	 * off that is all data (*hole = false) or a hole that reads as zeros
	 * (*hole = true).  Local sparse files use SEEK_DATA/SEEK_HOLE. */
	int (*extent)(struct vmie_src *s, uint64_t off, uint64_t max_len,
		      uint64_t *pnum, bool *hole, struct vmie_err *err);
	void (*close)(struct vmie_src *s);
	/* Optional: the whole source mapped into memory (private pages: a
	 * reader may scribble on them without touching the file), for
	 * readers that would otherwise copy every byte through pread; NULL
	 * when it cannot be mapped.  Mapped once, lives until close;
	 * thread-safe.  A file that shrinks while mapped would raise SIGBUS
	 * on access past its new end: the file source catches it, gives
	 * the access a zero page and marks the mapping lost, so users call
	 * check_size after they have used the bytes, too. */
	uint8_t *(*map)(struct vmie_src *s);
	/* Optional: VMIE_ECORRUPT if the source is now shorter than size. */
	int (*check_size)(struct vmie_src *s, struct vmie_err *err);
};

struct vmie_src {
	const struct vmie_src_ops *ops;
	uint64_t size;       /* bytes */
	char *name;          /* for messages: path, "ova:member"... */
	void *priv;
	int refs;            /* vmie_src_ref / vmie_src_unref */
	/* The resource budget of the image read from this source (one
	 * reference held, or NULL): set by vmie_image_open_src when the
	 * source has none, inherited by windows and siblings, drawn on by
	 * the drivers that parse what the source holds (lib/core/budget.h). */
	struct vmie_budget *budget;
};

/* Open a local file read-only.  Block devices are allowed (size from
 * BLKGETSIZE64). */
int vmie_src_open_file(const char *path, struct vmie_src **out,
		       struct vmie_err *err);
/* How a file source made by vmie_src_open_fd finds its siblings, when the
 * opener has its own rules (a bucket: lib/io/bucket.h).  open is called
 * with a name that vmie_check_member_name accepted (open_sibling's
 * contract is the implementation's to keep); free(ctx) when the source
 * closes.  open NULL: the source has no siblings (VMIE_EUNSUPP). */
struct vmie_src_sibling {
	int (*open)(void *ctx, const char *name, struct vmie_src **out,
		    struct vmie_err *err);
	void (*free)(void *ctx);
	void *ctx;
};
/* A file source over fd, opened by the caller (who checked what it is: a
 * regular file or a block device; anything else is refused).  fd is
 * taken (closed with the source, or on failure), and so is sib->ctx
 * (freed on failure too); sib NULL: no siblings.  name is for messages.
 * Behaves as vmie_src_open_file's source in every other way (pread,
 * extent, map, check_size, vmie_src_file_id). */
int vmie_src_open_fd(int fd, const char *name,
		     const struct vmie_src_sibling *sib, struct vmie_src **out,
		     struct vmie_err *err);
/* A source over a memory buffer.  If take is true the buffer is freed with
 * the source, else it must outlive it. */
int vmie_src_open_mem(const void *buf, size_t len, bool take, const char *name,
		      struct vmie_src **out, struct vmie_err *err);
/* A window [off, off+len) onto another source (e.g. a tar member).  Takes a
 * reference on parent.  Siblings are looked up through parent's
 * open_sibling only if sibling_fn is NULL. */
int vmie_src_open_window(struct vmie_src *parent, uint64_t off, uint64_t len,
			 const char *name, struct vmie_src **out,
			 struct vmie_err *err);

static inline int vmie_src_pread(struct vmie_src *s, void *buf, size_t len,
				 uint64_t off, struct vmie_err *err)
{
	return s->ops->pread(s, buf, len, off, err);
}
int vmie_src_open_sibling(struct vmie_src *s, const char *name,
			  struct vmie_src **out, struct vmie_err *err);
/* For a local file source: its device and inode (true), so that a reader
 * can tell two names of one file apart from two files; false otherwise. */
bool vmie_src_file_id(const struct vmie_src *s, uint64_t *dev, uint64_t *ino);
/* Hole/data runs of a source (everything is data if unsupported). */
int vmie_src_extent(struct vmie_src *s, uint64_t off, uint64_t max_len,
		    uint64_t *pnum, bool *hole, struct vmie_err *err);
/*
 * Zero-copy reads, for the convert engine.  Between begin and end on one
 * thread, a pread from a mappable file source (ops->map) into [buf,
 * buf+len) is only recorded, as pieces: runs of the file that hold data
 * (to be read through the file's private mapping) and holes of the file
 * (zeros, never touched).  Bytes of the range that the reader fills
 * itself (its own zeros, decompressed data) stay in buf.  At the end:
 *  - vmie_src_capture_end: if the whole range is one piece of data, a
 *    pointer into the mapping (nothing was copied); otherwise the recorded
 *    reads are done for real into buf and buf is returned;
 *  - vmie_src_capture_end_pieces: the range as a list of pieces in order
 *    (into the mapping, into buf, or zeros), nothing copied.
 * Recording stops (the reads are done for real from then on) when a read
 * does not come after the previous one in buf, or after
 * VMIE_CAPTURE_MAX pieces.  Only for readers that write each byte of the
 * range at most once and never read it back before the end (checked
 * drivers: raw, VMDK, VHD, VHDX, qcow2; not the copy-on-write overlay).
 * Pointers stay valid while the source is open; the file's size is
 * checked when a piece is recorded (a mapped file that shrank would raise
 * SIGBUS when touched).
 */
#define VMIE_CAPTURE_MAX 64

struct vmie_src_piece {
	size_t at;                /* offset in the captured range */
	size_t len;
	const uint8_t *data;      /* len bytes; NULL: all zeros */
	uint64_t foff;            /* (recorded pieces) offset in src */
};

struct vmie_src_capture {
	uint8_t *buf;
	size_t len;
	struct vmie_src *src;     /* every recorded piece is of this source */
	size_t n;                 /* recorded pieces */
	struct vmie_src_piece rec[VMIE_CAPTURE_MAX];
	bool broken;              /* read for real from now on */
};
void vmie_src_capture_begin(struct vmie_src_capture *c, uint8_t *buf,
			    size_t len);
/* Pointer to the len bytes (into a mapping, or buf), or NULL on a read
 * error (set in err). */
uint8_t *vmie_src_capture_end(struct vmie_src_capture *c,
			      struct vmie_err *err);
/* The range as *n pieces in order, covering it exactly, written to out
 * (room for 2 * VMIE_CAPTURE_MAX + 1).  Mapped pieces are populated.
 * Never fails. */
void vmie_src_capture_end_pieces(struct vmie_src_capture *c,
				 struct vmie_src_piece *out, size_t *n);

/* The source mapped into memory (see vmie_src_ops.map), or NULL. */
uint8_t *vmie_src_map(struct vmie_src *s);
/* 0, or VMIE_ECORRUPT when the source shrank below s->size since it was
 * opened (to check before touching a mapping). */
int vmie_src_check_size(struct vmie_src *s, struct vmie_err *err);
/* How many mapped pages of any file source have vanished under their
 * reader (the file was cut short) since the process started: a reader
 * that notes it before and compares after knows whether zeros it took
 * from a mapping were the file's. */
unsigned long vmie_src_mappings_lost(void);
void vmie_src_ref(struct vmie_src *s);
/* Drop a reference; closes at zero.  NULL is fine. */
void vmie_src_unref(struct vmie_src *s);
/* Validate a file name taken from inside an image before it is looked up:
 * no '/', no '\\', not "." or "..", not empty, no control characters.
 * Returns 0 or VMIE_EPERM with a message naming it (rule may be NULL). */
int vmie_check_member_name(const char *name, const char *what,
			   struct vmie_err *err);

/* ---- sinks ---- */

struct vmie_sink;
struct vmie_sink_ops {
	int (*pwrite)(struct vmie_sink *k, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err);
	/* Set the final length (sparse extension allowed). */
	int (*truncate)(struct vmie_sink *k, uint64_t len, struct vmie_err *err);
	/* Optional: read back what was written (for hashing a finished member,
	 * or a writer that patches a table).  Regions never written read as
	 * zeros. */
	int (*pread)(struct vmie_sink *k, void *buf, size_t len, uint64_t off,
		     struct vmie_err *err);
	/* Make durable and publish under the final name. */
	int (*commit)(struct vmie_sink *k, struct vmie_err *err);
	/* Remove everything written (idempotent). */
	void (*abort)(struct vmie_sink *k);
	void (*free)(struct vmie_sink *k);
	/* Optional: true when pwrite may be called from several threads at
	 * once for disjoint ranges (a file: pwrite(2) is; a growing memory
	 * buffer is not).  NULL = no.  The convert engine writes from its
	 * worker threads only into sinks that say yes. */
	bool (*parallel)(struct vmie_sink *k);
};

struct vmie_sink {
	const struct vmie_sink_ops *ops;
	char *name;          /* final name, for messages */
	uint64_t written_end;   /* highest offset written + 1 (maintained by
				   vmie_sink_pwrite, atomically: safe with
				   parallel writers) */
	bool committed;
	void *priv;
};

/* flags for vmie_sink_open_file */
#define VMIE_SINK_OVERWRITE 1u   /* replace an existing destination */
#define VMIE_SINK_NOSYNC    2u   /* skip fdatasync on commit (tests) */

/* Create a file sink that writes "<dir>/.<base>.vmie-XXXXXX" and renames it
 * to path on commit.  Without VMIE_SINK_OVERWRITE an existing path is an
 * error (VMIE_EEXIST) checked before any work is done. */
int vmie_sink_open_file(const char *path, unsigned flags,
			struct vmie_sink **out, struct vmie_err *err);
/* The same in the directory dirfd (duplicated: the caller keeps its own):
 * writes "<dirfd>/.<name>.vmie-XXXXXX" and renames it to name, in that
 * directory, on commit, whatever becomes of the directory's path
 * meanwhile.  name is a plain file name (no '/': VMIE_EINVAL); display
 * names the destination in messages (NULL: name). */
int vmie_sink_open_at(int dirfd, const char *name, const char *display,
		      unsigned flags, struct vmie_sink **out,
		      struct vmie_err *err);
/* A sink into a growing memory buffer (tests, small metadata). */
int vmie_sink_open_mem(struct vmie_sink **out, struct vmie_err *err);
/* Contents of a memory sink (valid until free). */
const uint8_t *vmie_sink_mem_data(struct vmie_sink *k, size_t *len);
/* A window sink: writes at off are sent to parent at base+off.  commit and
 * abort do nothing (the parent owns publication).  Used by the OVA writer to
 * stream a VMDK into a tar member. */
int vmie_sink_open_window(struct vmie_sink *parent, uint64_t base,
			  struct vmie_sink **out, struct vmie_err *err);

int vmie_sink_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		     uint64_t off, struct vmie_err *err);
int vmie_sink_truncate(struct vmie_sink *k, uint64_t len, struct vmie_err *err);
/* True when k accepts pwrite from several threads at once (see ops). */
bool vmie_sink_parallel(struct vmie_sink *k);
/* Write len bytes of data at off, leaving out every piece-byte piece
 * (piece a power of two; pieces aligned to the sink's offsets, so they
 * match the file's pages whatever off is) that is all zeros: those stay
 * holes in a new file.  For writers whose format reads unwritten
 * ranges as zeros (raw, fixed VHD/VHDX, freshly allocated blocks). */
int vmie_sink_pwrite_nonzero(struct vmie_sink *k, const void *data,
			     size_t len, uint64_t off, size_t piece,
			     struct vmie_err *err);
/* VMIE_EUNSUPP if the sink cannot read back. */
int vmie_sink_pread(struct vmie_sink *k, void *buf, size_t len, uint64_t off,
		    struct vmie_err *err);
int vmie_sink_commit(struct vmie_sink *k, struct vmie_err *err);
void vmie_sink_abort(struct vmie_sink *k);
/* Free; a sink not committed is aborted first.  NULL is fine. */
void vmie_sink_free(struct vmie_sink *k);

/* Remove temp files of every open file sink (from a signal handler path:
 * async-signal-safe, uses unlink only). */
void vmie_sink_cleanup_all(void);

#endif
