/*
 * A parser for LVM2's text metadata format (the volume-group description
 * stored in each PV's metadata area, the same syntax as lvm.conf):
 *
 *     # comment to the end of the line
 *     name {                       a section, nested to any depth
 *         key = 42                 integer (decimal, may be negative)
 *         key = 1.5                float (kept as text)
 *         key = "text \" \\"       string with \" and \\ escapes
 *         key = [ "a", 2 ]         array of integers and strings
 *     }
 *
 * The text comes from an untrusted image: nesting is limited to
 * LVM_TEXT_MAX_DEPTH, the number of nodes to LVM_TEXT_MAX_NODES, integers
 * are checked for overflow, and every syntax error names its line.  A NUL
 * byte ends the text (the metadata area stores one after the text).
 */
#include "part_int.h"
#include "../core/util.h"

#include <stdlib.h>
#include <string.h>

struct lvm_parser {
	const char *p, *end;
	unsigned line;
	unsigned nodes;
	struct vmie_err *err;
};

uint32_t lvm_crc(uint32_t crc, const void *buf, size_t len)
{
	/* LVM's CRC is zlib's CRC-32 without the pre- and post-inversion */
	return ~vmie_crc32(~crc, buf, len);
}

static bool lvm_at_end(const struct lvm_parser *ps)
{
	return ps->p >= ps->end || !*ps->p;
}

static void lvm_skip_space(struct lvm_parser *ps)
{
	while (!lvm_at_end(ps)) {
		char c = *ps->p;
		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
			   c == '\v') {
			ps->p++;
		} else if (c == '#') {
			while (!lvm_at_end(ps) && *ps->p != '\n')
				ps->p++;
		} else {
			break;
		}
	}
}

static bool lvm_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' ||
	       c == '-' || c == '/' || c == ':' || c == '@' || c == '%' ||
	       c == '$';
}

static struct lvm_node *lvm_new(struct lvm_parser *ps, enum lvm_vtype t)
{
	struct lvm_node *n;
	if (ps->nodes >= LVM_TEXT_MAX_NODES) {
		VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: more than "
			     "%u values", ps->line, LVM_TEXT_MAX_NODES);
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (!n) {
		VMIE_ERR(ps->err, VMIE_ENOMEM, "out of memory");
		return NULL;
	}
	ps->nodes++;
	n->type = t;
	return n;
}

static int lvm_ident(struct lvm_parser *ps, char **out)
{
	const char *s = ps->p;
	while (!lvm_at_end(ps) && lvm_ident_char(*ps->p))
		ps->p++;
	if (ps->p == s)
		return VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: "
				    "expected a name, found '%c'", ps->line,
				    lvm_at_end(ps) ? '?' : *ps->p);
	*out = strndup(s, (size_t)(ps->p - s));
	if (!*out)
		return VMIE_ERR(ps->err, VMIE_ENOMEM, "out of memory");
	return 0;
}

static int lvm_string(struct lvm_parser *ps, char **out)
{
	unsigned line0 = ps->line;
	const char *s = ++ps->p;            /* after the opening quote */
	size_t n = 0;
	char *o;
	/* first pass: find the end and the unescaped length */
	while (!lvm_at_end(ps) && *ps->p != '"') {
		if (*ps->p == '\\' && ps->p + 1 < ps->end && ps->p[1])
			ps->p++;
		if (*ps->p == '\n')
			ps->line++;
		ps->p++;
		n++;
	}
	if (lvm_at_end(ps))
		return VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: "
				    "unterminated string", line0);
	o = malloc(n + 1);
	if (!o)
		return VMIE_ERR(ps->err, VMIE_ENOMEM, "out of memory");
	n = 0;
	for (const char *q = s; q < ps->p; q++) {
		if (*q == '\\')
			q++;
		o[n++] = *q;
	}
	o[n] = 0;
	ps->p++;                            /* closing quote */
	*out = o;
	return 0;
}

static int lvm_number(struct lvm_parser *ps, struct lvm_node *n)
{
	const char *s = ps->p;
	bool neg = false;
	uint64_t v = 0;
	if (*ps->p == '-') {
		neg = true;
		ps->p++;
	}
	if (lvm_at_end(ps) || *ps->p < '0' || *ps->p > '9')
		return VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: "
				    "expected a value", ps->line);
	while (!lvm_at_end(ps) && *ps->p >= '0' && *ps->p <= '9') {
		if (v > (UINT64_MAX - 9) / 10 || v * 10 + (uint64_t)(*ps->p - '0') >
		    (uint64_t)INT64_MAX)
			return VMIE_CORRUPT(ps->err, "lvm: metadata text line "
					    "%u: integer too large", ps->line);
		v = v * 10 + (uint64_t)(*ps->p - '0');
		ps->p++;
	}
	n->type = LVM_V_INT;
	n->i = neg ? -(int64_t)v : (int64_t)v;
	if (!lvm_at_end(ps) && (*ps->p == '.' || *ps->p == 'e' ||
				*ps->p == 'E')) {
		while (!lvm_at_end(ps) && (lvm_ident_char(*ps->p)))
			ps->p++;
		n->type = LVM_V_FLOAT;
		n->s = strndup(s, (size_t)(ps->p - s));
		if (!n->s)
			return VMIE_ERR(ps->err, VMIE_ENOMEM, "out of memory");
	}
	return 0;
}

