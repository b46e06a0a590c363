/* lib/task: record ids and the SQLite task store (store.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/err.h"
#include "task/store.h"

static char tmp_root[64];

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *sb, int type,
		  struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmp_root, sizeof tmp_root, "%s/vmie-store.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<tmp>/<name>" */
static void tmp_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmp_root, name);
}

static struct vmie_store *open_store(const char *name)
{
	char dir[256];
	struct vmie_store *s = NULL;
	struct vmie_err e = { 0 };
	tmp_path(dir, sizeof dir, name);
	int r = vmie_store_open_sqlite(dir, &s, &e);
	if (r)
		fail_msg("open %s: %s", dir, e.msg);
	return s;
}

static json_t *image_rec(const char *id, const char *state)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s}}", "ImageId", id,
			 "Name", "test image", "State", state,
			 "Vmie", "Journal", "long journal");
}

static void put_ok(struct vmie_store *s, enum vmie_rec_kind k,
		   const char *id, const char *token, json_t *rec)
{
	struct vmie_err e = { 0 };
	int r = vmie_store_put(s, k, id, token, rec, NULL, &e);
	if (r)
		fail_msg("put %s: %s", id, e.msg);
	json_decref(rec);
}

/* A raw SQLite statement on the store of name (no result). */
static void raw_sql(const char *name, const char *sql)
{
	char path[256];
	sqlite3 *db;
	snprintf(path, sizeof path, "%s/%s/vmie.db", tmp_root, name);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* ---- ids ---- */

static void test_kinds(void **state)
{
	(void)state;
	assert_string_equal(vmie_rec_kind_name(VMIE_REC_IMPORT_IMAGE),
			    "import-image");
	assert_string_equal(vmie_rec_kind_name(VMIE_REC_SNAPSHOT), "snapshot");
	assert_string_equal(vmie_rec_id_prefix(VMIE_REC_IMPORT_SNAPSHOT),
			    "import-snap");
	assert_string_equal(vmie_rec_id_prefix(VMIE_REC_EXPORT_IMAGE),
			    "export-ami");
	assert_string_equal(vmie_rec_id_prefix(VMIE_REC_IMAGE), "ami");
	assert_int_equal(vmie_rec_kind_of_id("ami-0123456789abcdef0"),
			 VMIE_REC_IMAGE);
	assert_int_equal(vmie_rec_kind_of_id("snap-0123"), VMIE_REC_SNAPSHOT);
	assert_int_equal(vmie_rec_kind_of_id("import-snap-0123"),
			 VMIE_REC_IMPORT_SNAPSHOT);
	assert_int_equal(vmie_rec_kind_of_id("import-ami-0123"),
			 VMIE_REC_IMPORT_IMAGE);
	assert_int_equal(vmie_rec_kind_of_id("export-ami-0123"),
			 VMIE_REC_EXPORT_IMAGE);
	assert_int_equal(vmie_rec_kind_of_id("amiga-1"), -1);
	assert_int_equal(vmie_rec_kind_of_id("import-"), -1);
	assert_int_equal(vmie_rec_kind_of_id(""), -1);
	assert_int_equal(vmie_rec_kind_of_id(NULL), -1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_new_ids(void **state)
{
	(void)state;
	enum { N = 20000 };
	char (*ids)[VMIE_ID_MAX] = calloc(N, VMIE_ID_MAX);
	assert_non_null(ids);
	for (int k = 0; k < VMIE_REC_N; k++) {
		char id[VMIE_ID_MAX];
		vmie_rec_new_id(k, id);
		size_t p = strlen(vmie_rec_id_prefix(k));
		assert_int_equal(strlen(id), p + 1 + 17);
		assert_memory_equal(id, vmie_rec_id_prefix(k), p);
		assert_int_equal(id[p], '-');
		assert_int_equal(strspn(id + p + 1, "0123456789abcdef"), 17);
		assert_true(vmie_rec_id_valid(k, id));
		assert_int_equal(vmie_rec_kind_of_id(id), k);
		for (int o = 0; o < VMIE_REC_N; o++)
			if (o != k)
				assert_false(vmie_rec_id_valid(o, id));
	}
	/* unique over many (68 random bits each) */
	for (int i = 0; i < N; i++)
		vmie_rec_new_id(VMIE_REC_SNAPSHOT, ids[i]);
	qsort(ids, N, VMIE_ID_MAX, cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);
}

static void test_id_valid(void **state)
{
	(void)state;
	assert_true(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-0123456789abcdef0"));
	assert_true(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-12345678"));
	assert_true(vmie_rec_id_valid(VMIE_REC_IMPORT_IMAGE,
				      "import-ami-0123456789abcdef0"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-0123456789ABCDEF0"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-0123456789abcdef"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-0123456789abcdef01"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-1234567"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-123456789"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-0123456789abcdeg0"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami_0123456789abcdef0"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-12345678 "));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, "ami-../../12345"));
	assert_false(vmie_rec_id_valid(VMIE_REC_SNAPSHOT, "ami-12345678"));
	assert_false(vmie_rec_id_valid(VMIE_REC_IMAGE, NULL));
	assert_false(vmie_rec_id_valid(VMIE_REC_N, "ami-12345678"));
}

static void test_public(void **state)
{
	(void)state;
	json_t *rec = json_pack("{s:s, s:{s:s}, s:[i,i], s:{s:i}}",
				"ImageId", "ami-12345678",
				"Vmie", "Owner", "me",
				"List", 1, 2, "Nested", "A", 1);
	json_t *pub = vmie_rec_public(rec);
	assert_non_null(pub);
	assert_null(json_object_get(pub, "Vmie"));
	assert_non_null(json_object_get(rec, "Vmie"));
	assert_int_equal(json_object_size(pub), 3);
	/* a deep copy, in order */
	assert_true(json_object_get(pub, "List") != json_object_get(rec, "List"));
	assert_true(json_equal(json_object_get(pub, "Nested"),
			       json_object_get(rec, "Nested")));
	char *txt = json_dumps(pub, JSON_COMPACT);
	assert_string_equal(txt, "{\"ImageId\":\"ami-12345678\",\"List\":[1,2],"
			    "\"Nested\":{\"A\":1}}");
	free(txt);
	json_decref(pub);
	json_decref(rec);
	assert_null(vmie_rec_public(NULL));
}

/* ---- the store ---- */

static void test_roundtrip(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char dir[256], id[VMIE_ID_MAX], id2[VMIE_ID_MAX];
	struct stat sb;
	json_t *got = NULL;
	/* a missing directory (and its parent) is made, mode 0700 */
	struct vmie_store *s = open_store("rt/store");
	tmp_path(dir, sizeof dir, "rt/store");
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_string_equal(s->ops->kind, "sqlite");
	assert_non_null(strstr(s->where, "rt/store/vmie.db"));

	vmie_rec_new_id(VMIE_REC_IMAGE, id);
	json_t *rec = image_rec(id, "available");
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL,
					&e), 0);
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, id, &got, &e), 0);
	assert_true(json_equal(got, rec));
	/* member order is kept */
	char *a = json_dumps(got, 0), *b = json_dumps(rec, 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(got);
	/* the same id again */
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL,
					&e), VMIE_EEXIST);
	assert_non_null(strstr(e.msg, id));
	/* the same id string under another kind is not the same record, but
	 * an id must belong to its kind */
	assert_int_equal(vmie_store_put(s, VMIE_REC_SNAPSHOT, id, NULL, rec,
					NULL, &e), VMIE_EINVAL);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, "ami-XYZ", NULL,
					rec, NULL, &e), VMIE_EINVAL);
	json_t *arr = json_array();
	vmie_rec_new_id(VMIE_REC_IMAGE, id2);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id2, NULL, arr,
					NULL, &e), VMIE_EINVAL);
	json_decref(arr);
	assert_int_equal(vmie_store_get(s, VMIE_REC_SNAPSHOT, id, &got, &e),
			 VMIE_ENOENT);
	assert_null(got);
	/* remove */
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, id2, &got, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, id2));
	assert_non_null(strstr(e.msg, "vmie.db"));
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMAGE, id, &e), 0);
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, id, &got, &e),
			 VMIE_ENOENT);
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMAGE, id, &e),
			 VMIE_ENOENT);
	/* and put again after removal */
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL,
					&e), 0);
	json_decref(rec);
	vmie_store_close(s);
	vmie_store_close(NULL);
	/* the shorthands without a store */
	assert_int_equal(vmie_store_get(NULL, VMIE_REC_IMAGE, id, &got, &e),
			 VMIE_EINVAL);
}

