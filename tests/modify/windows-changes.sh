#!/bin/bash
# The Windows changes of an import (PREP-009 RealTimeIsUniversal, PREP-010
# EMS off in the BCD, PREP-018 originals kept), end to end, on phony
# Windows guests of the inspection suite (tests/inspect/mkguest.py, NTFS
# volumes by mkntfs and ntfs_fixture, hives by hivexregedit):
#   win2008r2       MBR/BIOS: the BCD on the active "System Reserved" NTFS
#                   partition with EMS on in one object; RealTimeIsUniversal
#                   already 1 in its only control set: only the BCD changes
#   win2008r2-cs2   the same built here with two control sets (the current
#                   one ControlSet002, RealTimeIsUniversal 0 there and unset
#                   in ControlSet001) and EMS on in the boot manager
#                   (bootems) and in a Windows Boot Loader (ems): both
#                   hives change
#   win2019-ems     UEFI, the BCD on the FAT ESP with EMS on: changed
#                   through the libguestfs appliance (FAT is written by
#                   the appliance's kernel, never vmie's or the host's);
#                   the ESP read back with fsck.fat -n and mcopy
# After `vmie import-image` the volume is read independently: each
# partition cut out of it, checked by ntfsfix -n, ntfsresize --check and
# ntfs-3g.probe; the hives read with ntfscat and hivexget/hivexregedit;
# the kept originals and the journal's SHA-256 before and after compared
# with the source and the new files; `vmie inspect` of the volume says
# RealTimeIsUniversal is set and EMS is off; the source is unchanged.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need mkntfs ntfscat ntfsfix ntfsresize hivexget hivexregedit sfdisk sha256sum mcopy fsck.fat
[ -x "$FIXTURE" ] || skip "no ntfs_fixture ($FIXTURE)"

SYS=/Windows/System32/config/SYSTEM

# part DISK N OUT: partition N of DISK (sfdisk -J) into OUT
part() {
	local start size
	read -r start size < <(sfdisk -J "$1" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1]) - 1]
