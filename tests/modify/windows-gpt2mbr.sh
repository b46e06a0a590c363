#!/bin/bash
# GPT -> MBR with a BIOS boot configuration (issue 14, BOOT-006), end to
# end, on a phony Windows 10 UEFI guest built here in a dynamic VHDX:
#   GPT  p1 ESP (FAT32, bootmgfw.efi and an EFI BCD)   40 MiB
#        p2 Microsoft reserved                          16 MiB
#        p3 Windows (NTFS: hives, \Windows\Boot\PCAT\bootmgr and its
#           en-US resources, winload.exe; MountedDevices names C: and
#           the volume by their GPT GUIDs)                   64 MiB
#        p4 Windows recovery (NTFS)                     16 MiB
# `vmie import-image --dry-run` shows the old and the new table; the
# import converts, and the volume is read independently:
#   sfdisk -d        the MBR: same starts and sizes, types ef/7/27, the
#                    Windows partition active, the MSR gone, label-id the
#                    journal's signature; the boot code is syslinux's
#                    mbr.bin; no GPT header left (sector 1, last sector)
#   ntfscat          \bootmgr = the guest's PCAT bootmgr, the en-US
#                    resources, \Boot\Fonts (*.ttf only), \Boot\BCD,
#                    the kept sectors (the old GPT,
#                    byte for byte, and the old boot sector)
#   hivexget         the BCD's boot manager and Windows Boot Loader
#                    (winload.exe, the device elements name the MBR disk
#                    and the partition offset), the SYSTEM hive's
#                    MountedDevices in the MBR form, boot-start drivers
#   the NTFS boot sector's hidden sectors = the partition start (mkntfs
#   left 0), in the backup boot sector too; ntfsfix -n content
#   the journal: one BOOT-006 entry per change with SHA-256 before and
#   after that match the source and the volume
# A Windows 7 guest (pre-8) with the policy's IDE drivers gets the
# CriticalDeviceDatabase entries; a guest whose SYSTEM hive is dirty
# fails (MountedDevices cannot follow) with nothing registered, and
# imports as UEFI with --boot-mode uefi; a guest without the PCAT files is
# not converted, nor are the other cases of BOOT-006 (mkguest.py's
# win10-gpt-4prim in VHDX: 4 partitions in the MBR; win10-gpt in RAW: not
# VHDX; win10-gpt-dyn in VHDX: a dynamic disk, whose Windows volume is
# changed through its LDM volume): they import as UEFI with the table
# unchanged; the source is never written.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need mkntfs ntfscat ntfsfix hivexget hivexregedit sfdisk sha256sum mkfs.fat mcopy qemu-img
[ -x "$FIXTURE" ] || skip "no ntfs_fixture ($FIXTURE)"
MBRBIN=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$MBRBIN" ] || skip "no $MBRBIN (Debian package syslinux-common)"

SYS=/Windows/System32/config/SYSTEM
P3=6c0e7b62-4d6e-4b0a-9e3e-0123456789ab     # the Windows partition
P1=11111111-2222-4333-8444-555555555555     # the ESP

cat > "$T/mkw10.py" <<'PYEOF'
"""mkw10.py INSP WORK FIXTURE KIND P1 P3: the win10-gpt guest of
mkguest.py (ESP, MSR, Windows with the PCAT files, recovery) with known
partition and disk GUIDs, MountedDevices naming C: and the volumes by
their GPT GUIDs, and the IDE drivers on demand.  KIND win10, win10-nopcat
(no PCAT files), win10-dirty (its SYSTEM hive dirty) or win7 (Windows 7
SP1 x64 on GPT)."""
import os
import struct
import sys
import uuid
sys.path.insert(0, sys.argv[1])
import mkguest  # noqa: E402
g = mkguest.g
work, fixture, kind, p1, p3 = sys.argv[2:7]
os.makedirs(work, exist_ok=True)
real_hive, real_mkdisk = g.hive, g.mkdisk


