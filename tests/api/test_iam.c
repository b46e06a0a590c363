/*
 * IAM policy documents (lib/api/iam.h): the older seed's "Required
 * Permissions for IAM Users" policy as written, AWS's vmimport service
 * role (trust policy and role policy, as the VM Import/Export user guide
 * gives them), and each way a request is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/iam.h"
#include "core/err.h"

static struct vmie_iam_policy *parse_ok(const char *text)
{
	struct vmie_iam_policy *p = NULL;
	struct vmie_err err = { 0 };
	int rc = vmie_iam_parse(text, strlen(text), "test", &p, &err);
	if (rc)
		fail_msg("parse: %s", err.msg);
	return p;
}

/* The parse error message ("" when it parses). */
static const char *parse_err(const char *text)
{
	static struct vmie_err err;
	struct vmie_iam_policy *p = NULL;
	memset(&err, 0, sizeof(err));
	if (vmie_iam_parse(text, strlen(text), "bad", &p, &err) == 0) {
		vmie_iam_free(p);
		return "";
	}
	assert_null(p);
	assert_true(err.msg[0]);
	return err.msg;
}

static enum vmie_iam_decision eval_ctx(const struct vmie_iam_policy *p,
				       const char *action,
				       const char *resource,
				       const char *ctx_json)
{
	json_t *ctx = ctx_json ? json_loads(ctx_json, 0, NULL) : NULL;
	struct vmie_iam_request req = { action, resource, NULL, ctx };
	const struct vmie_iam_policy *set[] = { p };
	enum vmie_iam_decision d = vmie_iam_evaluate(set, 1, &req, NULL);
	json_decref(ctx);
	return d;
}

static enum vmie_iam_decision eval(const struct vmie_iam_policy *p,
				   const char *action, const char *resource)
{
	return eval_ctx(p, action, resource, NULL);
}

/* The policy of the seed, taken from the seed itself. */
static char *seed_policy(void)
{
	char path[4096];
	const char *shared = getenv("SHARED");
	snprintf(path, sizeof(path), "%s/seeds/001_7a4b5939a7983d01.txt",
		 shared ? shared : "../shared");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[8192];
	bool in_section = false;
	char *out = NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "Required Permissions for IAM Users"))
			in_section = true;
		else if (in_section && strncmp(line, "{ \"Version\"", 11) == 0) {
			out = strdup(line);
			break;
		}
	}
	fclose(f);
	assert_non_null(out);
	return out;
}

static void test_seed_policy(void **state)
{
	char *text = seed_policy();
	struct vmie_iam_policy *p = parse_ok(text);
	free(text);

	/* what it grants */
	static const char *ec2_allowed[] = {
		"ec2:ImportImage", "ec2:ImportSnapshot",
		"ec2:DescribeImportImageTasks", "ec2:DescribeImportSnapshotTasks",
		"ec2:CancelImportTask", "ec2:ImportInstance", "ec2:ImportVolume",
		"ec2:DescribeConversionTasks", "ec2:CancelConversionTask",
		"ec2:CreateInstanceExportTask", "ec2:DescribeExportTasks",
		"ec2:CancelExportTask", "ec2:CreateTags", "ec2:DeleteTags",
		"ec2:DescribeTags",
	};
	for (size_t i = 0; i < sizeof(ec2_allowed) / sizeof(*ec2_allowed); i++)
		assert_int_equal(eval(p, ec2_allowed[i], "*"), VMIE_IAM_ALLOW);
	/* action names are not case-sensitive */
	assert_int_equal(eval(p, "EC2:importimage", "*"), VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "s3:ListAllMyBuckets", "*"), VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "s3:GetObject",
			      "arn:aws:s3:::mys3bucket/vms/a.vmdk"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "s3:ListBucket", "arn:aws:s3:::mys3bucket"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "s3:PutObject",
			      "arn:aws:s3:::mys3bucket/exports/b.ova"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "iam:CreateRole", "arn:aws:iam::1:role/x"),
			 VMIE_IAM_ALLOW);

	/* what it does not: the newer export calls are not in it */
	assert_int_equal(eval(p, "ec2:ExportImage", "*"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "ec2:DescribeImages", "*"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "ec2:DeleteSnapshot", "*"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "ec2:ImportImages", "*"),
			 VMIE_IAM_DEFAULT_DENY);
	/* another bucket, a bucket whose name starts the same, another
	 * action on the bucket; resources are case-sensitive */
	assert_int_equal(eval(p, "s3:GetObject",
			      "arn:aws:s3:::otherbucket/vms/a.vmdk"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "s3:GetObject",
			      "arn:aws:s3:::mys3bucket2/a.vmdk"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "s3:GetObject",
			      "arn:aws:s3:::MYS3BUCKET/a.vmdk"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "s3:PutBucketPolicy",
			      "arn:aws:s3:::mys3bucket"),
			 VMIE_IAM_DEFAULT_DENY);
	vmie_iam_free(p);
}

