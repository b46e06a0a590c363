/* lib/task/store_pg.c: the task store's contract (store.h) on a real
 * PostgreSQL, the one tests/pg/store-pg.sh starts (PG_SOCKDIR: its Unix
 * socket directory, superuser "vmie").  Each test makes its own database.
 * The cases mirror tests/task/test_store.c (SQLite) and add what only a
 * server has: concurrent first opens, the queue's SKIP LOCKED claim,
 * reconnection after the server cut the session, passwords kept out of
 * messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "task/store.h"

static const char *sockdir;

static PGconn *admin(const char *db)
{
	char ci[512];
	snprintf(ci, sizeof ci, "host=%s user=vmie dbname=%s", sockdir, db);
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", db, PQerrorMessage(c));
	return c;
}

static void sql(const char *db, const char *text)
{
	PGconn *c = admin(db);
	PGresult *r = PQexec(c, text);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", text, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static int sql_int(const char *db, const char *text)
{
	PGconn *c = admin(db);
	PGresult *r = PQexec(c, text);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", text, PQerrorMessage(c));
	int v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

/* a new database db and its URL */
static void new_db(const char *db, char *url, size_t size)
{
	char t[128];
	snprintf(t, sizeof t, "CREATE DATABASE %s", db);
	sql("postgres", t);
	snprintf(url, size, "postgresql:///%s?host=%s&user=vmie", db, sockdir);
}

static struct vmie_store *open_url(const char *url)
{
	struct vmie_store *s = NULL;
	struct vmie_err e = { 0 };
	if (vmie_store_open(url, &s, &e))
		fail_msg("open %s: %s", url, e.msg);
	return s;
}

static struct vmie_store *open_db(const char *db)
{
	char url[512];
	new_db(db, url, sizeof url);
	return open_url(url);
}

static void put_ok(struct vmie_store *s, enum vmie_rec_kind k,
		   const char *id, const char *token, json_t *rec)
{
	struct vmie_err e = { 0 };
	if (vmie_store_put(s, k, id, token, rec, NULL, &e))
		fail_msg("put %s: %s", id, e.msg);
	json_decref(rec);
}

static size_t count_status(struct vmie_store *s, enum vmie_rec_kind k,
			   const char *status)
{
	struct vmie_err e = { 0 };
	struct vmie_store_list q = { .status = status };
	json_t *arr = NULL;
	if (vmie_store_list(s, k, &q, &arr, NULL, &e))
		fail_msg("list: %s", e.msg);
	size_t n = json_array_size(arr);
	json_decref(arr);
	return n;
}

/* ---- the contract ---- */

static void test_roundtrip(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char id[VMIE_ID_MAX], id2[VMIE_ID_MAX];
	json_t *got = NULL;
	struct vmie_store *s = open_db("rt");
	assert_string_equal(s->ops->kind, "postgres");
	assert_non_null(s->ops->take);
	vmie_rec_new_id(VMIE_REC_IMAGE, id);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:{s:s}}", "ImageId", id,
				"Name", "test image", "State", "available",
				"Vmie", "Journal", "x");
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL,
					&e), 0);
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, id, &got, &e), 0);
	char *a = json_dumps(got, 0), *b = json_dumps(rec, 0);
	assert_string_equal(a, b);      /* member order kept */
	free(a);
	free(b);
	json_decref(got);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL,
					&e), VMIE_EEXIST);
	assert_non_null(strstr(e.msg, id));
	assert_int_equal(vmie_store_put(s, VMIE_REC_SNAPSHOT, id, NULL, rec,
					NULL, &e), VMIE_EINVAL);
	vmie_rec_new_id(VMIE_REC_IMAGE, id2);
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, id2, &got, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, id2));
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMAGE, id, &e), 0);
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMAGE, id, &e),
			 VMIE_ENOENT);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL,
					&e), 0);
	assert_int_equal(vmie_store_integrity(s, &e), 0);
	json_decref(rec);
	vmie_store_close(s);
}

