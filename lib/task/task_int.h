/* Internals shared by the files of lib/task (not installed). */
#ifndef VMIE_TASK_INT_H
#define VMIE_TASK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "task/task.h"

/* ---- request.c: JSON and request helpers ---- */

/* "2026-12-05T18:22:07.000Z", now */
void task_now_iso(char *out, size_t size);
double task_now(void);
/* The member's string, or NULL when absent or not a string. */
const char *task_str(const json_t *o, const char *key);
/* Set o[key] = string (NULL: delete the member). */
void task_set_str(json_t *o, const char *key, const char *v);
/* The "Vmie" member of a record, created when missing. */
json_t *task_vmie(json_t *rec);
/* Check a request member's type: absent is fine unless required.
 * VMIE_EINVAL with api MissingParameter / InvalidParameterValue. */
int task_want(const json_t *req, const char *key, json_type type,
	      bool required, const char *op, struct vmie_err *err);
/* Tags of a TagSpecifications list for resource type rtype ("import-
 * image-task"...): a new array (empty when none); VMIE_EINVAL on a bad
 * shape or another resource type. */
int task_tag_specs(const json_t *req, const char *rtype, const char *op,
		   json_t **tags, struct vmie_err *err);
/* Validate a Tags list ([{Key, Value}]): keys 1..128 characters, not
 * "aws:", values up to 256. */
int task_check_tags(const json_t *tags, bool values_required,
		    struct vmie_err *err);
/* Does record rec match every filter of Filters ([{Name, Values}])?
 * names maps filter names to record members ({"image-id", "ImageId"},
 * ..., terminated by {NULL, NULL}); "tag:K" and "tag-key" work for every
 * kind.  An unknown filter name: VMIE_EINVAL (InvalidParameterValue). */
struct task_filter_name {
	const char *filter;
	const char *member;     /* may be "A.B" for a nested member */
};
int task_filters_check(const json_t *filters,
		       const struct task_filter_name *names,
		       struct vmie_err *err);
bool task_filters_match(const json_t *rec, const json_t *filters,
			const struct task_filter_name *names);

/* ---- store.c: the columns stores keep beside a record (store.h) ---- */
const char *task_rec_status(enum vmie_rec_kind k, const json_t *rec);
bool task_rec_queued(enum vmie_rec_kind k, const json_t *rec);

/* ---- the run of one task (pipeline.c, export.c) ---- */

struct task_run {
	struct vmie_task_env *env;
	enum vmie_rec_kind kind;
	char id[VMIE_ID_MAX];
	char owner[160];
	pthread_mutex_t lock;         /* the store handle, between threads */
	pthread_t watcher;
	bool watching;
	volatile int stop;            /* cancel: store mark or env->cancel */
	volatile int quit_watcher;
	bool cancel_marked;           /* the stop came from CancelImportTask */
	bool suspended;               /* the stop came from env->suspend */
	int progress;                 /* percent, written by the worker */
	int progress_sent;
	double last_notify;
	double last_beat;             /* the watcher's last heartbeat write */
};

/* Patch the task record atomically, checking that this run still owns
 * it: members of set are copied onto the record (JSON null deletes), of
 * vmie onto its Vmie member.  Notifies env->progress. */
int task_patch(struct task_run *run, json_t *set, json_t *vmie,
	       struct vmie_err *err);
/* StatusMessage (and Vmie.Stage) of the run; kill_at is honoured here. */
int task_stage(struct task_run *run, const char *stage, const char *message,
	       struct vmie_err *err);
/* The watcher thread: heartbeat, cancel mark, env->cancel. */
int task_watch_start(struct task_run *run, struct vmie_err *err);
void task_watch_stop(struct task_run *run);
/* End the task: deleted with message (Status deleting first, cleanup
 * by the caller in between: see pipeline.c). */
int task_end_deleted(struct task_run *run, const char *message,
		     struct vmie_err *err);

/* Remove everything an unfinished import left: volumes of Vmie.Snapshots,
 * snapshot and image records made for it (recover.c). */
void task_cleanup_import(struct vmie_task_env *env, const json_t *rec);
/* Remove a partial export object (recover.c). */
void task_cleanup_export(struct vmie_task_env *env, const json_t *rec);

/* ---- the server's queue (recover.c) ---- */

/* Before a new task is stored: with env->queue, mark it queued and keep
 * a copy of the record as submitted (Vmie.Submitted), what a requeue
 * restores. */
void task_queue_mark(struct vmie_task_env *env, json_t *rec);
/* Whether a run stopped by env->suspend should go back to the queue
 * rather than end: a queued task, not cancelled. */
bool task_requeue_wanted(const struct task_run *run, const json_t *rec);
/* Put the task back in the queue: the record as submitted (its tags
 * kept), unowned, pending, Vmie.Attempts + 1.  The caller has removed
 * what the run wrote.  Only while owner (the run's, or the dead one's
 * taken over) still owns it. */
int task_requeue(struct vmie_task_env *env, enum vmie_rec_kind kind,
		 const char *id, const char *owner, struct vmie_err *err);

/* ---- the stages (pipeline.c, export.c) ---- */
int task_run_import(struct task_run *run, json_t *rec, struct vmie_err *err);
int task_run_export(struct task_run *run, json_t *rec, struct vmie_err *err);

#endif
