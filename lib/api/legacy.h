/*
 * The older EC2 VM Import/Export calls (ImportInstance, ImportVolume,
 * DescribeConversionTasks, CancelConversionTask, CreateInstanceExportTask,
 * DescribeExportTasks, CancelExportTask) as views of the tasks of the
 * current pipeline.
 *
 * An ImportInstance runs as an import-image task, an ImportVolume as an
 * import-snapshot task, a CreateInstanceExportTask as an export-image
 * task; the request that made the task carries, in Vmie.Legacy of its
 * recorded request (Vmie.Request.Vmie.Legacy), the action and what the
 * older shapes show and the task does not keep (the disk images as given,
 * the availability zone, the target environment):
 *
 *   { "Action": "ImportInstance" | "ImportVolume" |
 *               "CreateInstanceExportTask",
 *     "DiskImages": [...],            ImportInstance: as requested
 *     "Image": {...}, "Volume": {...} ImportVolume: as requested
 *     "AvailabilityZone": "...",
 *     "TargetEnvironment": "vmware", "ContainerFormat": "ova",
 *     "DiskImageFormat": "VMDK" }     CreateInstanceExportTask
 *
 * Ids: the older ids are the task's ids with the older prefix and the
 * same hex digits, so that either names the task:
 *
 *   import-i-<hex>    <->  import-ami-<hex>   (ConversionTask, ImportInstance)
 *   import-vol-<hex>  <->  import-snap-<hex>  (ConversionTask, ImportVolume)
 *   export-i-<hex>    <->  export-ami-<hex>   (ExportTask)
 *
 * The results are the ConversionTask and ExportTask shapes of botocore's
 * ec2 model.  The "instance" of ImportInstance (InstanceId) and of
 * CreateInstanceExportTask is the registered image, ami-<hex>; the volume
 * of ImportVolume (Volume.Id) the snapshot, snap-<hex>.
 */
#ifndef VMIE_API_LEGACY_H
#define VMIE_API_LEGACY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "task/store.h"

struct vmie_err;

/* The task id (VMIE_ID_MAX bytes) and kind an older id names: 0, or -1
 * when id is not import-i-, import-vol- or export-i- with 8 or 17 hex
 * digits. */
int vmie_legacy_task_id(const char *id, char *task_id,
			enum vmie_rec_kind *kind);
/* The older id of a task id (VMIE_ID_MAX bytes): "" when its kind has
 * none. */
void vmie_legacy_id(enum vmie_rec_kind kind, const char *task_id,
		    char *out);
/* The Vmie.Legacy object of a stored task record, or NULL. */
const json_t *vmie_legacy_of(const json_t *rec);
/* The ConversionTask of an ImportInstance / ImportVolume task record
 * (a new reference; NULL when the record is not one). */
json_t *vmie_legacy_conversion_task(enum vmie_rec_kind kind,
				    const json_t *rec);
/* The ExportTask of a CreateInstanceExportTask record (NULL when it is
 * not one). */
json_t *vmie_legacy_export_task(const json_t *rec);

/* Bucket and key of an S3 URL: s3://BUCKET/KEY, or http(s) in the
 * virtual-hosted form (https://BUCKET.s3[.-]REGION.amazonaws.com/KEY,
 * any host whose first label is followed by ".s3." or ".s3-") or the
 * path form (https://s3[.-]REGION.amazonaws.com/BUCKET/KEY, any host
 * whose first label is "s3" or starts with "s3-" or "s3."); the query
 * string and fragment are ignored (a presigned URL), %XX escapes of the
 * key decoded.  0, or VMIE_EINVAL with InvalidParameterValue naming
 * what (a label for messages, "ImportManifestUrl"). */
int vmie_legacy_s3_url(const char *url, const char *what, char *bucket,
		       size_t bsize, char *key, size_t ksize,
		       struct vmie_err *err);

#endif
