/*
 * GRUB edits (PREP-014, "modifying grub bootloader settings such as the
 * default entry and timeout"): the kernel command line, the default entry
 * and the timeout of the five places a Linux guest keeps them.
 *
 *   file                        what changes
 *   grub.cfg (GRUB 2)           "linux", "linux16", "linuxefi" lines;
 *                               "set default=", "set timeout="
 *   /etc/default/grub           GRUB_CMDLINE_LINUX(_DEFAULT), GRUB_TIMEOUT,
 *                               GRUB_DEFAULT
 *   menu.lst / grub.conf        "kernel" lines, "default N", "timeout N"
 *   BLS entry (loader/entries)  "options" lines
 *   grubenv                     saved_entry=, kernelopts= (RHEL 8)
 *
 * On a command line, device names (root=/dev/sda1, resume=/dev/sdb2, any
 * KEY=/dev/...) become what the resolver says (UUID=...), net.ifnames and
 * biosdevname get the value 0 (PREP-003: the one NIC is eth0, as the
 * network edits expect) and the serial console is added (console=tty0
 * console=ttyS0,115200); each option only when the command line does not
 * have it already.  Words with quotes, backslashes or variables are left
 * as they are.
 *
 * Sources: GRUB manual ("Simple configuration", the "default" variable:
 * a number, a title or an --id, "A>B" inside a submenu; "Environment
 * block": 1024 bytes, '#' padding, backslash escapes '\' and newline);
 * GRUB legacy manual ("default", "timeout", "title", "kernel"; commands
 * take their arguments after blanks or '='); The Boot Loader
 * Specification (Type #1 entries, "options", several lines concatenated).
 *
 * Lines are edited where they are (nothing is commented out) and every
 * other byte is copied as it was.  The work is linear in the input and
 * bounded: texts over GRUB_MAX_TEXT and lines over EDIT_MAX_LINE (or with
 * a NUL byte) are left alone, at most GRUB_MAX_EDITS edits and
 * GRUB_MAX_RESOLVE resolver calls per file.  The entries are found with
 * lib/inspect's parsers (parse_boot.c), so the edit and the inspection
 * agree on which entry boots which kernel.
 */
#include "modify/edit_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "inspect/insp_int.h"

#define GRUB_RULE         "PREP-014"  /* boot loader settings */
#define GRUB_RULE_NET     "PREP-003"  /* net.ifnames=0: the NIC is eth0 */
#define GRUB_MAX_TEXT     ((size_t)16 << 20)
#define GRUB_MAX_EDITS    4096u
#define GRUB_MAX_RESOLVE  4096u
#define GRUB_SPEC_MAX     256        /* a resolved device spec */
#define GRUB_NAME_MAX     320        /* an entry's name: "title>title" */
#define GRUB_SHOW         96         /* guest bytes quoted in a note */
#define GRUBENV_SIZE      1024
#define GRUBENV_HEADER    "# GRUB Environment Block\n"

static const struct vmie_grub_opts grub_keep = {
	.default_kernel = NULL, .timeout = -1,
};

/* One edit session over one file. */
struct grub_ed {
	const struct vmie_grub_opts *o;
	vmie_edit_resolve_fn res;
	void *ctx;
	struct vmie_edit *out;
	struct edit_buf b;          /* the new text */
	const char *eol;            /* "\n" or "\r\n", for the lines added */
	unsigned n_resolve;
	bool capped;                /* GRUB_MAX_EDITS reached (noted) */
};

/* How many bytes of a guest span a note quotes. */
static int grub_show(size_t n)
{
	return n > GRUB_SHOW ? GRUB_SHOW : (int)n;
}

/* May one more edit be made?  Past GRUB_MAX_EDITS the rest of the file
 * stays as it is (noted once). */
static bool grub_may_edit(struct grub_ed *g)
{
	if (g->out->n_changes < GRUB_MAX_EDITS)
		return true;
	if (!g->capped) {
		/* this one is kept even when the notes are full */
		unsigned n = g->out->n_notes;
		g->capped = true;
		if (n >= VMIE_EDIT_MAX_NOTES)
			g->out->n_notes = VMIE_EDIT_MAX_NOTES - 1;
		edit_note(g->out, GRUB_RULE, "more than %u edits: the rest of "
			  "the file is left as it is", GRUB_MAX_EDITS);
		if (n >= VMIE_EDIT_MAX_NOTES)
			g->out->n_notes = n + 1;
	}
	return false;
}

static void grub_init(struct grub_ed *g, const struct vmie_grub_opts *o,
		      vmie_edit_resolve_fn res, void *ctx,
		      struct vmie_edit *out, const char *text, size_t len)
{
	memset(g, 0, sizeof *g);
	g->o = o ? o : &grub_keep;
	g->res = res;
	g->ctx = ctx;
	g->out = out;
	const char *nl = memchr(text, '\n', len);
	g->eol = (nl && nl > text && nl[-1] == '\r') ? "\r\n" : "\n";
}

/* Start of an edit: clear out, refuse texts that are too big. */
static bool grub_start(const char *what, const char *text, size_t len,
		       struct vmie_edit *out)
{
	memset(out, 0, sizeof *out);
	if (!text)
		return false;
	if (len > GRUB_MAX_TEXT) {
		edit_note(out, GRUB_RULE, "%s: %zu bytes, more than the %zu "
			  "vmie edits: left as it is", what, len,
			  GRUB_MAX_TEXT);
		return false;
	}
	return true;
}

/* ---- lines ---- */

/* A line vmie may interpret: not too long, no NUL byte. */
static bool grub_line_ok(const struct edit_line *l)
{
	return l->len <= EDIT_MAX_LINE && !memchr(l->p, '\0', l->len);
}

/* The length of the line with its '\n'. */
static size_t grub_full(const struct edit_line *l)
{
	return l->len + (l->nl ? 1 : 0);
}

static bool grub_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static size_t grub_skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && grub_blank(s[i]))
		i++;
	return i;
}

/* Is s[i..n) the word kw followed by a blank or the end? */
static bool grub_is_kw(const char *s, size_t n, size_t i, const char *kw)
{
	size_t l = strlen(kw);
	return n - i >= l && !memcmp(s + i, kw, l) &&
	       (n - i == l || grub_blank(s[i + l]));
}

/* End of the word starting at i: quotes (' and ") and backslash escapes
 * keep blanks inside it.  *plain when it holds none of those nor '$',
 * '`' or a control byte (such a word is never edited); *open when a quote
 * is left open at the end of s. */
