#!/bin/bash
# What vmie writes as VMDK (streamOptimized, monolithicSparse) passes
# qemu-img check and compare, and reads back through vmie to the same bytes.
source "$SRCDIR/tests/functions.sh"
need qemu-img python3
D="$SRCDIR/tests/image/vmdk"

size=$((6 * 1048576 + 7 * 512 + 123))     # not even a multiple of 512
python3 "$D/mkraw.py" "$T/src.raw" $size

for sub in streamOptimized monolithicSparse; do
	"$VMIE" convert -O "vmdk,$sub" "$T/src.raw" "$T/$sub.vmdk"
	qemu-img check -f vmdk "$T/$sub.vmdk" > "$T/check" 2>&1 || { cat "$T/check"; fail "$sub: qemu-img check"; }
	qemu-img info -f vmdk "$T/$sub.vmdk" | grep -q "create type: $sub" || fail "$sub: qemu-img info"
	qemu-img compare -f raw -F vmdk "$T/src.raw" "$T/$sub.vmdk" || fail "$sub: qemu-img compare"
	"$VMIE" compare "$T/src.raw" "$T/$sub.vmdk" || fail "$sub: vmie compare"
	"$VMIE" convert -O raw "$T/$sub.vmdk" "$T/$sub.raw"
	cmp -n $size "$T/src.raw" "$T/$sub.raw" || fail "$sub: round trip differs"
	assert_eq "$(stat -c %s "$T/$sub.raw")" $(( (size + 511) / 512 * 512 )) "$sub: size rounded to sectors"
	"$VMIE" info --check "$T/$sub.vmdk" > /dev/null || fail "$sub: vmie check"
	echo "ok $sub"
done

# the stream output is at most 5 % bigger than qemu-img's
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$T/src.raw" "$T/q.vmdk"
ours=$(stat -c %s "$T/streamOptimized.vmdk"); theirs=$(stat -c %s "$T/q.vmdk")
[ "$ours" -le $((theirs * 105 / 100)) ] || fail "stream output $ours bytes vs qemu-img $theirs"

# stream-optimized structure, rule by rule, by the independent reader
python3 "$D/vmdk_stream_check.py" --ours --raw "$T/src.raw" "$T/streamOptimized.vmdk" ||
	fail "stream layout"

# options
"$VMIE" convert -O vmdk -o adapter_type=ide,hwversion=13 "$T/src.raw" "$T/ide.vmdk"
head -c 4096 "$T/ide.vmdk" | grep -aq 'ddb.adapterType = "ide"' || fail "adapter_type"
head -c 4096 "$T/ide.vmdk" | grep -aq 'ddb.virtualHWVersion = "13"' || fail "hwversion"
python3 "$D/vmdk_stream_check.py" --ours --adapter ide --hw 13 --raw "$T/src.raw" "$T/ide.vmdk" ||
	fail "ide: layout"
qemu-img check -f vmdk "$T/ide.vmdk" > /dev/null || fail "ide: qemu-img check"
expect_fail "unknown option 'bogus'" "$VMIE" convert -O vmdk -o bogus=1 "$T/src.raw" "$T/b.vmdk"
expect_fail "adapter_type 'scsi'" "$VMIE" convert -O vmdk -o adapter_type=scsi "$T/src.raw" "$T/b.vmdk"
expect_fail "subformat 'monolithicFlat'" "$VMIE" convert -O vmdk,monolithicFlat "$T/src.raw" "$T/b.vmdk"
assert_no_temp "$T"

# stream -> sparse -> stream through vmie, and qemu reading a qemu-made
# stream re-encoded by vmie
"$VMIE" convert -O vmdk,monolithicSparse "$T/streamOptimized.vmdk" "$T/s2.vmdk"
"$VMIE" convert -O vmdk "$T/q.vmdk" "$T/s3.vmdk"
qemu-img compare "$T/s2.vmdk" "$T/s3.vmdk" || fail "chain differs"
echo ok
