/*
 * lib/api/service.h: every action through vmie_api_call, with the
 * authorization of each (IAM on the action, the caller's S3 access, the
 * task's role), the older calls as views of the tasks, the error codes
 * and their HTTP statuses.  Run by service.sh, which makes a store, a
 * bucket root with the bucket "mys3bucket" (the name of the seed's IAM
 * user policy, used as written) holding a phony CentOS 7 guest as
 * c7.vmdk and c7.raw, and a bucket "other" holding the same:
 *   test_api_service STORE_DIR BUCKET_ROOT
 * Tasks are run in this process with vmie_task_run(), as a server's
 * worker runs them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "api/iam.h"
#include "api/legacy.h"
#include "api/query.h"
#include "api/service.h"
#include "api/xml.h"
#include "core/err.h"
#include "io/bucket.h"
#include "task/task.h"

static const char *store_dir, *bucket_root;
static struct vmie_task_env env;

/* ---- users and roles ---- */

/* The seed's "Required Permissions for IAM Users", as written. */
static const char seed_policy[] =
	"{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Effect\": "
	"\"Allow\", \"Action\": [ \"s3:ListAllMyBuckets\" ], \"Resource\": "
	"\"*\" }, { \"Effect\": \"Allow\", \"Action\": [ \"s3:CreateBucket\", "
	"\"s3:DeleteBucket\", \"s3:DeleteObject\", \"s3:GetBucketLocation\", "
	"\"s3:GetObject\", \"s3:ListBucket\", \"s3:PutObject\" ], "
	"\"Resource\": [\"arn:aws:s3:::mys3bucket\",\"arn:aws:s3:::mys3bucket/"
	"*\"] }, { \"Effect\": \"Allow\", \"Action\": [ \"iam:CreateRole\", "
	"\"iam:PutRolePolicy\" ], \"Resource\": \"*\" }, { \"Effect\": "
	"\"Allow\", \"Action\": [ \"ec2:CancelConversionTask\", "
	"\"ec2:CancelExportTask\", \"ec2:CreateImage\", "
	"\"ec2:CreateInstanceExportTask\", \"ec2:CreateTags\", "
	"\"ec2:DeleteTags\", \"ec2:DescribeConversionTasks\", "
	"\"ec2:DescribeExportTasks\", \"ec2:DescribeInstanceAttribute\", "
	"\"ec2:DescribeInstanceStatus\", \"ec2:DescribeInstances\", "
	"\"ec2:DescribeTags\", \"ec2:ImportInstance\", \"ec2:ImportVolume\", "
	"\"ec2:StartInstances\", \"ec2:StopInstances\", "
	"\"ec2:TerminateInstances\", \"ec2:ImportImage\", "
	"\"ec2:ImportSnapshot\", \"ec2:DescribeImportImageTasks\", "
	"\"ec2:DescribeImportSnapshotTasks\", \"ec2:CancelImportTask\" ], "
	"\"Resource\": \"*\" } ] }";

/* What the seed's policy leaves out and the newer calls need. */
static const char newer_policy[] =
	"{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\","
	" \"Action\": [\"ec2:ExportImage\", \"ec2:DescribeExportImageTasks\","
	" \"ec2:DescribeImages\", \"ec2:DescribeSnapshots\","
	" \"ec2:DeregisterImage\", \"ec2:DeleteSnapshot\"],"
	" \"Resource\": \"*\"}]}";

/* AWS's vmimport role policy ("Required service role") for one bucket
 * that is both the import and the export bucket. */
static const char vmimport_policy[] =
	"{\"Version\": \"2012-10-17\", \"Statement\": ["
	"{\"Effect\": \"Allow\", \"Action\": [\"s3:GetBucketLocation\","
	" \"s3:GetObject\", \"s3:ListBucket\"], \"Resource\": ["
	"\"arn:aws:s3:::mys3bucket\", \"arn:aws:s3:::mys3bucket/*\"]},"
	"{\"Effect\": \"Allow\", \"Action\": [\"s3:GetBucketLocation\","
	" \"s3:GetObject\", \"s3:ListBucket\", \"s3:PutObject\","
	" \"s3:GetBucketAcl\"], \"Resource\": [\"arn:aws:s3:::mys3bucket\","
	" \"arn:aws:s3:::mys3bucket/*\"]},"
	"{\"Effect\": \"Allow\", \"Action\": [\"ec2:ModifySnapshotAttribute\","
	" \"ec2:CopySnapshot\", \"ec2:RegisterImage\", \"ec2:Describe*\"],"
	" \"Resource\": \"*\"}]}";

/* A role that may read objects of mys3bucket but not list the bucket. */
static const char nolist_policy[] =
	"{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\","
	" \"Resource\": \"arn:aws:s3:::mys3bucket/*\"}}";

/* Everything on EC2, S3 only on "other". */
static const char other_s3_policy[] =
	"{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"ec2:*\","
	" \"Resource\": \"*\"}, {\"Effect\": \"Allow\", \"Action\": \"s3:*\","
	" \"Resource\": \"arn:aws:s3:::other/*\"}]}";

/* Everything, but an explicit Deny of ImportImage. */
static const char deny_import_policy[] =
	"{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\","
	" \"Resource\": \"*\"}, {\"Effect\": \"Deny\", \"Action\":"
	" \"ec2:ImportImage\", \"Resource\": \"*\"}]}";

/* Only from 10.0.0.0/8. */
static const char ip_policy[] =
	"{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ec2:Describe*\","
	" \"Resource\": \"*\", \"Condition\": {\"IpAddress\":"
	" {\"aws:SourceIp\": \"10.0.0.0/8\"}}}}";

