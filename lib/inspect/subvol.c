/*
 * Btrfs subvolumes in inspection: the Linux root that an installer put in
 * a subvolume other than the default one (Fedora's "root", Ubuntu's "@"
 * under a default top level), and the subvolumes the guest's fstab mounts
 * with subvol= / subvolid= (openSUSE's "@/var", "@/home"... under a snapper
 * snapshot set as the default).
 *
 * As libguestfs' inspection does, every subvolume is a candidate root and
 * fstab's subvol= options are followed; the option semantics are those of
 * btrfs(5) "MOUNT OPTIONS": subvol= is a path from the top level (id 5)
 * whatever the default, subvolid= an id, and without either the default
 * subvolume is mounted.  Each subvolume used is read through its own
 * vmie_fs handle whose root is that subvolume (vmie_btrfs_set_root), so
 * absolute symlinks inside it restart at its own root.
 */
#include "inspect/insp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "fs/btrfs/btrfs.h"
#include "fs/fs.h"

struct insp_subvol_fs {
	unsigned fsi;
	uint64_t id;
	struct vmie_fs *fs;     /* NULL: could not be opened (not retried) */
};

struct insp_subvol_list {
	unsigned fsi;
	struct vmie_btrfs_subvol *v;
	unsigned n;
	bool ok;                /* listed without error */
};

static bool subvol_is_btrfs(struct insp_ctx *c, unsigned fsi)
{
	return fsi < c->in->n_fs && insp_fs(c, fsi) &&
	       !strcmp(c->in->fs[fsi].probe.type, "btrfs");
}

/* The subvolume list of fs entry fsi, listed once; NULL if unavailable. */
static const struct insp_subvol_list *subvol_list(struct insp_ctx *c,
						  unsigned fsi)
{
	struct insp_subvol_list *l;
	struct vmie_err e = { 0 };

	for (unsigned i = 0; i < c->n_svl; i++)
		if (c->svl[i].fsi == fsi)
			return c->svl[i].ok ? &c->svl[i] : NULL;
	if (!subvol_is_btrfs(c, fsi))
		return NULL;
	l = realloc(c->svl, (c->n_svl + 1) * sizeof *l);
	if (!l)
		return NULL;
	c->svl = l;
	l = &c->svl[c->n_svl++];
	memset(l, 0, sizeof *l);
	l->fsi = fsi;
	l->ok = !vmie_btrfs_list_subvols(insp_fs(c, fsi), &l->v, &l->n, &e);
	if (!l->ok) {
		/* the root is then looked for in the default subvolume only */
		struct vmie_inspection *in = c->in;
		if (in->n_warnings < sizeof in->warnings / sizeof *in->warnings)
			vmie_insp_fmt(in->warnings[in->n_warnings++],
				      sizeof in->warnings[0], "%s: Btrfs "
				      "subvolumes not listed: %s",
				      in->fs[fsi].device, e.msg[0] ? e.msg :
				      vmie_strerror(e.code));
	}
	return l->ok ? l : NULL;
}

void insp_btrfs_info(struct insp_ctx *c, unsigned i)
{
	struct vmie_insp_fs *f = &c->in->fs[i];
	const struct insp_subvol_list *l;
	unsigned n = 0;
	uint64_t def = 0;

	if (!subvol_is_btrfs(c, i))
		return;
	l = subvol_list(c, i);
	if (!vmie_btrfs_subvolumes(insp_fs(c, i), &n, NULL, 0))
		f->n_subvolumes = n;
	else if (l)
		f->n_subvolumes = l->n;   /* counted from the list instead */
	else
		f->subvolumes_unknown = true;
	for (unsigned k = 0; l && k < l->n; k++) {
		const char *p = l->v[k].path[0] ? l->v[k].path : "?";
		size_t have = strlen(f->subvolume_paths), want = strlen(p);
		if (have + (have ? 1 : 0) + want >= sizeof f->subvolume_paths)
			break;
		/* the list is comma-separated: a comma in a name is shown
		 * as '?' */
		char *o = f->subvolume_paths + have;
		if (have)
			*o++ = ',';
		for (size_t j = 0; j <= want; j++)
			o[j] = p[j] == ',' ? '?' : p[j];
	}
	if (!vmie_btrfs_default_subvol(insp_fs(c, i), &def))
		insp_btrfs_subvol_path(c, i, def, f->default_subvolume,
				       sizeof f->default_subvolume);
}

void insp_btrfs_subvol_path(struct insp_ctx *c, unsigned fsi, uint64_t id,
			    char *path, size_t size)
{
	const struct insp_subvol_list *l = subvol_list(c, fsi);

	path[0] = '\0';
	for (unsigned k = 0; l && k < l->n; k++)
		if (l->v[k].id == id) {
			vmie_strlcpy(path, l->v[k].path, size);
			return;
		}
}

struct vmie_fs *insp_subvol_fs(struct insp_ctx *c, unsigned fsi, uint64_t id)
{
	struct insp_subvol_fs *s;
	struct vmie_fs *fs = NULL;
	struct vmie_err e = { 0 };

