/*
 * The older VM Import/Export calls as views of the current tasks
 * (legacy.h): ConversionTask and ExportTask shapes of botocore's ec2
 * model, made from the task records of lib/task.
 */
#include "api/legacy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
/* ExpirationTime: the older API cancelled a conversion whose upload had
 * not ended within a week; here nothing is uploaded, the time is shown */
#define EXPIRY_SECONDS (7 * 24 * 3600)

static const struct {
	const char *legacy;        /* "import-i" */
	const char *task;          /* "import-ami" */
	enum vmie_rec_kind kind;
} legacy_ids[] = {
	{ "import-i", "import-ami", VMIE_REC_IMPORT_IMAGE },
	{ "import-vol", "import-snap", VMIE_REC_IMPORT_SNAPSHOT },
	{ "export-i", "export-ami", VMIE_REC_EXPORT_IMAGE },
};
#define N_LEGACY_IDS (sizeof legacy_ids / sizeof *legacy_ids)

int vmie_legacy_task_id(const char *id, char *task_id,
			enum vmie_rec_kind *kind)
{
	if (!id)
		return -1;
	for (size_t i = 0; i < N_LEGACY_IDS; i++) {
		size_t n = strlen(legacy_ids[i].legacy);
		if (strncmp(id, legacy_ids[i].legacy, n) || id[n] != '-')
			continue;
		const char *hex = id + n + 1;
		size_t tl = strlen(legacy_ids[i].task), hl = strlen(hex);
		if (tl + 1 + hl + 1 > VMIE_ID_MAX)
			return -1;
		memcpy(task_id, legacy_ids[i].task, tl);
		task_id[tl] = '-';
		memcpy(task_id + tl + 1, hex, hl + 1);
		if (!vmie_rec_id_valid(legacy_ids[i].kind, task_id))
			return -1;
		*kind = legacy_ids[i].kind;
		return 0;
	}
	return -1;
}

