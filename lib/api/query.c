/*
 * EC2 Query requests -> JSON input shapes (query.h).
 *
 * Spec: EC2 API Reference "Query requests"; the flattening of botocore's
 * EC2Serializer: a structure member is ".WireName", a list element ".N"
 * (from 1), a scalar the value.  Everything here comes from the network:
 * every count and length is capped before use.
 *
 * The tree is built in two passes: while parameters arrive, a list is a
 * JSON object keyed by its zero-padded index ("0003"), so that indexes
 * may come in any order and with gaps; then finalise() walks the shapes
 * and turns each such object into an array in index order.
 */
#include "api/query.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/strbuf.h"
#include "core/err.h"
#include "core/util.h"

#define BAD_VALUE "InvalidParameterValue"

/* One decoded name=value pair. */
struct query_pair {
	char *name;
	char *value;
	size_t vlen;
};

struct query_pairs {
	struct query_pair *v;
	size_t n;
};

/* A printable, bounded copy of untrusted text for a message. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	for (; *s && o + 4 < size; s++)
		buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s && o + 4 >= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static void pairs_free(struct query_pairs *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].value);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

/* Split and decode one input (application/x-www-form-urlencoded). */
static int split_pairs(const char *in, size_t len, struct query_pairs *ps,
		       struct vmie_err *err)
{
	char tmp[64];

	if (!in)
		return 0;
	if (len > VMIE_QUERY_MAX_INPUT)
		return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
				    "The request parameters are too large "
				    "(%zu bytes, at most %d).", len,
				    VMIE_QUERY_MAX_INPUT);
	size_t pos = 0;
	while (pos < len) {
		const char *s = in + pos;
		const char *amp = memchr(s, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - s) : len - pos;
		pos += plen + (amp ? 1 : 0);
		if (!plen)
			continue;
		if (ps->n >= VMIE_QUERY_MAX_PARAMS)
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "The request has more than %d "
					    "parameters.", VMIE_QUERY_MAX_PARAMS);
		const char *eq = memchr(s, '=', plen);
		size_t nlen = eq ? (size_t)(eq - s) : plen;
		size_t vlen = eq ? plen - nlen - 1 : 0;
		if (nlen > VMIE_QUERY_MAX_NAME * 3 ||
		    vlen > VMIE_QUERY_MAX_VALUE * 3)
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "A parameter name or value is too "
					    "long.");
		if (ps->n % 64 == 0) {
			struct query_pair *v = realloc(ps->v, (ps->n + 64) *
						       sizeof(*v));
			if (!v)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"query: out of memory");
			ps->v = v;
		}
		struct query_pair *p = &ps->v[ps->n];
		memset(p, 0, sizeof(*p));
		p->name = malloc(nlen + 1);
		p->value = malloc(vlen + 1);
		ps->n++;
		if (!p->name || !p->value)
			return VMIE_ERR(err, VMIE_ENOMEM, "query: out of memory");
		long nl = vmie_percent_decode(s, nlen, true, p->name);
		long vl = vmie_percent_decode(eq ? eq + 1 : s, vlen, true,
					      p->value);
		if (nl < 0 || vl < 0)
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "A parameter has a malformed "
					    "percent escape.");
		if (nl == 0 || (size_t)nl > VMIE_QUERY_MAX_NAME)
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "A parameter name is empty or too "
					    "long.");
		for (long i = 0; i < nl; i++)
			if (p->name[i] <= 0x20 || p->name[i] >= 0x7f)
				return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
						    "The parameter name '%s' "
						    "has a character outside "
						    "printable ASCII.",
						    shown(p->name, tmp,
							  sizeof(tmp)));
		if ((size_t)vl > VMIE_QUERY_MAX_VALUE)
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "The value for parameter %s is "
					    "longer than %d bytes.",
					    shown(p->name, tmp, sizeof(tmp)),
					    VMIE_QUERY_MAX_VALUE);
		p->vlen = (size_t)vl;
		if (memchr(p->value, '\0', p->vlen))
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "The value for parameter %s holds "
					    "a NUL byte.",
					    shown(p->name, tmp, sizeof(tmp)));
		if (!vmie_utf8_valid(p->value, p->vlen))
			return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					    "The value for parameter %s is not "
					    "valid UTF-8.",
					    shown(p->name, tmp, sizeof(tmp)));
		for (size_t i = 0; i < p->vlen; i++) {
			unsigned char c = (unsigned char)p->value[i];
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f)
				return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
						    "The value for parameter %s "
						    "holds a control "
						    "character.",
						    shown(p->name, tmp,
							  sizeof(tmp)));
		}
	}
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct query_pair *)a)->name,
		      ((const struct query_pair *)b)->name);
}