def hive(path, prefix, keys):
    if prefix.endswith('\\SYSTEM'):
        keys = dict(keys)
        dm = b'DMIO:ID:' + uuid.UUID(p3).bytes_le
        # value names hold backslashes: doubled for the .reg file
        keys['MountedDevices'] = {
            r'\\DosDevices\\C:': dm,
            r'\\??\\Volume{0a1b2c3d-0000-0000-0000-000000000001}': dm,
            r'\\??\\Volume{0a1b2c3d-0000-0000-0000-000000000002}':
            b'DMIO:ID:' + uuid.UUID(p1).bytes_le}
        for s in ('intelide', 'atapi', 'stornvme'):
            keys['ControlSet001\\Services\\' + s] = {
                'Start': 3, 'Type': 1,
                'ImagePath': 'System32\\drivers\\%s.sys' % s}
    real_hive(path, prefix, keys)
    if kind == 'win10-dirty' and prefix.endswith('\\SYSTEM'):
        # Windows stopped before it merged its logs: the sequence
        # numbers differ (the header checksum stays right)
        with open(path, 'r+b') as f:
            h = bytearray(f.read(512))
            struct.pack_into('<I', h, 8, struct.unpack_from('<I', h, 4)[0] + 1)
            x = 0
            for i in range(0, 508, 4):
                x ^= struct.unpack_from('<I', h, i)[0]
            struct.pack_into('<I', h, 508, x)
            f.seek(0)
            f.write(h)


def mkdisk(img, size_mb, label, parts, **kw):
    parts[0]['uuid'], parts[2]['uuid'] = p1, p3     # ESP, C:
    real_mkdisk(img, size_mb, label, parts,
                disk_guid='D15C0001-AAAA-4BBB-8CCC-0123456789AB')


g.hive, g.mkdisk = hive, mkdisk
kw = dict(mkguest.WIN['win10-gpt'][0])
if kind == 'win10-nopcat':
    kw['pcat'] = False
elif kind == 'win7':
    kw.update(product='Windows 7 Professional', edition='Professional',
              version='6.1', major=None, build='7601', csd='Service Pack 1')
mkguest.win_guest(work, fixture, **kw)
PYEOF

# part DISK N OUT: partition N of DISK (sfdisk -J) into OUT
part() {
	local start size
	read -r start size < <(sfdisk -J "$1" | "$PY" -c '
import json, sys
p = [p for p in json.load(sys.stdin)["partitiontable"]["partitions"]
     if p["node"].endswith(sys.argv[1])][0]
print(p["start"] * 512, p["size"] * 512)' "$2")
	dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
		count="$size" status=none
}
# change PATH: the BOOT-006 journal entry for PATH as
# "device kept before after", "-" for what it lacks
change() {
	"$PY" - "$T/journal.json" "$1" <<'PYEOF'
import json, sys
c = [c for c in json.load(open(sys.argv[1]))['Changes']
     if c['Path'] == sys.argv[2] and c['Rule'] == 'BOOT-006']
if len(c) == 1:
    c = c[0]
    print(c['Device'], c.get('KeptAs') or '-', c.get('Sha256Before') or '-',
          c.get('Sha256After') or '-')
PYEOF
}
# hexle N BYTES...: little-endian hex of integer N in BYTES bytes
hexle() { "$PY" -c 'import sys; print(int(sys.argv[1], 0).to_bytes(int(sys.argv[2]), "little").hex())' "$1" "$2"; }
# regbin REG KEY VALUE: a REG_BINARY value of an export as plain hex
regbin() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import sys
lines = open(sys.argv[1], encoding='utf-8', errors='replace').read().splitlines()
key, name = '[%s]' % sys.argv[2], '"%s"=' % sys.argv[3].replace('\\', '\\\\')
for i, l in enumerate(lines):
    if l.strip().lower() == key.lower():
        for v in lines[i + 1:]:
            if v.startswith('['):
                break
            if v.startswith(name):
                val = v.split('=', 1)[1]
                print(val.split(':', 1)[1].replace(',', ''))
PYEOF
}

sed -e 's/^name .*/name gpt2mbr-ide/' -e '/^allow windows_boot_drivers/d' \
	"$SRCDIR/policies/aws-current" > "$T/ide.policy"
echo 'allow windows_boot_drivers intelide atapi' >> "$T/ide.policy"

