#!/bin/bash
# VMDK samples written by VMware and qemu: raw contents must match what
# qemu-img 7.2 decodes (EXPECTED.tsv); SEsparse and the fuzzed afl9 image
# must be refused cleanly.
source "$SRCDIR/tests/functions.sh"
[ "${1:-}" = full-sha ] && VMDK_FULL_SHA=1

expected() { awk -F'\t' -v s="$1" '$1 == s { print $4 }' "$SAMPLES/EXPECTED.tsv"; }
vsize() { awk -F'\t' -v s="$1" '$1 == s { print $3 }' "$SAMPLES/EXPECTED.tsv"; }

# Hashing the 16 GiB of iotest-version3 takes minutes on a busy 2-core
# machine: by default it is compared with what qemu-img reads (block status
# skips the holes); VMDK_FULL_SHA=1 (the slow suite) checks EXPECTED.tsv.
for s in qemu-iotests/iotest-version3.vmdk.bz2 plaso/image.vmdk dfvfs/ext2.vmdk; do
	f=$(sample "$s")
	"$VMIE" info "$f" > "$T/info" || fail "info $s"
	grep -q "vmdk" "$T/info" || fail "info $s: not vmdk"
	"$VMIE" info --check "$f" > "$T/check" || { cat "$T/check"; fail "check $s"; }
	"$VMIE" convert -O raw "$f" "$T/out.raw"
	assert_eq "$(stat -c %s "$T/out.raw")" "$(vsize "$s")" "size of $s"
	if [ "$(vsize "$s")" -le $((64 << 20)) ] || [ "${VMDK_FULL_SHA:-0}" = 1 ]; then
		assert_eq "$(sha "$T/out.raw")" "$(expected "$s")" "raw sha256 of $s"
	else
		need qemu-img
		qemu-img compare -q -f raw -F vmdk "$T/out.raw" "$f" || fail "$s differs from qemu-img's reading"
	fi
	rm -f "$T/out.raw" "$f"
done

# the stream-optimized sample is version 3 with a footer
f=$(sample qemu-iotests/iotest-version3.vmdk.bz2)
"$VMIE" info "$f" | grep -q streamOptimized || fail "subformat of iotest-version3"

# SEsparse, through its descriptor and directly
cp "$SAMPLES/dissect.hypervisor/sesparse-desc.vmdk" "$T/"
sample dissect.hypervisor/sesparse.vmdk.gz > /dev/null
expect_fail '(SEsparse|seSparse).*FMT-002' "$VMIE" convert -O raw "$T/sesparse-desc.vmdk" "$T/x.raw"
expect_fail 'SEsparse.*FMT-002' "$VMIE" convert -O raw "$T/sesparse.vmdk" "$T/x.raw"
expect_fail 'FMT-002' "$VMIE" info "$T/sesparse-desc.vmdk"

# afl9: a fuzzed header with a huge capacity, refused without a huge
# allocation (a 1 GiB address-space limit would make one fail loudly)
f=$(sample qemu-iotests/afl9.vmdk.bz2)
if ldd "$VMIE" | grep -q libasan; then   # ASan reserves huge address space
	expect_fail 'capacity|grain|FMT-005' "$VMIE" info "$f"
else
	expect_fail 'capacity|grain|FMT-005' bash -c 'ulimit -v 1048576; exec "$0" info "$1"' "$VMIE" "$f"
fi
[ ! -e "$T/x.raw" ] || fail "output left behind"
echo ok
