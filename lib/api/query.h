/*
 * Decoding EC2 Query requests into the JSON input shapes of lib/task.
 *
 * Spec: Amazon EC2 API Reference, "Making API requests: Query requests"
 * and botocore's EC2 serializer (serialize.py EC2Serializer), which is
 * what every client in the field speaks:
 *
 *   Action=ImportImage&Version=2016-11-15
 *   &DiskContainer.1.Format=vmdk
 *   &DiskContainer.1.UserBucket.S3Bucket=my-import-bucket
 *   &DiskContainer.1.UserBucket.S3Key=vms%2Fa.vmdk&DryRun=true
 *
 * becomes ("ImportImage", {"DiskContainers": [{"Format": "vmdk",
 * "UserBucket": {"S3Bucket": "my-import-bucket", "S3Key": "vms/a.vmdk"}}],
 * "DryRun": true}).  The walk is driven by the shape tables (shapes.h):
 * a structure member is found by its Query wire name, a list takes an
 * index ".N" (1..VMIE_QUERY_MAX_INDEX; the elements keep the order of
 * their indexes, gaps closed), integers, longs, doubles and booleans are
 * typed, strings and timestamps stay strings.
 *
 * Refusals, as EC2's (the code in err->api, the message names the
 * parameter and never holds more than a bounded prefix of a value):
 *   MissingAction / InvalidAction     no Action / not one we serve
 *   UnknownParameter                  a name no member matches
 *   InvalidParameterValue             a malformed escape, a NUL, invalid
 *                                     UTF-8, a control character, an
 *                                     integer or boolean that is not one,
 *                                     a parameter given twice, a value
 *                                     or list index too large
 *   MissingParameter                  a required member is absent
 *                                     (top level only, as EC2 reports)
 * Parameters X-Amz-* (a presigned signature) are skipped, as are
 * Action and Version.
 */
#ifndef VMIE_API_QUERY_H
#define VMIE_API_QUERY_H

#include <stddef.h>

#include <jansson.h>

#include "api/shapes.h"

struct vmie_err;

#define VMIE_QUERY_MAX_PARAMS  4096          /* name=value pairs */
#define VMIE_QUERY_MAX_NAME    512           /* bytes of a decoded name */
#define VMIE_QUERY_MAX_VALUE   (64 * 1024)   /* bytes of a decoded value */
#define VMIE_QUERY_MAX_INDEX   1000          /* N in Name.N */
#define VMIE_QUERY_MAX_INPUT   (1024 * 1024) /* bytes of each input */

struct vmie_query {
	const struct vmie_api_op *op;   /* the action */
	char version[16];               /* "2016-11-15", or "" when absent */
	json_t *params;                 /* the input shape; caller frees */
};

/* Decode the parameters of a request: the form-encoded body and/or the
 * query string (either may be NULL; a name in both is refused as given
 * twice).  0 and *out, or a negative code with err->api set. */
int vmie_query_decode(const char *query, size_t query_len,
		      const char *body, size_t body_len,
		      struct vmie_query *out, struct vmie_err *err);

/* Free out->params. */
void vmie_query_clear(struct vmie_query *out);

#endif
