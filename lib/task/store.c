/*
 * The task store's shorthands: each one calls the driver's vtable entry
 * (store.h documents the contracts; store_sqlite.c is the driver).
 */
#include "task/store.h"
#include "core/err.h"

#include <stddef.h>

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
