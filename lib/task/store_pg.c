/*
 * The task store (store.h) in PostgreSQL, over libpq: the records of
 * several `vmie serve` nodes in one database, and their queue.
 *
 * Schema (version 2; the table vmie_schema holds the version reached):
 *
 *   vmie_records  column     type              meaning
 *                 seq        bigserial PK      insertion order (lists,
 *                                              paging, the queue's order)
 *                 kind       text              vmie_rec_kind_name()
 *                 id         text              UNIQUE (kind, id)
 *                 created    double precision  Unix time of the put
 *                 token      text              client token or NULL;
 *                                              UNIQUE (kind, token)
 *                                              where set: one token, one
 *                                              task, whichever node got it
 *                 status     text              task_rec_status(), ""
 *                 owner      text              Vmie.Owner or NULL
 *                 heartbeat  double precision  Vmie.Heartbeat or NULL
 *                 queue      boolean           task_rec_queued(): waits
 *                                              for a worker (partial
 *                                              index vmie_records_queue:
 *                                              the queue's claims and
 *                                              count)
 *                 doc        text              the record, compact JSON
 *                                              (text, not jsonb: member
 *                                              order is kept)
 *
 *   indexes: vmie_records_token, vmie_records_status (kind, status),
 *   vmie_records_queue (seq) WHERE queue, and (version 2)
 *   vmie_records_live (kind, seq) WHERE PG_UNENDED: recovery's list of
 *   the tasks not ended, so that neither it nor the queue's count reads
 *   the tasks that have ended, however many they are.
 *
 * Migrations: pg_migrations[i] takes the schema from version i to i + 1.
 * The first open of every connection runs them under a transaction-level
 * advisory lock (PG_LOCK_KEY), so nodes starting together make the
 * schema once; a version above the newest one known is refused (a newer
 * vmie made it).
 *
 * Concurrency: every call is one transaction at READ COMMITTED.  update()
 * locks its row (SELECT ... FOR UPDATE), calls fn, writes and commits:
 * no other writer interleaves.  take() is the queue's claim in one round
 * of statements: SELECT ... WHERE queue ORDER BY seq LIMIT 1 FOR UPDATE
 * SKIP LOCKED, so that concurrent workers never wait for each other or
 * claim the same task.
 *
 * Failures: the statement timeout (PG_STATEMENT_TIMEOUT_MS) bounds every
 * statement and lock wait.  A transient failure (the connection lost, the
 * server restarting or shutting down, a serialization failure or a
 * deadlock) before anything could have been committed is retried on a
 * new connection until PG_GIVE_UP_MS; update() is retried only before
 * fn was called (fn runs once per call).  A connection lost while a
 * commit was in flight is reported as such (the change may or may not
 * have been made); the next call connects again.
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
#include <time.h>

#include <libpq-fe.h>

#define PG_STATEMENT_TIMEOUT_MS 30000
#define PG_GIVE_UP_MS 30000
#define PG_CONNECT_TIMEOUT_S "10"
#define PG_LOCK_KEY 0x766d6965          /* "vmie": the migrations' lock */

/* The predicate of the partial index vmie_records_live, word for word
 * the one of the lists that use it (the planner matches them). */
#define PG_UNENDED "status NOT IN ('completed', 'deleted', 'available')"

/* pg_migrations[i]: from schema version i to i + 1 */
static const char *const pg_migrations[] = {
	"CREATE TABLE vmie_records ("
	" seq bigserial PRIMARY KEY,"
	" kind text NOT NULL,"
	" id text NOT NULL,"
	" created double precision NOT NULL,"
	" token text,"
	" status text NOT NULL DEFAULT '',"
	" owner text,"
	" heartbeat double precision,"
	" queue boolean NOT NULL DEFAULT false,"
	" doc text NOT NULL,"
	" CONSTRAINT vmie_records_kind_id UNIQUE (kind, id));"
	"CREATE UNIQUE INDEX vmie_records_token"
	" ON vmie_records (kind, token) WHERE token IS NOT NULL;"
	"CREATE INDEX vmie_records_status ON vmie_records (kind, status);"
	"CREATE INDEX vmie_records_queue ON vmie_records (seq) WHERE queue;",
	/* 1 -> 2: what recovery reads (vmie_store_list.unended): the tasks
	 * not ended, without going through every task ever run */
	"CREATE INDEX vmie_records_live ON vmie_records (kind, seq)"
	" WHERE " PG_UNENDED ";",
};
#define PG_SCHEMA (int)(sizeof pg_migrations / sizeof *pg_migrations)

struct pg_store {
	PGconn *conn;
	char *url;
	bool schema_ok;         /* this process checked the version */
};

