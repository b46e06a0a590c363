#!/bin/bash
# Two `vmie serve` nodes on one PostgreSQL (issue 13): 8 imports
# submitted round-robin through the two nodes all complete, each run
# exactly once (one "taken" per task over both nodes' logs, no second
# attempt), both nodes worked, either node answers for any task, and a
# ClientToken given to node 1 is answered by node 2 with the same task.
# Then PostgreSQL restarts in the middle of a conversion: the task ends
# (completed, or deleted with a message that says why), and both nodes
# keep answering.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"
source "$SRCDIR/tests/pg/pg.sh"
source "$SRCDIR/tests/pg/nodes.sh"
pg_start

c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
head -c 64M /dev/urandom > "$BK/imports/big.raw"
DC="Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
# "records" must be a PostgreSQL URL
write_config '{"records": "/var/lib/vmie"}'
expect_fail '"records" must be a PostgreSQL URL' "$VMIE" serve --config "$T/serve.json"
node_config '{"workers": 2}'
node_start 1
node_start 2

# --- 8 imports, round-robin ---
ids=()
for i in $(seq 0 7); do
	on $((i % 2 + 1))
	awsu admin import-image --disk-containers "$DC" --client-token "t$i"
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-image $i: exit $RC"; }
	ids+=("$(jget 'd["ImportTaskId"]')")
done
# node 2 answers node 1's ClientToken with node 1's task
on 2
awsu admin import-image --disk-containers "$DC" --client-token t0
[ "$(jget 'd["ImportTaskId"]')" = "${ids[0]}" ] || fail "ClientToken across nodes"
for id in "${ids[@]}"; do
	st=$(wait_ended "$id" 240)
	[ "$st" = completed ] || { tail -30 "$T"/node*.log >&2; fail "$id: $st"; }
done
for id in "${ids[@]}"; do
	n=$(cat "$T/node1.log" "$T/node2.log" | grep -c "event=task task_id=$id .*status=taken" || true)
	[ "$n" = 1 ] || fail "$id taken $n times"
	[ "$(task_field "$id" 'd["Vmie"].get("Attempts")')" = 0 ] || fail "$id ran more than once"
done
n1=$(grep -c "status=taken" "$T/node1.log" || true)
n2=$(grep -c "status=taken" "$T/node2.log" || true)
echo "tasks run: node 1 $n1, node 2 $n2"
[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] || fail "one node did all the work ($n1, $n2)"
# any node answers for any task
on 1
awsu admin describe-import-image-tasks --import-task-ids "${ids[@]}"
[ "$(jget 'len([t for t in d["ImportImageTasks"] if t["Status"] == "completed"])')" = 8 ] ||
	fail "node 1 does not describe every task"
[ "$(pg_sql "SELECT count(*) FROM vmie_records WHERE kind = 'import-image'")" = 8 ] ||
	fail "not 8 tasks stored"
[ "$(pg_sql "SELECT count(*) FROM vmie_records WHERE kind = 'image'")" = 8 ] ||
	fail "not 8 images"

# --- PostgreSQL restarts during a conversion ---
node_stop 1
node_stop 2
node_config '{"workers": 1}'
VMIE_TEST_THROTTLE_MS=3000 node_start 1
node_start 2
on 1
snapshot_converting big.raw
sid=$CID
sleep 2
pg_restart
[ "$(pg_sql "SELECT status FROM vmie_records WHERE id = '$sid'")" = active ] ||
	fail "the task ended before PostgreSQL restarted: the test proves nothing"
st=$(wait_ended "$sid" 240)
msg=$(task_field "$sid" 'd["SnapshotTaskDetail"].get("StatusMessage")')
echo "after the restart: $st ($msg)"
case "$st" in
completed) ;;
deleted) echo "$msg" | grep -qiE "postgres|task store|connection" ||
		fail "deleted without saying why: $msg" ;;
*) tail -20 "$T/node1.log" >&2; fail "task not ended after the restart: $st" ;;
esac
for n in 1 2; do
	on $n
	awsu admin describe-import-snapshot-tasks --import-task-ids "$sid"
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "node $n does not answer after the restart"; }
	curl -sf "${NODE_EP[$n]}/healthz" >/dev/null || fail "node $n unhealthy"
done
node_stop 1
node_stop 2
echo "ok: 8 imports on 2 nodes, each once; PostgreSQL restart: $st"
