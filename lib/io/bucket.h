/*
 * Buckets: where import sources are read from and exports written to.
 *
 * A bucket holds objects under keys, as S3 does.  The embedded default
 * (bucket_dir.c) is a local directory per bucket under a root:
 * bucket "b" is "<root>/b", key "p/x.vmdk" is "<root>/b/p/x.vmdk".  bucket_s3.c
 * keeps them in an S3-compatible store (libcurl + SigV4, lib/io/s3.h).
 *
 * A key never leaves its bucket: empty keys, absolute keys, keys with a
 * ".." or "." component, an empty component ("a//b"), a backslash or a
 * control character are refused (VMIE_EPERM naming the key), and so is
 * any symbolic link on the way that leads outside the bucket (resolved
 * with openat2 RESOLVE_BENEATH, or component by component where that is
 * missing).  Bucket names follow S3's rules (3-63 characters of a-z, 0-9,
 * '.', '-', starting and ending with a letter or digit, no "..").
 * Only regular files are objects (a FIFO, socket, device or directory is
 * refused as vmie_src_ops.open_sibling does).
 *
 * Writing goes through a sink (lib/io/io.h): the object appears under its
 * key only on vmie_sink_commit() (a temporary name beside it until then,
 * removed on abort), so readers never see half an export.
 */
#ifndef VMIE_IO_BUCKET_H
#define VMIE_IO_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct vmie_err;
struct vmie_src;
struct vmie_sink;
struct vmie_buckets;

struct vmie_buckets_ops {
	const char *kind;     /* "dir", "s3" */
	/* Open object key of bucket as a source (its open_sibling finds
	 * other objects of the same "directory" of keys: a VMDK's extents).
	 * VMIE_ENOENT naming bucket and key when there is none. */
	int (*open)(struct vmie_buckets *b, const char *bucket,
		    const char *key, struct vmie_src **out,
		    struct vmie_err *err);
	/* Size of an object, VMIE_ENOENT when absent. */
	int (*head)(struct vmie_buckets *b, const char *bucket,
		    const char *key, uint64_t *size, struct vmie_err *err);
	/* A sink that becomes object key on commit; overwrite says whether
	 * an existing object may be replaced (else VMIE_EEXIST at once).
	 * The bucket must exist (VMIE_ENOENT: "bucket b does not exist");
	 * intermediate "directories" of the key are created. */
	int (*put)(struct vmie_buckets *b, const char *bucket,
		   const char *key, bool overwrite, struct vmie_sink **out,
		   struct vmie_err *err);
	/* Remove an object (VMIE_ENOENT when absent). */
	int (*remove)(struct vmie_buckets *b, const char *bucket,
		      const char *key, struct vmie_err *err);
	/* Remove what a put() of key left when its process died before
	 * commit or abort (its temporary objects); 0 when there were none.
	 * Optional (stores whose uploads vanish by themselves). */
	int (*remove_temps)(struct vmie_buckets *b, const char *bucket,
			    const char *key, struct vmie_err *err);
	void (*close)(struct vmie_buckets *b);
};

struct vmie_buckets {
	const struct vmie_buckets_ops *ops;
	char *where;          /* for messages: the root directory or URL */
	void *priv;
};

/* Buckets as the directories under root (which must exist). */
int vmie_buckets_open_dir(const char *root, struct vmie_buckets **out,
			  struct vmie_err *err);

/* Buckets of an S3-compatible store (bucket_s3.c, lib/io/s3.h): c is
 * copied; uploads spool in spool_dir (NULL: $TMPDIR, else /var/tmp). */
struct vmie_s3_config;
int vmie_buckets_open_s3(const struct vmie_s3_config *c,
			 const char *spool_dir, struct vmie_buckets **out,
			 struct vmie_err *err);

/* root "s3://": vmie_buckets_open_s3 with the configuration of the
 * environment (vmie_s3_config_from_env: AWS_* variables, endpoint
 * s3_endpoint if not NULL); anything else: vmie_buckets_open_dir. */
int vmie_buckets_open_url(const char *root, const char *s3_endpoint,
			  struct vmie_buckets **out, struct vmie_err *err);

/* Key and bucket name checks (as above): 0 or VMIE_EPERM naming them. */
int vmie_bucket_check_name(const char *bucket, struct vmie_err *err);
int vmie_bucket_check_key(const char *key, struct vmie_err *err);

int vmie_buckets_open(struct vmie_buckets *b, const char *bucket,
		      const char *key, struct vmie_src **out,
		      struct vmie_err *err);
int vmie_buckets_head(struct vmie_buckets *b, const char *bucket,
		      const char *key, uint64_t *size, struct vmie_err *err);
int vmie_buckets_put(struct vmie_buckets *b, const char *bucket,
		     const char *key, bool overwrite, struct vmie_sink **out,
		     struct vmie_err *err);
int vmie_buckets_remove(struct vmie_buckets *b, const char *bucket,
			const char *key, struct vmie_err *err);
int vmie_buckets_remove_temps(struct vmie_buckets *b, const char *bucket,
			      const char *key, struct vmie_err *err);
/* NULL is fine. */
void vmie_buckets_close(struct vmie_buckets *b);

#endif
