#!/bin/bash
# Build REAL Debian 12 guests for the lib/inspect tests and benchmark: a
# system made by debootstrap from a reachable Debian mirror, with
# linux-image-amd64, grub-pc, lvm2, xfsprogs, openssh-server and zstd (for
# initramfs-tools' default compression) installed in
# a chroot, then two bootable disk images of it:
#   debian12-debootstrap.img  MBR; p1 ext4 root (with /boot), p2 swap;
#                             GRUB 2 for BIOS in the MBR and the gap.
#   debian12-xfs-lvm.img      MBR; p1 LVM PV of VG "debvg": LV "root" XFS
#                             (with /boot), LV "swap"; GRUB 2 for BIOS with
#                             lvm+xfs in its core image.
# Nothing is mounted: file systems are made from the directory tree
# (mkfs.ext4 -d, mkfs.xfs -p protofile) and copied in at their offsets;
# LVM metadata is written by the real lvm2 tools on loop devices with
# --driverloaded n (LVs never activated); grub.cfg is made by the guest's
# own grub-mkconfig (with a grub-probe stand-in that answers for the image,
# as the chroot has no such device); core.img by the guest's grub-mkimage,
# and boot.img + core.img written into the MBR and the gap after it the way
# grub-bios-setup does.  The only mount is /proc in the chroot while
# packages are installed.
#
# Each image gets a NAME.facts file (shell variables: what the image holds,
# recorded at build time) next to it.
#
# usage: mkdebian.sh [CACHE]     (root; CACHE default
#        $VMIE_GUEST_CACHE or $HOME/.cache/vmie-test-guests)
# Exit 77 when it cannot run here (not root, no debootstrap, no mirror).
set -euo pipefail
CACHE=${1:-${VMIE_GUEST_CACHE:-$HOME/.cache/vmie-test-guests}}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "mkdebian: needs root" >&2; exit 77; }
for c in debootstrap losetup mkfs.ext4 mkfs.xfs sfdisk pvcreate mkswap python3; do
	command -v "$c" >/dev/null || { echo "mkdebian: needs $c" >&2; exit 77; }
done
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock-mkdebian"
flock 9
IMG1="$CACHE/debian12-debootstrap.img"
IMG2="$CACHE/debian12-xfs-lvm.img"
if [ -s "$IMG1" ] && [ -s "$IMG1.facts" ] && [ -s "$IMG2" ] && [ -s "$IMG2.facts" ]; then
	echo "$IMG1"; echo "$IMG2"; exit 0
fi
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
ROOT="$CACHE/debian12-root"
W=$(mktemp -d "$CACHE/.work.XXXXXX")
LOOPS=()
cleanup() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	umount "$ROOT/proc" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

# A Debian mirror from the host's apt configuration (deb822 or one-line).
mirror() {
	local u
	for u in $( (grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		     sed 's/^URIs:[[:space:]]*//';
		     grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		     awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }') |
		   tr ' ' '\n' | grep -E '/debian/?$'); do
		if curl -fsS -m 20 -o /dev/null "${u%/}/dists/bookworm/Release" 2>/dev/null; then
			echo "${u%/}"; return 0
		fi
	done
	for u in http://deb.debian.org/debian; do
		curl -fsS -m 20 -o /dev/null "$u/dists/bookworm/Release" 2>/dev/null &&
			{ echo "$u"; return 0; }
	done
	return 1
}

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 1. the system (cached as a directory; rebuilt when incomplete) ----
if [ ! -e "$ROOT.complete" ]; then
	MIRROR=$(mirror) || { echo "mkdebian: no reachable Debian mirror" >&2; exit 77; }
	echo "mkdebian: debootstrap bookworm from $MIRROR" >&2
	rm -rf "$ROOT"
	debootstrap --arch=amd64 bookworm "$ROOT" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
		{ tail -20 "$W/debootstrap.log" >&2; echo "mkdebian: debootstrap failed" >&2; exit 1; }
	mount -t proc proc "$ROOT/proc"
	printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	echo "deb $MIRROR bookworm main" > "$ROOT/etc/apt/sources.list"
	printf '%s\n' 'grub-pc grub-pc/install_devices multiselect' \
		'grub-pc grub-pc/install_devices_empty boolean true' |
		in_root debconf-set-selections
	in_root apt-get update -qq >"$W/apt.log" 2>&1 ||
		{ tail -20 "$W/apt.log" >&2; exit 1; }
	in_root apt-get install -y -qq --no-install-recommends linux-image-amd64 \
		grub-pc lvm2 xfsprogs openssh-server zstd >>"$W/apt.log" 2>&1 ||
		{ tail -30 "$W/apt.log" >&2; echo "mkdebian: apt-get install failed" >&2; exit 1; }
	# zstd (a Recommends of initramfs-tools) came after the kernel's
	# initramfs was made: make it again, as Debian ships it (zstd)
	in_root update-initramfs -u -k all >>"$W/apt.log" 2>&1 ||
		{ tail -20 "$W/apt.log" >&2; exit 1; }
	in_root apt-get clean
	rm -f "$ROOT/usr/sbin/policy-rc.d"
	umount "$ROOT/proc"
	# what a cloud image would have: a host name, DHCP on the NIC, a user
	# with an SSH key
	echo deb12real > "$ROOT/etc/hostname"
	printf 'allow-hotplug ens3\niface ens3 inet dhcp\n' > "$ROOT/etc/network/interfaces.d/ens3"
	in_root useradd -m -s /bin/bash -u 1000 admin
	mkdir -p "$ROOT/home/admin/.ssh"
	echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJxvmietest admin@test' > "$ROOT/home/admin/.ssh/authorized_keys"
	chmod 700 "$ROOT/home/admin/.ssh"; chmod 600 "$ROOT/home/admin/.ssh/authorized_keys"
	in_root chown -R admin:admin /home/admin/.ssh
	touch "$ROOT.complete"
