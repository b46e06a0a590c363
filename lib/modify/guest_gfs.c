/*
 * The "guestfs" guest backend (guest.h): the file systems vmie does not
 * write itself (XFS, Btrfs, JFS), and the guest's own tools (the
 * initramfs, PREP-015), through a libguestfs appliance.
 *
 * The appliance (a small VM that qemu runs) sees the guest's whole disks
 * as NBD exports "disk0", "disk1"... of lib/io/nbd_server.c, which serves
 * the copy-on-write overlays in this process: what the appliance writes
 * lands in the overlays, the source is never written and nothing is
 * mounted in the host kernel.  One appliance serves every file system of
 * a guest: each handle of vmie_guest_open_gfs mounts its file system at
 * a mount point of its own in the appliance ("/vmie-fs0", made by
 * guestfs_mkmountpoint), and guest paths are prefixed with it.
 *
 * Paths: the appliance resolves names inside its own root, so this file
 * walks every path itself, one component at a time (lstat): write, copy
 * and rename refuse any symbolic link on the way (VMIE_EPERM); read,
 * readdir and stat follow links inside the file system (an absolute
 * target starts again at the file system's root, ".." stops there), at
 * most GGFS_MAX_LINKS.  Reads are bounded by the caller's max, and pread
 * and write go in GGFS_CHUNK pieces (the libguestfs protocol carries at
 * most 4 MiB per message).
 *
 * Where qemu can use KVM is not known here; this host's qemu aborts with
 * it, so unless the user chose (LIBGUESTFS_BACKEND,
 * LIBGUESTFS_BACKEND_SETTINGS), the appliance runs with the direct
 * backend and force_tcg.
 */
#include "modify/guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

#ifndef VMIE_HAVE_LIBGUESTFS

bool vmie_gfs_built(void)
{
	return false;
}

static int ggfs_missing(struct vmie_err *err)
{
	return VMIE_ERR(err, VMIE_EUNSUPP, "this vmie was built without "
			"libguestfs, which XFS, Btrfs and JFS guests and "
			"initramfs regeneration need: install libguestfs-dev "
			"and rebuild; at run time it needs "
			VMIE_GFS_PACKAGES);
}

int vmie_gfs_open(struct vmie_image *const *disks, unsigned n,
		  struct vmie_gfs **out, struct vmie_err *err)
{
	*out = NULL;
	return ggfs_missing(err);
}

int vmie_gfs_device(struct vmie_gfs *s, int disk, int part, const char *lv,
		    char *out, size_t size, struct vmie_err *err)
{
	return ggfs_missing(err);
}

int vmie_guest_open_gfs(struct vmie_gfs *s, const char *dev,
			const char *subvol, const char *name,
			struct vmie_guest **out, struct vmie_err *err)
{
	*out = NULL;
	return ggfs_missing(err);
}

int vmie_gfs_layout_begin(struct vmie_gfs *s, const struct vmie_gfs_mount *m,
			  unsigned n, struct vmie_guest **root,
			  struct vmie_err *err)
{
	*root = NULL;
	return ggfs_missing(err);
}

int vmie_gfs_layout_end(struct vmie_gfs *s, struct vmie_err *err)
{
	return 0;
}

int vmie_gfs_sh(struct vmie_gfs *s, const char *cmd, char **out,
		struct vmie_err *err)
{
	*out = NULL;
	return ggfs_missing(err);
}

int vmie_gfs_sha256(struct vmie_gfs *s, const char *path, char out[65],
		    struct vmie_err *err)
{
	return ggfs_missing(err);
}

int vmie_gfs_close(struct vmie_gfs *s, struct vmie_err *err)
{
	return 0;
}

#else /* VMIE_HAVE_LIBGUESTFS */

#include <errno.h>
#include <sys/stat.h>

#include <guestfs.h>

#include "image/image.h"
#include "io/nbd_server.h"

#define GGFS_MAX_DISKS  26
#define GGFS_MAX_PATH   4096
#define GGFS_MAX_LINKS  40
#define GGFS_MAX_DIRENTS (1u << 20)
#define GGFS_MAX_FILE   ((uint64_t)1 << 30)
#define GGFS_CHUNK      (1u << 20)
#define GGFS_MAX_OUT    (64u << 10)

struct vmie_gfs {
	guestfs_h *g;
	struct vmie_nbd_server *nbd;
	unsigned n;
	char devs[GGFS_MAX_DISKS][32];  /* appliance device of disk i */
	unsigned n_mounts;              /* mount points made */
	bool layout;
};

