/*
 * The EC2 VM Import/Export API as calls (service.h): who may do what,
 * then the lib/task call that does it.
 *
 * One call, in this order (docs/api.md, "Actions and permissions"):
 *
 *   1. ec2:<Action> on each resource of the action (table `actions`
 *      below, the resource types of AWS's Service Authorization Reference
 *      for Amazon EC2), against the caller's identity policies with the
 *      server's request context: UnauthorizedOperation, unless allowed
 *   2. DryRun=true stops here: DryRunOperation (allowed)
 *   3. a new task while the server drains: Unavailable (503: every AWS
 *      SDK retries it)
 *   4. the request turned into the pipeline's (the older calls, https S3
 *      URLs); InvalidParameterValue when it cannot be
 *   5. S3, the caller: s3:GetObject on each source object, s3:PutObject on
 *      the export object: UnauthorizedOperation naming the S3 action and
 *      the object
 *   6. S3, the task's role (RoleName, default vmimport): s3:GetObject,
 *      s3:ListBucket and s3:GetBucketLocation on the source; s3:PutObject,
 *      s3:GetBucketAcl and s3:GetBucketLocation on the export bucket (the
 *      role policy of AWS's "Required service role"): InvalidParameter,
 *      "The service role vmimport provided does not exist or does not
 *      have sufficient permissions"
 *   7. lib/task with the operator's rules policy (Vmie.Policy), buckets
 *      only (no local files); a stored task is passed to svc->submitted.
 */
#include "api/service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/legacy.h"
#include "core/err.h"
#include "core/util.h"
#include "task/task.h"

#define DEFAULT_ROLE    "vmimport"
#define DEFAULT_REGION  "us-east-1"
#define DEFAULT_ACCOUNT "000000000000"

struct call {
	const struct vmie_api_service *svc;
	struct vmie_task_env *env;
	const struct vmie_api_caller *who;
	const struct vmie_api_op *op;
	json_t *req;            /* the params, without DryRun and Vmie */
	json_t *out;
	struct vmie_err *err;
	const char *region, *account;
};

/* ---- strings ---- */

