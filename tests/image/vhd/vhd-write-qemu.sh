#!/bin/bash
# VHDs and VHDXs written by vmie (both subformats): qemu-img check passes
# (VHDX; qemu has no check for VHD), qemu-img compare with the source
# passes, vmie reads back the same bytes, and the size is exact: a 4 GiB
# disk stays 4294967296 bytes for vmie AND qemu-img (no CHS rounding).
# Also the Azure option and the size errors.
source "$SRCDIR/tests/functions.sh"
need qemu-img python3
python3 "$SRCDIR/tests/image/vhd/mkraw.py" "$T/src.raw" $((9 * 1048576 + 512 * 5))
want=$(sha "$T/src.raw")

for o in vhd vhd,fixed vhdx vhdx,fixed vhdx,dynamic; do
	f="$T/out.${o/,/-}"
	case $o in vhdx*) q=vhdx ;; *) q=vpc ;; esac
	"$VMIE" convert -O $o "$T/src.raw" "$f"
	if [ $q = vhdx ]; then
		qemu-img check -q -f vhdx "$f" || fail "$o: qemu-img check"
	fi
	qemu-img compare -q -f $q -F raw "$f" "$T/src.raw" || fail "$o: qemu-img compare"
	"$VMIE" convert -O raw "$f" "$T/back.raw"
	assert_eq "$(sha "$T/back.raw")" "$want" "$o: vmie reads back"
	"$VMIE" info --check "$f" > /dev/null || fail "$o: vmie check"
	rm -f "$f" "$T/back.raw"
done
# dynamic outputs store no zero blocks
python3 - "$T/big.raw" <<'PY'
import sys
with open(sys.argv[1], 'wb') as f:
    f.truncate(64 << 20); f.seek(40 << 20); f.write(b'x' * 5000)
PY
"$VMIE" convert -O vhd "$T/big.raw" "$T/big.vhd"
"$VMIE" convert -O vhdx,dynamic -o block_size=1M "$T/big.raw" "$T/big.vhdx"
[ "$(stat -c %s "$T/big.vhd")" -lt $((3 << 20)) ] || fail "vhd dynamic stored zero blocks"
[ "$(stat -c %s "$T/big.vhdx")" -le $((5 << 20)) ] || fail "vhdx dynamic stored zero blocks"

# 4 GiB stays 4 GiB, for vmie and for qemu-img
truncate -s 4G "$T/four.raw"
printf 'first' | dd of="$T/four.raw" conv=notrunc status=none
printf 'last!' | dd of="$T/four.raw" bs=1 seek=$((4294967296 - 5)) conv=notrunc status=none
for o in vhd vhd,fixed vhdx vhdx,fixed; do
	f="$T/four.${o/,/-}"
	case $o in vhdx*) q=vhdx ;; *) q=vpc ;; esac
	"$VMIE" convert -O $o "$T/four.raw" "$f"
	assert_eq "$("$VMIE" info --json "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual_size"])')" \
		4294967296 "$o: size read back by vmie"
	assert_eq "$(qemu-img info -f $q --output=json "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
		4294967296 "$o: size read back by qemu-img"
	case $o in *fixed) ;; *)   # (fixed: 4 GiB of reads, content tested above)
	qemu-img compare -q -f $q -F raw "$f" "$T/four.raw" || fail "$o: 4 GiB compare"
	esac
	rm -f "$f"
done
rm -f "$T/four.raw"

# Azure: whole MiB required for azure=on, padded on request with round
expect_fail 'whole number of MiB.*azure=round' \
	"$VMIE" convert -O vhd,fixed -o azure=on "$T/src.raw" "$T/az.vhd"
expect_fail 'needs the fixed subformat' \
	"$VMIE" convert -O vhd -o azure=on "$T/src.raw" "$T/az.vhd"
"$VMIE" convert -O vhd,fixed -o azure=round "$T/src.raw" "$T/az.vhd"
assert_eq "$(stat -c %s "$T/az.vhd")" $((10 * 1048576 + 512)) "azure=round file size"
assert_eq "$(qemu-img info -f vpc --output=json "$T/az.vhd" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
	$((10 * 1048576)) "azure=round size for qemu-img"
truncate -s 10M "$T/mib.raw"
"$VMIE" convert -O vhd,fixed -o azure=on "$T/mib.raw" "$T/az2.vhd"

# sizes vmie will not write rather than change
truncate -s 1000001 "$T/odd.raw"
expect_fail 'not a multiple of 512' "$VMIE" convert -O vhd "$T/odd.raw" "$T/o.vhd"
expect_fail 'not a multiple of the 512-byte' "$VMIE" convert -O vhdx "$T/odd.raw" "$T/o.vhdx"
truncate -s 2041G "$T/huge.raw"
expect_fail 'at most 2040 GiB' "$VMIE" convert -O vhd "$T/huge.raw" "$T/o.vhd"
expect_fail "unknown option 'bogus=1'" "$VMIE" convert -O vhd -o bogus=1 "$T/mib.raw" "$T/o.vhd"
assert_no_temp "$T"
