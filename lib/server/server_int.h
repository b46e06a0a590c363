/*
 * Internals of the server (lib/server): the shared state, the log line
 * builder, the metrics and the workers.
 */
#ifndef VMIE_SERVER_INT_H
#define VMIE_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/service.h"
#include "api/sigv4.h"
#include "server/config.h"
#include "task/task.h"

struct MHD_Daemon;
struct vmie_server;

/* ---- log lines (log.c): one line per event, written at once ---- */

struct srv_log {
	enum vmie_srv_log_format fmt;
	char buf[4096];
	size_t len;
	bool trunc;
};

void srv_log_begin(struct srv_log *l, enum vmie_srv_log_format fmt,
		   const char *event);
void srv_log_str(struct srv_log *l, const char *key, const char *val);
void srv_log_int(struct srv_log *l, const char *key, long long val);
void srv_log_num(struct srv_log *l, const char *key, double val);
/* Write the line to stderr (one write). */
void srv_log_end(struct srv_log *l);

/* ---- metrics (metrics.c) ---- */

#define SRV_MAX_SERIES 512
#define SRV_STAGES 16
#define SRV_DURATION_BUCKETS 10

struct srv_series {
	char action[48];
	char code[48];
	uint64_t n;
};

struct srv_hist {
	uint64_t bucket[SRV_DURATION_BUCKETS];   /* cumulative at render */
	uint64_t count;
	double sum;
};

struct srv_metrics {
	pthread_mutex_t lock;
	struct srv_series series[SRV_MAX_SERIES];
	size_t n_series;
	uint64_t dropped_series;
	struct srv_hist request_seconds;
	char stage_name[SRV_STAGES][24];
	struct srv_hist stage_seconds[SRV_STAGES];
	size_t n_stages;
	uint64_t http_in, http_out;         /* bytes of bodies */
	uint64_t task_read, task_written;   /* bytes of images */
	uint64_t tasks_run, tasks_completed, tasks_deleted, tasks_requeued;
	uint64_t refused_queue_full;
};

void srv_metrics_init(struct srv_metrics *m);
void srv_metrics_request(struct srv_metrics *m, const char *action,
			 const char *code, double seconds, size_t in,
			 size_t out);
/* A task that ended a run: its record (with Vmie) for the stage times
 * and byte counts. */
void srv_metrics_task(struct srv_metrics *m, const json_t *rec,
		      const char *outcome, uint64_t written);
/* The Prometheus text (malloc'd); env: a store to count tasks by state. */
char *srv_metrics_render(struct srv_metrics *m, struct vmie_task_env *env,
			 const struct vmie_server *s, size_t *len);

/* ---- the server ---- */

struct vmie_server {
	const struct vmie_srvcfg *cfg;
	struct vmie_api_service svc;
	struct vmie_sigv4_config sigv4;
	const char *regions[VMIE_SRV_MAX_REGIONS];
	struct MHD_Daemon *daemons[VMIE_SRV_MAX_LISTEN];
	char bound[VMIE_SRV_MAX_LISTEN][80];
	size_t n_daemons;
	char *tls_cert_pem, *tls_key_pem;
	bool tls;
	pthread_key_t env_key;
	bool env_key_made;

	/* workers */
	pthread_t *workers;
	unsigned n_workers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t wake_seq;
	volatile int suspend;          /* env.suspend of every worker */
	atomic_bool stopping;
	atomic_long queued;            /* tasks submitted, not yet taken */
	atomic_int running;            /* tasks being run */
	atomic_int inflight;           /* HTTP requests being answered */
	atomic_bool draining;
	bool drained;
	time_t started;

	struct srv_metrics metrics;
};

/* An env over the configured store and buckets (workers, HTTP threads). */
int srv_env_open(const struct vmie_server *s, struct vmie_task_env *env,
		 struct vmie_err *err);
void srv_env_close(struct vmie_task_env *env);

/* workers.c */
int srv_workers_start(struct vmie_server *s, struct vmie_err *err);
void srv_workers_wake(struct vmie_server *s);
void srv_workers_stop(struct vmie_server *s);
void srv_task_submitted(void *ctx, const char *task_id);

#endif
