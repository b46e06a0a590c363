/*
 * ExportImage: an image's volumes written into a bucket as
 * "<S3Prefix>export-ami-<id>.<vmdk|vhd|raw|ova>" (a stream-optimized
 * VMDK, a dynamic VHD, raw, or an OVA of every disk with an OVF).  The
 * object is written through the bucket's sink: under a temporary name
 * until it is complete, so a reader never sees half an export, and a
 * failed, cancelled or killed export leaves nothing (recovery removes the
 * temporary of a killed one: its keys are in Vmie.Keys before the first
 * byte is written).
 *
 * Refused at the request, with the rule id: an image that does not exist
 * (EXP-002), a format that is not VMDK, VHD, RAW or OVA (EXP-001), an
 * image whose GRUB 2 boots both BIOS and UEFI (EXP-003).  An image of
 * several disks exported as VMDK, VHD or RAW gives one object per disk:
 * the boot disk under the name above, the others with "-disk2"... before
 * the extension.
 */
#include "task/task_int.h"
#include "core/util.h"
#include "image/image.h"
#include "io/io.h"
#include "ova/ova.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

static const struct {
	const char *name, *ext, *driver, *sub;
} export_formats[] = {
	{ "VMDK", "vmdk", "vmdk", "streamOptimized" },
	{ "VHD", "vhd", "vhd", "dynamic" },
	{ "RAW", "raw", "raw", NULL },
	{ "OVA", "ova", NULL, NULL },
};

static int export_format(const char *f)
{
	for (size_t i = 0; i < sizeof export_formats / sizeof *export_formats;
	     i++)
		if (!strcasecmp(f, export_formats[i].name))
			return (int)i;
	return -1;
}

