/*
 * The embedded task store (store.h): one SQLite database "<dir>/vmie.db"
 * in WAL mode, shared by every vmie process of the machine.
 *
 * Schema version 1 (PRAGMA user_version), one table:
 *
 *   records    column     type     meaning
 *              seq        INTEGER  PRIMARY KEY AUTOINCREMENT: insertion
 *                                  order, never reused (list order, paging)
 *              kind       TEXT     vmie_rec_kind_name(): "import-image"...
 *              id         TEXT     "ami-0123...", UNIQUE (kind, id)
 *              created    REAL     Unix time of the put
 *              token      TEXT     client token or NULL; unique per kind
 *                                  when set (index records_token)
 *              status     TEXT     the record's status (task_rec_status()), ""
 *              owner      TEXT     Vmie.Owner, or NULL
 *              heartbeat  REAL     Vmie.Heartbeat, or NULL
 *              doc        TEXT     the record: compact JSON, members in
 *                                  their order
 *
 * SQLite allows AUTOINCREMENT only on the INTEGER PRIMARY KEY, so (kind, id)
 * is a UNIQUE constraint rather than the primary key: the same index and
 * the same conflicts.  A database with a higher user_version was made by a
 * newer vmie and is refused; 0 is a new file, made version 1 under a write
 * lock (several processes may open a new store at once).
 *
 * Concurrency: each call is one transaction.  Writers start with BEGIN
 * IMMEDIATE (the write lock first, so that update()'s read-modify-write
 * cannot interleave with another writer and no transaction has to be
 * upgraded); readers see one WAL snapshot.  Lock waits go through SQLite's
 * busy handler (SQ_BUSY_MS) and, for the cases it does not cover (WAL
 * recovery by another process, a journal mode change), our own retries
 * until SQ_GIVE_UP_MS.  Only the start of a transaction is retried, so
 * update()'s callback runs once per call.
 */
#include "task/store.h"
#include "task/task_int.h"
#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#define SQ_SCHEMA 1
#define SQ_BUSY_MS 10000        /* SQLite's busy handler, per lock wait */
#define SQ_GIVE_UP_MS 30000     /* our retries of a transaction's start */

static const char sq_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS records ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" created REAL NOT NULL,"
	" token TEXT,"
	" status TEXT NOT NULL DEFAULT '',"
	" owner TEXT,"
	" heartbeat REAL,"
	" doc TEXT NOT NULL,"
	" UNIQUE (kind, id));"
	"CREATE UNIQUE INDEX IF NOT EXISTS records_token"
	" ON records (kind, token) WHERE token IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS records_status"
	" ON records (kind, status);";

struct sq_store {
	sqlite3 *db;
};

static sqlite3 *sq_db(struct vmie_store *s)
{
	return ((struct sq_store *)s->priv)->db;
}

static bool sq_kind_ok(enum vmie_rec_kind k)
{
	return (unsigned)k < VMIE_REC_N;
}

/* ---- errors ---- */

static int sq_vmie_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return VMIE_ECORRUPT;
	case SQLITE_FULL:
		return VMIE_ENOSPC;
	case SQLITE_NOMEM:
		return VMIE_ENOMEM;
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return VMIE_ERANGE;
	default:
		return VMIE_EIO;
	}
}

static bool sq_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* "task store <path>: <what>: <SQLite's message>", for the SQLite result
 * rc of the last call on the connection. */