static size_t grub_word_end(const char *s, size_t n, size_t i, bool *plain,
			    bool *open)
{
	char q = 0;

	*plain = true;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (q) {
			if (c == (unsigned char)q)
				q = 0;
			else if (c == '\\' && q == '"' && i + 1 < n)
				i++;
			continue;
		}
		if (grub_blank((char)c))
			break;
		if (c == '\'' || c == '"') {
			q = (char)c;
			*plain = false;
		} else if (c == '\\') {
			*plain = false;
			if (i + 1 < n)
				i++;
		} else if (c == '$' || c == '`' || c < 0x20 || c == 0x7f) {
			*plain = false;
		}
	}
	if (q && open)
		*open = true;
	return i;
}

/* A word with its quotes removed (as GRUB's and sh's parsers read it),
 * truncated to size - 1. */
static void grub_unquote(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;
	char q = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!q && (c == '\'' || c == '"')) {
			q = c;
			continue;
		}
		if (q && c == q) {
			q = 0;
			continue;
		}
		if (c == '\\' && q != '\'' && i + 1 < n)
			c = s[++i];
		if (o + 1 < size)
			out[o++] = c;
	}
	out[o] = '\0';
}

/* Append s double-quoted: '\', '"', '$' escaped (and '`' for sh). */
static void grub_buf_dquote(struct edit_buf *b, const char *s, bool sh)
{
	edit_buf_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"' || *s == '$' || (sh && *s == '`'))
			edit_buf_add(b, "\\", 1);
		edit_buf_add(b, s, 1);
	}
	edit_buf_add(b, "\"", 1);
}

/* Append a line that the edit adds, after a last line without '\n'. */
static void grub_add_line(struct grub_ed *g, const char *a, const char *b,
			  const char *c)
{
	if (g->b.len && g->b.p[g->b.len - 1] != '\n')
		edit_buf_str(&g->b, g->eol);
	edit_buf_str(&g->b, a);
	edit_buf_str(&g->b, b);
	edit_buf_str(&g->b, c);
	edit_buf_str(&g->b, g->eol);
}

/* ---- kernel command lines ---- */

/* What a command line has already (of the options the import adds). */
struct grub_have {
	bool ifnames, biosdev, tty0, ttys0;
	bool kernelopts;        /* refers to grubenv's $kernelopts */
};

static bool grub_prefix(const char *w, size_t wl, const char *p)
{
	size_t l = strlen(p);
	return wl >= l && !memcmp(w, p, l);
}

static bool grub_word_is(const char *w, size_t wl, const char *p)
{
	return wl == strlen(p) && !memcmp(w, p, wl);
}

static bool grub_has(const char *w, size_t wl, const char *p)
{
	size_t l = strlen(p);

	for (size_t k = 0; k + l <= wl; k++)
		if (!memcmp(w + k, p, l))
			return true;
	return false;
}

static void grub_have_scan(const char *s, size_t n, struct grub_have *h)
{
	size_t i = 0;

	while ((i = grub_skip_blanks(s, n, i)) < n) {
		bool plain;
		size_t e = grub_word_end(s, n, i, &plain, NULL);
		const char *w = s + i;
		size_t wl = e - i;
		if (grub_prefix(w, wl, "net.ifnames="))
			h->ifnames = true;
		else if (grub_prefix(w, wl, "biosdevname="))
			h->biosdev = true;
		else if (grub_word_is(w, wl, "console=tty0"))
			h->tty0 = true;
		else if (grub_word_is(w, wl, "console=ttyS0") ||
			 grub_prefix(w, wl, "console=ttyS0,"))
			h->ttys0 = true;
		if (grub_has(w, wl, "$kernelopts") ||
		    grub_has(w, wl, "${kernelopts}"))
			h->kernelopts = true;
		i = e;
	}
}

static void grub_cat(char *buf, size_t size, const char *opt)
{
	size_t l = strlen(buf);
	snprintf(buf + l, size - l, "%s%s", l ? " " : "", opt);
}

/* The options the import adds that h lacks, space-separated ("" none):
 * the interface names (net) and the serial console (con). */
static void grub_missing(const struct grub_ed *g, const struct grub_have *h,
			 char *net, char *con, size_t size)
{
	net[0] = con[0] = '\0';
	if (g->o->net_ifnames && !h->ifnames)
		grub_cat(net, size, "net.ifnames=0");
	if (g->o->net_ifnames && !h->biosdev)
		grub_cat(net, size, "biosdevname=0");
	if (g->o->serial_console && !h->tty0)
		grub_cat(con, size, "console=tty0");
	if (g->o->serial_console && !h->ttys0)
		grub_cat(con, size, "console=ttyS0,115200");
}

/* Record the additions of grub_missing (line 0: a line of its own). */
static void grub_note_added(struct grub_ed *g, unsigned no, const char *net,
			    const char *con)
{
	char at[32] = "";

	if (no)
		snprintf(at, sizeof at, "line %u: ", no);
	if (net[0])
		edit_change(g->out, GRUB_RULE_NET, "%sadded %s", at, net);
	if (con[0])
		edit_change(g->out, GRUB_RULE, "%sadded %s", at, con);
}

/* A resolver answer may only hold characters that need no quoting in
 * GRUB script, sh and grubenv. */
static bool grub_spec_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f ||
		    strchr("\"'\\$`;#{}|&<>()*?[]~!", c))
			return false;
	}
	return true;
}

