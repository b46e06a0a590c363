#!/bin/bash
# VMDKs made by qemu-img in every subformat it writes (embedded and
# descriptor files with extents): vmie must decode exactly what qemu-img
# decodes.
source "$SRCDIR/tests/functions.sh"
need qemu-img python3
D="$SRCDIR/tests/image/vmdk"

python3 "$D/mkraw.py" "$T/small.raw" $((6 * 1048576 + 7 * 512))
python3 "$D/mkraw.py" "$T/big.raw" $((2 * 1073741824 + 1048576 + 7 * 512)) split

for case in streamOptimized monolithicSparse monolithicSparse,zeroed_grain=on \
	    monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat; do
	sub=${case%%,*}
	src=small.raw
	case $sub in twoGb*) src=big.raw ;; esac
	dir="$T/${case//[,=]/_}"
	mkdir -p "$dir"
	qemu-img convert -f raw -O vmdk -o "subformat=$case" "$T/$src" "$dir/disk.vmdk"
	qemu-img convert -f vmdk -O raw "$dir/disk.vmdk" "$dir/qemu.raw"
	"$VMIE" info "$dir/disk.vmdk" > "$dir/info" || fail "$case: info"
	grep -q "$sub" "$dir/info" || { cat "$dir/info"; fail "$case: subformat"; }
	"$VMIE" info --check "$dir/disk.vmdk" > /dev/null || fail "$case: check"
	"$VMIE" convert -O raw "$dir/disk.vmdk" "$dir/vmie.raw" || fail "$case: convert"
	# qemu-img compare skips the holes of both sparse files (cmp would
	# read 2 GiB of them) and is independent of vmie's reader
	assert_eq "$(stat -c %s "$dir/vmie.raw")" "$(stat -c %s "$dir/qemu.raw")" "$case: size"
	qemu-img compare -q -f raw -F raw "$dir/qemu.raw" "$dir/vmie.raw" ||
		fail "$case: vmie and qemu-img decode differently"
	rm -rf "$dir"
	echo "ok $case"
done

# grains written out of order (qemu-img -W with several coroutines)
qemu-img convert -W -m 8 -f raw -O vmdk -o subformat=streamOptimized "$T/small.raw" "$T/ooo.vmdk"
"$VMIE" convert -O raw "$T/ooo.vmdk" "$T/ooo.raw"
qemu-img compare -q -f raw -F raw "$T/small.raw" "$T/ooo.raw" || fail "out-of-order stream"
"$VMIE" info --check "$T/ooo.vmdk" > /dev/null || fail "out-of-order stream: check"
echo "ok out-of-order stream"

# a missing extent file is named
mkdir "$T/miss"
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat "$T/small.raw" "$T/miss/disk.vmdk"
rm "$T/miss/disk-flat.vmdk"
expect_fail 'extent 0.*disk-flat.vmdk' "$VMIE" info "$T/miss/disk.vmdk"
echo ok
