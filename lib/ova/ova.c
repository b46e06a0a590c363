/*
 * Opening an OVA: the tar is walked (tar.c), member names are checked
 * (no absolute paths, no "..", no duplicates), the OVF descriptor must be
 * the first file (DSP0243 5.3), it is parsed (ovf.c) and every File it
 * references must be a regular member of the archive.  Disks are then
 * opened in place, as windows onto their members.
 *
 * Refusals: FMT-001 for what AWS and VMware do not import (chunked or
 * compressed disk files, OVF not first, an OVA inside an OVA), FMT-005
 * for a broken or hostile archive.
 */
#include "ova.h"
#include "tar.h"
#include "../core/checked.h"
#include "../core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void ova_warn(struct vmie_ova *ova, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ova_warn(struct vmie_ova *ova, const char *fmt, ...)
{
	va_list ap;
	if (ova->n_warn >= VMIE_OVA_MAX_WARN)
		return;
	va_start(ap, fmt);
	vsnprintf(ova->warn[ova->n_warn++], sizeof ova->warn[0], fmt, ap);
	va_end(ap);
}

static bool ova_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcasecmp(s + n - k, suffix);
}

/* Refuse a path that leaves the archive: absolute, or with a ".."
 * component, or with control characters. */
static int ova_check_path(const char *ova_name, const char *what,
			  const char *p, struct vmie_err *err)
{
	if (p[0] == '/')
		return VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
				     "%s: %s '%s' is an absolute path: "
				     "refused", ova_name, what, p);
	for (const char *c = p; *c; ) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
					     "%s: %s '%s' contains '..': "
					     "refused (path traversal)",
					     ova_name, what, p);
		c += n;
		while (*c == '/')
			c++;
	}
	for (const unsigned char *c = (const unsigned char *)p; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
					     "%s: %s name contains control "
					     "characters: refused", ova_name,
					     what);
	return 0;
}

/* Order of members by name, then by position in the archive. */
static int ova_name_cmp(const void *a, const void *b)
{
	const struct vmie_tar_member *x = *(const struct vmie_tar_member *
					    const *)a;
	const struct vmie_tar_member *y = *(const struct vmie_tar_member *
					    const *)b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

/* Sort the members by name (one sort instead of a comparison of every
 * pair), refuse a name given twice unless only directories repeat it, and
 * keep the members other than directories for vmie_ova_find. */
static int ova_index(struct vmie_ova *ova, struct vmie_err *err)
{
	const struct vmie_tar *t = ova->tar;
	const struct vmie_tar_member **all = calloc(t->n ? t->n : 1,
						    sizeof *all);
	if (!all)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		all[i] = &t->m[i];
	qsort(all, t->n, sizeof *all, ova_name_cmp);
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct vmie_tar_member *m = all[i];
		size_t g = i;
		while (g > 0 && !strcmp(all[g - 1]->name, m->name))
			g--;
		if (g < i && m->type != '5') {
			int r = VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
					      "%s: member '%s' appears twice "
					      "in the archive (offsets %llu "
					      "and %llu): refused, the copy a "
					      "tool reads would be ambiguous",
					      ova->src->name, m->name,
					      (unsigned long long)
					      all[g]->hdr_off,
					      (unsigned long long)m->hdr_off);
			free(all);
			return r;
		}
		if (m->type != '5')
			all[k++] = m;
	}
	ova->by_name = all;
	ova->n_by_name = k;
	return 0;
}

static int ova_find_cmp(const void *key, const void *elem)
{
	const struct vmie_tar_member *m = *(const struct vmie_tar_member *
					    const *)elem;
	return strcmp(key, m->name);
}

const struct vmie_tar_member *vmie_ova_find(const struct vmie_ova *ova,
					    const char *name)
{
	const struct vmie_tar_member *const *p;
	if (!ova->by_name)
		return NULL;
	p = bsearch(name, ova->by_name, ova->n_by_name, sizeof *p,
		    ova_find_cmp);
	return p ? *p : NULL;
}

