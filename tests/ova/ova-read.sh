#!/bin/bash
# Reading disks in place inside OVAs packed by GNU tar in ustar, pax and
# gnu formats (and a member name over 100 bytes): vmie must decode the same
# bytes as qemu-img does on the extracted file.  Raw and VHD disks inside an
# OVA are probed too.
source "$SRCDIR/tests/functions.sh"
need qemu-img tar python3
OVATOOL="python3 $SRCDIR/tests/ova/ovatool.py"
cd "$T"

# a 16 MiB disk: random data, a zero hole, a pattern, an odd tail
head -c 3M /dev/urandom > disk.raw
truncate -s 9M disk.raw
yes vmie-ova-test | head -c 5M >> disk.raw
truncate -s 16M disk.raw
want=$(sha disk.raw)

# raw inside an OVA works whatever the VMDK driver can do
$OVATOOL ovf raw.ovf --name rawvm --disk disk.raw:16777216
tar --format=ustar -cf raw.ova raw.ovf disk.raw
"$VMIE" info raw.ova > info.txt
grep -qx 'vm name: rawvm' info.txt || fail "vm name not shown"
grep -qx '  format: raw' info.txt || fail "inner raw format not shown"
assert_eq "$(vmie_raw_sha raw.ova)" "$want" "raw disk inside an OVA"
# descriptor in a folder (directory entry first): hrefs are relative to it
mkdir sub
cp disk.raw sub/disk.raw
$OVATOOL ovf sub/vm.ovf --name subvm --disk disk.raw:16777216
tar --format=gnu --no-recursion -cf sub.ova sub sub/vm.ovf sub/disk.raw
"$VMIE" info sub.ova | grep -q 'file disk.raw (16777216 bytes at' || fail "subfolder href"
assert_eq "$(vmie_raw_sha sub.ova)" "$want" "disk in a subfolder"

"$VMIE" info disk.raw >/dev/null
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw disk.vmdk
if ! "$VMIE" info disk.vmdk >/dev/null 2>&1; then
	skip "the VMDK driver cannot read stream-optimized VMDKs yet"
fi
qemu-img convert -f vmdk -O raw disk.vmdk ref.raw
ref=$(sha ref.raw)
assert_eq "$ref" "$want" "qemu-img round trip"

long=$(printf 'd%.0s' $(seq 1 60))/$(printf 'e%.0s' $(seq 1 60))/disk.vmdk
mkdir -p "$(dirname "$long")"
cp disk.vmdk "$long"
longfile=$(printf 'x%.0s' $(seq 1 120)).vmdk
cp disk.vmdk "$longfile"
for fmt in ustar pax gnu; do
	$OVATOOL ovf vm.ovf --name "vm-$fmt" --disk disk.vmdk:16777216
	tar --format=$fmt -cf "$fmt.ova" vm.ovf disk.vmdk
	tar tf "$fmt.ova" | head -1 | grep -qx vm.ovf || fail "tar order"
	assert_eq "$(vmie_raw_sha "$fmt.ova")" "$ref" "$fmt tar"
	"$VMIE" info "$fmt.ova" | grep -qx '  subformat: streamOptimized' ||
		fail "$fmt: inner subformat not shown"
	# a member name over 100 bytes (ustar: prefix field; pax: path
	# record; gnu: ././@LongLink)
	if [ $fmt = ustar ]; then name=$long; else name=$longfile; fi
	$OVATOOL ovf vm.ovf --name "long-$fmt" --disk "$name:16777216"
	tar --format=$fmt -cf "long-$fmt.ova" vm.ovf "$name"
	assert_eq "$(vmie_raw_sha "long-$fmt.ova")" "$ref" "$fmt tar, long name"
done
tar --format=gnu -tvf long-gnu.ova | grep -q "$longfile" || fail "gnu long name"

# a VHD inside an OVA: the inner format is probed
qemu-img convert -f raw -O vpc -o subformat=dynamic disk.raw disk.vhd
if "$VMIE" info disk.vhd >/dev/null 2>&1; then
	$OVATOOL ovf vhd.ovf --disk disk.vhd:16777216
	tar --format=pax -cf vhd.ova vhd.ovf disk.vhd
	"$VMIE" info vhd.ova | grep -qx '  format: vhd' || fail "vhd not probed"
	qemu-img convert -f vpc -O raw disk.vhd vhd.raw
	assert_eq "$(vmie_raw_sha vhd.ova)" "$(sha vhd.raw)" "vhd in ova"
fi
echo ok
