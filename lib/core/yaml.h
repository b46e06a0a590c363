/*
 * Bounded YAML documents (libyaml), for what a guest holds (netplan):
 * the loader refuses, in an event pass before anything is built, a
 * document of more than VMIE_YAML_MAX_EVENTS events, VMIE_YAML_MAX_DEPTH
 * levels, or VMIE_YAML_MAX_ANCHORS anchors or aliases (each); a walk
 * (struct vmie_yaml_walk) looks at VMIE_YAML_MAX_VISITS pairs and items
 * at most, as libyaml resolves an alias to its anchored node and a walk
 * of a few aliased mappings can be far longer than the text.
 * Used by lib/inspect (parse_net.c) and lib/modify (edit_net.c).
 */
#ifndef VMIE_CORE_YAML_H
#define VMIE_CORE_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#define VMIE_YAML_MAX_EVENTS  100000
#define VMIE_YAML_MAX_DEPTH   64
#define VMIE_YAML_MAX_ANCHORS 1000
#define VMIE_YAML_MAX_VISITS  1000000

/* Load the first document of text: 0 (the caller deletes *doc), 1 when
 * it is not YAML or over a limit, 2 when it is empty (only comments),
 * VMIE_ENOMEM. */
int vmie_yaml_load(const char *text, size_t len, yaml_document_t *doc);

/* A walk over a loaded document, within the visit budget. */
struct vmie_yaml_walk {
	yaml_document_t *doc;
	unsigned long visits;   /* left: VMIE_YAML_MAX_VISITS to start */
};

/* Node i of the document (NULL when out of range). */
yaml_node_t *vmie_yaml_node(struct vmie_yaml_walk *w, int i);
/* A scalar's text, NULL for another node or NULL. */
const char *vmie_yaml_str(const yaml_node_t *n);
/* The value of key in mapping m (the last one wins), or NULL. */
yaml_node_t *vmie_yaml_get(struct vmie_yaml_walk *w, yaml_node_t *m,
			   const char *key);
/* YAML 1.1 true: true, yes, on, y (any case). */
bool vmie_yaml_true(const char *v);

/* The pairs of mapping m / the items of sequence s, within the walk's
 * budget (m and s are evaluated more than once: pass a variable). */
#define VMIE_YAML_PAIRS(w, m, pr) \
	for (yaml_node_pair_t *pr = (m) && (m)->type == YAML_MAPPING_NODE ? \
	     (m)->data.mapping.pairs.start : NULL; \
	     pr && pr < (m)->data.mapping.pairs.top && (w)->visits && \
	     ((w)->visits--, true); pr++)
#define VMIE_YAML_ITEMS(w, s, it) \
	for (yaml_node_item_t *it = (s) && (s)->type == YAML_SEQUENCE_NODE ? \
	     (s)->data.sequence.items.start : NULL; \
	     it && it < (s)->data.sequence.items.top && (w)->visits && \
	     ((w)->visits--, true); it++)

#endif
