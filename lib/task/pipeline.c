/*
 * ImportImage and ImportSnapshot: the request checks, the task record and
 * the stages of an import (task.h has the story; DESIGN.md the pipeline).
 *
 * The run of a task (struct task_run) owns the record: every change goes
 * through task_patch(), an atomic read-modify-write that first checks
 * Vmie.Owner is still this process, so a task recovered or taken over
 * elsewhere is never written by a process that lost it.  A watcher
 * thread beats the heartbeat every half second and turns a cancel mark
 * in the store (or the process's own SIGINT flag) into run->stop, which
 * the verification, the conversion and the stage boundaries poll.
 *
 * What an import writes, and how each piece is undone:
 *   volumes   created under temporary names (volstore.h), their snapshot
 *             ids listed in Vmie.Snapshots before the first byte is
 *             written; removed by task_cleanup_import (or by recovery's
 *             sweep when the process died);
 *   records   the snapshot and image records are put only once every
 *             volume is published, and carry Vmie.ImportTask, so that
 *             an import that dies between them is undone by recovery.
 */
#include "task/task_int.h"
#include "task/bootcheck.h"
#include "core/util.h"
#include "image/image.h"
#include "inspect/inspect.h"
#include "io/io.h"
#include "modify/modify.h"
#include "ova/ova.h"
#include "rules/policy.h"
#include "rules/rules.h"
#include "rules/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- owners ---- */

/* Field 22 of /proc/PID/stat: the process's start time in clock ticks
 * since boot (tells a live process from a later one with the same pid). */
static unsigned long long proc_start(long pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%ld/stat", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *s = strrchr(buf, ')');    /* comm may hold spaces */
	if (!s)
		return 0;
	/* s is at the ')' that ends field 2: the next space is the one
	 * before field 3, the 20th the one before field 22 */
	for (int field = 2; field < 22 && s; field++)
		s = strchr(s + 1, ' ');
	return s ? strtoull(s + 1, NULL, 10) : 0;
}

static void host_name(char *out, size_t size)
{
	if (gethostname(out, size))
		vmie_strlcpy(out, "localhost", size);
	out[size - 1] = 0;
	for (char *c = out; *c; c++)
		if (*c == ':')
			*c = '_';
}

void vmie_task_self_owner(char *out, size_t size)
{
	char h[96];
	host_name(h, sizeof h);
	snprintf(out, size, "%s:%ld:%llu", h, (long)getpid(),
		 proc_start((long)getpid()));
}

bool vmie_task_owner_local(const char *owner)
{
	char h[96];
	const char *c = owner ? strchr(owner, ':') : NULL;
	host_name(h, sizeof h);
	return c && (size_t)(c - owner) == strlen(h) &&
	       !strncmp(owner, h, strlen(h));
}

bool vmie_task_owner_alive(const char *owner)
{
	char h[96], oh[96];
	long pid;
	unsigned long long st;
	const char *c1, *c2;

	if (!owner || !owner[0])
		return false;
	c2 = strrchr(owner, ':');
	if (!c2 || c2 == owner)
		return false;
	for (c1 = c2 - 1; c1 > owner && *c1 != ':'; c1--)
		;
	if (*c1 != ':' || (size_t)(c1 - owner) >= sizeof oh)
		return false;
	memcpy(oh, owner, (size_t)(c1 - owner));
	oh[c1 - owner] = 0;
	host_name(h, sizeof h);
	if (strcmp(h, oh))
		return true;    /* another host: its heartbeat decides */
	pid = strtol(c1 + 1, NULL, 10);
	st = strtoull(c2 + 1, NULL, 10);
	if (pid <= 0)
		return false;
	if (kill((pid_t)pid, 0) && errno != EPERM)
		return false;
	return proc_start(pid) == st;
}

bool vmie_task_ended(const json_t *task)
{
	const char *s = task_str(task, "Status");
	if (!s) {       /* ImportSnapshotTask keeps it in its detail */
		const json_t *d = json_object_get(task, "SnapshotTaskDetail");
		s = task_str(d, "Status");
	}
	return s && (!strcmp(s, "completed") || !strcmp(s, "deleted"));
}

/* ---- patching the record of a running task ---- */

struct patch_ctx {
	struct task_run *run;
	json_t *set, *vmie;
	bool lost;              /* another owner: nothing written */
	bool cancel;            /* Vmie.CancelRequested seen */
	json_t *after;          /* the public record after the change */
};

/* ImportSnapshotTask keeps Status, StatusMessage and Progress in its
 * SnapshotTaskDetail: a patch names them at the top and lands there. */
static json_t *status_holder(struct task_run *run, json_t *rec)
{
	if (run->kind != VMIE_REC_IMPORT_SNAPSHOT)
		return rec;
	json_t *d = json_object_get(rec, "SnapshotTaskDetail");
	if (!json_is_object(d)) {
		d = json_object();
		json_object_set_new(rec, "SnapshotTaskDetail", d);
	}
	return d;
}

/* Members of src onto dst: null deletes, an object merges into an
 * object member (so a patch can add one entry of Vmie.StageTimes). */
static void apply(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach(src, k, v) {
		json_t *have = json_object_get(dst, k);
		if (json_is_null(v))
			json_object_del(dst, k);
		else if (json_is_object(v) && json_is_object(have))
			apply(have, v);
		else
			json_object_set(dst, k, v);
	}
}

static int patch_fn(json_t *rec, void *vctx, struct vmie_err *err)
{
	struct patch_ctx *c = vctx;
	json_t *vm = task_vmie(rec);
	const char *owner = task_str(vm, "Owner");

	if (!owner || strcmp(owner, c->run->owner)) {
		c->lost = true;
		return VMIE_STORE_UNCHANGED;
	}
	c->cancel = json_is_true(json_object_get(vm, "CancelRequested"));
	if (c->set)
		apply(status_holder(c->run, rec), c->set);
	if (c->vmie)
		apply(vm, c->vmie);
	json_object_set_new(vm, "Heartbeat", json_real(task_now()));
	c->after = vmie_rec_public(rec);
	return 0;
}

int task_patch(struct task_run *run, json_t *set, json_t *vmie,
	       struct vmie_err *err)
{
	struct patch_ctx c = { .run = run, .set = set, .vmie = vmie };
	int r;

	pthread_mutex_lock(&run->lock);
	r = vmie_store_update(run->env->store, run->kind, run->id, patch_fn,
			      &c, err);
	pthread_mutex_unlock(&run->lock);
	if (!r && c.lost)
		r = VMIE_ERR(err, VMIE_EPERM, "%s: the task is no longer run "
			     "by this process (recovered or cancelled "
			     "elsewhere)", run->id);
	if (!r && c.cancel) {
		run->cancel_marked = true;
		run->stop = 1;
	}
	if (c.after) {
		if (run->env->progress)
			run->env->progress(run->env->progress_ctx, c.after);
		json_decref(c.after);
	}
	return r;
}

int task_stage(struct task_run *run, const char *stage, const char *message,
	       struct vmie_err *err)
{
	json_t *set = json_object(), *vm = json_object();
	int r;

	if (message)
		json_object_set_new(set, "StatusMessage", json_string(message));
	json_object_set_new(vm, "Stage", json_string(stage));
	/* when each stage began (seconds since the epoch): the benchmark's
	 * and an operator's view of where the time went */
	json_t *times = json_object();
	json_object_set_new(times, stage, json_real(task_now()));
	json_object_set_new(vm, "StageTimes", times);
	r = task_patch(run, set, vm, err);
	json_decref(set);
	json_decref(vm);
	if (!r && run->env->kill_at && !strcmp(run->env->kill_at, stage))
		raise(SIGKILL);         /* tests: recovery at every stage */
	if (!r && run->env->suspend && *run->env->suspend) {
		run->suspended = true;
		run->stop = 1;
	}
	if (!r && (run->stop || (run->env->cancel && *run->env->cancel)))
		r = VMIE_ERR(err, VMIE_EINTR, "%s: %s", run->id,
			     run->suspended ? "suspended" : "cancelled");
	return r;
}

static void *watcher_main(void *arg)
{
	struct task_run *run = arg;
	struct vmie_err e = { 0 };

	while (!run->quit_watcher) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		for (int i = 0; i < 5 && !run->quit_watcher; i++) {
			nanosleep(&ts, NULL);
			if (run->env->cancel && *run->env->cancel)
				run->stop = 1;
			if (run->env->suspend && *run->env->suspend) {
				run->suspended = true;
				run->stop = 1;
			}
		}
		if (run->quit_watcher)
			break;
		json_t *set = NULL;
		int p = __atomic_load_n(&run->progress, __ATOMIC_RELAXED);
		if (p != run->progress_sent) {
			char b[16];
			snprintf(b, sizeof b, "%d", p);
			set = json_object();
			json_object_set_new(set, "Progress", json_string(b));
			run->progress_sent = p;
		}
		/* write when there is news or the heartbeat is 5 s old;
		 * otherwise only read: a cancel mark, a lost owner */
		double now = task_now();
		if (set || now - run->last_beat >= 5.0) {
			if (task_patch(run, set, NULL, &e) == VMIE_EPERM)
				run->stop = 1;  /* lost the task */
			run->last_beat = now;
		} else {
			json_t *rec = NULL;
			pthread_mutex_lock(&run->lock);
			int gr = vmie_store_get(run->env->store, run->kind,
						run->id, &rec, NULL);
			pthread_mutex_unlock(&run->lock);
			if (!gr) {
				const json_t *vm = json_object_get(rec, "Vmie");
				const char *o = task_str(vm, "Owner");
				if (json_is_true(json_object_get(vm,
						"CancelRequested"))) {
					run->cancel_marked = true;
					run->stop = 1;
				}
				if (!o || strcmp(o, run->owner))
					run->stop = 1;
				json_decref(rec);
			}
		}
		json_decref(set);
	}
	return NULL;
}

