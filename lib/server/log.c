/*
 * The server's log lines: one line per event on stderr (journald keeps
 * them), either logfmt ("time=... event=request request_id=...") or one
 * JSON object a line.  Values are escaped so that a line stays one line
 * whatever a request or a guest put in them; a line is written with one
 * write(2), so lines of several threads never mix.  Nothing that goes
 * through here may hold a secret: callers pass ids, names and codes.
 */
#include "server/server_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put(struct srv_log *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof l->buf - 2) {
		l->trunc = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void putc_(struct srv_log *l, char c)
{
	put(l, &c, 1);
}

/* the value, escaped for the format */
static void put_escaped(struct srv_log *l, const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");
	bool quote = l->fmt == VMIE_SRV_LOG_JSON || !*p;
	if (!quote)
		for (const unsigned char *q = p; *q; q++)
			if (*q <= ' ' || *q == '"' || *q == '=' || *q == '\\' ||
			    *q >= 0x7f) {
				quote = true;
				break;
			}
	if (quote)
		putc_(l, '"');
	for (; *p; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			putc_(l, '\\');
			putc_(l, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			put(l, esc, strlen(esc));
		} else {
			putc_(l, (char)*p);
		}
	}
	if (quote)
		putc_(l, '"');
}

static void put_key(struct srv_log *l, const char *key)
{
	if (l->fmt == VMIE_SRV_LOG_JSON) {
		put(l, l->len > 1 ? ",\"" : "\"", l->len > 1 ? 2 : 1);
		put(l, key, strlen(key));
		put(l, "\":", 2);
	} else {
		if (l->len)
			putc_(l, ' ');
		put(l, key, strlen(key));
		putc_(l, '=');
	}
}

void srv_log_begin(struct srv_log *l, enum vmie_srv_log_format fmt,
		   const char *event)
{
	struct timespec ts;
	struct tm tm;
	char t[40];
	l->fmt = fmt;
	l->len = 0;
	l->trunc = false;
	if (fmt == VMIE_SRV_LOG_JSON)
		putc_(l, '{');
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + n, sizeof t - n, ".%03ldZ", ts.tv_nsec / 1000000);
	srv_log_str(l, "time", t);
	srv_log_str(l, "event", event);
}

void srv_log_str(struct srv_log *l, const char *key, const char *val)
{
	put_key(l, key);
	put_escaped(l, val);
}

void srv_log_int(struct srv_log *l, const char *key, long long val)
{
	char b[32];
	put_key(l, key);
	snprintf(b, sizeof b, "%lld", val);
	put(l, b, strlen(b));
}

void srv_log_num(struct srv_log *l, const char *key, double val)
{
	char b[40];
	put_key(l, key);
	snprintf(b, sizeof b, "%.3f", val);
	put(l, b, strlen(b));
}

void srv_log_end(struct srv_log *l)
{
	if (l->trunc) {
		/* room was kept for the closing characters */
		l->trunc = false;
		srv_log_str(l, "truncated", "true");
	}
	if (l->fmt == VMIE_SRV_LOG_JSON)
		l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
	const char *p = l->buf;
	size_t n = l->len;
	while (n) {
		ssize_t w = write(2, p, n);
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
}
