/*
 * The EC2 VM Import/Export commands, with the names, flags and JSON of
 * `aws ec2 ...`: each command turns its flags into the operation's request
 * (botocore's input shape), calls lib/task and prints the result as the
 * AWS CLI does (4-space indented JSON).  Flags of the AWS CLI that mean
 * nothing here (--region, --profile, --endpoint-url, --output json,
 * --no-cli-pager) are accepted and ignored, so scripts run unchanged.
 *
 * Beyond AWS: --store DIR (VMIE_STORE; default $XDG_DATA_HOME/vmie),
 * --records postgresql://... (VMIE_RECORDS: the records in PostgreSQL,
 * docs/postgresql.md),
 * --bucket-root DIR (VMIE_BUCKET_ROOT; "s3://": an S3 store's buckets),
 * --volumes s3://bucket/prefix, --s3-endpoint URL (docs/s3.md), --policy, --volume-format,
 * --boot-check and --boot-check-timeout (import-image),
 * --dry-run (import-image: decide and print, store nothing), --no-wait
 * (print the task at once, a detached worker runs it).
 *
 * Exit status: 0 success (a task that completed); 1 a task that ended
 * deleted; 252 a bad command line; 254 an error the operation returned
 * (as the AWS CLI: "An error occurred (Code) when calling the X
 * operation: ...").
 */
#include "cli.h"
#include "cli_task.h"
#include "core/util.h"
#include "io/bucket.h"
#include "task/task.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum akind {
	A_STR,          /* --flag VALUE -> "Member": "VALUE" */
	A_INT,          /* --flag N -> "Member": N */
	A_TRUE,         /* --flag -> "Member": true */
	A_FALSE,        /* --no-flag -> "Member": false */
	A_LIST,         /* --flag A B C -> "Member": ["A", "B", "C"] */
	A_STRUCT,       /* --flag JSON|shorthand -> "Member": {...} */
	A_STRUCTS,      /* --flag X [Y...] -> "Member": [{...}, ...] */
	A_VMIE,         /* --flag VALUE -> "Vmie": {"Member": "VALUE"} */
	A_VMIE_TRUE,    /* --flag -> "Vmie": {"Member": true} */
	A_VMIE_INT,     /* --flag N -> "Vmie": {"Member": N} */
};

struct argdef {
	const char *flag;
	const char *member;
	enum akind kind;
	bool required;
};

enum opkind {
	OP_IMPORT_IMAGE, OP_IMPORT_SNAPSHOT, OP_EXPORT_IMAGE,
	OP_DESCRIBE, OP_CANCEL, OP_DEREGISTER, OP_DELETE_SNAPSHOT,
	OP_CREATE_TAGS, OP_DELETE_TAGS, OP_DESCRIBE_TAGS, OP_IMAGE_JOURNAL,
};

struct opdef {
	const char *cmd, *op, *help;
	enum opkind kind;
	enum vmie_rec_kind rec;     /* for OP_DESCRIBE */
	const struct argdef *args;
};

#define TAGSPEC { "--tag-specifications", "TagSpecifications", A_STRUCTS, false }
#define PAGING { "--max-results", "MaxResults", A_INT, false }, \
	       { "--next-token", "NextToken", A_STR, false }
#define FILTERS { "--filters", "Filters", A_STRUCTS, false }