static char *fmt_new(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *fmt_new(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int oom(struct vmie_err *err)
{
	return VMIE_API_ERR(err, VMIE_ENOMEM, "InternalError",
			    "out of memory");
}

/* ---- ARNs ---- */

/* The ARN of an EC2 resource an id names, by its prefix; images and
 * snapshots have no account in their ARN (AWS: arn:aws:ec2:REGION::
 * image/ami-...), tasks have one. */
static char *ec2_arn(const struct call *c, const char *type, const char *id)
{
	bool no_account = !strcmp(type, "image") || !strcmp(type, "snapshot");
	return fmt_new("arn:aws:ec2:%s:%s:%s/%s", c->region,
		       no_account ? "" : c->account, type, id ? id : "");
}

static const char *type_of_id(const char *id)
{
	static const struct { const char *prefix, *type; } t[] = {
		{ "import-ami-", "import-image-task" },
		{ "import-snap-", "import-snapshot-task" },
		{ "export-ami-", "export-image-task" },
		{ "export-i-", "export-instance-task" },
		{ "ami-", "image" },
		{ "snap-", "snapshot" },
	};
	for (size_t i = 0; id && i < sizeof t / sizeof *t; i++)
		if (!strncmp(id, t[i].prefix, strlen(t[i].prefix)))
			return t[i].type;
	return NULL;
}

/* Append the ARN of id (its type by prefix, else deflt) to list. */
static int add_id_arn(const struct call *c, json_t *list, const char *id,
		      const char *deflt)
{
	const char *type = type_of_id(id);
	char *a = ec2_arn(c, type ? type : deflt, id);
	if (!a)
		return VMIE_ENOMEM;
	json_array_append_new(list, json_string(a));
	free(a);
	return 0;
}

/* ---- IAM ---- */

static enum vmie_iam_decision evaluate(const struct vmie_api_principal *p,
				       const char *action, const char *res,
				       const json_t *context)
{
	struct vmie_iam_request ir = { action, res, NULL, context };
	if (!p)
		return VMIE_IAM_DEFAULT_DENY;
	return vmie_iam_evaluate(p->policies, p->n_policies, &ir, NULL);
}

static int unauthorized(const struct call *c, const char *action,
			const char *res, enum vmie_iam_decision d)
{
	const struct vmie_api_principal *u = c->who ? c->who->user : NULL;
	return VMIE_API_ERR(c->err, VMIE_EPERM, "UnauthorizedOperation",
			    "You are not authorized to perform this operation. "
			    "User: %.200s is not authorized to perform: %s on "
			    "resource: %.600s because %s", u && u->arn ? u->arn :
			    u && u->name ? u->name : "(anonymous)", action, res,
			    d == VMIE_IAM_EXPLICIT_DENY ?
			    "an identity-based policy explicitly denies it" :
			    "no identity-based policy allows it");
}

/* The caller may do action on every resource of the list. */
static int caller_may(const struct call *c, const char *action,
		      const json_t *resources)
{
	const json_t *r;
	size_t i;
	json_array_foreach(resources, i, r) {
		enum vmie_iam_decision d = evaluate(c->who ? c->who->user : NULL,
						    action, json_string_value(r),
						    c->who ? c->who->context :
						    NULL);
		if (d != VMIE_IAM_ALLOW)
			return unauthorized(c, action, json_string_value(r), d);
	}
	return 0;
}

/* ---- the task's role ---- */

static const struct vmie_api_principal *find_role(const struct call *c,
						  const char *name)
{
	for (size_t i = 0; i < c->svc->n_roles; i++)
		if (c->svc->roles[i].name &&
		    !strcmp(c->svc->roles[i].name, name))
			return &c->svc->roles[i];
	return NULL;
}

/* What a role is evaluated with: the service acting as the role. */
static json_t *role_context(const struct call *c,
			    const struct vmie_api_principal *role)
{
	json_t *ctx = json_object();
	if (role->arn)
		json_object_set_new(ctx, "aws:PrincipalArn",
				    json_string(role->arn));
	json_object_set_new(ctx, "aws:PrincipalAccount",
			    json_string(c->account));
	json_object_set_new(ctx, "aws:PrincipalType",
			    json_string("AssumedRole"));
	const json_t *now = json_object_get(c->who ? c->who->context : NULL,
					    "aws:CurrentTime");
	if (now)
		json_object_set(ctx, "aws:CurrentTime", (json_t *)now);
	json_t *ep = json_object_get(c->who ? c->who->context : NULL,
				     "aws:EpochTime");
	if (ep)
		json_object_set(ctx, "aws:EpochTime", ep);
	return ctx;
}

/* needs: [[action, resource], ...] the role must be allowed. */
static int role_may(const struct call *c, const json_t *needs)
{
	const char *name = str(c->req, "RoleName");
	const struct vmie_api_principal *role;
	const json_t *n;
	size_t i;
	int r = 0;

	if (!name || !name[0])
		name = DEFAULT_ROLE;
	role = find_role(c, name);
	if (!role)
		return VMIE_API_ERR(c->err, VMIE_EPERM, "InvalidParameter",
				    "The service role %.64s provided does not "
				    "exist or does not have sufficient "
				    "permissions (no such role)", name);
	json_t *ctx = role_context(c, role);
	json_array_foreach(needs, i, n) {
		const char *act = json_string_value(json_array_get(n, 0));
		const char *res = json_string_value(json_array_get(n, 1));
		if (evaluate(role, act, res, ctx) != VMIE_IAM_ALLOW) {
			r = VMIE_API_ERR(c->err, VMIE_EPERM, "InvalidParameter",
					 "The service role %.64s provided does "
					 "not exist or does not have sufficient "
					 "permissions (it may not %s on "
					 "%.600s)", name, act, res);
			break;
		}
	}
	json_decref(ctx);
	return r;
}

static void need(json_t *needs, const char *action, const char *res)
{
	json_t *p = json_array();
	json_array_append_new(p, json_string(action));
	json_array_append_new(p, json_string(res));
	json_array_append_new(needs, p);
}

/* Sources: [[bucket, key], ...]: the caller may read each object, the
 * role may read it and list and locate its bucket. */
static int access_sources(const struct call *c, const json_t *sources)
{
	json_t *mine = json_array(), *roles = json_array();
	const json_t *s;
	size_t i;
	int r = 0;

	json_array_foreach(sources, i, s) {
		const char *b = json_string_value(json_array_get(s, 0));
		const char *k = json_string_value(json_array_get(s, 1));
		char *obj = fmt_new("arn:aws:s3:::%s/%s", b, k);
		char *bkt = fmt_new("arn:aws:s3:::%s", b);
		if (!obj || !bkt) {
			free(obj);
			free(bkt);
			r = oom(c->err);
			goto out;
		}
		json_array_append_new(mine, json_string(obj));
		need(roles, "s3:GetObject", obj);
		need(roles, "s3:ListBucket", bkt);
		need(roles, "s3:GetBucketLocation", bkt);
		free(obj);
		free(bkt);
	}
	if (!(r = caller_may(c, "s3:GetObject", mine)))
		r = role_may(c, roles);
out:
	json_decref(mine);
	json_decref(roles);
	return r;
}

/* The export object PREFIX + "export-ami-*." + ext (its task id is not
 * known yet): the caller may write it, the role may write it and read
 * the bucket's ACL and location. */
static int access_export(const struct call *c, const char *bucket,
			 const char *prefix, const char *format)
{
	char ext[8] = "*";
	json_t *mine = json_array(), *roles = json_array();
	int r;

	if (format && strlen(format) < sizeof ext) {
		for (size_t i = 0; format[i]; i++)
			ext[i] = (char)(format[i] >= 'A' && format[i] <= 'Z' ?
					format[i] - 'A' + 'a' : format[i]);
		ext[strlen(format)] = 0;
	}
	char *obj = fmt_new("arn:aws:s3:::%s/%sexport-ami-*.%s", bucket,
			    prefix ? prefix : "", ext);
	char *bkt = fmt_new("arn:aws:s3:::%s", bucket);
	if (!obj || !bkt) {
		r = oom(c->err);
		goto out;
	}
	json_array_append_new(mine, json_string(obj));
	need(roles, "s3:PutObject", obj);
	need(roles, "s3:GetBucketAcl", bkt);
	need(roles, "s3:GetBucketLocation", bkt);
	if (!(r = caller_may(c, "s3:PutObject", mine)))
		r = role_may(c, roles);
out:
	free(obj);
	free(bkt);
	json_decref(mine);
	json_decref(roles);
	return r;
}

static void add_source(json_t *sources, const char *bucket, const char *key)
{
	json_t *p = json_array();
	json_array_append_new(p, json_string(bucket));
	json_array_append_new(p, json_string(key));
	json_array_append_new(sources, p);
}

/* A disk container's source: UserBucket, or an S3 Url (an https one is
 * rewritten s3://BUCKET/KEY, the form lib/task reads).  Containers the
 * pipeline will refuse anyway (no source, a local path) add nothing. */
static int container_source(struct call *c, json_t *dc, json_t *sources)
{
	const json_t *ub = json_object_get(dc, "UserBucket");
	const char *url = str(dc, "Url");
	char bucket[256], key[2048];
	int r;

	if (json_is_object(ub)) {
		if (str(ub, "S3Bucket") && str(ub, "S3Key"))
			add_source(sources, str(ub, "S3Bucket"),
				   str(ub, "S3Key"));
		return 0;
	}
	if (!url || (strncmp(url, "s3://", 5) &&
		     strncasecmp(url, "https://", 8) &&
		     strncasecmp(url, "http://", 7)))
		return 0;
	if ((r = vmie_legacy_s3_url(url, "Url", bucket, sizeof bucket, key,
				    sizeof key, c->err)))
		return r;
	char *s3 = fmt_new("s3://%s/%s", bucket, key);
	if (!s3)
		return oom(c->err);
	json_object_set_new(dc, "Url", json_string(s3));
	free(s3);
	add_source(sources, bucket, key);
	return 0;
}

/* ---- calling lib/task ---- */

/* The Vmie object of a request to lib/task: the operator's policy, and
 * legacy (stolen) when not NULL. */
static void set_vmie(const struct call *c, json_t *req, json_t *legacy)
{
	json_t *vm = json_object();
	if (c->svc->policy)
		json_object_set_new(vm, "Policy", json_string(c->svc->policy));
	if (legacy)
		json_object_set_new(vm, "Legacy", legacy);
	json_object_set_new(req, "Vmie", vm);
}

static void submitted(const struct call *c, const char *id)
{
	if (c->svc->submitted && id)
		c->svc->submitted(c->svc->submitted_ctx, id);
}

/* After a submit call: 0 for a new task (passed to the server), 1 for
 * the task of a ClientToken seen before (not run again). */
static int after_submit(struct call *c, int r, const char *id_key)
{
	if (r == 0)
		submitted(c, str(c->out, id_key));
	return r == 1 ? 0 : r;
}

/* The stored record of a task (for the older shapes). */
static int stored(struct call *c, enum vmie_rec_kind k, const char *id,
		  json_t **rec)
{
	return vmie_store_get(c->env->store, k, id, rec, c->err);
}

/* ---- the actions ---- */

static int do_import_image(struct call *c)
{
	json_t *dcs = json_object_get(c->req, "DiskContainers");
	json_t *sources = json_array(), *dc;
	size_t i;
	int r = 0;

	json_array_foreach(dcs, i, dc)
		if (json_is_object(dc) &&
		    (r = container_source(c, dc, sources)))
			goto out;
	if ((r = access_sources(c, sources)))
		goto out;
	set_vmie(c, c->req, NULL);
	r = vmie_import_image(c->env, c->req, &c->out, c->err);
	r = after_submit(c, r, "ImportTaskId");
out:
	json_decref(sources);
	return r;
}

static int do_import_snapshot(struct call *c)
{
	json_t *dc = json_object_get(c->req, "DiskContainer");
	json_t *sources = json_array();
	int r = 0;

	if (json_is_object(dc) && (r = container_source(c, dc, sources)))
		goto out;
	if ((r = access_sources(c, sources)))
		goto out;
	set_vmie(c, c->req, NULL);
	r = vmie_import_snapshot(c->env, c->req, &c->out, c->err);
	r = after_submit(c, r, "ImportTaskId");
out:
	json_decref(sources);
	return r;
}

static int do_export_image(struct call *c)
{
	const json_t *loc = json_object_get(c->req, "S3ExportLocation");
	int r;

	if (str(loc, "S3Bucket") &&
	    (r = access_export(c, str(loc, "S3Bucket"), str(loc, "S3Prefix"),
			       str(c->req, "DiskImageFormat"))))
		return r;
	set_vmie(c, c->req, NULL);
	r = vmie_export_image(c->env, c->req, &c->out, c->err);
	return after_submit(c, r, "ExportImageTaskId");
}

static enum vmie_rec_kind describe_kind(const char *op)
{
	if (!strcmp(op, "DescribeImportImageTasks"))
		return VMIE_REC_IMPORT_IMAGE;
	if (!strcmp(op, "DescribeImportSnapshotTasks"))
		return VMIE_REC_IMPORT_SNAPSHOT;
	if (!strcmp(op, "DescribeExportImageTasks"))
		return VMIE_REC_EXPORT_IMAGE;
	if (!strcmp(op, "DescribeImages"))
		return VMIE_REC_IMAGE;
	return VMIE_REC_SNAPSHOT;
}

static int do_describe(struct call *c)
{
	return vmie_describe(c->env, describe_kind(c->op->name), c->req,
			     &c->out, c->err);
}

static int need_string(struct call *c, const char *key, const char **v)
{
	*v = str(c->req, key);
	if (!*v || !(*v)[0])
		return VMIE_API_ERR(c->err, VMIE_EINVAL, "MissingParameter",
				    "The request must contain the parameter "
				    "%s", key);
	return 0;
}

static int do_cancel_import(struct call *c)
{
	const char *id;
	int r;
	if ((r = need_string(c, "ImportTaskId", &id)))
		return r;
	int k = vmie_rec_kind_of_id(id);
	if (k != VMIE_REC_IMPORT_IMAGE && k != VMIE_REC_IMPORT_SNAPSHOT)
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidConversionTaskId.Malformed",
				    "The import task ID '%.64s' is malformed "
				    "(import-ami-... or import-snap-...)", id);
	return vmie_task_cancel(c->env, id, &c->out, c->err);
}

static int do_deregister(struct call *c)
{
	const char *id;
	int r;
	if ((r = need_string(c, "ImageId", &id)) ||
	    (r = vmie_deregister_image(c->env, id, c->err)))
		return r;
	c->out = json_object();
	json_object_set_new(c->out, "Return", json_true());
	return 0;
}

static int do_delete_snapshot(struct call *c)
{
	const char *id;
	int r;
	if ((r = need_string(c, "SnapshotId", &id)))
		return r;
	return vmie_delete_snapshot(c->env, id, c->err);
}

static int do_create_tags(struct call *c)
{
	return vmie_create_tags(c->env, c->req, c->err);
}

static int do_delete_tags(struct call *c)
{
	return vmie_delete_tags(c->env, c->req, c->err);
}

static int do_describe_tags(struct call *c)
{
	return vmie_describe_tags(c->env, c->req, &c->out, c->err);
}

/* -- CreateInstanceExportTask, DescribeExportTasks, CancelExportTask -- */

static int do_create_instance_export(struct call *c)
{
	const char *op = "CreateInstanceExportTask";
	const char *ami, *env_name;
	const json_t *s3 = json_object_get(c->req, "ExportToS3Task");
	json_t *req = NULL, *leg, *rec = NULL;
	int r;

	if ((r = need_string(c, "InstanceId", &ami)) ||
	    (r = need_string(c, "TargetEnvironment", &env_name)))
		return r;
	if (!vmie_rec_id_valid(VMIE_REC_IMAGE, ami))
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidInstanceID.Malformed",
				    "Invalid id: \"%.64s\" (an instance "
				    "exported here is a registered image, "
				    "ami-...)", ami);
	if (strcmp(env_name, "vmware") && strcmp(env_name, "citrix") &&
	    strcmp(env_name, "microsoft"))
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidParameterValue",
				    "%s: TargetEnvironment '%.32s' is not "
				    "citrix, vmware or microsoft", op,
				    env_name);
	if (!json_is_object(s3) || !str(s3, "S3Bucket"))
		return VMIE_API_ERR(c->err, VMIE_EINVAL, "MissingParameter",
				    "%s: ExportToS3Task.S3Bucket is required",
				    op);
	const char *cf = str(s3, "ContainerFormat");
	const char *df = str(s3, "DiskImageFormat");
	if (cf && strcmp(cf, "ova"))
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidParameterValue",
				    "%s: ContainerFormat '%.32s' is not ova",
				    op, cf);
	if (df && strcasecmp(df, "VMDK") && strcasecmp(df, "VHD") &&
	    strcasecmp(df, "RAW"))
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidParameterValue",
				    "%s: DiskImageFormat '%.32s' is not VMDK, "
				    "VHD or RAW", op, df);
	if (!df)
		df = !strcmp(env_name, "vmware") || cf ? "VMDK" : "VHD";
	if (cf && strcasecmp(df, "VMDK"))
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidParameterValue",
				    "%s: an ova container holds VMDK disks, "
				    "not %.32s", op, df);
	char DF[8];
	vmie_strlcpy(DF, df, sizeof DF);
	for (char *p = DF; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	const char *pipe_fmt = cf ? "OVA" : DF;
	if ((r = access_export(c, str(s3, "S3Bucket"), str(s3, "S3Prefix"),
			       pipe_fmt)))
		return r;

	req = json_object();
	json_object_set_new(req, "ImageId", json_string(ami));
	json_object_set_new(req, "DiskImageFormat", json_string(pipe_fmt));
	json_t *loc = json_object();
	json_object_set_new(loc, "S3Bucket", json_string(str(s3, "S3Bucket")));
	if (str(s3, "S3Prefix"))
		json_object_set_new(loc, "S3Prefix",
				    json_string(str(s3, "S3Prefix")));
	json_object_set_new(req, "S3ExportLocation", loc);
	if (str(c->req, "Description"))
		json_object_set_new(req, "Description",
				    json_string(str(c->req, "Description")));
	const json_t *specs = json_object_get(c->req, "TagSpecifications");
	if (json_is_array(specs)) {
		json_t *sp = json_deep_copy(specs), *x;
		size_t i;
		json_array_foreach(sp, i, x) {
			const char *rt = str(x, "ResourceType");
			if (rt && !strcmp(rt, "export-instance-task"))
				json_object_set_new(x, "ResourceType",
					json_string("export-image-task"));
		}
		json_object_set_new(req, "TagSpecifications", sp);
	}
	leg = json_object();
	json_object_set_new(leg, "Action", json_string(op));
	json_object_set_new(leg, "TargetEnvironment", json_string(env_name));
	if (cf)
		json_object_set_new(leg, "ContainerFormat", json_string(cf));
	json_object_set_new(leg, "DiskImageFormat", json_string(DF));
	set_vmie(c, req, leg);
	json_t *res = NULL;
	r = vmie_export_image(c->env, req, &res, c->err);
	if (r < 0) {
		if (c->err && !strcmp(c->err->api, "InvalidAMIID.NotFound"))
			vmie_err_api(c->err, "InvalidInstanceID.NotFound");
		goto out;
	}
	const char *id = str(res, "ExportImageTaskId");
	if (r == 0)
		submitted(c, id);
	if ((r = stored(c, VMIE_REC_EXPORT_IMAGE, id, &rec)))
		goto out;
	json_t *t = vmie_legacy_export_task(rec);
	if (!t) {
		r = VMIE_API_ERR(c->err, VMIE_EINVAL, "InternalError",
				 "%s: %s is not an instance export", op, id);
		goto out;
	}
	c->out = json_object();
	json_object_set_new(c->out, "ExportTask", t);
out:
	json_decref(res);
	json_decref(req);
	json_decref(rec);
	return r;
}

