/*
 * Running, cancelling and recovering tasks; the describe calls; tags,
 * DeregisterImage and DeleteSnapshot.
 *
 * Recovery: a task is active while a process owns it (Vmie.Owner, see
 * pipeline.c).  An owner that is gone (killed, the machine rebooted) left
 * the task active with, perhaps, temporary volumes and records of a
 * register cut short.  vmie_task_recover() takes such tasks over one by
 * one (an atomic update that checks the owner is still the dead one, so
 * two recovering processes never both act), undoes what they wrote and
 * ends them deleted with a message naming the stage they reached.  Then
 * it sweeps the image store of temporary volumes no running task owns.
 * An owner on another host (another `vmie serve` node) is judged by its
 * heartbeat, the lease: stale after TASK_STALE_SECONDS, judged again in
 * the update that takes its task over (claim_fn), so that a node that
 * renews late but renews keeps its task.
 */
#include "task/task_int.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A task never claimed (its submitter died before running it) is
 * abandoned after this many seconds. */
#define TASK_UNCLAIMED_SECONDS 60.0
/* An owner on another host whose heartbeat is older than this is gone
 * (the lease; the watcher renews it every 5 s).  Tests shorten it with
 * VMIE_TEST_STALE_SECONDS. */
#define TASK_STALE_SECONDS 60.0

static double task_stale_seconds(void)
{
	const char *t = getenv("VMIE_TEST_STALE_SECONDS");
	double v = t ? atof(t) : 0;
	return v >= 10 ? v : TASK_STALE_SECONDS;
}

static const char *id_key(enum vmie_rec_kind k)
{
	switch (k) {
	case VMIE_REC_EXPORT_IMAGE: return "ExportImageTaskId";
	case VMIE_REC_IMAGE: return "ImageId";
	case VMIE_REC_SNAPSHOT: return "SnapshotId";
	default: return "ImportTaskId";
	}
}

static bool is_task(enum vmie_rec_kind k)
{
	return k == VMIE_REC_IMPORT_IMAGE || k == VMIE_REC_IMPORT_SNAPSHOT ||
	       k == VMIE_REC_EXPORT_IMAGE;
}

/* ---- claim and run ---- */

struct claim_ctx {
	const char *self;
	const char *expect;     /* take over only from this owner (recovery) */
	bool ended, taken;
	bool claimed;           /* this update wrote the claim */
	char other[160];
};

static int claim_fn(json_t *rec, void *vctx, struct vmie_err *err)
{
	struct claim_ctx *c = vctx;
	json_t *vm = task_vmie(rec);
	const char *owner = task_str(vm, "Owner");

	if (vmie_task_ended(rec)) {
		c->ended = true;
		return VMIE_STORE_UNCHANGED;
	}
	if (c->expect) {
		if (strcmp(owner ? owner : "", c->expect))
			return VMIE_STORE_UNCHANGED;
		/* an owner on another host keeps its task while it renews
		 * its heartbeat (the lease), judged here, in the update that
		 * takes it over, not from an older read */
		if (owner && owner[0] && !vmie_task_owner_local(owner) &&
		    task_now() - json_number_value(json_object_get(vm,
				"Heartbeat")) < task_stale_seconds()) {
			vmie_strlcpy(c->other, owner, sizeof c->other);
			c->taken = true;
			return VMIE_STORE_UNCHANGED;
		}
	} else if (owner && owner[0] && strcmp(owner, c->self) &&
		   vmie_task_owner_alive(owner)) {
		vmie_strlcpy(c->other, owner, sizeof c->other);
		c->taken = true;
		return VMIE_STORE_UNCHANGED;
	}
	json_object_set_new(vm, "Owner", json_string(c->self));
	json_object_set_new(vm, "Heartbeat", json_real(task_now()));
	c->claimed = true;
	return 0;
}

int vmie_task_claim(struct vmie_task_env *env, const char *task_id,
		    struct vmie_err *err)
{
	char self[160];
	int kind = vmie_rec_kind_of_id(task_id);
	struct claim_ctx c = { .self = self };
	int r;

	if (kind < 0 || !is_task((enum vmie_rec_kind)kind))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "'%.64s' is not a task id", task_id);
	vmie_task_self_owner(self, sizeof self);
	r = vmie_store_update(env->store, (enum vmie_rec_kind)kind, task_id,
			      claim_fn, &c, err);
	if (r)
		return r;
	if (c.ended)
		return VMIE_API_ERR(err, VMIE_EINVAL, "IncorrectState",
				    "%s has already ended", task_id);
	if (c.taken)
		return VMIE_API_ERR(err, VMIE_EEXIST, "IncorrectState",
				    "%s is being run by another vmie process "
				    "(%s)", task_id, c.other);
	return 0;
}

int vmie_task_run(struct vmie_task_env *env, const char *task_id,
		  json_t **final, struct vmie_err *err)
{
	struct task_run run = { .env = env };
	json_t *rec = NULL;
	int r;

	if (final)
		*final = NULL;
	r = vmie_task_claim(env, task_id, err);
	if (r)
		return r;
	run.kind = (enum vmie_rec_kind)vmie_rec_kind_of_id(task_id);
	vmie_strlcpy(run.id, task_id, sizeof run.id);
	vmie_task_self_owner(run.owner, sizeof run.owner);
	pthread_mutex_init(&run.lock, NULL);
	r = vmie_store_get(env->store, run.kind, task_id, &rec, err);
	if (!r)
		r = task_watch_start(&run, err);
	if (!r) {
		if (run.kind == VMIE_REC_EXPORT_IMAGE)
			r = task_run_export(&run, rec, err);
		else
			r = task_run_import(&run, rec, err);
	}
	task_watch_stop(&run);
	pthread_mutex_destroy(&run.lock);
	json_decref(rec);
	if (!r && final) {
		json_t *now = NULL;
		if (!vmie_store_get(env->store, run.kind, task_id, &now, NULL)) {
			*final = vmie_rec_public(now);
			json_decref(now);
		}
	}
	return r;
}

