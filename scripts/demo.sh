#!/bin/sh
# vmie demo: build a small sample disk (an MBR-partitioned disk with an ext4
# root holding a phony Debian 12), then run vmie's main jobs on it:
# info, inspect, check, convert to every export format, compare.
set -eu
VMIE=${1:-build/vmie}
D=${DEMO_DIR:-demo-out}
rm -rf "$D"; mkdir -p "$D/root/etc" "$D/root/boot" "$D/root/sbin"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# the guest: marker files only
cat > "$D/root/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
OS
echo "12.5" > "$D/root/etc/debian_version"
echo "demo" > "$D/root/etc/hostname"
printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n' > "$D/root/etc/fstab"
[ -x /bin/ls ] && cp /bin/ls "$D/root/sbin/init"

# a 256 MiB disk: MBR, one Linux partition at 1 MiB, ext4 populated with -d
truncate -s 255M "$D/part.img"
mkfs.ext4 -q -F -d "$D/root" -L root "$D/part.img"
truncate -s 256M "$D/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$D/disk.raw"
dd if="$D/part.img" of="$D/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$D/part.img"

step "$VMIE" info "$D/disk.raw"
for f in vmdk,streamOptimized vhd,dynamic vhdx,dynamic qcow2 ova; do
	ext=${f%%,*}
	if "$VMIE" convert -O "$f" "$D/disk.raw" "$D/disk.$ext" 2>"$D/err"; then
		echo "\$ vmie convert -O $f $D/disk.raw $D/disk.$ext"
		step "$VMIE" info "$D/disk.$ext"
		step "$VMIE" compare "$D/disk.raw" "$D/disk.$ext"
	else
		echo "(convert to $f: $(cat "$D/err"))"
	fi
done
"$VMIE" inspect "$D/disk.raw" 2>/dev/null && step "$VMIE" inspect "$D/disk.raw" || true
rc=0; "$VMIE" check "$D/disk.raw" >/dev/null 2>&1 || rc=$?
[ $rc -le 1 ] && step "$VMIE" check "$D/disk.raw" || true
printf "\ndemo output is in %s/\n" "$D"
