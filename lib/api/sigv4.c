/*
 * AWS Signature Version 4 verification (sigv4.h).
 *
 * Spec: AWS General Reference, "Create a canonical request for Signature
 * Version 4", "Create a string to sign", "Calculate the signature", and
 * "Authenticating Requests: Using Query Parameters".
 *
 *   CanonicalRequest = Method '\n' CanonicalURI '\n' CanonicalQuery '\n'
 *                      CanonicalHeaders '\n' SignedHeaders '\n' PayloadHash
 *   StringToSign     = "AWS4-HMAC-SHA256" '\n' X-Amz-Date '\n'
 *                      Date/Region/Service/"aws4_request" '\n'
 *                      hex(SHA256(CanonicalRequest))
 *   kSigning         = HMAC(HMAC(HMAC(HMAC("AWS4" Secret, Date), Region),
 *                      Service), "aws4_request")
 *   Signature        = hex(HMAC(kSigning, StringToSign))
 */
#include "api/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "api/strbuf.h"
#include "core/err.h"
#include "core/sigv4_sign.h"
#include "core/util.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define CANON_MAX (1024 * 1024)

/* One query parameter: decoded, and re-encoded for the canonical query. */
struct sigv4_param {
	char *key, *val;        /* decoded */
	char *ekey, *eval;      /* canonical encoding */
};

/* Everything parsed from the request before the signature is computed. */
struct sigv4_parts {
	bool presigned;
	char credential[512];
	char signed_headers[2048];
	char signature[65];
	char amz_date[17];      /* YYYYMMDDTHHMMSSZ */
	long expires;
	const char *token;      /* the request's session token, or NULL */
	char token_buf[VMIE_SIGV4_TOKEN_MAX];
	/* the credential's five parts */
	char akid[VMIE_SIGV4_KEY_MAX];
	char day[9];
	char region[VMIE_SIGV4_REGION_MAX];
	char service[64];
	char term[64];
	/* signed header names, split */
	char *names[VMIE_SIGV4_MAX_SIGNED];
	size_t nnames;
	char names_buf[2048];
	struct sigv4_param *params;
	size_t nparams;
	time_t date;
};

static const char msg_sig_mismatch[] =
	"The request signature we calculated does not match the signature "
	"you provided. Check your AWS Secret Access Key and signing method. "
	"Consult the service documentation for details.";

#define INCOMPLETE(err, ...) \
	VMIE_API_ERR((err), VMIE_EINVAL, "IncompleteSignature", __VA_ARGS__)
#define MISMATCH(err, ...) \
	VMIE_API_ERR((err), VMIE_EPERM, "SignatureDoesNotMatch", __VA_ARGS__)

void vmie_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	vmie_sigv4_hash_hex(data, len, out);
}

static void params_free(struct sigv4_parts *p)
{
	for (size_t i = 0; i < p->nparams; i++) {
		free(p->params[i].key);
		free(p->params[i].val);
		free(p->params[i].ekey);
		free(p->params[i].eval);
	}
	free(p->params);
	p->params = NULL;
	p->nparams = 0;
}

static char *encode_dup(const char *s, size_t len)
{
	struct vmie_strbuf b;

	vmie_strbuf_init(&b, VMIE_SIGV4_MAX_LINE * 3);
	vmie_strbuf_uri_encode(&b, s, len, false);
	vmie_strbuf_putc(&b, '\0');
	if (b.failed) {
		vmie_strbuf_free(&b, false);
		return NULL;
	}
	return b.p;
}

/* Split the raw query into parameters, decoded and re-encoded.  A '+' is
 * a space, as in a form: botocore sends a space as '+' in the URL and
 * signs it as %20; a literal plus arrives as %2B. */
