#!/bin/bash
# The boot proof (issue 11, slow suite): a REAL Debian 12 guest as an old
# installer left it (tests/guests/mk-debian12.sh --style old: root=/dev/sda2,
# fstab by device name, a static address on eth0 outside QEMU's user
# network) boots under QEMU TCG
#   (a) the control: on an IDE disk, to a login prompt on the serial console;
#   (b) the negative: NOT on a virtio disk (there is no /dev/sda2: the
#       initramfs gives up and drops to its shell);
# then after `vmie import-image` (a policy of this test's own: Debian 12
# admitted, virtio_blk virtio_net as the target's initramfs drivers) and
# `vmie export-image --disk-image-format RAW`,
#   (c) the exported disk boots on a virtio disk with a virtio NIC to a
#       login prompt, and its SSH port answers "SSH-2.0-" through QEMU's
#       user network (hostfwd to 10.0.2.15:22, which the guest has only if
#       DHCP worked: its old static address was 192.168.50.10).
# Never KVM (-machine accel=tcg).  One QEMU at a time; each boot is given
# VMIE_BOOT_TIMEOUT seconds (default 900); the serial log is printed on a
# failure.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need qemu-system-x86_64 qemu-img debootstrap mke2fs sfdisk
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap)"
TMO=${VMIE_BOOT_TIMEOUT:-900}
QPID=""
trap '[ -z "$QPID" ] || kill "$QPID" 2>/dev/null; rm -rf "$T"' EXIT

rc=0
"$SRCDIR/tests/guests/mk-debian12.sh" "$T/old.raw" --style old || rc=$?
[ $rc = 77 ] && skip "mk-debian12.sh cannot run here"
[ $rc = 0 ] || fail "mk-debian12.sh: exit $rc"
. "$T/old.raw.facts"
echo "guest: Debian $DEB_VERSION, kernel $KVER, root $ROOT_UUID, static $STATIC_ADDR"

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# boot NAME IMAGE DISK-IF NIC-MODEL OK-REGEX BAD-REGEX [PORT]
# Boots IMAGE (copy-on-write: -snapshot) until the serial log matches
# OK-REGEX (-> RESULT=ok) or BAD-REGEX (-> RESULT=bad) or the timeout
# (-> RESULT=timeout) or QEMU ends (-> RESULT=exited).  QEMU is left
# running when RESULT=ok and PORT is given (stop it with qstop).
boot() {
	local name=$1 img=$2 dif=$3 nic=$4 ok=$5 bad=$6 port=${7:-} fwd="" t0 n
	LOG="$T/serial-$name.log"
	[ -z "$port" ] || fwd=",hostfwd=tcp:127.0.0.1:$port-:22"
	: > "$LOG"
	qemu-system-x86_64 -machine pc,accel=tcg -cpu max -m 1024 -smp 1 \
		-display none -monitor none -serial "file:$LOG" -no-reboot -snapshot \
		-drive "file=$img,format=raw,if=$dif" \
		-nic "user,model=$nic$fwd" > "$T/qemu-$name.out" 2>&1 &
	QPID=$!
	t0=$(date +%s)
	RESULT=timeout
	while :; do
		if grep -aqE "$ok" "$LOG"; then RESULT=ok; break; fi
		if [ -n "$bad" ] && grep -aqE "$bad" "$LOG"; then RESULT=bad; break; fi
		kill -0 "$QPID" 2>/dev/null || { RESULT=exited; break; }
		n=$(($(date +%s) - t0))
		[ $n -lt "$TMO" ] || break
		sleep 2
	done
	ELAPSED=$(($(date +%s) - t0))
	echo "boot $name ($dif disk, $nic NIC): $RESULT after ${ELAPSED}s"
	[ "$RESULT" = ok ] && [ -n "$port" ] || qstop
}
qstop() {
	[ -z "$QPID" ] && return 0
	kill "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	QPID=""
}
showlog() {
	echo "---- serial log of $1 (last 60 lines) ----" >&2
	tail -n 60 "$T/serial-$1.log" | tr -d '\r' >&2
	cat "$T/qemu-$1.out" >&2 2>/dev/null || true
}
LOGIN='[[:alnum:].-]+ login: *$'
INITRAMFS='\(initramfs\)|Gave up waiting for root|does not exist\.  *Dropping to a shell'

# ---- (a) the control: IDE ----
boot control-ide "$T/old.raw" ide e1000 "$LOGIN" "$INITRAMFS"
[ "$RESULT" = ok ] || { showlog control-ide; fail "the control does not boot on IDE ($RESULT)"; }
grep -a -m1 -E "$LOGIN" "$LOG" | tr -d '\r' | sed 's/^/  evidence: /'

# ---- (b) the negative: virtio before the import ----
boot before-virtio "$T/old.raw" virtio virtio-net-pci "$LOGIN" "$INITRAMFS"
[ "$RESULT" = bad ] || { showlog before-virtio; fail "the unconverted guest on virtio: $RESULT, expected the initramfs shell"; }
grep -a -m2 -E "$INITRAMFS|ALERT" "$LOG" | tr -d '\r' | sed 's/^/  evidence: /'

# ---- the import and the export ----
POLICY="$T/policy"
sed -e 's/^name aws-current$/name boot-proof/' \
	-e 's/^allow linux_initrd_drivers .*/allow linux_initrd_drivers virtio_blk virtio_net/' \
	-e '/^linux debian  11 /a linux debian  12           kernel 6.1' \
	"$SRCDIR/policies/aws-current" > "$POLICY"
grep -q '^linux debian  12' "$POLICY" || fail "policy: no debian 12 row"
mv "$T/old.raw" "$BK/imports/old.raw"
vt import-image --policy "$POLICY" --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=old.raw}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import: exit $RC"; }
ami=$(jget 'd["ImageId"]')
[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" >&2; fail "import not completed"; }
rm -f "$BK/imports/old.raw"
vt image-journal --image-id "$ami"
cp "$T/out" "$T/journal.json"
"$PY" - "$T/journal.json" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1])).get("Changes", []):
    print("  journal: %s %s %s" % (c["Rule"], c["Path"], c.get("What", "")[:160]))
PY
vt export-image --image-id "$ami" --disk-image-format RAW --s3-export-location S3Bucket=exports
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "export: exit $RC"; }
OUT=$(ls "$BK"/exports/*.raw)
[ -s "$OUT" ] || fail "no exported disk"

# ---- (c) the proof: virtio disk + virtio NIC, login and SSH ----
PORT=$(free_port)
boot after-virtio "$OUT" virtio virtio-net-pci "$LOGIN" "$INITRAMFS" "$PORT"
[ "$RESULT" = ok ] || { showlog after-virtio; fail "the imported guest does not boot on virtio ($RESULT)"; }
grep -a -m1 -E "$LOGIN" "$LOG" | tr -d '\r' | sed 's/^/  evidence: /'
banner=""
for _ in $(seq 1 60); do
	banner=$("$PY" - "$PORT" <<'PY' 2>/dev/null || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print(s.recv(256).decode("ascii", "replace").strip())
PY
)
	case "$banner" in SSH-2.0-*) break ;; esac
	sleep 5
done
qstop
case "$banner" in
SSH-2.0-*) echo "  evidence: port $PORT -> 10.0.2.15:22 answers: $banner" ;;
*) showlog after-virtio; fail "no SSH banner through the user network (DHCP?): '$banner'" ;;
esac
grep -a -E 'eth0|DHCP|dhclient' "$T/serial-after-virtio.log" | tr -d '\r' | head -5 | sed 's/^/  log: /' || true
echo ok
