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

# stream-optimized structure: header v3, footer, end-of-stream, GT markers
python3 - "$T/streamOptimized.vmdk" <<'PY' || fail "stream layout"
import struct, sys
b = open(sys.argv[1], 'rb').read()
assert b[:4] == b'KDMV'
ver, flags = struct.unpack_from('<II', b, 4)
assert ver == 3 and flags & 0x30000 == 0x30000, (ver, flags)
assert struct.unpack_from('<Q', b, 0x38)[0] == 2**64 - 1
assert struct.unpack_from('<QII', b, len(b) - 1536) == (1, 0, 3)
assert b[len(b) - 1024:len(b) - 1020] == b'KDMV'
assert b[-512:] == bytes(512)
gd = struct.unpack_from('<Q', b, len(b) - 1024 + 0x38)[0] * 512
assert struct.unpack_from('<QII', b, gd - 512)[2] == 2     # GD marker
gt = struct.unpack_from('<I', b, gd)[0] * 512
assert struct.unpack_from('<QII', b, gt - 512) == (4, 0, 1)  # GT marker
d = b[512:4096].split(b'\0')[0].decode()
for k in ('createType="streamOptimized"', 'ddb.adapterType = "lsilogic"',
          'ddb.geometry.heads = "255"', 'ddb.virtualHWVersion', 'ddb.longContentID'):
    assert k in d, k
PY

# options
"$VMIE" convert -O vmdk -o adapter_type=ide,hwversion=13 "$T/src.raw" "$T/ide.vmdk"
head -c 4096 "$T/ide.vmdk" | grep -aq 'ddb.adapterType = "ide"' || fail "adapter_type"
head -c 4096 "$T/ide.vmdk" | grep -aq 'ddb.virtualHWVersion = "13"' || fail "hwversion"
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
