/*
 * The configuration of `vmie serve` (config.h, docs/serve.md): reading
 * and checking the JSON file, and writing a fresh one at a first run.
 */
#include "server/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "api/iam.h"
#include "core/err.h"
#include "core/util.h"
#include "io/s3.h"
#include "task/store.h"

/* ---- small helpers ---- */

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* path relative to the directory of base, unless absolute */
static char *relative_to(const char *base, const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	const char *slash = strrchr(base, '/');
	size_t dl = slash ? (size_t)(slash - base) : 1;
	char *out = malloc(dl + strlen(path) + 2);
	if (!out)
		return NULL;
	if (slash)
		memcpy(out, base, dl);
	else
		out[0] = '.';
	out[dl] = '/';
	strcpy(out + dl + 1, path);
	return out;
}

/* ---- addresses ---- */

int vmie_srv_parse_addr(const char *s, struct sockaddr_storage *ss,
			unsigned *len, struct vmie_err *err)
{
	char host[128];
	const char *port_s;
	char *end;
	memset(ss, 0, sizeof *ss);
	if (!s || !*s)
		return VMIE_ERR(err, VMIE_EINVAL, "listen: empty address");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
			return VMIE_ERR(err, VMIE_EINVAL, "listen: '%s' is not "
					"[IPV6]:PORT", s);
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = 0;
		port_s = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			host[0] = 0;
			port_s = s;
		} else {
			if ((size_t)(colon - s) >= sizeof host)
				return VMIE_ERR(err, VMIE_EINVAL, "listen: '%s' "
						"is too long", s);
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = 0;
			port_s = colon + 1;
		}
	}
	errno = 0;
	unsigned long port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port > 65535)
		return VMIE_ERR(err, VMIE_EINVAL, "listen: '%s': the port is "
				"not a number from 0 to 65535", s);
	if (!host[0] || !strcmp(host, "*") || !strcmp(host, "0.0.0.0")) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof *a;
		return 0;
	}
	if (!strcmp(host, "localhost"))
		vmie_strlcpy(host, "127.0.0.1", sizeof host);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return 0;
	}
	return VMIE_ERR(err, VMIE_EINVAL, "listen: '%s': '%s' is not an IPv4 "
			"or IPv6 address (names are not resolved)", s, host);
}

/* ---- paths ---- */

void vmie_srvcfg_default_path(char *out, size_t size)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
	if (geteuid() == 0)
		snprintf(out, size, "/etc/vmie/serve.json");
	else if (x && x[0] == '/')
		snprintf(out, size, "%s/vmie/serve.json", x);
	else
		snprintf(out, size, "%s/.config/vmie/serve.json",
			 h && h[0] ? h : "/tmp");
}

void vmie_srvcfg_default_store(char *out, size_t size)
{
	const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
	if (geteuid() == 0)
		snprintf(out, size, "/var/lib/vmie");
	else if (x && x[0] == '/')
		snprintf(out, size, "%s/vmie", x);
	else
		snprintf(out, size, "%s/.local/share/vmie",
			 h && h[0] ? h : "/tmp");
}

/* ---- reading ---- */

struct loader {
	struct vmie_srvcfg *cfg;
	struct vmie_err *err;
};

static int add_policy(struct loader *L, struct vmie_iam_policy *p)
{
	struct vmie_srvcfg *c = L->cfg;
	struct vmie_iam_policy **n = realloc(c->policies,
					     (c->n_policies + 1) * sizeof *n);
	if (!n) {
		vmie_iam_free(p);
		return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
	}
	c->policies = n;
	c->policies[c->n_policies++] = p;
	return 0;
}

