/*
 * The task store: records of tasks and of the resources they make.
 *
 * Every record is a JSON object (jansson) of one kind, keyed by its id:
 *
 *   kind                  id prefix      what the object holds
 *   import-image task     import-ami-    the ImportImageTask shape of
 *                                        botocore's ec2 service model
 *   import-snapshot task  import-snap-   ImportSnapshotTask
 *   export-image task     export-ami-    ExportImageTask
 *   image                 ami-           Image
 *   snapshot              snap-          Snapshot
 *
 * in the AWS field names and nesting, so that describe calls print them as
 * they are, plus one member "Vmie" (an object) for what vmie needs and AWS
 * does not show: the request, the stage reached, the owner of a running
 * task, volumes being written, the change journal...  Callers strip "Vmie"
 * before printing (vmie_rec_public).
 *
 * The store knows nothing of the pipeline: it keeps objects and makes each
 * change atomic.  Implementations: SQLite in WAL mode on one machine
 * (store_sqlite.c, the embedded default), PostgreSQL for several nodes
 * (store_pg.c).  Several processes may use one store at once: every
 * call is a transaction of its own, and update() is a read-modify-write
 * that no other writer can interleave with.
 *
 * Columns an implementation keeps beside the object, so that lists and
 * claims need no JSON parsing: kind, id, created (the order of lists),
 * client token (unique per kind when set), status (the object's "Status"
 * member, or "" for kinds without one), and owner + heartbeat (from the
 * object's "Vmie" member: "Owner" string, "Heartbeat" number) for claims.
 * Where the AWS shape has no top-level "Status", the status column is
 * taken from the kind's own member: SnapshotTaskDetail.Status for an
 * import-snapshot task, State for an image or a snapshot.  A store with
 * take() also keeps "queue": true for an active task that waits in a
 * server's queue (Vmie.Queued, no Owner, no CancelRequested).
 */
#ifndef VMIE_TASK_STORE_H
#define VMIE_TASK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct vmie_err;

enum vmie_rec_kind {
	VMIE_REC_IMPORT_IMAGE = 0,
	VMIE_REC_IMPORT_SNAPSHOT,
	VMIE_REC_EXPORT_IMAGE,
	VMIE_REC_IMAGE,
	VMIE_REC_SNAPSHOT,
	VMIE_REC_N
};

/* "import-image", "import-snapshot", "export-image", "image", "snapshot" */
const char *vmie_rec_kind_name(enum vmie_rec_kind k);
/* "import-ami", "import-snap", "export-ami", "ami", "snap" */
const char *vmie_rec_id_prefix(enum vmie_rec_kind k);
/* The kind an id belongs to by its prefix, or -1. */
int vmie_rec_kind_of_id(const char *id);

/* A new id: prefix, '-', 17 lowercase hex digits from getrandom(2).
 * out needs VMIE_ID_MAX bytes. */
#define VMIE_ID_MAX 32
void vmie_rec_new_id(enum vmie_rec_kind k, char *out);
/* True when id is well formed for kind k (prefix and 17 hex digits; ids
 * of 8 hex digits, the old EC2 form, are accepted too). */
bool vmie_rec_id_valid(enum vmie_rec_kind k, const char *id);

/* A copy of a record without its "Vmie" member (what users see). */
json_t *vmie_rec_public(const json_t *rec);

struct vmie_store;

/* Called by update() with the current object, to change it in place.
 * Return 0 to write it back, VMIE_EEXIST... (any negative code) to leave
 * the record as it was and make update() return that code, or
 * VMIE_STORE_UNCHANGED to leave it and return 0.  It is called once per
 * update(), while the store's write lock is held: it must be quick and
 * must not call the store. */
#define VMIE_STORE_UNCHANGED 1
typedef int (*vmie_store_update_fn)(json_t *rec, void *ctx,
				    struct vmie_err *err);

struct vmie_store_list {
	/* filters, all optional */
	const char *const *ids;   /* only these ids (NULL = all) */
	size_t n_ids;
	/* (n_ids 0 is no filter either; ids that do not exist are left
	 * out of the answer, not an error) */
	const char *status;       /* only records with this Status
	                             (the status column; NULL = any) */
	/* only tasks that have not ended: status neither "completed" nor
	 * "deleted" ("available", an image's, is left out too); what
	 * recovery reads, without the ended tasks (PostgreSQL: the partial
	 * index vmie_records_live) */
	bool unended;
	/* only tasks waiting for a worker: the queue column (PostgreSQL:
	 * the partial index vmie_records_queue); a store without that
	 * column answers the "active" tasks, a superset: callers check
	 * each record */
	bool queued;
	/* paging: records after this id in list order ("" or NULL = from
	 * the start; VMIE_ENOENT when that record no longer exists), at
	 * most max (0 = all) */
	const char *after;
	unsigned max;
};