static int parse_query(const char *q, struct sigv4_parts *p,
		       struct vmie_err *err)
{
	if (!q || !*q)
		return 0;
	size_t qlen = strlen(q);
	if (qlen > VMIE_SIGV4_MAX_LINE)
		return INCOMPLETE(err, "The query string is too long "
				  "(%zu bytes, at most %d).", qlen,
				  VMIE_SIGV4_MAX_LINE);
	size_t n = 1;
	for (const char *c = q; *c; c++)
		n += *c == '&';
	if (n > VMIE_SIGV4_MAX_QUERY_PARAMS)
		return INCOMPLETE(err, "The query string has too many "
				  "parameters (%zu).", n);
	p->params = calloc(n, sizeof(*p->params));
	if (!p->params)
		return VMIE_ERR(err, VMIE_ENOMEM, "sigv4: out of memory");
	const char *s = q;
	while (*s) {
		const char *amp = strchr(s, '&');
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		if (len) {
			const char *eq = memchr(s, '=', len);
			size_t klen = eq ? (size_t)(eq - s) : len;
			size_t vlen = eq ? len - klen - 1 : 0;
			struct sigv4_param *pp = &p->params[p->nparams++];
			long kl, vl;
			pp->key = malloc(klen + 1);
			pp->val = malloc(vlen + 1);
			if (!pp->key || !pp->val)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"sigv4: out of memory");
			kl = vmie_percent_decode(s, klen, true, pp->key);
			vl = vmie_percent_decode(eq ? eq + 1 : s, vlen, true,
						 pp->val);
			if (kl < 0 || vl < 0)
				return INCOMPLETE(err, "The query string has a "
						  "malformed percent escape.");
			pp->ekey = encode_dup(pp->key, (size_t)kl);
			pp->eval = encode_dup(pp->val, (size_t)vl);
			if (!pp->ekey || !pp->eval)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"sigv4: out of memory");
			/* a NUL inside a name or value would cut the
			 * comparisons below short */
			if ((size_t)kl != strlen(pp->key) ||
			    (size_t)vl != strlen(pp->val))
				return INCOMPLETE(err, "The query string holds "
						  "a NUL byte.");
		}
		s += len;
		if (*s == '&')
			s++;
	}
	return 0;
}

/* The one value of a query parameter; NULL when absent; -1 in *dup when
 * repeated. */
static const char *query_get(const struct sigv4_parts *p, const char *key,
			     int *dup)
{
	const char *v = NULL;

	for (size_t i = 0; i < p->nparams; i++) {
		if (strcmp(p->params[i].key, key) == 0) {
			if (v)
				*dup = -1;
			v = p->params[i].val;
		}
	}
	return v;
}

/* The one value of a header; NULL when absent; *count its occurrences. */
static const char *header_get(const struct vmie_sigv4_request *req,
			      const char *name, size_t *count)
{
	const char *v = NULL;

	*count = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) == 0) {
			if (!v)
				v = req->headers[i].value;
			(*count)++;
		}
	}
	return v;
}

/* A header value without the blanks around it, into dst; -1 when it
 * does not fit. */