static int read_small_file(const char *path, size_t max, char **text,
			   size_t *len, struct vmie_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return VMIE_ERR(err, errno == ENOENT ? VMIE_ENOENT : VMIE_EIO,
				"cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return VMIE_ERR(err, VMIE_EINVAL, "%s: not a regular file of "
				"at most %zu bytes", path, max);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	if (!buf) {
		close(fd);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	*text = buf;
	*len = got;
	return 0;
}

/* "policies": [ {doc}... ], "policy_files": [ "path"... ] of a user or
 * role, into a principal's policy list */
static int load_policies(struct loader *L, const json_t *who,
			 const char *what, const char *name,
			 struct vmie_api_principal *p)
{
	const json_t *inl = json_object_get(who, "policies");
	const json_t *files = json_object_get(who, "policy_files");
	const json_t *v;
	size_t i, n = 0, first = L->cfg->n_policies;
	char pname[192];
	int r;

	if (inl && !json_is_array(inl))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s %s: \"policies\" "
				"must be an array of IAM policy documents",
				L->cfg->path, what, name);
	if (files && !json_is_array(files))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s %s: "
				"\"policy_files\" must be an array of paths",
				L->cfg->path, what, name);
	json_array_foreach(inl, i, v) {
		struct vmie_iam_policy *pol;
		snprintf(pname, sizeof pname, "%s %s: policies[%zu]", what,
			 name, i);
		if ((r = vmie_iam_parse_json(v, pname, &pol, L->err))) {
			vmie_err_prefix(L->err, "%s", L->cfg->path);
			return r;
		}
		if ((r = add_policy(L, pol)))
			return r;
		n++;
	}
	json_array_foreach(files, i, v) {
		const char *f = json_string_value(v);
		struct vmie_iam_policy *pol;
		char *path, *text;
		size_t len;
		if (!f || !*f)
			return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s %s: "
					"policy_files[%zu] is not a path",
					L->cfg->path, what, name, i);
		if (!(path = relative_to(L->cfg->path, f)))
			return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		r = read_small_file(path, VMIE_IAM_MAX_DOC, &text, &len, L->err);
		if (r) {
			vmie_err_prefix(L->err, "%s: %s %s", L->cfg->path, what,
					name);
			free(path);
			return r;
		}
		snprintf(pname, sizeof pname, "%s %s: %s", what, name, f);
		r = vmie_iam_parse(text, len, pname, &pol, L->err);
		free(text);
		free(path);
		if (r || (r = add_policy(L, pol)))
			return r;
		n++;
	}
	p->n_policies = n;
	/* the principal points into cfg->policies, which may still move:
	 * the pointers are set once everything is loaded (fix_pointers) */
	p->policies = (const struct vmie_iam_policy *const *)(uintptr_t)first;
	return 0;
}

static void fix_pointers(struct vmie_srvcfg *c)
{
	for (size_t i = 0; i < c->n_users; i++) {
		uintptr_t first = (uintptr_t)c->users[i].p.policies;
		c->users[i].p.policies = (const struct vmie_iam_policy *const *)
			(c->policies + first);
	}
	for (size_t i = 0; i < c->n_roles; i++) {
		uintptr_t first = (uintptr_t)c->roles[i].policies;
		c->roles[i].policies = (const struct vmie_iam_policy *const *)
			(c->policies + first);
	}
}

static bool valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 64)
		return false;
	for (; *s; s++)
		if (!(((*s | 32) >= 'a' && (*s | 32) <= 'z') ||
		      (*s >= '0' && *s <= '9') || strchr("+=,.@_-", *s)))
			return false;
	return true;
}

static bool valid_key_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 16 || n >= VMIE_SIGV4_KEY_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z')))
			return false;
	return true;
}

/* aws:userid of a user: AIDA + 17 characters derived from the account
 * and the name (stable across restarts, as AWS's unique ids are) */
static char *make_userid(const char *account, const char *name)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint8_t h[SHA256_DIGEST_LENGTH];
	char both[160], out[32] = "AIDA";
	int n = snprintf(both, sizeof both, "%s:%s", account, name);
	SHA256((const unsigned char *)both, (size_t)n, h);
	for (int i = 0; i < 17; i++)
		out[4 + i] = b32[h[i] & 31];
	out[21] = 0;
	return strdup(out);
}

static int check_members(struct loader *L, const json_t *obj,
			 const char *where, const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		size_t i;
		for (i = 0; known[i]; i++)
			if (!strcmp(k, known[i]))
				break;
		if (!known[i])
			return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s: unknown "
					"member \"%.64s\" (docs/serve.md "
					"lists them)", L->cfg->path, where, k);
	}
	return 0;
}

static int get_uint(struct loader *L, const json_t *obj, const char *key,
		    unsigned min, unsigned max, unsigned *out)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"%s\" must be an "
				"integer from %u to %u", L->cfg->path, key, min,
				max);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

static int get_size(struct loader *L, const json_t *obj, const char *key,
		    size_t min, size_t max, size_t *out)
{
	const json_t *v = json_object_get(obj, key);
	uint64_t n;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		n = (uint64_t)json_integer_value(v);
	else if (!json_is_string(v) ||
		 vmie_parse_size(json_string_value(v), &n))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"%s\" must be a size "
				"(bytes, or \"1M\", \"64K\"...)", L->cfg->path,
				key);
	if (n < min || n > max)
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"%s\" must be from "
				"%zu to %zu bytes", L->cfg->path, key, min, max);
	*out = (size_t)n;
	return 0;
}