"$PY" "$T/mkw10.py" "$INSP" "$T/w10" "$FIXTURE" win10 "$P1" "$P3" || fail "build the Windows 10 guest"
RAWSRC="$T/w10/disk.img"
qemu-img convert -f raw -O vhdx -o subformat=dynamic "$RAWSRC" "$BK/imports/w10.vhdx" ||
	fail "qemu-img convert to VHDX"
src_sum=$(sha "$BK/imports/w10.vhdx")
sfdisk -d "$RAWSRC" > "$T/src.sfdisk"
part "$RAWSRC" 3 "$T/src-c.img"
ntfscat "$T/src-c.img" "$SYS" > "$T/src-system" || fail "source SYSTEM"
SECTORS=$(( $(stat -c %s "$RAWSRC") / 512 ))

# ---- the check and the dry run: decided, and the two tables shown ----
"$VMIE" check --json --policy "$T/ide.policy" "$BK/imports/w10.vhdx" > "$T/check.json"
"$PY" - "$T/check.json" <<'PYEOF' || { cat "$T/check.json" >&2; fail "check: BOOT-006 did not decide GPT-to-MBR"; }
import json, sys
dec = json.load(open(sys.argv[1]))['decisions']
sys.exit(0 if dec['boot_mode'] == 'legacy-bios' and dec['gpt_to_mbr'] else 1)
PYEOF
vt import-image --dry-run --policy "$T/ide.policy" \
	--disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=w10.vhdx}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "dry run: exit $RC"; }
jget 'd["Diff"]' > "$T/diff"
grep -q '^-label: gpt' "$T/diff" || { cat "$T/diff" >&2; fail "dry run: the old table is not shown"; }
grep -q '^+label: dos' "$T/diff" || fail "dry run: the new table is not shown"
grep -q '^+disk0p2 : start=.*type=7 (NTFS/exFAT), bootable.*\[was disk0p3\]' "$T/diff" ||
	{ cat "$T/diff" >&2; fail "dry run: the Windows partition is not the active entry 2"; }
grep -q 'dropped: disk0p2 (Microsoft reserved' "$T/diff" || fail "dry run: the MSR is not said to be dropped"
[ "$(sha "$BK/imports/w10.vhdx")" = "$src_sum" ] || fail "the dry run changed the source"

# ---- the import ----
vt import-image --policy "$T/ide.policy" \
	--disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=w10.vhdx}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import: exit $RC"; }
