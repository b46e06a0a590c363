/*
 * IAM policy documents: parsing into statements, and evaluation (iam.h).
 *
 * Spec: IAM User Guide, "IAM JSON policy elements reference", "Condition
 * operators", "Policy evaluation logic".  A document is parsed once into
 * the structs below, so that a malformed one is refused when it is
 * loaded (with the statement and element it is wrong in), not when a
 * request happens to reach it.
 */
#include "api/iam.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"

enum iam_op {
	OP_STR_EQ, OP_STR_NE, OP_STR_EQ_IC, OP_STR_NE_IC, OP_STR_LIKE,
	OP_STR_NOT_LIKE,
	OP_NUM_EQ, OP_NUM_NE, OP_NUM_LT, OP_NUM_LE, OP_NUM_GT, OP_NUM_GE,
	OP_DATE_EQ, OP_DATE_NE, OP_DATE_LT, OP_DATE_LE, OP_DATE_GT,
	OP_DATE_GE,
	OP_BOOL, OP_IP, OP_NOT_IP, OP_NULL,
};

/* The operators, their names and whether they are negated (true when the
 * request value matches none of the policy's values). */
static const struct {
	const char *name;
	enum iam_op op;
	bool negated;
} iam_ops[] = {
	{ "StringEquals", OP_STR_EQ, false },
	{ "StringNotEquals", OP_STR_NE, true },
	{ "StringEqualsIgnoreCase", OP_STR_EQ_IC, false },
	{ "StringNotEqualsIgnoreCase", OP_STR_NE_IC, true },
	{ "StringLike", OP_STR_LIKE, false },
	{ "StringNotLike", OP_STR_NOT_LIKE, true },
	{ "NumericEquals", OP_NUM_EQ, false },
	{ "NumericNotEquals", OP_NUM_NE, true },
	{ "NumericLessThan", OP_NUM_LT, false },
	{ "NumericLessThanEquals", OP_NUM_LE, false },
	{ "NumericGreaterThan", OP_NUM_GT, false },
	{ "NumericGreaterThanEquals", OP_NUM_GE, false },
	{ "DateEquals", OP_DATE_EQ, false },
	{ "DateNotEquals", OP_DATE_NE, true },
	{ "DateLessThan", OP_DATE_LT, false },
	{ "DateLessThanEquals", OP_DATE_LE, false },
	{ "DateGreaterThan", OP_DATE_GT, false },
	{ "DateGreaterThanEquals", OP_DATE_GE, false },
	{ "Bool", OP_BOOL, false },
	{ "IpAddress", OP_IP, false },
	{ "NotIpAddress", OP_NOT_IP, true },
	{ "Null", OP_NULL, false },
};

/* A list of strings (actions, resources, values). */
struct iam_list {
	char **v;
	size_t n;
};

struct iam_cidr {
	int family;             /* AF_INET, AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct iam_cond {
	enum iam_op op;
	bool negated;
	bool if_exists;
	char *key;
	struct iam_list values;
	struct iam_cidr *cidrs;  /* OP_IP, OP_NOT_IP: values parsed */
};

struct iam_stmt {
	bool deny;
	char *sid;
	bool not_action, not_resource, has_principal;
	struct iam_list actions, resources, principals;
	struct iam_cond *conds;
	size_t nconds;
};

struct vmie_iam_policy {
	char *name;
	bool variables;         /* Version 2012-10-17: ${...} substituted */
	struct iam_stmt *stmts;
	size_t nstmts;
};

/* ---- wildcards ---- */

static int fold(int c, int nocase)
{
	return nocase ? tolower((unsigned char)c) : (unsigned char)c;
}

int vmie_iam_wildcard(const char *p, const char *s, int nocase)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' || fold(*p, nocase) ==
				  fold(*s, nocase))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* ---- parsing ---- */

struct iam_parse {
	const char *name;
	size_t index;           /* statement index */
	const char *sid;
	struct vmie_err *err;
};