static int get_string(struct loader *L, const json_t *obj, const char *key,
		      char **out)
{
	const json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !json_string_length(v))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"%s\" must be a "
				"non-empty string", L->cfg->path, key);
	free(*out);
	if (!(*out = strdup(json_string_value(v))))
		return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
	return 0;
}

/* a string or an array of strings into a fixed array */
static int get_strings(struct loader *L, const json_t *obj, const char *key,
		       char **arr, size_t max, size_t *n)
{
	const json_t *v = json_object_get(obj, key), *x;
	size_t i;
	if (!v)
		return 0;
	if (json_is_string(v)) {
		if (!(arr[0] = strdup(json_string_value(v))))
			return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		*n = 1;
		return 0;
	}
	if (!json_is_array(v) || !json_array_size(v) ||
	    json_array_size(v) > max)
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"%s\" must be a string "
				"or an array of 1 to %zu strings", L->cfg->path,
				key, max);
	json_array_foreach(v, i, x) {
		if (!json_is_string(x) || !json_string_length(x))
			return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s[%zu] is not "
					"a string", L->cfg->path, key, i);
		if (!(arr[i] = strdup(json_string_value(x))))
			return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		*n = i + 1;
	}
	return 0;
}

static int load_users(struct loader *L, const json_t *users)
{
	static const char *const user_keys[] = { "name", "access_keys",
		"policies", "policy_files", "userid", NULL };
	static const char *const key_keys[] = { "id", "secret",
		"session_token", NULL };
	struct vmie_srvcfg *c = L->cfg;
	const json_t *u;
	size_t i, j;
	int r;

	if (!json_is_array(users))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"users\" must be an "
				"array", c->path);
	if (!(c->users = calloc(json_array_size(users) + 1, sizeof *c->users)))
		return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
	json_array_foreach(users, i, u) {
		struct vmie_srv_user *su = &c->users[i];
		const char *name = json_string_value(json_object_get(u, "name"));
		const json_t *keys = json_object_get(u, "access_keys"), *k;
		char where[96], arn[160];
		c->n_users = i + 1;
		if (!json_is_object(u) || !valid_name(name))
			return VMIE_ERR(L->err, VMIE_EINVAL, "%s: users[%zu]: "
					"\"name\" must be 1 to 64 characters "
					"of A-Z a-z 0-9 +=,.@_-", c->path, i);
		snprintf(where, sizeof where, "user %s", name);
		if ((r = check_members(L, u, where, user_keys)))
			return r;
		for (j = 0; j < i; j++)
			if (!strcmp(c->users[j].p.name, name))
				return VMIE_ERR(L->err, VMIE_EINVAL, "%s: user "
						"%s is defined twice", c->path,
						name);
		snprintf(arn, sizeof arn, "arn:aws:iam::%s:user/%s", c->account,
			 name);
		su->p.name = strdup(name);
		su->p.arn = strdup(arn);
		const char *uid = json_string_value(json_object_get(u, "userid"));
		su->userid = uid ? strdup(uid) : make_userid(c->account, name);
		if (!su->p.name || !su->p.arn || !su->userid)
			return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		if (keys && !json_is_array(keys))
			return VMIE_ERR(L->err, VMIE_EINVAL, "%s: user %s: "
					"\"access_keys\" must be an array",
					c->path, name);
		if (!(su->keys = calloc(json_array_size(keys) + 1,
					sizeof *su->keys)))
			return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		json_array_foreach(keys, j, k) {
			const char *id = json_string_value(json_object_get(k,
									"id"));
			const char *sec = json_string_value(json_object_get(k,
								"secret"));
			const json_t *tok = json_object_get(k, "session_token");
			snprintf(where, sizeof where, "user %s: access_keys[%zu]",
				 name, j);
			if ((r = check_members(L, k, where, key_keys)))
				return r;
			if (!valid_key_id(id))
				return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s: "
						"\"id\" must be 16 to 128 "
						"letters and digits", c->path,
						where);
			if (!sec || strlen(sec) < 16 ||
			    strlen(sec) >= VMIE_SIGV4_SECRET_MAX)
				return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s "
						"(%s): \"secret\" must be 16 "
						"to 256 characters", c->path,
						where, id);
			if (tok && (!json_is_string(tok) ||
				    json_string_length(tok) >=
				    VMIE_SIGV4_TOKEN_MAX))
				return VMIE_ERR(L->err, VMIE_EINVAL, "%s: %s "
						"(%s): \"session_token\" must "
						"be a string of less than 4 KiB",
						c->path, where, id);
			/* an id may name one key only */
			if (vmie_srvcfg_user_of(c, id))
				return VMIE_ERR(L->err, VMIE_EINVAL, "%s: access "
						"key %s is configured twice",
						c->path, id);
			su->keys[j].id = strdup(id);
			su->keys[j].secret = strdup(sec);
			su->keys[j].session_token = tok && json_string_length(tok)
				? strdup(json_string_value(tok)) : NULL;
			su->n_keys = j + 1;
			if (!su->keys[j].id || !su->keys[j].secret)
				return VMIE_ERR(L->err, VMIE_ENOMEM,
						"out of memory");
		}
		if ((r = load_policies(L, u, "user", name, &su->p)))
			return r;
	}
	return 0;
}