static PGconn *pg_conn(struct vmie_store *s)
{
	return ((struct pg_store *)s->priv)->conn;
}

static bool pg_kind_ok(enum vmie_rec_kind k)
{
	return (unsigned)k < VMIE_REC_N;
}

/* ---- errors ---- */

static const char *pg_state(const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return st ? st : "";
}

static bool pg_lost(struct vmie_store *s)
{
	PGconn *c = pg_conn(s);
	return !c || PQstatus(c) == CONNECTION_BAD;
}

/* A failure that a new attempt may not see: the connection lost, the
 * server shutting down or starting, serialization or deadlock. */
static bool pg_transient(struct vmie_store *s, const PGresult *res)
{
	const char *st = pg_state(res);
	struct pg_store *p = s->priv;
	/* no SQLSTATE: libpq's own failure, the connection (a backend the
	 * server ended while the connection sat idle can still read as
	 * CONNECTION_OK until used, and then fail without a state): drop it,
	 * so that the next attempt connects again */
	if (p->conn && (!*st || PQstatus(p->conn) == CONNECTION_BAD)) {
		PQfinish(p->conn);
		p->conn = NULL;
		return true;
	}
	return pg_lost(s) || !strncmp(st, "08", 2) ||
	       !strcmp(st, "40001") || !strcmp(st, "40P01") ||
	       !strcmp(st, "57P01") || !strcmp(st, "57P02") ||
	       !strcmp(st, "57P03");
}

/* "task store <url>: <what>: <the server's message>" */
__attribute__((format(printf, 6, 7)))
static int pg_fail(struct vmie_store *s, const PGresult *res,
		   struct vmie_err *err, const char *file, int line,
		   const char *fmt, ...)
{
	char what[VMIE_ERR_MSG_MAX / 2], msg[VMIE_ERR_MSG_MAX / 2];
	const char *st = pg_state(res);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const char *m = res ? PQresultErrorMessage(res) : "";
	if (!m || !*m)
		m = pg_conn(s) ? PQerrorMessage(pg_conn(s)) : "not connected";
	vmie_strlcpy(msg, m, sizeof msg);
	for (char *c = msg; *c; c++)    /* libpq's messages span lines */
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	size_t n = strlen(msg);
	while (n && msg[n - 1] == ' ')
		msg[--n] = 0;
	int code = VMIE_EIO;
	if (!strcmp(st, "53100"))
		code = VMIE_ENOSPC;
	else if (!strcmp(st, "53200"))
		code = VMIE_ENOMEM;
	vmie_err_set(err, code, NULL, file, line, "task store %s: %s: %s%s",
		     s->where, what, msg,
		     res && pg_lost(s) ? " (the connection to PostgreSQL was "
		     "lost; the next call connects again)" :
		     !strcmp(st, "57014") ? " (statement timeout)" : "");
	return code;
}
#define PG_FAIL(s, res, err, ...) \
	pg_fail((s), (res), (err), __FILE__, __LINE__, __VA_ARGS__)

/* ---- statements ---- */

/* Run sql with text parameters; NULL parameters are SQL NULLs.  The
 * result, or NULL with err filled and *transient (may be NULL) telling
 * whether another attempt may succeed. */
static PGresult *pg_run(struct vmie_store *s, const char *sql, int n,
			const char *const *params, const char *what,
			bool *transient, struct vmie_err *err)
{
	/* (without parameters: the simple protocol, which allows the
	 * several statements of a migration) */
	PGresult *res = n ? PQexecParams(pg_conn(s), sql, n, NULL, params,
					 NULL, NULL, 0)
			  : PQexec(pg_conn(s), sql);
	ExecStatusType t = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK)
		return res;
	if (transient)
		*transient = pg_transient(s, res);
	PG_FAIL(s, res, err, "%s", what);
	PQclear(res);
	return NULL;
}

/* A statement whose result is not needed: 0 or the error code. */
static int pg_do(struct vmie_store *s, const char *sql, const char *what,
		 bool *transient, struct vmie_err *err)
{
	PGresult *res = pg_run(s, sql, 0, NULL, what, transient, err);
	if (!res)
		return err ? err->code : VMIE_EIO;
	PQclear(res);
	return 0;
}

