/*
 * The import/export pipeline and the calls of the EC2 VM Import/Export
 * API, as a library: the CLI (`vmie import-image ...`) and the server
 * (`vmie serve`) only turn their input into a request and print the
 * result.
 *
 * Requests and results are JSON objects in the shapes of botocore's ec2
 * service model: a request is the operation's input shape (ImportImage:
 * DiskContainers, BootMode, LicenseType, ClientToken...), a result its
 * output shape (ImportImageResult...).  Records in the task store
 * (store.h) are the shapes describe calls return, so describing is
 * listing.  vmie's own request members sit in a "Vmie" object of the
 * request: "Policy" (a policy name or file, as `vmie check --policy`),
 * "DryRun" (import-image: stop after decide, store nothing),
 * "BootCheck" and "BootCheckTimeout" (import-image: the boot check).
 *
 * Import: vmie_import_image() checks the request and stores a task
 * (Status active, StatusMessage pending) and returns it; vmie_task_run()
 * runs it, in this process, through the stages of DESIGN.md:
 *
 *   validate   open every disk (buckets or local files), formats (FMT,
 *              DSK rules), table walk of each image
 *   inspect    partitions, file systems, OS (lib/inspect)
 *   decide     the rules (lib/rules) with the request's options: boot
 *              mode, license, usage operation; a FAIL ends the task here,
 *              before any volume is written, with the rule's ClientError
 *              message, its id and evidence
 *   update     guest changes into a copy-on-write overlay over each disk
 *              (the source is never written; the changes come in the next
 *              issue: the stage runs and records an empty journal)
 *   convert    each disk + overlay into a new volume of the image store,
 *              written under a temporary name
 *   bootcheck  (Vmie.BootCheck, import-image --boot-check) the new volumes
 *              booted under QEMU until a login prompt shows on the serial
 *              console (bootcheck.h); no prompt fails the task; the serial
 *              log is kept with the store, its path in Vmie.BootCheck.Log
 *   register   volumes published, snapshot and image records written, the
 *              task completed with ImageId and SnapshotDetails
 *
 * StatusMessage follows AWS: pending, validating, validated, converting,
 * updating, booting (the boot check), preparing ami, completed; a
 * failure goes deleting -> deleted with "ClientError: ..." and, after it,
 * vmie's rule id and evidence.
 * Progress moves during the conversion.
 *
 * A running task has an owner (host, pid and the process's start time, in
 * Vmie.Owner) and a heartbeat.  Cancelling (vmie_task_cancel) marks the
 * task; its owner sees the mark within about a second, stops, removes what
 * it wrote and ends the task deleted.  A task whose owner is gone (killed)
 * is ended by vmie_task_recover(), which every command calls first: its
 * temporary volumes are removed and it ends deleted with a message that
 * says at which stage it was interrupted.  Nothing half-written is ever
 * registered: the image record appears only with every volume published.
 *
 * Errors of a request (a malformed id, a missing parameter, an image that
 * does not exist) are returned at once with an EC2 error code in err->api
 * (InvalidParameterValue, MissingParameter, InvalidAMIID.NotFound...);
 * failures of the work end the task (deleted) and are in its record.
 */
#ifndef VMIE_TASK_TASK_H
#define VMIE_TASK_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "io/bucket.h"
#include "task/store.h"
#include "task/volstore.h"

struct vmie_err;

struct vmie_task_env {
	struct vmie_store *store;
	struct vmie_volstore *vols;
	struct vmie_buckets *buckets;   /* NULL: no buckets configured */
	/* Disk containers may name local files ("Url": "file:///path" or a
	 * plain path): the CLI allows it (the user's own files), a server
	 * does not. */
	bool allow_local_files;
	const char *owner_id;           /* account of images ("OwnerId") */
	unsigned threads;               /* 0 = CPU count */
	/* A stop request from this process (SIGINT), besides the task's
	 * cancel mark in the store. */
	volatile int *cancel;
	/* Called from vmie_task_run on every change of the task's status,
	 * message or progress, with the task's public record. */
	void (*progress)(void *ctx, const json_t *task);
	void *progress_ctx;
	/* Tests: stop (SIGKILL ourselves) when the task reaches this stage
	 * name ("validate", "inspect", ..., "register"), so that recovery
	 * can be tested at every stage.  From VMIE_TEST_KILL_AT. */
	const char *kill_at;
	/* Tests: sleep this many milliseconds at every progress step of a
	 * conversion, so that a cancel or a kill lands mid-copy.  From
	 * VMIE_TEST_THROTTLE_MS. */
	unsigned throttle_ms;
	/* A server's queue (vmie serve): tasks submitted with this env are
	 * stored queued (Vmie.Queued) and unowned, for whichever worker
	 * takes them (vmie_task_take); recovery never abandons a queued
	 * task that no one has taken, and a queued task whose owner died is
	 * put back in the queue (up to VMIE_TASK_MAX_ATTEMPTS runs) instead
	 * of ending deleted. */
	bool queue;
	/* Set (by a signal handler, a draining server) to stop the running
	 * task and leave it resumable: what it wrote is removed and a queued
	 * task goes back to the queue (pending, unowned); a task that is not
	 * queued ends deleted as on a cancel. */
	volatile int *suspend;
};