struct vmie_store_ops {
	const char *kind;           /* "sqlite", "postgres" */
	/* Insert a new record.  VMIE_EEXIST when the id exists.  When token
	 * is non-NULL and non-empty and a record of this kind already has
	 * it, nothing is inserted: *existing (if non-NULL) receives that
	 * record's id (VMIE_ID_MAX bytes) and VMIE_EEXIST is returned.
	 * VMIE_EINVAL when id is not a valid id of kind k
	 * (vmie_rec_id_valid) or rec is not an object. */
	int (*put)(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		   const char *token, const json_t *rec, char *existing,
		   struct vmie_err *err);
	/* The record (a new reference) or VMIE_ENOENT naming the id. */
	int (*get)(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		   json_t **rec, struct vmie_err *err);
	/* Atomic read-modify-write of one record (see vmie_store_update_fn).
	 * VMIE_ENOENT when it does not exist. */
	int (*update)(struct vmie_store *s, enum vmie_rec_kind k,
		      const char *id, vmie_store_update_fn fn, void *ctx,
		      struct vmie_err *err);
	/* Remove a record (VMIE_ENOENT if absent). */
	int (*remove)(struct vmie_store *s, enum vmie_rec_kind k,
		      const char *id, struct vmie_err *err);
	/* Records of a kind in creation order (then id), filtered; *out is a
	 * new JSON array; next receives the id to pass as `after` for the
	 * next page, or "" when there is none (VMIE_ID_MAX bytes). */
	int (*list)(struct vmie_store *s, enum vmie_rec_kind k,
		    const struct vmie_store_list *q, json_t **out, char *next,
		    struct vmie_err *err);
	/* A consistency check of the store's own files (SQLite: PRAGMA
	 * integrity_check): 0 or VMIE_ECORRUPT with the first problem. */
	int (*integrity)(struct vmie_store *s, struct vmie_err *err);
	void (*close)(struct vmie_store *s);
	/* Optional (NULL: vmie_task_take lists the queue, then claims with
	 * update()).  The queue's claim in one transaction: the first
	 * record in list order, of one of the n kinds, whose queue column
	 * is set, skipping records another transaction holds (SELECT ...
	 * FOR UPDATE SKIP LOCKED), changed by fn as update() does.  0 with
	 * its kind in *k and its id in id (VMIE_ID_MAX bytes), whatever fn
	 * returned that was not negative; VMIE_ENOENT when no record is
	 * free; fn's negative code. */
	int (*take)(struct vmie_store *s, const enum vmie_rec_kind *kinds,
		    size_t n, vmie_store_update_fn fn, void *ctx,
		    enum vmie_rec_kind *k, char *id, struct vmie_err *err);
};

struct vmie_store {
	const struct vmie_store_ops *ops;
	char *where;                /* for messages: a path or a URL */
	void *priv;
};

/* Open (creating it if needed) the SQLite store "<dir>/vmie.db" (the
 * directory is created with mode 0700 when missing).  WAL mode, a busy
 * timeout of a few seconds, foreign processes welcome. */
int vmie_store_open_sqlite(const char *dir, struct vmie_store **out,
			   struct vmie_err *err);

/* Open the PostgreSQL store at url, a libpq connection string
 * ("postgresql://user@host:5432/db?sslmode=require", "postgres://...",
 * or "host=... dbname=..."): the schema is made or migrated at the
 * first open (several nodes may open at once).  One connection, used by
 * one thread at a time; lost connections are made again at the next
 * call (store_pg.c). */
int vmie_store_open_pg(const char *url, struct vmie_store **out,
		       struct vmie_err *err);
/* True when where names a PostgreSQL store ("postgresql://...",
 * "postgres://..."), not a directory. */
bool vmie_store_is_url(const char *where);
/* vmie_store_open_pg for a URL, else vmie_store_open_sqlite. */
int vmie_store_open(const char *where, struct vmie_store **out,
		    struct vmie_err *err);

/* Shorthands over the vtable. */
int vmie_store_put(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		   const char *token, const json_t *rec, char *existing,
		   struct vmie_err *err);
int vmie_store_get(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		   json_t **rec, struct vmie_err *err);
int vmie_store_update(struct vmie_store *s, enum vmie_rec_kind k,
		      const char *id, vmie_store_update_fn fn, void *ctx,
		      struct vmie_err *err);
int vmie_store_remove(struct vmie_store *s, enum vmie_rec_kind k,
		      const char *id, struct vmie_err *err);
int vmie_store_list(struct vmie_store *s, enum vmie_rec_kind k,
		    const struct vmie_store_list *q, json_t **out, char *next,
		    struct vmie_err *err);
int vmie_store_integrity(struct vmie_store *s, struct vmie_err *err);
/* NULL is fine. */
void vmie_store_close(struct vmie_store *s);

#endif