static const struct argdef import_image_args[] = {
	{ "--disk-containers", "DiskContainers", A_STRUCTS, true },
	{ "--boot-mode", "BootMode", A_STR, false },
	{ "--license-type", "LicenseType", A_STR, false },
	{ "--platform", "Platform", A_STR, false },
	{ "--architecture", "Architecture", A_STR, false },
	{ "--description", "Description", A_STR, false },
	{ "--usage-operation", "UsageOperation", A_STR, false },
	{ "--client-token", "ClientToken", A_STR, false },
	{ "--role-name", "RoleName", A_STR, false },
	{ "--encrypted", "Encrypted", A_TRUE, false },
	{ "--no-encrypted", "Encrypted", A_FALSE, false },
	{ "--kms-key-id", "KmsKeyId", A_STR, false },
	{ "--license-specifications", "LicenseSpecifications", A_STRUCTS, false },
	{ "--hypervisor", "Hypervisor", A_STR, false },
	{ "--client-data", "ClientData", A_STRUCT, false },
	{ "--policy", "Policy", A_VMIE, false },
	{ "--volume-format", "VolumeFormat", A_VMIE, false },
	{ "--boot-check", "BootCheck", A_VMIE_TRUE, false },
	{ "--boot-check-timeout", "BootCheckTimeout", A_VMIE_INT, false },
	TAGSPEC,
	{ NULL, NULL, 0, false }
};
static const struct argdef import_snapshot_args[] = {
	{ "--disk-container", "DiskContainer", A_STRUCT, true },
	{ "--description", "Description", A_STR, false },
	{ "--client-token", "ClientToken", A_STR, false },
	{ "--role-name", "RoleName", A_STR, false },
	{ "--encrypted", "Encrypted", A_TRUE, false },
	{ "--no-encrypted", "Encrypted", A_FALSE, false },
	{ "--kms-key-id", "KmsKeyId", A_STR, false },
	{ "--client-data", "ClientData", A_STRUCT, false },
	{ "--volume-format", "VolumeFormat", A_VMIE, false },
	TAGSPEC,
	{ NULL, NULL, 0, false }
};
static const struct argdef export_image_args[] = {
	{ "--image-id", "ImageId", A_STR, true },
	{ "--disk-image-format", "DiskImageFormat", A_STR, true },
	{ "--s3-export-location", "S3ExportLocation", A_STRUCT, true },
	{ "--description", "Description", A_STR, false },
	{ "--role-name", "RoleName", A_STR, false },
	{ "--client-token", "ClientToken", A_STR, false },
	TAGSPEC,
	{ NULL, NULL, 0, false }
};
static const struct argdef describe_import_args[] = {
	{ "--import-task-ids", "ImportTaskIds", A_LIST, false },
	FILTERS, PAGING,
	{ NULL, NULL, 0, false }
};
static const struct argdef describe_export_args[] = {
	{ "--export-image-task-ids", "ExportImageTaskIds", A_LIST, false },
	FILTERS, PAGING,
	{ NULL, NULL, 0, false }
};
static const struct argdef describe_images_args[] = {
	{ "--image-ids", "ImageIds", A_LIST, false },
	{ "--owners", "Owners", A_LIST, false },
	{ "--executable-users", "ExecutableUsers", A_LIST, false },
	FILTERS, PAGING,
	{ NULL, NULL, 0, false }
};
static const struct argdef describe_snapshots_args[] = {
	{ "--snapshot-ids", "SnapshotIds", A_LIST, false },
	{ "--owner-ids", "OwnerIds", A_LIST, false },
	FILTERS, PAGING,
	{ NULL, NULL, 0, false }
};
static const struct argdef cancel_import_args[] = {
	{ "--import-task-id", "ImportTaskId", A_STR, true },
	{ "--cancel-reason", "CancelReason", A_STR, false },
	{ NULL, NULL, 0, false }
};
static const struct argdef cancel_export_args[] = {
	{ "--export-task-id", "ExportTaskId", A_STR, true },
	{ NULL, NULL, 0, false }
};
static const struct argdef image_id_args[] = {
	{ "--image-id", "ImageId", A_STR, true },
	{ NULL, NULL, 0, false }
};
static const struct argdef snapshot_id_args[] = {
	{ "--snapshot-id", "SnapshotId", A_STR, true },
	{ NULL, NULL, 0, false }
};
static const struct argdef tags_args[] = {
	{ "--resources", "Resources", A_LIST, true },
	{ "--tags", "Tags", A_STRUCTS, false },
	{ NULL, NULL, 0, false }
};
static const struct argdef describe_tags_args[] = {
	FILTERS, PAGING,
	{ NULL, NULL, 0, false }
};

static const struct opdef ops[] = {
	{ "import-image", "ImportImage", "import a VM's disks as an image",
	  OP_IMPORT_IMAGE, 0, import_image_args },
	{ "import-snapshot", "ImportSnapshot", "import one disk as a snapshot",
	  OP_IMPORT_SNAPSHOT, 0, import_snapshot_args },
	{ "describe-import-image-tasks", "DescribeImportImageTasks",
	  "import-image tasks", OP_DESCRIBE, VMIE_REC_IMPORT_IMAGE,
	  describe_import_args },
	{ "describe-import-snapshot-tasks", "DescribeImportSnapshotTasks",
	  "import-snapshot tasks", OP_DESCRIBE, VMIE_REC_IMPORT_SNAPSHOT,
	  describe_import_args },
	{ "cancel-import-task", "CancelImportTask", "cancel an import task",
	  OP_CANCEL, 0, cancel_import_args },
	{ "export-image", "ExportImage", "export an image to a bucket",
	  OP_EXPORT_IMAGE, 0, export_image_args },
	{ "describe-export-image-tasks", "DescribeExportImageTasks",
	  "export-image tasks", OP_DESCRIBE, VMIE_REC_EXPORT_IMAGE,
	  describe_export_args },
	{ "cancel-export-task", "CancelExportTask", "cancel an export task",
	  OP_CANCEL, 0, cancel_export_args },
	{ "describe-images", "DescribeImages", "imported images",
	  OP_DESCRIBE, VMIE_REC_IMAGE, describe_images_args },
	{ "deregister-image", "DeregisterImage", "remove an image (its "
	  "snapshots stay)", OP_DEREGISTER, 0, image_id_args },
	{ "describe-snapshots", "DescribeSnapshots", "snapshots (volumes)",
	  OP_DESCRIBE, VMIE_REC_SNAPSHOT, describe_snapshots_args },
	{ "delete-snapshot", "DeleteSnapshot", "remove a snapshot and its "
	  "volume", OP_DELETE_SNAPSHOT, 0, snapshot_id_args },
	{ "create-tags", "CreateTags", "tag images, snapshots and tasks",
	  OP_CREATE_TAGS, 0, tags_args },
	{ "delete-tags", "DeleteTags", "remove tags", OP_DELETE_TAGS, 0,
	  tags_args },
	{ "describe-tags", "DescribeTags", "list tags", OP_DESCRIBE_TAGS, 0,
	  describe_tags_args },
	{ "image-journal", "ImageJournal", "the guest changes an import made "
	  "(vmie's own)", OP_IMAGE_JOURNAL, 0, image_id_args },
};

