/*
 * The primitives of AWS Signature Version 4, shared by the signer of S3
 * requests (lib/io/s3.c) and the verifier of the EC2 API (lib/api/sigv4.c).
 *
 * Spec: AWS General Reference, "Signature Version 4 signing process":
 *
 *   StringToSign = "AWS4-HMAC-SHA256" '\n' X-Amz-Date '\n'
 *                  Day/Region/Service/"aws4_request" '\n'
 *                  hex(SHA256(CanonicalRequest))
 *   kSigning     = HMAC(HMAC(HMAC(HMAC("AWS4" Secret, Day), Region),
 *                  Service), "aws4_request")
 *   Signature    = hex(HMAC(kSigning, StringToSign))
 *
 * Building the canonical request is the caller's: a client knows its own
 * request in canonical form already, a server must rebuild it from what it
 * received.  vmie_sigv4_uri_encode is the encoding both use (RFC 3986
 * unreserved characters kept, everything else %XX upper-case).
 */
#ifndef VMIE_CORE_SIGV4_SIGN_H
#define VMIE_CORE_SIGV4_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define VMIE_SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define VMIE_SIGV4_TERMINATOR "aws4_request"
#define VMIE_SIGV4_UNSIGNED   "UNSIGNED-PAYLOAD"

/* Lower-case hex SHA-256 of data (out: 65 bytes). */
void vmie_sigv4_hash_hex(const void *data, size_t len, char out[65]);

/* kSigning for secret on day (YYYYMMDD), region and service: 0, or -1
 * when the secret is too long (more than 256 bytes) or HMAC fails.  The
 * copy of the secret made on the way is wiped. */
int vmie_sigv4_signing_key(const char *secret, const char *day,
			   const char *region, const char *service,
			   unsigned char key[32]);

/* The signature (64 lower-case hex digits and a NUL) of a canonical
 * request of crlen bytes, made at amz_date (YYYYMMDDTHHMMSSZ, whose first
 * 8 characters are the scope's day), with key from vmie_sigv4_signing_key
 * for region and service: 0, or -1 when HMAC fails or a part is too
 * long. */
int vmie_sigv4_signature(const unsigned char key[32], const char *amz_date,
			 const char *region, const char *service,
			 const char *canonical_request, size_t crlen,
			 char sig[65]);

/* t as YYYYMMDDTHHMMSSZ (out: 17 bytes). */
void vmie_sigv4_amz_date(time_t t, char out[17]);

/* Append the URI encoding of s[0..len) to out (room for 3 * len + 1),
 * keeping '/' when keep_slash; returns the length written (NUL-ended). */
size_t vmie_sigv4_uri_encode(char *out, const char *s, size_t len,
			     bool keep_slash);

#endif