/* May deregister one image only (its ARN has no account). */
static char one_image_policy[512];

static struct vmie_iam_policy *pols[16];
static size_t npols;

static const struct vmie_iam_policy *parse(const char *text,
					   const char *name)
{
	struct vmie_err err = { 0 };
	struct vmie_iam_policy *p = NULL;
	int r = vmie_iam_parse(text, strlen(text), name, &p, &err);
	if (r)
		fail_msg("policy %s: %s", name, err.msg);
	pols[npols++] = p;
	return p;
}

static const struct vmie_iam_policy *alice_p[2], *bob_p[1], *carol_p[1],
	*dave_p[1], *erin_p[1], *vmimport_p[1], *nolist_p[1];
static struct vmie_api_principal alice, bob, carol, dave, erin, frank;
static struct vmie_api_principal roles[2];
static struct vmie_api_service svc;
static json_t *ctx;

static char submitted_ids[64][VMIE_ID_MAX];
static int n_submitted;

static void on_submitted(void *c, const char *id)
{
	assert_ptr_equal(c, &svc);
	assert_true(n_submitted < 64);
	snprintf(submitted_ids[n_submitted++], VMIE_ID_MAX, "%s", id);
}

static void principal(struct vmie_api_principal *p, const char *name,
		      const char *kind, const struct vmie_iam_policy **pp,
		      size_t n)
{
	static char arns[8][128];
	static int na;
	snprintf(arns[na], sizeof arns[na], "arn:aws:iam::123456789012:%s/%s",
		 kind, name);
	p->name = name;
	p->arn = arns[na++];
	p->policies = (const struct vmie_iam_policy *const *)pp;
	p->n_policies = n;
}

static int setup(void **state)
{
	struct vmie_err err = { 0 };
	(void)state;
	alice_p[0] = parse(seed_policy, "seed");
	alice_p[1] = parse(newer_policy, "newer");
	bob_p[0] = parse("{\"Statement\": {\"Effect\": \"Allow\", \"Action\":"
			 " \"s3:*\", \"Resource\": \"*\"}}", "s3 only");
	carol_p[0] = parse(deny_import_policy, "deny import");
	dave_p[0] = parse(other_s3_policy, "other s3");
	erin_p[0] = parse(ip_policy, "ip");
	vmimport_p[0] = parse(vmimport_policy, "vmimport");
	nolist_p[0] = parse(nolist_policy, "nolist");
	principal(&alice, "alice", "user", alice_p, 2);
	principal(&bob, "bob", "user", bob_p, 1);
	principal(&carol, "carol", "user", carol_p, 1);
	principal(&dave, "dave", "user", dave_p, 1);
	principal(&erin, "erin", "user", erin_p, 1);
	principal(&roles[0], "vmimport", "role", vmimport_p, 1);
	principal(&roles[1], "nolist", "role", nolist_p, 1);
	svc.account = "123456789012";
	svc.region = "eu-west-3";
	svc.roles = roles;
	svc.n_roles = 2;
	svc.policy = NULL;
	svc.submitted = on_submitted;
	svc.submitted_ctx = &svc;
	svc.accepting = true;
	ctx = json_pack("{s:s, s:s, s:s}", "aws:SourceIp", "192.168.1.10",
			"aws:SecureTransport", "true", "aws:CurrentTime",
			"2026-11-22T09:42:12Z");
	if (vmie_store_open_sqlite(store_dir, &env.store, &err) ||
	    vmie_volstore_open_dir(store_dir, &env.vols, &err) ||
	    vmie_buckets_open_dir(bucket_root, &env.buckets, &err))
		fail_msg("env: %s", err.msg);
	/* a CLI's env: the call must not honour it */
	env.allow_local_files = true;
	env.owner_id = "123456789012";
	env.threads = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < npols; i++)
		vmie_iam_free(pols[i]);
	json_decref(ctx);
	vmie_buckets_close(env.buckets);
	vmie_volstore_close(env.vols);
	vmie_store_close(env.store);
	return 0;
}

/* ---- calling ---- */

static struct vmie_err last;
static json_t *last_out;

/* Call op as who with params (JSON text); the result's code: 0, or the
 * error code in last.api.  Every answer must fit the output shape. */
static int call_ctx(const struct vmie_api_principal *who, const json_t *c,
		    const char *op, const char *params_fmt, ...)
{
	char params[4096];
	va_list ap;
	va_start(ap, params_fmt);
	vsnprintf(params, sizeof params, params_fmt, ap);
	va_end(ap);
	const struct vmie_api_op *o = vmie_api_op_find(op);
	assert_non_null(o);
	json_error_t je;
	json_t *p = json_loads(params, 0, &je);
	if (!p)
		fail_msg("params of %s: %s: %s", op, je.text, params);
	struct vmie_api_caller caller = { who, c };
	json_decref(last_out);
	last_out = NULL;
	memset(&last, 0, sizeof last);
	int r = vmie_api_call(&svc, &env, &caller, o, p, &last_out, &last);
	json_decref(p);
	if (r) {
		assert_true(r < 0);
		assert_null(last_out);
		assert_true(last.api[0] != 0);
		assert_true(last.msg[0] != 0);
		return r;
	}
	assert_non_null(last_out);
	char *xml = NULL;
	size_t len = 0;
	struct vmie_err xe = { 0 };
	if (vmie_xml_response(o, last_out, "req-1", NULL, &xml, &len, &xe))
		fail_msg("%s: answer does not fit the output shape: %s", op,
			 xe.msg);
	free(xml);
	return 0;
}

#define call(who, op, ...) call_ctx(who, ctx, op, __VA_ARGS__)