/* Runs of one queued task before recovery gives up on it (a task that
 * kills its worker every time ends deleted). */
#define VMIE_TASK_MAX_ATTEMPTS 3

/* Submit: check the request, store the task, return its public record
 * (the operation's result shape) in *out.  0 for a new task; 1 when its
 * ClientToken names a task submitted before (*out is that task, which
 * may be running or ended: it is not to be run again). */
int vmie_import_image(struct vmie_task_env *env, const json_t *req,
		      json_t **out, struct vmie_err *err);
int vmie_import_snapshot(struct vmie_task_env *env, const json_t *req,
			 json_t **out, struct vmie_err *err);
int vmie_export_image(struct vmie_task_env *env, const json_t *req,
		      json_t **out, struct vmie_err *err);

/* import-image --dry-run: validate, inspect, decide and make the guest
 * changes in throwaway overlays, storing nothing; *out = { "DryRun":
 * true, "WouldPass": bool, "StatusMessage" (when it would fail),
 * "Decisions", "Report" (the check's JSON), "Changes", "ChangeNotes",
 * "Diff" (a unified diff of every changed file) }. */
int vmie_import_image_dry_run(struct vmie_task_env *env, const json_t *req,
			      json_t **out, struct vmie_err *err);

/* Run a stored task to its end in this process (claiming it: VMIE_EEXIST
 * when a live process owns it).  0 when the task ran to an end, completed
 * or deleted: *final (may be NULL) receives its public record. */
int vmie_task_run(struct vmie_task_env *env, const char *task_id,
		  json_t **final, struct vmie_err *err);

/* Claim a task for the calling process without running it (a detached
 * worker claims before its parent returns, so that no moment exists when
 * an active task has no owner). */
int vmie_task_claim(struct vmie_task_env *env, const char *task_id,
		    struct vmie_err *err);

/* A server's worker: claim the oldest queued, unowned task of any kind
 * (an atomic update: of several threads or nodes, one gets it).  0 and
 * its id (VMIE_ID_MAX bytes) in id, VMIE_ENOENT when the queue is empty.
 * Then vmie_task_run() runs it. */
int vmie_task_take(struct vmie_task_env *env, char *id,
		   struct vmie_err *err);

/* How many tasks wait in the queue (queued, unowned, not cancelled),
 * whichever process or node submitted them. */
int vmie_task_queued(struct vmie_task_env *env, unsigned *count,
		     struct vmie_err *err);

/* CancelImportTask / CancelExportTask: *out = { "ImportTaskId" or
 * "ExportTaskId", "PreviousState", "State" }. */
int vmie_task_cancel(struct vmie_task_env *env, const char *task_id,
		     json_t **out, struct vmie_err *err);

/* End the tasks whose owner is gone; sweep stray temporary volumes.
 * *ended (may be NULL) counts the tasks ended. */
int vmie_task_recover(struct vmie_task_env *env, unsigned *ended,
		      struct vmie_err *err);

/* Describe calls: req is the input shape, *out the output shape.
 * kind: VMIE_REC_IMPORT_IMAGE (DescribeImportImageTasks),
 * VMIE_REC_IMPORT_SNAPSHOT, VMIE_REC_EXPORT_IMAGE, VMIE_REC_IMAGE
 * (DescribeImages), VMIE_REC_SNAPSHOT (DescribeSnapshots). */
int vmie_describe(struct vmie_task_env *env, enum vmie_rec_kind kind,
		  const json_t *req, json_t **out, struct vmie_err *err);
/* DeregisterImage (the snapshots stay, as on AWS), DeleteSnapshot
 * (refused while an image uses it: InvalidSnapshot.InUse). */
int vmie_deregister_image(struct vmie_task_env *env, const char *image_id,
			  struct vmie_err *err);
int vmie_delete_snapshot(struct vmie_task_env *env, const char *snap_id,
			 struct vmie_err *err);
/* CreateTags / DeleteTags ({ "Resources": [...], "Tags": [...] }),
 * DescribeTags ({ "Filters": [...] } -> { "Tags": [...] }). */
int vmie_create_tags(struct vmie_task_env *env, const json_t *req,
		     struct vmie_err *err);
int vmie_delete_tags(struct vmie_task_env *env, const json_t *req,
		     struct vmie_err *err);
int vmie_describe_tags(struct vmie_task_env *env, const json_t *req,
		       json_t **out, struct vmie_err *err);

/* The change journal of an image (the guest changes its import made):
 * { "ImageId", "ImportTaskId", "Changes": [ { "Device", "Path", "Rule",
 * "What", "KeptAs", "Sha256Before", "Sha256After" } ] }. */
int vmie_image_journal(struct vmie_task_env *env, const char *image_id,
		       json_t **out, struct vmie_err *err);

/* True when the task record has ended (completed or deleted). */
bool vmie_task_ended(const json_t *task);
/* Whether the owner string (Vmie.Owner) names a live process on this
 * host (false for another host: its heartbeat decides). */
bool vmie_task_owner_alive(const char *owner);
/* Whether the owner string names this host. */
bool vmie_task_owner_local(const char *owner);
/* This process as an owner string. */
void vmie_task_self_owner(char *out, size_t size);

#endif
