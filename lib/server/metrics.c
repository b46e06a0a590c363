/*
 * GET /metrics: the server's counters in the Prometheus text exposition
 * format (version 0.0.4: "# HELP", "# TYPE", then `name{label="v"} value`
 * lines; histograms as _bucket{le=...} cumulative counts, _sum, _count).
 *
 *   vmie_requests_total{action,code}     answers by action and EC2 code
 *                                        ("OK" for a success)
 *   vmie_request_duration_seconds        histogram of answer times
 *   vmie_http_request_bytes_total        bytes of request bodies read
 *   vmie_http_response_bytes_total       bytes of answers written
 *   vmie_tasks{kind,state}               task records by state, from the
 *                                        store at scrape time (state:
 *                                        queued, running, completed,
 *                                        deleted, ...)
 *   vmie_task_runs_total{outcome}        runs by this server's workers
 *   vmie_task_read_bytes_total           data bytes the conversions read
 *                                        (Vmie.BytesRead; else the sizes
 *                                        of the source disks of completed
 *                                        imports, DiskImageSize)
 *   vmie_task_written_bytes_total        bytes they wrote: allocated bytes
 *                                        of imported volumes, exported
 *                                        objects
 *   vmie_task_stage_duration_seconds{stage}  histogram, from each ended
 *                                        task's Vmie.StageTimes
 *   vmie_queue_refusals_total            RequestLimitExceeded answers
 *   vmie_workers, vmie_tasks_running, vmie_requests_in_flight,
 *   vmie_start_time_seconds
 */
#include "server/server_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "task/store.h"

static const double request_bounds[SRV_DURATION_BUCKETS] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30 };
static const double stage_bounds[SRV_DURATION_BUCKETS] = {
	0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400 };

void srv_metrics_init(struct srv_metrics *m)
{
	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
}

