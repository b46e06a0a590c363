/*
 * The vmie_guest_* shorthands of guest.h: check what every backend would
 * check (a handle, an absolute path of sane length), then call the
 * backend's operation.  A backend that lacks an operation answers
 * VMIE_EUNSUPP naming itself, so a caller can tell "cannot" from
 * "failed".
 */
#include "modify/guest.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* Longest guest path accepted (the kernel's PATH_MAX). */
#define GUEST_MAX_PATH 4096

static int guest_check(struct vmie_guest *g, const char *op,
		       const char *path, struct vmie_err *err)
{
	if (!g || !g->ops)
		return VMIE_ERR(err, VMIE_EINVAL, "guest: %s: no open guest",
				op);
	if (!path || path[0] != '/')
		return VMIE_ERR(err, VMIE_EINVAL, "guest %s: %s: %s: the path "
				"must be absolute", g->ops->kind, g->name, op);
	if (strnlen(path, GUEST_MAX_PATH) >= GUEST_MAX_PATH)
		return VMIE_ERR(err, VMIE_EINVAL, "guest %s: %s: %s: path of "
				"more than %d bytes", g->ops->kind, g->name, op,
				GUEST_MAX_PATH - 1);
	return 0;
}

static int guest_lacks(struct vmie_guest *g, const char *op,
		       struct vmie_err *err)
{
	return VMIE_ERR(err, VMIE_EUNSUPP, "guest %s: %s: cannot %s",
			g->ops->kind, g->name, op);
}

int vmie_guest_read(struct vmie_guest *g, const char *path, size_t max,
		    char **buf, size_t *len, struct vmie_err *err)
{
	*buf = NULL;
	*len = 0;
	int r = guest_check(g, "read", path, err);
	if (r)
		return r;
	if (!g->ops->read)
		return guest_lacks(g, "read", err);
	return g->ops->read(g, path, max, buf, len, err);
}

int vmie_guest_stat(struct vmie_guest *g, const char *path,
		    struct vmie_guest_stat *st, struct vmie_err *err)
{
	memset(st, 0, sizeof *st);
	int r = guest_check(g, "stat", path, err);
	if (r)
		return r;
	if (!g->ops->stat)
		return guest_lacks(g, "stat", err);
	return g->ops->stat(g, path, st, err);
}

int vmie_guest_write(struct vmie_guest *g, const char *path, const void *buf,
		     size_t len, unsigned mode, struct vmie_err *err)
{
	int r = guest_check(g, "write", path, err);
	if (r)
		return r;
	if (!buf && len)
		return VMIE_ERR(err, VMIE_EINVAL, "guest %s: %s: write %s: no "
				"data", g->ops->kind, g->name, path);
	if (!g->ops->write)
		return guest_lacks(g, "write", err);
	return g->ops->write(g, path, buf, len, mode, err);
}

int vmie_guest_mkdir(struct vmie_guest *g, const char *path,
		     struct vmie_err *err)
{
	int r = guest_check(g, "mkdir", path, err);
	if (r)
		return r;
	if (!g->ops->mkdir)
		return guest_lacks(g, "mkdir", err);
	return g->ops->mkdir(g, path, err);
}

int vmie_guest_copy(struct vmie_guest *g, const char *path,
		    const char *new_path, struct vmie_err *err)
{
	int r = guest_check(g, "copy", path, err);
	if (!r)
		r = guest_check(g, "copy", new_path, err);
	if (r)
		return r;
	if (!g->ops->copy)
		return guest_lacks(g, "copy", err);
	return g->ops->copy(g, path, new_path, err);
}

int vmie_guest_rename(struct vmie_guest *g, const char *path,
		      const char *new_path, struct vmie_err *err)
{
	int r = guest_check(g, "rename", path, err);
	if (!r)
		r = guest_check(g, "rename", new_path, err);
	if (r)
		return r;
	if (!g->ops->rename)
		return guest_lacks(g, "rename", err);
	return g->ops->rename(g, path, new_path, err);
}

int vmie_guest_readdir(struct vmie_guest *g, const char *dir,
		       vmie_guest_dir_fn fn, void *ctx, struct vmie_err *err)
{
	int r = guest_check(g, "readdir", dir, err);
	if (r)
		return r;
	if (!fn)
		return VMIE_ERR(err, VMIE_EINVAL, "guest %s: %s: readdir %s: "
				"no callback", g->ops->kind, g->name, dir);
	if (!g->ops->readdir)
		return guest_lacks(g, "list directories", err);
	return g->ops->readdir(g, dir, fn, ctx, err);
}

int vmie_guest_flush(struct vmie_guest *g, struct vmie_err *err)
{
	if (!g || !g->ops)
		return VMIE_ERR(err, VMIE_EINVAL, "guest: flush: no open "
				"guest");
	if (!g->ops->flush)
		return 0;
	return g->ops->flush(g, err);
}

void vmie_guest_close(struct vmie_guest *g)
{
	if (!g)
		return;
	if (g->ops && g->ops->close)
		g->ops->close(g);
	else
		free(g);
}