/* The record an export task id names (export-i-... or export-ami-...),
 * for DescribeExportTasks (legacy_only) and CancelExportTask. */
static int export_task_id(struct call *c, const char *id, char *task_id,
			  bool *legacy)
{
	enum vmie_rec_kind k;
	*legacy = false;
	if (id && !vmie_legacy_task_id(id, task_id, &k) &&
	    k == VMIE_REC_EXPORT_IMAGE) {
		*legacy = true;
		return 0;
	}
	if (id && vmie_rec_id_valid(VMIE_REC_EXPORT_IMAGE, id)) {
		vmie_strlcpy(task_id, id, VMIE_ID_MAX);
		return 0;
	}
	return VMIE_API_ERR(c->err, VMIE_EINVAL, "InvalidExportTaskID.Malformed",
			    "The export task ID '%.64s' is malformed "
			    "(export-i-... or export-ami-...)",
			    id ? id : "");
}

static int export_not_found(struct call *c, const char *id)
{
	return VMIE_API_ERR(c->err, VMIE_ENOENT, "InvalidExportTaskID.NotFound",
			    "The export task ID '%.64s' does not exist", id);
}

/* Filters of DescribeExportTasks: names to members of ExportTask. */
static const struct { const char *name, *a, *b; } export_filters[] = {
	{ "export-task-id", "ExportTaskId", NULL },
	{ "instance-id", "InstanceExportDetails", "InstanceId" },
	{ "target-environment", "InstanceExportDetails", "TargetEnvironment" },
	{ "state", "State", NULL },
	{ "s3-bucket", "ExportToS3Task", "S3Bucket" },
};

