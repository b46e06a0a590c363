#!/bin/bash
# Issue 9: `vmie check` (and `info --check`) must validate what `vmie
# convert` relies on: tables in range of the file, compressed units that
# inflate to their size.  Each format's block below writes images whose
# tables or data are broken where only a full read would notice, and
# asserts that info --check reports the corruption, that convert refuses
# cleanly with FMT-005, and that vmie check does not pass.
# Sections are appended by format; keep each in its own delimited block.
. "$SRCDIR/tests/functions.sh"

# expect_bad_tables NAME IMG WHAT: every command refuses or bounds IMG,
# info --check names WHAT, convert refuses with FMT-005 and leaves nothing
expect_bad_tables() {
	local n="$1" img="$2" what="$3"
	every_command fail any fail fail "$img"
	grep -qE "$what" "$T/info" "$T/info.err" ||
		{ cat "$T/info" "$T/info.err"; fail "$n: info --check: no '$what'"; }
	grep -q 'FMT-005' "$T/convert.err" ||
		{ cat "$T/convert.err"; fail "$n: convert not refused with FMT-005"; }
	[ ! -e "$T/conv.out" ] || fail "$n: convert left an output"
}
need python3
# the data pass of `vmie check` (reading every block) comes with --quick
have_data_pass=false
"$VMIE" check --help 2>&1 | grep -q -- '--quick' && have_data_pass=true

# ==== VMDK (tests/hostile/gen_check_bad_vmdk.py) ====
mkdir -p "$T/vmdk"
python3 "$SRCDIR/tests/hostile/gen_check_bad_vmdk.py" "$T/vmdk" ||
	fail "vmdk generator failed"
for n in good-sparse good-stream; do
	run_bounded ok "$T/info" "$VMIE" info --check "$T/vmdk/$n.vmdk"
	grep -q 'no errors found' "$T/info" || fail "$n: check found errors"
	run_bounded ok "$T/convert" "$VMIE" convert -O raw "$T/vmdk/$n.vmdk" "$T/o.raw"
	cmp -s "$T/o.raw" "$T/vmdk/expected.raw" || fail "$n: contents differ"
	rm -f "$T/o.raw"
done
# name ~ what info --check must say about it
while read -r n what; do
	img="$T/vmdk/$n.vmdk"
	expect_bad_tables "$n" "$img" "$what"
	# the grain directory is read at open: refused by every command today;
	# the rest need the data pass of vmie check (with --quick)
	if [ "$n" = gd-past-eof ] || $have_data_pass; then
		grep -q 'FMT-005' "$T/check" "$T/check.err" ||
			{ cat "$T/check"; fail "$n: vmie check does not name FMT-005"; }
	fi
	e=$(budget_field entries "$T/info")
	[ "${e:-0}" -le 4096 ] || fail "$n: info --check visited $e entries"
	i=$(budget_field inflate "$T/info")
	[ "${i:-0}" -le $((2 * 65536)) ] || fail "$n: info --check inflated $i bytes"
done <<'LIST'
gt-past-eof grain table 0 entry 1 points past the end of the file
gd-past-eof grain directory entry 0 points past the end of the file
stream-garbage compressed grain 1 at offset [0-9]+ does not inflate \(bad zlib data\)
stream-bomb compressed grain 1 at offset [0-9]+ does not inflate \(larger than a grain\)
stream-short compressed grain 1 at offset [0-9]+ inflates to 1000 bytes, fewer than
LIST
# ==== end VMDK ====

# ==== qcow2 / VHD / VHDX (tests/hostile/gen_check_bad_qcow2_vhd.py) ====
mkdir -p "$T/qv"
python3 "$SRCDIR/tests/image/qcow2/mkraw.py" "$T/qv/src.raw" $((4 * 1048576))
"$VMIE" convert -O vhdx "$T/qv/src.raw" "$T/qv/good.vhdx" || fail "make vhdx"
python3 "$SRCDIR/tests/hostile/gen_check_bad_qcow2_vhd.py" "$T/qv" \
	"$T/qv/good.vhdx" || fail "qcow2/vhd generator failed"
for n in q-good.qcow2 q-zstdgood.qcow2 v-good.vhd; do
	run_bounded ok "$T/info" "$VMIE" info --check "$T/qv/$n"
	grep -q 'no errors found' "$T/info" || fail "$n: check found errors"
	run_bounded ok "$T/convert" "$VMIE" convert -O raw "$T/qv/$n" "$T/o.raw"
	rm -f "$T/o.raw"
done
# name ~ what info --check (stdout or stderr) must say about it
while read -r n what; do
	img="$T/qv/$n"
	expect_bad_tables "$n" "$img" "$what"
	# tables read at open (VHD, VHDX BAT) are refused by every command;
	# the rest need the data pass of vmie check (it has --quick)
	case "$n" in *.vhd|*.vhdx) ;; *) $have_data_pass || continue ;; esac
	grep -q 'FMT-005' "$T/check" "$T/check.err" ||
		{ cat "$T/check"; fail "$n: vmie check does not name FMT-005"; }
	e=$(budget_field entries "$T/info")
	[ "${e:-0}" -le 8192 ] || fail "$n: info --check visited $e entries"
done <<'LIST'
q-l2-eof.qcow2 guest cluster 1 \(L1 entry 0, L2 entry 1\): data at 0x40000 is past the end of the file
q-l1-eof.qcow2 active L1 table entry 0: L2 table offset 0x40000 .*past the end of the file
q-zgarbage.qcow2 compressed cluster at 0x5000 \(deflate\) does not decompress
q-zlong.qcow2 compressed cluster at 0x5000 \(deflate\) does not decompress: deflate stream inflates past the cluster
q-zstdgarbage.qcow2 compressed cluster at 0x5000 \(zstd\) does not decompress
q-zstdlong.qcow2 compressed cluster at 0x5000 \(zstd\) does not decompress: zstd frame inflates past the cluster
v-bat-eof.vhd BAT entry 1 points past end of file
x-bat-eof.vhdx BAT entry for block 0 points past end of file
LIST
# a spent inflate budget stops the table walk's inflation with a note, not
# a failure: the data pass of vmie check inflates every cluster anyway (it
# still finds the bad one), and inspection gets its own phase of the budget
run_bounded ok "$T/info" "$VMIE" info --check --limit inflate=1 "$T/qv/q-zstdgood.qcow2"
grep -q 'not inflated: inflate budget spent' "$T/info" ||
	fail "no note when the inflate budget stops the walk"
run_bounded any "$T/check" "$VMIE" check --limit inflate=1 "$T/qv/q-zstdgood.qcow2"
grep -q FMT-005 "$T/check" "$T/check.err" && fail "budget spent by the walk fails the check"
if $have_data_pass; then
	run_bounded any "$T/check" "$VMIE" check --limit inflate=1 "$T/qv/q-zstdlong.qcow2"
	grep -q 'FMT-005' "$T/check" || fail "data pass skipped with a spent inflate budget"
fi
# ==== end qcow2 / VHD / VHDX ====

echo ok
