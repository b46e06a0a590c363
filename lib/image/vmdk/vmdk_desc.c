/*
 * VMDK descriptor parser: the text that names the disk's type (createType),
 * its content ids (CID, parentCID), its extents and the disk database (ddb).
 * Used both for descriptor files (monolithicFlat, twoGbMaxExtent*, vmfs...)
 * and for the descriptor embedded in a sparse extent.
 *
 * Spec: VMware "Virtual Disk Format 5.0", section "The Descriptor File":
 *
 *   # Disk DescriptorFile                  comments start with '#'
 *   version=1
 *   CID=fffffffe                            hex content id
 *   parentCID=ffffffff                      ffffffff = no parent
 *   createType="twoGbMaxExtentSparse"
 *   RW 4192256 SPARSE "test-s001.vmdk"      access sectors type "file" [off]
 *   RW 1024 ZERO                            (ZERO has no file)
 *   ddb.adapterType = "lsilogic"
 *
 * Nothing here opens a file: names are validated by the caller with
 * vmie_src_open_sibling (same directory only).
 */
#include "vmdk_int.h"
#include "../../core/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool vmdk_desc_looks_like(const uint8_t *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (buf[i] == '#') {
			while (i < len && buf[i] != '\n')
				i++;
			i++;
			continue;
		}
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
		    buf[i] == '\n') {
			i++;
			continue;
		}
		return len - i >= 9 && !memcmp(buf + i, "version=", 8) &&
		       buf[i + 8] >= '1' && buf[i + 8] <= '3';
	}
	return false;
}

static char *vmdk_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* Strip one pair of surrounding double quotes. */
static char *vmdk_unquote(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = 0;
		return s + 1;
	}
	return s;
}

static int vmdk_parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	enum vmdk_ext_type type;
} vmdk_ext_types[] = {
	{ "FLAT", VMDK_EXT_FLAT },
	{ "VMFS", VMDK_EXT_FLAT },
	{ "SPARSE", VMDK_EXT_SPARSE },
	{ "ZERO", VMDK_EXT_ZERO },
	{ "VMFSSPARSE", VMDK_EXT_VMFSSPARSE },
	{ "SESPARSE", VMDK_EXT_SESPARSE },
	{ "VMFSRDM", VMDK_EXT_RDM },
	{ "VMFSRAW", VMDK_EXT_RDM },
};

/* Next whitespace-separated token, or a "quoted string" (quotes removed). */
static char *vmdk_token(char **p, bool *quoted)
{
	char *s = *p, *t;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	*quoted = false;
	if (*s == '"') {
		t = strchr(s + 1, '"');
		if (!t)
			return NULL;
		*t = 0;
		*p = t + 1;
		*quoted = true;
		return s + 1;
	}
	t = s;
	while (*t && *t != ' ' && *t != '\t')
		t++;
	if (*t)
		*t++ = 0;
	*p = t;
	return s;
}

static int vmdk_parse_extent(struct vmdk_desc *d, char *line, unsigned lineno,
			     const char *what, struct vmie_err *err)
{
	struct vmdk_desc_extent x = { 0 };
	bool q;
	char *p = line, *tok;

	tok = vmdk_token(&p, &q);
	if (!strcmp(tok, "RW"))
		x.access = VMDK_RW;
	else if (!strcmp(tok, "RDONLY"))
		x.access = VMDK_RDONLY;
	else
		x.access = VMDK_NOACCESS;

	tok = vmdk_token(&p, &q);
	if (!tok || q || vmdk_parse_u64(tok, 10, &x.sectors) || !x.sectors ||
	    x.sectors > VMIE_MAX_VIRTUAL_SIZE / VMDK_SECTOR)
		return VMIE_CORRUPT(err, "%s: descriptor line %u: extent size "
				    "'%s' is not a sector count between 1 and "
				    "%llu", what, lineno, tok ? tok : "",
				    (unsigned long long)(VMIE_MAX_VIRTUAL_SIZE /
							 VMDK_SECTOR));
	tok = vmdk_token(&p, &q);
	bool known = false;
	for (size_t i = 0; tok && i < sizeof vmdk_ext_types /
			   sizeof *vmdk_ext_types; i++)
		if (!strcasecmp(tok, vmdk_ext_types[i].name)) {
			x.type = vmdk_ext_types[i].type;
			known = true;
		}
	if (!known)
		return VMIE_CORRUPT(err, "%s: descriptor line %u: unknown extent "
				    "type '%s'", what, lineno, tok ? tok : "");
	tok = vmdk_token(&p, &q);
	if (x.type == VMDK_EXT_ZERO) {
		if (tok)
			return VMIE_CORRUPT(err, "%s: descriptor line %u: a ZERO "
					    "extent names no file", what, lineno);
	} else {
		if (!tok || !q)
			return VMIE_CORRUPT(err, "%s: descriptor line %u: extent "
					    "file name missing or not quoted",
					    what, lineno);
		if (strlen(tok) >= sizeof x.file)
			return VMIE_CORRUPT(err, "%s: descriptor line %u: extent "
					    "file name longer than %zu bytes",
					    what, lineno, sizeof x.file - 1);
		vmie_strlcpy(x.file, tok, sizeof x.file);
		tok = vmdk_token(&p, &q);
		if (tok && x.type == VMDK_EXT_FLAT) {
			if (q || vmdk_parse_u64(tok, 10, &x.offset) ||
			    x.offset > VMIE_MAX_VIRTUAL_SIZE / VMDK_SECTOR)
				return VMIE_CORRUPT(err, "%s: descriptor line "
						    "%u: bad flat extent offset "
						    "'%s'", what, lineno, tok);
		}
		/* RDM lines carry a partition UUID and other words: ignored */
	}
	if (d->n_extents >= VMDK_MAX_EXTENTS)
		return VMIE_CORRUPT(err, "%s: descriptor lists more than %u "
				    "extents", what, VMDK_MAX_EXTENTS);
	if (d->n_extents == d->ext_cap) {
		unsigned cap = d->ext_cap ? 2 * d->ext_cap : 4;
		void *n = realloc(d->extents, cap * sizeof *d->extents);
		if (!n)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		d->extents = n;
		d->ext_cap = cap;
	}
	d->extents[d->n_extents++] = x;
	return 0;
}