static void test_token(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char a[VMIE_ID_MAX], b[VMIE_ID_MAX], c[VMIE_ID_MAX];
	char existing[VMIE_ID_MAX] = "junk";
	char url[512];
	new_db("tok", url, sizeof url);
	struct vmie_store *s = open_url(url), *s2 = open_url(url);
	json_t *rec = json_pack("{s:s}", "Status", "active");
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, a);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, b);
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, c);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, a, "tok-1",
					rec, existing, &e), 0);
	assert_string_equal(existing, "");
	/* another connection (another node) gets the first task's id */
	assert_int_equal(vmie_store_put(s2, VMIE_REC_IMPORT_IMAGE, b, "tok-1",
					rec, existing, &e), VMIE_EEXIST);
	assert_string_equal(existing, a);
	assert_non_null(strstr(e.msg, "tok-1"));
	assert_int_equal(vmie_store_put(s, VMIE_REC_EXPORT_IMAGE, c, "tok-1",
					rec, existing, &e), 0);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, b, "", rec,
					existing, &e), 0);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, b);
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMPORT_IMAGE, a, &e), 0);
	assert_int_equal(vmie_store_put(s2, VMIE_REC_IMPORT_IMAGE, b, "tok-1",
					rec, existing, &e), 0);
	json_decref(rec);
	vmie_store_close(s);
	vmie_store_close(s2);
}

struct upd_ctx {
	int ret, calls;
	const char *status;
	unsigned sleep_ms;
};

static int upd_fn(json_t *rec, void *ctx, struct vmie_err *err)
{
	struct upd_ctx *c = ctx;
	c->calls++;
	if (c->sleep_ms)
		usleep(c->sleep_ms * 1000);
	json_object_set_new(rec, "Status", json_string(c->status));
	json_t *v = json_object_get(rec, "Vmie");
	if (!v) {
		v = json_object();
		json_object_set_new(rec, "Vmie", v);
	}
	json_object_set_new(v, "Owner", json_string("host:1:2"));
	json_object_set_new(v, "Heartbeat", json_real(1234.5));
	if (c->ret < 0)
		return VMIE_ERR(err, c->ret, "refused by the test");
	return c->ret;
}

static void test_update(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char id[VMIE_ID_MAX], other[VMIE_ID_MAX];
	json_t *got = NULL;
	struct vmie_store *s = open_db("upd");
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, id);
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, other);
	put_ok(s, VMIE_REC_EXPORT_IMAGE, id, NULL,
	       json_pack("{s:s, s:s}", "ExportImageTaskId", id,
			 "Status", "active"));
	struct upd_ctx c = { 0, 0, "completed", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(vmie_store_get(s, VMIE_REC_EXPORT_IMAGE, id, &got,
					&e), 0);
	assert_string_equal(json_object_iter_key(json_object_iter(got)),
			    "ExportImageTaskId");
	json_decref(got);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "completed"), 1);
	c = (struct upd_ctx){ VMIE_STORE_UNCHANGED, 0, "deleted", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleted"), 0);
	c = (struct upd_ctx){ VMIE_EPERM, 0, "deleted", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), VMIE_EPERM);
	assert_string_equal(e.msg, "refused by the test");
	c = (struct upd_ctx){ 7, 0, "deleted", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), VMIE_EINVAL);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleted"), 0);
	c = (struct upd_ctx){ 0, 0, "deleted", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, other,
					   upd_fn, &c, &e), VMIE_ENOENT);
	assert_int_equal(c.calls, 0);
	c = (struct upd_ctx){ 0, 0, "deleting", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleting"), 1);
	/* the status column of kinds without a top-level Status */
	vmie_rec_new_id(VMIE_REC_IMPORT_SNAPSHOT, id);
	put_ok(s, VMIE_REC_IMPORT_SNAPSHOT, id, NULL,
	       json_pack("{s:s, s:{s:s}}", "ImportTaskId", id,
			 "SnapshotTaskDetail", "Status", "active"));
	vmie_rec_new_id(VMIE_REC_SNAPSHOT, id);
	put_ok(s, VMIE_REC_SNAPSHOT, id, NULL,
	       json_pack("{s:s, s:s}", "SnapshotId", id, "State", "pending"));
	assert_int_equal(count_status(s, VMIE_REC_IMPORT_SNAPSHOT, "active"), 1);
	assert_int_equal(count_status(s, VMIE_REC_SNAPSHOT, "pending"), 1);
	vmie_store_close(s);
}

