# Several `vmie serve` nodes on one PostgreSQL (source after
# tests/functions.sh, tests/task/task.sh, tests/serve/serve.sh,
# tests/pg/pg.sh, pg_start).  The nodes share the volumes ($ST) and the
# bucket root ($BK) as local directories; their records are in $PG_URL.
#   node_config EXTRA   $T/node.json: write_config's with "records"
#   node_start N [CMD...]  node N (vmie serve, log $T/nodeN.log; CMD runs
#                   before it, e.g. "unshare --uts ..."); sets NODE_PID[N],
#                   NODE_EP[N]
#   node_kill N     SIGKILL
#   node_stop N     SIGTERM, exit 0
#   on N            EP of node N for awsu
declare -a NODE_PID NODE_EP
node_config() {
	local extra=${1:-'{}'}
	write_config "$("$PY" -c 'import json, sys
e = json.loads(sys.argv[2]); e["records"] = sys.argv[1]
print(json.dumps(e))' "$PG_URL" "$extra")"
	cp "$T/serve.json" "$T/node.json"
}

node_start() {
	local n=$1 i port=""; shift
	: > "$T/node$n.log"
	"$@" "$VMIE" serve --config "$T/node.json" 2>> "$T/node$n.log" &
	NODE_PID[$n]=$!
	for i in $(seq 150); do
		port=$(sed -n 's/.*event=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/node$n.log" | tail -1)
		[ -n "$port" ] && break
		kill -0 "${NODE_PID[$n]}" 2>/dev/null ||
			{ cat "$T/node$n.log" >&2; fail "node $n exited at start"; }
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$T/node$n.log" >&2; fail "node $n did not listen"; }
	NODE_EP[$n]="http://127.0.0.1:$port"
	trap nodes_cleanup EXIT
}

nodes_cleanup() {
	local rc=$? p
	for p in "${NODE_PID[@]}"; do
		[ -z "$p" ] || kill -9 "$p" 2>/dev/null || true
	done
	# a Ceph RGW of tests/s3/rgw.sh goes with the nodes that used it
	if declare -F rgw_stop >/dev/null; then rgw_stop; fi
	pg_stop
	rm -rf "$T"
	exit $rc
}

node_kill() { kill -9 "${NODE_PID[$1]}"; wait "${NODE_PID[$1]}" 2>/dev/null || true; NODE_PID[$1]=""; }

node_stop() {
	local rc=0
	kill -TERM "${NODE_PID[$1]}"
	wait "${NODE_PID[$1]}" || rc=$?
	[ "$rc" = 0 ] || { tail -20 "$T/node$1.log" >&2; fail "node $1 exited $rc after SIGTERM"; }
	grep -qE 'Sanitizer|runtime error' "$T/node$1.log" &&
		{ cat "$T/node$1.log" >&2; fail "sanitizer report from node $1"; }
	NODE_PID[$1]=""
}

on() { EP=${NODE_EP[$1]}; }

# task_field ID EXPR: a value of the task's record in PostgreSQL (Python
# on `d`)
task_field() {
	pg_sql "SELECT doc FROM vmie_records WHERE id = '$1'" > "$T/rec"
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$T/rec" "$2"
}

# snapshot_converting KEY: import-snapshot of bucket object imports/KEY
# (RAW) on the current node, waited for until its conversion runs; the
# task id in CID
snapshot_converting() {
	local i
	awsu admin import-snapshot --disk-container "Format=RAW,UserBucket={S3Bucket=imports,S3Key=$1}"
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-snapshot $1: exit $RC"; }
	CID=$(jget 'd["ImportTaskId"]')
	for i in $(seq 300); do
		[ "$(task_field "$CID" 'd["Vmie"].get("Stage")')" = convert ] && return 0
		sleep 0.1
	done
	fail "import-snapshot $1: not converting after 30 s"
}

# wait_ended ID SECONDS: until the task has ended; prints its status
wait_ended() {
	local i st
	for i in $(seq $(($2 * 5))); do
		st=$(pg_sql "SELECT status FROM vmie_records WHERE id = '$1'")
		case "$st" in completed|deleted) echo "$st"; return 0 ;; esac
		sleep 0.2
	done
	echo "$st"
}