struct ggfs {
	struct vmie_gfs *s;
	char prefix[32];                /* "/vmie-fs0"; "" for the layout */
};

bool vmie_gfs_built(void)
{
	return true;
}

static int ggfs_fail(struct vmie_gfs *s, struct vmie_err *err, int code,
		     const char *what, const char *path)
{
	const char *m = guestfs_last_error(s->g);
	return VMIE_ERR(err, code, "libguestfs: %s %s: %s", what,
			path ? path : "", m ? m : "failed");
}

/* ---- the appliance ---- */

int vmie_gfs_open(struct vmie_image *const *disks, unsigned n,
		  struct vmie_gfs **out, struct vmie_err *err)
{
	struct vmie_nbd_export ex[GGFS_MAX_DISKS];
	char names[GGFS_MAX_DISKS][16], server[160];
	unsigned nx = 0, added[GGFS_MAX_DISKS];
	struct vmie_gfs *s;
	char **devs = NULL;
	int r;

	*out = NULL;
	if (n > GGFS_MAX_DISKS)
		return VMIE_ERR(err, VMIE_EUNSUPP, "libguestfs: %u disks, "
				"more than the %d vmie gives the appliance",
				n, GGFS_MAX_DISKS);
	if (!(s = calloc(1, sizeof *s)))
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	s->n = n;
	for (unsigned i = 0; i < n; i++) {
		if (!disks[i])
			continue;
		snprintf(names[nx], sizeof names[0], "disk%u", i);
		ex[nx] = (struct vmie_nbd_export){ .name = names[nx],
						   .img = disks[i] };
		added[nx++] = i;
	}
	if (!nx) {
		free(s);
		return VMIE_ERR(err, VMIE_EINVAL, "libguestfs: no disk");
	}
	if ((r = vmie_nbd_start(ex, nx, &s->nbd, err)))
		goto fail;
	if (!(s->g = guestfs_create())) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "libguestfs: cannot create a "
			     "handle; it needs " VMIE_GFS_PACKAGES);
		goto fail;
	}
	guestfs_set_error_handler(s->g, NULL, NULL);
	if (!getenv("LIBGUESTFS_BACKEND"))
		guestfs_set_backend(s->g, "direct");
	if (!getenv("LIBGUESTFS_BACKEND_SETTINGS")) {
		char *const st[] = { (char *)"force_tcg", NULL };
		guestfs_set_backend_settings(s->g, st);
	}
	snprintf(server, sizeof server, "unix:%s", vmie_nbd_socket(s->nbd));
	for (unsigned k = 0; k < nx; k++) {
		char *const srv[] = { server, NULL };
		struct guestfs_add_drive_opts_argv a = {
			.bitmask = GUESTFS_ADD_DRIVE_OPTS_FORMAT_BITMASK |
				   GUESTFS_ADD_DRIVE_OPTS_PROTOCOL_BITMASK |
				   GUESTFS_ADD_DRIVE_OPTS_SERVER_BITMASK,
			.format = "raw",
			.protocol = "nbd",
			.server = srv,
		};
		if (guestfs_add_drive_opts_argv(s->g, names[k], &a)) {
			r = ggfs_fail(s, err, VMIE_EIO, "add drive", names[k]);
			goto fail;
		}
	}
	if (guestfs_launch(s->g)) {
		const char *m = guestfs_last_error(s->g);
		r = VMIE_ERR(err, VMIE_EUNSUPP, "libguestfs: the appliance "
			     "cannot start (%s); it needs the Debian packages "
			     VMIE_GFS_PACKAGES " (a kernel in /boot)",
			     m ? m : "launch failed");
		goto fail;
	}
	devs = guestfs_list_devices(s->g);
	for (unsigned k = 0; devs && devs[k]; k++) {
		if (k < nx)
			vmie_strlcpy(s->devs[added[k]], devs[k],
				     sizeof s->devs[0]);
		free(devs[k]);
	}
	free(devs);
	/* the guest's volume groups, if any (the appliance may have done it) */
	guestfs_vg_activate_all(s->g, 1);
	*out = s;
	return 0;
fail:
	vmie_gfs_close(s, NULL);
	return r;
}