/* ---- the server's queue ---- */

void task_queue_mark(struct vmie_task_env *env, json_t *rec)
{
	if (!env->queue)
		return;
	json_t *vm = task_vmie(rec);
	json_object_set_new(vm, "Queued", json_true());
	json_object_set_new(vm, "Attempts", json_integer(0));
	json_object_set_new(vm, "Submitted", json_deep_copy(rec));
}

bool task_requeue_wanted(const struct task_run *run, const json_t *rec)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	return run->suspended && !run->cancel_marked &&
	       json_is_true(json_object_get(vm, "Queued"));
}

struct requeue_ctx {
	const char *owner;
	bool done;
};

static int requeue_fn(json_t *rec, void *vctx, struct vmie_err *err)
{
	struct requeue_ctx *c = vctx;
	json_t *vm = task_vmie(rec);
	const char *owner = task_str(vm, "Owner");
	const json_t *sub = json_object_get(vm, "Submitted");

	(void)err;
	if (vmie_task_ended(rec) || !json_is_object(sub) ||
	    strcmp(owner ? owner : "", c->owner))
		return VMIE_STORE_UNCHANGED;
	json_t *fresh = json_deep_copy(sub);
	json_t *fvm = task_vmie(fresh);
	json_object_set(fvm, "Submitted", (json_t *)sub);
	json_object_set_new(fvm, "Attempts", json_integer(
		json_integer_value(json_object_get(vm, "Attempts")) + 1));
	json_object_set_new(fvm, "Requeued", json_real(task_now()));
	json_t *tags = json_object_get(rec, "Tags");
	if (tags)
		json_object_set(fresh, "Tags", tags);
	else
		json_object_del(fresh, "Tags");
	json_object_clear(rec);
	json_object_update(rec, fresh);
	json_decref(fresh);
	c->done = true;
	return 0;
}

int task_requeue(struct vmie_task_env *env, enum vmie_rec_kind kind,
		 const char *id, const char *owner, struct vmie_err *err)
{
	struct requeue_ctx c = { .owner = owner };
	int r = vmie_store_update(env->store, kind, id, requeue_fn, &c, err);
	if (!r && !c.done)
		r = VMIE_ERR(err, VMIE_EPERM, "%s: not requeued (no longer "
			     "owned by %s)", id, owner);
	return r;
}

/* The queued, unowned tasks of every kind: how many, and the oldest
 * (best: VMIE_ID_MAX bytes, "" when none; *best_k its kind, -1). */
static int queue_scan(struct vmie_task_env *env, unsigned *count, char *best,
		      int *best_k, struct vmie_err *err)
{
	static const enum vmie_rec_kind kinds[] = {
		VMIE_REC_IMPORT_IMAGE, VMIE_REC_IMPORT_SNAPSHOT,
		VMIE_REC_EXPORT_IMAGE };
	double best_t = 0;
	unsigned n = 0;

	best[0] = 0;
	*best_k = -1;
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		json_t *all = NULL, *x;
		char next[VMIE_ID_MAX];
		size_t i;
		struct vmie_store_list q = { .queued = true };
		int r = vmie_store_list(env->store, kinds[k], &q, &all, next,
					err);
		if (r)
			return r;
		json_array_foreach(all, i, x) {
			const json_t *vm = json_object_get(x, "Vmie");
			const char *o = task_str(vm, "Owner");
			const char *tid = task_str(x, id_key(kinds[k]));
			double t = json_number_value(json_object_get(vm,
							"Created"));
			if (!tid || vmie_task_ended(x) ||
			    !json_is_true(json_object_get(vm, "Queued")) ||
			    (o && o[0]) ||
			    json_is_true(json_object_get(vm,
						"CancelRequested")))
				continue;
			n++;
			if (*best_k < 0 || t < best_t) {
				best_t = t;
				*best_k = (int)kinds[k];
				vmie_strlcpy(best, tid, VMIE_ID_MAX);
			}
		}
		json_decref(all);
	}
	if (count)
		*count = n;
	return 0;
}

int vmie_task_queued(struct vmie_task_env *env, unsigned *count,
		     struct vmie_err *err)
{
	char best[VMIE_ID_MAX];
	int best_k;
	return queue_scan(env, count, best, &best_k, err);
}

int vmie_task_take(struct vmie_task_env *env, char *id, struct vmie_err *err)
{
	char self[160];
	unsigned stale = 0;     /* takes that claimed nothing: then the
				   generic way below */
	int r;

	vmie_task_self_owner(self, sizeof self);
	for (;;) {
		char best[VMIE_ID_MAX];
		int best_k;
		if (env->store && env->store->ops->take && stale < 8) {
			/* the store claims in one transaction (PostgreSQL:
			 * FOR UPDATE SKIP LOCKED) */
			static const enum vmie_rec_kind kinds[] = {
				VMIE_REC_IMPORT_IMAGE, VMIE_REC_IMPORT_SNAPSHOT,
				VMIE_REC_EXPORT_IMAGE };
			struct claim_ctx c = { .self = self, .expect = "" };
			enum vmie_rec_kind k;
			r = env->store->ops->take(env->store, kinds, 3,
						  claim_fn, &c, &k, best, err);
			if (r)
				return r;
			if (c.claimed) {
				vmie_strlcpy(id, best, VMIE_ID_MAX);
				return 0;
			}
			stale++;        /* its queue column was stale */
			continue;
		}
		r = queue_scan(env, NULL, best, &best_k, err);
		if (r)
			return r;
		if (best_k < 0)
			return VMIE_ERR(err, VMIE_ENOENT, "the queue is empty");
		struct claim_ctx c = { .self = self, .expect = "" };
		r = vmie_store_update(env->store, (enum vmie_rec_kind)best_k,
				      best, claim_fn, &c, err);
		if (r == VMIE_ENOENT)
			continue;       /* removed meanwhile */
		if (r)
			return r;
		/* (threads of one process share the owner string: only the
		 * update that wrote the claim counts) */
		if (c.claimed) {
			vmie_strlcpy(id, best, VMIE_ID_MAX);
			return 0;
		}
		/* another thread or node took it first: look again */
	}
}