/* "policy 'name': Statement[2] (Sid "x"): field: message" */
__attribute__((format(printf, 3, 4)))
static int perr(const struct iam_parse *ps, const char *field,
		const char *fmt, ...)
{
	char msg[256], where[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->index == (size_t)-1)
		snprintf(where, sizeof(where), "%s", "document");
	else if (ps->sid)
		snprintf(where, sizeof(where), "Statement[%zu] (Sid \"%.64s\")",
			 ps->index, ps->sid);
	else
		snprintf(where, sizeof(where), "Statement[%zu]", ps->index);
	return VMIE_ERR(ps->err, VMIE_EINVAL, "policy '%.100s': %s: %s: %s",
			ps->name, where, field, msg);
}

static void list_free(struct iam_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_add(const struct iam_parse *ps, const char *field,
		    struct iam_list *l, const char *s)
{
	if (l->n >= VMIE_IAM_MAX_VALUES)
		return perr(ps, field, "more than %d values",
			    VMIE_IAM_MAX_VALUES);
	if (strlen(s) > VMIE_IAM_MAX_STRING)
		return perr(ps, field, "a value longer than %d bytes",
			    VMIE_IAM_MAX_STRING);
	if (l->n % 16 == 0) {
		char **v = realloc(l->v, (l->n + 16) * sizeof(*v));
		if (!v)
			return VMIE_ERR(ps->err, VMIE_ENOMEM,
					"policy: out of memory");
		l->v = v;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return VMIE_ERR(ps->err, VMIE_ENOMEM, "policy: out of memory");
	l->n++;
	return 0;
}

/* A string, or an array of strings.  Condition values may also be
 * numbers and booleans (written as JSON literals in many policies). */
static int parse_strings(const struct iam_parse *ps, const char *field,
			 const json_t *j, bool scalars, struct iam_list *out)
{
	const json_t *items[1] = { j };
	size_t n = 1;
	const json_t *arr = NULL;

	if (json_is_array(j)) {
		arr = j;
		n = json_array_size(j);
		if (n == 0)
			return perr(ps, field, "an empty array");
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *v = arr ? json_array_get(arr, i) : items[0];
		char buf[64];
		const char *s = NULL;
		if (json_is_string(v)) {
			s = json_string_value(v);
			if (strlen(s) != json_string_length(v))
				return perr(ps, field, "a NUL in a string");
		} else if (scalars && json_is_boolean(v)) {
			s = json_is_true(v) ? "true" : "false";
		} else if (scalars && json_is_integer(v)) {
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			s = buf;
		} else if (scalars && json_is_real(v)) {
			snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
			s = buf;
		} else {
			return perr(ps, field, "expected a string or an array "
				    "of strings");
		}
		int rc = list_add(ps, field, out, s);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_action_list(const struct iam_parse *ps, const char *field,
			     const json_t *j, struct iam_list *out)
{
	int rc = parse_strings(ps, field, j, false, out);
	if (rc)
		return rc;
	for (size_t i = 0; i < out->n; i++) {
		const char *a = out->v[i];
		if (strcmp(a, "*") == 0)
			continue;
		const char *colon = strchr(a, ':');
		if (!colon || colon == a || !colon[1] || strchr(colon + 1, ':'))
			return perr(ps, field, "'%.64s' is not of the form "
				    "service:Action", a);
	}
	return 0;
}

static int parse_cidr(const char *s, struct iam_cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	if (alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		c->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		c->prefix = 128;
	} else {
		return -1;
	}
	if (slash) {
		const char *d = slash + 1;
		unsigned max = c->prefix, v = 0;
		if (!*d || strlen(d) > 3 || strspn(d, "0123456789") != strlen(d))
			return -1;
		v = (unsigned)atoi(d);
		if (v > max)
			return -1;
		c->prefix = v;
	}
	return 0;
}

static int parse_condition(struct iam_parse *ps, const json_t *j,
			   struct iam_stmt *st)
{
	const char *opname;
	const json_t *keys;

	if (!json_is_object(j))
		return perr(ps, "Condition", "expected an object of operators");
	json_object_foreach((json_t *)j, opname, keys) {
		char op[64];
		bool if_exists = false;
		size_t olen = strlen(opname);
		if (olen >= sizeof(op))
			return perr(ps, "Condition", "unknown operator '%.64s'",
				    opname);
		memcpy(op, opname, olen + 1);
		if (olen > 8 && strcmp(op + olen - 8, "IfExists") == 0) {
			if_exists = true;
			op[olen - 8] = '\0';
		}
		size_t k;
		for (k = 0; k < sizeof(iam_ops) / sizeof(iam_ops[0]); k++)
			if (strcmp(iam_ops[k].name, op) == 0)
				break;
		if (k == sizeof(iam_ops) / sizeof(iam_ops[0]) ||
		    (if_exists && iam_ops[k].op == OP_NULL))
			return perr(ps, "Condition", "unknown or unsupported "
				    "operator '%.64s'", opname);
		if (!json_is_object(keys) || json_object_size(keys) == 0)
			return perr(ps, "Condition", "%.64s: expected an "
				    "object of condition keys", opname);
		const char *key;
		const json_t *vals;
		json_object_foreach((json_t *)keys, key, vals) {
			if (st->nconds >= VMIE_IAM_MAX_CONDITIONS)
				return perr(ps, "Condition", "more than %d "
					    "conditions",
					    VMIE_IAM_MAX_CONDITIONS);
			if (!*key || strlen(key) > 128)
				return perr(ps, "Condition", "%.64s: a key "
					    "that is empty or too long",
					    opname);
			struct iam_cond *c = &st->conds[st->nconds++];
			c->op = iam_ops[k].op;
			c->negated = iam_ops[k].negated;
			c->if_exists = if_exists;
			c->key = strdup(key);
			if (!c->key)
				return VMIE_ERR(ps->err, VMIE_ENOMEM,
						"policy: out of memory");
			char field[160];
			snprintf(field, sizeof(field), "Condition %.64s %.64s",
				 opname, key);
			int rc = parse_strings(ps, field, vals, true,
					       &c->values);
			if (rc)
				return rc;
			for (size_t i = 0; i < c->values.n; i++) {
				const char *v = c->values.v[i];
				double d;
				char *end;
				switch (c->op) {
				case OP_BOOL:
				case OP_NULL:
					if (strcasecmp(v, "true") &&
					    strcasecmp(v, "false"))
						return perr(ps, field, "'%.64s' "
							    "is not true or "
							    "false", v);
					break;
				case OP_NUM_EQ: case OP_NUM_NE: case OP_NUM_LT:
				case OP_NUM_LE: case OP_NUM_GT: case OP_NUM_GE:
					errno = 0;
					d = strtod(v, &end);
					if (!*v || *end || errno || !isfinite(d))
						return perr(ps, field, "'%.64s' "
							    "is not a number",
							    v);
					break;
				default:
					break;
				}
			}
			if (c->op == OP_IP || c->op == OP_NOT_IP) {
				c->cidrs = calloc(c->values.n,
						  sizeof(*c->cidrs));
				if (!c->cidrs)
					return VMIE_ERR(ps->err, VMIE_ENOMEM,
							"policy: out of memory");
				for (size_t i = 0; i < c->values.n; i++)
					if (parse_cidr(c->values.v[i],
						       &c->cidrs[i]) != 0)
						return perr(ps, field, "'%.64s' "
							    "is not an IP "
							    "address or CIDR "
							    "block",
							    c->values.v[i]);
			}
		}
	}
	return 0;
}

static int parse_principal(struct iam_parse *ps, const json_t *j,
			   struct iam_stmt *st)
{
	st->has_principal = true;
	if (json_is_string(j)) {
		if (strcmp(json_string_value(j), "*") != 0)
			return perr(ps, "Principal", "expected \"*\" or an "
				    "object");
		return list_add(ps, "Principal", &st->principals, "*");
	}
	if (!json_is_object(j) || json_object_size(j) == 0)
		return perr(ps, "Principal", "expected \"*\" or an object");
	const char *kind;
	const json_t *v;
	json_object_foreach((json_t *)j, kind, v) {
		if (strcmp(kind, "AWS") && strcmp(kind, "Service") &&
		    strcmp(kind, "Federated") && strcmp(kind, "CanonicalUser"))
			return perr(ps, "Principal", "unknown principal type "
				    "'%.64s'", kind);
		int rc = parse_strings(ps, "Principal", v, false,
				       &st->principals);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_statement(struct iam_parse *ps, const json_t *j,
			   struct iam_stmt *st)
{
	const char *field;
	const json_t *v;
	const json_t *effect = NULL, *action = NULL, *notaction = NULL;
	const json_t *resource = NULL, *notresource = NULL, *cond = NULL;
	const json_t *principal = NULL;
	int rc;

	if (!json_is_object(j))
		return perr(ps, "Statement", "expected an object");
	v = json_object_get(j, "Sid");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) > 100)
			return perr(ps, "Sid", "expected a string of at most "
				    "100 characters");
		st->sid = strdup(json_string_value(v));
		if (!st->sid)
			return VMIE_ERR(ps->err, VMIE_ENOMEM,
					"policy: out of memory");
		ps->sid = st->sid;
	}
	json_object_foreach((json_t *)j, field, v) {
		if (strcmp(field, "Sid") == 0)
			continue;
		else if (strcmp(field, "Effect") == 0)
			effect = v;
		else if (strcmp(field, "Action") == 0)
			action = v;
		else if (strcmp(field, "NotAction") == 0)
			notaction = v;
		else if (strcmp(field, "Resource") == 0)
			resource = v;
		else if (strcmp(field, "NotResource") == 0)
			notresource = v;
		else if (strcmp(field, "Condition") == 0)
			cond = v;
		else if (strcmp(field, "Principal") == 0)
			principal = v;
		else if (strcmp(field, "NotPrincipal") == 0)
			return perr(ps, field, "NotPrincipal is not supported");
		else
			return perr(ps, "Statement", "unknown element "
				    "'%.64s'", field);
	}
	if (!effect)
		return perr(ps, "Effect", "missing");
	if (!json_is_string(effect) ||
	    (strcmp(json_string_value(effect), "Allow") &&
	     strcmp(json_string_value(effect), "Deny")))
		return perr(ps, "Effect", "must be \"Allow\" or \"Deny\"");
	st->deny = strcmp(json_string_value(effect), "Deny") == 0;
	if (!!action == !!notaction)
		return perr(ps, "Action", "exactly one of Action and NotAction "
			    "is required");
	st->not_action = notaction != NULL;
	rc = parse_action_list(ps, action ? "Action" : "NotAction",
			       action ? action : notaction, &st->actions);
	if (rc)
		return rc;
	if (resource && notresource)
		return perr(ps, "Resource", "Resource and NotResource "
			    "together");
	if (resource || notresource) {
		st->not_resource = notresource != NULL;
		rc = parse_strings(ps, resource ? "Resource" : "NotResource",
				   resource ? resource : notresource, false,
				   &st->resources);
		if (rc)
			return rc;
	} else if (!principal) {
		/* an identity policy statement needs a Resource; a trust
		 * policy's (with a Principal) has none */
		return perr(ps, "Resource", "missing");
	}
	if (principal) {
		rc = parse_principal(ps, principal, st);
		if (rc)
			return rc;
	}
	if (cond) {
		st->conds = calloc(VMIE_IAM_MAX_CONDITIONS, sizeof(*st->conds));
		if (!st->conds)
			return VMIE_ERR(ps->err, VMIE_ENOMEM,
					"policy: out of memory");
		rc = parse_condition(ps, cond, st);
		if (rc)
			return rc;
	}
	return 0;
}

void vmie_iam_free(struct vmie_iam_policy *pol)
{
	if (!pol)
		return;
	for (size_t i = 0; i < pol->nstmts; i++) {
		struct iam_stmt *st = &pol->stmts[i];
		free(st->sid);
		list_free(&st->actions);
		list_free(&st->resources);
		list_free(&st->principals);
		for (size_t c = 0; c < st->nconds; c++) {
			free(st->conds[c].key);
			list_free(&st->conds[c].values);
			free(st->conds[c].cidrs);
		}
		free(st->conds);
	}
	free(pol->stmts);
	free(pol->name);
	free(pol);
}

int vmie_iam_parse_json(const json_t *doc, const char *name,
			struct vmie_iam_policy **out, struct vmie_err *err)
{
	struct iam_parse ps = { .name = name ? name : "", .index = (size_t)-1,
				.err = err };
	struct vmie_iam_policy *pol;
	const char *field;
	const json_t *v, *stmts = NULL;
	bool variables = false;
	int rc = 0;

	*out = NULL;
	if (!json_is_object(doc))
		return perr(&ps, "document", "expected a JSON object");
	json_object_foreach((json_t *)doc, field, v) {
		if (strcmp(field, "Version") == 0) {
			if (!json_is_string(v) ||
			    (strcmp(json_string_value(v), "2012-10-17") &&
			     strcmp(json_string_value(v), "2008-10-17")))
				return perr(&ps, "Version", "must be "
					    "\"2012-10-17\" or \"2008-10-17\"");
			variables = strcmp(json_string_value(v),
					   "2012-10-17") == 0;
		} else if (strcmp(field, "Id") == 0) {
			if (!json_is_string(v))
				return perr(&ps, "Id", "expected a string");
		} else if (strcmp(field, "Statement") == 0) {
			stmts = v;
		} else {
			return perr(&ps, "document", "unknown element '%.64s'",
				    field);
		}
	}
	if (!stmts)
		return perr(&ps, "Statement", "missing");
	size_t n = json_is_array(stmts) ? json_array_size(stmts) : 1;
	if (json_is_array(stmts) && n == 0)
		return perr(&ps, "Statement", "an empty array");
	if (n > VMIE_IAM_MAX_STATEMENTS)
		return perr(&ps, "Statement", "more than %d statements",
			    VMIE_IAM_MAX_STATEMENTS);
	pol = calloc(1, sizeof(*pol));
	if (!pol || !(pol->stmts = calloc(n, sizeof(*pol->stmts))) ||
	    !(pol->name = strdup(ps.name))) {
		vmie_iam_free(pol);
		return VMIE_ERR(err, VMIE_ENOMEM, "policy: out of memory");
	}
	pol->variables = variables;
	for (size_t i = 0; i < n; i++) {
		ps.index = i;
		ps.sid = NULL;
		pol->nstmts = i + 1;
		rc = parse_statement(&ps, json_is_array(stmts) ?
				     json_array_get(stmts, i) : stmts,
				     &pol->stmts[i]);
		if (rc) {
			vmie_iam_free(pol);
			return rc;
		}
	}
	*out = pol;
	return 0;
}

int vmie_iam_parse(const char *text, size_t len, const char *name,
		   struct vmie_iam_policy **out, struct vmie_err *err)
{
	json_error_t jerr;
	json_t *doc;
	int rc;

	*out = NULL;
	if (len > VMIE_IAM_MAX_DOC)
		return VMIE_ERR(err, VMIE_EINVAL, "policy '%.100s': the "
				"document is %zu bytes, more than %d", name,
				len, VMIE_IAM_MAX_DOC);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return VMIE_ERR(err, VMIE_EINVAL, "policy '%.100s': not JSON: "
				"%s (line %d, column %d)", name, jerr.text,
				jerr.line, jerr.column);
	rc = vmie_iam_parse_json(doc, name, out, err);
	json_decref(doc);
	return rc;
}

/* ---- evaluation ---- */

static const json_t *context_get(const json_t *ctx, const char *key)
{
	const char *k;
	const json_t *v;

	if (!ctx)
		return NULL;
	json_object_foreach((json_t *)ctx, k, v)
		if (strcasecmp(k, key) == 0)
			return v;
	return NULL;
}

/* ISO 8601 (2026-11-22T09:42:12Z, with optional fraction) or epoch
 * seconds; -1 when malformed. */
static bool parse_date(const char *s, double *out)
{
	struct tm tm;
	char *end;

	if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 12) {
		*out = strtod(s, &end);
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		end = strptime(s, "%Y-%m-%d", &tm);
		if (!end || *end)
			return false;
		*out = (double)timegm(&tm);
		return true;
	}
	double frac = 0;
	if (*end == '.') {
		frac = strtod(end, &end);
	}
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0 && *end)
		return false;
	*out = (double)timegm(&tm) + frac;
	return true;
}

static bool ip_in(const struct iam_cidr *c, const char *addr)
{
	unsigned char a[16];
	int family;

	if (inet_pton(AF_INET, addr, a) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		family = AF_INET6;
		if (c->family == AF_INET && memcmp(a, mapped, 12) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != c->family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(a, c->addr, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a[full] & mask) != (c->addr[full] & mask))
			return false;
	}
	return true;
}

/* Policy variables (IAM User Guide, "IAM policy elements: Variables and
 * tags"): ${aws:username} and any other context key replaced by its value,
 * ${*} ${?} ${$} by the character.  A key the request does not have, or
 * has several values of, or a value holding a wildcard character, makes
 * the expansion fail: the element does not match (fail closed). */
static bool expand_vars(const char *pat, const json_t *ctx, char *out,
			size_t size)
{
	size_t o = 0;

	while (*pat) {
		const char *add = pat;
		size_t len = 1;
		if (pat[0] == '$' && pat[1] == '{') {
			const char *end = strchr(pat + 2, '}');
			char key[130];
			if (!end || (size_t)(end - pat - 2) >= sizeof(key))
				return false;
			memcpy(key, pat + 2, (size_t)(end - pat - 2));
			key[end - pat - 2] = '\0';
			if (!strcmp(key, "*") || !strcmp(key, "?") ||
			    !strcmp(key, "$")) {
				add = pat + 2;
				len = 1;
			} else {
				const json_t *v = context_get(ctx, key);
				if (!json_is_string(v))
					return false;
				add = json_string_value(v);
				len = strlen(add);
				if (strpbrk(add, "*?"))
					return false;
			}
			pat = end + 1;
		} else {
			pat++;
		}
		if (len >= size - o)
			return false;
		memcpy(out + o, add, len);
		o += len;
	}
	out[o] = '\0';
	return true;
}

/* A pattern matched after its variables are expanded. */
static bool pattern_match(const char *pat, const char *s, int nocase,
			  bool variables, const json_t *ctx)
{
	char buf[VMIE_IAM_MAX_STRING * 2 + 1];

	if (!variables || !strstr(pat, "${"))
		return vmie_iam_wildcard(pat, s, nocase);
	if (!expand_vars(pat, ctx, buf, sizeof(buf)))
		return false;
	return vmie_iam_wildcard(buf, s, nocase);
}

/* A literal value after its variables are expanded (into buf); NULL when
 * the expansion fails. */
static const char *value_expand(const char *v, bool variables,
				const json_t *ctx, char *buf, size_t size)
{
	if (!variables || !strstr(v, "${"))
		return v;
	return expand_vars(v, ctx, buf, size) ? buf : NULL;
}

/* One request value against one policy value (positive sense). */
static bool value_match(const struct iam_cond *c, size_t i, const char *rv,
			bool variables, const json_t *ctx)
{
	char buf[VMIE_IAM_MAX_STRING * 2 + 1];
	const char *pv = c->values.v[i];
	double a, b;

	switch (c->op) {
	case OP_STR_EQ: case OP_STR_NE: case OP_STR_EQ_IC: case OP_STR_NE_IC:
	case OP_STR_LIKE: case OP_STR_NOT_LIKE:
		pv = value_expand(pv, variables, ctx, buf, sizeof(buf));
		if (!pv)
			return false;
		break;
	default:
		break;
	}

	switch (c->op) {
	case OP_STR_EQ: case OP_STR_NE:
		return strcmp(rv, pv) == 0;
	case OP_STR_EQ_IC: case OP_STR_NE_IC:
		return strcasecmp(rv, pv) == 0;
	case OP_STR_LIKE: case OP_STR_NOT_LIKE:
		return vmie_iam_wildcard(pv, rv, 0);
	case OP_BOOL:
		return strcasecmp(rv, pv) == 0;
	case OP_IP: case OP_NOT_IP:
		return ip_in(&c->cidrs[i], rv);
	case OP_NUM_EQ: case OP_NUM_NE: case OP_NUM_LT: case OP_NUM_LE:
	case OP_NUM_GT: case OP_NUM_GE: {
		char *end;
		errno = 0;
		a = strtod(rv, &end);
		if (!*rv || *end || errno)
			return false;
		b = strtod(pv, NULL);
		break;
	}
	case OP_DATE_EQ: case OP_DATE_NE: case OP_DATE_LT: case OP_DATE_LE:
	case OP_DATE_GT: case OP_DATE_GE:
		if (!parse_date(rv, &a) || !parse_date(pv, &b))
			return false;
		break;
	case OP_NULL:
		return false;
	}
	switch (c->op) {
	case OP_NUM_EQ: case OP_NUM_NE: case OP_DATE_EQ: case OP_DATE_NE:
		return a == b;
	case OP_NUM_LT: case OP_DATE_LT:
		return a < b;
	case OP_NUM_LE: case OP_DATE_LE:
		return a <= b;
	case OP_NUM_GT: case OP_DATE_GT:
		return a > b;
	case OP_NUM_GE: case OP_DATE_GE:
		return a >= b;
	default:
		return false;
	}
}

static bool cond_match(const struct iam_cond *c, const json_t *ctx,
		       bool variables)
{
	const json_t *v = context_get(ctx, c->key);

	if (c->op == OP_NULL) {
		bool want_absent = strcasecmp(c->values.v[0], "true") == 0;
		/* several values: any of them may hold */
		for (size_t i = 1; i < c->values.n; i++)
			if ((strcasecmp(c->values.v[i], "true") == 0) ==
			    (v == NULL))
				return true;
		return want_absent == (v == NULL);
	}
	if (!v || (json_is_array(v) && json_array_size(v) == 0))
		return c->if_exists || c->negated;
	size_t nr = json_is_array(v) ? json_array_size(v) : 1;
	bool any = false;
	for (size_t r = 0; r < nr && !any; r++) {
		const json_t *rj = json_is_array(v) ? json_array_get(v, r) : v;
		char buf[64];
		const char *rv;
		if (json_is_string(rj))
			rv = json_string_value(rj);
		else if (json_is_boolean(rj))
			rv = json_is_true(rj) ? "true" : "false";
		else if (json_is_integer(rj)) {
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(rj));
			rv = buf;
		} else
			continue;
		for (size_t i = 0; i < c->values.n && !any; i++)
			any = value_match(c, i, rv, variables, ctx);
	}
	return c->negated ? !any : any;
}

