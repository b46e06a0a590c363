/*
 * The image store in an S3-compatible bucket (volstore.h), over
 * lib/io/s3.h.  Under "s3://<bucket>/<prefix>/":
 *
 *   key                                what it is
 *   <prefix>/<snap-id>.raw, .qcow2     a published volume (complete)
 *   a multipart upload of such a key   a volume being written (commit
 *                                      completes it; abort or sweep
 *                                      aborts it)
 *
 * and nothing else (any other key under the prefix is a stray).  A
 * volume being written is spooled in a local file until commit
 * (vmie_s3_sink_open), which is what open_fd hands out while the task
 * writes it (the boot check runs before publication; the store keeps a
 * duplicate of the spool's descriptor until the sink is freed); a
 * published volume has no local file, so open_fd answers VMIE_EUNSUPP
 * for it.  Files kept
 * beside the volumes (the boot check's serial logs) go to "<dir>/logs" of
 * the local store directory.
 */
#include "volstore.h"
#include "../core/err.h"
#include "../core/util.h"
#include "../io/io.h"
#include "../io/s3.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VS_SNAP_MAX 32
#define VS_LIVE_MAX 64

static const char *const vs_exts[] = { "raw", "qcow2" };

struct vs3 {
	struct vmie_s3 *s3;
	char *bucket, *prefix;   /* prefix "" or "p/q" */
	char *dir;               /* the local store directory */
	pthread_mutex_t lock;
	struct {                 /* volumes being written: their spools */
		char snap[VS_SNAP_MAX];
		char fmt[8];
		int fd;
	} live[VS_LIVE_MAX];
};

static void vs_key(const struct vs3 *p, const char *snap, const char *ext,
		   char *out, size_t size)
{
	snprintf(out, size, "%s%s%s.%s", p->prefix, p->prefix[0] ? "/" : "",
		 snap, ext);
}

/* The snapshot id of a key under the prefix named as a volume, into
 * snap; false for any other key. */
static bool vs_parse_key(const struct vs3 *p, const char *key, char *snap)
{
	size_t pl = strlen(p->prefix);
	if (pl) {
		if (strncmp(key, p->prefix, pl) || key[pl] != '/')
			return false;
		key += pl + 1;
	}
	const char *dot = strchr(key, '.');
	if (!dot || !vmie_volstore_snap_ok(key, (size_t)(dot - key)))
		return false;
	bool ext = false;
	for (size_t i = 0; i < 2; i++)
		ext |= strcmp(dot + 1, vs_exts[i]) == 0;
	if (!ext)
		return false;
	memcpy(snap, key, (size_t)(dot - key));
	snap[dot - key] = '\0';
	return true;
}

static void vs_forget(struct vs3 *p, const char *snap)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < VS_LIVE_MAX; i++)
		if (p->live[i].fd >= 0 && strcmp(p->live[i].snap, snap) == 0) {
			close(p->live[i].fd);
			p->live[i].fd = -1;
		}
	pthread_mutex_unlock(&p->lock);
}

/* The sink of a volume is gone: its spool is no longer the volume's. */
static void vs_sink_freed(void *ctx, const char *key)
{
	struct vs3 *p = ctx;
	char snap[VS_SNAP_MAX];
	if (vs_parse_key(p, key, snap))
		vs_forget(p, snap);
}