void cli_task_usage(FILE *f)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		fprintf(f, "  %-31s %s\n", ops[i].cmd, ops[i].help);
}

static void op_usage(FILE *f, const struct opdef *o)
{
	const char *page = o->kind == OP_DESCRIBE || o->kind == OP_DESCRIBE_TAGS ?
			   "describe" : o->kind == OP_CANCEL ? "cancel" :
			   o->kind == OP_DEREGISTER || o->kind == OP_DELETE_SNAPSHOT ||
			   o->kind == OP_CREATE_TAGS || o->kind == OP_DELETE_TAGS ?
			   "resources" : o->cmd;
	fprintf(f, "Usage: vmie %s [OPTION]...\n%c%s: the request and output "
		"shapes are those of\n`aws ec2 %s` (docs/cmd-%s.md).\n\n"
		"Options (each sets the request member named; structures take "
		"JSON or the AWS\nCLI shorthand):\n", o->cmd,
		o->help[0] >= 'a' && o->help[0] <= 'z' ? o->help[0] - 'a' + 'A' :
		o->help[0], o->help + 1, o->cmd, page);
	int width = 18;   /* the flags' column, at least "--bucket-root DIR" */
	for (int pass = 0; pass < 2; pass++)
		for (const struct argdef *a = o->args; a->flag; a++) {
			const char *v = a->kind == A_LIST ? " VALUE..." :
					a->kind == A_TRUE || a->kind == A_FALSE ||
					a->kind == A_VMIE_TRUE ? "" :
					a->kind == A_STRUCTS ? " JSON|SHORTHAND..." :
					a->kind == A_STRUCT ? " JSON|SHORTHAND" :
					a->kind == A_INT || a->kind == A_VMIE_INT ?
					" N" : " VALUE";
			bool own = a->kind == A_VMIE || a->kind == A_VMIE_TRUE ||
				   a->kind == A_VMIE_INT;
			int len = (int)(strlen(a->flag) + strlen(v));
			if (!pass) {
				if (len > width && len <= 36)
					width = len;
				continue;
			}
			fprintf(f, "  %s%s%*s  %s%s%s\n", a->flag, v,
				len < width ? width - len : 0, "", a->member,
				a->required ? " (required)" : "",
				own ? " (vmie's own)" : "");
		}
	fprintf(f, "  %-*s  the store of images, snapshots and tasks\n"
		"  %-*s  (VMIE_STORE; default $XDG_DATA_HOME/vmie)\n"
		"  %-*s  the buckets' parent directory (a bucket is\n"
		"  %-*s  a subdirectory; VMIE_BUCKET_ROOT)\n", width, "--store DIR", width, "",
		width, "--bucket-root DIR", width, "");
	fprintf(f, "  %-*s  s3:// : buckets are an S3 store's (docs/s3.md)\n"
		"  %-*s  the image store's volumes as objects in S3\n"
		"  %-*s  (VMIE_VOLUMES; s3://bucket/prefix)\n"
		"  %-*s  the S3 endpoint (VMIE_S3_ENDPOINT,\n"
		"  %-*s  else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)\n",
		width, "", width, "--volumes URL", width, "", width,
		"--s3-endpoint URL", width, "");
	fprintf(f, "  %-*s  task and image records in PostgreSQL instead\n"
		"  %-*s  (VMIE_RECORDS; docs/postgresql.md)\n", width,
		"--records URL", width, "");
	if (o->kind == OP_IMPORT_IMAGE)
		fprintf(f, "  %-*s  print what the import would do; store nothing\n", width, "--dry-run");
	if (o->kind == OP_IMPORT_IMAGE || o->kind == OP_IMPORT_SNAPSHOT ||
	    o->kind == OP_EXPORT_IMAGE)
		fprintf(f, "  %-*s  print the task at once, run it detached\n", width, "--no-wait");
	fprintf(f, "\nThe AWS CLI's global flags (--region, --profile, "
		"--endpoint-url, --output...)\nare accepted and ignored.\n\n"
		"Exit status:\n"
		"  0    success (a task that completed)\n"
		"  1    a task that ended deleted\n"
		"  252  a bad command line\n"
		"  254  an error the operation returned\n");
}