void vmie_ova_close(struct vmie_ova *ova)
{
	if (!ova)
		return;
	vmie_ovf_free(ova->ovf);
	vmie_tar_free(ova->tar);
	vmie_src_unref(ova->src);
	free(ova->ovf_member);
	free(ova->file_members);
	free(ova->by_name);
	free(ova);
}

bool vmie_ova_probe(struct vmie_src *src, bool *first_is_ovf)
{
	struct vmie_tar *t;
	uint8_t blk[TAR_BLOCK];
	*first_is_ovf = false;
	if (src->size < TAR_BLOCK ||
	    vmie_src_pread(src, blk, TAR_BLOCK, 0, NULL) ||
	    vmie_tar_check_header(blk, 0, src->name, NULL))
		return false;
	/* a v7 header without magic is too weak a signal to claim a file */
	if (memcmp(blk + TAR_OFF_MAGIC, "ustar", 5))
		return false;
	if (vmie_tar_open_head(src, 4, &t, NULL))
		return true;
	for (size_t i = 0; i < t->n; i++) {
		if (t->m[i].type == '5')
			continue;
		*first_is_ovf = ova_ends_with(t->m[i].name, ".ovf");
		break;
	}
	vmie_tar_free(t);
	return true;
}

/* Name of the member the href points to: relative to the directory of
 * the descriptor. */
static char *ova_resolve(const char *ovf_member, const char *href)
{
	const char *slash = strrchr(ovf_member, '/');
	size_t dl = slash ? (size_t)(slash - ovf_member) + 1 : 0;
	while (href[0] == '.' && href[1] == '/')
		href += 2;
	char *p = malloc(dl + strlen(href) + 1);
	if (!p)
		return NULL;
	memcpy(p, ovf_member, dl);
	strcpy(p + dl, href);
	return p;
}

/* Pick the member named like the descriptor with another extension, else
 * the first one with that extension. */
static const struct vmie_tar_member *ova_companion(struct vmie_ova *ova,
						   const char *ext)
{
	const struct vmie_tar *t = ova->tar;
	const struct vmie_tar_member *any = NULL;
	size_t bl = strlen(ova->ovf_member) - 4;     /* without ".ovf" */
	for (size_t i = 0; i < t->n; i++) {
		const struct vmie_tar_member *m = &t->m[i];
		if (m->type != '0' || !ova_ends_with(m->name, ext))
			continue;
		if (strlen(m->name) == bl + strlen(ext) &&
		    !strncmp(m->name, ova->ovf_member, bl))
			return m;
		if (!any)
			any = m;
	}
	return any;
}

static int ova_check_files(struct vmie_ova *ova, struct vmie_err *err)
{
	const struct vmie_ovf *ovf = ova->ovf;
	const char *on = ova->src->name;
	ova->file_members = calloc(ovf->n_files ? ovf->n_files : 1,
				   sizeof *ova->file_members);
	if (!ova->file_members)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (size_t i = 0; i < ovf->n_files; i++) {
		const struct vmie_ovf_file *f = &ovf->files[i];
		int r;
		if (strstr(f->href, "://") || !strncasecmp(f->href, "file:", 5))
			return VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
					     "%s: File '%s' is an external "
					     "URL (%s); an OVA must hold its "
					     "files", on, f->id, f->href);
		r = ova_check_path(on, "OVF File href", f->href, err);
		if (r)
			return r;
		if (f->chunk_size)
			return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001",
					     "%s: File '%s' (%s) is split into "
					     "chunks of %llu bytes "
					     "(ovf:chunkSize): OVAs with "
					     "chunked disk files are not "
					     "supported; re-export the VM "
					     "without chunking", on, f->id,
					     f->href,
					     (unsigned long long)f->chunk_size);
		char *path = ova_resolve(ova->ovf_member, f->href);
		if (!path)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		const struct vmie_tar_member *m = vmie_ova_find(ova, path);
		if (!m) {
			r = VMIE_ERR_RULE(err, VMIE_ENOENT, "FMT-005",
					  "%s: File '%s' referenced by the "
					  "OVF ('%s') is missing from the "
					  "OVA", on, f->id, path);
			free(path);
			return r;
		}
		free(path);
		if (m->type == 'S')
			return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001",
					     "%s: member '%s' is a GNU sparse "
					     "file, which cannot be read in "
					     "place", on, m->name);
		if (m->type != '0')
			return VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
					     "%s: member '%s' (File '%s') is "
					     "not a regular file (tar type "
					     "'%c')", on, m->name, f->id,
					     m->type);
		if (f->has_size && f->size != m->size)
			ova_warn(ova, "File '%s' (%s): the OVF says %llu bytes, "
				 "the OVA holds %llu", f->id, m->name,
				 (unsigned long long)f->size,
				 (unsigned long long)m->size);
		ova->file_members[i] = m;
	}
	return 0;
}

