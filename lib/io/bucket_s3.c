/*
 * Buckets in an S3-compatible object store (bucket.h), over the client of
 * s3.h: a bucket is an S3 bucket, a key an object key.  Sources read the
 * object in place (ranged GETs pinned to its ETag, so an OVA's disks are
 * read through tar-member windows without a download); sinks upload on
 * commit (multipart for big objects, aborted on failure); remove_temps
 * aborts the multipart uploads of a key that a dead process left.
 */
#include "bucket.h"
#include "io.h"
#include "s3.h"

#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

struct bs3 {
	struct vmie_s3 *s3;
	char *spool_dir;
};

static int bs3_open(struct vmie_buckets *b, const char *bucket,
		    const char *key, struct vmie_src **out,
		    struct vmie_err *err)
{
	struct bs3 *p = b->priv;
	return vmie_s3_src_open(p->s3, bucket, key, out, err);
}

static int bs3_head(struct vmie_buckets *b, const char *bucket,
		    const char *key, uint64_t *size, struct vmie_err *err)
{
	struct bs3 *p = b->priv;
	return vmie_s3_head(p->s3, bucket, key, size, NULL, err);
}

static int bs3_put(struct vmie_buckets *b, const char *bucket,
		   const char *key, bool overwrite, struct vmie_sink **out,
		   struct vmie_err *err)
{
	struct bs3 *p = b->priv;
	uint64_t size;
	int r = vmie_s3_head_bucket(p->s3, bucket, err);

	if (r)
		return r;
	if (!overwrite) {
		struct vmie_err e = { 0 };
		r = vmie_s3_head(p->s3, bucket, key, &size, NULL, &e);
		if (r == 0)
			return VMIE_ERR(err, VMIE_EEXIST, "s3://%s/%s exists "
					"already", bucket, key);
		if (r != VMIE_ENOENT) {
			*err = e;
			return r;
		}
	}
	return vmie_s3_sink_open(p->s3, bucket, key, p->spool_dir, out, err);
}

static int bs3_remove(struct vmie_buckets *b, const char *bucket,
		      const char *key, struct vmie_err *err)
{
	struct bs3 *p = b->priv;
	uint64_t size;
	int r = vmie_s3_head(p->s3, bucket, key, &size, NULL, err);
	return r ? r : vmie_s3_delete(p->s3, bucket, key, err);
}

static int bs3_remove_temps(struct vmie_buckets *b, const char *bucket,
			    const char *key, struct vmie_err *err)
{
	struct bs3 *p = b->priv;
	return vmie_s3_abort_uploads(p->s3, bucket, key, NULL, NULL, NULL,
				     err);
}

static void bs3_close(struct vmie_buckets *b)
{
	struct bs3 *p = b->priv;
	if (p) {
		vmie_s3_close(p->s3);
		free(p->spool_dir);
		free(p);
	}
	b->priv = NULL;
}

static const struct vmie_buckets_ops bs3_ops = {
	.kind = "s3",
	.open = bs3_open,
	.head = bs3_head,
	.put = bs3_put,
	.remove = bs3_remove,
	.remove_temps = bs3_remove_temps,
	.close = bs3_close,
};

int vmie_buckets_open_s3(const struct vmie_s3_config *c,
			 const char *spool_dir, struct vmie_buckets **out,
			 struct vmie_err *err)
{
	struct vmie_buckets *b = calloc(1, sizeof(*b));
	struct bs3 *p = calloc(1, sizeof(*p));
	int r;

	*out = NULL;
	if (!b || !p) {
		free(b);
		free(p);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	r = vmie_s3_open(c, &p->s3, err);
	if (r) {
		free(b);
		free(p);
		return r;
	}
	b->where = strdup(c->endpoint);
	p->spool_dir = spool_dir ? strdup(spool_dir) : NULL;
	b->ops = &bs3_ops;
	b->priv = p;
	if (!b->where || (spool_dir && !p->spool_dir)) {
		vmie_buckets_close(b);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	*out = b;
	return 0;
}

int vmie_buckets_open_url(const char *root, const char *s3_endpoint,
			  struct vmie_buckets **out, struct vmie_err *err)
{
	struct vmie_s3_config c;
	int r;

	if (strncmp(root, "s3://", 5))
		return vmie_buckets_open_dir(root, out, err);
	if (root[5])
		return VMIE_ERR(err, VMIE_EINVAL, "bucket root '%.200s': give "
				"s3:// alone (every bucket of the endpoint; "
				"the bucket is named by each request)", root);
	if ((r = vmie_s3_config_from_env(&c, s3_endpoint, err)))
		return r;
	r = vmie_buckets_open_s3(&c, getenv("VMIE_S3_SPOOL"), out, err);
	vmie_s3_config_free(&c);
	return r;
}
