/*
 * s3sign-tool: sign one S3 request with lib/io/s3.c's signer and print
 * what would be sent, for tests/s3/test_sign.py to compare with botocore.
 *
 *   s3sign-tool ENDPOINT REGION AKID SECRET TOKEN|- path|virtual EPOCH
 *               METHOD BUCKET|- KEY|- BODY|- [NAME=VALUE...]
 *
 * Prints: url, Host, x-amz-date, x-amz-content-sha256, Authorization,
 * one a line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "io/s3.h"

static const char *opt(const char *s)
{
	return strcmp(s, "-") ? s : NULL;
}

int main(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	struct vmie_s3 *s;
	struct vmie_s3_param ps[16];
	size_t np = 0;

	if (argc < 12) {
		fprintf(stderr, "usage: s3sign-tool ENDPOINT REGION AKID SECRET "
			"TOKEN|- path|virtual EPOCH METHOD BUCKET|- KEY|- "
			"BODY|- [NAME=VALUE...]\n");
		return 2;
	}
	struct vmie_s3_config c = {
		.endpoint = argv[1], .region = argv[2], .access_key = argv[3],
		.secret = argv[4], .token = (char *)opt(argv[5]),
		.path_style = strcmp(argv[6], "path") == 0,
	};
	if (vmie_s3_open(&c, &s, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (int i = 12; i < argc && np < 16; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq)
			*eq = '\0';
		ps[np].name = argv[i];
		ps[np++].value = eq ? eq + 1 : "";
	}
	const char *body = opt(argv[11]);
	struct vmie_s3_req rq = {
		.method = argv[8], .bucket = opt(argv[9]), .key = opt(argv[10]),
		.params = ps, .nparams = np, .body = body,
		.body_len = body ? strlen(body) : 0,
	};
	struct vmie_s3_signed sg;
	if (vmie_s3_sign(s, &rq, (time_t)atoll(argv[7]), &sg)) {
		fprintf(stderr, "cannot sign\n");
		return 1;
	}
	printf("%s\n%s\n%s\n%s\n%s\n", sg.url, sg.host, sg.amz_date,
	       sg.payload, sg.authorization);
	vmie_s3_signed_free(&sg);
	vmie_s3_close(s);
	return 0;
}
