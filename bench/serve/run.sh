#!/bin/bash
# vmie serve under load (issue 12): while 4 imports run on the server's
# workers, 500 concurrent signed DescribeImportImageTasks calls
# (bench/serve/load.py: one thread and one connection per call, signed by
# botocore).  Prints the errors (target 0), p50/p99/max latency, the tasks
# lost (target 0: every import submitted is described and completes), and
# the server's peak RSS (VmHWM) against 256 MiB plus the imports' own:
#  - phase A: the 4 imports alone; the peak is the server with its imports
#  - the peak is reset (/proc/PID/clear_refs 5)
#  - phase B: 4 more imports and, while they run, the 500 calls; the peak
#    of phase B minus the peak of phase A is what the load added.
# The imports are import-snapshot of a BENCH_SERVE_MIB (default 512) MiB
# raw disk of random bytes from a bucket directory (no guest: the load, not
# the pipeline, is measured here; bench/import measures the pipeline).
# Benchmarks print, never fail on a target.
# usage: bench/serve/run.sh [VMIE]
set -eu
VMIE=$(realpath "${1:-build/vmie}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MIB=${BENCH_SERVE_MIB:-512}
CALLS=${BENCH_SERVE_CALLS:-500}
PYB=""
for p in "$(command -v pyenv >/dev/null 2>&1 && pyenv which python3 2>/dev/null)" \
	 "$(command -v python3)" /usr/bin/python3; do
	[ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import botocore' 2>/dev/null && { PYB=$p; break; }
done
[ -n "$PYB" ] || { echo "bench/serve: no Python with botocore; skipped"; exit 0; }
TMP=$(mktemp -d /tmp/vmie-bench-serve.XXXXXX)
PID=""
trap '[ -z "$PID" ] || kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bk/imports"
head -c "${MIB}M" /dev/urandom > "$TMP/bk/imports/disk.raw"
SECRET=benchSecretbenchSecretbenchSecret0123456
KEY=AKIAVMIEBENCHKEY0001
umask 077
cat > "$TMP/serve.json" <<EOF
{"listen": "127.0.0.1:0", "store": "$TMP/st", "bucket_root": "$TMP/bk",
 "account": "123456789012", "workers": 4, "http_threads": 4,
 "limits": {"max_connections": 1024, "queue_length": 64},
 "users": [{"name": "bench", "access_keys": [{"id": "$KEY", "secret": "$SECRET"}],
            "policies": [{"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": "*", "Resource": "*"}]}]}],
 "roles": [{"name": "vmimport", "policies": [{"Version": "2012-10-17", "Statement": [
   {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}]}]}]}
EOF
"$VMIE" serve --config "$TMP/serve.json" 2> "$TMP/srv.log" &
PID=$!
for i in $(seq 100); do
	PORT=$(sed -n 's/.*event=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/srv.log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "$PORT" ] || { cat "$TMP/srv.log"; echo "bench/serve: the server did not start"; exit 1; }
EP="http://127.0.0.1:$PORT"
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
base=$(rss VmRSS)

# submit N imports; print their ids
submit() {
	"$PYB" - "$EP" "$KEY" "$SECRET" "$1" <<'PY'
import sys, botocore.session
ep, key, secret, n = sys.argv[1:5]
c = botocore.session.get_session().create_client("ec2", endpoint_url=ep,
    region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret)
for i in range(int(n)):
    print(c.import_snapshot(DiskContainer={"Format": "RAW", "UserBucket": {
        "S3Bucket": "imports", "S3Key": "disk.raw"}})["ImportTaskId"])
PY
}
# wait for the ids in file $1 to end; print "completed lost"
wait_all() {
	"$PYB" - "$EP" "$KEY" "$SECRET" "$1" <<'PY'
import sys, time, botocore.session
ep, key, secret, f = sys.argv[1:5]
ids = open(f).read().split()
c = botocore.session.get_session().create_client("ec2", endpoint_url=ep,
    region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret)
deadline = time.time() + 600
while True:
    ts = c.describe_import_snapshot_tasks(ImportTaskIds=ids)["ImportSnapshotTasks"]
    st = {t["ImportTaskId"]: t["SnapshotTaskDetail"]["Status"] for t in ts}
    if all(s in ("completed", "deleted") for s in st.values()) or time.time() > deadline:
        break
    time.sleep(0.5)
done = sum(1 for i in ids if st.get(i) == "completed")
print(done, len(ids) - done)
PY
}

t0=$EPOCHREALTIME
submit 4 > "$TMP/a.ids"
read -r a_done a_lost < <(wait_all "$TMP/a.ids")
ta=$(echo "$EPOCHREALTIME - $t0" | bc)
hwm_a=$(rss VmHWM)
echo 5 > "/proc/$PID/clear_refs" 2>/dev/null || true

load=$("$PYB" "$SRC/bench/serve/load.py" "$EP" "$KEY" "$SECRET" "$CALLS" 4 "$TMP/b.ids")
read -r b_done b_lost < <(wait_all "$TMP/b.ids")
hwm_b=$(rss VmHWM)
kill -TERM $PID
wait $PID || true
PID=""
lost=$((a_lost + b_lost))
echo "vmie serve: $CALLS concurrent signed DescribeImportImageTasks while 4 imports of $MIB MiB run ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo "  $load"
echo "  imports completed: $((a_done + b_done)) of 8; tasks lost: $lost (target 0)"
echo "  phase A (4 imports alone, ${ta%.*} s): peak RSS $((hwm_a / 1024)) MiB (server at rest: $((base / 1024)) MiB)"
echo "  phase B (4 imports + the calls): peak RSS $((hwm_b / 1024)) MiB; the load added $(((hwm_b - hwm_a) / 1024)) MiB"
echo "  target: peak RSS < 256 MiB + the imports' own ($((256 + (hwm_a - base) / 1024)) MiB here): $([ $((hwm_b / 1024)) -lt $((256 + (hwm_a - base) / 1024)) ] && echo met || echo MISSED)"