print(p["start"] * 512, p["size"] * 512)' "$2")
	dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
		count="$size" status=none
}
# ntfs_ok IMG WHAT: the ntfs-3g tools are content with the volume
ntfs_ok() {
	ntfsfix -n "$1" > "$T/fix.log" 2>&1 || { cat "$T/fix.log" >&2; fail "$2: ntfsfix -n"; }
	ntfsresize --check --no-progress-bar "$1" > "$T/rs.log" 2>&1 ||
		{ cat "$T/rs.log" >&2; fail "$2: ntfsresize --check"; }
	if command -v ntfs-3g.probe >/dev/null; then
		ntfs-3g.probe --readwrite "$1" >/dev/null 2>&1 || fail "$2: ntfs-3g.probe --readwrite"
	fi
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# change PATH RULE: the journal entry (in $T/journal.json) for PATH, as
# "device kept before after what"
change() {
	"$PY" - "$T/journal.json" "$1" "$2" <<'PYEOF'
import json, sys
c = [c for c in json.load(open(sys.argv[1]))['Changes']
     if c['Path'] == sys.argv[2] and c['Rule'] == sys.argv[3]]
if len(c) == 1:
    c = c[0]
    print(c['Device'], c.get('KeptAs', '-'), c.get('Sha256Before', '-'),
          c.get('Sha256After', '-'), c['What'])
PYEOF
}
# import_raw KEY: import-image of bucket object KEY; AMI, SNAP, VOL set,
# the journal in $T/journal.json
import_raw() {
	vt import-image --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=$1}"
	[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import $1: exit $RC"; }
	[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" >&2; fail "import $1: not completed"; }
	AMI=$(jget 'd["ImageId"]')
	SNAP=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
	VOL="$ST/volumes/$SNAP.raw"
	[ -f "$VOL" ] || fail "import $1: no volume $VOL"
	vt image-journal --image-id "$AMI"
	[ "$RC" = 0 ] || fail "image-journal: $(cat "$T/err")"
	cp "$T/out" "$T/journal.json"
}
# insp_ok WHAT: `vmie inspect` of $VOL sees EMS off and RealTimeIsUniversal set
insp_ok() {
	"$VMIE" inspect --json "$VOL" > "$T/insp.json" || fail "$1: inspect the volume"
	"$PY" -c 'import json, sys
w = json.load(open(sys.argv[1]))["operating_systems"][0]["windows"]
sys.exit(0 if w["ems_enabled"] is False and w["realtime_is_universal"] is True else 1)' "$T/insp.json" ||
		fail "$1: inspection of the volume: EMS on or RealTimeIsUniversal unset"
}
# bcd_el REG OBJECT ELEMENT: the Element value of a BCD element in the
# export REG (hivexregedit --export), "" when absent
bcd_el() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import sys
key = '[\\Objects\\%s\\Elements\\%s]' % (sys.argv[2], sys.argv[3])
lines = open(sys.argv[1], encoding='utf-8', errors='replace').read().splitlines()
for i, l in enumerate(lines):
    if l.strip().lower() == key.lower():
        for v in lines[i + 1:]:
            if v.startswith('['):
                break
            if v.startswith('"Element"='):
                print(v.split('=', 1)[1])
PYEOF
}

# ---- win2008r2: RealTimeIsUniversal set already, EMS on: only the BCD ----
w=$(guest win2008r2)
src_sum=$(sha "$w")
cp "$w" "$BK/imports/w8.raw"
part "$w" 1 "$T/src-sr.img"
part "$w" 2 "$T/src-c.img"
ntfscat "$T/src-sr.img" /Boot/BCD > "$T/src-bcd" || fail "source BCD"
ntfscat "$T/src-c.img" "$SYS" > "$T/src-system" || fail "source SYSTEM"
import_raw w8.raw
[ "$(sha "$w")" = "$src_sum" ] || fail "win2008r2: the import changed the source"
[ -z "$(change "$SYS" PREP-009)" ] || { cat "$T/journal.json" >&2; fail "win2008r2: SYSTEM changed, RealTimeIsUniversal was set"; }
set -- $(change /Boot/BCD PREP-010)
[ $# -ge 5 ] || { cat "$T/journal.json" >&2; fail "win2008r2: no BCD change in the journal"; }
[ "$1" = disk0p1 ] || fail "win2008r2: BCD change on $1, not disk0p1"
[ "$2" = /Boot/BCD.vmie-orig ] || fail "win2008r2: BCD kept as $2"
bcd_before=$3 bcd_after=$4
case "$*" in *"{a1b2c3d4-0000-0000-0000-000000000001}"*"ems (element 260000b0) on -> off"*) ;;
	*) fail "win2008r2: journal What: $*" ;; esac
part "$VOL" 1 "$T/sr.img"
part "$VOL" 2 "$T/c.img"
ntfs_ok "$T/sr.img" "win2008r2 System Reserved"
ntfs_ok "$T/c.img" "win2008r2 C:"
ntfscat "$T/sr.img" /Boot/BCD > "$T/bcd" || fail "win2008r2: no /Boot/BCD"
ntfscat "$T/sr.img" /Boot/BCD.vmie-orig > "$T/bcd-orig" || fail "win2008r2: no kept BCD"
[ "$(sha "$T/bcd-orig")" = "$(sha "$T/src-bcd")" ] || fail "win2008r2: the kept BCD is not the original"
[ "$bcd_before" = "$(sha "$T/src-bcd")" ] || fail "win2008r2: journal SHA-256 before"
[ "$bcd_after" = "$(sha "$T/bcd")" ] || fail "win2008r2: journal SHA-256 after"
hivexregedit --export "$T/bcd" '\' > "$T/bcd.reg" 2>/dev/null || fail "win2008r2: the new BCD is not a hive"
[ "$(bcd_el "$T/bcd.reg" '{a1b2c3d4-0000-0000-0000-000000000001}' 260000b0)" = 'hex(3):00' ] ||
	{ cat "$T/bcd.reg" >&2; fail "win2008r2: ems still on"; }
[ "$(hivexget "$T/bcd" 'Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\Elements\12000004' Element)" = \
  'Windows Boot Manager' ] || fail "win2008r2: the rest of the BCD was lost"