static int load_roles(struct loader *L, const json_t *roles)
{
	static const char *const role_keys[] = { "name", "policies",
		"policy_files", NULL };
	struct vmie_srvcfg *c = L->cfg;
	const json_t *ro;
	size_t i, j;
	int r;

	if (!json_is_array(roles))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"roles\" must be an "
				"array", c->path);
	if (!(c->roles = calloc(json_array_size(roles) + 1, sizeof *c->roles)))
		return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
	json_array_foreach(roles, i, ro) {
		struct vmie_api_principal *p = &c->roles[i];
		const char *name = json_string_value(json_object_get(ro, "name"));
		char where[96], arn[160];
		c->n_roles = i + 1;
		if (!json_is_object(ro) || !valid_name(name))
			return VMIE_ERR(L->err, VMIE_EINVAL, "%s: roles[%zu]: "
					"\"name\" must be 1 to 64 characters "
					"of A-Z a-z 0-9 +=,.@_-", c->path, i);
		snprintf(where, sizeof where, "role %s", name);
		if ((r = check_members(L, ro, where, role_keys)))
			return r;
		for (j = 0; j < i; j++)
			if (!strcmp(c->roles[j].name, name))
				return VMIE_ERR(L->err, VMIE_EINVAL, "%s: role %s "
						"is defined twice", c->path, name);
		snprintf(arn, sizeof arn, "arn:aws:iam::%s:role/%s", c->account,
			 name);
		p->name = strdup(name);
		p->arn = strdup(arn);
		if (!p->name || !p->arn)
			return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		if ((r = load_policies(L, ro, "role", name, p)))
			return r;
	}
	return 0;
}

static int load_limits(struct loader *L, const json_t *lim)
{
	static const char *const keys[] = { "max_body", "header_timeout",
		"request_timeout", "idle_timeout", "max_connections",
		"max_connections_per_ip", "queue_length", "connection_memory",
		NULL };
	struct vmie_srv_limits *l = &L->cfg->limits;
	int r;
	if (!json_is_object(lim))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"limits\" must be an "
				"object", L->cfg->path);
	if ((r = check_members(L, lim, "limits", keys)) ||
	    (r = get_size(L, lim, "max_body", 1024, VMIE_SRV_MAX_CONFIG * 4,
			  &l->max_body)) ||
	    (r = get_uint(L, lim, "header_timeout", 1, 3600,
			  &l->header_timeout)) ||
	    (r = get_uint(L, lim, "request_timeout", 1, 3600,
			  &l->request_timeout)) ||
	    (r = get_uint(L, lim, "idle_timeout", 1, 86400, &l->idle_timeout)) ||
	    (r = get_uint(L, lim, "max_connections", 1, 65536,
			  &l->max_connections)) ||
	    (r = get_uint(L, lim, "max_connections_per_ip", 0, 65536,
			  &l->max_per_ip)) ||
	    (r = get_uint(L, lim, "queue_length", 1, 1000000,
			  &l->queue_length)) ||
	    (r = get_size(L, lim, "connection_memory", 16384, 16 << 20,
			  &l->connection_memory)))
		return r;
	return 0;
}

static void set_defaults(struct vmie_srvcfg *c)
{
	c->workers = 2;
	c->http_threads = 4;
	c->clock_skew = VMIE_SIGV4_DEFAULT_SKEW;
	c->limits.max_body = 1024 * 1024;
	c->limits.header_timeout = 10;
	c->limits.request_timeout = 60;
	c->limits.idle_timeout = 60;
	c->limits.max_connections = 512;
	c->limits.max_per_ip = 0;
	c->limits.queue_length = 64;
	c->limits.connection_memory = 96 * 1024;
	c->metrics_public = true;
}