static int vs_create(struct vmie_volstore *v, const char *snap_id,
		     const char *fmt, struct vmie_sink **out,
		     struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	char key[1200];
	uint64_t size;
	int r = vmie_volstore_check_snap(v, snap_id, err);

	if (r)
		return r;
	if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2"))
		return VMIE_ERR(err, VMIE_EINVAL, "%s: volume format '%.20s' "
				"(raw or qcow2)", v->where, fmt);
	for (size_t i = 0; i < 2; i++) {
		struct vmie_err e = { 0 };
		vs_key(p, snap_id, vs_exts[i], key, sizeof(key));
		r = vmie_s3_head(p->s3, p->bucket, key, &size, NULL, &e);
		if (r == 0)
			return VMIE_ERR(err, VMIE_EEXIST, "%s: volume %s exists",
					v->where, key);
		if (r != VMIE_ENOENT) {
			*err = e;
			return r;
		}
	}
	vs_key(p, snap_id, fmt, key, sizeof(key));
	r = vmie_s3_sink_open(p->s3, p->bucket, key, getenv("VMIE_S3_SPOOL"),
			      out, err);
	if (r)
		return r;
	vmie_s3_sink_on_free(*out, vs_sink_freed, p);
	int fd = vmie_s3_sink_spool_fd(*out);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; fd >= 0 && i < VS_LIVE_MAX; i++)
		if (p->live[i].fd < 0) {
			vmie_strlcpy(p->live[i].snap, snap_id, VS_SNAP_MAX);
			vmie_strlcpy(p->live[i].fmt, fmt, 8);
			p->live[i].fd = fd;
			fd = -1;
		}
	pthread_mutex_unlock(&p->lock);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int vs_open(struct vmie_volstore *v, const char *snap_id,
		   struct vmie_src **out, char *fmt, struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	char key[1200];
	int r = vmie_volstore_check_snap(v, snap_id, err);

	if (r)
		return r;
	for (size_t i = 0; i < 2; i++) {
		struct vmie_err e = { 0 };
		vs_key(p, snap_id, vs_exts[i], key, sizeof(key));
		r = vmie_s3_src_open(p->s3, p->bucket, key, out, &e);
		if (r == 0) {
			vmie_strlcpy(fmt, vs_exts[i], 8);
			vs_forget(p, snap_id);
			return 0;
		}
		if (r != VMIE_ENOENT) {
			*err = e;
			return r;
		}
	}
	return VMIE_ERR(err, VMIE_ENOENT, "%s: no volume of %s", v->where,
			snap_id);
}

static int vs_remove(struct vmie_volstore *v, const char *snap_id,
		     struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	char key[1200];
	int r = vmie_volstore_check_snap(v, snap_id, err);

	if (r)
		return r;
	vs_forget(p, snap_id);
	for (size_t i = 0; i < 2; i++) {
		vs_key(p, snap_id, vs_exts[i], key, sizeof(key));
		if ((r = vmie_s3_delete(p->s3, p->bucket, key, err)) ||
		    (r = vmie_s3_abort_uploads(p->s3, p->bucket, key, NULL,
					       NULL, NULL, err)))
			return r;
	}
	return 0;
}

struct vs_live_ctx {
	struct vs3 *p;
	vmie_volstore_live_fn live;
	void *ctx;
	unsigned strays;
	char *first;
};

/* An upload to keep: a volume key whose snapshot is live. */
static bool vs_keep_upload(const char *key, void *arg)
{
	struct vs_live_ctx *c = arg;
	char snap[VS_SNAP_MAX];
	if (!vs_parse_key(c->p, key, snap))
		return true;   /* not ours */
	return c->live && c->live(snap, c->ctx);
}

static int vs_sweep(struct vmie_volstore *v, vmie_volstore_live_fn live,
		    void *ctx, unsigned *removed, struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	struct vs_live_ctx c = { .p = p, .live = live, .ctx = ctx };
	char pf[1100];

	snprintf(pf, sizeof(pf), "%s%s", p->prefix, p->prefix[0] ? "/" : "");
	return vmie_s3_abort_uploads(p->s3, p->bucket, pf, vs_keep_upload, &c,
				     removed, err);
}

static int vs_stray_obj(const char *key, uint64_t size, void *arg)
{
	struct vs_live_ctx *c = arg;
	char snap[VS_SNAP_MAX];
	if (vs_parse_key(c->p, key, snap))
		return 0;
	if (!c->strays++ && c->first)
		vmie_strlcpy(c->first, key, 256);
	return 0;
}

static int vs_strays(struct vmie_volstore *v, vmie_volstore_live_fn live,
		     void *ctx, unsigned *n, char *first, struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	struct vs_live_ctx c = { .p = p, .live = live, .ctx = ctx,
				 .first = first };
	char pf[1100];

	if (first)
		first[0] = '\0';
	snprintf(pf, sizeof(pf), "%s%s", p->prefix, p->prefix[0] ? "/" : "");
	int r = vmie_s3_list(p->s3, p->bucket, pf, vs_stray_obj, &c, err);
	*n = c.strays;
	return r;
}

