#!/bin/bash
# SIGTERM drains vmie serve (issue 12): an import-snapshot mid-copy (the
# conversion slowed by VMIE_TEST_THROTTLE_MS) stops, what it wrote is
# removed and it goes back to the queue (active, pending, unowned); the
# server exits 0.  The next start takes it again and completes it.
# /metrics then counts the run, its stage durations and the bytes.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"

head -c 96M /dev/urandom > "$BK/imports/big.raw"
write_config '{"workers": 1}'
# boto TASK-CALL: a boto3 call as admin, JSON of the answer on stdout
boto() {
	"$PYB" - "$EP" "$SECRET_ADMIN" "$@" <<'EOF'
import boto3, json, sys
from botocore.config import Config
ep, secret, call, args = sys.argv[1:5]
c = boto3.client("ec2", endpoint_url=ep, region_name="us-east-1",
                 aws_access_key_id="AKIAVMIETESTADMIN001", aws_secret_access_key=secret,
                 config=Config(retries={"total_max_attempts": 1}))
r = getattr(c, call)(**json.loads(args))
r.pop("ResponseMetadata", None)
print(json.dumps(r, default=str))
EOF
}
rec() {
	sqlite3 "$ST/vmie.db" "select doc from records where id='$1'" > "$T/rec"
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$T/rec" "$2"
}

VMIE_TEST_THROTTLE_MS=300 start_server
boto import_snapshot '{"DiskContainer": {"Format": "RAW", "UserBucket": {"S3Bucket": "imports", "S3Key": "big.raw"}}}' > "$T/out" ||
	fail "import-snapshot"
id=$(jget 'd["ImportTaskId"]')
stage() { sqlite3 "$ST/vmie.db" "select json_extract(doc, '\$.Vmie.Stage') from records where id='$id'"; }
for i in $(seq 300); do
	[ "$(stage)" = convert ] && break
	sleep 0.1
done
[ "$(stage)" = convert ] || { tail "$T/srv.log" >&2; fail "the task did not reach convert"; }
sleep 0.5
stop_server
grep -q "event=signal message=\"SIGTERM: draining\"" "$T/srv.log" || fail "no drain log line"
grep -q "event=task task_id=$id .*outcome=requeued" "$T/srv.log" ||
	{ cat "$T/srv.log" >&2; fail "the running task was not put back in the queue"; }
[ "$(rec "$id" 'd["SnapshotTaskDetail"]["Status"]')" = active ] || fail "requeued task not active"
[ "$(rec "$id" 'd["SnapshotTaskDetail"]["StatusMessage"]')" = pending ] || fail "requeued task not pending"
[ "$(rec "$id" 'd["Vmie"].get("Owner")')" = null ] || fail "requeued task still owned"
n=$(find "$ST/volumes" -name '.*' -type f | wc -l)
[ "$n" = 0 ] || fail "$n temporary volumes left by the drain"

# --- the next start resumes the queue ---
start_server
for i in $(seq 300); do
	boto describe_import_snapshot_tasks "{\"ImportTaskIds\": [\"$id\"]}" > "$T/out"
	st=$(jget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["Status"]')
	case $st in completed|deleted) break ;; esac
	sleep 0.2
done
[ "$st" = completed ] || { cat "$T/out" "$T/srv.log" >&2; fail "the requeued task did not complete after a restart: $st"; }
snap=$(jget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["SnapshotId"]')
cmp "$BK/imports/big.raw" "$(ls "$ST/volumes/$snap".*)" || fail "the resumed import's volume differs"
curl -sf "$EP/metrics" > "$T/metrics" || fail "GET /metrics"
grep -q '^vmie_task_runs_total{outcome="completed"} 1$' "$T/metrics" || { cat "$T/metrics" >&2; fail "metrics: completed run"; }
grep -q '^vmie_tasks{kind="import-snapshot",state="completed"} 1$' "$T/metrics" || fail "metrics: tasks by state"
grep -q '^vmie_task_stage_duration_seconds_count{stage="convert"} 1$' "$T/metrics" || fail "metrics: stage durations"
w=$(sed -n 's/^vmie_task_written_bytes_total //p' "$T/metrics")
[ "$w" -ge $((96 << 20)) ] || fail "metrics: written bytes $w"
stop_server
store_clean "after drain and resume"
echo "ok"
