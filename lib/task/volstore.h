/*
 * The image store: the volumes (one per snapshot) that imports write and
 * exports read.
 *
 * The embedded default (volstore_dir.c) keeps each volume as a sparse file
 * "<dir>/volumes/<snap-id>.raw" (or ".qcow2" when asked);
 * volstore_s3.c keeps them as objects of an S3-compatible bucket.  A volume is written through a sink under
 * a temporary name and published by vmie_sink_commit(), so a volume that
 * exists under its name is complete.  Temporary names carry the snapshot
 * id ("<dir>/volumes/.<snap-id>.<ext>.vmie-XXXXXX"), so that recovery can
 * tell whose they are: vmie_volstore_sweep() removes the leftovers of
 * tasks that are no longer running.
 */
#ifndef VMIE_TASK_VOLSTORE_H
#define VMIE_TASK_VOLSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmie_err;
struct vmie_src;
struct vmie_sink;
struct vmie_volstore;

/* Whether the task that writes snapshot snap_id is still running (so its
 * temporary volume must be kept); used by sweep. */
typedef bool (*vmie_volstore_live_fn)(const char *snap_id, void *ctx);

struct vmie_volstore_ops {
	const char *kind;     /* "dir", "s3" */
	/* A sink for a new volume of snapshot snap_id in format fmt ("raw"
	 * or "qcow2"); published on commit.  VMIE_EEXIST when the volume
	 * exists. */
	int (*create)(struct vmie_volstore *v, const char *snap_id,
		      const char *fmt, struct vmie_sink **out,
		      struct vmie_err *err);
	/* The published volume of snap_id as a source, and its format
	 * (fmt: 8 bytes); VMIE_ENOENT when there is none. */
	int (*open)(struct vmie_volstore *v, const char *snap_id,
		    struct vmie_src **out, char *fmt, struct vmie_err *err);
	/* Remove the volume of snap_id (published or not); 0 when there was
	 * none. */
	int (*remove)(struct vmie_volstore *v, const char *snap_id,
		      struct vmie_err *err);
	/* Remove temporary volumes whose snapshot is not live; *removed
	 * counts them (may be NULL). */
	int (*sweep)(struct vmie_volstore *v, vmie_volstore_live_fn live,
		     void *ctx, unsigned *removed, struct vmie_err *err);
	/* Every name in the store that is not a published volume or a
	 * temporary of a live snapshot, for consistency checks (tests): the
	 * count, and the first name in first (256 bytes, may be NULL). */
	int (*strays)(struct vmie_volstore *v, vmie_volstore_live_fn live,
		      void *ctx, unsigned *n, char *first,
		      struct vmie_err *err);
	void (*close)(struct vmie_volstore *v);
	/* Optional (NULL: VMIE_EUNSUPP): a read-only descriptor of the
	 * volume of snap_id as it is now, its temporary while a task writes
	 * it or else the published one, and its format (fmt: 8 bytes), for a
	 * tool that needs a file (the boot check hands it to QEMU).  The
	 * caller closes it. */
	int (*open_fd)(struct vmie_volstore *v, const char *snap_id, int *fd,
		       char *fmt, struct vmie_err *err);
	/* Optional (NULL: VMIE_EUNSUPP): the path of a file kept with the
	 * store beside the volumes (the boot check's serial logs), named
	 * name (a plain file name), its directory created. */
	int (*side_path)(struct vmie_volstore *v, const char *name, char *out,
			 size_t size, struct vmie_err *err);
};

struct vmie_volstore {
	const struct vmie_volstore_ops *ops;
	char *where;
	void *priv;
};

/* The directory store under "<dir>/volumes" (created when missing). */
int vmie_volstore_open_dir(const char *dir, struct vmie_volstore **out,
			   struct vmie_err *err);

/* The store in an S3-compatible bucket, url "s3://bucket/prefix"
 * (volstore_s3.c; c is copied); dir is the local store directory, for
 * the files kept beside the volumes.  Nothing is sent: the bucket is
 * not checked here (a server opens this at each thread's first request,
 * which must not need the object store: a describe answers while it is
 * down); vmie_volstore_open_url checks it, and a server's start does by
 * its recovery (the sweep lists the bucket's uploads). */
struct vmie_s3_config;
int vmie_volstore_open_s3(const char *dir, const char *url,
			  const struct vmie_s3_config *c,
			  struct vmie_volstore **out, struct vmie_err *err);
/* volumes NULL or "": vmie_volstore_open_dir(dir); "s3://bucket/prefix":
 * vmie_volstore_open_s3 with the configuration of the environment
 * (vmie_s3_config_from_env, endpoint s3_endpoint if not NULL), then a
 * HEAD of the bucket: the bucket must exist. */
int vmie_volstore_open_url(const char *dir, const char *volumes,
			   const char *s3_endpoint,
			   struct vmie_volstore **out, struct vmie_err *err);

int vmie_volstore_create(struct vmie_volstore *v, const char *snap_id,
			 const char *fmt, struct vmie_sink **out,
			 struct vmie_err *err);
int vmie_volstore_open(struct vmie_volstore *v, const char *snap_id,
		       struct vmie_src **out, char *fmt, struct vmie_err *err);
int vmie_volstore_remove(struct vmie_volstore *v, const char *snap_id,
			 struct vmie_err *err);
int vmie_volstore_sweep(struct vmie_volstore *v, vmie_volstore_live_fn live,
			void *ctx, unsigned *removed, struct vmie_err *err);
int vmie_volstore_strays(struct vmie_volstore *v, vmie_volstore_live_fn live,
			 void *ctx, unsigned *n, char *first,
			 struct vmie_err *err);
void vmie_volstore_close(struct vmie_volstore *v);
int vmie_volstore_open_fd(struct vmie_volstore *v, const char *snap_id,
			  int *fd, char *fmt, struct vmie_err *err);
int vmie_volstore_side_path(struct vmie_volstore *v, const char *name,
			    char *out, size_t size, struct vmie_err *err);

/* For implementations: whether the first len bytes of id are a snapshot
 * id (vmie_rec_id_valid: "snap-" and 17, or the old 8, lowercase hex
 * digits), and the same as an error naming the store and the id. */
bool vmie_volstore_snap_ok(const char *id, size_t len);
int vmie_volstore_check_snap(const struct vmie_volstore *v,
			     const char *snap_id, struct vmie_err *err);

#endif
