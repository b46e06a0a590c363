/*
 * Signature Version 4 verification (lib/api/sigv4.h): the requests the
 * AWS CLI and boto3 really sent (../shared/protocol/raw*), and every way
 * a request can be wrong.  The cross-check against botocore's signer and
 * the independent checker is sigv4-botocore.py.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "api/sigv4.h"
#include "core/err.h"
#include "core/util.h"
#include "raw.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "SESSIONTOKEN123"

struct keys {
	const char *secret;        /* for AKIDEXAMPLE */
	const char *token;         /* its session token, or NULL */
	int lookups;
};

static int lookup(void *ctx, const char *akid, struct vmie_sigv4_secret *out)
{
	struct keys *k = ctx;

	k->lookups++;
	if (strcmp(akid, AKID) == 0) {
		vmie_strlcpy(out->secret, k->secret, sizeof(out->secret));
		if (k->token)
			vmie_strlcpy(out->session_token, k->token,
				     sizeof(out->session_token));
		return 0;
	}
	if (strcmp(akid, "a") == 0) {
		vmie_strlcpy(out->secret, "b", sizeof(out->secret));
		return 0;
	}
	return VMIE_ENOENT;
}

static const char *regions[] = { "us-east-1", "eu-west-1" };

static struct vmie_sigv4_config config(struct keys *k)
{
	struct vmie_sigv4_config c = {
		.regions = regions, .nregions = 2, .service = "ec2",
		.lookup = lookup, .lookup_ctx = k,
	};
	return c;
}

static char *proto(const char *rel)
{
	static char path[4096];
	const char *shared = getenv("SHARED");
	snprintf(path, sizeof(path), "%s/protocol/%s",
		 shared ? shared : "../shared", rel);
	return path;
}

static bool has_header(const struct raw_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Every captured request verifies at its own X-Amz-Date. */
static void test_captured_requests(void **state)
{
	glob_t g;
	size_t ok = 0;

	assert_int_equal(glob(proto("raw*/req-*.txt"), 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 50);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct raw_request r;
		struct vmie_sigv4_request req;
		struct vmie_sigv4_result res;
		struct vmie_err err = { 0 };
		struct keys k = { SECRET, NULL, 0 };
		assert_int_equal(raw_load(g.gl_pathv[i], &r), 0);
		if (has_header(&r, "X-Amz-Security-Token"))
			k.token = TOKEN;
		struct vmie_sigv4_config c = config(&k);
		raw_to_sigv4(&r, r.date + 30, &req);
		int rc = vmie_sigv4_verify(&c, &req, &res, &err);
		if (rc)
			fail_msg("%s: %s: %s", g.gl_pathv[i], err.api, err.msg);
		assert_true(strcmp(res.access_key, AKID) == 0 ||
			    strcmp(res.access_key, "a") == 0);
		assert_false(res.presigned);
		assert_int_equal(res.date, r.date);
		ok++;
		raw_free(&r);
	}
	assert_int_equal(ok, g.gl_pathc);
	globfree(&g);
}

/* Load raw1/req-01 (an ImportImage by the AWS CLI) into *r. */
static void load_import(struct raw_request *r)
{
	assert_int_equal(raw_load(proto("raw2/req-01-ImportImage.txt"), r), 0);
	assert_true(r->date > 0);
}

/* Verify r against k / c at time now; the EC2 code ("" when ok). */
static const char *verify_at(struct raw_request *r, struct keys *k,
			     const struct vmie_sigv4_config *c, time_t now,
			     struct vmie_err *err)
{
	struct vmie_sigv4_request req;
	struct vmie_sigv4_result res;
	(void)k;
	memset(err, 0, sizeof(*err));
	raw_to_sigv4(r, now, &req);
	int rc = vmie_sigv4_verify(c, &req, &res, err);
	if (rc == 0)
		return "";
	assert_true(err->api[0]);
	assert_true(err->msg[0]);
	/* never a secret in a message */
	assert_null(strstr(err->msg, SECRET));
	assert_null(strstr(err->msg, "wJalr"));
	assert_null(strstr(err->msg, TOKEN));
	return err->api;
}

static const char *verify(struct raw_request *r, struct keys *k,
			  struct vmie_err *err)
{
	struct vmie_sigv4_config c = config(k);
	return verify_at(r, k, &c, r->date, err);
}

/* Replace the value of header name (the pointer stays in r->text or a
 * static string). */
static void set_header(struct raw_request *r, const char *name,
		       const char *value)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			r->headers[i].value = value;
			return;
		}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders++].value = value;
}