static bool value_in(const json_t *values, const char *v)
{
	const json_t *x;
	size_t i;
	if (!json_array_size(values))
		return true;
	json_array_foreach(values, i, x)
		if (json_is_string(x) && v &&
		    vmie_iam_wildcard(json_string_value(x), v, 0))
			return true;
	return false;
}

/* 1 when t matches every filter, 0 when not, <0 on an unknown filter. */
static int export_filter_match(struct call *c, const json_t *t,
			       const json_t *filters)
{
	const json_t *f;
	size_t i;
	json_array_foreach(filters, i, f) {
		const char *n = str(f, "Name");
		const json_t *vs = json_object_get(f, "Values");
		bool ok = false;
		if (n && !strncmp(n, "tag:", 4)) {
			const json_t *tg;
			size_t j;
			json_array_foreach(json_object_get(t, "Tags"), j, tg)
				if (str(tg, "Key") && !strcmp(str(tg, "Key"),
							       n + 4) &&
				    value_in(vs, str(tg, "Value") ?
					     str(tg, "Value") : ""))
					ok = true;
		} else if (n && !strcmp(n, "tag-key")) {
			const json_t *tg;
			size_t j;
			json_array_foreach(json_object_get(t, "Tags"), j, tg)
				if (value_in(vs, str(tg, "Key")))
					ok = true;
		} else {
			size_t k, nf = sizeof export_filters /
				       sizeof *export_filters;
			for (k = 0; n && k < nf; k++)
				if (!strcmp(n, export_filters[k].name))
					break;
			if (!n || k == nf)
				return VMIE_API_ERR(c->err, VMIE_EINVAL,
						    "InvalidParameterValue",
						    "The filter '%.64s' is "
						    "invalid", n ? n : "");
			const json_t *o = t;
			const char *v;
			if (export_filters[k].b) {
				o = json_object_get(t, export_filters[k].a);
				v = str(o, export_filters[k].b);
			} else {
				v = str(t, export_filters[k].a);
			}
			ok = value_in(vs, v ? v : "");
		}
		if (!ok)
			return 0;
	}
	return 1;
}

