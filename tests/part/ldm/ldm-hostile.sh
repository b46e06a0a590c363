#!/bin/bash
# Hostile LDM databases (mkldm.py hostile-*): each must give a clear
# message naming what is wrong, no crash, no sanitizer report, no hang (the
# meson timeout), both per disk (vmie_ptable_read: the table is still read,
# the database error is recorded) and across disks (vmie_ldm_scan fails
# with FMT-005 when no database is readable); vmie inspect still works.
# usage: ldm-hostile.sh LDM_TOOL
source "$SRCDIR/tests/functions.sh"
need sgdisk
TOOL=$1
HERE="$SRCDIR/tests/part/ldm"
run() {     # run CMD...: exit status 0 or 2 only, no sanitizer output
	local rc=0
	"$@" > "$T/out" 2> "$T/err" || rc=$?
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then
		cat "$T/err" >&2; fail "sanitizer report: $*"
	fi
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { cat "$T/err" >&2; fail "exit $rc: $*"; }
}
# fixture, expected message (ERE) of an unreadable database
while IFS='|' read -r name msg; do
	python3 "$HERE/mkldm.py" "$name" "$T/$name" || fail "mkldm.py $name"
	d="$T/$name/disk0.img"
	run "$TOOL" pt "$d"
	grep -qE "^pt type=1 ldm=1 parts=1 .*volumes=0 error=.*$msg" "$T/out" ||
		{ cat "$T/out"; fail "$name: ptable summary should say: $msg"; }
	grep -qE "^warning ldm: database unreadable: .*$msg" "$T/out" ||
		{ cat "$T/out"; fail "$name: no warning"; }
	run "$TOOL" scan "$d"
	grep -qE "^error: ldm: .*disk0.img: .*$msg" "$T/err" ||
		{ cat "$T/err"; fail "$name: scan error should say: $msg"; }
	echo "ok: $name: $(head -c 160 "$T/err")"
done <<'LIST'
hostile-frag-loop|VBLK record [0-9]+: fragment 1 appears twice \(slots [0-9]+ and [0-9]+\): the fragment chain loops
hostile-huge-count|VMDB: 4294967280 volume records claimed, more than its 5924 VBLK slots
hostile-huge-slots|VMDB: 2147483647 VBLK slots of 128 bytes do not fit in the config area
hostile-frag-total|VBLK slot 4: fragment 0 of 60000 \(a record has at most 16 fragments\)
hostile-dangling|partition 'Lost-01' \(slot [0-9]+\): its parent 999 is not in the database
hostile-dup-id|object id 2 is used twice \(VBLK slots [0-9]+ and [0-9]+\)
hostile-long-vnum|VBLK slot 5: disk record '' is truncated or has a number longer than 8 bytes
LIST
# a partition 2^40 sectors past its start: the database is fine, the
# volume is listed with the reason and not opened
python3 "$HERE/mkldm.py" hostile-past-end "$T/pe" || fail mkldm.py
run "$TOOL" scan "$T/pe/disk0.img"
grep -q "^volume Volume1 .*dev=no .*error=partition 'Disk1-01' (sectors 2147485696+16384 of Disk1's data area) runs past the end" \
	"$T/out" || { cat "$T/out"; fail "past-end partition"; }
grep -q '^volume Volume2 .*dev=yes' "$T/out" || fail "the other volume should open"
run "$TOOL" pt "$T/pe/disk0.img"
grep -q "^warning ldm: volume Volume1: partition 'Disk1-01' .*runs past the end" \
	"$T/out" || { cat "$T/out"; fail "past-end warning in the table"; }
# a volume record of size 0 (its partitions present): listed with the
# reason, not opened (it once dereferenced an empty piece map)
python3 "$HERE/mkldm.py" hostile-zero-size "$T/zs" || fail mkldm.py
run "$TOOL" scan "$T/zs/disk0.img"
grep -qE "^volume Volume1 .*dev=no .*error=volume record \(slot [0-9]+\) gives a size of 0 sectors" \
	"$T/out" || { cat "$T/out"; fail "zero-size volume"; }
grep -q '^volume Volume2 .*dev=yes' "$T/out" || fail "the other volume should open"
# the fuzz corpus seeds (tests/fuzz/part/corpus/ldm-*, made by mkldm.py
# corpus): the fuzz target reads their tables; here they also go through
# the scan across disks and every volume that opens is read in full
for f in "$SRCDIR"/tests/fuzz/part/corpus/ldm-*; do
	run "$TOOL" scan "$f"
	sed -n 's/^volume \([^ ]*\) .* dev=yes .*/\1/p' "$T/out" > "$T/vols"
	while read -r v; do
		run "$TOOL" dump "$v" "$f"
	done < "$T/vols"
done
# inspection goes on
"$VMIE" inspect --json "$T/hostile-frag-loop/disk0.img" > "$T/i.json" 2> "$T/i.err" ||
	{ cat "$T/i.err"; fail "vmie inspect failed on a hostile database"; }
grep -q 'fragment chain loops' "$T/i.json" || fail "inspect does not report the database error"
echo ok