static int check_mode(const char *path, struct vmie_err *err)
{
	struct stat st;
	if (stat(path, &st))
		return VMIE_ERR(err, errno == ENOENT ? VMIE_ENOENT : VMIE_EIO,
				"cannot read the configuration %s: %s", path,
				strerror(errno));
	if (!S_ISREG(st.st_mode))
		return VMIE_ERR(err, VMIE_EINVAL, "the configuration %s is not "
				"a regular file", path);
	if (st.st_mode & 0006)
		return VMIE_ERR(err, VMIE_EPERM, "the configuration %s holds "
				"secret access keys but other users may %s it "
				"(mode %04o): refusing it; run 'chmod o-rwx %s'",
				path, st.st_mode & 0002 ? "write" : "read",
				(unsigned)(st.st_mode & 07777), path);
	return 0;
}

/* "records": "postgresql://..." (docs/postgresql.md), the records of
 * several nodes in one PostgreSQL; absent: SQLite in "store". */
static int load_records(struct loader *L, json_t *root,
			struct vmie_srvcfg *c)
{
	int r = get_string(L, root, "records", &c->records);
	if (r || !c->records)
		return r;
	if (!vmie_store_is_url(c->records))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"records\" must be "
				"a PostgreSQL URL (postgresql://user@host/db)",
				c->path);
	return 0;
}

/* "s3": { "endpoint", "region", "access_key_id", "secret_access_key",
 * "session_token", "addressing": "path" | "virtual", "ca_file",
 * "buckets": true (the API's buckets are the store's), "volumes":
 * "s3://bucket/prefix" } (docs/s3.md).  Messages never quote a secret. */
static int load_s3(struct loader *L, json_t *root, struct vmie_srvcfg *c)
{
	static const char *const keys[] = { "endpoint", "region",
		"access_key_id", "secret_access_key", "session_token",
		"addressing", "ca_file", "buckets", "volumes", "comment",
		NULL };
	const json_t *o = json_object_get(root, "s3");
	char *addr = NULL;
	int r;

	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"s3\" must be an "
				"object (docs/s3.md)", c->path);
	if ((r = check_members(L, o, "s3", keys)))
		return r;
	if (!(c->s3 = calloc(1, sizeof(*c->s3))))
		return VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
	struct vmie_s3_config *s = c->s3;
	if ((r = get_string(L, o, "endpoint", &s->endpoint)) ||
	    (r = get_string(L, o, "region", &s->region)) ||
	    (r = get_string(L, o, "access_key_id", &s->access_key)) ||
	    (r = get_string(L, o, "secret_access_key", &s->secret)) ||
	    (r = get_string(L, o, "session_token", &s->token)) ||
	    (r = get_string(L, o, "ca_file", &s->ca_file)) ||
	    (r = get_string(L, o, "addressing", &addr)) ||
	    (r = get_string(L, o, "volumes", &c->s3_volumes)))
		goto out;
	const json_t *b = json_object_get(o, "buckets");
	if (b && !json_is_boolean(b)) {
		r = VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"s3\": \"buckets\" "
			     "must be true or false", c->path);
		goto out;
	}
	c->s3_buckets = json_is_true(b);
	if (!s->endpoint || !s->access_key || !s->secret) {
		r = VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"s3\" needs "
			     "\"endpoint\", \"access_key_id\" and "
			     "\"secret_access_key\"", c->path);
		goto out;
	}
	if (!s->region && !(s->region = strdup("us-east-1"))) {
		r = VMIE_ERR(L->err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (addr && strcmp(addr, "path") && strcmp(addr, "virtual")) {
		r = VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"s3\": \"addressing\" "
			     "must be \"path\" or \"virtual\"", c->path);
		goto out;
	}
	s->path_style = addr ? strcmp(addr, "path") == 0 :
		!strstr(s->endpoint, "amazonaws.com");
	if (c->s3_volumes && strncmp(c->s3_volumes, "s3://", 5)) {
		r = VMIE_ERR(L->err, VMIE_EINVAL, "%s: \"s3\": \"volumes\" "
			     "must be an s3://bucket/prefix URL", c->path);
		goto out;
	}
out:
	free(addr);
	return r;
}

static void free_s3(struct vmie_srvcfg *c)
{
	if (c->s3) {
		vmie_s3_config_free(c->s3);
		free(c->s3);
	}
	free(c->s3_volumes);
}