ntfscat "$T/c.img" "$SYS" > "$T/system" || fail "win2008r2: no SYSTEM"
[ "$(sha "$T/system")" = "$(sha "$T/src-system")" ] || fail "win2008r2: SYSTEM changed"
ntfscat "$T/c.img" "$SYS.vmie-orig" >/dev/null 2>&1 && fail "win2008r2: SYSTEM kept, though unchanged"
[ "$(hivexget "$T/system" 'ControlSet001\Control\TimeZoneInformation' RealTimeIsUniversal)" = 1 ] ||
	fail "win2008r2: RealTimeIsUniversal"
insp_ok win2008r2

# ---- win2008r2-cs2 and win2019-ems, built here ----
cat > "$T/mkwin.py" <<'PYEOF'
"""mkwin.py INSP WORK FIXTURE NAME: a variant of a Windows guest of
mkguest.py: win2008r2-cs2 (two control sets, the current one 2,
RealTimeIsUniversal unset and 0; EMS on in bootmgr and a boot loader) or
win2019-ems (UEFI, RealTimeIsUniversal unset, EMS on in the ESP's BCD)."""
import os
import sys
sys.path.insert(0, sys.argv[1])
import mkguest  # noqa: E402
g = mkguest.g
hive = g.hive


def two_sets(path, prefix, keys):
    if prefix.endswith('\\SYSTEM'):
        keys = dict(keys)
        for k, v in list(keys.items()):
            if k.startswith('ControlSet001\\'):
                keys['ControlSet002' + k[13:]] = dict(v)
        keys['ControlSet002\\Control\\TimeZoneInformation'][
            'RealTimeIsUniversal'] = 0
        # the target's disk driver (policy aws-current: stornvme), on
        # demand in one set, at boot already in the other
        keys['ControlSet001\\Services\\stornvme'] = {
            'Start': 3, 'Type': 1, 'ImagePath':
            'System32\\drivers\\stornvme.sys'}
        keys['ControlSet002\\Services\\stornvme'] = {
            'Start': 0, 'Type': 1}
        keys['Select'] = {'Current': 2, 'Default': 2, 'LastKnownGood': 1}
    hive(path, prefix, keys)


def bcd(path, ems=False):
    bm = 'Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}'
    ld = 'Objects\\{4f2ad4c4-7c68-11ee-a1b8-000c29aabbcc}'
    es = 'Objects\\{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}'
    hive(path, 'HKEY_LOCAL_MACHINE\\BCD00000000', {
        bm + '\\Description': {'Type': 0x10100002},
        bm + '\\Elements\\12000004': {'Element': 'Windows Boot Manager'},
        bm + '\\Elements\\16000020': {'Element': b'\x01'},
        ld + '\\Description': {'Type': 0x10200003},
        ld + '\\Elements\\12000004': {'Element': 'Windows Server 2008 R2'},
        ld + '\\Elements\\260000b0': {'Element': b'\x01'},
        ld + '\\Elements\\16000020': {'Element': b'\x00'},
        es + '\\Description': {'Type': 0x20100000},
        es + '\\Elements\\16000020': {'Element': b'\x00'}})


work, fixture, name = sys.argv[2], sys.argv[3], sys.argv[4]
os.makedirs(work, exist_ok=True)
if name == 'win2008r2-cs2':
    g.hive = two_sets
    mkguest.bcd = bcd
    kw = dict(mkguest.WIN['win2008r2'][0], rtu=False)
else:
    kw = dict(mkguest.WIN['win2019'][0], ems=True, rtu=False)
mkguest.win_guest(work, fixture, **kw)
PYEOF
"$PY" "$T/mkwin.py" "$INSP" "$T/cs2" "$FIXTURE" win2008r2-cs2 || fail "build win2008r2-cs2"
w="$T/cs2/disk.img"
src_sum=$(sha "$w")
mv "$w" "$BK/imports/cs2.raw"
w="$BK/imports/cs2.raw"
part "$w" 1 "$T/src-sr.img"
part "$w" 2 "$T/src-c.img"
ntfscat "$T/src-sr.img" /Boot/BCD > "$T/src-bcd" || fail "source BCD"
ntfscat "$T/src-c.img" "$SYS" > "$T/src-system" || fail "source SYSTEM"

