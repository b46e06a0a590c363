/*
 * Parameter values as the AWS CLI takes them: JSON ("{...}" or "[...]"),
 * "file://PATH" (JSON in a file), or the CLI's shorthand syntax:
 *
 *   Key=Value,Key2=Value2           a structure of strings
 *   Key={A=1,B=2}                   a nested structure
 *   Key=[a,b] or Key=a,b            a list (after a key, values without
 *                                   '=' continue the list)
 *   Key=[{A=1},{A=2}]               a list of structures
 *
 * Values stay strings: the callers turn the members they know into
 * numbers or booleans.  Quoting with "..." or '...' keeps ',', '=', '{'
 * and the rest literal.
 */
#include "cli_task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sh {
	const char *s;
	size_t i;
	char err[200];
};

static json_t *sh_value(struct sh *p, bool in_list);

static void sh_skip_ws(struct sh *p)
{
	while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n')
		p->i++;
}

/* A scalar up to one of the stop characters (quotes honoured). */
static json_t *sh_scalar(struct sh *p, const char *stop)
{
	size_t cap = 64, n = 0;
	char *b = malloc(cap);
	if (!b)
		return NULL;
	sh_skip_ws(p);
	while (p->s[p->i] && !strchr(stop, p->s[p->i])) {
		char c = p->s[p->i++];
		if (c == '"' || c == '\'') {
			while (p->s[p->i] && p->s[p->i] != c) {
				if (n + 2 >= cap) {
					char *nb = realloc(b, cap *= 2);
					if (!nb) {
						free(b);
						return NULL;
					}
					b = nb;
				}
				b[n++] = p->s[p->i++];
			}
			if (p->s[p->i] != c) {
				snprintf(p->err, sizeof p->err, "unterminated "
					 "quote");
				free(b);
				return NULL;
			}
			p->i++;
			continue;
		}
		if (n + 2 >= cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
		}
		b[n++] = c;
	}
	while (n && (b[n - 1] == ' ' || b[n - 1] == '\t'))
		n--;
	b[n] = 0;
	json_t *v = json_string(b);
	free(b);
	return v;
}

static json_t *sh_list(struct sh *p)
{
	json_t *a = json_array();
	p->i++;         /* '[' */
	sh_skip_ws(p);
	if (p->s[p->i] == ']') {
		p->i++;
		return a;
	}
	for (;;) {
		json_t *v = sh_value(p, true);
		if (!v) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, v);
		sh_skip_ws(p);
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->s[p->i] == ']') {
			p->i++;
			return a;
		}
		snprintf(p->err, sizeof p->err, "expected ',' or ']' at "
			 "character %zu", p->i + 1);
		json_decref(a);
		return NULL;
	}
}

/* Key=Value pairs until end or a closing '}' (not consumed). */
static json_t *sh_struct(struct sh *p)
{
	json_t *o = json_object();
	for (;;) {
		sh_skip_ws(p);
		size_t k0 = p->i;
		while (p->s[p->i] && p->s[p->i] != '=' && p->s[p->i] != ',' &&
		       p->s[p->i] != '}')
			p->i++;
		if (p->s[p->i] != '=') {
			snprintf(p->err, sizeof p->err, "expected Key=Value at "
				 "character %zu", k0 + 1);
			json_decref(o);
			return NULL;
		}
		char key[128];
		size_t kn = p->i - k0;
		while (kn && p->s[k0 + kn - 1] == ' ')
			kn--;
		if (!kn || kn >= sizeof key) {
			snprintf(p->err, sizeof p->err, "bad key at character "
				 "%zu", k0 + 1);
			json_decref(o);
			return NULL;
		}
		memcpy(key, p->s + k0, kn);
		key[kn] = 0;
		p->i++;         /* '=' */
		json_t *v = sh_value(p, false);
		if (!v) {
			json_decref(o);
			return NULL;
		}
		/* Key=a,b: values without '=' continue a list */
		while (p->s[p->i] == ',' && json_is_string(v)) {
			size_t j = p->i + 1;
			while (p->s[j] && p->s[j] != ',' && p->s[j] != '=' &&
			       p->s[j] != '}')
				j++;
			if (p->s[j] == '=')
				break;
			p->i++;
			json_t *a = json_array();
			json_array_append_new(a, v);
			v = a;
			for (;;) {
				json_t *x = sh_scalar(p, ",}");
				if (!x) {
					json_decref(v);
					json_decref(o);
					return NULL;
				}
				json_array_append_new(v, x);
				if (p->s[p->i] != ',')
					break;
				j = p->i + 1;
				while (p->s[j] && p->s[j] != ',' &&
				       p->s[j] != '=' && p->s[j] != '}')
					j++;
				if (p->s[j] == '=')
					break;
				p->i++;
			}
		}
		json_object_set_new(o, key, v);
		sh_skip_ws(p);
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		return o;
	}
}

static json_t *sh_value(struct sh *p, bool in_list)
{
	sh_skip_ws(p);
	char c = p->s[p->i];
	if (c == '[')
		return sh_list(p);
	if (c == '{') {
		p->i++;
		json_t *o = sh_struct(p);
		if (!o)
			return NULL;
		if (p->s[p->i] != '}') {
			snprintf(p->err, sizeof p->err, "expected '}' at "
				 "character %zu", p->i + 1);
			json_decref(o);
			return NULL;
		}
		p->i++;
		return o;
	}
	return sh_scalar(p, in_list ? ",]" : ",}");
}

static char *read_file(const char *path, char *why, size_t wsize)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(why, wsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	while (b) {
		if (n + 1 >= cap) {
			if (cap > (16u << 20)) {
				snprintf(why, wsize, "%s: larger than 16 MiB",
					 path);
				free(b);
				b = NULL;
				break;
			}
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
		}
		size_t got = fread(b + n, 1, cap - 1 - n, f);
		n += got;
		if (!got)
			break;
	}
	fclose(f);
	if (b)
		b[n] = 0;
	else if (!why[0])
		snprintf(why, wsize, "out of memory");
	return b;
}

json_t *cli_param_value(const char *text, bool list, char *why, size_t wsize)
{
	char *file = NULL;
	json_t *v = NULL;

	why[0] = 0;
	if (!strncmp(text, "file://", 7)) {
		if (!(file = read_file(text + 7, why, wsize)))
			return NULL;
		text = file;
	}
	const char *t = text;
	while (*t == ' ' || *t == '\n' || *t == '\t')
		t++;
	if (*t == '{' || *t == '[' || file) {
		json_error_t je;
		v = json_loads(t, JSON_REJECT_DUPLICATES, &je);
		if (!v)
			snprintf(why, wsize, "invalid JSON: %s (line %d, "
				 "column %d)", je.text, je.line, je.column);
	} else {
		struct sh p = { .s = t };
		v = sh_struct(&p);
		if (v && p.s[p.i]) {
			snprintf(why, wsize, "unexpected '%c' at character %zu",
				 p.s[p.i], p.i + 1);
			json_decref(v);
			v = NULL;
		} else if (!v) {
			snprintf(why, wsize, "%s", p.err[0] ? p.err :
				 "cannot parse");
		}
		if (v && list) {
			json_t *a = json_array();
			json_array_append_new(a, v);
			v = a;
		}
	}
	if (v && list && json_is_object(v)) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	free(file);
	return v;
}