int vmie_srvcfg_load(const char *path, struct vmie_srvcfg **out,
		     struct vmie_err *err)
{
	static const char *const top_keys[] = { "listen", "store",
		"records", "s3", "bucket_root", "region", "regions", "account",
		"policy", "workers", "http_threads", "clock_skew", "limits", "tls",
		"log_format", "metrics_public", "users", "roles", "comment",
		NULL };
	struct vmie_srvcfg *c = calloc(1, sizeof *c);
	struct loader L = { c, err };
	json_t *root = NULL;
	json_error_t je;
	char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (!c)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	set_defaults(c);
	if (!(c->path = strdup(path))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = check_mode(path, err)) ||
	    (r = read_small_file(path, VMIE_SRV_MAX_CONFIG, &text, &len, err)))
		goto out;
	/* the text holds secrets: jansson's messages quote no input text,
	 * only line and column */
	if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ||
	    !json_is_object(root)) {
		r = VMIE_ERR(err, VMIE_EINVAL, "%s:%d:%d: not a JSON object%s%s",
			     path, root ? 1 : je.line, root ? 1 : je.column,
			     root ? "" : ": ", root ? "" : je.text);
		goto out;
	}
	if ((r = check_members(&L, root, "top level", top_keys)))
		goto out;
	const char *acct = json_string_value(json_object_get(root, "account"));
	if (!acct || strlen(acct) != 12 ||
	    strspn(acct, "0123456789") != 12) {
		r = VMIE_ERR(err, VMIE_EINVAL, "%s: \"account\" must be the "
			     "12 digits of an account id", path);
		goto out;
	}
	memcpy(c->account, acct, 13);
	if ((r = get_strings(&L, root, "listen", c->listen, VMIE_SRV_MAX_LISTEN,
			     &c->n_listen)) ||
	    (r = get_strings(&L, root, "regions", c->regions,
			     VMIE_SRV_MAX_REGIONS, &c->n_regions)))
		goto out;
	if (!c->n_regions && (r = get_strings(&L, root, "region", c->regions,
					     VMIE_SRV_MAX_REGIONS,
					     &c->n_regions)))
		goto out;
	if (!c->n_listen)
		c->listen[c->n_listen++] = strdup(VMIE_SRV_DEFAULT_LISTEN);
	if (!c->n_regions)
		c->regions[c->n_regions++] = strdup(VMIE_SRV_DEFAULT_REGION);
	for (size_t i = 0; i < c->n_listen; i++) {
		struct sockaddr_storage ss;
		unsigned sl;
		if (!c->listen[i] ||
		    (r = vmie_srv_parse_addr(c->listen[i], &ss, &sl, err)))
			goto out_prefix;
	}
	if ((r = get_string(&L, root, "store", &c->store)) ||
	    (r = get_string(&L, root, "bucket_root", &c->bucket_root)) ||
	    (r = load_records(&L, root, c)) ||
	    (r = load_s3(&L, root, c)) ||
	    (r = get_string(&L, root, "policy", &c->policy)) ||
	    (r = get_uint(&L, root, "workers", 0, VMIE_SRV_MAX_WORKERS,
			  &c->workers)) ||
	    (r = get_uint(&L, root, "http_threads", 1, 256,
			  &c->http_threads)) ||
	    (r = get_uint(&L, root, "clock_skew", 1, 7 * 86400,
			  &c->clock_skew)))
		goto out;
	if (c->policy && strchr(c->policy, '/') && c->policy[0] != '/') {
		char *abs = relative_to(path, c->policy);
		free(c->policy);
		c->policy = abs;
	}
	const json_t *lim = json_object_get(root, "limits");
	if (lim && (r = load_limits(&L, lim)))
		goto out;
	const json_t *tls = json_object_get(root, "tls");
	if (tls && !json_is_null(tls)) {
		static const char *const tls_keys[] = { "cert", "key", NULL };
		if (!json_is_object(tls) ||
		    (r = check_members(&L, tls, "tls", tls_keys)) ||
		    (r = get_string(&L, tls, "cert", &c->tls_cert)) ||
		    (r = get_string(&L, tls, "key", &c->tls_key)) ||
		    !c->tls_cert != !c->tls_key) {
			if (!r)
				r = VMIE_ERR(err, VMIE_EINVAL, "%s: \"tls\" needs "
					     "both \"cert\" and \"key\" (PEM "
					     "files)", path);
			goto out;
		}
		char *a = c->tls_cert ? relative_to(path, c->tls_cert) : NULL;
		char *b = c->tls_key ? relative_to(path, c->tls_key) : NULL;
		free(c->tls_cert);
		free(c->tls_key);
		c->tls_cert = a;
		c->tls_key = b;
	}
	const char *lf = json_string_value(json_object_get(root, "log_format"));
	if (json_object_get(root, "log_format")) {
		if (lf && (!strcmp(lf, "kv") || !strcmp(lf, "logfmt")))
			c->log_format = VMIE_SRV_LOG_KV;
		else if (lf && !strcmp(lf, "json"))
			c->log_format = VMIE_SRV_LOG_JSON;
		else {
			r = VMIE_ERR(err, VMIE_EINVAL, "%s: \"log_format\" must "
				     "be \"kv\" or \"json\"", path);
			goto out;
		}
	}
	const json_t *mp = json_object_get(root, "metrics_public");
	if (mp) {
		if (!json_is_boolean(mp)) {
			r = VMIE_ERR(err, VMIE_EINVAL, "%s: \"metrics_public\" "
				     "must be true or false", path);
			goto out;
		}
		c->metrics_public = json_is_true(mp);
	}
	const json_t *users = json_object_get(root, "users");
	const json_t *roles = json_object_get(root, "roles");
	if ((users && (r = load_users(&L, users))) ||
	    (roles && (r = load_roles(&L, roles))))
		goto out;
	fix_pointers(c);
	if (!c->store) {
		char def[PATH_MAX];
		vmie_srvcfg_default_store(def, sizeof def);
		c->store = strdup(def);
	} else if (c->store[0] != '/') {
		char *abs = relative_to(path, c->store);
		free(c->store);
		c->store = abs;
	}
	if (c->bucket_root && c->bucket_root[0] != '/') {
		char *abs = relative_to(path, c->bucket_root);
		free(c->bucket_root);
		c->bucket_root = abs;
	}
	r = 0;
	*out = c;
	c = NULL;
	goto out;
