#!/usr/bin/env python3
"""Phony guests for the lib/inspect tests, and what vmie inspect must say
about each.

usage: mkguest.py build CACHE NAME [ntfs_fixture]  -> prints the image path
       mkguest.py check NAME JSON                  -> exit 1 on a mismatch
       mkguest.py list [PREFIX]

An image is built once per build directory (CACHE), under a lock, into a
temporary name renamed when complete.  Each guest is a function writing
marker files (see guestlib.py) plus a dict of expected facts, checked
against `vmie inspect --json` by check: dotted paths into the first OS
("os.distro"), the inspection ("top.dual_boot") or the list of file
systems ("fs.N.type").
"""
import fcntl
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib as g  # noqa: E402

GUESTS = {}
MiB = g.MiB


def guest(name, **expect):
    def deco(fn):
        GUESTS[name] = (fn, expect)
        return fn
    return deco


# ---------------------------------------------------------------- Linux

def linux_base(r, arch='x86_64', sshd=True, ssh_unit='ssh.service',
               user=('admin', 1000), dhcp='/sbin/dhclient'):
    for p in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'lib/modules', 'boot',
              'home', 'root', 'tmp', 'var/log', 'proc', 'dev'):
        g.d(r, p)
    g.elf(r, '/bin/bash', arch)
    g.ln(r, '/bin/sh', 'bash')
    if sshd:
        g.elf(r, '/usr/sbin/sshd', arch)
    if ssh_unit:
        g.ln(r, '/etc/systemd/system/multi-user.target.wants/' + ssh_unit,
             '/lib/systemd/system/' + ssh_unit)
    if dhcp:
        g.elf(r, dhcp, arch)
    name, uid = user
    g.w(r, '/etc/passwd',
        'root:x:0:0:root:/root:/bin/bash\n'
        'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n'
        'nokey:x:%d:%d::/home/nokey:/bin/bash\n'
        '%s:x:%d:%d:Admin:/home/%s:/bin/bash\n'
        % (uid + 1, uid + 1, name, uid, uid, name))
    g.w(r, '/home/%s/.ssh/authorized_keys' % name,
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx test@example\n', 0o600)
    g.w(r, '/root/.ssh/authorized_keys', 'ssh-rsa AAAA root\n', 0o600)
    g.d(r, '/home/nokey')


def kernel(r, ver, initrd_name=None, drivers=(), comp='gzip', **kw):
    g.w(r, '/boot/vmlinuz-' + ver, b'\x00' * 512 + b'HdrS' + ver.encode())
    g.w(r, '/lib/modules/%s/modules.dep' % ver, '')
    if initrd_name:
        g.initramfs(r, '/boot/' + (initrd_name % ver), ver, drivers, comp,
                    **kw)


def part_linux(work, name, root, size=48, fs='ext4', uuid=None, label=None):
    img = os.path.join(work, name + '.fs')
    {'ext4': g.mkext4, 'btrfs': g.mkbtrfs, 'xfs': g.mkxfs}[fs](
        root, img, size, uuid=uuid, label=label)
    return img


def esp(work, files, volid='ABCD1234'):
    r = os.path.join(work, 'esp.d')
    os.makedirs(r, exist_ok=True)
    for p, c in files.items():
        g.w(r, p, c)
    img = os.path.join(work, 'esp.fs')
    g.mkfat(r, img, 40, volid=volid)
    return img


U_DEB = '0f3b9a52-7c1e-4e4a-9d7a-2a6a1d3c5e01'


@guest('debian12', **{
    'os.type': 'linux', 'os.distro': 'debian', 'os.version': '12.5',
    'os.major': 12, 'os.minor': 5, 'os.arch': 'x86_64',
    'os.hostname': 'deb12', 'os.root_device': 'disk0p1',
    'os.product_name': 'Debian GNU/Linux 12 (bookworm)',
    'os.linux.default_kernel': '6.1.0-13-amd64',
    'os.linux.kernels.len': 2, 'os.boot.bootloader': 'grub2',
    'os.boot.grub2_bios': True, 'os.boot.grub2_efi': False,
    'os.boot.can_bios': True, 'os.boot.can_uefi': False,
    'os.boot.grub_timeout': 5, 'os.boot.efi_fallback': None,
    'os.linux.initrd.read': True, 'os.linux.initrd.compression': 'none+zstd',
    'os.linux.initrd.drivers': ['virtio_blk', 'virtio_scsi', 'nvme',
                                'virtio_net'],
    'os.linux.fstab.0.spec_kind': 'uuid', 'os.linux.fstab.0.resolves_to':
    'disk0p1', 'os.linux.fstab.1.spec_kind': 'device',
    'os.linux.fstab.1.resolves_to': 'disk0p2',
    'os.linux.netifs.0.name': 'ens3', 'os.linux.netifs.0.dhcp': True,
    'os.linux.ssh.installed': True, 'os.linux.ssh.enabled': True,
    'os.linux.users_with_keys': ['admin'], 'os.linux.dhcp_client': True,
    'os.linux.kernels.custom': False, 'top.dual_boot': False,
    'disk.0.partition_table.type': 'mbr',
    'disk.0.partition_table.boot_code': 'grub2',
    'fs.0.uuid': U_DEB, 'fs.0.type': 'ext4', 'fs.0.mountpoint': '/'})
def debian12(work, big=False):
    r = os.path.join(work, 'root')
    linux_base(r)
    g.w(r, '/etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
        'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\n'
        'VERSION_CODENAME=bookworm\nID=debian\n')
    g.w(r, '/etc/debian_version', '12.5\n')
    g.w(r, '/etc/hostname', 'deb12\n')
    g.d(r, '/srv')
    g.w(r, '/var/lib/dpkg/status', 'Package: openssh-server\nStatus: install '
        'ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2\n\n'
        'Package: linux-image-6.1.0-13-amd64\nStatus: install ok installed\n'
        'Architecture: amd64\nVersion: 6.1.55-1\n\n')
    g.w(r, '/etc/fstab', '# /etc/fstab\nUUID=%s / ext4 errors=remount-ro 0 1\n'
        '/dev/sda2 /srv ext4 defaults 0 2\nproc /proc proc defaults 0 0\n'
        % U_DEB)
    g.w(r, '/etc/network/interfaces', 'source /etc/network/interfaces.d/*\n'
        'auto lo\niface lo inet loopback\n')
    g.w(r, '/etc/network/interfaces.d/ens3', 'allow-hotplug ens3\n'
        'iface ens3 inet dhcp\n')
    kernel(r, '6.1.0-10-amd64', 'initrd.img-%s', ('virtio_blk',), 'gzip')
    kernel(r, '6.1.0-13-amd64', 'initrd.img-%s',
           ('virtio_blk', 'virtio_scsi', 'nvme'), 'zstd', microcode=True,
           builtin=('virtio_net',))
    g.d(r, '/boot/grub/i386-pc')
    g.w(r, '/boot/grub/i386-pc/normal.mod', 'mod')
    g.w(r, '/boot/grub/grub.cfg', g.grub_cfg(['6.1.0-13-amd64', '6.1.0-10-amd64'],
                                               title='Debian GNU/Linux',
                                               root_uuid=U_DEB))
    g.w(r, '/boot/grub/grubenv', '# GRUB Environment Block\n' + '#' * 900)
    if big:     # a few hundred MB of files, for the benchmark
        for i in range(300):
            g.w(r, '/usr/share/bench/f%03d.bin' % i, os.urandom(1 << 20))
    srv = os.path.join(work, 'srv')
    g.w(srv, '/data.txt', 'data\n')
    disk_mb = 4096 if big else 128
    root_mb = 1024 if big else 64
    g.mkdisk(os.path.join(work, 'disk.img'), disk_mb, 'dos', [
        dict(fs=part_linux(work, 'root', r, root_mb, uuid=U_DEB),
             size_mb=root_mb, type='83', bootable=True),
        dict(fs=part_linux(work, 'srv', srv, 16), size_mb=16, type='83')],
        boot_code='grub2')


@guest('debian10-custom', **{
    'os.distro': 'debian', 'os.version': '10.13', 'os.major': 10,
    'os.linux.default_kernel': '5.4.99-custom',
    'os.linux.kernels.custom': True, 'os.boot.can_bios': True,
    'os.linux.initrd.read': False})
def debian10_custom(work):
    r = os.path.join(work, 'root')
    linux_base(r)
    g.w(r, '/etc/os-release', 'NAME="Debian GNU/Linux"\nVERSION_ID="10"\n'
        'ID=debian\n')
    g.w(r, '/etc/debian_version', '10.13\n')
    g.w(r, '/etc/fstab', '/dev/vda1 / ext4 defaults 0 1\n')
    kernel(r, '5.4.99-custom')        # no initramfs at all
    g.d(r, '/boot/grub/i386-pc')
    g.w(r, '/boot/grub/grub.cfg', g.grub_cfg(['5.4.99-custom']))
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48), size_mb=48, type='83',
             bootable=True)], boot_code='grub2')


