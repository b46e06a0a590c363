/*
 * The image store in a directory (volstore.h): "<dir>/volumes" holds
 *
 *   name                               what it is
 *   <snap-id>.raw, <snap-id>.qcow2     a published volume (complete)
 *   .<snap-id>.<ext>.vmie-XXXXXX       a volume being written (the file
 *                                      sink's temporary name: io.h)
 *
 * and nothing else: any other name is a stray (vmie_volstore_strays).
 * Files kept beside the volumes (the boot check's serial logs) are in
 * "<dir>/logs".
 * Snapshot ids are checked before a name is built from them ("snap-" and
 * 17 or 8 lowercase hex digits), so no name leaves the directory.  Every
 * call works relative to the directory's fd, and volumes are opened
 * without following a symbolic link (only regular files are volumes).
 */
#include "volstore.h"
#include "../core/err.h"
#include "../io/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VD_SNAP_MAX 32           /* bytes of a snapshot id, with its NUL */
#define VD_TEMP_TAG ".vmie-"     /* temporary names end in this + 6 */

static const char *const vd_exts[] = { "raw", "qcow2" };

struct vdir {
	int dfd;                     /* "<dir>/volumes" */
};

enum vd_kind { VD_OTHER, VD_VOLUME, VD_TEMP };

/* "<snap-id>.<ext>" (len bytes of s): its snapshot id in snap. */
static bool vd_volume_name(const char *s, size_t len, char *snap)
{
	const char *dot = memchr(s, '.', len);
	if (!dot)
		return false;
	size_t sl = (size_t)(dot - s), el = len - sl - 1;
	bool ext = false;
	for (size_t i = 0; i < sizeof vd_exts / sizeof *vd_exts; i++)
		ext |= el == strlen(vd_exts[i]) &&
		       !memcmp(dot + 1, vd_exts[i], el);
	if (!ext || !vmie_volstore_snap_ok(s, sl))
		return false;
	memcpy(snap, s, sl);
	snap[sl] = 0;
	return true;
}