int vmie_ova_open_src(struct vmie_src *src, struct vmie_ova **out,
		      struct vmie_err *err)
{
	struct vmie_ova *ova = calloc(1, sizeof *ova);
	uint8_t *desc = NULL;
	size_t desc_len = 0;
	int r;
	if (!ova)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	vmie_src_ref(src);
	ova->src = src;
	r = vmie_tar_open(src, VMIE_OVA_MAX_MEMBERS, &ova->tar, err);
	if (r)
		goto out;
	struct vmie_tar *t = ova->tar;
	/* Names: "./x" is "x"; nothing may point out of the archive. */
	for (size_t i = 0; i < t->n; i++) {
		char *n = t->m[i].name;
		while (n[0] == '.' && n[1] == '/')
			memmove(n, n + 2, strlen(n + 2) + 1);
		size_t l = strlen(n);
		while (l > 1 && n[l - 1] == '/' && t->m[i].type == '5')
			n[--l] = 0;
		r = ova_check_path(src->name, "tar member", n, err);
		if (r)
			goto out;
	}
	r = ova_index(ova, err);
	if (r)
		goto out;
	if (!t->has_end)
		ova_warn(ova, "the tar archive has no end-of-archive blocks");
	const struct vmie_tar_member *first = NULL;
	for (size_t i = 0; i < t->n && !first; i++)
		if (t->m[i].type != '5')
			first = &t->m[i];
	if (!first) {
		r = VMIE_ERR_RULE(err, VMIE_EFORMAT, "FMT-001",
				  "%s: tar archive with no files: not an OVA",
				  src->name);
		goto out;
	}
	if (!ova_ends_with(first->name, ".ovf") || first->type != '0') {
		const char *where = NULL;
		for (size_t i = 0; i < t->n; i++)
			if (ova_ends_with(t->m[i].name, ".ovf"))
				where = t->m[i].name;
		if (where)
			r = VMIE_ERR_RULE(err, VMIE_EFORMAT, "FMT-001",
					  "%s: the OVF descriptor '%s' is not "
					  "the first member ('%s' is): VMware "
					  "and AWS require it first; repack "
					  "with the .ovf first", src->name,
					  where, first->name);
		else
			r = VMIE_ERR_RULE(err, VMIE_EFORMAT, "FMT-001",
					  "%s: tar archive without an OVF "
					  "descriptor (.ovf) as its first "
					  "member: not an OVA", src->name);
		goto out;
	}
	ova->ovf_member = strdup(first->name);
	if (!ova->ovf_member) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	ova->ovf_size = first->size;
	if (first->size > VMIE_OVF_MAX_BYTES) {
		r = VMIE_ERR_RULE(err, VMIE_ENOMEM, "FMT-005",
				  "%s: OVF descriptor '%s' is %llu bytes, "
				  "more than the %llu MiB limit", src->name,
				  first->name,
				  (unsigned long long)first->size,
				  (unsigned long long)
				  (VMIE_OVF_MAX_BYTES >> 20));
		goto out;
	}
	r = vmie_tar_read_member(t, first, VMIE_OVF_MAX_BYTES, &desc,
				 &desc_len, err);
	if (r)
		goto out;
	{
		char label[512];
		snprintf(label, sizeof label, "%s:%s", src->name, first->name);
		r = vmie_ovf_parse_budget(desc, desc_len, label, src->budget,
					  &ova->ovf, err);
		if (r)
			goto out;
	}
	if (ova->ovf->n_systems > 1)
		ova_warn(ova, "the OVF describes %u virtual systems; only the "
			 "first is used", ova->ovf->n_systems);
	r = ova_check_files(ova, err);
	if (r)
		goto out;
	ova->mf = ova_companion(ova, ".mf");
	ova->cert = ova_companion(ova, ".cert");
	ova->mf_name = ova->mf ? ova->mf->name : NULL;
	ova->cert_name = ova->cert ? ova->cert->name : NULL;
	for (size_t i = 0; i < ova->ovf->n_disks; i++) {
		const struct vmie_ovf_disk *d = &ova->ovf->disks[i];
		if (!d->attached)
			ova_warn(ova, "disk '%s' is not attached to any "
				 "controller in the VirtualHardwareSection",
				 d->disk_id);
	}
out:
	free(desc);
	if (r) {
		vmie_ova_close(ova);
		return r;
	}
	*out = ova;
	return 0;
}