__attribute__((format(printf, 6, 7)))
static int sq_fail(struct vmie_store *s, int rc, struct vmie_err *err,
		   const char *file, int line, const char *fmt, ...)
{
	sqlite3 *db = s->priv ? sq_db(s) : NULL;
	char what[VMIE_ERR_MSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const char *msg = db && (sqlite3_errcode(db) & 0xff) == (rc & 0xff) ?
			  sqlite3_errmsg(db) : sqlite3_errstr(rc);
	int code = sq_vmie_code(rc);
	vmie_err_set(err, code, NULL, file, line, "task store %s: %s: %s%s",
		     s->where, what, msg,
		     code == VMIE_ECORRUPT ? " (the database is damaged: "
		     "restore it from a backup or move it away)" : "");
	if (err && db && ((rc & 0xff) == SQLITE_IOERR ||
			  (rc & 0xff) == SQLITE_CANTOPEN ||
			  (rc & 0xff) == SQLITE_FULL))
		err->sys_errno = sqlite3_system_errno(db);
	return code;
}
#define SQ_FAIL(s, rc, err, ...) \
	sq_fail((s), (rc), (err), __FILE__, __LINE__, __VA_ARGS__)

/* ---- retries of a transaction's start ---- */

struct sq_retry {
	struct timespec t0;
	unsigned delay_ms;
};

static void sq_retry_start(struct sq_retry *r)
{
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->delay_ms = 1;
}

/* After a failure with SQLite result rc: wait a little and return true
 * when it was a lock conflict and there is time left. */
static bool sq_retry_again(struct sq_retry *r, int rc)
{
	struct timespec now;
	if (!sq_busy(rc))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (now.tv_sec - r->t0.tv_sec) * 1e3 +
		    (now.tv_nsec - r->t0.tv_nsec) / 1e6;
	if (ms > SQ_GIVE_UP_MS)
		return false;
	struct timespec d = { 0, (long)r->delay_ms * 1000000 };
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
	if (r->delay_ms < 64)
		r->delay_ms *= 2;
	return true;
}

/* Start a transaction ("BEGIN IMMEDIATE" for writers, "BEGIN" for
 * readers), retrying lock conflicts; what names the call for errors. */
static int sq_begin(struct vmie_store *s, const char *sql, const char *what,
		    struct vmie_err *err)
{
	struct sq_retry rt;
	sq_retry_start(&rt);
	for (;;) {
		int rc = sqlite3_exec(sq_db(s), sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if (!sq_retry_again(&rt, rc))
			return SQ_FAIL(s, rc, err, "%s: %s", what, sql);
	}
}

static int sq_commit(struct vmie_store *s, const char *what,
		     struct vmie_err *err)
{
	int rc = sqlite3_exec(sq_db(s), "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return SQ_FAIL(s, rc, err, "%s: COMMIT", what);
	return 0;
}

/* End a failed transaction (if SQLite has not ended it already); the
 * error already reported stays. */
static void sq_rollback(struct vmie_store *s)
{
	if (!sqlite3_get_autocommit(sq_db(s)))
		sqlite3_exec(sq_db(s), "ROLLBACK", NULL, NULL, NULL);
}

static int sq_prepare(struct vmie_store *s, const char *sql,
		      sqlite3_stmt **st, const char *what,
		      struct vmie_err *err)
{
	int rc = sqlite3_prepare_v2(sq_db(s), sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return SQ_FAIL(s, rc, err, "%s", what);
	}
	return 0;
}

/* ---- records and their columns ---- */

/* Bind status, owner and heartbeat of rec to parameters i, i+1, i+2. */
static int rec_bind_columns(sqlite3_stmt *st, int i, enum vmie_rec_kind k,
			    const json_t *rec)
{
	const json_t *vmie = json_object_get(rec, "Vmie");
	const char *owner = task_str(vmie, "Owner");
	const json_t *hb = json_object_get(vmie, "Heartbeat");
	int rc = sqlite3_bind_text(st, i, task_rec_status(k, rec), -1,
				   SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = owner ? sqlite3_bind_text(st, i + 1, owner, -1,
					       SQLITE_STATIC)
			   : sqlite3_bind_null(st, i + 1);
	if (rc == SQLITE_OK)
		rc = json_is_number(hb) ?
		     sqlite3_bind_double(st, i + 2, json_number_value(hb)) :
		     sqlite3_bind_null(st, i + 2);
	return rc;
}

/* Parse a stored doc (column col of st): a JSON object, or VMIE_ECORRUPT
 * naming the record. */
static int rec_parse(struct vmie_store *s, const char *kind, const char *id,
		     sqlite3_stmt *st, int col, json_t **out,
		     struct vmie_err *err)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	size_t len = (size_t)sqlite3_column_bytes(st, col);
	json_error_t je;
	*out = NULL;
	if (!text)
		return VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: %s %s: "
				"the record's JSON is missing", s->where,
				kind, id);
	json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!rec)
		return VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: %s %s: "
				"the record's JSON is damaged (line %d, "
				"column %d: %s)", s->where, kind, id,
				je.line, je.column, je.text);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: %s %s: "
				"the record's JSON is not an object",
				s->where, kind, id);
	}
	*out = rec;
	return 0;
}