static int do_describe_export_tasks(struct call *c)
{
	const json_t *ids = json_object_get(c->req, "ExportTaskIds");
	const json_t *filters = json_object_get(c->req, "Filters");
	json_t *all = NULL, *list = json_array(), *x;
	char next[VMIE_ID_MAX];
	size_t i;
	int r;

	if (filters && !json_is_array(filters)) {
		r = VMIE_API_ERR(c->err, VMIE_EINVAL, "InvalidParameterValue",
				 "Filters must be a list of {Name, Values}");
		goto out;
	}
	if (json_array_size(ids)) {
		json_array_foreach(ids, i, x) {
			char tid[VMIE_ID_MAX];
			bool legacy;
			json_t *rec = NULL, *t;
			if ((r = export_task_id(c, json_string_value(x), tid,
						&legacy)))
				goto out;
			r = stored(c, VMIE_REC_EXPORT_IMAGE, tid, &rec);
			if (r == VMIE_ENOENT || (!r && !(t =
				vmie_legacy_export_task(rec)))) {
				json_decref(rec);
				r = export_not_found(c, json_string_value(x));
				goto out;
			}
			json_decref(rec);
			if (r)
				goto out;
			json_array_append_new(list, t);
		}
	} else {
		struct vmie_store_list q = { 0 };
		if ((r = vmie_store_list(c->env->store, VMIE_REC_EXPORT_IMAGE,
					 &q, &all, next, c->err)))
			goto out;
		json_array_foreach(all, i, x) {
			json_t *t = vmie_legacy_export_task(x);
			if (t)
				json_array_append_new(list, t);
		}
	}
	/* filters over the ExportTask shapes */
	json_t *kept = json_array();
	json_array_foreach(list, i, x) {
		int m = export_filter_match(c, x, filters);
		if (m < 0) {
			json_decref(kept);
			r = m;
			goto out;
		}
		if (m)
			json_array_append(kept, x);
	}
	c->out = json_object();
	json_object_set_new(c->out, "ExportTasks", kept);
	r = 0;
out:
	json_decref(all);
	json_decref(list);
	return r;
}

static int do_cancel_export(struct call *c)
{
	const char *id;
	char tid[VMIE_ID_MAX];
	bool legacy;
	json_t *rec = NULL, *res = NULL;
	int r;

	if ((r = need_string(c, "ExportTaskId", &id)) ||
	    (r = export_task_id(c, id, tid, &legacy)))
		return r;
	r = stored(c, VMIE_REC_EXPORT_IMAGE, tid, &rec);
	if (r == VMIE_ENOENT || (!r && legacy && !vmie_legacy_of(rec))) {
		json_decref(rec);
		return export_not_found(c, id);
	}
	json_decref(rec);
	if (r)
		return r;
	r = vmie_task_cancel(c->env, tid, &res, c->err);
	json_decref(res);
	return r;
}

/* -- ImportInstance, ImportVolume, DescribeConversionTasks,
 *    CancelConversionTask -- */

/* A DiskImage's Image: the disk container it becomes. */
static int disk_image_container(struct call *c, const json_t *image,
				const char *description, const char *what,
				json_t *sources, json_t **out)
{
	const char *fmt = str(image, "Format");
	const char *url = str(image, "ImportManifestUrl");
	char bucket[256], key[2048];
	int r;

	*out = NULL;
	if (!json_is_object(image) || !fmt || !url)
		return VMIE_API_ERR(c->err, VMIE_EINVAL, "MissingParameter",
				    "%s: Image needs Format, Bytes and "
				    "ImportManifestUrl", what);
	if (strcasecmp(fmt, "VMDK") && strcasecmp(fmt, "VHD") &&
	    strcasecmp(fmt, "RAW"))
		return VMIE_API_ERR(c->err, VMIE_EINVAL,
				    "InvalidParameterValue",
				    "%s: Format '%.32s' is not VMDK, VHD or "
				    "RAW", what, fmt);
	if ((r = vmie_legacy_s3_url(url, "ImportManifestUrl", bucket,
				    sizeof bucket, key, sizeof key, c->err)))
		return r;
	size_t kl = strlen(key);
	if ((kl > 4 && !strcasecmp(key + kl - 4, ".xml")) ||
	    strstr(key, "manifest"))
		return VMIE_API_ERR(c->err, VMIE_EUNSUPP,
				    "InvalidParameterValue",
				    "%s: ImportManifestUrl '%.200s' names an "
				    "EC2 import manifest (XML): vmie does not "
				    "read manifests; give the URL of the disk "
				    "image object itself (s3://BUCKET/KEY or "
				    "an https S3 URL)", what, url);
	json_t *dc = json_object();
	json_object_set_new(dc, "Format", json_string(fmt));
	if (description)
		json_object_set_new(dc, "Description",
				    json_string(description));
	json_t *ub = json_object();
	json_object_set_new(ub, "S3Bucket", json_string(bucket));
	json_object_set_new(ub, "S3Key", json_string(key));
	json_object_set_new(dc, "UserBucket", ub);
	add_source(sources, bucket, key);
	*out = dc;
	return 0;
}