[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" >&2; fail "import: not completed"; }
AMI=$(jget 'd["ImageId"]')
SNAP=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
VOL="$ST/volumes/$SNAP.raw"
[ -f "$VOL" ] || fail "no volume $VOL"
vt describe-images --image-ids "$AMI"
[ "$(jget 'd["Images"][0]["BootMode"]')" = legacy-bios ] || { cat "$T/out" >&2; fail "image boot mode"; }
vt image-journal --image-id "$AMI"
[ "$RC" = 0 ] || fail "image-journal: $(cat "$T/err")"
cp "$T/out" "$T/journal.json"
[ "$(sha "$BK/imports/w10.vhdx")" = "$src_sum" ] || fail "the import changed the source"

# the new table, read by sfdisk
sfdisk -d "$VOL" > "$T/new.sfdisk" || fail "sfdisk -d of the volume"
"$PY" - "$T/src.sfdisk" "$T/new.sfdisk" <<'PYEOF' || { cat "$T/new.sfdisk" >&2; fail "the new MBR"; }
import re, sys
def parts(path):
    out, label = [], {}
    for l in open(path):
        m = re.match(r'(\S+) : (.*)', l)
        if m:
            f = dict(x.strip().split('=', 1) if '=' in x else (x.strip(), True)
                     for x in m.group(2).split(','))
            out.append(f)
        elif ':' in l:
            k, v = l.split(':', 1)
            label[k.strip()] = v.strip()
    return label, out
ol, old = parts(sys.argv[1])
nl, new = parts(sys.argv[2])
assert nl['label'] == 'dos', nl
assert len(new) == 3, new
want = [(old[0], 'ef', False), (old[2], '7', True), (old[3], '27', False)]
for n, (o, t, boot) in zip(new, want):
    assert n['start'] == o['start'] and n['size'] == o['size'], (n, o)
    assert n['type'] == t, (n, t)
    assert bool(n.get('bootable')) == boot, n
print(nl['label-id'])
PYEOF
SIG=$(grep '^label-id:' "$T/new.sfdisk" | awk '{print $2}')
[ "$SIG" = 0xd15c0001 ] || fail "disk signature $SIG (want the GPT disk GUID's first field, 0xd15c0001)"
cmp -n 440 "$VOL" "$MBRBIN" || fail "the MBR boot code is not syslinux's mbr.bin"
[ -z "$(dd if="$VOL" bs=512 skip=1 count=33 status=none | tr -d '\0' | head -c1)" ] ||
	fail "the primary GPT is still there"
[ -z "$(dd if="$VOL" bs=512 skip=$((SECTORS - 33)) count=33 status=none | tr -d '\0' | head -c1)" ] ||
	fail "the backup GPT is still there"

# the journal: the sectors, kept byte for byte
set -- $(change "sectors 0-33 (MBR, primary GPT)")
[ $# = 4 ] || { cat "$T/journal.json" >&2; fail "no journal entry for sectors 0-33"; }
[ "$1" = disk0 ] && [ "$2" = disk0p3:/disk0-gpt-primary.vmie-orig ] || fail "sectors 0-33: $*"
[ "$3" = "$(head -c $((34 * 512)) "$RAWSRC" | sha256sum | cut -d' ' -f1)" ] || fail "sectors 0-33: SHA-256 before"
[ "$4" = "$(head -c $((34 * 512)) "$VOL" | sha256sum | cut -d' ' -f1)" ] || fail "sectors 0-33: SHA-256 after"
set -- $(change "sectors $((SECTORS - 33))-$((SECTORS - 1)) (backup GPT)")
[ $# = 4 ] || { cat "$T/journal.json" >&2; fail "no journal entry for the backup GPT"; }
[ "$2" = disk0p3:/disk0-gpt-backup.vmie-orig ] || fail "backup GPT kept as $2"

part "$VOL" 2 "$T/c.img"
part "$VOL" 3 "$T/rec.img"
for f in "$T/c.img" "$T/rec.img"; do
	ntfsfix -n "$f" > "$T/fix.log" 2>&1 || { cat "$T/fix.log" >&2; fail "ntfsfix -n $f"; }
done
ntfscat "$T/c.img" /disk0-gpt-primary.vmie-orig > "$T/kept-prim" || fail "no kept primary GPT"
cmp "$T/kept-prim" <(head -c $((34 * 512)) "$RAWSRC") || fail "the kept primary GPT is not the original"
ntfscat "$T/c.img" /disk0-gpt-backup.vmie-orig > "$T/kept-back" || fail "no kept backup GPT"
cmp "$T/kept-back" <(tail -c $((33 * 512)) "$RAWSRC") || fail "the kept backup GPT is not the original"

# the NTFS boot sectors: hidden sectors = the partition's start
C_START=$(sfdisk -J "$VOL" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])')
[ "$(od -An -tu4 -j28 -N4 "$T/c.img" | tr -d ' ')" = "$C_START" ] || fail "C: hidden sectors"
[ "$(od -An -tu4 -j28 -N4 "$T/src-c.img" | tr -d ' ')" != "$C_START" ] || fail "the source C: had the right hidden sectors: nothing tested"
total=$(od -An -tu8 -j40 -N8 "$T/c.img" | tr -d ' ')
[ "$(dd if="$T/c.img" bs=512 skip="$total" count=1 status=none | od -An -tu4 -j28 -N4 | tr -d ' ')" = "$C_START" ] ||
	fail "C: backup boot sector's hidden sectors"
ntfscat "$T/c.img" /disk0p3-bootsector.vmie-orig > "$T/kept-bs" || fail "no kept boot sector"
cmp "$T/kept-bs" <(head -c 512 "$T/src-c.img") || fail "the kept boot sector is not the original"

# the BIOS boot files
ntfscat "$T/c.img" /bootmgr > "$T/bootmgr" || fail "no \\bootmgr"
ntfscat "$T/src-c.img" /Windows/Boot/PCAT/bootmgr > "$T/src-bootmgr"
cmp "$T/bootmgr" "$T/src-bootmgr" || fail "\\bootmgr is not the guest's PCAT bootmgr"
ntfscat "$T/c.img" /Boot/en-US/bootmgr.exe.mui > "$T/mui" || fail "no \\Boot\\en-US\\bootmgr.exe.mui"
cmp "$T/mui" <(ntfscat "$T/src-c.img" /Windows/Boot/PCAT/en-US/bootmgr.exe.mui) || fail "bootmgr.exe.mui content"
for f in segmono_boot.ttf wgl4_boot.ttf; do
	ntfscat "$T/c.img" /Boot/Fonts/$f > "$T/font" || fail "no \\Boot\\Fonts\\$f"
	cmp "$T/font" <(ntfscat "$T/src-c.img" /Windows/Boot/Fonts/$f) || fail "\\Boot\\Fonts\\$f content"
	set -- $(change /Boot/Fonts/$f)
	[ "$1" = disk0p3 ] && [ "$4" = "$(sha "$T/font")" ] || fail "journal of \\Boot\\Fonts\\$f: $*"
done
ntfscat "$T/c.img" /Boot/Fonts/readme.txt >/dev/null 2>&1 && fail "a file that is not a font copied to \\Boot\\Fonts"
set -- $(change /bootmgr)
[ "$1" = disk0p3 ] && [ "$2" = - ] && [ "$3" = - ] && [ "$4" = "$(sha "$T/bootmgr")" ] ||
	{ cat "$T/journal.json" >&2; fail "journal of \\bootmgr: $*"; }
ntfscat "$T/c.img" /Boot/BCD > "$T/bcd" || fail "no \\Boot\\BCD"
set -- $(change /Boot/BCD)
[ "$4" = "$(sha "$T/bcd")" ] || fail "journal of \\Boot\\BCD: $*"
BM='Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}'
LDR=$(hivexget "$T/bcd" "$BM\\Elements\\23000003" Element) || fail "BCD: no default object"
case "$LDR" in \{????????-????-????-????-????????????\}) ;; *) fail "BCD default: $LDR" ;; esac
[ "$(hivexget "$T/bcd" "Objects\\$LDR\\Elements\\12000002" Element)" = '\Windows\system32\winload.exe' ] ||
	fail "BCD: the loader's path is not winload.exe"
