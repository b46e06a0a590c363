#!/bin/bash
# Benchmark of vmie's bounded readers on the hostile inputs of issue 9.
# For each class of input that made the unbounded readers hang, crawl or
# balloon, the generators of tests/hostile/ (with the arguments the
# hostile tests give them) write the inputs into a temporary directory,
# and `vmie info`, `vmie inspect` and `vmie check` run on each, once, one
# after the other, with VMIE_BUDGET_REPORT=1 under `timeout 120`.  Where
# the hostile reader is only reached behind an option, that command runs
# too: `info --check` (the qcow2/VHD/VHDX table walk, the OVA manifest)
# and `check --verify-manifest` (the OVA manifest's digests).
# One table row per (input, command):
#   wall s     process start to exit (date +%s.%N; on a shared 2-core
#              machine this includes waiting for a core)
#   exit       the exit status (124: killed by the timeout)
#   read MiB, entries, mem MiB, infl MiB
#              the budget counters vmie reports on stderr ("vmie: budget:
#              read=N/L entries=N/L mem_peak=N/L inflate=N/L
#              maxrss_kib=N"), the value used, not the limit: bytes read
#              from the inputs, table entries visited, peak of the
#              budgeted allocations, bytes decompressed
#   RSS MiB    peak RSS (the report's maxrss_kib; /usr/bin/time's when the
#              report is missing)
#   note       what vmie said: the first line of stderr besides the
#              report (why it refused), else for check the rules that fail
#              or warn, else the line of stdout that shows the bound
# After each class come the figures the issue 9 report gave for the
# unbounded readers, as constants ("before (issue 9 report)": nothing here
# runs the old code), and the class's "after" line: the largest wall time
# and RSS of its rows (and for the initramfs, the bytes inflated), and
# the ratio to the "before" figure where that is a number (">=" where the
# report gave a lower bound, as "> 10 s"; GB are 10^9 bytes).  The run
# ends with these lines again, one per class.
# usage: bench/hostile/run.sh [VMIE]          (about 1 min; needs python3,
#                                              mke2fs/mkfs.ext2, debugfs)
set -eu
VMIE=$(realpath "${1:-build/vmie}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
H=$SRC/tests/hostile
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/vmie-bench-hostile.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# a copy of the binary: a rebuild during the run cannot pull it away
cp "$VMIE" "$TMP/vmie"
V=$TMP/vmie

# gen CMD...: run a generator, its output kept out of the table
gen() {
	"$@" > "$TMP/gen.log" 2>&1 || {
		cat "$TMP/gen.log" >&2; echo "generator failed: $*" >&2; exit 1; }
}

# mib BYTES: in MiB
mib() {
	awk -v b="$1" 'BEGIN { printf (b < 10485760) ? "%.2f" : "%.1f", b / 1048576 }'
}

# ratio BEFORE AFTER: "Nx" (BEFORE / AFTER)
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.001; r = a / b;
		printf (r >= 10) ? "%.0fx" : "%.1fx", r }'
}

SUMMARY=()
# begin_class KEY TITLE: a class of input; its rows follow.  NOTE_SED (a
# sed -E script: its last line of output) or NOTE_COUNT (a string: the
# lines that hold it, counted, when there are some) make the note from
# vmie's stdout when stderr says nothing
begin_class() {
	KEY=$1 CW=0 CR=0 CINFL=0 NOTE_SED="" NOTE_COUNT="" INFL_BEFORE=""
	printf '\n== %s\n' "$2"
	printf '%-28s %-24s %7s %4s %9s %9s %8s %9s %8s  %s\n' input command \
		"wall s" exit "read MiB" entries "mem MiB" "infl MiB" "RSS MiB" note
}