static int copy_trimmed(char *dst, size_t size, const char *src)
{
	size_t len;

	while (*src == ' ' || *src == '\t')
		src++;
	len = strlen(src);
	while (len && (src[len - 1] == ' ' || src[len - 1] == '\t'))
		len--;
	if (len >= size)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int copy_part(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* "Credential=..., SignedHeaders=..., Signature=..." after the algorithm. */
static int parse_authorization(const char *auth, struct sigv4_parts *p,
			       struct vmie_err *err)
{
	bool have_cred = false, have_signed = false, have_sig = false;
	size_t alen = strlen(ALGORITHM);

	if (strlen(auth) > VMIE_SIGV4_MAX_LINE)
		return INCOMPLETE(err, "The Authorization header is too long.");
	while (*auth == ' ')
		auth++;
	if (strncmp(auth, ALGORITHM, alen) != 0 ||
	    (auth[alen] != ' ' && auth[alen] != '\0')) {
		size_t n = strcspn(auth, " ");
		return INCOMPLETE(err, "Unsupported AWS 'algorithm': '%.*s' "
				  "(only " ALGORITHM " is accepted).",
				  (int)(n > 40 ? 40 : n), auth);
	}
	const char *s = auth + alen;
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		if (!*s)
			break;
		size_t len = strcspn(s, ",");
		while (len && s[len - 1] == ' ')
			len--;
		const char *eq = memchr(s, '=', len);
		if (!eq)
			return INCOMPLETE(err, "Authorization header requires "
					  "'Credential', 'SignedHeaders' and "
					  "'Signature' parameters, each as "
					  "name=value.");
		size_t nlen = (size_t)(eq - s), vlen = len - nlen - 1;
		const char *v = eq + 1;
		bool *seen;
		char *dst;
		size_t dsize;
		if (nlen == 10 && strncmp(s, "Credential", 10) == 0) {
			seen = &have_cred;
			dst = p->credential;
			dsize = sizeof(p->credential);
		} else if (nlen == 13 && strncmp(s, "SignedHeaders", 13) == 0) {
			seen = &have_signed;
			dst = p->signed_headers;
			dsize = sizeof(p->signed_headers);
		} else if (nlen == 9 && strncmp(s, "Signature", 9) == 0) {
			seen = &have_sig;
			dst = p->signature;
			dsize = sizeof(p->signature);
		} else {
			return INCOMPLETE(err, "Authorization header has an "
					  "unknown parameter '%.*s'.",
					  (int)(nlen > 40 ? 40 : nlen), s);
		}
		if (*seen)
			return INCOMPLETE(err, "Authorization header has "
					  "'%.*s' more than once.", (int)nlen, s);
		*seen = true;
		if (copy_part(dst, dsize, v, vlen) != 0)
			return INCOMPLETE(err, "Authorization header parameter "
					  "'%.*s' is too long.", (int)nlen, s);
		s += strcspn(s, ",");
	}
	if (!have_cred)
		return INCOMPLETE(err, "Authorization header requires "
				  "'Credential' parameter.");
	if (!have_signed)
		return INCOMPLETE(err, "Authorization header requires "
				  "'SignedHeaders' parameter.");
	if (!have_sig)
		return INCOMPLETE(err, "Authorization header requires "
				  "'Signature' parameter.");
	return 0;
}

/* "AKID/20261122/us-east-1/ec2/aws4_request" */
static int parse_credential(struct sigv4_parts *p, struct vmie_err *err)
{
	char *f[5];
	size_t n = 0;
	char tmp[sizeof(p->credential)];

	memcpy(tmp, p->credential, sizeof(tmp));
	for (const char *c = tmp; *c; c++)
		n += *c == '/';
	if (n != 4)
		return INCOMPLETE(err, "Credential must have exactly 5 "
				  "slash-delimited elements, e.g. "
				  "keyid/date/region/service/term.");
	char *s = tmp;
	for (size_t i = 0; i < 5; i++) {
		f[i] = s;
		s += strcspn(s, "/");
		if (*s)
			*s++ = '\0';
	}
	if (!*f[0] || copy_part(p->akid, sizeof(p->akid), f[0],
				strlen(f[0])) != 0)
		return INCOMPLETE(err, "Credential has an empty or over-long "
				  "access key id.");
	for (const char *c = p->akid; *c; c++)
		if (!isalnum((unsigned char)*c))
			return VMIE_API_ERR(err, VMIE_EPERM, "AuthFailure",
					    "AWS was not able to validate the "
					    "provided access credentials");
	if (strlen(f[1]) != 8 || strspn(f[1], "0123456789") != 8)
		return INCOMPLETE(err, "Credential date '%.16s' is not in the "
				  "form YYYYMMDD.", f[1]);
	memcpy(p->day, f[1], 9);
	if (copy_part(p->region, sizeof(p->region), f[2], strlen(f[2])) ||
	    copy_part(p->service, sizeof(p->service), f[3], strlen(f[3])) ||
	    copy_part(p->term, sizeof(p->term), f[4], strlen(f[4])))
		return INCOMPLETE(err, "Credential has an over-long element.");
	return 0;
}

static bool valid_header_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		      strchr("-_.!#$%&'*+^`|~", *s)))
			return false;
	return true;
}