/* ---- the calls ---- */

static int sq_put(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		  const char *token, const json_t *rec, char *existing,
		  struct vmie_err *err)
{
	sqlite3_stmt *st = NULL;
	char *doc = NULL;
	int r, rc;
	if (existing)
		existing[0] = 0;
	if (!sq_kind_ok(k))
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: put: unknown "
				"record kind %d", s->where, (int)k);
	if (!vmie_rec_id_valid(k, id))
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: put: \"%s\" "
				"is not a valid %s id", s->where,
				id ? id : "(null)", vmie_rec_kind_name(k));
	if (!json_is_object(rec))
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: put %s: the "
				"record is not a JSON object", s->where, id);
	if (token && !*token)
		token = NULL;
	doc = json_dumps(rec, JSON_COMPACT);
	if (!doc)
		return VMIE_ERR(err, VMIE_ENOMEM, "task store %s: put %s: "
				"cannot serialise the record", s->where, id);

	r = sq_begin(s, "BEGIN IMMEDIATE", "put", err);
	if (r)
		goto out;
	if (token) {
		r = sq_prepare(s, "SELECT id FROM records"
			       " WHERE kind = ?1 AND token = ?2", &st, "put",
			       err);
		if (r)
			goto out;
		sqlite3_bind_text(st, 1, vmie_rec_kind_name(k), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *old = (const char *)sqlite3_column_text(st, 0);
			if (existing)
				vmie_strlcpy(existing, old ? old : "",
					     VMIE_ID_MAX);
			r = VMIE_ERR(err, VMIE_EEXIST, "task store %s: put %s: "
				     "the client token \"%s\" was given to "
				     "%s %s", s->where, id, token,
				     vmie_rec_kind_name(k), old ? old : "");
			goto out;
		}
		if (rc != SQLITE_DONE) {
			r = SQ_FAIL(s, rc, err, "put %s: looking up the client "
				    "token", id);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	r = sq_prepare(s, "INSERT INTO records (kind, id, created, token,"
		       " status, owner, heartbeat, doc)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st, "put",
		       err);
	if (r)
		goto out;
	rc = sqlite3_bind_text(st, 1, vmie_rec_kind_name(k), -1,
			       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_double(st, 3, task_now());
	if (rc == SQLITE_OK)
		rc = token ? sqlite3_bind_text(st, 4, token, -1, SQLITE_STATIC)
			   : sqlite3_bind_null(st, 4);
	if (rc == SQLITE_OK)
		rc = rec_bind_columns(st, 5, k, rec);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 8, doc, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		r = VMIE_ERR(err, VMIE_EEXIST, "task store %s: put: %s %s "
			     "exists already", s->where,
			     vmie_rec_kind_name(k), id);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		r = SQ_FAIL(s, rc, err, "put %s", id);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sq_commit(s, "put", err);
out:
	sqlite3_finalize(st);
	if (r)
		sq_rollback(s);
	free(doc);
	return r;
}

/* One attempt of get; *src: the SQLite result of a failure. */
static int sq_get_once(struct vmie_store *s, enum vmie_rec_kind k,
		       const char *id, json_t **rec, int *src,
		       struct vmie_err *err)
{
	sqlite3_stmt *st = NULL;
	int r = sq_prepare(s, "SELECT doc FROM records"
			   " WHERE kind = ?1 AND id = ?2", &st, "get", err);
	if (r)
		return r;
	sqlite3_bind_text(st, 1, vmie_rec_kind_name(k), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = rec_parse(s, vmie_rec_kind_name(k), id, st, 0, rec, err);
	else if (rc == SQLITE_DONE)
		r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: no %s %s",
			     s->where, vmie_rec_kind_name(k), id);
	else {
		*src = rc;
		r = SQ_FAIL(s, rc, err, "get %s", id);
	}
	sqlite3_finalize(st);
	return r;
}

static int sq_get(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		  json_t **rec, struct vmie_err *err)
{
	struct sq_retry rt;
	*rec = NULL;
	if (!sq_kind_ok(k) || !id)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: get: bad "
				"kind or id", s->where);
	sq_retry_start(&rt);
	for (;;) {
		int src = SQLITE_OK;
		int r = sq_get_once(s, k, id, rec, &src, err);
		if (r == 0 || !sq_retry_again(&rt, src))
			return r;
	}
}

static int sq_update(struct vmie_store *s, enum vmie_rec_kind k,
		     const char *id, vmie_store_update_fn fn, void *ctx,
		     struct vmie_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *rec = NULL;
	char *doc = NULL;
	sqlite3_int64 seq;
	int r, rc;
	if (!sq_kind_ok(k) || !id || !fn)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: update: bad "
				"kind, id or function", s->where);

	r = sq_begin(s, "BEGIN IMMEDIATE", "update", err);
	if (r)
		goto out;
	r = sq_prepare(s, "SELECT seq, doc FROM records"
		       " WHERE kind = ?1 AND id = ?2", &st, "update", err);
	if (r)
		goto out;
	sqlite3_bind_text(st, 1, vmie_rec_kind_name(k), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: no %s %s",
			     s->where, vmie_rec_kind_name(k), id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = SQ_FAIL(s, rc, err, "update %s: reading it", id);
		goto out;
	}
	seq = sqlite3_column_int64(st, 0);
	r = rec_parse(s, vmie_rec_kind_name(k), id, st, 1, &rec, err);
	if (r)
		goto out;
	sqlite3_finalize(st);
	st = NULL;

	r = fn(rec, ctx, err);
	if (r == VMIE_STORE_UNCHANGED) {
		r = 0;
		sq_rollback(s);
		goto out;
	}
	if (r < 0)
		goto out;
	if (r > 0) {
		r = VMIE_ERR(err, VMIE_EINVAL, "task store %s: update %s: the "
			     "update function returned %d", s->where, id, r);
		goto out;
	}
	doc = json_dumps(rec, JSON_COMPACT);
	if (!doc) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "task store %s: update %s: "
			     "cannot serialise the record", s->where, id);
		goto out;
	}
	r = sq_prepare(s, "UPDATE records SET status = ?1, owner = ?2,"
		       " heartbeat = ?3, doc = ?4 WHERE seq = ?5", &st,
		       "update", err);
	if (r)
		goto out;
	rc = rec_bind_columns(st, 1, k, rec);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, doc, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		r = SQ_FAIL(s, rc, err, "update %s: writing it", id);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sq_commit(s, "update", err);