/* One KEY=VALUE option: its replacement into repl, or false. */
static bool grub_option(struct grub_ed *g, unsigned no, const char *w,
			size_t wl, char *repl, size_t size)
{
	const char *eq = memchr(w, '=', wl);

	if (!eq || eq == w)
		return false;
	size_t kl = (size_t)(eq - w);
	const char *v = eq + 1;
	size_t vl = wl - kl - 1;

	if (g->o->net_ifnames && kl == 11 &&
	    (!memcmp(w, "net.ifnames", 11) || !memcmp(w, "biosdevname", 11)) &&
	    !(vl == 1 && v[0] == '0')) {
		if (!grub_may_edit(g))
			return false;
		snprintf(repl, size, "%.*s=0", (int)kl, w);
		edit_change(g->out, GRUB_RULE_NET, "line %u: %.*s -> %s", no,
			    grub_show(wl), w, repl);
		return true;
	}
	/* root=/dev/sda1, resume=/dev/sdb2, ...: the resolver knows which
	 * names are the source hypervisor's */
	if (vl < 6 || memcmp(v, "/dev/", 5) || vl >= GRUB_SPEC_MAX || !g->res)
		return false;
	if (g->n_resolve >= GRUB_MAX_RESOLVE || !grub_may_edit(g))
		return false;
	char spec[GRUB_SPEC_MAX], res[GRUB_SPEC_MAX];
	memcpy(spec, v, vl);
	spec[vl] = '\0';
	memset(res, 0, sizeof res);
	g->n_resolve++;
	if (!g->res(g->ctx, spec, res, sizeof res) ||
	    !memchr(res, '\0', sizeof res))
		return false;
	if (!grub_spec_safe(res) || !strcmp(res, spec) ||
	    kl + 1 + strlen(res) >= size)
		return false;
	snprintf(repl, size, "%.*s=%s", (int)kl, w, res);
	edit_change(g->out, GRUB_RULE, "line %u: %.*s -> %.*s", no,
		    grub_show(wl), w, grub_show(strlen(repl)), repl);
	return true;
}

/*
 * Rewrite the kernel options s[0..n) into dst: device names and
 * net.ifnames/biosdevname values in place; with add, the options h lacks
 * appended after the last word (a space before them when a word precedes
 * them: after_word, or a word of s).  hash_comment: a word starting with
 * '#' starts a comment (GRUB script).  Nothing is added after a quote
 * left open.
 */
static void grub_cmdline(struct grub_ed *g, struct edit_buf *dst,
			 unsigned no, const char *s, size_t n, bool after_word,
			 const struct grub_have *h, bool add,
			 bool hash_comment)
{
	size_t i = 0, copied = 0, ins = 0;
	bool any = false, open = false;

	while ((i = grub_skip_blanks(s, n, i)) < n) {
		bool plain;
		size_t e = grub_word_end(s, n, i, &plain, &open);
		char repl[GRUB_SPEC_MAX + 64];
		if (hash_comment && s[i] == '#')
			break;
		any = true;
		ins = e;
		if (plain && grub_option(g, no, s + i, e - i, repl,
					 sizeof repl)) {
			edit_buf_add(dst, s + copied, i - copied);
			edit_buf_str(dst, repl);
			copied = e;
		}
		i = e;
	}
	char net[64], con[64];
	grub_missing(g, h, net, con, sizeof net);
	if (add && !open && (net[0] || con[0]) && grub_may_edit(g)) {
		edit_buf_add(dst, s + copied, ins - copied);
		copied = ins;
		if (net[0]) {
			if (any || after_word)
				edit_buf_add(dst, " ", 1);
			edit_buf_str(dst, net);
		}
		if (con[0]) {
			if (any || after_word || net[0])
				edit_buf_add(dst, " ", 1);
			edit_buf_str(dst, con);
		}
		grub_note_added(g, no, net, con);
	}
	edit_buf_add(dst, s + copied, n - copied);
}

/* The options of a one-line command line, with additions. */
static void grub_cmdline_line(struct grub_ed *g, unsigned no, const char *s,
			      size_t n, bool after_word, bool hash_comment)
{
	struct grub_have h = { 0 };

	grub_have_scan(s, n, &h);
	grub_cmdline(g, &g->b, no, s, n, after_word, &h, true, hash_comment);
}

/* Skip the blanks and the word at i: the position after it (n when there
 * is none). */
static size_t grub_after_word(const char *s, size_t n, size_t i)
{
	bool plain;

	i = grub_skip_blanks(s, n, i);
	if (i >= n)
		return n;
	return grub_word_end(s, n, i, &plain, NULL);
}

/* ---- finding the entry of a kernel ---- */

static bool grub_is_rescue(const char *title)
{
	return strstr(title, "recovery mode") || strstr(title, "rescue") ||
	       strstr(title, "Rescue") || strstr(title, "ailsafe");
}

/* Index in c of the entry that boots kver, -1 if none. */
static int grub_find_kernel(const struct vmie_insp_bootcfg *c,
			    const char *kver)
{
	int rescue = -1;

	for (unsigned i = 0; i < c->n; i++) {
		if (strcmp(c->ents[i].version, kver))
			continue;
		if (!grub_is_rescue(c->ents[i].title))
			return (int)i;
		if (rescue < 0)
			rescue = (int)i;
	}
	return rescue;
}

/* One level of an entry's name: the title, else the id, else the
 * position (a title the parser cut, or holding '>', cannot be used:
 * GRUB reads '>' as the submenu separator). */
static void grub_name_part(char *dst, size_t size, const char *title,
			   size_t tsize, const char *id, size_t isize, int pos)
{
	size_t tl = strlen(title), il = strlen(id);

	if (tl && tl + 1 < tsize && !strchr(title, '>'))
		vmie_strlcpy(dst, title, size);
	else if (il && il + 1 < isize && !strchr(id, '>'))
		vmie_strlcpy(dst, id, size);
	else
		snprintf(dst, size, "%d", pos);
}

static void grub_entry_name(const struct vmie_insp_bootent *e, char *spec,
			    size_t size)
{
	char head[160], tail[160];     /* as the parser keeps them */

	if (e->sub < 0 && e->top == 0) {
		vmie_strlcpy(spec, "0", size);
		return;
	}
	grub_name_part(tail, sizeof tail, e->title, sizeof e->title, e->id,
		       sizeof e->id, e->sub < 0 ? e->top : e->sub);
	if (e->sub < 0) {
		vmie_strlcpy(spec, tail, size);
		return;
	}
	grub_name_part(head, sizeof head, e->ptitle, sizeof e->ptitle, e->pid,
		       sizeof e->pid, e->top);
	snprintf(spec, size, "%s>%s", head, tail);
}

/* A NUL-terminated copy of a guest text for the parsers of lib/inspect
 * (which stop at the first NUL). */
static char *grub_cstr(const char *text, size_t len)
{
	char *t = malloc(len + 1);

	if (t) {
		memcpy(t, text, len);
		t[len] = '\0';
	}
	return t;
}

/* The entry of kver in a grub.cfg: 1 found (spec, *is_default when it is
 * the default already), 0 not found, VMIE_ENOMEM.  *from_env: the default
 * is grubenv's saved_entry. */
