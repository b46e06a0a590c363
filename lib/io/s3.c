/*
 * The S3 client (s3.h): URLs, SigV4 signing, libcurl transfers, retries,
 * error bodies.
 *
 * Spec: Amazon S3 API Reference; "Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk (AWS
 * Signature Version 4)" (S3's canonical request: the URI encoded once,
 * x-amz-content-sha256 always present and signed).
 */
#include "s3.h"
#include "s3_xml.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "../core/err.h"
#include "../core/sigv4_sign.h"
#include "../core/util.h"

#define S3_POOL_MAX 16
#define S3_BODY_MAX (16u << 20)
#define S3_DEFAULT_RETRIES 5

struct vmie_s3 {
	char *scheme;           /* "http" / "https" */
	char *host;             /* "127.0.0.1:7480" as in the Host header */
	char *base_path;        /* endpoint's path without trailing '/' */
	char *endpoint;
	char *region, *access_key, *secret, *token, *ca_file;
	bool path_style;
	unsigned retries;
	int refs;
	pthread_mutex_t lock;
	CURL *pool[S3_POOL_MAX];
	size_t npool;
};

static pthread_once_t s3_once = PTHREAD_ONCE_INIT;
static void s3_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *s3_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static const char *s3_getenv(const char *a, const char *b)
{
	const char *v = getenv(a);
	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? v : NULL;
}

void vmie_s3_config_free(struct vmie_s3_config *c)
{
	free(c->endpoint);
	free(c->region);
	free(c->access_key);
	if (c->secret) {
		OPENSSL_cleanse(c->secret, strlen(c->secret));
		free(c->secret);
	}
	free(c->token);
	free(c->ca_file);
	memset(c, 0, sizeof(*c));
}

int vmie_s3_config_from_env(struct vmie_s3_config *c, const char *endpoint,
			    struct vmie_err *err)
{
	const char *ep = endpoint && *endpoint ? endpoint :
		s3_getenv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
	const char *region = s3_getenv("AWS_REGION", "AWS_DEFAULT_REGION");
	const char *ak = s3_getenv("AWS_ACCESS_KEY_ID", NULL);
	const char *sk = s3_getenv("AWS_SECRET_ACCESS_KEY", NULL);
	const char *addr = s3_getenv("VMIE_S3_ADDRESSING", NULL);
	const char *rt = s3_getenv("VMIE_S3_RETRIES", NULL);
	char def[256];

	memset(c, 0, sizeof(*c));
	if (!ak || !sk)
		return VMIE_ERR(err, VMIE_EINVAL, "s3: no credentials: set "
				"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
				"(and AWS_SESSION_TOKEN for temporary ones)");
	if (!region)
		region = "us-east-1";
	if (!ep) {
		snprintf(def, sizeof(def), "https://s3.%s.amazonaws.com",
			 region);
		ep = def;
	}
	c->endpoint = s3_dup(ep);
	c->region = s3_dup(region);
	c->access_key = s3_dup(ak);
	c->secret = s3_dup(sk);
	c->token = s3_dup(s3_getenv("AWS_SESSION_TOKEN", NULL));
	c->ca_file = s3_dup(s3_getenv("AWS_CA_BUNDLE", NULL));
	if (addr && strcmp(addr, "path") && strcmp(addr, "virtual")) {
		vmie_s3_config_free(c);
		return VMIE_ERR(err, VMIE_EINVAL, "s3: VMIE_S3_ADDRESSING is "
				"'%.20s': it must be 'path' or 'virtual'",
				addr);
	}
	c->path_style = addr ? strcmp(addr, "path") == 0 :
		!strstr(ep, "amazonaws.com");
	c->retries = rt ? (unsigned)atoi(rt) : 0;
	if (!c->endpoint || !c->region || !c->access_key || !c->secret) {
		vmie_s3_config_free(c);
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	}
	return 0;
}

const char *vmie_s3_endpoint(const struct vmie_s3 *s)
{
	return s->endpoint;
}

int vmie_s3_open(const struct vmie_s3_config *c, struct vmie_s3 **out,
		 struct vmie_err *err)
{
	struct vmie_s3 *s;
	const char *ep = c->endpoint, *p;