fi
KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
[ -f "$ROOT/boot/vmlinuz-$KVER" ] && [ -f "$ROOT/boot/initrd.img-$KVER" ] ||
	{ echo "mkdebian: no kernel/initramfs for $KVER in $ROOT/boot" >&2; exit 1; }

# ---- helpers ----
attach() {      # attach FILE [OFFSET SIZE] -> LOOP
	local a=()
	[ $# -gt 1 ] && a=(-o "$2" --sizelimit "$3")
	LOOP=$(losetup -f --show "${a[@]}" "$1") ||
		{ echo "mkdebian: losetup failed" >&2; exit 77; }
	LOOPS+=("$LOOP")
}
detach() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	LOOPS=()
}

# grub-probe stand-in for grub-mkconfig in the chroot: answers from
# /run/vmie-probe.env what the real grub-probe would say about the image.
probe_stub() {  # probe_stub DEVICE FS UUID PARTUUID ABSTRACTION DRIVE
	cat > "$ROOT/run/vmie-probe.env" <<EOF
P_device='$1'
P_fs='$2'
P_fs_uuid='$3'
P_partuuid='$4'
P_abstraction='$5'
P_drive='$6'
EOF
	if [ ! -e "$ROOT/usr/sbin/grub-probe.vmie-real" ]; then
		mv "$ROOT/usr/sbin/grub-probe" "$ROOT/usr/sbin/grub-probe.vmie-real"
	fi
	cat > "$ROOT/usr/sbin/grub-probe" <<'EOF'
#!/bin/sh
. /run/vmie-probe.env
t=
while [ $# -gt 0 ]; do
	case "$1" in
	--target=*) t=${1#--target=} ;;
	-t|--target) shift; t=$1 ;;
	esac
	shift
done
case "$t" in
device) echo "$P_device" ;;
fs) echo "$P_fs" ;;
fs_uuid) echo "$P_fs_uuid" ;;
partuuid) echo "$P_partuuid" ;;
abstraction) [ -n "$P_abstraction" ] && echo "$P_abstraction" ;;
partmap) echo msdos ;;
drive) echo "$P_drive" ;;
compatibility_hint) echo "$P_drive" | tr -d '()' ;;
hints_string) echo "--hint-bios=$(echo "$P_drive" | tr -d '()')" ;;
disk) echo /dev/sda ;;
*) ;;
esac
exit 0
EOF
	chmod 755 "$ROOT/usr/sbin/grub-probe"
}
probe_unstub() {
	[ -e "$ROOT/usr/sbin/grub-probe.vmie-real" ] &&
		mv -f "$ROOT/usr/sbin/grub-probe.vmie-real" "$ROOT/usr/sbin/grub-probe"
	rm -f "$ROOT/run/vmie-probe.env"
}