/* ---- undoing a task's writes ---- */

/* Remove the records of kind k whose Vmie.ImportTask is task. */
static void remove_made_by(struct vmie_task_env *env, enum vmie_rec_kind k,
			   const char *task)
{
	json_t *all = NULL, *x;
	char next[VMIE_ID_MAX];
	size_t i;
	struct vmie_store_list q = { 0 };
	if (vmie_store_list(env->store, k, &q, &all, next, NULL))
		return;
	json_array_foreach(all, i, x) {
		const char *t = task_str(json_object_get(x, "Vmie"),
					 "ImportTask");
		const char *id = task_str(x, id_key(k));
		if (t && id && !strcmp(t, task))
			vmie_store_remove(env->store, k, id, NULL);
	}
	json_decref(all);
}

void task_cleanup_import(struct vmie_task_env *env, const json_t *rec)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const json_t *snaps = json_object_get(vm, "Snapshots"), *s;
	const char *id = task_str(rec, "ImportTaskId");
	size_t i;

	if (!id)
		return;
	/* records first: an image never names a volume that is gone */
	remove_made_by(env, VMIE_REC_IMAGE, id);
	remove_made_by(env, VMIE_REC_SNAPSHOT, id);
	json_array_foreach(snaps, i, s)
		if (json_is_string(s))
			vmie_volstore_remove(env->vols, json_string_value(s),
					     NULL);
}

void task_cleanup_export(struct vmie_task_env *env, const json_t *rec)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const json_t *keys = json_object_get(vm, "Keys"), *k;
	const json_t *loc = json_object_get(rec, "S3ExportLocation");
	const char *b = task_str(loc, "S3Bucket");
	size_t i;

	if (!b || !env->buckets)
		return;
	json_array_foreach(keys, i, k)
		if (json_is_string(k))
			vmie_buckets_remove_temps(env->buckets, b,
						  json_string_value(k), NULL);
}

/* End a task that no live process runs: take it over from owner (the
 * dead one, "" for none), undo, deleted with message. */
static int end_orphan(struct vmie_task_env *env, enum vmie_rec_kind kind,
		      const char *id, const char *owner, const char *message,
		      struct vmie_err *err)
{
	struct task_run run = { .env = env, .kind = kind };
	struct claim_ctx c = { .self = run.owner, .expect = owner };
	json_t *rec = NULL;
	int r;

	vmie_strlcpy(run.id, id, sizeof run.id);
	vmie_task_self_owner(run.owner, sizeof run.owner);
	pthread_mutex_init(&run.lock, NULL);
	r = vmie_store_update(env->store, kind, id, claim_fn, &c, err);
	if (r || c.ended)
		goto out;
	r = vmie_store_get(env->store, kind, id, &rec, err);
	if (r)
		goto out;
	if (strcmp(task_str(task_vmie(rec), "Owner") ?
		   task_str(task_vmie(rec), "Owner") : "", run.owner))
		goto out;       /* someone else took it first */
	json_t *set = json_object();
	json_object_set_new(set, "Status", json_string("deleting"));
	json_object_set_new(set, "StatusMessage", json_string(message));
	task_patch(&run, set, NULL, NULL);
	json_decref(set);
	if (kind == VMIE_REC_EXPORT_IMAGE)
		task_cleanup_export(env, rec);
	else
		task_cleanup_import(env, rec);
	r = task_end_deleted(&run, message, err);
out:
	json_decref(rec);
	pthread_mutex_destroy(&run.lock);
	return r;
}

/* A queued task whose worker died: take it over from owner, undo what
 * it wrote, back to the queue. */
static int requeue_orphan(struct vmie_task_env *env, enum vmie_rec_kind kind,
			  const char *id, const char *owner)
{
	char self[160];
	struct claim_ctx c = { .self = self, .expect = owner };
	json_t *rec = NULL;
	int r;

	vmie_task_self_owner(self, sizeof self);
	r = vmie_store_update(env->store, kind, id, claim_fn, &c, NULL);
	if (r || c.ended)
		return r ? r : VMIE_EINVAL;
	r = vmie_store_get(env->store, kind, id, &rec, NULL);
	if (r)
		return r;
	const char *o = task_str(json_object_get(rec, "Vmie"), "Owner");
	if (!o || strcmp(o, self)) {
		json_decref(rec);
		return VMIE_EEXIST;     /* someone else took it first */
	}
	if (kind == VMIE_REC_EXPORT_IMAGE)
		task_cleanup_export(env, rec);
	else
		task_cleanup_import(env, rec);
	json_decref(rec);
	return task_requeue(env, kind, id, self, NULL);
}

/* ---- cancel ---- */

struct cancel_ctx {
	bool ended, orphan, late;
	char state[16], owner[160];
};

