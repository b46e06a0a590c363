/*
 * Verifying AWS Signature Version 4 (the request signing every AWS client
 * uses), for the server of the EC2 API.
 *
 * Spec: AWS General Reference, "Signature Version 4 signing process"
 * (create a canonical request, a string to sign, the signing key, the
 * signature) and "Authenticating requests: using query parameters"
 * (presigned URLs).  Both forms are verified:
 *
 *   header form     Authorization: AWS4-HMAC-SHA256 Credential=AKID/
 *                   20261122/us-east-1/ec2/aws4_request,
 *                   SignedHeaders=content-type;host;x-amz-date,
 *                   Signature=<64 hex>
 *                   with X-Amz-Date (or Date) and, for temporary
 *                   credentials, X-Amz-Security-Token
 *   presigned form  X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 *                   X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature
 *                   (and X-Amz-Security-Token) in the query string
 *
 * The canonical request follows the spec as botocore builds it: the path
 * normalised (dot segments removed, repeated slashes collapsed) and
 * URI-encoded once more; the query parameters percent-decoded ('+' as a
 * space, as botocore sends it), encoded
 * again (RFC 3986 unreserved characters kept) and sorted by name then
 * value, repeated names kept; each signed header's values trimmed, inner
 * runs of spaces collapsed, repeated headers joined with ','; the payload
 * hash the hex SHA-256 of the body.
 *
 * A refusal is an error with an EC2 code in err->api and a message in the
 * style of AWS's; neither ever holds a secret, a session token or the
 * signature we computed:
 *   IncompleteSignature    a part is missing or malformed (no
 *                          Authorization, no Credential, a credential
 *                          scope that is not 5 parts, SignedHeaders
 *                          without host or x-amz-date/date...)
 *   AuthFailure            unknown access key; session token wrong or
 *                          missing
 *   SignatureDoesNotMatch  the signature differs; the scope names another
 *                          region, service, terminator or day
 *   RequestExpired         X-Amz-Date more than max_skew from now; a
 *                          presigned request past its X-Amz-Expires
 * Signatures are compared in constant time (CRYPTO_memcmp); the secret is
 * wiped from memory once the signing key is derived.
 */
#ifndef VMIE_API_SIGV4_H
#define VMIE_API_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct vmie_err;

/* Limits on what a request may carry (larger: IncompleteSignature). */
#define VMIE_SIGV4_MAX_HEADERS     128
#define VMIE_SIGV4_MAX_SIGNED      64       /* names in SignedHeaders */
#define VMIE_SIGV4_MAX_QUERY_PARAMS 4096
#define VMIE_SIGV4_MAX_LINE        (64 * 1024)  /* one header, the query */
#define VMIE_SIGV4_MAX_EXPIRES     604800   /* presigned: 7 days, as AWS */
#define VMIE_SIGV4_DEFAULT_SKEW    900      /* 15 minutes */

/* Sizes of the credential parts (with the terminating NUL). */
#define VMIE_SIGV4_KEY_MAX     129   /* access key id */
#define VMIE_SIGV4_SECRET_MAX  257
#define VMIE_SIGV4_TOKEN_MAX   4097  /* session token */
#define VMIE_SIGV4_REGION_MAX  64

/* A header as received (name in any case, value untrimmed). */
struct vmie_sigv4_header {
	const char *name;
	const char *value;
};

/* What a lookup answers for an access key id. */
struct vmie_sigv4_secret {
	char secret[VMIE_SIGV4_SECRET_MAX];
	/* Non-empty: the key is a temporary credential and every request
	 * must carry this X-Amz-Security-Token.  Empty: a request carrying a
	 * token is refused. */
	char session_token[VMIE_SIGV4_TOKEN_MAX];
};

/* Fill *out for access_key: 0, or VMIE_ENOENT when the key is unknown
 * (any other negative code: AuthFailure too).  The verifier wipes *out
 * after use. */
typedef int (*vmie_sigv4_lookup_fn)(void *ctx, const char *access_key,
				    struct vmie_sigv4_secret *out);

struct vmie_sigv4_config {
	const char *const *regions;   /* accepted regions */
	size_t nregions;
	const char *service;          /* "ec2" */
	vmie_sigv4_lookup_fn lookup;
	void *lookup_ctx;
	unsigned max_skew;            /* seconds; 0: 15 minutes */
};

struct vmie_sigv4_request {
	const char *method;           /* "POST" */
	const char *path;             /* raw, as on the request line: "/" */
	const char *query;            /* raw, without '?'; NULL or "" */
	const struct vmie_sigv4_header *headers;
	size_t nheaders;
	const void *body;             /* may be NULL when body_len is 0 */
	size_t body_len;
	/* Instead of the body: its SHA-256 in lower-case hex, or
	 * "UNSIGNED-PAYLOAD" (accepted for the presigned form only).  NULL:
	 * hash the body. */
	const char *payload_hash;
	time_t now;
};

struct vmie_sigv4_result {
	char access_key[VMIE_SIGV4_KEY_MAX];
	char region[VMIE_SIGV4_REGION_MAX];
	bool presigned;
	bool session_token;           /* the request carried a token */
	time_t date;                  /* the request's X-Amz-Date */
};

/* Verify a request.  0 and *res filled when its signature is good;
 * VMIE_EPERM (bad signature, unknown key...) or VMIE_EINVAL (malformed)
 * with the EC2 code in err->api and the message in err->msg. */
int vmie_sigv4_verify(const struct vmie_sigv4_config *cfg,
		      const struct vmie_sigv4_request *req,
		      struct vmie_sigv4_result *res, struct vmie_err *err);

/* Lower-case hex SHA-256 of data (out: 65 bytes), for callers that hash a
 * body as it streams in. */
void vmie_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
