/*
 * The server's workers: a bounded pool of threads, each with its own
 * vmie_task_env (its own store connection), that take queued tasks
 * (vmie_task_take: the oldest queued, unowned task, claimed atomically,
 * so that several threads or processes never run one task twice) and
 * run them (vmie_task_run).  A worker sleeps on a condition variable
 * that srv_task_submitted() signals, and wakes at least every
 * SRV_POLL_MS to look for tasks queued by another process.  Worker 0
 * also ends the tasks of dead processes (vmie_task_recover) every
 * SRV_RECOVER_S seconds.
 *
 * Draining: s->suspend is every worker's env.suspend: a running task
 * stops at its next progress point, removes what it wrote and goes back
 * to the queue; the workers then end.
 */
#include "server/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "io/bucket.h"
#include "task/store.h"
#include "task/volstore.h"

#define SRV_POLL_MS   1500
#define SRV_RECOVER_S 30

struct worker {
	struct vmie_server *s;
	unsigned index;
	char task[VMIE_ID_MAX];
	char last_status[32];
	char last_message[256];
};

static struct worker *worker_ctx;   /* one array, freed at stop */

void srv_task_submitted(void *ctx, const char *task_id)
{
	struct vmie_server *s = ctx;
	(void)task_id;
	atomic_fetch_add(&s->queued, 1);
	srv_workers_wake(s);
}