out:
	sqlite3_finalize(st);
	if (r)
		sq_rollback(s);
	json_decref(rec);
	free(doc);
	return r;
}

static int sq_remove(struct vmie_store *s, enum vmie_rec_kind k,
		     const char *id, struct vmie_err *err)
{
	sqlite3_stmt *st = NULL;
	int r, rc;
	if (!sq_kind_ok(k) || !id)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: remove: bad "
				"kind or id", s->where);
	r = sq_begin(s, "BEGIN IMMEDIATE", "remove", err);
	if (r)
		goto out;
	r = sq_prepare(s, "DELETE FROM records WHERE kind = ?1 AND id = ?2",
		       &st, "remove", err);
	if (r)
		goto out;
	sqlite3_bind_text(st, 1, vmie_rec_kind_name(k), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		r = SQ_FAIL(s, rc, err, "remove %s", id);
		goto out;
	}
	if (sqlite3_changes(sq_db(s)) == 0) {
		r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: no %s %s",
			     s->where, vmie_rec_kind_name(k), id);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sq_commit(s, "remove", err);
out:
	sqlite3_finalize(st);
	if (r)
		sq_rollback(s);
	return r;
}

/* One attempt of list, in one read transaction (one snapshot). */
static int sq_list_once(struct vmie_store *s, enum vmie_rec_kind k,
			const struct vmie_store_list *q, json_t *arr,
			char *next, int *src, struct vmie_err *err)
{
	const char *kind = vmie_rec_kind_name(k);
	const char *after = q && q->after && *q->after ? q->after : NULL;
	size_t n_ids = q && q->ids ? q->n_ids : 0;
	unsigned max = q ? q->max : 0;
	sqlite3_stmt *st = NULL;
	sqlite3_str *sql = NULL;
	sqlite3_int64 after_seq = 0;
	char last[VMIE_ID_MAX] = "";
	unsigned n = 0;
	int r, rc, p;

	/* (sq_begin has retried lock conflicts already) */
	r = sq_begin(s, "BEGIN", "list", err);
	if (r)
		return r;
	if (after) {
		r = sq_prepare(s, "SELECT seq FROM records"
			       " WHERE kind = ?1 AND id = ?2", &st, "list",
			       err);
		if (r)
			goto out;
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: list "
				     "after %s %s: no such record (removed "
				     "since the previous page?)", s->where,
				     kind, after);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			*src = rc;
			r = SQ_FAIL(s, rc, err, "list after %s", after);
			goto out;
		}
		after_seq = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		st = NULL;
	}

	sql = sqlite3_str_new(sq_db(s));
	sqlite3_str_appendall(sql, "SELECT id, doc FROM records WHERE kind = ?");
	if (after)
		sqlite3_str_appendall(sql, " AND seq > ?");
	if (q && q->status)
		sqlite3_str_appendall(sql, " AND status = ?");
	if (q && q->unended)
		sqlite3_str_appendall(sql, " AND status NOT IN ('completed',"
				      " 'deleted', 'available')");
	if (q && q->queued)     /* no queue column: a superset */
		sqlite3_str_appendall(sql, " AND status = 'active'");
	if (n_ids) {
		sqlite3_str_appendall(sql, " AND id IN (?");
		for (size_t i = 1; i < n_ids; i++)
			sqlite3_str_appendall(sql, ",?");
		sqlite3_str_appendall(sql, ")");
	}
	sqlite3_str_appendall(sql, " ORDER BY seq");
	if (max)
		sqlite3_str_appendall(sql, " LIMIT ?");
	rc = sqlite3_str_errcode(sql);
	char *text = sqlite3_str_finish(sql);
	sql = NULL;
	if (rc != SQLITE_OK || !text) {
		sqlite3_free(text);
		r = VMIE_ERR(err, VMIE_ENOMEM, "task store %s: list: out of "
			     "memory", s->where);
		goto out;
	}
	r = sq_prepare(s, text, &st, "list", err);
	sqlite3_free(text);
	if (r)
		goto out;
	p = 1;
	rc = sqlite3_bind_text(st, p++, kind, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && after)
		rc = sqlite3_bind_int64(st, p++, after_seq);
	if (rc == SQLITE_OK && q && q->status)
		rc = sqlite3_bind_text(st, p++, q->status, -1, SQLITE_STATIC);
	for (size_t i = 0; rc == SQLITE_OK && i < n_ids; i++)
		rc = q->ids[i] ? sqlite3_bind_text(st, p++, q->ids[i], -1,
						   SQLITE_STATIC)
			       : sqlite3_bind_null(st, p++);
	/* one row more than a page tells whether there is a next page */
	if (rc == SQLITE_OK && max)
		rc = sqlite3_bind_int64(st, p++, (sqlite3_int64)max + 1);
	if (rc != SQLITE_OK) {
		r = SQ_FAIL(s, rc, err, "list: binding the filters");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		json_t *rec;
		if (max && n == max) {
			if (next)
				memcpy(next, last, sizeof last);
			break;
		}
		if (!id || strlen(id) >= VMIE_ID_MAX) {
			r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: a %s "
				     "record has a bad id", s->where, kind);
			goto out;
		}
		r = rec_parse(s, kind, id, st, 1, &rec, err);
		if (r)
			goto out;
		if (json_array_append_new(arr, rec) != 0) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "task store %s: list: "
				     "out of memory", s->where);
			goto out;
		}
		vmie_strlcpy(last, id, sizeof last);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*src = rc;
		r = SQ_FAIL(s, rc, err, "list");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sq_commit(s, "list", err);
