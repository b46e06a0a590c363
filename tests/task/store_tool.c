/*
 * store-tool: a small command line over the task store API (store.h), for
 * shell tests (tests/task/store-procs.sh):
 *
 *   store-tool put DIR ID JSON [TOKEN]   (kind from the id; on a token
 *                                        already used: prints its id, rc 3)
 *   store-tool get DIR ID                prints the record (compact JSON)
 *   store-tool status DIR ID STATUS      sets the "Status" member
 *   store-tool list DIR KIND [STATUS]    ids in list order, one a line
 *                                        (read in pages of 7)
 *   store-tool integrity DIR
 *   store-tool hammer DIR WORKER N       N cycles of put, update, get
 *                                        and list; see hammer()
 *
 * DIR may be a PostgreSQL URL (tests/pg/store-procs-pg.sh).
 * Exit status 0, or 1 with the error on stderr (2 for usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "task/store.h"

/* the record that every hammer updates */
#define COUNTER_ID "import-ami-00000000000000000"

static int die(const char *what, const struct vmie_err *e)
{
	fprintf(stderr, "store-tool: %s: %s\n", what, e->msg);
	return 1;
}

static int kind_by_name(const char *name)
{
	for (int k = 0; k < VMIE_REC_N; k++)
		if (strcmp(vmie_rec_kind_name(k), name) == 0)
			return k;
	return -1;
}

static int set_status(json_t *rec, void *ctx, struct vmie_err *err)
{
	json_object_set_new(rec, "Status", json_string(ctx));
	return 0;
}

/* The id member of a record, by the AWS shapes */
static const char *rec_id(const json_t *rec)
{
	static const char *const keys[] = { "ImportTaskId",
		"ExportImageTaskId", "ImageId", "SnapshotId" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *id = json_string_value(json_object_get(rec,
								   keys[i]));
		if (id)
			return id;
	}
	return "?";
}

/* Walk every page of kind (pages of page); *n counts the records, and
 * with print each id is printed.  Checks that no id comes twice (paging
 * by insertion order must not repeat records while others insert). */
static int walk(struct vmie_store *s, enum vmie_rec_kind k,
		const char *status, unsigned page, bool print, size_t *n,
		struct vmie_err *e)
{
	char next[VMIE_ID_MAX] = "", after[VMIE_ID_MAX] = "";
	json_t *seen = json_object();
	int r = 0;
	*n = 0;
	do {
		struct vmie_store_list q = { .status = status, .after = after,
					     .max = page };
		json_t *arr = NULL, *v;
		size_t i;
		r = vmie_store_list(s, k, &q, &arr, next, e);
		if (r)
			break;
		json_array_foreach(arr, i, v) {
			const char *id = rec_id(v);
			if (json_object_get(seen, id)) {
				r = VMIE_ERR(e, VMIE_ECORRUPT, "list: %s "
					     "twice", id);
				break;
			}
			json_object_set_new(seen, id, json_true());
			if (print)
				printf("%s\n", id);
			(*n)++;
		}
		json_decref(arr);
		memcpy(after, next, sizeof after);
	} while (!r && next[0]);
	json_decref(seen);
	return r;
}

struct count_ctx {
	int worker;
};

/* Count += 1 and W<worker> += 1 on the counter record */
static int count_fn(json_t *rec, void *ctx, struct vmie_err *err)
{
	struct count_ctx *c = ctx;
	char key[32];
	json_t *n = json_object_get(rec, "Count");
	if (!json_is_integer(n))
		return VMIE_ERR(err, VMIE_ECORRUPT, "counter: no Count");
	json_object_set_new(rec, "Count",
			    json_integer(json_integer_value(n) + 1));
	snprintf(key, sizeof key, "W%d", c->worker);
	n = json_object_get(rec, key);
	json_object_set_new(rec, key,
			    json_integer(json_integer_value(n) + 1));
	return 0;
}

static int complete_fn(json_t *rec, void *ctx, struct vmie_err *err)
{
	if (strcmp(json_string_value(json_object_get(rec, "State")),
		   "pending") != 0)
		return VMIE_ERR(err, VMIE_EINVAL, "not pending");
	json_object_set_new(rec, "State", json_string("completed"));
	return 0;
}

/*
 * One worker of store-procs.sh: the counter task is made by whoever comes
 * first, then N cycles of
 *   put a snapshot (token "w<W>-<i>"), update the counter, complete the
 *   snapshot, read it back, put it again by token (must answer its id),
 *   and every 10 cycles walk all snapshots in pages of 5 and check that
 *   this worker's are all there.
 */