# grub.cfg by the guest's grub-mkconfig; /boot/grub/i386-pc and core.img
# by the guest's grub tools (what grub-install does, minus its probing).
grub_files() {  # grub_files PREFIX MODULES...
	local prefix=$1; shift
	rm -rf "$ROOT/boot/grub/i386-pc"
	mkdir -p "$ROOT/boot/grub/i386-pc" "$ROOT/boot/grub/fonts"
	cp "$ROOT"/usr/lib/grub/i386-pc/*.mod "$ROOT"/usr/lib/grub/i386-pc/*.lst \
		"$ROOT"/usr/lib/grub/i386-pc/boot.img "$ROOT/boot/grub/i386-pc/"
	[ -f "$ROOT/usr/share/grub/unicode.pf2" ] &&
		cp "$ROOT/usr/share/grub/unicode.pf2" "$ROOT/boot/grub/fonts/"
	rm -f "$ROOT/boot/grub/grubenv"
	in_root grub-editenv /boot/grub/grubenv create
	in_root grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc \
		-o /boot/grub/i386-pc/core.img -p "$prefix" "$@"
	in_root grub-mkconfig -o /boot/grub/grub.cfg >"$W/mkconfig.log" 2>&1 ||
		{ cat "$W/mkconfig.log" >&2; exit 1; }
}

# boot.img + core.img onto the disk, as grub-bios-setup does for a core
# image embedded in the gap after the MBR (grub 2.06 util/setup.c): the
# MBR gets boot.img's code with the boot-drive check jump (2 bytes at 0x66)
# replaced by NOPs, keeping the disk's own BPB area (0x03-0x59) and disk
# id + partition table (0x1b8-0x1fd); boot.img's kernel sector (0x5c) is
# already 1, and grub-mkimage already wrote core.img's block list for
# sectors 2.. (diskboot.img's default start, length set by mkimage).  No
# Reed-Solomon codes (as grub-install --no-rs-codes).  The guest's
# grub-bios-setup cannot be used here: it needs the device of
# /boot/grub/i386-pc, which in a chroot is a host disk.
bios_setup() {  # bios_setup IMAGE
	python3 - "$1" "$ROOT/boot/grub/i386-pc/boot.img" \
		"$ROOT/boot/grub/i386-pc/core.img" <<'PY'
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
}

# mkfs.xfs -p prototype of a directory tree (man mkfs.xfs, "-p"): every
# file type with its owner, mode and set-id bits; names with blanks (which
# the format cannot express) are left out, and counted on stderr.
xfs_proto() {
	python3 - "$1" <<'PY'
import os, stat, sys
out, skipped = ["vmie", "0 0", "d--755 0 0"], 0
def mode(st):
    m = st.st_mode
    return "%s%s%03o" % ("u" if m & stat.S_ISUID else "-",
                         "g" if m & stat.S_ISGID else "-", m & 0o777)
def walk(path, depth):
    global skipped
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        st = os.lstat(p)
        if any(c.isspace() for c in name):
            skipped += 1
            continue
        pre = " " * depth + name + " "
        own = " %d %d" % (st.st_uid, st.st_gid)
        m = st.st_mode
        if stat.S_ISLNK(m):
            t = os.readlink(p)
            if any(c.isspace() for c in t):
                skipped += 1
                continue
            out.append(pre + "l" + mode(st) + own + " " + t)
        elif stat.S_ISDIR(m):
            out.append(pre + "d" + mode(st) + own)
            walk(p, depth + 1)
            out.append(" " * depth + "$")
        elif stat.S_ISREG(m):
            out.append(pre + "-" + mode(st) + own + " " + p)
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            out.append(pre + ("c" if stat.S_ISCHR(m) else "b") + mode(st) +
                       own + " %d %d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        elif stat.S_ISFIFO(m):
            out.append(pre + "p" + mode(st) + own)
        else:
            skipped += 1
walk(sys.argv[1], 1)
out.append("$")
print("\n".join(out))
if skipped:
    print("xfs_proto: %d names left out" % skipped, file=sys.stderr)
PY
}

facts() {       # facts FILE VAR=VALUE...
	local f=$1; shift
	: > "$f"
	for kv in "$@"; do printf '%s=%q\n' "${kv%%=*}" "${kv#*=}" >> "$f"; done
}

MiB=$((1 << 20))
DEB_VERSION=$(cat "$ROOT/etc/debian_version")
# the import-relevant drivers in the initramfs, as lsinitramfs lists them
INITRD_DRIVERS=$(lsinitramfs "$ROOT/boot/initrd.img-$KVER" 2>/dev/null |
	sed -n 's#.*/\(virtio_blk\|virtio_scsi\|virtio_net\|nvme\|xen-blkfront\|xen-netfront\|ena\)\.ko.*#\1#p' |
	sort -u | tr '\n' ' ')
