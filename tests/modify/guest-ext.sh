#!/bin/bash
# The ext guest backend on a partitioned disk: an MBR disk (sfdisk) with
# an ext4 partition at 1 MiB, changed through a partition window over the
# copy-on-write overlay (test_guest_ext in its GUEST_EXT_DISK mode: copy
# and rewrite /etc/fstab, rename /etc/hostname, 300 new files in one
# directory, flush, the disk converted to raw).  Checked here with
# e2fsprogs on the partition cut out of the output: e2fsck -fn clean,
# debugfs shows the new content and the kept originals; the bytes before
# and after the partition are those of the source, and the source disk is
# byte-identical to before.
source "$SRCDIR/tests/functions.sh"
need mke2fs debugfs e2fsck sfdisk cmp dd
tool="$BUILDDIR/tests/modify/test_guest_ext"
[ -x "$tool" ] || fail "missing $tool"

R="$T/root"
mkdir -p "$R/etc/many" "$R/boot"
printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n' > "$R/etc/fstab"
chmod 0640 "$R/etc/fstab"
echo old-host > "$R/etc/hostname"
for i in $(seq 1 20); do echo "$i" > "$R/etc/many/old-$i"; done

truncate -s 63M "$T/part.img"
mke2fs -q -F -t ext4 -d "$R" "$T/part.img"
truncate -s 65M "$T/disk.raw"
printf 'label: dos\nstart=2048, size=129024, type=83\n' | sfdisk -q "$T/disk.raw"
# something recognisable after the partition: it must survive
printf 'TAIL-MARKER' | dd of="$T/disk.raw" bs=1 seek=$((64 << 20)) \
	conv=notrunc status=none
dd if="$T/part.img" of="$T/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
cp --sparse=always "$T/disk.raw" "$T/pristine.raw"

GUEST_EXT_DISK="$T/disk.raw" GUEST_EXT_OUT="$T/out.raw" "$tool" \
	> "$T/tool.log" 2>&1 || { cat "$T/tool.log" >&2; fail "test_guest_ext"; }
grep -q 'PASSED.*1 test' "$T/tool.log" || { cat "$T/tool.log" >&2; fail "partition test did not run"; }

cmp -s "$T/disk.raw" "$T/pristine.raw" || fail "the source disk was written"
[ "$(stat -c %s "$T/out.raw")" = "$(stat -c %s "$T/disk.raw")" ] || fail "output size"
cmp -s -n $((1 << 20)) "$T/out.raw" "$T/disk.raw" || fail "the partition table area changed"
cmp -s -i $((64 << 20)) "$T/out.raw" "$T/disk.raw" || fail "bytes after the partition changed"

dd if="$T/out.raw" of="$T/p1.img" bs=1M skip=1 count=63 status=none
e2fsck -fn "$T/p1.img" > "$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "e2fsck -fn"; }
got=$(debugfs -R 'cat /etc/fstab' "$T/p1.img" 2>/dev/null)
[ "$got" = "UUID=0b0e5f1c-1111-2222-3333-444455556666 / ext4 defaults 0 1" ] ||
	fail "new /etc/fstab: $got"
got=$(debugfs -R 'cat /etc/fstab.vmie-orig' "$T/p1.img" 2>/dev/null)
[ "$got" = "/dev/sda1 / ext4 errors=remount-ro 0 1" ] || fail "kept fstab: $got"
debugfs -R 'stat /etc/fstab.vmie-orig' "$T/p1.img" 2>/dev/null | grep -q 'Mode:  0640' ||
	fail "kept fstab lost its mode"
got=$(debugfs -R 'cat /etc/hostname.vmie-orig' "$T/p1.img" 2>/dev/null)
[ "$got" = old-host ] || fail "renamed hostname: $got"
debugfs -R 'stat /etc/hostname' "$T/p1.img" 2>&1 | grep -q 'File not found' ||
	fail "/etc/hostname still there"
n=$(debugfs -R 'ls /etc/many' "$T/p1.img" 2>/dev/null | grep -o 'new-[0-9]*' | sort -u | wc -l)
[ "$n" = 300 ] || fail "$n of 300 new files"
got=$(debugfs -R 'cat /etc/many/new-299' "$T/p1.img" 2>/dev/null)
[ "$got" = /etc/many/new-299 ] || fail "new-299: $got"
echo "ok: partition changed through the window, e2fsck clean, source intact"
