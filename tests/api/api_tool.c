/*
 * Test helper: the lib/api layers from the command line, so that Python
 * tests can check them against botocore.
 *
 *   api_tool verify NOW KEY=SECRET[=TOKEN]... -- FILE...
 *       verify captured requests (raw.h format) at time NOW (seconds
 *       since the epoch; "date" for each request's own X-Amz-Date);
 *       regions us-east-1, eu-west-1; one line per file:
 *       "OK AKID REGION" or "ERR CODE MESSAGE"
 *   api_tool encode ACTION REQUEST-ID < result.json   the XML response
 *   api_tool error CODE MESSAGE REQUEST-ID            the error envelope
 *   api_tool decode [QUERY] < body                    the decoded request
 *       as {"Action": ..., "Version": ..., "Params": {...}} or
 *       {"Error": CODE, "Message": ...}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/query.h"
#include "api/shapes.h"
#include "api/sigv4.h"
#include "api/xml.h"
#include "core/err.h"
#include "core/util.h"
#include "raw.h"

struct tool_key {
	char *akid, *secret, *token;
};

struct tool_keys {
	struct tool_key *v;
	size_t n;
};

static int tool_lookup(void *ctx, const char *akid,
		       struct vmie_sigv4_secret *out)
{
	struct tool_keys *k = ctx;

	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->v[i].akid, akid))
			continue;
		vmie_strlcpy(out->secret, k->v[i].secret, sizeof(out->secret));
		if (k->v[i].token)
			vmie_strlcpy(out->session_token, k->v[i].token,
				     sizeof(out->session_token));
		return 0;
	}
	return VMIE_ENOENT;
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int cmd_verify(int argc, char **argv)
{
	static const char *regions[] = { "us-east-1", "eu-west-1" };
	struct tool_keys keys = { calloc((size_t)argc, sizeof(struct tool_key)),
				  0 };
	int i = 3;

	for (; i < argc && strcmp(argv[i], "--"); i++) {
		struct tool_key *k = &keys.v[keys.n++];
		k->akid = argv[i];
		k->secret = strchr(argv[i], '=');
		if (!k->secret)
			return 2;
		*k->secret++ = '\0';
		k->token = strchr(k->secret, '=');
		if (k->token)
			*k->token++ = '\0';
	}
	struct vmie_sigv4_config cfg = {
		.regions = regions, .nregions = 2, .service = "ec2",
		.lookup = tool_lookup, .lookup_ctx = &keys,
	};
	for (i++; i < argc; i++) {
		struct raw_request r;
		struct vmie_sigv4_request req;
		struct vmie_sigv4_result res;
		struct vmie_err err = { 0 };
		if (raw_load(argv[i], &r) != 0) {
			printf("ERR Unreadable %s\n", argv[i]);
			continue;
		}
		time_t now = strcmp(argv[2], "date") == 0 ? r.date :
			(time_t)strtoll(argv[2], NULL, 10);
		raw_to_sigv4(&r, now, &req);
		if (vmie_sigv4_verify(&cfg, &req, &res, &err) == 0)
			printf("OK %s %s%s\n", res.access_key, res.region,
			       res.presigned ? " presigned" : "");
		else
			printf("ERR %s %s\n", err.api, err.msg);
		raw_free(&r);
	}
	free(keys.v);
	return 0;
}

static int cmd_encode(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	json_error_t jerr;
	char *xml;
	size_t len;

	if (argc < 4)
		return 2;
	const struct vmie_api_op *op = vmie_api_op_find(argv[2]);
	if (!op) {
		fprintf(stderr, "unknown action %s\n", argv[2]);
		return 2;
	}
	json_t *j = json_loadf(stdin, 0, &jerr);
	if (!j) {
		fprintf(stderr, "bad JSON: %s\n", jerr.text);
		return 2;
	}
	int rc = vmie_xml_response(op, j, argv[3], NULL, &xml, &len, &err);
	json_decref(j);
	if (rc) {
		fprintf(stderr, "encode: %s\n", err.msg);
		return 1;
	}
	fwrite(xml, 1, len, stdout);
	free(xml);
	return 0;
}

static int cmd_error(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	char *xml;
	size_t len;

	if (argc < 5)
		return 2;
	if (vmie_xml_error(argv[2], argv[3], argv[4], &xml, &len, &err))
		return 1;
	fwrite(xml, 1, len, stdout);
	free(xml);
	return 0;
}

static int cmd_decode(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	struct vmie_query q;
	size_t blen;
	char *body = read_all(stdin, &blen);
	const char *query = argc > 2 ? argv[2] : NULL;
	json_t *out;

	if (!body)
		return 2;
	if (vmie_query_decode(query, query ? strlen(query) : 0,
			      blen ? body : NULL, blen, &q, &err) == 0) {
		out = json_pack("{s:s, s:s, s:O}", "Action", q.op->name,
				"Version", q.version, "Params", q.params);
		vmie_query_clear(&q);
	} else {
		out = json_pack("{s:s, s:s}", "Error", err.api, "Message",
				err.msg);
	}
	free(body);
	if (!out)
		return 1;
	json_dumpf(out, stdout, JSON_SORT_KEYS | JSON_INDENT(1));
	putchar('\n');
	json_decref(out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "encode") == 0)
		return cmd_encode(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "error") == 0)
		return cmd_error(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "decode") == 0)
		return cmd_decode(argc, argv);
	fprintf(stderr, "usage: api_tool verify|encode|error|decode ...\n");
	return 2;
}