SSHD=no; [ -x "$ROOT/usr/sbin/sshd" ] && SSHD=yes

# a serial console, as cloud images have (and the boot check below uses)
sed -i -e 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200"/' \
	-e 's/^#*GRUB_TERMINAL=.*/GRUB_TERMINAL="console serial"/' "$ROOT/etc/default/grub"
grep -q '^GRUB_TERMINAL=' "$ROOT/etc/default/grub" ||
	echo 'GRUB_TERMINAL="console serial"' >> "$ROOT/etc/default/grub"

# ---- 2. ext4 on MBR ----
if ! { [ -s "$IMG1" ] && [ -s "$IMG1.facts" ]; }; then
	U_ROOT=6d1a3c2e-5b4f-4e8a-9c7d-0e1f2a3b4c5d
	U_SWAP=7e2b4d3f-6c50-4f9b-8d8e-1f203b4c5d6e
	DISKID=0x5eb0071d
	PARTUUID=5eb0071d-01
	SIZE=$((3072 * MiB)) P1=$((1 * MiB)) P1L=$((2560 * MiB))
	P2=$((P1 + P1L)) P2L=$((256 * MiB))
	cat > "$ROOT/etc/fstab" <<EOF
# /etc/fstab: static file system information.
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$U_ROOT /               ext4    errors=remount-ro 0       1
UUID=$U_SWAP none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
EOF
	probe_stub /dev/sda1 ext2 "$U_ROOT" "$PARTUUID" "" "(hd0,msdos1)"
	mkdir -p "$ROOT/dev/disk/by-uuid"
	touch "$ROOT/dev/disk/by-uuid/$U_ROOT"    # 10_linux tests -e
	grub_files "(hd0,msdos1)/boot/grub" biosdisk part_msdos ext2
	rm -rf "$ROOT/dev/disk"
	probe_unstub
	truncate -s 0 "$W/d1.img"; truncate -s "$SIZE" "$W/d1.img"
	printf 'label: dos\nlabel-id: %s\nstart=%d, size=%d, type=83, bootable\nstart=%d, size=%d, type=82\n' \
		"$DISKID" $((P1 / 512)) $((P1L / 512)) $((P2 / 512)) $((P2L / 512)) |
		sfdisk -q "$W/d1.img"
	truncate -s "$P1L" "$W/root.fs"
	mkfs.ext4 -q -F -U "$U_ROOT" -d "$ROOT" "$W/root.fs"
	dd if="$W/root.fs" of="$W/d1.img" bs=4M seek=$((P1)) oflag=seek_bytes conv=notrunc,sparse status=none
	rm -f "$W/root.fs"
	truncate -s "$P2L" "$W/swap"
	mkswap -q -U "$U_SWAP" "$W/swap" >/dev/null
	dd if="$W/swap" of="$W/d1.img" bs=1M seek=$((P2)) oflag=seek_bytes conv=notrunc,sparse status=none
	bios_setup "$W/d1.img"
	facts "$W/d1.facts" KVER="$KVER" DEB_VERSION="$DEB_VERSION" U_ROOT="$U_ROOT" \
		U_SWAP="$U_SWAP" DISKID="$DISKID" SSHD="$SSHD" ROOTFS=ext4 \
		HOSTNAME=deb12real ROOT_OFF="$P1" SWAP_OFF="$P2" \
		INITRD_DRIVERS="$INITRD_DRIVERS"
	mv "$W/d1.facts" "$IMG1.facts"
	mv "$W/d1.img" "$IMG1"
fi

