# A real S3 server for the tests of tests/s3 (source after
# tests/functions.sh and tests/task/task.sh): a single-node Ceph cluster
# with radosgw on loopback, made by ../shared/tools/ceph-rgw.sh in $T/ceph.
# Its monitor listens on 127.0.0.1:6789: one cluster at a time on a
# machine (run these tests under `flock /tmp/vmie-ceph.lock`).
#   rgw_start [PORT]  start the cluster (3 attempts), sets E (the endpoint),
#                 RGW_PID; the EXIT trap stops it (rgw_cleanup, which also
#                 stops pg.sh's PostgreSQL when one was started)
#   rgw_stop      stop radosgw, the OSD and the monitor, and wait for them
#   rgw_kill      stop radosgw only (SIGTERM, waits): the endpoint refuses
#   rgw_restart   radosgw again (same configuration file, which a test may
#                 have changed), waits until it answers on $E
#   rgwenv CMD    CMD with the RGW user's credentials (nothing exported:
#                 `vmie serve` nodes get theirs from the configuration)
#   a3 ARGS       the AWS CLI on $E as the RGW user
#   s3t ARGS      tests/s3/s3tool.py on $E as the RGW user
#   no_uploads BUCKET WHAT   fails when a multipart upload is in progress
need ceph-mon ceph-osd radosgw radosgw-admin aws curl uuidgen bc
RGW_SH="$SHARED/tools/ceph-rgw.sh"
[ -f "$RGW_SH" ] || skip "no $RGW_SH"
RGW_KEY=AKIDEXAMPLE
RGW_SECRET='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
RGW_DIR="$T/ceph"
RGW_STARTED=""
TOOL="$SRCDIR/tests/s3/s3tool.py"

# stop_pid PIDFILE: SIGTERM, wait up to 20 s, then SIGKILL (a memstore
# OSD takes seconds to write itself out)
rgw_stop_pid() {
	local p
	[ -f "$1" ] || return 0
	p=$(cat "$1")
	[ -n "$p" ] && kill "$p" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.2; done
	kill -9 "$p" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.2; done
}

rgw_stop() {
	local n
	[ -d "$RGW_DIR/run" ] || return 0
	for n in client.rgw.a osd.0 mon.a; do
		rgw_stop_pid "$RGW_DIR/run/$n.pid"
	done
}

rgw_cleanup() {
	local rc=$?
	rgw_stop
	declare -F pg_stop >/dev/null && pg_stop
	rm -rf "$T"
	exit $rc
}

rgw_kill() { rgw_stop_pid "$RGW_DIR/run/client.rgw.a.pid"; }

rgw_restart() {
	CEPH_CONF="$RGW_DIR/ceph.conf" env -u MALLOC_PERTURB_ radosgw -n client.rgw.a
	for _ in $(seq 150); do
		curl -s -o /dev/null "$E/" && return 0
		sleep 0.2
	done
	fail "radosgw did not come back"
}

rgw_start() {
	local port=${1:-${S3_TEST_PORT:-7489}} t0 attempt
	port_busy() { (exec 3<>/dev/tcp/127.0.0.1/6789) 2>/dev/null; }
	for _ in $(seq 60); do port_busy || break; sleep 1; done
	port_busy && skip "another Ceph monitor holds 127.0.0.1:6789 (one cluster at a time)"
	trap rgw_cleanup EXIT
	t0=$(date +%s)
	# meson test sets MALLOC_PERTURB_ (malloc fills new memory with a
	# random byte): some values make the OSD send a garbage fsid ("wrong
	# fsid"), so Ceph runs without it; a failed start is stopped and
	# tried again
	for attempt in 1 2 3; do
		env -u MALLOC_PERTURB_ bash "$RGW_SH" "$RGW_DIR" "$port" > "$T/ceph.log" 2>&1 && break
		rgw_stop
		[ $attempt = 3 ] && { cat "$T/ceph.log" >&2; fail "Ceph RGW did not start (3 attempts)"; }
		sleep 5
	done
	E="http://127.0.0.1:$port"
	echo "ceph + rgw up in $(( $(date +%s) - t0 )) s"
}

rgwenv() {
	env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_REGION \
		-u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 \
		AWS_ACCESS_KEY_ID=$RGW_KEY AWS_SECRET_ACCESS_KEY="$RGW_SECRET" \
		AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		S3_ENDPOINT="$E" "$@"
}
a3() { rgwenv aws --endpoint-url "$E" "$@"; }
s3t() { rgwenv "$PY" "$TOOL" "$@"; }

no_uploads() {
	local u
	u=$(s3t uploads "$1") || fail "$2: cannot list the uploads of $1"
	[ -z "$u" ] || fail "$2: multipart uploads left in $1: $u"
}