static void test_token(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char a[VMIE_ID_MAX], b[VMIE_ID_MAX], c[VMIE_ID_MAX];
	char existing[VMIE_ID_MAX] = "junk";
	json_t *got = NULL;
	struct vmie_store *s = open_store("token");
	json_t *rec = json_pack("{s:s}", "Status", "active");
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, a);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, b);
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, c);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, a, "tok-1",
					rec, existing, &e), 0);
	assert_string_equal(existing, "");
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, b, "tok-1",
					rec, existing, &e), VMIE_EEXIST);
	assert_string_equal(existing, a);
	assert_non_null(strstr(e.msg, "tok-1"));
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMPORT_IMAGE, b, &got, &e),
			 VMIE_ENOENT);
	/* existing may be NULL */
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, b, "tok-1",
					rec, NULL, &e), VMIE_EEXIST);
	/* tokens are per kind */
	assert_int_equal(vmie_store_put(s, VMIE_REC_EXPORT_IMAGE, c, "tok-1",
					rec, existing, &e), 0);
	/* an empty token is no token */
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, b, "", rec,
					existing, &e), 0);
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, b);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, b, "", rec,
					existing, &e), 0);
	/* the token survives an update and is freed by a removal */
	vmie_rec_new_id(VMIE_REC_IMPORT_IMAGE, b);
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMPORT_IMAGE, a, &e), 0);
	assert_int_equal(vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, b, "tok-1",
					rec, existing, &e), 0);
	json_decref(rec);
	vmie_store_close(s);
}

