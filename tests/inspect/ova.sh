#!/bin/bash
# vmie inspect on OVAs: every disk of the OVA is inspected in place, and
# the VM definition (struct vmie_insp_vm) comes from the OVF.  Two OVAs:
#  1. one written by `vmie convert -O ova` from the phony Debian 12 guest;
#  2. a hand-made two-disk OVA (tests/ova/ovatool.py, disks converted to
#     stream-optimized VMDK by qemu-img) of the multi-devnames guest, whose
#     root is on the SECOND disk.
# The OVF facts are checked against an independent reading of the
# descriptor (python's tar and XML parsers), the guest facts against the
# same guest inspected from its raw disks.
source "$SRCDIR/tests/functions.sh"
need python3 qemu-img mke2fs sfdisk
HERE="$SRCDIR/tests/inspect"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
KEY=$(cat "$HERE/mkguest.py" "$HERE/guestlib.py" | sha256sum | cut -c1-12)
CACHE="$BUILDDIR/inspect-guests/$KEY"

# check_ova OVA RAW-JSON OVA-JSON: the OVF (read by python) and the
# inspection of the OVA agree; the guest facts equal those of the raw disks
check_ova() {
	"$PY" - "$@" <<'PY'
import json, sys, tarfile
import xml.etree.ElementTree as ET
ova, raw, got = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
with tarfile.open(ova) as t:
    names = t.getnames()
    ovf = ET.fromstring(t.extractfile(names[0]).read())
NS = {'ovf': 'http://schemas.dmtf.org/ovf/envelope/1',
      'rasd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData'}
OVF = '{%s}' % NS['ovf']
vs = ovf.find('ovf:VirtualSystem', NS)
name = vs.findtext('ovf:Name', None, NS) or vs.get(OVF + 'id')
types = [i.findtext('rasd:ResourceType', None, NS)
         for i in vs.iter('{%s}Item' % NS['ovf'])]
osec = vs.find('ovf:OperatingSystemSection', NS)
files = {f.get(OVF + 'id'): f.get(OVF + 'href')
         for f in ovf.find('ovf:References', NS)}
disks = [files[d.get(OVF + 'fileRef')] for d in ovf.find('ovf:DiskSection', NS)
         if d.tag == OVF + 'Disk']
vm = got['vm']
bad = []
def eq(what, a, b):
    if a != b:
        bad.append('%s: %r != %r' % (what, a, b))
eq('vm.name', vm['name'], name)
eq('vm.nics', vm['nics'], types.count('10'))
eq('vm.cdroms', vm['cdroms'], types.count('15') + types.count('16'))
eq('vm.disks', vm['disks'], len(disks))
eq('vm.cim_os_id', vm['cim_os_id'], osec.get(OVF + 'id') if osec is not None else None)
eq('disk count', len(got['disks']), len(disks))
for i, d in enumerate(got['disks']):
    eq('disk%d path' % i, d['path'], ova + ':' + disks[i])
    eq('disk%d format' % i, d['format'], 'vmdk')
    eq('disk%d size' % i, d['virtual_size'], raw['disks'][i]['virtual_size'])
for k in ('type', 'uuid', 'device', 'mountpoint', 'size'):
    eq('fs ' + k, [f[k] for f in got['filesystems']], [f[k] for f in raw['filesystems']])
o, r = got['operating_systems'], raw['operating_systems']
eq('n_os', len(o), len(r))
for k in ('distro', 'version', 'root_device', 'root_disk', 'arch', 'hostname'):
    eq('os ' + k, o[0][k], r[0][k])
eq('kernel', o[0]['linux']['default_kernel'], r[0]['linux']['default_kernel'])
eq('fstab', [e['resolves_to'] for e in o[0]['linux']['fstab']],
   [e['resolves_to'] for e in r[0]['linux']['fstab']])
eq('initrd drivers', o[0]['linux']['initrd']['drivers'], r[0]['linux']['initrd']['drivers'])
eq('boot', o[0]['boot'], r[0]['boot'])
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# 1. vmie convert -O ova of a one-disk guest
img=$("$PY" "$HERE/mkguest.py" build "$CACHE" debian12) || fail "build debian12"
"$VMIE" convert -O ova -o vm_name=deb12vm,os_id=96 "$img" "$T/one.ova" >/dev/null ||
	fail "convert -O ova"
"$VMIE" inspect --json "$img" > "$T/raw1.json" || fail "inspect raw"
"$VMIE" inspect --json "$T/one.ova" > "$T/ova1.json" 2> "$T/err" ||
	{ cat "$T/err" >&2; fail "inspect one.ova"; }
check_ova "$T/one.ova" "$T/raw1.json" "$T/ova1.json" || fail "one.ova: facts differ"
"$PY" - "$T/ova1.json" <<'PY' || fail "one.ova: facts"
import json, sys
d = json.load(open(sys.argv[1]))
assert d['vm']['name'] == 'deb12vm' and d['vm']['disks'] == 1, d['vm']
assert d['vm']['cim_os_id'] == '96', d['vm']
assert d['disks'][0]['subformat'] == 'streamOptimized', d['disks'][0]
o = d['operating_systems'][0]
assert (o['distro'], o['version'], o['root_device']) == ('debian', '12.5', 'disk0p1'), o
PY
"$VMIE" inspect "$T/one.ova" > "$T/text" || fail "text output"
grep -q '^VM: deb12vm, .* 1 disk(s)' "$T/text" || { cat "$T/text"; fail "text: no VM line"; }

# 2. a hand-made OVA with two disks, the root on the second
imgs=$("$PY" "$HERE/mkguest.py" build "$CACHE" multi-devnames) || fail "build multi-devnames"
read -r -a d <<< "$imgs"
[ ${#d[@]} = 2 ] || fail "multi-devnames: expected two disks"
for i in 0 1; do
	qemu-img convert -O vmdk -o subformat=streamOptimized "${d[$i]}" "$T/d$i.vmdk" ||
		fail "qemu-img convert"
done
"$PY" "$SRCDIR/tests/ova/ovatool.py" ovf "$T/two.ovf" --name two-disk-vm \
	--disk "disk-a.vmdk:$(stat -c %s "${d[0]}")" \
	--disk "disk-b.vmdk:$(stat -c %s "${d[1]}")" || fail "ovatool ovf"
"$PY" "$SRCDIR/tests/ova/ovatool.py" tar "$T/two.ova" "two.ovf=$T/two.ovf" \
	"disk-a.vmdk=$T/d0.vmdk" "disk-b.vmdk=$T/d1.vmdk" || fail "ovatool tar"
"$VMIE" inspect --json "${d[@]}" > "$T/raw2.json" || fail "inspect raw disks"
"$VMIE" inspect --json "$T/two.ova" > "$T/ova2.json" 2> "$T/err" ||
	{ cat "$T/err" >&2; fail "inspect two.ova"; }
check_ova "$T/two.ova" "$T/raw2.json" "$T/ova2.json" || fail "two.ova: facts differ"
"$PY" - "$T/ova2.json" <<'PY' || fail "two.ova: facts"
import json, sys
d = json.load(open(sys.argv[1]))
vm = d['vm']
assert (vm['name'], vm['nics'], vm['cdroms'], vm['disks'], vm['firmware']) == \
    ('two-disk-vm', 1, 1, 2, 'efi'), vm
o = d['operating_systems'][0]
assert o['root_device'] == 'disk1p1' and o['root_disk'] == 1, o['root_device']
assert [e['resolves_to'] for e in o['linux']['fstab']] == ['disk1p1', 'disk0p1', 'disk0p2']
assert d['disks'][1]['partition_table']['boot_code'] == 'grub2'
PY
# a broken OVA is refused with exit 2 and a message naming it
head -c 20000 "$T/two.ova" > "$T/cut.ova"
rc=0; "$VMIE" inspect "$T/cut.ova" > /dev/null 2> "$T/err" || rc=$?
assert_eq "$rc" 2 "exit status for a truncated OVA"
grep -q 'cut.ova\|disk-a.vmdk\|two.ovf' "$T/err" || { cat "$T/err"; fail "error does not name the OVA"; }
echo ok
