/*
 * A small S3 client over libcurl, signing its requests itself with AWS
 * Signature Version 4 (lib/core/sigv4_sign.h).
 *
 * Spec: Amazon S3 API Reference (GetObject with Range and If-Match,
 * HeadObject, HeadBucket, PutObject, DeleteObject, CreateMultipartUpload,
 * UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
 * ListMultipartUploads, ListObjectsV2) and "Authenticating Requests (AWS
 * Signature Version 4)" for S3: the canonical URI is the path as sent
 * (encoded once, '/' kept), every request carries x-amz-content-sha256
 * (the body's SHA-256, or UNSIGNED-PAYLOAD for a body too big to hash
 * twice) and signs host, x-amz-content-sha256, x-amz-date and, with
 * temporary credentials, x-amz-security-token.
 *
 * Addressing: path style ("http://host:port/bucket/key", what Ceph RGW and
 * MinIO expect by default) or virtual-hosted ("https://bucket.host/key",
 * AWS's default).  HTTPS verifies the peer with the system's CA store or
 * with ca_file.  A request that fails to connect, times out, or gets a 5xx
 * or a 429 is sent again (re-signed) after a backoff of 0.2 s doubling up
 * to 5 s, at most `retries` times.
 *
 * Thread safety: one client may be used from several threads at once
 * (curl handles are taken from a pool under a lock).
 */
#ifndef VMIE_IO_S3_H
#define VMIE_IO_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct vmie_err;
struct vmie_s3;

struct vmie_s3_config {
	char *endpoint;      /* "https://s3.us-east-1.amazonaws.com" */
	char *region;        /* "us-east-1" */
	char *access_key;
	char *secret;
	char *token;         /* session token, or NULL */
	char *ca_file;       /* NULL: the system's CA store */
	bool path_style;     /* false: virtual-hosted */
	unsigned retries;    /* 0: the default, 5 */
};

/* Fill c from the environment, as the AWS CLI reads it: endpoint (if not
 * NULL, else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS's own for the
 * region), AWS_REGION / AWS_DEFAULT_REGION (else us-east-1),
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_CA_BUNDLE; VMIE_S3_ADDRESSING=path|virtual (default: path for an
 * endpoint that is not amazonaws.com, virtual for AWS);
 * VMIE_S3_RETRIES.  VMIE_EINVAL naming what is missing. */
int vmie_s3_config_from_env(struct vmie_s3_config *c, const char *endpoint,
			    struct vmie_err *err);
void vmie_s3_config_free(struct vmie_s3_config *c);

/* A client (copies what it needs from c). */
int vmie_s3_open(const struct vmie_s3_config *c, struct vmie_s3 **out,
		 struct vmie_err *err);
void vmie_s3_close(struct vmie_s3 *s);
/* "http://127.0.0.1:7480" (for messages). */
const char *vmie_s3_endpoint(const struct vmie_s3 *s);

struct vmie_s3_param {
	const char *name;
	const char *value;   /* "" for "?uploads" */
};

struct vmie_s3_req {
	const char *method;          /* GET, HEAD, PUT, POST, DELETE */
	const char *bucket;          /* NULL: the service */
	const char *key;             /* NULL: the bucket */
	const struct vmie_s3_param *params;
	size_t nparams;
	const void *body;            /* PUT, POST */
	size_t body_len;
	bool unsigned_payload;       /* don't hash the body */
	/* GET: Range bytes=range_off..range_off+range_len-1 (len 0: none) */
	uint64_t range_off, range_len;
	const char *if_match;        /* an ETag (with its quotes), or NULL */
	/* GET with a range: the body goes here (exactly range_len bytes
	 * expected); else it is collected in resp->body (up to 16 MiB). */
	void *out;
};

struct vmie_s3_resp {
	long status;                 /* HTTP status */
	char etag[130];
	uint64_t content_length;
	bool have_length;
	char *body;                  /* free() it; NUL-terminated */
	size_t body_len;
	char code[64];               /* an error's <Code>, or "" */
	char message[256];           /* an error's <Message>, or "" */
};

/* A request signed (for tests: tests/s3 compares with botocore). */
struct vmie_s3_signed {
	char *url;               /* what is sent */
	char *host;              /* the Host header */
	char amz_date[17];       /* x-amz-date */
	char payload[65];        /* x-amz-content-sha256 */
	char authorization[1024];
};
/* Sign req as made at now: 0, or -1 (out of memory, too long). */
int vmie_s3_sign(struct vmie_s3 *s, const struct vmie_s3_req *req,
		 time_t now, struct vmie_s3_signed *out);
void vmie_s3_signed_free(struct vmie_s3_signed *o);