static void observe(struct srv_hist *h, const double *bounds, double v)
{
	for (int i = 0; i < SRV_DURATION_BUCKETS; i++)
		if (v <= bounds[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum += v;
}

void srv_metrics_request(struct srv_metrics *m, const char *action,
			 const char *code, double seconds, size_t in,
			 size_t out)
{
	size_t i;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n_series; i++)
		if (!strcmp(m->series[i].action, action) &&
		    !strcmp(m->series[i].code, code))
			break;
	if (i == m->n_series && i < SRV_MAX_SERIES) {
		snprintf(m->series[i].action, sizeof m->series[i].action, "%s",
			 action);
		snprintf(m->series[i].code, sizeof m->series[i].code, "%s",
			 code);
		m->n_series++;
	}
	if (i < m->n_series)
		m->series[i].n++;
	else
		m->dropped_series++;
	observe(&m->request_seconds, request_bounds, seconds);
	m->http_in += in;
	m->http_out += out;
	pthread_mutex_unlock(&m->lock);
}

static int by_time(const void *a, const void *b)
{
	const double *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

void srv_metrics_task(struct srv_metrics *m, const json_t *rec,
		      const char *outcome, uint64_t written)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const json_t *times = json_object_get(vm, "StageTimes");
	const json_t *sd = json_object_get(rec, "SnapshotDetails");
	const json_t *one = json_object_get(rec, "SnapshotTaskDetail");
	const char *k;
	json_t *v, *x;
	size_t i, n = 0;
	struct { double t; size_t name; } st[SRV_STAGES];
	const char *names[SRV_STAGES];
	uint64_t rd = 0, wr = written;

	/* bytes: the sizes of the source disks of a completed import, the
	 * exported object of a completed export */
	if (!strcmp(outcome, "completed")) {
		json_array_foreach(sd, i, x)
			rd += (uint64_t)json_number_value(json_object_get(x,
							"DiskImageSize"));
		if (one)
			rd += (uint64_t)json_number_value(json_object_get(one,
							"DiskImageSize"));
	}
	/* what the conversion counted (lib/task: Vmie.BytesRead, the data
	 * read from the sources, Vmie.BytesWritten, the populated bytes of
	 * the volumes), when the record has it */
	if (json_is_integer(json_object_get(vm, "BytesRead"))) {
		rd = (uint64_t)json_integer_value(json_object_get(vm,
							"BytesRead"));
		wr = (uint64_t)json_integer_value(json_object_get(vm,
							"BytesWritten"));
	}
	json_object_foreach((json_t *)times, k, v) {
		if (n == SRV_STAGES || !json_is_number(v))
			continue;
		st[n].t = json_number_value(v);
		st[n].name = n;
		names[n] = k;
		n++;
	}
	qsort(st, n, sizeof *st, by_time);
	pthread_mutex_lock(&m->lock);
	m->tasks_run++;
	if (!strcmp(outcome, "completed"))
		m->tasks_completed++;
	else if (!strcmp(outcome, "requeued"))
		m->tasks_requeued++;
	else
		m->tasks_deleted++;
	m->task_read += rd;
	m->task_written += wr;
	/* a stage lasts until the next one began */
	for (i = 0; i + 1 < n; i++) {
		const char *name = names[st[i].name];
		size_t j;
		for (j = 0; j < m->n_stages; j++)
			if (!strcmp(m->stage_name[j], name))
				break;
		if (j == m->n_stages) {
			if (j == SRV_STAGES)
				continue;
			snprintf(m->stage_name[j], sizeof m->stage_name[j], "%s",
				 name);
			m->n_stages++;
		}
		observe(&m->stage_seconds[j], stage_bounds,
			st[i + 1].t - st[i].t);
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ---- */

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap ? o->cap * 2 : 8192) + (size_t)n;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

/* a label value: backslash, quote and newline escaped */
static const char *label(const char *s, char *buf, size_t size)
{
	size_t o = 0;
	for (; *s && o + 3 < size; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = 0;
	return buf;
}

static void emit_hist(struct out *o, const char *name, const char *lbl,
		      const struct srv_hist *h, const double *bounds)
{
	uint64_t cum = 0;
	for (int i = 0; i < SRV_DURATION_BUCKETS; i++) {
		cum += h->bucket[i];
		emit(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lbl,
		     *lbl ? "," : "", bounds[i], (unsigned long long)cum);
	}
	emit(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lbl, *lbl ? "," : "",
	     (unsigned long long)h->count);
	emit(o, "%s_sum%s%s%s %.6f\n", name, *lbl ? "{" : "", lbl,
	     *lbl ? "}" : "", h->sum);
	emit(o, "%s_count%s%s%s %llu\n", name, *lbl ? "{" : "", lbl,
	     *lbl ? "}" : "", (unsigned long long)h->count);
}

/* state of a task record for vmie_tasks: queued (waiting for a worker),
 * running (owned), or its Status */
static const char *task_state(const json_t *rec)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const json_t *d = json_object_get(rec, "SnapshotTaskDetail");
	const char *st = json_string_value(json_object_get(d ? d : rec,
							   "Status"));
	const char *owner = json_string_value(json_object_get(vm, "Owner"));
	if (!st)
		return "unknown";
	if (!strcmp(st, "active")) {
		if (owner && *owner)
			return "running";
		return json_is_true(json_object_get(vm, "Queued")) ?
		       "queued" : "active";
	}
	return st;
}

char *srv_metrics_render(struct srv_metrics *m, struct vmie_task_env *env,
			 const struct vmie_server *s, size_t *len)
{
	static const enum vmie_rec_kind kinds[] = { VMIE_REC_IMPORT_IMAGE,
		VMIE_REC_IMPORT_SNAPSHOT, VMIE_REC_EXPORT_IMAGE };
	struct out o = { 0 };
	char lb[200], a[100], b[100];

	emit(&o, "# HELP vmie_tasks Task records in the store by kind and "
	     "state (queued: waiting for a worker; running: owned by one).\n"
	     "# TYPE vmie_tasks gauge\n");
	for (size_t k = 0; env && k < sizeof kinds / sizeof *kinds; k++) {
		struct vmie_store_list q = { 0 };
		json_t *all = NULL, *x;
		char next[VMIE_ID_MAX];
		size_t i;
		struct { const char *state; unsigned n; } c[8];
		size_t nc = 0;
		if (vmie_store_list(env->store, kinds[k], &q, &all, next, NULL))
			continue;
		json_array_foreach(all, i, x) {
			const char *stt = task_state(x);
			size_t j;
			for (j = 0; j < nc; j++)
				if (!strcmp(c[j].state, stt))
					break;
			if (j == nc) {
				if (nc == 8)
					continue;
				c[nc].state = stt;
				c[nc++].n = 0;
			}
			c[j].n++;
		}
		for (size_t j = 0; j < nc; j++)
			emit(&o, "vmie_tasks{kind=\"%s\",state=\"%s\"} %u\n",
			     vmie_rec_kind_name(kinds[k]),
			     label(c[j].state, a, sizeof a), c[j].n);
		json_decref(all);
	}

	pthread_mutex_lock(&m->lock);
	emit(&o, "# HELP vmie_requests_total API answers by action and code "
	     "(OK: a success).\n# TYPE vmie_requests_total counter\n");
	for (size_t i = 0; i < m->n_series; i++)
		emit(&o, "vmie_requests_total{action=\"%s\",code=\"%s\"} %llu\n",
		     label(m->series[i].action, a, sizeof a),
		     label(m->series[i].code, b, sizeof b),
		     (unsigned long long)m->series[i].n);
	emit(&o, "# HELP vmie_request_duration_seconds Time to answer an API "
	     "request.\n# TYPE vmie_request_duration_seconds histogram\n");
	emit_hist(&o, "vmie_request_duration_seconds", "", &m->request_seconds,
		  request_bounds);
	emit(&o, "# HELP vmie_http_request_bytes_total Bytes of request bodies "
	     "read.\n# TYPE vmie_http_request_bytes_total counter\n"
	     "vmie_http_request_bytes_total %llu\n",
	     (unsigned long long)m->http_in);
	emit(&o, "# HELP vmie_http_response_bytes_total Bytes of answers "
	     "written.\n# TYPE vmie_http_response_bytes_total counter\n"
	     "vmie_http_response_bytes_total %llu\n",
	     (unsigned long long)m->http_out);
	emit(&o, "# HELP vmie_task_runs_total Task runs by this server's "
	     "workers, by outcome.\n# TYPE vmie_task_runs_total counter\n"
	     "vmie_task_runs_total{outcome=\"completed\"} %llu\n"
	     "vmie_task_runs_total{outcome=\"deleted\"} %llu\n"
	     "vmie_task_runs_total{outcome=\"requeued\"} %llu\n",
	     (unsigned long long)m->tasks_completed,
	     (unsigned long long)m->tasks_deleted,
	     (unsigned long long)m->tasks_requeued);
	emit(&o, "# HELP vmie_task_read_bytes_total Bytes of source images "
	     "read by completed tasks.\n# TYPE vmie_task_read_bytes_total "
	     "counter\nvmie_task_read_bytes_total %llu\n",
	     (unsigned long long)m->task_read);
	emit(&o, "# HELP vmie_task_written_bytes_total Bytes of images written "
	     "by completed tasks.\n# TYPE vmie_task_written_bytes_total "
	     "counter\nvmie_task_written_bytes_total %llu\n",
	     (unsigned long long)m->task_written);
	emit(&o, "# HELP vmie_task_stage_duration_seconds Time tasks spent in "
	     "each stage (Vmie.StageTimes).\n"
	     "# TYPE vmie_task_stage_duration_seconds histogram\n");
	for (size_t j = 0; j < m->n_stages; j++) {
		snprintf(lb, sizeof lb, "stage=\"%s\"",
			 label(m->stage_name[j], a, sizeof a));
		emit_hist(&o, "vmie_task_stage_duration_seconds", lb,
			  &m->stage_seconds[j], stage_bounds);
	}
	emit(&o, "# HELP vmie_queue_refusals_total Submissions refused with "
	     "RequestLimitExceeded (queue full or draining).\n"
	     "# TYPE vmie_queue_refusals_total counter\n"
	     "vmie_queue_refusals_total %llu\n",
	     (unsigned long long)m->refused_queue_full);
	pthread_mutex_unlock(&m->lock);
	emit(&o, "# HELP vmie_workers Worker threads.\n# TYPE vmie_workers "
	     "gauge\nvmie_workers %u\n", s->n_workers);
	emit(&o, "# HELP vmie_tasks_running Tasks this server runs now.\n"
	     "# TYPE vmie_tasks_running gauge\nvmie_tasks_running %d\n",
	     atomic_load(&s->running));
	emit(&o, "# HELP vmie_requests_in_flight API requests being answered."
	     "\n# TYPE vmie_requests_in_flight gauge\n"
	     "vmie_requests_in_flight %d\n", atomic_load(&s->inflight));
	emit(&o, "# HELP vmie_start_time_seconds When the server started.\n"
	     "# TYPE vmie_start_time_seconds gauge\n"
	     "vmie_start_time_seconds %lld\n", (long long)s->started);
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
