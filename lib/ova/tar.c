/*
 * Tar reader for OVAs: walks the headers of a tar archive held in a byte
 * source and records each member's name, data offset and size, so a member
 * can be read in place through a window source.  Member data is never
 * copied except the small pax and GNU long-name records.
 *
 * Follows POSIX.1-2008 pax (ustar and pax interchange formats) and the GNU
 * tar manual (long names 'L', base-256 numbers); layout in tar.h.  Every
 * size and offset is checked against the source size before use, every
 * header checksum is verified.
 */
#include "tar.h"
#include "../core/budget.h"
#include "../core/checked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a numeric header field: octal ASCII (leading spaces allowed,
 * ended by NUL or space), or GNU base-256 when bit 7 of the first byte is
 * set.  Returns -1 when malformed, negative or over 64 bits. */
static int tar_num(const uint8_t *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	if (f[0] & 0x80) {
		if (f[0] & 0x40)
			return -1;               /* negative */
		v = f[0] & 0x3f;
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 61)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != 0 && f[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

int vmie_tar_check_header(const uint8_t blk[TAR_BLOCK], uint64_t off,
			  const char *what, struct vmie_err *err)
{
	uint64_t stored, usum = 0;
	int64_t ssum = 0;
	for (unsigned i = 0; i < TAR_BLOCK; i++) {
		uint8_t c = i >= TAR_OFF_CHKSUM &&
			    i < TAR_OFF_CHKSUM + TAR_LEN_CHKSUM ? ' ' : blk[i];
		usum += c;
		ssum += (int8_t)c;
	}
	if (tar_num(blk + TAR_OFF_CHKSUM, TAR_LEN_CHKSUM, &stored))
		return VMIE_CORRUPT(err, "%s: tar header at offset %llu: "
				    "checksum field is not a number (not a "
				    "tar archive, or corrupt)", what,
				    (unsigned long long)off);
	if (stored != usum && (int64_t)stored != ssum)
		return VMIE_CORRUPT(err, "%s: tar header at offset %llu: "
				    "checksum mismatch (stored %llo, computed "
				    "%llo)", what, (unsigned long long)off,
				    (unsigned long long)stored,
				    (unsigned long long)usum);
	const uint8_t *mg = blk + TAR_OFF_MAGIC;
	bool posix = !memcmp(mg, "ustar\0", 6);
	bool gnu = !memcmp(mg, "ustar ", 6);
	bool v7 = !memcmp(mg, "\0\0\0\0\0\0", 6);
	if (!posix && !gnu && !v7)
		return VMIE_CORRUPT(err, "%s: tar header at offset %llu: "
				    "unknown magic", what,
				    (unsigned long long)off);
	return 0;
}

/* Parse pax extended header records "len key=value\n" from data (size
 * bytes).  Sets *path (allocated) and *size when present; *sparse when a
 * GNU sparse key is seen. */
static int tar_parse_pax(const char *data, size_t size, const char *what,
			 uint64_t off, char **path, uint64_t *psize,
			 bool *has_size, bool *sparse, struct vmie_err *err)
{
	size_t pos = 0;
	while (pos < size) {
		size_t reclen = 0, i = pos;
		while (i < size && data[i] >= '0' && data[i] <= '9' &&
		       i - pos < 12)
			reclen = reclen * 10 + (size_t)(data[i++] - '0');
		if (i == pos || i >= size || data[i] != ' ' || reclen < 5 ||
		    reclen > size - pos || i + 2 > pos + reclen ||
		    data[pos + reclen - 1] != '\n')
			return VMIE_CORRUPT(err, "%s: pax extended header at "
					    "offset %llu: malformed record at "
					    "byte %zu", what,
					    (unsigned long long)off, pos);
		const char *kv = data + i + 1;
		const char *end = data + pos + reclen - 1;   /* the '\n' */
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return VMIE_CORRUPT(err, "%s: pax extended header at "
					    "offset %llu: record without '='",
					    what, (unsigned long long)off);
		size_t klen = (size_t)(eq - kv), vlen = (size_t)(end - eq - 1);
		const char *val = eq + 1;
		if (klen == 4 && !memcmp(kv, "path", 4)) {
			if (memchr(val, 0, vlen) || vlen > TAR_MAX_LONGNAME)
				return VMIE_CORRUPT(err, "%s: pax path at "
						    "offset %llu is invalid "
						    "(NUL byte or too long)",
						    what,
						    (unsigned long long)off);
			char *p = strndup(val, vlen);
			if (!p)
				return VMIE_ERR(err, VMIE_ENOMEM,
						"out of memory");
			free(*path);
			*path = p;
		} else if (klen == 4 && !memcmp(kv, "size", 4)) {
			uint64_t v = 0;
			if (!vlen || vlen > 20)
				goto bad_size;
			for (size_t k = 0; k < vlen; k++) {
				if (val[k] < '0' || val[k] > '9' ||
				    vmie_mul_u64(v, 10, &v) ||
				    vmie_add_u64(v, (uint64_t)(val[k] - '0'),
						 &v))
					goto bad_size;
			}
			*psize = v;
			*has_size = true;
		} else if (klen > 11 && !memcmp(kv, "GNU.sparse.", 11)) {
			*sparse = true;
		}
		pos += reclen;
	}
	return 0;
bad_size:
	return VMIE_CORRUPT(err, "%s: pax size record at offset %llu is not "
			    "a number", what, (unsigned long long)off);
}

/* Read the data of a metadata member (pax, GNU long name) of size bytes
 * at off into a new NUL-terminated buffer, capped at max. */
static int tar_read_meta(struct vmie_src *src, uint64_t off, uint64_t size,
			 uint64_t max, const char *kind, char **out,
			 struct vmie_err *err)
{
	if (size > max)
		return VMIE_CORRUPT(err, "%s: %s record at offset %llu is %llu "
				    "bytes (limit %llu)", src->name, kind,
				    (unsigned long long)off,
				    (unsigned long long)size,
				    (unsigned long long)max);
	if (vmie_range_outside(off, size, src->size))
		return VMIE_CORRUPT(err, "%s: %s record at offset %llu (%llu "
				    "bytes) extends past the end of the file "
				    "(%llu bytes): truncated", src->name, kind,
				    (unsigned long long)off,
				    (unsigned long long)size,
				    (unsigned long long)src->size);
	int r = vmie_budget_read(src->budget, size, kind, err);
	if (r)
		return r;
	char *b = malloc((size_t)size + 1);
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	r = vmie_src_pread(src, b, (size_t)size, off, err);
	if (r) {
		free(b);
		return r;
	}
	b[size] = 0;
	*out = b;
	return 0;
}

void vmie_tar_free(struct vmie_tar *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->m[i].name);
	free(t->m);
	vmie_src_unref(t->src);
	free(t);
}

static int tar_walk(struct vmie_src *src, size_t max_members, bool head,
		    struct vmie_tar **out, struct vmie_err *err)
{
	struct vmie_tar *t = calloc(1, sizeof *t);
	uint8_t blk[TAR_BLOCK];
	char *pend_name = NULL;       /* from 'L' or pax path */
	uint64_t pend_size = 0, first_hdr = 0;
	bool pend_has_size = false, pend_sparse = false, in_ext = false;
	size_t cap = 0;
	uint64_t off = 0;
	int r = 0;

	if (!t)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	vmie_src_ref(src);
	t->src = src;
	for (;;) {
		if (off == src->size) {
			if (in_ext) {
				r = VMIE_CORRUPT(err, "%s: archive ends after an "
						 "extended header at offset "
						 "%llu: truncated", src->name,
						 (unsigned long long)first_hdr);
				goto out;
			}
			break;              /* no end-of-archive blocks */
		}
		if (src->size - off < TAR_BLOCK) {
			r = VMIE_CORRUPT(err, "%s: tar header at offset %llu is "
					 "cut short by the end of the file "
					 "(%llu bytes): truncated", src->name,
					 (unsigned long long)off,
					 (unsigned long long)src->size);
			goto out;
		}
		/* one header block: metadata read, one structure visited */
		r = vmie_budget_read(src->budget, TAR_BLOCK, "tar header", err);
		if (!r)
			r = vmie_budget_entries(src->budget, 1, "tar header",
						err);
		if (!r)
			r = vmie_src_pread(src, blk, TAR_BLOCK, off, err);
		if (r)
			goto out;
		bool zero = true;
		for (unsigned i = 0; i < TAR_BLOCK && zero; i++)
			zero = !blk[i];
		if (zero) {
			if (in_ext) {
				r = VMIE_CORRUPT(err, "%s: end of archive right "
						 "after an extended header at "
						 "offset %llu", src->name,
						 (unsigned long long)first_hdr);
				goto out;
			}
			t->has_end = true;
			break;
		}
		r = vmie_tar_check_header(blk, off, src->name, err);
		if (r)
			goto out;
		uint64_t size, data_off = off + TAR_BLOCK, next;
		if (tar_num(blk + TAR_OFF_SIZE, TAR_LEN_SIZE, &size)) {
			r = VMIE_CORRUPT(err, "%s: tar header at offset %llu: "
					 "size field is not a number",
					 src->name, (unsigned long long)off);
			goto out;
		}
		char type = blk[TAR_OFF_TYPE] ? (char)blk[TAR_OFF_TYPE] : '0';
		if (!in_ext)
			first_hdr = off;
		if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
			char *data = NULL;
			bool is_pax = type == 'x' || type == 'g';
			r = tar_read_meta(src, data_off, size,
					  is_pax ? TAR_MAX_PAX_BYTES
						 : TAR_MAX_LONGNAME,
					  is_pax ? "pax extended header"
						 : "GNU long name",
					  &data, err);
			if (r)
				goto out;
			if (type == 'x') {
				r = tar_parse_pax(data, (size_t)size,
						  src->name, off, &pend_name,
						  &pend_size, &pend_has_size,
						  &pend_sparse, err);
			} else if (type == 'L') {
				free(pend_name);
				pend_name = strdup(data);
				if (!pend_name)
					r = VMIE_ERR(err, VMIE_ENOMEM,
						     "out of memory");
			}
			/* 'g' (global defaults) and 'K' (long link name)
			 * carry nothing an OVA needs. */
			free(data);
			if (r)
				goto out;
			if (type != 'g')
				in_ext = true;
			off = data_off + vmie_tar_pad(size);  /* size <= 1 MiB */
			continue;
		}
		if (pend_has_size)
			size = pend_size;
		if (!head && vmie_range_outside(data_off, size, src->size)) {
			r = VMIE_CORRUPT(err, "%s: tar member at offset %llu "
					 "(%llu bytes) extends past the end of "
					 "the file (%llu bytes): truncated",
					 src->name, (unsigned long long)off,
					 (unsigned long long)size,
					 (unsigned long long)src->size);
			goto out;
		}
		/* Members without data: links, devices, directories. */
		if (type == '1' || type == '2' || type == '3' || type == '4' ||
		    type == '5' || type == '6')
			next = data_off + (type == '5' ? vmie_tar_pad(size) : 0);
		else
			next = data_off + vmie_tar_pad(size);
		if (next > src->size)
			next = src->size;   /* last member may lack padding */
		if (t->n == max_members) {
			if (head)
				break;
			r = VMIE_CORRUPT(err, "%s: more than %zu tar members",
					 src->name, max_members);
			goto out;
		}
		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *nm = realloc(t->m, ncap * sizeof *t->m);
			if (!nm) {
				r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
				goto out;
			}
			t->m = nm;
			cap = ncap;
		}
		struct vmie_tar_member *m = &t->m[t->n];
		memset(m, 0, sizeof *m);
		if (pend_name) {
			m->name = pend_name;
			pend_name = NULL;
		} else {
			char nm[TAR_LEN_PREFIX + 1 + TAR_LEN_NAME + 1];
			size_t pl = strnlen((const char *)blk + TAR_OFF_PREFIX,
					    TAR_LEN_PREFIX);
			size_t nl = strnlen((const char *)blk + TAR_OFF_NAME,
					    TAR_LEN_NAME);
			size_t k = 0;
			/* GNU headers use the prefix area for other
			 * fields: only POSIX ustar has a prefix. */
			if (pl && !memcmp(blk + TAR_OFF_MAGIC, "ustar\0", 6)) {
				memcpy(nm, blk + TAR_OFF_PREFIX, pl);
				k = pl;
				nm[k++] = '/';
			}
			memcpy(nm + k, blk + TAR_OFF_NAME, nl);
			nm[k + nl] = 0;
			m->name = strdup(nm);
			if (!m->name) {
				r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
				goto out;
			}
		}
		m->hdr_off = first_hdr;
		m->data_off = data_off;
		m->size = size;
		m->type = pend_sparse || type == 'S' ? 'S' : type;
		t->n++;
		pend_has_size = pend_sparse = in_ext = false;
		off = next;
	}
	t->end_off = off;
