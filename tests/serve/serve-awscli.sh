#!/bin/bash
# vmie serve with the real AWS CLI (issue 12): import-image of a
# stream-optimized VMDK and of an OVA from a bucket directory, polled with
# describe-import-image-tasks to completed, `aws ec2 wait image-available`;
# export-image back into a bucket (describe-export-image-tasks to
# completed), the exported VMDK equal to the imported volume by qemu-img
# compare, and the source equal to it but for the journaled guest changes;
# import-snapshot with `aws ec2 wait snapshot-imported`; tags; the
# failures an AWS user sees, with the CLI's exit status and message:
# wrong secret, unknown key, wrong region, action not allowed, explicit
# deny, missing bucket and key, unsupported OS, bad format.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"

c7=$(guest centos7)
d12=$(guest debian12)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
"$VMIE" convert -O ova "$c7" "$BK/imports/c7.ova" >/dev/null
"$VMIE" convert -O vmdk,streamOptimized "$d12" "$BK/imports/d12.vmdk" >/dev/null
write_config
start_server

# wait_task ID: describe-import-image-tasks until it has ended
wait_task() {
	local i st
	for i in $(seq 120); do
		awsu admin describe-import-image-tasks --import-task-ids "$1"
		[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "describe $1: exit $RC"; }
		st=$(ajget 'd["ImportImageTasks"][0]["Status"]')
		case $st in completed|deleted) return 0 ;; esac
		sleep 0.5
	done
	fail "$1 did not end"
}

# --- import-image of a VMDK ---
awsu admin import-image --description web01 --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-image: exit $RC"; }
id=$(ajget 'd["ImportTaskId"]')
case $id in import-ami-*) ;; *) fail "import-image: ImportTaskId '$id'" ;; esac
[ "$(ajget 'd["Status"]')" = active ] || fail "import-image: not active"
wait_task "$id"
[ "$(ajget 'd["ImportImageTasks"][0]["Status"]')" = completed ] ||
	{ cat "$T/out" >&2; fail "VMDK import not completed"; }
[ "$(ajget 'd["ImportImageTasks"][0]["Description"]')" = web01 ] || fail "Description lost"
ami=$(ajget 'd["ImportImageTasks"][0]["ImageId"]')
snap=$(ajget 'd["ImportImageTasks"][0]["SnapshotDetails"][0]["SnapshotId"]')
awsu admin wait image-available --image-ids "$ami"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "wait image-available $ami: exit $RC"; }
awsu admin describe-images --image-ids "$ami"
[ "$(ajget 'd["Images"][0]["State"]')" = available ] || fail "describe-images: not available"
[ "$(ajget 'd["Images"][0]["OwnerId"]')" = 123456789012 ] || fail "describe-images: OwnerId"

# --- import-image of an OVA ---
awsu admin import-image --disk-containers \
	"Format=OVA,UserBucket={S3Bucket=imports,S3Key=c7.ova}"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-image OVA: exit $RC"; }
oid=$(ajget 'd["ImportTaskId"]')
wait_task "$oid"
[ "$(ajget 'd["ImportImageTasks"][0]["Status"]')" = completed ] ||
	{ cat "$T/out" >&2; fail "OVA import not completed"; }

# --- export-image back into a bucket ---
awsu admin export-image --image-id "$ami" --disk-image-format VMDK \
	--s3-export-location S3Bucket=exports,S3Prefix=back/
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "export-image: exit $RC"; }
eid=$(ajget 'd["ExportImageTaskId"]')
for i in $(seq 120); do
	awsu admin describe-export-image-tasks --export-image-task-ids "$eid"
	st=$(ajget 'd["ExportImageTasks"][0]["Status"]')
	case $st in completed|deleted) break ;; esac
	sleep 0.5
done
[ "$st" = completed ] || { cat "$T/out" >&2; fail "export not completed"; }
obj="$BK/exports/back/$eid.vmdk"
[ -f "$obj" ] || { find "$BK/exports" >&2; fail "no exported object $obj"; }
vol=$(ls "$ST/volumes/$snap".*)
qemu-img compare -q "$vol" "$obj" || fail "exported VMDK differs from the imported volume"
# the source differs from the image only by the journaled guest changes
"$VMIE" image-journal --image-id "$ami" --store "$ST" > "$T/journal" || fail "image-journal"
n=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Changes"]))' "$T/journal")
if [ "$n" = 0 ]; then
	qemu-img compare -q "$c7" "$obj" || fail "export differs from the source without a change"
else
	! qemu-img compare -q "$c7" "$obj" 2>/dev/null || fail "$n changes journaled, none in the export"
fi

# --- import-snapshot and its waiter ---
awsu admin import-snapshot --description data --disk-container \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-snapshot: exit $RC"; }
sid=$(ajget 'd["ImportTaskId"]')
awsu admin wait snapshot-imported --import-task-ids "$sid"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "wait snapshot-imported: exit $RC"; }
awsu admin describe-import-snapshot-tasks --import-task-ids "$sid"
[ "$(ajget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["Status"]')" = completed ] ||
	fail "import-snapshot not completed"