static void test_list(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char ids[10][VMIE_ID_MAX], next[VMIE_ID_MAX];
	struct vmie_store *s = open_db("lst");
	json_t *arr = NULL;
	for (int i = 0; i < 10; i++) {
		vmie_rec_new_id(VMIE_REC_IMAGE, ids[i]);
		put_ok(s, VMIE_REC_IMAGE, ids[i], NULL,
		       json_pack("{s:s, s:i}", "State", i % 2 ? "available" :
				 "pending", "N", i));
	}
	/* pages of 3 in creation order */
	struct vmie_store_list q = { .max = 3 };
	int seen = 0;
	for (;;) {
		assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr,
						 next, &e), 0);
		for (size_t i = 0; i < json_array_size(arr); i++)
			assert_int_equal(json_integer_value(json_object_get(
				json_array_get(arr, i), "N")), seen++);
		json_decref(arr);
		if (!next[0])
			break;
		static char after[VMIE_ID_MAX];
		memcpy(after, next, sizeof after);
		q.after = after;
	}
	assert_int_equal(seen, 10);
	/* filters */
	const char *want[] = { ids[1], ids[4], ids[7] };
	struct vmie_store_list f = { .ids = want, .n_ids = 3,
				     .status = "available" };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &f, &arr, next,
					 &e), 0);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
	/* a page after a record that is gone */
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMAGE, ids[5], &e), 0);
	struct vmie_store_list g = { .after = ids[5], .max = 2 };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &g, &arr, next,
					 &e), VMIE_ENOENT);
	assert_null(arr);
	vmie_store_close(s);
}

/* ---- what a server adds ---- */

struct opener {
	const char *url;
	int r;
};

static void *open_one(void *arg)
{
	struct opener *o = arg;
	struct vmie_store *s = NULL;
	struct vmie_err e = { 0 };
	o->r = vmie_store_open(o->url, &s, &e);
	vmie_store_close(s);
	return NULL;
}