/* AWS CLI flags that mean nothing here: flag, takes a value */
static const struct {
	const char *flag;
	bool value;
} ignored[] = {
	{ "--region", true }, { "--profile", true }, { "--endpoint-url", true },
	{ "--output", true }, { "--no-cli-pager", false },
	{ "--no-paginate", false }, { "--debug", false },
	{ "--no-verify-ssl", false }, { "--cli-read-timeout", true },
	{ "--cli-connect-timeout", true }, { "--color", true },
	{ "--page-size", true }, { "--max-items", true },
	{ "--starting-token", true },
};

struct cmdline {
	json_t *req;
	const char *store, *bucket_root;
	const char *records;    /* --records URL: the records in PostgreSQL */
	const char *volumes;    /* --volumes s3://bucket/prefix */
	const char *s3_endpoint; /* --s3-endpoint URL */
	bool dry_run, no_wait;
	bool aws_dry_run;       /* --dry-run of another command: EC2's
				   permission check (DryRunOperation) */
};

static int parse_args(const struct opdef *o, int argc, char **argv,
		      struct cmdline *cl)
{
	char why[300];
	cl->req = json_object();
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i], *val = NULL, flag[64];
		char *eq = strchr(arg, '=');
		if (strncmp(arg, "--", 2)) {
			cli_errorf("%s: unexpected argument '%s'", o->cmd, arg);
			return 252;
		}
		if (eq && (size_t)(eq - arg) < sizeof flag) {
			memcpy(flag, arg, (size_t)(eq - arg));
			flag[eq - arg] = 0;
			val = eq + 1;
		} else {
			vmie_strlcpy(flag, arg, sizeof flag);
		}
		if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
			op_usage(stdout, o);
			return 0;
		}
