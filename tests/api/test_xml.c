/*
 * EC2 XML responses (lib/api/xml.h): the exact bytes for a small result
 * and an error, escaping, characters XML cannot hold, and results that do
 * not fit their shape.  Every output shape is parsed back by botocore in
 * xml-botocore.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/xml.h"
#include "core/err.h"

#define RID "5f2c6a0e-0000-4000-8000-000000000000"

static char *encode(const char *op, const char *json, struct vmie_err *err)
{
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);
	char *out = NULL;
	size_t len = 0;

	assert_non_null(j);
	memset(err, 0, sizeof(*err));
	int rc = vmie_xml_response(vmie_api_op_find(op), j, RID, NULL, &out,
				   &len, err);
	json_decref(j);
	if (rc) {
		assert_null(out);
		return NULL;
	}
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_cancel_exact(void **state)
{
	struct vmie_err err;
	char *x = encode("CancelImportTask", "{\"ImportTaskId\":\"import-ami-1\","
			 "\"PreviousState\":\"active\",\"State\":\"deleting\","
			 "\"Vmie\":{\"Owner\":\"h\"}}", &err);
	assert_non_null(x);
	assert_string_equal(x,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<CancelImportTaskResponse xmlns=\"http://ec2.amazonaws.com/doc/"
		"2016-11-15/\"><requestId>" RID "</requestId><importTaskId>"
		"import-ami-1</importTaskId><previousState>active</previousState>"
		"<state>deleting</state></CancelImportTaskResponse>\n");
	free(x);
}

static void test_types(void **state)
{
	struct vmie_err err;
	char *x = encode("ImportImage", "{\"Encrypted\":true,\"Progress\":\"7\","
			 "\"SnapshotDetails\":[{\"DiskImageSize\":8589934592,"
			 "\"Format\":\"VMDK\"},{\"DiskImageSize\":0.5}],"
			 "\"Tags\":[],\"ImportTaskId\":null}", &err);
	assert_non_null(x);
	assert_non_null(strstr(x, "<encrypted>true</encrypted>"));
	assert_non_null(strstr(x, "<progress>7</progress>"));
	assert_non_null(strstr(x, "<snapshotDetailSet><item><diskImageSize>"
			       "8589934592.0</diskImageSize><format>VMDK"
			       "</format></item><item><diskImageSize>0.5"
			       "</diskImageSize></item></snapshotDetailSet>"));
	assert_non_null(strstr(x, "<tagSet/>"));
	assert_null(strstr(x, "importTaskId"));   /* null: left out */
	free(x);

	/* timestamps: seconds since the epoch and offsets, in UTC */
	x = encode("DescribeSnapshots", "{\"Snapshots\":[{\"StartTime\":"
		   "1795340532},{\"StartTime\":\"2026-12-06T02:18:51.303+01:00\"},"
		   "{\"StartTime\":\"not a time\"}]}", &err);
	assert_non_null(x);
	assert_non_null(strstr(x, "<startTime>2026-11-22T09:42:12.000Z"
			       "</startTime>"));
	assert_non_null(strstr(x, "<startTime>2026-12-06T01:18:51.303Z"
			       "</startTime>"));
	assert_non_null(strstr(x, "<startTime>not a time</startTime>"));
	free(x);

	/* operations without an output shape answer <return>true</return> */
	x = encode("DeleteSnapshot", "{}", &err);
	assert_non_null(strstr(x, "<requestId>" RID "</requestId><return>true"
			       "</return></DeleteSnapshotResponse>"));
	free(x);
}

static void test_escaping(void **state)
{
	struct vmie_err err;
	char *x = encode("ImportImage", "{\"Description\":\"a<b>&c\\\"d'e "
			 "\\u0001\\u001f\\t\\ufffe \\u00fc\"}", &err);
	assert_non_null(x);
	assert_non_null(strstr(x, "<description>a&lt;b&gt;&amp;c&quot;d'e "
			       "\xef\xbf\xbd\xef\xbf\xbd\t\xef\xbf\xbd "
			       "\xc3\xbc</description>"));
	free(x);
}

static void test_misshaped(void **state)
{
	struct vmie_err err;
	assert_null(encode("ImportImage", "{\"SnapshotDetails\":\"x\"}", &err));
	assert_non_null(strstr(err.msg, "SnapshotDetails"));
	assert_null(encode("ImportImage", "{\"SnapshotDetails\":[\"x\"]}",
			   &err));
	assert_null(encode("ImportImage", "{\"Description\":{}}", &err));
	assert_non_null(strstr(err.msg, "Description"));
	assert_null(encode("ImportImage", "[]", &err));
}

static void test_error_envelope(void **state)
{
	struct vmie_err err = { 0 };
	char *x;
	size_t len;

	assert_int_equal(vmie_xml_error("InvalidParameterValue",
					"Test error for ImportImage",
					"5f2c6a0e-0000-4000-8000-000000000000",
					&x, &len, &err), 0);
	/* as ../shared/protocol/error-envelope-example.xml */
	assert_string_equal(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Response><Errors><Error><Code>InvalidParameterValue</Code>"
		"<Message>Test error for ImportImage</Message></Error></Errors>"
		"<RequestID>5f2c6a0e-0000-4000-8000-000000000000</RequestID>"
		"</Response>\n");
	free(x);
	/* never an empty message; markup and bad bytes escaped */
	assert_int_equal(vmie_xml_error("AuthFailure", "", RID, &x, &len, &err),
			 0);
	assert_non_null(strstr(x, "<Message>The request failed (AuthFailure)."
			       "</Message>"));
	free(x);
	assert_int_equal(vmie_xml_error("X", "<a>\xff\xfe", RID, &x, &len,
					&err), 0);
	assert_non_null(strstr(x, "<Message>&lt;a&gt;\xef\xbf\xbd\xef\xbf\xbd"
			       "</Message>"));
	free(x);
	assert_int_equal(vmie_xml_error(NULL, NULL, NULL, &x, &len, &err), 0);
	assert_non_null(strstr(x, "<Code>InternalError</Code>"));
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancel_exact),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_misshaped),
		cmocka_unit_test(test_error_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