/* AWS's vmimport role: trust policy and role policy (VM Import/Export
 * User Guide, "Required service role"). */
static const char trust_policy[] =
	"{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Effect\": "
	"\"Allow\", \"Principal\": { \"Service\": \"vmie.amazonaws.com\" }, "
	"\"Action\": \"sts:AssumeRole\", \"Condition\": { \"StringEquals\": "
	"{ \"sts:Externalid\": \"vmimport\" } } } ] }";

static const char role_policy[] =
	"{ \"Version\":\"2012-10-17\", \"Statement\":[ {"
	" \"Effect\": \"Allow\", \"Action\": [ \"s3:GetBucketLocation\","
	" \"s3:GetObject\", \"s3:ListBucket\" ], \"Resource\": ["
	" \"arn:aws:s3:::disk-image-file-bucket\","
	" \"arn:aws:s3:::disk-image-file-bucket/*\" ] }, {"
	" \"Effect\": \"Allow\", \"Action\": [ \"s3:GetBucketLocation\","
	" \"s3:GetObject\", \"s3:ListBucket\", \"s3:PutObject\","
	" \"s3:GetBucketAcl\" ], \"Resource\": ["
	" \"arn:aws:s3:::export-bucket\", \"arn:aws:s3:::export-bucket/*\" ]"
	" }, { \"Effect\": \"Allow\", \"Action\": ["
	" \"ec2:ModifySnapshotAttribute\", \"ec2:CopySnapshot\","
	" \"ec2:RegisterImage\", \"ec2:Describe*\" ], \"Resource\": \"*\" } ] }";

