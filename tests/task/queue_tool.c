/*
 * queue-tool: lib/task's server queue from the command line, for
 * tests/task/queue.sh (vmie serve's workers use the same calls).
 *
 *   queue-tool STORE BUCKETS submit KIND JSON   store a queued task
 *                                                (KIND import-image,
 *                                                import-snapshot,
 *                                                export-image); prints
 *                                                its id
 *   queue-tool STORE BUCKETS take               claim the oldest queued
 *                                                task; prints its id or
 *                                                "empty"
 *   queue-tool STORE BUCKETS work [GLOB]        take and run tasks until
 *                                                the queue is empty; with
 *                                                GLOB, set the suspend
 *                                                flag as soon as a file
 *                                                matching it exists (a
 *                                                temporary volume)
 *   queue-tool STORE BUCKETS race N             N threads take at once
 *                                                (each its own store
 *                                                handle); prints how many
 *                                                got a task
 *   queue-tool STORE BUCKETS claims             take until the queue is
 *                                                empty; prints the claim
 *                                                latency (bench/multinode)
 *   queue-tool STORE BUCKETS count              vmie_task_queued
 *   queue-tool STORE BUCKETS recover            vmie_task_recover
 * VMIE_TEST_KILL_AT, VMIE_TEST_THROTTLE_MS and VMIE_RECORDS as for vmie.
 */
#include "core/err.h"
#include "io/bucket.h"
#include "task/task.h"

#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *store_dir, *bucket_dir;
static volatile int suspend_flag;

static int env_open(struct vmie_task_env *env, struct vmie_err *e)
{
	memset(env, 0, sizeof *env);
	/* VMIE_RECORDS: the records in PostgreSQL (tests/pg) */
	const char *rec = getenv("VMIE_RECORDS");
	int r = vmie_store_open(rec && rec[0] ? rec : store_dir, &env->store,
				e);
	if (!r)
		r = vmie_volstore_open_dir(store_dir, &env->vols, e);
	if (!r)
		r = vmie_buckets_open_dir(bucket_dir, &env->buckets, e);
	env->queue = true;
	env->suspend = &suspend_flag;
	env->threads = 1;
	env->kill_at = getenv("VMIE_TEST_KILL_AT");
	const char *tm = getenv("VMIE_TEST_THROTTLE_MS");
	env->throttle_ms = tm ? (unsigned)atoi(tm) : 0;
	return r;
}

static void env_close(struct vmie_task_env *env)
{
	vmie_buckets_close(env->buckets);
	vmie_volstore_close(env->vols);
	vmie_store_close(env->store);
}

