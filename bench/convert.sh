#!/bin/bash
# Conversion benchmark: vmie against qemu-img, measured in the same run on
# the same disk (default 4 GiB: ~40% random, ~30% compressible, ~30% holes).
# Prints a table of times, output sizes, peak memory and ratios.
# usage: bench/convert.sh [VMIE] [SIZE_GIB]   (env BENCH_DIR for scratch)
set -eu
VMIE=${1:-build/vmie}
GIB=${2:-4}
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
D=${BENCH_DIR:-/var/tmp/vmie-bench}
mkdir -p "$D"
SRC="$D/disk-${GIB}g.raw"
# Outputs go to O: by default a tmpfs (/dev/shm) when it has room, so the
# figures measure the tools and not this machine's shared, slow disk; set
# BENCH_OUT to a disk directory to include the disk.
O=${BENCH_OUT:-}
if [ -z "$O" ]; then
	avail=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
	if [ -n "$avail" ] && [ "$avail" -gt $(( (GIB * 3 + 1) << 20 )) ]; then
		O=/dev/shm/vmie-bench
	else
		O=$D
	fi
fi
mkdir -p "$O"
# On tmpfs there is nothing to flush; a global sync would also wait for
# other processes' dirty pages, so it is used only for disk outputs.
SYNC="&& sync"
case "$O" in /dev/shm/*) SYNC="" ;; esac
trap 'rm -rf "$O/v."* "$O/q."* "$O/back."*' EXIT
if [ ! -f "$SRC" ]; then
	echo "making $SRC ..." >&2
	python3 "$SRCDIR/tests/image/roundtrip/mkdisk.py" "$SRC" $((GIB << 30)) $((1 << 20)) 7
fi

# run LABEL CMD...: prints "seconds peak_kib" of the command
run() {
	local label=$1; shift
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	cat "$SRC" > /dev/null   # both tools start with the source in page cache
	[ -n "${CACHE_FILE:-}" ] && cat "$CACHE_FILE" > /dev/null
	/usr/bin/time -f '%e %M' -o "$D/time.$label" "$@" >/dev/null 2>"$D/err.$label" ||
		{ cat "$D/err.$label" >&2; echo "FAILED: $*" >&2; echo "nan 0"; return; }
	cat "$D/time.$label"
}
size_of() { stat -c %s "$1"; }
printf '%-34s %9s %9s %8s %12s %12s %9s\n' job vmie_s qemu_s speedup vmie_bytes qemu_bytes vmie_MiB
line() { # job vmie_time_mem qemu_time_mem vmie_out qemu_out
	set -- "$1" $2 $3 "$4" "$5"
	local vt=$2 vm=$3 qt=$4 vo=$6 qo=$7
	local ratio=$(python3 -c "print('%.1fx' % ($qt/$vt) if $vt > 0 else 'n/a')")
	printf '%-34s %9s %9s %8s %12s %12s %9d\n' "$1" "$vt" "$qt" "$ratio" "$vo" "$qo" $((vm / 1024))
}

conv() { # name vmie_fmt qemu_fmt qemu_opts
	local name=$1 vf=$2 qf=$3 qo=$4
	rm -f "$O/v.$name" "$O/q.$name"
	# both tools are timed up to their data being on disk (a final sync)
	local v=$(run "v-$name" sh -c "\"$VMIE\" convert --no-sync -O $vf \"$SRC\" \"$O/v.$name\" $SYNC")
	local q=$(run "q-$name" sh -c "qemu-img convert -f raw -O $qf $qo \"$SRC\" \"$O/q.$name\" $SYNC")
	line "raw -> $name" "$v" "$q" "$(size_of "$O/v.$name")" "$(size_of "$O/q.$name")"
	qemu-img compare -f raw -F "$qf" "$SRC" "$O/v.$name" >/dev/null || echo "  !! vmie output differs from the source" >&2
	rm -f "$O/back.v" "$O/back.q"
	CACHE_FILE="$O/q.$name"
	v=$(run "vb-$name" sh -c "\"$VMIE\" convert --no-sync -O raw \"$O/q.$name\" \"$O/back.v\" $SYNC")
	q=$(run "qb-$name" sh -c "qemu-img convert -f $qf -O raw \"$O/q.$name\" \"$O/back.q\" $SYNC")
	CACHE_FILE=
	line "$name -> raw" "$v" "$q" "$(du -k "$O/back.v" | cut -f1)K" "$(du -k "$O/back.q" | cut -f1)K"
	rm -f "$O/back.v" "$O/back.q" "$O/v.$name" "$O/q.$name"
}

conv vmdk-stream "vmdk,streamOptimized" vmdk "-o subformat=streamOptimized"
conv vmdk-sparse "vmdk,monolithicSparse" vmdk "-o subformat=monolithicSparse"
conv vhd-dynamic "vhd,dynamic" vpc "-o subformat=dynamic"
conv vhdx-dynamic "vhdx,dynamic" vhdx "-o subformat=dynamic"
conv qcow2 qcow2 qcow2 ""
echo "(speedup = qemu-img time / vmie time, both timed to a final sync on disk outputs; vmie_MiB = vmie peak RSS;"
echo " $(nproc) cores; outputs in $O; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