static int grub_cfg_entry(const char *text, size_t len, const char *kver,
			  char *spec, size_t size, bool *from_env,
			  bool *is_default)
{
	struct vmie_insp_bootcfg *c = malloc(sizeof *c);
	char *t = grub_cstr(text, len);
	int rc = 0;

	*from_env = false;
	*is_default = false;
	if (!c || !t) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	if (vmie_insp_parse_grub_cfg(t, NULL, c) < 0)
		goto out;
	*from_env = c->saved;
	int i = kver && kver[0] ? grub_find_kernel(c, kver) : -1;
	if (i < 0)
		goto out;
	char name[GRUB_NAME_MAX];
	grub_entry_name(&c->ents[i], name, sizeof name);
	if (strlen(name) >= size)       /* a cut name would name nothing */
		goto out;
	memcpy(spec, name, strlen(name) + 1);
	*is_default = !c->saved && c->default_index == i;
	rc = 1;
out:
	free(c);
	free(t);
	return rc;
}

bool vmie_edit_grub_entry_spec(const char *text, size_t len,
			       const char *kver, char *spec, size_t size,
			       bool *from_env)
{
	bool env = false, is_default;
	int rc = 0;

	if (size)
		spec[0] = '\0';
	if (text && len <= GRUB_MAX_TEXT && size)
		rc = grub_cfg_entry(text, len, kver, spec, size, &env,
				    &is_default);
	if (from_env)
		*from_env = env;
	return rc == 1;
}

/* ---- grub.cfg ---- */

/* "set NAME=" at i: the position of the value, or 0. */
static size_t grub_set_value(const char *s, size_t n, size_t i,
			     const char *name)
{
	size_t l = strlen(name);

	if (!grub_is_kw(s, n, i, "set"))
		return 0;
	i = grub_skip_blanks(s, n, i + 3);
	if (n - i <= l || memcmp(s + i, name, l) || s[i + l] != '=')
		return 0;
	return i + l + 1;
}

/* The line with the value s[v..vend) replaced by repl (double-quoted when
 * quote). */
static void grub_replace(struct grub_ed *g, const struct edit_line *l,
			 size_t v, size_t vend, const char *repl, bool quote,
			 bool sh)
{
	edit_buf_add(&g->b, l->p, v);
	if (quote)
		grub_buf_dquote(&g->b, repl, sh);
	else
		edit_buf_str(&g->b, repl);
	edit_buf_add(&g->b, l->p + vend, grub_full(l) - vend);
}

/* "set default" and "set timeout" lines that grub.cfg lacks. */
static void grub_cfg_add(struct grub_ed *g, unsigned no, const char *spec,
			 const char *tmo)
{
	char at[32] = "";

	if (no)
		snprintf(at, sizeof at, "line %u: ", no);
	if (spec) {
		edit_buf_str(&g->b, "set default=");
		grub_buf_dquote(&g->b, spec, false);
		edit_buf_str(&g->b, g->eol);
		edit_change(g->out, GRUB_RULE, "%sadded set default=\"%s\" "
			    "(kernel %s)", at, spec, g->o->default_kernel);
	}
	if (tmo) {
		edit_buf_str(&g->b, "set timeout=");
		edit_buf_str(&g->b, tmo);
		edit_buf_str(&g->b, g->eol);
		edit_change(g->out, GRUB_RULE, "%sadded set timeout=%s", at,
			    tmo);
	}
}

int vmie_edit_grub_cfg(const char *text, size_t len,
		       const struct vmie_grub_opts *o,
		       vmie_edit_resolve_fn res, void *ctx,
		       struct vmie_edit *out)
{
	struct grub_ed g;
	char spec[GRUB_NAME_MAX] = "", tmo[16] = "";
	bool want_default = false, from_env = false, is_default = false;
	struct edit_line l = { 0 };
	size_t pos;

	if (!grub_start("grub.cfg", text, len, out))
		return 0;
	grub_init(&g, o, res, ctx, out, text, len);
	o = g.o;
	if (o->default_kernel && o->default_kernel[0]) {
		int rc = grub_cfg_entry(text, len, o->default_kernel, spec,
					sizeof spec, &from_env, &is_default);
		if (rc < 0)
			return rc;
		/* "${saved_entry}": grubenv decides (vmie_edit_grubenv) */
		want_default = rc == 1 && !from_env && !is_default;
		if (!rc && !from_env)
			edit_note(out, GRUB_RULE, "no entry of grub.cfg boots "
				  "kernel %s: default left as it is",
				  o->default_kernel);
	}
	if (o->timeout >= 0)
		snprintf(tmo, sizeof tmo, "%d", o->timeout);

