#!/bin/bash
# The disk part of the OVF in vmie's OVA is what VMware's ovftool writes
# (virt-v2v's OVFs exported by VMware are the reference): the same Disk and
# File attributes, the streamOptimized format URI, a capacity whose units
# multiply back to the exact size, File sizes equal to the tar members, a
# SCSI controller of the same type as the VMDK's ddb.adapterType, and a
# VMDK member that the independent stream reader accepts byte for byte.
source "$SRCDIR/tests/functions.sh"
need python3 tar
D="$SRCDIR/tests/image/vmdk"
cd "$T"

python3 "$D/mkraw.py" web.raw $((64 * 1048576))
truncate -s 9G big.raw                     # GiB units, data at the end
printf 'vmie-end' | dd of=big.raw bs=1 seek=$((9 * 1024 * 1048576 - 8)) conv=notrunc status=none
python3 "$D/mkraw.py" odd.raw $((10 * 1048576 + 1536))   # byte units
for n in web big odd; do
	"$VMIE" convert -O ova "$n.raw" "$n.ova"
	mkdir "x$n"
	(cd "x$n" && tar xf "../$n.ova") || fail "$n: tar"
	python3 "$D/vmdk_stream_check.py" --ours --raw "$n.raw" "x$n/$n-disk1.vmdk" > "$n.chk" ||
		fail "$n: the VMDK member"
done
rm -f big.raw

python3 - "$SHARED/samples/virt-v2v-ovf" <<'PY' || fail "OVF differs from VMware's"
import glob, os, re, struct, sys
import xml.etree.ElementTree as ET

OVF = '{http://schemas.dmtf.org/ovf/envelope/1}'
RASD = ('{http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
        'CIM_ResourceAllocationSettingData}')
UNITS = {'byte': 1, 'byte * 2^10': 1 << 10, 'byte * 2^20': 1 << 20,
         'byte * 2^30': 1 << 30}

def disks(path):
    root = ET.parse(path).getroot()
    files = {f.get(OVF + 'id'): f for f in root.iter(OVF + 'File')}
    return root, files, list(root.iter(OVF + 'Disk'))

def local(attrs):
    return sorted(k.split('}')[1] for k in attrs)

# VMware's own exports (ovftool, vSphere): the reference Disk / File shape
ref_disk, ref_file, ref_fmt = set(), set(), set()
for p in sorted(glob.glob(os.path.join(sys.argv[1], '*.ovf'))):
    root, files, ds = disks(p)
    if 'vmw:buildId' not in open(p).read():
        continue                       # not written by VMware
    for d in ds:
        if d.get(OVF + 'format', '').endswith('#streamOptimized'):
            ref_disk.add(tuple(local(d.attrib)))
            ref_fmt.add(d.get(OVF + 'format'))
            f = files[d.get(OVF + 'fileRef')]
            if f.get(OVF + 'compression') is None:
                ref_file.add(tuple(local(f.attrib)))
assert len(ref_disk) == 1 and len(ref_fmt) == 1 and len(ref_file) == 1, \
    (ref_disk, ref_fmt, ref_file)
ref_disk, ref_fmt, ref_file = ref_disk.pop(), ref_fmt.pop(), ref_file.pop()
assert ref_fmt == ('http://www.vmware.com/interfaces/specifications/'
                   'vmdk.html#streamOptimized'), ref_fmt

for n, size in (('web', 64 << 20), ('big', 9 << 30),
                ('odd', (10 << 20) + 1536)):
    root, files, ds = disks(f'x{n}/{n}.ovf')
    assert len(ds) == 1, n
    d = ds[0]
    assert tuple(local(d.attrib)) == ref_disk, (n, local(d.attrib), ref_disk)
    assert d.get(OVF + 'format') == ref_fmt, n
    units = d.get(OVF + 'capacityAllocationUnits')
    cap = int(d.get(OVF + 'capacity')) * UNITS[units]
    assert cap == size, (n, cap, size)
    want_units = ('byte * 2^30' if size % (1 << 30) == 0 else
                  'byte * 2^20' if size % (1 << 20) == 0 else
                  'byte * 2^10' if size % (1 << 10) == 0 else 'byte')
    assert units == want_units, (n, units)
    f = files[d.get(OVF + 'fileRef')]
    assert tuple(local(f.attrib)) == ref_file, (n, local(f.attrib))
    member = f'x{n}/' + f.get(OVF + 'href')
    assert int(f.get(OVF + 'size')) == os.path.getsize(member), n
    vmdk = open(member, 'rb').read(4096)
    assert struct.unpack_from('<Q', vmdk, 12)[0] * 512 == cap, n
    # the extent line names the member, as VMware writes it, not the OVA
    ext = re.search(rb'RDONLY \d+ SPARSE "([^"]+)"', vmdk).group(1).decode()
    assert ext == f.get(OVF + 'href'), (n, ext)
    # the controller the disk hangs on has the VMDK's adapter type
    adapter = re.search(rb'ddb.adapterType = "(\w+)"', vmdk).group(1).decode()
    items = {i.findtext(RASD + 'InstanceID'): i for i in root.iter(OVF + 'Item')}
    disk_items = [i for i in items.values()
                  if i.findtext(RASD + 'HostResource', '').endswith(
                      '/' + d.get(OVF + 'diskId'))]
    assert len(disk_items) == 1, n
    ctrl = items[disk_items[0].findtext(RASD + 'Parent')]
    assert ctrl.findtext(RASD + 'ResourceSubType') == adapter, (n, adapter)
    # populatedSize: the bytes of data in the disk (test-i-ova.ovf: 15395
    # grains of 64 KiB); at least the grains the VMDK stores, at most the
    # capacity
    stored = int(re.search(r'populated=(\d+)',
                           open(f'{n}.chk').read()).group(1))
    pop = int(d.get(OVF + 'populatedSize'))
    # exactly the grains stored (the last one clipped to the disk size)
    assert pop == min(stored, size), (n, pop, stored)
print('ok')
PY
echo ok