static bool list_match(const struct iam_list *l, const char *s, int nocase,
		       bool variables, const json_t *ctx)
{
	for (size_t i = 0; i < l->n; i++)
		if (pattern_match(l->v[i], s, nocase, variables, ctx))
			return true;
	return false;
}

static bool stmt_applies(const struct iam_stmt *st, bool variables,
			 const struct vmie_iam_request *req)
{
	if (list_match(&st->actions, req->action, 1, false, NULL) ==
	    st->not_action)
		return false;
	if (st->resources.n &&
	    list_match(&st->resources, req->resource ? req->resource : "",
		       0, variables, req->context) == st->not_resource)
		return false;
	if (st->has_principal &&
	    (!req->principal || !list_match(&st->principals, req->principal,
					    0, false, NULL)))
		return false;
	for (size_t i = 0; i < st->nconds; i++)
		if (!cond_match(&st->conds[i], req->context, variables))
			return false;
	return true;
}

static void set_why(struct vmie_iam_verdict *why, enum vmie_iam_decision d,
		    const struct vmie_iam_policy *pol, size_t i)
{
	if (!why)
		return;
	why->decision = d;
	vmie_strlcpy(why->policy, pol->name, sizeof(why->policy));
	vmie_strlcpy(why->sid, pol->stmts[i].sid ? pol->stmts[i].sid : "",
		     sizeof(why->sid));
	why->statement = (int)i;
}

