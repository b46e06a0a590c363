/*
 * Small text helpers shared by the guest configuration parsers: shell-style
 * KEY=value lookup (the syntax of os-release(5) and of the ifcfg and
 * sysconfig files, which are sourced by sh), trimming, version comparison
 * and comma-separated lists.
 */
#include "inspect/insp_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

bool vmie_insp_next_line(const char **p, char *line, size_t size)
{
	const char *t = *p;
	if (!t || !*t)
		return false;
	const char *e = strchr(t, '\n');
	size_t l = e ? (size_t)(e - t) : strlen(t);
	if (l >= size)
		l = size - 1;
	memcpy(line, t, l);
	line[l] = '\0';
	*p = e ? e + 1 : NULL;
	return true;
}

char *vmie_insp_trim(char *s)
{
	size_t n, lead = 0;

	while (s[lead] == ' ' || s[lead] == '\t')
		lead++;
	if (lead)
		memmove(s, s + lead, strlen(s + lead) + 1);
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		     s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Copy a shell word (quotes removed, backslash escapes kept literal
 * outside single quotes) from v up to the end of the line. */
static void text_unquote(const char *v, const char *end, char *out,
			 size_t size)
{
	size_t o = 0;
	char q = 0;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	for (; v < end; v++) {
		char c = *v;
		if (!q && (c == '"' || c == '\'')) {
			q = c;
			continue;
		}
		if (q && c == q) {
			q = 0;
			continue;
		}
		if (!q && (c == '#' || c == ' ' || c == '\t' || c == '\r'))
			break;
		if (c == '\\' && q != '\'' && v + 1 < end) {
			v++;
			c = *v;
		}
		if (o + 1 < size)
			out[o++] = c;
	}
	out[o] = '\0';
}

bool vmie_insp_shvar(const char *text, const char *key, char *out,
		     size_t size)
{
	size_t klen = strlen(key);
	const char *p = text;
	bool found = false;

	if (size)
		out[0] = '\0';
	while (p && *p) {
		const char *end = strchr(p, '\n'), *s = p;
		if (!end)
			end = p + strlen(p);
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (!strncmp(s, "export ", 7))
			s += 7;
		if ((size_t)(end - s) > klen && !strncmp(s, key, klen) &&
		    s[klen] == '=') {
			text_unquote(s + klen + 1, end, out, size);
			found = true;
		}
		p = *end ? end + 1 : NULL;
	}
	return found;
}

int vmie_insp_vercmp(const char *a, const char *b)
{
	return strverscmp(a, b);
}

void vmie_insp_split_version(const char *v, int *major, int *minor)
{
	*major = *minor = -1;
	if (!v || !isdigit((unsigned char)v[0]))
		return;
	*major = 0;
	while (isdigit((unsigned char)*v) && *major < 100000)
		*major = *major * 10 + (*v++ - '0');
	if (*v != '.' || !isdigit((unsigned char)v[1]))
		return;
	v++;
	*minor = 0;
	while (isdigit((unsigned char)*v) && *minor < 100000)
		*minor = *minor * 10 + (*v++ - '0');
}

bool vmie_insp_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && !strncmp(p, item, n))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

void vmie_insp_list_add(char *buf, size_t size, const char *item)
{
	size_t have = strlen(buf), n = strlen(item);

	if (!n || vmie_insp_list_has(buf, item))
		return;
	if (have + n + 2 > size)
		return;
	if (have)
		buf[have++] = ',';
	memcpy(buf + have, item, n + 1);
}

void vmie_insp_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}