int vmie_gfs_device(struct vmie_gfs *s, int disk, int part, const char *lv,
		    char *out, size_t size, struct vmie_err *err)
{
	if (lv && lv[0]) {
		if (strstr(lv, "..") || lv[0] == '/' ||
		    (size_t)snprintf(out, size, "/dev/%s", lv) >= size)
			return VMIE_ERR(err, VMIE_EINVAL, "libguestfs: odd "
					"volume name %s", lv);
		return 0;
	}
	if (disk < 0 || (unsigned)disk >= s->n || !s->devs[disk][0])
		return VMIE_ERR(err, VMIE_ENOENT, "libguestfs: disk %d is "
				"not in the appliance", disk);
	const char *d = s->devs[disk];
	size_t dl = strlen(d);
	bool digit = dl && d[dl - 1] >= '0' && d[dl - 1] <= '9';
	if (part <= 0)
		snprintf(out, size, "%s", d);
	else
		snprintf(out, size, "%s%s%d", d, digit ? "p" : "", part);
	return 0;
}

int vmie_gfs_close(struct vmie_gfs *s, struct vmie_err *err)
{
	int r = 0;
	if (!s)
		return 0;
	if (s->g) {
		if (guestfs_umount_all(s->g) || guestfs_sync(s->g) ||
		    guestfs_shutdown(s->g))
			r = ggfs_fail(s, err, VMIE_EIO, "shutting the "
				      "appliance down", NULL);
		guestfs_close(s->g);
	}
	vmie_nbd_stop(s->nbd);
	free(s);
	return r;
}

/* ---- paths ---- */