U_UB = '5c8e2b7a-1111-4222-8333-944455556666'


@guest('ubuntu2204-hybrid', **{
    'os.distro': 'ubuntu', 'os.version': '22.04', 'os.minor': 4,
    'os.linux.default_kernel': '5.15.0-91-generic',
    'os.linux.kernels.custom': False,
    'os.boot.grub2_bios': True, 'os.boot.grub2_efi': True,
    'os.boot.efi_fallback': True, 'os.boot.can_bios': True,
    'os.boot.can_uefi': True, 'os.boot.esp_device': 'disk0p2',
    'os.linux.netifs.0.name': 'ens5', 'os.linux.netifs.0.dhcp': False,
    'os.linux.netifs.0.address': '10.0.0.15/24',
    'os.linux.initrd.compression': 'gzip',
    'os.linux.initrd.drivers': ['virtio_blk', 'virtio_net'],
    'os.linux.fstab.1.mountpoint': '/boot/efi',
    'os.linux.fstab.1.resolves_to': 'disk0p2',
    'disk.0.partition_table.type': 'gpt', 'fs.1.type': 'vfat'})
def ubuntu2204(work):
    r = os.path.join(work, 'root')
    linux_base(r, dhcp='/usr/lib/systemd/systemd-networkd')
    g.w(r, '/etc/os-release', 'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nNAME="Ubuntu"\n'
        'VERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n')
    g.w(r, '/etc/lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n')
    g.w(r, '/etc/debian_version', 'bookworm/sid\n')
    g.w(r, '/etc/hostname', 'ubuntu\n')
    g.w(r, '/etc/fstab', 'UUID=%s / ext4 defaults 0 1\nUUID=ABCD-1234 '
        '/boot/efi vfat umask=0077 0 1\n/swap.img none swap sw 0 0\n' % U_UB)
    g.w(r, '/etc/netplan/50-cloud-init.yaml', 'network:\n  version: 2\n'
        '  ethernets:\n    ens5:\n      dhcp4: false\n      addresses:\n'
        '        - 10.0.0.15/24\n      routes:\n        - to: default\n'
        '          via: 10.0.0.1\n')
    kernel(r, '5.15.0-91-generic', 'initrd.img-%s',
           ('virtio_blk', 'virtio_net'), 'gzip')
    g.d(r, '/boot/grub/i386-pc')
    g.d(r, '/boot/grub/x86_64-efi')
    g.w(r, '/boot/grub/grub.cfg', g.grub_cfg(['5.15.0-91-generic'],
                                               title='Ubuntu', root_uuid=U_UB))
    e = esp(work, {'/EFI/ubuntu/shimx64.efi': 'MZ', '/EFI/ubuntu/grubx64.efi':
                   'MZ', '/EFI/ubuntu/grub.cfg': 'configfile\n',
                   '/EFI/BOOT/BOOTX64.EFI': 'MZ'}, volid='ABCD1234')
    g.mkdisk(os.path.join(work, 'disk.img'), 128, 'gpt', [
        dict(size_mb=1, type='21686148-6449-6E6F-744E-656564454649',
             name='bios'),
        dict(fs=e, size_mb=40, type='C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
             name='EFI System'),
        dict(fs=part_linux(work, 'root', r, 64, uuid=U_UB), size_mb=64,
             type='0FC63DAF-8483-4772-8E79-3D69D8477DE4')])


@guest('ubuntu1204', **{
    'os.distro': 'ubuntu', 'os.version': '12.04', 'os.major': 12,
    'os.linux.default_kernel': '3.2.0-23-virtual',
    'os.linux.ssh.enabled': True, 'os.linux.netifs.0.dhcp': False,
    'os.linux.netifs.0.address': '192.168.7.7',
    'os.boot.can_bios': True, 'os.linux.initrd.drivers': []})
def ubuntu1204(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit=None)
    g.ln(r, '/etc/rc2.d/S20ssh', '../init.d/ssh')
    g.w(r, '/etc/lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\n'
        'DISTRIB_CODENAME=precise\nDISTRIB_DESCRIPTION="Ubuntu 12.04.5 LTS"\n')
    g.w(r, '/etc/os-release', 'NAME="Ubuntu"\nVERSION="12.04.5 LTS, Precise '
        'Pangolin"\nID=ubuntu\nVERSION_ID="12.04"\n')
    g.w(r, '/etc/fstab', 'UUID=3c3c3c3c-0000-4000-8000-000000000001 / ext4 '
        'errors=remount-ro 0 1\n')
    g.w(r, '/etc/network/interfaces', 'auto lo\niface lo inet loopback\n'
        'auto eth0\niface eth0 inet static\n    address 192.168.7.7\n'
        '    netmask 255.255.255.0\n')
    kernel(r, '3.2.0-23-virtual', 'initrd.img-%s', (), 'gzip')
    g.d(r, '/boot/grub/i386-pc')
    g.w(r, '/boot/grub/grub.cfg', g.grub_cfg(['3.2.0-23-virtual'],
                                               title='Ubuntu'))
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48,
                           uuid='3c3c3c3c-0000-4000-8000-000000000001'),
             size_mb=48, type='83', bootable=True)], boot_code='grub2')


@guest('rhel8-uefi', **{
    'os.distro': 'rhel', 'os.version': '8.6', 'os.minor': 6,
    'os.linux.default_kernel': '4.18.0-372.el8.x86_64',
    'os.boot.grub2_efi': True, 'os.boot.grub2_bios': False,
    'os.boot.efi_fallback': False, 'os.boot.can_uefi': True,
    'os.boot.can_bios': False, 'os.linux.netifs.0.name': 'enp1s0',
    'os.linux.netifs.0.dhcp': True, 'os.linux.ssh.enabled': True,
    'os.linux.initrd.compression': 'xz',
    'os.linux.initrd.drivers': ['virtio_blk', 'virtio_scsi', 'virtio_net',
                                'nvme'],
    'os.hostname': 'rhel8.example.com'})
def rhel8(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit='sshd.service',
               dhcp='/usr/sbin/NetworkManager')
    g.w(r, '/etc/os-release', 'NAME="Red Hat Enterprise Linux"\n'
        'VERSION="8.6 (Ootpa)"\nID="rhel"\nVERSION_ID="8.6"\n'
        'PRETTY_NAME="Red Hat Enterprise Linux 8.6 (Ootpa)"\n')
    g.w(r, '/etc/redhat-release', 'Red Hat Enterprise Linux release 8.6 (Ootpa)\n')
    g.w(r, '/etc/hostname', 'rhel8.example.com\n')
    g.w(r, '/etc/fstab', 'UUID=8e8e8e8e-0000-4000-8000-000000000008 / ext4 '
        'defaults 0 0\nUUID=ABCD-1234 /boot/efi vfat umask=0077 0 2\n')
    g.w(r, '/etc/NetworkManager/system-connections/enp1s0.nmconnection',
        '[connection]\nid=enp1s0\ntype=ethernet\ninterface-name=enp1s0\n'
        '[ipv4]\nmethod=auto\n')
    for v in ('4.18.0-305.el8.x86_64', '4.18.0-372.el8.x86_64'):
        kernel(r, v, 'initramfs-%s.img', ('virtio_blk', 'virtio_scsi',
                                          'virtio_net', 'nvme'), 'xz')
        g.w(r, '/boot/loader/entries/ffff-%s.conf' % v,
            'title Red Hat Enterprise Linux (%s) 8.6\nversion %s\n'
            'linux /vmlinuz-%s\ninitrd /initramfs-%s.img\n' % (v, v, v, v))
    g.w(r, '/boot/grub2/grubenv', 'saved_entry=ffff-4.18.0-372.el8.x86_64\n')
    g.d(r, '/boot/grub2/x86_64-efi')
    cfg = ('set default="${saved_entry}"\nload_env -f $prefix/grubenv\n'
           'set timeout=5\nblscfg\n')
    e = esp(work, {'/EFI/redhat/shimx64.efi': 'MZ',
                   '/EFI/redhat/grubx64.efi': 'MZ',
                   '/EFI/redhat/grub.cfg': cfg})
    g.mkdisk(os.path.join(work, 'disk.img'), 128, 'gpt', [
        dict(fs=e, size_mb=40, type='C12A7328-F81F-11D2-BA4B-00A0C93EC93B'),
        dict(fs=part_linux(work, 'root', r, 64,
                           uuid='8e8e8e8e-0000-4000-8000-000000000008'),
             size_mb=64, type='0FC63DAF-8483-4772-8E79-3D69D8477DE4')])


