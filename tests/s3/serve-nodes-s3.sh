#!/bin/bash
# Two `vmie serve` nodes on one PostgreSQL and one Ceph RGW (issue 13).
#   serve-nodes-s3.sh [basic]  the 8 imports, the export and HTTPS (suite
#                              s3, ~3 min with Ceph's start)
#   serve-nodes-s3.sh faults   RGW stopped during a read, a node killed
#                              (suites s3 and slow)
# Both:
# buckets and image store in S3, configured through the server's "s3"
# section (nothing in the nodes' environment).  The AWS CLI puts a VMDK
# and an OVA into RGW; 8 imports submitted round-robin to the two nodes
# all complete, each run exactly once (one "taken" over both logs,
# Attempts 0), either node describes any task, a ClientToken given to
# node 1 is answered by node 2 with the same task; an export into RGW,
# downloaded, equals the volume (qemu-img compare).  Then, both nodes
# converting slowly:
#   - radosgw stopped while an import reads its source: the task ends
#     deleted with a message naming S3 and the endpoint, within a bounded
#     time (the read retries: 0.2 s doubling, 5 retries a request),
#     nothing registered, no volume; both nodes keep answering;
#   - the node running an import SIGKILLed during the volume's multipart
#     upload: the other node puts the task back in the queue at its next
#     recovery pass (an owner on this host is judged by its pid), aborts
#     the dead upload and completes the task (Attempts 1);
#   - HTTPS: radosgw given a certificate (beast ssl_endpoint); a node
#     whose "ca_file" is the CA that signed it imports over https://; a
#     node with another CA, or the system's, does not start: its
#     recovery cannot list the volumes bucket, and it says it is the
#     certificate (not retried: "after 1 attempt").
# A node whose "volumes" bucket does not exist does not start either.
# At the end no multipart upload is left in any bucket.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"
source "$SRCDIR/tests/pg/pg.sh"
source "$SRCDIR/tests/pg/nodes.sh"
source "$SRCDIR/tests/s3/rgw.sh"
need qemu-img openssl
pg_start
rgw_start
t0=$(date +%s)
since() { echo "[$(( $(date +%s) - t0 )) s]"; }
s3t mb imports exports vmie-vols || fail "make buckets"

# s3_config ENDPOINT [CA] [EXTRA]: node.json with the RGW in "s3"
s3_config() {
	local extra=${3:-}
	[ -n "$extra" ] || extra='{}'
	node_config "$("$PY" -c 'import json, sys
s3 = {"endpoint": sys.argv[1], "access_key_id": sys.argv[2],
      "secret_access_key": sys.argv[3], "buckets": True,
      "volumes": "s3://vmie-vols/v"}
if sys.argv[4]:
    s3["ca_file"] = sys.argv[4]
e = {"s3": s3, "workers": 2}
e.update(json.loads(sys.argv[5]))
print(json.dumps(e))' "$1" "$RGW_KEY" "$RGW_SECRET" "${2:-}" "$extra")"
}
# the task's node: N of the node whose pid is in Vmie.Owner
owner_node() {
	local pid n
	pid=$(task_field "$1" 'd["Vmie"].get("Owner") or ""' | cut -d: -f2)
	for n in 1 2; do
		[ -n "$pid" ] && [ "${NODE_PID[$n]}" = "$pid" ] && { echo $n; return; }
	done
	echo 0
}
vols() { s3t ls vmie-vols v/ | wc -l; }
count() { pg_sql "SELECT count(*) FROM vmie_records WHERE kind = '$1'"; }

# --- a VMDK and an OVA put with the AWS CLI ---
img=$(guest amzn2)
"$VMIE" convert -O vmdk,streamOptimized "$img" "$T/g.vmdk" >/dev/null || fail "convert vmdk"
"$VMIE" convert -O ova "$img" "$T/g.ova" >/dev/null || fail "convert ova"
a3 s3 cp --quiet "$T/g.vmdk" s3://imports/g.vmdk || fail "aws s3 cp g.vmdk"
a3 s3 cp --quiet "$T/g.ova" s3://imports/g.ova || fail "aws s3 cp g.ova"
DC_VMDK="Format=VMDK,UserBucket={S3Bucket=imports,S3Key=g.vmdk}"
DC_OVA="Format=OVA,UserBucket={S3Bucket=imports,S3Key=g.ova}"

