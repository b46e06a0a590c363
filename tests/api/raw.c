/* Test helper: captured HTTP requests (raw.h). */
#include "raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int raw_parse(const char *data, size_t len, struct raw_request *r)
{
	memset(r, 0, sizeof(*r));
	r->text = malloc(len + 1);
	if (!r->text)
		return -1;
	memcpy(r->text, data, len);
	r->text[len] = '\0';
	char *end = strstr(r->text, "\r\n\r\n");
	if (!end)
		return -1;
	*end = '\0';
	r->body = end + 4;
	r->body_len = len - (size_t)(r->body - r->text);
	char *line = r->text, *next;
	next = strstr(line, "\r\n");
	if (next)
		*next = '\0';
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof(r->method))
		return -1;
	*sp1 = *sp2 = '\0';
	strcpy(r->method, line);
	r->path = sp1 + 1;
	char *q = strchr(r->path, '?');
	r->query = q ? (*q = '\0', q + 1) : (char *)"";
	while (next) {
		line = next + 2;
		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		char *colon = strchr(line, ':');
		if (!colon || r->nheaders == 64)
			return -1;
		*colon = '\0';
		char *v = colon + 1;
		r->headers[r->nheaders].name = line;
		r->headers[r->nheaders].value = v;
		r->nheaders++;
		if (strcasecmp(line, "Content-Length") == 0) {
			size_t cl = strtoul(v, NULL, 10);
			if (cl <= r->body_len)
				r->body_len = cl;
		}
		if (strcasecmp(line, "X-Amz-Date") == 0) {
			struct tm tm = { 0 };
			while (*v == ' ')
				v++;
			if (strptime(v, "%Y%m%dT%H%M%SZ", &tm))
				r->date = timegm(&tm);
		}
	}
	return 0;
}

int raw_load(const char *path, struct raw_request *r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		rc = raw_parse(buf, (size_t)n, r);
	free(buf);
	fclose(f);
	return rc;
}

void raw_free(struct raw_request *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void raw_to_sigv4(const struct raw_request *r, time_t now,
		  struct vmie_sigv4_request *out)
{
	memset(out, 0, sizeof(*out));
	out->method = r->method;
	out->path = r->path;
	out->query = r->query;
	out->headers = r->headers;
	out->nheaders = r->nheaders;
	out->body = r->body;
	out->body_len = r->body_len;
	out->now = now;
}