static void test_vmimport_role(void **state)
{
	struct vmie_iam_policy *trust = parse_ok(trust_policy);
	struct vmie_iam_policy *role = parse_ok(role_policy);
	const struct vmie_iam_policy *set[] = { trust };
	json_t *ctx = json_pack("{s:s}", "sts:ExternalId", "vmimport");
	struct vmie_iam_request req = { "sts:AssumeRole", "*",
					"vmie.amazonaws.com", ctx };

	/* condition keys are not case-sensitive: Externalid = ExternalId */
	assert_int_equal(vmie_iam_evaluate(set, 1, &req, NULL), VMIE_IAM_ALLOW);
	req.principal = "ec2.amazonaws.com";
	assert_int_equal(vmie_iam_evaluate(set, 1, &req, NULL),
			 VMIE_IAM_DEFAULT_DENY);
	req.principal = NULL;
	assert_int_equal(vmie_iam_evaluate(set, 1, &req, NULL),
			 VMIE_IAM_DEFAULT_DENY);
	req.principal = "vmie.amazonaws.com";
	req.context = NULL;
	assert_int_equal(vmie_iam_evaluate(set, 1, &req, NULL),
			 VMIE_IAM_DEFAULT_DENY);
	json_decref(ctx);

	assert_int_equal(eval(role, "s3:GetObject",
			      "arn:aws:s3:::disk-image-file-bucket/a.ova"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(role, "s3:ListBucket",
			      "arn:aws:s3:::disk-image-file-bucket"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(role, "s3:PutObject",
			      "arn:aws:s3:::export-bucket/x.vmdk"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(role, "ec2:DescribeImages", "*"), VMIE_IAM_ALLOW);
	/* the role may not read another bucket, nor write the source */
	assert_int_equal(eval(role, "s3:GetObject",
			      "arn:aws:s3:::secret-bucket/a.ova"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(role, "s3:PutObject",
			      "arn:aws:s3:::disk-image-file-bucket/a.ova"),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(role, "ec2:DeleteSnapshot", "*"),
			 VMIE_IAM_DEFAULT_DENY);
	vmie_iam_free(trust);
	vmie_iam_free(role);
}

static void test_explicit_deny(void **state)
{
	struct vmie_iam_policy *allow = parse_ok(
		"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
		"\"Allow\",\"Action\":\"ec2:*\",\"Resource\":\"*\"}}");
	struct vmie_iam_policy *deny = parse_ok(
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"NoExport\","
		"\"Effect\":\"Deny\",\"Action\":[\"ec2:Export*\","
		"\"ec2:CreateInstanceExportTask\"],\"Resource\":\"*\"}]}");
	const struct vmie_iam_policy *set[] = { allow, deny };
	struct vmie_iam_request req = { "ec2:ExportImage", "*", NULL, NULL };
	struct vmie_iam_verdict why;

	assert_int_equal(vmie_iam_evaluate(set, 2, &req, &why),
			 VMIE_IAM_EXPLICIT_DENY);
	assert_string_equal(why.sid, "NoExport");
	assert_int_equal(why.statement, 0);
	/* in either order */
	const struct vmie_iam_policy *rev[] = { deny, allow };
	assert_int_equal(vmie_iam_evaluate(rev, 2, &req, NULL),
			 VMIE_IAM_EXPLICIT_DENY);
	req.action = "ec2:ImportImage";
	assert_int_equal(vmie_iam_evaluate(set, 2, &req, &why),
			 VMIE_IAM_ALLOW);
	assert_string_equal(why.policy, "test");
	/* no policy at all: default deny */
	assert_int_equal(vmie_iam_evaluate(set, 0, &req, &why),
			 VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(why.statement, -1);
	vmie_iam_free(allow);
	vmie_iam_free(deny);
}

static void test_not_action_not_resource(void **state)
{
	struct vmie_iam_policy *p = parse_ok(
		"{\"Version\":\"2012-10-17\",\"Statement\":["
		"{\"Effect\":\"Allow\",\"NotAction\":\"iam:*\",\"Resource\":\"*\"},"
		"{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"NotResource\":["
		"\"arn:aws:s3:::ok-bucket\",\"arn:aws:s3:::ok-bucket/*\"]}]}");
	assert_int_equal(eval(p, "ec2:ImportImage", "*"), VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "iam:CreateRole", "*"), VMIE_IAM_DEFAULT_DENY);
	assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::ok-bucket/k"),
			 VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::other/k"),
			 VMIE_IAM_EXPLICIT_DENY);
	vmie_iam_free(p);

	p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
		     "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"NotAction\":"
		     "[\"ec2:Describe*\",\"ec2:Get?\"],\"Resource\":\"*\"}]}");
	assert_int_equal(eval(p, "ec2:DescribeImages", "*"), VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "ec2:GetX", "*"), VMIE_IAM_ALLOW);
	assert_int_equal(eval(p, "ec2:GetXY", "*"), VMIE_IAM_EXPLICIT_DENY);
	assert_int_equal(eval(p, "ec2:ImportImage", "*"),
			 VMIE_IAM_EXPLICIT_DENY);
	vmie_iam_free(p);
}

#define COND_POLICY(cond) \
	"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\"," \
	"\"Action\":\"ec2:ImportImage\",\"Resource\":\"*\",\"Condition\":" \
	cond "}}"

static enum vmie_iam_decision cond(const char *condition, const char *ctx)
{
	char text[2048];
	snprintf(text, sizeof(text), COND_POLICY("%s"), condition);
	struct vmie_iam_policy *p = parse_ok(text);
	enum vmie_iam_decision d = eval_ctx(p, "ec2:ImportImage", "*", ctx);
	vmie_iam_free(p);
	return d;
}

#define ALLOW VMIE_IAM_ALLOW
#define DENY VMIE_IAM_DEFAULT_DENY

static void test_conditions_ip(void **state)
{
	const char *c = "{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\","
		"\"192.168.1.7\",\"2001:db8::/32\"]}}";
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"10.200.3.4\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"192.168.1.7\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"192.168.1.8\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"11.0.0.1\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"2001:db8:1::5\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"2001:db9::5\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"::ffff:10.1.1.1\"}"),
			 ALLOW);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"garbage\"}"), DENY);
	assert_int_equal(cond(c, NULL), DENY);
	/* prefix lengths that do not end on a byte */
	c = "{\"IpAddress\":{\"aws:SourceIp\":\"172.16.0.0/12\"}}";
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"172.31.255.255\"}"),
			 ALLOW);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"172.32.0.0\"}"), DENY);
	c = "{\"NotIpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}";
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"203.0.113.9\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"198.51.100.1\"}"), ALLOW);
	c = "{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}";
	assert_int_equal(cond(c, "{\"aws:SourceIp\":\"1.2.3.4\"}"), ALLOW);
}