s3_config "$E"
# a node whose volumes bucket does not exist does not start
(umask 077; sed 's|s3://vmie-vols/v|s3://novols/v|' "$T/node.json" > "$T/novols.json")
expect_fail 'novols' timeout 120 "$VMIE" serve --config "$T/novols.json"

# 8 imports on two nodes, an export (the default suite)
phase_basic() {
	node_start 1
	node_start 2

	# --- 8 imports, round-robin, VMDK and OVA ---
	ids=()
	for i in $(seq 0 7); do
		on $((i % 2 + 1))
		dc=$DC_VMDK; [ $((i / 2 % 2)) = 1 ] && dc=$DC_OVA
		awsu admin import-image --disk-containers "$dc" --client-token "t$i"
		[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-image $i: exit $RC"; }
		ids+=("$(jget 'd["ImportTaskId"]')")
	done
	# node 2 answers node 1's ClientToken with node 1's task
	on 2
	awsu admin import-image --disk-containers "$DC_VMDK" --client-token t0
	[ "$(jget 'd["ImportTaskId"]')" = "${ids[0]}" ] || fail "ClientToken across nodes"
	for id in "${ids[@]}"; do
		st=$(wait_ended "$id" 240)
		[ "$st" = completed ] || { task_field "$id" d >&2; tail -30 "$T"/node*.log >&2; fail "$id: $st"; }
	done
	for id in "${ids[@]}"; do
		n=$(cat "$T/node1.log" "$T/node2.log" | grep -c "event=task task_id=$id .*status=taken" || true)
		[ "$n" = 1 ] || fail "$id taken $n times"
		[ "$(task_field "$id" 'd["Vmie"].get("Attempts")')" = 0 ] || fail "$id ran more than once"
	done
	n1=$(grep -c "status=taken" "$T/node1.log" || true)
	n2=$(grep -c "status=taken" "$T/node2.log" || true)
	echo "8 imports from RGW: node 1 ran $n1, node 2 ran $n2 $(since)"
	[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] || fail "one node did all the work ($n1, $n2)"
	# any node describes any task
	for n in 1 2; do
		on $n
		awsu admin describe-import-image-tasks --import-task-ids "${ids[@]}"
		[ "$(jget 'len([t for t in d["ImportImageTasks"] if t["Status"] == "completed"])')" = 8 ] ||
			fail "node $n does not describe every task completed"
	done
	[ "$(count import-image)" = 8 ] || fail "not 8 tasks stored"
	[ "$(count image)" = 8 ] || fail "not 8 images"
	[ "$(vols)" = 8 ] || { s3t ls vmie-vols v/ >&2; fail "not 8 volumes in S3"; }
	[ -z "$(ls "$ST/volumes" 2>/dev/null)" ] || fail "a volume was written locally"

	# --- an export into RGW, downloaded and compared with the volume ---
	on 2
	ami=$(task_field "${ids[2]}" 'd["ImageId"]')
	snap=$(task_field "${ids[2]}" 'd["SnapshotDetails"][0]["SnapshotId"]')
	awsu admin export-image --image-id "$ami" --disk-image-format VMDK \
		--s3-export-location S3Bucket=exports,S3Prefix=x/
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "export-image: exit $RC"; }
	xid=$(jget 'd["ExportImageTaskId"]')
	st=$(wait_ended "$xid" 240)
	[ "$st" = completed ] || { task_field "$xid" d >&2; fail "export: $st"; }
	s3t get exports "x/$xid.vmdk" "$T/e.vmdk" || fail "no exported object x/$xid.vmdk"
	s3t get vmie-vols "v/$snap.raw" "$T/vol.raw" || fail "no volume v/$snap.raw"
	qemu-img compare -q "$T/vol.raw" "$T/e.vmdk" || fail "the export differs from the volume"
	no_uploads exports "export"
	no_uploads vmie-vols "imports"
	echo "export into RGW from an OVA import, compared: ok $(since)"

	node_stop 1
	node_stop 2
}

