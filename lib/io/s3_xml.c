/*
 * S3 replies read with libxml2 (s3_xml.h): measured and parsed by
 * core/xml.c (no network, DTD or entity substitution), then looked up
 * by local name.
 *
 * Spec: Amazon S3 API Reference, the response syntax of
 * CreateMultipartUpload (InitiateMultipartUploadResult),
 * CompleteMultipartUpload, ListMultipartUploads
 * (ListMultipartUploadsResult/Upload), ListObjectsV2
 * (ListBucketResult/Contents) and "Error responses" (Error: Code,
 * Message, Resource, RequestId).
 */
#include "s3_xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "../core/err.h"
#include "../core/xml.h"

struct vmie_s3_xml {
	xmlDocPtr doc;
	xmlNode *root;
};

/* nodes a walk may visit: every tag gives an element or a comment and at
 * most one text node after it */
#define S3X_MAX_WALK (2u * VMIE_S3_XML_MAX_TAGS + 2u)

static bool s3x_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int vmie_s3_xml_parse(const char *body, size_t len, const char *what,
		      struct vmie_s3_xml **out, struct vmie_err *err)
{
	struct vmie_xml_shape sh = { .attrs_limit = VMIE_S3_XML_MAX_ATTRS,
				     .depth_limit = VMIE_S3_XML_MAX_DEPTH };
	xmlDocPtr doc = NULL;
	char msg[200];
	int line;

	*out = NULL;
	if (len > VMIE_S3_XML_MAX_BYTES)
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply is %zu bytes, "
				"more than the %u MiB an S3 reply may have",
				what, len, VMIE_S3_XML_MAX_BYTES >> 20);
	if (!body)
		len = 0;
	while (len && s3x_space(*body))
		body++, len--;
	if (!len)
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply is empty "
				"(XML expected)", what);
	if (memchr(body, '\0', len))
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply is not XML (it "
				"holds a NUL byte)", what);
	vmie_xml_shape(body, len, &sh);
	if (sh.decl)
		return VMIE_ERR(err, VMIE_EPERM, "%s: the reply has a DOCTYPE "
				"or entity declaration at byte %zu: refused "
				"(DTDs and entities can read local files or "
				"expand without bound)", what, sh.decl_at);
	if (sh.tags > VMIE_S3_XML_MAX_TAGS)
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply has more than %d "
				"XML tags: refused", what,
				VMIE_S3_XML_MAX_TAGS);
	if (sh.attrs_over)
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply has a tag with %u "
				"attributes at byte %zu (limit %d): refused",
				what, sh.attrs_over, sh.attrs_over_at,
				VMIE_S3_XML_MAX_ATTRS);
	if (sh.depth_over)
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply nests elements "
				"more than %d deep (at byte %zu): refused",
				what, VMIE_S3_XML_MAX_DEPTH, sh.depth_over_at);

	switch (vmie_xml_read(body, len, true, &doc, msg, sizeof(msg), &line)) {
	case VMIE_XML_OK:
		break;
	case VMIE_XML_NOMEM:
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	case VMIE_XML_DOCTYPE:
		return VMIE_ERR(err, VMIE_EPERM, "%s: the reply has a DOCTYPE "
				"declaration: refused (DTDs and entities can "
				"read local files or expand without bound)",
				what);
	case VMIE_XML_NS:
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply is not valid "
				"XML: it uses a namespace prefix it does not "
				"declare", what);
	default:
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply is not valid XML "
				"(line %d): %s", what, line, msg);
	}
	xmlNode *root = xmlDocGetRootElement(doc);
	if (!root) {
		xmlFreeDoc(doc);
		return VMIE_ERR(err, VMIE_EIO, "%s: the reply has no XML "
				"element", what);
	}
	struct vmie_s3_xml *x = calloc(1, sizeof(*x));
	if (!x) {
		xmlFreeDoc(doc);
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	}
	x->doc = doc;
	x->root = root;
	*out = x;
	return 0;
}

void vmie_s3_xml_free(struct vmie_s3_xml *x)
{
	if (!x)
		return;
	xmlFreeDoc(x->doc);
	free(x);
}

const char *vmie_s3_xml_root_name(const struct vmie_s3_xml *x)
{
	return (const char *)x->root->name;
}

static bool s3x_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name &&
	       strcmp((const char *)n->name, name) == 0;
}

/* The element's own text (its text and CDATA children) into out. */
static int s3x_text(const xmlNode *el, char *out, size_t size)
{
	size_t o = 0;
	bool long_ = false;

	if (!size)
		return VMIE_S3_XML_LONG;
	for (const xmlNode *c = el->children; c; c = c->next) {
		if ((c->type != XML_TEXT_NODE &&
		     c->type != XML_CDATA_SECTION_NODE) || !c->content)
			continue;
		size_t l = strlen((const char *)c->content);
		if (l > size - 1 - o) {
			l = size - 1 - o;
			long_ = true;
		}
		memcpy(out + o, c->content, l);
		o += l;
	}
	out[o] = '\0';
	return long_ ? VMIE_S3_XML_LONG : VMIE_S3_XML_FOUND;
}

int vmie_s3_xml_find(const struct vmie_s3_xml *x, const char *name,
		     char *out, size_t size)
{
	const xmlNode *n = x->root;
	unsigned long walked = 0;

	if (size)
		out[0] = '\0';
	/* document order without recursion */
	while (n && ++walked <= S3X_MAX_WALK) {
		if (s3x_is(n, name))
			return s3x_text(n, out, size);
		if (n->children && n->type == XML_ELEMENT_NODE) {
			n = n->children;
			continue;
		}
		while (n != x->root && !n->next)
			n = n->parent;
		if (n == x->root)
			break;
		n = n->next;
	}
	return VMIE_S3_XML_ABSENT;
}

const struct _xmlNode *vmie_s3_xml_each(const struct vmie_s3_xml *x,
					const struct _xmlNode *after,
					const char *name)
{
	const xmlNode *n = after ? after->next : x->root->children;
	for (; n; n = n->next)
		if (s3x_is(n, name))
			return n;
	return NULL;
}

int vmie_s3_xml_child(const struct _xmlNode *el, const char *name,
		      char *out, size_t size)
{
	if (size)
		out[0] = '\0';
	for (const xmlNode *c = el->children; c; c = c->next)
		if (s3x_is(c, name))
			return s3x_text(c, out, size);
	return VMIE_S3_XML_ABSENT;
}