# the dry run: the same changes as a diff, nothing stored
n_vols=$(ls "$ST/volumes" | wc -l)
vt import-image --dry-run --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=cs2.raw}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "dry run: exit $RC"; }
jget 'd["Diff"]' > "$T/diff"
grep -q '^+HKLM\\SYSTEM\\ControlSet002\\Control\\TimeZoneInformation "RealTimeIsUniversal"=dword:00000001' "$T/diff" ||
	{ cat "$T/diff" >&2; fail "dry run: diff of SYSTEM"; }
grep -q '^-HKLM\\SYSTEM\\ControlSet001\\Control\\TimeZoneInformation "RealTimeIsUniversal"=(unset)' "$T/diff" ||
	fail "dry run: diff of SYSTEM (ControlSet001)"
grep -q '^+Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\16000020 "Element"=hex(3):00' "$T/diff" ||
	fail "dry run: diff of the BCD"
grep -q '^+HKLM\\SYSTEM\\ControlSet001\\Services\\stornvme "Start"=dword:00000000' "$T/diff" ||
	fail "dry run: diff of the boot drivers"
grep -q 'ControlSet002\\Services\\stornvme' "$T/diff" &&
	fail "dry run: a driver starting at boot already was changed"
[ "$(jget 'len(d["Changes"])')" = 3 ] || fail "dry run: $(jget 'd["Changes"]')"
[ "$(ls "$ST/volumes" | wc -l)" = "$n_vols" ] || fail "the dry run stored a volume"

import_raw cs2.raw
[ "$(sha "$w")" = "$src_sum" ] || fail "cs2: the import changed the source"
set -- $(change "$SYS" PREP-009)
[ $# -ge 5 ] || { cat "$T/journal.json" >&2; fail "cs2: no SYSTEM change in the journal"; }
[ "$1" = disk0p2 ] || fail "cs2: SYSTEM change on $1"
[ "$2" = "$SYS.vmie-orig" ] || fail "cs2: SYSTEM kept as $2"
sys_before=$3 sys_after=$4
case "$*" in *"ControlSet001\\Control\\TimeZoneInformation\\RealTimeIsUniversal = 1 (REG_DWORD; was (unset))"*"ControlSet002\\Control\\TimeZoneInformation\\RealTimeIsUniversal = 1 (REG_DWORD; was dword:00000000)"*) ;;
	*) fail "cs2: journal What of SYSTEM: $*" ;; esac
set -- $(change /Boot/BCD PREP-010)
[ $# -ge 5 ] || fail "cs2: no BCD change in the journal"
bcd_before=$3 bcd_after=$4
case "$*" in *"(Windows Boot Loader): ems (element 260000b0) on -> off"*"(Windows Boot Manager): bootems (element 16000020) on -> off"*) ;;
	*) fail "cs2: journal What of the BCD: $*" ;; esac
part "$VOL" 1 "$T/sr.img"
part "$VOL" 2 "$T/c.img"
ntfs_ok "$T/sr.img" "cs2 System Reserved"
ntfs_ok "$T/c.img" "cs2 C:"
ntfscat "$T/c.img" "$SYS" > "$T/system" || fail "cs2: no SYSTEM"
ntfscat "$T/c.img" "$SYS.vmie-orig" > "$T/system-orig" || fail "cs2: no kept SYSTEM"
for cs in 1 2; do
	got=$(hivexget "$T/system" "ControlSet00$cs\\Control\\TimeZoneInformation" RealTimeIsUniversal)
	[ "$got" = 1 ] || fail "cs2: ControlSet00$cs RealTimeIsUniversal = '$got'"
done
[ "$(hivexget "$T/system" 'ControlSet002\Control\ComputerName\ComputerName' ComputerName)" = WIN-TEST ] ||
	fail "cs2: the rest of SYSTEM was lost"
hivexget "$T/system-orig" 'ControlSet001\Control\TimeZoneInformation' RealTimeIsUniversal >/dev/null 2>&1 &&
	fail "cs2: the kept SYSTEM is not the original"
