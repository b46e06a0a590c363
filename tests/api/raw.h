/*
 * Test helper: a captured HTTP request (../shared/protocol/raw1..raw4:
 * request line, headers, blank line, body of Content-Length bytes, then
 * notes) split into what vmie_sigv4_verify() takes.
 */
#ifndef VMIE_TESTS_API_RAW_H
#define VMIE_TESTS_API_RAW_H

#include <stddef.h>
#include <time.h>

#include "api/sigv4.h"

struct raw_request {
	char *text;                       /* the file, cut into strings */
	char method[16];
	char *path;
	char *query;                      /* "" when none */
	struct vmie_sigv4_header headers[64];
	size_t nheaders;
	char *body;
	size_t body_len;
	time_t date;                      /* from X-Amz-Date, or 0 */
};

/* Parse a capture from memory (len bytes) or a file; 0 or -1. */
int raw_parse(const char *data, size_t len, struct raw_request *r);
int raw_load(const char *path, struct raw_request *r);
void raw_free(struct raw_request *r);
/* The request as vmie_sigv4_verify() takes it, at time now. */
void raw_to_sigv4(const struct raw_request *r, time_t now,
		  struct vmie_sigv4_request *out);

#endif