static void test_conditions_strings(void **state)
{
	const char *c = "{\"StringEquals\":{\"aws:username\":[\"alice\","
		"\"bob\"]}}";
	assert_int_equal(cond(c, "{\"aws:username\":\"bob\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:username\":\"Bob\"}"), DENY);
	assert_int_equal(cond(c, "{\"AWS:UserName\":\"alice\"}"), ALLOW);
	assert_int_equal(cond(c, "{}"), DENY);
	c = "{\"StringEqualsIgnoreCase\":{\"aws:username\":\"ALICE\"}}";
	assert_int_equal(cond(c, "{\"aws:username\":\"alice\"}"), ALLOW);
	c = "{\"StringNotEquals\":{\"aws:username\":\"mallory\"}}";
	assert_int_equal(cond(c, "{\"aws:username\":\"alice\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:username\":\"mallory\"}"), DENY);
	assert_int_equal(cond(c, "{}"), ALLOW);   /* absent: negated holds */
	c = "{\"StringLike\":{\"aws:username\":[\"adm-*\",\"op?\"]}}";
	assert_int_equal(cond(c, "{\"aws:username\":\"adm-x\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:username\":\"op1\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:username\":\"op12\"}"), DENY);
	c = "{\"StringNotLike\":{\"aws:username\":\"guest*\"}}";
	assert_int_equal(cond(c, "{\"aws:username\":\"guest7\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:username\":\"alice\"}"), ALLOW);
	/* IfExists: absent passes, present is checked */
	c = "{\"StringEqualsIfExists\":{\"aws:username\":\"alice\"}}";
	assert_int_equal(cond(c, "{}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:username\":\"bob\"}"), DENY);
	/* several request values: any may match */
	c = "{\"StringEquals\":{\"aws:PrincipalTag/team\":\"infra\"}}";
	assert_int_equal(cond(c, "{\"aws:PrincipalTag/team\":[\"x\","
			      "\"infra\"]}"), ALLOW);
}

static void test_conditions_bool_and(void **state)
{
	const char *c = "{\"Bool\":{\"aws:SecureTransport\":\"true\"}}";
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":\"true\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":\"false\"}"), DENY);
	assert_int_equal(cond(c, "{}"), DENY);
	/* a JSON literal as the value */
	c = "{\"Bool\":{\"aws:SecureTransport\":true}}";
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":true}"), ALLOW);
	/* AND across operators and keys */
	c = "{\"Bool\":{\"aws:SecureTransport\":\"true\"},\"IpAddress\":"
	    "{\"aws:SourceIp\":\"10.0.0.0/8\"},\"StringEquals\":"
	    "{\"aws:username\":\"alice\"}}";
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":\"true\","
			      "\"aws:SourceIp\":\"10.1.1.1\","
			      "\"aws:username\":\"alice\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":\"true\","
			      "\"aws:SourceIp\":\"10.1.1.1\","
			      "\"aws:username\":\"bob\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":\"false\","
			      "\"aws:SourceIp\":\"10.1.1.1\","
			      "\"aws:username\":\"alice\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:SecureTransport\":\"true\","
			      "\"aws:SourceIp\":\"8.8.8.8\","
			      "\"aws:username\":\"alice\"}"), DENY);
	/* Null */
	c = "{\"Null\":{\"aws:TokenIssueTime\":\"true\"}}";
	assert_int_equal(cond(c, "{}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:TokenIssueTime\":\"x\"}"), DENY);
	/* Deny with a condition: a deny when not over TLS */
	struct vmie_iam_policy *p = parse_ok(
		"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:*\","
		"\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"*\","
		"\"Resource\":\"*\",\"Condition\":{\"Bool\":"
		"{\"aws:SecureTransport\":\"false\"}}}]}");
	assert_int_equal(eval_ctx(p, "ec2:ImportImage", "*",
				  "{\"aws:SecureTransport\":\"false\"}"),
			 VMIE_IAM_EXPLICIT_DENY);
	assert_int_equal(eval_ctx(p, "ec2:ImportImage", "*",
				  "{\"aws:SecureTransport\":\"true\"}"),
			 VMIE_IAM_ALLOW);
	vmie_iam_free(p);
}

