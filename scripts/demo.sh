#!/bin/sh
# vmie demo: build a small sample disk (an MBR disk with GRUB boot code and
# an ext4 root holding a phony Debian 11: marker files only), then run
# vmie's main jobs on it: info, convert to every export format, compare,
# inspect, check (once as it is, once with options an import would
# refuse), then the import and export of `aws ec2` on a local store:
# import-image from a bucket directory, describe-import-image-tasks,
# describe-images, the image's change journal (the guest changes the
# import made: fstab, network, GRUB), export-image to VHD.
set -eu
VMIE=${1:-build/vmie}
D=${DEMO_DIR:-demo-out}
rm -rf "$D"
R="$D/root"
mkdir -p "$R/etc/network" "$R/boot/grub/i386-pc" "$R/bin" "$R/usr/sbin" \
	"$R/lib/modules/5.10.0-23-amd64" "$R/home/admin/.ssh" \
	"$R/etc/systemd/system/multi-user.target.wants" "$R/sbin"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# the guest: marker files only
cat > "$R/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
ID=debian
OS
echo "11.7" > "$R/etc/debian_version"
echo "demo" > "$R/etc/hostname"
printf 'UUID=6f1c0b8e-0d3a-4a55-9d1e-5d6c2a7e9b10 / ext4 errors=remount-ro 0 1\n/dev/sdb1 /data xfs defaults 0 2\n' > "$R/etc/fstab"
printf 'auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet static\n  address 192.168.10.5/24\n' > "$R/etc/network/interfaces"
cp /bin/true "$R/bin/sh"
: > "$R/boot/vmlinuz-5.10.0-23-amd64"
: > "$R/boot/grub/i386-pc/normal.mod"
cat > "$R/boot/grub/grub.cfg" <<'G'
set default="0"
set timeout=5
menuentry 'Debian GNU/Linux' {
	linux /boot/vmlinuz-5.10.0-23-amd64 root=UUID=6f1c0b8e-0d3a-4a55-9d1e-5d6c2a7e9b10 ro
}
G
: > "$R/usr/sbin/sshd"
: > "$R/sbin/dhclient"
ln -s /lib/systemd/system/ssh.service "$R/etc/systemd/system/multi-user.target.wants/ssh.service"
echo "root:x:0:0:root:/root:/bin/bash" > "$R/etc/passwd"
echo "admin:x:1000:1000::/home/admin:/bin/bash" >> "$R/etc/passwd"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoDemoDemoDemoDemoDemoDemoDemo admin" > "$R/home/admin/.ssh/authorized_keys"
head -c 600000 /dev/urandom > "$R/usr/sbin/some-data"

# a 512 MiB disk: MBR, one Linux partition at 1 MiB, ext4 populated with -d
truncate -s 511M "$D/part.img"
mkfs.ext4 -q -F -d "$R" -L root -U 6f1c0b8e-0d3a-4a55-9d1e-5d6c2a7e9b10 "$D/part.img"
truncate -s 512M "$D/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$D/disk.raw"
# GRUB's boot code in the MBR (keeping the partition table), when available
if [ -f /usr/lib/grub/i386-pc/boot.img ]; then
	dd if=/usr/lib/grub/i386-pc/boot.img of="$D/disk.raw" bs=440 count=1 conv=notrunc status=none
fi
dd if="$D/part.img" of="$D/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$D/part.img"

step "$VMIE" info "$D/disk.raw"
for f in vmdk,streamOptimized vhd,dynamic vhdx,dynamic qcow2 ova; do
	ext=${f%%,*}
	printf '\n\033[1m$ %s\033[0m\n' "$VMIE convert -O $f $D/disk.raw $D/disk.$ext"
	"$VMIE" convert -O "$f" "$D/disk.raw" "$D/disk.$ext"
	"$VMIE" compare "$D/disk.raw" "$D/disk.$ext"
done
step "$VMIE" info "$D/disk.ova"
step "$VMIE" inspect "$D/disk.vmdk"
step "$VMIE" check "$D/disk.ova" || true
step "$VMIE" check --license-type AWS --boot-mode uefi "$D/disk.vhdx" || true
# import and export: a store and buckets in the demo directory
ST="$D/store"
BK="$D/buckets"
mkdir -p "$BK/my-import-bucket/vms" "$BK/my-export-bucket"
cp "$D/disk.vmdk" "$BK/my-import-bucket/vms/demo.vmdk"
export VMIE_STORE="$ST" VMIE_BUCKET_ROOT="$BK"
step "$VMIE" import-image --description "demo VM" --disk-containers \
	"Format=vmdk,UserBucket={S3Bucket=my-import-bucket,S3Key=vms/demo.vmdk}"
step "$VMIE" describe-import-image-tasks --filters Name=task-state,Values=completed
AMI=$("$VMIE" describe-images | sed -n 's/.*"ImageId": "\(ami-[0-9a-f]*\)".*/\1/p' | head -1)
step "$VMIE" describe-images --image-ids "$AMI"
step "$VMIE" image-journal --image-id "$AMI"
step "$VMIE" export-image --image-id "$AMI" --disk-image-format VHD \
	--s3-export-location S3Bucket=my-export-bucket,S3Prefix=exports/
step "$VMIE" info "$BK"/my-export-bucket/exports/export-ami-*.vhd
printf '\ndemo output is in %s/ (store: %s, buckets: %s)\n' "$D" "$ST" "$BK"