int task_watch_start(struct task_run *run, struct vmie_err *err)
{
	run->quit_watcher = 0;
	if (pthread_create(&run->watcher, NULL, watcher_main, run))
		return VMIE_ERR(err, VMIE_ENOMEM, "cannot start a thread");
	run->watching = true;
	return 0;
}

void task_watch_stop(struct task_run *run)
{
	if (!run->watching)
		return;
	run->quit_watcher = 1;
	pthread_join(run->watcher, NULL);
	run->watching = false;
}

int task_end_deleted(struct task_run *run, const char *message,
		     struct vmie_err *err)
{
	json_t *set = json_object(), *vm = json_object();
	int r;
	json_object_set_new(set, "Status", json_string("deleted"));
	json_object_set_new(set, "StatusMessage", json_string(message));
	json_object_set_new(set, "Progress", json_null());
	json_object_set_new(vm, "Stage", json_string("deleted"));
	json_object_set_new(vm, "Owner", json_null());
	json_object_set_new(vm, "Ended", json_real(task_now()));
	r = task_patch(run, set, vm, err);
	json_decref(set);
	json_decref(vm);
	return r;
}

/* ---- disk containers ---- */

static const char *const import_formats[] = { "OVA", "VMDK", "VHD", "VHDX",
					      "RAW", NULL };

/* Check one container of the request and write its normalised form (the
 * SnapshotDetail it starts as) into *out. */
static int container_check(struct vmie_task_env *env, const json_t *c,
			   size_t i, const char *op, bool snapshot,
			   json_t **out, struct vmie_err *err)
{
	const char *fmt = task_str(c, "Format"), *url = task_str(c, "Url");
	const json_t *ub = json_object_get(c, "UserBucket");
	char F[8] = "";
	int r;

	*out = NULL;
	if (!json_is_object(c))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: disk container %zu is not a "
				    "structure", op, i + 1);
	if ((r = task_want(c, "Format", JSON_STRING, false, op, err)) ||
	    (r = task_want(c, "Url", JSON_STRING, false, op, err)) ||
	    (r = task_want(c, "UserBucket", JSON_OBJECT, false, op, err)) ||
	    (r = task_want(c, "Description", JSON_STRING, false, op, err)) ||
	    (r = task_want(c, "DeviceName", JSON_STRING, false, op, err)))
		return r;
	if (fmt) {
		size_t k;
		for (k = 0; import_formats[k]; k++)
			if (!strcasecmp(fmt, import_formats[k]))
				break;
		if (!import_formats[k] ||
		    (snapshot && !strcmp(import_formats[k], "OVA")))
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: disk container %zu: Format "
					    "'%.32s' is not one of %s", op,
					    i + 1, fmt, snapshot ?
					    "VMDK, VHD, VHDX, RAW" :
					    "OVA, VMDK, VHD, VHDX, RAW");
		vmie_strlcpy(F, import_formats[k], sizeof F);
	}
	if (json_object_get(c, "SnapshotId"))
		return VMIE_API_ERR(err, VMIE_EUNSUPP, "InvalidParameterValue",
				    "%s: disk container %zu: importing from a "
				    "SnapshotId is not supported: name the disk "
				    "by Url or UserBucket", op, i + 1);
	if (!!url == !!ub)
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: disk container %zu needs exactly one "
				    "of Url and UserBucket", op, i + 1);
	json_t *d = json_object();
	if (F[0])
		json_object_set_new(d, "Format", json_string(F));
	if (task_str(c, "Description"))
		json_object_set_new(d, "Description",
				    json_string(task_str(c, "Description")));
	if (task_str(c, "DeviceName"))
		json_object_set_new(d, "DeviceName",
				    json_string(task_str(c, "DeviceName")));
	if (ub) {
		const char *b = task_str(ub, "S3Bucket");
		const char *k = task_str(ub, "S3Key");
		if (!b || !k) {
			json_decref(d);
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: disk container %zu: UserBucket "
					    "needs S3Bucket and S3Key", op,
					    i + 1);
		}
		if ((r = vmie_bucket_check_name(b, err)) ||
		    (r = vmie_bucket_check_key(k, err))) {
			vmie_err_prefix(err, "%s: disk container %zu", op, i + 1);
			vmie_err_api(err, "InvalidParameterValue");
			json_decref(d);
			return r;
		}
		if (!env->buckets) {
			json_decref(d);
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: disk container %zu names bucket "
					    "'%s', but no buckets are configured "
					    "(--bucket-root DIR or "
					    "VMIE_BUCKET_ROOT)", op, i + 1, b);
		}
		json_t *u = json_object();
		json_object_set_new(u, "S3Bucket", json_string(b));
		json_object_set_new(u, "S3Key", json_string(k));
		json_object_set_new(d, "UserBucket", u);
	} else {
		bool s3 = !strncmp(url, "s3://", 5);
		bool local = !strncmp(url, "file://", 7) ||
			     !strstr(url, "://");
		if (!s3 && !local) {
			json_decref(d);
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: disk container %zu: Url "
					    "'%.200s' must be s3://BUCKET/KEY",
					    op, i + 1, url);
		}
		if (local && !env->allow_local_files) {
			json_decref(d);
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: disk container %zu: Url "
					    "'%.200s': only s3://BUCKET/KEY "
					    "here", op, i + 1, url);
		}
		if (s3 && !env->buckets) {
			json_decref(d);
			return VMIE_API_ERR(err, VMIE_EINVAL,
					    "InvalidParameterValue",
					    "%s: disk container %zu: Url '%.200s' "
					    "names a bucket, but no buckets are "
					    "configured (--bucket-root DIR or "
					    "VMIE_BUCKET_ROOT)", op, i + 1, url);
		}
		/* a local path is recorded as the file it names */
		char rp[4096];
		const char *lp = !strncmp(url, "file://", 7) ? url + 7 : url;
		if (local && realpath(lp, rp))
			json_object_set_new(d, "Url", json_string(rp));
		else
			json_object_set_new(d, "Url", json_string(url));
	}
	*out = d;
	return 0;
}

/* Open the bytes a container names. */
static int container_open(struct vmie_task_env *env, const json_t *d,
			  struct vmie_src **src, char *name, size_t nsize,
			  struct vmie_err *err)
{
	const json_t *ub = json_object_get(d, "UserBucket");
	const char *url = task_str(d, "Url");
	char bucket[64];

	if (ub || !strncmp(url, "s3://", 5)) {
		const char *b, *k;
		if (ub) {
			b = task_str(ub, "S3Bucket");
			k = task_str(ub, "S3Key");
		} else {
			const char *sl = strchr(url + 5, '/');
			if (!sl || (size_t)(sl - (url + 5)) >= sizeof bucket)
				return VMIE_ERR(err, VMIE_EINVAL, "Url '%.200s' "
						"is not s3://BUCKET/KEY", url);
			memcpy(bucket, url + 5, (size_t)(sl - (url + 5)));
			bucket[sl - (url + 5)] = 0;
			b = bucket;
			k = sl + 1;
		}
		snprintf(name, nsize, "s3://%s/%s", b, k);
		if (!env->buckets)
			return VMIE_ERR(err, VMIE_ENOENT, "%s: no buckets are "
					"configured (--bucket-root DIR or "
					"VMIE_BUCKET_ROOT)", name);
		return vmie_buckets_open(env->buckets, b, k, src, err);
	}
	const char *path = !strncmp(url, "file://", 7) ? url + 7 : url;
	vmie_strlcpy(name, path, nsize);
	return vmie_src_open_file(path, src, err);
}

/* ---- submission ---- */

static const char *const boot_modes[] = { "legacy-bios", "uefi",
					  "uefi-preferred", NULL };

static bool one_of(const char *v, const char *const *set, bool nocase)
{
	for (; *set; set++)
		if (nocase ? !strcasecmp(v, *set) : !strcmp(v, *set))
			return true;
	return false;
}

