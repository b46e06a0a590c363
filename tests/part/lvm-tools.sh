#!/bin/bash
# LVM2 volume groups made by the real lvm2 tools on loop devices (no
# device-mapper needed: --driverloaded n, LVs never activated), over three
# disk images of one VM: vg0 on a whole disk (two linear LVs, one holding
# an ext4 file system), vg1 on a GPT partition of disk 2 and the whole of
# disk 3 (an LV spanning both, and a striped LV).  LV contents are written
# where lvs/pvs say they live; lib/part must list the same LVs with the
# same sizes and read back the same bytes.  Needs root (losetup).
source "$SRCDIR/tests/functions.sh"
need losetup pvcreate vgcreate lvcreate lvs pvs python3 mkfs.ext4 debugfs sgdisk
[ "$(id -u)" = 0 ] || skip "needs root for loop devices"
set -o pipefail
PT="$BUILDDIR/tests/part/part-tool"
export LVM_SUPPRESS_FD_WARNINGS=1

LOOPS=()
detach_all() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	LOOPS=()
}
trap 'detach_all; rm -rf "$T"' EXIT
# attach FILE [OFFSET SIZE]: sets LOOP
attach() {
	local args=()
	[ $# -gt 1 ] && args=(-o "$2" --sizelimit "$3")
	LOOP=$(losetup -f --show "${args[@]}" "$1" 2>/dev/null) ||
		skip "losetup cannot attach a loop device here"
	LOOPS+=("$LOOP")
}

truncate -s 64M "$T/d1.img" "$T/d2.img" "$T/d3.img"
sgdisk -n1:2048:0 -t1:8e00 "$T/d2.img" >/dev/null
P2OFF=$((2048 * 512))
P2LEN=$(( $(stat -c %s "$T/d2.img") - P2OFF - 34 * 512 ))
attach "$T/d1.img"; L1=$LOOP
attach "$T/d2.img" "$P2OFF" "$P2LEN"; L2=$LOOP
attach "$T/d3.img"; L3=$LOOP
printf '%s %s 0\n%s %s %s\n%s %s 0\n' "$L1" "$T/d1.img" "$L2" "$T/d2.img" \
	"$P2OFF" "$L3" "$T/d3.img" > "$T/map"

CFG="devices { filter=[ \"a|^$L1\$|\", \"a|^$L2\$|\", \"a|^$L3\$|\", \"r|.*|\" ]
	obtain_device_list_from_udev=0 use_devicesfile=0 }
	activation { udev_sync=0 udev_rules=0 } backup { backup=0 archive=0 }"
lvm_() { "$@" --nolocking --driverloaded n --config "$CFG" 2>"$T/lvm.err" ||
	{ cat "$T/lvm.err" >&2; fail "lvm2 command failed: $*"; }; }

lvm_ pvcreate -q "$L1" "$L2" "$L3"
lvm_ vgcreate -q vg0 "$L1"
lvm_ vgcreate -q -s 1M vg1 "$L2" "$L3"
lvm_ lvcreate -q --zero n -an -L 12M -n root vg0
lvm_ lvcreate -q --zero n -an -L 8M -n home vg0
lvm_ lvcreate -q --zero n -an -i 2 -I 64k -L 16M -n stripe vg1
lvm_ lvcreate -q --zero n -an -L 80M -n span vg1

lvm_ lvs --units b --nosuffix --noheadings --separator ' ' \
	-o vg_name,lv_name,lv_size,segtype > "$T/lvs.raw"
awk '{ printf "lv %s/%s %s %s ok\n", $1, $2, $3, $4 }' "$T/lvs.raw" | sort -u > "$T/lvs.want"
lvm_ lvs --segments --units b --nosuffix --noheadings --separator ';' \
	-o vg_name,lv_name,seg_start,seg_size,stripes,stripe_size,seg_pe_ranges,vg_extent_size \
	> "$T/segs"
sed -i 's/^ *//' "$T/segs"
lvm_ pvs --units b --nosuffix --noheadings --separator ';' -o pv_name,pe_start > "$T/pvs"
sed -i 's/^ *//' "$T/pvs"
grep -q 'vg1;span;0;.*;1;' "$T/segs" || fail "span: unexpected segments: $(cat "$T/segs")"
[ "$(grep -c '^vg1;span;' "$T/segs")" -ge 2 ] || fail "span should cover both PVs"

# contents: an ext4 file system for root, random bytes for the others
mkdir "$T/root.d"
echo "hello from an LV" > "$T/root.d/hello.txt"
truncate -s 12M "$T/root.fs"
mkfs.ext4 -q -F -d "$T/root.d" "$T/root.fs"
head -c 8M /dev/urandom > "$T/home.bin"
head -c 80M /dev/urandom > "$T/span.bin"
head -c 16M /dev/urandom > "$T/stripe.bin"
detach_all      # lvm2 is done; write the data into the files
python3 "$SRCDIR/tests/part/lvm_fill.py" "$T/segs" "$T/pvs" "$T/map" \
	vg0/root="$T/root.fs" vg0/home="$T/home.bin" vg1/span="$T/span.bin" \
	vg1/stripe="$T/stripe.bin"

# 1. the same VGs and LVs as lvs, with the same sizes and types
"$PT" lvm "$T/d1.img" "$T/d2.img" "$T/d3.img" > "$T/ours.all" ||
	fail "part-tool lvm failed"
grep '^lv ' "$T/ours.all" | sort > "$T/ours"
diff -u "$T/lvs.want" "$T/ours" || fail "LVs differ from lvs"
grep -q '^warn' "$T/ours.all" && fail "unexpected warnings: $(grep '^warn' "$T/ours.all")"
assert_eq "$(grep '^vg ' "$T/ours.all" | sort | tr '\n' ' ')" "vg vg0 vg vg1 " "VG names"

# 2. every LV reads back what was written
for lv in root:root.fs home:home.bin span:span.bin stripe:stripe.bin; do
	name=${lv%%:*} file=${lv#*:}
	vg=vg0; [ "$name" = span ] || [ "$name" = stripe ] && vg=vg1
	"$PT" lvcat "$vg/$name" "$T/d1.img" "$T/d2.img" "$T/d3.img" > "$T/out.$name" ||
		fail "lvcat $vg/$name"
	assert_eq "$(sha "$T/out.$name")" "$(sha "$T/$file")" "contents of $vg/$name"
done
# the file system inside vg0/root is readable by e2fsprogs from our bytes
assert_eq "$(debugfs -R 'cat /hello.txt' "$T/out.root" 2>/dev/null)" \
	"hello from an LV" "file read through the LV"

# 3. a missing disk: vg1's LVs are reported but not assembled
"$PT" lvm "$T/d1.img" "$T/d2.img" > "$T/missing"
grep -q '^lv vg0/root .* ok$' "$T/missing" || fail "vg0 should still work"
grep -q '^lv vg1/span .*is missing' "$T/missing" || fail "span: missing PV not reported"
grep -q '^lv vg1/stripe .*is missing' "$T/missing" || fail "stripe: missing PV not reported"
expect_fail 'is missing' "$PT" lvcat vg1/span "$T/d1.img" "$T/d2.img"
echo ok