@guest('rhel5-i386', **{
    'os.distro': 'rhel', 'os.version': '5.11', 'os.major': 5,
    'os.arch': 'i386', 'os.boot.bootloader': 'grub-legacy',
    'os.boot.grub_legacy': True, 'os.boot.can_bios': True,
    'os.linux.default_kernel': '2.6.18-398.el5',
    'os.linux.netifs.0.dhcp': False, 'os.linux.netifs.0.address': '10.1.2.3',
    'os.linux.users_with_keys': ['olduser'], 'os.linux.ssh.enabled': True,
    'os.hostname': 'oldbox', 'os.boot.grub_default': '0',
    'disk.0.partition_table.boot_code': 'grub-legacy'})
def rhel5(work):
    r = os.path.join(work, 'root')
    linux_base(r, arch='i386', ssh_unit=None, user=('olduser', 500))
    g.ln(r, '/etc/rc.d/rc3.d/S55sshd', '../init.d/sshd')
    g.w(r, '/etc/redhat-release',
        'Red Hat Enterprise Linux Server release 5.11 (Tikanga)\n')
    g.w(r, '/etc/sysconfig/network', 'NETWORKING=yes\nHOSTNAME=oldbox\n')
    g.w(r, '/etc/sysconfig/network-scripts/ifcfg-eth0', 'DEVICE=eth0\n'
        'BOOTPROTO=static\nIPADDR=10.1.2.3\nNETMASK=255.0.0.0\nONBOOT=yes\n')
    g.w(r, '/etc/sysconfig/network-scripts/ifcfg-lo', 'DEVICE=lo\n')
    g.w(r, '/etc/fstab', 'LABEL=/ / ext3 defaults 1 1\n'
        'tmpfs /dev/shm tmpfs defaults 0 0\n')
    kernel(r, '2.6.18-398.el5', 'initrd-%s.img', ('xen-blkfront',
                                                  'xen-netfront'), 'gzip')
    kernel(r, '2.6.18-371.el5', 'initrd-%s.img', (), 'gzip')
    g.w(r, '/boot/grub/stage2', 'stage2')
    g.w(r, '/boot/grub/grub.conf', 'default=0\ntimeout=5\n'
        'title Red Hat Enterprise Linux Server (2.6.18-398.el5)\n'
        '\troot (hd0,0)\n\tkernel /boot/vmlinuz-2.6.18-398.el5 ro root=LABEL=/\n'
        '\tinitrd /boot/initrd-2.6.18-398.el5.img\n'
        'title Red Hat Enterprise Linux Server (2.6.18-371.el5)\n'
        '\tkernel /boot/vmlinuz-2.6.18-371.el5 ro\n')
    g.ln(r, '/boot/grub/menu.lst', './grub.conf')
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48, label='/'), size_mb=48,
             type='83', bootable=True)], boot_code='grub-legacy')


@guest('sles11sp4', **{
    'os.distro': 'sles', 'os.version': '11.4', 'os.service_pack': 'SP4',
    'os.linux.default_kernel': '3.0.101-63-default',
    'os.linux.kernels.custom': False, 'os.boot.bootloader': 'grub-legacy',
    'os.linux.netifs.0.name': 'eth0', 'os.linux.netifs.0.dhcp': True,
    'os.hostname': 'sles11.site'})
def sles11(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit=None, dhcp='/sbin/dhcpcd')
    g.ln(r, '/etc/init.d/rc3.d/S12sshd', '../sshd')
    g.w(r, '/etc/SuSE-release', 'SUSE Linux Enterprise Server 11 (x86_64)\n'
        'VERSION = 11\nPATCHLEVEL = 4\n')
    g.w(r, '/etc/HOSTNAME', 'sles11.site\n')
    g.w(r, '/etc/sysconfig/network/ifcfg-eth0', "BOOTPROTO='dhcp'\n"
        "STARTMODE='auto'\n")
    g.w(r, '/etc/sysconfig/network/ifcfg-lo', "IPADDR=127.0.0.1\n")
    g.w(r, '/etc/fstab', '/dev/disk/by-id/ata-VBOX_HARDDISK-part1 / ext3 '
        'acl,user_xattr 1 1\n')
    kernel(r, '3.0.101-63-default', 'initrd-%s', ('virtio_blk',), 'gzip')
    g.w(r, '/boot/grub/stage2', 's2')
    g.w(r, '/boot/grub/menu.lst', 'default 0\ntimeout 8\ntitle SLES 11 SP4\n'
        '    root (hd0,0)\n    kernel /boot/vmlinuz-3.0.101-63-default root=/dev/sda1\n')
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48), size_mb=48, type='83',
             bootable=True)], boot_code='grub-legacy')


@guest('amzn2', **{
    'os.distro': 'amzn', 'os.version': '2', 'os.major': 2,
    'os.linux.default_kernel': '4.14.336-257.562.amzn2.x86_64',
    'os.linux.kernels.custom': False,
    'os.linux.initrd.drivers': ['nvme', 'ena', 'xen-blkfront'],
    'os.linux.initrd.compression': 'lz4', 'os.linux.netifs.0.dhcp': True})
def amzn2(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit='sshd.service', user=('ec2-user', 1000))
    g.w(r, '/etc/os-release', 'NAME="Amazon Linux"\nVERSION="2"\nID="amzn"\n'
        'VERSION_ID="2"\nPRETTY_NAME="Amazon Linux 2"\n')
    g.w(r, '/etc/system-release', 'Amazon Linux release 2 (Karoo)\n')
    g.w(r, '/etc/fstab', 'UUID=a2a2a2a2-0000-4000-8000-0000000000a2 / ext4 '
        'defaults,noatime 1 1\n')
    g.w(r, '/etc/sysconfig/network-scripts/ifcfg-eth0', 'DEVICE=eth0\n'
        'BOOTPROTO=dhcp\n')
    v = '4.14.336-257.562.amzn2.x86_64'
    kernel(r, v, 'initramfs-%s.img', ('nvme', 'ena', 'xen-blkfront'), 'lz4')
    g.d(r, '/boot/grub2/i386-pc')
    g.w(r, '/boot/grub2/grub.cfg', g.grub_cfg([v], title='Amazon Linux 2',
                                                submenu=False))
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48,
                           uuid='a2a2a2a2-0000-4000-8000-0000000000a2'),
             size_mb=48, type='83', bootable=True)], boot_code='grub2')


@guest('oracle7-uek', **{
    'os.distro': 'ol', 'os.version': '7.9',
    'os.linux.default_kernel': '4.14.35-1902.el7uek.x86_64',
    'os.linux.kernels.custom': False})
def oracle7(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit='sshd.service')
    g.w(r, '/etc/os-release', 'NAME="Oracle Linux Server"\nVERSION="7.9"\n'
        'ID="ol"\nVERSION_ID="7.9"\n')
    g.w(r, '/etc/oracle-release', 'Oracle Linux Server release 7.9\n')
    g.w(r, '/etc/redhat-release', 'Red Hat Enterprise Linux Server release 7.9 (Maipo)\n')
    g.w(r, '/etc/fstab', '/dev/sda1 / ext4 defaults 0 0\n')
    v = '4.14.35-1902.el7uek.x86_64'
    kernel(r, v, 'initramfs-%s.img', ('virtio_blk',), 'gzip')
    kernel(r, '3.10.0-1160.el7.x86_64', 'initramfs-%s.img', (), 'gzip')
    g.d(r, '/boot/grub2/i386-pc')
    g.w(r, '/boot/grub2/grub.cfg', g.grub_cfg([v, '3.10.0-1160.el7.x86_64'],
                                                title='Oracle Linux Server'))
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48), size_mb=48, type='83',
             bootable=True)], boot_code='grub2')