enum vmie_iam_decision vmie_iam_evaluate(
	const struct vmie_iam_policy *const *policies, size_t npolicies,
	const struct vmie_iam_request *req, struct vmie_iam_verdict *why)
{
	const struct vmie_iam_policy *allow_pol = NULL;
	size_t allow_i = 0;

	if (why) {
		memset(why, 0, sizeof(*why));
		why->statement = -1;
	}
	if (!req->action)
		return VMIE_IAM_DEFAULT_DENY;
	for (size_t p = 0; p < npolicies; p++) {
		const struct vmie_iam_policy *pol = policies[p];
		if (!pol)
			continue;
		for (size_t i = 0; i < pol->nstmts; i++) {
			if (!stmt_applies(&pol->stmts[i], pol->variables, req))
				continue;
			if (pol->stmts[i].deny) {
				set_why(why, VMIE_IAM_EXPLICIT_DENY, pol, i);
				return VMIE_IAM_EXPLICIT_DENY;
			}
			if (!allow_pol) {
				allow_pol = pol;
				allow_i = i;
			}
		}
	}
	if (allow_pol) {
		set_why(why, VMIE_IAM_ALLOW, allow_pol, allow_i);
		return VMIE_IAM_ALLOW;
	}
	return VMIE_IAM_DEFAULT_DENY;
}