	/* first pass: which settings exist, where the entries start */
	unsigned first_entry = 0, depth = 0;
	bool has_default = false, has_timeout = false, has_menu = false;
	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		size_t i = grub_skip_blanks(l.p, l.len, 0), e = l.len;
		while (e > i && grub_blank(l.p[e - 1]))
			e--;
		if (!grub_line_ok(&l) || i >= e || l.p[i] == '#')
			continue;
		if (grub_set_value(l.p, l.len, i, "timeout"))
			has_timeout = true;
		size_t v = grub_set_value(l.p, l.len, i, "default");
		if (v) {
			char val[GRUB_NAME_MAX];
			bool plain;
			size_t ve = grub_word_end(l.p, l.len, v, &plain, NULL);
			grub_unquote(l.p + v, ve - v, val, sizeof val);
			if (!strstr(val, "next_entry"))
				has_default = true;
		}
		bool entry = grub_is_kw(l.p, l.len, i, "menuentry") ||
			     grub_is_kw(l.p, l.len, i, "submenu");
		if (entry || grub_is_kw(l.p, l.len, i, "blscfg"))
			has_menu = true;
		if (!depth && !first_entry && entry)
			first_entry = l.no;
		if (l.p[e - 1] == '{')
			depth++;
		else if (e - i == 1 && l.p[i] == '}' && depth)
			depth--;
	}
	/* a file without entries (not a menu) gets nothing added */
	bool add_default = want_default && !has_default;
	bool add_timeout = tmo[0] && !has_timeout && has_menu;

	/* second pass: the edits */
	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		if (l.no == first_entry && (add_default || add_timeout) &&
		    grub_may_edit(&g)) {
			grub_cfg_add(&g, l.no, add_default ? spec : NULL,
				     add_timeout ? tmo : NULL);
			add_default = add_timeout = false;
		}
		size_t i = grub_skip_blanks(l.p, l.len, 0);
		if (!grub_line_ok(&l) || i >= l.len || l.p[i] == '#' ||
		    !grub_may_edit(&g)) {
			edit_buf_line(&g.b, &l);
			continue;
		}
		if (grub_is_kw(l.p, l.len, i, "linux") ||
		    grub_is_kw(l.p, l.len, i, "linux16") ||
		    grub_is_kw(l.p, l.len, i, "linuxefi")) {
			size_t a = grub_after_word(l.p, l.len, i);
			if (grub_skip_blanks(l.p, l.len, a) >= l.len) {
				edit_buf_line(&g.b, &l);     /* no kernel */
				continue;
			}
			a = grub_after_word(l.p, l.len, a);     /* kernel */
			edit_buf_add(&g.b, l.p, a);
			grub_cmdline_line(&g, l.no, l.p + a, l.len - a, true,
					  true);
			edit_buf_add(&g.b, l.p + l.len, grub_full(&l) - l.len);
			continue;
		}
		size_t v = grub_set_value(l.p, l.len, i, "default");
		const char *want = want_default ? spec : NULL;
		if (!v) {
			v = grub_set_value(l.p, l.len, i, "timeout");
			want = tmo[0] ? tmo : NULL;
		}
		if (v && want) {
			char val[GRUB_NAME_MAX];
			bool plain;
			size_t ve = grub_word_end(l.p, l.len, v, &plain, NULL);
			grub_unquote(l.p + v, ve - v, val, sizeof val);
			if (want == spec && (strstr(val, "next_entry") ||
					     strstr(val, "saved_entry")))
				want = NULL;
			if (want && strcmp(val, want)) {
				grub_replace(&g, &l, v, ve, want, want == spec,
					     false);
				if (want == spec)
					edit_change(out, GRUB_RULE, "line %u: "
						    "default %.*s -> \"%s\" "
						    "(kernel %s)", l.no,
						    grub_show(ve - v), l.p + v,
						    spec, o->default_kernel);
				else
					edit_change(out, GRUB_RULE, "line %u: "
						    "timeout %.*s -> %s", l.no,
						    grub_show(ve - v), l.p + v,
						    tmo);
				continue;
			}
		}
		edit_buf_line(&g.b, &l);
	}
	if ((add_default || add_timeout) && grub_may_edit(&g)) {
		/* no top-level entry: GRUB runs the whole file before it
		 * shows the menu, so the end of it does as well */
		if (g.b.len && g.b.p[g.b.len - 1] != '\n')
			edit_buf_str(&g.b, g.eol);
		grub_cfg_add(&g, 0, add_default ? spec : NULL,
			     add_timeout ? tmo : NULL);
	}
	return edit_finish(out, &g.b);
}

/* ---- GRUB legacy menu.lst / grub.conf ---- */

/* A menu.lst command kw at i: the position of its value (after blanks or
 * '=', as GRUB legacy reads them), or 0. */
static size_t grub_legacy_cmd(const char *s, size_t n, size_t i,
			      const char *kw)
{
	size_t l = strlen(kw);

	if (n - i < l || memcmp(s + i, kw, l))
		return 0;
	i += l;
	if (i < n && !grub_blank(s[i]) && s[i] != '=')
		return 0;
	while (i < n && (grub_blank(s[i]) || s[i] == '='))
		i++;
	return i;
}

/* The kernel of a "kernel" line is its first word that is not a
 * "--option": the position after it, or n.  *hypervisor: it is xen.gz
 * (the options on the line are Xen's, Linux's are on "module"). */
static size_t grub_legacy_kernel(const char *s, size_t n, size_t v,
				 bool *hypervisor)
{
	bool plain;

	*hypervisor = false;
	for (;;) {
		v = grub_skip_blanks(s, n, v);
		if (v >= n)
			return n;
		size_t e = grub_word_end(s, n, v, &plain, NULL);
		if (e - v > 2 && s[v] == '-' && s[v + 1] == '-') {
			v = e;
			continue;
		}
		size_t base = v;
		for (size_t k = v; k < e; k++)
			if (s[k] == '/' || s[k] == ')')
				base = k + 1;
		if (e - base >= 3 && !memcmp(s + base, "xen", 3))
			*hypervisor = true;
		return e;
	}
}

/* The wanted "default" of a menu.lst: 1 found (*idx, *is_default),
 * 0 not found, VMIE_ENOMEM. */
static int grub_legacy_entry(const char *text, size_t len, const char *kver,
			     int *idx, bool *is_default)
{
	struct vmie_insp_bootcfg *c = malloc(sizeof *c);
	char *t = grub_cstr(text, len);
	int rc = 0;

	*is_default = false;
	if (!c || !t) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	if (vmie_insp_parse_menu_lst(t, NULL, c) < 0)
		goto out;
	int i = grub_find_kernel(c, kver);
	if (i < 0)
		goto out;
	*idx = c->ents[i].top;
	*is_default = !c->saved && c->default_index == i;
	rc = 1;
out:
	free(c);
	free(t);
	return rc;
}

/* "default N" and "timeout N" lines that menu.lst lacks. */
static void grub_legacy_add(struct grub_ed *g, unsigned no, const char *want,
			    const char *tmo)
{
	char at[32] = "";

	if (no)
		snprintf(at, sizeof at, "line %u: ", no);
	if (want) {
		edit_buf_str(&g->b, "default ");
		edit_buf_str(&g->b, want);
		edit_buf_str(&g->b, g->eol);
		edit_change(g->out, GRUB_RULE, "%sadded default %s (kernel "
			    "%s)", at, want, g->o->default_kernel);
	}
	if (tmo) {
		edit_buf_str(&g->b, "timeout ");
		edit_buf_str(&g->b, tmo);
		edit_buf_str(&g->b, g->eol);
		edit_change(g->out, GRUB_RULE, "%sadded timeout %s", at, tmo);
	}
}

int vmie_edit_menu_lst(const char *text, size_t len,
		       const struct vmie_grub_opts *o,
		       vmie_edit_resolve_fn res, void *ctx,
		       struct vmie_edit *out)
{
	struct grub_ed g;
	char want[16] = "", tmo[16] = "";
	struct edit_line l = { 0 };
	size_t pos, v;

