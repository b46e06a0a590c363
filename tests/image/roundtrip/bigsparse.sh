#!/bin/bash
# A disk over 2 TiB virtual, sparse: every format that can hold it round
# trips quickly (holes are skipped); VHD (max 2040 GiB) refuses clearly.
source "$SRCDIR/tests/functions.sh"
need qemu-img
SIZE=$(( 3 * 1024 * 1024 * 1024 * 1024 + 512 ))   # 3 TiB + one sector
truncate -s $SIZE "$T/big.raw"
printf 'first' | dd of="$T/big.raw" conv=notrunc status=none
printf 'middle' | dd of="$T/big.raw" bs=1 seek=$(( 2300 * 1024 * 1024 * 1024 )) conv=notrunc status=none
printf 'last!' | dd of="$T/big.raw" bs=1 seek=$(( SIZE - 5 )) conv=notrunc status=none
for f in vmdk,streamOptimized vmdk,monolithicSparse vhdx,dynamic qcow2; do
	out="$T/big.${f%%,*}"
	"$VMIE" convert -O "$f" "$T/big.raw" "$out" || fail "convert -> $f"
	"$VMIE" compare "$T/big.raw" "$out" >/dev/null || fail "compare $f"
	vs=$("$VMIE" info --json "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual_size"])')
	assert_eq "$vs" "$SIZE" "virtual size of $f"
	"$VMIE" convert -O raw "$out" "$T/back.raw" || fail "$f -> raw"
	# cmp would read 3 TiB of zeros: compare by content with holes skipped,
	# and look at the three writes directly
	"$VMIE" compare -s "$T/big.raw" "$T/back.raw" >/dev/null || fail "$f -> raw differs"
	for o in 0 $(( 2300 * 1024 * 1024 * 1024 )) $(( SIZE - 5 )); do
		a=$(dd if="$T/big.raw" bs=1 skip=$o count=5 status=none | od -An -tx1)
		b=$(dd if="$T/back.raw" bs=1 skip=$o count=5 status=none | od -An -tx1)
		assert_eq "$b" "$a" "bytes at $o after $f"
	done
	[ "$(du -k "$T/back.raw" | cut -f1)" -lt 10240 ] || fail "$f -> raw is not sparse"
	rm -f "$out" "$T/back.raw"
	echo "ok: $f"
done
expect_fail "2040|too large|maximum" "$VMIE" convert -O vhd,dynamic "$T/big.raw" "$T/big.vhd"
[ ! -e "$T/big.vhd" ] || fail "partial VHD left behind"
assert_no_temp "$T"