/* Vmie.VolumeFormat of a request: absent, "raw" or "qcow2". */
static int volume_format_ok(const json_t *req, const char *op,
			    struct vmie_err *err)
{
	const char *vf = task_str(json_object_get(req, "Vmie"),
				  "VolumeFormat");
	if (vf && strcmp(vf, "raw") && strcmp(vf, "qcow2"))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: the volume format '%.32s' is not raw "
				    "or qcow2", op, vf);
	return 0;
}

/* Vmie.BootCheck (true or false) and Vmie.BootCheckTimeout (seconds,
 * 1 to 86400) of an ImportImage request. */
static int boot_check_ok(const json_t *req, const char *op,
			 struct vmie_err *err)
{
	const json_t *vq = json_object_get(req, "Vmie");
	const json_t *b = json_object_get(vq, "BootCheck");
	const json_t *t = json_object_get(vq, "BootCheckTimeout");
	if (b && !json_is_boolean(b))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: Vmie.BootCheck is true or false", op);
	if (t && (!json_is_integer(t) || json_integer_value(t) < 1 ||
		  json_integer_value(t) > 86400))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: the boot check timeout is a number "
				    "of seconds from 1 to 86400", op);
	return 0;
}

/* The options of ImportImage checked and copied (Request in Vmie). */
static int import_options(const json_t *req, const char *op,
			  struct vmie_err *err)
{
	static const char *const lic[] = { "AWS", "BYOL", "Auto", NULL };
	static const char *const plat[] = { "Windows", "Linux", NULL };
	static const char *const arch[] = { "x86_64", "i386", "arm64", NULL };
	const char *v;
	int r;

	if ((r = task_want(req, "BootMode", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "LicenseType", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "Platform", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "Architecture", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "Description", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "UsageOperation", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "ClientToken", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "RoleName", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "Encrypted", JSON_TRUE, false, op, err)) ||
	    (r = task_want(req, "KmsKeyId", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "LicenseSpecifications", JSON_ARRAY, false,
			   op, err)))
		return r;
	if ((v = task_str(req, "BootMode")) && !one_of(v, boot_modes, false))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: BootMode '%.32s' is not legacy-bios, "
				    "uefi or uefi-preferred", op, v);
	if ((v = task_str(req, "LicenseType")) && !one_of(v, lic, true))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: LicenseType '%.32s' is not AWS, "
				    "BYOL or Auto", op, v);
	if ((v = task_str(req, "Platform")) && !one_of(v, plat, true))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: Platform '%.32s' is not Windows or "
				    "Linux", op, v);
	if ((v = task_str(req, "Architecture")) && !one_of(v, arch, false))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: Architecture '%.32s' is not x86_64, "
				    "i386 or arm64", op, v);
	if (json_is_true(json_object_get(req, "Encrypted")) ||
	    task_str(req, "KmsKeyId"))
		return VMIE_API_ERR(err, VMIE_EUNSUPP, "UnsupportedOperation",
				    "%s: vmie does not encrypt the volumes it "
				    "stores: Encrypted and KmsKeyId are not "
				    "supported (import without them)", op);
	if ((r = boot_check_ok(req, op, err)))
		return r;
	return volume_format_ok(req, op, err);
}

/* The policy named in Vmie.Policy (default aws-current), loaded. */
static int request_policy(const json_t *req, struct vmie_policy **pol,
			  struct vmie_err *err)
{
	const char *p = task_str(json_object_get(req, "Vmie"), "Policy");
	int r = vmie_policy_load(p ? p : "aws-current", pol, err);
	if (r)
		vmie_err_api(err, "InvalidParameterValue");
	return r;
}

/* Store a new task, honouring ClientToken: a token seen before returns
 * that task (IdempotentParameterMismatch when the request differs). */
static int submit(struct vmie_task_env *env, enum vmie_rec_kind kind,
		  json_t *rec, const char *token, const char *op,
		  json_t **out, struct vmie_err *err)
{
	char id[VMIE_ID_MAX], existing[VMIE_ID_MAX] = "";
	const char *idkey = kind == VMIE_REC_EXPORT_IMAGE ?
			    "ExportImageTaskId" : "ImportTaskId";
	int r;

	vmie_rec_new_id(kind, id);
	json_object_set_new(rec, idkey, json_string(id));
	json_t *vm = task_vmie(rec);
	json_object_set_new(vm, "Created", json_real(task_now()));
	char iso[40];
	task_now_iso(iso, sizeof iso);
	json_object_set_new(vm, "CreationTime", json_string(iso));
	task_queue_mark(env, rec);
	r = vmie_store_put(env->store, kind, id, token, rec, existing, err);
	if (r == VMIE_EEXIST && existing[0]) {
		json_t *old = NULL;
		r = vmie_store_get(env->store, kind, existing, &old, err);
		if (r)
			return r;
		if (!json_equal(json_object_get(task_vmie(old), "Request"),
				json_object_get(vm, "Request"))) {
			json_decref(old);
			return VMIE_API_ERR(err, VMIE_EEXIST,
					    "IdempotentParameterMismatch",
					    "%s: client token '%.64s' was used "
					    "for another request (task %s)",
					    op, token, existing);
		}
		*out = vmie_rec_public(old);
		json_decref(old);
		return 1;       /* the task of this token, submitted before */
	}
	if (r)
		return r;
	*out = vmie_rec_public(rec);
	return 0;
}

/* Common checks of ImportImage, then the record it starts as. */
static int import_image_record(struct vmie_task_env *env, const json_t *req,
			       json_t **rec_out, struct vmie_err *err)
{
	const char *op = "ImportImage";
	const json_t *dcs = json_object_get(req, "DiskContainers");
	const json_t *c;
	json_t *details = NULL, *tags = NULL, *rec = NULL;
	struct vmie_policy *pol = NULL;
	size_t i;
	int r;

	*rec_out = NULL;
	if (!json_is_object(req))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: the request is not a structure", op);
	if ((r = task_want(req, "DiskContainers", JSON_ARRAY, true, op, err)) ||
	    (r = import_options(req, op, err)))
		return r;
	if (!json_array_size(dcs))
		return VMIE_API_ERR(err, VMIE_EINVAL, "MissingParameter",
				    "%s: DiskContainers is empty", op);
	if (json_array_size(dcs) > 64)
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: %zu disk containers: at most 64", op,
				    json_array_size(dcs));
	if ((r = request_policy(req, &pol, err)))
		return r;
	vmie_policy_free(pol);
	if ((r = task_tag_specs(req, "import-image-task", op, &tags, err)))
		return r;
	details = json_array();
	json_array_foreach(dcs, i, c) {
		json_t *d;
		if ((r = container_check(env, c, i, op, false, &d, err)))
			goto out;
		if (!strcmp(task_str(d, "Format") ? task_str(d, "Format") : "",
			    "OVA") && json_array_size(dcs) > 1) {
			json_decref(d);
			r = VMIE_API_ERR(err, VMIE_EINVAL,
					 "InvalidParameterValue",
					 "%s: an OVA is a whole VM: it must be "
					 "the only disk container", op);
			goto out;
		}
		json_object_set_new(d, "DiskImageSize", json_real(0));
		json_array_append_new(details, d);
	}
	rec = json_object();
	json_object_set_new(rec, "Status", json_string("active"));
	json_object_set_new(rec, "StatusMessage", json_string("pending"));
	json_object_set_new(rec, "Progress", json_string("0"));
	json_object_set_new(rec, "SnapshotDetails", details);
	details = NULL;
	json_object_set_new(rec, "Encrypted", json_false());
	const char *keys[] = { "Description", "Architecture", "Platform",
			       "LicenseType", "UsageOperation", "BootMode",
			       NULL };
	for (const char **k = keys; *k; k++)
		if (task_str(req, *k))
			json_object_set_new(rec, *k,
					    json_string(task_str(req, *k)));
	if (json_array_size(tags))
		json_object_set(rec, "Tags", tags);
	if (json_array_size(json_object_get(req, "LicenseSpecifications")))
		json_object_set(rec, "LicenseSpecifications",
				json_object_get(req, "LicenseSpecifications"));
	json_t *vm = task_vmie(rec);
	json_t *rq = json_deep_copy(req);
	json_object_del(rq, "ClientToken");
	json_object_set_new(vm, "Request", rq);
	*rec_out = rec;
	rec = NULL;
out:
	json_decref(details);
	json_decref(tags);
	json_decref(rec);
	return r;
}

int vmie_import_image(struct vmie_task_env *env, const json_t *req,
		      json_t **out, struct vmie_err *err)
{
	json_t *rec = NULL;
	int r = import_image_record(env, req, &rec, err);
	if (!r)
		r = submit(env, VMIE_REC_IMPORT_IMAGE, rec,
			   task_str(req, "ClientToken"), "ImportImage", out,
			   err);
	json_decref(rec);
	return r;
}

