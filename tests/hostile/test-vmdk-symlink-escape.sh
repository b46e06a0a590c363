#!/bin/bash
# Issue 9: a VMDK extent that is a symbolic link in the image's directory
# pointing elsewhere on the host made vmie read that file.  A link whose
# target resolves outside the directory the user named is refused, with a
# message naming the extent; a link to a file inside it still reads.
. "$SRCDIR/tests/functions.sh"
need python3
python3 "$SRCDIR/tests/hostile/gen_vmdk-symlink-escape.py" "$T/d" ||
	fail "generator failed"
D="$T/d/img"

for n in abs rel chain devzero dotdot sparse; do
	every_command fail fail fail fail "$D/$n.vmdk"
	for c in info inspect convert; do
		grep -q "extent 0.*symbolic link that leads outside the directory" \
			"$T/$c.err" ||
			{ cat "$T/$c.err"; fail "$c of $n.vmdk: no refusal message"; }
		! grep -q SECRET "$T/$c" || fail "$c of $n.vmdk read the secret"
	done
	[ ! -e "$T/conv.out" ] || fail "convert of $n.vmdk left an output"
done

# links that stay inside the directory, and the plain file, read the data
want=$(sha "$D/flat.bin")
for n in good inside subdir; do
	run_bounded ok "$T/info" "$VMIE" info --check "$D/$n.vmdk"
	run_bounded ok "$T/convert" "$VMIE" convert -O raw "$D/$n.vmdk" "$T/o.raw"
	assert_eq "$(sha "$T/o.raw")" "$want" "$n.vmdk contents"
	rm -f "$T/o.raw"
done
assert_no_temp "$T"
echo ok
