/*
 * IAM policy documents, in AWS's own JSON, and their evaluation.
 *
 * Spec: IAM User Guide, "IAM JSON policy elements reference" (Version,
 * Statement, Sid, Effect, Principal, Action/NotAction,
 * Resource/NotResource, Condition), "IAM JSON policy elements: Condition
 * operators" and "Policy evaluation logic".
 *
 *   { "Version": "2012-10-17",
 *     "Statement": [ { "Sid": "Import", "Effect": "Allow",
 *                      "Action": ["ec2:ImportImage", "ec2:Describe*"],
 *                      "Resource": "*",
 *                      "Condition": { "IpAddress":
 *                          { "aws:SourceIp": "10.0.0.0/8" } } } ] }
 *
 * What is understood:
 *   Version     "2012-10-17" or "2008-10-17" (or absent)
 *   Statement   an object or an array of them
 *   Effect      "Allow" or "Deny"
 *   Action      a string or an array; "service:Name" with '*' and '?'
 *               wildcards, matched without regard to case
 *   Resource    a string or an array; ARNs with '*' and '?' wildcards,
 *               matched with regard to case
 *   Principal   "*" or { "AWS" | "Service" | "Federated" : string or
 *               array } (trust policies); a statement with a Principal
 *               applies only when the request names a matching principal
 *   Condition   { operator: { key: value or [values] } }, operators
 *               String(Not)Equals, String(Not)EqualsIgnoreCase,
 *               String(Not)Like, Numeric{Equals,NotEquals,LessThan,
 *               LessThanEquals,GreaterThan,GreaterThanEquals},
 *               Date{Equals,NotEquals,LessThan,LessThanEquals,
 *               GreaterThan,GreaterThanEquals}, Bool, (Not)IpAddress
 *               (IPv4 and IPv6 CIDR), Null; each (but Null) also with the
 *               IfExists suffix.  Keys are matched without regard to case.
 *   Variables   with Version 2012-10-17, ${key} in a Resource or a
 *               String* condition value is the request's value of that
 *               context key (${aws:username}); ${*} ${?} ${$} the
 *               character.  A key absent or multi-valued, or a value with
 *               a wildcard, fails the match.
 * Anything else (an unknown element or operator, ForAnyValue:...) is a
 * parse error naming the statement and the element, never ignored: a
 * policy read differently from how AWS reads it would grant what it
 * should not.
 *
 * Evaluation, as AWS's for identity policies: a statement applies when
 * its action, resource, principal and every condition match; an
 * applying Deny wins over everything, else an applying Allow allows, else
 * the request is denied by default.  Within a condition operator the
 * values of one key are ORed (for the negated operators: the request
 * value matches none of them), keys and operators are ANDed.  A key the
 * request does not have: a positive operator fails, a negated one
 * succeeds, an ...IfExists operator succeeds, Null tests for it.
 *
 * The request context (struct vmie_iam_request.context) is a JSON object
 * of condition keys to a string or an array of strings:
 * { "aws:SourceIp": "10.1.2.3", "aws:SecureTransport": "true",
 *   "aws:username": "alice", "aws:CurrentTime": "2026-11-22T09:42:12Z" }
 * (a key with an array has several values: any of them may match).
 */
#ifndef VMIE_API_IAM_H
#define VMIE_API_IAM_H

#include <stddef.h>

#include <jansson.h>

struct vmie_err;

/* Bounds on a document (larger: a parse error). */
#define VMIE_IAM_MAX_DOC        (128 * 1024)   /* bytes of JSON */
#define VMIE_IAM_MAX_STATEMENTS 256
#define VMIE_IAM_MAX_VALUES     512     /* in one Action, Resource... */
#define VMIE_IAM_MAX_CONDITIONS 64      /* operator/key pairs per statement */
#define VMIE_IAM_MAX_STRING     2048    /* one action, ARN or value */

struct vmie_iam_policy;

/* Parse a policy document (text of len bytes; name is used in errors and
 * verdicts, e.g. "user alice: inline policy import").  0 and *out, or
 * VMIE_EINVAL / VMIE_ENOMEM with a message naming the statement and
 * the element: "policy 'p': Statement[2] (Sid \"S3\"): Action: ...". */
int vmie_iam_parse(const char *text, size_t len, const char *name,
		   struct vmie_iam_policy **out, struct vmie_err *err);
/* The same from a parsed JSON document. */
int vmie_iam_parse_json(const json_t *doc, const char *name,
			struct vmie_iam_policy **out, struct vmie_err *err);
void vmie_iam_free(struct vmie_iam_policy *pol);

struct vmie_iam_request {
	const char *action;        /* "ec2:ImportImage" */
	const char *resource;      /* "arn:aws:s3:::bucket/key", or "*" */
	const char *principal;     /* for trust policies, or NULL */
	const json_t *context;     /* condition keys (see above), or NULL */
};

enum vmie_iam_decision {
	VMIE_IAM_DEFAULT_DENY = 0, /* no statement allows it */
	VMIE_IAM_ALLOW,
	VMIE_IAM_EXPLICIT_DENY,
};

/* Why: the statement that decided (for Allow: the first that allows;
 * for an explicit deny: the first Deny that applies). */
struct vmie_iam_verdict {
	enum vmie_iam_decision decision;
	char policy[128];          /* the policy's name, "" by default deny */
	char sid[128];             /* the statement's Sid, or "" */
	int statement;             /* its index in the policy, -1 */
};

/* Evaluate a request against a set of policies (the union of a user's
 * or a role's policies).  why may be NULL. */
enum vmie_iam_decision vmie_iam_evaluate(
	const struct vmie_iam_policy *const *policies, size_t npolicies,
	const struct vmie_iam_request *req, struct vmie_iam_verdict *why);

/* Wildcard match: '*' any run (also empty), '?' one character; nocase
 * for ASCII case folding.  Linear in practice (one backtrack point). */
int vmie_iam_wildcard(const char *pattern, const char *s, int nocase);

#endif
