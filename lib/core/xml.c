/*
 * XML from strangers (xml.h).
 *
 * Spec: XML 1.0 (Fifth Edition) sections 2.5 comments, 2.6 processing
 * instructions, 2.7 CDATA sections, 2.8 the document type declaration;
 * libxml2's parser options (xmlParserOption) and SAX2 internalSubset /
 * externalSubset handlers.
 */
#include "xml.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

void vmie_xml_shape(const char *p, size_t len, struct vmie_xml_shape *s)
{
	const char *start = p, *end = p + len;
	unsigned depth = 0;

	s->tags = s->attrs = 0;
	s->attrs_over = 0;
	s->depth_over = s->decl = false;
	s->attrs_over_at = s->depth_over_at = s->decl_at = 0;
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt)
			break;
		size_t rest = (size_t)(end - lt), at = (size_t)(lt - start);
		char c1 = rest >= 2 ? lt[1] : '\0';
		const char *close = NULL;
		s->tags++;
		if (rest >= 4 && !memcmp(lt, "<!--", 4))
			close = "-->";
		else if (rest >= 9 && !memcmp(lt, "<![CDATA[", 9))
			close = "]]>";
		else if (c1 == '?')
			close = "?>";
		else if (c1 == '!' && !s->decl)
			s->decl = true, s->decl_at = at;
		if (close) {
			const char *e = memmem(lt + 2, rest - 2, close,
					       strlen(close));
			p = e ? e + strlen(close) : end;
			continue;
		}
		unsigned attrs = 0;
		char quote = 0;
		const char *q = lt + 1;
		for (; q < end; q++) {
			if (quote) {
				if (*q == quote)
					quote = 0;
			} else if (*q == '"' || *q == '\'') {
				quote = *q;
			} else if (*q == '=') {
				attrs++;
			} else if (*q == '>') {
				break;
			}
		}
		s->attrs += attrs;
		if (s->attrs_limit && attrs > s->attrs_limit && !s->attrs_over)
			s->attrs_over = attrs, s->attrs_over_at = at;
		if (c1 == '/') {
			if (depth)
				depth--;
		} else if (c1 != '!' && q < end && q[-1] != '/' &&
			   ++depth > s->depth_limit && s->depth_limit &&
			   !s->depth_over) {
			s->depth_over = true;
			s->depth_over_at = at;
		}
		p = q < end ? q + 1 : end;
	}
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static void xml_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
			const xmlChar *sys_id)
{
	xmlParserCtxtPtr p = ctx;
	(void)name, (void)ext_id, (void)sys_id;
	*(bool *)p->_private = true;
	xmlStopParser(p);
}

int vmie_xml_read(const char *buf, size_t len, bool strict_ns,
		  struct _xmlDoc **out, char *msg, size_t msize, int *line)
{
	bool doctype = false;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	int r = VMIE_XML_OK;

	*out = NULL;
	*line = 0;
	if (msize)
		snprintf(msg, msize, "not well-formed");
	if (len > 0x7fffffff)
		return VMIE_XML_BAD;
	pthread_once(&xml_once, xml_init);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return VMIE_XML_NOMEM;
	ctxt->_private = &doctype;
	ctxt->sax->internalSubset = xml_doctype;
	ctxt->sax->externalSubset = xml_doctype;
	/* No XML_PARSE_NOENT (no entity substitution), no XML_PARSE_DTDLOAD /
	 * DTDATTR / DTDVALID, no XML_PARSE_HUGE, no network. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (doctype || (doc && (doc->intSubset || doc->extSubset))) {
		r = VMIE_XML_DOCTYPE;
	} else if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		if (e && e->message && msize) {
			snprintf(msg, msize, "%s", e->message);
			size_t ml = strlen(msg);
			while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
				msg[--ml] = '\0';
		}
		*line = e ? e->line : 0;
		r = VMIE_XML_BAD;
	} else if (strict_ns && !ctxt->nsWellFormed) {
		r = VMIE_XML_NS;
	}
	if (r && doc)
		xmlFreeDoc(doc);
	else
		*out = doc;
	xmlFreeParserCtxt(ctxt);
	return r;
}
