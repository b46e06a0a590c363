/* libFuzzer target: SigV4 verification (lib/api/sigv4.c) of any bytes read
 * as a captured request (raw.h), at the request's own time, with the keys
 * of ../shared/protocol. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/sigv4.h"
#include "core/err.h"
#include "core/util.h"
#include "raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_lookup(void *ctx, const char *akid,
		       struct vmie_sigv4_secret *out)
{
	if (strcmp(akid, "AKIDEXAMPLE") == 0) {
		vmie_strlcpy(out->secret,
			     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
			     sizeof(out->secret));
		return 0;
	}
	if (strcmp(akid, "TOKENKEY") == 0) {
		vmie_strlcpy(out->secret, "s", sizeof(out->secret));
		vmie_strlcpy(out->session_token, "SESSIONTOKEN123",
			     sizeof(out->session_token));
		return 0;
	}
	return VMIE_ENOENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *regions[] = { "us-east-1", "eu-west-1" };
	struct vmie_sigv4_config cfg = {
		.regions = regions, .nregions = 2, .service = "ec2",
		.lookup = fuzz_lookup,
	};
	struct raw_request r;
	struct vmie_sigv4_request req;
	struct vmie_sigv4_result res;
	struct vmie_err err = { 0 };

	if (raw_parse((const char *)data, size, &r) == 0) {
		raw_to_sigv4(&r, r.date, &req);
		vmie_sigv4_verify(&cfg, &req, &res, &err);
	}
	raw_free(&r);
	return 0;
}
