#!/bin/bash
# The guest changes of an import (issue 11), end to end on a phony Debian
# 11 guest set up as an old installer left it: fstab and the kernel
# command line by device name (/dev/sda1), a data disk that is not
# imported (/dev/sdb1), a cifs share, a static address on eth0, persistent
# NIC naming rules.  After `vmie import-image`: the image's change journal
# lists each change with its rule; the volume, read independently
# (debugfs, e2fsck -fn on the partition), holds the new files and every
# original under its kept name, with the journal's SHA-256 before and
# after; --dry-run prints the same changes as a unified diff and stores
# nothing.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need mke2fs debugfs e2fsck sfdisk sha256sum

R="$T/root"
mkdir -p "$R/etc/network" "$R/boot/grub/i386-pc" "$R/bin" "$R/sbin" \
	"$R/lib/modules/5.10.0-23-amd64" "$R/etc/default" "$R/etc/udev/rules.d" \
	"$R/usr/sbin" "$R/home/admin/.ssh"
cat > "$R/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
ID=debian
OS
echo "11.7" > "$R/etc/debian_version"
echo "old-host" > "$R/etc/hostname"
cat > "$R/etc/fstab" <<'F'
# /etc/fstab: static file system information.
/dev/sda1  /      ext4  errors=remount-ro  0 1
/dev/sdb1  /data  xfs   defaults           0 2
//fileserver/share /mnt/share cifs credentials=/root/.smb 0 0
proc /proc proc defaults 0 0
F
cat > "$R/etc/network/interfaces" <<'N'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
    address 192.0.2.30/24
    gateway 192.0.2.1
N
cat > "$R/etc/udev/rules.d/70-persistent-net.rules" <<'U'
SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="00:0c:29:aa:bb:cc", NAME="eth0"
U
cat > "$R/etc/default/grub" <<'G'
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="root=/dev/sda1"
G
cat > "$R/boot/grub/grub.cfg" <<'G'
set default="0"
set timeout=5
menuentry 'Debian GNU/Linux' {
	linux /boot/vmlinuz-5.10.0-23-amd64 root=/dev/sda1 ro quiet
	initrd /boot/initrd.img-5.10.0-23-amd64
}
G
: > "$R/boot/grub/i386-pc/normal.mod"
: > "$R/boot/vmlinuz-5.10.0-23-amd64"
cp /bin/true "$R/bin/sh"
: > "$R/usr/sbin/sshd"
: > "$R/sbin/dhclient"
echo "root:x:0:0:root:/root:/bin/bash" > "$R/etc/passwd"
echo "admin:x:1000:1000::/home/admin:/bin/bash" >> "$R/etc/passwd"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoDemoDemoDemoDemoDemoDemoDemo admin" \
	> "$R/home/admin/.ssh/authorized_keys"
truncate -s 255M "$T/part.img"
mke2fs -q -F -t ext4 -d "$R" "$T/part.img"
truncate -s 256M "$T/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$T/disk.raw"
if [ -f /usr/lib/grub/i386-pc/boot.img ]; then
	dd if=/usr/lib/grub/i386-pc/boot.img of="$T/disk.raw" bs=440 count=1 conv=notrunc status=none
fi
dd if="$T/part.img" of="$T/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
uuid=$(blkid -o value -s UUID "$T/part.img" 2>/dev/null || debugfs -R stats "$T/part.img" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')
[ -n "$uuid" ] || fail "no UUID"
src_sum=$(sha256sum < "$T/disk.raw")
cp "$T/disk.raw" "$BK/imports/old.raw"

# --- dry run: the diff, nothing stored ---
vt import-image --dry-run --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=old.raw}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "dry run: exit $RC"; }
jget 'd["Diff"]' > "$T/diff"
grep -q '^-/dev/sda1  /      ext4' "$T/diff" || { cat "$T/diff" >&2; fail "diff: fstab"; }
grep -q "^+UUID=$uuid" "$T/diff" || fail "diff: fstab UUID"
grep -q 'inet dhcp' "$T/diff" || fail "diff: network"
grep -q "root=UUID=$uuid" "$T/diff" || fail "diff: grub root="
[ -z "$(ls -A "$ST/volumes" 2>/dev/null)" ] || fail "dry run wrote a volume"
[ "$(sha256sum < "$BK/imports/old.raw")" = "$src_sum" ] || fail "dry run changed the source"