static void drop_header(struct raw_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			memmove(&r->headers[i], &r->headers[i + 1],
				(r->nheaders - i - 1) * sizeof(r->headers[0]));
			r->nheaders--;
			return;
		}
}

static const char *get_header(struct raw_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void test_good(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;
	load_import(&r);
	assert_string_equal(verify(&r, &k, &err), "");
	raw_free(&r);
}

static void test_wrong_secret(void **state)
{
	struct raw_request r;
	struct keys k = { "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", NULL, 0 };
	struct vmie_err err;
	load_import(&r);
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	assert_non_null(strstr(err.msg, "does not match"));
	raw_free(&r);
}

static void test_unknown_key(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;
	static char auth[512];
	load_import(&r);
	const char *a = get_header(&r, "Authorization");
	const char *p = strstr(a, AKID);
	snprintf(auth, sizeof(auth), "%.*sAKIDOTHER%s", (int)(p - a), a,
		 p + strlen(AKID));
	set_header(&r, "Authorization", auth);
	assert_string_equal(verify(&r, &k, &err), "AuthFailure");
	raw_free(&r);
}

static void test_wrong_region_and_service(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;
	static const char *other[] = { "eu-central-1" };
	load_import(&r);
	struct vmie_sigv4_config c = config(&k);
	c.regions = other;
	c.nregions = 1;
	assert_string_equal(verify_at(&r, &k, &c, r.date, &err),
			    "SignatureDoesNotMatch");
	assert_non_null(strstr(err.msg, "region"));
	c = config(&k);
	c.service = "s3";
	assert_string_equal(verify_at(&r, &k, &c, r.date, &err),
			    "SignatureDoesNotMatch");
	assert_non_null(strstr(err.msg, "service"));
	assert_int_equal(k.lookups, 0);
	raw_free(&r);
}

static void test_skew_and_expiry(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;
	load_import(&r);
	struct vmie_sigv4_config c = config(&k);
	assert_string_equal(verify_at(&r, &k, &c, r.date + 900, &err), "");
	assert_string_equal(verify_at(&r, &k, &c, r.date - 900, &err), "");
	/* replayed 15 min 1 s later, or from a clock running ahead */
	assert_string_equal(verify_at(&r, &k, &c, r.date + 901, &err),
			    "RequestExpired");
	assert_string_equal(verify_at(&r, &k, &c, r.date - 901, &err),
			    "RequestExpired");
	c.max_skew = 60;
	assert_string_equal(verify_at(&r, &k, &c, r.date + 61, &err),
			    "RequestExpired");
	raw_free(&r);
}

static void test_missing_headers(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;

	load_import(&r);
	drop_header(&r, "Authorization");
	assert_string_equal(verify(&r, &k, &err), "IncompleteSignature");
	raw_free(&r);

	load_import(&r);
	drop_header(&r, "X-Amz-Date");
	assert_string_equal(verify(&r, &k, &err), "IncompleteSignature");
	raw_free(&r);

	/* a signed header that is not in the request */
	load_import(&r);
	drop_header(&r, "Content-Type");
	assert_string_equal(verify(&r, &k, &err), "IncompleteSignature");
	assert_non_null(strstr(err.msg, "content-type"));
	raw_free(&r);

	/* two Authorization headers */
	load_import(&r);
	set_header(&r, "X-Other", "1");
	r.headers[r.nheaders].name = "authorization";
	r.headers[r.nheaders++].value = get_header(&r, "Authorization");
	assert_string_equal(verify(&r, &k, &err), "IncompleteSignature");
	raw_free(&r);
}

static void test_tampered(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;

	load_import(&r);
	r.body[r.body_len - 1] = 'X';   /* RoleName=vmimporX */
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);

	load_import(&r);
	r.body_len--;
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);

	load_import(&r);
	r.query = "Action=DeleteSnapshot";
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);

	load_import(&r);
	r.path = "/other";
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);

	load_import(&r);
	set_header(&r, "Host", "evil.example:18081");
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);

	/* a claimed payload hash that is not the body's */
	load_import(&r);
	set_header(&r, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);

	/* the signature itself: changed, upper-case, short */
	static char auth[512];
	load_import(&r);
	snprintf(auth, sizeof(auth), "%s", get_header(&r, "Authorization"));
	char *sig = strstr(auth, "Signature=") + 10;
	sig[0] = sig[0] == '0' ? '1' : '0';
	set_header(&r, "Authorization", auth);
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	sig[1] = 'A';
	assert_string_equal(verify(&r, &k, &err), "IncompleteSignature");
	sig[5] = '\0';
	assert_string_equal(verify(&r, &k, &err), "IncompleteSignature");
	raw_free(&r);
}