int vmie_import_snapshot(struct vmie_task_env *env, const json_t *req,
			 json_t **out, struct vmie_err *err)
{
	const char *op = "ImportSnapshot";
	const json_t *c = json_object_get(req, "DiskContainer");
	json_t *d = NULL, *tags = NULL, *rec, *det;
	int r;

	if (!json_is_object(req))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: the request is not a structure", op);
	if ((r = task_want(req, "DiskContainer", JSON_OBJECT, true, op, err)) ||
	    (r = task_want(req, "Description", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "ClientToken", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "RoleName", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "Encrypted", JSON_TRUE, false, op, err)) ||
	    (r = task_want(req, "KmsKeyId", JSON_STRING, false, op, err)))
		return r;
	if (json_is_true(json_object_get(req, "Encrypted")) ||
	    task_str(req, "KmsKeyId"))
		return VMIE_API_ERR(err, VMIE_EUNSUPP, "UnsupportedOperation",
				    "%s: vmie does not encrypt the volumes it "
				    "stores: Encrypted and KmsKeyId are not "
				    "supported", op);
	if ((r = volume_format_ok(req, op, err)) ||
	    (r = container_check(env, c, 0, op, true, &d, err)))
		return r;
	if ((r = task_tag_specs(req, "import-snapshot-task", op, &tags,
				err))) {
		json_decref(d);
		return r;
	}
	rec = json_object();
	det = d;
	json_object_set_new(det, "DiskImageSize", json_real(0));
	json_object_set_new(det, "Encrypted", json_false());
	json_object_set_new(det, "Status", json_string("active"));
	json_object_set_new(det, "StatusMessage", json_string("pending"));
	json_object_set_new(det, "Progress", json_string("0"));
	json_object_set_new(rec, "SnapshotTaskDetail", det);
	if (task_str(req, "Description"))
		json_object_set_new(rec, "Description",
				    json_string(task_str(req, "Description")));
	if (json_array_size(tags))
		json_object_set(rec, "Tags", tags);
	json_decref(tags);
	json_t *rq = json_deep_copy(req);
	json_object_del(rq, "ClientToken");
	json_object_set_new(task_vmie(rec), "Request", rq);
	r = submit(env, VMIE_REC_IMPORT_SNAPSHOT, rec,
		   task_str(req, "ClientToken"), op, out, err);
	json_decref(rec);
	return r;
}

/* ---- the stages of an import ---- */

struct import {
	struct task_run *run;
	json_t *rec;                    /* the record as loaded (details) */
	bool snapshot;                  /* ImportSnapshot: no OS steps */
	struct vmie_vm vm;
	struct vmie_policy *pol;
	struct vmie_inspection *in;
	struct vmie_check_report *rep;
	struct vmie_image **ov;         /* overlays, per opened disk */
	struct vmie_sink **sinks;       /* volumes being written */
	char (*snaps)[VMIE_ID_MAX];
	unsigned n_disks;
	uint64_t total, done_before;    /* bytes to convert, of past disks */
	json_t *changes;                /* the change journal (update stage) */
	json_t *bootcheck;              /* Vmie.BootCheck of the task */
	char fail[600];                 /* the StatusMessage of a failure */
};

static json_t *import_details(struct import *im)
{
	return im->snapshot ? NULL : json_object_get(im->rec, "SnapshotDetails");
}

static const json_t *import_container(struct import *im, size_t i)
{
	if (im->snapshot)
		return json_object_get(im->rec, "SnapshotTaskDetail");
	return json_array_get(import_details(im), i);
}

static size_t import_n_containers(struct import *im)
{
	return im->snapshot ? 1 : json_array_size(import_details(im));
}

/* A failure by rule: "ClientError: ... [RULE: evidence]". */
static void fail_rule(struct import *im, const char *status, const char *rule,
		      const char *evidence)
{
	snprintf(im->fail, sizeof im->fail, "%s%s%s%s%.300s%s", status,
		 rule && rule[0] ? " [" : "", rule ? rule : "",
		 evidence && evidence[0] ? ": " : "", evidence ? evidence : "",
		 rule && rule[0] ? "]" : "");
}

/* Open every container and check it (the validate stage, and the dry
 * run): a refusal sets im->fail and returns VMIE_ECORRUPT; other errors
 * (cancelled, out of memory) are returned in err.
 *
 * walk: also walk every disk's tables (the dry run, which converts
 * nothing).  The import does not: its conversion reads every table entry
 * and every grain or block once, checking each as the walk would (a
 * grain's marker, its compressed size, that it inflates to a grain), and
 * a failure there is the same FMT-005 refusal, before any record is put.
 * A stream-optimized VMDK's walk reads each grain's marker and inflates
 * its data: for a source in S3 that was a second full read of the
 * object, the larger part of an import's time. */
static int validate_containers(struct import *im, volatile int *stop,
			       bool walk, struct vmie_err *err)
{
	struct vmie_task_env *env = im->run->env;
	size_t n = import_n_containers(im);
	int r;

	for (size_t i = 0; i < n; i++) {
		const json_t *d = import_container(im, i);
		struct vmie_src *src = NULL;
		struct vmie_err e = { 0 };
		char name[600];
		r = container_open(env, d, &src, name, sizeof name, &e);
		if (r) {
			snprintf(im->fail, sizeof im->fail, "ClientError: "
				 "Disk validation failed [%s]", e.msg);
			return VMIE_ECORRUPT;
		}
		unsigned before = im->vm.n;
		r = vmie_vm_add_src(&im->vm, name, src, false, stop, &e);
		vmie_src_unref(src);
		if (r) {
			if (r == VMIE_EINTR) {
				*err = e;
				return r;
			}
			snprintf(im->fail, sizeof im->fail, "ClientError: "
				 "Disk validation failed [%s]", e.msg);
			return VMIE_ECORRUPT;
		}
		/* the declared Format must be what the bytes are */
		const char *F = task_str(d, "Format");
		for (unsigned k = before; F && k < im->vm.n; k++) {
			const char *got = im->vm.inputs[k].format;
			bool ova = im->vm.ova != NULL;
			if (!strcasecmp(F, "OVA") ? ova :
			    (!ova && !strcasecmp(F, got)))
				continue;
			if (im->vm.inputs[k].open_rule[0])
				continue;       /* refused: the rules say why */
			snprintf(im->fail, sizeof im->fail, "ClientError: Disk "
				 "validation failed [Unsupported %s File "
				 "Format] [FMT-001: %.200s is %s]", F, name,
				 ova ? "an OVA" : got[0] ? got : "unknown");
			return VMIE_ECORRUPT;
		}
	}
	if (im->snapshot && im->vm.n != 1) {
		snprintf(im->fail, sizeof im->fail, "ClientError: Disk "
			 "validation failed [a snapshot is one disk]");
		return VMIE_ECORRUPT;
	}
	if (im->snapshot && im->vm.n && !im->vm.inputs[0].open_rule[0]) {
		/* no rules run for a snapshot: its format is checked here,
		 * as FMT-001 would (stream-optimized VMDK, VHD, VHDX, raw) */
		const struct vmie_check_input *ci = &im->vm.inputs[0];
		bool ok = !strcmp(ci->format, "vhd") ||
			  !strcmp(ci->format, "vhdx") ||
			  !strcmp(ci->format, "raw") ||
			  (!strcmp(ci->format, "vmdk") &&
			   !strcasecmp(ci->subformat, "streamOptimized"));
		if (!ok) {
			snprintf(im->fail, sizeof im->fail, "ClientError: Disk "
				 "validation failed [Unsupported image format: "
				 "%s%s%s] [FMT-001: a snapshot is a stream-"
				 "optimized VMDK, a VHD, a VHDX or raw]",
				 ci->format, ci->subformat[0] ? " " : "",
				 ci->subformat);
			return VMIE_ECORRUPT;
		}
	}
	/* the table walk of every disk (the dry run only): data errors
	 * surface in convert, which reads everything anyway */
	struct vmie_verify_opts vo = { .quick = true, .open_only = !walk,
				       .cancel = stop };
	r = vmie_vm_finish(&im->vm, &vo, err);
	if (r)
		return r;
	for (unsigned k = 0; k < im->vm.n; k++)
		if (im->vm.inputs[k].open_rule[0] && im->snapshot) {
			fail_rule(im, "ClientError: Disk validation failed",
				  im->vm.inputs[k].open_rule,
				  im->vm.inputs[k].open_error);
			return VMIE_ECORRUPT;
		}
	return 0;
}

/* The table walk the validate stage left to the conversion, run only
 * when the rules refuse the import: a disk whose grain (or table) is
 * corrupt where inspection read it is inspected as an unreadable file
 * system, and the rules would say "Unknown OS"; the walk finds the
 * corruption and the refusal is FMT-005 naming it, as the dry run and
 * `vmie check` say.  *corrupt: an input was refused by the walk. */
static int walk_refused(struct import *im, bool *corrupt,
			struct vmie_err *err)
{
	struct vmie_verify_opts vo = { .quick = true,
				       .cancel = &im->run->stop };
	*corrupt = false;
	for (unsigned i = 0; i < im->vm.n; i++) {
		struct vmie_check_input *ci = &im->vm.inputs[i];
		struct vmie_verify_result vr;
		struct vmie_err e = { 0 };
		if (im->vm.in_img[i] < 0 || ci->open_rule[0])
			continue;
		if (!vmie_image_verify(im->vm.imgs[im->vm.in_img[i]], &vo, &vr,
				       &e))
			continue;
		if (!e.rule[0]) {
			*err = e;
			return e.code ? e.code : VMIE_EIO;
		}
		vmie_strlcpy(ci->open_error, e.msg, sizeof ci->open_error);
		vmie_strlcpy(ci->open_rule, e.rule, sizeof ci->open_rule);
		*corrupt = true;
	}
	return 0;
}

