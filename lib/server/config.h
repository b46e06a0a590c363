/*
 * The configuration of `vmie serve` (docs/serve.md): one JSON file with
 * the listen addresses, the store and the buckets, the account, regions,
 * users with their access keys and IAM policies, the service roles
 * (vmimport), the rules policy imports are judged by, the workers, the
 * limits, TLS and the log format.
 *
 * The file holds secret access keys: it is refused when others may read
 * or write it (mode & 0006), as ssh refuses a private key, and a first
 * run creates it with mode 0600 (vmie_srvcfg_generate).  Nothing here
 * ever writes a secret into an error message.
 *
 * Policies are AWS's IAM JSON, inline ("policies": [ {...} ]) or in files
 * ("policy_files": [ "path" ], relative to the configuration's
 * directory), parsed by lib/api/iam.h when the file is loaded, so that a
 * policy vmie cannot read as AWS would is an error at start-up, never a
 * silently looser policy at run time.
 */
#ifndef VMIE_SERVER_CONFIG_H
#define VMIE_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/service.h"
#include "api/sigv4.h"

struct vmie_err;
struct vmie_iam_policy;

#define VMIE_SRV_DEFAULT_LISTEN   "127.0.0.1:8773"
#define VMIE_SRV_DEFAULT_REGION   "us-east-1"
#define VMIE_SRV_MAX_LISTEN       8
#define VMIE_SRV_MAX_REGIONS      32
#define VMIE_SRV_MAX_WORKERS      64
#define VMIE_SRV_MAX_CONFIG       (4 * 1024 * 1024)   /* bytes of the file */

enum vmie_srv_log_format {
	VMIE_SRV_LOG_KV = 0,       /* time=... request_id=... (logfmt) */
	VMIE_SRV_LOG_JSON,         /* one JSON object a line */
};

struct vmie_srv_key {
	char *id;                  /* access key id (AKIA...) */
	char *secret;              /* wiped on free */
	char *session_token;       /* NULL: a long-term key */
};

struct vmie_srv_user {
	struct vmie_api_principal p;   /* name, ARN, parsed policies */
	char *userid;              /* aws:userid (AIDA...) */
	struct vmie_srv_key *keys;
	size_t n_keys;
};

struct vmie_srv_limits {
	size_t max_body;           /* bytes of a request body (1 MiB) */
	unsigned header_timeout;   /* s from connection to complete headers */
	unsigned request_timeout;  /* s from connection to complete body */
	unsigned idle_timeout;     /* s without a byte on a connection */
	unsigned max_connections;  /* open at once, over every address */
	unsigned max_per_ip;       /* open at once from one address, 0 = any */
	unsigned queue_length;     /* tasks waiting for a worker */
	size_t connection_memory;  /* per connection (headers + buffers) */
};

struct vmie_srvcfg {
	char *path;                /* the file it was read from */
	char *listen[VMIE_SRV_MAX_LISTEN];
	size_t n_listen;
	char *store;
	char *bucket_root;         /* NULL: no buckets */
	char *records;             /* "records": a PostgreSQL URL for the task
	                              and image records, NULL: the SQLite
	                              file of store */
	/* "s3" (docs/s3.md): the S3-compatible store, NULL: none.  Its
	 * buckets replace bucket_root when s3_buckets; the volumes are
	 * objects under s3_volumes ("s3://bucket/prefix") when set. */
	struct vmie_s3_config *s3;
	bool s3_buckets;
	char *s3_volumes;
	char *regions[VMIE_SRV_MAX_REGIONS];
	size_t n_regions;
	char account[13];
	char *policy;              /* vmie rules policy, NULL: default */
	unsigned workers;
	unsigned http_threads;
	unsigned clock_skew;       /* seconds */
	struct vmie_srv_limits limits;
	char *tls_cert;            /* PEM file paths, or NULL */
	char *tls_key;
	enum vmie_srv_log_format log_format;
	bool metrics_public;       /* /metrics without a signature */
	struct vmie_srv_user *users;
	size_t n_users;
	struct vmie_api_principal *roles;
	size_t n_roles;
	/* every parsed policy, owned here (the principals point into it) */
	struct vmie_iam_policy **policies;
	size_t n_policies;
};

/* Read and check a configuration file.  0 and *out, or VMIE_EPERM (the
 * file is readable or writable by others), VMIE_ENOENT (missing),
 * VMIE_EINVAL (a member wrong: the message names it, never a secret). */
int vmie_srvcfg_load(const char *path, struct vmie_srvcfg **out,
		     struct vmie_err *err);
void vmie_srvcfg_free(struct vmie_srvcfg *cfg);

/* What a first run wrote, to show the operator once. */
struct vmie_srvcfg_created {
	char account[13];
	char user[64];
	char key_id[21];
	char secret[41];
	char listen[128];
	char region[32];
};

/* Write a fresh configuration to path (mode 0600, parent directories
 * 0700, never over an existing file: VMIE_EEXIST): a new account, a user
 * "admin" allowed everything with a new access key, a role "vmimport"
 * allowed to read and write every bucket, the store and bucket root
 * given (NULL: the defaults for this user, see docs/serve.md), listen
 * (NULL: 127.0.0.1:8773).  *made receives what to show. */
int vmie_srvcfg_generate(const char *path, const char *store,
			 const char *bucket_root, const char *listen,
			 struct vmie_srvcfg_created *made,
			 struct vmie_err *err);

/* The default configuration path: /etc/vmie/serve.json for root,
 * $XDG_CONFIG_HOME/vmie/serve.json (~/.config/vmie/serve.json) else. */
void vmie_srvcfg_default_path(char *out, size_t size);
/* The default store and bucket root of a generated configuration. */
void vmie_srvcfg_default_store(char *out, size_t size);

/* SigV4 key lookup over the configured users (ctx: the vmie_srvcfg). */
int vmie_srvcfg_lookup(void *ctx, const char *access_key,
		       struct vmie_sigv4_secret *out);
/* The user owning an access key, or NULL. */
const struct vmie_srv_user *vmie_srvcfg_user_of(const struct vmie_srvcfg *cfg,
						const char *access_key);

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT"/"PORT" (every address) into
 * a socket address (port 0: any free port). */
struct sockaddr_storage;
int vmie_srv_parse_addr(const char *s, struct sockaddr_storage *ss,
			unsigned *len, struct vmie_err *err);

#endif
