/* A capped growing buffer and URI escapes for the API layers (strbuf.h). */
#include "api/strbuf.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void vmie_strbuf_init(struct vmie_strbuf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

static bool strbuf_reserve(struct vmie_strbuf *b, size_t add)
{
	if (b->failed)
		return false;
	if (add > b->limit || b->len > b->limit - add) {
		b->failed = true;
		return false;
	}
	if (b->len + add + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + add + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void vmie_strbuf_put(struct vmie_strbuf *b, const void *data, size_t len)
{
	if (!strbuf_reserve(b, len))
		return;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void vmie_strbuf_puts(struct vmie_strbuf *b, const char *s)
{
	vmie_strbuf_put(b, s, strlen(s));
}

void vmie_strbuf_putc(struct vmie_strbuf *b, char c)
{
	vmie_strbuf_put(b, &c, 1);
}

static bool uri_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

void vmie_strbuf_uri_encode(struct vmie_strbuf *b, const void *data,
			    size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = data;

	for (size_t i = 0; i < len; i++) {
		if (uri_unreserved(s[i]) || (keep_slash && s[i] == '/')) {
			vmie_strbuf_putc(b, (char)s[i]);
		} else {
			char e[3] = { '%', hex[s[i] >> 4], hex[s[i] & 15] };
			vmie_strbuf_put(b, e, 3);
		}
	}
}

void vmie_strbuf_free(struct vmie_strbuf *b, bool wipe)
{
	if (b->p && wipe)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

long vmie_percent_decode(const char *s, size_t len, bool plus_space,
			 char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3)
				return -1;
			int hi = vmie_hexval(s[i + 1]), lo = vmie_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus_space) {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

size_t vmie_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
	    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

bool vmie_utf8_valid(const void *s, size_t len)
{
	const unsigned char *u = s;

	for (size_t i = 0; i < len;) {
		size_t n = vmie_utf8_seq(u + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}