static int stage_validate(struct import *im, struct vmie_err *err)
{
	struct task_run *run = im->run;
	int r = task_stage(run, "validate", "validating", err);
	if (!r)
		r = validate_containers(im, &run->stop, false, err);
	if (!r)
		r = task_stage(run, "validated", "validated", err);
	return r;
}

/* A copy-on-write overlay over each disk: inspection reads through it
 * and the update stage writes the guest changes into it; the source is
 * never written. */
static int open_overlays(struct import *im, struct vmie_err *err)
{
	im->ov = calloc(im->vm.n_img ? im->vm.n_img : 1, sizeof *im->ov);
	if (!im->ov)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (unsigned i = 0; i < im->vm.n_img; i++) {
		int r = vmie_overlay_open(im->vm.imgs[i], &im->ov[i], err);
		if (r)
			return r;
	}
	return 0;
}

/* Inspect the overlays, keeping the devices of the file systems open for
 * the update stage. */
static int inspect_overlays(struct import *im, struct vmie_err *err)
{
	struct vmie_inspect_opts io = { .keep_devices = true };
	if (im->vm.n_img) {
		int r = vmie_inspect(im->ov, (const char *const *)im->vm.names,
				     im->vm.n_img, &io, &im->in, err);
		if (r)
			return r;
	} else if (!(im->in = calloc(1, sizeof *im->in))) {
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	if (im->vm.ova)
		vmie_insp_vm_from_ovf(im->vm.ova->ovf, &im->in->vm);
	return 0;
}

/* The guest changes: through the devices inspection kept (modify.h). */
static int modify(struct import *im, bool diff, struct vmie_modify_result *mr,
		  struct vmie_err *err)
{
	struct vmie_modify_opts mo = {
		.timeout = 1,
		.net_ifnames = true,
		.serial_console = true,
		.diff = diff,
		.policy = im->pol,
		.disks = im->ov,
		.n_disks = im->vm.n_img,
		/* BOOT-006: the rules decided the GPT boot disk becomes MBR */
		.gpt_to_mbr = im->rep && im->rep->gpt_to_mbr,
	};
	/* the policy's target: the Windows drivers that must start at boot */
	const struct vmie_policy_set *bd =
		im->pol ? vmie_policy_get_set(im->pol, "windows_boot_drivers")
			: NULL;
	const char **bdv = NULL;
	if (bd && bd->n) {
		if (!(bdv = calloc(bd->n + 1, sizeof *bdv)))
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		for (unsigned i = 0; i < bd->n; i++)
			bdv[i] = bd->values[i];
		mo.win_boot_drivers = bdv;
	}
	int r = vmie_modify_guest(im->in, &mo, mr, err);
	free(bdv);
	return r;
}

static json_t *changes_json(const struct vmie_modify_result *mr)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < mr->n; i++) {
		const struct vmie_change *c = &mr->changes[i];
		json_t *o = json_object();
		json_object_set_new(o, "Device", json_string(c->device));
		json_object_set_new(o, "Path", json_string(c->path));
		json_object_set_new(o, "Rule", json_string(c->rule));
		json_object_set_new(o, "What", json_string(c->what));
		if (c->kept_as[0])
			json_object_set_new(o, "KeptAs",
					    json_string(c->kept_as));
		if (c->sha256_before[0])
			json_object_set_new(o, "Sha256Before",
					    json_string(c->sha256_before));
		if (c->sha256_after[0])
			json_object_set_new(o, "Sha256After",
					    json_string(c->sha256_after));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *notes_json(const struct vmie_modify_result *mr)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < mr->n_notes; i++)
		json_array_append_new(a, json_string(mr->notes[i]));
	return a;
}

/* The options of the rules from the request (the same for the import
 * and its dry run). */
static void check_opts(const json_t *rq, struct import *im,
		       struct vmie_check_opts *co)
{
	const char *bm = task_str(rq, "BootMode");
	const char *lt = task_str(rq, "LicenseType");
	memset(co, 0, sizeof *co);
	co->boot_mode = bm && strcmp(bm, "uefi-preferred") ? bm : NULL;
	co->license_type = lt && strcasecmp(lt, "Auto") ? lt : NULL;
	co->platform = task_str(rq, "Platform");
	co->architecture = task_str(rq, "Architecture");
	co->usage_operation = task_str(rq, "UsageOperation");
	co->license_configuration =
		json_array_size(json_object_get(rq, "LicenseSpecifications"));
	co->inputs = im->vm.inputs;
	co->n_inputs = im->vm.n;
}

static int stage_inspect_decide(struct import *im, struct vmie_err *err)
{
	struct task_run *run = im->run;
	const json_t *rq = json_object_get(task_vmie(im->rec), "Request");
	struct vmie_check_opts co;
	int r = task_stage(run, "inspect", NULL, err);
	if (r)
		return r;
	if ((r = open_overlays(im, err)) || (r = inspect_overlays(im, err)))
		return r;
	if ((r = task_stage(run, "decide", NULL, err)))
		return r;
	check_opts(rq, im, &co);
	if ((r = request_policy(rq, &im->pol, err)))
		return r;
	r = vmie_rules_check(im->in, &co, im->pol, &im->rep, err);
	if (r)
		return r;
	if (!im->rep->would_pass) {
		/* refused: say FMT-005 if that is why (see walk_refused) */
		bool corrupt = false;
		if ((r = walk_refused(im, &corrupt, err)))
			return r;
		if (corrupt) {
			vmie_check_report_free(im->rep);
			im->rep = NULL;
			r = vmie_rules_check(im->in, &co, im->pol, &im->rep,
					     err);
			if (r)
				return r;
		}
	}
	if (!im->rep->would_pass) {
		const struct vmie_rule_result *x = NULL;
		for (unsigned i = 0; i < im->rep->n_results; i++)
			if (im->rep->results[i].verdict == VMIE_V_FAIL) {
				x = &im->rep->results[i];
				break;
			}
		fail_rule(im, im->rep->status_message[0] ?
			  im->rep->status_message : "ClientError: the import "
			  "was refused", x ? x->id : NULL,
			  x ? x->evidence : NULL);
		return VMIE_EPERM;
	}
	return 0;
}

/* The decisions and inspection summary kept with the task and the image. */
static json_t *import_summary(struct import *im)
{
	json_t *s = json_object();
	const struct vmie_check_report *p = im->rep;
	const struct vmie_insp_os *os = im->in && im->in->n_os ?
					&im->in->os[0] : NULL;
	if (p) {
		json_object_set_new(s, "Policy", json_string(p->policy));
		json_object_set_new(s, "Os", json_string(p->os_summary));
		json_object_set_new(s, "BootModeRule",
				    json_string(p->boot_mode_rule));
		json_object_set_new(s, "BootModeReason",
				    json_string(p->boot_mode_reason));
		json_object_set_new(s, "GptToMbr", json_boolean(p->gpt_to_mbr));
		json_object_set_new(s, "LicenseRule",
				    json_string(p->license_rule));
	}
	if (os) {
		json_object_set_new(s, "Distro", json_string(os->distro));
		json_object_set_new(s, "Grub2Bios", json_boolean(os->grub2_bios));
		json_object_set_new(s, "Grub2Efi", json_boolean(os->grub2_efi));
		json_object_set_new(s, "Arch", json_string(os->arch));
	}
	return s;
}

static int stage_update(struct import *im, struct vmie_err *err)
{
	struct vmie_modify_result mr = { 0 };
	struct vmie_err e = { 0 };
	int r = task_stage(im->run, "update", "converting", err);
	if (r)
		return r;
	r = modify(im, false, &mr, &e);
	if (r) {
		snprintf(im->fail, sizeof im->fail, "ClientError: the guest "
			 "could not be changed for the cloud: %.500s", e.msg);
		vmie_modify_result_free(&mr);
		return r;
	}
	im->changes = changes_json(&mr);
	json_t *vm = json_object();
	json_object_set(vm, "Changes", im->changes);
	json_object_set_new(vm, "ChangeNotes", notes_json(&mr));
	vmie_modify_result_free(&mr);
	r = task_patch(im->run, NULL, vm, err);
	json_decref(vm);
	return r;
}

static void convert_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct import *im = ctx;
	uint64_t all = im->total ? im->total : 1;
	int p = (int)(((im->done_before + done) * 100) / all);
	if (p > 99)
		p = 99;
	__atomic_store_n(&im->run->progress, p, __ATOMIC_RELAXED);
	unsigned ms = im->run->env->throttle_ms;
	if (ms) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	(void)total;
}