/* Answer { ConversionTask } for the task just submitted (or the one of
 * a ClientToken: not with these calls, which have none). */
static int conversion_answer(struct call *c, enum vmie_rec_kind k,
			     const char *id)
{
	json_t *rec = NULL;
	int r = stored(c, k, id, &rec);
	if (r)
		return r;
	json_t *ct = vmie_legacy_conversion_task(k, rec);
	json_decref(rec);
	if (!ct)
		return VMIE_API_ERR(c->err, VMIE_EINVAL, "InternalError",
				    "%s is not a conversion task", id);
	c->out = json_object();
	json_object_set_new(c->out, "ConversionTask", ct);
	return 0;
}

static int do_import_instance(struct call *c)
{
	const char *op = "ImportInstance";
	const json_t *dis = json_object_get(c->req, "DiskImages");
	const json_t *ls = json_object_get(c->req, "LaunchSpecification");
	const json_t *di;
	json_t *req = json_object(), *dcs = json_array(), *sources =
		json_array(), *res = NULL;
	size_t i;
	int r;

	if (!json_array_size(dis)) {
		r = VMIE_API_ERR(c->err, VMIE_EINVAL, "MissingParameter",
				 "%s: the request must contain DiskImage.1",
				 op);
		goto out;
	}
	json_array_foreach(dis, i, di) {
		char what[48];
		json_t *dc;
		snprintf(what, sizeof what, "%s: DiskImage.%zu", op, i + 1);
		if ((r = disk_image_container(c, json_object_get(di, "Image"),
					      str(di, "Description"), what,
					      sources, &dc)))
			goto out;
		json_array_append_new(dcs, dc);
	}
	if ((r = access_sources(c, sources)))
		goto out;
	json_object_set_new(req, "DiskContainers", dcs);
	dcs = NULL;
	if (str(c->req, "Description"))
		json_object_set_new(req, "Description",
				    json_string(str(c->req, "Description")));
	if (str(c->req, "Platform"))
		json_object_set_new(req, "Platform",
				    json_string(str(c->req, "Platform")));
	if (str(ls, "Architecture"))
		json_object_set_new(req, "Architecture",
				    json_string(str(ls, "Architecture")));
	json_t *leg = json_object();
	json_object_set_new(leg, "Action", json_string(op));
	json_object_set_new(leg, "DiskImages", json_deep_copy(dis));
	const char *az = str(json_object_get(ls, "Placement"),
			     "AvailabilityZone");
	if (az)
		json_object_set_new(leg, "AvailabilityZone", json_string(az));
	set_vmie(c, req, leg);
	if ((r = vmie_import_image(c->env, req, &res, c->err)) < 0)
		goto out;
	const char *id = str(res, "ImportTaskId");
	submitted(c, id);
	r = conversion_answer(c, VMIE_REC_IMPORT_IMAGE, id);
out:
	json_decref(res);
	json_decref(req);
	json_decref(dcs);
	json_decref(sources);
	return r;
}

static int do_import_volume(struct call *c)
{
	const char *op = "ImportVolume";
	const json_t *img = json_object_get(c->req, "Image");
	const json_t *vol = json_object_get(c->req, "Volume");
	json_t *req = json_object(), *sources = json_array(), *dc = NULL,
	       *res = NULL;
	int r;

	if (!json_is_object(vol) ||
	    !json_is_integer(json_object_get(vol, "Size"))) {
		r = VMIE_API_ERR(c->err, VMIE_EINVAL, "MissingParameter",
				 "%s: the request must contain Volume.Size",
				 op);
		goto out;
	}
	if ((r = disk_image_container(c, img, str(c->req, "Description"), op,
				      sources, &dc)) ||
	    (r = access_sources(c, sources)))
		goto out;
	json_object_set_new(req, "DiskContainer", dc);
	dc = NULL;
	if (str(c->req, "Description"))
		json_object_set_new(req, "Description",
				    json_string(str(c->req, "Description")));
	json_t *leg = json_object();
	json_object_set_new(leg, "Action", json_string(op));
	json_object_set_new(leg, "Image", json_deep_copy(img));
	json_object_set_new(leg, "Volume", json_deep_copy(vol));
	if (str(c->req, "AvailabilityZone"))
		json_object_set_new(leg, "AvailabilityZone", json_string(
			str(c->req, "AvailabilityZone")));
	set_vmie(c, req, leg);
	if ((r = vmie_import_snapshot(c->env, req, &res, c->err)) < 0)
		goto out;
	const char *id = str(res, "ImportTaskId");
	submitted(c, id);
	r = conversion_answer(c, VMIE_REC_IMPORT_SNAPSHOT, id);
out:
	json_decref(res);
	json_decref(req);
	json_decref(dc);
	json_decref(sources);
	return r;
}

static int conversion_malformed(struct call *c, const char *id)
{
	return VMIE_API_ERR(c->err, VMIE_EINVAL,
			    "InvalidConversionTaskId.Malformed",
			    "The conversion task ID '%.64s' is malformed "
			    "(import-i-... or import-vol-...)", id ? id : "");
}

static int conversion_not_found(struct call *c, const char *id)
{
	return VMIE_API_ERR(c->err, VMIE_ENOENT, "InvalidConversionTaskId",
			    "The conversion task ID '%.64s' does not exist",
			    id);
}

/* Creation order of two records (Vmie.Created). */
static int by_created(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a;
	const json_t *y = *(const json_t *const *)b;
	double p = json_number_value(json_object_get(json_object_get(x,
		"Vmie"), "Created"));
	double q = json_number_value(json_object_get(json_object_get(y,
		"Vmie"), "Created"));
	return p < q ? -1 : p > q;
}

