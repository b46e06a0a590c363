/*
 * XML from strangers (an OVF descriptor in an OVA, the reply of an S3
 * store): the shape of a document measured before libxml2 sees it, then
 * libxml2 run without network, DTD loading or entity substitution.
 *
 * libxml2 2.9 compares every attribute of a tag with every other and
 * builds a node for every tag, so a few MB of "<a/>" or one tag with
 * 100000 attributes cost minutes or hundreds of MB; a DOCTYPE can read
 * local files (XXE) or expand without bound ("billion laughs").  Callers
 * measure with vmie_xml_shape, refuse by their own limits, and parse with
 * vmie_xml_read, which stops at a DOCTYPE.
 */
#ifndef VMIE_CORE_XML_H
#define VMIE_CORE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct _xmlDoc;

/* What a linear scan of the text finds.  Quotes are respected inside a
 * tag; where this and libxml2 could disagree the document is not
 * well-formed and libxml2 refuses it anyway. */
struct vmie_xml_shape {
	/* in: the limits whose first crossing is noted (0: none) */
	unsigned attrs_limit;   /* attributes on one tag */
	unsigned depth_limit;   /* elements nested */
	/* out */
	uint64_t tags;          /* tags, comments, PIs and CDATA sections */
	uint64_t attrs;         /* the attributes of every tag */
	unsigned attrs_over;    /* the attributes of the first tag with more
				   than attrs_limit (0: none) ... */
	size_t attrs_over_at;   /* ... the byte where it begins */
	bool depth_over;        /* elements nested deeper than depth_limit,
				   first ... */
	size_t depth_over_at;   /* ... at this byte */
	bool decl;              /* a "<!" neither comment nor CDATA (DOCTYPE,
				   ENTITY), first ... */
	size_t decl_at;         /* ... at this byte */
};

/* Scan len bytes at p; s's limits set by the caller, the rest is
 * filled in.  Linear in len. */
void vmie_xml_shape(const char *p, size_t len, struct vmie_xml_shape *s);

/* The outcome of vmie_xml_read. */
enum {
	VMIE_XML_OK = 0,
	VMIE_XML_NOMEM,         /* no parser context */
	VMIE_XML_DOCTYPE,       /* a DOCTYPE: refused, no document */
	VMIE_XML_BAD,           /* not well-formed: msg and *line say why */
	VMIE_XML_NS,            /* a namespace prefix not declared */
};

/* Parse len bytes of buf (len < 2 GiB) with XML_PARSE_NONET, without
 * NOENT / DTDLOAD / DTDATTR / HUGE, errors kept rather than printed.  On
 * VMIE_XML_OK *doc is the document (xmlFreeDoc it); otherwise *doc is
 * NULL.  strict_ns: a prefix that is not declared is VMIE_XML_NS rather
 * than a warning. */
int vmie_xml_read(const char *buf, size_t len, bool strict_ns,
		  struct _xmlDoc **doc, char *msg, size_t msize, int *line);

#endif