/* SignedHeaders: lower-case names, ';'-separated, sorted, unique. */
static int parse_signed_headers(struct sigv4_parts *p, struct vmie_err *err)
{
	if (!*p->signed_headers)
		return INCOMPLETE(err, "SignedHeaders is empty.");
	memcpy(p->names_buf, p->signed_headers, sizeof(p->names_buf));
	for (char *s = p->names_buf; s;) {
		char *semi = strchr(s, ';');
		if (semi)
			*semi = '\0';
		if (p->nnames == VMIE_SIGV4_MAX_SIGNED)
			return INCOMPLETE(err, "SignedHeaders names too many "
					  "headers (at most %d).",
					  VMIE_SIGV4_MAX_SIGNED);
		if (!valid_header_name(s))
			return INCOMPLETE(err, "SignedHeaders must be lower-case "
					  "header names separated by ';'.");
		if (p->nnames && strcmp(p->names[p->nnames - 1], s) >= 0)
			return INCOMPLETE(err, "SignedHeaders must be sorted and "
					  "name each header once.");
		p->names[p->nnames++] = s;
		s = semi ? semi + 1 : NULL;
	}
	return 0;
}

static bool signed_has(const struct sigv4_parts *p, const char *name)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (strcmp(p->names[i], name) == 0)
			return true;
	return false;
}

/* YYYYMMDDTHHMMSSZ -> time_t (UTC); -1 when malformed. */
static time_t parse_amz_date(const char *s)
{
	int v[6];
	static const int width[6] = { 4, 2, 2, 2, 2, 2 };
	const char *c = s;

	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (int i = 0; i < 6; i++) {
		if (i == 3)
			c++;  /* 'T' */
		v[i] = 0;
		for (int k = 0; k < width[i]; k++, c++) {
			if (!isdigit((unsigned char)*c))
				return -1;
			v[i] = v[i] * 10 + (*c - '0');
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60 || v[0] < 1970)
		return -1;
	struct tm tm = { .tm_year = v[0] - 1900, .tm_mon = v[1] - 1,
			 .tm_mday = v[2], .tm_hour = v[3], .tm_min = v[4],
			 .tm_sec = v[5] };
	return timegm(&tm);
}

/* A Date header (RFC 7231 IMF-fixdate) as an X-Amz-Date string. */
static int date_header_to_amz(const char *s, char out[17])
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -1;
	return 0;
}