# RGW stopped during a read, a node killed during an upload (slow suite)
phase_faults() {
	local snaps0 vols0
	snaps0=$(count snapshot)
	vols0=$(vols)
	# --- radosgw stopped while an import reads its source ---
	s3_config "$E" "" '{"workers": 1}'
	export VMIE_TEST_THROTTLE_MS=1500 VMIE_TEST_S3_PART_MS=1500
	node_start 1
	node_start 2
	unset VMIE_TEST_THROTTLE_MS VMIE_TEST_S3_PART_MS
	# larger than the reader's cache (16 blocks of 4 MiB) and its read-ahead
	head -c 256M /dev/urandom > "$T/big.raw"
	a3 s3 cp --quiet "$T/big.raw" s3://imports/big.raw || fail "aws s3 cp big.raw"
	rm -f "$T/big.raw"
	on 1
	snapshot_converting big.raw
	rid=$CID
	sleep 3
	rgw_kill
	t_stop=$(date +%s)
	[ "$(pg_sql "SELECT status FROM vmie_records WHERE id = '$rid'")" = active ] ||
		fail "the import ended before radosgw stopped: the test proves nothing"
	st=$(wait_ended "$rid" 180)
	t_end=$(date +%s)
	msg=$(task_field "$rid" 'd["SnapshotTaskDetail"].get("StatusMessage")')
	echo "radosgw stopped during a read: $st after $((t_end - t_stop)) s: $msg"
	[ "$st" = deleted ] || { tail -20 "$T"/node*.log >&2; fail "read from a stopped RGW: $st"; }
	case "$msg" in
	*s3:*"${E#http://}"*) ;;
	*) fail "the message does not name S3 and the endpoint $E: $msg" ;;
	esac
	[ $((t_end - t_stop)) -le 120 ] || fail "the task took $((t_end - t_stop)) s to end"
	[ "$(count snapshot)" = "$snaps0" ] || fail "a snapshot was registered by the failed task"
	for n in 1 2; do
		on $n
		awsu admin describe-import-snapshot-tasks --import-task-ids "$rid"
		[ "$RC" = 0 ] || { cat "$T/err" >&2; tail -5 "$T/node$n.log" >&2
				   fail "node $n does not answer while RGW is down"; }
		[ "$(jget 'd["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["Status"]')" = deleted ] ||
			fail "node $n: not deleted"
		curl -sf "${NODE_EP[$n]}/healthz" >/dev/null || fail "node $n unhealthy while RGW is down"
	done
	rgw_restart
	no_uploads vmie-vols "RGW stopped during a read"
	[ "$(vols)" = "$vols0" ] || { s3t ls vmie-vols v/ >&2; fail "a volume was left by the failed import"; }
	echo "RGW stopped during a read: deleted, clear message, nothing left: ok $(since)"

	# --- a node SIGKILLed during the volume's multipart upload ---
	head -c 64M /dev/urandom > "$T/mid.raw"
	s3t put imports mid.raw "$T/mid.raw" || fail "put mid.raw"
	on 2
	awsu admin import-snapshot --disk-container "Format=RAW,UserBucket={S3Bucket=imports,S3Key=mid.raw}"
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-snapshot: exit $RC"; }
	kid=$(jget 'd["ImportTaskId"]')
	for i in $(seq 600); do
		u=$(s3t uploads vmie-vols) || fail "cannot list the uploads"
		[ -n "$u" ] && break
		sleep 0.1
	done
	[ -n "$u" ] || fail "no multipart upload of the volume seen"
	dead=$(owner_node "$kid")
	[ "$dead" != 0 ] || fail "the uploading task has no node's owner"
	other=$((3 - dead))
	node_kill "$dead"
	t_kill=$(date +%s)
	st=$(wait_ended "$kid" 150)
	[ "$st" = completed ] || { tail -30 "$T/node$other.log" >&2; fail "after node $dead was killed: $st"; }
	echo "node $dead killed during the upload; node $other completed the task $(( $(date +%s) - t_kill )) s later"
	[ "$(task_field "$kid" 'd["Vmie"]["Attempts"]')" = 1 ] || fail "attempts after the takeover"
	grep -q "event=task task_id=$kid .*status=taken" "$T/node$other.log" || fail "node $other did not run it"
	s3t get vmie-vols "v/$(task_field "$kid" 'd["SnapshotTaskDetail"]["SnapshotId"]').raw" "$T/k.raw" ||
		fail "no volume of the task taken over"
	cmp -s "$T/mid.raw" "$T/k.raw" || fail "the volume of the task taken over differs from its source"
	# the dead node's upload is aborted by a recovery pass (the takeover's)
	no_uploads vmie-vols "node killed during an upload"
	[ "$(vols)" = $((vols0 + 1)) ] || { s3t ls vmie-vols v/ >&2; fail "not one more volume after the takeover"; }
	node_stop $other
	echo "node killed, task taken over, dead upload aborted: ok $(since)"

}

