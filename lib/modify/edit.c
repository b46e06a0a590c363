/*
 * What the text edits share (edit_int.h): the result struct, walking
 * lines of untrusted text, the output buffer and the notes.
 */
#include "modify/edit_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void vmie_edit_free(struct vmie_edit *e)
{
	if (!e)
		return;
	free(e->text);
	e->text = NULL;
	e->len = 0;
}

bool edit_next_line(const char *text, size_t len, size_t *pos,
		    struct edit_line *l)
{
	size_t at = *pos;

	if (!text || at >= len)
		return false;
	const char *nl = memchr(text + at, '\n', len - at);
	l->p = text + at;
	l->len = nl ? (size_t)(nl - l->p) : len - at;
	l->nl = nl != NULL;
	*pos = at + l->len + (nl ? 1 : 0);
	if (at == 0)
		l->no = 0;
	if (l->no < ~0u)
		l->no++;
	return true;
}

bool edit_line_str(const struct edit_line *l, char *buf, size_t size)
{
	if (l->len >= size || l->len > EDIT_MAX_LINE ||
	    memchr(l->p, '\0', l->len))
		return false;
	memcpy(buf, l->p, l->len);
	buf[l->len] = '\0';
	return true;
}

void edit_buf_add(struct edit_buf *b, const void *s, size_t n)
{
	if (b->oom || !n)
		return;
	if (n > b->cap - b->len) {
		size_t need = b->len + n, cap = b->cap ? b->cap : 256;
		if (need < b->len) {
			b->oom = true;
			return;
		}
		while (cap < need) {
			if (cap > (size_t)-1 / 2) {
				cap = need;
				break;
			}
			cap *= 2;
		}
		/* one more byte for the NUL that edit_finish adds */
		if (cap == (size_t)-1) {
			b->oom = true;
			return;
		}
		char *p = realloc(b->p, cap + 1);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void edit_buf_str(struct edit_buf *b, const char *s)
{
	edit_buf_add(b, s, strlen(s));
}

void edit_buf_line(struct edit_buf *b, const struct edit_line *l)
{
	edit_buf_add(b, l->p, l->len + (l->nl ? 1 : 0));
}

void edit_buf_comment(struct edit_buf *b, const struct edit_line *l)
{
	edit_buf_str(b, EDIT_MARK);
	edit_buf_add(b, l->p, l->len);
	edit_buf_add(b, "\n", 1);
}

void edit_buf_endline(struct edit_buf *b)
{
	if (b->len && b->p && b->p[b->len - 1] != '\n')
		edit_buf_add(b, "\n", 1);
}

void edit_show(char *dst, size_t size, const char *s, size_t n)
{
	size_t o = 0;

	if (!size)
		return;
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[o] = '\0';
}

static void edit_vnote(struct vmie_edit *e, const char *rule,
		       const char *fmt, va_list ap)
{
	if (e->n_notes < VMIE_EDIT_MAX_NOTES) {
		struct vmie_edit_note *n = &e->notes[e->n_notes];
		char what[sizeof n->what];
		vsnprintf(what, sizeof what, fmt, ap);
		edit_show(n->what, sizeof n->what, what, strlen(what));
		snprintf(n->rule, sizeof n->rule, "%s", rule ? rule : "");
	}
	if (e->n_notes < ~0u)
		e->n_notes++;
}

void edit_note(struct vmie_edit *e, const char *rule, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	edit_vnote(e, rule, fmt, ap);
	va_end(ap);
}

void edit_change(struct vmie_edit *e, const char *rule, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	edit_vnote(e, rule, fmt, ap);
	va_end(ap);
	if (e->n_changes < ~0u)
		e->n_changes++;
}

int edit_finish(struct vmie_edit *e, struct edit_buf *b)
{
	if (b->oom) {
		free(b->p);
		*b = (struct edit_buf){ 0 };
		e->text = NULL;
		e->len = 0;
		return VMIE_ENOMEM;
	}
	if (!e->n_changes) {
		free(b->p);
		*b = (struct edit_buf){ 0 };
		return 0;
	}
	if (!b->p) {
		/* every line went: an empty file */
		b->p = malloc(1);
		if (!b->p)
			return VMIE_ENOMEM;
	}
	b->p[b->len] = '\0';
	e->text = b->p;
	e->len = b->len;
	*b = (struct edit_buf){ 0 };
	return 0;
}

bool edit_word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}