static void expect_code(const char *code)
{
	if (strcmp(last.api, code))
		fail_msg("expected %s, got %s: %s", code, last.api, last.msg);
}

static void expect_ok(int r, const char *what)
{
	if (r)
		fail_msg("%s: %s: %s", what, last.api, last.msg);
}

static const char *out_str(const char *path)
{
	/* "A.B.0.C": members and list indexes */
	const json_t *v = last_out;
	char buf[256], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t && v;
	     t = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, (size_t)atoi(t));
		else
			v = json_object_get(v, t);
	}
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static size_t out_len(const char *member)
{
	return json_array_size(json_object_get(last_out, member));
}

static void run_task(const char *id, const char *want_status)
{
	struct vmie_err err = { 0 };
	json_t *final = NULL;
	if (vmie_task_run(&env, id, &final, &err))
		fail_msg("run %s: %s", id, err.msg);
	const json_t *st = json_object_get(final, "Status");
	if (!st)
		st = json_object_get(json_object_get(final,
			"SnapshotTaskDetail"), "Status");
	if (!json_is_string(st) || strcmp(json_string_value(st), want_status)) {
		char *d = json_dumps(final, 0);
		fail_msg("task %s: want %s: %s", id, want_status, d);
	}
	json_decref(final);
}

static char ami[VMIE_ID_MAX], snap[VMIE_ID_MAX];

#define SRC_VMDK "{\"DiskContainers\": [{\"Format\": \"VMDK\", " \
	"\"UserBucket\": {\"S3Bucket\": \"mys3bucket\", \"S3Key\": \"c7.vmdk\"}}]"

/* ---- authorization ---- */

static void test_dry_run(void **state)
{
	(void)state;
	assert_int_not_equal(call(&alice, "ImportImage", SRC_VMDK
				  ", \"DryRun\": true}"), 0);
	expect_code("DryRunOperation");
	assert_string_equal(last.msg, "Request would have succeeded, but "
			    "DryRun flag is set.");
	assert_int_equal(vmie_api_http_status(last.api), 412);
	assert_int_not_equal(call(&bob, "ImportImage", SRC_VMDK
				  ", \"DryRun\": true}"), 0);
	expect_code("UnauthorizedOperation");
	assert_true(!strncmp(last.msg, "You are not authorized to perform "
			     "this operation.", 48));
	assert_int_equal(vmie_api_http_status(last.api), 403);
	/* a dry run stores nothing */
	expect_ok(call(&alice, "DescribeImportImageTasks", "{}"), "describe");
	assert_int_equal(out_len("ImportImageTasks"), 0);
	assert_int_equal(n_submitted, 0);
	/* DescribeImages: the seed's policy lacks it, the newer one has it */
	assert_int_not_equal(call(&alice, "DescribeImages",
				  "{\"DryRun\": true}"), 0);
	expect_code("DryRunOperation");
	assert_int_not_equal(call(&bob, "DescribeImages",
				  "{\"DryRun\": true}"), 0);
	expect_code("UnauthorizedOperation");
}

static void test_explicit_deny(void **state)
{
	(void)state;
	assert_int_not_equal(call(&carol, "ImportImage", SRC_VMDK "}"), 0);
	expect_code("UnauthorizedOperation");
	assert_non_null(strstr(last.msg, "explicitly denies"));
	/* the Allow * still allows the rest */
	expect_ok(call(&carol, "DescribeImages", "{}"), "carol describes");
	assert_int_equal(n_submitted, 0);
}

static void test_condition_context(void **state)
{
	(void)state;
	assert_int_not_equal(call(&erin, "DescribeImages", "{}"), 0);
	expect_code("UnauthorizedOperation");
	json_t *inside = json_pack("{s:s}", "aws:SourceIp", "10.1.2.3");
	expect_ok(call_ctx(&erin, inside, "DescribeImages", "{}"),
		  "erin from 10/8");
	json_decref(inside);
}

static void test_user_s3(void **state)
{
	(void)state;
	/* dave may do everything on EC2 but read only bucket "other" */
	assert_int_not_equal(call(&dave, "ImportImage", SRC_VMDK "}"), 0);
	expect_code("UnauthorizedOperation");
	assert_non_null(strstr(last.msg, "s3:GetObject"));
	assert_non_null(strstr(last.msg, "arn:aws:s3:::mys3bucket/c7.vmdk"));
	assert_int_not_equal(call(&dave, "ImportSnapshot",
		"{\"DiskContainer\": {\"Format\": \"VMDK\", \"Url\": "
		"\"s3://mys3bucket/c7.vmdk\"}}"), 0);
	expect_code("UnauthorizedOperation");
	assert_int_equal(n_submitted, 0);
}

static void test_role(void **state)
{
	(void)state;
	/* no such role */
	assert_int_not_equal(call(&alice, "ImportImage", SRC_VMDK
				  ", \"RoleName\": \"nosuchrole\"}"), 0);
	expect_code("InvalidParameter");
	assert_non_null(strstr(last.msg, "The service role nosuchrole "
			       "provided does not exist or does not have "
			       "sufficient permissions"));
	assert_int_equal(vmie_api_http_status(last.api), 400);
	/* a role that may not list the bucket */
	assert_int_not_equal(call(&alice, "ImportImage", SRC_VMDK
				  ", \"RoleName\": \"nolist\"}"), 0);
	expect_code("InvalidParameter");
	assert_non_null(strstr(last.msg, "s3:ListBucket"));
	/* dave reads "other"; vmimport may not */
	assert_int_not_equal(call(&dave, "ImportImage",
		"{\"DiskContainers\": [{\"Format\": \"VMDK\", \"UserBucket\":"
		" {\"S3Bucket\": \"other\", \"S3Key\": \"c7.vmdk\"}}]}"), 0);
	expect_code("InvalidParameter");
	assert_non_null(strstr(last.msg, "vmimport"));
	assert_int_equal(n_submitted, 0);
}