	if (!grub_start("menu.lst", text, len, out))
		return 0;
	grub_init(&g, o, res, ctx, out, text, len);
	o = g.o;
	if (o->default_kernel && o->default_kernel[0]) {
		int idx = 0;
		bool is_default;
		int rc = grub_legacy_entry(text, len, o->default_kernel, &idx,
					   &is_default);
		if (rc < 0)
			return rc;
		if (rc == 1 && !is_default)
			snprintf(want, sizeof want, "%d", idx);
		if (!rc)
			edit_note(out, GRUB_RULE, "no title of menu.lst boots "
				  "kernel %s: default left as it is",
				  o->default_kernel);
	}
	if (o->timeout >= 0)
		snprintf(tmo, sizeof tmo, "%d", o->timeout);

	/* first pass: the global settings (before the first title) */
	unsigned first_title = 0;
	bool has_default = false, has_timeout = false;
	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		size_t i = grub_skip_blanks(l.p, l.len, 0);
		if (!grub_line_ok(&l))
			continue;
		if (grub_legacy_cmd(l.p, l.len, i, "title")) {
			first_title = l.no;
			break;
		}
		if (grub_legacy_cmd(l.p, l.len, i, "default"))
			has_default = true;
		if (grub_legacy_cmd(l.p, l.len, i, "timeout"))
			has_timeout = true;
	}
	/* without a default line GRUB boots title 0 */
	bool add_default = want[0] && !has_default && strcmp(want, "0");
	bool add_timeout = tmo[0] && !has_timeout && first_title;

	bool global = true;
	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		if (l.no == first_title && (add_default || add_timeout) &&
		    grub_may_edit(&g)) {
			grub_legacy_add(&g, l.no, add_default ? want : NULL,
					add_timeout ? tmo : NULL);
			add_default = add_timeout = false;
		}
		size_t i = grub_skip_blanks(l.p, l.len, 0);
		if (!grub_line_ok(&l) || i >= l.len || l.p[i] == '#' ||
		    !grub_may_edit(&g)) {
			edit_buf_line(&g.b, &l);
			continue;
		}
		if (grub_legacy_cmd(l.p, l.len, i, "title"))
			global = false;
		if ((v = grub_legacy_cmd(l.p, l.len, i, "kernel"))) {
			bool hyp;
			size_t a = grub_legacy_kernel(l.p, l.len, v, &hyp);
			if (hyp || a >= l.len) {
				edit_buf_line(&g.b, &l);
				continue;
			}
			edit_buf_add(&g.b, l.p, a);
			grub_cmdline_line(&g, l.no, l.p + a, l.len - a, true,
					  false);
			edit_buf_add(&g.b, l.p + l.len, grub_full(&l) - l.len);
			continue;
		}
		const char *val = NULL, *what = NULL;
		if (!global) {
			/* the settings of the entries are their own */
		} else if ((v = grub_legacy_cmd(l.p, l.len, i, "default"))) {
			val = want[0] ? want : NULL;
			what = "default";
		} else if ((v = grub_legacy_cmd(l.p, l.len, i, "timeout"))) {
			val = tmo[0] ? tmo : NULL;
			what = "timeout";
		}
		if (val) {
			bool plain;
			size_t ve = grub_word_end(l.p, l.len, v, &plain, NULL);
			if (ve - v != strlen(val) ||
			    memcmp(l.p + v, val, ve - v)) {
				grub_replace(&g, &l, v, ve, val, false, false);
				edit_change(out, GRUB_RULE, "line %u: %s %.*s "
					    "-> %s%s%s%s", l.no, what,
					    grub_show(ve - v), l.p + v, val,
					    val == want ? " (kernel " : "",
					    val == want ? o->default_kernel :
					    "", val == want ? ")" : "");
				continue;
			}
		}
		edit_buf_line(&g.b, &l);
	}
	if ((add_default || add_timeout) && grub_may_edit(&g)) {
		if (g.b.len && g.b.p[g.b.len - 1] != '\n')
			edit_buf_str(&g.b, g.eol);
		grub_legacy_add(&g, 0, add_default ? want : NULL,
				add_timeout ? tmo : NULL);
	}
	return edit_finish(out, &g.b);
}

/* ---- Boot Loader Specification entries ---- */

int vmie_edit_bls_entry(const char *text, size_t len,
			const struct vmie_grub_opts *o,
			vmie_edit_resolve_fn res, void *ctx,
			struct vmie_edit *out)
{
	struct grub_ed g;
	struct grub_have h = { 0 };
	struct edit_line l = { 0 };
	size_t pos;
	unsigned last = 0;

	if (!grub_start("BLS entry", text, len, out))
		return 0;
	grub_init(&g, o, res, ctx, out, text, len);
	/* every "options" line counts: the spec joins them */
	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		size_t i = grub_skip_blanks(l.p, l.len, 0);
		if (grub_line_ok(&l) && grub_is_kw(l.p, l.len, i, "options")) {
			grub_have_scan(l.p + i + 7, l.len - i - 7, &h);
			last = l.no;
		}
	}
	/* $kernelopts: the command line is grubenv's (vmie_edit_grubenv) */
	bool add = !h.kernelopts;

	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		size_t i = grub_skip_blanks(l.p, l.len, 0);
		if (!grub_line_ok(&l) ||
		    !grub_is_kw(l.p, l.len, i, "options") ||
		    !grub_may_edit(&g)) {
			edit_buf_line(&g.b, &l);
			continue;
		}
		edit_buf_add(&g.b, l.p, i + 7);
		grub_cmdline(&g, &g.b, l.no, l.p + i + 7, l.len - i - 7, true,
			     &h, add && l.no == last, false);
		edit_buf_add(&g.b, l.p + l.len, grub_full(&l) - l.len);
	}
	char net[64], con[64];
	grub_missing(&g, &h, net, con, sizeof net);
	if (!last && (net[0] || con[0]) && grub_may_edit(&g)) {
		char opts[132];
		snprintf(opts, sizeof opts, "%s%s%s", net,
			 net[0] && con[0] ? " " : "", con);
		grub_add_line(&g, "options ", opts, "");
		grub_note_added(&g, 0, net, con);
	}
	return edit_finish(out, &g.b);
}

/* ---- /etc/default/grub (sourced by grub-mkconfig's sh) ---- */

/* One assignment NAME=VALUE of a shell file. */
struct grub_assign {
	size_t name, name_len;
	size_t vs, ve;          /* the value's content (inside its quotes) */
	size_t end;             /* after the value (and its closing quote) */
	char quote;             /* '"', '\'' or 0 */
	bool ok;                /* a value vmie can edit */
};

