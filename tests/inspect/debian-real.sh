#!/bin/bash
# vmie inspect on REAL Debian 12 guests (debootstrap + linux-image-amd64 +
# grub-pc + openssh-server, built by mkdebian.sh and cached outside the
# build tree, in $VMIE_GUEST_CACHE or $HOME/.cache/vmie-test-guests):
#   debian12-debootstrap.img  ext4 root on MBR, GRUB 2 BIOS boot code
#   debian12-xfs-lvm.img      XFS root on an LVM LV, GRUB 2 with lvm+xfs
# The facts are checked against independent tools where one exists:
# blkid (types and UUIDs at the offsets recorded at build time), debugfs
# (os-release, debian_version, grub.cfg, the initramfs itself, listed by
# lsinitramfs), and the build's record (kernel version, drivers that
# lsinitramfs found in the chroot's initramfs).
# usage: debian-real.sh [--build]   without --build, exit 77 when the images
#                                   are not cached; with it, build them
#                                   first (slow, needs root and a mirror)
#                                   and boot each under QEMU (TCG) to the
#                                   login prompt on the serial console: the
#                                   images are real, bootable systems
source "$SRCDIR/tests/functions.sh"
need python3 blkid debugfs
CACHE=${VMIE_GUEST_CACHE:-$HOME/.cache/vmie-test-guests}
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if [ "${1:-}" = --build ]; then
	rc=0
	"$SRCDIR/tests/inspect/mkdebian.sh" "$CACHE" > /dev/null || rc=$?
	[ "$rc" = 77 ] && skip "cannot build the Debian guests here"
	[ "$rc" = 0 ] || fail "mkdebian.sh failed ($rc)"
fi
BOOT=no; [ "${1:-}" = --build ] && command -v qemu-system-x86_64 >/dev/null && BOOT=yes

# boot_check IMAGE: GRUB (from the MBR), the kernel, the initramfs (LVM
# activation for the XFS guest) and systemd up to "login:" on ttyS0
boot_check() {
	local img=$1 log="$T/serial" pid i
	: > "$log"
	qemu-system-x86_64 -m 1024 -display none -net none -no-reboot \
		-serial "file:$log" -drive "file=$img,format=raw,snapshot=on" \
		> "$T/qemu.out" 2>&1 &
	pid=$!
	for i in $(seq 1 180); do
		grep -q 'login:' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 5
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	grep -q 'login:' "$log" || { tail -c 2000 "$log" | tr -d '\r' >&2; cat "$T/qemu.out" >&2; fail "$img did not boot to a login prompt"; }
}

n=0
for name in debian12-debootstrap debian12-xfs-lvm; do
	img="$CACHE/$name.img"
	[ -s "$img" ] && [ -s "$img.facts" ] || continue
	n=$((n + 1))
	# shellcheck disable=SC1090
	source "$img.facts"
	expect_rc 0 "$T/$name.json" "$VMIE" inspect --json "$img"

	# independent readings
	: > "$T/ind"
	echo "root_blkid=$(blkid -p -O "$ROOT_OFF" -o value -s TYPE "$img"):$(blkid -p -O "$ROOT_OFF" -o value -s UUID "$img")" >> "$T/ind"
	echo "swap_blkid=$(blkid -p -O "$SWAP_OFF" -o value -s TYPE "$img"):$(blkid -p -O "$SWAP_OFF" -o value -s UUID "$img")" >> "$T/ind"
	if [ "$ROOTFS" = ext4 ]; then
		# libext2fs's unix I/O manager takes "?offset=" after the name
		fs="$img?offset=$ROOT_OFF"
		# /etc/os-release is a symlink to ../usr/lib/os-release on Debian
		# (debugfs cat does not follow links)
		debugfs -R 'cat /usr/lib/os-release' "$fs" 2>/dev/null > "$T/os-release"
		debugfs -R 'cat /etc/debian_version' "$fs" 2>/dev/null > "$T/debian_version"
		debugfs -R 'cat /boot/grub/grub.cfg' "$fs" 2>/dev/null > "$T/grub.cfg"
		debugfs -R "dump /boot/initrd.img-$KVER $T/initrd" "$fs" >/dev/null 2>&1
		if command -v lsinitramfs >/dev/null; then
			lsinitramfs "$T/initrd" 2>/dev/null | sed -n 's#.*/\(virtio_blk\|virtio_scsi\|virtio_net\|nvme\|xen-blkfront\|xen-netfront\|ena\)\.ko.*#\1#p' |
				sort -u | tr '\n' ' ' > "$T/drivers"
			echo "initrd_drivers=$(cat "$T/drivers")" >> "$T/ind"
		fi
		rm -f "$T/initrd"
	fi
	"$PY" - "$T/$name.json" "$img.facts" "$T/ind" "$T" <<'PY' || fail "$name: wrong facts"
import json, os, re, shlex, sys
d = json.load(open(sys.argv[1]))
facts = dict(l.split('=', 1) for l in open(sys.argv[2]).read().splitlines() if '=' in l)
facts = {k: shlex.split(v)[0] if v else '' for k, v in facts.items()}
ind = dict(l.split('=', 1) for l in open(sys.argv[3]).read().splitlines())
T = sys.argv[4]
bad = []
def eq(what, got, want):
    if got != want:
        bad.append('%s: got %r, want %r' % (what, got, want))