static int do_describe_conversions(struct call *c)
{
	const json_t *ids = json_object_get(c->req, "ConversionTaskIds");
	json_t *list = json_array(), *x;
	size_t i;
	int r = 0;

	if (json_array_size(ids)) {
		json_array_foreach(ids, i, x) {
			const char *id = json_string_value(x);
			char tid[VMIE_ID_MAX];
			enum vmie_rec_kind k;
			json_t *rec = NULL, *ct = NULL;
			if (vmie_legacy_task_id(id, tid, &k) ||
			    k == VMIE_REC_EXPORT_IMAGE) {
				r = conversion_malformed(c, id);
				goto out;
			}
			r = stored(c, k, tid, &rec);
			if (!r)
				ct = vmie_legacy_conversion_task(k, rec);
			json_decref(rec);
			if (r == VMIE_ENOENT || (!r && !ct)) {
				r = conversion_not_found(c, id);
				goto out;
			}
			if (r)
				goto out;
			json_array_append_new(list, ct);
		}
	} else {
		enum vmie_rec_kind kinds[2] = { VMIE_REC_IMPORT_IMAGE,
						VMIE_REC_IMPORT_SNAPSHOT };
		json_t *recs[2] = { NULL, NULL };
		size_t n = 0, j = 0;
		for (int k = 0; k < 2; k++) {
			struct vmie_store_list q = { 0 };
			char next[VMIE_ID_MAX];
			if ((r = vmie_store_list(c->env->store, kinds[k], &q,
						 &recs[k], next, c->err))) {
				json_decref(recs[0]);
				goto out;
			}
			n += json_array_size(recs[k]);
		}
		/* both kinds, in creation order */
		json_t **all = calloc(n ? n : 1, sizeof *all);
		if (!all) {
			json_decref(recs[0]);
			json_decref(recs[1]);
			r = oom(c->err);
			goto out;
		}
		for (int k = 0; k < 2; k++)
			json_array_foreach(recs[k], i, x) {
				json_object_set_new(x, "VmieKind",
						    json_integer(kinds[k]));
				all[j++] = x;
			}
		qsort(all, n, sizeof *all, by_created);
		for (j = 0; j < n; j++) {
			enum vmie_rec_kind k = (enum vmie_rec_kind)
				json_integer_value(json_object_get(all[j],
								   "VmieKind"));
			json_t *ct = vmie_legacy_conversion_task(k, all[j]);
			if (ct)
				json_array_append_new(list, ct);
		}
		free(all);
		json_decref(recs[0]);
		json_decref(recs[1]);
	}
	c->out = json_object();
	json_object_set(c->out, "ConversionTasks", list);
out:
	json_decref(list);
	return r;
}

static int do_cancel_conversion(struct call *c)
{
	const char *id;
	char tid[VMIE_ID_MAX];
	enum vmie_rec_kind k;
	json_t *rec = NULL, *res = NULL;
	int r;

	if ((r = need_string(c, "ConversionTaskId", &id)))
		return r;
	if (vmie_legacy_task_id(id, tid, &k) || k == VMIE_REC_EXPORT_IMAGE)
		return conversion_malformed(c, id);
	r = stored(c, k, tid, &rec);
	if (r == VMIE_ENOENT || (!r && !vmie_legacy_of(rec))) {
		json_decref(rec);
		return conversion_not_found(c, id);
	}
	json_decref(rec);
	if (r)
		return r;
	r = vmie_task_cancel(c->env, tid, &res, c->err);
	json_decref(res);
	return r;
}

/* ---- the table ---- */

/* The resources of ec2:<Action>, into list (strings). */
typedef int (*resources_fn)(const struct call *c, json_t *list);

static int res_any(const struct call *c, json_t *list)
{
	(void)c;
	json_array_append_new(list, json_string("*"));
	return 0;
}

static int res_new_task(const struct call *c, json_t *list,
			const char *type)
{
	return add_id_arn(c, list, "*", type);
}

static int res_import_image(const struct call *c, json_t *list)
{
	return res_new_task(c, list, "import-image-task");
}

static int res_import_snapshot(const struct call *c, json_t *list)
{
	return res_new_task(c, list, "import-snapshot-task");
}

static int res_export_image(const struct call *c, json_t *list)
{
	int r = res_new_task(c, list, "export-image-task");
	const char *ami = str(c->req, "ImageId");
	if (!r && ami)
		r = add_id_arn(c, list, ami, "image");
	return r;
}

static int res_instance_export(const struct call *c, json_t *list)
{
	int r = res_new_task(c, list, "export-instance-task");
	const char *inst = str(c->req, "InstanceId");
	if (!r && inst) {
		/* an "instance" is an image here: the instance ARN, as the
		 * action's resource type names it */
		char *a = ec2_arn(c, "instance", inst);
		if (!a)
			return VMIE_ENOMEM;
		json_array_append_new(list, json_string(a));
		free(a);
	}
	return r;
}

static int res_named(const struct call *c, json_t *list, const char *key,
		     const char *type)
{
	const char *id = str(c->req, key);
	return id ? add_id_arn(c, list, id, type) : res_any(c, list);
}

static int res_cancel_import(const struct call *c, json_t *list)
{
	return res_named(c, list, "ImportTaskId", "import-image-task");
}

static int res_cancel_export(const struct call *c, json_t *list)
{
	return res_named(c, list, "ExportTaskId", "export-image-task");
}

static int res_image(const struct call *c, json_t *list)
{
	return res_named(c, list, "ImageId", "image");
}

static int res_snapshot(const struct call *c, json_t *list)
{
	return res_named(c, list, "SnapshotId", "snapshot");
}

static int res_tagged(const struct call *c, json_t *list)
{
	const json_t *rs = json_object_get(c->req, "Resources"), *x;
	size_t i;
	int r;
	json_array_foreach(rs, i, x)
		if (json_is_string(x) &&
		    (r = add_id_arn(c, list, json_string_value(x), "image")))
			return r;
	if (!json_array_size(list))
		return res_any(c, list);
	return 0;
}

