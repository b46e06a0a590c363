#!/bin/bash
# A 3 TiB virtual disk with a few MiB of data: raw -> stream VMDK -> raw,
# fast because holes are never read or written.
source "$SRCDIR/tests/functions.sh"
need qemu-img
truncate -s 3T "$T/src.raw" 2>/dev/null || skip "no sparse files here"
for at in 0 1099511627776 2199023321600 3298534817792; do
	head -c 1048576 /dev/urandom | dd of="$T/src.raw" bs=1M seek=$((at / 1048576)) conv=notrunc status=none
done
printf 'tail' | dd of="$T/src.raw" bs=1 seek=$((3 * 1099511627776 - 4)) conv=notrunc status=none
"$VMIE" convert -O vmdk "$T/src.raw" "$T/big.vmdk"
[ "$(stat -c %s "$T/big.vmdk")" -lt $((8 * 1048576)) ] || fail "output too big"
qemu-img info "$T/big.vmdk" | grep -q '3 TiB' || fail "virtual size"
qemu-img check "$T/big.vmdk" > /dev/null || fail "qemu-img check"
"$VMIE" convert -O raw "$T/big.vmdk" "$T/back.raw"
assert_eq "$(stat -c %s "$T/back.raw")" 3298534883328 "size"
for at in 0 1099511627776 2199023321600 3298534817792; do
	cmp -n 1048576 -i $at "$T/src.raw" "$T/back.raw" || fail "data at $at"
done
assert_eq "$(tail -c 4 "$T/back.raw")" "tail" "tail"
# only the grains holding data are allocated
"$VMIE" info --json "$T/big.vmdk" > "$T/info.json"
python3 -c 'import json, sys; a = json.load(open(sys.argv[1]))["allocated"]; sys.exit(not 0 < a <= 5 << 20)' "$T/info.json" || { cat "$T/info.json"; fail "allocated bytes"; }
echo ok