static bool grub_sh_assign(const char *s, size_t n, struct grub_assign *a)
{
	size_t i = grub_skip_blanks(s, n, 0);

	memset(a, 0, sizeof *a);
	if (grub_is_kw(s, n, i, "export"))
		i = grub_skip_blanks(s, n, i + 6);
	a->name = i;
	while (i < n && (s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
			 (s[i] >= 'a' && s[i] <= 'z') ||
			 (i > a->name && s[i] >= '0' && s[i] <= '9')))
		i++;
	a->name_len = i - a->name;
	if (!a->name_len || i >= n || s[i] != '=')
		return false;
	i++;
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		char q = s[i];
		size_t k = i + 1;
		while (k < n && s[k] != q) {
			if (q == '"' && s[k] == '\\' && k + 1 < n)
				k++;
			k++;
		}
		a->quote = q;
		a->vs = i + 1;
		a->ve = k < n ? k : n;
		a->end = k < n ? k + 1 : n;
		a->ok = k < n;          /* else it goes on on the next line */
		return true;
	}
	size_t k = i;
	a->ok = true;
	while (k < n && !grub_blank(s[k]) && s[k] != ';' && s[k] != '#') {
		if (strchr("\"'\\$`&|<>()", s[k]))
			a->ok = false;
		k++;
	}
	a->vs = i;
	a->ve = a->end = k;
	return true;
}

static bool grub_sh_is(const char *s, const struct grub_assign *a,
		       const char *name)
{
	return a->name_len == strlen(name) &&
	       !memcmp(s + a->name, name, a->name_len);
}

static bool grub_sh_cmdline(const char *s, const struct grub_assign *a)
{
	return grub_sh_is(s, a, "GRUB_CMDLINE_LINUX") ||
	       grub_sh_is(s, a, "GRUB_CMDLINE_LINUX_DEFAULT");
}

/* The value of an assignment as sh reads it. */
static void grub_sh_value(const char *s, const struct grub_assign *a,
			  char *out, size_t size)
{
	size_t from = a->quote ? a->vs - 1 : a->vs;
	grub_unquote(s + from, a->end - from, out, size);
}

/* A GRUB_CMDLINE_LINUX(_DEFAULT) line: the options edited in place (a
 * bare value that gets a blank is double-quoted). */
static void grub_sh_cmdline_line(struct grub_ed *g, const struct edit_line *l,
				 const struct grub_assign *a,
				 const struct grub_have *h, bool add)
{
	struct edit_buf nv = { 0 };
	unsigned before = g->out->n_changes;

	grub_cmdline(g, &nv, l->no, l->p + a->vs, a->ve - a->vs, false, h,
		     add, false);
	if (nv.oom)
		g->b.oom = true;
	if (nv.oom || g->out->n_changes == before) {
		free(nv.p);
		edit_buf_line(&g->b, l);
		return;
	}
	bool wrap = !a->quote && (memchr(nv.p, ' ', nv.len) ||
				  memchr(nv.p, '\t', nv.len));
	edit_buf_add(&g->b, l->p, a->vs);
	if (wrap)
		edit_buf_add(&g->b, "\"", 1);
	edit_buf_add(&g->b, nv.p, nv.len);
	if (wrap)
		edit_buf_add(&g->b, "\"", 1);
	edit_buf_add(&g->b, l->p + a->ve, grub_full(l) - a->ve);
	free(nv.p);
}

int vmie_edit_default_grub_entry(const char *text, size_t len,
				 const struct vmie_grub_opts *o,
				 const char *entry, vmie_edit_resolve_fn res,
				 void *ctx, struct vmie_edit *out)
{
	struct grub_ed g;
	struct grub_have h = { 0 };
	struct grub_assign a;
	char tmo[16] = "", val[GRUB_NAME_MAX];
	struct edit_line l = { 0 };
	size_t pos;
	unsigned target = 0;
	bool has_cmdline = false, has_timeout = false, has_default = false;
	bool saved = false;

	if (!grub_start("/etc/default/grub", text, len, out))
		return 0;
	grub_init(&g, o, res, ctx, out, text, len);
	o = g.o;
	if (o->timeout >= 0)
		snprintf(tmo, sizeof tmo, "%d", o->timeout);
	if (entry && (!entry[0] || strlen(entry) >= GRUB_NAME_MAX))
		entry = NULL;

	/* first pass: what is set, and where options go: the last
	 * GRUB_CMDLINE_LINUX, which applies to every entry (recovery too) */
	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		if (!grub_line_ok(&l) || !grub_sh_assign(l.p, l.len, &a))
			continue;
		if (grub_sh_cmdline(l.p, &a)) {
			/* a value over several lines: what this one has */
			grub_have_scan(l.p + a.vs, (a.ok ? a.ve : l.len) - a.vs,
				       &h);
			if (grub_sh_is(l.p, &a, "GRUB_CMDLINE_LINUX")) {
				has_cmdline = true;
				target = a.ok ? l.no : 0;
			}
		} else if (grub_sh_is(l.p, &a, "GRUB_TIMEOUT")) {
			has_timeout = true;
		} else if (grub_sh_is(l.p, &a, "GRUB_DEFAULT")) {
			has_default = true;
			grub_sh_value(l.p, &a, val, sizeof val);
			saved = !strcmp(val, "saved");
		}
	}
	if (saved)
		entry = NULL;           /* grubenv's saved_entry decides */

	for (pos = 0; edit_next_line(text, len, &pos, &l);) {
		if (!grub_line_ok(&l) || !grub_sh_assign(l.p, l.len, &a) ||
		    !a.ok || !grub_may_edit(&g)) {
			edit_buf_line(&g.b, &l);
			continue;
		}
		if (grub_sh_cmdline(l.p, &a)) {
			grub_sh_cmdline_line(&g, &l, &a, &h, l.no == target);
			continue;
		}
		const char *want = NULL, *what = NULL;
		if (grub_sh_is(l.p, &a, "GRUB_TIMEOUT") && tmo[0]) {
			want = tmo;
			what = "GRUB_TIMEOUT";
		} else if (grub_sh_is(l.p, &a, "GRUB_DEFAULT") && entry) {
			want = entry;
			what = "GRUB_DEFAULT";
		}
		if (want) {
			grub_sh_value(l.p, &a, val, sizeof val);
			if (strcmp(val, want)) {
				size_t from = a.quote ? a.vs - 1 : a.vs;
				grub_replace(&g, &l, from, a.end, want,
					     want == entry, true);
				edit_change(out, GRUB_RULE, "line %u: %s %.*s "
					    "-> %s", l.no, what,
					    grub_show(a.end - from),
					    l.p + from, want);
				continue;
			}
		}
		edit_buf_line(&g.b, &l);
	}

	/* what is missing goes at the end */
	char net[64], con[64], opts[160];
	grub_missing(&g, &h, net, con, sizeof net);
	if (entry && !has_default && strcmp(entry, "0") && grub_may_edit(&g)) {
		struct edit_buf q = { 0 };
		grub_buf_dquote(&q, entry, true);
		edit_buf_add(&q, "", 1);
		if (q.oom)
			g.b.oom = true;
		else
			grub_add_line(&g, "GRUB_DEFAULT=", q.p, "");
		edit_change(out, GRUB_RULE, "added GRUB_DEFAULT=\"%s\"", entry);
		free(q.p);
	}
	if (tmo[0] && !has_timeout && grub_may_edit(&g)) {
		grub_add_line(&g, "GRUB_TIMEOUT=", tmo, "");
		edit_change(out, GRUB_RULE, "added GRUB_TIMEOUT=%s", tmo);
	}
	if (!target && (net[0] || con[0]) && grub_may_edit(&g)) {
		/* after an assignment vmie cannot edit (a value over several
		 * lines), extend it */
		snprintf(opts, sizeof opts, "%s%s%s%s\"",
			 has_cmdline ? "$GRUB_CMDLINE_LINUX " : "", net,
			 net[0] && con[0] ? " " : "", con);
		grub_add_line(&g, "GRUB_CMDLINE_LINUX=\"", opts, "");
		grub_note_added(&g, 0, net, con);
	}
	return edit_finish(out, &g.b);
}