kver, lvm = facts['KVER'], facts['ROOTFS'] == 'xfs'
eq('n_os', len(d['operating_systems']), 1)
o = d['operating_systems'][0]
li, bt = o['linux'], o['boot']
eq('distro', o['distro'], 'debian')
eq('version', o['version'], facts['DEB_VERSION'])
eq('major', o['major'], 12)
eq('arch', o['arch'], 'x86_64')
eq('hostname', o['hostname'], facts['HOSTNAME'])
eq('product', o['product_name'], 'Debian GNU/Linux 12 (bookworm)')
eq('default_kernel', li['default_kernel'], kver)
ks = {k['version']: k for k in li['kernels']}
eq('kernel installed', kver in ks, True)
if kver in ks:
    k = ks[kver]
    eq('kernel is_default', k['is_default'], True)
    eq('kernel custom', k['custom'], False)
    eq('kernel modules', k['has_modules'], True)
    eq('kernel initrd', k['initrd'], '/boot/initrd.img-' + kver)
ev = [e for e in o['evidence'] if e['fact'] == 'kernel']
eq('default from grub.cfg', ev and ev[0]['where'], '/boot/grub/grub.cfg')
eq('bootloader', bt['bootloader'], 'grub2')
eq('grub2_bios', bt['grub2_bios'], True)
eq('grub2_efi', bt['grub2_efi'], False)
eq('can_bios', bt['can_bios'], True)
eq('can_uefi', bt['can_uefi'], False)
eq('boot code', d['disks'][0]['partition_table']['boot_code'], 'grub2')
eq('mbr id', d['disks'][0]['partition_table']['mbr_disk_id'], facts['DISKID'])
ird = li['initrd']
eq('initrd read', ird['read'], True)
eq('initrd zstd', 'zstd' in (ird['compression'] or ''), True)
want_drv = set(facts['INITRD_DRIVERS'].split())
eq('initrd drivers vs lsinitramfs at build', set(ird['drivers']), want_drv)
if 'initrd_drivers' in ind:
    eq('initrd drivers vs lsinitramfs', set(ird['drivers']), set(ind['initrd_drivers'].split()))
for drv in ('virtio_blk', 'virtio_scsi', 'virtio_net', 'nvme'):
    eq('initrd has ' + drv, drv in ird['drivers'], True)
if facts['SSHD'] == 'yes':
    eq('ssh installed', li['ssh']['installed'], True)
    eq('ssh enabled', li['ssh']['enabled'], True)
eq('users with keys', li['users_with_keys'], ['admin'])
eq('netif', [(n['name'], n['dhcp']) for n in li['netifs']], [('ens3', True)])
eq('dhcp client', li['dhcp_client'], True)
fs = {f['device']: f for f in d['filesystems']}
rt, rtu = ind['root_blkid'].split(':')
st, stu = ind['swap_blkid'].split(':')
if lvm:
    root, swap = 'disk0:debvg/root', 'disk0:debvg/swap'
    eq('n_lvs', d['n_lvs'], 2)
    eq('fstab', [(e['spec'], e['resolves_to'], e['stable_name']) for e in li['fstab']],
       [('/dev/mapper/debvg-root', root, True), ('/dev/debvg/swap', swap, True)])
else:
    root, swap = 'disk0p1', 'disk0p2'
    eq('fstab', [(e['mountpoint'], e['resolves_to']) for e in li['fstab']],
       [('/', root), ('none', swap), ('/media/cdrom0', None)])
eq('root_device', o['root_device'], root)
eq('root_disk', o['root_disk'], 0)
eq('root type vs blkid', fs.get(root, {}).get('type'), rt)
eq('root uuid vs blkid', fs.get(root, {}).get('uuid'), rtu)
eq('root uuid vs build', rtu, facts['U_ROOT'])
eq('swap type vs blkid', fs.get(swap, {}).get('type'), st)
eq('swap uuid vs blkid', fs.get(swap, {}).get('uuid'), stu)
eq('root type', rt, facts['ROOTFS'])
if not lvm:
    osr = open(os.path.join(T, 'os-release')).read()
    eq('VERSION_ID vs debugfs', re.search(r'^VERSION_ID="?([^"\n]*)', osr, re.M).group(1), str(o['major']))
    eq('debian_version vs debugfs', open(os.path.join(T, 'debian_version')).read().strip(), o['version'])
    cfg = open(os.path.join(T, 'grub.cfg')).read()
    first = re.search(r'^\s*linux\s+(\S+)', cfg, re.M)
    eq('first grub.cfg entry vs debugfs', first and first.group(1), '/boot/vmlinuz-' + kver)
    # the last "set timeout" is the normal one (the first is recordfail's)
    eq('grub timeout vs debugfs', bt['grub_timeout'], int(re.findall(r'set timeout=(\d+)', cfg)[-1]))
    root_arg = re.search(r'^\s*linux\s+\S+\s+root=(\S+)', cfg, re.M).group(1)
    eq('kernel root= vs fstab', root_arg, 'UUID=' + facts['U_ROOT'])
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
	# the text output too
	"$VMIE" inspect "$img" > "$T/text" || fail "$name: text output"
	grep -q "kernel: *$KVER" "$T/text" || fail "$name: text has no kernel"
	[ "$BOOT" = yes ] && boot_check "$img"
done
[ "$n" -gt 0 ] || skip "no cached Debian guest in $CACHE (build: tests/inspect/mkdebian.sh)"
echo "ok: $n real guest(s)"