static int hammer(const char *dir, int worker, int n)
{
	struct vmie_err e = { 0 };
	struct vmie_store *s = NULL;
	struct count_ctx cc = { worker };
	int r = vmie_store_open(dir, &s, &e);
	if (r)
		return die("open", &e);
	json_t *counter = json_pack("{s:s, s:s, s:i}", "ImportTaskId",
				    COUNTER_ID, "Status", "active",
				    "Count", 0);
	r = vmie_store_put(s, VMIE_REC_IMPORT_IMAGE, COUNTER_ID, NULL,
			   counter, NULL, &e);
	json_decref(counter);
	if (r && r != VMIE_EEXIST)
		goto fail;
	for (int i = 0; i < n; i++) {
		char id[VMIE_ID_MAX], existing[VMIE_ID_MAX], token[32];
		json_t *rec, *got = NULL;
		vmie_rec_new_id(VMIE_REC_SNAPSHOT, id);
		snprintf(token, sizeof token, "w%d-%d", worker, i);
		rec = json_pack("{s:s, s:i, s:i, s:s, s:{s:s}}", "SnapshotId", id,
				"Worker", worker, "I", i, "State", "pending",
				"Vmie", "Owner", token);
		r = vmie_store_put(s, VMIE_REC_SNAPSHOT, id, token, rec, NULL,
				   &e);
		if (r) {
			json_decref(rec);
			goto fail;
		}
		r = vmie_store_update(s, VMIE_REC_IMPORT_IMAGE, COUNTER_ID,
				      count_fn, &cc, &e);
		if (r) {
			json_decref(rec);
			goto fail;
		}
		r = vmie_store_update(s, VMIE_REC_SNAPSHOT, id, complete_fn,
				      NULL, &e);
		if (r) {
			json_decref(rec);
			goto fail;
		}
		r = vmie_store_get(s, VMIE_REC_SNAPSHOT, id, &got, &e);
		if (!r && strcmp(json_string_value(json_object_get(got,
						"State")), "completed") != 0)
			r = VMIE_ERR(&e, VMIE_ECORRUPT, "%s: not completed",
				     id);
		json_decref(got);
		if (r) {
			json_decref(rec);
			goto fail;
		}
		char other[VMIE_ID_MAX];
		vmie_rec_new_id(VMIE_REC_SNAPSHOT, other);
		r = vmie_store_put(s, VMIE_REC_SNAPSHOT, other, token, rec,
				   existing, &e);
		json_decref(rec);
		if (r != VMIE_EEXIST || strcmp(existing, id) != 0) {
			if (!r)
				VMIE_ERR(&e, VMIE_EINVAL, "token %s not "
					 "deduplicated", token);
			else if (r == VMIE_EEXIST)
				VMIE_ERR(&e, VMIE_EINVAL, "token %s gave %s, "
					 "not %s", token, existing, id);
			r = 1;
			goto fail;
		}
		r = 0;
		if (i % 10 == 9) {
			size_t total;
			r = walk(s, VMIE_REC_SNAPSHOT, NULL, 5, false, &total,
				 &e);
			if (r)
				goto fail;
			if (total < (size_t)i + 1) {
				VMIE_ERR(&e, VMIE_EINVAL, "only %zu snapshots "
					 "listed after %d puts", total, i + 1);
				r = 1;
				goto fail;
			}
		}
	}
	vmie_store_close(s);
	return 0;
fail:
	vmie_store_close(s);
	char what[32];
	snprintf(what, sizeof what, "hammer %d", worker);
	return die(what, &e);
}

static int usage(void)
{
	fprintf(stderr, "usage: store-tool put DIR ID JSON [TOKEN] | get DIR ID"
		" | status DIR ID STATUS | list DIR KIND [STATUS]"
		" | integrity DIR | hammer DIR WORKER N\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct vmie_err e = { 0 };
	struct vmie_store *s = NULL;
	int r, k;
	if (argc < 3)
		return usage();
	const char *cmd = argv[1], *dir = argv[2];
	if (strcmp(cmd, "hammer") == 0) {
		if (argc != 5)
			return usage();
		return hammer(dir, atoi(argv[3]), atoi(argv[4]));
	}
	r = vmie_store_open(dir, &s, &e);
	if (r)
		return die("open", &e);
	if (strcmp(cmd, "put") == 0 && (argc == 5 || argc == 6)) {
		char existing[VMIE_ID_MAX];
		json_error_t je;
		json_t *rec = json_loads(argv[4], JSON_REJECT_DUPLICATES, &je);
		k = vmie_rec_kind_of_id(argv[3]);
		if (!rec || k < 0) {
			fprintf(stderr, "store-tool: bad JSON or id\n");
			json_decref(rec);
			r = 2;
			goto out;
		}
		r = vmie_store_put(s, k, argv[3], argc == 6 ? argv[5] : NULL,
				   rec, existing, &e);
		json_decref(rec);
		if (r == VMIE_EEXIST && existing[0]) {
			printf("%s\n", existing);
			r = 3;
			goto out;
		}
	} else if (strcmp(cmd, "get") == 0 && argc == 4) {
		json_t *rec = NULL;
		k = vmie_rec_kind_of_id(argv[3]);
		r = k < 0 ? VMIE_ERR(&e, VMIE_EINVAL, "bad id") :
		    vmie_store_get(s, k, argv[3], &rec, &e);
		if (!r) {
			char *t = json_dumps(rec, JSON_COMPACT);
			printf("%s\n", t ? t : "");
			free(t);
		}
		json_decref(rec);
	} else if (strcmp(cmd, "status") == 0 && argc == 5) {
		k = vmie_rec_kind_of_id(argv[3]);
		r = k < 0 ? VMIE_ERR(&e, VMIE_EINVAL, "bad id") :
		    vmie_store_update(s, k, argv[3], set_status, argv[4], &e);
	} else if (strcmp(cmd, "list") == 0 && (argc == 4 || argc == 5)) {
		size_t n;
		k = kind_by_name(argv[3]);
		r = k < 0 ? VMIE_ERR(&e, VMIE_EINVAL, "bad kind") :
		    walk(s, k, argc == 5 ? argv[4] : NULL, 7, true, &n, &e);
	} else if (strcmp(cmd, "integrity") == 0 && argc == 3) {
		r = vmie_store_integrity(s, &e);
	} else {
		r = usage();
		goto out;
	}
	if (r)
		r = die(cmd, &e);
out:
	vmie_store_close(s);
	return r;
}