/* Rewrite the Authorization header of the captured ImportImage. */
static const char *with_auth(const char *auth)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	static struct vmie_err err;
	load_import(&r);
	set_header(&r, "Authorization", auth);
	const char *code = verify(&r, &k, &err);
	static char out[64];
	snprintf(out, sizeof(out), "%s", code);
	raw_free(&r);
	return out;
}

#define SIG "b45cddf848632274c2dd8af1871a89af608e4878154f763d4d4f6db633d82a77"

static void test_malformed_authorization(void **state)
{
	/* the captured header itself, to show the rewrites start right */
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG), "");
	/* signed headers without host, or without a date */
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host, Signature=" SIG), "IncompleteSignature");
	/* not sorted, duplicated, upper case */
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"host;content-type;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"Content-Type;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	/* credential: duplicated, 4 and 6 parts, wrong day, terminator */
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/x/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261121/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"SignatureDoesNotMatch");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws5_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"SignatureDoesNotMatch");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/2026112/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	/* parts missing, another algorithm, garbage */
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 SignedHeaders="
		"content-type;host;x-amz-date, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, Signature=" SIG),
		"IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
		"/20261122/us-east-1/ec2/aws4_request, SignedHeaders="
		"content-type;host;x-amz-date"), "IncompleteSignature");
	assert_string_equal(with_auth("AWS4-ECDSA-P256-SHA256 Credential=A/"
		"20261122/us-east-1/ec2/aws4_request, SignedHeaders=host, "
		"Signature=" SIG), "IncompleteSignature");
	assert_string_equal(with_auth("AWS AKIDEXAMPLE:abc"),
			    "IncompleteSignature");
	assert_string_equal(with_auth(""), "IncompleteSignature");
	assert_string_equal(with_auth("AWS4-HMAC-SHA256 ,,,==, Foo=bar"),
			    "IncompleteSignature");
}

static void test_session_token(void **state)
{
	struct raw_request r;
	struct vmie_err err;
	struct keys k = { SECRET, TOKEN, 0 };

	assert_int_equal(raw_load(proto("raw3/req-16-ImportImage.txt"), &r), 0);
	assert_string_equal(verify(&r, &k, &err), "");
	/* the key has no token, or another one */
	k.token = NULL;
	assert_string_equal(verify(&r, &k, &err), "AuthFailure");
	k.token = "SESSIONTOKEN124";
	assert_string_equal(verify(&r, &k, &err), "AuthFailure");
	/* a token-bearing key used without its token */
	k.token = TOKEN;
	raw_free(&r);
	load_import(&r);
	assert_string_equal(verify(&r, &k, &err), "AuthFailure");
	raw_free(&r);
	/* blanks around the token are not part of it */
	assert_int_equal(raw_load(proto("raw3/req-16-ImportImage.txt"), &r), 0);
	set_header(&r, "X-Amz-Security-Token", "SESSIONTOKEN123 ");
	assert_string_equal(verify(&r, &k, &err), "");   /* trimmed */
	raw_free(&r);
}

static void test_header_whitespace(void **state)
{
	struct raw_request r;
	struct keys k = { SECRET, NULL, 0 };
	struct vmie_err err;

	/* values are trimmed and inner runs collapsed before signing */
	load_import(&r);
	set_header(&r, "Content-Type", "  application/x-www-form-urlencoded;"
		   "    charset=utf-8   ");
	assert_string_equal(verify(&r, &k, &err), "");
	set_header(&r, "Content-Type", "application/x-www-form-urlencoded;"
		   "charset=utf-8");
	assert_string_equal(verify(&r, &k, &err), "SignatureDoesNotMatch");
	raw_free(&r);
}

static void test_sha256_hex(void **state)
{
	char h[65];
	vmie_sigv4_sha256_hex("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb924"
			    "27ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_requests),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_region_and_service),
		cmocka_unit_test(test_skew_and_expiry),
		cmocka_unit_test(test_missing_headers),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed_authorization),
		cmocka_unit_test(test_session_token),
		cmocka_unit_test(test_header_whitespace),
		cmocka_unit_test(test_sha256_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