out:
	free(pend_name);
	if (r && head && t->n) {
		/* probing: the first members were enough */
		vmie_err_clear(err);
		r = 0;
	}
	if (r) {
		vmie_tar_free(t);
		return r;
	}
	*out = t;
	return 0;
}

int vmie_tar_open(struct vmie_src *src, size_t max_members,
		  struct vmie_tar **out, struct vmie_err *err)
{
	return tar_walk(src, max_members, false, out, err);
}

int vmie_tar_open_head(struct vmie_src *src, size_t max_members,
		       struct vmie_tar **out, struct vmie_err *err)
{
	return tar_walk(src, max_members, true, out, err);
}

const struct vmie_tar_member *vmie_tar_find(const struct vmie_tar *t,
					    const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->m[i].name, name))
			return &t->m[i];
	return NULL;
}

int vmie_tar_member_src(struct vmie_tar *t, const struct vmie_tar_member *m,
			struct vmie_src **out, struct vmie_err *err)
{
	size_t n = strlen(t->src->name) + strlen(m->name) + 2;
	char *label = malloc(n);
	if (!label)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	snprintf(label, n, "%s:%s", t->src->name, m->name);
	int r = vmie_src_open_window(t->src, m->data_off, m->size, label, out,
				     err);
	free(label);
	return r;
}

int vmie_tar_read_member(struct vmie_tar *t, const struct vmie_tar_member *m,
			 uint64_t max, uint8_t **buf, size_t *len,
			 struct vmie_err *err)
{
	if (m->size > max)
		return VMIE_ERR_RULE(err, VMIE_ENOMEM, "FMT-005", "%s: member "
				     "'%s' is %llu bytes, more than the %llu "
				     "allowed for it",
				t->src->name, m->name,
				(unsigned long long)m->size,
				(unsigned long long)max);
	uint8_t *b = malloc((size_t)m->size + 1);
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	int r = vmie_src_pread(t->src, b, (size_t)m->size, m->data_off, err);
	if (r) {
		free(b);
		return r;
	}
	b[m->size] = 0;
	*buf = b;
	*len = (size_t)m->size;
	return 0;
}
