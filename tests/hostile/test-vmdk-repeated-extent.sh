#!/bin/bash
# Issue 9: a VMDK descriptor naming the same extent file thousands of times
# opened it and loaded its grain directory once per extent (inspect: 28 s,
# 5 GB); one flat file named many times made convert take 1 GB.  Each
# distinct file (by name, or by device and inode through links) is now
# opened once and a sparse file's grain directory loaded once, shared by
# the extents; the extents themselves are counted on the budget.
. "$SRCDIR/tests/functions.sh"
need python3
python3 "$SRCDIR/tests/hostile/gen_vmdk-repeated-extent.py" "$T/d" ||
	fail "generator failed"
D="$T/d"

# le NAME OUT MAX: budget counter NAME of the run in OUT is at most MAX
le() {
	local v; v=$(budget_field "$1" "$2")
	[ -n "$v" ] && [ "$v" -le "$3" ] ||
		fail "$(basename "$2"): $1=$v, want <= $3"
}

# s.vmdk's grain directory has 32768 entries (128 KiB) and its cache slots
# 512 KiB: loaded once per extent that was 4096 x 32768 = 134 M entries and
# 3 GB; once per file it is 32768 entries and under 1 MiB.  Bounds: the
# 4096 extents, one directory, a few tables, and room to spare.
for n in rep-sparse rep-links; do
	every_command ok any fail ok "$D/$n.vmdk"
	for c in info inspect check convert; do
		le entries "$T/$c" $((4096 + 32768 + 8 * 512))
		le mem_peak "$T/$c" $((16 << 20))
	done
	run_bounded ok "$T/convert" "$VMIE" convert -O raw "$D/$n.vmdk" "$T/o.raw"
	assert_eq "$(sha "$T/o.raw")" "$(cat "$D/$n.sha256")" "$n contents"
	rm -f "$T/o.raw"
done

# one flat file, 4096 extents at four offsets: legal, read correctly, the
# file opened (and mapped) once
every_command ok any fail ok "$D/rep-flat.vmdk"
for c in info inspect check convert; do
	le entries "$T/$c" $((3 * 4096))
	le mem_peak "$T/$c" $((4 << 20))
done
case "$BUILDDIR" in
*asan*) ;;
*) le maxrss_kib "$T/convert" 65536 ;;   # 138 MB when opened per extent
esac
run_bounded ok "$T/convert" "$VMIE" convert -O raw "$D/rep-flat.vmdk" "$T/o.raw"
assert_eq "$(sha "$T/o.raw")" "$(cat "$D/rep-flat.sha256")" "rep-flat contents"
rm -f "$T/o.raw"

# the extents are entries of the budget: a tight limit refuses them cleanly
run_bounded fail "$T/info" "$VMIE" info "$D/rep-flat.vmdk" --limit entries=1000
grep -q 'FMT-005' "$T/info.err" && grep -q 'limit entries=' "$T/info.err" ||
	{ cat "$T/info.err"; fail "entries limit message"; }
assert_no_temp "$T"
echo ok