struct upd_ctx {
	int ret;
	int calls;
	const char *status;
};

static int upd_fn(json_t *rec, void *ctx, struct vmie_err *err)
{
	struct upd_ctx *c = ctx;
	c->calls++;
	/* a change that must vanish unless 0 is returned */
	json_object_set_new(rec, "Status", json_string(c->status));
	json_t *v = json_object_get(rec, "Vmie");
	if (!v) {
		v = json_object();
		json_object_set_new(rec, "Vmie", v);
	}
	json_object_set_new(v, "Owner", json_string("host:1"));
	json_object_set_new(v, "Heartbeat", json_real(1234.5));
	if (c->ret < 0)
		return VMIE_ERR(err, c->ret, "refused by the test");
	return c->ret;
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

static void test_update(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char id[VMIE_ID_MAX], other[VMIE_ID_MAX];
	json_t *got = NULL;
	struct vmie_store *s = open_store("update");
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, id);
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, other);
	put_ok(s, VMIE_REC_EXPORT_IMAGE, id, NULL,
	       json_pack("{s:s, s:s}", "ExportImageTaskId", id,
			 "Status", "active"));
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "active"), 1);

	/* 0: written back, columns follow */
	struct upd_ctx c = { 0, 0, "completed" };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(vmie_store_get(s, VMIE_REC_EXPORT_IMAGE, id, &got,
					&e), 0);
	assert_string_equal(json_string_value(json_object_get(got, "Status")),
			    "completed");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(got, "Vmie"), "Owner")), "host:1");
	/* member order kept: the id first, the new member last */
	assert_string_equal(json_object_iter_key(json_object_iter(got)),
			    "ExportImageTaskId");
	json_decref(got);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "active"), 0);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "completed"), 1);

	/* UNCHANGED: 0, nothing written */
	c = (struct upd_ctx){ VMIE_STORE_UNCHANGED, 0, "deleted" };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleted"), 0);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "completed"), 1);

	/* a negative code: returned with the fn's message, nothing written */
	c = (struct upd_ctx){ VMIE_EPERM, 0, "deleted" };
	vmie_err_clear(&e);
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), VMIE_EPERM);
	assert_string_equal(e.msg, "refused by the test");
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleted"), 0);

	/* another positive value is a bug of the caller */
	c = (struct upd_ctx){ 7, 0, "deleted" };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), VMIE_EINVAL);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleted"), 0);

	/* a missing record: fn is not called */
	c = (struct upd_ctx){ 0, 0, "deleted" };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, other,
					   upd_fn, &c, &e), VMIE_ENOENT);
	assert_int_equal(c.calls, 0);
	assert_non_null(strstr(e.msg, other));

	/* the store works after each of those (no transaction left open) */
	c = (struct upd_ctx){ 0, 0, "deleting" };
	assert_int_equal(vmie_store_update(s, VMIE_REC_EXPORT_IMAGE, id,
					   upd_fn, &c, &e), 0);
	assert_int_equal(count_status(s, VMIE_REC_EXPORT_IMAGE, "deleting"), 1);
	vmie_store_close(s);
}