/* A scalar: string or number. */
static int lvm_scalar(struct lvm_parser *ps, struct lvm_node *n)
{
	if (lvm_at_end(ps))
		return VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: "
				    "text ends where a value is expected",
				    ps->line);
	if (*ps->p == '"') {
		n->type = LVM_V_STR;
		return lvm_string(ps, &n->s);
	}
	return lvm_number(ps, n);
}

static int lvm_value(struct lvm_parser *ps, struct lvm_node *n)
{
	struct lvm_node **tail = &n->child;
	int r;
	lvm_skip_space(ps);
	if (lvm_at_end(ps) || *ps->p != '[')
		return lvm_scalar(ps, n);
	n->type = LVM_V_ARRAY;
	ps->p++;
	lvm_skip_space(ps);
	if (!lvm_at_end(ps) && *ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct lvm_node *e = lvm_new(ps, LVM_V_INT);
		if (!e)
			return ps->err ? ps->err->code : VMIE_ENOMEM;
		*tail = e;
		tail = &e->next;
		lvm_skip_space(ps);
		r = lvm_scalar(ps, e);
		if (r)
			return r;
		lvm_skip_space(ps);
		if (lvm_at_end(ps))
			return VMIE_CORRUPT(ps->err, "lvm: metadata text line "
					    "%u: unterminated array", ps->line);
		if (*ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return VMIE_CORRUPT(ps->err, "lvm: metadata text line "
					    "%u: expected ',' or ']' in an "
					    "array", ps->line);
		ps->p++;
	}
}

/* Items of a section until '}' (or the end of the text at top level). */
static int lvm_items(struct lvm_parser *ps, struct lvm_node *sec,
		     unsigned depth)
{
	struct lvm_node **tail = &sec->child;
	int r;
	if (depth > LVM_TEXT_MAX_DEPTH)
		return VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: "
				    "sections nested deeper than %u", ps->line,
				    LVM_TEXT_MAX_DEPTH);
	for (;;) {
		struct lvm_node *n;
		lvm_skip_space(ps);
		if (lvm_at_end(ps)) {
			if (depth)
				return VMIE_CORRUPT(ps->err, "lvm: metadata "
						    "text ends inside section "
						    "'%s' (missing '}')",
						    sec->key ? sec->key : "?");
			return 0;
		}
		if (*ps->p == '}') {
			if (!depth)
				return VMIE_CORRUPT(ps->err, "lvm: metadata "
						    "text line %u: unmatched "
						    "'}'", ps->line);
			ps->p++;
			return 0;
		}
		n = lvm_new(ps, LVM_V_SECTION);
		if (!n)
			return ps->err ? ps->err->code : VMIE_ENOMEM;
		*tail = n;
		tail = &n->next;
		r = lvm_ident(ps, &n->key);
		if (r)
			return r;
		lvm_skip_space(ps);
		if (!lvm_at_end(ps) && *ps->p == '{') {
			ps->p++;
			r = lvm_items(ps, n, depth + 1);
		} else if (!lvm_at_end(ps) && *ps->p == '=') {
			ps->p++;
			r = lvm_value(ps, n);
		} else {
			r = VMIE_CORRUPT(ps->err, "lvm: metadata text line %u: "
					 "expected '=' or '{' after '%s'",
					 ps->line, n->key);
		}
		if (r)
			return r;
	}
}

void lvm_text_free(struct lvm_node *n)
{
	while (n) {
		struct lvm_node *next = n->next;
		lvm_text_free(n->child);    /* depth is bounded */
		free(n->key);
		free(n->s);
		free(n);
		n = next;
	}
}

int lvm_text_parse(const char *text, size_t len, struct lvm_node **root,
		   struct vmie_err *err)
{
	struct lvm_parser ps = { text, text + len, 1, 0, err };
	struct vmie_err local = { 0 };
	struct lvm_node *top;
	int r;
	if (!err)
		ps.err = &local;
	*root = NULL;
	top = lvm_new(&ps, LVM_V_SECTION);
	if (!top)
		return ps.err->code;
	r = lvm_items(&ps, top, 0);
	if (r) {
		lvm_text_free(top);
		return r;
	}
	*root = top;
	return 0;
}

const struct lvm_node *lvm_find(const struct lvm_node *sec, const char *key)
{
	if (!sec || sec->type != LVM_V_SECTION)
		return NULL;
	for (const struct lvm_node *n = sec->child; n; n = n->next)
		if (n->key && !strcmp(n->key, key))
			return n;
	return NULL;
}

bool lvm_get_int(const struct lvm_node *sec, const char *key, int64_t *v)
{
	const struct lvm_node *n = lvm_find(sec, key);
	if (!n || n->type != LVM_V_INT)
		return false;
	*v = n->i;
	return true;
}

const char *lvm_get_str(const struct lvm_node *sec, const char *key)
{
	const struct lvm_node *n = lvm_find(sec, key);
	return n && n->type == LVM_V_STR ? n->s : NULL;
}

bool lvm_has_flag(const struct lvm_node *sec, const char *key,
		  const char *flag)
{
	const struct lvm_node *n = lvm_find(sec, key);
	if (!n || n->type != LVM_V_ARRAY)
		return false;
	for (const struct lvm_node *e = n->child; e; e = e->next)
		if (e->type == LVM_V_STR && !strcmp(e->s, flag))
			return true;
	return false;
}
