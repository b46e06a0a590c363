#!/bin/bash
# The OVA writer: `vmie convert -O ova disk.raw vm.ova` writes vm.ovf, a
# stream-optimized VMDK and vm.mf in that order; GNU tar reads it, the
# manifest matches sha256sum of the extracted members, qemu-img reads the
# VMDK as the source's bytes, and vmie reads it back (info --check, raw).
source "$SRCDIR/tests/functions.sh"
need qemu-img tar sha256sum
cd "$T"
head -c 2M /dev/urandom > web01.raw
truncate -s 6M web01.raw
yes web01 | head -c 1M >> web01.raw
truncate -s 10000K web01.raw          # not a multiple of the grain
if ! "$VMIE" convert -O vmdk,streamOptimized web01.raw probe.vmdk 2>/dev/null; then
	skip "the VMDK writer is not available yet"
fi
"$VMIE" convert -O ova web01.raw web01.ova
tar tvf web01.ova > list || fail "GNU tar cannot list the OVA"
cat list
assert_eq "$(awk '{print $6}' list | tr '\n' ' ')" "web01.ovf web01-disk1.vmdk web01.mf " "member order"
mkdir x
(cd x && tar xf ../web01.ova) || fail "GNU tar cannot extract"
(cd x && sha256sum -c --strict <(sed -E 's/^SHA256\((.*)\)= (.*)$/\2  \1/' web01.mf)) ||
	fail "manifest digests differ from sha256sum"
assert_eq "$(wc -l < x/web01.mf)" 2 "manifest lines"
qemu-img info x/web01-disk1.vmdk | grep -q 'file format: vmdk' || fail "qemu-img format"
qemu-img compare -f vmdk -F raw x/web01-disk1.vmdk web01.raw || fail "qemu-img compare"
qemu-img convert -f vmdk -O raw x/web01-disk1.vmdk q.raw
assert_eq "$(sha q.raw)" "$(sha web01.raw)" "qemu-img decode of the VMDK member"
grep -q 'vmdk.html#streamOptimized' x/web01.ovf || fail "format URI"
grep -q 'ovf:capacity="10240000" ovf:capacityAllocationUnits="byte"' x/web01.ovf ||
	grep -q 'ovf:capacity="10000" ovf:capacityAllocationUnits="byte \* 2^10"' x/web01.ovf ||
	fail "capacity"
grep -q "ovf:href=\"web01-disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"$(stat -c %s x/web01-disk1.vmdk)\"" x/web01.ovf ||
	fail "File size in the OVF"
python3 - x/web01.ovf <<'PY' || fail "the OVF is not well-formed XML"
import sys, xml.dom.minidom
xml.dom.minidom.parse(sys.argv[1])
PY
"$BUILDDIR/tests/ova/ovf_dump" x/web01.ovf | grep -qx '	0 \[scsi\]' || fail "own parser"
"$VMIE" info --check web01.ova > info || { cat info; fail "vmie info --check"; }
grep -qx 'manifest: web01.mf: verified, 2 of 2 SHA256 digests match' info || fail "manifest check"
grep -qx 'vm name: web01' info || fail "vm name"
assert_eq "$(vmie_raw_sha web01.ova)" "$(sha web01.raw)" "vmie reads its own OVA"
# options: VM name, OS; refusing to overwrite
"$VMIE" convert -O ova -o vm_name=db02,os_id=101,os_type=otherLinux64Guest \
	web01.raw named.ova
tar tf named.ova | head -1 | grep -qx db02.ovf || fail "vm_name option"
"$VMIE" info named.ova | grep -qx 'os: 101 otherLinux64Guest' || fail "os option"
expect_fail "exist" "$VMIE" convert -O ova web01.raw web01.ova
assert_no_temp "$T"
# an empty disk (all zeros) still makes a valid OVA
truncate -s 1M empty.raw
"$VMIE" convert -O ova empty.raw empty.ova
"$VMIE" info --check empty.ova > /dev/null || fail "empty disk OVA"
assert_eq "$(vmie_raw_sha empty.ova)" "$(sha empty.raw)" "empty disk"
# a 9 GiB disk (sparse): the VMDK member gets a pax header reserved
truncate -s 9G big.raw
printf 'vmie-end' | dd of=big.raw bs=1 seek=$((9 * 1024 * 1024 * 1024 - 8)) conv=notrunc 2>/dev/null
"$VMIE" convert -O ova big.raw big.ova
tar tvf big.ova | awk '{print $6}' | tr '\n' ' ' | grep -qx 'big.ovf big-disk1.vmdk big.mf ' || fail "9 GiB: tar listing"
"$VMIE" info --check big.ova | grep -qx '  virtual size: 9 GiB (9663676416 bytes)' || fail "9 GiB: size"
"$VMIE" compare big.ova big.raw || fail "9 GiB: content"
echo ok
