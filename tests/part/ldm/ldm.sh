#!/bin/bash
# Dynamic disks built by mkldm.py (one disk with two simple volumes; three
# disks, MBR and GPT, with spanned, striped, mirrored and RAID-5 volumes
# and a record split over two VBLKs): lib/part's reading must equal the
# generator's manifest (types, sizes, hints, GUIDs, extents) and libldm's
# ldmtool (an independent reader, when installed), and every volume's
# bytes must equal what the generator wrote.  Then disks are left out:
# the volumes on them are reported missing, a mirror opens from its other
# half.
# usage: ldm.sh LDM_TOOL
source "$SRCDIR/tests/functions.sh"
need sgdisk sha256sum
TOOL=$1
HERE="$SRCDIR/tests/part/ldm"
for f in simple multi; do
	python3 "$HERE/mkldm.py" "$f" "$T/$f" || fail "mkldm.py $f"
	"$TOOL" scan "$T/$f"/disk*.img > "$T/$f.scan" 2> "$T/$f.err" ||
		{ cat "$T/$f.err" >&2; fail "$f: ldm-tool scan failed"; }
	python3 "$HERE/check.py" manifest "$T/$f/manifest.json" "$T/$f.scan" ||
		{ cat "$T/$f.scan" >&2; fail "$f: differs from the manifest"; }
	if command -v ldmtool >/dev/null 2>&1; then
		python3 "$HERE/check.py" ldmtool "$T/$f/manifest.json" \
			"$T/$f.scan" "$T/$f"/disk*.img ||
			fail "$f: differs from ldmtool"
	else
		echo "note: ldmtool not installed, reference comparison skipped"
	fi
	# every readable volume's bytes
	python3 -c '
import json, sys
for v in json.load(open(sys.argv[1]))["volumes"]:
    if v["type"] != "raid5":
        print(v["name"], v["sha256"])' "$T/$f/manifest.json" |
	while read -r name want; do
		got=$("$TOOL" dump "$name" "$T/$f"/disk*.img | sha256sum | cut -c1-64)
		assert_eq "$got" "$want" "$f: bytes of volume $name"
	done
	grep -q "^warning" "$T/$f.scan" && { cat "$T/$f.scan"; fail "$f: warnings"; }
done
# RAID-5 is listed, not read
grep -q '^volume Raid1 type=raid5 .*dev=no .*error=RAID-5 volumes are reported, not read' \
	"$T/multi.scan" || fail "RAID-5 volume not reported as such"
# the per-disk summary (vmie_ptable_read): the whole group's volumes
"$TOOL" pt "$T/multi/disk2.img" > "$T/pt"
grep -q '^pt type=2 ldm=1 parts=2 .*group=TEST-PC-Dg0 .*volumes=5 error=$' "$T/pt" ||
	{ cat "$T/pt"; fail "GPT disk summary"; }
grep -q '^extent Stripe1 Disk3-01 .*dev=0 start=2097152 ' "$T/pt" ||
	{ cat "$T/pt"; fail "GPT disk: extent on this disk"; }
grep -q '^extent Stripe1 Disk1-02 .*dev=-1 ' "$T/pt" ||
	{ cat "$T/pt"; fail "GPT disk: extent on another disk"; }
# without Disk2 (disk1.img): Spanned and Stripe1 are missing a disk; the
# mirror and the others still open
M="$T/multi"
"$TOOL" scan "$M/disk0.img" "$M/disk2.img" > "$T/part.scan"
grep -q '^group .* disks=3 present=2' "$T/part.scan" || fail "present count"
grep -q '^volume Spanned .*dev=no .*error=disk Disk2 (00000000-0000-4000-8000-000000001001) is missing' \
	"$T/part.scan" || { cat "$T/part.scan"; fail "missing disk not named"; }
grep -q '^volume Stripe1 .*dev=no .*is missing' "$T/part.scan" || fail "stripe"
grep -q '^volume Mirror .*dev=yes' "$T/part.scan" || fail "mirror should open"
# without Disk1 (disk0.img): the mirror opens from its second plex
"$TOOL" scan "$M/disk1.img" "$M/disk2.img" > "$T/part2.scan"
grep -q '^volume Mirror .*mask=0x2 dev=yes' "$T/part2.scan" ||
	{ cat "$T/part2.scan"; fail "mirror from its second plex"; }
want=$(python3 -c 'import json,sys; print([v["sha256"] for v in json.load(open(sys.argv[1]))["volumes"] if v["name"]=="Mirror"][0])' "$M/manifest.json")
got=$("$TOOL" dump Mirror "$M/disk1.img" "$M/disk2.img" | sha256sum | cut -c1-64)
assert_eq "$got" "$want" "mirror read from its second half"
# a disk given twice: the second copy is ignored with a warning
"$TOOL" scan "$M/disk0.img" "$M/disk0.img" > "$T/dup.scan"
grep -q '^warning ldm: .* carry the same disk GUID' "$T/dup.scan" || fail "duplicate disk"
echo ok