static int cancel_fn(json_t *rec, void *vctx, struct vmie_err *err)
{
	struct cancel_ctx *c = vctx;
	json_t *vm = task_vmie(rec);
	const char *st = task_str(rec, "Status");
	const char *owner = task_str(vm, "Owner");

	if (!st)
		st = task_str(json_object_get(rec, "SnapshotTaskDetail"),
			      "Status");
	vmie_strlcpy(c->state, st ? st : "active", sizeof c->state);
	if (vmie_task_ended(rec)) {
		c->ended = true;
		return VMIE_STORE_UNCHANGED;
	}
	vmie_strlcpy(c->owner, owner ? owner : "", sizeof c->owner);
	/* once the results are being published, the task completes */
	const char *stage = task_str(vm, "Stage");
	if (stage && !strcmp(stage, "register") && owner &&
	    vmie_task_owner_alive(owner)) {
		c->late = true;
		return VMIE_STORE_UNCHANGED;
	}
	c->orphan = !owner || !vmie_task_owner_alive(owner);
	json_object_set_new(vm, "CancelRequested", json_true());
	return 0;
}

int vmie_task_cancel(struct vmie_task_env *env, const char *task_id,
		     json_t **out, struct vmie_err *err)
{
	int kind = vmie_rec_kind_of_id(task_id);
	struct cancel_ctx c = { 0 };
	int r;

	if (kind < 0 || !is_task((enum vmie_rec_kind)kind) ||
	    !vmie_rec_id_valid((enum vmie_rec_kind)kind, task_id))
		return VMIE_API_ERR(err, VMIE_EINVAL,
				    "InvalidConversionTaskId.Malformed",
				    "The task ID '%.64s' is malformed",
				    task_id);
	r = vmie_store_update(env->store, (enum vmie_rec_kind)kind, task_id,
			      cancel_fn, &c, err);
	if (r == VMIE_ENOENT)
		return VMIE_API_ERR(err, r, "InvalidConversionTaskId",
				    "The task ID '%s' does not exist",
				    task_id);
	if (r)
		return r;
	if (c.ended)
		return VMIE_API_ERR(err, VMIE_EINVAL, "IncorrectState",
				    "%s is %s: only an active task can be "
				    "cancelled", task_id, c.state);
	if (c.late)
		return VMIE_API_ERR(err, VMIE_EINVAL, "IncorrectState",
				    "%s is registering its results: too late "
				    "to cancel (it completes in a moment)",
				    task_id);
	/* nobody runs it: end it here (a running owner sees the mark
	 * within a second and ends it itself) */
	if (c.orphan)
		end_orphan(env, (enum vmie_rec_kind)kind, task_id, c.owner,
			   kind == VMIE_REC_EXPORT_IMAGE ?
			   "ClientError: the task was cancelled "
			   "(CancelExportTask)" :
			   "ClientError: the task was cancelled "
			   "(CancelImportTask)", NULL);
	if (out) {
		json_t *o = json_object();
		json_object_set_new(o, kind == VMIE_REC_EXPORT_IMAGE ?
				    "ExportTaskId" : "ImportTaskId",
				    json_string(task_id));
		json_object_set_new(o, "PreviousState", json_string(c.state));
		json_object_set_new(o, "State", json_string("deleting"));
		*out = o;
	}
	return 0;
}

/* ---- recovery ---- */

struct live_set {
	json_t *snaps;          /* snapshot ids of tasks still running */
	struct vmie_task_env *env;
};

/* Whether snap_id belongs to a task that may still be writing it.  Asked
 * after the sweep found the temporary volume, so the store is read again
 * here: a task records its snapshot ids before it creates a volume, so a
 * volume that exists is always named by a record this read sees (a list
 * read before the volume appeared might not name it). */
static bool snap_live(const char *snap_id, void *ctx)
{
	struct live_set *l = ctx;
	static const enum vmie_rec_kind kinds[] = { VMIE_REC_IMPORT_IMAGE,
						    VMIE_REC_IMPORT_SNAPSHOT };
	for (size_t k = 0; k < 2; k++) {
		json_t *all = NULL, *x;
		char next[VMIE_ID_MAX];
		struct vmie_store_list q = { .unended = true };
		size_t i, j;
		if (vmie_store_list(l->env->store, kinds[k], &q, &all, next,
				    NULL))
			return true;    /* cannot tell: keep it */
		json_array_foreach(all, i, x) {
			const json_t *vm = json_object_get(x, "Vmie"), *s;
			if (vmie_task_ended(x))
				continue;
			json_array_foreach(json_object_get(vm, "Snapshots"), j, s)
				if (json_is_string(s) &&
				    !strcmp(json_string_value(s), snap_id)) {
					const char *o = task_str(vm, "Owner");
					bool live = o && vmie_task_owner_alive(o);
					json_decref(all);
					return live;
				}
		}
		json_decref(all);
	}
	return false;
}

