#!/bin/bash
# VHDs and VHDXs made by qemu-img (fixed and dynamic, VHDX also with 1 MiB
# blocks, VHD with force_size) from a raw disk with data, zero runs, holes
# and a size that is no multiple of anything: vmie must read the same bytes
# as qemu-img's own raw conversion of each, and the same virtual size.
source "$SRCDIR/tests/functions.sh"
need qemu-img python3
python3 "$SRCDIR/tests/image/vhd/mkraw.py" "$T/src.raw" $((9 * 1048576 + 12345))

make() { # NAME FMT OPTS
	qemu-img convert -q -f raw -O "$2" -o "$3" "$T/src.raw" "$T/$1"
}
make fixed.vhd vpc subformat=fixed
make dynamic.vhd vpc subformat=dynamic
make force.vhd vpc subformat=dynamic,force_size=on
make fixed.vhdx vhdx subformat=fixed
make dynamic.vhdx vhdx subformat=dynamic
make dyn1m.vhdx vhdx subformat=dynamic,block_size=1M

for f in fixed.vhd dynamic.vhd force.vhd fixed.vhdx dynamic.vhdx dyn1m.vhdx; do
	case $f in *.vhdx) q=vhdx v=vhdx ;; *) q=vpc v=vhd ;; esac
	qemu-img convert -q -f $q -O raw "$T/$f" "$T/q.raw"
	"$VMIE" convert -O raw "$T/$f" "$T/v.raw"
	"$VMIE" info "$T/$f" | grep -q "^file format: $v\$" || fail "$f: probed as $v"
	assert_eq "$(stat -c %s "$T/v.raw")" "$(stat -c %s "$T/q.raw")" "$f size"
	assert_eq "$(sha "$T/v.raw")" "$(sha "$T/q.raw")" "$f contents"
	"$VMIE" info --check "$T/$f" > /dev/null || fail "$f: check found problems"
	rm -f "$T/q.raw" "$T/v.raw"
done