static int vs_open_fd(struct vmie_volstore *v, const char *snap_id, int *fd,
		      char *fmt, struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	int r = vmie_volstore_check_snap(v, snap_id, err);

	*fd = -1;
	if (r)
		return r;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < VS_LIVE_MAX && *fd < 0; i++)
		if (p->live[i].fd >= 0 &&
		    strcmp(p->live[i].snap, snap_id) == 0) {
			*fd = fcntl(p->live[i].fd, F_DUPFD_CLOEXEC, 0);
			vmie_strlcpy(fmt, p->live[i].fmt, 8);
		}
	pthread_mutex_unlock(&p->lock);
	if (*fd >= 0)
		return 0;
	return VMIE_ERR(err, VMIE_EUNSUPP, "%s: volume %s is an object, not "
			"a file (only a volume being written has a local "
			"spool file)", v->where, snap_id);
}

static int vs_side_path(struct vmie_volstore *v, const char *name, char *out,
			size_t size, struct vmie_err *err)
{
	struct vs3 *p = v->priv;
	char dir[4200], real[4096];

	if (!name[0] || strchr(name, '/') || name[0] == '.' ||
	    strlen(name) > 128)
		return VMIE_ERR(err, VMIE_EINVAL, "%s: '%.40s' is not a plain "
				"file name", v->where, name);
	snprintf(dir, sizeof(dir), "%s/logs", p->dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return VMIE_ERR_SYS(err, "%s: cannot create", dir);
	if (!realpath(dir, real))
		return VMIE_ERR_SYS(err, "%s: cannot resolve", dir);
	if ((size_t)snprintf(out, size, "%s/%s", real, name) >= size)
		return VMIE_ERR(err, VMIE_ERANGE, "%s/%s: path too long", real,
				name);
	return 0;
}

static void vs_close(struct vmie_volstore *v)
{
	struct vs3 *p = v->priv;
	if (p) {
		for (size_t i = 0; i < VS_LIVE_MAX; i++)
			if (p->live[i].fd >= 0)
				close(p->live[i].fd);
		pthread_mutex_destroy(&p->lock);
		vmie_s3_close(p->s3);
		free(p->bucket);
		free(p->prefix);
		free(p->dir);
		free(p);
	}
}

static const struct vmie_volstore_ops vs3_ops = {
	.kind = "s3",
	.create = vs_create,
	.open = vs_open,
	.remove = vs_remove,
	.sweep = vs_sweep,
	.strays = vs_strays,
	.close = vs_close,
	.open_fd = vs_open_fd,
	.side_path = vs_side_path,
};

int vmie_volstore_open_s3(const char *dir, const char *url,
			  const struct vmie_s3_config *c,
			  struct vmie_volstore **out, struct vmie_err *err)
{
	struct vmie_volstore *v = calloc(1, sizeof(*v));
	struct vs3 *p = calloc(1, sizeof(*p));
	int r;

	*out = NULL;
	if (!v || !p) {
		free(v);
		free(p);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < VS_LIVE_MAX; i++)
		p->live[i].fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	v->ops = &vs3_ops;
	v->priv = p;
	r = vmie_s3_parse_url(url, &p->bucket, &p->prefix, err);
	if (!r)
		r = vmie_s3_open(c, &p->s3, err);
	if (!r && !(p->dir = strdup(dir)))
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	if (!r && !(v->where = strdup(url)))
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	if (r) {
		vmie_volstore_close(v);
		return r;
	}
	*out = v;
	return 0;
}

int vmie_volstore_open_url(const char *dir, const char *volumes,
			   const char *s3_endpoint,
			   struct vmie_volstore **out, struct vmie_err *err)
{
	struct vmie_s3_config c;
	int r;

	if (!volumes || !volumes[0])
		return vmie_volstore_open_dir(dir, out, err);
	if (strncmp(volumes, "s3://", 5))
		return VMIE_ERR(err, VMIE_EINVAL, "volumes '%.200s': only an "
				"s3://bucket/prefix URL is accepted (without "
				"it, volumes live in the store directory)",
				volumes);
	if ((r = vmie_s3_config_from_env(&c, s3_endpoint, err)))
		return r;
	r = vmie_volstore_open_s3(dir, volumes, &c, out, err);
	vmie_s3_config_free(&c);
	if (!r) {
		struct vs3 *p = (*out)->priv;
		if ((r = vmie_s3_head_bucket(p->s3, p->bucket, err))) {
			vmie_volstore_close(*out);
			*out = NULL;
		}
	}
	return r;
}