	if (!subvol_is_btrfs(c, fsi))
		return NULL;
	if (id == vmie_btrfs_root_subvol(insp_fs(c, fsi)))
		return insp_fs(c, fsi);
	for (unsigned i = 0; i < c->n_svfs; i++)
		if (c->svfs[i].fsi == fsi && c->svfs[i].id == id)
			return c->svfs[i].fs;
	if (c->n_svfs >= INSP_MAX_SUBVOL_FS)
		return NULL;
	s = realloc(c->svfs, (c->n_svfs + 1) * sizeof *s);
	if (!s)
		return NULL;
	c->svfs = s;
	if (!vmie_fs_open(c->devs[fsi], &fs, &e) &&
	    vmie_btrfs_set_root(fs, id, &e)) {
		vmie_fs_close(fs);
		fs = NULL;
	}
	s[c->n_svfs].fsi = fsi;
	s[c->n_svfs].id = id;
	s[c->n_svfs].fs = fs;
	c->n_svfs++;
	return fs;
}

void insp_subvols_close(struct insp_ctx *c)
{
	for (unsigned i = 0; i < c->n_svfs; i++)
		vmie_fs_close(c->svfs[i].fs);
	for (unsigned i = 0; i < c->n_svl; i++)
		free(c->svl[i].v);
	free(c->svfs);
	free(c->svl);
	c->svfs = NULL;
	c->svl = NULL;
	c->n_svfs = c->n_svl = 0;
}

/* ---- the root in a subvolume ---- */

/* Where a subvolume comes in the search for a root: the installers'
 * names first, then ordinary subvolumes by depth, snapshots last. */
static unsigned subvol_rank(const struct vmie_btrfs_subvol *s)
{
	static const char *const names[] = { "@", "root", "@rootfs",
					     "rootfs" };
	unsigned depth = 0;

	if (!s->path[0])
		return 200;             /* not linked anywhere, or its path
					   unreadable: last */
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(s->path, names[i]))
			return (unsigned)i;
	for (const char *p = s->path; *p; p++)
		depth += *p == '/';
	if (depth > 60)
		depth = 60;
	return 10 + depth + (s->snapshot ? 100 : 0);
}

bool insp_btrfs_linux_root(struct insp_ctx *c, unsigned fsi, uint64_t *id)
{
	const struct insp_subvol_list *l = subvol_list(c, fsi);
	uint64_t cur = vmie_btrfs_root_subvol(insp_fs(c, fsi));
	unsigned tries = 0;

	if (!l)
		return false;
	/* a selection by rank, at most INSP_MAX_ROOT_TRIES subvolumes */
	for (unsigned rank = 0; rank <= 200 && tries < INSP_MAX_ROOT_TRIES;
	     rank++) {
		for (unsigned k = 0; k < l->n && tries < INSP_MAX_ROOT_TRIES;
		     k++) {
			const struct vmie_btrfs_subvol *s = &l->v[k];
			struct vmie_fs *fs;
			if (s->id == cur || subvol_rank(s) != rank)
				continue;
			tries++;
			fs = insp_subvol_fs(c, fsi, s->id);
			if (fs && vmie_insp_is_linux_root(fs, "")) {
				*id = s->id;
				return true;
			}
		}
	}
	return false;
}

/* ---- fstab ---- */

/* The value of option name ("subvol") in a comma-separated option list. */
static bool subvol_opt(const char *options, const char *name, char *val,
		       size_t size)
{
	size_t nl = strlen(name);
	const char *p = options;

	while (p && *p) {
		size_t l = strcspn(p, ",");
		if (l > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			size_t vl = l - nl - 1;
			if (vl >= size)
				vl = size - 1;
			memcpy(val, p + nl + 1, vl);
			val[vl] = '\0';
			return true;
		}
		p += l;
		if (*p)
			p++;
	}
	return false;
}

int insp_btrfs_fstab_subvol(struct insp_ctx *c, unsigned fsi,
			    const char *options, uint64_t *id, char *path,
			    size_t size)
{
	const struct insp_subvol_list *l;
	struct vmie_err e = { 0 };
	char v[VMIE_BTRFS_PATH_MAX];

	path[0] = '\0';
	if (!subvol_is_btrfs(c, fsi))
		return VMIE_EINVAL;
	if (subvol_opt(options, "subvolid", v, sizeof v)) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (*end || !v[0]) {
			vmie_insp_fmt(path, size, "subvolid=%s", v);
			return VMIE_ENOENT;
		}
		if (n == 5) {
			*id = 5;
			return 0;
		}
		if (n == 0)     /* as if not given: the default */
			goto dflt;
		l = subvol_list(c, fsi);
		for (unsigned k = 0; l && k < l->n; k++)
			if (l->v[k].id == n) {
				*id = n;
				vmie_strlcpy(path, l->v[k].path, size);
				return 0;
			}
		vmie_insp_fmt(path, size, "subvolid=%s", v);
		return VMIE_ENOENT;
	}
	if (subvol_opt(options, "subvol", v, sizeof v)) {
		if (vmie_btrfs_subvol_by_path(insp_fs(c, fsi), v, id, &e)) {
			vmie_strlcpy(path, v, size);
			return VMIE_ENOENT;
		}
		insp_btrfs_subvol_path(c, fsi, *id, path, size);
		return 0;
	}
dflt:
	if (vmie_btrfs_default_subvol(insp_fs(c, fsi), id))
		return VMIE_EINVAL;
	insp_btrfs_subvol_path(c, fsi, *id, path, size);
	return 0;
}
