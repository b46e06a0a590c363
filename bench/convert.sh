#!/bin/bash
# Conversion benchmark: vmie against qemu-img, measured in the same run on
# the same disk (default 4 GiB: ~40% random, ~30% compressible, ~30% holes).
# Prints a table of wall and CPU (user+sys) times, output sizes, peak memory
# and ratios.
# usage: bench/convert.sh [VMIE] [SIZE_GIB]
# env: BENCH_DIR scratch, BENCH_OUT output directory, BENCH_JOBS a subset of
# jobs (e.g. "vmdk-stream vhd-fixed"), BENCH_REPEAT runs per timing (the
# median wall time is shown, with its CPU time; vmie and qemu-img runs
# alternate), BENCH_WARM (see below), BENCH_NICE=-10 runs each
# timed command in a session of its own at that autogroup nice level (needs
# root; on a shared machine it keeps other sessions' load from dominating
# the figures; both tools get the same treatment).
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

# Warming: this machine is a VM whose freed memory goes back to the host
# after a couple of seconds (virtio-balloon free page reporting); the next
# touch of such a page costs a host fault. A tool that writes 3 GB of new
# pages then measures the host, not itself (the same conversion took 1.2 s
# or 5.8 s depending on a 5 s sleep before it). So right before each timed
# run, WARM bytes are written to a tmpfs file and freed, untimed, which puts
# host-backed pages on the guest's free lists for the run; both tools get the
# same. BENCH_WARM=0 turns it off; the default is the virtual disk size,
# capped at half the memory available and half of /dev/shm's room.
WARM=${BENCH_WARM:-$((GIB << 30))}
WARMDIR=/dev/shm
warm() { # at most half of the memory available now, and of /dev/shm's room
	[ "$WARM" -gt 0 ] 2>/dev/null || return 0
	local avail room n=$WARM
	avail=$(awk '/^MemAvailable:/ {print $2 * 512}' /proc/meminfo)
	room=$(df -Pk "$WARMDIR" | awk 'NR == 2 {print $4 * 512}')
	[ -n "$avail" ] && [ "$n" -gt "$avail" ] && n=$avail
	[ -n "$room" ] && [ "$n" -gt "$room" ] && n=$room
	head -c "$n" /dev/zero > "$WARMDIR/vmie-bench-warm" ||
		echo "bench: warming with $n bytes in $WARMDIR failed; figures may include host faults" >&2
	rm -f "$WARMDIR/vmie-bench-warm"
}
REPEAT=${BENCH_REPEAT:-1}
PRIO=()
if [ -n "${BENCH_NICE:-}" ]; then
	# a new session gets its own autogroup; renice that group, then run
	PRIO=(setsid -w sh -c 'echo "$0" > /proc/self/autogroup && exec "$@"' "$BENCH_NICE")
fi
once() { # once LABEL OUTPUT CMD...: one timed run; prints "wall_s peak_kib cpu_s"
	local label=$1 out=$2; shift 2
	rm -f "$out"
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	cat "$SRC" > /dev/null   # both tools start with the source in page cache
	[ -n "${CACHE_FILE:-}" ] && cat "$CACHE_FILE" > /dev/null
	warm
	"${PRIO[@]}" /usr/bin/time -f '%e %M %U %S' -o "$D/time.$label" "$@" >/dev/null 2>"$D/err.$label" ||
		{ cat "$D/err.$label" >&2; echo "FAILED: $*" >&2; echo "nan 0 nan"; return; }
	awk '{printf "%s %s %.2f", $1, $2, $3 + $4}' "$D/time.$label"
}
# median "wall kib cpu" of the lines on stdin (by wall time; the lower middle
# one when the count is even)
median() { sort -n -k1,1 | awk '{l[NR] = $0} END {print l[int((NR + 1) / 2)]}'; }
# pair LABEL OUT_V OUT_Q VCMD QCMD: BENCH_REPEAT runs of each, alternating
# vmie and qemu-img so that both see the same machine; prints the median run
# of each as "v_wall v_kib v_cpu|q_wall q_kib q_cpu"
pair() {
	local label=$1 ov=$2 oq=$3 vc=$4 qc=$5 tv="" tq="" i
	for i in $(seq "$REPEAT"); do
		tv+="$(once "v$label" "$ov" sh -c "$vc")"$'\n'
		tq+="$(once "q$label" "$oq" sh -c "$qc")"$'\n'
	done
	echo "$(printf '%s' "$tv" | median)|$(printf '%s' "$tq" | median)"
}
size_of() { stat -c %s "$1"; }
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %7s %7s %7s %7s %7s %7s %12s %12s %8s\n' job vmie_s qemu_s speedup \
	vmie_cpu qemu_cpu cpu_x vmie_bytes qemu_bytes vmie_MiB
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print('%.1fx' % (b / a) if a > 0 and b == b else 'n/a')" "$1" "$2"; }
line() { # job vmie_time_mem_cpu qemu_time_mem_cpu vmie_out qemu_out
	set -- "$1" $2 $3 "$4" "$5"
	local vt=$2 vm=$3 vc=$4 qt=$5 qc=$7 vo=$8 qo=$9
	printf '%-26s %7s %7s %7s %7s %7s %7s %12s %12s %8d\n' "$1" "$vt" "$qt" \
		"$(ratio "$vt" "$qt")" "$vc" "$qc" "$(ratio "$vc" "$qc")" "$vo" "$qo" $((vm / 1024))
}

