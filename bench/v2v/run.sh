#!/bin/bash
# vmie against virt-v2v (issue 11): a full import of a REAL Debian 12 guest
# from a stream-optimized VMDK, guest changes included, against
# `virt-v2v -i disk IN.vmdk -o local -os DIR` of the same file.
#  - The guest: tests/guests/mk-debian12.sh --style old --size 4G --fill
#    BENCH_V2V_FILL (MiB of random data, default 2304: with the system about
#    3.1 GiB of real data, ~450 MiB free on /: virt-v2v needs room), cached; converted once per run to a
#    stream-optimized VMDK with qemu-img (not timed).
#  - vmie: `vmie import-image --policy P` (P: aws-current with a Debian 12
#    row and virtio_blk virtio_net as the target's initramfs drivers; the
#    guest's initramfs already has them, so nothing is rebuilt) into a
#    fresh store; its stages from Vmie.StageTimes of the task record.
#  - virt-v2v: LIBGUESTFS_BACKEND=direct (no libvirt here) and
#    LIBGUESTFS_BACKEND_SETTINGS=force_tcg (KVM aborts on this host; -i disk
#    needs nbdkit), output
#    raw; its appliance is made once by supermin before the timed run
#    (virt-v2v --version does not; a `guestfish -a /dev/null run` does).
#  - Wall time (bash EPOCHREALTIME), CPU time and peak RSS (/usr/bin/time:
#    the largest single process of the tree; for virt-v2v that is usually
#    the appliance's QEMU).  One run each (virt-v2v takes minutes here).
# Prints, never fails on a target (vmie >= 20x faster, peak RSS < 256 MiB);
# exit 0 with "skipped" when virt-v2v, QEMU or root is missing.
# usage: bench/v2v/run.sh [VMIE]
set -eu
VMIE=$(realpath "${1:-build/vmie}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
for c in virt-v2v qemu-img qemu-system-x86_64 sqlite3 /usr/bin/time; do
	command -v "$c" > /dev/null || { echo "bench/v2v: skipped (no $c)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "bench/v2v: skipped (needs root for the guest builder)"; exit 0; }
TMP=$(mktemp -d /var/tmp/vmie-bench-v2v.XXXXXX)   # room for 3 x 4 GiB
trap 'rm -rf "$TMP"' EXIT
FILL=${BENCH_V2V_FILL:-2304}
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

rc=0
"$SRC/tests/guests/mk-debian12.sh" "$TMP/guest.raw" --style old --size 4G --fill "$FILL" || rc=$?
[ $rc = 0 ] || { echo "bench/v2v: skipped (mk-debian12.sh: exit $rc)"; exit 0; }
. "$TMP/guest.raw.facts"
BK="$TMP/buckets"
mkdir -p "$BK/imports"
VMDK="$BK/imports/guest.vmdk"
qemu-img convert -O vmdk -o subformat=streamOptimized "$TMP/guest.raw" "$VMDK"
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
echo "guest: Debian $DEB_VERSION ($KVER), style $STYLE, $(mib "$(stat -c %s "$TMP/guest.raw")") MiB virtual," \
	"$(mib "$(($(stat -c %b "$TMP/guest.raw") * 512))") MiB allocated;" \
	"source: stream-optimized VMDK of $(mib "$(stat -c %s "$VMDK")") MiB"
rm -f "$TMP/guest.raw"

POLICY="$TMP/policy"
sed -e 's/^name aws-current$/name bench-v2v/' \
	-e 's/^allow linux_initrd_drivers .*/allow linux_initrd_drivers virtio_blk virtio_net/' \
	-e '/^linux debian  11 /a linux debian  12           kernel 6.1' \
	"$SRC/policies/aws-current" > "$POLICY"

# timed LABEL CMD...: appends "wall cpu kib" to $TMP/LABEL.run
timed() {
	local label=$1 t0 t1 rc=0; shift
	cat "$VMDK" > /dev/null
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M %U %S' -o "$TMP/$label.time" "$@" > "$TMP/$label.out" 2> "$TMP/$label.err" || rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" -ne 0 ]; then
		# the time until it failed is still a figure (a lower bound of
		# what it would have taken); its logs are kept for a look
		awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f\n", t1 - t0 }' \
			> "$TMP/$label.failed"
		KEEP=${BENCH_V2V_KEEP:-/var/tmp/vmie-bench-v2v-last}
		mkdir -p "$KEEP" && cp "$TMP/$label.out" "$TMP/$label.err" "$KEEP/" 2>/dev/null
		tail -30 "$TMP/$label.out" "$TMP/$label.err" >&2
		echo "$label FAILED (exit $rc) after $(cat "$TMP/$label.failed") s: $*" >&2
		echo "(its output is kept in $KEEP)" >&2
		return 1
	fi
	awk -v t0="$t0" -v t1="$t1" '{ printf "%.3f %.2f %d\n", t1 - t0, $2 + $3, $1 }' \
		"$TMP/$label.time" > "$TMP/$label.run"
}

# --- vmie ---
ST="$TMP/store"
timed vmie "$VMIE" import-image --store "$ST" --bucket-root "$BK" --policy "$POLICY" \
	--disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=guest.vmdk}" ||
	{ cat "$TMP/vmie.out" >&2; exit 1; }
"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
sys.exit(d.get("Status") != "completed")' "$TMP/vmie.out" ||
	{ cat "$TMP/vmie.out" >&2; echo "the import did not complete" >&2; exit 1; }
sqlite3 "$ST/vmie.db" "select doc from records where kind='import-image'" > "$TMP/task.json"
AMI=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ImageId"])' "$TMP/vmie.out")
"$VMIE" image-journal --store "$ST" --image-id "$AMI" > "$TMP/journal.json" 2>/dev/null || true
rm -rf "$ST/volumes"   # disk room for virt-v2v's output

# --- virt-v2v ---
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
echo "building the libguestfs appliance (once, not timed)..." >&2
guestfish -a /dev/null run > "$TMP/appliance.log" 2>&1 ||
	{ tail -20 "$TMP/appliance.log" >&2; echo "bench/v2v: the libguestfs appliance does not start" >&2; }
V2V_OK=yes
mkdir -p "$TMP/v2v"
timed v2v virt-v2v -i disk "$VMDK" -o local -os "$TMP/v2v" -of raw || V2V_OK=no

# --- figures ---
echo
printf '%-40s %9s %9s %9s\n' "job (1 run)" "wall s" "cpu s" "peak MiB"
row() {
	local w c k
	[ -s "$TMP/$2.run" ] || { printf '%-40s %9s\n' "$1" failed; return; }
	read -r w c k < "$TMP/$2.run"
	printf '%-40s %9.2f %9.2f %9.1f\n' "$1" "$w" "$c" "$(awk -v k="$k" 'BEGIN { print k / 1024 }')"
}
row "vmie import-image (VMDK)" vmie
row "virt-v2v -i disk -o local (raw)" v2v
echo
"$PY" - "$TMP/task.json" "$TMP/journal.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))['Vmie']
st = d['StageTimes']
print('vmie import stages (s):')
print('  %-28s %8.3f' % ('start (Created -> first)', min(st.values()) - d['Created']))
for n, t in sorted(st.items(), key=lambda kv: kv[1]):
    if n == 'completed':
        continue
    later = [x for x in st.values() if x > t]
    print('  %-28s %8.3f' % (n, (min(later) if later else d.get('Ended', t)) - t))
print('  %-28s %8.3f' % ('task (Created -> Ended)', d['Ended'] - d['Created']))
try:
    ch = json.load(open(sys.argv[2])).get('Changes', [])
except Exception:
    ch = []
print('guest changes (image-journal): %d: %s' % (len(ch), ', '.join(
    '%s %s' % (c.get('Rule'), c.get('Path')) for c in ch)))
EOF
if [ "$V2V_OK" = yes ]; then
	grep -E '^\[ *[0-9.]+\] ' "$TMP/v2v.out" | sed 's/^/virt-v2v: /' | tail -12
fi
echo
read -r vw vc vk < "$TMP/vmie.run"
if [ "$V2V_OK" = yes ]; then
	read -r ww wc wk < "$TMP/v2v.run"
	awk -v vw="$vw" -v vc="$vc" -v ww="$ww" -v wc="$wc" -v wk="$wk" 'BEGIN {
		printf "%-34s wall %.1fx %s, cpu %.1fx  (target >= 20x)\n", "virt-v2v / vmie",
			ww / vw, ww / vw >= 20 ? "PASS" : "MISS", wc / (vc > 0 ? vc : 0.01)
		printf "%-34s %.1f MiB\n", "virt-v2v peak RSS (largest process)", wk / 1024 }'
elif [ -s "$TMP/v2v.failed" ]; then
	awk -v vw="$vw" -v fw="$(cat "$TMP/v2v.failed")" 'BEGIN {
		printf "%-34s failed after %.0f s: the ratio is at least %.1fx (target >= 20x)\n",
			"virt-v2v / vmie", fw, fw / vw }'
else
	echo "virt-v2v failed: no ratio (its last lines are above)"
fi
awk -v vk="$vk" 'BEGIN { printf "%-34s %.1f MiB %s  (target < 256 MiB)\n", "vmie peak RSS",
	vk / 1024, vk / 1024 < 256 ? "PASS" : "MISS" }'
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
