/*
 * EC2 Query decoding (lib/api/query.h): the flattening rules on the
 * requests the AWS CLI sent (../shared/protocol/raw2), and every refusal.
 * Every member of every input shape is checked against botocore's own
 * serializer in query-botocore.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/query.h"
#include "core/err.h"
#include "raw.h"

/* Decode body; the EC2 error code ("" when it decodes). */
static const char *decode(const char *query, const char *body,
			  struct vmie_query *q, struct vmie_err *err)
{
	memset(err, 0, sizeof(*err));
	int rc = vmie_query_decode(query, query ? strlen(query) : 0, body,
				   body ? strlen(body) : 0, q, err);
	if (rc == 0) {
		assert_non_null(q->params);
		return "";
	}
	assert_null(q->params);
	assert_true(err->api[0]);
	assert_true(err->msg[0]);
	return err->api;
}

static const char *code_of(const char *body)
{
	static struct vmie_err err;
	struct vmie_query q;
	const char *c = decode(NULL, body, &q, &err);
	vmie_query_clear(&q);
	return c;
}

/* The params as compact JSON with sorted keys (static buffer). */
static const char *dump(const struct vmie_query *q)
{
	static char buf[8192];
	char *s = json_dumps(q->params, JSON_SORT_KEYS | JSON_COMPACT);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

static void test_captured_import(void **state)
{
	struct raw_request r;
	struct vmie_query q;
	struct vmie_err err;
	char path[4096];
	const char *shared = getenv("SHARED");

	snprintf(path, sizeof(path), "%s/protocol/raw2/req-01-ImportImage.txt",
		 shared ? shared : "../shared");
	assert_int_equal(raw_load(path, &r), 0);
	r.body[r.body_len] = '\0';
	assert_string_equal(decode(NULL, r.body, &q, &err), "");
	assert_string_equal(q.op->name, "ImportImage");
	assert_string_equal(q.version, "2016-11-15");
	assert_string_equal(dump(&q),
		"{\"Architecture\":\"x86_64\",\"Description\":\"My server VM\","
		"\"DiskContainers\":[{\"Description\":\"disk1\",\"Format\":"
		"\"vmdk\",\"UserBucket\":{\"S3Bucket\":\"my-import-bucket\","
		"\"S3Key\":\"vms/my-server-vm.vmdk\"}}],\"LicenseType\":\"BYOL\","
		"\"Platform\":\"Linux\",\"RoleName\":\"vmimport\"}");
	vmie_query_clear(&q);
	raw_free(&r);
}

static void test_flattening(void **state)
{
	struct vmie_query q;
	struct vmie_err err;

	/* filters with several values, indexes out of order and with gaps */
	assert_string_equal(decode(NULL, "Action=DescribeImages&Version="
		"2016-11-15&Filter.3.Name=name&Filter.3.Value.1=x&Filter.1.Name"
		"=tag%3AName&Filter.1.Value.2=b&Filter.1.Value.1=a&Owner.1=self"
		"&ImageId.2=ami-2&ImageId.1=ami-1&MaxResults=5&DryRun=false"
		"&IncludeDeprecated=true", &q, &err), "");
	assert_string_equal(dump(&q),
		"{\"DryRun\":false,\"Filters\":[{\"Name\":\"tag:Name\",\"Values\":"
		"[\"a\",\"b\"]},{\"Name\":\"name\",\"Values\":[\"x\"]}],"
		"\"ImageIds\":[\"ami-1\",\"ami-2\"],\"IncludeDeprecated\":true,"
		"\"MaxResults\":5,\"Owners\":[\"self\"]}");
	vmie_query_clear(&q);

	/* tags, resources; '+' is a space, %2B a plus */
	assert_string_equal(decode(NULL, "Action=CreateTags&ResourceId.1="
		"ami-1&Tag.1.Key=Name&Tag.1.Value=a+b%2Bc&Tag.2.Key=e&"
		"Tag.2.Value=", &q, &err), "");
	assert_string_equal(dump(&q), "{\"Resources\":[\"ami-1\"],\"Tags\":"
		"[{\"Key\":\"Name\",\"Value\":\"a b+c\"},{\"Key\":\"e\","
		"\"Value\":\"\"}]}");
	vmie_query_clear(&q);

	/* nested lists of structures of lists; a structure; a query string
	 * and a body together; presigned X-Amz-* skipped */
	assert_string_equal(decode("Action=ImportImage&X-Amz-Date=x",
		"TagSpecification.1.ResourceType=import-image-task&"
		"TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v&"
		"LicenseSpecifications.1.LicenseConfigurationArn=arn%3Ax&"
		"ClientData.UploadSize=1.5e3&BootMode=uefi", &q, &err), "");
	assert_string_equal(dump(&q), "{\"BootMode\":\"uefi\",\"ClientData\":"
		"{\"UploadSize\":1500.0},\"LicenseSpecifications\":[{"
		"\"LicenseConfigurationArn\":\"arn:x\"}],\"TagSpecifications\":"
		"[{\"ResourceType\":\"import-image-task\",\"Tags\":[{\"Key\":"
		"\"k\",\"Value\":\"v\"}]}]}");
	assert_string_equal(q.version, "");
	vmie_query_clear(&q);

	/* export: a structure member */
	assert_string_equal(decode(NULL, "Action=ExportImage&ImageId=ami-1&"
		"DiskImageFormat=VMDK&S3ExportLocation.S3Bucket=b&"
		"S3ExportLocation.S3Prefix=p%2F", &q, &err), "");
	assert_string_equal(dump(&q), "{\"DiskImageFormat\":\"VMDK\","
		"\"ImageId\":\"ami-1\",\"S3ExportLocation\":{\"S3Bucket\":\"b\","
		"\"S3Prefix\":\"p/\"}}");
	vmie_query_clear(&q);

	/* the older API */
	assert_string_equal(decode(NULL, "Action=DescribeConversionTasks&"
		"ConversionTaskId.1=import-i-1", &q, &err), "");
	assert_string_equal(dump(&q), "{\"ConversionTaskIds\":"
		"[\"import-i-1\"]}");
	vmie_query_clear(&q);
	assert_string_equal(decode(NULL, "Action=DescribeImportImageTasks&"
		"ImportTaskId.1=import-ami-1&NextToken=abc", &q, &err), "");
	assert_string_equal(dump(&q), "{\"ImportTaskIds\":[\"import-ami-1\"],"
		"\"NextToken\":\"abc\"}");
	vmie_query_clear(&q);
	/* UTF-8 and tabs/newlines in a value are fine */
	assert_string_equal(decode(NULL, "Action=ImportImage&Description="
		"%C3%BC%09line%0Anext", &q, &err), "");
	vmie_query_clear(&q);
}

static void test_refusals(void **state)
{
	/* the action */
	assert_string_equal(code_of("Version=2016-11-15"), "MissingAction");
	assert_string_equal(code_of("Action="), "MissingAction");
	assert_string_equal(code_of("Action=RunInstances"), "InvalidAction");
	assert_string_equal(code_of("Action=importimage"), "InvalidAction");
	assert_string_equal(code_of("Action=ImportImage&Version=2016"),
			    "InvalidParameterValue");
	/* names */
	assert_string_equal(code_of("Action=ImportImage&Bogus=1"),
			    "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&diskContainer.1."
				    "Format=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainers.1."
				    "Format=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.1."
				    "Format.x=y"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.1=x"),
			    "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer=x"),
			    "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.0."
				    "Format=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.01."
				    "Format=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.-1."
				    "Format=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.1001."
				    "Format=x"), "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer.99999."
				    "Format=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&DiskContainer..Format"
				    "=x"), "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&Description."),
			    "UnknownParameter");
	assert_string_equal(code_of("Action=ImportImage&Descr%00iption=x"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Descr%C3%BCption=x"),
			    "InvalidParameterValue");
	/* twice, in the body or across the query string and the body */
	assert_string_equal(code_of("Action=ImportImage&Description=a&"
				    "Description=b"), "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Action=ImportImage"),
			    "InvalidParameterValue");
	struct vmie_query q;
	struct vmie_err err;
	assert_string_equal(decode("Description=a", "Action=ImportImage&"
				   "Description=b", &q, &err),
			    "InvalidParameterValue");
	/* values */
	assert_string_equal(code_of("Action=ImportImage&Description=a%00b"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Description=%C3%28"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Description=%ED%A0%80"),
			    "InvalidParameterValue");   /* a surrogate */
	assert_string_equal(code_of("Action=ImportImage&Description=%C0%AF"),
			    "InvalidParameterValue");   /* overlong '/' */
	assert_string_equal(code_of("Action=ImportImage&Description=%01"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Description=%7F"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Description=%4"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Description=%G1"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&Description=%"),
			    "InvalidParameterValue");
	/* typed members */
	assert_string_equal(code_of("Action=DescribeImages&MaxResults=x"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=DescribeImages&MaxResults="),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=DescribeImages&MaxResults=5.0"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=DescribeImages&MaxResults="
				    "2147483648"), "InvalidParameterValue");
	assert_string_equal(code_of("Action=DescribeImages&MaxResults="
				    "99999999999999999999"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=DescribeImages&MaxResults=-5"), "");
	assert_string_equal(code_of("Action=DescribeImages&DryRun=yes"),
			    "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&ClientData.UploadSize"
				    "=nan"), "InvalidParameterValue");
	assert_string_equal(code_of("Action=ImportImage&ClientData.UploadSize"
				    "=1e999"), "InvalidParameterValue");
	/* required members */
	assert_string_equal(code_of("Action=DeleteSnapshot"),
			    "MissingParameter");
	assert_string_equal(code_of("Action=ExportImage&ImageId=ami-1"),
			    "MissingParameter");
	/* the message never carries a long value */
	memset(&err, 0, sizeof(err));
	char body[600] = "Action=DescribeImages&MaxResults=";
	memset(body + strlen(body), '9', 400);
	assert_string_equal(decode(NULL, body, &q, &err),
			    "InvalidParameterValue");
	assert_true(strlen(err.msg) < 200);
}

