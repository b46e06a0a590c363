#!/bin/bash
# Build a REAL, bootable Debian 12 (bookworm) guest disk image.
#
# usage: tests/guests/mk-debian12.sh OUT.raw [--style old|modern]
#                                    [--size 3G] [--fill MIB]
#   OUT.raw   the raw disk image to write (sparse); OUT.raw.facts is written
#             next to it (shell variables: STYLE KVER ROOT_UUID BOOT_UUID
#             SWAP_UUID ROOT_PASSWORD STATIC_ADDR ...).
#   --style old     "as old installers left it" (the default): MBR,
#             sda1 /boot ext4 (256 MiB), sda2 / ext4, sda3 swap (128 MiB);
#             /etc/fstab and the kernel's root= by device name (/dev/sdaN);
#             a static address 192.168.50.10/24 gw 192.168.50.1 on eth0 in
#             /etc/network/interfaces (NOT the QEMU user network: only DHCP
#             reaches 10.0.2.15 there), net.ifnames=0 on the kernel command
#             line, a cifs share line in /etc/fstab, sshd enabled.
#   --style modern  MBR, one ext4 root (with /boot) on sda1, fstab and root=
#             by UUID=, DHCP on any en*/eth* NIC by systemd-networkd.
#   --size    the disk size (sfdisk/truncate syntax: 3G, 4096M; default 3G).
#   --fill    MIB of random data in /var/lib/vmie-fill/ (benchmarks).
#   --cached-only   exit 77 unless the installed system is already cached
#             (the default suite uses it: no debootstrap there).
# Both styles: linux-image-amd64, grub-pc (GRUB 2 for BIOS in the MBR and
# the gap after it), initramfs-tools, ifupdown, openssh-server; the kernel
# command line has console=ttyS0,115200 so systemd's serial getty prints a
# login prompt on the first serial port; root's password is "vmie".
#
# Nothing is mounted on the host: debootstrap and apt-get run in a private
# mount namespace (unshare -m; their /proc and /sys mounts vanish with it),
# file systems are made from directories (mke2fs -t ext4 -d), laid out by
# sfdisk and copied in with dd; GRUB's boot.img and core.img (grub-mkimage)
# are written into the MBR and the sectors after it as grub-bios-setup does.
#
# Cache: ${VMIE_GUEST_CACHE:-$HOME/.cache/vmie-test-guests}/deb12-guest/
#   root/            the installed system (debootstrap + packages, minutes,
#                    once; root.debootstrap, root.complete mark the steps)
#   STYLE-SIZE[-fillN].raw   finished images, keyed by this script's hash:
#                    a second build of the same image is a sparse copy.
# Exit 77 when it cannot run here (not root, no debootstrap, no mirror).
{
set -euo pipefail
usage() { sed -n '4,22p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1; shift
STYLE=old SIZE=3G FILL=0 CONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	--style) STYLE=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--fill) FILL=$2; shift 2 ;;
	--cached-only) CONLY=1; shift ;;
	*) usage ;;
	esac
done
case "$STYLE" in old|modern) ;; *) usage ;; esac
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac

[ "$(id -u)" = 0 ] || { echo "mk-debian12: needs root" >&2; exit 77; }
for c in debootstrap unshare mke2fs sfdisk mkswap python3 chroot; do
	command -v "$c" >/dev/null || { echo "mk-debian12: needs $c" >&2; exit 77; }
done
# everything below runs in a private mount namespace
if [ -z "${VMIE_MKDEB_NS:-}" ]; then
	VMIE_MKDEB_NS=1 exec unshare --mount --propagation private "$0" "$OUT" \
		--style "$STYLE" --size "$SIZE" --fill "$FILL" \
		$([ $CONLY = 1 ] && echo --cached-only)
fi

