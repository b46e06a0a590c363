/*
 * The task store's shorthands: each one calls the driver's vtable entry
 * (store.h documents the contracts; store_sqlite.c and store_pg.c are
 * the drivers), the columns the drivers derive from a record, and the
 * choice of driver by the place named (a directory or a URL).
 */
#include "task/store.h"
#include "task/task_int.h"
#include "core/err.h"

#include <stddef.h>
#include <string.h>

/* The status column: the record's "Status" member (store.h) or, for the
 * kinds whose AWS shape keeps it elsewhere, that place: ImportSnapshotTask
 * has SnapshotTaskDetail.Status, Image and Snapshot have State.  "" when
 * there is none. */
const char *task_rec_status(enum vmie_rec_kind k, const json_t *rec)
{
	const char *v = task_str(rec, "Status");
	if (v)
		return v;
	switch (k) {
	case VMIE_REC_IMPORT_SNAPSHOT:
		v = task_str(json_object_get(rec, "SnapshotTaskDetail"),
			     "Status");
		break;
	case VMIE_REC_IMAGE:
	case VMIE_REC_SNAPSHOT:
		v = task_str(rec, "State");
		break;
	default:
		break;
	}
	return v ? v : "";
}

/* The queue column: an active task queued for a server's workers
 * (Vmie.Queued), unowned and not cancelled. */
bool task_rec_queued(enum vmie_rec_kind k, const json_t *rec)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const char *o = task_str(vm, "Owner");
	return json_is_true(json_object_get(vm, "Queued")) && (!o || !o[0]) &&
	       !json_is_true(json_object_get(vm, "CancelRequested")) &&
	       !strcmp(task_rec_status(k, rec), "active");
}

bool vmie_store_is_url(const char *where)
{
	return where && (!strncmp(where, "postgresql://", 13) ||
			 !strncmp(where, "postgres://", 11));
}

int vmie_store_open(const char *where, struct vmie_store **out,
		    struct vmie_err *err)
{
	if (vmie_store_is_url(where))
		return vmie_store_open_pg(where, out, err);
	return vmie_store_open_sqlite(where, out, err);
}

static int store_none(struct vmie_err *err)
{
	return VMIE_ERR(err, VMIE_EINVAL, "task store: no store open");
}

int vmie_store_put(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		   const char *token, const json_t *rec, char *existing,
		   struct vmie_err *err)
{
	if (!s)
		return store_none(err);
	return s->ops->put(s, k, id, token, rec, existing, err);
}

int vmie_store_get(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		   json_t **rec, struct vmie_err *err)
{
	if (!s)
		return store_none(err);
	return s->ops->get(s, k, id, rec, err);
}

int vmie_store_update(struct vmie_store *s, enum vmie_rec_kind k,
		      const char *id, vmie_store_update_fn fn, void *ctx,
		      struct vmie_err *err)
{
	if (!s)
		return store_none(err);
	return s->ops->update(s, k, id, fn, ctx, err);
}

int vmie_store_remove(struct vmie_store *s, enum vmie_rec_kind k,
		      const char *id, struct vmie_err *err)
{
	if (!s)
		return store_none(err);
	return s->ops->remove(s, k, id, err);
}

int vmie_store_list(struct vmie_store *s, enum vmie_rec_kind k,
		    const struct vmie_store_list *q, json_t **out, char *next,
		    struct vmie_err *err)
{
	if (!s)
		return store_none(err);
	return s->ops->list(s, k, q, out, next, err);
}

int vmie_store_integrity(struct vmie_store *s, struct vmie_err *err)
{
	if (!s)
		return store_none(err);
	return s->ops->integrity(s, err);
}

void vmie_store_close(struct vmie_store *s)
{
	if (s)
		s->ops->close(s);
}