#define NEXT_VALUE() \
	do { \
		if (!val) { \
			if (i + 1 >= argc) { \
				cli_errorf("%s: %s needs a value", o->cmd, flag); \
				return 252; \
			} \
			val = argv[++i]; \
		} \
	} while (0)
		if (!strcmp(flag, "--store")) {
			NEXT_VALUE();
			cl->store = val;
			continue;
		}
		if (!strcmp(flag, "--bucket-root")) {
			NEXT_VALUE();
			cl->bucket_root = val;
			continue;
		}
		if (!strcmp(flag, "--volumes")) {
			NEXT_VALUE();
			cl->volumes = val;
			continue;
		}
		if (!strcmp(flag, "--s3-endpoint")) {
			NEXT_VALUE();
			cl->s3_endpoint = val;
			continue;
		}
		if (!strcmp(flag, "--records")) {
			NEXT_VALUE();
			cl->records = val;
			continue;
		}
		if (!strcmp(flag, "--dry-run")) {
			if (o->kind == OP_IMPORT_IMAGE)
				cl->dry_run = true;
			else
				cl->aws_dry_run = true;
			continue;
		}
		if (!strcmp(flag, "--no-dry-run"))
			continue;
		if (!strcmp(flag, "--query")) {
			cli_errorf("%s: --query is not supported: the whole "
				   "JSON is printed (use jq)", o->cmd);
			return 252;
		}
		if (!strcmp(flag, "--cli-input-json")) {
			json_t *in;
			NEXT_VALUE();
			in = cli_param_value(val, false, why, sizeof why);
			if (!in || !json_is_object(in)) {
				json_decref(in);
				cli_errorf("%s: --cli-input-json: %s", o->cmd,
					   why[0] ? why : "not a structure");
				return 252;
			}
			/* flags given on the command line win */
			json_object_update_missing(cl->req, in);
			json_decref(in);
			continue;
		}
		if (!strcmp(flag, "--no-wait") &&
		    (o->kind == OP_IMPORT_IMAGE || o->kind == OP_IMPORT_SNAPSHOT ||
		     o->kind == OP_EXPORT_IMAGE)) {
			cl->no_wait = true;
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof ignored / sizeof *ignored; k++)
			if (!strcmp(flag, ignored[k].flag))
				break;
		if (k < sizeof ignored / sizeof *ignored) {
			if (ignored[k].value && !val)
				i++;
			if (!strcmp(flag, "--output") && i < argc &&
			    strcmp(val ? val : argv[i], "json")) {
				cli_errorf("%s: only --output json is supported",
					   o->cmd);
				return 252;
			}
			continue;
		}
		const struct argdef *a;
		for (a = o->args; a->flag; a++)
			if (!strcmp(a->flag, flag))
				break;
		if (!a->flag) {
			cli_errorf("%s: unknown option %s", o->cmd, flag);
			op_usage(stderr, o);
			return 252;
		}
		json_t *v = NULL;
		switch (a->kind) {
		case A_TRUE:
		case A_FALSE:
		case A_VMIE_TRUE:
			v = json_boolean(a->kind != A_FALSE);
			break;
		case A_STR:
		case A_VMIE:
			NEXT_VALUE();
			v = json_string(val);
			if (!v) {
				cli_errorf("%s: %s: the value is not UTF-8",
					   o->cmd, flag);
				return 252;
			}
			break;
		case A_INT:
		case A_VMIE_INT: {
			char *end;
			NEXT_VALUE();
			errno = 0;
			long long n = strtoll(val, &end, 10);
			if (errno || *end || end == val) {
				cli_errorf("%s: %s: '%s' is not an integer",
					   o->cmd, flag, val);
				return 252;
			}
			v = json_integer(n);
			break;
		}
		case A_LIST:
			v = json_array();
			if (val)
				json_array_append_new(v, json_string(val));
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
				json_array_append_new(v, json_string(argv[++i]));
			if (!json_array_size(v)) {
				json_decref(v);
				cli_errorf("%s: %s needs at least one value",
					   o->cmd, flag);
				return 252;
			}
			break;
		case A_STRUCT:
			NEXT_VALUE();
			v = cli_param_value(val, false, why, sizeof why);
			if (!v || !json_is_object(v)) {
				json_decref(v);
				cli_errorf("%s: %s: %s", o->cmd, flag,
					   why[0] ? why : "not a structure");
				return 252;
			}
			break;
		case A_STRUCTS:
			v = json_array();
			for (bool first = true;; first = false) {
				if (!first) {
					if (i + 1 >= argc ||
					    !strncmp(argv[i + 1], "--", 2))
						break;
					val = argv[++i];
				} else {
					NEXT_VALUE();
				}
				json_t *x = cli_param_value(val, true, why,
							    sizeof why);
				if (!x || !json_is_array(x)) {
					json_decref(x);
					json_decref(v);
					cli_errorf("%s: %s: %s", o->cmd, flag,
						   why[0] ? why : "not a list");
					return 252;
				}
				json_array_extend(v, x);
				json_decref(x);
			}
			break;
		}
#undef NEXT_VALUE
		if (a->kind == A_VMIE || a->kind == A_VMIE_TRUE ||
		    a->kind == A_VMIE_INT) {
			json_t *vm = json_object_get(cl->req, "Vmie");
			if (!vm) {
				vm = json_object();
				json_object_set_new(cl->req, "Vmie", vm);
			}
			json_object_set_new(vm, a->member, v);
		} else {
			json_object_set_new(cl->req, a->member, v);
		}
	}
	for (const struct argdef *a = o->args; a->flag; a++)
		if (a->required && !json_object_get(cl->req, a->member)) {
			cli_errorf("%s: the following arguments are required: "
				   "%s", o->cmd, a->flag);
			op_usage(stderr, o);
			return 252;
		}
	/* the structures' numbers and booleans, from shorthand strings */
	const json_t *f;
	size_t j;
	json_array_foreach(json_object_get(cl->req, "Filters"), j, f) {
		json_t *vs = json_object_get(f, "Values");
		if (json_is_string(vs)) {
			json_t *a = json_array();
			json_array_append(a, vs);
			json_object_set_new((json_t *)f, "Values", a);
		}
	}
	return -1;
}

/* ---- the environment ---- */

static int mkdirs(const char *path)
{
	char p[4096];
	vmie_strlcpy(p, path, sizeof p);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0700) && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
}

/* The records: in PostgreSQL with --records URL (or VMIE_RECORDS),
 * else in the SQLite file of the store directory. */
static int records_open(const struct cmdline *cl, const char *store,
			struct vmie_store **out, struct vmie_err *err)
{
	const char *url = cl->records ? cl->records : getenv("VMIE_RECORDS");
	if (!url || !url[0])
		return vmie_store_open_sqlite(store, out, err);
	if (!vmie_store_is_url(url))
		return VMIE_API_ERR(err, VMIE_EINVAL, "InvalidParameterValue",
				    "--records: '%.200s' is not a PostgreSQL "
				    "URL (postgresql://...)", url);
	return vmie_store_open_pg(url, out, err);
}