/* The status column of the kinds whose AWS shape has no top-level Status */
static void test_status_column(void **state)
{
	(void)state;
	char id[VMIE_ID_MAX];
	struct vmie_store *s = open_store("status");
	vmie_rec_new_id(VMIE_REC_IMPORT_SNAPSHOT, id);
	put_ok(s, VMIE_REC_IMPORT_SNAPSHOT, id, NULL,
	       json_pack("{s:s, s:{s:s}}", "ImportTaskId", id,
			 "SnapshotTaskDetail", "Status", "active"));
	vmie_rec_new_id(VMIE_REC_SNAPSHOT, id);
	put_ok(s, VMIE_REC_SNAPSHOT, id, NULL,
	       json_pack("{s:s, s:s}", "SnapshotId", id, "State", "pending"));
	vmie_rec_new_id(VMIE_REC_SNAPSHOT, id);
	put_ok(s, VMIE_REC_SNAPSHOT, id, NULL, json_pack("{s:s}", "X", "y"));
	assert_int_equal(count_status(s, VMIE_REC_IMPORT_SNAPSHOT, "active"), 1);
	assert_int_equal(count_status(s, VMIE_REC_SNAPSHOT, "pending"), 1);
	assert_int_equal(count_status(s, VMIE_REC_SNAPSHOT, ""), 1);
	assert_int_equal(count_status(s, VMIE_REC_SNAPSHOT, NULL), 2);
	vmie_store_close(s);
}

/* The ids of a list answer, "a,b,c" by ImageId */
static void list_ids(json_t *arr, char *out, size_t size)
{
	size_t i, n = 0;
	json_t *v;
	out[0] = 0;
	json_array_foreach(arr, i, v) {
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(v, "N")));
		assert_true(n < size);
	}
}