static void test_refusals(void **state)
{
	(void)state;
	/* a local file, even with an env that allows them */
	assert_int_not_equal(call(&carol, "ImportSnapshot",
		"{\"DiskContainer\": {\"Format\": \"RAW\", \"Url\": "
		"\"/etc/hostname\"}}"), 0);
	expect_code("InvalidParameterValue");
	/* a request's own Vmie is dropped: this policy name would fail */
	expect_ok(call(&alice, "ImportImage", SRC_VMDK ", \"Vmie\": "
		       "{\"Policy\": \"/nonexistent/policy\", \"DryRun\": "
		       "true}}"), "smuggled Vmie");
	assert_int_equal(n_submitted, 1);
	/* its task stores no Vmie.Policy (the operator set none) */
	json_t *rec = NULL;
	struct vmie_err err = { 0 };
	assert_int_equal(vmie_store_get(env.store, VMIE_REC_IMPORT_IMAGE,
					submitted_ids[0], &rec, &err), 0);
	const json_t *vq = json_object_get(json_object_get(json_object_get(
		rec, "Vmie"), "Request"), "Vmie");
	assert_null(json_object_get(vq, "Policy"));
	assert_null(json_object_get(vq, "DryRun"));
	json_decref(rec);
	/* cancelled before it runs */
	expect_ok(call(&alice, "CancelImportTask", "{\"ImportTaskId\": "
		       "\"%s\"}", submitted_ids[0]), "cancel import");
	assert_string_equal(out_str("ImportTaskId"), submitted_ids[0]);
	assert_string_equal(out_str("State"), "deleting");
	/* the server drains: no new task, a status SDKs retry */
	svc.accepting = false;
	assert_int_not_equal(call(&alice, "ImportImage", SRC_VMDK "}"), 0);
	expect_code("Unavailable");
	assert_int_equal(vmie_api_http_status(last.api), 503);
	expect_ok(call(&alice, "DescribeImportImageTasks", "{}"),
		  "describes while draining");
	svc.accepting = true;
	assert_int_equal(n_submitted, 1);
}

/* ---- the newer calls ---- */

static void test_import_image(void **state)
{
	(void)state;
	int before = n_submitted;
	expect_ok(call(&alice, "ImportImage", SRC_VMDK ", \"Description\": "
		       "\"web01\"}"), "ImportImage");
	assert_int_equal(n_submitted, before + 1);
	const char *id = out_str("ImportTaskId");
	assert_non_null(id);
	assert_string_equal(id, submitted_ids[before]);
	assert_string_equal(out_str("Status"), "active");
	run_task(id, "completed");
	expect_ok(call(&alice, "DescribeImportImageTasks",
		       "{\"ImportTaskIds\": [\"%s\"]}", id), "describe");
	assert_string_equal(out_str("ImportImageTasks.0.Status"), "completed");
	snprintf(ami, sizeof ami, "%s", out_str("ImportImageTasks.0.ImageId"));
	snprintf(snap, sizeof snap, "%s",
		 out_str("ImportImageTasks.0.SnapshotDetails.0.SnapshotId"));
	assert_true(!strncmp(ami, "ami-", 4));
	assert_true(!strncmp(snap, "snap-", 5));
	expect_ok(call(&alice, "DescribeImages", "{\"ImageIds\": [\"%s\"]}",
		       ami), "DescribeImages");
	assert_string_equal(out_str("Images.0.State"), "available");
	assert_string_equal(out_str("Images.0.OwnerId"), "123456789012");
	expect_ok(call(&alice, "DescribeSnapshots", "{\"SnapshotIds\": "
		       "[\"%s\"]}", snap), "DescribeSnapshots");
	assert_string_equal(out_str("Snapshots.0.SnapshotId"), snap);
	/* an https URL is read as the object it names */
	expect_ok(call(&alice, "ImportSnapshot", "{\"DiskContainer\": "
		       "{\"Format\": \"RAW\", \"Url\": \"https://mys3bucket.s3."
		       "eu-west-3.amazonaws.com/c7.raw?X-Amz-Signature=ab\"}}"),
		  "ImportSnapshot");
	id = out_str("ImportTaskId");
	assert_non_null(id);
	assert_string_equal(id, submitted_ids[n_submitted - 1]);
	char sid[VMIE_ID_MAX];
	snprintf(sid, sizeof sid, "%s", id);
	run_task(sid, "completed");
	expect_ok(call(&alice, "DescribeImportSnapshotTasks",
		       "{\"ImportTaskIds\": [\"%s\"]}", sid), "describe snap");
	assert_string_equal(out_str("ImportSnapshotTasks.0.SnapshotTaskDetail."
				    "Status"), "completed");
	assert_string_equal(out_str("ImportSnapshotTasks.0.SnapshotTaskDetail."
				    "Url"), "s3://mys3bucket/c7.raw");
}