static bool vmdk_is_extent_line(const char *s)
{
	static const char *const acc[] = { "RW", "RDONLY", "NOACCESS" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(acc[i]);
		if (!strncmp(s, acc[i], n) && (s[n] == ' ' || s[n] == '\t'))
			return true;
	}
	return false;
}

static int vmdk_parse_cid(const char *v, uint32_t *out)
{
	uint64_t x;
	if (strlen(v) > 8 || vmdk_parse_u64(v, 16, &x))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int vmdk_desc_parse(struct vmdk_desc *d, const char *text, size_t len,
		    const char *what, struct vmie_err *err)
{
	char *buf = NULL, *line, *next;
	unsigned lineno = 0;
	bool seen_version = false;
	int r = 0;

	memset(d, 0, sizeof *d);
	if (len > VMDK_MAX_DESC_BYTES)
		return VMIE_CORRUPT(err, "%s: descriptor of %zu bytes is larger "
				    "than the %u-byte limit", what, len,
				    VMDK_MAX_DESC_BYTES);
	const char *nul = memchr(text, 0, len);
	if (nul)
		len = (size_t)(nul - text);
	buf = malloc(len + 1);
	if (!buf)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	memcpy(buf, text, len);
	buf[len] = 0;

	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		char *s = vmdk_trim(line);
		if (!*s || *s == '#')
			continue;
		if (vmdk_is_extent_line(s)) {
			r = vmdk_parse_extent(d, s, lineno, what, err);
			if (r)
				goto out;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			continue;   /* VMware ignores lines it does not know */
		*eq = 0;
		char *key = vmdk_trim(s), *val = vmdk_unquote(vmdk_trim(eq + 1));
		if (!strcmp(key, "version")) {
			uint64_t v;
			if (vmdk_parse_u64(val, 10, &v) || v < 1 || v > 3) {
				r = VMIE_CORRUPT(err, "%s: descriptor version "
						 "'%s' is not 1, 2 or 3", what, val);
				goto out;
			}
			d->version = (unsigned)v;
			seen_version = true;
		} else if (!strcmp(key, "CID")) {
			if (vmdk_parse_cid(val, &d->cid)) {
				r = VMIE_CORRUPT(err, "%s: descriptor CID '%s' "
						 "is not hexadecimal", what, val);
				goto out;
			}
			d->has_cid = true;
		} else if (!strcmp(key, "parentCID")) {
			if (vmdk_parse_cid(val, &d->parent_cid)) {
				r = VMIE_CORRUPT(err, "%s: descriptor parentCID "
						 "'%s' is not hexadecimal", what,
						 val);
				goto out;
			}
			d->has_parent_cid = true;
		} else if (!strcmp(key, "createType")) {
			vmie_strlcpy(d->create_type, val, sizeof d->create_type);
		} else if (!strcmp(key, "parentFileNameHint")) {
			vmie_strlcpy(d->parent_hint, val, sizeof d->parent_hint);
			if (!d->parent_hint[0])
				vmie_strlcpy(d->parent_hint, "(empty name)",
					     sizeof d->parent_hint);
		} else if (!strncmp(key, "ddb.", 4) && d->n_ddb < VMDK_DDB_MAX) {
			vmie_strlcpy(d->ddb[d->n_ddb].key, key,
				     sizeof d->ddb[0].key);
			vmie_strlcpy(d->ddb[d->n_ddb].val, val,
				     sizeof d->ddb[0].val);
			d->n_ddb++;
		}
	}
	if (!seen_version)
		r = VMIE_CORRUPT(err, "%s: descriptor has no 'version=' line",
				 what);
out:
	free(buf);
	if (r)
		vmdk_desc_free(d);
	return r;
}

void vmdk_desc_free(struct vmdk_desc *d)
{
	free(d->extents);
	d->extents = NULL;
	d->n_extents = d->ext_cap = 0;
}

const char *vmdk_desc_ddb(const struct vmdk_desc *d, const char *key)
{
	for (unsigned i = 0; i < d->n_ddb; i++)
		if (!strcasecmp(d->ddb[i].key, key))
			return d->ddb[i].val;
	return NULL;
}