void vmie_legacy_id(enum vmie_rec_kind kind, const char *task_id,
		    char *out)
{
	out[0] = 0;
	for (size_t i = 0; i < N_LEGACY_IDS; i++) {
		size_t n = strlen(legacy_ids[i].task);
		if (legacy_ids[i].kind != kind || !task_id ||
		    strncmp(task_id, legacy_ids[i].task, n) ||
		    task_id[n] != '-')
			continue;
		snprintf(out, VMIE_ID_MAX, "%s-%s", legacy_ids[i].legacy,
			 task_id + n + 1);
		return;
	}
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const json_t *vmie_legacy_of(const json_t *rec)
{
	const json_t *vm = json_object_get(rec, "Vmie");
	const json_t *rq = json_object_get(vm, "Request");
	const json_t *l = json_object_get(json_object_get(rq, "Vmie"),
					  "Legacy");
	return json_is_object(l) && str(l, "Action") ? l : NULL;
}

/* The older state of a task's Status. */
static const char *legacy_state(const char *status)
{
	if (!status)
		return "active";
	if (!strcmp(status, "completed"))
		return "completed";
	if (!strcmp(status, "deleting"))
		return "cancelling";
	if (!strcmp(status, "deleted"))
		return "cancelled";
	return "active";
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void set_copy(json_t *o, const char *key, const json_t *v)
{
	if (v && !json_is_null(v))
		json_object_set_new(o, key, json_deep_copy(v));
}

static json_int_t number(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return -1;
}

/* A volume's size in GiB: the size asked for, else the image's virtual
 * size rounded up. */
static json_int_t volume_gib(const json_t *asked, const json_t *detail)
{
	json_int_t n = number(json_object_get(asked, "Size"));
	if (n > 0)
		return n;
	json_int_t b = number(json_object_get(detail, "DiskImageSize"));
	if (b <= 0)
		return -1;
	json_int_t g = (json_int_t)((double)b / GIB);
	if ((double)g * GIB < (double)b)
		g++;
	return g ? g : 1;
}

/* Common members of a ConversionTask: id, expiry, state, tags. */
static json_t *conversion_base(enum vmie_rec_kind kind, const json_t *rec,
			       const char *task_id, const char *status,
			       const char *message)
{
	char id[VMIE_ID_MAX], when[40];
	json_t *ct = json_object();
	vmie_legacy_id(kind, task_id, id);
	set_str(ct, "ConversionTaskId", id);
	const json_t *created = json_object_get(json_object_get(rec, "Vmie"),
						"Created");
	if (json_is_number(created)) {
		time_t t = (time_t)json_number_value(created) + EXPIRY_SECONDS;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		set_str(ct, "ExpirationTime", when);
	}
	set_str(ct, "State", legacy_state(status));
	set_str(ct, "StatusMessage", message);
	if (json_array_size(json_object_get(rec, "Tags")))
		set_copy(ct, "Tags", json_object_get(rec, "Tags"));
	return ct;
}

/* DiskImageDescription of a requested DiskImageDetail. */
static json_t *image_description(const json_t *image)
{
	json_t *d = json_object();
	set_str(d, "Format", str(image, "Format"));
	set_str(d, "ImportManifestUrl", str(image, "ImportManifestUrl"));
	if (number(json_object_get(image, "Bytes")) >= 0)
		json_object_set_new(d, "Size", json_integer(number(
			json_object_get(image, "Bytes"))));
	return d;
}

static json_t *volume_description(const json_t *asked, const json_t *detail)
{
	json_t *v = json_object();
	set_str(v, "Id", str(detail, "SnapshotId"));
	json_int_t g = volume_gib(asked, detail);
	if (g > 0)
		json_object_set_new(v, "Size", json_integer(g));
	return v;
}

/* Bytes converted: the image's bytes once its snapshot exists. */
static json_int_t bytes_converted(const json_t *image, const json_t *detail)
{
	if (!str(detail, "SnapshotId"))
		return 0;
	json_int_t b = number(json_object_get(image, "Bytes"));
	return b >= 0 ? b : number(json_object_get(detail, "DiskImageSize"));
}

json_t *vmie_legacy_conversion_task(enum vmie_rec_kind kind,
				    const json_t *rec)
{
	const json_t *leg = vmie_legacy_of(rec);
	const char *action = str(leg, "Action");
	json_t *ct, *d;

	if (!action)
		return NULL;
	if (kind == VMIE_REC_IMPORT_IMAGE && !strcmp(action, "ImportInstance")) {
		const char *status = str(rec, "Status");
		const char *msg = str(rec, "StatusMessage");
		const json_t *dis = json_object_get(leg, "DiskImages");
		const json_t *details = json_object_get(rec, "SnapshotDetails");
		const json_t *di;
		size_t i;
		ct = conversion_base(kind, rec, str(rec, "ImportTaskId"),
				     status, msg);
		d = json_object();
		set_str(d, "Description", str(rec, "Description"));
		set_str(d, "InstanceId", str(rec, "ImageId"));
		set_str(d, "Platform", str(rec, "Platform"));
		json_t *vols = json_array();
		json_array_foreach(dis, i, di) {
			const json_t *det = json_array_get(details, i);
			const json_t *img = json_object_get(di, "Image");
			json_t *v = json_object();
			set_str(v, "AvailabilityZone",
				str(leg, "AvailabilityZone"));
			json_object_set_new(v, "BytesConverted", json_integer(
				bytes_converted(img, det)));
			set_str(v, "Description", str(di, "Description"));
			json_object_set_new(v, "Image", image_description(img));
			bool done = str(det, "SnapshotId") &&
				    !strcmp(legacy_state(status), "completed");
			set_str(v, "Status", done ? "completed" :
				legacy_state(status));
			if (!done)
				set_str(v, "StatusMessage", msg);
			json_object_set_new(v, "Volume", volume_description(
				json_object_get(di, "Volume"), det));
			json_array_append_new(vols, v);
		}
		json_object_set_new(d, "Volumes", vols);
		json_object_set_new(ct, "ImportInstance", d);
		return ct;
	}
	if (kind == VMIE_REC_IMPORT_SNAPSHOT && !strcmp(action, "ImportVolume")) {
		const json_t *det = json_object_get(rec, "SnapshotTaskDetail");
		const json_t *img = json_object_get(leg, "Image");
		ct = conversion_base(kind, rec, str(rec, "ImportTaskId"),
				     str(det, "Status"),
				     str(det, "StatusMessage"));
		d = json_object();
		set_str(d, "AvailabilityZone", str(leg, "AvailabilityZone"));
		json_object_set_new(d, "BytesConverted", json_integer(
			bytes_converted(img, det)));
		set_str(d, "Description", str(rec, "Description"));
		json_object_set_new(d, "Image", image_description(img));
		json_object_set_new(d, "Volume", volume_description(
			json_object_get(leg, "Volume"), det));
		json_object_set_new(ct, "ImportVolume", d);
		return ct;
	}
	return NULL;
}

json_t *vmie_legacy_export_task(const json_t *rec)
{
	const json_t *leg = vmie_legacy_of(rec);
	const char *action = str(leg, "Action");
	const char *task_id = str(rec, "ExportImageTaskId");
	char id[VMIE_ID_MAX], ext[8], key[2048];

	if (!action || strcmp(action, "CreateInstanceExportTask") || !task_id)
		return NULL;
	json_t *t = json_object();
	vmie_legacy_id(VMIE_REC_EXPORT_IMAGE, task_id, id);
	set_str(t, "ExportTaskId", id);
	set_str(t, "Description", str(rec, "Description"));
	const json_t *loc = json_object_get(rec, "S3ExportLocation");
	const char *cf = str(leg, "ContainerFormat");
	const char *df = str(leg, "DiskImageFormat");
	const char *prefix = str(loc, "S3Prefix");
	json_t *s3 = json_object();
	set_str(s3, "ContainerFormat", cf);
	set_str(s3, "DiskImageFormat", df);
	set_str(s3, "S3Bucket", str(loc, "S3Bucket"));
	/* the object the export writes (export.c): PREFIX + task id + .ext */
	vmie_strlcpy(ext, cf ? cf : df ? df : "vmdk", sizeof ext);
	for (char *p = ext; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(key, sizeof key, "%s%s.%s", prefix ? prefix : "", task_id,
		 ext);
	set_str(s3, "S3Key", key);
	json_object_set_new(t, "ExportToS3Task", s3);
	json_t *ied = json_object();
	set_str(ied, "InstanceId", str(rec, "ImageId"));
	set_str(ied, "TargetEnvironment", str(leg, "TargetEnvironment"));
	json_object_set_new(t, "InstanceExportDetails", ied);
	set_str(t, "State", legacy_state(str(rec, "Status")));
	set_str(t, "StatusMessage", str(rec, "StatusMessage"));
	if (json_array_size(json_object_get(rec, "Tags")))
		set_copy(t, "Tags", json_object_get(rec, "Tags"));
	return t;
}

/* ---- S3 URLs ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copy n bytes of s into out, %XX decoded: -1 on a bad escape, a NUL,
 * or no room. */
static int unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (!c || o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

int vmie_legacy_s3_url(const char *url, const char *what, char *bucket,
		       size_t bsize, char *key, size_t ksize,
		       struct vmie_err *err)
{
	const char *rest, *path;
	char host[256];
	size_t hl;

	if (!url)
		goto bad;
	if (!strncmp(url, "s3://", 5)) {
		rest = url + 5;
		const char *slash = strchr(rest, '/');
		if (!slash || slash == rest || !slash[1] ||
		    (size_t)(slash - rest) >= bsize ||
		    strlen(slash + 1) >= ksize)
			goto bad;
		memcpy(bucket, rest, (size_t)(slash - rest));
		bucket[slash - rest] = 0;
		vmie_strlcpy(key, slash + 1, ksize);
		return 0;
	}
	if (!strncasecmp(url, "https://", 8))
		rest = url + 8;
	else if (!strncasecmp(url, "http://", 7))
		rest = url + 7;
	else
		goto bad;
	hl = strcspn(rest, "/?#");
	if (!hl || hl >= sizeof host || rest[hl] != '/')
		goto bad;
	for (size_t i = 0; i < hl; i++)
		host[i] = (char)tolower((unsigned char)rest[i]);
	host[hl] = 0;
	if (strchr(host, '@'))
		goto bad;
	char *colon = strchr(host, ':');
	if (colon)
		*colon = 0;
	path = rest + hl + 1;
	size_t pl = strcspn(path, "?#");
	const char *vh = strstr(host, ".s3.");
	const char *vh2 = strstr(host, ".s3-");
	if (!vh || (vh2 && vh2 < vh))
		vh = vh2;
	bool path_style = !strncmp(host, "s3.", 3) ||
			  !strncmp(host, "s3-", 3) || !strcmp(host, "s3");
	if (path_style) {
		size_t bl = strcspn(path, "/?#");
		if (!bl || bl >= bsize || path[bl] != '/' || bl + 1 >= pl)
			goto bad;
		if (unescape(path, bl, bucket, bsize) ||
		    unescape(path + bl + 1, pl - bl - 1, key, ksize))
			goto bad;
	} else if (vh) {
		size_t bl = (size_t)(vh - host);
		if (!bl || bl >= bsize || !pl)
			goto bad;
		memcpy(bucket, host, bl);
		bucket[bl] = 0;
		if (unescape(path, pl, key, ksize))
			goto bad;
	} else {
		goto bad;
	}
	if (!bucket[0] || !key[0])
		goto bad;
	return 0;
bad:
	return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
			    "%s '%.200s' is not an S3 URL: give "
			    "s3://BUCKET/KEY or https://BUCKET.s3.REGION."
			    "amazonaws.com/KEY (or the path form "
			    "https://s3.REGION.amazonaws.com/BUCKET/KEY)",
			    what, url ? url : "");
}