# --- the import ---
vt import-image --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=old.raw}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import: exit $RC"; }
ami=$(jget 'd["ImageId"]')
snap=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
[ "$(sha256sum < "$BK/imports/old.raw")" = "$src_sum" ] || fail "the import changed the source"
vt describe-images --image-ids "$ami"
jget '[t["Value"] for t in d["Images"][0]["Tags"] if t["Key"] == "vmie:change-journal"][0]' |
	grep -q "image-journal" || fail "describe-images does not show the journal"
vt image-journal --image-id "$ami"
[ "$RC" = 0 ] || fail "image-journal: $(cat "$T/err")"
cp "$T/out" "$T/journal.json"
for want in "/etc/fstab PREP-013" "/etc/network/interfaces PREP-003" \
	    "/boot/grub/grub.cfg PREP-014" "/etc/default/grub PREP-014" \
	    "/etc/udev/rules.d/70-persistent-net.rules PREP-003"; do
	set -- $want
	jget "[c for c in d['Changes'] if c['Path'] == '$1' and c['Rule'] == '$2']" | grep -q Path ||
		{ cat "$T/journal.json" >&2; fail "journal: no $1 ($2)"; }
done

# --- the volume, read independently ---
vol="$ST/volumes/$snap.raw"
dd if="$vol" of="$T/newpart.img" bs=1M skip=1 status=none
e2fsck -fn "$T/newpart.img" > "$T/fsck" 2>&1 || { cat "$T/fsck" >&2; fail "e2fsck -fn"; }
dbg() { debugfs -R "cat $1" "$T/newpart.img" 2>/dev/null; }
dbg /etc/fstab | grep -q "^UUID=$uuid  */  *ext4" || { dbg /etc/fstab >&2; fail "fstab root"; }
dbg /etc/fstab | grep '/data' | grep -q nofail || fail "fstab: /data without nofail"
dbg /etc/fstab | grep -q '^# *vmie.*//fileserver/share' || fail "fstab: the cifs share is not commented out"
dbg /etc/network/interfaces | grep -q 'iface eth0 inet dhcp' || fail "network: not DHCP"
dbg /boot/grub/grub.cfg | grep -q "root=UUID=$uuid" || fail "grub.cfg: root="
dbg /boot/grub/grub.cfg | grep -q 'net.ifnames=0' || fail "grub.cfg: net.ifnames=0"
debugfs -R "stat /etc/udev/rules.d/70-persistent-net.rules" "$T/newpart.img" 2>&1 |
	grep -q 'File not found' || fail "udev rules not set aside"
# every journal entry against the kept original and the file
"$PY" - "$T/journal.json" > "$T/entries" <<'PYEOF'
import json, sys
for c in json.load(open(sys.argv[1]))['Changes']:
    print(c['Path'], c.get('KeptAs', '-'), c.get('Sha256Before', '-'), c.get('Sha256After', '-'))
PYEOF
while read -r path kept before after; do
	[ "$kept" != - ] || fail "$path: no kept original"
	[ "$(dbg "$kept" | sha256sum | cut -d' ' -f1)" = "$before" ] ||
		fail "$path: the kept $kept is not the original"
	if [ "$after" != - ]; then
		[ "$(dbg "$path" | sha256sum | cut -d' ' -f1)" = "$after" ] ||
			fail "$path: content is not what the journal says"
	fi
	# the original as it was in the source
	[ "$(debugfs -R "cat $path" "$T/part.img" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$before" ] ||
		fail "$path: SHA-256 before differs from the source"
done < "$T/entries"
store_clean "import-changes"
echo ok