int vmie_export_image(struct vmie_task_env *env, const json_t *req,
		      json_t **out, struct vmie_err *err)
{
	const char *op = "ExportImage";
	const json_t *loc = json_object_get(req, "S3ExportLocation");
	json_t *img = NULL, *tags = NULL, *rec = NULL;
	int r, fi;

	if (!json_is_object(req))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: the request is not a structure", op);
	if ((r = task_want(req, "ImageId", JSON_STRING, true, op, err)) ||
	    (r = task_want(req, "DiskImageFormat", JSON_STRING, true, op,
			   err)) ||
	    (r = task_want(req, "S3ExportLocation", JSON_OBJECT, true, op,
			   err)) ||
	    (r = task_want(req, "Description", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "RoleName", JSON_STRING, false, op, err)) ||
	    (r = task_want(req, "ClientToken", JSON_STRING, false, op, err)) ||
	    (r = task_want(loc, "S3Bucket", JSON_STRING, true, op, err)) ||
	    (r = task_want(loc, "S3Prefix", JSON_STRING, false, op, err)))
		return r;
	const char *ami = task_str(req, "ImageId");
	const char *fmt = task_str(req, "DiskImageFormat");
	const char *bucket = task_str(loc, "S3Bucket");
	const char *prefix = task_str(loc, "S3Prefix");
	if ((fi = export_format(fmt)) < 0)
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: DiskImageFormat '%.32s' is not VMDK, "
				    "VHD, RAW or OVA [EXP-001]", op, fmt);
	if ((r = vmie_bucket_check_name(bucket, err))) {
		vmie_err_api(err, "InvalidParameterValue");
		return r;
	}
	if (prefix && prefix[0]) {
		char probe[1100];
		snprintf(probe, sizeof probe, "%sexport-ami-x", prefix);
		if ((r = vmie_bucket_check_key(probe, err))) {
			vmie_err_api(err, "InvalidParameterValue");
			return r;
		}
	}
	if (!vmie_rec_id_valid(VMIE_REC_IMAGE, ami))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidAMIID.Malformed",
				    "%s: Invalid id: \"%.64s\" [EXP-002]", op,
				    ami);
	r = vmie_store_get(env->store, VMIE_REC_IMAGE, ami, &img, err);
	if (r == VMIE_ENOENT)
		return VMIE_API_ERR(err, r, "InvalidAMIID.NotFound",
				    "%s: The image id '[%s]' does not exist: "
				    "only an existing image can be exported "
				    "[EXP-002]", op, ami);
	if (r)
		return r;
	const json_t *sum = json_object_get(task_vmie(img), "Summary");
	if (json_is_true(json_object_get(sum, "Grub2Bios")) &&
	    json_is_true(json_object_get(sum, "Grub2Efi"))) {
		json_decref(img);
		return VMIE_API_ERR(err, VMIE_EUNSUPP, "InvalidParameterValue",
				    "%s: %s boots with GRUB 2 for both BIOS "
				    "and UEFI (a hybrid image), which cannot "
				    "be exported [EXP-003]", op, ami);
	}
	json_decref(img);
	if (env->buckets) {
		/* the bucket must exist now, not only when the task runs */
		uint64_t sz;
		struct vmie_err e = { 0 };
		int hr = vmie_buckets_head(env->buckets, bucket,
					   ".vmie-bucket-probe", &sz, &e);
		if (hr && hr != VMIE_ENOENT) {
			if (err)
				*err = e;
			vmie_err_api(err, "InvalidParameterValue");
			return hr;
		}
		if (hr == VMIE_ENOENT && strstr(e.msg, "bucket") &&
		    strstr(e.msg, "does not exist")) {
			if (err)
				*err = e;
			vmie_err_api(err, "InvalidParameterValue");
			return hr;
		}
	} else {
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "%s: no buckets are configured "
				    "(--bucket-root DIR or VMIE_BUCKET_ROOT)",
				    op);
	}
	if ((r = task_tag_specs(req, "export-image-task", op, &tags, err)))
		return r;
	rec = json_object();
	if (task_str(req, "Description"))
		json_object_set_new(rec, "Description",
				    json_string(task_str(req, "Description")));
	json_object_set_new(rec, "ImageId", json_string(ami));
	json_object_set_new(rec, "Progress", json_string("0"));
	json_t *l = json_object();
	json_object_set_new(l, "S3Bucket", json_string(bucket));
	json_object_set_new(l, "S3Prefix", json_string(prefix ? prefix : ""));
	json_object_set_new(rec, "S3ExportLocation", l);
	json_object_set_new(rec, "Status", json_string("active"));
	json_object_set_new(rec, "StatusMessage", json_string("pending"));
	if (json_array_size(tags))
		json_object_set(rec, "Tags", tags);
	json_decref(tags);
	json_t *rq = json_deep_copy(req);
	json_object_del(rq, "ClientToken");
	json_t *vm = task_vmie(rec);
	json_object_set_new(vm, "Request", rq);
	json_object_set_new(vm, "DiskImageFormat",
			    json_string(export_formats[fi].name));
	if (task_str(req, "RoleName"))
		json_object_set_new(vm, "RoleName",
				    json_string(task_str(req, "RoleName")));
	char id[VMIE_ID_MAX], existing[VMIE_ID_MAX] = "";
	bool existed = false;
	vmie_rec_new_id(VMIE_REC_EXPORT_IMAGE, id);
	json_object_set_new(rec, "ExportImageTaskId", json_string(id));
	json_object_set_new(vm, "Created", json_real(task_now()));
	task_queue_mark(env, rec);
	r = vmie_store_put(env->store, VMIE_REC_EXPORT_IMAGE, id,
			   task_str(req, "ClientToken"), rec, existing, err);
	if (r == VMIE_EEXIST && existing[0]) {
		json_decref(rec);
		rec = NULL;
		r = vmie_store_get(env->store, VMIE_REC_EXPORT_IMAGE, existing,
				   &rec, err);
		if (r)
			return r;
		if (!json_equal(json_object_get(task_vmie(rec), "Request"), rq)) {
			json_decref(rec);
			return VMIE_API_ERR(err, VMIE_EEXIST,
					    "IdempotentParameterMismatch",
					    "%s: client token '%.64s' was used "
					    "for another request", op,
					    task_str(req, "ClientToken"));
		}
		existed = true;
	}
	if (r) {
		json_decref(rec);
		return r;
	}
	/* ExportImageResult: the task plus the format and role */
	*out = vmie_rec_public(rec);
	json_object_set(*out, "DiskImageFormat",
			json_object_get(task_vmie(rec), "DiskImageFormat"));
	if (json_object_get(task_vmie(rec), "RoleName"))
		json_object_set(*out, "RoleName",
				json_object_get(task_vmie(rec), "RoleName"));
	json_decref(rec);
	return existed ? 1 : 0;
}

/* ---- the run ---- */

struct export {
	struct task_run *run;
	json_t *img;
	unsigned n;
	struct vmie_src **srcs;
	struct vmie_image **disks;
	struct vmie_sink **sinks;
	uint64_t total, done_before;
};