[ "$(hivexget "$T/bcd" "Objects\\$LDR\\Elements\\22000002" Element)" = '\Windows' ] ||
	fail "BCD: systemroot"
[ "$(hivexget "$T/bcd" "Objects\\$LDR\\Description" Type)" = 270532611 ] ||
	fail "BCD: the loader is not a Windows Boot Loader (0x10200003)"
hivexget "$T/bcd" "$BM\\Elements\\12000002" Element >/dev/null 2>&1 &&
	fail "BCD: the BIOS boot manager has a path (an EFI one?)"
hivexregedit --export "$T/bcd" '\' > "$T/bcd.reg" 2>/dev/null || fail "BCD export"
# device elements: the partition at C_START*512 on the disk with SIG
for k in "$BM\\Elements\\11000001" "Objects\\$LDR\\Elements\\11000001" "Objects\\$LDR\\Elements\\21000001"; do
	dev=$(regbin "$T/bcd.reg" "\\$k" Element)
	"$PY" - "$dev" "$C_START" "$SIG" <<'PYEOF' || fail "BCD device $k: $dev"
import struct, sys
b = bytes.fromhex(sys.argv[1])
start, sig = int(sys.argv[2]) * 512, int(sys.argv[3], 16)
# docs/windows-bcd.md: options GUID (16), type 6 = partition, flags,
# size, reserved; then the partition's offset, the partition style
# (1 = MBR) and the disk signature
assert len(b) >= 0x58, len(b)
dtype, = struct.unpack_from('<I', b, 16)
assert dtype == 6, dtype
assert start.to_bytes(8, 'little') in b[32:], 'no partition offset'
assert sig.to_bytes(4, 'little') in b[32:], 'no disk signature'
PYEOF
done