static const struct vmie_api_member *member_by_query(
	const struct vmie_api_shape *sh, const char *wire, size_t len)
{
	for (size_t i = 0; i < sh->count; i++) {
		const struct vmie_api_member *m = &vmie_api_members[sh->first + i];
		if (strlen(m->query) == len && strncmp(m->query, wire, len) == 0)
			return m;
	}
	return NULL;
}

/* A typed JSON scalar from a parameter value. */
static json_t *scalar(const struct vmie_api_shape *sh, const char *name,
		      const char *v, size_t vlen, int *rc,
		      struct vmie_err *err)
{
	char a[64], b[80];
	char *end;

	switch (sh->type) {
	case VMIE_API_INTEGER:
	case VMIE_API_LONG: {
		errno = 0;
		long long x = strtoll(v, &end, 10);
		if (!*v || *end || errno || strspn(v, "-0123456789") != vlen ||
		    (sh->type == VMIE_API_INTEGER &&
		     (x < INT32_MIN || x > INT32_MAX))) {
			*rc = VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
				     "Value (%s) for parameter %s is invalid. "
				     "Expected an integer.",
				     shown(v, a, sizeof(a)),
				     shown(name, b, sizeof(b)));
			return NULL;
		}
		return json_integer(x);
	}
	case VMIE_API_BOOLEAN:
		if (strcasecmp(v, "true") == 0)
			return json_true();
		if (strcasecmp(v, "false") == 0)
			return json_false();
		*rc = VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
			     "Value (%s) for parameter %s is invalid. Expected "
			     "'true' or 'false'.", shown(v, a, sizeof(a)),
			     shown(name, b, sizeof(b)));
		return NULL;
	case VMIE_API_DOUBLE: {
		errno = 0;
		double d = strtod(v, &end);
		if (!*v || *end || errno || !isfinite(d) ||
		    strspn(v, "+-.0123456789eE") != vlen) {
			*rc = VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
				     "Value (%s) for parameter %s is invalid. "
				     "Expected a number.",
				     shown(v, a, sizeof(a)),
				     shown(name, b, sizeof(b)));
			return NULL;
		}
		return json_real(d);
	}
	default:
		return json_stringn(v, vlen);
	}
}

static int unknown_param(const char *name, struct vmie_err *err)
{
	char b[80];
	return VMIE_API_ERR(err, VMIE_EINVAL, "UnknownParameter",
			    "The parameter %s is not recognized",
			    shown(name, b, sizeof(b)));
}

