/*
 * Helpers of the API calls: JSON members, times, tags and filters, in the
 * shapes of botocore's ec2 service model.
 */
#include "task/task_int.h"
#include "core/util.h"

#include <fnmatch.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double task_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void task_now_iso(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char b[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03ldZ", b, ts.tv_nsec / 1000000);
}

const char *task_str(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

void task_set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
	else
		json_object_del(o, key);
}

json_t *task_vmie(json_t *rec)
{
	json_t *v = json_object_get(rec, "Vmie");
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(rec, "Vmie", v);
	}
	return v;
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "a structure";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

int task_want(const json_t *req, const char *key, json_type type,
	      bool required, const char *op, struct vmie_err *err)
{
	const json_t *v = json_object_get(req, key);
	if (!v || json_is_null(v)) {
		if (required)
			return VMIE_API_ERR(err, VMIE_EINVAL, "MissingParameter",
					    "%s: the request must contain the "
					    "parameter %s", op, key);
		return 0;
	}
	bool ok = json_typeof(v) == type ||
		  (type == JSON_TRUE && json_is_boolean(v)) ||
		  (type == JSON_REAL && json_is_number(v));
	if (!ok)
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: %s must be %s", op, key,
				    type_name(type));
	return 0;
}

int task_check_tags(const json_t *tags, bool values_required,
		    struct vmie_err *err)
{
	size_t i;
	const json_t *t;

	if (!json_is_array(tags))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "Tags must be a list of {Key, Value}");
	if (json_array_size(tags) > 50)
		return VMIE_API_ERR(err, VMIE_EINVAL, "TagLimitExceeded",
				    "at most 50 tags per resource, not %zu",
				    json_array_size(tags));
	json_array_foreach(tags, i, t) {
		const char *k = task_str(t, "Key"), *v = task_str(t, "Value");
		if (!json_is_object(t) || !k)
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "tag %zu has no Key", i + 1);
		size_t kl = strlen(k);
		if (!kl || kl > 128)
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "tag key '%.140s' must have 1 to "
					    "128 characters", k);
		if (!strncasecmp(k, "aws:", 4))
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "tag keys starting with 'aws:' are "
					    "reserved: '%.128s'", k);
		if (v && strlen(v) > 256)
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "the value of tag '%.128s' is longer "
					    "than 256 characters", k);
		if (values_required && !v)
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "tag '%.128s' has no Value", k);
	}
	return 0;
}

int task_tag_specs(const json_t *req, const char *rtype, const char *op,
		   json_t **tags, struct vmie_err *err)
{
	const json_t *specs = json_object_get(req, "TagSpecifications");
	const json_t *s;
	size_t i, j;
	int r;

	*tags = json_array();
	if (!specs || json_is_null(specs))
		return 0;
	if (!json_is_array(specs))
		goto bad;
	json_array_foreach(specs, i, s) {
		const char *rt = task_str(s, "ResourceType");
		const json_t *ts = json_object_get(s, "Tags");
		const json_t *t;
		if (!json_is_object(s))
			goto bad;
		if (rt && strcmp(rt, rtype)) {
			json_decref(*tags);
			*tags = NULL;
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: TagSpecifications: resource "
					    "type '%.64s' is not valid here "
					    "(only %s)", op, rt, rtype);
		}
		if (!ts)
			continue;
		if ((r = task_check_tags(ts, false, err))) {
			json_decref(*tags);
			*tags = NULL;
			return r;
		}
		json_array_foreach(ts, j, t) {
			json_t *c = json_object();
			json_object_set_new(c, "Key",
					    json_string(task_str(t, "Key")));
			json_object_set_new(c, "Value", json_string(
				task_str(t, "Value") ? task_str(t, "Value") : ""));
			json_array_append_new(*tags, c);
		}
	}
	return 0;
bad:
	json_decref(*tags);
	*tags = NULL;
	return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
			    "%s: TagSpecifications must be a list of "
			    "{ResourceType, Tags}", op);
}

/* ---- filters ---- */

static const char *filter_member(const struct task_filter_name *names,
				 const char *name)
{
	for (; names && names->filter; names++)
		if (!strcmp(names->filter, name))
			return names->member;
	return NULL;
}

int task_filters_check(const json_t *filters,
		       const struct task_filter_name *names,
		       struct vmie_err *err)
{
	const json_t *f;
	size_t i;

	if (!filters || json_is_null(filters))
		return 0;
	if (!json_is_array(filters))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "Filters must be a list of {Name, "
				    "Values}");
	json_array_foreach(filters, i, f) {
		const char *n = task_str(f, "Name");
		const json_t *vs = json_object_get(f, "Values");
		if (!n)
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "filter %zu has no Name", i + 1);
		if (vs && !json_is_array(vs))
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "filter '%.64s': Values must be a "
					    "list", n);
		if (strncmp(n, "tag:", 4) && strcmp(n, "tag-key") &&
		    !filter_member(names, n))
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "The filter '%.64s' is invalid",
					    n);
	}
	return 0;
}

/* The value of a dotted member path as text ("" when absent). */
static void member_text(const json_t *rec, const char *path, char *out,
			size_t size)
{
	char part[64];
	const json_t *v = rec;
	out[0] = 0;
	while (*path && v) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof part)
			return;
		memcpy(part, path, n);
		part[n] = 0;
		v = json_is_object(v) ? json_object_get(v, part) : NULL;
		path += n + (dot ? 1 : 0);
	}
	if (json_is_string(v))
		vmie_strlcpy(out, json_string_value(v), size);
	else if (json_is_integer(v))
		snprintf(out, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, size, "%.0f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
}

static bool values_match(const json_t *vs, const char *have)
{
	const json_t *v;
	size_t i;
	if (!vs || !json_array_size(vs))
		return true;
	json_array_foreach(vs, i, v)
		if (json_is_string(v) &&
		    !fnmatch(json_string_value(v), have, 0))
			return true;
	return false;
}

bool task_filters_match(const json_t *rec, const json_t *filters,
			const struct task_filter_name *names)
{
	const json_t *f;
	size_t i;

	if (!json_is_array(filters))
		return true;
	json_array_foreach(filters, i, f) {
		const char *n = task_str(f, "Name");
		const json_t *vs = json_object_get(f, "Values");
		const json_t *tags = json_object_get(rec, "Tags");
		bool ok = false;
		if (!n)
			return false;
		if (!strncmp(n, "tag:", 4) || !strcmp(n, "tag-key")) {
			const json_t *t;
			size_t j;
			bool bykey = n[3] == ':';
			json_array_foreach(tags, j, t) {
				const char *k = task_str(t, "Key");
				const char *v = task_str(t, "Value");
				if (!k)
					continue;
				if (bykey ? !strcmp(k, n + 4) &&
					    values_match(vs, v ? v : "")
					  : values_match(vs, k)) {
					ok = true;
					break;
				}
			}
		} else {
			char have[512];
			const char *m = filter_member(names, n);
			if (!m)
				return false;
			member_text(rec, m, have, sizeof have);
			ok = values_match(vs, have);
		}
		if (!ok)
			return false;
	}
	return true;
}