# the SYSTEM hive: MountedDevices in the MBR form, drivers at boot
ntfscat "$T/c.img" "$SYS" > "$T/system" || fail "no SYSTEM"
hivexregedit --export "$T/system" '\' > "$T/system.reg" 2>/dev/null || fail "SYSTEM export"
want="$(hexle "$SIG" 4)$(hexle $((C_START * 512)) 8)"
[ "$(regbin "$T/system.reg" '\MountedDevices' '\DosDevices\C:')" = "$want" ] ||
	fail "MountedDevices C: is not signature+offset ($want)"
[ "$(regbin "$T/system.reg" '\MountedDevices' '\??\Volume{0a1b2c3d-0000-0000-0000-000000000001}')" = "$want" ] ||
	fail "MountedDevices volume name"
[ "$(regbin "$T/system.reg" '\MountedDevices' '\??\Volume{0a1b2c3d-0000-0000-0000-000000000002}')" = \
  "$(hexle "$SIG" 4)$(hexle $((2048 * 512)) 8)" ] || fail "MountedDevices: the ESP's volume name"
[ "$(hivexget "$T/system" 'ControlSet001\Services\intelide' Start)" = 0 ] || fail "intelide not boot start"
# Windows 10 needs no CriticalDeviceDatabase entry
hivexget "$T/system" 'ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_7010' Service >/dev/null 2>&1 &&
	fail "Windows 10 got a CriticalDeviceDatabase entry"
ntfscat "$T/c.img" "$SYS.vmie-orig" > "$T/system-orig" || fail "SYSTEM original not kept"
cmp "$T/system-orig" "$T/src-system" || fail "the kept SYSTEM is not the original"
# the ESP is kept as it was (its UEFI BCD unchanged)
part "$VOL" 1 "$T/esp.img"
cmp "$T/esp.img" <(part "$RAWSRC" 1 /dev/stdout) || fail "the ESP changed"
store_clean "windows 10"

# ---- Windows 7 (before 8): CriticalDeviceDatabase entries ----
"$PY" "$T/mkw10.py" "$INSP" "$T/w7" "$FIXTURE" win7 "$P1" "$P3" || fail "build the Windows 7 guest"
qemu-img convert -f raw -O vhdx "$T/w7/disk.img" "$BK/imports/w7.vhdx" || fail "convert w7"
vt import-image --policy "$T/ide.policy" \
	--disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=w7.vhdx}"