/* End a failed transaction; the error already reported stays. */
static void pg_rollback(struct vmie_store *s)
{
	PGconn *c = pg_conn(s);
	if (c && PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

/* ---- connecting and the schema ---- */

static int pg_schema(struct vmie_store *s, bool *transient,
		     struct vmie_err *err);

/* Connect when there is no usable connection (first call, or the last
 * one was lost), with the session settings and, once per store, the
 * schema check. */
static int pg_ensure(struct vmie_store *s, bool *transient,
		     struct vmie_err *err)
{
	struct pg_store *p = s->priv;
	static const char *const kw[] = {
		"connect_timeout", "application_name", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname", NULL };
	if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	PQfinish(p->conn);
	/* our defaults first: the URL's own parameters override them */
	const char *const val[] = { PG_CONNECT_TIMEOUT_S, "vmie", "10", "5",
				    "3", p->url, NULL };
	p->conn = PQconnectdbParams(kw, val, 1);
	if (!p->conn)
		return VMIE_ERR(err, VMIE_ENOMEM, "task store %s: out of "
				"memory", s->where);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		/* unreachable or starting: worth another try; refused
		 * credentials are not, but cost little to retry */
		*transient = true;
		return PG_FAIL(s, NULL, err, "cannot connect");
	}
	char set[160];
	snprintf(set, sizeof set, "SET statement_timeout = %d;"
		 " SET lock_timeout = %d; SET client_min_messages = warning",
		 PG_STATEMENT_TIMEOUT_MS, PG_STATEMENT_TIMEOUT_MS);
	PGresult *res = PQexec(p->conn, set);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*transient = pg_transient(s, res);
		PG_FAIL(s, res, err, "session settings");
		PQclear(res);
		return err ? err->code : VMIE_EIO;
	}
	PQclear(res);
	if (!p->schema_ok) {
		int r = pg_schema(s, transient, err);
		if (r)
			return r;
		p->schema_ok = true;
	}
	return 0;
}

/* The schema version (0: none yet), inside the current transaction. */
static int pg_version(struct vmie_store *s, int *version, bool *transient,
		      struct vmie_err *err)
{
	PGresult *res = pg_run(s, "SELECT coalesce(max(version), 0)"
			       " FROM vmie_schema", 0, NULL,
			       "reading the schema version", transient, err);
	if (!res)
		return err ? err->code : VMIE_EIO;
	*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int pg_schema(struct vmie_store *s, bool *transient,
		     struct vmie_err *err)
{
	char sql[128];
	int version = 0, r;

	r = pg_do(s, "BEGIN", "opening", transient, err);
	if (r)
		return r;
	snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)",
		 PG_LOCK_KEY);
	if ((r = pg_do(s, sql, "opening: the schema lock", transient, err)) ||
	    (r = pg_do(s, "CREATE TABLE IF NOT EXISTS vmie_schema"
		       " (version integer NOT NULL, applied timestamptz"
		       " NOT NULL DEFAULT now())", "opening: vmie_schema",
		       transient, err)) ||
	    (r = pg_version(s, &version, transient, err)))
		goto out;
	if (version > PG_SCHEMA || version < 0) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "task store %s: schema version "
			     "%d is newer than %d, the newest this vmie knows "
			     "(made by a newer vmie?)", s->where, version,
			     PG_SCHEMA);
		goto out;
	}
	for (; version < PG_SCHEMA; version++) {
		snprintf(sql, sizeof sql, "INSERT INTO vmie_schema (version)"
			 " VALUES (%d)", version + 1);
		if ((r = pg_do(s, pg_migrations[version], "opening: migrating "
			       "the schema", transient, err)) ||
		    (r = pg_do(s, sql, "opening: migrating the schema",
			       transient, err)))
			goto out;
	}
	r = pg_do(s, "COMMIT", "opening", transient, err);
out:
	if (r)
		pg_rollback(s);
	return r;
}

/* ---- retries ---- */

struct pg_retry {
	struct timespec t0;
	unsigned delay_ms;
};

static void pg_retry_start(struct pg_retry *r)
{
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->delay_ms = 50;
}

/* After a failure: wait and return true when it was transient and there
 * is time left. */
static bool pg_retry_again(struct pg_retry *r, bool transient)
{
	struct timespec now;
	if (!transient)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (now.tv_sec - r->t0.tv_sec) * 1e3 +
		    (now.tv_nsec - r->t0.tv_nsec) / 1e6;
	if (ms > PG_GIVE_UP_MS)
		return false;
	struct timespec d = { (time_t)(r->delay_ms / 1000),
			      (long)(r->delay_ms % 1000) * 1000000 };
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
	if (r->delay_ms < 2000)
		r->delay_ms *= 2;
	return true;
}

/* ---- records and their columns ---- */

/* The columns kept beside a record: status, owner, heartbeat, queue as
 * parameter texts (owner and heartbeat may be NULL). */
struct pg_cols {
	const char *status, *owner, *heartbeat, *queue;
	char hb[40];
};