static void test_first_open(void **state)
{
	(void)state;
	char url[512];
	pthread_t t[8];
	struct opener o[8];
	new_db("fst", url, sizeof url);
	for (int i = 0; i < 8; i++) {
		o[i] = (struct opener){ url, -99 };
		pthread_create(&t[i], NULL, open_one, &o[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(o[i].r, 0);
	}
	/* every migration once, in order, however many nodes opened */
	assert_int_equal(sql_int("fst", "SELECT count(*) FROM vmie_schema"), 2);
	assert_int_equal(sql_int("fst", "SELECT count(DISTINCT version)"
				 " FROM vmie_schema WHERE version IN (1, 2)"), 2);
	/* a newer vmie's schema is refused */
	sql("fst", "INSERT INTO vmie_schema (version) VALUES (99)");
	struct vmie_store *s = NULL;
	struct vmie_err e = { 0 };
	assert_int_equal(vmie_store_open(url, &s, &e), VMIE_EUNSUPP);
	assert_non_null(strstr(e.msg, "99"));
}

static json_t *queued_task(const char *id)
{
	return json_pack("{s:s, s:s, s:{s:b, s:i}}", "ImportTaskId", id,
			 "Status", "active", "Vmie", "Queued", 1, "Attempts", 0);
}

struct taker {
	struct vmie_store *s;
	unsigned sleep_ms;
	char id[VMIE_ID_MAX];
	int r;
	double secs;
};

static int own_fn(json_t *rec, void *ctx, struct vmie_err *err)
{
	struct taker *t = ctx;
	(void)err;
	if (t->sleep_ms)
		usleep(t->sleep_ms * 1000);
	json_object_set_new(json_object_get(rec, "Vmie"), "Owner",
			    json_string("node:1:1"));
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *take_one(void *arg)
{
	struct taker *t = arg;
	static const enum vmie_rec_kind kinds[] = { VMIE_REC_IMPORT_IMAGE,
		VMIE_REC_IMPORT_SNAPSHOT, VMIE_REC_EXPORT_IMAGE };
	enum vmie_rec_kind k;
	struct vmie_err e = { 0 };
	double t0 = now_s();
	t->r = t->s->ops->take(t->s, kinds, 3, own_fn, t, &k, t->id, &e);
	t->secs = now_s() - t0;
	return NULL;
}

static void test_take(void **state)
{
	(void)state;
	char url[512], a[VMIE_ID_MAX], b[VMIE_ID_MAX], c[VMIE_ID_MAX];
	struct vmie_err e = { 0 };
	new_db("tak", url, sizeof url);
	struct vmie_store *s1 = open_url(url), *s2 = open_url(url);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, a);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, b);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, c);
	put_ok(s1, VMIE_REC_IMPORT_IMAGE, a, NULL, queued_task(a));
	put_ok(s1, VMIE_REC_IMPORT_IMAGE, b, NULL, queued_task(b));
	/* not queued: never taken */
	put_ok(s1, VMIE_REC_IMPORT_IMAGE, c, NULL,
	       json_pack("{s:s, s:s}", "ImportTaskId", c, "Status", "active"));
	/* the first taker holds the oldest for a second; the second one
	 * skips it at once and gets the next */
	struct taker t1 = { .s = s1, .sleep_ms = 1000 };
	struct taker t2 = { .s = s2 };
	pthread_t p1, p2;
	pthread_create(&p1, NULL, take_one, &t1);
	usleep(200 * 1000);
	pthread_create(&p2, NULL, take_one, &t2);
	pthread_join(p2, NULL);
	pthread_join(p1, NULL);
	assert_int_equal(t1.r, 0);
	assert_int_equal(t2.r, 0);
	assert_string_equal(t1.id, a);
	assert_string_equal(t2.id, b);
	assert_true(t2.secs < 0.5);
	/* both owned now: the queue is empty */
	struct taker t3 = { .s = s2 };
	take_one(&t3);
	assert_int_equal(t3.r, VMIE_ENOENT);
	assert_int_equal(vmie_store_integrity(s1, &e), 0);
	vmie_store_close(s1);
	vmie_store_close(s2);
}

static void test_reconnect(void **state)
{
	(void)state;
	char id[VMIE_ID_MAX];
	struct vmie_err e = { 0 };
	json_t *got = NULL;
	struct vmie_store *s = open_db("rec");
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, id);
	put_ok(s, VMIE_REC_IMPORT_IMAGE, id, NULL, queued_task(id));
	/* the server cuts every session of the database (as a restart) */
	sql("postgres", "SELECT pg_terminate_backend(pid) FROM"
	    " pg_stat_activity WHERE datname = 'rec'");
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMPORT_IMAGE, id, &got,
					&e), 0);
	json_decref(got);
	sql("postgres", "SELECT pg_terminate_backend(pid) FROM"
	    " pg_stat_activity WHERE datname = 'rec'");
	struct upd_ctx c = { 0, 0, "completed", 0 };
	assert_int_equal(vmie_store_update(s, VMIE_REC_IMPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(c.calls, 1);
	vmie_store_close(s);
}

static void test_redact(void **state)
{
	(void)state;
	struct vmie_store *s = NULL;
	struct vmie_err e = { 0 };
	/* nothing listens on port 1 */
	int r = vmie_store_open("postgresql://vmie:s3cret@127.0.0.1:1/db"
				"?connect_timeout=2", &s, &e);
	assert_int_equal(r, VMIE_EIO);
	assert_null(strstr(e.msg, "s3cret"));
	assert_non_null(strstr(e.msg, "vmie:***@127.0.0.1"));
	assert_non_null(strstr(e.msg, "cannot connect"));
	/* a directory is the SQLite store, a URL of another kind neither */
	assert_false(vmie_store_is_url("/var/lib/vmie"));
	assert_true(vmie_store_is_url("postgres://h/db"));
}

int main(void)
{
	sockdir = getenv("PG_SOCKDIR");
	if (!sockdir) {
		fprintf(stderr, "PG_SOCKDIR not set: run tests/pg/store-pg.sh\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_first_open),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