static const struct action {
	const char *name;
	resources_fn resources;
	int (*run)(struct call *c);
	bool creates;            /* submits a task */
} actions[] = {
	{ "ImportImage", res_import_image, do_import_image, true },
	{ "ImportSnapshot", res_import_snapshot, do_import_snapshot, true },
	{ "ExportImage", res_export_image, do_export_image, true },
	{ "DescribeImportImageTasks", res_any, do_describe, false },
	{ "DescribeImportSnapshotTasks", res_any, do_describe, false },
	{ "DescribeExportImageTasks", res_any, do_describe, false },
	{ "DescribeImages", res_any, do_describe, false },
	{ "DescribeSnapshots", res_any, do_describe, false },
	{ "CancelImportTask", res_cancel_import, do_cancel_import, false },
	{ "DeregisterImage", res_image, do_deregister, false },
	{ "DeleteSnapshot", res_snapshot, do_delete_snapshot, false },
	{ "CreateTags", res_tagged, do_create_tags, false },
	{ "DeleteTags", res_tagged, do_delete_tags, false },
	{ "DescribeTags", res_any, do_describe_tags, false },
	{ "CreateInstanceExportTask", res_instance_export,
	  do_create_instance_export, true },
	{ "DescribeExportTasks", res_any, do_describe_export_tasks, false },
	{ "CancelExportTask", res_cancel_export, do_cancel_export, false },
	{ "ImportInstance", res_any, do_import_instance, true },
	{ "ImportVolume", res_any, do_import_volume, true },
	{ "DescribeConversionTasks", res_any, do_describe_conversions, false },
	{ "CancelConversionTask", res_any, do_cancel_conversion, false },
};

static const struct action *find_action(const char *name)
{
	for (size_t i = 0; name && i < sizeof actions / sizeof *actions; i++)
		if (!strcmp(actions[i].name, name))
			return &actions[i];
	return NULL;
}

static int call_run(struct call *c, const struct action *a, bool dry_run)
{
	char ec2[96];
	json_t *res = json_array();
	int r;

	snprintf(ec2, sizeof ec2, "ec2:%s", a->name);
	if ((r = a->resources(c, res))) {
		json_decref(res);
		return oom(c->err);
	}
	r = caller_may(c, ec2, res);
	json_decref(res);
	if (r)
		return r;
	if (dry_run)
		return VMIE_API_ERR(c->err, VMIE_EINTR, "DryRunOperation",
				    "Request would have succeeded, but DryRun "
				    "flag is set.");
	if (a->creates && !c->svc->accepting)
		return VMIE_API_ERR(c->err, VMIE_EINTR, "Unavailable",
				    "The service is shutting down and takes "
				    "no new task; retry in a moment");
	return a->run(c);
}

int vmie_api_call(const struct vmie_api_service *svc,
		  struct vmie_task_env *env,
		  const struct vmie_api_caller *who,
		  const struct vmie_api_op *op, const json_t *params,
		  json_t **out, struct vmie_err *err)
{
	struct vmie_err local = { 0 };
	struct call c = { 0 };
	const struct action *a;
	int r;

	if (!err)
		err = &local;
	*out = NULL;
	a = op ? find_action(op->name) : NULL;
	if (!a)
		return VMIE_API_ERR(err, VMIE_EUNSUPP, "InvalidAction",
				    "The action %.64s is not valid for this "
				    "web service.", op && op->name ? op->name :
				    "(none)");
	c.svc = svc;
	c.env = env;
	c.who = who;
	c.op = op;
	c.err = err;
	c.region = svc->region && svc->region[0] ? svc->region :
		   DEFAULT_REGION;
	c.account = svc->account && svc->account[0] ? svc->account :
		    DEFAULT_ACCOUNT;
	c.req = json_is_object(params) ? json_deep_copy(params) : json_object();
	if (!c.req)
		return oom(err);
	bool dry_run = json_is_true(json_object_get(c.req, "DryRun"));
	json_object_del(c.req, "DryRun");
	/* vmie's own members are the operator's, never a request's */
	json_object_del(c.req, "Vmie");

	/* a server reads buckets only; images belong to its account */
	bool local_files = env->allow_local_files;
	const char *owner = env->owner_id;
	env->allow_local_files = false;
	if (!owner)
		env->owner_id = c.account;
	r = call_run(&c, a, dry_run);
	env->allow_local_files = local_files;
	env->owner_id = owner;

	json_decref(c.req);
	if (r < 0) {
		json_decref(c.out);
		if (!err->api[0])
			vmie_err_api(err, "InternalError");
		if (!err->msg[0])
			snprintf(err->msg, sizeof err->msg, "%s failed (%s)",
				 a->name, err->api);
		return r;
	}
	*out = c.out ? c.out : json_object();
	return 0;
}

/* ---- HTTP statuses ----
 * EC2 answers client errors with 400 and server errors with 500/503 (EC2
 * API Reference, "Error codes"); authentication failures with 401,
 * authorization ones with 403; DryRunOperation with 412.  The AWS SDKs
 * retry 500, 502, 503 and 504 and the throttling codes
 * (RequestLimitExceeded) whatever the status: the draining server's
 * Unavailable is a 503.  Codes not known to be the client's are 500. */
static const struct { const char *code; int status; } http_statuses[] = {
	{ "AuthFailure", 401 },
	{ "UnauthorizedOperation", 403 },
	{ "SignatureDoesNotMatch", 403 },
	{ "AccessDenied", 403 },
	{ "OptInRequired", 403 },
	{ "Blocked", 403 },
	{ "DryRunOperation", 412 },
	{ "RequestLimitExceeded", 503 },
	{ "Unavailable", 503 },
	{ "ServiceUnavailable", 503 },
	{ "InternalError", 500 },
	{ "InternalFailure", 500 },
	/* client errors whose names say nothing of it */
	{ "IncompleteSignature", 400 },
	{ "RequestExpired", 400 },
	{ "IncorrectState", 400 },
	{ "IdempotentParameterMismatch", 400 },
	{ "TagLimitExceeded", 400 },
	{ "ResourceLimitExceeded", 400 },
	{ "ResourceCountExceeded", 400 },
	{ "ValidationError", 400 },
	{ "OperationNotPermitted", 400 },
};

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

int vmie_api_http_status(const char *code)
{
	if (!code || !*code)
		return 500;
	for (size_t i = 0; i < sizeof http_statuses / sizeof *http_statuses;
	     i++)
		if (!strcmp(code, http_statuses[i].code))
			return http_statuses[i].status;
	if (!strncmp(code, "Invalid", 7) || !strncmp(code, "Missing", 7) ||
	    !strncmp(code, "Unknown", 7) || !strncmp(code, "Unsupported", 11) ||
	    !strncmp(code, "Incorrect", 9) || ends_with(code, ".NotFound") ||
	    ends_with(code, ".Malformed") || ends_with(code, ".InUse") ||
	    ends_with(code, ".Duplicate"))
		return 400;
	return 500;
}