static void format_amz(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Gather the parts of whichever form the request uses. */
static int collect_parts(const struct vmie_sigv4_request *req,
			 struct sigv4_parts *p, struct vmie_err *err)
{
	size_t nauth, n;
	const char *auth = header_get(req, "authorization", &nauth);
	int dup = 0;
	const char *alg = query_get(p, "X-Amz-Algorithm", &dup);

	if (req->nheaders > VMIE_SIGV4_MAX_HEADERS)
		return INCOMPLETE(err, "The request has too many headers.");
	if (nauth > 1)
		return INCOMPLETE(err, "The request has more than one "
				  "Authorization header.");
	if (auth && alg)
		return INCOMPLETE(err, "Only one auth mechanism allowed; "
				  "only the X-Amz-Algorithm query parameter "
				  "or the Authorization header should be "
				  "specified.");
	if (!auth && !alg && !query_get(p, "X-Amz-Signature", &dup) &&
	    !query_get(p, "X-Amz-Credential", &dup))
		return INCOMPLETE(err, "Request is missing Authentication "
				  "Token: sign it with AWS Signature Version 4 "
				  "(an Authorization header or X-Amz-* query "
				  "parameters).");
	if (auth) {
		int rc = parse_authorization(auth, p, err);
		if (rc)
			return rc;
		const char *d = header_get(req, "x-amz-date", &n);
		if (n > 1)
			return INCOMPLETE(err, "The request has more than one "
					  "X-Amz-Date header.");
		if (d) {
			if (copy_trimmed(p->amz_date, sizeof(p->amz_date),
					 d) != 0)
				return INCOMPLETE(err, "X-Amz-Date must be in "
						  "the ISO8601 basic format "
						  "YYYYMMDD'T'HHMMSS'Z'.");
		} else {
			d = header_get(req, "date", &n);
			if (!d || n > 1)
				return INCOMPLETE(err, "Authorization header "
						  "requires existence of "
						  "either a 'X-Amz-Date' or a "
						  "'Date' header.");
			char date[64];
			if (copy_trimmed(date, sizeof(date), d) != 0 ||
			    date_header_to_amz(date, p->amz_date) != 0)
				return INCOMPLETE(err, "The Date header is not "
						  "an RFC 7231 date.");
		}
		d = header_get(req, "x-amz-security-token", &n);
		if (n > 1)
			return INCOMPLETE(err, "The request has more than one "
					  "X-Amz-Security-Token header.");
		if (d) {
			if (copy_trimmed(p->token_buf, sizeof(p->token_buf),
					 d) != 0)
				return VMIE_API_ERR(err, VMIE_EPERM,
						    "AuthFailure", "The security "
						    "token included in the "
						    "request is invalid.");
			p->token = p->token_buf;
		}
		return 0;
	}

	static const char *const need[] = {
		"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
		"X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
	};
	const char *v[6];
	p->presigned = true;
	for (size_t i = 0; i < 6; i++) {
		dup = 0;
		v[i] = query_get(p, need[i], &dup);
		if (!v[i])
			return INCOMPLETE(err, "AWS query-string parameters "
					  "must include '%s'.", need[i]);
		if (dup)
			return INCOMPLETE(err, "The query parameter '%s' is "
					  "given more than once.", need[i]);
	}
	dup = 0;
	p->token = query_get(p, "X-Amz-Security-Token", &dup);
	if (dup)
		return INCOMPLETE(err, "The query parameter "
				  "'X-Amz-Security-Token' is given more than "
				  "once.");
	if (strcmp(v[0], ALGORITHM) != 0)
		return INCOMPLETE(err, "X-Amz-Algorithm only supports "
				  "'" ALGORITHM "'.");
	if (copy_part(p->credential, sizeof(p->credential), v[1],
		      strlen(v[1])) ||
	    copy_part(p->amz_date, sizeof(p->amz_date), v[2], strlen(v[2])) ||
	    copy_part(p->signed_headers, sizeof(p->signed_headers), v[4],
		      strlen(v[4])) ||
	    copy_part(p->signature, sizeof(p->signature), v[5], strlen(v[5])))
		return INCOMPLETE(err, "An X-Amz-* query parameter is too "
				  "long.");
	char *end;
	if (strspn(v[3], "0123456789") != strlen(v[3]) || !*v[3] ||
	    strlen(v[3]) > 7)
		return INCOMPLETE(err, "X-Amz-Expires should be a number.");
	p->expires = strtol(v[3], &end, 10);
	if (p->expires < 1 || p->expires > VMIE_SIGV4_MAX_EXPIRES)
		return INCOMPLETE(err, "X-Amz-Expires must be between 1 and "
				  "%d seconds.", VMIE_SIGV4_MAX_EXPIRES);
	return 0;
}

/* The scope must name an accepted region, our service, the terminator and
 * the day of X-Amz-Date. */
static int check_scope(const struct vmie_sigv4_config *cfg,
		       struct sigv4_parts *p, struct vmie_err *err)
{
	bool region_ok = false;

	for (size_t i = 0; i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i], p->region) == 0)
			region_ok = true;
	if (!region_ok)
		return MISMATCH(err, "Credential should be scoped to a valid "
				"region, not '%.63s'.", p->region);
	if (strcmp(p->service, cfg->service) != 0)
		return MISMATCH(err, "Credential should be scoped to correct "
				"service: '%s'.", cfg->service);
	if (strcmp(p->term, TERMINATOR) != 0)
		return MISMATCH(err, "Credential should be scoped with a valid "
				"terminator: '" TERMINATOR "', not '%.63s'.",
				p->term);
	p->date = parse_amz_date(p->amz_date);
	if (p->date == (time_t)-1)
		return INCOMPLETE(err, "X-Amz-Date must be in the ISO8601 basic "
				  "format YYYYMMDD'T'HHMMSS'Z', not '%.20s'.",
				  p->amz_date);
	if (strncmp(p->day, p->amz_date, 8) != 0)
		return MISMATCH(err, "Date in Credential scope does not match "
				"YYYYMMDD from ISO-8601 version of date from "
				"HTTP: '%s' != '%.8s', from '%s'.", p->day,
				p->amz_date, p->amz_date);
	return 0;
}

