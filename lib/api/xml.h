/*
 * EC2 Query responses: the JSON output shapes of lib/task as the XML the
 * AWS clients parse, and the error envelope.
 *
 * Spec: Amazon EC2 API Reference, "Query API responses" and "Error
 * codes"; botocore's EC2QueryParser (parsers.py) is the reader every
 * client in the field uses:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <ImportImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 *     <requestId>5f2c6a0e-...</requestId>
 *     <importTaskId>import-ami-0123456789abcdef0</importTaskId>
 *     <snapshotDetailSet><item><format>VMDK</format>...</item>
 *     </snapshotDetailSet>
 *     <encrypted>false</encrypted>
 *   </ImportImageResponse>
 *
 * Each member of the output shape present in the JSON goes under its XML
 * name (shapes.h), lists as <name><item>...</item></name>, booleans as
 * true/false, numbers in decimal, timestamps (ISO 8601 strings with any
 * offset, or numbers of seconds since the epoch) in UTC as EC2 writes
 * them: 2026-11-22T09:42:12.000Z.  JSON members that are not in the shape
 * (vmie's own "Vmie" object) are never written.  An operation without an
 * output shape (DeleteSnapshot, CreateTags...) answers
 * <return>true</return>, as EC2.  Text is escaped by libxml2's writer;
 * characters XML 1.0 cannot hold (C0 controls, U+FFFE, U+FFFF) are
 * written as U+FFFD.
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <Response><Errors><Error><Code>InvalidParameterValue</Code>
 *   <Message>...</Message></Error></Errors>
 *   <RequestID>5f2c6a0e-...</RequestID></Response>
 */
#ifndef VMIE_API_XML_H
#define VMIE_API_XML_H

#include <stddef.h>

#include <jansson.h>

#include "api/shapes.h"

struct vmie_err;

#define VMIE_XML_NS_PREFIX "http://ec2.amazonaws.com/doc/"
#define VMIE_XML_DEFAULT_VERSION "2016-11-15"
#define VMIE_XML_MAX_DEPTH 32

/* The response to op: *out (malloc'd, NUL-terminated, *len bytes) or a
 * negative code when result does not fit the output shape (a string
 * where a list belongs...).  version: the namespace's API version (the
 * request's Version), NULL for 2016-11-15. */
int vmie_xml_response(const struct vmie_api_op *op, const json_t *result,
		      const char *request_id, const char *version,
		      char **out, size_t *len, struct vmie_err *err);

/* The error envelope.  An empty or NULL message becomes one naming the
 * code: an answer never has an empty <Message>. */
int vmie_xml_error(const char *code, const char *message,
		   const char *request_id, char **out, size_t *len,
		   struct vmie_err *err);

#endif