@guest('centos7', **{
    'os.distro': 'centos', 'os.version': '7.9', 'os.minor': 9,
    'os.linux.default_kernel': '3.10.0-1160.el7.x86_64',
    'os.boot.grub_default': 'CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)',
    'os.root_device': 'disk0p2', 'fs.0.mountpoint': '/boot',
    'os.linux.fstab.1.resolves_to': 'disk0p1'})
def centos7(work):
    """/boot on its own partition; saved_entry names a title."""
    r = os.path.join(work, 'root')
    b = os.path.join(work, 'boot')
    linux_base(r, ssh_unit='sshd.service')
    shutil.rmtree(os.path.join(r, 'boot'))
    g.d(r, '/boot')
    g.w(r, '/etc/os-release', 'NAME="CentOS Linux"\nVERSION="7 (Core)"\n'
        'ID="centos"\nVERSION_ID="7"\n')
    g.w(r, '/etc/centos-release', 'CentOS Linux release 7.9.2009 (Core)\n')
    g.w(r, '/etc/fstab', '/dev/sda2 / ext4 defaults 0 0\n'
        'UUID=b0b0b0b0-0000-4000-8000-0000000000b0 /boot ext4 defaults 0 0\n')
    for v in ('3.10.0-1160.el7.x86_64', '3.10.0-1127.el7.x86_64'):
        kernel(b, v, 'initramfs-%s.img', ('virtio_blk',), 'gzip')
        g.d(r, '/lib/modules/' + v)
        os.rename(os.path.join(b, 'boot', 'vmlinuz-' + v),
                  os.path.join(b, 'vmlinuz-' + v))
        os.rename(os.path.join(b, 'boot', 'initramfs-%s.img' % v),
                  os.path.join(b, 'initramfs-%s.img' % v))
    shutil.rmtree(os.path.join(b, 'lib'))
    os.rmdir(os.path.join(b, 'boot'))
    g.d(b, '/grub2/i386-pc')
    g.w(b, '/grub2/grubenv', 'saved_entry=CentOS Linux '
        '(3.10.0-1160.el7.x86_64) 7 (Core)\n')
    g.w(b, '/grub2/grub.cfg', 'set default="${saved_entry}"\nset timeout=5\n'
        "menuentry 'CentOS Linux (3.10.0-1127.el7.x86_64) 7 (Core)' {\n"
        '\tlinux16 /vmlinuz-3.10.0-1127.el7.x86_64 root=/dev/sda2\n}\n'
        "menuentry 'CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)' {\n"
        '\tlinux16 /vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/sda2\n}\n')
    g.mkdisk(os.path.join(work, 'disk.img'), 128, 'dos', [
        dict(fs=part_linux(work, 'boot', b, 32,
                           uuid='b0b0b0b0-0000-4000-8000-0000000000b0'),
             size_mb=32, type='83', bootable=True),
        dict(fs=part_linux(work, 'root', r, 64), size_mb=64, type='83')],
        boot_code='grub2')


@guest('fedora20', **{'os.distro': 'fedora', 'os.version': '20',
                      'os.linux.default_kernel': '3.11.10-301.fc20.x86_64',
                      'os.linux.kernels.custom': False})
def fedora20(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit='sshd.service')
    g.w(r, '/etc/fedora-release', 'Fedora release 20 (Heisenbug)\n')
    g.ln(r, '/etc/redhat-release', 'fedora-release')
    g.ln(r, '/etc/system-release', 'fedora-release')
    g.w(r, '/etc/fstab', 'UUID=f2f2f2f2-0000-4000-8000-0000000000f2 / ext4 '
        'defaults 1 1\n')
    v = '3.11.10-301.fc20.x86_64'
    kernel(r, v, 'initramfs-%s.img', ('virtio_blk',), 'xz')
    g.d(r, '/boot/grub2/i386-pc')
    g.w(r, '/boot/grub2/grub.cfg', g.grub_cfg([v], title='Fedora'))
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48,
                           uuid='f2f2f2f2-0000-4000-8000-0000000000f2'),
             size_mb=48, type='83', bootable=True)], boot_code='grub2')


@guest('sles15-btrfs', **{
    'os.distro': 'sles', 'os.version': '15.1', 'os.service_pack': 'SP1',
    'os.linux.default_kernel': '4.12.14-195-default', 'fs.0.type': 'btrfs',
    'fs.0.subvolumes': 0, 'os.boot.can_bios': True})
def sles15_btrfs(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit='sshd.service', dhcp='/usr/sbin/wicked')
    g.w(r, '/etc/os-release', 'NAME="SLES"\nVERSION="15-SP1"\n'
        'VERSION_ID="15.1"\nID="sles"\n')
    g.w(r, '/etc/fstab', 'UUID=5e5e5e5e-0000-4000-8000-00000000005e / btrfs '
        'defaults 0 0\n')
    kernel(r, '4.12.14-195-default', 'initrd-%s', ('virtio_blk',), 'xz')
    g.d(r, '/boot/grub2/i386-pc')
    g.w(r, '/boot/grub2/grub.cfg', g.grub_cfg(['4.12.14-195-default'],
                                                title='SLES 15-SP1'))
    g.mkdisk(os.path.join(work, 'disk.img'), 192, 'dos', [
        dict(fs=part_linux(work, 'root', r, 160, fs='btrfs',
                           uuid='5e5e5e5e-0000-4000-8000-00000000005e'),
             size_mb=160, type='83', bootable=True)], boot_code='grub2')


@guest('centos6-xfs', **{
    'os.distro': 'centos', 'os.version': '6.10', 'fs.0.type': 'xfs',
    'os.linux.default_kernel': '2.6.32-754.el6.x86_64',
    'os.linux.fstab.0.resolves_to': 'disk0p1', 'os.boot.can_bios': True})
def centos6_xfs(work):
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit=None, user=('ops', 500))
    g.ln(r, '/etc/rc.d/rc3.d/S55sshd', '../init.d/sshd')
    g.w(r, '/etc/centos-release', 'CentOS release 6.10 (Final)\n')
    g.ln(r, '/etc/redhat-release', 'centos-release')
    g.w(r, '/etc/fstab', 'LABEL=root / xfs defaults 0 0\n')
    kernel(r, '2.6.32-754.el6.x86_64', 'initramfs-%s.img', ('virtio_blk',),
           'gzip')
    g.w(r, '/boot/grub/stage2', 's2')
    g.w(r, '/boot/grub/grub.conf', 'default=0\ntimeout=5\ntitle CentOS 6\n'
        '\tkernel /boot/vmlinuz-2.6.32-754.el6.x86_64 ro root=LABEL=root\n')
    g.mkdisk(os.path.join(work, 'disk.img'), 400, 'dos', [
        dict(fs=part_linux(work, 'root', r, 320, fs='xfs', label='root'),
             size_mb=320, type='83', bootable=True)], boot_code='grub-legacy')


@guest('dualboot', **{'top.dual_boot': True, 'oses.len': 2,
                      'oses.0.distro': 'debian', 'oses.1.distro': 'centos'})
def dualboot(work):
    a = os.path.join(work, 'a')
    linux_base(a)
    g.w(a, '/etc/os-release', 'ID=debian\nVERSION_ID="11"\n')
    g.w(a, '/etc/fstab', '/dev/sda1 / ext4 defaults 0 1\n')
    kernel(a, '5.10.0-28-amd64')
    b = os.path.join(work, 'b')
    linux_base(b)
    g.w(b, '/etc/centos-release', 'CentOS release 6.10 (Final)\n')
    g.w(b, '/etc/fstab', '/dev/sda2 / ext4 defaults 0 1\n')
    kernel(b, '2.6.32-754.el6.x86_64')
    g.mkdisk(os.path.join(work, 'disk.img'), 128, 'dos', [
        dict(fs=part_linux(work, 'a', a, 48), size_mb=48, type='83',
             bootable=True),
        dict(fs=part_linux(work, 'b', b, 48), size_mb=48, type='83')],
        boot_code='grub2')


@guest('hostile', **{'os.distro': 'unknown', 'os.linux.fstab.len': 256,
                     'os.linux.initrd.read': False,
                     'os.linux.default_kernel': '5.10.0-28-amd64'})
