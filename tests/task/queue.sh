#!/bin/bash
# The server's queue in lib/task (issue 12: vmie serve's workers): tasks
# submitted queued wait unowned and are not abandoned by recovery; of
# several threads taking at once exactly one gets a task; a run stopped
# by the suspend flag (a draining server) removes what it wrote and goes
# back to the queue as submitted (its tags kept), then completes when
# taken again; a worker killed mid-task leaves the task requeued by the
# next recovery, and after VMIE_TASK_MAX_ATTEMPTS (3) deaths it ends
# deleted; a queued export runs the same way.  queue-tool (queue_tool.c)
# drives the calls the server makes.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
Q() { "$QUEUE_TOOL" "$ST" "$BK" "$@"; }
# rec ID EXPR: a value of the task's stored record (Python on `d`)
rec() {
	sqlite3 "$ST/vmie.db" "select doc from records where id='$1'" > "$T/rec"
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$T/rec" "$2"
}

c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
head -c 96M /dev/urandom > "$BK/imports/big.raw"
C7='{"DiskContainers":[{"Format":"VMDK","UserBucket":{"S3Bucket":"imports","S3Key":"c7.vmdk"}}],
 "TagSpecifications":[{"ResourceType":"import-image-task","Tags":[{"Key":"k","Value":"v"}]}]}'
BIG='{"DiskContainer":{"Format":"RAW","UserBucket":{"S3Bucket":"imports","S3Key":"big.raw"}}}'

# --- a queued task waits; recovery leaves it alone even when old ---
id=$(Q submit import-image "$C7") || fail "submit"
[ "$(rec "$id" 'd["Vmie"]["Queued"]')" = true ] || fail "not marked queued"
[ "$(rec "$id" 'd["Vmie"].get("Owner")')" = null ] || fail "a queued task has an owner"
[ "$(Q count)" = 1 ] || fail "queue count: $(Q count), want 1"
sqlite3 "$ST/vmie.db" "update records set doc=json_set(doc,'$.Vmie.Created',1000.0) where id='$id'"
[ "$(Q recover)" = 0 ] || fail "recovery ended a queued task"
vt describe-import-image-tasks --import-task-ids "$id"
[ "$(jget 'd["ImportImageTasks"][0]["Status"]')" = active ] || fail "queued task not active after a CLI command"

# --- four threads take at once: one wins ---
[ "$(Q race 4)" = 1 ] || fail "not exactly one of four racers took the task"
# the winner (that process) is gone: recovery puts the task back
[ "$(Q recover)" = 1 ] || fail "recovery did not requeue the dead worker's task"
[ "$(rec "$id" 'd["Vmie"].get("Owner")')" = null ] || fail "requeued task still owned"
[ "$(rec "$id" 'd["Vmie"]["Attempts"]')" = 1 ] || fail "attempts not counted"
[ "$(rec "$id" 'd["StatusMessage"]')" = pending ] || fail "requeued task not pending"

# --- the queue runs it to the end ---
out=$(Q work) || fail "work: $out"
echo "$out" | grep -q "^$id ended" || fail "work: $out"
vt describe-import-image-tasks --import-task-ids "$id"
[ "$(jget 'd["ImportImageTasks"][0]["Status"]')" = completed ] || { cat "$T/out"; fail "queued import not completed"; }
[ "$(jget 'd["ImportImageTasks"][0]["Tags"][0]["Key"]')" = k ] || fail "tags lost"
ami=$(jget 'd["ImportImageTasks"][0]["ImageId"]')
[ "$(Q take)" = empty ] || fail "queue not empty"
[ "$(Q count)" = 0 ] || fail "queue count: $(Q count), want 0"
store_clean "after the queued import"

# --- suspend mid-copy: back in the queue, nothing left, then completes ---
sid=$(Q submit import-snapshot "$BIG") || fail "submit snapshot"
RC=0; VMIE_TEST_THROTTLE_MS=100 Q work "$ST/volumes/.snap-*" > "$T/w" 2>&1 || RC=$?
grep -q "^$sid stopped" "$T/w" || { cat "$T/w"; fail "suspend did not stop the run"; }
[ "$(rec "$sid" 'd["SnapshotTaskDetail"]["Status"]')" = active ] || fail "suspended task not active"
[ "$(rec "$sid" 'd["SnapshotTaskDetail"]["StatusMessage"]')" = pending ] || fail "suspended task not pending"
[ "$(rec "$sid" 'd["Vmie"].get("Owner")')" = null ] || fail "suspended task still owned"
[ "$(rec "$sid" 'd["SnapshotTaskDetail"].get("SnapshotId")')" = null ] || fail "suspended task kept a result"
n=$(find "$ST/volumes" -name '.*' -type f | wc -l)
[ "$n" = 0 ] || fail "suspend left $n temporary volumes"
out=$(Q work) || fail "work after suspend"
echo "$out" | grep -q "^$sid ended" || fail "resumed snapshot: $out"
[ "$(rec "$sid" 'd["SnapshotTaskDetail"]["Status"]')" = completed ] || fail "resumed snapshot not completed"
store_clean "after suspend and resume"

# --- a worker killed three times: requeued twice, then given up ---
kid=$(Q submit import-snapshot "$BIG")
for i in 1 2 3; do
	RC=0; VMIE_TEST_KILL_AT=convert Q work > /dev/null 2>&1 || RC=$?
	[ "$RC" = 137 ] || fail "kill $i: exit $RC"
	Q recover > /dev/null
done
[ "$(rec "$kid" 'd["SnapshotTaskDetail"]["Status"]')" = deleted ] || fail "killed 3 times and not deleted"
rec "$kid" 'd["SnapshotTaskDetail"]["StatusMessage"]' | grep -q "interrupted 3 times" ||
	fail "message: $(rec "$kid" 'd["SnapshotTaskDetail"]["StatusMessage"]')"
store_clean "after three deaths"

# --- a queued export ---
xid=$(Q submit export-image "{\"ImageId\":\"$ami\",\"DiskImageFormat\":\"VMDK\",
  \"S3ExportLocation\":{\"S3Bucket\":\"exports\",\"S3Prefix\":\"q/\"}}") || fail "submit export"
out=$(Q work) || fail "work export"
echo "$out" | grep -q "^$xid ended" || fail "export: $out"
[ -s "$BK/exports/q/$xid.vmdk" ] || { ls -R "$BK/exports"; fail "no exported object"; }
qemu-img info "$BK/exports/q/$xid.vmdk" | grep -q "file format: vmdk" || fail "export is not a VMDK"
store_clean "after the queued export"
