/* The image store's calls (volstore.h): each one the store's own. */
#include "volstore.h"
#include "../core/err.h"

#include "store.h"

#include <stdlib.h>
#include <string.h>

bool vmie_volstore_snap_ok(const char *id, size_t len)
{
	char buf[VMIE_ID_MAX];
	if (!id || len >= sizeof buf)
		return false;
	memcpy(buf, id, len);
	buf[len] = 0;
	return vmie_rec_id_valid(VMIE_REC_SNAPSHOT, buf);
}

int vmie_volstore_check_snap(const struct vmie_volstore *v,
			     const char *snap_id, struct vmie_err *err)
{
	if (!snap_id || !vmie_volstore_snap_ok(snap_id, strlen(snap_id)))
		return VMIE_ERR(err, VMIE_EINVAL, "%s: '%.40s' is not a snapshot "
				"id (snap- and 17 hex digits)", v->where,
				snap_id ? snap_id : "");
	return 0;
}

int vmie_volstore_create(struct vmie_volstore *v, const char *snap_id,
			 const char *fmt, struct vmie_sink **out,
			 struct vmie_err *err)
{
	return v->ops->create(v, snap_id, fmt, out, err);
}

int vmie_volstore_open(struct vmie_volstore *v, const char *snap_id,
		       struct vmie_src **out, char *fmt, struct vmie_err *err)
{
	return v->ops->open(v, snap_id, out, fmt, err);
}

int vmie_volstore_remove(struct vmie_volstore *v, const char *snap_id,
			 struct vmie_err *err)
{
	return v->ops->remove(v, snap_id, err);
}

int vmie_volstore_sweep(struct vmie_volstore *v, vmie_volstore_live_fn live,
			void *ctx, unsigned *removed, struct vmie_err *err)
{
	unsigned n = 0;
	int r = v->ops->sweep(v, live, ctx, &n, err);
	if (removed)
		*removed = n;
	return r;
}

int vmie_volstore_strays(struct vmie_volstore *v, vmie_volstore_live_fn live,
			 void *ctx, unsigned *n, char *first,
			 struct vmie_err *err)
{
	unsigned count = 0;
	if (first)
		first[0] = 0;
	int r = v->ops->strays(v, live, ctx, &count, first, err);
	if (n)
		*n = count;
	return r;
}

int vmie_volstore_open_fd(struct vmie_volstore *v, const char *snap_id,
			  int *fd, char *fmt, struct vmie_err *err)
{
	*fd = -1;
	if (!v->ops->open_fd)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: a %s store has no "
				"volume files", v->where, v->ops->kind);
	return v->ops->open_fd(v, snap_id, fd, fmt, err);
}

int vmie_volstore_side_path(struct vmie_volstore *v, const char *name,
			    char *out, size_t size, struct vmie_err *err)
{
	if (!v->ops->side_path)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: a %s store keeps no "
				"files beside its volumes", v->where,
				v->ops->kind);
	return v->ops->side_path(v, name, out, size, err);
}

void vmie_volstore_close(struct vmie_volstore *v)
{
	if (!v)
		return;
	if (v->ops->close)
		v->ops->close(v);
	free(v->where);
	free(v);
}