int vmie_task_recover(struct vmie_task_env *env, unsigned *ended,
		      struct vmie_err *err)
{
	static const enum vmie_rec_kind kinds[] = {
		VMIE_REC_IMPORT_IMAGE, VMIE_REC_IMPORT_SNAPSHOT,
		VMIE_REC_EXPORT_IMAGE };
	struct live_set live = { .snaps = json_array(), .env = env };
	unsigned n = 0;
	int r = 0;

	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		json_t *all = NULL, *x;
		char next[VMIE_ID_MAX];
		size_t i;
		struct vmie_store_list q = { .unended = true };
		r = vmie_store_list(env->store, kinds[k], &q, &all, next, err);
		if (r)
			goto out;
		json_array_foreach(all, i, x) {
			const json_t *vm = json_object_get(x, "Vmie");
			const char *owner = task_str(vm, "Owner");
			const char *stage = task_str(vm, "Stage");
			const char *id = task_str(x, id_key(kinds[k]));
			double created = json_number_value(
				json_object_get(vm, "Created"));
			char msg[400];
			if (!id || vmie_task_ended(x))
				continue;
			/* an owner on another host is judged by its
			 * heartbeat (written every 5 s while it runs) */
			double beat = json_number_value(
				json_object_get(vm, "Heartbeat"));
			bool alive = owner && vmie_task_owner_alive(owner) &&
				     (vmie_task_owner_local(owner) ||
				      task_now() - beat < task_stale_seconds());
			bool queued = json_is_true(json_object_get(vm,
							"Queued"));
			if (alive || (!owner && (queued || task_now() -
				      created < TASK_UNCLAIMED_SECONDS))) {
				const json_t *s;
				size_t j;
				json_array_foreach(json_object_get(vm,
					"Snapshots"), j, s)
					json_array_append(live.snaps,
							  (json_t *)s);
				continue;
			}
			if (queued && owner && json_integer_value(
				json_object_get(vm, "Attempts")) + 1 <
					VMIE_TASK_MAX_ATTEMPTS) {
				/* a server's worker died: the task goes back
				 * to the queue, what it wrote removed */
				if (!requeue_orphan(env, kinds[k], id, owner))
					n++;
				continue;
			}
			if (queued && owner)
				snprintf(msg, sizeof msg, "ServerError: the "
					 "task was interrupted %d times (at "
					 "stage '%s' the last time, run by "
					 "%s): given up", VMIE_TASK_MAX_ATTEMPTS,
					 stage ? stage : "pending", owner);
			else if (owner)
				snprintf(msg, sizeof msg, "ClientError: the "
					 "task was interrupted at stage "
					 "'%s': the vmie process running it "
					 "(%s) stopped", stage ? stage :
					 "pending", owner);
			else
				snprintf(msg, sizeof msg, "ClientError: the "
					 "task was never started (the vmie "
					 "process that submitted it stopped)");
			if (!end_orphan(env, kinds[k], id, owner ? owner : "",
					msg, NULL))
				n++;
		}
		json_decref(all);
	}
	r = vmie_volstore_sweep(env->vols, snap_live, &live, NULL, err);
out:
	json_decref(live.snaps);
	if (ended)
		*ended = n;
	return r;
}

/* ---- describe ---- */

static const struct task_filter_name task_filters[] = {
	{ "task-state", "Status" },
	{ "status", "Status" },
	{ "status-message", "StatusMessage" },
	{ "image-id", "ImageId" },
	{ "description", "Description" },
	{ "platform", "Platform" },
	{ "architecture", "Architecture" },
	{ "license-type", "LicenseType" },
	{ "boot-mode", "BootMode" },
	{ NULL, NULL }
};
static const struct task_filter_name snap_task_filters[] = {
	{ "task-state", "SnapshotTaskDetail.Status" },
	{ "status", "SnapshotTaskDetail.Status" },
	{ "snapshot-id", "SnapshotTaskDetail.SnapshotId" },
	{ "description", "Description" },
	{ NULL, NULL }
};
static const struct task_filter_name image_filters[] = {
	{ "image-id", "ImageId" },
	{ "name", "Name" },
	{ "state", "State" },
	{ "architecture", "Architecture" },
	{ "description", "Description" },
	{ "platform", "Platform" },
	{ "platform-details", "PlatformDetails" },
	{ "boot-mode", "BootMode" },
	{ "owner-id", "OwnerId" },
	{ "image-type", "ImageType" },
	{ "root-device-type", "RootDeviceType" },
	{ "virtualization-type", "VirtualizationType" },
	{ "usage-operation", "UsageOperation" },
	{ NULL, NULL }
};
static const struct task_filter_name snapshot_filters[] = {
	{ "snapshot-id", "SnapshotId" },
	{ "status", "State" },
	{ "description", "Description" },
	{ "owner-id", "OwnerId" },
	{ "volume-id", "VolumeId" },
	{ "volume-size", "VolumeSize" },
	{ "encrypted", "Encrypted" },
	{ NULL, NULL }
};

static const char *ids_key(enum vmie_rec_kind k)
{
	switch (k) {
	case VMIE_REC_EXPORT_IMAGE: return "ExportImageTaskIds";
	case VMIE_REC_IMAGE: return "ImageIds";
	case VMIE_REC_SNAPSHOT: return "SnapshotIds";
	default: return "ImportTaskIds";
	}
}

static const char *out_key(enum vmie_rec_kind k)
{
	switch (k) {
	case VMIE_REC_IMPORT_IMAGE: return "ImportImageTasks";
	case VMIE_REC_IMPORT_SNAPSHOT: return "ImportSnapshotTasks";
	case VMIE_REC_EXPORT_IMAGE: return "ExportImageTasks";
	case VMIE_REC_IMAGE: return "Images";
	default: return "Snapshots";
	}
}

static const char *op_name(enum vmie_rec_kind k)
{
	switch (k) {
	case VMIE_REC_IMPORT_IMAGE: return "DescribeImportImageTasks";
	case VMIE_REC_IMPORT_SNAPSHOT: return "DescribeImportSnapshotTasks";
	case VMIE_REC_EXPORT_IMAGE: return "DescribeExportImageTasks";
	case VMIE_REC_IMAGE: return "DescribeImages";
	default: return "DescribeSnapshots";
	}
}

/* EC2's error codes for an id of kind k: malformed, not found. */
static void id_codes(enum vmie_rec_kind k, const char **bad,
		     const char **missing)
{
	switch (k) {
	case VMIE_REC_IMAGE:
		*bad = "InvalidAMIID.Malformed";
		*missing = "InvalidAMIID.NotFound";
		break;
	case VMIE_REC_SNAPSHOT:
		*bad = "InvalidSnapshotID.Malformed";
		*missing = "InvalidSnapshot.NotFound";
		break;
	case VMIE_REC_EXPORT_IMAGE:
		*bad = "InvalidExportImageTaskId.Malformed";
		*missing = "InvalidExportImageTaskId.NotFound";
		break;
	default:
		*bad = "InvalidConversionTaskId.Malformed";
		*missing = "InvalidConversionTaskId";
		break;
	}
}