	*out = NULL;
	pthread_once(&s3_once, s3_global_init);
	if (!ep || !c->region || !c->access_key || !c->secret)
		return VMIE_ERR(err, VMIE_EINVAL, "s3: the endpoint, region, "
				"access key id and secret are all needed");
	p = strstr(ep, "://");
	if (!p || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)))
		return VMIE_ERR(err, VMIE_EINVAL, "s3: endpoint '%.200s' is "
				"not an http:// or https:// URL", ep);
	s = calloc(1, sizeof(*s));
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	s->scheme = strndup(ep, (size_t)(p - ep));
	p += 3;
	size_t hl = strcspn(p, "/?#");
	s->host = strndup(p, hl);
	const char *path = p + hl;
	size_t pl = strcspn(path, "?#");
	while (pl && path[pl - 1] == '/')
		pl--;
	s->base_path = strndup(path, pl);
	s->endpoint = s3_dup(ep);
	s->region = s3_dup(c->region);
	s->access_key = s3_dup(c->access_key);
	s->secret = s3_dup(c->secret);
	s->token = s3_dup(c->token);
	s->ca_file = s3_dup(c->ca_file);
	s->path_style = c->path_style;
	s->retries = c->retries ? c->retries : S3_DEFAULT_RETRIES;
	s->refs = 1;
	pthread_mutex_init(&s->lock, NULL);
	if (!s->scheme || !s->host || !s->base_path || !s->endpoint ||
	    !s->region || !s->access_key || !s->secret || !*s->host ||
	    (c->token && !s->token) || (c->ca_file && !s->ca_file)) {
		vmie_s3_close(s);
		return VMIE_ERR(err, VMIE_EINVAL, "s3: endpoint '%.200s' has no "
				"host (or out of memory)", ep);
	}
	*out = s;
	return 0;
}

void vmie_s3_ref(struct vmie_s3 *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void vmie_s3_close(struct vmie_s3 *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->lock);
	free(s->scheme);
	free(s->host);
	free(s->base_path);
	free(s->endpoint);
	free(s->region);
	free(s->access_key);
	if (s->secret) {
		OPENSSL_cleanse(s->secret, strlen(s->secret));
		free(s->secret);
	}
	free(s->token);
	free(s->ca_file);
	free(s);
}

static CURL *s3_get_handle(struct vmie_s3 *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->npool)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void s3_put_handle(struct vmie_s3 *s, CURL *h)
{
	pthread_mutex_lock(&s->lock);
	if (s->npool < S3_POOL_MAX) {
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- one transfer ---- */

struct s3_xfer {
	const struct vmie_s3_req *req;
	struct vmie_s3_resp *resp;
	size_t got;               /* bytes into req->out */
	bool overflow;
	const char *up;           /* upload body */
	size_t up_len, up_off;
};

static size_t s3_write_cb(char *data, size_t sz, size_t n, void *ctx)
{
	struct s3_xfer *x = ctx;
	size_t len = sz * n;

	if (x->req->out && x->resp->status >= 200 && x->resp->status < 300) {
		if (x->got + len > x->req->range_len) {
			x->overflow = true;
			return 0;
		}
		memcpy((char *)x->req->out + x->got, data, len);
		x->got += len;
		return len;
	}
	if (x->resp->body_len + len > S3_BODY_MAX) {
		x->overflow = true;
		return 0;
	}
	char *nb = realloc(x->resp->body, x->resp->body_len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + x->resp->body_len, data, len);
	x->resp->body = nb;
	x->resp->body_len += len;
	nb[x->resp->body_len] = '\0';
	return len;
}

static size_t s3_header_cb(char *data, size_t sz, size_t n, void *ctx)
{
	struct s3_xfer *x = ctx;
	size_t len = sz * n;

	if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue, a redirect) */
		long st = 0;
		const char *sp = memchr(data, ' ', len);
		if (sp)
			st = strtol(sp + 1, NULL, 10);
		x->resp->status = st;
		x->resp->etag[0] = '\0';
		x->resp->have_length = false;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon)
		return len;
	size_t nl = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
		      v[vl - 1] == ' '))
		vl--;
	if (nl == 4 && strncasecmp(data, "etag", 4) == 0 &&
	    vl < sizeof(x->resp->etag)) {
		memcpy(x->resp->etag, v, vl);
		x->resp->etag[vl] = '\0';
	} else if (nl == 14 && strncasecmp(data, "content-length", 14) == 0) {
		char tmp[32];
		if (vl < sizeof(tmp)) {
			memcpy(tmp, v, vl);
			tmp[vl] = '\0';
			x->resp->content_length = strtoull(tmp, NULL, 10);
			x->resp->have_length = true;
		}
	}
	return len;
}

