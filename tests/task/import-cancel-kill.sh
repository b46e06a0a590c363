#!/bin/bash
# Cancel, SIGINT and SIGKILL at every stage (issue 10): an import killed
# at validate, validated, inspect, decide, update, convert (before and in
# the middle of the copy), updating, register and between the records and
# the task's end, and an export killed in the middle of writing its
# object, are ended by the next vmie command on the store: deleted, with
# the stage named, and nothing half-written left (no volume, no image or
# snapshot record, no temporary object).  CancelImportTask in the middle
# of a copy and SIGINT of a foreground import end the task deleted the
# same way.  Two processes importing into one store at once both finish
# and leave it consistent.  VMIE_TEST_KILL_AT and VMIE_TEST_THROTTLE_MS
# are test hooks of lib/task (task.h).
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"

c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
head -c 96M /dev/urandom > "$BK/imports/big.raw"
C7="Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
BIG="Format=RAW,UserBucket={S3Bucket=imports,S3Key=big.raw}"

last_task() { # KIND: the newest task id of a kind
	sqlite3 "$ST/vmie.db" "select id from records where kind='$1' order by seq desc limit 1"
}
# ended_deleted KIND ID PATTERN: after recovery, the task is deleted
ended_deleted() {
	local cmd=describe-$1-tasks ids=--import-task-ids
	[ "$1" = export-image ] && ids=--export-image-task-ids
	vt $cmd $ids "$2"
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "$cmd $2"; }
	local st msg
	st=$(jget 'd[list(d)[0]][0].get("Status") or d[list(d)[0]][0]["SnapshotTaskDetail"]["Status"]')
	msg=$(jget 'd[list(d)[0]][0].get("StatusMessage") or d[list(d)[0]][0].get("SnapshotTaskDetail", {}).get("StatusMessage")')
	[ "$st" = deleted ] || fail "$2: status $st, want deleted"
	echo "$msg" | grep -qE "$3" || fail "$2: message '$msg', want /$3/"
}
# wait_for GLOB: until a file matching it exists (a temporary volume)
wait_for() {
	local i
	for i in $(seq 1 600); do
		compgen -G "$1" >/dev/null && return 0
		sleep 0.05
	done
	fail "nothing matching $1 appeared"
}

# --- SIGKILL at every stage of an import ---
for st in validate validated inspect decide update convert updating register records; do
	RC=0
	VMIE_TEST_KILL_AT=$st "$VMIE" import-image --disk-containers "$C7" \
		--store "$ST" --bucket-root "$BK" > "$T/out" 2> "$T/err" || RC=$?
	[ "$RC" = 137 ] || { cat "$T/err" >&2; fail "kill at $st: exit $RC"; }
	id=$(last_task import-image)
	want=$st; [ $st = records ] && want=register   # a point inside register
	ended_deleted import-image "$id" "interrupted at stage '$want'"
	vt describe-images --filters Name=name,Values="$id"
	[ "$(jget 'len(d["Images"])')" = 0 ] || fail "kill at $st: an image was registered"
	store_clean "kill at $st"
done

# --- SIGKILL in the middle of the copy: a temporary volume to remove ---
VMIE_TEST_THROTTLE_MS=100 "$VMIE" import-snapshot --disk-container "$BIG" \
	--store "$ST" --bucket-root "$BK" > /dev/null 2>&1 &
pid=$!
wait_for "$ST/volumes/.snap-*"
kill -9 $pid
wait $pid 2>/dev/null || true
compgen -G "$ST/volumes/.snap-*" >/dev/null || fail "no temporary volume to recover"
ended_deleted import-snapshot "$(last_task import-snapshot)" "interrupted at stage 'convert'"
store_clean "kill mid-copy"

# --- CancelImportTask in the middle of the copy (a --no-wait worker) ---
VMIE_TEST_THROTTLE_MS=100 vt import-snapshot --no-wait --disk-container "$BIG"
[ "$RC" = 0 ] || fail "--no-wait: exit $RC"
id=$(jget 'd["ImportTaskId"]')
[ "$(jget 'd["SnapshotTaskDetail"]["Status"]')" = active ] || fail "--no-wait: not active"
wait_for "$ST/volumes/.snap-*"
vt cancel-import-task --import-task-id "$id"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "cancel: exit $RC"; }
[ "$(jget 'd["PreviousState"]')" = active ] && [ "$(jget 'd["State"]')" = deleting ] ||
	fail "cancel: $(cat "$T/out")"
for i in $(seq 1 400); do
	vt describe-import-snapshot-tasks --import-task-ids "$id"
	[ "$(jget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["Status"]')" = deleted ] && break
	sleep 0.05
done
ended_deleted import-snapshot "$id" "cancelled \(CancelImportTask\)"
store_clean "cancel"
vt cancel-import-task --import-task-id "$id"
[ "$RC" = 254 ] && grep -q IncorrectState "$T/err" || fail "cancel of an ended task"

# --- SIGINT of a foreground import ---
VMIE_TEST_THROTTLE_MS=100 "$VMIE" import-snapshot --disk-container "$BIG" \
	--store "$ST" --bucket-root "$BK" > "$T/out" 2> "$T/err" &
pid=$!
wait_for "$ST/volumes/.snap-*"
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 1 ] || { cat "$T/err" >&2; fail "SIGINT: exit $rc"; }
ended_deleted import-snapshot "$(last_task import-snapshot)" "interrupted \(vmie was stopped\)"
store_clean "SIGINT"

# --- an export killed while it writes its object ---
vt import-image --disk-containers "$C7" "$BIG"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import of two disks"; }
ami=$(jget 'd["ImageId"]')
VMIE_TEST_THROTTLE_MS=100 "$VMIE" export-image --image-id "$ami" --disk-image-format RAW \
	--s3-export-location S3Bucket=exports,S3Prefix=k/ --store "$ST" --bucket-root "$BK" \
	> /dev/null 2>&1 &
pid=$!
wait_for "$BK/exports/k/.export-ami-*"
kill -9 $pid
wait $pid 2>/dev/null || true
ended_deleted export-image "$(last_task export-image)" "interrupted at stage 'convert'"
[ -z "$(ls -A "$BK/exports/k")" ] || fail "a killed export left $(ls -A "$BK/exports/k")"
store_clean "export killed"

# --- two processes on one store ---
for k in 1 2; do
	"$VMIE" import-image --disk-containers "$C7" --store "$ST" --bucket-root "$BK" \
		> "$T/par$k" 2> "$T/par$k.err" &
done
for k in 1 2 3 4 5; do "$VMIE" describe-import-image-tasks --store "$ST" > /dev/null || fail "describe while importing"; done
wait
for k in 1 2; do
	grep -q '"Status": "completed"' "$T/par$k" || { cat "$T/par$k.err" >&2; fail "parallel import $k"; }
done
[ "$(grep -h ImageId "$T/par1" "$T/par2" | sort -u | wc -l)" = 2 ] || fail "parallel: two images"
store_clean "parallel"
echo ok