/* The image store and the buckets: local directories, or S3 when the
 * volumes or the bucket root is an s3:// URL (docs/s3.md). */
static int s3_env_open(const struct cmdline *cl, const char *store,
		       const char *broot, struct vmie_task_env *env,
		       struct vmie_err *err)
{
	const char *vols = cl->volumes ? cl->volumes : getenv("VMIE_VOLUMES");
	const char *ep = cl->s3_endpoint ? cl->s3_endpoint :
			 getenv("VMIE_S3_ENDPOINT");
	int r = vmie_volstore_open_url(store, vols, ep, &env->vols, err);
	if (!r && broot && broot[0])
		r = vmie_buckets_open_url(broot, ep, &env->buckets, err);
	return r;
}

static int env_open(struct vmie_task_env *env, const struct cmdline *cl,
		    struct vmie_err *err)
{
	char def[4096];
	const char *store = cl->store ? cl->store : getenv("VMIE_STORE");
	const char *broot = cl->bucket_root ? cl->bucket_root :
			    getenv("VMIE_BUCKET_ROOT");
	int r;

	if (!store || !store[0]) {
		const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
		if (x && x[0])
			snprintf(def, sizeof def, "%s/vmie", x);
		else
			snprintf(def, sizeof def, "%s/.local/share/vmie",
				 h && h[0] ? h : "/tmp");
		store = def;
	}
	if (mkdirs(store))
		return VMIE_ERR(err, VMIE_EIO, "cannot create the store "
				"directory %s: %s", store, strerror(errno));
	if ((r = records_open(cl, store, &env->store, err)) ||
	    (r = s3_env_open(cl, store, broot, env, err)))
		return r;
	env->allow_local_files = true;
	env->cancel = &cli_interrupted;
	env->kill_at = getenv("VMIE_TEST_KILL_AT");
	const char *tm = getenv("VMIE_TEST_THROTTLE_MS");
	env->throttle_ms = tm ? (unsigned)atoi(tm) : 0;
	const char *th = getenv("VMIE_THREADS");
	env->threads = th ? (unsigned)atoi(th) : 0;
	return 0;
}

static void env_close(struct vmie_task_env *env)
{
	vmie_buckets_close(env->buckets);
	vmie_volstore_close(env->vols);
	vmie_store_close(env->store);
	memset(env, 0, sizeof *env);
}

/* ---- output ---- */

/* Timestamps as the AWS CLI prints them: the store keeps EC2's
 * "2026-12-05T18:29:07.577Z", the CLI shows "...07.577000+00:00". */
static void cli_timestamps(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			cli_timestamps(v);
		return;
	}
	json_object_foreach(j, k, v) {
		const char *s = json_string_value(v);
		size_t n = s ? strlen(s) : 0;
		if (!strcmp(k, "StartTime") && n == 24 && s[23] == 'Z' &&
		    s[19] == '.') {
			char b[40];
			snprintf(b, sizeof b, "%.23s000+00:00", s);
			json_object_set_new(j, k, json_string(b));
		} else if (json_is_object(v) || json_is_array(v)) {
			cli_timestamps(v);
		}
	}
}