static void test_export_image(void **state)
{
	(void)state;
	assert_true(ami[0]);
	/* dave may not write mys3bucket */
	assert_int_not_equal(call(&dave, "ExportImage", "{\"ImageId\": \"%s\","
		" \"DiskImageFormat\": \"VHD\", \"S3ExportLocation\": "
		"{\"S3Bucket\": \"mys3bucket\", \"S3Prefix\": \"x/\"}}", ami),
		0);
	expect_code("UnauthorizedOperation");
	assert_non_null(strstr(last.msg, "s3:PutObject"));
	/* nolist may not write at all */
	assert_int_not_equal(call(&alice, "ExportImage", "{\"ImageId\": \"%s\","
		" \"DiskImageFormat\": \"VHD\", \"RoleName\": \"nolist\", "
		"\"S3ExportLocation\": {\"S3Bucket\": \"mys3bucket\"}}", ami),
		0);
	expect_code("InvalidParameter");
	expect_ok(call(&alice, "ExportImage", "{\"ImageId\": \"%s\","
		" \"DiskImageFormat\": \"VHD\", \"S3ExportLocation\": "
		"{\"S3Bucket\": \"mys3bucket\", \"S3Prefix\": \"x/\"}}", ami),
		"ExportImage");
	char id[VMIE_ID_MAX];
	snprintf(id, sizeof id, "%s", out_str("ExportImageTaskId"));
	assert_string_equal(id, submitted_ids[n_submitted - 1]);
	run_task(id, "completed");
	expect_ok(call(&alice, "DescribeExportImageTasks",
		       "{\"ExportImageTaskIds\": [\"%s\"]}", id), "describe");
	assert_string_equal(out_str("ExportImageTasks.0.Status"), "completed");
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/mys3bucket/x/%s.vhd", bucket_root, id);
	assert_int_equal(stat(path, &st), 0);
	/* an image that does not exist, a malformed one */
	assert_int_not_equal(call(&alice, "ExportImage", "{\"ImageId\": "
		"\"ami-0123456789abcdef0\", \"DiskImageFormat\": \"VHD\", "
		"\"S3ExportLocation\": {\"S3Bucket\": \"mys3bucket\"}}"), 0);
	expect_code("InvalidAMIID.NotFound");
}

static void test_tags(void **state)
{
	(void)state;
	expect_ok(call(&alice, "CreateTags", "{\"Resources\": [\"%s\", "
		       "\"%s\"], \"Tags\": [{\"Key\": \"env\", \"Value\": "
		       "\"prod\"}]}", ami, snap), "CreateTags");
	expect_ok(call(&alice, "DescribeTags", "{\"Filters\": [{\"Name\": "
		       "\"resource-id\", \"Values\": [\"%s\"]}, {\"Name\": "
		       "\"key\", \"Values\": [\"env\"]}]}", ami),
		  "DescribeTags");
	assert_int_equal(out_len("Tags"), 1);
	assert_string_equal(out_str("Tags.0.Value"), "prod");
	/* resource-level: may tag this image only */
	const struct vmie_iam_policy *p1[1];
	snprintf(one_image_policy, sizeof one_image_policy,
		 "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": "
		 "[\"ec2:CreateTags\", \"ec2:DeleteTags\"], \"Resource\": "
		 "\"arn:aws:ec2:eu-west-3::image/%s\"}}", ami);
	p1[0] = parse(one_image_policy, "one image");
	principal(&frank, "frank", "user", p1, 1);
	expect_ok(call(&frank, "DeleteTags", "{\"Resources\": [\"%s\"], "
		       "\"Tags\": [{\"Key\": \"env\"}]}", ami), "frank");
	assert_int_not_equal(call(&frank, "DeleteTags", "{\"Resources\": "
		       "[\"%s\", \"%s\"], \"Tags\": [{\"Key\": \"env\"}]}", ami,
		       snap), 0);
	expect_code("UnauthorizedOperation");
	assert_non_null(strstr(last.msg, "arn:aws:ec2:eu-west-3::snapshot/"));
	frank.n_policies = 0;
}

/* ---- the older calls ---- */