static int check_time(const struct vmie_sigv4_config *cfg,
		      const struct vmie_sigv4_request *req,
		      const struct sigv4_parts *p, struct vmie_err *err)
{
	long long skew = cfg->max_skew ? cfg->max_skew :
		VMIE_SIGV4_DEFAULT_SKEW;
	long long diff = (long long)req->now - (long long)p->date;
	char now[17];

	format_amz(req->now, now);
	if (p->presigned) {
		if (diff > p->expires)
			return VMIE_API_ERR(err, VMIE_EPERM, "RequestExpired",
					    "Request has expired: signed at "
					    "%s for %ld seconds, now is %s.",
					    p->amz_date, p->expires, now);
		if (-diff > skew)
			return VMIE_API_ERR(err, VMIE_EPERM, "RequestExpired",
					    "Request is not yet valid: signed "
					    "at %s, now is %s.", p->amz_date,
					    now);
		return 0;
	}
	if (diff > skew || -diff > skew)
		return VMIE_API_ERR(err, VMIE_EPERM, "RequestExpired",
				    "Request has expired: its X-Amz-Date %s "
				    "is more than %lld minutes from the server "
				    "time %s.", p->amz_date, skew / 60, now);
	return 0;
}

/* RFC 3986 5.2.4 dot segments removed and repeated slashes collapsed (as
 * botocore's remove_dot_segments), then URI-encoded again, '/' kept. */
static void canonical_uri(struct vmie_strbuf *b, const char *path)
{
	const char *segs[512];
	size_t lens[512], n = 0;
	size_t plen = path ? strlen(path) : 0;

	if (!plen) {
		vmie_strbuf_putc(b, '/');
		return;
	}
	for (const char *s = path; *s;) {
		size_t len = strcspn(s, "/");
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (n)
				n--;
		} else if (len && !(len == 1 && s[0] == '.')) {
			if (n == 512) {
				b->failed = true;
				return;
			}
			segs[n] = s;
			lens[n++] = len;
		}
		s += len;
		if (*s == '/')
			s++;
	}
	if (path[0] == '/')
		vmie_strbuf_putc(b, '/');
	for (size_t i = 0; i < n; i++) {
		if (i)
			vmie_strbuf_putc(b, '/');
		vmie_strbuf_uri_encode(b, segs[i], lens[i], false);
	}
	if (n && path[plen - 1] == '/')
		vmie_strbuf_putc(b, '/');
}

static int param_cmp(const void *a, const void *b)
{
	const struct sigv4_param *x = *(const struct sigv4_param *const *)a;
	const struct sigv4_param *y = *(const struct sigv4_param *const *)b;
	int c = strcmp(x->ekey, y->ekey);
	return c ? c : strcmp(x->eval, y->eval);
}

static int canonical_query(struct vmie_strbuf *b, const struct sigv4_parts *p)
{
	if (!p->nparams)
		return 0;
	const struct sigv4_param **v = calloc(p->nparams, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < p->nparams; i++)
		if (!(p->presigned &&
		      strcmp(p->params[i].key, "X-Amz-Signature") == 0))
			v[n++] = &p->params[i];
	qsort(v, n, sizeof(*v), param_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			vmie_strbuf_putc(b, '&');
		vmie_strbuf_puts(b, v[i]->ekey);
		vmie_strbuf_putc(b, '=');
		vmie_strbuf_puts(b, v[i]->eval);
	}
	free(v);
	return 0;
}

/* A header value trimmed, inner runs of blanks made one space. */
static void put_header_value(struct vmie_strbuf *b, const char *v)
{
	bool space = false, started = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = started;
			continue;
		}
		if (space)
			vmie_strbuf_putc(b, ' ');
		vmie_strbuf_putc(b, *v);
		space = false;
		started = true;
	}
}