# HTTPS with a CA (the default suite)
phase_tls() {
	# --- HTTPS with a configured CA ---
	SPORT=$(( ${S3_TEST_PORT:-7489} + 1 ))
	mkdir -p "$T/tls"
	(
		cd "$T/tls"
		for ca in ca other; do
			openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vmie test $ca" \
				-keyout $ca.key -out $ca.crt 2>/dev/null
		done
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout rgw.key \
			-out rgw.csr 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
		openssl x509 -req -in rgw.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile san.ext -out rgw.crt 2>/dev/null
	) || fail "making the certificates"
	rgw_kill
	sed -i "s|^rgw frontends = .*|rgw frontends = beast endpoint=127.0.0.1:${E##*:} ssl_endpoint=127.0.0.1:$SPORT ssl_certificate=$T/tls/rgw.crt ssl_private_key=$T/tls/rgw.key|" \
		"$RGW_DIR/ceph.conf"
	rgw_restart
	HE="https://127.0.0.1:$SPORT"
	curl -sf --cacert "$T/tls/ca.crt" -o /dev/null "$HE/" || fail "radosgw does not answer on $HE"
	s3_config "$HE" "$T/tls/ca.crt" '{"workers": 1}'
	node_start 1
	on 1
	awsu admin import-image --disk-containers "$DC_VMDK"
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-image over HTTPS: exit $RC"; }
	hid=$(jget 'd["ImportTaskId"]')
	st=$(wait_ended "$hid" 120)
	[ "$st" = completed ] || { task_field "$hid" d >&2; fail "import over HTTPS with the CA: $st"; }
	node_stop 1
	echo "import over HTTPS with \"ca_file\": ok $(since)"
	# another CA, then the system's: the node refuses to start (its recovery
	# lists the volumes bucket's uploads), saying why at once (a refused
	# certificate is not retried)
	for ca in "$T/tls/other.crt" ""; do
		s3_config "$HE" "$ca" '{"workers": 1}'
		expect_fail "s3: GET s3://vmie-vols at $HE failed after 1 attempt: SSL certificate problem" \
			timeout 120 "$VMIE" serve --config "$T/node.json"
	done
	echo "HTTPS with another CA, with the system's: refused ($(grep -o "s3: GET.*" "$T/err" | head -1)) $(since)"

}

case ${1:-basic} in
basic) phase_basic; phase_tls ;;
faults) phase_faults ;;
*) fail "usage: serve-nodes-s3.sh [basic|faults]" ;;
esac
for b in imports exports vmie-vols; do no_uploads $b "at the end"; done
echo "ok (${1:-basic}): 2 nodes on PostgreSQL and RGW; total $(since)"