[ "$(sha "$T/system-orig")" = "$(sha "$T/src-system")" ] || fail "cs2: the kept SYSTEM differs from the source's"
[ "$sys_before" = "$(sha "$T/src-system")" ] || fail "cs2: journal SHA-256 before (SYSTEM)"
# the second pass (PREP-015) kept the hive as PREP-009 left it
set -- $(change "$SYS" PREP-015)
[ $# -ge 5 ] || { cat "$T/journal.json" >&2; fail "cs2: no boot-driver change in the journal"; }
[ "$2" = "$SYS.vmie-orig.2" ] || fail "cs2: SYSTEM (PREP-015) kept as $2"
case "$*" in *"ControlSet001\\Services\\stornvme\\Start = 0 (boot start; was dword:00000003)"*) ;;
	*) fail "cs2: journal What of the boot drivers: $*" ;; esac
case "$*" in *ControlSet002*) fail "cs2: ControlSet002's stornvme changed: $*" ;; esac
ntfscat "$T/c.img" "$SYS.vmie-orig.2" > "$T/system-mid" || fail "cs2: no SYSTEM.vmie-orig.2"
[ "$sys_after" = "$(sha "$T/system-mid")" ] || fail "cs2: journal SHA-256 after (SYSTEM, PREP-009)"
[ "$3" = "$sys_after" ] || fail "cs2: journal SHA-256 before (SYSTEM, PREP-015)"
[ "$4" = "$(sha "$T/system")" ] || fail "cs2: journal SHA-256 after (SYSTEM, PREP-015)"
[ "$(hivexget "$T/system" 'ControlSet001\Services\stornvme' Start)" = 0 ] || fail "cs2: stornvme Start"
[ "$(hivexget "$T/system-mid" 'ControlSet001\Services\stornvme' Start)" = 3 ] || fail "cs2: stornvme Start before"
# hivex committed a clean hive: both sequence numbers equal
"$PY" -c 'import struct, sys
b = open(sys.argv[1], "rb").read(12)
sys.exit(0 if b[:4] == b"regf" and b[4:8] == b[8:12] else 1)' "$T/system" ||
	fail "cs2: the new SYSTEM hive is dirty"
ntfscat "$T/sr.img" /Boot/BCD > "$T/bcd" || fail "cs2: no BCD"
ntfscat "$T/sr.img" /Boot/BCD.vmie-orig > "$T/bcd-orig" || fail "cs2: no kept BCD"
[ "$(sha "$T/bcd-orig")" = "$bcd_before" ] && [ "$bcd_before" = "$(sha "$T/src-bcd")" ] ||
	fail "cs2: kept BCD / SHA-256 before"
[ "$(sha "$T/bcd")" = "$bcd_after" ] || fail "cs2: journal SHA-256 after (BCD)"
hivexregedit --export "$T/bcd" '\' > "$T/bcd.reg" 2>/dev/null || fail "cs2: the new BCD is not a hive"
for el in '{9dea862c-5cdd-4e70-acc1-f32b344d4795} 16000020' \
	  '{4f2ad4c4-7c68-11ee-a1b8-000c29aabbcc} 260000b0' \
	  '{4f2ad4c4-7c68-11ee-a1b8-000c29aabbcc} 16000020' \
	  '{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9} 16000020'; do
	set -- $el
	[ "$(bcd_el "$T/bcd.reg" "$1" "$2")" = 'hex(3):00' ] ||
		{ cat "$T/bcd.reg" >&2; fail "cs2: BCD $1 $2 not off"; }
done
[ "$(hivexget "$T/bcd" 'Objects\{4f2ad4c4-7c68-11ee-a1b8-000c29aabbcc}\Elements\12000004' Element)" = \
  'Windows Server 2008 R2' ] || fail "cs2: the loader's description was lost"
insp_ok cs2