/* Send a request (with retries).  0 with resp filled whatever the HTTP
 * status (callers decide); VMIE_EIO naming the request when it could
 * not be sent at all after the retries. */
int vmie_s3_request(struct vmie_s3 *s, const struct vmie_s3_req *req,
		    struct vmie_s3_resp *resp, struct vmie_err *err);
void vmie_s3_resp_free(struct vmie_s3_resp *resp);

/* An error for a response that is not the expected success: the code by
 * status (404: VMIE_ENOENT, 403: VMIE_EPERM, 412: VMIE_ECORRUPT...), the
 * message naming what (e.g. "s3://b/k") and the server's Code and
 * Message, with a hint for the common ones (a wrong secret, a missing
 * bucket). */
int vmie_s3_fail(struct vmie_s3 *s, const char *op, const char *what,
		 const struct vmie_s3_resp *resp, struct vmie_err *err);

/* ---- objects (s3_object.c) ---- */

struct vmie_src;
struct vmie_sink;

/* Take a reference on the client (vmie_s3_close drops one). */
void vmie_s3_ref(struct vmie_s3 *s);

/* Size and ETag (130 bytes, may be NULL) of an object: VMIE_ENOENT
 * naming it when absent ("bucket b does not exist" when the bucket is
 * missing). */
int vmie_s3_head(struct vmie_s3 *s, const char *bucket, const char *key,
		 uint64_t *size, char *etag, struct vmie_err *err);
/* 0 when the bucket exists, VMIE_ENOENT "bucket b does not exist". */
int vmie_s3_head_bucket(struct vmie_s3 *s, const char *bucket,
			struct vmie_err *err);
/* Delete an object (0 also when it was absent). */
int vmie_s3_delete(struct vmie_s3 *s, const char *bucket, const char *key,
		   struct vmie_err *err);

/* The object as a byte source: ranged GETs of 4 MiB blocks kept in a
 * small cache, read ahead by background threads when reads go forward;
 * every GET carries If-Match with the ETag seen at open, so a key
 * replaced while it is read fails the read (VMIE_ECORRUPT naming the
 * key) instead of mixing two objects.  open_sibling opens another key of
 * the same "directory". */
int vmie_s3_src_open(struct vmie_s3 *s, const char *bucket, const char *key,
		     struct vmie_src **out, struct vmie_err *err);

/* A sink that becomes the object on commit.  Writes land in an unlinked
 * spool file in spool_dir (NULL: $TMPDIR, else /var/tmp), since writers
 * may write anywhere and read back; commit uploads it with one PUT, or
 * as a multipart upload (parts of at least 8 MiB, sized so that 10,000
 * parts cover the object, sent by 4 threads) completed only when every
 * part is in: the object appears whole or not at all.  A failed upload
 * is aborted (AbortMultipartUpload); if even that fails (the server is
 * gone), vmie_s3_abort_uploads finds it later. */
int vmie_s3_sink_open(struct vmie_s3 *s, const char *bucket,
		      const char *key, const char *spool_dir,
		      struct vmie_sink **out, struct vmie_err *err);

/* The spool file of a sink made by vmie_s3_sink_open (a duplicate the
 * caller closes; -1 with errno when k is not one): what has been
 * written so far, for a tool that needs a file (the boot check). */
int vmie_s3_sink_spool_fd(struct vmie_sink *k);

/* Call fn(ctx, key) when sink k is freed (committed or not), so that
 * the owner of a duplicate of its spool can let it go. */
void vmie_s3_sink_on_free(struct vmie_sink *k,
			  void (*fn)(void *ctx, const char *key), void *ctx);

/* Parse "s3://bucket/prefix" (prefix may be empty): 0, or VMIE_EINVAL
 * naming url.  *bucket and *prefix are malloc'ed (prefix without
 * leading or trailing '/'). */
int vmie_s3_parse_url(const char *url, char **bucket, char **prefix,
		      struct vmie_err *err);

/* Abort the multipart uploads in progress under prefix whose key keep()
 * refuses (keep NULL: every one whose key is exactly prefix); *n counts
 * them (may be NULL). */
typedef bool (*vmie_s3_keep_fn)(const char *key, void *ctx);
int vmie_s3_abort_uploads(struct vmie_s3 *s, const char *bucket,
			  const char *prefix, vmie_s3_keep_fn keep, void *ctx,
			  unsigned *n, struct vmie_err *err);
/* Call fn for each object key under prefix (ListObjectsV2, paged);
 * fn returning non-zero stops the walk with that value. */
int vmie_s3_list(struct vmie_s3 *s, const char *bucket, const char *prefix,
		 int (*fn)(const char *key, uint64_t size, void *ctx),
		 void *ctx, struct vmie_err *err);

#endif
