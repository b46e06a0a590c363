/*
 * AWS Signature Version 4 primitives (sigv4_sign.h).
 * Spec: AWS General Reference, "Create a string to sign for Signature
 * Version 4" and "Calculate the signature for AWS Signature Version 4".
 */
#include "sigv4_sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "util.h"

void vmie_sigv4_hash_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	vmie_hex(out, md, sizeof(md));
}

static bool sigv4_hmac(const void *key, size_t klen, const void *msg,
		       size_t mlen, unsigned char out[32])
{
	unsigned int len = 32;
	return HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len) &&
	       len == 32;
}

int vmie_sigv4_signing_key(const char *secret, const char *day,
			   const char *region, const char *service,
			   unsigned char k[32])
{
	char kdate[4 + 257];
	int n = snprintf(kdate, sizeof(kdate), "AWS4%s", secret);
	bool ok = n > 0 && (size_t)n < sizeof(kdate) &&
		sigv4_hmac(kdate, (size_t)n, day, strlen(day), k) &&
		sigv4_hmac(k, 32, region, strlen(region), k) &&
		sigv4_hmac(k, 32, service, strlen(service), k) &&
		sigv4_hmac(k, 32, VMIE_SIGV4_TERMINATOR,
			   strlen(VMIE_SIGV4_TERMINATOR), k);
	OPENSSL_cleanse(kdate, sizeof(kdate));
	return ok ? 0 : -1;
}

int vmie_sigv4_signature(const unsigned char key[32], const char *amz_date,
			 const char *region, const char *service,
			 const char *canonical_request, size_t crlen,
			 char sig[65])
{
	char crhash[65], sts[512];
	unsigned char mac[32];

	if (strlen(amz_date) != 16)
		return -1;
	vmie_sigv4_hash_hex(canonical_request, crlen, crhash);
	int n = snprintf(sts, sizeof(sts), VMIE_SIGV4_ALGORITHM "\n%s\n"
			 "%.8s/%s/%s/" VMIE_SIGV4_TERMINATOR "\n%s",
			 amz_date, amz_date, region, service, crhash);
	if (n < 0 || (size_t)n >= sizeof(sts) ||
	    !sigv4_hmac(key, 32, sts, (size_t)n, mac))
		return -1;
	vmie_hex(sig, mac, sizeof(mac));
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

void vmie_sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

size_t vmie_sigv4_uri_encode(char *out, const char *s, size_t len,
			     bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}