static size_t s3_read_cb(char *buf, size_t sz, size_t n, void *ctx)
{
	struct s3_xfer *x = ctx;
	size_t len = sz * n, left = x->up_len - x->up_off;

	if (len > left)
		len = left;
	memcpy(buf, x->up + x->up_off, len);
	x->up_off += len;
	return len;
}

static int s3_param_cmp(const void *a, const void *b)
{
	const struct vmie_s3_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* Grow-only string builder (plain: the pieces are small). */
struct s3_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct s3_buf *b, const char *s, size_t len)
{
	if (b->failed)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t nc = (b->cap ? b->cap * 2 : 256);
		while (nc < b->len + len + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void sb_puts(struct s3_buf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_enc(struct s3_buf *b, const char *s, bool keep_slash)
{
	size_t len = strlen(s);
	char *tmp = malloc(3 * len + 1);
	if (!tmp) {
		b->failed = true;
		return;
	}
	size_t n = vmie_sigv4_uri_encode(tmp, s, len, keep_slash);
	sb_add(b, tmp, n);
	free(tmp);
}

int vmie_s3_sign(struct vmie_s3 *s, const struct vmie_s3_req *req,
		 time_t now, struct vmie_s3_signed *o)
{
	struct s3_buf host = { 0 }, path = { 0 }, query = { 0 }, url = { 0 },
		cr = { 0 };
	char *amz_date = o->amz_date, *payload = o->payload, sig[65];
	unsigned char key[32];
	int rc = -1;
	bool vhost = !s->path_style && req->bucket;

	memset(o, 0, sizeof(*o));

	/* host and path */
	if (vhost) {
		sb_puts(&host, req->bucket);
		sb_puts(&host, ".");
	}
	sb_puts(&host, s->host);
	sb_puts(&path, s->base_path);
	sb_puts(&path, "/");
	if (req->bucket && !vhost) {
		sb_enc(&path, req->bucket, false);
		if (req->key)
			sb_puts(&path, "/");
	}
	if (req->key)
		sb_enc(&path, req->key, true);
	/* query, sorted by encoded name then value */
	if (req->nparams) {
		struct vmie_s3_param *ps = calloc(req->nparams, sizeof(*ps));
		if (!ps)
			goto out;
		for (size_t i = 0; i < req->nparams; i++) {
			struct s3_buf a = { 0 }, v = { 0 };
			sb_enc(&a, req->params[i].name, false);
			sb_enc(&v, req->params[i].value, false);
			ps[i].name = a.p ? a.p : strdup("");
			ps[i].value = v.p ? v.p : strdup("");
		}
		qsort(ps, req->nparams, sizeof(*ps), s3_param_cmp);
		for (size_t i = 0; i < req->nparams; i++) {
			if (i)
				sb_puts(&query, "&");
			sb_puts(&query, ps[i].name);
			sb_puts(&query, "=");
			sb_puts(&query, ps[i].value);
			free((char *)ps[i].name);
			free((char *)ps[i].value);
		}
		free(ps);
	}
	sb_puts(&url, s->scheme);
	sb_puts(&url, "://");
	sb_puts(&url, host.p);
	sb_puts(&url, path.p);
	if (query.len) {
		sb_puts(&url, "?");
		sb_puts(&url, query.p);
	}

	/* signature */
	vmie_sigv4_amz_date(now, amz_date);
	if (req->unsigned_payload)
		vmie_strlcpy(payload, VMIE_SIGV4_UNSIGNED, sizeof(payload));
	else
		vmie_sigv4_hash_hex(req->body ? req->body : "",
				    req->body ? req->body_len : 0, payload);
	sb_puts(&cr, req->method);
	sb_puts(&cr, "\n");
	sb_puts(&cr, path.p);
	sb_puts(&cr, "\n");
	sb_puts(&cr, query.p ? query.p : "");
	sb_puts(&cr, "\nhost:");
	sb_puts(&cr, host.p);
	sb_puts(&cr, "\nx-amz-content-sha256:");
	sb_puts(&cr, payload);
	sb_puts(&cr, "\nx-amz-date:");
	sb_puts(&cr, amz_date);
	sb_puts(&cr, "\n");
	if (s->token) {
		sb_puts(&cr, "x-amz-security-token:");
		sb_puts(&cr, s->token);
		sb_puts(&cr, "\n");
	}
	const char *signed_headers = s->token ?
		"host;x-amz-content-sha256;x-amz-date;x-amz-security-token" :
		"host;x-amz-content-sha256;x-amz-date";
	sb_puts(&cr, "\n");
	sb_puts(&cr, signed_headers);
	sb_puts(&cr, "\n");
	sb_puts(&cr, payload);
	if (host.failed || path.failed || query.failed || url.failed ||
	    cr.failed)
		goto out;
	char day[9];
	memcpy(day, amz_date, 8);
	day[8] = '\0';
	if (vmie_sigv4_signing_key(s->secret, day, s->region, "s3", key) ||
	    vmie_sigv4_signature(key, amz_date, s->region, "s3", cr.p, cr.len,
				 sig)) {
		OPENSSL_cleanse(key, sizeof(key));
		goto out;
	}
	OPENSSL_cleanse(key, sizeof(key));
	snprintf(o->authorization, sizeof(o->authorization),
		 VMIE_SIGV4_ALGORITHM " Credential=%s/%s/%s/s3/"
		 VMIE_SIGV4_TERMINATOR ", SignedHeaders=%s, Signature=%s",
		 s->access_key, day, s->region, signed_headers, sig);
	o->url = url.p;
	o->host = host.p;
	url.p = host.p = NULL;
	rc = 0;
out:
	free(host.p);
	free(path.p);
	free(query.p);
	free(url.p);
	free(cr.p);
	return rc;
}

void vmie_s3_signed_free(struct vmie_s3_signed *o)
{
	free(o->url);
	free(o->host);
	o->url = o->host = NULL;
}

/* One attempt: sign, send.  Returns the CURLcode. */
static CURLcode s3_attempt(struct vmie_s3 *s, CURL *h,
			   const struct vmie_s3_req *req,
			   struct vmie_s3_resp *resp, char *errbuf)
{
	struct s3_buf tmp = { 0 };
	struct curl_slist *hdrs = NULL;
	struct s3_xfer x = { .req = req, .resp = resp };
	struct vmie_s3_signed sg;
	char line[1200];
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	if (vmie_s3_sign(s, req, time(NULL), &sg))
		goto out;
	/* headers */
	sb_puts(&tmp, "Host: ");
	sb_puts(&tmp, sg.host);
	if (tmp.failed)
		goto out;
	hdrs = curl_slist_append(hdrs, tmp.p);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sg.payload);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "x-amz-date: %s", sg.amz_date);
	hdrs = curl_slist_append(hdrs, line);
	if (s->token) {
		struct s3_buf t = { 0 };
		sb_puts(&t, "x-amz-security-token: ");
		sb_puts(&t, s->token);
		if (t.failed)
			goto out;
		hdrs = curl_slist_append(hdrs, t.p);
		free(t.p);
	}
	snprintf(line, sizeof(line), "Authorization: %s", sg.authorization);
	hdrs = curl_slist_append(hdrs, line);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (req->range_len) {
		snprintf(line, sizeof(line), "Range: bytes=%llu-%llu",
			 (unsigned long long)req->range_off,
			 (unsigned long long)(req->range_off + req->range_len -
					      1));
		hdrs = curl_slist_append(hdrs, line);
	}
	if (req->if_match) {
		snprintf(line, sizeof(line), "If-Match: %.200s",
			 req->if_match);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (!hdrs)
		goto out;

	curl_easy_setopt(h, CURLOPT_URL, sg.url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "PUT") == 0) {
		x.up = req->body ? req->body : "";
		x.up_len = req->body ? req->body_len : 0;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)x.up_len);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
	rc = curl_easy_perform(h);
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	if (st)
		resp->status = st;
	if (rc == CURLE_OK && req->out && resp->status >= 200 &&
	    resp->status < 300 && x.got != req->range_len) {
		snprintf(errbuf, CURL_ERROR_SIZE, "short read: %zu of %llu "
			 "bytes", x.got, (unsigned long long)req->range_len);
		rc = CURLE_PARTIAL_FILE;
	}
	if (x.overflow && rc == CURLE_WRITE_ERROR)
		snprintf(errbuf, CURL_ERROR_SIZE, "the response is longer "
			 "than expected");
out:
	curl_slist_free_all(hdrs);
	vmie_s3_signed_free(&sg);
	free(tmp.p);
	return rc;
}