out_prefix:
	vmie_err_prefix(err, "%s", path);
out:
	if (c) {
		/* pointers may still be indexes: fix before freeing */
		if (r)
			fix_pointers(c);
		vmie_srvcfg_free(c);
	}
	json_decref(root);
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return r;
}

void vmie_srvcfg_free(struct vmie_srvcfg *c)
{
	if (!c)
		return;
	free(c->path);
	for (size_t i = 0; i < c->n_listen; i++)
		free(c->listen[i]);
	for (size_t i = 0; i < c->n_regions; i++)
		free(c->regions[i]);
	free(c->store);
	free(c->bucket_root);
	free(c->records);
	free_s3(c);
	free(c->policy);
	free(c->tls_cert);
	free(c->tls_key);
	for (size_t i = 0; i < c->n_users; i++) {
		struct vmie_srv_user *u = &c->users[i];
		free((char *)u->p.name);
		free((char *)u->p.arn);
		free(u->userid);
		for (size_t j = 0; j < u->n_keys; j++) {
			free(u->keys[j].id);
			wipe_free(u->keys[j].secret);
			wipe_free(u->keys[j].session_token);
		}
		free(u->keys);
	}
	free(c->users);
	for (size_t i = 0; i < c->n_roles; i++) {
		free((char *)c->roles[i].name);
		free((char *)c->roles[i].arn);
	}
	free(c->roles);
	for (size_t i = 0; i < c->n_policies; i++)
		vmie_iam_free(c->policies[i]);
	free(c->policies);
	free(c);
}

const struct vmie_srv_user *vmie_srvcfg_user_of(const struct vmie_srvcfg *c,
						const char *access_key)
{
	for (size_t i = 0; i < c->n_users; i++)
		for (size_t j = 0; j < c->users[i].n_keys; j++)
			if (c->users[i].keys[j].id &&
			    !strcmp(c->users[i].keys[j].id, access_key))
				return &c->users[i];
	return NULL;
}

int vmie_srvcfg_lookup(void *ctx, const char *access_key,
		       struct vmie_sigv4_secret *out)
{
	const struct vmie_srvcfg *c = ctx;
	for (size_t i = 0; i < c->n_users; i++)
		for (size_t j = 0; j < c->users[i].n_keys; j++) {
			const struct vmie_srv_key *k = &c->users[i].keys[j];
			if (strcmp(k->id, access_key))
				continue;
			vmie_strlcpy(out->secret, k->secret, sizeof out->secret);
			vmie_strlcpy(out->session_token, k->session_token ?
				     k->session_token : "",
				     sizeof out->session_token);
			return 0;
		}
	return VMIE_ENOENT;
}