def hostile(work):
    """A symlink loop for os-release, a 3 MB fstab, a corrupt initramfs,
    a self-referencing /etc/network/interfaces.d."""
    r = os.path.join(work, 'root')
    linux_base(r)
    g.ln(r, '/etc/os-release', 'os-release2')
    g.ln(r, '/etc/os-release2', 'os-release')
    g.ln(r, '/usr/lib/os-release', '/usr/lib/os-release')
    g.ln(r, '/etc/network/interfaces.d/loop', '.')
    line = '/dev/sdb1 /mnt/x ext4 defaults 0 0\n'
    g.w(r, '/etc/fstab', line * (3 * 1024 * 1024 // len(line)))
    kernel(r, '5.10.0-28-amd64', 'initrd.img-%s', ('virtio_blk',) * 50,
           'gzip', corrupt=True)
    g.w(r, '/boot/grub/grub.cfg', '{\n' * 5000 + 'menuentry x {\n' * 3000)
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48), size_mb=48, type='83',
             bootable=True)])


# ------------------------------------------------------------------ LVM
# Built with the real lvm2 tools on loop devices (guestlib.lvm): need root.

U_LVBOOT = 'b007b007-0000-4000-8000-00000000b007'
U_LVROOT = '1e1e1e1e-0000-4000-8000-0000000001e1'


def boot_tree(work, kver, title, root_spec, drivers=('virtio_blk', 'nvme'),
              uuid=U_LVBOOT):
    """A separate /boot file system: kernel, initramfs, GRUB 2 for BIOS."""
    b = os.path.join(work, 'boot')
    g.w(b, '/vmlinuz-' + kver, b'\x00' * 512 + b'HdrS' + kver.encode())
    g.initramfs(b, '/initrd.img-' + kver, kver, drivers, 'zstd')
    g.w(b, '/grub/i386-pc/normal.mod', 'mod')
    g.w(b, '/grub/grub.cfg', g.grub_cfg([kver], title=title, submenu=False)
        .replace('/boot/vmlinuz', '/vmlinuz').replace('/boot/initrd', '/initrd')
        .replace('root=UUID=x', 'root=' + root_spec))
    return part_linux(work, 'boot', b, 32, uuid=uuid)


@guest('lvm-debian11', **{
    'os.distro': 'debian', 'os.version': '11.9',
    'os.root_device': 'disk0:sys-vg/root', 'os.root_disk': 0,
    'top.n_lvs': 3, 'os.linux.default_kernel': '5.10.0-28-amd64',
    'os.linux.kernels.0.path': '/boot/vmlinuz-5.10.0-28-amd64',
    'os.boot.grub2_bios': True, 'os.boot.can_bios': True,
    'os.linux.initrd.read': True, 'os.linux.initrd.drivers': ['virtio_blk',
                                                              'nvme'],
    'os.linux.fstab.0.resolves_to': 'disk0:sys-vg/root',
    'os.linux.fstab.0.stable_name': True,
    'os.linux.fstab.1.resolves_to': 'disk0p1',
    'os.linux.fstab.2.resolves_to': 'disk0:sys-vg/home',
    'os.linux.fstab.2.stable_name': True,
    'os.linux.fstab.3.resolves_to': 'disk0:sys-vg/swap',
    'fs.0.mountpoint': '/boot', 'fs.1.type': 'LVM2_member',
    'fs.2.device': 'disk0:sys-vg/root', 'fs.2.lv': 'sys-vg/root',
    'fs.2.partition': -1, 'fs.2.disks': [0], 'fs.2.uuid': U_LVROOT,
    'fs.2.mountpoint': '/', 'fs.3.mountpoint': '/home', 'fs.4.type': 'swap'})
def lvm_debian11(work):
    """Root, /home and swap on LVs of VG "sys-vg" (a dash: /dev/mapper
    names double it), /boot on a plain partition."""
    kver = '5.10.0-28-amd64'
    r = os.path.join(work, 'root')
    linux_base(r)
    g.w(r, '/etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n'
        'ID=debian\nVERSION_ID="11"\n')
    g.w(r, '/etc/debian_version', '11.9\n')
    g.w(r, '/etc/fstab', '/dev/mapper/sys--vg-root / ext4 errors=remount-ro 0 1\n'
        'UUID=%s /boot ext4 defaults 0 2\n/dev/sys-vg/home /home ext4 '
        'defaults 0 2\n/dev/mapper/sys--vg-swap none swap sw 0 0\n' % U_LVBOOT)
    g.d(r, '/lib/modules/' + kver)
    home = os.path.join(work, 'home')
    g.w(home, '/admin/.profile', '# profile\n')
    swap = os.path.join(work, 'swap.fs')
    with open(swap, 'wb') as f:
        f.truncate(8 * MiB)
    g.run('mkswap', '-q', swap)
    boot = boot_tree(work, kver, 'Debian GNU/Linux', '/dev/mapper/sys--vg-root')
    disk = os.path.join(work, 'disk.img')
    g.mkdisk(disk, 128, 'dos', [
        dict(fs=boot, size_mb=32, type='83', bootable=True),
        dict(size_mb=90, type='8e')], boot_code='grub2')
    g.lvm('sys-vg', [(disk, 33 * MiB, 90 * MiB)], [
        ('root', 48, part_linux(work, 'rootfs', r, 48, uuid=U_LVROOT)),
        ('home', 8, part_linux(work, 'homefs', home, 8)),
        ('swap', 8, swap)])


@guest('lvm-span', **{
    'os.distro': 'centos', 'os.version': '8.5',
    'os.root_device': 'lvm:vgspan/root', 'os.root_disk': None,
    'top.n_lvs': 1, 'disk.len': 2, 'disk.1.partition_table.type': 'none',
    'fs.0.mountpoint': '/boot', 'fs.3.device': 'lvm:vgspan/root',
    'fs.3.disk': None, 'fs.3.disks': [0, 1], 'fs.3.type': 'xfs',
    'os.linux.fstab.0.resolves_to': 'lvm:vgspan/root',
    'os.linux.fstab.1.resolves_to': 'disk0p1',
    'os.linux.default_kernel': '4.18.0-348.el8.x86_64',
    'os.boot.grub2_bios': True, 'os.linux.initrd.read': True})
def lvm_span(work):
    """Two disks of one VM: the root LV (XFS) spans a partition of disk 0
    and the whole of disk 1 (a PV with no partition table)."""
    kver = '4.18.0-348.el8.x86_64'
    r = os.path.join(work, 'root')
    linux_base(r, ssh_unit='sshd.service')
    g.w(r, '/etc/os-release', 'NAME="CentOS Linux"\nVERSION="8"\nID="centos"\n'
        'VERSION_ID="8"\n')
    g.w(r, '/etc/centos-release', 'CentOS Linux release 8.5.2111\n')
    g.w(r, '/etc/fstab', '/dev/vgspan/root / xfs defaults 0 0\n'
        'UUID=%s /boot ext4 defaults 0 0\n' % U_LVBOOT)
    g.d(r, '/lib/modules/' + kver)
    boot = boot_tree(work, kver, 'CentOS Linux', '/dev/mapper/vgspan-root')
    d0 = os.path.join(work, 'disk.img')
    d1 = os.path.join(work, 'disk1.img')
    g.mkdisk(d0, 256, 'dos', [
        dict(fs=boot, size_mb=32, type='83', bootable=True),
        dict(size_mb=200, type='8e')], boot_code='grub2')
    with open(d1, 'wb') as f:
        f.truncate(256 * MiB)
    g.lvm('vgspan', [(d0, 33 * MiB, 200 * MiB), (d1, 0, 256 * MiB)], [
        ('root', 320, part_linux(work, 'rootfs', r, 320, fs='xfs'))])


@guest('lvm-span-reversed', **{
    'os.root_device': 'lvm:vgspan/root', 'os.root_disk': None,
    'disk.0.partition_table.type': 'none', 'fs.1.mountpoint': '/boot',
    'fs.3.disks': [0, 1], 'os.linux.fstab.1.resolves_to': 'disk1p1',
    'os.boot.grub2_bios': True, 'os.boot.can_bios': True,
    'os.linux.default_kernel': '4.18.0-348.el8.x86_64'})
def lvm_span_reversed(work):
    """lvm-span with its disks given the other way round: the boot code
    and /boot are on disk 1 now."""
    lvm_span(work)
    a, b = os.path.join(work, 'disk.img'), os.path.join(work, 'disk1.img')
    os.rename(a, a + '.tmp')
    os.rename(b, a)
    os.rename(a + '.tmp', b)


@guest('multi-devnames', **{
    'os.root_device': 'disk1p1', 'os.root_disk': 1,
    'os.linux.fstab.0.resolves_to': 'disk1p1',
    'os.linux.fstab.1.resolves_to': 'disk0p1',
    'os.linux.fstab.2.resolves_to': 'disk0p2',
    'os.boot.grub2_bios': True, 'fs.0.mountpoint': '/data'})