static void test_list(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char ids[10][VMIE_ID_MAX], next[VMIE_ID_MAX], got[256];
	json_t *arr = NULL;
	struct vmie_store *s = open_store("list");
	/* 10 images; N is the insertion number; odd ones are pending.  Ids
	 * are random, so id order is not insertion order. */
	for (int i = 0; i < 10; i++) {
		char n[8];
		snprintf(n, sizeof n, "%d", i);
		vmie_rec_new_id(VMIE_REC_IMAGE, ids[i]);
		put_ok(s, VMIE_REC_IMAGE, ids[i], NULL,
		       json_pack("{s:s, s:s, s:s}", "ImageId", ids[i], "N", n,
				 "State", i % 2 ? "pending" : "available"));
	}
	/* another kind is not listed */
	char snap[VMIE_ID_MAX];
	vmie_rec_new_id(VMIE_REC_SNAPSHOT, snap);
	put_ok(s, VMIE_REC_SNAPSHOT, snap, NULL, json_pack("{s:s}", "N", "s"));

	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, NULL, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "0,1,2,3,4,5,6,7,8,9");
	assert_string_equal(next, "");
	json_decref(arr);

	/* pages of 4: 0-3, 4-7, 8-9 */
	struct vmie_store_list q = { .max = 4, .after = "" };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "0,1,2,3");
	assert_string_equal(next, ids[3]);
	json_decref(arr);
	char after[VMIE_ID_MAX];
	memcpy(after, next, sizeof after);
	q.after = after;
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "4,5,6,7");
	assert_string_equal(next, ids[7]);
	json_decref(arr);
	memcpy(after, next, sizeof after);
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "8,9");
	assert_string_equal(next, "");
	json_decref(arr);
	/* a page that ends exactly at the end has no next */
	q.after = ids[5];
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "6,7,8,9");
	assert_string_equal(next, "");
	json_decref(arr);

	/* status filter with paging */
	q = (struct vmie_store_list){ .status = "pending", .max = 2 };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "1,3");
	assert_string_equal(next, ids[3]);
	json_decref(arr);
	q.after = ids[3];
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "5,7");
	assert_string_equal(next, ids[7]);
	json_decref(arr);
	q.after = ids[7];
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "9");
	assert_string_equal(next, "");
	json_decref(arr);
	q = (struct vmie_store_list){ .status = "nothing" };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);

	/* ids filter: list order, not the order asked; unknown ids and
	 * duplicates are fine; combined with status */
	const char *want[] = { ids[8], ids[2], "ami-12345678", ids[5], ids[2],
			       snap };
	q = (struct vmie_store_list){ .ids = want, .n_ids = 6 };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "2,5,8");
	json_decref(arr);
	q.status = "available";
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "2,8");
	json_decref(arr);
	q = (struct vmie_store_list){ .ids = want, .n_ids = 0 };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	assert_int_equal(json_array_size(arr), 10);
	json_decref(arr);
	q = (struct vmie_store_list){ .ids = want, .n_ids = 6, .max = 1 };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "2");
	assert_string_equal(next, ids[2]);
	json_decref(arr);

	/* after a record that is gone */
	assert_int_equal(vmie_store_remove(s, VMIE_REC_IMAGE, ids[4], &e), 0);
	q = (struct vmie_store_list){ .after = ids[4] };
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, &q, &arr, next,
					 &e), VMIE_ENOENT);
	assert_null(arr);
	assert_string_equal(next, "");
	assert_non_null(strstr(e.msg, ids[4]));
	/* the snapshot kind alone */
	assert_int_equal(vmie_store_list(s, VMIE_REC_SNAPSHOT, NULL, &arr,
					 NULL, &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "s");
	json_decref(arr);
	vmie_store_close(s);
}

static void test_reopen(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char a[VMIE_ID_MAX], b[VMIE_ID_MAX], got[64];
	json_t *rec = NULL, *arr = NULL;
	struct vmie_store *s = open_store("reopen");
	vmie_rec_new_id(VMIE_REC_IMAGE, a);
	vmie_rec_new_id(VMIE_REC_IMAGE, b);
	put_ok(s, VMIE_REC_IMAGE, a, "tok", json_pack("{s:s}", "N", "a"));
	vmie_store_close(s);
	/* two handles at once, both after a reopen */
	s = open_store("reopen");
	struct vmie_store *s2 = open_store("reopen");
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, a, &rec, &e), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "N")), "a");
	json_decref(rec);
	/* the token is remembered */
	rec = json_pack("{s:s}", "N", "x");
	assert_int_equal(vmie_store_put(s2, VMIE_REC_IMAGE, b, "tok", rec, got,
					&e), VMIE_EEXIST);
	json_decref(rec);
	assert_string_equal(got, a);
	put_ok(s2, VMIE_REC_IMAGE, b, NULL, json_pack("{s:s}", "N", "b"));
	assert_int_equal(vmie_store_list(s, VMIE_REC_IMAGE, NULL, &arr, NULL,
					 &e), 0);
	list_ids(arr, got, sizeof got);
	assert_string_equal(got, "a,b");
	json_decref(arr);
	assert_int_equal(vmie_store_integrity(s, &e), 0);
	vmie_store_close(s2);
	vmie_store_close(s);
}