/* apath = prefix + guest path ("/" alone is the prefix itself). */
static int ggfs_apath(const struct ggfs *p, const char *path, char *out,
		      size_t size)
{
	int n;
	if (!path[0] || !strcmp(path, "/"))
		n = snprintf(out, size, "%s", p->prefix[0] ? p->prefix : "/");
	else
		n = snprintf(out, size, "%s%s", p->prefix, path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

enum ggfs_follow { GGFS_NOFOLLOW, GGFS_FOLLOW_DIRS, GGFS_FOLLOW_ALL };

/* Walk path inside the file system of p: *res is its guest path with
 * no link in it (as far as it exists), *exists whether the last
 * component exists (an intermediate one missing is VMIE_ENOENT).
 * GGFS_NOFOLLOW: a link anywhere is VMIE_EPERM; FOLLOW_DIRS: links
 * followed except the last component; FOLLOW_ALL: every one. */
static int ggfs_walk(struct ggfs *p, const char *path, enum ggfs_follow fl,
		     char *res, size_t rsize, bool *exists,
		     struct vmie_err *err)
{
	struct vmie_gfs *s = p->s;
	char *rest = malloc(2 * GGFS_MAX_PATH + 2);
	char *done = malloc(GGFS_MAX_PATH), *ap = malloc(GGFS_MAX_PATH + 64);
	int links = 0, r = 0;
	bool missing = false;

	*exists = false;
	if (!rest || !done || !ap) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	vmie_strlcpy(rest, path, GGFS_MAX_PATH);
	done[0] = 0;
	for (;;) {
		char *c = rest;
		while (*c == '/')
			c++;
		if (!*c)
			break;
		size_t cl = strcspn(c, "/");
		char *after = c + cl;
		while (*after == '/')
			after++;
		bool last = !*after;
		char comp[256];
		if (cl >= sizeof comp) {
			r = VMIE_ERR(err, VMIE_EINVAL, "guest guestfs: %s: a "
				     "name of more than 255 bytes", path);
			goto out;
		}
		memcpy(comp, c, cl);
		comp[cl] = 0;
		memmove(rest, after, strlen(after) + 1);
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *sl = strrchr(done, '/');
			if (sl)
				*sl = 0;
			continue;
		}
		size_t dl = strlen(done);
		if (dl + 1 + cl + 1 > GGFS_MAX_PATH) {
			r = VMIE_ERR(err, VMIE_EINVAL, "guest guestfs: %s: "
				     "path too long", path);
			goto out;
		}
		done[dl] = '/';
		memcpy(done + dl + 1, comp, cl + 1);
		if (ggfs_apath(p, done, ap, GGFS_MAX_PATH + 64)) {
			r = VMIE_ERR(err, VMIE_EINVAL, "guest guestfs: %s: "
				     "path too long", path);
			goto out;
		}
		struct guestfs_statns *st = guestfs_lstatns(s->g, ap);
		if (!st) {
			int e = guestfs_last_errno(s->g);
			if (e != ENOENT && e != ENOTDIR) {
				r = ggfs_fail(s, err, VMIE_EIO, "lstat", done);
				goto out;
			}
			if (!last) {
				r = VMIE_ERR(err, VMIE_ENOENT, "guest guestfs:"
					     " %s: no such directory", done);
				goto out;
			}
			missing = true;
			break;  /* the last one is missing */
		}
		bool lnk = S_ISLNK(st->st_mode), dir = S_ISDIR(st->st_mode);
		guestfs_free_statns(st);
		if (lnk && fl == GGFS_NOFOLLOW) {
			r = VMIE_ERR(err, VMIE_EPERM, "guest guestfs: %s: %s is "
				     "a symbolic link: not followed", path,
				     done);
			goto out;
		}
		if (lnk && !(last && fl == GGFS_FOLLOW_DIRS)) {
			if (++links > GGFS_MAX_LINKS) {
				r = VMIE_ERR(err, VMIE_EINVAL, "guest guestfs:"
					     " %s: more than %d symbolic "
					     "links", path, GGFS_MAX_LINKS);
				goto out;
			}
			char *t = guestfs_readlink(s->g, ap);
			if (!t) {
				r = ggfs_fail(s, err, VMIE_EIO, "readlink",
					      done);
				goto out;
			}
			size_t tl = strlen(t), rl = strlen(rest);
			if (tl + 1 + rl + 1 > GGFS_MAX_PATH) {
				free(t);
				r = VMIE_ERR(err, VMIE_EINVAL, "guest guestfs:"
					     " %s: link target too long",
					     path);
				goto out;
			}
			/* the target, then what was left of the path */
			memmove(rest + tl + 1, rest, rl + 1);
			memcpy(rest, t, tl);
			rest[tl] = '/';
			if (t[0] == '/')
				done[0] = 0;
			else
				done[dl] = 0;   /* back to the link's dir */
			free(t);
			continue;
		}
		if (!last && !dir) {
			r = VMIE_ERR(err, VMIE_ENOENT, "guest guestfs: %s: %s "
				     "is not a directory", path, done);
			goto out;
		}
	}
	*exists = !missing;
	if ((size_t)snprintf(res, rsize, "%s", done[0] ? done : "/") >= rsize)
		r = VMIE_ERR(err, VMIE_EINVAL, "guest guestfs: %s: path too "
			     "long", path);
out:
	free(rest);
	free(done);
	free(ap);
	return r;
}

/* The appliance path of path with no link at all in it (write, copy,
 * rename), and whether it exists (and is a regular file: *reg). */
static int ggfs_plain(struct ggfs *p, const char *path, char *ap,
		      size_t size, bool *exists, bool *reg,
		      struct vmie_err *err)
{
	char res[GGFS_MAX_PATH];
	int r = ggfs_walk(p, path, GGFS_NOFOLLOW, res, sizeof res, exists,
			  err);
	if (r)
		return r;
	if (ggfs_apath(p, res, ap, size))
		return VMIE_ERR(err, VMIE_EINVAL, "guest guestfs: %s: path "
				"too long", path);
	*reg = false;
	if (*exists) {
		struct guestfs_statns *st = guestfs_lstatns(p->s->g, ap);
		if (!st)
			return ggfs_fail(p->s, err, VMIE_EIO, "lstat", path);
		*reg = S_ISREG(st->st_mode);
		guestfs_free_statns(st);
	}
	return 0;
}

/* ---- the operations ---- */

static int ggfs_op_stat(struct vmie_guest *g, const char *path,
			struct vmie_guest_stat *st, struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	char res[GGFS_MAX_PATH], ap[GGFS_MAX_PATH + 64];
	bool exists;
	struct vmie_err e = { 0 };
	int r = ggfs_walk(p, path, GGFS_FOLLOW_DIRS, res, sizeof res, &exists,
			  &e);
	if (r == VMIE_ENOENT)
		return 0;
	if (r) {
		*err = e;
		return r;
	}
	if (!exists)
		return 0;
	if (ggfs_apath(p, res, ap, sizeof ap))
		return VMIE_ERR(err, VMIE_EINVAL, "path too long");
	struct guestfs_statns *s = guestfs_lstatns(p->s->g, ap);
	if (!s)
		return ggfs_fail(p->s, err, VMIE_EIO, "lstat", path);
	st->exists = true;
	st->is_dir = S_ISDIR(s->st_mode);
	st->is_reg = S_ISREG(s->st_mode);
	st->is_lnk = S_ISLNK(s->st_mode);
	st->size = s->st_size > 0 ? (uint64_t)s->st_size : 0;
	st->mode = (unsigned)(s->st_mode & 07777);
	st->uid = (unsigned)s->st_uid;
	st->gid = (unsigned)s->st_gid;
	guestfs_free_statns(s);
	return 0;
}

static int ggfs_op_read(struct vmie_guest *g, const char *path, size_t max,
			char **buf, size_t *len, struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	char res[GGFS_MAX_PATH], ap[GGFS_MAX_PATH + 64];
	bool exists;
	int r = ggfs_walk(p, path, GGFS_FOLLOW_ALL, res, sizeof res, &exists,
			  err);
	if (r)
		return r;
	if (!exists)
		return VMIE_ERR(err, VMIE_ENOENT, "guest guestfs: %s: %s: no "
				"such file", g->name, path);
	if (ggfs_apath(p, res, ap, sizeof ap))
		return VMIE_ERR(err, VMIE_EINVAL, "path too long");
	struct guestfs_statns *s = guestfs_lstatns(p->s->g, ap);
	if (!s)
		return ggfs_fail(p->s, err, VMIE_EIO, "lstat", path);
	bool reg = S_ISREG(s->st_mode);
	uint64_t size = s->st_size > 0 ? (uint64_t)s->st_size : 0;
	guestfs_free_statns(s);
	if (!reg)
		return VMIE_ERR(err, VMIE_EINVAL, "guest guestfs: %s: %s: not "
				"a regular file", g->name, path);
	if (size > max || size > GGFS_MAX_FILE)
		return VMIE_ERR(err, VMIE_ENOMEM, "guest guestfs: %s: %s: "
				"%llu bytes, more than %zu", g->name, path,
				(unsigned long long)size, max);
	char *b = malloc((size_t)size + 1);
	size_t got = 0;
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	while (got < size) {
		size_t n = 0, want = size - got < GGFS_CHUNK ?
			   (size_t)(size - got) : GGFS_CHUNK;
		char *c = guestfs_pread(p->s->g, ap, (int)want, (int64_t)got,
					&n);
		if (!c) {
			free(b);
			return ggfs_fail(p->s, err, VMIE_EIO, "read", path);
		}
		if (n > want)
			n = want;
		memcpy(b + got, c, n);
		free(c);
		if (!n)
			break;          /* shrank meanwhile */
		got += n;
	}
	b[got] = 0;
	*buf = b;
	*len = got;
	return 0;
}

static int ggfs_op_write(struct vmie_guest *g, const char *path,
			 const void *buf, size_t len, unsigned mode,
			 struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	guestfs_h *gh = p->s->g;
	char ap[GGFS_MAX_PATH + 64];
	bool exists, reg;
	int r = ggfs_plain(p, path, ap, sizeof ap, &exists, &reg, err);
	if (r)
		return r;
	if (exists && !reg)
		return VMIE_ERR(err, VMIE_EPERM, "guest guestfs: %s: %s: not a "
				"regular file", g->name, path);
	if ((uint64_t)len > GGFS_MAX_FILE)
		return VMIE_ERR(err, VMIE_ENOMEM, "guest guestfs: %s: %s: too "
				"big", g->name, path);
	/* guestfs_write truncates and rewrites: same inode, owner, mode */
	size_t first = len < GGFS_CHUNK ? len : GGFS_CHUNK;
	if (guestfs_write(gh, ap, buf, first))
		return ggfs_fail(p->s, err, VMIE_EIO, "write", path);
	for (size_t off = first; off < len;) {
		size_t n = len - off < GGFS_CHUNK ? len - off : GGFS_CHUNK;
		if (guestfs_write_append(gh, ap, (const char *)buf + off, n))
			return ggfs_fail(p->s, err, VMIE_EIO, "write", path);
		off += n;
	}
	if (!exists && (guestfs_chown(gh, 0, 0, ap) ||
			guestfs_chmod(gh, (int)(mode & 07777), ap)))
		return ggfs_fail(p->s, err, VMIE_EIO, "chmod", path);
	return 0;
}

static int ggfs_two(struct vmie_guest *g, const char *path,
		    const char *new_path, char *a, char *b, size_t size,
		    struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	bool exists, reg;
	int r = ggfs_plain(p, path, a, size, &exists, &reg, err);
	if (r)
		return r;
	if (!exists)
		return VMIE_ERR(err, VMIE_ENOENT, "guest guestfs: %s: %s: no "
				"such file", g->name, path);
	if (!reg)
		return VMIE_ERR(err, VMIE_EPERM, "guest guestfs: %s: %s: not a "
				"regular file", g->name, path);
	if ((r = ggfs_plain(p, new_path, b, size, &exists, &reg, err)))
		return r;
	if (exists)
		return VMIE_ERR(err, VMIE_EEXIST, "guest guestfs: %s: %s "
				"exists", g->name, new_path);
	return 0;
}

static int ggfs_op_copy(struct vmie_guest *g, const char *path,
			const char *new_path, struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	char a[GGFS_MAX_PATH + 64], b[GGFS_MAX_PATH + 64];
	int r = ggfs_two(g, path, new_path, a, b, sizeof a, err);
	if (r)
		return r;
	/* cp -a: content, mode, owner, times, extended attributes */
	if (guestfs_cp_a(p->s->g, a, b))
		return ggfs_fail(p->s, err, VMIE_EIO, "copy", path);
	return 0;
}

static int ggfs_op_rename(struct vmie_guest *g, const char *path,
			  const char *new_path, struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	char a[GGFS_MAX_PATH + 64], b[GGFS_MAX_PATH + 64];
	int r = ggfs_two(g, path, new_path, a, b, sizeof a, err);
	if (r)
		return r;
	if (guestfs_rename(p->s->g, a, b))
		return ggfs_fail(p->s, err, VMIE_EIO, "rename", path);
	return 0;
}

static int ggfs_op_readdir(struct vmie_guest *g, const char *dir,
			   vmie_guest_dir_fn fn, void *ctx,
			   struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	char res[GGFS_MAX_PATH], ap[GGFS_MAX_PATH + 64];
	bool exists;
	int r = ggfs_walk(p, dir, GGFS_FOLLOW_ALL, res, sizeof res, &exists,
			  err);
	if (r)
		return r;
	if (!exists)
		return VMIE_ERR(err, VMIE_ENOENT, "guest guestfs: %s: %s: no "
				"such directory", g->name, dir);
	if (ggfs_apath(p, res, ap, sizeof ap))
		return VMIE_ERR(err, VMIE_EINVAL, "path too long");
	struct guestfs_dirent_list *l = guestfs_readdir(p->s->g, ap);
	if (!l)
		return ggfs_fail(p->s, err, VMIE_EIO, "readdir", dir);
	for (uint32_t i = 0; i < l->len && i < GGFS_MAX_DIRENTS && !r; i++) {
		const char *n = l->val[i].name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		r = fn(ctx, n, l->val[i].ftyp == 'd');
	}
	guestfs_free_dirent_list(l);
	return r;
}

static int ggfs_op_flush(struct vmie_guest *g, struct vmie_err *err)
{
	struct ggfs *p = g->priv;
	if (guestfs_sync(p->s->g))
		return ggfs_fail(p->s, err, VMIE_EIO, "sync", g->name);
	return 0;
}

static void ggfs_op_close(struct vmie_guest *g)
{
	free(g->priv);
	free(g);
}

static const struct vmie_guest_ops ggfs_ops = {
	.kind = "guestfs",
	.read = ggfs_op_read,
	.stat = ggfs_op_stat,
	.write = ggfs_op_write,
	.copy = ggfs_op_copy,
	.rename = ggfs_op_rename,
	.readdir = ggfs_op_readdir,
	.flush = ggfs_op_flush,
	.close = ggfs_op_close,
};

static int ggfs_handle(struct vmie_gfs *s, const char *prefix,
		       const char *name, struct vmie_guest **out,
		       struct vmie_err *err)
{
	struct vmie_guest *g = calloc(1, sizeof *g);
	struct ggfs *p = calloc(1, sizeof *p);
	if (!g || !p) {
		free(g);
		free(p);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	p->s = s;
	vmie_strlcpy(p->prefix, prefix, sizeof p->prefix);
	g->ops = &ggfs_ops;
	g->priv = p;
	vmie_strlcpy(g->name, name, sizeof g->name);
	*out = g;
	return 0;
}

/* Mount options for a Btrfs subvolume (none when subvol is empty). */
static int ggfs_opts(const char *subvol, char *out, size_t size,
		     struct vmie_err *err)
{
	out[0] = 0;
	if (!subvol || !subvol[0])
		return 0;
	if (strchr(subvol, ',') || strchr(subvol, '\'') ||
	    (size_t)snprintf(out, size, "subvol=%s", subvol) >= size)
		return VMIE_ERR(err, VMIE_EUNSUPP, "libguestfs: subvolume "
				"%s: odd name", subvol);
	return 0;
}

int vmie_guest_open_gfs(struct vmie_gfs *s, const char *dev,
			const char *subvol, const char *name,
			struct vmie_guest **out, struct vmie_err *err)
{
	char mp[32], opts[200];
	int r;

	*out = NULL;
	if (s->layout)
		return VMIE_ERR(err, VMIE_EINVAL, "libguestfs: the guest's "
				"layout is mounted");
	if ((r = ggfs_opts(subvol, opts, sizeof opts, err)))
		return r;
	snprintf(mp, sizeof mp, "/vmie-fs%u", s->n_mounts);
	if (guestfs_mkmountpoint(s->g, mp))
		return ggfs_fail(s, err, VMIE_EIO, "mkmountpoint", mp);
	s->n_mounts++;
	if (guestfs_mount_options(s->g, opts, dev, mp))
		return ggfs_fail(s, err, VMIE_EIO, "mount", name);
	return ggfs_handle(s, mp, name, out, err);
}

/* Drop what the appliance's kernel cached of the disks: the other
 * backends may have written them through the overlays meanwhile. */
static void ggfs_drop(struct vmie_gfs *s)
{
	char **lvs = guestfs_lvs(s->g);
	for (unsigned i = 0; i < s->n; i++)
		if (s->devs[i][0])
			guestfs_blockdev_flushbufs(s->g, s->devs[i]);
	for (unsigned i = 0; lvs && lvs[i]; i++) {
		guestfs_blockdev_flushbufs(s->g, lvs[i]);
		free(lvs[i]);
	}
	free(lvs);
	guestfs_drop_caches(s->g, 3);
}

int vmie_gfs_layout_begin(struct vmie_gfs *s, const struct vmie_gfs_mount *m,
			  unsigned n, struct vmie_guest **root,
			  struct vmie_err *err)
{
	char opts[200];
	int r;

	*root = NULL;
	if (!n || strcmp(m[0].mountpoint, "/"))
		return VMIE_ERR(err, VMIE_EINVAL, "libguestfs: no root to "
				"mount");
	if (guestfs_umount_all(s->g))
		return ggfs_fail(s, err, VMIE_EIO, "umount", NULL);
	ggfs_drop(s);
	s->layout = true;
	for (unsigned i = 0; i < n; i++) {
		bool needed = i == 0 || !strcmp(m[i].mountpoint, "/boot");
		if ((r = ggfs_opts(m[i].subvol, opts, sizeof opts, err)))
			return r;
		if (guestfs_mount_options(s->g, opts, m[i].dev,
					  m[i].mountpoint) && needed)
			return ggfs_fail(s, err, VMIE_EIO, "mount",
					 m[i].mountpoint);
	}
	return ggfs_handle(s, "", "guest", root, err);
}

int vmie_gfs_layout_end(struct vmie_gfs *s, struct vmie_err *err)
{
	s->layout = false;
	if (guestfs_umount_all(s->g) || guestfs_sync(s->g))
		return ggfs_fail(s, err, VMIE_EIO, "umount", NULL);
	return 0;
}

int vmie_gfs_sh(struct vmie_gfs *s, const char *cmd, char **out,
		struct vmie_err *err)
{
	*out = NULL;
	char *o = guestfs_sh(s->g, cmd);
	if (!o)
		return ggfs_fail(s, err, VMIE_EIO, "in the guest:", cmd);
	if (strlen(o) > GGFS_MAX_OUT)
		o[GGFS_MAX_OUT] = 0;
	*out = o;
	return 0;
}

int vmie_gfs_sha256(struct vmie_gfs *s, const char *path, char out[65],
		    struct vmie_err *err)
{
	char *c = guestfs_checksum(s->g, "sha256", path);
	if (!c)
		return ggfs_fail(s, err, VMIE_EIO, "sha256", path);
	vmie_strlcpy(out, c, 65);
	free(c);
	return 0;
}

#endif /* VMIE_HAVE_LIBGUESTFS */
