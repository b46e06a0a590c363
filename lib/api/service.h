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
 *   1. the caller's identity policies must allow "ec2:<Action>" on
 *      each resource of the action: the ARN of the image, snapshot or
 *      task named (images and snapshots without account, as AWS writes
 *      them: arn:aws:ec2:REGION::image/ami-...; tasks with it:
 *      arn:aws:ec2:REGION:ACCOUNT:import-image-task/import-ami-...),
 *      the type's ARN with the id "*" for the task a create makes, "*"
 *      for lists; DryRun=true stops here with DryRunOperation (allowed)
 *      or UnauthorizedOperation (not);
 *   2. a task while !accepting: Unavailable;
 *   3. S3: the caller must be allowed s3:GetObject on every source
 *      object (arn:aws:s3:::BUCKET/KEY) and s3:PutObject on the export
 *      object (arn:aws:s3:::BUCKET/PREFIXexport-ami-*.EXT);
 *      UnauthorizedOperation naming the S3 action and object otherwise
 *      (EC2's code for a denied request: AccessDenied is S3's);
 *   4. the task's role (RoleName, default "vmimport") must be a
 *      configured role whose policies allow s3:GetObject on each source
 *      object and s3:ListBucket + s3:GetBucketLocation on its bucket,
 *      s3:PutObject on the export object and s3:GetBucketAcl +
 *      s3:GetBucketLocation on its bucket (the role policy of AWS's
 *      "Required service role"); an unknown role or a role that may not
 *      is refused with InvalidParameter, as AWS does ("The service role
 *      vmimport provided does not exist or does not have sufficient
 *      permissions"), naming what it may not do.
 * The table of actions and resources is in service.c and docs/api.md.
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
	 * request cannot choose it: the operator does (Vmie.Policy of the
	 * request passed to lib/task). */
	const char *policy;
	/* Called after a task was stored (ImportImage, ImportSnapshot,
	 * ExportImage, CreateInstanceExportTask, ImportInstance,
	 * ImportVolume): the server wakes a worker.  May be NULL. */
	void (*submitted)(void *ctx, const char *task_id);
	void *submitted_ctx;
	/* When false, new tasks are refused (the server is draining after
	 * SIGTERM): the actions that submit a task answer Unavailable (HTTP
	 * 503, which every AWS SDK retries); the others are served. */
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
 * InvalidAMIID.NotFound, ... InternalError for a failure of the store)
 * and err->msg the message EC2 would give, never empty.  A "Vmie" member
 * of params is ignored (vmie's own options are the operator's); env's
 * allow_local_files is ignored (false during the call) and a NULL
 * owner_id is svc->account.  The older actions (ImportInstance,
 * ImportVolume, CreateInstanceExportTask...) run as tasks of the current
 * ones (api/legacy.h); svc->submitted receives the task's id
 * (import-ami-..., import-snap-..., export-ami-...). */
int vmie_api_call(const struct vmie_api_service *svc,
		  struct vmie_task_env *env,
		  const struct vmie_api_caller *who,
		  const struct vmie_api_op *op, const json_t *params,
		  json_t **out, struct vmie_err *err);

/* The HTTP status EC2 answers an error code with (the table and its
 * sources are in service.c): 400 for request errors, 401/403 for
 * authentication and authorization, 412 DryRunOperation, 503
 * RequestLimitExceeded and Unavailable, 500 for InternalError and any
 * code not known to be a client's. */
int vmie_api_http_status(const char *code);

#endif