static void test_instance_export(void **state)
{
	(void)state;
	expect_ok(call(&alice, "CreateInstanceExportTask", "{\"InstanceId\": "
		       "\"%s\", \"TargetEnvironment\": \"vmware\", "
		       "\"Description\": \"old\", \"ExportToS3Task\": "
		       "{\"ContainerFormat\": \"ova\", \"DiskImageFormat\": "
		       "\"VMDK\", \"S3Bucket\": \"mys3bucket\", \"S3Prefix\": "
		       "\"old/\"}}", ami), "CreateInstanceExportTask");
	char eid[VMIE_ID_MAX], key[256];
	snprintf(eid, sizeof eid, "%s", out_str("ExportTask.ExportTaskId"));
	assert_true(!strncmp(eid, "export-i-", 9));
	assert_string_equal(out_str("ExportTask.State"), "active");
	assert_string_equal(out_str("ExportTask.InstanceExportDetails."
				    "InstanceId"), ami);
	snprintf(key, sizeof key, "%s", out_str("ExportTask.ExportToS3Task."
						"S3Key"));
	/* the worker gets the task's id */
	const char *tid = submitted_ids[n_submitted - 1];
	assert_true(!strncmp(tid, "export-ami-", 11));
	assert_string_equal(tid + 11, eid + 9);
	run_task(tid, "completed");
	expect_ok(call(&alice, "DescribeExportTasks", "{\"ExportTaskIds\": "
		       "[\"%s\"]}", eid), "DescribeExportTasks");
	assert_string_equal(out_str("ExportTasks.0.State"), "completed");
	assert_string_equal(out_str("ExportTasks.0.ExportToS3Task."
				    "ContainerFormat"), "ova");
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/mys3bucket/%s", bucket_root, key);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	/* the export-image tasks do not appear as ExportTasks */
	expect_ok(call(&alice, "DescribeExportTasks", "{}"), "all");
	assert_int_equal(out_len("ExportTasks"), 1);
	expect_ok(call(&alice, "DescribeExportTasks", "{\"Filters\": "
		       "[{\"Name\": \"state\", \"Values\": [\"active\"]}]}"),
		  "filter");
	assert_int_equal(out_len("ExportTasks"), 0);
	expect_ok(call(&alice, "DescribeExportTasks", "{\"Filters\": "
		       "[{\"Name\": \"state\", \"Values\": [\"compl*\"]}, "
		       "{\"Name\": \"instance-id\", \"Values\": [\"%s\"]}]}",
		       ami), "filter");
	assert_int_equal(out_len("ExportTasks"), 1);
	assert_int_not_equal(call(&alice, "DescribeExportTasks", "{\"Filters\": "
		       "[{\"Name\": \"colour\", \"Values\": [\"x\"]}]}"), 0);
	expect_code("InvalidParameterValue");
	/* one cancelled before it runs */
	expect_ok(call(&alice, "CreateInstanceExportTask", "{\"InstanceId\": "
		       "\"%s\", \"TargetEnvironment\": \"microsoft\", "
		       "\"ExportToS3Task\": {\"S3Bucket\": \"mys3bucket\"}}",
		       ami), "second export");
	snprintf(eid, sizeof eid, "%s", out_str("ExportTask.ExportTaskId"));
	assert_string_equal(out_str("ExportTask.ExportToS3Task."
				    "DiskImageFormat"), "VHD");
	expect_ok(call(&alice, "CancelExportTask", "{\"ExportTaskId\": "
		       "\"%s\"}", eid), "CancelExportTask");
	expect_ok(call(&alice, "DescribeExportTasks", "{\"ExportTaskIds\": "
		       "[\"%s\"]}", eid), "describe cancelled");
	assert_string_equal(out_str("ExportTasks.0.State"), "cancelled");
	/* codes */
	assert_int_not_equal(call(&alice, "DescribeExportTasks",
		"{\"ExportTaskIds\": [\"export-i-0123456789abcdef0\"]}"), 0);
	expect_code("InvalidExportTaskID.NotFound");
	assert_int_not_equal(call(&alice, "CancelExportTask",
		"{\"ExportTaskId\": \"export-i-zz\"}"), 0);
	expect_code("InvalidExportTaskID.Malformed");
	assert_int_not_equal(call(&alice, "CreateInstanceExportTask",
		"{\"InstanceId\": \"i-0123456789abcdef0\", "
		"\"TargetEnvironment\": \"vmware\", \"ExportToS3Task\": "
		"{\"S3Bucket\": \"mys3bucket\"}}"), 0);
	expect_code("InvalidInstanceID.Malformed");
	assert_int_not_equal(call(&alice, "CreateInstanceExportTask",
		"{\"InstanceId\": \"ami-0123456789abcdef0\", "
		"\"TargetEnvironment\": \"vmware\", \"ExportToS3Task\": "
		"{\"S3Bucket\": \"mys3bucket\"}}"), 0);
	expect_code("InvalidInstanceID.NotFound");
}

static void test_import_instance(void **state)
{
	(void)state;
	/* the path-style https URL of the object */
	expect_ok(call(&alice, "ImportInstance", "{\"Platform\": \"Linux\", "
		       "\"Description\": \"legacy\", \"LaunchSpecification\": "
		       "{\"Architecture\": \"x86_64\", \"Placement\": "
		       "{\"AvailabilityZone\": \"eu-west-3a\"}}, "
		       "\"DiskImages\": [{\"Description\": \"root\", \"Image\": "
		       "{\"Format\": \"VMDK\", \"Bytes\": 1000, "
		       "\"ImportManifestUrl\": \"https://s3.eu-west-3."
		       "amazonaws.com/mys3bucket/c7.vmdk?AWSAccessKeyId=x\"}, "
		       "\"Volume\": {\"Size\": 1}}]}"), "ImportInstance");
	char cid[VMIE_ID_MAX];
	snprintf(cid, sizeof cid, "%s", out_str("ConversionTask."
						"ConversionTaskId"));
	assert_true(!strncmp(cid, "import-i-", 9));
	assert_string_equal(out_str("ConversionTask.State"), "active");
	assert_non_null(out_str("ConversionTask.ExpirationTime"));
	const char *tid = submitted_ids[n_submitted - 1];
	assert_true(!strncmp(tid, "import-ami-", 11));
	assert_string_equal(tid + 11, cid + 9);
	run_task(tid, "completed");
	expect_ok(call(&alice, "DescribeConversionTasks",
		       "{\"ConversionTaskIds\": [\"%s\"]}", cid), "describe");
	assert_string_equal(out_str("ConversionTasks.0.State"), "completed");
	const char *inst = out_str("ConversionTasks.0.ImportInstance."
				   "InstanceId");
	assert_non_null(inst);
	assert_true(!strncmp(inst, "ami-", 4));
	const char *vol = out_str("ConversionTasks.0.ImportInstance.Volumes.0."
				  "Volume.Id");
	assert_non_null(vol);
	assert_true(!strncmp(vol, "snap-", 5));
	assert_string_equal(out_str("ConversionTasks.0.ImportInstance.Volumes."
				    "0.Status"), "completed");
	assert_string_equal(out_str("ConversionTasks.0.ImportInstance.Volumes."
				    "0.AvailabilityZone"), "eu-west-3a");
	/* the image is a real one */
	char img[VMIE_ID_MAX];
	snprintf(img, sizeof img, "%s", inst);
	expect_ok(call(&alice, "DescribeImages", "{\"ImageIds\": [\"%s\"]}",
		       img), "its image");
	assert_string_equal(out_str("Images.0.State"), "available");
	/* the XML answer names the older elements */
	expect_ok(call(&alice, "DescribeConversionTasks", "{}"), "all");
	assert_int_equal(out_len("ConversionTasks"), 1);
	char *xml = NULL;
	size_t len;
	struct vmie_err e = { 0 };
	assert_int_equal(vmie_xml_response(vmie_api_op_find(
		"DescribeConversionTasks"), last_out, "r", NULL, &xml, &len,
		&e), 0);
	assert_non_null(strstr(xml, "<conversionTaskId>import-i-"));
	assert_non_null(strstr(xml, "<importInstance>"));
	free(xml);
}