def multi_devnames(work):
    """Two disks given data disk first: the guest calls its root disk sda
    (it boots from it) and the data disk sdb; fstab uses kernel names."""
    r = os.path.join(work, 'root')
    linux_base(r)
    g.w(r, '/etc/os-release', 'ID=debian\nVERSION_ID="12"\n')
    g.w(r, '/etc/fstab', '/dev/sda1 / ext4 defaults 0 1\n'
        '/dev/sdb1 /data ext4 defaults 0 2\n/dev/sdb2 /srv ext4 defaults 0 2\n')
    kernel(r, '6.1.0-13-amd64', 'initrd.img-%s', ('virtio_blk',), 'gzip')
    g.d(r, '/boot/grub/i386-pc')
    g.w(r, '/boot/grub/grub.cfg', g.grub_cfg(['6.1.0-13-amd64']))
    data = os.path.join(work, 'data')
    g.w(data, '/x', 'x\n')
    g.mkdisk(os.path.join(work, 'disk.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'data', data, 16), size_mb=16, type='83'),
        dict(fs=part_linux(work, 'srv', data, 16), size_mb=16, type='83')])
    g.mkdisk(os.path.join(work, 'disk1.img'), 64, 'dos', [
        dict(fs=part_linux(work, 'root', r, 48), size_mb=48, type='83',
             bootable=True)], boot_code='grub2')


# -------------------------------------------------------------- Windows

def win_tree(r, sysroot='Windows'):
    for p in ('System32/config', 'System32/drivers'):
        g.d(r, '%s/%s' % (sysroot, p))
    g.d(r, 'Program Files')
    g.d(r, 'Users')


def win_hives(r, sysroot='Windows', product='Windows Server 2019 Datacenter',
              edition='ServerDatacenter', itype='Server', version='6.3',
              major=10, minor=0, build='17763', csd=None, arch='AMD64',
              lang='0409', packs=('en-US',), paging=None, rdp=0,
              rdp_rule=True, autologon=False, vmware=False, pending=False,
              dotnet=528040, rtu=False, hostname='WIN-TEST', old_fw=False,
              smbios=None):
    cv = {'ProductName': product, 'CurrentVersion': version,
          'CurrentBuildNumber': build, 'CurrentBuild': build,
          'SystemRoot': 'C:\\' + sysroot}
    if edition:
        cv['EditionID'] = edition
    if itype:
        cv['InstallationType'] = itype
    if major is not None:
        cv['CurrentMajorVersionNumber'] = major
        cv['CurrentMinorVersionNumber'] = minor
    if csd:
        cv['CSDVersion'] = csd
    sw = {'Microsoft\\Windows NT\\CurrentVersion': cv,
          'Microsoft\\Windows NT\\CurrentVersion\\Winlogon':
          {'AutoAdminLogon': '1' if autologon else '0', 'Shell': 'explorer.exe'}}
    if vmware:
        sw['VMware, Inc.\\VMware Tools'] = {'InstallPath': 'C:\\Program Files\\VMware'}
    if pending:
        sw['Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\'
           'RebootPending'] = {}
    if dotnet:
        sw['Microsoft\\NET Framework Setup\\NDP\\v4\\Full'] = {
            'Release': dotnet, 'Install': 1}
    else:
        sw['Microsoft\\NET Framework Setup\\NDP\\v2.0.50727'] = {'Install': 1}
    cfg = os.path.join(r, sysroot, 'System32', 'config')
    g.hive(os.path.join(cfg, 'SOFTWARE'), 'HKEY_LOCAL_MACHINE\\SOFTWARE', sw)
    cs = 'ControlSet001'
    sy = {'Select': {'Current': 1, 'Default': 1, 'LastKnownGood': 2},
          cs + '\\Control\\Session Manager\\Environment':
          {'PROCESSOR_ARCHITECTURE': arch},
          cs + '\\Control\\Session Manager\\Memory Management':
          {'PagingFiles': paging if paging is not None else ['?:\\pagefile.sys']},
          cs + '\\Control\\Nls\\Language': {'InstallLanguage': lang,
                                           'Default': lang},
          cs + '\\Control\\TimeZoneInformation': {'Bias': 0},
          cs + '\\Control\\Terminal Server': {'fDenyTSConnections': rdp},
          cs + '\\Control\\ComputerName\\ComputerName':
          {'ComputerName': hostname}}
    if rtu:
        sy[cs + '\\Control\\TimeZoneInformation']['RealTimeIsUniversal'] = 1
    if smbios:
        # the firmware's names of the machine Windows last ran on
        sy[cs + '\\Control\\SystemInformation'] = {
            'SystemManufacturer': smbios[0], 'SystemProductName': smbios[1]}
    for p in packs:
        sy[cs + '\\Control\\MUI\\UILanguages\\' + p] = {'LCID': 1033}
    if rdp_rule and not old_fw:
        sy[cs + '\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\'
           'FirewallRules'] = {
            'RemoteDesktop-UserMode-In-TCP': 'v2.28|Action=Allow|Active=TRUE|'
            'Dir=In|Protocol=6|LPort=3389|App=%SystemRoot%\\system32\\'
            'svchost.exe|Name=@FirewallAPI.dll,-28775|',
            'Other': 'v2.28|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=80|'}
    if old_fw:
        sy[cs + '\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\'
           'StandardProfile\\GloballyOpenPorts\\List'] = {
            '3389:TCP': '3389:TCP:*:Enabled:@xpsp2res.dll,-22009'}
    if pending:
        sy[cs + '\\Control\\Session Manager'] = {
            'PendingFileRenameOperations': ['\\??\\C:\\x.tmp', '']}
    g.hive(os.path.join(cfg, 'SYSTEM'), 'HKEY_LOCAL_MACHINE\\SYSTEM', sy)


def bcd(path, ems=False):
    el = {'Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Description':
          {'Type': 0x10100002},
          'Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\'
          '12000004': {'Element': 'Windows Boot Manager'}}
    if ems:
        el['Objects\\{a1b2c3d4-0000-0000-0000-000000000001}\\Elements\\'
           '260000b0'] = {'Element': b'\x01'}
    g.hive(path, 'HKEY_LOCAL_MACHINE\\BCD00000000', el)


# GPT type GUIDs of a Windows disk
T_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
T_MSR = 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE'
T_DATA = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'
T_RECOVERY = 'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC'


def pcat_files(r, sysroot='Windows', upper=False):
    """What a BIOS boot needs on the Windows volume of a UEFI install:
    the PCAT boot manager bcdboot copies to a BIOS system partition, its
    resources, and the BIOS boot application winload.exe (next to the
    UEFI one, winload.efi).  upper: the names in upper case (Windows
    matches them case-insensitively, so must inspection)."""
    up = str.upper if upper else str
    g.w(r, sysroot + up('/Boot/PCAT/bootmgr'),
        b'BOOTMGR phony PCAT boot manager\0'.ljust(8192, b'\xcc'))
    g.w(r, sysroot + up('/Boot/PCAT/en-US/bootmgr.exe.mui'),
        'MZ bootmgr.exe.mui')
    g.w(r, sysroot + up('/Boot/PCAT/memtest.exe'), 'MZ memtest')
    # the fonts bcdboot copies to \Boot\Fonts (TrueType: 00 01 00 00)
    for f in ('segmono_boot.ttf', 'wgl4_boot.ttf'):
        g.w(r, sysroot + up('/Boot/Fonts/' + f),
            b'\0\1\0\0' + f.encode().ljust(4092, b'\0'))
    g.w(r, sysroot + up('/Boot/Fonts/readme.txt'), 'not a font')
    # (System32 itself keeps its name: one directory, as on Windows)
    g.w(r, sysroot + '/System32/' + up('winload.exe'), 'MZ winload.exe')
    g.w(r, sysroot + '/System32/' + up('winload.efi'), 'MZ winload.efi')