int vmie_ova_open(const char *path, struct vmie_ova **out,
		  struct vmie_err *err)
{
	struct vmie_src *src;
	int r = vmie_src_open_file(path, &src, err);
	if (r)
		return r;
	r = vmie_ova_open_src(src, out, err);
	vmie_src_unref(src);
	return r;
}

/* The member of disk i, after the checks that apply to reading it. */
static int ova_disk_member(struct vmie_ova *ova, size_t i,
			   const struct vmie_tar_member **out,
			   struct vmie_err *err)
{
	const struct vmie_ovf *ovf = ova->ovf;
	if (i >= ovf->n_disks)
		return VMIE_ERR(err, VMIE_EINVAL, "%s: disk %zu: the OVA has "
				"%zu disk%s", ova->src->name, i, ovf->n_disks,
				ovf->n_disks == 1 ? "" : "s");
	const struct vmie_ovf_disk *d = &ovf->disks[i];
	if (d->file_index < 0)
		return VMIE_ERR(err, VMIE_ENOENT, "%s: disk %zu ('%s') has no "
				"file: it is a new, empty disk of %llu bytes",
				ova->src->name, i, d->disk_id,
				(unsigned long long)d->capacity);
	const struct vmie_ovf_file *f = &ovf->files[d->file_index];
	if (f->compression)
		return VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001",
				     "%s: disk %zu: File '%s' (%s) is "
				     "compressed (ovf:compression=\"%s\"): "
				     "compressed disk files cannot be read "
				     "in place; gunzip the file and repack "
				     "the OVA without ovf:compression",
				     ova->src->name, i, f->id, f->href,
				     f->compression);
	*out = ova->file_members[d->file_index];
	return 0;
}

int vmie_ova_disk_member(struct vmie_ova *ova, size_t i, uint64_t *off,
			 uint64_t *size, struct vmie_err *err)
{
	const struct vmie_tar_member *m;
	int r = ova_disk_member(ova, i, &m, err);
	if (r)
		return r;
	*off = m->data_off;
	*size = m->size;
	return 0;
}

int vmie_ova_disk_src(struct vmie_ova *ova, size_t i, struct vmie_src **out,
		      struct vmie_err *err)
{
	const struct vmie_tar_member *m;
	int r = ova_disk_member(ova, i, &m, err);
	if (r)
		return r;
	return vmie_tar_member_src(ova->tar, m, out, err);
}

extern const struct vmie_image_driver vmie_drv_ova;

int vmie_ova_open_disk(struct vmie_ova *ova, size_t i,
		       const struct vmie_open_opts *o, struct vmie_image **out,
		       struct vmie_err *err)
{
	struct vmie_open_opts io = { 0 };
	struct vmie_src *win;
	int r = vmie_ova_disk_src(ova, i, &win, err);
	if (r)
		return r;
	if (o)
		io = *o;
	io.ova_disk = 0;
	const struct vmie_image_driver *d = vmie_image_probe(win, err);
	if (!d) {
		r = err ? err->code : VMIE_EFORMAT;
		goto out;
	}
	if (d == &vmie_drv_ova) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-001",
				  "%s: an OVA inside an OVA is not supported",
				  win->name);
		goto out;
	}
	io.format = d->name;
	r = vmie_image_open_src(win, &io, out, err);
out:
	vmie_src_unref(win);
	return r;
}