static int stage_convert(struct import *im, struct vmie_err *err)
{
	struct task_run *run = im->run;
	struct vmie_task_env *env = run->env;
	unsigned n = im->vm.n_img;
	int r;

	im->snaps = calloc(n ? n : 1, sizeof *im->snaps);
	im->sinks = calloc(n ? n : 1, sizeof *im->sinks);
	if (!im->snaps || !im->sinks)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	/* the snapshot ids are recorded before a volume exists, so that
	 * recovery finds every temporary volume of this task */
	json_t *vm = json_object(), *ids = json_array();
	for (unsigned i = 0; i < n; i++) {
		vmie_rec_new_id(VMIE_REC_SNAPSHOT, im->snaps[i]);
		json_array_append_new(ids, json_string(im->snaps[i]));
		im->total += im->vm.imgs[i]->size;
	}
	json_object_set_new(vm, "Snapshots", ids);
	json_object_set_new(vm, "Summary", import_summary(im));
	r = task_patch(run, NULL, vm, err);
	json_decref(vm);
	if (r)
		return r;
	if ((r = task_stage(run, "convert", NULL, err)))
		return r;
	/* Vmie.VolumeFormat: "raw" (sparse, the default) or "qcow2" */
	const char *vf = task_str(json_object_get(json_object_get(task_vmie(im->rec),
						      "Request"), "Vmie"),
		      "VolumeFormat");
	if (!vf)
		vf = "raw";
	for (unsigned i = 0; i < n; i++) {
		struct vmie_convert_opts co = { 0 };
		struct vmie_convert_stats st;
		co.format = vf;
		co.threads = env->threads;
		co.progress = convert_progress;
		co.progress_ctx = im;
		co.cancel = &run->stop;
		r = vmie_volstore_create(env->vols, im->snaps[i], vf,
					 &im->sinks[i], err);
		if (r)
			return r;
		r = vmie_convert_to_sink(im->ov[i], im->sinks[i], &co, &st,
					 err);
		if (r) {
			if (r != VMIE_EINTR)
				vmie_err_prefix(err, "disk %u (%s)", i,
						im->vm.names[i]);
			return r;
		}
		im->done_before += im->vm.imgs[i]->size;
	}
	return task_stage(run, "updating", im->snapshot ? NULL : "updating",
			  err);
}

/* The value of a one-value policy set (target_disk_bus...), or NULL. */
static const char *policy_word(const struct vmie_policy *p, const char *key)
{
	const struct vmie_policy_set *s = p ? vmie_policy_get_set(p, key) :
					  NULL;
	return s && s->n ? s->values[0] : NULL;
}

/* Boot the new volumes (bootcheck.h): the decided boot mode, the
 * policy's devices, the serial log kept in the store beside the volumes
 * as "logs/<task id>.boot.log", its path and the verdict in
 * Vmie.BootCheck.  No prompt fails the task (im->fail). */
static int stage_bootcheck(struct import *im, struct vmie_err *err)
{
	struct task_run *run = im->run;
	struct vmie_task_env *env = run->env;
	const json_t *vq = json_object_get(json_object_get(task_vmie(im->rec),
							   "Request"), "Vmie");
	struct vmie_bootcheck_disk disks[VMIE_BOOTCHECK_MAX_DISKS];
	char fmts[VMIE_BOOTCHECK_MAX_DISKS][8], log[4096];
	char name[VMIE_ID_MAX + 16];
	struct vmie_bootcheck_result res;
	struct vmie_err e = { 0 };
	unsigned n = im->vm.n_img, opened = 0;
	json_t *bc = NULL, *vm;
	int r;

	if (im->snapshot || !json_is_true(json_object_get(vq, "BootCheck")))
		return 0;
	if ((r = task_stage(run, "bootcheck", "booting", err)))
		return r;
	struct vmie_bootcheck_opts o = {
		.disks = disks,
		.n_disks = n,
		.uefi = im->rep && !strcmp(im->rep->boot_mode, "uefi"),
		.disk_bus = policy_word(im->pol, "target_disk_bus"),
		.nic = policy_word(im->pol, "target_nic"),
		.timeout = (unsigned)json_integer_value(json_object_get(vq,
						"BootCheckTimeout")),
		.log_path = log,
		.name = run->id,
		.cancel = &run->stop,
	};
	if (n > VMIE_BOOTCHECK_MAX_DISKS) {
		snprintf(im->fail, sizeof im->fail, "ClientError: the boot "
			 "check boots at most %d disks (this VM has %u)",
			 VMIE_BOOTCHECK_MAX_DISKS, n);
		return VMIE_EUNSUPP;
	}
	snprintf(name, sizeof name, "%s.boot.log", run->id);
	if ((r = vmie_volstore_side_path(env->vols, name, log, sizeof log,
					 &e)))
		goto failed;
	for (; opened < n; opened++) {
		if ((r = vmie_volstore_open_fd(env->vols, im->snaps[opened],
					       &disks[opened].fd,
					       fmts[opened], &e)))
			goto failed;
		disks[opened].format = fmts[opened];
	}
	/* where the evidence is, before the boot: a kill leaves it named */
	bc = json_object();
	json_object_set_new(bc, "Log", json_string(log));
	json_object_set_new(bc, "Firmware", json_string(o.uefi ? "uefi" :
							"legacy-bios"));
	json_object_set_new(bc, "DiskBus", json_string(o.disk_bus ?
						       o.disk_bus : "virtio"));
	json_object_set_new(bc, "Nic", json_string(o.nic ? o.nic :
						   "virtio-net-pci"));
	json_object_set_new(bc, "Timeout", json_integer(o.timeout ? o.timeout :
					VMIE_BOOTCHECK_TIMEOUT));
	json_object_set_new(bc, "Result", json_string("running"));
	vm = json_object();
	json_object_set(vm, "BootCheck", bc);
	r = task_patch(run, NULL, vm, err);
	json_decref(vm);
	if (r)
		goto out;
	r = vmie_boot_check(&o, &res, &e);
	json_object_set_new(bc, "Result", json_string(
		r == VMIE_EINTR ? "cancelled" : r ? "error" :
		res.passed ? "pass" : "fail"));
	json_object_set_new(bc, "Reason", json_string(r && r != VMIE_EINTR ?
						      e.msg : res.reason));
	json_object_set_new(bc, "Seconds", json_real(
		(double)(long long)(res.seconds * 10.0 + 0.5) / 10.0));
	json_object_set_new(bc, "LogBytes", json_integer(
		(json_int_t)res.log_bytes));
	if (res.prompt[0])
		json_object_set_new(bc, "Prompt", json_string(res.prompt));
	im->bootcheck = json_incref(bc);
	vm = json_object();
	json_object_set(vm, "BootCheck", bc);
	struct vmie_err pe = { 0 };
	int pr = task_patch(run, NULL, vm, r ? &pe : err);
	json_decref(vm);
	if (r == VMIE_EINTR) {
		*err = e;
		goto out;
	}
	if (r)
		goto failed;
	if (!res.passed) {
		snprintf(im->fail, sizeof im->fail, "ClientError: the boot "
			 "check failed: %.160s (serial log: %.160s)%s%.150s",
			 res.reason, log, res.tail[0] ? "; last lines: " : "",
			 res.tail);
		r = VMIE_EPERM;
		goto out;
	}
	r = pr;
	goto out;
failed:
	snprintf(im->fail, sizeof im->fail, "ClientError: the boot check "
		 "could not run: %.500s", e.msg);
	*err = e;
out:
	for (unsigned i = 0; i < opened; i++)
		close(disks[i].fd);
	json_decref(bc);
	return r;
}