def win_guest(work, fixture, uefi=True, ems=False, sysroot='Windows',
              ntldr=False, pcat=False, recovery=False, data_parts=0,
              dyn=False, **hv):
    """A phony Windows.  UEFI: GPT with ESP (40 MiB FAT32), MSR (16 MiB),
    C: (64 MiB NTFS); with recovery a Windows RE partition (16 MiB NTFS,
    type DE94BBA4, attributes RequiredPartition + no drive letter) after
    C:, then data_parts more NTFS data partitions (16 MiB each); pcat: the
    BIOS boot files on C: (pcat_files; 'upper': in upper case); dyn: C:
    is a simple volume of a dynamic (LDM) GPT disk after the ESP and MSR
    (tests/part/ldm/mkldm.py).
    Not UEFI: MBR with an active System Reserved partition (or ntldr)."""
    r = os.path.join(work, 'c')
    win_tree(r, sysroot)
    win_hives(r, sysroot, **hv)
    g.w(r, sysroot + '/System32/ntoskrnl.exe', 'MZ')
    if pcat:
        pcat_files(r, sysroot, upper=pcat == 'upper')
    c = os.path.join(work, 'c.fs')
    if uefi:
        e = os.path.join(work, 'esp.d')
        g.w(e, '/EFI/Microsoft/Boot/bootmgfw.efi', 'MZ')
        g.w(e, '/EFI/Boot/bootx64.efi', 'MZ')
        bcd(g.w(e, '/EFI/Microsoft/Boot/BCD', ''), ems)
        ef = os.path.join(work, 'esp.fs')
        g.mkfat(e, ef, 40, volid='5A5A1234', label='SYSTEM')
        g.mkntfs(r, c, 64, fixture)
        esp_p = dict(fs=ef, size_mb=40, type=T_ESP,
                     name='EFI system partition')
        msr_p = dict(size_mb=16, type=T_MSR,
                     name='Microsoft reserved partition')
        if dyn:
            win_dyn(work, esp_p, msr_p, c)
            return
        parts = [esp_p, msr_p,
                 dict(fs=c, size_mb=64, type=T_DATA,
                      name='Basic data partition')]
        if recovery:
            re_d = os.path.join(work, 'recovery.d')
            g.w(re_d, '/Recovery/WindowsRE/Winre.wim', 'MSWIM\0\0\0')
            g.w(re_d, '/Recovery/WindowsRE/ReAgent.xml', '<WindowsRE/>')
            rf = os.path.join(work, 'recovery.fs')
            g.mkntfs(re_d, rf, 16, fixture, label='Recovery')
            parts.append(dict(fs=rf, size_mb=16, type=T_RECOVERY,
                              name='Basic data partition',
                              attrs='RequiredPartition,GUID:63'))
        for k in range(data_parts):
            dd = os.path.join(work, 'data%d.d' % k)
            g.w(dd, '/readme.txt', 'data volume %d\r\n' % k)
            df = os.path.join(work, 'data%d.fs' % k)
            g.mkntfs(dd, df, 16, fixture, label='Data%d' % k)
            parts.append(dict(fs=df, size_mb=16, type=T_DATA,
                              name='Basic data partition'))
        used = 1 + sum(p['size_mb'] for p in parts)
        g.mkdisk(os.path.join(work, 'disk.img'), max(128, used + 7), 'gpt',
                 parts)
    else:
        s = os.path.join(work, 'sr')
        if ntldr:
            g.w(r, '/ntldr', 'NTLDR')
            g.w(r, '/boot.ini', '[boot loader]\ndefault=multi(0)disk(0)'
                'rdisk(0)partition(1)\\WINDOWS\n')
            g.mkntfs(r, c, 64, fixture)
            g.mkdisk(os.path.join(work, 'disk.img'), 96, 'dos', [
                dict(fs=c, size_mb=64, type='7', bootable=True)],
                boot_code='windows')
            return
        g.w(s, '/bootmgr', 'bootmgr')
        bcd(g.w(s, '/Boot/BCD', ''), ems)
        sf = os.path.join(work, 'sr.fs')
        g.mkntfs(s, sf, 16, fixture, label='System Reserved')
        g.mkntfs(r, c, 64, fixture)
        g.mkdisk(os.path.join(work, 'disk.img'), 96, 'dos', [
            dict(fs=sf, size_mb=16, type='7', bootable=True),
            dict(fs=c, size_mb=64, type='7')], boot_code='windows')