# ---- 3. XFS on LVM ----
if ! { [ -s "$IMG2" ] && [ -s "$IMG2.facts" ]; }; then
	U_ROOT=8f3c5e40-7d61-4a0c-9e9f-203c4d5e6f70
	U_SWAP=903d6f51-8e72-4b1d-8fa0-314d5e6f7081
	DISKID=0x1f0c0a5e
	SIZE=$((3072 * MiB)) P1=$((1 * MiB)) P1L=$((3070 * MiB))
	truncate -s "$SIZE" "$W/d2.img"
	printf 'label: dos\nlabel-id: %s\nstart=%d, size=%d, type=8e, bootable\n' \
		"$DISKID" $((P1 / 512)) $((P1L / 512)) | sfdisk -q "$W/d2.img"
	attach "$W/d2.img" "$P1" "$P1L"; L=$LOOP
	CFG="devices { filter=[ \"a|^$L\$|\", \"r|.*|\" ] obtain_device_list_from_udev=0
		use_devicesfile=0 } activation { udev_sync=0 udev_rules=0 }
		backup { backup=0 archive=0 }"
	lvm_() { "$@" --nolocking --driverloaded n --config "$CFG" >>"$W/lvm.log" 2>&1 ||
		{ cat "$W/lvm.log" >&2; exit 1; }; }
	export LVM_SUPPRESS_FD_WARNINGS=1
	lvm_ pvcreate -q "$L"
	lvm_ vgcreate -q debvg "$L"
	lvm_ lvcreate -q --zero n -an -L 2560M -n root debvg
	lvm_ lvcreate -q --zero n -an -L 256M -n swap debvg
	lvs --segments --units b --nosuffix --noheadings --separator ';' \
		-o vg_name,lv_name,seg_start,seg_size,stripes,stripe_size,seg_pe_ranges,vg_extent_size \
		--nolocking --driverloaded n --config "$CFG" 2>/dev/null | sed 's/^ *//' > "$W/segs"
	pvs --units b --nosuffix --noheadings --separator ';' -o pv_name,pe_start \
		--nolocking --driverloaded n --config "$CFG" 2>/dev/null | sed 's/^ *//' > "$W/pvs"
	detach
	cat > "$ROOT/etc/fstab" <<EOF
# /etc/fstab: static file system information.
/dev/mapper/debvg-root /               xfs     defaults        0       0
/dev/debvg/swap        none            swap    sw              0       0
EOF
	mkdir -p "$ROOT/dev/mapper"
	touch "$ROOT/dev/mapper/debvg-root"
	probe_stub /dev/mapper/debvg-root xfs "$U_ROOT" "" lvm "(lvm/debvg-root)"
	grub_files "(lvm/debvg-root)/boot/grub" biosdisk part_msdos lvm xfs
	rm -rf "$ROOT/dev/mapper"
	probe_unstub
	xfs_proto "$ROOT" > "$W/proto"
	truncate -s $((2560 * MiB)) "$W/root.fs"
	mkfs.xfs -q -f -m uuid="$U_ROOT" -p "$W/proto" "$W/root.fs" >"$W/mkfs.log" 2>&1 ||
		{ cat "$W/mkfs.log" >&2; exit 1; }
	truncate -s $((256 * MiB)) "$W/swap.fs"
	mkswap -q -U "$U_SWAP" "$W/swap.fs" >/dev/null
	# linear LVs of one segment each: LV byte x is at
	# partition + pe_start + first_pe * extent_size + x
	pe_start=$(cut -d';' -f2 "$W/pvs")
	for lv in root swap; do
		line=$(grep "^debvg;$lv;" "$W/segs")
		[ "$(grep -c "^debvg;$lv;" "$W/segs")" = 1 ] ||
			{ echo "mkdebian: $lv has several segments" >&2; exit 1; }
		ext=$(echo "$line" | cut -d';' -f8)
		first=$(echo "$line" | cut -d';' -f7 | sed 's/.*:\([0-9]*\)-.*/\1/')
		off=$((P1 + pe_start + first * ext))
		dd if="$W/$lv.fs" of="$W/d2.img" bs=4M conv=notrunc,sparse status=none \
			oflag=seek_bytes seek=$off
		[ $lv = root ] && ROOT_OFF=$off || SWAP_OFF=$off
	done
	rm -f "$W/root.fs" "$W/swap.fs"
	bios_setup "$W/d2.img"
	facts "$W/d2.facts" KVER="$KVER" DEB_VERSION="$DEB_VERSION" U_ROOT="$U_ROOT" \
		U_SWAP="$U_SWAP" DISKID="$DISKID" SSHD="$SSHD" ROOTFS=xfs \
		HOSTNAME=deb12real ROOT_OFF="$ROOT_OFF" SWAP_OFF="$SWAP_OFF" \
		INITRD_DRIVERS="$INITRD_DRIVERS"
	mv "$W/d2.facts" "$IMG2.facts"
	mv "$W/d2.img" "$IMG2"
fi
echo "$IMG1"
echo "$IMG2"