static void pg_columns(enum vmie_rec_kind k, const json_t *rec,
		       struct pg_cols *c)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const json_t *hb = json_object_get(vm, "Heartbeat");
	c->status = task_rec_status(k, rec);
	c->owner = task_str(vm, "Owner");
	c->heartbeat = NULL;
	if (json_is_number(hb)) {
		snprintf(c->hb, sizeof c->hb, "%.17g", json_number_value(hb));
		c->heartbeat = c->hb;
	}
	c->queue = task_rec_queued(k, rec) ? "t" : "f";
}

static int pg_parse(struct vmie_store *s, const char *kind, const char *id,
		    const char *text, json_t **out, struct vmie_err *err)
{
	json_error_t je;
	*out = NULL;
	json_t *rec = json_loads(text, JSON_REJECT_DUPLICATES, &je);
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

/* One attempt of put; *transient: may be tried again. */
static int pg_put_once(struct vmie_store *s, enum vmie_rec_kind k,
		       const char *id, const char *token, const json_t *rec,
		       const char *doc, char *existing, bool *transient,
		       struct vmie_err *err)
{
	const char *kind = vmie_rec_kind_name(k);
	PGresult *res = NULL;
	struct pg_cols c;
	char created[40];
	int r;

	if ((r = pg_ensure(s, transient, err)) ||
	    (r = pg_do(s, "BEGIN", "put", transient, err)))
		return r;
	if (token) {
		const char *const p[] = { kind, token };
		res = pg_run(s, "SELECT id FROM vmie_records"
			     " WHERE kind = $1 AND token = $2", 2, p,
			     "put: looking up the client token", transient,
			     err);
		if (!res) {
			r = err ? err->code : VMIE_EIO;
			goto out;
		}
		if (PQntuples(res) > 0) {
			const char *old = PQgetvalue(res, 0, 0);
			if (existing)
				vmie_strlcpy(existing, old, VMIE_ID_MAX);
			r = VMIE_ERR(err, VMIE_EEXIST, "task store %s: put %s: "
				     "the client token \"%s\" was given to "
				     "%s %s", s->where, id, token, kind, old);
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	pg_columns(k, rec, &c);
	snprintf(created, sizeof created, "%.17g", task_now());
	const char *const p[] = { kind, id, created, token, c.status, c.owner,
				  c.heartbeat, c.queue, doc };
	res = PQexecParams(pg_conn(s), "INSERT INTO vmie_records (kind, id,"
			   " created, token, status, owner, heartbeat, queue,"
			   " doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			   9, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *cn = PQresultErrorField(res,
						    PG_DIAG_CONSTRAINT_NAME);
		if (!strcmp(pg_state(res), "23505") && cn &&
		    !strcmp(cn, "vmie_records_token")) {
			/* another node put the same token meanwhile: the
			 * next attempt finds its record */
			*transient = true;
			r = VMIE_ERR(err, VMIE_EEXIST, "task store %s: put %s: "
				     "the client token \"%s\" is being "
				     "used", s->where, id, token);
		} else if (!strcmp(pg_state(res), "23505")) {
			r = VMIE_ERR(err, VMIE_EEXIST, "task store %s: put: "
				     "%s %s exists already", s->where, kind,
				     id);
		} else {
			*transient = pg_transient(s, res);
			r = PG_FAIL(s, res, err, "put %s", id);
		}
		goto out;
	}
	PQclear(res);
	res = NULL;
	/* a connection lost during COMMIT leaves the outcome unknown:
	 * reported, not retried (a retry would find its own record) */
	r = pg_do(s, "COMMIT", "put: COMMIT", NULL, err);
out:
	PQclear(res);
	if (r)
		pg_rollback(s);
	return r;
}

static int pg_put(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		  const char *token, const json_t *rec, char *existing,
		  struct vmie_err *err)
{
	struct pg_retry rt;
	char *doc;
	int r;
	if (existing)
		existing[0] = 0;
	if (!pg_kind_ok(k))
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
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		r = pg_put_once(s, k, id, token, rec, doc, existing,
				&transient, err);
		if (!r || !pg_retry_again(&rt, transient))
			break;
	}
	free(doc);
	return r;
}

static int pg_get(struct vmie_store *s, enum vmie_rec_kind k, const char *id,
		  json_t **rec, struct vmie_err *err)
{
	struct pg_retry rt;
	*rec = NULL;
	if (!pg_kind_ok(k) || !id)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: get: bad "
				"kind or id", s->where);
	const char *const p[] = { vmie_rec_kind_name(k), id };
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		PGresult *res = NULL;
		int r = pg_ensure(s, &transient, err);
		if (!r && !(res = pg_run(s, "SELECT doc FROM vmie_records"
					 " WHERE kind = $1 AND id = $2", 2, p,
					 "get", &transient, err)))
			r = err ? err->code : VMIE_EIO;
		if (!r && PQntuples(res) == 0)
			r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: no %s %s",
				     s->where, vmie_rec_kind_name(k), id);
		else if (!r)
			r = pg_parse(s, p[0], id, PQgetvalue(res, 0, 0), rec,
				     err);
		PQclear(res);
		if (!r || !pg_retry_again(&rt, transient))
			return r;
	}
}

