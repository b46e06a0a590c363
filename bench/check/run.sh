#!/bin/bash
# vmie check benchmark: a full check (inspection with the initramfs, every
# rule) of a 4 GiB image (target < 0.5 s) and of a 21-disk VM (target
# < 2 s).  The boot disk is the e2e tests' Debian 11 guest in its 4 GiB
# form (a 1 GiB root with 300 MiB of files, tests/rules/e2e/mkcheck.py
# big), the 20 data disks are 1 GiB sparse files with an ext4 file system
# each.  Prints the best wall time of 5 runs (page cache warm: the images
# were just read) and the peak RSS; the guest must pass (exit 0), else the
# figures are not of a full check.
# usage: bench/check/run.sh [path/to/vmie]   (BENCH_DIR: where images go)
set -eu
VMIE=$(realpath "${1:-build/vmie}")
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
D=${BENCH_DIR:-/var/tmp/vmie-bench}/check
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
mkdir -p "$D"
KEY=$(cat "$SRCDIR/tests/rules/e2e/mkcheck.py" "$SRCDIR/tests/inspect/mkguest.py" \
	"$SRCDIR/tests/inspect/guestlib.py" | sha256sum | cut -c1-8)
BOOT="$D/deb11-4g-$KEY.raw"
if [ ! -f "$BOOT" ]; then
	echo "building the 4 GiB guest (once)..." >&2
	rm -f "$D"/deb11-4g-*.raw
	"$PY" "$SRCDIR/tests/rules/e2e/mkcheck.py" big "$D" "$BOOT"
fi
DATA=()
for i in $(seq 1 20); do
	f="$D/data$i.raw"
	if [ ! -f "$f" ]; then
		truncate -s 1G "$f.tmp"
		mke2fs -q -F -t ext4 -L "data$i" "$f.tmp"
		mv "$f.tmp" "$f"
	fi
	DATA+=("$f")
done

rc=0; "$VMIE" check "$BOOT" > "$D/report.txt" || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$D/report.txt" >&2
	echo "the benchmark guest does not pass (exit $rc)" >&2
	exit 1
fi
rc=0; "$VMIE" check "$BOOT" "${DATA[@]}" > "$D/report21.txt" || rc=$?
grep -q 'DSK-003' "$D/report21.txt" && { cat "$D/report21.txt" >&2; exit 1; }

best() { # runs a command 5 times: the best wall time (ms precision,
	# bash's EPOCHREALTIME) and the peak RSS (/usr/bin/time)
	local b=999 m=0 t0 t1 k
	for i in 1 2 3 4 5; do
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M' -o "$D/t" "$@" > /dev/null 2>&1 || true
		t1=$EPOCHREALTIME
		k=$(tail -1 "$D/t")
		b=$("$PY" -c "print('%.3f' % min($b, $t1 - $t0))")
		m=$((k > m ? k : m))
	done
	echo "$b $((m / 1024))"
}
read -r t1 m1 <<<"$(best "$VMIE" check "$BOOT")"
read -r t2 m2 <<<"$(best "$VMIE" check "$BOOT" "${DATA[@]}")"
printf '%-40s %8s s  %6s MiB  (target < %s s)\n' "vmie check, 4 GiB image" "$t1" "$m1" 0.5
printf '%-40s %8s s  %6s MiB  (target < %s s)\n' "vmie check, 21-disk VM" "$t2" "$m2" 2