static void test_import_volume(void **state)
{
	(void)state;
	/* decoded from the Query form, as the server passes it */
	const char *q = "Action=ImportVolume&Version=2016-11-15"
		"&AvailabilityZone=eu-west-3b&Image.Format=RAW"
		"&Image.Bytes=134217728"
		"&Image.ImportManifestUrl=s3%3A%2F%2Fmys3bucket%2Fc7.raw"
		"&Volume.Size=1&Description=vol";
	struct vmie_query qq = { 0 };
	struct vmie_err err = { 0 };
	assert_int_equal(vmie_query_decode(q, strlen(q), NULL, 0, &qq, &err),
			 0);
	struct vmie_api_caller who = { &alice, ctx };
	json_t *out = NULL;
	if (vmie_api_call(&svc, &env, &who, qq.op, qq.params, &out, &err))
		fail_msg("ImportVolume: %s: %s", err.api, err.msg);
	vmie_query_clear(&qq);
	const char *cid = json_string_value(json_object_get(json_object_get(
		out, "ConversionTask"), "ConversionTaskId"));
	assert_non_null(cid);
	assert_true(!strncmp(cid, "import-vol-", 11));
	char c2[VMIE_ID_MAX];
	snprintf(c2, sizeof c2, "%s", cid);
	json_decref(out);
	const char *tid = submitted_ids[n_submitted - 1];
	assert_true(!strncmp(tid, "import-snap-", 12));
	run_task(tid, "completed");
	expect_ok(call(&alice, "DescribeConversionTasks",
		       "{\"ConversionTaskIds\": [\"%s\"]}", c2), "describe");
	assert_string_equal(out_str("ConversionTasks.0.State"), "completed");
	const char *vol = out_str("ConversionTasks.0.ImportVolume.Volume.Id");
	assert_non_null(vol);
	assert_true(!strncmp(vol, "snap-", 5));
	assert_string_equal(out_str("ConversionTasks.0.ImportVolume."
				    "AvailabilityZone"), "eu-west-3b");
	json_int_t bc = json_integer_value(json_object_get(json_object_get(
		json_object_get(json_array_get(json_object_get(last_out,
		"ConversionTasks"), 0), "ImportVolume"), "Image"), "Size"));
	assert_int_equal(bc, 134217728);
	/* a manifest is refused with a clear message */
	assert_int_not_equal(call(&alice, "ImportVolume", "{\"Image\": "
		"{\"Format\": \"VMDK\", \"Bytes\": 1, \"ImportManifestUrl\": "
		"\"https://mys3bucket.s3.amazonaws.com/a/manifest.xml\"}, "
		"\"Volume\": {\"Size\": 1}}"), 0);
	expect_code("InvalidParameterValue");
	assert_non_null(strstr(last.msg, "manifest"));
	/* not an S3 URL */
	assert_int_not_equal(call(&alice, "ImportVolume", "{\"Image\": "
		"{\"Format\": \"VMDK\", \"Bytes\": 1, \"ImportManifestUrl\": "
		"\"https://example.com/c7.vmdk\"}, \"Volume\": {\"Size\": 1}}"),
		0);
	expect_code("InvalidParameterValue");
	/* a conversion cancelled before it runs */
	expect_ok(call(&alice, "ImportVolume", "{\"Image\": {\"Format\": "
		       "\"RAW\", \"Bytes\": 1, \"ImportManifestUrl\": "
		       "\"s3://mys3bucket/c7.raw\"}, \"Volume\": {\"Size\": 1}}"),
		  "third");
	snprintf(c2, sizeof c2, "%s", out_str("ConversionTask."
					      "ConversionTaskId"));
	expect_ok(call(&alice, "CancelConversionTask", "{\"ConversionTaskId\":"
		       " \"%s\"}", c2), "CancelConversionTask");
	expect_ok(call(&alice, "DescribeConversionTasks",
		       "{\"ConversionTaskIds\": [\"%s\"]}", c2), "cancelled");
	assert_string_equal(out_str("ConversionTasks.0.State"), "cancelled");
	/* the user without S3 on the bucket */
	assert_int_not_equal(call(&dave, "ImportVolume", "{\"Image\": "
		"{\"Format\": \"RAW\", \"Bytes\": 1, \"ImportManifestUrl\": "
		"\"s3://mys3bucket/c7.raw\"}, \"Volume\": {\"Size\": 1}}"), 0);
	expect_code("UnauthorizedOperation");
}