CACHE=${VMIE_GUEST_CACHE:-$HOME/.cache/vmie-test-guests}/deb12-guest
MIRROR=${VMIE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
KEY=$(sha256sum "$0" | cut -c1-16)
NAME="$STYLE-$SIZE"; [ "$FILL" != 0 ] && NAME="$NAME-fill$FILL"
CIMG="$CACHE/$NAME.raw"
if [ -s "$CIMG" ] && [ -s "$CIMG.facts" ] && [ "$(cat "$CIMG.key" 2>/dev/null)" = "$KEY" ]; then
	cp --sparse=always "$CIMG" "$OUT"
	cp "$CIMG.facts" "$OUT.facts"
	echo "mk-debian12: $OUT (from the cache)" >&2
	exit 0
fi

export LC_ALL=C DEBIAN_FRONTEND=noninteractive
ROOT="$CACHE/root"
if [ $CONLY = 1 ] && [ ! -e "$ROOT.complete" ]; then
	echo "mk-debian12: $ROOT is not built yet (run without --cached-only)" >&2
	exit 77
fi
W=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$W"' EXIT
in_root() { chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "${@:2}"; }

# ---- 1. the installed system, once (debootstrap, then the packages) ----
if [ ! -e "$ROOT.complete" ]; then
	curl -fsS -m 30 -o /dev/null "$MIRROR/dists/bookworm/Release" ||
		{ echo "mk-debian12: $MIRROR is not reachable" >&2; exit 77; }
fi
if [ ! -e "$ROOT.debootstrap" ]; then
	echo "mk-debian12: debootstrap bookworm from $MIRROR (minutes, once)" >&2
	rm -rf "$ROOT"
	debootstrap --arch=amd64 --include=zstd bookworm "$ROOT" "$MIRROR" \
		>"$W/debootstrap.log" 2>&1 ||
		{ tail -20 "$W/debootstrap.log" >&2; echo "mk-debian12: debootstrap failed" >&2; exit 1; }
	touch "$ROOT.debootstrap"
fi
if [ ! -e "$ROOT.complete" ]; then
	echo "mk-debian12: installing the kernel, GRUB, sshd (minutes, once)" >&2
	mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	echo "deb $MIRROR bookworm main" > "$ROOT/etc/apt/sources.list"
	printf '%s\n' 'grub-pc grub-pc/install_devices multiselect' \
		'grub-pc grub-pc/install_devices_empty boolean true' |
		in_root "$ROOT" debconf-set-selections
	in_root "$ROOT" apt-get update -qq >"$W/apt.log" 2>&1 ||
		{ tail -20 "$W/apt.log" >&2; exit 1; }
	in_root "$ROOT" apt-get install -y -qq --no-install-recommends \
		linux-image-amd64 grub-pc initramfs-tools ifupdown isc-dhcp-client \
		openssh-server >>"$W/apt.log" 2>&1 ||
		{ tail -30 "$W/apt.log" >&2; echo "mk-debian12: apt-get install failed" >&2; exit 1; }
	in_root "$ROOT" apt-get clean
	rm -f "$ROOT/usr/sbin/policy-rc.d"
	umount "$ROOT/proc"
	echo 'root:vmie' | in_root "$ROOT" chpasswd
	rm -f "$ROOT/etc/hostname"
	touch "$ROOT.complete"
fi
KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
[ -f "$ROOT/boot/vmlinuz-$KVER" ] && [ -f "$ROOT/boot/initrd.img-$KVER" ] ||
	{ echo "mk-debian12: no kernel/initramfs for $KVER in $ROOT/boot" >&2; exit 1; }

# ---- 2. this image's tree ----
echo "mk-debian12: building $NAME" >&2
R="$W/root"
cp -a "$ROOT" "$R"
MiB=$((1 << 20))
sz=$(numfmt --from=iec "$SIZE")
ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
BOOT_UUID=$(cat /proc/sys/kernel/random/uuid)
SWAP_UUID=$(cat /proc/sys/kernel/random/uuid)
DISKID=0x$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
echo "deb12-$STYLE" > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdeb12-%s\n' "$STYLE" > "$R/etc/hosts"
in_root "$R" systemctl enable ssh >/dev/null 2>&1 || true
if [ "$FILL" != 0 ]; then
	mkdir -p "$R/var/lib/vmie-fill"
	i=0
	while [ $i -lt "$FILL" ]; do   # files of at most 512 MiB
		n=$((FILL - i)); [ $n -gt 512 ] && n=512
		head -c $((n * MiB)) /dev/urandom > "$R/var/lib/vmie-fill/random.$i"
		i=$((i + n))
	done
fi
CMDLINE="console=tty0 console=ttyS0,115200"
if [ "$STYLE" = old ]; then
	ROOTDEV=/dev/sda2 GRUBPART=msdos1 PREFIX=/grub
	CMDLINE="$CMDLINE net.ifnames=0"
	cat > "$R/etc/fstab" <<EOF
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
/dev/sda2       /               ext4    errors=remount-ro 0       1
/dev/sda1       /boot           ext4    defaults        0       2
/dev/sda3       none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
//192.168.50.5/share /mnt/share cifs    credentials=/root/.smbcredentials,_netdev 0 0
EOF
	mkdir -p "$R/mnt/share"
	cat > "$R/etc/network/interfaces" <<EOF
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eth0
iface eth0 inet static
	address 192.168.50.10/24
	gateway 192.168.50.1
	dns-nameservers 192.168.50.1
EOF
	STATIC_ADDR=192.168.50.10/24
else
	ROOTDEV=UUID=$ROOT_UUID GRUBPART=msdos1 PREFIX=/boot/grub
	cat > "$R/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$ROOT_UUID /               ext4    errors=remount-ro 0       1
EOF
	printf 'auto lo\niface lo inet loopback\n' > "$R/etc/network/interfaces"
	mkdir -p "$R/etc/systemd/network"
	printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' \
		> "$R/etc/systemd/network/50-dhcp.network"
	in_root "$R" systemctl enable systemd-networkd >/dev/null 2>&1 || true
	STATIC_ADDR=
fi
# /etc/default/grub as the installer leaves it, plus the serial console
sed -i -e "s|^GRUB_CMDLINE_LINUX=.*|GRUB_CMDLINE_LINUX=\"$CMDLINE\"|" \
	-e 's|^#*GRUB_TERMINAL=.*|GRUB_TERMINAL="console serial"|' "$R/etc/default/grub"
grep -q '^GRUB_TERMINAL=' "$R/etc/default/grub" ||
	echo 'GRUB_TERMINAL="console serial"' >> "$R/etc/default/grub"
echo 'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"' >> "$R/etc/default/grub"
[ "$STYLE" = old ] && echo 'GRUB_DISABLE_LINUX_UUID=true' >> "$R/etc/default/grub"

# GRUB: modules, core.img (grub-mkimage), grub.cfg in the form grub-mkconfig
# writes it (10_linux), for the partition that holds /boot
G="$R/boot/grub"
mkdir -p "$G/i386-pc" "$G/fonts"
cp "$R"/usr/lib/grub/i386-pc/*.mod "$R"/usr/lib/grub/i386-pc/*.lst \
	"$R"/usr/lib/grub/i386-pc/boot.img "$G/i386-pc/"
[ -f "$R/usr/share/grub/unicode.pf2" ] && cp "$R/usr/share/grub/unicode.pf2" "$G/fonts/"
in_root "$R" grub-editenv /boot/grub/grubenv create
in_root "$R" grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc \
	-o /boot/grub/i386-pc/core.img -p "(hd0,$GRUBPART)$PREFIX" biosdisk part_msdos ext2
if [ "$STYLE" = old ]; then KP=""; SEARCH=$BOOT_UUID; else KP=/boot; SEARCH=$ROOT_UUID; fi
entry() {  # entry TITLE ID EXTRA-ARGS INDENT
	cat <<EOF
${4}menuentry '$1' --class debian --class gnu-linux --class gnu --class os \$menuentry_id_option '$2' {
${4}	load_video
${4}	insmod gzio
${4}	if [ x\$grub_platform = xxen ]; then insmod xzio; insmod lzopio; fi
${4}	insmod part_msdos
${4}	insmod ext2
${4}	set root='hd0,$GRUBPART'
${4}	if [ x\$feature_platform_search_hint = xy ]; then
${4}	  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,$GRUBPART --hint-efi=hd0,$GRUBPART --hint-baremetal=ahci0,$GRUBPART  $SEARCH
${4}	else
${4}	  search --no-floppy --fs-uuid --set=root  $SEARCH
${4}	fi
${4}	echo	'Loading Linux $KVER ...'
${4}	linux	$KP/vmlinuz-$KVER root=$ROOTDEV ro $3
${4}	echo	'Loading initial ramdisk ...'
${4}	initrd	$KP/initrd.img-$KVER
${4}}
EOF
}
{
	cat <<EOF
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#

### BEGIN /etc/grub.d/00_header ###
if [ -s \$prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="0"
fi

if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi

export menuentry_id_option

function load_video {
  if [ x\$feature_all_video_module = xy ]; then
    insmod all_video
  fi
}

serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
if [ x\$feature_timeout_style = xy ] ; then
  set timeout_style=menu
  set timeout=5
else
  set timeout=5
fi
### END /etc/grub.d/00_header ###

### BEGIN /etc/grub.d/10_linux ###
EOF
	entry "Debian GNU/Linux" gnulinux-simple-$ROOT_UUID "$CMDLINE quiet" ""
	echo "submenu 'Advanced options for Debian GNU/Linux' \$menuentry_id_option 'gnulinux-advanced-$ROOT_UUID' {"
	entry "Debian GNU/Linux, with Linux $KVER" "gnulinux-$KVER-advanced-$ROOT_UUID" "$CMDLINE quiet" "	"
	entry "Debian GNU/Linux, with Linux $KVER (recovery mode)" "gnulinux-$KVER-recovery-$ROOT_UUID" "single $CMDLINE" "	"
	echo "}"
	echo "### END /etc/grub.d/10_linux ###"
} > "$G/grub.cfg"
# "quiet" hides the kernel's messages; the serial log is more useful without
sed -i 's/ quiet$//' "$G/grub.cfg"

# ---- 3. the disk ----
D="$W/disk.raw"
truncate -s "$sz" "$D"
if [ "$STYLE" = old ]; then
	P1=$((1 * MiB)) P1L=$((256 * MiB)) P3L=$((128 * MiB))
	P2=$((P1 + P1L)) P3=$((sz - P3L - MiB))
	P2L=$((P3 - P2))
	printf 'label: dos\nlabel-id: %s\nstart=%d, size=%d, type=83, bootable\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=82\n' \
		"$DISKID" $((P1 / 512)) $((P1L / 512)) $((P2 / 512)) $((P2L / 512)) \
		$((P3 / 512)) $((P3L / 512)) | sfdisk -q "$D"
	mkdir "$W/boot"
	mv "$R"/boot/* "$W/boot/"
	truncate -s "$P1L" "$W/boot.fs"
	mke2fs -q -F -t ext4 -U "$BOOT_UUID" -d "$W/boot" "$W/boot.fs"
	dd if="$W/boot.fs" of="$D" bs=4M seek="$P1" oflag=seek_bytes conv=notrunc,sparse status=none
	rm -f "$W/boot.fs"
	truncate -s "$P3L" "$W/swap"
	mkswap -q -U "$SWAP_UUID" "$W/swap" >/dev/null
	dd if="$W/swap" of="$D" bs=1M seek="$P3" oflag=seek_bytes conv=notrunc,sparse status=none
	rm -f "$W/swap"
	ROOT_OFF=$P2 BOOT_OFF=$P1
else
	P1=$((1 * MiB)) P2=0
	P2L=$((sz - 2 * MiB))
	printf 'label: dos\nlabel-id: %s\nstart=%d, size=%d, type=83, bootable\n' \
		"$DISKID" $((P1 / 512)) $((P2L / 512)) | sfdisk -q "$D"
	BOOT_UUID= SWAP_UUID= ROOT_OFF=$P1 BOOT_OFF=$P1 P2=$P1
fi
truncate -s "$P2L" "$W/root.fs"
mke2fs -q -F -t ext4 -U "$ROOT_UUID" -d "$R" "$W/root.fs"
dd if="$W/root.fs" of="$D" bs=4M seek="$P2" oflag=seek_bytes conv=notrunc,sparse status=none
rm -f "$W/root.fs"
# boot.img + core.img as grub-bios-setup does for a core image embedded
# after the MBR (grub 2.06 util/setup.c): boot.img's code with the
# boot-drive check (2 bytes at 0x66) made NOPs, keeping the disk's BPB area
# (0x03-0x59) and its disk id + partition table (0x1b8-0x1fd); boot.img's
# kernel sector (0x5c) is already 1, and core.img's first sector
# (diskboot.img) already lists sectors 2.. (set by grub-mkimage).
BI=$W/boot; [ "$STYLE" = old ] || BI=$R/boot
python3 - "$D" "$BI/grub/i386-pc/boot.img" "$BI/grub/i386-pc/core.img" <<'PY'
import struct, sys
img, boot, core = sys.argv[1:4]
boot = bytearray(open(boot, 'rb').read())
core = open(core, 'rb').read()
assert len(boot) == 512 and boot[510:512] == b'\x55\xaa'
with open(img, 'r+b') as f:
    mbr = bytearray(f.read(512))
    parts = [struct.unpack_from('<I', mbr, 0x1be + 16 * i + 8)[0] for i in range(4)]
    gap = min(p for p in parts if p) - 1
    nsec = (len(core) + 511) // 512
    if nsec > gap:
        sys.exit('core.img (%d sectors) does not fit the %d-sector gap' % (nsec, gap))
    assert struct.unpack_from('<Q', boot, 0x5c)[0] == 1, 'kernel sector'
    blk = struct.unpack_from('<QHH', core, 512 - 12)
    assert blk == (2, nsec - 1, 0x820), 'core.img block list %r' % (blk,)
    out = bytearray(boot)
    out[0x03:0x5a] = mbr[0x03:0x5a]
    out[0x66:0x68] = b'\x90\x90'
    out[0x1b8:0x1fe] = mbr[0x1b8:0x1fe]
    f.seek(0)
    f.write(out)
    f.seek(512)
    f.write(core)
PY
{
	printf '%s=%q\n' STYLE "$STYLE" KVER "$KVER" ROOT_UUID "$ROOT_UUID" \
		BOOT_UUID "$BOOT_UUID" SWAP_UUID "$SWAP_UUID" DISKID "$DISKID" \
		ROOT_OFF "$ROOT_OFF" BOOT_OFF "$BOOT_OFF" ROOT_PASSWORD vmie \
		STATIC_ADDR "$STATIC_ADDR" HOSTNAME "deb12-$STYLE" FILL_MIB "$FILL" \
		DEB_VERSION "$(cat "$R/etc/debian_version")"
} > "$W/facts"
mv "$W/facts" "$CIMG.facts"
mv "$D" "$CIMG"
echo "$KEY" > "$CIMG.key"
cp --sparse=always "$CIMG" "$OUT"
cp "$CIMG.facts" "$OUT.facts"
echo "mk-debian12: $OUT" >&2
exit 0
}
