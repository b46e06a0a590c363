#!/bin/bash
# Hostile initramfs (issue 9): a gzip and a zstd compression bomb (a few
# MB inflating to 3 GiB), 100000 tiny cpio members, 20000 concatenated
# gzip streams.  Inspection finishes bounded, still reports the OS, says
# why the initramfs was not read, and the budget's counters stay under
# the per-initramfs caps (inflate 256 MiB + one chunk, streams 4096).
source "$SRCDIR/tests/functions.sh"
need python3 mke2fs
python3 "$SRCDIR/tests/hostile/gen_initramfs-bomb.py" "$T" >/dev/null ||
	fail "generator"
cap=$(( (256 << 20) + (256 << 10) ))
for k in gzip zstd; do
	every_command ok ok any ok "$T/$k-bomb.img"
	grep -q 'Hostile Linux 12' "$T/inspect" || fail "$k: OS not found"
	grep -q "NOT read $k" "$T/inspect" || fail "$k: initramfs not reported"
	grep -q 'compression bomb' "$T/inspect" || fail "$k: no reason"
	for c in inspect check; do
		n=$(budget_field inflate "$T/$c")
		[ "$n" -le "$cap" ] || fail "$k $c: inflate $n over $cap"
	done
done
every_command ok ok any ok "$T/members.img"
grep -q 'Hostile Linux 12' "$T/inspect" || fail "members: OS not found"
grep -q 'initramfs: *read none' "$T/inspect" || fail "members: not read"
n=$(budget_field entries "$T/inspect")
[ "$n" -le 200000 ] || fail "members: entries $n"
every_command ok ok any ok "$T/streams.img"
grep -q 'Hostile Linux 12' "$T/inspect" || fail "streams: OS not found"
grep -q 'more than 4096 compressed streams' "$T/inspect" ||
	fail "streams: no reason"
n=$(budget_field entries "$T/inspect")
[ "$n" -le 10000 ] || fail "streams: entries $n"
n=$(sed -n 's/^vmie: budget: read=\([0-9]*\).*/\1/p' "$T/inspect.err" | tail -1)
[ "$n" -le $((256 << 20)) ] || fail "streams: read $n"
echo ok
