/*
 * Internal helpers of the text edits (edit.h): walking the lines of a
 * guest file without trusting it, building the new text, recording notes.
 * Shared by edit_fstab.c, edit_net.c and edit_grub.c; defined in edit.c.
 *
 * A line is a byte range of the input without its '\n' (a '\r' before
 * the '\n' stays part of the line).  Lines that hold a NUL byte or are
 * longer than EDIT_MAX_LINE are never interpreted, only copied.  Every
 * helper does work linear in its input.
 */
#ifndef VMIE_MODIFY_EDIT_INT_H
#define VMIE_MODIFY_EDIT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "modify/edit.h"

/* Lines longer than this are copied unchanged, never interpreted. */
#define EDIT_MAX_LINE   4096
/* What goes in front of a line that an edit comments out. */
#define EDIT_MARK       "# vmie: "

struct edit_line {
	const char *p;          /* first byte, inside the input */
	size_t len;             /* without the '\n' */
	bool nl;                /* a '\n' follows */
	unsigned no;            /* 1-based line number (saturates) */
};

/* Next line of text[0..len) from *pos; false at the end. */
bool edit_next_line(const char *text, size_t len, size_t *pos,
		    struct edit_line *l);
/* The line as a C string in buf (size EDIT_MAX_LINE + 1 is enough):
 * false when it holds a NUL byte or does not fit (then it must be copied
 * unchanged). */
bool edit_line_str(const struct edit_line *l, char *buf, size_t size);

/* Growing output buffer; an allocation failure is remembered (oom) and
 * later appends do nothing, so callers check once at the end. */
struct edit_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void edit_buf_add(struct edit_buf *b, const void *s, size_t n);
void edit_buf_str(struct edit_buf *b, const char *s);
/* The line as it was, with its '\n' when it had one. */
void edit_buf_line(struct edit_buf *b, const struct edit_line *l);
/* The line commented out: EDIT_MARK, the line unchanged, '\n'. */
void edit_buf_comment(struct edit_buf *b, const struct edit_line *l);
/* A '\n' unless the buffer is empty or already ends with one (before
 * appending whole lines after an input without a final newline). */
void edit_buf_endline(struct edit_buf *b);

/* A note (kept while there is room, always counted); edit_change also
 * counts a change.  Bytes outside printable ASCII become '?', so guest
 * text can be shown and logged as it is. */
void edit_note(struct vmie_edit *e, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void edit_change(struct vmie_edit *e, const char *rule, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));

/* Hand the buffer to e: e->text/len when e->n_changes is not 0, else the
 * buffer is freed and e->text stays NULL.  VMIE_ENOMEM (and nothing kept)
 * when the buffer ran out of memory. */
int edit_finish(struct vmie_edit *e, struct edit_buf *b);

/* Case-sensitive word list test: s equals one of the NULL-terminated
 * words. */
bool edit_word_in(const char *s, const char *const *words);
/* Printable copy of n bytes of s for a note (truncated, '?' for others). */
void edit_show(char *dst, size_t size, const char *s, size_t n);

#endif