out:
	sqlite3_finalize(st);
	if (r)
		sq_rollback(s);
	return r;
}

static int sq_list(struct vmie_store *s, enum vmie_rec_kind k,
		   const struct vmie_store_list *q, json_t **out, char *next,
		   struct vmie_err *err)
{
	struct sq_retry rt;
	*out = NULL;
	if (next)
		next[0] = 0;
	if (!sq_kind_ok(k))
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: list: "
				"unknown record kind %d", s->where, (int)k);
	if (q && q->ids && q->n_ids > (size_t)sqlite3_limit(sq_db(s),
				SQLITE_LIMIT_VARIABLE_NUMBER, -1) - 4)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: list: too "
				"many ids (%zu)", s->where, q->n_ids);
	sq_retry_start(&rt);
	for (;;) {
		int src = SQLITE_OK;
		json_t *arr = json_array();
		if (!arr)
			return VMIE_ERR(err, VMIE_ENOMEM, "task store %s: "
					"list: out of memory", s->where);
		int r = sq_list_once(s, k, q, arr, next, &src, err);
		if (r == 0) {
			*out = arr;
			return 0;
		}
		json_decref(arr);
		if (next)
			next[0] = 0;
		if (!sq_retry_again(&rt, src))
			return r;
	}
}

/* One attempt of integrity: SQLite's own check, then every record's
 * JSON and id. */