# ---- win2019-ems: the BCD on the FAT ESP, through the libguestfs appliance ----
"$PY" "$T/mkwin.py" "$INSP" "$T/uefi" "$FIXTURE" win2019-ems || fail "build win2019-ems"
w="$BK/imports/uefi.raw"
mv "$T/uefi/disk.img" "$w"
src_sum=$(sha "$w")
part "$w" 1 "$T/src-esp.img"
mcopy -n -i "$T/src-esp.img" ::/EFI/Microsoft/Boot/BCD "$T/src-bcd" || fail "uefi: source BCD"
EBCD=/EFI/Microsoft/Boot/BCD
vt import-image --dry-run --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=uefi.raw}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "uefi dry run: exit $RC"; }
jget '[c["Path"] + " " + c["Rule"] for c in d["Changes"]]' | grep -q "$SYS PREP-009" ||
	fail "uefi: SYSTEM not changed: $(jget 'd["Changes"]')"
if [ ! -e /usr/include/guestfs.h ] || ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
	# no appliance: the import goes on, a note names the packages
	jget 'd["ChangeNotes"]' | grep -q "$EBCD: not changed.*libguestfs" ||
		fail "uefi: no note about the BCD: $(jget 'd["ChangeNotes"]')"
	echo "uefi: no libguestfs here: the ESP's BCD change is not checked" >&2
	store_clean "windows-changes"
	echo ok
	exit 0
fi
jget '[c["Path"] + " " + c["Rule"] for c in d["Changes"]]' | grep -q "$EBCD PREP-010" ||
	fail "uefi dry run: no BCD change on the ESP: $(jget 'd["Changes"]') $(jget 'd["ChangeNotes"]')"
jget 'd["Diff"]' | grep -q '^+Objects\\{a1b2c3d4-0000-0000-0000-000000000001}\\Elements\\260000b0 "Element"=hex(3):00' ||
	{ jget 'd["Diff"]' >&2; fail "uefi dry run: diff of the ESP's BCD"; }
import_raw uefi.raw
[ "$(sha "$w")" = "$src_sum" ] || fail "uefi: the import changed the source"
set -- $(change "$EBCD" PREP-010)
[ $# -ge 5 ] || { cat "$T/journal.json" >&2; fail "uefi: no BCD change in the journal"; }
[ "$1" = disk0p1 ] || fail "uefi: BCD change on $1, not the ESP disk0p1"
[ "$2" = "$EBCD.vmie-orig" ] || fail "uefi: BCD kept as $2"
[ "$3" = "$(sha "$T/src-bcd")" ] || fail "uefi: journal SHA-256 before"
bcd_after=$4
case "$*" in *"{a1b2c3d4-0000-0000-0000-000000000001}"*"ems (element 260000b0) on -> off"*) ;;
	*) fail "uefi: journal What: $*" ;; esac
part "$VOL" 1 "$T/esp.img"
fsck.fat -n "$T/esp.img" > "$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "uefi: fsck.fat -n of the ESP"; }
mcopy -n -i "$T/esp.img" ::$EBCD "$T/bcd" || fail "uefi: no BCD on the ESP"
mcopy -n -i "$T/esp.img" ::$EBCD.vmie-orig "$T/bcd-orig" || fail "uefi: no kept BCD on the ESP"
[ "$(sha "$T/bcd-orig")" = "$(sha "$T/src-bcd")" ] || fail "uefi: the kept BCD is not the original"
[ "$(sha "$T/bcd")" = "$bcd_after" ] || fail "uefi: journal SHA-256 after"
mcopy -n -i "$T/esp.img" ::/EFI/Microsoft/Boot/bootmgfw.efi "$T/bootmgfw" || fail "uefi: bootmgfw.efi lost"
[ "$(cat "$T/bootmgfw")" = MZ ] || fail "uefi: bootmgfw.efi changed"
hivexregedit --export "$T/bcd" '\' > "$T/bcd.reg" 2>/dev/null || fail "uefi: the new BCD is not a hive"
[ "$(bcd_el "$T/bcd.reg" '{a1b2c3d4-0000-0000-0000-000000000001}' 260000b0)" = 'hex(3):00' ] ||
	{ cat "$T/bcd.reg" >&2; fail "uefi: ems still on"; }
[ "$(hivexget "$T/bcd" 'Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\Elements\12000004' Element)" = \
  'Windows Boot Manager' ] || fail "uefi: the rest of the BCD was lost"
part "$VOL" 3 "$T/c.img"
ntfs_ok "$T/c.img" "uefi C:"
insp_ok uefi
store_clean "windows-changes"
echo ok