# row LABEL FILE CMD [OPTION...]: run `vmie CMD OPTION... FILE` and print
# its row; updates the class's maxima (CW s, CR KiB, CINFL bytes)
# and LW, LR (this row's wall s and RSS KiB)
row() {
	local label=$1 file=$2 rc=0 t0 t1 note
	shift 2
	t0=$(date +%s.%N)
	VMIE_BUDGET_REPORT=1 timeout -k 5 120 /usr/bin/time -f %M -o "$TMP/time" \
		"$V" "$@" "$file" > "$TMP/out" 2> "$TMP/err" < /dev/null || rc=$?
	t1=$(date +%s.%N)
	note=$(grep -v -e '^vmie: budget:' -e '^Command exited' "$TMP/err" | head -1 || true)
	if [ -z "$note" ] && [ "$1" = check ]; then
		note=$(awk '$1 == "fail" { f = f " " $2 } $1 == "warn" { w = w " " $2 }
			END { if (f != "") printf "fail:%s", f
			      if (w != "") printf "%swarn:%s", (f != "") ? "; " : "", w }' "$TMP/out")
	elif [ -z "$note" ] && [ -n "$NOTE_COUNT" ]; then
		note=$(grep -cF -- "$NOTE_COUNT" "$TMP/out" || true)
		[ "$note" -gt 0 ] && note="$note lines '$NOTE_COUNT...'" || note=""
	elif [ -z "$note" ] && [ -n "$NOTE_SED" ]; then
		note=$(sed -n -E "$NOTE_SED" "$TMP/out" | tail -1 | sed 's/^ *//')
	fi
	note=${note//"$TMP/"/}
	case $rc in 124|137) note="TIMED OUT after 120 s; $note" ;; esac
	# the budget counters (the value used, before the "/"), the row, and
	# the class's new maxima (to $TMP/max)
	awk -v t0="$t0" -v t1="$t1" -v tf="$TMP/time" -v rc="$rc" -v label="$label" \
		-v cmd="$*" -v note="${note:0:100}" -v max="$TMP/max" \
		-v cw="$CW" -v cr="$CR" -v cin="$CINFL" '
		function mib(b) { if (b == "") return "-"
			return sprintf((b < 10485760) ? "%.2f" : "%.1f", b / 1048576) }
		/^vmie: budget: / { for (i = 3; i <= NF; i++) { split($i, kv, "=")
			split(kv[2], v, "/"); c[kv[1]] = v[1] } }
		END {
			rss = c["maxrss_kib"]
			if (rss == "") while ((getline l < tf) > 0) if (l ~ /^[0-9]+$/) rss = l
			w = t1 - t0
			printf "%-28s %-24s %7.3f %4s %9s %9s %8s %9s %8s  %s\n", label, cmd, w,
				rc, mib(c["read"]), (c["entries"] == "") ? "-" : c["entries"],
				mib(c["mem_peak"]), mib(c["inflate"]),
				(rss == "") ? "-" : mib(rss * 1024), note
			printf "%.3f %.0f %.3f %.0f %.0f\n", w, rss, (w > cw) ? w : cw,
				(rss + 0 > cr) ? rss : cr,
				(c["inflate"] + 0 > cin) ? c["inflate"] : cin > max
		}' "$TMP/err"
	read -r LW LR CW CR CINFL < "$TMP/max"
}

# three LABEL FILE: info, inspect and check on FILE
three() {
	row "$1" "$2" info
	row "$1" "$2" inspect
	row "$1" "$2" check
}

# after BEFORE_S BEFORE_BYTES QUAL BEFORE_TEXT WALL_S RSS_KIB: the "after"
# figures, and their ratios to the "before" ones where those are numbers
# ("-": none; QUAL ">=" when they are lower bounds)
after() {
	local s
	s=$(printf 'after: max wall %.2f s, max RSS %s MiB' "$5" "$(mib $(($6 * 1024)))")
	if [ "$1" != - ]; then
		s="$s; vs before ($4): wall $3$(ratio "$1" "$5") lower"
		[ "$2" = - ] || s="$s, RSS $3$(ratio "$2" $(($6 * 1024))) lower"
	else
		s="$s; before: $4"
	fi
	echo "$s"
}

# end_class BEFORE_S BEFORE_BYTES QUAL BEFORE_TEXT LINE...: print the
# report's figures (LINE...) and the class's "after" line, kept for the
# summary; BEFORE_TEXT is the "before" figure the ratios are taken to
end_class() {
	local bs=$1 bb=$2 q=$3 bt=$4 l s
	shift 4
	for l in "$@"; do echo "before (issue 9 report): $l"; done
	s=$(after "$bs" "$bb" "$q" "$bt" "$CW" "$CR")
	# INFL_BEFORE: bytes the report says were decompressed
	if [ -n "$INFL_BEFORE" ]; then
		s="$s, inflated $(ratio "$INFL_BEFORE" "$CINFL") less (max $(mib "$CINFL") MiB)"
	fi
	echo "$s"
	SUMMARY+=("$(printf '%-22s %s' "$KEY" "$s")")
}

echo "vmie hostile-input benchmark (issue 9): $VMIE"
echo "(each row: one run of vmie with VMIE_BUDGET_REPORT=1 under timeout 120)"

# 1. VMDK descriptors naming one extent file thousands of times
gen "$PY" "$H/gen_vmdk-repeated-extent.py" "$TMP/vmdk"
begin_class vmdk-repeated-extent "VMDK naming one extent file thousands of times"
NOTE_SED='s/^(extents: .*)/\1/p'
row "rep-sparse (4096 sparse)" "$TMP/vmdk/rep-sparse.vmdk" info
IW=$LW IR=$LR
row "rep-sparse (4096 sparse)" "$TMP/vmdk/rep-sparse.vmdk" inspect
row "rep-sparse (4096 sparse)" "$TMP/vmdk/rep-sparse.vmdk" check
three "rep-links (1024 via links)" "$TMP/vmdk/rep-links.vmdk"
three "rep-flat (4096 flat)" "$TMP/vmdk/rep-flat.vmdk"
end_class 28 5100000000 "" "inspect 28 s, 5.1 GB" "inspect 28 s, 5.1 GB" \
	"with 4096 extents: info 12.8 s / 560 MB"
# the second figure: info on the 4096 sparse extents
s=$(after 12.8 560000000 "" "info, 4096 extents, 12.8 s / 560 MB" "$IW" "$IR")
s="${s/after: max wall/after (info, 4096 extents):}"
s="${s/, max RSS/,}"
echo "$s"
SUMMARY+=("$(printf '%-22s %s' "" "$s")")
rm -rf "$TMP/vmdk"

# 2. qcow2 tables naming the same bytes over and over
mkdir -p "$TMP/q"
gen "$PY" "$H/gen_qcow2-amplify.py" "$TMP/q"
begin_class qcow2-amplify "qcow2 L1 -> one L2 a million times / 65536 snapshots"
NOTE_SED='s/^(snapshots: .*|check: [0-9]+ table entries checked.*)/\1/p'
for n in "l1-shared:l1-shared (1 Mi L1 -> 1 L2)" "snap-shared:snap-shared (65536)" \
	"snap-overlap:snap-overlap (65536)"; do
	three "${n#*:}" "$TMP/q/${n%%:*}.qcow2"
	row "${n#*:}" "$TMP/q/${n%%:*}.qcow2" info --check
done
end_class 10 - ">=" "10-30 s" \
	"L1 pointing at one L2 over and over / big snapshot table:" \
	"info/inspect/check 10-30 s on a few MB file"
rm -rf "$TMP/q"

# 3. an OVA whose manifest repeats its lines (an 8 MiB stream VMDK inside,
# as in the test)
mkdir -p "$TMP/ova"
"$PY" - "$TMP/ova/d.raw" <<'PY'
import sys
b = bytearray(8 << 20)
for i in range(0, len(b), 65536):
    b[i:i + 16] = (b"grain %08d  " % (i >> 16))[:16]
open(sys.argv[1], "wb").write(b)
PY
gen "$V" convert -O vmdk,streamOptimized "$TMP/ova/d.raw" "$TMP/ova/d.vmdk"
for m in "repeat 8000" "repeat 20000" "conflict 3" "refs 1000"; do
	set -- $m
	gen "$PY" "$H/gen_ova-manifest-repeat.py" "$TMP/ova/$1-$2.ova" \
		"$TMP/ova/d.vmdk" "$1" "$2"
done
begin_class ova-manifest-repeat "OVA manifest repeating its lines"
NOTE_SED='s/^(manifest: .*)/\1/p'
for n in "repeat-8000:8000 repeated lines" "repeat-20000:20000 repeated lines" \
	"conflict-3:conflicting repeat" "refs-1000:1000 References, 1 file"; do
	three "${n#*:}" "$TMP/ova/${n%%:*}.ova"
	row "${n#*:}" "$TMP/ova/${n%%:*}.ova" info --check
	row "${n#*:}" "$TMP/ova/${n%%:*}.ova" check --verify-manifest
done
end_class 10 - ">=" "> 10 s" \
	"manifest repeating lines thousands of times: each line digests the disk again, > 10 s"
rm -rf "$TMP/ova"

# 4. thousands of volumes aliasing one file system: GPT entries, LVM LVs
# (the small Linux root of the test, 4 MiB of ext2)
if command -v mkfs.ext2 > /dev/null 2>&1; then
	R=$TMP/alias/root
	mkdir -p "$R/etc" "$R/bin" "$R/usr/bin"
	printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' \
		> "$R/etc/os-release"
	printf 'UUID=5a1e5a1e-0000-4000-8000-0000000000a1 / ext2 defaults 0 1\n' \
		> "$R/etc/fstab"
	echo alias > "$R/etc/hostname"
	gen mkfs.ext2 -q -F -b 1024 -U 5a1e5a1e-0000-4000-8000-0000000000a1 \
		-d "$R" "$TMP/alias/fs.img" 4096
	gen "$PY" "$H/gen_alias_volumes.py" gpt "$TMP/alias/fs.img" "$TMP/alias/gpt.raw" 4000
	gen "$PY" "$H/gen_alias_volumes.py" lvm "$TMP/alias/fs.img" "$TMP/alias/lvm.raw" 3000
	begin_class alias-volumes "GPT entries / LVM LVs aliasing one file system"
	NOTE_COUNT='(alias of '
	three "GPT, 4000 entries" "$TMP/alias/gpt.raw"
	three "LVM, 3000 LVs" "$TMP/alias/lvm.raw"
	end_class 240 2400000000 ">=" "> 4 min, 2.4 GB" \
		"GPT with thousands of entries aliasing one file system / LVM thousands of LVs:" \
		"inspect > 4 min at 2.4 GB and still going"
	rm -rf "$TMP/alias"
else
	echo; echo "(mkfs.ext2 missing: alias volumes skipped)"
fi

# 5. hostile initramfs: compression bombs, 100000 members, 20000 streams
if command -v mke2fs > /dev/null 2>&1; then
	gen "$PY" "$H/gen_initramfs-bomb.py" "$TMP/ird"
	begin_class initramfs-bomb "initramfs compression bombs / 100000 members"
	NOTE_SED='s/.*(initramfs: [^)]*).*/\1/p'
	three "gzip bomb (-> 3 GiB)" "$TMP/ird/gzip-bomb.img"
	three "zstd bomb (-> 3 GiB)" "$TMP/ird/zstd-bomb.img"
	three "100000 cpio members" "$TMP/ird/members.img"
	three "20000 gzip streams" "$TMP/ird/streams.img"
	INFL_BEFORE=$((4 << 30))
	end_class 10 - "" "~10 s, 4 GiB inflated" \
		"compression bomb / 100000 members: inspect ~10 s (4 GiB inflated)"
	rm -rf "$TMP/ird"
else
	echo; echo "(mke2fs missing: initramfs bombs skipped)"
fi

# 6. VMDK extents that are not regular files
gen "$PY" "$H/gen_vmdk-fifo.py" "$TMP/fifo"
begin_class vmdk-fifo "VMDK extent a FIFO (socket, directory)"
three "extent a FIFO (flat)" "$TMP/fifo/fifo-flat.vmdk"
three "extent a FIFO (sparse)" "$TMP/fifo/fifo-sparse.vmdk"
three "2nd extent a FIFO" "$TMP/fifo/fifo-second.vmdk"
three "extent a socket" "$TMP/fifo/socket.vmdk"
three "extent a directory" "$TMP/fifo/dir.vmdk"
three "a FIFO on the command line" "$TMP/fifo/pipe.fifo"
end_class - - "" "blocked forever" "VMDK extent FIFO: blocks forever"
rm -rf "$TMP/fifo"

# 7. qcow2 / VHD / VHDX tables past the end of the file, compressed
# clusters that do not inflate to one cluster
mkdir -p "$TMP/qv"
gen "$PY" "$SRC/tests/image/qcow2/mkraw.py" "$TMP/qv/src.raw" $((4 * 1048576))
gen "$V" convert -O vhdx "$TMP/qv/src.raw" "$TMP/qv/good.vhdx"
gen "$PY" "$H/gen_check_bad_qcow2_vhd.py" "$TMP/qv" "$TMP/qv/good.vhdx"
begin_class check-bad-tables "qcow2 / VHD / VHDX tables past the end, bad compressed clusters"
NOTE_SED='s/^(check: [0-9]+ table entries checked.*)/\1/p'
for n in q-l1-eof.qcow2 q-l2-eof.qcow2 q-zgarbage.qcow2 q-zlong.qcow2 \
	q-zstdgarbage.qcow2 q-zstdlong.qcow2 v-bat-eof.vhd x-bat-eof.vhdx; do
	three "$n" "$TMP/qv/$n"
	row "$n" "$TMP/qv/$n" info --check
done
end_class - - "" "no figure in the report" "no time or memory figure for this class"
rm -rf "$TMP/qv"

# 8. ext4 journals whose replay would overwrite the file system's metadata
if command -v mke2fs > /dev/null 2>&1 && command -v debugfs > /dev/null 2>&1; then
	gen bash "$H/gen_ext-journal-hostile.sh" "$TMP/j"
	begin_class ext-journal-hostile "ext4 journal whose replay breaks the file system"
	NOTE_SED='s/.*journal not trusted: .*breaks the file system \((.*)\); read as.*/not replayed: \1/p
		s/.*(journal replayed[^,]*).*/\1/p'
	three "journal logs the GDT" "$TMP/j/gdt.img"
	three "journal logs root inode" "$TMP/j/rootino.img"
	three "journal logs root dir" "$TMP/j/rootdir.img"
	three "root inode, no checksums" "$TMP/j/nocsum.img"
	three "good replay (control)" "$TMP/j/good.img"
	end_class - - "" "no figure in the report" "no time or memory figure for this class"
	rm -rf "$TMP/j"
else
	echo; echo "(mke2fs or debugfs missing: hostile journals skipped)"
fi

echo
echo "== summary, one line per class (after: the largest figures of its rows in this run;"
echo "   before: the issue 9 report)"
for s in "${SUMMARY[@]}"; do echo "$s"; done