int vmie_describe(struct vmie_task_env *env, enum vmie_rec_kind kind,
		  const json_t *req, json_t **out, struct vmie_err *err)
{
	const char *op = op_name(kind), *bad, *missing;
	const struct task_filter_name *names =
		kind == VMIE_REC_IMAGE ? image_filters :
		kind == VMIE_REC_SNAPSHOT ? snapshot_filters :
		kind == VMIE_REC_IMPORT_SNAPSHOT ? snap_task_filters :
		task_filters;
	const json_t *ids = json_object_get(req, ids_key(kind));
	const json_t *filters = json_object_get(req, "Filters");
	const json_t *owners = json_object_get(req, kind == VMIE_REC_SNAPSHOT ?
					       "OwnerIds" : "Owners");
	const char **idv = NULL;
	json_t *all = NULL, *list = NULL, *x;
	char next[VMIE_ID_MAX] = "";
	struct vmie_store_list q = { 0 };
	size_t i;
	int r;

	id_codes(kind, &bad, &missing);
	if ((r = task_want(req, ids_key(kind), JSON_ARRAY, false, op, err)) ||
	    (r = task_want(req, "MaxResults", JSON_INTEGER, false, op, err)) ||
	    (r = task_want(req, "NextToken", JSON_STRING, false, op, err)) ||
	    (r = task_filters_check(filters, names, err)))
		return r;
	json_int_t max = json_integer_value(json_object_get(req, "MaxResults"));
	if (json_object_get(req, "MaxResults") && (max < 1 || max > 1000))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: MaxResults must be 1 to 1000, not "
				    "%lld", op, (long long)max);
	const char *tok = task_str(req, "NextToken");
	if (tok && tok[0] && !vmie_rec_id_valid(kind, tok))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidNextToken",
				    "%s: the NextToken '%.64s' is not valid",
				    op, tok);
	if (json_array_size(ids)) {
		if (!(idv = calloc(json_array_size(ids), sizeof *idv)))
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		json_array_foreach(ids, i, x) {
			const char *s = json_string_value(x);
			if (!s || !vmie_rec_id_valid(kind, s)) {
				free(idv);
				return VMIE_API_ERR(err, VMIE_EINVAL, bad,
						    "%s: the ID '%.64s' is "
						    "malformed", op,
						    s ? s : "(not a string)");
			}
			idv[i] = s;
		}
		q.ids = idv;
		q.n_ids = json_array_size(ids);
	}
	q.after = tok;
	q.max = q.ids ? 0 : (unsigned)max;
	r = vmie_store_list(env->store, kind, &q, &all, next, err);
	free(idv);
	if (r == VMIE_ENOENT && tok && tok[0])
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidNextToken",
				    "%s: the NextToken '%.64s' is no longer "
				    "valid", op, tok);
	if (r)
		return r;
	/* asked by id: every id must exist */
	json_array_foreach(ids, i, x) {
		const char *want = json_string_value(x);
		const json_t *y;
		size_t j;
		bool found = false;
		json_array_foreach(all, j, y)
			if (!strcmp(task_str(y, id_key(kind)) ?
				    task_str(y, id_key(kind)) : "", want))
				found = true;
		if (!found) {
			json_decref(all);
			return VMIE_API_ERR(err, VMIE_ENOENT, missing,
					    "%s: '%s' does not exist", op,
					    want);
		}
	}
	bool other_owner = false;
	if (json_array_size(owners)) {
		const json_t *o;
		other_owner = true;
		json_array_foreach(owners, i, o) {
			const char *s = json_string_value(o);
			if (s && (!strcmp(s, "self") ||
				  !strcmp(s, env->owner_id ? env->owner_id :
					  "000000000000")))
				other_owner = false;
		}
	}
	list = json_array();
	json_array_foreach(all, i, x)
		if (!other_owner && task_filters_match(x, filters, names))
			json_array_append_new(list, vmie_rec_public(x));
	json_decref(all);
	*out = json_object();
	json_object_set_new(*out, out_key(kind), list);
	if (next[0])
		json_object_set_new(*out, "NextToken", json_string(next));
	return 0;
}

/* ---- deregister, delete ---- */

int vmie_deregister_image(struct vmie_task_env *env, const char *image_id,
			  struct vmie_err *err)
{
	if (!vmie_rec_id_valid(VMIE_REC_IMAGE, image_id))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidAMIID.Malformed",
				    "Invalid id: \"%.64s\"", image_id);
	int r = vmie_store_remove(env->store, VMIE_REC_IMAGE, image_id, err);
	if (r == VMIE_ENOENT)
		return VMIE_API_ERR(err, r, "InvalidAMIID.NotFound",
				    "The image id '[%s]' does not exist",
				    image_id);
	return r;
}

int vmie_delete_snapshot(struct vmie_task_env *env, const char *snap_id,
			 struct vmie_err *err)
{
	json_t *all = NULL, *x, *s = NULL;
	char next[VMIE_ID_MAX];
	struct vmie_store_list q = { 0 };
	size_t i;
	int r;