static void print_aws_json(json_t *j)
{
	cli_timestamps(j);
	char *t = json_dumps(j, JSON_INDENT(4) | JSON_SORT_KEYS |
			     JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17));
	if (!t) {
		cli_errorf("out of memory");
		return;
	}
	for (const char *p = t; *p; p++) {
		if (*p == 0x7f)
			fputs("\\u007f", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
	free(t);
	fflush(stdout);
}

static int api_error(const struct opdef *o, const struct vmie_err *e)
{
	fprintf(stderr, "\nAn error occurred (%s) when calling the %s "
		"operation: %s\n", e->api[0] ? e->api :
		e->code == VMIE_ENOENT ? "NotFound" : "InternalError", o->op,
		cli_safe(e->msg));
	return 254;
}

struct progress {
	bool tty;
	char last[200];
};

static void on_progress(void *ctx, const json_t *task)
{
	struct progress *p = ctx;
	const json_t *d = json_object_get(task, "SnapshotTaskDetail");
	const json_t *h = d ? d : task;
	const char *msg = json_string_value(json_object_get(h, "StatusMessage"));
	const char *pr = json_string_value(json_object_get(h, "Progress"));
	const char *id = json_string_value(json_object_get(task, "ImportTaskId"));
	char line[200];
	if (!id)
		id = json_string_value(json_object_get(task,
						       "ExportImageTaskId"));
	snprintf(line, sizeof line, "%s: %s%s%s%s", id ? id : "task",
		 msg ? msg : json_string_value(json_object_get(h, "Status")) ?
		 json_string_value(json_object_get(h, "Status")) : "",
		 pr ? " (" : "", pr ? pr : "", pr ? "%)" : "");
	if (!strcmp(line, p->last))
		return;
	vmie_strlcpy(p->last, line, sizeof p->last);
	if (p->tty)
		fprintf(stderr, "\r\033[K%s", cli_safe(line));
}

/* Run a submitted task in the foreground; print its final record. */
static int run_foreground(const struct opdef *o, struct vmie_task_env *env,
			  const char *id)
{
	struct progress pg = { .tty = isatty(2) };
	struct vmie_err err = { 0 };
	json_t *fin = NULL;

	env->progress = on_progress;
	env->progress_ctx = &pg;
	int r = vmie_task_run(env, id, &fin, &err);
	if (pg.tty)
		fprintf(stderr, "\r\033[K");
	if (r)
		return api_error(o, &err);
	print_aws_json(fin);
	int status = 0;
	if (!vmie_task_ended(fin) || strcmp(
		    json_string_value(json_object_get(
			    json_object_get(fin, "SnapshotTaskDetail") ?
			    json_object_get(fin, "SnapshotTaskDetail") : fin,
			    "Status")) ?: "", "completed")) {
		const json_t *h = json_object_get(fin, "SnapshotTaskDetail");
		const char *m = json_string_value(json_object_get(h ? h : fin,
							      "StatusMessage"));
		fprintf(stderr, "vmie: %s: %s\n", id, cli_safe(m ? m :
			"the task did not complete"));
		status = 1;
	}
	json_decref(fin);
	return status;
}

/* --no-wait: a detached worker claims the task before this process
 * prints it and exits, so no moment exists when the active task has no
 * owner. */
static int run_detached(const struct opdef *o, const struct cmdline *cl,
			const char *id)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* the worker: a session of its own, no terminal, a fresh
		 * store connection (SQLite handles do not cross fork) */
		close(pfd[0]);
		setsid();
		if (fork() > 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
		/* no descriptor of the caller's may stay open (the output
		 * filter keeps a copy of stdout: a `$(...)` would wait for
		 * the whole task) */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != pfd[1])
				close(fd);
		struct vmie_task_env env = { 0 };
		struct vmie_err err = { 0 };
		char ok = 0;
		if (!env_open(&env, cl, &err) &&
		    !vmie_task_claim(&env, id, &err))
			ok = 1;
		if (write(pfd[1], &ok, 1) != 1)
			_exit(1);
		close(pfd[1]);
		if (ok)
			vmie_task_run(&env, id, NULL, &err);
		env_close(&env);
		_exit(0);
	}
	close(pfd[1]);
	char ok = 0;
	ssize_t n = read(pfd[0], &ok, 1);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	(void)o;
	return n == 1 && ok ? 0 : -1;
}

/* 0 for a completed task, 1 for one that ended otherwise */
static int task_status_exit(const json_t *t)
{
	const json_t *h = json_object_get(t, "SnapshotTaskDetail");
	const char *st = json_string_value(json_object_get(h ? h : t,
							   "Status"));
	return st && !strcmp(st, "completed") ? 0 :
	       st && !strcmp(st, "active") ? 0 : 1;
}

/* Wait for a task another process runs, then *t is its final record. */
static void wait_ended(struct vmie_task_env *env, const char *id,
		       json_t **t)
{
	int kind = vmie_rec_kind_of_id(id);
	while (kind >= 0 && !vmie_task_ended(*t) && !cli_interrupted) {
		json_t *rec = NULL;
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		vmie_task_recover(env, NULL, NULL);
		if (vmie_store_get(env->store, (enum vmie_rec_kind)kind, id,
				   &rec, NULL))
			break;
		json_decref(*t);
		*t = vmie_rec_public(rec);
		json_decref(rec);
	}
}

static const char *task_id_of(const json_t *t)
{
	const char *id = json_string_value(json_object_get(t, "ImportTaskId"));
	return id ? id : json_string_value(json_object_get(t,
							   "ExportImageTaskId"));
}

