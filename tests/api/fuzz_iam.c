/* libFuzzer target: IAM policy parsing (lib/api/iam.c) of any bytes, and
 * the evaluation of a few requests against what parses. */
#include <stddef.h>
#include <stdint.h>

#include "api/iam.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_iam_policy *p;
	struct vmie_err err = { 0 };

	if (vmie_iam_parse((const char *)data, size, "fuzz", &p, &err) != 0)
		return 0;
	json_t *ctx = json_pack("{s:s, s:s, s:s, s:[s,s], s:s}",
				"aws:SourceIp", "10.1.2.3",
				"aws:SecureTransport", "true",
				"aws:username", "alice",
				"aws:PrincipalTag/team", "a", "b",
				"aws:CurrentTime", "2026-11-22T09:42:12Z");
	static const char *actions[] = { "ec2:ImportImage", "s3:GetObject",
					 "sts:AssumeRole" };
	const struct vmie_iam_policy *set[] = { p };
	for (size_t i = 0; i < 3; i++) {
		struct vmie_iam_request req = {
			actions[i], "arn:aws:s3:::bucket/key",
			"vmie.amazonaws.com", ctx };
		struct vmie_iam_verdict why;
		vmie_iam_evaluate(set, 1, &req, &why);
	}
	json_decref(ctx);
	vmie_iam_free(p);
	return 0;
}
