/* libFuzzer target: the XML encoder (lib/api/xml.c) on any JSON, as the
 * result of every operation, and the error envelope on any text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/shapes.h"
#include "api/xml.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_err err = { 0 };
	char *xml;
	size_t len;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (vmie_xml_error("Code", text, "rid", &xml, &len, &err) == 0)
		free(xml);
	free(text);
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	for (size_t i = 0; i < vmie_api_nops; i++)
		if (vmie_xml_response(&vmie_api_ops[i], j, "rid", NULL, &xml,
				      &len, &err) == 0)
			free(xml);
	json_decref(j);
	return 0;
}