static int canonical_headers(struct vmie_strbuf *b,
			     const struct vmie_sigv4_request *req,
			     const struct sigv4_parts *p, struct vmie_err *err)
{
	for (size_t i = 0; i < p->nnames; i++) {
		bool found = false;
		vmie_strbuf_puts(b, p->names[i]);
		vmie_strbuf_putc(b, ':');
		for (size_t h = 0; h < req->nheaders; h++) {
			if (strcasecmp(req->headers[h].name, p->names[i]))
				continue;
			if (strlen(req->headers[h].value) > VMIE_SIGV4_MAX_LINE)
				return INCOMPLETE(err, "The header '%.64s' is "
						  "too long.", p->names[i]);
			if (found)
				vmie_strbuf_putc(b, ',');
			put_header_value(b, req->headers[h].value);
			found = true;
		}
		if (!found)
			return INCOMPLETE(err, "The header '%.64s' is named in "
					  "SignedHeaders but is not in the "
					  "request.", p->names[i]);
		vmie_strbuf_putc(b, '\n');
	}
	return 0;
}

static bool is_lower_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!(isdigit((unsigned char)*s) || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* The signature for one payload hash, compared with the request's. */
static int compute_and_compare(const struct vmie_sigv4_request *req,
			       const struct sigv4_parts *p,
			       const unsigned char kSigning[32],
			       const char *payload, bool *match,
			       struct vmie_err *err)
{
	struct vmie_strbuf cr;
	char mine[65];
	int rc = 0;

	vmie_strbuf_init(&cr, CANON_MAX);
	vmie_strbuf_puts(&cr, req->method);
	vmie_strbuf_putc(&cr, '\n');
	canonical_uri(&cr, req->path);
	vmie_strbuf_putc(&cr, '\n');
	if (canonical_query(&cr, p) != 0)
		cr.failed = true;
	vmie_strbuf_putc(&cr, '\n');
	rc = canonical_headers(&cr, req, p, err);
	if (rc)
		goto out;
	vmie_strbuf_putc(&cr, '\n');
	vmie_strbuf_puts(&cr, p->signed_headers);
	vmie_strbuf_putc(&cr, '\n');
	vmie_strbuf_puts(&cr, payload);
	if (cr.failed) {
		rc = INCOMPLETE(err, "The request is too large to verify.");
		goto out;
	}
	if (vmie_sigv4_signature(kSigning, p->amz_date, p->region,
				 p->service, cr.p, cr.len, mine) != 0) {
		rc = VMIE_ERR(err, VMIE_ENOMEM, "sigv4: cannot sign");
		goto out;
	}
	*match = CRYPTO_memcmp(mine, p->signature, 64) == 0;
	OPENSSL_cleanse(mine, sizeof(mine));
out:
	vmie_strbuf_free(&cr, false);
	return rc;
}

static int derive_key(const char *secret, const struct sigv4_parts *p,
		      unsigned char k[32])
{
	return vmie_sigv4_signing_key(secret, p->day, p->region, p->service,
				      k);
}

/* Constant-time equality of two strings of possibly different lengths
 * (the length itself is not secret). */
static bool token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

int vmie_sigv4_verify(const struct vmie_sigv4_config *cfg,
		      const struct vmie_sigv4_request *req,
		      struct vmie_sigv4_result *res, struct vmie_err *err)
{
	struct sigv4_parts *p = calloc(1, sizeof(*p));
	struct vmie_sigv4_secret *sec = NULL;
	unsigned char k[32];
	char body_hash[65];
	int rc;

	memset(res, 0, sizeof(*res));
	if (!p)
		return VMIE_ERR(err, VMIE_ENOMEM, "sigv4: out of memory");
	if (!req->method || !*req->method || strlen(req->method) > 16) {
		rc = INCOMPLETE(err, "The request has no method.");
		goto out;
	}
	if (req->path && strlen(req->path) > VMIE_SIGV4_MAX_LINE) {
		rc = INCOMPLETE(err, "The request path is too long.");
		goto out;
	}
	rc = parse_query(req->query, p, err);
	if (!rc)
		rc = collect_parts(req, p, err);
	if (!rc)
		rc = parse_credential(p, err);
	if (!rc)
		rc = check_scope(cfg, p, err);
	if (!rc)
		rc = parse_signed_headers(p, err);
	if (rc)
		goto out;
	if (!signed_has(p, "host")) {
		rc = INCOMPLETE(err, "'Host' must be a 'SignedHeader' in the "
				"AWS Authorization.");
		goto out;
	}
	if (!p->presigned && !signed_has(p, "x-amz-date") &&
	    !signed_has(p, "date")) {
		rc = INCOMPLETE(err, "'X-Amz-Date' or 'Date' must be a "
				"'SignedHeader' in the AWS Authorization.");
		goto out;
	}
	if (!is_lower_hex64(p->signature)) {
		rc = INCOMPLETE(err, "The signature must be 64 lower-case hex "
				"digits.");
		goto out;
	}
	rc = check_time(cfg, req, p, err);
	if (rc)
		goto out;

	sec = calloc(1, sizeof(*sec));
	if (!sec) {
		rc = VMIE_ERR(err, VMIE_ENOMEM, "sigv4: out of memory");
		goto out;
	}
	if (cfg->lookup(cfg->lookup_ctx, p->akid, sec) != 0 || !*sec->secret) {
		rc = VMIE_API_ERR(err, VMIE_EPERM, "AuthFailure",
				  "AWS was not able to validate the provided "
				  "access credentials");
		goto out;
	}
	if (*sec->session_token || p->token) {
		if (!p->token || !*sec->session_token ||
		    !token_equal(p->token, sec->session_token)) {
			rc = VMIE_API_ERR(err, VMIE_EPERM, "AuthFailure",
					  "The security token included in the "
					  "request is invalid.");
			goto out;
		}
	}
	if (derive_key(sec->secret, p, k) != 0) {
		rc = VMIE_ERR(err, VMIE_ENOMEM, "sigv4: cannot derive the key");
		goto out;
	}

	/* The payload hash: the body's, never a client's claim about it. */
	const char *candidates[2] = { NULL, NULL };
	if (req->payload_hash && strcmp(req->payload_hash, UNSIGNED_PAYLOAD)) {
		candidates[0] = req->payload_hash;
	} else if (req->payload_hash) {
		if (!p->presigned) {
			rc = MISMATCH(err, "UNSIGNED-PAYLOAD is accepted only "
				      "with a presigned request.");
			goto out;
		}
		candidates[0] = UNSIGNED_PAYLOAD;
	} else {
		vmie_sigv4_sha256_hex(req->body ? req->body : "",
				      req->body ? req->body_len : 0, body_hash);
		candidates[0] = body_hash;
		if (p->presigned && req->body_len == 0)
			candidates[1] = UNSIGNED_PAYLOAD;
	}
	size_t n;
	const char *claimed = header_get(req, "x-amz-content-sha256", &n);
	char claim[80];
	if (claimed && !p->presigned &&
	    (n > 1 || copy_trimmed(claim, sizeof(claim), claimed) != 0 ||
	     strcmp(claim, candidates[0]) != 0)) {
		rc = MISMATCH(err, "The provided 'x-amz-content-sha256' header "
			      "does not match what was computed.");
		goto out;
	}
	bool match = false;
	for (size_t i = 0; i < 2 && candidates[i] && !match; i++) {
		rc = compute_and_compare(req, p, k, candidates[i], &match, err);
		if (rc)
			goto out;
	}
	if (!match) {
		rc = MISMATCH(err, "%s", msg_sig_mismatch);
		goto out;
	}
	vmie_strlcpy(res->access_key, p->akid, sizeof(res->access_key));
	vmie_strlcpy(res->region, p->region, sizeof(res->region));
	res->presigned = p->presigned;
	res->session_token = p->token != NULL;
	res->date = p->date;
	rc = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	if (sec) {
		OPENSSL_cleanse(sec, sizeof(*sec));
		free(sec);
	}
	params_free(p);
	free(p);
	return rc;
}