	if (!vmie_rec_id_valid(VMIE_REC_SNAPSHOT, snap_id))
		return VMIE_API_ERR(err, VMIE_EINVAL,
				    "InvalidSnapshotID.Malformed",
				    "Invalid id: \"%.64s\"", snap_id);
	r = vmie_store_get(env->store, VMIE_REC_SNAPSHOT, snap_id, &s, err);
	if (r == VMIE_ENOENT)
		return VMIE_API_ERR(err, r, "InvalidSnapshot.NotFound",
				    "The snapshot '%s' does not exist.",
				    snap_id);
	json_decref(s);
	if (r)
		return r;
	if ((r = vmie_store_list(env->store, VMIE_REC_IMAGE, &q, &all, next,
				 err)))
		return r;
	json_array_foreach(all, i, x) {
		const json_t *m;
		size_t j;
		json_array_foreach(json_object_get(x, "BlockDeviceMappings"),
				   j, m) {
			const char *sid = task_str(json_object_get(m, "Ebs"),
						   "SnapshotId");
			if (sid && !strcmp(sid, snap_id)) {
				r = VMIE_API_ERR(err, VMIE_EINVAL,
						 "InvalidSnapshot.InUse",
						 "The snapshot %s is currently "
						 "in use by %s", snap_id,
						 task_str(x, "ImageId"));
				json_decref(all);
				return r;
			}
		}
	}
	json_decref(all);
	r = vmie_store_remove(env->store, VMIE_REC_SNAPSHOT, snap_id, err);
	if (!r)
		r = vmie_volstore_remove(env->vols, snap_id, err);
	return r;
}

/* ---- tags ---- */

struct tag_ctx {
	const json_t *tags;
	bool remove;
};

static int tag_fn(json_t *rec, void *vctx, struct vmie_err *err)
{
	struct tag_ctx *c = vctx;
	json_t *have = json_object_get(rec, "Tags");
	const json_t *t;
	size_t i;

	if (!json_is_array(have)) {
		have = json_array();
		json_object_set_new(rec, "Tags", have);
	}
	json_array_foreach(c->tags, i, t) {
		const char *k = task_str(t, "Key"), *v = task_str(t, "Value");
		for (size_t j = 0; j < json_array_size(have); j++) {
			json_t *h = json_array_get(have, j);
			const char *hk = task_str(h, "Key");
			const char *hv = task_str(h, "Value");
			if (!hk || strcmp(hk, k))
				continue;
			if (c->remove && v && strcmp(v, hv ? hv : ""))
				continue;
			json_array_remove(have, j);
			j--;
		}
		if (!c->remove) {
			json_t *n = json_object();
			json_object_set_new(n, "Key", json_string(k));
			json_object_set_new(n, "Value", json_string(v ? v : ""));
			json_array_append_new(have, n);
		}
	}
	if (json_array_size(have) > 50)
		return VMIE_API_ERR(err, VMIE_EINVAL, "TagLimitExceeded",
				    "a resource has at most 50 tags");
	if (!json_array_size(have))
		json_object_del(rec, "Tags");
	return 0;
}

static int tags_change(struct vmie_task_env *env, const json_t *req,
		       bool remove, struct vmie_err *err)
{
	const char *op = remove ? "DeleteTags" : "CreateTags";
	const json_t *res = json_object_get(req, "Resources"), *x;
	const json_t *tags = json_object_get(req, "Tags");
	json_t *none = NULL;
	size_t i;
	int r;

	if ((r = task_want(req, "Resources", JSON_ARRAY, true, op, err)) ||
	    (r = task_want(req, "Tags", JSON_ARRAY, !remove, op, err)))
		return r;
	if (!tags)
		tags = none = json_array();
	if ((r = task_check_tags(tags, false, err)))
		goto out;
	json_array_foreach(res, i, x) {
		const char *id = json_string_value(x);
		int k = id ? vmie_rec_kind_of_id(id) : -1;
		if (k < 0 || !vmie_rec_id_valid((enum vmie_rec_kind)k, id)) {
			r = VMIE_API_ERR(err, VMIE_EINVAL, "InvalidID",
					 "The ID '%.64s' is not valid",
					 id ? id : "(not a string)");
			goto out;
		}
	}
	/* every resource must exist before any is changed */
	json_array_foreach(res, i, x) {
		const char *id = json_string_value(x);
		enum vmie_rec_kind k = (enum vmie_rec_kind)vmie_rec_kind_of_id(id);
		json_t *rec = NULL;
		r = vmie_store_get(env->store, k, id, &rec, err);
		json_decref(rec);
		if (r == VMIE_ENOENT) {
			r = VMIE_API_ERR(err, r, k == VMIE_REC_IMAGE ?
					 "InvalidAMIID.NotFound" :
					 k == VMIE_REC_SNAPSHOT ?
					 "InvalidSnapshot.NotFound" :
					 "InvalidID", "The ID '%s' does not "
					 "exist", id);
			goto out;
		}
		if (r)
			goto out;
	}
	json_array_foreach(res, i, x) {
		const char *id = json_string_value(x);
		enum vmie_rec_kind k = (enum vmie_rec_kind)vmie_rec_kind_of_id(id);
		struct tag_ctx c = { .tags = tags, .remove = remove };
		if (remove && !json_array_size(tags)) {
			/* DeleteTags without Tags: every tag */
			json_t *rec = NULL;
			if ((r = vmie_store_get(env->store, k, id, &rec, err)))
				goto notfound;
			json_t *all = json_deep_copy(json_object_get(rec, "Tags"));
			json_decref(rec);
			c.tags = all ? all : json_array();
			r = vmie_store_update(env->store, k, id, tag_fn, &c,
					      err);
			json_decref((json_t *)c.tags);
		} else {
			r = vmie_store_update(env->store, k, id, tag_fn, &c,
					      err);
		}
notfound:
		if (r == VMIE_ENOENT) {
			r = VMIE_API_ERR(err, r, k == VMIE_REC_IMAGE ?
					 "InvalidAMIID.NotFound" :
					 k == VMIE_REC_SNAPSHOT ?
					 "InvalidSnapshot.NotFound" :
					 "InvalidID", "The ID '%s' does not "
					 "exist", id);
		}
		if (r)
			goto out;
	}
out:
	json_decref(none);
	return r;
}

