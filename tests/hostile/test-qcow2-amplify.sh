#!/bin/bash
# Issue 9: qcow2 tables that name the same bytes over and over (an 8 MiB L1
# table whose million entries all point at one L2 table; 65536 snapshots
# sharing one L1 table, or overlapping ones).  Every walk must visit each
# distinct table once: info, inspect, check and convert end with a clean
# refusal or a bounded correct result, and the budget's "entries" counter
# stays proportional to the distinct tables (before the fix: a million
# loads of the same 64 KiB L2 table, over a minute for info).
. "$SRCDIR/tests/functions.sh"
need python3
python3 "$SRCDIR/tests/hostile/gen_qcow2-amplify.py" "$T" ||
	fail "generator failed"

# One L2 table behind 1 Mi L1 entries: open refuses it (FMT-005) except
# for info, which reads each distinct table once and reports the sharing.
img="$T/l1-shared.qcow2"
every_command 2 fail fail fail "$img"
grep -q 'L1 entries 0 and 1 both point at the L2 table' "$T/info" ||
	{ cat "$T/info"; fail "l1-shared: check does not report the shared L2"; }
grep -q 'FMT-005' "$T/convert.err" || fail "l1-shared: convert not FMT-005"
grep -q 'FMT-005' "$T/inspect.err" || fail "l1-shared: inspect not FMT-005"
# 1 Mi L1 entries, read at open and twice by check, + one L2 table of 8 Ki
e=$(budget_field entries "$T/info")
[ "$e" -le $((4 * 1048576)) ] || fail "l1-shared: info --check visited $e entries"
e=$(budget_field entries "$T/inspect")
[ "$e" -le $((2 * 1048576)) ] || fail "l1-shared: inspect visited $e entries"
# (budget_field cannot read the first field, "read": parse it here)
r=$(sed -n 's/^vmie: budget: read=\([0-9]*\).*/\1/p' "$T/info.err" | tail -1)
[ "$r" -le $((64 << 20)) ] || fail "l1-shared: info --check read $r bytes"
run_bounded ok "$T/plain" "$VMIE" info "$img"
e=$(budget_field entries "$T/plain")
[ "$e" -le $((1048576 + 65536)) ] || fail "l1-shared: info visited $e entries"

# 65536 snapshots on one L1 table / on overlapping L1 tables: the disk
# itself is valid (1 MiB); check walks one L1 table and reports the rest.
for n in snap-shared snap-overlap; do
	img="$T/$n.qcow2"
	every_command 2 ok any ok "$img"
	grep -q 'snapshot 2: L1 table at 0x[0-9a-f]* (262144 entries) overlaps another L1 table' "$T/info" ||
		{ head -20 "$T/info"; fail "$n: overlapping L1 tables not reported"; }
	e=$(budget_field entries "$T/info")
	# 65536 snapshot entries, the active L1, the snapshot L1 tables not
	# overlapping (one; up to 65 for snap-overlap, each 256 Ki entries, as
	# they are compared cluster by cluster: 2 passes) and one L2 table
	[ "$e" -le $((2 * 1048576)) ] || fail "$n: info --check visited $e entries"
	e=$(budget_field entries "$T/inspect")
	[ "$e" -le $((65536 + 65536)) ] || fail "$n: inspect visited $e entries"
	"$VMIE" convert -O raw "$img" "$T/o.raw" || fail "$n: convert"
	python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
assert len(b) == 1 << 20 and b[:65536] == b"snapshots " * 6553 + b"\0" * 6
assert b[65536:] == bytes(len(b) - 65536)' "$T/o.raw" ||
		fail "$n: converted contents are wrong"
	rm -f "$T/o.raw"
done
echo ok