ssnap=$(ajget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["SnapshotId"]')
awsu admin describe-snapshots --snapshot-ids "$ssnap"
[ "$(ajget 'd["Snapshots"][0]["SnapshotId"]')" = "$ssnap" ] || fail "describe-snapshots"

# --- tags ---
awsu admin create-tags --resources "$ami" "$ssnap" --tags Key=team,Value=blue Key=env,Value=test
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "create-tags: exit $RC"; }
awsu admin describe-tags --filters "Name=resource-id,Values=$ami"
[ "$(ajget 'sorted(t["Key"] for t in d["Tags"] if not t["Key"].startswith("vmie:"))')" = '["env", "team"]' ] ||
	{ cat "$T/out" >&2; fail "describe-tags after create-tags"; }
awsu admin delete-tags --resources "$ami" --tags Key=env
awsu admin describe-images --image-ids "$ami"
[ "$(ajget '[t["Key"] for t in d["Images"][0].get("Tags", []) if not t["Key"].startswith("vmie:")]')" = '["team"]' ] ||
	{ cat "$T/out" >&2; fail "describe-images tags after delete-tags"; }

# --- failures as an AWS user sees them ---
aws_error SignatureDoesNotMatch "AKIAVMIETESTADMIN001 wrongSecretwrongSecretwrongSecret0000000" \
	describe-import-image-tasks
aws_error AuthFailure "AKIAVMIEUNKNOWNKEY01 $SECRET_ADMIN" describe-import-image-tasks
REGION=ap-south-1 aws_error SignatureDoesNotMatch admin describe-import-image-tasks
REGION=eu-central-1 awsu admin describe-images --image-ids "$ami"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "the second configured region refused"; }
aws_error UnauthorizedOperation reader import-image --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
awsu reader describe-import-image-tasks
[ "$RC" = 0 ] || fail "reader may describe"
aws_error UnauthorizedOperation denier import-image --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
awsu denier describe-images --image-ids "$ami"
[ "$RC" = 0 ] || fail "denier may describe (the deny names ImportImage only)"
# S3 permissions of the caller on the source object
aws_error UnauthorizedOperation nos3 import-image --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
grep -q 's3:GetObject on resource: arn:aws:s3:::imports/c7.vmdk' "$T/err" ||
	{ cat "$T/err" >&2; fail "the refusal does not name s3:GetObject on the object"; }
# bad format: a value the API does not know, and a VMDK that is not one
aws_error InvalidParameterValue admin import-image --disk-containers \
	"Format=QCOW2,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
# refused by the task: missing key, missing bucket, unsupported OS,
# a VHD given as VMDK (the ClientError of the task, as on AWS)
refused_task() {
	local pat=$1 spec=$2
	awsu admin import-image --disk-containers "$spec"
	if [ "$RC" != 0 ]; then
		# refused at once: the CLI's service error, with the message
		case "$RC" in 254|255) ;; *) fail "import $spec: exit $RC" ;; esac
		grep -qE "$pat" "$T/err" || { cat "$T/err" >&2; fail "import $spec: /$pat/ not said"; }
		return 0
	fi
	wait_task "$(ajget 'd["ImportTaskId"]')"
	[ "$(ajget 'd["ImportImageTasks"][0]["Status"]')" = deleted ] ||
		{ cat "$T/out" >&2; fail "import $spec: not deleted"; }
	ajget 'd["ImportImageTasks"][0]["StatusMessage"]' | grep -qE "$pat" ||
		{ cat "$T/out" >&2; fail "import $spec: StatusMessage not /$pat/"; }
}
refused_task 'does not exist|no such object|NoSuchKey|not found' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=missing.vmdk}"
refused_task 'bucket|NoSuchBucket' \
	"Format=VMDK,UserBucket={S3Bucket=nobucket,S3Key=c7.vmdk}"
refused_task '^ClientError: Unsupported kernel version 6\.1' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=d12.vmdk}"
"$VMIE" convert -O vhd "$c7" "$BK/imports/c7.vhd" >/dev/null
refused_task 'ClientError: Disk validation failed \[Unsupported VMDK File Format' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vhd}"
# keys that leave the bucket never reach the disk
aws_error InvalidParameterValue admin import-image --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=../imports/c7.vmdk}"

# --- one log line per request, never a secret ---
grep -q 'event=request .*user=admin action=ImportImage code=OK status=200' "$T/srv.log" ||
	fail "no log line of the ImportImage request"
grep -q 'code=SignatureDoesNotMatch' "$T/srv.log" || fail "refusals not logged"
grep -q "event=task task_id=$id .*status=ended outcome=completed" "$T/srv.log" ||
	fail "task transitions not logged"
! grep -q "$SECRET_ADMIN\|$SECRET_OTHER" "$T/srv.log" || fail "a secret in the log"
stop_server
store_clean "after the AWS CLI session"
echo "ok"
