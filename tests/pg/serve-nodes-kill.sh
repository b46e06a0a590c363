#!/bin/bash
# A node dies mid-conversion (issue 13, slow suite: it waits for the
# lease).  Two `vmie serve` nodes with different host names (each in its
# own UTS namespace, as on two machines: an owner on another host is
# judged by its heartbeat only) on one PostgreSQL, the lease shortened
# to 15 s (VMIE_TEST_STALE_SECONDS).  Node 1 converts slowly
# (VMIE_TEST_THROTTLE_MS); while it renews its heartbeat, node 2's
# recovery passes leave its task alone.  SIGKILL node 1: after the lease,
# node 2 puts the task back in the queue (what node 1 wrote removed),
# takes it and completes it: one run on each node, Attempts 1.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"
source "$SRCDIR/tests/pg/pg.sh"
source "$SRCDIR/tests/pg/nodes.sh"
[ "$(id -u)" = 0 ] || skip "needs root for unshare --uts"
need unshare hostname
pg_start
export VMIE_TEST_STALE_SECONDS=15

head -c 64M /dev/urandom > "$BK/imports/big.raw"
node_config '{"workers": 1}'
VMIE_TEST_THROTTLE_MS=15000 node_start 1 unshare --uts sh -c 'hostname vmie-node-1 && exec "$@"' sh
on 1
snapshot_converting big.raw
id=$CID
owner1=$(task_field "$id" 'd["Vmie"]["Owner"]')
case "$owner1" in vmie-node-1:*) ;; *) fail "owner $owner1 is not node 1" ;; esac

node_start 2 unshare --uts sh -c 'hostname vmie-node-2 && exec "$@"' sh
# node 2 recovers at its start and every 30 s: the live lease holds
sleep 35
[ "$(task_field "$id" 'd["Vmie"].get("Owner")')" = "$owner1" ] ||
	{ cat "$T/rec" "$T/node1.log" "$T/node2.log" >&2
	  fail "the task was taken from a live node"; }
[ "$(task_field "$id" 'd["Vmie"]["Attempts"]')" = 0 ] || fail "requeued while alive"

node_kill 1
t_kill=$(date +%s)
for i in $(seq 600); do
	o=$(task_field "$id" 'd["Vmie"].get("Owner")')
	[ "$o" != "$owner1" ] && break
	sleep 0.2
done
t_take=$(date +%s)
[ "$o" != "$owner1" ] || fail "the dead node's task was never taken over"
[ $((t_take - t_kill)) -ge 10 ] || fail "taken over $((t_take - t_kill)) s after the kill: before the lease"
st=$(wait_ended "$id" 240)
[ "$st" = completed ] || { tail -30 "$T/node2.log" >&2; fail "$id: $st after the takeover"; }
[ "$(task_field "$id" 'd["Vmie"]["Attempts"]')" = 1 ] || fail "attempts"
grep -q "event=task task_id=$id .*status=taken" "$T/node1.log" || fail "node 1 never ran it"
grep -q "event=task task_id=$id .*status=taken" "$T/node2.log" || fail "node 2 did not finish it"
n=$(find "$ST/volumes" -name '.*' -type f | wc -l)
[ "$n" = 0 ] || fail "$n temporary volumes left by the dead node"
on 2
awsu admin describe-import-snapshot-tasks --import-task-ids "$id"
[ "$(jget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["Status"]')" = completed ] ||
	fail "node 2 does not describe it completed"
node_stop 2
echo "ok: node 1 killed; node 2 took the task over $((t_take - t_kill)) s later and completed it"