void srv_workers_wake(struct vmie_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->wake_seq++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static const char *status_of(const json_t *t, const json_t **holder)
{
	const json_t *d = json_object_get(t, "SnapshotTaskDetail");
	*holder = d ? d : t;
	return json_string_value(json_object_get(*holder, "Status"));
}

/* env.progress: a log line per change of status or message */
static void on_progress(void *ctx, const json_t *task)
{
	struct worker *w = ctx;
	const json_t *h;
	const char *st = status_of(task, &h);
	const char *msg = json_string_value(json_object_get(h,
							    "StatusMessage"));
	struct srv_log l;
	if (!st)
		st = "";
	if (!msg)
		msg = "";
	if (!strcmp(st, w->last_status) && !strncmp(msg, w->last_message,
						    sizeof w->last_message - 1))
		return;
	vmie_strlcpy(w->last_status, st, sizeof w->last_status);
	vmie_strlcpy(w->last_message, msg, sizeof w->last_message);
	srv_log_begin(&l, w->s->cfg->log_format, "task");
	srv_log_str(&l, "task_id", w->task);
	srv_log_int(&l, "worker", w->index);
	srv_log_str(&l, "status", st);
	srv_log_str(&l, "message", msg);
	const char *pr = json_string_value(json_object_get(h, "Progress"));
	if (pr)
		srv_log_str(&l, "progress", pr);
	srv_log_end(&l);
}

/* Bytes a completed task wrote: the allocated bytes of the volumes of
 * an import, the size of an export's object. */
static uint64_t task_written(struct vmie_task_env *env, const json_t *rec)
{
	const json_t *sd = json_object_get(rec, "SnapshotDetails");
	const json_t *one = json_object_get(rec, "SnapshotTaskDetail");
	const json_t *x;
	uint64_t total = 0;
	size_t i;
	json_t *ids = json_array();
	json_array_foreach(sd, i, x)
		json_array_append(ids, json_object_get(x, "SnapshotId"));
	if (one)
		json_array_append(ids, json_object_get(one, "SnapshotId"));
	json_array_foreach(ids, i, x) {
		const char *snap = json_string_value(x);
		char fmt[16];
		int fd = -1;
		struct stat st;
		if (!snap || vmie_volstore_open_fd(env->vols, snap, &fd, fmt,
						   NULL))
			continue;
		if (!fstat(fd, &st))
			total += (uint64_t)st.st_blocks * 512;
		close(fd);
	}
	json_decref(ids);
	const json_t *loc = json_object_get(rec, "S3ExportLocation");
	const json_t *vm = json_object_get(rec, "Vmie");
	const char *bucket = json_string_value(json_object_get(loc,
							       "S3Bucket"));
	json_array_foreach(json_object_get(vm, "Keys"), i, x) {
		const char *key = json_string_value(x);
		uint64_t size;
		if (bucket && key && env->buckets &&
		    !vmie_buckets_head(env->buckets, bucket, key, &size, NULL))
			total += size;
	}
	return total;
}

static void run_one(struct worker *w, struct vmie_task_env *env)
{
	struct vmie_server *s = w->s;
	struct vmie_err err = { 0 };
	json_t *final = NULL, *rec = NULL;
	struct srv_log l;
	struct timespec t0, t1;
	const char *outcome;
	int r;

	w->last_status[0] = w->last_message[0] = 0;
	atomic_fetch_add(&s->running, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	srv_log_begin(&l, s->cfg->log_format, "task");
	srv_log_str(&l, "task_id", w->task);
	srv_log_int(&l, "worker", w->index);
	srv_log_str(&l, "status", "taken");
	srv_log_end(&l);
	r = vmie_task_run(env, w->task, &final, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_fetch_sub(&s->running, 1);
	if (!r) {
		const json_t *h;
		const char *st = status_of(final, &h);
		outcome = st && !strcmp(st, "completed") ? "completed" :
			  "deleted";
	} else if (err.code == VMIE_EINTR && strstr(err.msg, "queue")) {
		outcome = "requeued";
	} else {
		outcome = "error";
	}
	int kind = vmie_rec_kind_of_id(w->task);
	if (kind >= 0 && !vmie_store_get(env->store, (enum vmie_rec_kind)kind,
					 w->task, &rec, NULL) &&
	    strcmp(outcome, "error"))
		srv_metrics_task(&s->metrics, rec, outcome,
				 strcmp(outcome, "completed") ? 0 :
				 task_written(env, rec));
	srv_log_begin(&l, s->cfg->log_format, "task");
	srv_log_str(&l, "task_id", w->task);
	srv_log_int(&l, "worker", w->index);
	srv_log_str(&l, "status", "ended");
	srv_log_str(&l, "outcome", outcome);
	srv_log_num(&l, "seconds", (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (r)
		srv_log_str(&l, "error", err.msg);
	srv_log_end(&l);
	json_decref(final);
	json_decref(rec);
	w->task[0] = 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct vmie_server *s = w->s;
	struct vmie_task_env env = { 0 };
	struct vmie_err err = { 0 };
	struct srv_log l;
	time_t last_recover = time(NULL);

	if (srv_env_open(s, &env, &err)) {
		srv_log_begin(&l, s->cfg->log_format, "worker");
		srv_log_int(&l, "worker", w->index);
		srv_log_str(&l, "error", err.msg);
		srv_log_end(&l);
		srv_env_close(&env);
		return NULL;
	}
	env.suspend = &s->suspend;
	env.progress = on_progress;
	env.progress_ctx = w;
	while (!atomic_load(&s->stopping)) {
		uint64_t seq;
		pthread_mutex_lock(&s->lock);
		seq = s->wake_seq;
		pthread_mutex_unlock(&s->lock);

		if (w->index == 0 && time(NULL) - last_recover >= SRV_RECOVER_S) {
			last_recover = time(NULL);
			vmie_task_recover(&env, NULL, NULL);
		}
		vmie_err_clear(&err);
		int r = vmie_task_take(&env, w->task, &err);
		if (!r) {
			if (atomic_fetch_sub(&s->queued, 1) <= 0)
				atomic_store(&s->queued, 0);
			run_one(w, &env);
			continue;
		}
		if (r != VMIE_ENOENT) {
			srv_log_begin(&l, s->cfg->log_format, "worker");
			srv_log_int(&l, "worker", w->index);
			srv_log_str(&l, "error", err.msg);
			srv_log_end(&l);
		} else {
			atomic_store(&s->queued, 0);
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)SRV_POLL_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&s->lock);
		while (s->wake_seq == seq && !atomic_load(&s->stopping))
			if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) ==
			    ETIMEDOUT)
				break;
		pthread_mutex_unlock(&s->lock);
	}
	srv_env_close(&env);
	return NULL;
}

int srv_workers_start(struct vmie_server *s, struct vmie_err *err)
{
	unsigned n = s->cfg->workers;
	if (!n)
		return 0;
	s->workers = calloc(n, sizeof *s->workers);
	worker_ctx = calloc(n, sizeof *worker_ctx);
	if (!s->workers || !worker_ctx)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		worker_ctx[i].s = s;
		worker_ctx[i].index = i;
		int e = pthread_create(&s->workers[i], NULL, worker_main,
				       &worker_ctx[i]);
		if (e) {
			errno = e;
			return VMIE_ERR(err, VMIE_EIO, "cannot start worker %u: "
					"%s", i, strerror(e));
		}
		s->n_workers = i + 1;
	}
	return 0;
}

void srv_workers_stop(struct vmie_server *s)
{
	s->suspend = 1;
	atomic_store(&s->stopping, true);
	srv_workers_wake(s);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	s->n_workers = 0;
	free(s->workers);
	s->workers = NULL;
	free(worker_ctx);
	worker_ctx = NULL;
}