int vmie_create_tags(struct vmie_task_env *env, const json_t *req,
		     struct vmie_err *err)
{
	return tags_change(env, req, false, err);
}

int vmie_delete_tags(struct vmie_task_env *env, const json_t *req,
		     struct vmie_err *err)
{
	return tags_change(env, req, true, err);
}

static const char *resource_type(enum vmie_rec_kind k)
{
	switch (k) {
	case VMIE_REC_IMPORT_IMAGE: return "import-image-task";
	case VMIE_REC_IMPORT_SNAPSHOT: return "import-snapshot-task";
	case VMIE_REC_EXPORT_IMAGE: return "export-image-task";
	case VMIE_REC_IMAGE: return "image";
	default: return "snapshot";
	}
}

int vmie_describe_tags(struct vmie_task_env *env, const json_t *req,
		       json_t **out, struct vmie_err *err)
{
	static const struct task_filter_name names[] = {
		{ "key", "Key" }, { "value", "Value" },
		{ "resource-id", "ResourceId" },
		{ "resource-type", "ResourceType" }, { NULL, NULL } };
	const json_t *filters = json_object_get(req, "Filters");
	json_t *list;
	size_t from = 0;
	int r;

	if ((r = task_want(req, "MaxResults", JSON_INTEGER, false,
			   "DescribeTags", err)) ||
	    (r = task_want(req, "NextToken", JSON_STRING, false,
			   "DescribeTags", err)) ||
	    (r = task_filters_check(filters, names, err)))
		return r;
	/* the AWS range for DescribeTags is 5 to 1000 */
	json_int_t max = json_integer_value(json_object_get(req, "MaxResults"));
	if (json_object_get(req, "MaxResults") && (max < 5 || max > 1000))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "DescribeTags: MaxResults must be 5 to "
				    "1000, not %lld", (long long)max);
	/* the token is where the next page starts in the listing, which
	 * is in a stable order (kind, id, tag key) */
	const char *tok = task_str(req, "NextToken");
	if (tok && tok[0]) {
		char *end;
		unsigned long long v;
		errno = 0;
		v = strncmp(tok, "tags-", 5) ? 0 : strtoull(tok + 5, &end, 10);
		if (strncmp(tok, "tags-", 5) || errno || *end || !v ||
		    v > 1u << 30)
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidNextToken", "DescribeTags: "
					    "the NextToken '%.64s' is not "
					    "valid", tok);
		from = (size_t)v;
	}
	list = json_array();
	for (int k = 0; !r && k < VMIE_REC_N; k++) {
		json_t *all = NULL, *x;
		char next[VMIE_ID_MAX];
		struct vmie_store_list q = { 0 };
		size_t i;
		r = vmie_store_list(env->store, (enum vmie_rec_kind)k, &q, &all,
				    next, err);
		if (r)
			break;
		json_array_foreach(all, i, x) {
			const json_t *t;
			size_t j;
			json_array_foreach(json_object_get(x, "Tags"), j, t) {
				json_t *e = json_object();
				json_object_set_new(e, "Key", json_string(
					task_str(t, "Key")));
				json_object_set_new(e, "ResourceId", json_string(
					task_str(x, id_key((enum vmie_rec_kind)k))));
				json_object_set_new(e, "ResourceType", json_string(
					resource_type((enum vmie_rec_kind)k)));
				json_object_set_new(e, "Value", json_string(
					task_str(t, "Value") ?
					task_str(t, "Value") : ""));
				if (task_filters_match(e, filters, names))
					json_array_append_new(list, e);
				else
					json_decref(e);
			}
		}
		json_decref(all);
	}
	if (r) {
		json_decref(list);
		return r;
	}
	*out = json_object();
	if (from || max) {
		size_t n = json_array_size(list);
		json_t *page = json_array();
		size_t end = max && from + (size_t)max < n ? from + (size_t)max
							   : n;
		for (size_t i = from; i < end; i++)
			json_array_append(page, json_array_get(list, i));
		if (end < n) {
			char t[32];
			snprintf(t, sizeof t, "tags-%zu", end);
			json_object_set_new(*out, "NextToken", json_string(t));
		}
		json_decref(list);
		list = page;
	}
	json_object_set_new(*out, "Tags", list);
	return 0;
}

/* ---- the change journal of an image ---- */

int vmie_image_journal(struct vmie_task_env *env, const char *image_id,
		       json_t **out, struct vmie_err *err)
{
	json_t *img = NULL;
	int r;

	if (!vmie_rec_id_valid(VMIE_REC_IMAGE, image_id))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidAMIID.Malformed",
				    "Invalid id: \"%.64s\"", image_id);
	r = vmie_store_get(env->store, VMIE_REC_IMAGE, image_id, &img, err);
	if (r == VMIE_ENOENT)
		return VMIE_API_ERR(err, r, "InvalidAMIID.NotFound",
				    "The image id '[%s]' does not exist",
				    image_id);
	if (r)
		return r;
	const json_t *vm = json_object_get(img, "Vmie");
	const json_t *ch = json_object_get(vm, "Changes");
	*out = json_object();
	json_object_set_new(*out, "ImageId", json_string(image_id));
	json_object_set_new(*out, "ImportTaskId", json_string(
		task_str(vm, "ImportTask") ? task_str(vm, "ImportTask") : ""));
	json_object_set_new(*out, "Changes", ch ? json_deep_copy(ch) :
			    json_array());
	json_decref(img);
	return 0;
}
