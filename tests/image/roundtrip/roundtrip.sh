#!/bin/bash
# Round trips for every writable format pair: raw -> A -> B -> raw gives the
# source bytes back; every output passes qemu-img check (where qemu-img has
# one) and qemu-img compare against the source; sizes never change.
source "$SRCDIR/tests/functions.sh"
need qemu-img python3
SIZE=$(( 24 * 1024 * 1024 + 4096 + 512 * 3 ))   # not a multiple of any block size
python3 "$SRCDIR/tests/image/roundtrip/mkdisk.py" "$T/src.raw" $SIZE 262144
SRC_SHA=$(sha "$T/src.raw")
FORMATS="raw vmdk,streamOptimized vmdk,monolithicSparse vhd,dynamic vhd,fixed vhdx,dynamic vhdx,fixed qcow2"

qemu_fmt() { case "$1" in vhd|vhd,*) echo vpc ;; *) echo "${1%%,*}" ;; esac; }
name() { echo "$1" | tr ',' '_'; }

for a in $FORMATS; do
	A="$T/a.$(name $a)"
	"$VMIE" convert -O "$a" "$T/src.raw" "$A" || fail "convert raw -> $a"
	qf=$(qemu_fmt "$a")
	if [ "$qf" != raw ] && [ "$qf" != vpc ]; then   # qemu-img has no VHD check
		qemu-img check -f "$qf" "$A" >"$T/chk" 2>&1 || { cat "$T/chk"; fail "qemu-img check $a"; }
	fi
	qemu-img compare -f raw -F "$qf" "$T/src.raw" "$A" >/dev/null || fail "qemu-img compare raw vs $a"
	vs=$("$VMIE" info --json "$A" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual_size"])')
	assert_eq "$vs" "$SIZE" "virtual size of $a"
	for b in $FORMATS; do
		B="$T/b.$(name $a).$(name $b)"
		"$VMIE" convert -O "$b" "$A" "$B" || fail "convert $a -> $b"
		"$VMIE" convert -O raw "$B" "$T/back.raw" || fail "convert $b -> raw"
		assert_eq "$(sha "$T/back.raw")" "$SRC_SHA" "content after raw -> $a -> $b -> raw"
		rm -f "$B" "$T/back.raw"
	done
	rm -f "$A"
	echo "ok: $a to every format"
done
assert_no_temp "$T"