/* The Image record of a finished import. */
static json_t *image_record(struct import *im, const char *ami)
{
	const json_t *rq = json_object_get(task_vmie(im->rec), "Request");
	const struct vmie_check_report *p = im->rep;
	const struct vmie_insp_os *os = im->in && im->in->n_os ?
					&im->in->os[0] : NULL;
	json_t *img = json_object(), *bdm = json_array();
	char iso[40];
	bool win = p && !strcmp(p->platform, "Windows");
	const char *arch = task_str(rq, "Architecture");

	task_now_iso(iso, sizeof iso);
	if (!arch)
		arch = os && !strcmp(os->arch, "aarch64") ? "arm64" :
		       os && !strcmp(os->arch, "i386") ? "i386" : "x86_64";
	json_object_set_new(img, "ImageId", json_string(ami));
	json_object_set_new(img, "ImageLocation", json_string(ami));
	json_object_set_new(img, "State", json_string("available"));
	json_object_set_new(img, "OwnerId", json_string(
		im->run->env->owner_id ? im->run->env->owner_id :
		"000000000000"));
	json_object_set_new(img, "CreationDate", json_string(iso));
	json_object_set_new(img, "Public", json_false());
	json_object_set_new(img, "Architecture", json_string(arch));
	json_object_set_new(img, "ImageType", json_string("machine"));
	json_object_set_new(img, "Name", json_string(im->run->id));
	json_object_set_new(img, "Description", json_string(
		task_str(rq, "Description") ? task_str(rq, "Description") :
		p ? p->os_summary : ""));
	if (win)
		json_object_set_new(img, "Platform", json_string("windows"));
	json_object_set_new(img, "PlatformDetails", json_string(
		win ? "Windows" : "Linux/UNIX"));
	json_object_set_new(img, "UsageOperation", json_string(
		p && p->usage_operation[0] ? p->usage_operation :
		"RunInstances"));
	json_object_set_new(img, "RootDeviceType", json_string("ebs"));
	json_object_set_new(img, "RootDeviceName", json_string("/dev/sda1"));
	json_object_set_new(img, "VirtualizationType", json_string("hvm"));
	json_object_set_new(img, "Hypervisor", json_string("xen"));
	json_object_set_new(img, "EnaSupport", json_true());
	json_object_set_new(img, "SriovNetSupport", json_string("simple"));
	if (p && p->boot_mode[0])
		json_object_set_new(img, "BootMode", json_string(p->boot_mode));
	for (unsigned i = 0; i < im->vm.n_img; i++) {
		json_t *m = json_object(), *ebs = json_object();
		char dev[16];
		snprintf(dev, sizeof dev, i ? "/dev/sd%c" : "/dev/sda1",
			 'a' + (char)(i % 26));
		json_object_set_new(m, "DeviceName", json_string(dev));
		json_object_set_new(ebs, "DeleteOnTermination", json_true());
		json_object_set_new(ebs, "SnapshotId", json_string(im->snaps[i]));
		json_object_set_new(ebs, "VolumeSize", json_integer(
			(json_int_t)((im->vm.imgs[i]->size + (1ULL << 30) - 1) >> 30)));
		json_object_set_new(ebs, "VolumeType", json_string("gp2"));
		json_object_set_new(ebs, "Encrypted", json_false());
		json_object_set_new(m, "Ebs", ebs);
		json_array_append_new(bdm, m);
	}
	json_object_set_new(img, "BlockDeviceMappings", bdm);
	json_t *vm = task_vmie(img);
	json_object_set_new(vm, "ImportTask", json_string(im->run->id));
	json_object_set_new(vm, "Summary", import_summary(im));
	json_object_set_new(vm, "Changes", im->changes ?
			    json_incref(im->changes) : json_array());
	if (im->bootcheck)
		json_object_set(vm, "BootCheck", im->bootcheck);
	/* that the image has a change journal shows in describe-images as
	 * a tag (an Image has no member for it) */
	json_t *tags = json_array(), *t = json_object();
	char tv[160];
	snprintf(tv, sizeof tv, "%zu change(s): vmie image-journal --image-id "
		 "%s", im->changes ? json_array_size(im->changes) : 0, ami);
	json_object_set_new(t, "Key", json_string("vmie:change-journal"));
	json_object_set_new(t, "Value", json_string(tv));
	json_array_append_new(tags, t);
	if (im->bootcheck) {
		/* the boot check's verdict and log, seen by describe-images */
		t = json_object();
		snprintf(tv, sizeof tv, "%s in %.0f s, log %.100s",
			 task_str(im->bootcheck, "Result"),
			 json_real_value(json_object_get(im->bootcheck,
							 "Seconds")),
			 task_str(im->bootcheck, "Log"));
		json_object_set_new(t, "Key", json_string("vmie:boot-check"));
		json_object_set_new(t, "Value", json_string(tv));
		json_array_append_new(tags, t);
	}
	json_object_set_new(img, "Tags", tags);
	json_t *disks = json_array();
	for (unsigned i = 0; i < im->vm.n_img; i++)
		json_array_append_new(disks, json_integer(
			(json_int_t)im->vm.imgs[i]->size));
	json_object_set_new(vm, "DiskSizes", disks);
	return img;
}

static json_t *snapshot_record(struct import *im, unsigned i,
			       const char *desc)
{
	json_t *s = json_object();
	char iso[40];
	task_now_iso(iso, sizeof iso);
	json_object_set_new(s, "SnapshotId", json_string(im->snaps[i]));
	json_object_set_new(s, "VolumeId", json_string("vol-ffffffff"));
	json_object_set_new(s, "State", json_string("completed"));
	json_object_set_new(s, "StartTime", json_string(iso));
	json_object_set_new(s, "Progress", json_string("100%"));
	json_object_set_new(s, "OwnerId", json_string(
		im->run->env->owner_id ? im->run->env->owner_id :
		"000000000000"));
	json_object_set_new(s, "Description", json_string(desc));
	json_object_set_new(s, "VolumeSize", json_integer(
		(json_int_t)((im->vm.imgs[i]->size + (1ULL << 30) - 1) >> 30)));
	json_object_set_new(s, "Encrypted", json_false());
	json_t *vm = task_vmie(s);
	json_object_set_new(vm, "ImportTask", json_string(im->run->id));
	json_object_set_new(vm, "DiskSize", json_integer(
		(json_int_t)im->vm.imgs[i]->size));
	return s;
}

static const char *upper(char *out, size_t size, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	out[i] = 0;
	return out;
}

static int stage_register(struct import *im, struct vmie_err *err)
{
	struct task_run *run = im->run;
	struct vmie_task_env *env = run->env;
	char ami[VMIE_ID_MAX], desc[128], fmtbuf[16];
	int r;

	if ((r = task_stage(run, "register", im->snapshot ? NULL :
			    "preparing ami", err)))
		return r;
	for (unsigned i = 0; i < im->vm.n_img; i++)
		if ((r = vmie_sink_commit(im->sinks[i], err)))
			return r;
	snprintf(desc, sizeof desc, "Created by AWS-VMImport service for %s",
		 run->id);
	for (unsigned i = 0; i < im->vm.n_img; i++) {
		json_t *s = snapshot_record(im, i, desc);
		/* the watcher thread uses the same store handle */
		pthread_mutex_lock(&run->lock);
		r = vmie_store_put(env->store, VMIE_REC_SNAPSHOT, im->snaps[i],
				   NULL, s, NULL, err);
		pthread_mutex_unlock(&run->lock);
		json_decref(s);
		if (r)
			return r;
	}
	json_t *set = json_object();
	if (!im->snapshot) {
		vmie_rec_new_id(VMIE_REC_IMAGE, ami);
		json_t *img = image_record(im, ami);
		pthread_mutex_lock(&run->lock);
		r = vmie_store_put(env->store, VMIE_REC_IMAGE, ami, NULL, img,
				   NULL, err);
		pthread_mutex_unlock(&run->lock);
		json_decref(img);
		if (r) {
			json_decref(set);
			return r;
		}
		/* tests: dying between the records and the task's end */
		if (env->kill_at && !strcmp(env->kill_at, "records"))
			raise(SIGKILL);
		json_object_set_new(set, "ImageId", json_string(ami));
		json_t *details = json_deep_copy(import_details(im));
		size_t k;
		json_t *d;
		json_array_foreach(details, k, d) {
			if (k >= im->vm.n_img)
				break;
			json_object_set_new(d, "SnapshotId",
					    json_string(im->snaps[k]));
			json_object_set_new(d, "DiskImageSize", json_real(
				(double)im->vm.imgs[k]->size));
			json_object_set_new(d, "Status",
					    json_string("completed"));
			if (!task_str(d, "Format") || im->vm.ova)
				json_object_set_new(d, "Format", json_string(
					upper(fmtbuf, sizeof fmtbuf,
					      im->vm.inputs[k].format)));
			if (!task_str(d, "DeviceName")) {
				char dev[16];
				snprintf(dev, sizeof dev, k ? "/dev/sd%c" :
					 "/dev/sda1", 'a' + (char)(k % 26));
				json_object_set_new(d, "DeviceName",
						    json_string(dev));
			}
		}
		/* an OVA container becomes one detail per disk */
		while (json_array_size(details) < im->vm.n_img) {
			json_t *x = json_deep_copy(json_array_get(details, 0));
			unsigned k2 = (unsigned)json_array_size(details);
			json_object_set_new(x, "SnapshotId",
					    json_string(im->snaps[k2]));
			json_object_set_new(x, "DiskImageSize", json_real(
				(double)im->vm.imgs[k2]->size));
			char dev[16];
			snprintf(dev, sizeof dev, "/dev/sd%c", 'a' + (char)(k2 % 26));
			json_object_set_new(x, "DeviceName", json_string(dev));
			json_object_set_new(x, "Format", json_string(
				upper(fmtbuf, sizeof fmtbuf,
				      im->vm.inputs[k2].format)));
			json_array_append_new(details, x);
		}
		json_object_set_new(set, "SnapshotDetails", details);
		const struct vmie_check_report *p = im->rep;
		json_object_set_new(set, "Platform", json_string(
			p->platform[0] ? p->platform : "Linux"));
		json_t *ir = image_record(im, ami);
		json_object_set(set, "Architecture",
				json_object_get(ir, "Architecture"));
		json_decref(ir);
		if (p->license_type[0])
			json_object_set_new(set, "LicenseType",
					    json_string(p->license_type));
		if (p->boot_mode[0])
			json_object_set_new(set, "BootMode",
					    json_string(p->boot_mode));
		if (p->usage_operation[0])
			json_object_set_new(set, "UsageOperation",
					    json_string(p->usage_operation));
	} else {
		json_object_set_new(set, "SnapshotId",
				    json_string(im->snaps[0]));
		json_object_set_new(set, "DiskImageSize", json_real(
			(double)im->vm.imgs[0]->size));
		if (!task_str(json_object_get(im->rec, "SnapshotTaskDetail"),
			      "Format"))
			json_object_set_new(set, "Format", json_string(
				upper(fmtbuf, sizeof fmtbuf,
				      im->vm.inputs[0].format)));
	}
	json_object_set_new(set, "Status", json_string("completed"));
	json_object_set_new(set, "StatusMessage", json_null());
	json_object_set_new(set, "Progress", json_null());
	json_t *vm = json_object();
	json_object_set_new(vm, "Stage", json_string("completed"));
	json_object_set_new(vm, "Owner", json_null());
	json_object_set_new(vm, "Ended", json_real(task_now()));
	json_t *times = json_object();
	json_object_set_new(times, "completed", json_real(task_now()));
	json_object_set_new(vm, "StageTimes", times);
	r = task_patch(run, set, vm, err);
	json_decref(set);
	json_decref(vm);
	return r;
}