/* The locked row's fn and write-back, inside the caller's transaction
 * (update, take); *called: fn ran. */
static int pg_apply(struct vmie_store *s, enum vmie_rec_kind k,
		    const char *id, const char *seq, const char *text,
		    vmie_store_update_fn fn, void *ctx, bool *called,
		    struct vmie_err *err)
{
	json_t *rec = NULL;
	char *doc = NULL;
	struct pg_cols c;
	int r = pg_parse(s, vmie_rec_kind_name(k), id, text, &rec, err);
	if (r)
		return r;
	*called = true;
	r = fn(rec, ctx, err);
	if (r == VMIE_STORE_UNCHANGED) {
		r = pg_do(s, "ROLLBACK", "update", NULL, err);
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
	pg_columns(k, rec, &c);
	const char *const p[] = { c.status, c.owner, c.heartbeat, c.queue, doc,
				  seq };
	PGresult *res = pg_run(s, "UPDATE vmie_records SET status = $1,"
			       " owner = $2, heartbeat = $3, queue = $4,"
			       " doc = $5 WHERE seq = $6", 6, p,
			       "update: writing it", NULL, err);
	if (!res) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	PQclear(res);
	r = pg_do(s, "COMMIT", "update: COMMIT", NULL, err);
out:
	json_decref(rec);
	free(doc);
	return r;
}

static int pg_update_once(struct vmie_store *s, enum vmie_rec_kind k,
			  const char *id, vmie_store_update_fn fn, void *ctx,
			  bool *transient, struct vmie_err *err)
{
	const char *const p[] = { vmie_rec_kind_name(k), id };
	PGresult *res = NULL;
	bool called = false;
	int r;

	if ((r = pg_ensure(s, transient, err)) ||
	    (r = pg_do(s, "BEGIN", "update", transient, err)))
		return r;
	res = pg_run(s, "SELECT seq, doc FROM vmie_records"
		     " WHERE kind = $1 AND id = $2 FOR UPDATE", 2, p,
		     "update: reading it", transient, err);
	if (!res) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	if (PQntuples(res) == 0) {
		r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: no %s %s",
			     s->where, p[0], id);
		goto out;
	}
	r = pg_apply(s, k, id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		     fn, ctx, &called, err);
	if (called)
		*transient = false;     /* fn runs once per call */
out:
	PQclear(res);
	if (r)
		pg_rollback(s);
	return r;
}

static int pg_update(struct vmie_store *s, enum vmie_rec_kind k,
		     const char *id, vmie_store_update_fn fn, void *ctx,
		     struct vmie_err *err)
{
	struct pg_retry rt;
	if (!pg_kind_ok(k) || !id || !fn)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: update: bad "
				"kind, id or function", s->where);
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		int r = pg_update_once(s, k, id, fn, ctx, &transient, err);
		if (!r || !pg_retry_again(&rt, transient))
			return r;
	}
}

static int pg_take_once(struct vmie_store *s, const enum vmie_rec_kind *kinds,
			size_t n, vmie_store_update_fn fn, void *ctx,
			enum vmie_rec_kind *k, char *id, bool *transient,
			struct vmie_err *err)
{
	char sql[512];
	size_t len;
	PGresult *res = NULL;
	bool called = false;
	int r;