int vmie_edit_default_grub(const char *text, size_t len,
			   const struct vmie_grub_opts *o,
			   vmie_edit_resolve_fn res, void *ctx,
			   struct vmie_edit *out)
{
	return vmie_edit_default_grub_entry(text, len, o, NULL, res, ctx,
					    out);
}

/* ---- grubenv ---- */

/* A grubenv value as GRUB writes it: '\' and newline escaped. */
static void grub_env_escape(struct edit_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '\n')
			edit_buf_add(b, "\\", 1);
		edit_buf_add(b, s, 1);
	}
}

static void grub_env_unescape(const char *s, size_t n, char *out,
			      size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n)
			c = s[++i];
		if (o + 1 < size)
			out[o++] = c;
	}
	out[o] = '\0';
}

/* The data lines of a 1024-byte block end at its last '\n'; '#' pads the
 * rest.  Their length, or 0 when text is not such a block. */
static size_t grub_env_data(const char *text, size_t len)
{
	static const size_t hl = sizeof GRUBENV_HEADER - 1;

	if (len != GRUBENV_SIZE || memcmp(text, GRUBENV_HEADER, hl) ||
	    memchr(text, '\0', len))
		return 0;
	const char *nl = memrchr(text, '\n', len);
	size_t data = (size_t)(nl - text) + 1;
	for (size_t i = data; i < len; i++)
		if (text[i] != '#')
			return 0;
	return data;
}

int vmie_edit_grubenv(const char *text, size_t len, const char *saved_entry,
		      const struct vmie_grub_opts *o, vmie_edit_resolve_fn res,
		      void *ctx, struct vmie_edit *out)
{
	static const size_t hl = sizeof GRUBENV_HEADER - 1;
	struct grub_ed g;
	struct edit_line l = { 0 };
	char val[GRUB_NAME_MAX * 2];
	bool has_saved = false;
	size_t data, pos;

	memset(out, 0, sizeof *out);
	if (!text)
		return 0;
	if (!(data = grub_env_data(text, len))) {
		edit_note(out, GRUB_RULE, "grubenv: not a %d-byte GRUB "
			  "environment block: left as it is", GRUBENV_SIZE);
		return 0;
	}
	grub_init(&g, o, res, ctx, out, text, len);
	if (saved_entry && (!saved_entry[0] ||
			    strlen(saved_entry) >= GRUB_NAME_MAX))
		saved_entry = NULL;

	edit_buf_add(&g.b, text, hl);
	l.no = 1;                       /* the header */
	for (pos = hl; edit_next_line(text, data, &pos, &l);) {
		if (saved_entry && !has_saved &&
		    grub_prefix(l.p, l.len, "saved_entry=")) {
			has_saved = true;
			grub_env_unescape(l.p + 12, l.len - 12, val,
					  sizeof val);
			if (strcmp(val, saved_entry)) {
				edit_buf_str(&g.b, "saved_entry=");
				grub_env_escape(&g.b, saved_entry);
				edit_buf_str(&g.b, "\n");
				edit_change(out, GRUB_RULE, "saved_entry %.*s "
					    "-> %s", grub_show(l.len - 12),
					    l.p + 12, saved_entry);
				continue;
			}
		} else if (saved_entry && l.len > 11 &&
			   grub_prefix(l.p, l.len, "next_entry=")) {
			/* a one-time entry would win over saved_entry */
			edit_buf_str(&g.b, "next_entry=\n");
			edit_change(out, GRUB_RULE, "next_entry %.*s cleared",
				    grub_show(l.len - 11), l.p + 11);
			continue;
		} else if (grub_prefix(l.p, l.len, "kernelopts=")) {
			edit_buf_add(&g.b, l.p, 11);
			grub_cmdline_line(&g, l.no, l.p + 11, l.len - 11, false,
					  false);
			edit_buf_add(&g.b, l.p + l.len, grub_full(&l) - l.len);
			continue;
		}
		edit_buf_line(&g.b, &l);
	}
	if (saved_entry && !has_saved) {
		edit_buf_str(&g.b, "saved_entry=");
		grub_env_escape(&g.b, saved_entry);
		edit_buf_str(&g.b, "\n");
		edit_change(out, GRUB_RULE, "added saved_entry=%s",
			    saved_entry);
	}
	if (!g.b.oom && out->n_changes && g.b.len > GRUBENV_SIZE) {
		size_t need = g.b.len;
		free(g.b.p);
		memset(out, 0, sizeof *out);
		edit_note(out, GRUB_RULE, "grubenv: the new block would take "
			  "%zu bytes, more than %d: left as it is", need,
			  GRUBENV_SIZE);
		return 0;
	}
	while (!g.b.oom && out->n_changes && g.b.len < GRUBENV_SIZE)
		edit_buf_add(&g.b, "#", 1);
	return edit_finish(out, &g.b);
}