static int sq_integrity_once(struct vmie_store *s, int *src,
			     struct vmie_err *err)
{
	sqlite3_stmt *st = NULL;
	int r, rc;
	r = sq_begin(s, "BEGIN", "integrity check", err);
	if (r)
		return r;
	r = sq_prepare(s, "PRAGMA integrity_check", &st, "integrity check",
		       err);
	if (r)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		*src = rc;
		r = SQ_FAIL(s, rc, err, "integrity check");
		goto out;
	}
	const char *res = (const char *)sqlite3_column_text(st, 0);
	if (!res || strcmp(res, "ok") != 0) {
		/* the first problem: "*** in database main ***\nPage 4:
		 * btreeInitPage() returns error code 11\nPage 2: ..." */
		char first[256] = "no result";
		if (res) {
			const char *nl = strchr(res, '\n');
			if (strncmp(res, "***", 3) == 0 && nl)
				res = nl + 1;
			size_t n = strcspn(res, "\n");
			snprintf(first, sizeof first, "%.*s%s", (int)n, res,
				 res[n] ? " (and more)" : "");
		}
		r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: integrity "
			     "check: %s (the database is damaged: restore it "
			     "from a backup or move it away)", s->where,
			     first);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	r = sq_prepare(s, "SELECT kind, id, doc FROM records ORDER BY seq",
		       &st, "integrity check", err);
	if (r)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 1);
		int k = vmie_rec_kind_of_id(id);
		json_t *rec;
		if (k < 0 || !kind || strcmp(kind, vmie_rec_kind_name(k)) ||
		    !vmie_rec_id_valid(k, id)) {
			r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: "
				     "integrity check: record %s of kind %s "
				     "has a bad id or kind", s->where,
				     id ? id : "(null)",
				     kind ? kind : "(null)");
			goto out;
		}
		r = rec_parse(s, kind, id, st, 2, &rec, err);
		if (r)
			goto out;
		json_decref(rec);
	}
	if (rc != SQLITE_DONE) {
		*src = rc;
		r = SQ_FAIL(s, rc, err, "integrity check");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sq_commit(s, "integrity check", err);
out:
	sqlite3_finalize(st);
	if (r)
		sq_rollback(s);
	return r;
}