static void *suspender(void *arg)
{
	const char *pattern = arg;
	struct timespec ts = { 0, 5 * 1000000L };
	for (int i = 0; i < 12000; i++) {       /* at most a minute */
		glob_t g;
		int m = glob(pattern, 0, NULL, &g);
		globfree(&g);
		if (!m)
			break;
		nanosleep(&ts, NULL);
	}
	suspend_flag = 1;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int racers_won;
static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;

static void *racer(void *arg)
{
	struct vmie_task_env env;
	struct vmie_err e = { 0 };
	char id[VMIE_ID_MAX];
	(void)arg;
	if (env_open(&env, &e))
		return NULL;
	if (!vmie_task_take(&env, id, &e)) {
		pthread_mutex_lock(&race_lock);
		racers_won++;
		pthread_mutex_unlock(&race_lock);
	}
	env_close(&env);
	return NULL;
}

int main(int argc, char **argv)
{
	struct vmie_task_env env;
	struct vmie_err e = { 0 };
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: queue-tool STORE BUCKETS CMD ...\n");
		return 2;
	}
	store_dir = argv[1];
	bucket_dir = argv[2];
	const char *cmd = argv[3];
	if (!strcmp(cmd, "race")) {
		int n = argc > 4 ? atoi(argv[4]) : 4;
		pthread_t t[32];
		if (n < 1 || n > 32)
			return 2;
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, racer, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		printf("%d\n", racers_won);
		return 0;
	}
	if ((r = env_open(&env, &e))) {
		fprintf(stderr, "queue-tool: %s\n", e.msg);
		return 1;
	}
	if (!strcmp(cmd, "submit") && argc == 6) {
		json_error_t je;
		json_t *req = json_loads(argv[5], 0, &je), *out = NULL;
		if (!req) {
			fprintf(stderr, "queue-tool: bad JSON: %s\n", je.text);
			return 2;
		}
		if (!strcmp(argv[4], "import-image"))
			r = vmie_import_image(&env, req, &out, &e);
		else if (!strcmp(argv[4], "import-snapshot"))
			r = vmie_import_snapshot(&env, req, &out, &e);
		else
			r = vmie_export_image(&env, req, &out, &e);
		json_decref(req);
		if (r < 0) {
			fprintf(stderr, "queue-tool: %s\n", e.msg);
			return 1;
		}
		const char *id = json_string_value(json_object_get(out,
			"ImportTaskId"));
		if (!id)
			id = json_string_value(json_object_get(out,
				"ExportImageTaskId"));
		printf("%s\n", id ? id : "?");
		json_decref(out);
	} else if (!strcmp(cmd, "take")) {
		char id[VMIE_ID_MAX];
		r = vmie_task_take(&env, id, &e);
		if (r == VMIE_ENOENT)
			printf("empty\n");
		else if (r)
			fprintf(stderr, "queue-tool: %s\n", e.msg);
		else
			printf("%s\n", id);
		r = r == VMIE_ENOENT ? 0 : r;
	} else if (!strcmp(cmd, "work")) {
		pthread_t t;
		char id[VMIE_ID_MAX];
		if (argc > 4)
			pthread_create(&t, NULL, suspender, argv[4]);
		while (!suspend_flag && !(r = vmie_task_take(&env, id, &e))) {
			json_t *fin = NULL;
			r = vmie_task_run(&env, id, &fin, &e);
			printf("%s %s\n", id, r ? "stopped" : "ended");
			if (r)
				fprintf(stderr, "queue-tool: %s: %s\n", id,
					e.msg);
			json_decref(fin);
		}
		if (r == VMIE_ENOENT)
			r = 0;
		if (argc > 4)
			pthread_join(t, NULL);
	} else if (!strcmp(cmd, "claims")) {
		/* take until the queue is empty, timing each claim */
		static double ms[100000];
		size_t n = 0;
		char id[VMIE_ID_MAX];
		for (;;) {
			struct timespec a, b;
			clock_gettime(CLOCK_MONOTONIC, &a);
			r = vmie_task_take(&env, id, &e);
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (r || n == sizeof ms / sizeof *ms)
				break;
			ms[n++] = (double)(b.tv_sec - a.tv_sec) * 1e3 +
				  (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		}
		if (r == VMIE_ENOENT)
			r = 0;
		if (r)
			fprintf(stderr, "queue-tool: %s\n", e.msg);
		qsort(ms, n, sizeof *ms, cmp_double);
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += ms[i];
		if (n)
			printf("claims %zu: mean %.2f ms, p50 %.2f ms, p99 "
			       "%.2f ms, max %.2f ms\n", n, sum / (double)n,
			       ms[n / 2], ms[n * 99 / 100], ms[n - 1]);
	} else if (!strcmp(cmd, "count")) {
		unsigned n = 0;
		r = vmie_task_queued(&env, &n, &e);
		printf("%u\n", n);
	} else if (!strcmp(cmd, "recover")) {
		unsigned n = 0;
		r = vmie_task_recover(&env, &n, &e);
		printf("%u\n", n);
	} else {
		fprintf(stderr, "queue-tool: unknown command %s\n", cmd);
		r = 2;
	}
	env_close(&env);
	return r < 0 ? 1 : r;
}