/* A store whose vmie.db is not a database at all */
static void test_garbage_file(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char dir[256], path[300];
	struct vmie_store *s = NULL;
	tmp_path(dir, sizeof dir, "garbage");
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/vmie.db", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 3000; i++)
		fprintf(f, "not a database %d\n", i);
	fclose(f);
	assert_int_equal(vmie_store_open_sqlite(dir, &s, &e), VMIE_ECORRUPT);
	assert_null(s);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "not a database"));
	/* an empty file is a new store */
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	s = open_store("garbage");
	assert_int_equal(vmie_store_integrity(s, &e), 0);
	vmie_store_close(s);
}

/* A real database with its pages overwritten: every call either works or
 * says VMIE_ECORRUPT; none crashes. */
static void test_malformed_file(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char path[300], id[VMIE_ID_MAX];
	struct vmie_store *s = open_store("malformed");
	for (int i = 0; i < 200; i++) {
		vmie_rec_new_id(VMIE_REC_IMAGE, id);
		put_ok(s, VMIE_REC_IMAGE, id, NULL, image_rec(id, "available"));
	}
	vmie_store_close(s);
	snprintf(path, sizeof path, "%s/malformed/vmie.db", tmp_root);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 3 * 4096);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 37 + 11);
	/* keep page 1 (header and schema), trash the rest */
	for (off_t off = 4096; off < sb.st_size; off += 4096)
		assert_int_equal(pwrite(fd, junk, sizeof junk, off),
				 (ssize_t)sizeof junk);
	close(fd);

	s = NULL;
	char dir[256];
	tmp_path(dir, sizeof dir, "malformed");
	int r = vmie_store_open_sqlite(dir, &s, &e);
	if (r) {
		assert_int_equal(r, VMIE_ECORRUPT);
		assert_null(s);
		return;
	}
	json_t *arr = NULL;
	r = vmie_store_list(s, VMIE_REC_IMAGE, NULL, &arr, NULL, &e);
	assert_int_equal(r, VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "vmie.db"));
	assert_null(arr);
	assert_int_equal(vmie_store_integrity(s, &e), VMIE_ECORRUPT);
	vmie_rec_new_id(VMIE_REC_IMAGE, id);
	json_t *rec = image_rec(id, "x");
	r = vmie_store_put(s, VMIE_REC_IMAGE, id, NULL, rec, NULL, &e);
	assert_true(r == 0 || r == VMIE_ECORRUPT);
	json_decref(rec);
	vmie_store_close(s);
}