	len = (size_t)snprintf(sql, sizeof sql, "SELECT seq, kind, id, doc"
			       " FROM vmie_records WHERE queue AND kind IN (");
	for (size_t i = 0; i < n && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, "%s'%s'",
					i ? ", " : "",
					vmie_rec_kind_name(kinds[i]));
	if (len < sizeof sql)
		snprintf(sql + len, sizeof sql - len, ") ORDER BY seq LIMIT 1"
			 " FOR UPDATE SKIP LOCKED");
	if ((r = pg_ensure(s, transient, err)) ||
	    (r = pg_do(s, "BEGIN", "take", transient, err)))
		return r;
	res = pg_run(s, sql, 0, NULL, "take: the queue", transient, err);
	if (!res) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	if (PQntuples(res) == 0) {
		r = VMIE_ERR(err, VMIE_ENOENT, "the queue is empty");
		goto out;
	}
	int kk = vmie_rec_kind_of_id(PQgetvalue(res, 0, 2));
	if (kk < 0 || strcmp(PQgetvalue(res, 0, 1),
			     vmie_rec_kind_name((enum vmie_rec_kind)kk)) ||
	    strlen(PQgetvalue(res, 0, 2)) >= VMIE_ID_MAX) {
		r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: take: record "
			     "%.40s of kind %.20s has a bad id or kind",
			     s->where, PQgetvalue(res, 0, 2),
			     PQgetvalue(res, 0, 1));
		goto out;
	}
	*k = (enum vmie_rec_kind)kk;
	vmie_strlcpy(id, PQgetvalue(res, 0, 2), VMIE_ID_MAX);
	r = pg_apply(s, *k, id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 3),
		     fn, ctx, &called, err);
	if (called)
		*transient = false;
out:
	PQclear(res);
	if (r)
		pg_rollback(s);
	return r;
}

static int pg_take(struct vmie_store *s, const enum vmie_rec_kind *kinds,
		   size_t n, vmie_store_update_fn fn, void *ctx,
		   enum vmie_rec_kind *k, char *id, struct vmie_err *err)
{
	struct pg_retry rt;
	id[0] = 0;
	if (!n || n > VMIE_REC_N || !fn)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: take: bad "
				"kinds or function", s->where);
	for (size_t i = 0; i < n; i++)
		if (!pg_kind_ok(kinds[i]))
			return VMIE_ERR(err, VMIE_EINVAL, "task store %s: take: "
					"unknown record kind %d", s->where,
					(int)kinds[i]);
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		int r = pg_take_once(s, kinds, n, fn, ctx, k, id, &transient,
				     err);
		if (!r || !pg_retry_again(&rt, transient))
			return r;
	}
}

static int pg_remove_once(struct vmie_store *s, enum vmie_rec_kind k,
			  const char *id, bool *transient,
			  struct vmie_err *err)
{
	const char *const p[] = { vmie_rec_kind_name(k), id };
	PGresult *res;
	int r;
	if ((r = pg_ensure(s, transient, err)) ||
	    (r = pg_do(s, "BEGIN", "remove", transient, err)))
		return r;
	res = pg_run(s, "DELETE FROM vmie_records WHERE kind = $1 AND id = $2",
		     2, p, "remove", transient, err);
	if (!res) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	if (!strcmp(PQcmdTuples(res), "0"))
		r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: no %s %s",
			     s->where, p[0], id);
	PQclear(res);
	if (!r)
		r = pg_do(s, "COMMIT", "remove: COMMIT", NULL, err);
out:
	if (r)
		pg_rollback(s);
	return r;
}

static int pg_remove(struct vmie_store *s, enum vmie_rec_kind k,
		     const char *id, struct vmie_err *err)
{
	struct pg_retry rt;
	if (!pg_kind_ok(k) || !id)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: remove: bad "
				"kind or id", s->where);
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		int r = pg_remove_once(s, k, id, &transient, err);
		if (!r || !pg_retry_again(&rt, transient))
			return r;
	}
}

/* A growing SQL text with its parameters. */
struct pg_sql {
	char *text;
	size_t len, cap;
	const char **params;
	int n;
	bool nomem;
};

static void pg_sql_add(struct pg_sql *q, const char *t)
{
	size_t l = strlen(t);
	if (q->nomem)
		return;
	if (q->len + l + 1 > q->cap) {
		size_t cap = (q->len + l + 1) * 2;
		char *n = realloc(q->text, cap);
		if (!n) {
			q->nomem = true;
			return;
		}
		q->text = n;
		q->cap = cap;
	}
	memcpy(q->text + q->len, t, l + 1);
	q->len += l;
}

/* Append " <before>$N" with a new parameter v. */
static void pg_sql_param(struct pg_sql *q, const char *before, const char *v)
{
	char num[32];
	snprintf(num, sizeof num, "%s$%d", before, q->n + 1);
	pg_sql_add(q, num);
	q->params[q->n++] = v;
}