static int run_op(const struct opdef *o, struct cmdline *cl)
{
	struct vmie_task_env env = { 0 };
	struct vmie_err err = { 0 };
	json_t *out = NULL;
	int r, status = 0;

	if ((r = env_open(&env, cl, &err))) {
		cli_error(&err);
		env_close(&env);
		return 253;     /* the AWS CLI's configuration error */
	}
	if (cl->aws_dry_run) {
		/* EC2's --dry-run: the caller may make the call (on one
		 * machine, always); nothing is done */
		fprintf(stderr, "\nAn error occurred (DryRunOperation) when "
			"calling the %s operation: Request would have "
			"succeeded, but DryRun flag is set.\n", o->op);
		env_close(&env);
		return 254;
	}
	/* every command first ends the tasks of processes that died */
	vmie_task_recover(&env, NULL, NULL);
	const json_t *req = cl->req;
	switch (o->kind) {
	case OP_IMPORT_IMAGE:
		if (cl->dry_run) {
			r = vmie_import_image_dry_run(&env, req, &out, &err);
			if (!r) {
				print_aws_json(out);
				status = json_is_true(json_object_get(out,
					"WouldPass")) ? 0 : 1;
			}
			break;
		}
		r = vmie_import_image(&env, req, &out, &err);
		goto submitted;
	case OP_IMPORT_SNAPSHOT:
		r = vmie_import_snapshot(&env, req, &out, &err);
		goto submitted;
	case OP_EXPORT_IMAGE:
		r = vmie_export_image(&env, req, &out, &err);
submitted:
		if (r < 0)
			break;
		if (r == 1) {
			/* ClientToken: the task submitted before, as it is
			 * (a running one is waited for in the foreground) */
			r = 0;
			if (!cl->no_wait)
				wait_ended(&env, task_id_of(out), &out);
			print_aws_json(out);
			status = task_status_exit(out);
			break;
		}
		if (cl->no_wait) {
			/* no SQLite connection may cross fork (the child's
			 * would share this one's lock and WAL-index state):
			 * close ours, the worker opens its own */
			env_close(&env);
			if (run_detached(o, cl, task_id_of(out))) {
				cli_errorf("%s: could not start a worker for "
					   "%s; run it with describe later",
					   o->cmd, task_id_of(out));
				status = 255;
			}
			print_aws_json(out);
			break;
		}
		status = run_foreground(o, &env, task_id_of(out));
		break;
	case OP_DESCRIBE:
		r = vmie_describe(&env, o->rec, req, &out, &err);
		if (!r)
			print_aws_json(out);
		break;
	case OP_CANCEL: {
		bool exp = json_object_get(req, "ExportTaskId") != NULL;
		const char *id = json_string_value(json_object_get(req,
			exp ? "ExportTaskId" : "ImportTaskId"));
		int k = vmie_rec_kind_of_id(id);
		if (exp ? k != VMIE_REC_EXPORT_IMAGE :
		    k != VMIE_REC_IMPORT_IMAGE && k != VMIE_REC_IMPORT_SNAPSHOT) {
			r = VMIE_API_ERR(&err, VMIE_EINVAL, exp ?
					 "InvalidExportTaskID.Malformed" :
					 "InvalidConversionTaskId.Malformed",
					 "'%.64s' is not %s task id", id,
					 exp ? "an export" : "an import");
			break;
		}
		r = vmie_task_cancel(&env, id, &out, &err);
		if (!r && json_object_get(req, "ImportTaskId"))
			print_aws_json(out);
		break;
	}
	case OP_DEREGISTER:
		r = vmie_deregister_image(&env, json_string_value(
			json_object_get(req, "ImageId")), &err);
		if (!r) {
			out = json_object();
			json_object_set_new(out, "Return", json_true());
			print_aws_json(out);
		}
		break;
	case OP_DELETE_SNAPSHOT:
		r = vmie_delete_snapshot(&env, json_string_value(
			json_object_get(req, "SnapshotId")), &err);
		break;
	case OP_CREATE_TAGS:
		r = vmie_create_tags(&env, req, &err);
		break;
	case OP_DELETE_TAGS:
		r = vmie_delete_tags(&env, req, &err);
		break;
	case OP_DESCRIBE_TAGS:
		r = vmie_describe_tags(&env, req, &out, &err);
		if (!r)
			print_aws_json(out);
		break;
	case OP_IMAGE_JOURNAL:
		r = vmie_image_journal(&env, json_string_value(
			json_object_get(req, "ImageId")), &out, &err);
		if (!r)
			print_aws_json(out);
		break;
	}
	if (r)
		status = api_error(o, &err);
	json_decref(out);
	env_close(&env);
	return status;
}

int cmd_task(const char *name, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
		if (strcmp(ops[i].cmd, name))
			continue;
		struct cmdline cl = { 0 };
		int r = parse_args(&ops[i], argc, argv, &cl);
		if (r < 0)
			r = run_op(&ops[i], &cl);
		json_decref(cl.req);
		return r;
	}
	return -1;
}
