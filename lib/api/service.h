/*
 * The EC2 VM Import/Export API as calls: one decoded request (query.h)
 * from one authenticated caller (sigv4.h) in, the operation's output
 * shape (for xml.h) or an EC2 error code out.  This is the layer between
 * the HTTP server (lib/server) and the pipeline (lib/task): it decides
 * who may do what (IAM, iam.h), and turns each action into lib/task
 * calls.  It does no network I/O and keeps no state between calls: the
 * server calls it from any of its threads, each with its own
 * vmie_task_env (its own store handle).
 *
 * Authorization, as AWS's:
 *   1. the caller's identity policies must allow "ec2:<Action>" on the
 *      action's resource (the ARN of the image, snapshot or task named,
 *      "*" for creates and lists); DryRun=true stops here with
 *      DryRunOperation (allowed) or UnauthorizedOperation (not);
 *   2. S3: the caller must be allowed s3:GetObject on every source
 *      object (arn:aws:s3:::BUCKET/KEY) and s3:PutObject on the export
 *      location (arn:aws:s3:::BUCKET/PREFIX*); AccessDenied otherwise;
 *   3. the task's role (RoleName, default "vmimport") must be a
 *      configured role whose policies allow s3:GetObject and
 *      s3:ListBucket / s3:GetBucketLocation on the source bucket, and
 *      s3:PutObject on the export bucket (AWS's service role for VM
 *      Import/Export); an unknown role or a role that may not is refused
 *      with InvalidParameter naming the role and the bucket, as AWS does
 *      ("The service role vmimport provided does not exist or does not
 *      have sufficient permissions").
 * The IAM request context the server passes (aws:SourceIp,
 * aws:SecureTransport, aws:username, aws:CurrentTime, aws:userid...) is
 * used for every evaluation.
 */
#ifndef VMIE_API_SERVICE_H
#define VMIE_API_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/iam.h"
#include "api/shapes.h"

struct vmie_err;
struct vmie_task_env;

/* A user or a role of the configuration. */
struct vmie_api_principal {
	const char *name;          /* "alice", "vmimport" */
	const char *arn;           /* arn:aws:iam::ACCOUNT:user/alice,
	                              arn:aws:iam::ACCOUNT:role/vmimport */
	const struct vmie_iam_policy *const *policies;
	size_t n_policies;
};

struct vmie_api_service {
	const char *account;       /* 12 digits: OwnerId, ARNs */
	const char *region;        /* the region of resource ARNs */
	const struct vmie_api_principal *roles;   /* service roles */
	size_t n_roles;
	/* The vmie rules policy imports are judged by (a name as
	 * `vmie check --policy`, or a file), NULL for the default.  A
	 * request cannot choose it: the operator does. */
	const char *policy;
	/* Called after a task was stored (ImportImage, ImportSnapshot,
	 * ExportImage, CreateInstanceExportTask, ImportInstance,
	 * ImportVolume): the server wakes a worker.  May be NULL. */
	void (*submitted)(void *ctx, const char *task_id);
	void *submitted_ctx;
	/* When false, new tasks are refused (the server is draining after
	 * SIGTERM): RequestLimitExceeded... see the server. */
	bool accepting;
};

struct vmie_api_caller {
	const struct vmie_api_principal *user;
	const json_t *context;     /* IAM condition keys (iam.h) */
};

/* Run one action.  op and params from vmie_query_decode(); *out the
 * output shape (a new reference; an empty object for actions without
 * output).  On error a negative code with err->api set to EC2's code
 * (UnauthorizedOperation, DryRunOperation, InvalidParameterValue,
 * InvalidImportTaskId.NotFound, ...) and err->msg the message EC2 would
 * give, never empty. */
int vmie_api_call(const struct vmie_api_service *svc,
		  struct vmie_task_env *env,
		  const struct vmie_api_caller *who,
		  const struct vmie_api_op *op, const json_t *params,
		  json_t **out, struct vmie_err *err);

/* The HTTP status EC2 answers an error code with (the table and its
 * sources are in service.c): 400 for request errors, 401/403 for
 * authentication and authorization, 412 DryRunOperation, 503
 * RequestLimitExceeded, 500 for anything unknown. */
int vmie_api_http_status(const char *code);

#endif