static int pg_list_once(struct vmie_store *s, enum vmie_rec_kind k,
			const struct vmie_store_list *q, json_t *arr,
			char *next, bool *transient, struct vmie_err *err)
{
	const char *kind = vmie_rec_kind_name(k);
	const char *after = q && q->after && *q->after ? q->after : NULL;
	size_t n_ids = q && q->ids ? q->n_ids : 0;
	unsigned max = q ? q->max : 0;
	struct pg_sql sql = { 0 };
	char after_seq[32] = "", limit[32];
	char last[VMIE_ID_MAX] = "";
	PGresult *res = NULL;
	int r;

	sql.params = calloc(n_ids + 4, sizeof *sql.params);
	if (!sql.params)
		return VMIE_ERR(err, VMIE_ENOMEM, "task store %s: list: out of "
				"memory", s->where);
	if ((r = pg_ensure(s, transient, err)) ||
	    (r = pg_do(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		       "list", transient, err)))
		goto out;
	if (after) {
		const char *const p[] = { kind, after };
		res = pg_run(s, "SELECT seq FROM vmie_records"
			     " WHERE kind = $1 AND id = $2", 2, p, "list",
			     transient, err);
		if (!res) {
			r = err ? err->code : VMIE_EIO;
			goto out;
		}
		if (PQntuples(res) == 0) {
			r = VMIE_ERR(err, VMIE_ENOENT, "task store %s: list "
				     "after %s %s: no such record (removed "
				     "since the previous page?)", s->where,
				     kind, after);
			goto out;
		}
		vmie_strlcpy(after_seq, PQgetvalue(res, 0, 0),
			     sizeof after_seq);
		PQclear(res);
		res = NULL;
	}
	pg_sql_add(&sql, "SELECT id, doc FROM vmie_records WHERE");
	pg_sql_param(&sql, " kind = ", kind);
	if (after)
		pg_sql_param(&sql, " AND seq > ", after_seq);
	if (q && q->status)
		pg_sql_param(&sql, " AND status = ", q->status);
	if (q && q->unended)
		pg_sql_add(&sql, " AND " PG_UNENDED);
	if (q && q->queued)
		pg_sql_add(&sql, " AND queue");
	for (size_t i = 0; i < n_ids; i++)
		pg_sql_param(&sql, i ? ", " : " AND id IN (", q->ids[i]);
	if (n_ids)
		pg_sql_add(&sql, ")");
	pg_sql_add(&sql, " ORDER BY seq");
	if (max) {
		/* one row more than a page tells whether there is a next */
		snprintf(limit, sizeof limit, "%u", max + 1);
		pg_sql_param(&sql, " LIMIT ", limit);
	}
	if (sql.nomem) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "task store %s: list: out of "
			     "memory", s->where);
		goto out;
	}
	res = pg_run(s, sql.text, sql.n, sql.params, "list", transient, err);
	if (!res) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	int rows = PQntuples(res);
	for (int i = 0; i < rows; i++) {
		const char *id = PQgetvalue(res, i, 0);
		json_t *rec;
		if (max && (unsigned)i == max) {
			if (next)
				memcpy(next, last, sizeof last);
			break;
		}
		if (strlen(id) >= VMIE_ID_MAX) {
			r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: a %s "
				     "record has a bad id", s->where, kind);
			goto out;
		}
		r = pg_parse(s, kind, id, PQgetvalue(res, i, 1), &rec, err);
		if (r)
			goto out;
		if (json_array_append_new(arr, rec) != 0) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "task store %s: list: "
				     "out of memory", s->where);
			goto out;
		}
		vmie_strlcpy(last, id, sizeof last);
	}
	r = pg_do(s, "COMMIT", "list", transient, err);
out:
	PQclear(res);
	if (r)
		pg_rollback(s);
	free(sql.text);
	free(sql.params);
	return r;
}

static int pg_list(struct vmie_store *s, enum vmie_rec_kind k,
		   const struct vmie_store_list *q, json_t **out, char *next,
		   struct vmie_err *err)
{
	struct pg_retry rt;
	*out = NULL;
	if (next)
		next[0] = 0;
	if (!pg_kind_ok(k))
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: list: "
				"unknown record kind %d", s->where, (int)k);
	if (q && q->ids && q->n_ids > 60000)
		return VMIE_ERR(err, VMIE_EINVAL, "task store %s: list: too "
				"many ids (%zu)", s->where, q->n_ids);
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		json_t *arr = json_array();
		if (!arr)
			return VMIE_ERR(err, VMIE_ENOMEM, "task store %s: "
					"list: out of memory", s->where);
		int r = pg_list_once(s, k, q, arr, next, &transient, err);
		if (r == 0) {
			*out = arr;
			return 0;
		}
		json_decref(arr);
		if (next)
			next[0] = 0;
		if (!pg_retry_again(&rt, transient))
			return r;
	}
}

/* PostgreSQL checks its own pages (data checksums, amcheck are the
 * operator's); this checks what vmie wrote: the schema version, every
 * record's id, kind and JSON. */