static int sq_integrity(struct vmie_store *s, struct vmie_err *err)
{
	struct sq_retry rt;
	sq_retry_start(&rt);
	for (;;) {
		int src = SQLITE_OK;
		int r = sq_integrity_once(s, &src, err);
		if (r == 0 || !sq_retry_again(&rt, src))
			return r;
	}
}

static void sq_close(struct vmie_store *s)
{
	struct sq_store *p = s->priv;
	if (p) {
		/* every statement is finalized by the call that made it */
		sqlite3_close(p->db);
		free(p);
	}
	free(s->where);
	free(s);
}

static const struct vmie_store_ops sq_ops = {
	.kind = "sqlite",
	.put = sq_put,
	.get = sq_get,
	.update = sq_update,
	.remove = sq_remove,
	.list = sq_list,
	.integrity = sq_integrity,
	.close = sq_close,
};

/* ---- opening ---- */

/* mkdir -p with mode 0700 for what is created. */
static int sq_mkdirs(const char *dir, struct vmie_err *err)
{
	char *path = strdup(dir);
	struct stat sb;
	int r = 0;
	if (!path)
		return VMIE_ERR(err, VMIE_ENOMEM, "task store %s: out of "
				"memory", dir);
	for (char *c = path + 1; ; c++) {
		if (*c != '/' && *c)
			continue;
		char save = *c;
		*c = 0;
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			/* EACCES, EROFS... on a directory that exists */
			int e = errno;
			if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
				errno = e;
				r = VMIE_ERR_SYS(err, "task store %s: cannot "
						 "create the directory %s",
						 dir, path);
				goto out;
			}
		}
		*c = save;
		if (!save)
			break;
	}
	if (stat(dir, &sb) != 0) {
		r = VMIE_ERR_SYS(err, "task store %s", dir);
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		r = VMIE_ERR_SYS(err, "task store %s", dir);
	}
out:
	free(path);
	return r;
}

/* PRAGMA journal_mode=WAL.  The pragma answers the mode in force, which
 * stays the old one while another connection holds a lock: retried. */
static int sq_wal(struct vmie_store *s, struct vmie_err *err)
{
	struct sq_retry rt;
	sq_retry_start(&rt);
	for (;;) {
		sqlite3_stmt *st = NULL;
		char mode[16] = "";
		int r = sq_prepare(s, "PRAGMA journal_mode=WAL", &st,
				   "setting WAL mode", err);
		if (r)
			return r;
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
			vmie_strlcpy(mode, (const char *)
				     sqlite3_column_text(st, 0), sizeof mode);
		if (rc == SQLITE_ROW)
			rc = SQLITE_OK;
		if (rc != SQLITE_OK && !sq_busy(rc)) {
			r = SQ_FAIL(s, rc, err, "setting WAL mode");
			sqlite3_finalize(st);
			return r;
		}
		sqlite3_finalize(st);
		if (strcmp(mode, "wal") == 0)
			return 0;
		if (!sq_retry_again(&rt, SQLITE_BUSY))
			return VMIE_ERR(err, VMIE_EUNSUPP, "task store %s: "
					"cannot use WAL mode (journal mode "
					"stays \"%s\"): is it on a network "
					"file system?", s->where, mode);
	}
}

