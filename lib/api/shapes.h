/*
 * The EC2 API operations vmie serves, as tables of botocore shapes.
 *
 * api_shapes.c is generated at build time by gen_shapes.py from botocore's
 * ec2 service model (botocore/data/ec2/2016-11-15/service-2.json): for each
 * operation of the list in gen_shapes.py, its input and output shapes and
 * every shape they reach.  The Query decoder (query.c) walks the input
 * shapes to turn "DiskContainer.1.UserBucket.S3Bucket=b" into
 * {"DiskContainers": [{"UserBucket": {"S3Bucket": "b"}}]}; the XML encoder
 * (xml.c) walks the output shapes to write each member under its XML name.
 *
 * Names, per the EC2 protocol (botocore serialize.py EC2Serializer and
 * parsers.py EC2QueryParser):
 *   name   the member name in the JSON shapes ("DiskContainers")
 *   query  its Query wire name: the member's locationName with the first
 *          letter upper-cased, else the member name ("DiskContainer");
 *          lists are always flattened on the wire: "DiskContainer.1.Format"
 *   xml    its element name in responses: the locationName, else the
 *          member name ("importImageTaskSet"); list elements are
 *          <item> (the list's member locationName, else "member")
 */
#ifndef VMIE_API_SHAPES_H
#define VMIE_API_SHAPES_H

#include <stddef.h>
#include <stdint.h>

enum vmie_api_type {
	VMIE_API_STRUCT,
	VMIE_API_LIST,
	VMIE_API_STRING,
	VMIE_API_INTEGER,     /* 32-bit signed */
	VMIE_API_LONG,        /* 64-bit signed */
	VMIE_API_BOOLEAN,
	VMIE_API_DOUBLE,      /* double and float */
	VMIE_API_TIMESTAMP,   /* ISO 8601 on the wire */
};

#define VMIE_API_NONE UINT16_MAX   /* no shape (an operation without output) */

struct vmie_api_shape {
	const char *name;      /* botocore shape name, "ImportImageRequest" */
	uint8_t type;          /* enum vmie_api_type */
	uint16_t first;        /* STRUCT: index of its first member */
	uint16_t count;        /* STRUCT: number of members */
	uint16_t elem;         /* LIST: shape of the elements */
	const char *item;      /* LIST: XML element name of each element */
};

struct vmie_api_member {
	const char *name;      /* JSON member name, "DiskContainers" */
	const char *query;     /* Query wire name, "DiskContainer" */
	const char *xml;       /* XML element name, "diskContainer" */
	uint16_t shape;        /* index in vmie_api_shapes */
	uint8_t required;      /* botocore "required" */
};

struct vmie_api_op {
	const char *name;      /* "ImportImage" */
	uint16_t input;        /* shape index */
	uint16_t output;       /* shape index, or VMIE_API_NONE */
};

extern const struct vmie_api_shape vmie_api_shapes[];
extern const size_t vmie_api_nshapes;
extern const struct vmie_api_member vmie_api_members[];
extern const struct vmie_api_op vmie_api_ops[];
extern const size_t vmie_api_nops;

/* The operation named name (case-sensitive, as EC2), or NULL. */
const struct vmie_api_op *vmie_api_op_find(const char *name);

#endif