/* Place one parameter into the tree under construction. */
static int place(json_t *root, const struct vmie_api_shape *sh,
		 const struct query_pair *p, struct vmie_err *err)
{
	const char *s = p->name;
	json_t *cur = root;
	char b[80];

	for (;;) {
		size_t len = strcspn(s, ".");
		const char *next = s[len] == '.' ? s + len + 1 : NULL;
		json_t *child;
		char key[16];
		const char *k;
		const struct vmie_api_shape *csh;

		if (sh->type == VMIE_API_STRUCT) {
			const struct vmie_api_member *m =
				member_by_query(sh, s, len);
			if (!m)
				return unknown_param(p->name, err);
			k = m->name;
			csh = &vmie_api_shapes[m->shape];
		} else if (sh->type == VMIE_API_LIST) {
			if (len == 0 || len > 4 || s[0] == '0' ||
			    strspn(s, "0123456789") < len)
				return unknown_param(p->name, err);
			unsigned idx = (unsigned)strtoul(s, NULL, 10);
			if (idx > VMIE_QUERY_MAX_INDEX)
				return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
						    "The index in parameter %s "
						    "is larger than %d.",
						    shown(p->name, b, sizeof(b)),
						    VMIE_QUERY_MAX_INDEX);
			snprintf(key, sizeof(key), "%04u", idx);
			k = key;
			csh = &vmie_api_shapes[sh->elem];
		} else {
			return unknown_param(p->name, err);
		}
		bool container = csh->type == VMIE_API_STRUCT ||
			csh->type == VMIE_API_LIST;
		if (!container) {
			if (next)
				return unknown_param(p->name, err);
			if (json_object_get(cur, k))
				return VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
						    "The parameter %s is given "
						    "more than once.",
						    shown(p->name, b, sizeof(b)));
			int rc = VMIE_ENOMEM;
			json_t *v = scalar(csh, p->name, p->value, p->vlen,
					   &rc, err);
			if (!v)
				return rc == VMIE_ENOMEM ?
					VMIE_ERR(err, VMIE_ENOMEM,
						 "query: out of memory") : rc;
			if (json_object_set_new(cur, k, v) != 0)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"query: out of memory");
			return 0;
		}
		if (!next)
			return unknown_param(p->name, err);
		child = json_object_get(cur, k);
		if (!child) {
			child = json_object();
			if (!child || json_object_set_new(cur, k, child) != 0)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"query: out of memory");
		}
		cur = child;
		sh = csh;
		s = next;
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists under construction (objects keyed "0001"...) become arrays. */
static json_t *finalise(json_t *j, const struct vmie_api_shape *sh)
{
	const char *k;
	json_t *v;

	if (sh->type == VMIE_API_STRUCT) {
		json_t *out = json_object();
		if (!out)
			return NULL;
		json_object_foreach(j, k, v) {
			const struct vmie_api_member *m = NULL;
			for (size_t i = 0; i < sh->count && !m; i++)
				if (!strcmp(vmie_api_members[sh->first + i].name,
					    k))
					m = &vmie_api_members[sh->first + i];
			json_t *c = m ? finalise(v, &vmie_api_shapes[m->shape])
				: NULL;
			if (!c || json_object_set_new(out, k, c) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	if (sh->type == VMIE_API_LIST) {
		size_t n = json_object_size(j), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		json_t *out = json_array();
		if (!keys || !out) {
			free(keys);
			json_decref(out);
			return NULL;
		}
		json_object_foreach(j, k, v)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		for (i = 0; i < n; i++) {
			json_t *c = finalise(json_object_get(j, keys[i]),
					     &vmie_api_shapes[sh->elem]);
			if (!c || json_array_append_new(out, c) != 0) {
				json_decref(out);
				out = NULL;
				break;
			}
		}
		free(keys);
		return out;
	}
	return json_incref(j);
}

void vmie_query_clear(struct vmie_query *out)
{
	json_decref(out->params);
	out->params = NULL;
	out->op = NULL;
}

int vmie_query_decode(const char *query, size_t query_len,
		      const char *body, size_t body_len,
		      struct vmie_query *out, struct vmie_err *err)
{
	struct query_pairs ps = { 0 };
	const char *action = NULL;
	json_t *tree = NULL;
	char b[80];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = split_pairs(query, query_len, &ps, err);
	if (!rc)
		rc = split_pairs(body, body_len, &ps, err);
	if (rc)
		goto out;
	if (ps.n)
		qsort(ps.v, ps.n, sizeof(*ps.v), pair_cmp);
	for (size_t i = 0; i + 1 < ps.n; i++) {
		if (strcmp(ps.v[i].name, ps.v[i + 1].name) == 0) {
			rc = VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
					  "The parameter %s is given more "
					  "than once.",
					  shown(ps.v[i].name, b, sizeof(b)));
			goto out;
		}
	}
	for (size_t i = 0; i < ps.n; i++) {
		if (strcmp(ps.v[i].name, "Action") == 0)
			action = ps.v[i].value;
		else if (strcmp(ps.v[i].name, "Version") == 0) {
			const char *v = ps.v[i].value;
			if (strlen(v) != 10 || v[4] != '-' || v[7] != '-' ||
			    strspn(v, "0123456789-") != 10) {
				rc = VMIE_API_ERR(err, VMIE_EINVAL, BAD_VALUE,
						  "Value (%s) for parameter "
						  "Version is invalid.",
						  shown(v, b, sizeof(b)));
				goto out;
			}
			vmie_strlcpy(out->version, v, sizeof(out->version));
		}
	}
	if (!action || !*action) {
		rc = VMIE_API_ERR(err, VMIE_EINVAL, "MissingAction",
				  "The request must contain the parameter "
				  "Action");
		goto out;
	}
	out->op = vmie_api_op_find(action);
	if (!out->op) {
		rc = VMIE_API_ERR(err, VMIE_EINVAL, "InvalidAction",
				  "The action %s is not valid for this web "
				  "service.", shown(action, b, sizeof(b)));
		goto out;
	}
	const struct vmie_api_shape *in = &vmie_api_shapes[out->op->input];
	tree = json_object();
	if (!tree) {
		rc = VMIE_ERR(err, VMIE_ENOMEM, "query: out of memory");
		goto out;
	}
	for (size_t i = 0; i < ps.n; i++) {
		const char *n = ps.v[i].name;
		if (!strcmp(n, "Action") || !strcmp(n, "Version") ||
		    !strncmp(n, "X-Amz-", 6))
			continue;
		rc = place(tree, in, &ps.v[i], err);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < in->count; i++) {
		const struct vmie_api_member *m = &vmie_api_members[in->first + i];
		if (m->required && !json_object_get(tree, m->name)) {
			rc = VMIE_API_ERR(err, VMIE_EINVAL, "MissingParameter",
					  "The request must contain the "
					  "parameter %s", m->query);
			goto out;
		}
	}
	out->params = finalise(tree, in);
	if (!out->params)
		rc = VMIE_ERR(err, VMIE_ENOMEM, "query: out of memory");
out:
	json_decref(tree);
	pairs_free(&ps);
	if (rc)
		vmie_query_clear(out);
	return rc;
}
