#!/bin/bash
# Several vmie serve nodes on one PostgreSQL (issue 13): 8 imports run by
# one node with 2 workers, then by two nodes with 1 worker each (the same
# concurrency, on this one machine), each on a fresh database; the two
# figures should match: the shared queue costs nothing measurable.  Then
# the queue's claim latency: BENCH_CLAIMS (default 300) queued tasks
# claimed one after another by queue-tool (vmie_task_take: PostgreSQL's
# SELECT ... FOR UPDATE SKIP LOCKED), against the SQLite store's claim
# (list, then update).  The imports are import-snapshot of a
# BENCH_MULTINODE_MIB (default 256) MiB raw disk of random bytes.
# Benchmarks print, never fail on a target.
# usage: bench/multinode/run.sh [VMIE]
set -eu
VMIE=$(realpath "${1:-build/vmie}")
BUILD=$(dirname "$VMIE")
QTOOL="$BUILD/tests/task/queue-tool"
MIB=${BENCH_MULTINODE_MIB:-256}
CLAIMS=${BENCH_CLAIMS:-300}
PGBIN=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && PGBIN=$d; done
[ -n "$PGBIN" ] || { echo "bench/multinode: no PostgreSQL; skipped"; exit 0; }
command -v curl >/dev/null || { echo "bench/multinode: no curl; skipped"; exit 0; }
PYB=""
for p in "$(command -v python3)" /usr/bin/python3; do
	[ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import botocore' 2>/dev/null && { PYB=$p; break; }
done
[ -n "$PYB" ] || { echo "bench/multinode: no Python with botocore; skipped"; exit 0; }
TMP=$(mktemp -d /tmp/vmie-bench-multinode.XXXXXX)
chmod 755 "$TMP"
PIDS=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	[ -f "$TMP/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/pg" "$TMP/run" "$TMP/bk/imports"
[ "$(id -u)" = 0 ] && chown nobody "$TMP/pg" "$TMP/run"
as_pg "$PGBIN/initdb" -D "$TMP/pg" -U vmie -A trust --no-sync >/dev/null
cat >> "$TMP/pg/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$TMP/run'
max_connections = 100
CONF
as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/run/pg.log" -w start >/dev/null
url() { echo "postgresql:///$1?host=$TMP/run&user=vmie"; }
newdb() { "$PGBIN/psql" -X -q -d "$(url postgres)" -c "CREATE DATABASE $1"; }
head -c "${MIB}M" /dev/urandom > "$TMP/bk/imports/disk.raw"
SECRET=benchSecretbenchSecretbenchSecret0123456
KEY=AKIAVMIEBENCHKEY0001
umask 077

# config DB WORKERS: $TMP/serve-DB.json
config() {
	cat > "$TMP/serve-$1.json" <<JSON
{"listen": "127.0.0.1:0", "store": "$TMP/st-$1", "bucket_root": "$TMP/bk",
 "records": "$(url "$1")",
 "account": "123456789012", "workers": $2, "http_threads": 2,
 "users": [{"name": "bench", "access_keys": [{"id": "$KEY", "secret": "$SECRET"}],
            "policies": [{"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": "*", "Resource": "*"}]}]}],
 "roles": [{"name": "vmimport", "policies": [{"Version": "2012-10-17", "Statement": [
   {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}]}]}]}
JSON
}
# node DB N: start a node (not in a command substitution: the server
# would hold its pipe); its endpoint in EP
node() {
	local log="$TMP/node-$1-$2.log" port="" i
	"$VMIE" serve --config "$TMP/serve-$1.json" > /dev/null 2> "$log" &
	PIDS+=($!)
	for i in $(seq 100); do
		port=$(sed -n 's/.*event=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	EP="http://127.0.0.1:$port"
}
# run EP...: 8 imports submitted round-robin to the endpoints, wait for
# them; prints "seconds completed"
run() {
	"$PYB" - "$KEY" "$SECRET" "$@" <<'PY'
import sys, time, botocore.session
key, secret, eps = sys.argv[1], sys.argv[2], sys.argv[3:]
cs = [botocore.session.get_session().create_client("ec2", endpoint_url=e,
      region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret)
      for e in eps]
t0 = time.time()
ids = [cs[i % len(cs)].import_snapshot(DiskContainer={"Format": "RAW", "UserBucket": {
       "S3Bucket": "imports", "S3Key": "disk.raw"}})["ImportTaskId"] for i in range(8)]
while True:
    ts = cs[0].describe_import_snapshot_tasks(ImportTaskIds=ids)["ImportSnapshotTasks"]
    st = [t["SnapshotTaskDetail"]["Status"] for t in ts]
    if all(s in ("completed", "deleted") for s in st) or time.time() - t0 > 1200:
        break
    time.sleep(0.2)
print("%.1f %d" % (time.time() - t0, st.count("completed")))
PY
}
stop_nodes() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	PIDS=()
}

newdb one; config one 2
node one 1
read -r t1 c1 < <(run "$EP")
stop_nodes
newdb two; config two 1
node two 1; ep1=$EP
node two 2; ep2=$EP
read -r t2 c2 < <(run "$ep1" "$ep2")
stop_nodes
n1=$(grep -c status=taken "$TMP/node-two-1.log" || true)
n2=$(grep -c status=taken "$TMP/node-two-2.log" || true)

echo "vmie serve, 2 nodes on one PostgreSQL: 8 imports of $MIB MiB ($(nproc) cores)"
echo "  1 node x 2 workers:  ${t1} s ($c1 completed)"
echo "  2 nodes x 1 worker:  ${t2} s ($c2 completed; node 1 ran $n1, node 2 ran $n2)"
echo "  ratio 2 nodes / 1 node: $(echo "scale=2; $t2 / $t1" | bc) (target <= 1.00 within noise)"

claims=""
if [ -x "$QTOOL" ]; then
	newdb claims
	for kind in postgres sqlite; do
		rec=""; [ $kind = postgres ] && rec=$(url claims)
		mkdir -p "$TMP/qst-$kind"
		"$PYB" - "$QTOOL" "$TMP/qst-$kind" "$TMP/bk" "$CLAIMS" "$rec" <<'PY'
import os, subprocess, sys
tool, st, bk, n, rec = sys.argv[1:6]
env = dict(os.environ, VMIE_RECORDS=rec)
req = '{"DiskContainer":{"Format":"RAW","UserBucket":{"S3Bucket":"imports","S3Key":"disk.raw"}}}'
# one process per submit (set-up only, not measured)
for i in range(int(n)):
    subprocess.run([tool, st, bk, "submit", "import-snapshot", req], env=env,
                   check=True, stdout=subprocess.DEVNULL)
PY
		c=$(VMIE_RECORDS="$rec" "$QTOOL" "$TMP/qst-$kind" "$TMP/bk" claims)
		claims="$claims
  claim latency, $kind: $c"
	done
fi
[ -z "$claims" ] || echo "${claims#?}"