conv() { # name vmie_fmt qemu_fmt qemu_opts
	local name=$1 vf=$2 qf=$3 qo=$4
	rm -f "$O/v.$name" "$O/q.$name"
	# both tools are timed up to their data being on disk (a final sync)
	local r=$(pair "-$name" "$O/v.$name" "$O/q.$name" \
		"\"$VMIE\" convert --no-sync -O $vf \"$SRC\" \"$O/v.$name\" $SYNC" \
		"qemu-img convert -f raw -O $qf $qo \"$SRC\" \"$O/q.$name\" $SYNC")
	line "raw -> $name" "${r%|*}" "${r#*|}" "$(size_of "$O/v.$name")" "$(size_of "$O/q.$name")"
	qemu-img compare -f raw -F "$qf" "$SRC" "$O/v.$name" >/dev/null || echo "  !! vmie output differs from the source" >&2
	rm -f "$O/back.v" "$O/back.q"
	CACHE_FILE="$O/q.$name"
	r=$(pair "b-$name" "$O/back.v" "$O/back.q" \
		"\"$VMIE\" convert --no-sync -O raw \"$O/q.$name\" \"$O/back.v\" $SYNC" \
		"qemu-img convert -f $qf -O raw \"$O/q.$name\" \"$O/back.q\" $SYNC")
	CACHE_FILE=
	line "$name -> raw" "${r%|*}" "${r#*|}" "$(du -k "$O/back.v" | cut -f1)K" "$(du -k "$O/back.q" | cut -f1)K"
	cmp -s "$O/back.v" "$O/back.q" || echo "  !! vmie and qemu-img read $name differently" >&2
	rm -f "$O/back.v" "$O/back.q" "$O/v.$name" "$O/q.$name"
}

JOBS=${BENCH_JOBS:-vmdk-stream vmdk-sparse vhd-dynamic vhd-fixed vhdx-dynamic qcow2}
for j in $JOBS; do
	case $j in
	vmdk-stream) conv $j "vmdk,streamOptimized" vmdk "-o subformat=streamOptimized" ;;
	vmdk-sparse) conv $j "vmdk,monolithicSparse" vmdk "-o subformat=monolithicSparse" ;;
	vhd-dynamic) conv $j "vhd,dynamic" vpc "-o subformat=dynamic" ;;
	vhd-fixed) conv $j "vhd,fixed" vpc "-o subformat=fixed" ;;
	vhdx-dynamic) conv $j "vhdx,dynamic" vhdx "-o subformat=dynamic" ;;
	qcow2) conv $j qcow2 qcow2 "" ;;
	*) echo "unknown job $j" >&2; exit 2 ;;
	esac
done
echo "(speedup = qemu-img time / vmie time (wall), cpu_x the same for user+sys CPU; both timed to a final"
echo " sync on disk outputs; vmie_MiB = vmie peak RSS; median of $REPEAT run(s), alternating;"
echo " $(nproc) cores; outputs in $O; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
