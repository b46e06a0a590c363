#!/bin/bash
# The guest changes of an import on an XFS root, through the libguestfs
# backend (lib/modify/guest_gfs.c, lib/io/nbd_server.c), and the initramfs
# rebuilt with the guest's own tool (PREP-015), on a phony Debian 12 guest:
# fstab and root= by device name, a static address, an initramfs holding
# virtio_blk only, a kernel with nvme built in and ena as a module, and an
# update-initramfs that is a shell script (run by the guest's /bin/sh, the
# host's dash) which writes a new initramfs naming the modules listed in
# /etc/initramfs-tools/modules.  modify_run makes the changes with the
# aws-current policy (nvme, ena) and dumps the changed disk; it is read
# back independently: xfs_repair -n, and guestfish --ro for every file of
# the journal, its kept original and their SHA-256.
source "$SRCDIR/tests/functions.sh"
need mkfs.xfs xfs_repair sfdisk guestfish cpio gzip sha256sum
RUN="$BUILDDIR/tests/modify/modify_run"
[ -x "$RUN" ] || skip "no modify_run helper"
[ -e /usr/include/guestfs.h ] || skip "built without libguestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "no kernel in /boot for the libguestfs appliance"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
KV=6.1.0-9-amd64

R="$T/root"
mkdir -p "$R/etc/network" "$R/etc/default" "$R/etc/initramfs-tools" \
	"$R/boot/grub/i386-pc" "$R/bin" "$R/usr/sbin" "$R/sbin" \
	"$R/lib/modules/$KV" "$R/lib/x86_64-linux-gnu" "$R/lib64" "$R/home/admin/.ssh"
cat > "$R/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
OS
echo "12.5" > "$R/etc/debian_version"
echo "xfs-host" > "$R/etc/hostname"
cat > "$R/etc/fstab" <<'F'
/dev/sda1  /      xfs   defaults  0 1
F
cat > "$R/etc/network/interfaces" <<'N'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
    address 192.0.2.31/24
    gateway 192.0.2.1