def win_dyn(work, esp_p, msr_p, c):
    """A dynamic GPT boot disk as Windows leaves it: ESP, MSR, then the
    LDM metadata and data partitions; C: is a simple volume (hint C:) in
    the LDM data area (built by tests/part/ldm/mkldm.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), '..', 'part', 'ldm'))
    import mkldm
    out = os.path.join(work, 'ldm')
    mkldm.build(dict(group=dict(mkldm.GROUP, name='WIN10-PC-Dg0'), disks=[
        dict(size_mb=160, label='gpt', prefix=[esp_p, msr_p])], volumes=[
        dict(name='Volume1', type='simple', size_mb=64, hint='C:',
             content=c, extents=[dict(disk=0, start_mb=1, size_mb=64)])]),
        out)
    os.rename(os.path.join(out, 'disk0.img'), os.path.join(work, 'disk.img'))


WIN = {
    'win2019': (dict(uefi=True), {
        'os.type': 'windows', 'os.product_name': 'Windows Server 2019 Datacenter',
        'os.windows.edition': 'ServerDatacenter',
        'os.windows.installation_type': 'Server', 'os.version': '10.0',
        'os.windows.build': 17763, 'os.arch': 'x86_64',
        'os.windows.install_language': 'en-US',
        'os.windows.language_packs': ['en-US'],
        'os.windows.rdp_enabled': True, 'os.windows.rdp_firewall': True,
        'os.windows.paging_auto': True, 'os.windows.dotnet_version': '4.8',
        'os.windows.ems_enabled': False, 'os.windows.vmware_tools': False,
        'os.windows.current_control_set': 1, 'os.hostname': 'WIN-TEST',
        'os.boot.bootmgr_efi': True, 'os.boot.bootmgr_bios': False,
        'os.boot.can_uefi': True, 'os.boot.can_bios': False,
        'os.boot.efi_fallback': True, 'os.windows.systemroot': 'C:\\Windows',
        'fs.2.type': 'ntfs'}),
    'win2008r2': (dict(uefi=False, ems=True, product='Windows Server 2008 R2 '
                       'Standard', edition='ServerStandard', version='6.1',
                       major=None, build='7601', csd='Service Pack 1',
                       pending=True, dotnet=379893, vmware=True,
                       paging=['C:\\pagefile.sys 4096 4096'], rtu=True), {
        'os.version': '6.1', 'os.windows.build': 7601,
        'os.service_pack': 'Service Pack 1',
        'os.windows.ems_enabled': True, 'os.windows.pending_reboot': True,
        'os.windows.vmware_tools': True, 'os.windows.dotnet_version': '4.5.2',
        'os.windows.paging_auto': False,
        'os.windows.realtime_is_universal': True,
        'os.boot.bootmgr_bios': True, 'os.boot.can_bios': True,
        'os.boot.can_uefi': False, 'os.root_device': 'disk0p2',
        'disk.0.partition_table.boot_code': 'windows'}),
    'win2012r2': (dict(product='Windows Server 2012 R2 Standard',
                       edition='ServerStandard', version='6.3', major=None,
                       build='9600', dotnet=461808, itype='Server Core'), {
        'os.version': '6.3', 'os.windows.build': 9600,
        'os.windows.installation_type': 'Server Core',
        'os.windows.dotnet_version': '4.7.2'}),
    'win2016': (dict(product='Windows Server 2016 Standard',
                     edition='ServerStandard', build='14393', autologon=True),
                {'os.windows.build': 14393, 'os.windows.autologon': True}),
    'win2003r2-x86': (dict(uefi=False, ntldr=True, sysroot='WINDOWS',
                           product='Microsoft Windows Server 2003 R2',
                           edition=None, itype=None, version='5.2', major=None,
                           build='3790', csd='Service Pack 2', arch='x86',
                           packs=(), dotnet=None, old_fw=True), {
        'os.version': '5.2', 'os.arch': 'i386',
        'os.windows.installation_type': 'Server',
        'os.service_pack': 'Service Pack 2', 'os.windows.dotnet_version': '2.0',
        'os.windows.rdp_firewall': True, 'os.boot.bootmgr_bios': True,
        'os.windows.systemroot': 'C:\\WINDOWS'}),
    'win7-de': (dict(uefi=False, product='Windows 7 Professional',
                     edition='Professional', itype='Client', version='6.1',
                     major=None, build='7601', csd='Service Pack 1',
                     arch='x86', lang='0407', packs=('de-DE',), rdp=1,
                     rdp_rule=False), {
        'os.windows.install_language': 'de-DE',
        'os.windows.language_packs': ['de-DE'], 'os.arch': 'i386',
        'os.windows.installation_type': 'Client',
        'os.windows.rdp_enabled': False, 'os.windows.rdp_firewall': None}),
    'win81': (dict(product='Windows 8.1 Pro', edition='Professional',
                   itype='Client', version='6.3', major=None, build='9600'),
              {'os.version': '6.3', 'os.windows.edition': 'Professional'}),
    'win10': (dict(product='Windows 10 Enterprise', edition='Enterprise',
                   itype='Client', build='19045'),
              {'os.product_name': 'Windows 10 Enterprise',
               'os.windows.build': 19045}),
    'win11': (dict(product='Windows 10 Pro', edition='Professional',
                   itype='Client', build='22631'),
              {'os.product_name': 'Windows 11 Pro', 'os.windows.build': 22631,
               'os.boot.can_uefi': True}),
    # BOOT-006 (tests/rules/e2e/check-boot006.sh): a Windows 10 UEFI
    # install on GPT that carries the BIOS boot files (compatible with
    # both modes): ESP, MSR, C:, Windows RE (3 partitions in an MBR)...
    'win10-gpt': (dict(product='Windows 10 Enterprise', edition='Enterprise',
                       itype='Client', build='19045', pcat=True,
                       recovery=True, hostname='WIN10-GPT'), {
        'os.product_name': 'Windows 10 Enterprise', 'os.windows.build': 19045,
        'os.boot.bios_after_mbr': True, 'os.boot.bootmgr_bios': False,
        'os.boot.bootmgr_efi': True, 'os.boot.can_bios': True,
        'os.boot.can_uefi': True, 'os.root_device': 'disk0p3',
        'os.boot.esp_device': 'disk0p1',
        'disk.0.partition_table.type': 'gpt',
        'disk.0.partition_table.partitions.len': 4,
        'disk.0.partition_table.partitions.3.kind': 'ms-recovery',
        'fs.2.type': 'ntfs', 'fs.3.type': 'ntfs', 'fs.3.label': 'Recovery'}),
    # ... with one more data partition (4 in an MBR: stays GPT); the BIOS
    # boot files named in upper case (\Windows\BOOT\PCAT\BOOTMGR,
    # \Windows\System32\WINLOAD.EXE)
    'win10-gpt-4prim': (dict(product='Windows 10 Enterprise',
                             edition='Enterprise', itype='Client',
                             build='19045', pcat='upper', recovery=True,
                             data_parts=1), {
        'os.boot.bios_after_mbr': True, 'os.boot.can_bios': True,
        'disk.0.partition_table.partitions.len': 5,
        'fs.4.label': 'Data0'}),
    # ... on a dynamic disk (C: a simple LDM volume)
    'win10-gpt-dyn': (dict(product='Windows 10 Enterprise',
                           edition='Enterprise', itype='Client',
                           build='19045', pcat=True, dyn=True), {
        'os.boot.bios_after_mbr': True, 'os.boot.can_uefi': True,
        'os.root_device': 'disk0:ldm:Volume1',
        'disk.0.partition_table.type': 'gpt',
        'disk.0.partition_table.ldm': True}),
    # Windows 11 (its registry still says "Windows 10"): the same files,
    # but UEFI only (vmie check, OS-009)
    'win11-gpt': (dict(product='Windows 10 Pro', edition='Professional',
                       itype='Client', build='22631', pcat=True,
                       recovery=True), {
        'os.product_name': 'Windows 11 Pro', 'os.windows.build': 22631,
        'os.boot.bios_after_mbr': True, 'os.boot.can_uefi': True}),
    # no BIOS boot files: not compatible with BIOS
    'win10-gpt-nopcat': (dict(product='Windows 10 Enterprise',
                              edition='Enterprise', itype='Client',
                              build='19045', recovery=True), {
        'os.boot.bios_after_mbr': False, 'os.boot.can_bios': False,
        'os.boot.can_uefi': True}),
    'nano2016': (dict(product='Windows Server 2016 Datacenter',
                      edition='ServerDatacenterNano', itype='Nano Server',
                      build='14393'),
                 {'os.windows.installation_type': 'Nano Server'}),
}


def make_win(name, kw):
    def fn(work, fixture=None):
        win_guest(work, fixture, **kw)
    return fn


for _n, (_kw, _exp) in WIN.items():
    GUESTS[_n] = (make_win(_n, _kw), dict(_exp, **{'os.type': 'windows'}))


# ----------------------------------------------------------------- main

# builders outside this file and guestlib.py (whose text keys the cache):
# an image made with another version of them is made again
DEPS = {'win10-gpt-dyn': ['../part/ldm/mkldm.py']}


def deps_stamp(name):
    h = hashlib.sha256()
    for d in DEPS.get(name, ()):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               d), 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def build(cache, name, fixture=None):
    fn, _ = GUESTS[name]
    os.makedirs(cache, exist_ok=True)
    out = os.path.join(cache, name + '.img')
    more = os.path.join(cache, name + '.more')   # further disks, if any
    stamp = os.path.join(cache, name + '.deps')
    with open(os.path.join(cache, '.lock-' + name), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if name in DEPS and os.path.exists(out):
            try:
                with open(stamp) as f:
                    fresh = f.read() == deps_stamp(name)
            except OSError:
                fresh = False
            if not fresh:
                os.unlink(out)
        if os.path.exists(out):
            return ' '.join([out] + (open(more).read().split()
                                     if os.path.exists(more) else []))
        work = g.tmpdir(cache)
        try:
            if name.startswith('win') or name.startswith('nano'):
                if not fixture:
                    raise RuntimeError('Windows guests need ntfs_fixture')
                fn(work, fixture)
            else:
                fn(work)
            extra, k = [], 1
            while os.path.exists(os.path.join(work, 'disk%d.img' % k)):
                extra.append(os.path.join(cache, '%s.disk%d.img' % (name, k)))
                os.rename(os.path.join(work, 'disk%d.img' % k), extra[-1])
                k += 1
            if extra:
                with open(more, 'w') as f:
                    f.write(' '.join(extra))
            if name in DEPS:
                with open(stamp, 'w') as f:
                    f.write(deps_stamp(name))
            os.rename(os.path.join(work, 'disk.img'), out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return ' '.join([out] + extra)


def lookup(doc, path):
    cur = doc
    for p in path.split('.'):
        if p == 'len':
            return len(cur)
        if isinstance(cur, list):
            if p.isdigit():
                cur = cur[int(p)]
            else:       # a field of every element: all must agree
                vals = [e.get(p) for e in cur]
                if len(set(map(json.dumps, vals))) != 1:
                    return vals
                cur = vals[0]
        else:
            cur = cur[p]
    return cur


def check(name, doc):
    _, expect = GUESTS[name]
    bad = 0
    for k, want in expect.items():
        head, _, rest = k.partition('.')
        base = {'os': lambda: doc['operating_systems'][0],
                'oses': lambda: doc['operating_systems'],
                'top': lambda: doc, 'fs': lambda: doc['filesystems'],
                'disk': lambda: doc['disks']}[head]
        try:
            got = lookup(base(), rest) if rest else base()
        except (KeyError, IndexError, TypeError) as e:
            got = '<missing: %s>' % e
        if isinstance(want, list) and isinstance(got, list) and \
                k.endswith(('drivers', 'language_packs', 'users_with_keys')):
            ok = sorted(want) == sorted(got)
        else:
            ok = got == want
        if not ok:
            print('%s: %s = %r, want %r' % (name, k, got, want))
            bad += 1
    return bad


def main():
    cmd = sys.argv[1]
    if cmd == 'build':
        print(build(sys.argv[2], sys.argv[3],
                    sys.argv[4] if len(sys.argv) > 4 else None))
    elif cmd == 'check':
        with open(sys.argv[3]) as f:
            doc = json.load(f)
        if not doc['operating_systems'] and any(
                k.startswith('os.') for k in GUESTS[sys.argv[2]][1]):
            print('%s: no operating system found' % sys.argv[2])
            sys.exit(1)
        sys.exit(1 if check(sys.argv[2], doc) else 0)
    elif cmd == 'list':
        pre = sys.argv[2] if len(sys.argv) > 2 else ''
        print('\n'.join(n for n in GUESTS if n.startswith(pre)))
    elif cmd == 'big':      # the benchmark's 4 GiB Debian-like disk
        work = g.tmpdir(sys.argv[2])
        debian12(work, big=True)
        os.rename(os.path.join(work, 'disk.img'), sys.argv[3])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