/* The Code and Message of an error reply; a body that is not S3 XML (a
 * proxy's HTML page, nothing after a HEAD) leaves them "". */
static void s3_parse_error(struct vmie_s3_resp *r)
{
	struct vmie_s3_xml *x = NULL;
	struct vmie_err e = { 0 };
	if (!r->body || vmie_s3_xml_parse(r->body, r->body_len, "s3", &x, &e))
		return;
	vmie_s3_xml_find(x, "Code", r->code, sizeof(r->code));
	vmie_s3_xml_find(x, "Message", r->message, sizeof(r->message));
	vmie_s3_xml_free(x);
}

static bool s3_retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

int vmie_s3_request(struct vmie_s3 *s, const struct vmie_s3_req *req,
		    struct vmie_s3_resp *resp, struct vmie_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	unsigned delay_ms = 200;
	CURLcode rc = CURLE_OK;
	CURL *h = s3_get_handle(s);
	unsigned attempt;

	memset(resp, 0, sizeof(*resp));
	if (!h)
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: cannot start libcurl");
	for (attempt = 0;; attempt++) {
		errbuf[0] = '\0';
		vmie_s3_resp_free(resp);
		rc = s3_attempt(s, h, req, resp, errbuf);
		bool again = rc != CURLE_OK ? s3_retryable_curl(rc) :
			(resp->status >= 500 || resp->status == 429);
		if (!again || attempt >= s->retries)
			break;
		/* a fresh connection next time */
		curl_easy_cleanup(h);
		h = curl_easy_init();
		if (!h)
			return VMIE_ERR(err, VMIE_ENOMEM, "s3: cannot start "
					"libcurl");
		struct timespec ts = { delay_ms / 1000,
				       (long)(delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
	}
	s3_put_handle(s, h);
	/* the attempts made: an error that is not retried (a certificate
	 * refused) is told after one */
	if (rc != CURLE_OK)
		return VMIE_ERR(err, VMIE_EIO, "s3: %s %s%s%s%s at %s failed "
				"after %u attempt%s: %s", req->method,
				req->bucket ? "s3://" : "",
				req->bucket ? req->bucket : "",
				req->key ? "/" : "", req->key ? req->key : "",
				s->endpoint, attempt + 1, attempt ? "s" : "",
				errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (resp->status >= 300)
		s3_parse_error(resp);
	return 0;
}

void vmie_s3_resp_free(struct vmie_s3_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

int vmie_s3_fail(struct vmie_s3 *s, const char *op, const char *what,
		 const struct vmie_s3_resp *r, struct vmie_err *err)
{
	int code = VMIE_EIO;
	const char *hint = "";
	const char *c = r->code[0] ? r->code : NULL;

	switch (r->status) {
	case 404:
		code = VMIE_ENOENT;
		if (c && strcmp(c, "NoSuchBucket") == 0)
			hint = " (the bucket does not exist)";
		else if (c && strcmp(c, "NoSuchUpload") == 0)
			hint = " (the multipart upload is gone)";
		break;
	case 401:
	case 403:
		code = VMIE_EPERM;
		if (c && strcmp(c, "SignatureDoesNotMatch") == 0)
			hint = " (the secret access key is wrong: check "
			       "AWS_SECRET_ACCESS_KEY or the s3 secret of the "
			       "configuration)";
		else if (c && strcmp(c, "InvalidAccessKeyId") == 0)
			hint = " (the access key id is unknown to the server)";
		else
			hint = " (access denied: check the access key, its "
			       "secret and the bucket's permissions)";
		break;
	case 412:
		code = VMIE_ECORRUPT;
		hint = " (the object changed since it was opened: its ETag no "
		       "longer matches)";
		break;
	case 416:
		code = VMIE_ECORRUPT;
		break;
	default:
		break;
	}
	return VMIE_ERR(err, code, "s3: %s %s at %s: HTTP %ld%s%s%s%s%s", op,
			what, s->endpoint, r->status, c ? " " : "", c ? c : "",
			r->message[0] ? ": " : "", r->message, hint);
}