static void test_not_found(void **state)
{
	(void)state;
	assert_int_not_equal(call(&alice, "DescribeImages", "{\"ImageIds\": "
		"[\"ami-0123456789abcdef0\"]}"), 0);
	expect_code("InvalidAMIID.NotFound");
	assert_int_equal(vmie_api_http_status(last.api), 400);
	assert_int_not_equal(call(&alice, "DescribeImages", "{\"ImageIds\": "
		"[\"ami-xyz\"]}"), 0);
	expect_code("InvalidAMIID.Malformed");
	assert_int_not_equal(call(&alice, "DescribeSnapshots",
		"{\"SnapshotIds\": [\"snap-0123456789abcdef0\"]}"), 0);
	expect_code("InvalidSnapshot.NotFound");
	assert_int_not_equal(call(&alice, "DeregisterImage", "{\"ImageId\": "
		"\"ami-0123456789abcdef0\"}"), 0);
	expect_code("InvalidAMIID.NotFound");
	assert_int_not_equal(call(&alice, "DescribeConversionTasks",
		"{\"ConversionTaskIds\": [\"import-i-0123456789abcdef0\"]}"),
		0);
	expect_code("InvalidConversionTaskId");
	assert_int_not_equal(call(&alice, "DescribeConversionTasks",
		"{\"ConversionTaskIds\": [\"import-x-01\"]}"), 0);
	expect_code("InvalidConversionTaskId.Malformed");
	assert_int_not_equal(call(&alice, "CancelImportTask",
		"{\"ImportTaskId\": \"export-ami-0123456789abcdef0\"}"), 0);
	expect_code("InvalidConversionTaskId.Malformed");
	/* an import-ami task that is not an ImportInstance */
	assert_int_not_equal(call(&alice, "CancelConversionTask",
		"{\"ConversionTaskId\": \"import-i-%s\"}",
		submitted_ids[0] + 11), 0);
	expect_code("InvalidConversionTaskId");
}

static void test_deregister(void **state)
{
	(void)state;
	expect_ok(call(&alice, "DeregisterImage", "{\"ImageId\": \"%s\"}",
		       ami), "DeregisterImage");
	assert_int_not_equal(call(&alice, "DescribeImages", "{\"ImageIds\": "
		"[\"%s\"]}", ami), 0);
	expect_code("InvalidAMIID.NotFound");
	expect_ok(call(&alice, "DeleteSnapshot", "{\"SnapshotId\": \"%s\"}",
		       snap), "DeleteSnapshot");
	assert_int_not_equal(call(&alice, "DeleteSnapshot", "{\"SnapshotId\": "
		"\"%s\"}", snap), 0);
	expect_code("InvalidSnapshot.NotFound");
}

static void test_http_status(void **state)
{
	(void)state;
	assert_int_equal(vmie_api_http_status("AuthFailure"), 401);
	assert_int_equal(vmie_api_http_status("SignatureDoesNotMatch"), 403);
	assert_int_equal(vmie_api_http_status("RequestLimitExceeded"), 503);
	assert_int_equal(vmie_api_http_status("InvalidParameterValue"), 400);
	assert_int_equal(vmie_api_http_status("IncorrectState"), 400);
	assert_int_equal(vmie_api_http_status("MissingParameter"), 400);
	assert_int_equal(vmie_api_http_status("InvalidExportTaskID.NotFound"),
			 400);
	assert_int_equal(vmie_api_http_status("InternalError"), 500);
	assert_int_equal(vmie_api_http_status("SomethingElse"), 500);
	assert_int_equal(vmie_api_http_status(""), 500);
	assert_int_equal(vmie_api_http_status(NULL), 500);
}

static void test_s3_urls(void **state)
{
	(void)state;
	char b[256], k[1024];
	struct vmie_err e = { 0 };
	static const struct { const char *url, *b, *k; } ok[] = {
		{ "s3://bkt/a/b.vmdk", "bkt", "a/b.vmdk" },
		{ "https://bkt.s3.amazonaws.com/x.vmdk", "bkt", "x.vmdk" },
		{ "https://my.bkt.s3.eu-west-3.amazonaws.com/a%20b?x=1", "my.bkt",
		  "a b" },
		{ "https://bkt.s3-us-west-2.amazonaws.com/k#f", "bkt", "k" },
		{ "https://s3.amazonaws.com/bkt/d/k.raw", "bkt", "d/k.raw" },
		{ "HTTPS://s3-eu-west-1.amazonaws.com/bkt/k?Signature=1", "bkt",
		  "k" },
		{ "http://s3.local:9000/bkt/k", "bkt", "k" },
	};
	static const char *bad[] = {
		"s3://bkt", "s3:///k", "https://example.com/k",
		"https://s3.amazonaws.com/bkt", "https://s3.amazonaws.com/bkt/",
		"https://bkt.s3.amazonaws.com/", "ftp://bkt/k",
		"https://s3.amazonaws.com/bkt/%zz", "https://s3.amazonaws.com/"
		"bkt/a%00b", "https://u@bkt.s3.amazonaws.com/k", "",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		if (vmie_legacy_s3_url(ok[i].url, "u", b, sizeof b, k,
				       sizeof k, &e))
			fail_msg("%s: %s", ok[i].url, e.msg);
		assert_string_equal(b, ok[i].b);
		assert_string_equal(k, ok[i].k);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (!vmie_legacy_s3_url(bad[i], "u", b, sizeof b, k, sizeof k,
					&e))
			fail_msg("%s accepted: %s %s", bad[i], b, k);
		assert_string_equal(e.api, "InvalidParameterValue");
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s STORE_DIR BUCKET_ROOT\n", argv[0]);
		return 2;
	}
	store_dir = argv[1];
	bucket_root = argv[2];
	/* in this order: each builds on the records of the ones before */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_s3_urls),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_explicit_deny),
		cmocka_unit_test(test_condition_context),
		cmocka_unit_test(test_user_s3),
		cmocka_unit_test(test_role),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_import_image),
		cmocka_unit_test(test_export_image),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_instance_export),
		cmocka_unit_test(test_import_instance),
		cmocka_unit_test(test_import_volume),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_deregister),
	};
	int r = cmocka_run_group_tests(tests, setup, teardown);
	json_decref(last_out);
	return r;
}