static int pg_integrity_once(struct vmie_store *s, bool *transient,
			     struct vmie_err *err)
{
	PGresult *res = NULL;
	int version = 0, r;
	if ((r = pg_ensure(s, transient, err)) ||
	    (r = pg_do(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		       "integrity check", transient, err)) ||
	    (r = pg_version(s, &version, transient, err)))
		goto out;
	if (version != PG_SCHEMA) {
		r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: integrity "
			     "check: schema version %d, not %d", s->where,
			     version, PG_SCHEMA);
		goto out;
	}
	res = pg_run(s, "SELECT kind, id, doc FROM vmie_records ORDER BY seq",
		     0, NULL, "integrity check", transient, err);
	if (!res) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0);
		const char *id = PQgetvalue(res, i, 1);
		int k = vmie_rec_kind_of_id(id);
		json_t *rec;
		if (k < 0 || strcmp(kind, vmie_rec_kind_name(k)) ||
		    !vmie_rec_id_valid(k, id)) {
			r = VMIE_ERR(err, VMIE_ECORRUPT, "task store %s: "
				     "integrity check: record %.40s of kind "
				     "%.20s has a bad id or kind", s->where,
				     id, kind);
			goto out;
		}
		r = pg_parse(s, kind, id, PQgetvalue(res, i, 2), &rec, err);
		if (r)
			goto out;
		json_decref(rec);
	}
	r = pg_do(s, "COMMIT", "integrity check", transient, err);
out:
	PQclear(res);
	if (r)
		pg_rollback(s);
	return r;
}

static int pg_integrity(struct vmie_store *s, struct vmie_err *err)
{
	struct pg_retry rt;
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		int r = pg_integrity_once(s, &transient, err);
		if (!r || !pg_retry_again(&rt, transient))
			return r;
	}
}

static void pg_close(struct vmie_store *s)
{
	struct pg_store *p = s->priv;
	if (p) {
		PQfinish(p->conn);
		free(p->url);
		free(p);
	}
	free(s->where);
	free(s);
}

static const struct vmie_store_ops pg_ops = {
	.kind = "postgres",
	.put = pg_put,
	.get = pg_get,
	.update = pg_update,
	.remove = pg_remove,
	.list = pg_list,
	.integrity = pg_integrity,
	.close = pg_close,
	.take = pg_take,
};

/* ---- opening ---- */

/* The URL for messages: a password in it ("postgresql://u:pw@h/db",
 * "password=pw") replaced by "***". */
static char *pg_redact(const char *url)
{
	char *o = malloc(strlen(url) + 8);
	if (!o)
		return NULL;
	const char *sch = strstr(url, "://");
	if (sch) {
		const char *auth = sch + 3;
		size_t alen = strcspn(auth, "/?");
		const char *at = memchr(auth, '@', alen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth))
				       : NULL;
		if (colon) {
			sprintf(o, "%.*s:***%s", (int)(colon - url), url, at);
			return o;
		}
		strcpy(o, url);
		return o;
	}
	const char *pw = strstr(url, "password=");
	if (pw) {
		const char *end = pw + 9 + strcspn(pw + 9, " ");
		sprintf(o, "%.*spassword=***%s", (int)(pw - url), url, end);
		return o;
	}
	strcpy(o, url);
	return o;
}

int vmie_store_open_pg(const char *url, struct vmie_store **out,
		       struct vmie_err *err)
{
	struct vmie_store *s = NULL;
	struct pg_store *p = NULL;
	struct pg_retry rt;
	int r;

	*out = NULL;
	if (!url || !*url)
		return VMIE_ERR(err, VMIE_EINVAL, "task store: no PostgreSQL "
				"URL given");
	s = calloc(1, sizeof *s);
	p = calloc(1, sizeof *p);
	if (!s || !p || !(p->url = strdup(url)) ||
	    !(s->where = pg_redact(url))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "task store: out of memory");
		goto out;
	}
	s->ops = &pg_ops;
	s->priv = p;
	p = NULL;
	pg_retry_start(&rt);
	for (;;) {
		bool transient = false;
		r = pg_ensure(s, &transient, err);
		/* at open, only a server that is starting is waited for */
		if (!r || !pg_retry_again(&rt, transient &&
					  PQstatus(pg_conn(s)) == CONNECTION_OK))
			break;
	}
	if (r)
		goto out;
	*out = s;
	return 0;
out:
	if (s && s->priv)
		pg_close(s);
	else {
		if (s)
			free(s->where);
		free(s);
		if (p)
			free(p->url);
		free(p);
	}
	return r;
}