N
cat > "$R/etc/default/grub" <<'G'
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX="root=/dev/sda1"
G
cat > "$R/boot/grub/grub.cfg" <<G
set default="0"
set timeout=5
menuentry 'Debian GNU/Linux' {
	linux /boot/vmlinuz-$KV root=/dev/sda1 ro quiet
	initrd /boot/initrd.img-$KV
}
G
: > "$R/boot/grub/i386-pc/normal.mod"
: > "$R/boot/vmlinuz-$KV"
# an initramfs with virtio_blk only
mkdir -p "$T/rd/usr/lib/modules/$KV/kernel/drivers/block"
: > "$T/rd/usr/lib/modules/$KV/kernel/drivers/block/virtio_blk.ko"
(cd "$T/rd" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$R/boot/initrd.img-$KV"
printf 'kernel/drivers/nvme/host/nvme.ko\n' > "$R/lib/modules/$KV/modules.builtin"
printf 'kernel/drivers/block/virtio_blk.ko:\nkernel/drivers/net/ethernet/amazon/ena/ena.ko:\n' \
	> "$R/lib/modules/$KV/modules.dep"
printf '# List of modules that you want to include in your initramfs.\n' \
	> "$R/etc/initramfs-tools/modules"
# the guest's shell: the host's dash and what it links
cp /bin/dash "$R/bin/sh"
for l in $(ldd /bin/dash | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done
cat > "$R/usr/sbin/update-initramfs" <<'U'
#!/bin/sh
# phony: a new initramfs naming how it was called and the modules list
{
	echo "phony initramfs: $*"
	while read -r l; do echo "module: $l"; done < /etc/initramfs-tools/modules
} > "/boot/initrd.img-$3"
U
chmod 755 "$R/usr/sbin/update-initramfs"
: > "$R/usr/sbin/sshd"
: > "$R/sbin/dhclient"
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoDemoDemoDemoDemoDemoDemoDemo admin" \
	> "$R/home/admin/.ssh/authorized_keys"

# XFS from a protofile (mkfs.xfs -p): no mount
python3 - "$R" > "$T/proto" <<'PY'
import os, stat, sys
root = sys.argv[1]
print("/dev/null\n0 0\nd--755 0 0")
def walk(d, depth):
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        ind = " " * depth
        m = "%03o" % (st.st_mode & 0o777)
        if stat.S_ISLNK(st.st_mode):
            print(f"{ind}{n} l--{m} 0 0 {os.readlink(p)}")
        elif stat.S_ISDIR(st.st_mode):
            print(f"{ind}{n} d--{m} 0 0")
            walk(p, depth + 1)
            print(f"{ind}$")
        else:
            print(f"{ind}{n} ---{m} 0 0 {p}")
walk(root, 1)
print("$")
PY
truncate -s 320M "$T/part.img"
mkfs.xfs -q -f -p "$T/proto" "$T/part.img" || fail "mkfs.xfs"
truncate -s 321M "$T/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$T/disk.raw"
dd if="$T/part.img" of="$T/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
uuid=$(blkid -o value -s UUID "$T/part.img")
[ -n "$uuid" ] || fail "no UUID"
src_sum=$(sha256sum < "$T/disk.raw")

# --- the changes ---
"$RUN" "$SRCDIR/policies/aws-current" "$T/out" "$T/disk.raw" > "$T/journal" 2> "$T/err" ||
	{ cat "$T/journal" "$T/err" >&2; fail "modify_run"; }
cat "$T/journal"
[ "$(sha256sum < "$T/disk.raw")" = "$src_sum" ] || fail "the source disk was written"
for want in "/etc/fstab PREP-013" "/etc/network/interfaces PREP-003" \
	    "/boot/grub/grub.cfg PREP-014" "/etc/default/grub PREP-014" \
	    "/etc/initramfs-tools/modules PREP-015" "/boot/initrd.img-$KV PREP-015"; do
	set -- $want
	grep -q "^disk0p1 $1 $2 " "$T/journal" || fail "journal: no $1 ($2)"
done

# --- read back independently ---
dd if="$T/out.0" of="$T/newpart.img" bs=1M skip=1 status=none
xfs_repair -n -f "$T/newpart.img" > "$T/repair" 2>&1 || { cat "$T/repair" >&2; fail "xfs_repair -n"; }
mkdir -p "$T/g"
{
	echo "run"
	echo "mount-ro /dev/sda1 /"
	i=0
	while read -r dev path rule kept before after; do
		echo "download $path $T/g/$i.new"
		[ "$kept" = - ] || echo "download $kept $T/g/$i.kept"
		i=$((i + 1))
	done < <(grep -v '^note:' "$T/journal")
	echo "-ls /etc/udev"
} > "$T/gf"
guestfish --ro --format=raw -a "$T/out.0" < "$T/gf" > "$T/gf.out" 2>&1 ||
	{ cat "$T/gf.out" >&2; fail "guestfish"; }
i=0
while read -r dev path rule kept before after; do
	[ "$kept" != - ] || fail "$path: no kept original"
	[ "$(sha256sum < "$T/g/$i.kept" | cut -d' ' -f1)" = "$before" ] ||
		fail "$path: the kept $kept is not the original"
	[ "$(sha256sum < "$T/g/$i.new" | cut -d' ' -f1)" = "$after" ] ||
		fail "$path: content is not what the journal says"
	if [ -f "$R$path" ]; then
		[ "$(sha256sum < "$R$path" | cut -d' ' -f1)" = "$before" ] ||
			fail "$path: SHA-256 before differs from the source"
	fi
	case $path in
	/etc/fstab) grep -q "^UUID=$uuid  */  *xfs" "$T/g/$i.new" || fail "fstab root" ;;
	/etc/network/interfaces) grep -q 'iface eth0 inet dhcp' "$T/g/$i.new" || fail "network: not DHCP" ;;
	/boot/grub/grub.cfg) grep -q "root=UUID=$uuid" "$T/g/$i.new" || fail "grub.cfg: root=" ;;
	/etc/initramfs-tools/modules)
		grep -qx ena "$T/g/$i.new" || fail "initramfs-tools/modules: no ena"
		! grep -qx nvme "$T/g/$i.new" || fail "initramfs-tools/modules: nvme is built in" ;;
	/boot/initrd.img-$KV)
		grep -q "phony initramfs: -u -k $KV" "$T/g/$i.new" ||
			{ cat "$T/g/$i.new" >&2; fail "update-initramfs was not run as expected"; }
		grep -qx "module: ena" "$T/g/$i.new" || fail "the new initramfs was built without ena" ;;
	esac
	i=$((i + 1))
done < <(grep -v '^note:' "$T/journal")
echo ok
