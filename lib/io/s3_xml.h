/*
 * Reading the XML of S3 replies with libxml2 (s3_xml.c).
 *
 * Replies come from the network, so a body is refused before libxml2 sees
 * it when it is larger than VMIE_S3_XML_MAX_BYTES, has more than
 * VMIE_S3_XML_MAX_TAGS tags (elements, comments, CDATA sections...), a tag
 * with more than VMIE_S3_XML_MAX_ATTRS attributes, elements nested more
 * than VMIE_S3_XML_MAX_DEPTH deep, or any DOCTYPE or other "<!"
 * declaration (entities: XXE, "billion laughs").  libxml2 then runs with
 * XML_PARSE_NONET, without XML_PARSE_NOENT / DTDLOAD / DTDATTR, errors
 * collected rather than printed, and a DOCTYPE stops it (a SAX hook).
 *
 * Names are compared without their namespace: S3 answers in
 * http://s3.amazonaws.com/doc/2006-03-01/ (its Error body in none), other
 * servers may differ.
 */
#ifndef VMIE_IO_S3_XML_H
#define VMIE_IO_S3_XML_H

#include <stddef.h>

struct vmie_err;
struct vmie_s3_xml;
struct _xmlNode;            /* libxml2's xmlNode: an element of the reply */

#define VMIE_S3_XML_MAX_BYTES (16u << 20)  /* the body the client keeps */
/* a page of 1000 listed uploads or objects has about 22000 tags */
#define VMIE_S3_XML_MAX_TAGS  100000
#define VMIE_S3_XML_MAX_ATTRS 16
#define VMIE_S3_XML_MAX_DEPTH 32

/* Parse body (len bytes; leading white space, which S3 sends while it
 * completes a multipart upload, is skipped).  VMIE_EIO "<what>: ..."
 * naming the problem when it is not a well-formed reply within the
 * limits above. */
int vmie_s3_xml_parse(const char *body, size_t len, const char *what,
		      struct vmie_s3_xml **out, struct vmie_err *err);
void vmie_s3_xml_free(struct vmie_s3_xml *x);

/* The local name of the root element ("Error", "ListBucketResult"). */
const char *vmie_s3_xml_root_name(const struct vmie_s3_xml *x);

/* The results of vmie_s3_xml_find and vmie_s3_xml_child. */
enum {
	VMIE_S3_XML_ABSENT = 0,   /* no such element ("" in out) */
	VMIE_S3_XML_FOUND = 1,    /* its text is in out */
	VMIE_S3_XML_LONG = -1,    /* its text did not fit: out holds the
				     first size - 1 bytes */
};

/* The text (entities decoded) of the first element named name in
 * document order, the root included. */
int vmie_s3_xml_find(const struct vmie_s3_xml *x, const char *name,
		     char *out, size_t size);

/* The root's children named name, one after another: after NULL gives
 * the first, then pass the previous one; NULL at the end. */
const struct _xmlNode *vmie_s3_xml_each(const struct vmie_s3_xml *x,
					const struct _xmlNode *after,
					const char *name);

/* The text of el's first child element named name. */
int vmie_s3_xml_child(const struct _xmlNode *el, const char *name,
		      char *out, size_t size);

#endif
