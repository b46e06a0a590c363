#!/bin/bash
# The OVF descriptors of virt-v2v's OVA tests (VMware exports): vmie's
# parse must agree with what virt-v2v printed (*.expected: name, memory,
# vCPUs, firmware, disks and their controllers, removable media, NICs).
source "$SRCDIR/tests/functions.sh"
DUMP="$BUILDDIR/tests/ova/ovf_dump"
D="$SAMPLES/virt-v2v-ovf"
[ -d "$D" ] || skip "virt-v2v-ovf samples missing"
n=0
for exp in "$D"/test-i-ova*.expected; do
	ovf=${exp%.expected}.ovf
	"$DUMP" "$ovf" > "$T/got" || fail "$ovf refused"
	# the lines virt-v2v prints that come from the OVF
	sed -n -e 's/^ *source name: /source name: /p' \
	    -e 's/^ *memory: /memory: /p' -e 's/^ *nr vCPUs: /nr vCPUs: /p' \
	    -e 's/^ *firmware: /firmware: /p' "$exp" > "$T/want"
	awk '/^disks:/{s=1} /^removable media:/{s=1} /^NICs:/{s=1}
	     /^$/{s=0} s' "$exp" >> "$T/want"
	grep -v '^x-' "$T/got" > "$T/got2"
	diff -u "$T/want" "$T/got2" || fail "$(basename "$ovf"): parse differs from virt-v2v"
	n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "only $n descriptors compared"

# Facts virt-v2v does not print: sizes with units, hrefs, gzip, OS.
"$DUMP" "$D/test-i-ova-two-disks.ovf" > "$T/o"
grep -qx 'x-disk: vmdisk1 file=disk1.vmdk size=7804077568 capacity=53687091200 format=vmdk-streamOptimized ctrl=lsilogicsas addr=0 unit=0 gzip=0' "$T/o" || fail "two-disks disk 1"
grep -qx 'x-disk: vmdisk2 file=disk2.vmdk size=178523318784 capacity=483183820800 format=vmdk-streamOptimized ctrl=lsilogicsas addr=0 unit=1 gzip=0' "$T/o" || fail "two-disks disk 2 (file over 8 GiB)"
grep -qx 'x-os: 103|windows7Server64Guest|Microsoft Windows Server 2008 R2 (64-bit)' "$T/o" || fail "os"
"$DUMP" "$D/test-i-ova-gz.ovf" | grep -q 'file=disk1.vmdk.gz .* gzip=1' || fail "gzip compression not seen"
# capacity in MiB units, no ovf:format, floppy, IDE CD in slot 1
"$DUMP" "$D/test-i-ova-as-root.ovf" > "$T/o"
grep -q 'capacity=536870912 ' "$T/o" || fail "byte * 2^20 capacity"
grep -q 'source name: ova-test' "$T/o" || fail "name"
"$DUMP" "$D/test-i-ova.ovf" > "$T/o"
grep -qx '	Floppy in slot 0' "$T/o" || fail "floppy"
grep -qx 'memory: 2147483648 (bytes)' "$T/o" || fail "memory"
echo "ok: $n descriptors agree with virt-v2v"