static int sq_user_version(struct vmie_store *s, int *version,
			   struct vmie_err *err)
{
	sqlite3_stmt *st = NULL;
	int r = sq_prepare(s, "PRAGMA user_version", &st, "reading the "
			   "schema version", err);
	if (r)
		return r;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else
		r = SQ_FAIL(s, rc, err, "reading the schema version");
	sqlite3_finalize(st);
	return r;
}

/* Make the schema when the file is new; refuse one from a newer vmie. */
static int sq_schema(struct vmie_store *s, struct vmie_err *err)
{
	int version = 0;
	int r = sq_begin(s, "BEGIN", "opening", err);
	if (r)
		return r;
	r = sq_user_version(s, &version, err);
	sq_rollback(s);
	if (r)
		return r;
	if (version == SQ_SCHEMA)
		return 0;
	if (version > SQ_SCHEMA || version < 0)
		return VMIE_ERR(err, VMIE_EUNSUPP, "task store %s: schema "
				"version %d is not %d, the one this vmie "
				"knows (made by a newer vmie?)", s->where,
				version, SQ_SCHEMA);
	/* version 0: a new file; another process may be making it too */
	r = sq_begin(s, "BEGIN IMMEDIATE", "creating the tables", err);
	if (r)
		return r;
	r = sq_user_version(s, &version, err);
	if (r)
		goto out;
	if (version == 0) {
		char sql[sizeof sq_schema_sql + 64];
		snprintf(sql, sizeof sql, "%sPRAGMA user_version = %d;",
			 sq_schema_sql, SQ_SCHEMA);
		int rc = sqlite3_exec(sq_db(s), sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			r = SQ_FAIL(s, rc, err, "creating the tables");
			goto out;
		}
	} else if (version != SQ_SCHEMA) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "task store %s: schema "
			     "version %d is not %d", s->where, version,
			     SQ_SCHEMA);
		goto out;
	}
	r = sq_commit(s, "creating the tables", err);
out:
	if (r)
		sq_rollback(s);
	return r;
}

int vmie_store_open_sqlite(const char *dir, struct vmie_store **out,
			   struct vmie_err *err)
{
	struct vmie_store *s = NULL;
	struct sq_store *p = NULL;
	int r, rc;
	*out = NULL;
	if (!dir || !*dir)
		return VMIE_ERR(err, VMIE_EINVAL, "task store: no directory "
				"given");
	r = sq_mkdirs(dir, err);
	if (r)
		return r;
	s = calloc(1, sizeof *s);
	p = calloc(1, sizeof *p);
	if (!s || !p || asprintf(&s->where, "%s/vmie.db", dir) < 0) {
		if (s)
			s->where = NULL;
		r = VMIE_ERR(err, VMIE_ENOMEM, "task store %s: out of memory",
			     dir);
		goto out;
	}
	s->ops = &sq_ops;
	s->priv = p;
	rc = sqlite3_open_v2(s->where, &p->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		r = SQ_FAIL(s, rc, err, "opening");
		goto out;
	}
	sqlite3_extended_result_codes(p->db, 1);
	sqlite3_busy_timeout(p->db, SQ_BUSY_MS);
	/* The file is ours: no schema tricks (triggers calling functions,
	 * writable_schema), whoever wrote it. */
	sqlite3_db_config(p->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(p->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
			  (int *)NULL);
	r = sq_wal(s, err);
	if (r)
		goto out;
	/* synchronous=FULL: in WAL mode NORMAL is safe from corruption but
	 * may lose the last commits on a power cut, and those are answers
	 * already given to clients (a task id, "cancelled", "completed"
	 * after the volume was published).  FULL syncs the WAL at each
	 * commit; the store sees a few writes a second at most (task
	 * stages, heartbeats), so the cost does not show. */
	rc = sqlite3_exec(p->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = SQ_FAIL(s, rc, err, "setting synchronous=FULL");
		goto out;
	}
	r = sq_schema(s, err);
	if (r)
		goto out;
	*out = s;
	return 0;
out:
	if (s && s->priv)
		sq_close(s);
	else {
		if (s)
			free(s->where);
		free(s);
		free(p);
	}
	return r;
}