/* What a name of the directory is, and whose (snap). */
static enum vd_kind vd_parse(const char *name, char *snap)
{
	size_t n = strlen(name), tl = strlen(VD_TEMP_TAG);
	if (vd_volume_name(name, n, snap))
		return VD_VOLUME;
	/* ".<snap-id>.<ext>.vmie-XXXXXX" */
	if (n < 1 + tl + 6 || name[0] != '.' ||
	    memcmp(name + n - 6 - tl, VD_TEMP_TAG, tl))
		return VD_OTHER;
	for (size_t i = n - 6; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z')))
			return VD_OTHER;
	return vd_volume_name(name + 1, n - 1 - tl - 6, snap) ? VD_TEMP :
								VD_OTHER;
}

/* Call fn for every entry of the directory (but "." and ".."), with its
 * kind: a volume or temporary only when it is a regular file.  Stops at
 * fn's first error. */
static int vd_scan(struct vmie_volstore *v,
		   int (*fn)(struct vmie_volstore *v, const char *name,
			     enum vd_kind kind, const char *snap, void *ctx,
			     struct vmie_err *err),
		   void *ctx, struct vmie_err *err)
{
	struct vdir *d = v->priv;
	int fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		r = VMIE_ERR_SYS(err, "%s: cannot list", v->where);
		if (fd >= 0)
			close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		if (!e) {
			if (errno)
				r = VMIE_ERR_SYS(err, "%s: cannot list",
						 v->where);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char snap[VD_SNAP_MAX];
		enum vd_kind kind = vd_parse(e->d_name, snap);
		struct stat st;
		if (kind != VD_OTHER) {
			if (fstatat(d->dfd, e->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue;    /* gone meanwhile */
				kind = VD_OTHER;
			} else if (!S_ISREG(st.st_mode)) {
				kind = VD_OTHER;
			}
		}
		r = fn(v, e->d_name, kind, kind == VD_OTHER ? "" : snap, ctx,
		       err);
		if (r)
			break;
	}
	closedir(dir);
	return r;
}

static int vd_create(struct vmie_volstore *v, const char *snap_id,
		     const char *fmt, struct vmie_sink **out,
		     struct vmie_err *err)
{
	struct vdir *d = v->priv;
	char name[64], path[4200];
	struct stat st;
	int r = vmie_volstore_check_snap(v, snap_id, err);
	if (r)
		return r;
	if (!fmt || (strcmp(fmt, "raw") && strcmp(fmt, "qcow2")))
		return VMIE_ERR(err, VMIE_EINVAL, "%s: volume format '%.16s' "
				"(raw or qcow2)", v->where, fmt ? fmt : "");
	/* one volume per snapshot, whatever its format */
	for (size_t i = 0; i < sizeof vd_exts / sizeof *vd_exts; i++) {
		snprintf(name, sizeof name, "%s.%s", snap_id, vd_exts[i]);
		if (fstatat(d->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return VMIE_ERR(err, VMIE_EEXIST, "%s/%s: the volume of "
					"%s exists", v->where, name, snap_id);
	}
	snprintf(name, sizeof name, "%s.%s", snap_id, fmt);
	snprintf(path, sizeof path, "%s/%s", v->where, name);
	return vmie_sink_open_at(d->dfd, name, path, 0, out, err);
}

static int vd_open(struct vmie_volstore *v, const char *snap_id,
		   struct vmie_src **out, char *fmt, struct vmie_err *err)
{
	struct vdir *d = v->priv;
	char name[64], path[4200];
	int r = vmie_volstore_check_snap(v, snap_id, err);
	if (r)
		return r;
	for (size_t i = 0; i < sizeof vd_exts / sizeof *vd_exts; i++) {
		snprintf(name, sizeof name, "%s.%s", snap_id, vd_exts[i]);
		snprintf(path, sizeof path, "%s/%s", v->where, name);
		int fd = openat(d->dfd, name, O_RDONLY | O_NOFOLLOW |
				O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return errno == ELOOP ?
			       VMIE_ERR(err, VMIE_EPERM, "%s: a symbolic link, "
					"not a volume", path) :
			       VMIE_ERR_SYS(err, "%s: cannot open", path);
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return VMIE_ERR(err, VMIE_EPERM, "%s: not a regular "
					"file, not a volume", path);
		}
		r = vmie_src_open_fd(fd, path, NULL, out, err);
		if (!r && fmt)
			snprintf(fmt, 8, "%s", vd_exts[i]);
		return r;
	}
	return VMIE_ERR(err, VMIE_ENOENT, "%s: no volume of %s", v->where,
			snap_id);
}

/* Remove name (an entry of the directory); absent is fine. */
static int vd_unlink(struct vmie_volstore *v, const char *name,
		     struct vmie_err *err)
{
	struct vdir *d = v->priv;
	if (unlinkat(d->dfd, name, 0) < 0 && errno != ENOENT)
		return VMIE_ERR_SYS(err, "%s/%s: remove", v->where, name);
	return 0;
}

static int vd_remove_temp(struct vmie_volstore *v, const char *name,
			  enum vd_kind kind, const char *snap, void *ctx,
			  struct vmie_err *err)
{
	if (kind == VD_TEMP && !strcmp(snap, ctx))
		return vd_unlink(v, name, err);
	return 0;
}

static int vd_remove(struct vmie_volstore *v, const char *snap_id,
		     struct vmie_err *err)
{
	char name[64];
	int r = vmie_volstore_check_snap(v, snap_id, err);
	for (size_t i = 0; !r && i < sizeof vd_exts / sizeof *vd_exts; i++) {
		snprintf(name, sizeof name, "%s.%s", snap_id, vd_exts[i]);
		r = vd_unlink(v, name, err);
	}
	return r ? r : vd_scan(v, vd_remove_temp, (void *)snap_id, err);
}

struct vd_live {
	vmie_volstore_live_fn live;
	void *ctx;
	unsigned n;
	char *first;
	int r;                       /* sweep: the first failure */
};

static bool vd_is_live(struct vd_live *l, const char *snap)
{
	return l->live && l->live(snap, l->ctx);
}

static int vd_sweep_one(struct vmie_volstore *v, const char *name,
			enum vd_kind kind, const char *snap, void *ctx,
			struct vmie_err *err)
{
	struct vd_live *l = ctx;
	if (kind != VD_TEMP || vd_is_live(l, snap))
		return 0;
	/* go on after a failure: remove what can be removed */
	int r = vd_unlink(v, name, l->r ? NULL : err);
	if (r && !l->r)
		l->r = r;
	if (!r)
		l->n++;
	return 0;
}

static int vd_sweep(struct vmie_volstore *v, vmie_volstore_live_fn live,
		    void *ctx, unsigned *removed, struct vmie_err *err)
{
	struct vd_live l = { .live = live, .ctx = ctx };
	int r = vd_scan(v, vd_sweep_one, &l, err);
	if (removed)
		*removed = l.n;
	return r ? r : l.r;
}

static int vd_stray(struct vmie_volstore *v, const char *name,
		    enum vd_kind kind, const char *snap, void *ctx,
		    struct vmie_err *err)
{
	struct vd_live *l = ctx;
	(void)v;
	(void)err;
	if (kind == VD_VOLUME || (kind == VD_TEMP && vd_is_live(l, snap)))
		return 0;
	if (!l->n++ && l->first)
		snprintf(l->first, 256, "%s", name);
	return 0;
}

static int vd_strays(struct vmie_volstore *v, vmie_volstore_live_fn live,
		     void *ctx, unsigned *n, char *first,
		     struct vmie_err *err)
{
	struct vd_live l = { .live = live, .ctx = ctx, .first = first };
	if (first)
		first[0] = 0;
	int r = vd_scan(v, vd_stray, &l, err);
	if (n)
		*n = l.n;
	return r;
}

struct vd_find {
	const char *snap;
	char name[VD_SNAP_MAX + 32];
	unsigned n;
};

static int vd_find_temp(struct vmie_volstore *v, const char *name,
			enum vd_kind kind, const char *snap, void *ctx,
			struct vmie_err *err)
{
	struct vd_find *f = ctx;
	(void)v;
	(void)err;
	if (kind == VD_TEMP && !strcmp(snap, f->snap) &&
	    strlen(name) < sizeof f->name && !f->n++)
		snprintf(f->name, sizeof f->name, "%s", name);
	return 0;
}

static int vd_open_fd(struct vmie_volstore *v, const char *snap_id, int *fd,
		      char *fmt, struct vmie_err *err)
{
	struct vdir *d = v->priv;
	struct vd_find f = { .snap = snap_id };
	char name[VD_SNAP_MAX + 32];
	const char *ext = NULL;
	struct stat st;
	int r = vmie_volstore_check_snap(v, snap_id, err);
	if (r || (r = vd_scan(v, vd_find_temp, &f, err)))
		return r;
	if (f.n > 1)
		return VMIE_ERR(err, VMIE_EEXIST, "%s: %u volumes of %s are "
				"being written", v->where, f.n, snap_id);
	if (f.n) {
		/* ".<snap-id>.<ext>.vmie-XXXXXX" */
		size_t sl = strlen(snap_id), tl = strlen(VD_TEMP_TAG);
		size_t el = strlen(f.name) - 1 - sl - 1 - tl - 6;
		for (size_t i = 0; i < sizeof vd_exts / sizeof *vd_exts; i++)
			if (el == strlen(vd_exts[i]) &&
			    !memcmp(f.name + 1 + sl + 1, vd_exts[i], el))
				ext = vd_exts[i];
		snprintf(name, sizeof name, "%s", f.name);
	} else {
		for (size_t i = 0; i < sizeof vd_exts / sizeof *vd_exts; i++) {
			snprintf(name, sizeof name, "%s.%s", snap_id,
				 vd_exts[i]);
			if (!fstatat(d->dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
				ext = vd_exts[i];
				break;
			}
		}
	}
	if (!ext)
		return VMIE_ERR(err, VMIE_ENOENT, "%s: no volume of %s",
				v->where, snap_id);
	*fd = openat(d->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		     O_NOCTTY | O_CLOEXEC);
	if (*fd < 0)
		return VMIE_ERR_SYS(err, "%s/%s: cannot open", v->where, name);
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return VMIE_ERR(err, VMIE_EPERM, "%s/%s: not a regular file, not "
				"a volume", v->where, name);
	}
	/* the descriptor goes to other programs: blocking, as usual */
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	if (fmt)
		snprintf(fmt, 8, "%s", ext);
	return 0;
}

/* "<dir>/logs/<name>": the parent of "<dir>/volumes". */
static int vd_side_path(struct vmie_volstore *v, const char *name, char *out,
			size_t size, struct vmie_err *err)
{
	char dir[4200], real[4096];
	size_t wl = strlen(v->where), vl = strlen("/volumes");
	if (!name[0] || strchr(name, '/') || name[0] == '.' ||
	    strlen(name) > 128)
		return VMIE_ERR(err, VMIE_EINVAL, "%s: '%.40s' is not a plain "
				"file name", v->where, name);
	if (wl < vl || strcmp(v->where + wl - vl, "/volumes"))
		return VMIE_ERR(err, VMIE_EINVAL, "%s: not a volumes directory",
				v->where);
	snprintf(dir, sizeof dir, "%.*s/logs", (int)(wl - vl), v->where);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return VMIE_ERR_SYS(err, "%s: cannot create", dir);
	if (!realpath(dir, real))
		return VMIE_ERR_SYS(err, "%s: cannot resolve", dir);
	if ((size_t)snprintf(out, size, "%s/%s", real, name) >= size)
		return VMIE_ERR(err, VMIE_ERANGE, "%s/%s: path too long", real,
				name);
	return 0;
}

static void vd_close(struct vmie_volstore *v)
{
	struct vdir *d = v->priv;
	if (d)
		close(d->dfd);
	free(d);
}

static const struct vmie_volstore_ops vd_ops = {
	.kind = "dir",
	.create = vd_create,
	.open = vd_open,
	.remove = vd_remove,
	.sweep = vd_sweep,
	.strays = vd_strays,
	.close = vd_close,
	.open_fd = vd_open_fd,
	.side_path = vd_side_path,
};

int vmie_volstore_open_dir(const char *dir, struct vmie_volstore **out,
			   struct vmie_err *err)
{
	size_t n = strlen(dir) + sizeof "/volumes";
	char *where = malloc(n);
	struct vmie_volstore *v = calloc(1, sizeof *v);
	struct vdir *d = calloc(1, sizeof *d);
	int r;
	if (!where || !v || !d) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(where, n, "%s/volumes", dir);
	if (mkdir(where, 0755) < 0 && errno != EEXIST) {
		r = VMIE_ERR_SYS(err, "%s: cannot create the image store",
				 where);
		goto fail;
	}
	d->dfd = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dfd < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot open the image store", where);
		goto fail;
	}
	v->ops = &vd_ops;
	v->where = where;
	v->priv = d;
	*out = v;
	return 0;
fail:
	free(where);
	free(v);
	free(d);
	return r;
}