/* A record whose JSON was damaged behind the store's back */
static void test_bad_doc(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char id[VMIE_ID_MAX], sql[256];
	json_t *rec = NULL, *arr = NULL;
	struct upd_ctx c = { 0, 0, "x" };
	struct vmie_store *s = open_store("baddoc");
	vmie_rec_new_id(VMIE_REC_SNAPSHOT, id);
	put_ok(s, VMIE_REC_SNAPSHOT, id, NULL, json_pack("{s:s}", "A", "b"));
	assert_int_equal(vmie_store_integrity(s, &e), 0);
	static const char *const bad[] = {
		"{\"A\":1,\"A\":2}",     /* duplicate member */
		"{\"A\":",               /* cut short */
		"[1,2]",                 /* not an object */
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(sql, sizeof sql, "UPDATE records SET doc = '%s'"
			 " WHERE id = '%s'", bad[i], id);
		raw_sql("baddoc", sql);
		assert_int_equal(vmie_store_get(s, VMIE_REC_SNAPSHOT, id, &rec,
						&e), VMIE_ECORRUPT);
		assert_null(rec);
		assert_non_null(strstr(e.msg, id));
		assert_non_null(strstr(e.msg, "snapshot"));
		assert_int_equal(vmie_store_list(s, VMIE_REC_SNAPSHOT, NULL,
						 &arr, NULL, &e),
				 VMIE_ECORRUPT);
		assert_int_equal(vmie_store_update(s, VMIE_REC_SNAPSHOT, id,
						   upd_fn, &c, &e),
				 VMIE_ECORRUPT);
		assert_int_equal(c.calls, 0);
		assert_int_equal(vmie_store_integrity(s, &e), VMIE_ECORRUPT);
		assert_non_null(strstr(e.msg, id));
	}
	/* removal still works, and the store is whole again */
	assert_int_equal(vmie_store_remove(s, VMIE_REC_SNAPSHOT, id, &e), 0);
	assert_int_equal(vmie_store_integrity(s, &e), 0);
	vmie_store_close(s);
}

static void test_newer_schema(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char dir[256];
	struct vmie_store *s = open_store("newer");
	vmie_store_close(s);
	raw_sql("newer", "PRAGMA user_version = 99");
	tmp_path(dir, sizeof dir, "newer");
	s = NULL;
	assert_int_equal(vmie_store_open_sqlite(dir, &s, &e), VMIE_EUNSUPP);
	assert_null(s);
	assert_non_null(strstr(e.msg, "99"));
}

/* Another process holds the write lock for a while: calls wait for it */
struct holder {
	char path[300];
	int ms;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int locked;
};

static void *hold_lock(void *arg)
{
	struct holder *h = arg;
	sqlite3 *db;
	if (sqlite3_open(h->path, &db) != SQLITE_OK)
		return NULL;
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	pthread_mutex_lock(&h->m);
	h->locked = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->m);
	usleep((useconds_t)h->ms * 1000);
	sqlite3_exec(db, "UPDATE records SET status = 'held'", NULL, NULL,
		     NULL);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return NULL;
}

static void test_busy(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char id[VMIE_ID_MAX], id2[VMIE_ID_MAX];
	struct holder h = { .ms = 400, .m = PTHREAD_MUTEX_INITIALIZER,
			    .cv = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	struct vmie_store *s = open_store("busy");
	vmie_rec_new_id(VMIE_REC_IMAGE, id);
	put_ok(s, VMIE_REC_IMAGE, id, NULL, image_rec(id, "available"));
	snprintf(h.path, sizeof h.path, "%s/busy/vmie.db", tmp_root);
	assert_int_equal(pthread_create(&t, NULL, hold_lock, &h), 0);
	pthread_mutex_lock(&h.m);
	while (!h.locked)
		pthread_cond_wait(&h.cv, &h.m);
	pthread_mutex_unlock(&h.m);
	/* a reader is not blocked (WAL), a writer waits */
	json_t *rec = NULL;
	assert_int_equal(vmie_store_get(s, VMIE_REC_IMAGE, id, &rec, &e), 0);
	json_decref(rec);
	vmie_rec_new_id(VMIE_REC_IMAGE, id2);
	rec = image_rec(id2, "available");
	int r = vmie_store_put(s, VMIE_REC_IMAGE, id2, NULL, rec, NULL, &e);
	if (r)
		fail_msg("put under a lock: %s", e.msg);
	json_decref(rec);
	pthread_join(t, NULL);
	/* the put came after the holder's commit */
	assert_int_equal(count_status(s, VMIE_REC_IMAGE, "held"), 1);
	assert_int_equal(count_status(s, VMIE_REC_IMAGE, "available"), 1);
	vmie_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_new_ids),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_status_column),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_garbage_file),
		cmocka_unit_test(test_malformed_file),
		cmocka_unit_test(test_bad_doc),
		cmocka_unit_test(test_newer_schema),
		cmocka_unit_test(test_busy),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