static void import_free(struct import *im)
{
	for (unsigned i = 0; im->sinks && i < im->vm.n_img; i++)
		vmie_sink_free(im->sinks[i]);      /* aborts if uncommitted */
	/* the inspection's kept devices read through the overlays */
	vmie_inspection_free(im->in);
	im->in = NULL;
	for (unsigned i = 0; im->ov && i < im->vm.n_img; i++)
		vmie_image_close(im->ov[i]);
	free(im->sinks);
	free(im->ov);
	free(im->snaps);
	json_decref(im->changes);
	json_decref(im->bootcheck);
	vmie_check_report_free(im->rep);
	vmie_policy_free(im->pol);
	vmie_vm_free(&im->vm);
}

int task_run_import(struct task_run *run, json_t *rec, struct vmie_err *err)
{
	struct import im = { .run = run, .rec = rec,
			     .snapshot = run->kind == VMIE_REC_IMPORT_SNAPSHOT };
	struct vmie_err e = { 0 };
	int r;

	r = stage_validate(&im, &e);
	if (!r && !im.snapshot)
		r = stage_inspect_decide(&im, &e);
	if (!r)
		r = im.snapshot ? task_stage(run, "update", NULL, &e) :
				  stage_update(&im, &e);
	if (!r && im.snapshot)
		r = open_overlays(&im, &e);  /* a snapshot: no changes */
	if (!r)
		r = stage_convert(&im, &e);
	if (!r)
		r = stage_bootcheck(&im, &e);
	if (!r)
		r = stage_register(&im, &e);
	if (!r) {
		import_free(&im);
		return 0;
	}
	/* from here on this thread alone uses the store */
	task_watch_stop(run);
	if (r == VMIE_EPERM && !im.fail[0]) {
		/* lost the task (recovered or cancelled elsewhere): whoever
		 * has it now ends it; what this process wrote after that
		 * point is undone here, as the other one may have swept
		 * before it was written */
		json_t *mine = json_object(), *ids = json_array();
		json_object_set_new(mine, "ImportTaskId", json_string(run->id));
		for (unsigned i = 0; im.snaps && i < im.vm.n_img; i++)
			json_array_append_new(ids, json_string(im.snaps[i]));
		json_object_set_new(task_vmie(mine), "Snapshots", ids);
		import_free(&im);
		task_cleanup_import(run->env, mine);
		json_decref(mine);
		if (err)
			*err = e;
		return r;
	}
	/* a server draining: undo, back to the queue */
	if (!im.fail[0] && task_requeue_wanted(run, rec)) {
		import_free(&im);
		json_t *now = NULL;
		if (!vmie_store_get(run->env->store, run->kind, run->id, &now,
				    NULL)) {
			task_cleanup_import(run->env, now);
			json_decref(now);
		}
		r = task_requeue(run->env, run->kind, run->id, run->owner,
				 err);
		return r ? r : VMIE_ERR(err, VMIE_EINTR, "%s: suspended, back "
					"in the queue", run->id);
	}
	/* the failure ends the task: deleting, undo, deleted */
	if (!im.fail[0]) {
		if (r == VMIE_EINTR)
			snprintf(im.fail, sizeof im.fail, "%s",
				 run->cancel_marked ? "ClientError: the task "
				 "was cancelled (CancelImportTask)" :
				 "ClientError: the task was interrupted "
				 "(vmie was stopped)");
		else if (r == VMIE_ENOSPC)
			snprintf(im.fail, sizeof im.fail, "ServerError: the "
				 "image store is full: %.400s", e.msg);
		else
			snprintf(im.fail, sizeof im.fail, "ClientError: %s%.460s"
				 "%s%s%s", r == VMIE_ECORRUPT || r == VMIE_ELIMIT ?
				 "Disk validation failed: " : "", e.msg,
				 e.rule[0] ? " [" : "", e.rule,
				 e.rule[0] ? "]" : "");
	}
	json_t *set = json_object();
	json_object_set_new(set, "Status", json_string("deleting"));
	json_object_set_new(set, "StatusMessage", json_string(im.fail));
	struct vmie_err e2 = { 0 };
	task_patch(run, set, NULL, &e2);
	json_decref(set);
	import_free(&im);        /* aborts the sinks: no temporary left */
	json_t *now = NULL;
	if (!vmie_store_get(run->env->store, run->kind, run->id, &now, NULL)) {
		task_cleanup_import(run->env, now);
		json_decref(now);
	}
	return task_end_deleted(run, im.fail, err);
}

/* ---- dry run ---- */

int vmie_import_image_dry_run(struct vmie_task_env *env, const json_t *req,
			      json_t **out, struct vmie_err *err)
{
	json_t *rec = NULL;
	struct task_run run = { .env = env, .kind = VMIE_REC_IMPORT_IMAGE };
	int r = import_image_record(env, req, &rec, err);
	if (r)
		return r;
	struct import im = { .run = &run, .rec = rec };
	struct vmie_err e = { 0 };
	/* no store: the stages run without a record */
	r = validate_containers(&im, env->cancel, true, &e);
	if (r == VMIE_ECORRUPT && im.fail[0]) {
		/* refused in validation, as the import would be */
		json_t *o = json_object();
		json_object_set_new(o, "DryRun", json_true());
		json_object_set_new(o, "WouldPass", json_false());
		json_object_set_new(o, "StatusMessage", json_string(im.fail));
		*out = o;
		import_free(&im);
		json_decref(rec);
		return 0;
	}
	if (!r) {
		const json_t *rq = json_object_get(task_vmie(rec), "Request");
		struct vmie_check_opts co;
		check_opts(rq, &im, &co);
		/* throwaway overlays: the changes are made, shown, dropped */
		r = open_overlays(&im, &e);
		if (!r)
			r = inspect_overlays(&im, &e);
		if (!r)
			r = request_policy(rq, &im.pol, &e);
		if (!r)
			r = vmie_rules_check(im.in, &co, im.pol, &im.rep, &e);
	}
	if (r) {
		if (err)
			*err = e;
		import_free(&im);
		json_decref(rec);
		return r;
	}
	json_t *o = json_object();
	json_t *rep = vmie_check_report_to_json(im.rep);
	json_object_set_new(o, "DryRun", json_true());
	json_object_set_new(o, "WouldPass", json_boolean(im.rep->would_pass));
	json_object_set(o, "Decisions", json_object_get(rep, "decisions"));
	if (!im.rep->would_pass) {
		const struct vmie_rule_result *x = NULL;
		for (unsigned i = 0; i < im.rep->n_results && !x; i++)
			if (im.rep->results[i].verdict == VMIE_V_FAIL)
				x = &im.rep->results[i];
		fail_rule(&im, im.rep->status_message, x ? x->id : NULL,
			  x ? x->evidence : NULL);
		json_object_set_new(o, "StatusMessage", json_string(im.fail));
	}
	json_object_set(o, "Report", rep);
	json_decref(rep);
	if (im.rep->would_pass) {
		/* the update stage against the throwaway overlays */
		struct vmie_modify_result mr = { 0 };
		struct vmie_err me = { 0 };
		if (modify(&im, true, &mr, &me)) {
			json_object_set_new(o, "UpdateError",
					    json_string(me.msg));
		} else {
			json_object_set_new(o, "Changes", changes_json(&mr));
			json_object_set_new(o, "ChangeNotes", notes_json(&mr));
			json_object_set_new(o, "Diff", json_string(
				mr.diff ? mr.diff : ""));
		}
		vmie_modify_result_free(&mr);
	}
	*out = o;
	import_free(&im);
	json_decref(rec);
	return 0;
}
