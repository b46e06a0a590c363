/*
 * A growing byte buffer for the API layers (canonical requests, decoded
 * parameters), with a hard cap: appending past it, or failing to
 * allocate, sets a sticky failure that the caller checks once at the end.
 */
#ifndef VMIE_API_STRBUF_H
#define VMIE_API_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct vmie_strbuf {
	char *p;          /* NUL-terminated when len > 0 or after a put */
	size_t len;
	size_t cap;
	size_t limit;     /* largest len allowed */
	bool failed;      /* an append was refused (limit or memory) */
};

void vmie_strbuf_init(struct vmie_strbuf *b, size_t limit);
void vmie_strbuf_put(struct vmie_strbuf *b, const void *data, size_t len);
void vmie_strbuf_puts(struct vmie_strbuf *b, const char *s);
void vmie_strbuf_putc(struct vmie_strbuf *b, char c);
/* Append the URI encoding of data (AWS's rules: A-Z a-z 0-9 - . _ ~ kept,
 * every other byte %XX upper-case; '/' kept when keep_slash). */
void vmie_strbuf_uri_encode(struct vmie_strbuf *b, const void *data,
			    size_t len, bool keep_slash);
/* Free the memory (after wiping it when wipe). */
void vmie_strbuf_free(struct vmie_strbuf *b, bool wipe);

/* Decode %XX escapes of s[0..len) into out (at least len + 1 bytes);
 * '+' becomes a space when plus_space.  -1 on a malformed escape, else the
 * decoded length (out NUL-terminated; it may hold NUL bytes). */
long vmie_percent_decode(const char *s, size_t len, bool plus_space,
			 char *out);

/* The length (1-4) of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlongs, surrogates or code points past U+10FFFF), 0 when there is
 * none (len > 0). */
size_t vmie_utf8_seq(const unsigned char *s, size_t len);
/* Whether all of s is well-formed UTF-8. */
bool vmie_utf8_valid(const void *s, size_t len);

#endif