static void test_conditions_dates_numbers(void **state)
{
	const char *c = "{\"DateGreaterThan\":{\"aws:CurrentTime\":"
		"\"2026-01-01T00:00:00Z\"},\"DateLessThan\":{\"aws:CurrentTime\":"
		"\"2027-01-01T00:00:00Z\"}}";
	assert_int_equal(cond(c, "{\"aws:CurrentTime\":"
			      "\"2026-11-22T09:42:12Z\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"aws:CurrentTime\":"
			      "\"2027-02-01T00:00:00Z\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:CurrentTime\":"
			      "\"2025-12-31T23:59:59Z\"}"), DENY);
	assert_int_equal(cond(c, "{\"aws:CurrentTime\":\"yesterday\"}"), DENY);
	c = "{\"DateLessThan\":{\"aws:EpochTime\":\"1800000000\"}}";
	assert_int_equal(cond(c, "{\"aws:EpochTime\":\"1700000000\"}"), ALLOW);
	c = "{\"NumericLessThanEquals\":{\"ec2:MaxResults\":\"100\"}}";
	assert_int_equal(cond(c, "{\"ec2:MaxResults\":\"100\"}"), ALLOW);
	assert_int_equal(cond(c, "{\"ec2:MaxResults\":\"101\"}"), DENY);
	assert_int_equal(cond(c, "{\"ec2:MaxResults\":\"1e\"}"), DENY);
}

static void test_variables(void **state)
{
	struct vmie_iam_policy *p = parse_ok(
		"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
		"\"Allow\",\"Action\":\"s3:*\",\"Resource\":"
		"\"arn:aws:s3:::home/${aws:username}/*\",\"Condition\":"
		"{\"StringEquals\":{\"s3:prefix\":\"${aws:username}${*}\"}}}}");
	const char *alice = "{\"aws:username\":\"alice\",\"s3:prefix\":"
		"\"alice*\"}";
	assert_int_equal(eval_ctx(p, "s3:GetObject", "arn:aws:s3:::home/alice/x",
				  alice), ALLOW);
	assert_int_equal(eval_ctx(p, "s3:GetObject", "arn:aws:s3:::home/bob/x",
				  alice), DENY);
	/* no user, or a user name with a wildcard: no match */
	assert_int_equal(eval_ctx(p, "s3:GetObject", "arn:aws:s3:::home/alice/x",
				  "{\"s3:prefix\":\"alice*\"}"), DENY);
	assert_int_equal(eval_ctx(p, "s3:GetObject", "arn:aws:s3:::home/a/x",
				  "{\"aws:username\":\"*\",\"s3:prefix\":"
				  "\"x\"}"), DENY);
	vmie_iam_free(p);
	/* Version 2008-10-17 (or none): ${...} is literal text */
	p = parse_ok("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":"
		     "\"s3:*\",\"Resource\":\"arn:aws:s3:::home/${aws:username}"
		     "/*\"}}");
	assert_int_equal(eval_ctx(p, "s3:GetObject", "arn:aws:s3:::home/alice/x",
				  alice), DENY);
	assert_int_equal(eval_ctx(p, "s3:GetObject",
				  "arn:aws:s3:::home/${aws:username}/x", alice),
			 ALLOW);
	vmie_iam_free(p);
}