[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" "$T/err" >&2; fail "w7 import"; }
VOL="$ST/volumes/$(jget 'd["SnapshotDetails"][0]["SnapshotId"]').raw"
part "$VOL" 2 "$T/c7.img"
ntfscat "$T/c7.img" "$SYS" > "$T/system7" || fail "w7: no SYSTEM"
CDD='ControlSet001\Control\CriticalDeviceDatabase'
[ "$(hivexget "$T/system7" "$CDD\\pci#ven_8086&dev_7010" Service)" = intelide ] || fail "w7: no CDD entry for PIIX3 IDE"
[ "$(hivexget "$T/system7" "$CDD\\pci#ven_8086&dev_7010" ClassGUID)" = '{4D36E96A-E325-11CE-BFC1-08002BE10318}' ] ||
	fail "w7: CDD ClassGUID"
[ "$(hivexget "$T/system7" "$CDD\\primary_ide_channel" Service)" = atapi ] || fail "w7: no CDD entry for the IDE channel"
sfdisk -d "$VOL" | grep -q '^label: dos' || fail "w7: not converted"

# ---- no PCAT files: stays GPT and UEFI ----
"$PY" "$T/mkw10.py" "$INSP" "$T/np" "$FIXTURE" win10-nopcat "$P1" "$P3" || fail "build the no-PCAT guest"
qemu-img convert -f raw -O vhdx "$T/np/disk.img" "$BK/imports/np.vhdx" || fail "convert np"
vt import-image --disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=np.vhdx}"
[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" "$T/err" >&2; fail "np import"; }
VOL="$ST/volumes/$(jget 'd["SnapshotDetails"][0]["SnapshotId"]').raw"
sfdisk -d "$VOL" | grep -q '^label: gpt' || fail "no-PCAT guest was converted"
# ---- a dirty SYSTEM hive: MountedDevices cannot follow, the import fails ----
"$PY" "$T/mkw10.py" "$INSP" "$T/dirty" "$FIXTURE" win10-dirty "$P1" "$P3" || fail "build the dirty guest"
qemu-img convert -f raw -O vhdx "$T/dirty/disk.img" "$BK/imports/dirty.vhdx" || fail "convert dirty"
n_vols=$(ls "$ST/volumes" | wc -l)
n_imgs=$(sqlite3 "$ST/vmie.db" "select count(*) from records where kind = 'image'" 2>/dev/null || echo ?)
vt import-image --disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=dirty.vhdx}"
[ "$RC" != 0 ] && [ "$(jget 'd["Status"]')" = deleted ] || { cat "$T/out" "$T/err" >&2; fail "dirty: imported"; }
jget 'd["StatusMessage"]' | grep -q "config/SYSTEM: BOOT-006: the drive letters cannot follow the disk from GPT to MBR (MountedDevices not rewritten: the hive is dirty.*import it with boot mode UEFI" ||
	fail "dirty: StatusMessage $(jget 'd["StatusMessage"]')"
[ "$(ls "$ST/volumes" | wc -l)" = "$n_vols" ] || fail "dirty: a volume was left"
[ "$(sqlite3 "$ST/vmie.db" "select count(*) from records where kind = 'image'" 2>/dev/null || echo ?)" = "$n_imgs" ] ||
	fail "dirty: an image was registered"
# as UEFI it imports: the disk stays GPT, the hive is left with a note
vt import-image --boot-mode uefi --disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=dirty.vhdx}"
[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" "$T/err" >&2; fail "dirty: UEFI import"; }
VOL="$ST/volumes/$(jget 'd["SnapshotDetails"][0]["SnapshotId"]').raw"
sfdisk -d "$VOL" | grep -q '^label: gpt' || fail "dirty: converted as UEFI"
store_clean "dirty"
# ---- the other cases of BOOT-006, imported: the disk stays GPT (UEFI) ----
# tablesig IMG: the partition table as sfdisk -d says it, without the
# device names
tablesig() { sfdisk -d "$1" | sed -e '/^device:/d' -e 's/^[^ ]* : //'; }
for c in "win10-gpt-4prim VHDX" "win10-gpt RAW" "win10-gpt-dyn VHDX"; do
	set -- $c
	img=$(guest "$1")
	if [ "$2" = VHDX ]; then
		qemu-img convert -f raw -O vhdx "$img" "$BK/imports/$1.img" || fail "$1: convert"
	else
		cp "$img" "$BK/imports/$1.img"
	fi
	vt import-image --disk-containers "Format=$2,UserBucket={S3Bucket=imports,S3Key=$1.img}"
	[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" "$T/err" >&2; fail "$1 ($2): import"; }
	ami=$(jget 'd["ImageId"]')
	VOL="$ST/volumes/$(jget 'd["SnapshotDetails"][0]["SnapshotId"]').raw"
	[ "$(tablesig "$VOL")" = "$(tablesig "$img")" ] || fail "$1 ($2): the partition table changed"
	vt describe-images --image-ids "$ami"
	[ "$(jget 'd["Images"][0]["BootMode"]')" = uefi ] || fail "$1 ($2): boot mode not uefi"
	vt image-journal --image-id "$ami"
	cp "$T/out" "$T/journal.json"
	"$PY" - "$T/journal.json" <<'PYEOF' || { cat "$T/journal.json" >&2; fail "$1 ($2): journal"; }
import json, sys
c = json.load(open(sys.argv[1]))['Changes']
assert not [x for x in c if x['Rule'] == 'BOOT-006'], 'a BOOT-006 change'
assert [x for x in c if x['Rule'] == 'PREP-009'], 'no RealTimeIsUniversal change'
PYEOF
done
# the dynamic disk's Windows volume was written through its LDM volume
case "$(cat "$T/journal.json")" in *'disk0:ldm:'*) ;; *) fail "win10-gpt-dyn: the change is not on the dynamic volume" ;; esac
store_clean "all"
echo "ok"
