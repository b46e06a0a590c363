/* libFuzzer target: EC2 Query decoding (lib/api/query.c) of any bytes:
 * the first line as the query string, the rest as the body; a decoded
 * request is written back through the XML encoder as if it were the
 * operation's result (exercising xml.c on hostile strings). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/query.h"
#include "api/xml.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t qlen = nl ? (size_t)(nl - s) : 0;
	const char *body = nl ? nl + 1 : s;
	size_t blen = size - (nl ? qlen + 1 : 0);
	struct vmie_query q;
	struct vmie_err err = { 0 };

	if (vmie_query_decode(nl ? s : NULL, qlen, body, blen, &q, &err) == 0) {
		char *xml = NULL;
		size_t len;
		if (vmie_xml_response(q.op, q.params, "rid", q.version, &xml,
				      &len, &err) == 0)
			free(xml);
		vmie_query_clear(&q);
	}
	return 0;
}