static void export_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct export *x = ctx;
	uint64_t all = x->total ? x->total : 1;
	uint64_t d = x->done_before + done;
	int p = (int)((d > all ? all : d) * 100 / all);
	if (p > 99)
		p = 99;
	__atomic_store_n(&x->run->progress, p, __ATOMIC_RELAXED);
	unsigned ms = x->run->env->throttle_ms;
	if (ms) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	(void)total;
}

static void export_key(const json_t *rec, const char *ext, unsigned i,
		       char *out, size_t size)
{
	const json_t *loc = json_object_get(rec, "S3ExportLocation");
	const char *prefix = task_str(loc, "S3Prefix");
	const char *id = task_str(rec, "ExportImageTaskId");
	if (i)
		snprintf(out, size, "%s%s-disk%u.%s", prefix ? prefix : "", id,
			 i + 1, ext);
	else
		snprintf(out, size, "%s%s.%s", prefix ? prefix : "", id, ext);
}

static int export_open(struct export *x, struct vmie_err *err)
{
	struct vmie_task_env *env = x->run->env;
	const json_t *bdm = json_object_get(x->img, "BlockDeviceMappings"), *m;
	size_t i;
	int r;

	x->n = (unsigned)json_array_size(bdm);
	if (!x->n)
		return VMIE_ERR(err, VMIE_ECORRUPT, "%s has no volumes",
				task_str(x->img, "ImageId"));
	x->srcs = calloc(x->n, sizeof *x->srcs);
	x->disks = calloc(x->n, sizeof *x->disks);
	x->sinks = calloc(x->n, sizeof *x->sinks);
	if (!x->srcs || !x->disks || !x->sinks)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	json_array_foreach(bdm, i, m) {
		const char *sid = task_str(json_object_get(m, "Ebs"),
					   "SnapshotId");
		char fmt[8] = "";
		struct vmie_open_opts oo = { 0 };
		if (!sid)
			return VMIE_ERR(err, VMIE_ECORRUPT, "%s: volume %zu "
					"has no snapshot",
					task_str(x->img, "ImageId"), i);
		r = vmie_volstore_open(env->vols, sid, &x->srcs[i], fmt, err);
		if (r)
			return r;
		oo.format = fmt;
		r = vmie_image_open_src(x->srcs[i], &oo, &x->disks[i], err);
		if (r)
			return r;
		x->total += x->disks[i]->size;
	}
	return 0;
}

static void export_free(struct export *x)
{
	for (unsigned i = 0; i < x->n; i++) {
		if (x->sinks)
			vmie_sink_free(x->sinks[i]);
		if (x->disks)
			vmie_image_close(x->disks[i]);
		if (x->srcs)
			vmie_src_unref(x->srcs[i]);
	}
	free(x->sinks);
	free(x->disks);
	free(x->srcs);
	json_decref(x->img);
}