static void test_bounds(void **state)
{
	struct vmie_query q;
	struct vmie_err err;
	size_t cap = 2 * 1024 * 1024;
	char *b = malloc(cap);

	/* too many parameters */
	size_t n = (size_t)snprintf(b, cap, "Action=CreateTags");
	for (int i = 1; i <= VMIE_QUERY_MAX_PARAMS; i++)
		n += (size_t)snprintf(b + n, cap - n, "&ResourceId.%d=r",
				      (i % 1000) + 1);
	assert_string_equal(decode(NULL, b, &q, &err), "InvalidParameterValue");
	assert_non_null(strstr(err.msg, "parameters"));
	/* a value too long */
	n = (size_t)snprintf(b, cap, "Action=ImportImage&Description=");
	memset(b + n, 'a', VMIE_QUERY_MAX_VALUE + 1);
	b[n + VMIE_QUERY_MAX_VALUE + 1] = '\0';
	assert_string_equal(decode(NULL, b, &q, &err), "InvalidParameterValue");
	/* just within */
	b[n + VMIE_QUERY_MAX_VALUE] = '\0';
	assert_string_equal(decode(NULL, b, &q, &err), "");
	vmie_query_clear(&q);
	/* the whole input too large */
	memset(b, 'a', VMIE_QUERY_MAX_INPUT + 1);
	assert_int_equal(vmie_query_decode(NULL, 0, b, VMIE_QUERY_MAX_INPUT + 1,
					   &q, &err), VMIE_EINVAL);
	/* 1000 list elements are fine */
	n = (size_t)snprintf(b, cap, "Action=DescribeImages");
	for (int i = 1000; i >= 1; i--)
		n += (size_t)snprintf(b + n, cap - n, "&ImageId.%d=ami-%d", i, i);
	assert_string_equal(decode(NULL, b, &q, &err), "");
	json_t *ids = json_object_get(q.params, "ImageIds");
	assert_int_equal(json_array_size(ids), 1000);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), "ami-1");
	assert_string_equal(json_string_value(json_array_get(ids, 999)),
			    "ami-1000");
	vmie_query_clear(&q);
	free(b);
}

static void test_every_operation(void **state)
{
	static const char *ops[] = {
		"ImportImage", "ImportSnapshot", "DescribeImportImageTasks",
		"DescribeImportSnapshotTasks", "CancelImportTask", "ExportImage",
		"DescribeExportImageTasks", "CreateInstanceExportTask",
		"DescribeExportTasks", "CancelExportTask", "DescribeImages",
		"DeregisterImage", "DescribeSnapshots", "DeleteSnapshot",
		"CreateTags", "DeleteTags", "DescribeTags", "ImportInstance",
		"ImportVolume", "DescribeConversionTasks",
		"CancelConversionTask",
	};
	assert_int_equal(vmie_api_nops, sizeof(ops) / sizeof(*ops));
	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++) {
		const struct vmie_api_op *op = vmie_api_op_find(ops[i]);
		assert_non_null(op);
		assert_true(op->input < vmie_api_nshapes);
		assert_int_equal(vmie_api_shapes[op->input].type,
				 VMIE_API_STRUCT);
	}
	assert_null(vmie_api_op_find("RunInstances"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_import),
		cmocka_unit_test(test_flattening),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_every_operation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