static void test_parse_errors(void **state)
{
	const char *m;

	m = parse_err("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
		      "\"Allow\",\"Action\":\"ec2:*\",\"Resource\":\"*\"},"
		      "{\"Sid\":\"Two\",\"Effect\":\"Permit\",\"Action\":"
		      "\"ec2:*\",\"Resource\":\"*\"}]}");
	assert_non_null(strstr(m, "Statement[1]"));
	assert_non_null(strstr(m, "Two"));
	assert_non_null(strstr(m, "Effect"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "Action"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ec2:*\","
		      "\"NotAction\":\"iam:*\",\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "NotAction"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ec2:*\"}}");
	assert_non_null(strstr(m, "Resource"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ec2:*\","
		      "\"Resource\":\"*\",\"Actions\":\"x\"}}");
	assert_non_null(strstr(m, "Actions"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ImportImage\","
		      "\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "service:Action"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[],"
		      "\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "empty"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[1],"
		      "\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "Action"));
	m = parse_err(COND_POLICY("{\"StringMatches\":{\"a\":\"b\"}}"));
	assert_non_null(strstr(m, "StringMatches"));
	m = parse_err(COND_POLICY("{\"ForAnyValue:StringEquals\":{\"a\":\"b\"}}"));
	assert_non_null(strstr(m, "ForAnyValue"));
	m = parse_err(COND_POLICY("{\"IpAddress\":{\"aws:SourceIp\":"
				  "\"10.0.0.0/33\"}}"));
	assert_non_null(strstr(m, "10.0.0.0/33"));
	m = parse_err(COND_POLICY("{\"IpAddress\":{\"aws:SourceIp\":"
				  "\"10.0.0/8\"}}"));
	assert_non_null(strstr(m, "aws:SourceIp"));
	m = parse_err(COND_POLICY("{\"Bool\":{\"aws:SecureTransport\":\"yes\"}}"));
	assert_non_null(strstr(m, "true or false"));
	m = parse_err(COND_POLICY("{\"NumericEquals\":{\"k\":\"ten\"}}"));
	assert_non_null(strstr(m, "number"));
	m = parse_err(COND_POLICY("\"x\""));
	assert_non_null(strstr(m, "Condition"));
	m = parse_err("{\"Version\":\"2020-01-01\",\"Statement\":[]}");
	assert_non_null(strstr(m, "Version"));
	m = parse_err("{\"Version\":\"2012-10-17\",\"Statement\":[]}");
	assert_non_null(strstr(m, "Statement"));
	m = parse_err("{\"Version\":\"2012-10-17\"}");
	assert_non_null(strstr(m, "Statement"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"a:b\","
		      "\"Effect\":\"Deny\",\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "not JSON"));   /* duplicate key */
	m = parse_err("[1]");
	assert_non_null(strstr(m, "object"));
	m = parse_err("{\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":"
		      "{\"AWS\":\"x\"},\"Action\":\"a:b\",\"Resource\":\"*\"}}");
	assert_non_null(strstr(m, "NotPrincipal"));
	m = parse_err("not json");
	assert_non_null(strstr(m, "not JSON"));
}

static void test_bounds(void **state)
{
	/* too many statements */
	size_t cap = 64 * 1024;
	char *t = malloc(cap);
	size_t n = (size_t)snprintf(t, cap, "{\"Statement\":[");
	for (int i = 0; i <= VMIE_IAM_MAX_STATEMENTS; i++)
		n += (size_t)snprintf(t + n, cap - n, "%s{\"Effect\":\"Allow\","
				      "\"Action\":\"a:b\",\"Resource\":\"*\"}",
				      i ? "," : "");
	snprintf(t + n, cap - n, "]}");
	assert_non_null(strstr(parse_err(t), "statements"));
	free(t);
	/* too large a document */
	size_t big = VMIE_IAM_MAX_DOC + 10;
	t = malloc(big + 1);
	memset(t, ' ', big);
	t[big] = '\0';
	assert_non_null(strstr(parse_err(t), "bytes"));
	free(t);
	/* deep nesting is refused by the shape (and jansson's own limit) */
	cap = 40000;
	t = calloc(1, cap);
	for (size_t i = 0; i < 5000; i++)
		strcat(t, "[");
	assert_true(parse_err(t)[0]);
	free(t);
	/* a long action value */
	t = malloc(VMIE_IAM_MAX_STRING + 200);
	n = (size_t)snprintf(t, 100, "{\"Statement\":{\"Effect\":\"Allow\","
			     "\"Resource\":\"*\",\"Action\":\"a:");
	memset(t + n, 'x', VMIE_IAM_MAX_STRING);
	strcpy(t + n + VMIE_IAM_MAX_STRING, "\"}}");
	assert_non_null(strstr(parse_err(t), "longer"));
	free(t);
}

static void test_wildcard(void **state)
{
	assert_true(vmie_iam_wildcard("*", "", 0));
	assert_true(vmie_iam_wildcard("a*b?d", "axxxbcd", 0));
	assert_false(vmie_iam_wildcard("a*b?d", "axxxbd", 0));
	assert_true(vmie_iam_wildcard("ec2:Describe*", "EC2:describeimages", 1));
	assert_false(vmie_iam_wildcard("ec2:Describe*", "EC2:describeimages", 0));
	assert_true(vmie_iam_wildcard("**a**", "bab", 0));
	assert_false(vmie_iam_wildcard("a", "ab", 0));
	assert_false(vmie_iam_wildcard("ab", "a", 0));
	/* a pathological pattern stays fast */
	char s[4097];
	memset(s, 'a', 4096);
	s[4096] = '\0';
	assert_false(vmie_iam_wildcard("*a*a*a*a*a*a*a*a*a*a*b", s, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_policy),
		cmocka_unit_test(test_vmimport_role),
		cmocka_unit_test(test_explicit_deny),
		cmocka_unit_test(test_not_action_not_resource),
		cmocka_unit_test(test_conditions_ip),
		cmocka_unit_test(test_conditions_strings),
		cmocka_unit_test(test_conditions_bool_and),
		cmocka_unit_test(test_conditions_dates_numbers),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_wildcard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