int task_run_export(struct task_run *run, json_t *rec, struct vmie_err *err)
{
	struct vmie_task_env *env = run->env;
	struct export x = { .run = run };
	const json_t *loc = json_object_get(rec, "S3ExportLocation");
	const char *bucket = task_str(loc, "S3Bucket");
	const char *fmt = task_str(task_vmie(rec), "DiskImageFormat");
	struct vmie_err e = { 0 };
	char key[1200];
	int fi = fmt ? export_format(fmt) : -1, r;
	unsigned nobj;

	r = task_stage(run, "validate", "validating", &e);
	if (!r && fi < 0)
		r = VMIE_ERR(&e, VMIE_EINVAL, "unknown format [EXP-001]");
	if (!r) {
		pthread_mutex_lock(&run->lock);
		r = vmie_store_get(env->store, VMIE_REC_IMAGE,
				   task_str(rec, "ImageId"), &x.img, &e);
		pthread_mutex_unlock(&run->lock);
		if (r == VMIE_ENOENT)
			vmie_strlcpy(e.rule, "EXP-002", sizeof e.rule);
	}
	if (!r)
		r = export_open(&x, &e);
	nobj = fi >= 0 && !export_formats[fi].driver ? 1 : x.n;
	if (!r) {
		/* the keys are recorded before the first byte is written */
		json_t *vm = json_object(), *keys = json_array();
		for (unsigned i = 0; i < nobj; i++) {
			export_key(rec, export_formats[fi].ext, i, key,
				   sizeof key);
			json_array_append_new(keys, json_string(key));
		}
		json_object_set_new(vm, "Keys", keys);
		r = task_patch(run, NULL, vm, &e);
		json_decref(vm);
	}
	if (!r)
		r = task_stage(run, "convert", "converting", &e);
	for (unsigned i = 0; !r && i < nobj; i++) {
		export_key(rec, export_formats[fi].ext, i, key, sizeof key);
		r = vmie_buckets_put(env->buckets, bucket, key, true,
				     &x.sinks[i], &e);
		if (r)
			break;
		if (!export_formats[fi].driver) {
			struct vmie_ova_write_opts oo = { 0 };
			struct vmie_ova_write_disk *wd = calloc(x.n, sizeof *wd);
			const json_t *sum = json_object_get(task_vmie(x.img),
							    "Summary");
			if (!wd) {
				r = VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
				break;
			}
			for (unsigned k = 0; k < x.n; k++)
				wd[k].img = x.disks[k];
			oo.vm_name = task_str(x.img, "ImageId");
			oo.os_description = task_str(sum, "Os");
			const char *bm = task_str(x.img, "BootMode");
			oo.firmware = bm && !strcmp(bm, "uefi") ? "efi" : "bios";
			oo.n_nics = 1;
			oo.disks = wd;
			oo.n_disks = x.n;
			oo.threads = env->threads;
			oo.progress = export_progress;
			oo.progress_ctx = &x;
			oo.cancel = &run->stop;
			r = vmie_ova_write_to_sink(x.sinks[i], &oo, &e);
			free(wd);
		} else {
			struct vmie_convert_opts co = { 0 };
			struct vmie_convert_stats st;
			co.format = export_formats[fi].driver;
			co.subformat = export_formats[fi].sub;
			co.threads = env->threads;
			co.progress = export_progress;
			co.progress_ctx = &x;
			co.cancel = &run->stop;
			r = vmie_convert_to_sink(x.disks[i], x.sinks[i], &co,
						 &st, &e);
			x.done_before += x.disks[i]->size;
		}
	}
	if (!r)
		r = task_stage(run, "register", NULL, &e);
	for (unsigned i = 0; !r && i < nobj; i++)
		r = vmie_sink_commit(x.sinks[i], &e);
	if (!r) {
		json_t *set = json_object(), *vm = json_object();
		json_object_set_new(set, "Status", json_string("completed"));
		json_object_set_new(set, "StatusMessage", json_null());
		json_object_set_new(set, "Progress", json_null());
		json_object_set_new(vm, "Stage", json_string("completed"));
		json_object_set_new(vm, "Owner", json_null());
		json_object_set_new(vm, "Ended", json_real(task_now()));
		r = task_patch(run, set, vm, &e);
		json_decref(set);
		json_decref(vm);
		export_free(&x);
		if (r) {
			/* lost the task after publishing: take it back out */
			for (unsigned i = 0; i < nobj; i++) {
				export_key(rec, export_formats[fi].ext, i, key,
					   sizeof key);
				vmie_buckets_remove(env->buckets, bucket, key,
						    NULL);
			}
			if (err)
				*err = e;
		}
		return r;
	}
	task_watch_stop(run);     /* this thread alone uses the store now */
	if (r == VMIE_EPERM && !e.rule[0]) {
		export_free(&x);
		if (err)
			*err = e;
		return r;
	}
	if (task_requeue_wanted(run, rec) && !e.rule[0]) {
		export_free(&x);
		task_cleanup_export(env, rec);
		r = task_requeue(env, run->kind, run->id, run->owner, err);
		return r ? r : VMIE_ERR(err, VMIE_EINTR, "%s: suspended, back "
					"in the queue", run->id);
	}
	char msg[600];
	if (r == VMIE_EINTR)
		snprintf(msg, sizeof msg, "%s", run->cancel_marked ?
			 "ClientError: the task was cancelled "
			 "(CancelExportTask)" : "ClientError: the task was "
			 "interrupted (vmie was stopped)");
	else if (r == VMIE_ENOSPC)
		snprintf(msg, sizeof msg, "ServerError: the bucket is full: "
			 "%.500s", e.msg);
	else
		snprintf(msg, sizeof msg, "ClientError: %.520s%s%s%s", e.msg,
			 e.rule[0] ? " [" : "", e.rule, e.rule[0] ? "]" : "");
	json_t *set = json_object();
	json_object_set_new(set, "Status", json_string("deleting"));
	json_object_set_new(set, "StatusMessage", json_string(msg));
	struct vmie_err e2 = { 0 };
	task_patch(run, set, NULL, &e2);
	json_decref(set);
	export_free(&x);        /* aborts the sinks */
	task_cleanup_export(env, rec);
	return task_end_deleted(run, msg, err);
}