/* ---- a first run ---- */

static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	vmie_strlcpy(p, dir, sizeof p);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0700) && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
}

int vmie_srvcfg_generate(const char *path, const char *store,
			 const char *bucket_root, const char *listen,
			 struct vmie_srvcfg_created *made,
			 struct vmie_err *err)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
				  "vwxyz0123456789+/";
	uint8_t rnd[16 + 40 + 12];
	char def_store[PATH_MAX], def_buckets[PATH_MAX + 16], dir[PATH_MAX];
	json_t *root = NULL;
	char *text = NULL;
	int fd = -1, r = 0;

	memset(made, 0, sizeof *made);
	if (fill_random(rnd, sizeof rnd))
		return VMIE_ERR(err, VMIE_EIO, "getrandom: %s", strerror(errno));
	/* account: 12 digits, the first not 0 */
	for (int i = 0; i < 12; i++)
		made->account[i] = (char)('0' + (i ? rnd[56 + i] % 10 :
						  1 + rnd[56 + i] % 9));
	/* AKIA + 16 of base32 (32 divides 256: no bias) */
	memcpy(made->key_id, "AKIA", 4);
	for (int i = 0; i < 16; i++)
		made->key_id[4 + i] = b32[rnd[i] & 31];
	/* 40 of base64's alphabet (64 divides 256: no bias) */
	for (int i = 0; i < 40; i++)
		made->secret[i] = b64[rnd[16 + i] & 63];
	OPENSSL_cleanse(rnd, sizeof rnd);
	vmie_strlcpy(made->user, "admin", sizeof made->user);
	vmie_strlcpy(made->listen, listen ? listen : VMIE_SRV_DEFAULT_LISTEN,
		     sizeof made->listen);
	vmie_strlcpy(made->region, VMIE_SRV_DEFAULT_REGION, sizeof made->region);
	if (!store) {
		vmie_srvcfg_default_store(def_store, sizeof def_store);
		store = def_store;
	}
	if (!bucket_root) {
		snprintf(def_buckets, sizeof def_buckets, "%s/buckets", store);
		bucket_root = def_buckets;
	}

	root = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:s, s:i,"
			 " s:{s:s, s:i, s:i, s:i, s:i}, s:s,"
			 " s:[{s:s, s:[{s:s, s:s}], s:[{s:s, s:[{s:s, s:s, s:s, s:s}]}]}],"
			 " s:[{s:s, s:[{s:s, s:[{s:s, s:[s, s, s, s], s:s}]}]}]}",
			 "comment", "vmie serve configuration (docs/serve.md); "
			 "it holds secret keys: keep it mode 0600",
			 "listen", made->listen,
			 "store", store,
			 "bucket_root", bucket_root,
			 "region", made->region,
			 "account", made->account,
			 "workers", 2,
			 "limits", "max_body", "1M", "idle_timeout", 60,
			 "max_connections", 512, "queue_length", 64,
			 "header_timeout", 10,
			 "log_format", "kv",
			 "users", "name", "admin", "access_keys", "id",
			 made->key_id, "secret", made->secret,
			 "policies", "Version", "2012-10-17", "Statement",
			 "Sid", "AdminAll", "Effect", "Allow", "Action", "*",
			 "Resource", "*",
			 "roles", "name", "vmimport", "policies", "Version",
			 "2012-10-17", "Statement", "Effect", "Allow",
			 "Action", "s3:GetBucketLocation", "s3:GetObject",
			 "s3:ListBucket", "s3:PutObject", "Resource",
			 "arn:aws:s3:::*");
	if (!root || !(text = json_dumps(root, JSON_INDENT(2) |
					 JSON_PRESERVE_ORDER))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	vmie_strlcpy(dir, path, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdirs(dir)) {
			r = VMIE_ERR(err, VMIE_EIO, "cannot create %s: %s", dir,
				     strerror(errno));
			goto out;
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		r = VMIE_ERR(err, errno == EEXIST ? VMIE_EEXIST : VMIE_EIO,
			     "cannot create the configuration %s: %s", path,
			     strerror(errno));
		goto out;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off < len || write(fd, "\n", 1) != 1 || fsync(fd)) {
		r = VMIE_ERR(err, VMIE_EIO, "cannot write %s: %s", path,
			     strerror(errno));
		unlink(path);
	}
out:
	if (fd >= 0)
		close(fd);
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_decref(root);
	return r;
}
