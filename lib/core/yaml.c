/* Bounded YAML documents: see yaml.h. */
#include "core/yaml.h"
#include "core/err.h"

#include <strings.h>
#include <string.h>

/* The event pass: 0 within the limits, 1 not YAML or over a limit,
 * VMIE_ENOMEM. */
static int yaml_prescan(const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned long events = 0;
	unsigned depth = 0, anchors = 0, aliases = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return VMIE_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		const yaml_char_t *anchor = NULL;
		if (!yaml_parser_parse(&p, &ev)) {
			int rc = p.error == YAML_MEMORY_ERROR ? VMIE_ENOMEM : 1;
			yaml_parser_delete(&p);
			return rc;
		}
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			depth++;
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			break;
		case YAML_ALIAS_EVENT:
			aliases++;
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (anchor)
			anchors++;
		yaml_event_delete(&ev);
		if (++events > VMIE_YAML_MAX_EVENTS ||
		    depth > VMIE_YAML_MAX_DEPTH ||
		    anchors > VMIE_YAML_MAX_ANCHORS ||
		    aliases > VMIE_YAML_MAX_ANCHORS) {
			yaml_parser_delete(&p);
			return 1;
		}
	}
	yaml_parser_delete(&p);
	return 0;
}

int vmie_yaml_load(const char *text, size_t len, yaml_document_t *doc)
{
	yaml_parser_t p;
	int rc = yaml_prescan(text, len);

	if (rc)
		return rc;
	if (!yaml_parser_initialize(&p))
		return VMIE_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, doc)) {
		rc = p.error == YAML_MEMORY_ERROR ? VMIE_ENOMEM : 1;
		yaml_parser_delete(&p);
		return rc;
	}
	yaml_parser_delete(&p);
	if (!yaml_document_get_root_node(doc)) {
		yaml_document_delete(doc);
		return 2;
	}
	return 0;
}

yaml_node_t *vmie_yaml_node(struct vmie_yaml_walk *w, int i)
{
	return yaml_document_get_node(w->doc, i);
}

const char *vmie_yaml_str(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ?
	       (const char *)n->data.scalar.value : NULL;
}

yaml_node_t *vmie_yaml_get(struct vmie_yaml_walk *w, yaml_node_t *m,
			   const char *key)
{
	yaml_node_t *r = NULL;

	VMIE_YAML_PAIRS(w, m, pr) {
		const char *k = vmie_yaml_str(vmie_yaml_node(w, pr->key));
		if (k && !strcmp(k, key))
			r = vmie_yaml_node(w, pr->value);   /* the last wins */
	}
	return r;
}

bool vmie_yaml_true(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
		     !strcasecmp(v, "on") || !strcasecmp(v, "y"));
}
