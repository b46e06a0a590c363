#!/usr/bin/env python3
"""Guests and VM packages for the end-to-end tests of `vmie check`.

usage: mkcheck.py build CACHE NAME [ntfs_fixture]   -> prints the image path
       mkcheck.py ova OUT.ova --disk PATH[:CAPACITY]... [--nics N]
                  [--cdroms N] [--name VM] [--bad-digest]
       mkcheck.py expect JSON RC EXPR...           -> exit 1 on a mismatch
       mkcheck.py list
       mkcheck.py big WORKDIR OUT.img              -> the benchmark's guest

The phony guests reuse the building blocks of the inspection tests
(tests/inspect/guestlib.py and the guest parts of tests/inspect/mkguest.py,
imported, not copied): marker files on real file systems made by mke2fs,
mkfs.xfs, mkfs.fat and mkntfs + ntfs_fixture, on disks partitioned by
sfdisk.  The guests here are the ones the rules need and the inspection
suite does not build: a supported Debian 11 (MBR and GPT), CentOS 7 on XFS,
and Windows guests that boot in both modes (BOOT-006).  Each image is built
once per CACHE directory under a lock (several tests may ask at once) into
a temporary name renamed when complete.

expect checks `vmie check --json` output: EXPR is one of
  exit=N                  the exit status
  RULE=VERDICT[,VERDICT]  a rule's verdict (pass, fail, warn, info, n/a)
  RULE~TEXT               TEXT (case-insensitive) in the rule's evidence,
                          fix or status message
  key.path=VALUE          a value of the report ("decisions.boot_mode",
                          "inputs.1.format", "vm.nics"); null, true, false
                          and integers are parsed
  status~TEXT             TEXT in the top status message
With CHECK_E2E_SEEN=FILE in the environment, expect appends
"RULE POLICY VERDICT ASSERTED LABEL" for every rule of every report to FILE
(ASSERTED is 1 when an EXPR named the rule's verdict; LABEL comes from
CHECK_E2E_LABEL): which verdicts the suite reaches on real images, read by
tests/rules/coverage.sh.
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'inspect'))
import guestlib as g  # noqa: E402
import mkguest as mg  # noqa: E402

GUESTS = {}


def guest(name):
    def deco(fn):
        GUESTS[name] = fn
        return fn
    return deco


# ---------------------------------------------------------------- Linux

U_D11 = '1d11d11d-0000-4000-8000-00000000d011'


def debian11_root(r, uuid=U_D11):
    mg.linux_base(r)
    g.w(r, '/etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n'
        'NAME="Debian GNU/Linux"\nVERSION_ID="11"\nVERSION="11 (bullseye)"\n'
        'VERSION_CODENAME=bullseye\nID=debian\n')
    g.w(r, '/etc/debian_version', '11.8\n')
    g.w(r, '/etc/hostname', 'deb11\n')
    g.w(r, '/etc/fstab', 'UUID=%s / ext4 errors=remount-ro 0 1\n'
        'proc /proc proc defaults 0 0\n' % uuid)
    g.w(r, '/etc/network/interfaces', 'auto lo\niface lo inet loopback\n'
        'allow-hotplug ens3\niface ens3 inet dhcp\n')
    mg.kernel(r, '5.10.0-28-amd64', 'initrd.img-%s',
              ('virtio_blk', 'virtio_net', 'nvme', 'ena'), 'gzip')
    g.d(r, '/boot/grub/i386-pc')
    g.w(r, '/boot/grub/i386-pc/normal.mod', 'mod')
    g.w(r, '/boot/grub/grub.cfg', g.grub_cfg(['5.10.0-28-amd64'],
                                               title='Debian GNU/Linux',
                                               root_uuid=uuid))


@guest('debian11')
def debian11(work, big=False):
    """Debian 11, kernel 5.10, GRUB 2 for BIOS on an MBR disk: supported
    by aws-current.  The root file system is large enough (300 MiB,
    sparse) for PREP-001.  big: the benchmark's 4 GiB disk, a 1 GiB root
    holding 300 MiB of files."""
    r = os.path.join(work, 'root')
    debian11_root(r)
    if big:
        for i in range(300):
            g.w(r, '/usr/share/bench/f%03d.bin' % i, os.urandom(1 << 20))
    disk_mb, root_mb = (4096, 1024) if big else (320, 300)
    g.mkdisk(os.path.join(work, 'disk.img'), disk_mb, 'dos', [
        dict(fs=mg.part_linux(work, 'root', r, root_mb, uuid=U_D11),
             size_mb=root_mb, type='83', bootable=True)], boot_code='grub2')


@guest('debian11-unprepared')
def debian11_unprepared(work):
    """Debian 11 as it should not be exported: no SSH server, no DHCP
    client, a static address, no user with an SSH key, an fstab naming
    devices, a disk that is not there and a CIFS share, a grub.cfg without
    default entry or timeout (PREP-003, -004, -013, -014, -017)."""
    r = os.path.join(work, 'root')
    debian11_root(r)
    for p in ('usr/sbin/sshd', 'sbin/dhclient',
              'etc/systemd/system/multi-user.target.wants/ssh.service'):
        os.unlink(os.path.join(r, p))
    shutil.rmtree(os.path.join(r, 'home/admin/.ssh'))
    g.w(r, '/etc/network/interfaces', 'auto lo\niface lo inet loopback\n'
        'auto ens3\niface ens3 inet static\n    address 192.0.2.10/24\n')
    g.w(r, '/etc/fstab', '/dev/sda1 / ext4 errors=remount-ro 0 1\n'
        '/dev/sdb1 /data ext4 defaults 0 2\n'
        '//files/share /mnt/share cifs credentials=/root/.smb 0 0\n')
    # a hand-written grub.cfg: one entry, no default, no timeout (PREP-014)
    g.w(r, '/boot/grub/grub.cfg', "menuentry 'Debian' {\n"
        '\tlinux /boot/vmlinuz-5.10.0-28-amd64 root=/dev/sda1 ro\n'
        '\tinitrd /boot/initrd.img-5.10.0-28-amd64\n}\n')
    g.mkdisk(os.path.join(work, 'disk.img'), 320, 'dos', [
        dict(fs=mg.part_linux(work, 'root', r, 300, uuid=U_D11),
             size_mb=300, type='83', bootable=True)], boot_code='grub2')


@guest('debian11-gpt')
def debian11_gpt(work):
    """The same guest on GPT, GRUB 2 for BIOS in a BIOS boot partition
    (FS-003: GPT passes aws-current, fails aws-legacy)."""
    r = os.path.join(work, 'root')
    debian11_root(r)
    g.mkdisk(os.path.join(work, 'disk.img'), 320, 'gpt', [
        dict(size_mb=1, type='21686148-6449-6E6F-744E-656564454649',
             name='bios'),
        dict(fs=mg.part_linux(work, 'root', r, 300, uuid=U_D11),
             size_mb=300, type='0FC63DAF-8483-4772-8E79-3D69D8477DE4')],
        boot_code='grub2')


U_BT = 'b7f5b7f5-0000-4000-8000-0000000000b7'


class NeedsRoot(Exception):
    """The guest needs root and a loop mount; the caller skips (77)."""


@guest('debian11-btrfs')
def debian11_btrfs(work):
    """Debian 11 with its root on Btrfs made by mkfs.btrfs --rootdir: one
    top-level subvolume only (FS-001 and FS-002 pass)."""
    r = os.path.join(work, 'root')
    debian11_root(r, uuid=U_BT)
    g.w(r, '/etc/fstab', 'UUID=%s / btrfs defaults 0 0\n' % U_BT)
    g.mkdisk(os.path.join(work, 'disk.img'), 340, 'dos', [
        dict(fs=mg.part_linux(work, 'root', r, 320, fs='btrfs', uuid=U_BT),
             size_mb=320, type='83', bootable=True)], boot_code='grub2')


@guest('debian11-btrfs-converted')
def debian11_btrfs_converted(work):
    """Debian 11 whose ext4 root was converted in place by btrfs-convert,
    which keeps the ext4 image in the subvolume ext2_saved until it is
    deleted: a Btrfs subvolume made without mounting (FS-002 fails)."""
    r = os.path.join(work, 'root')
    debian11_root(r)
    fs = os.path.join(work, 'root.fs')
    # btrfs-convert wants 4 KiB blocks (mke2fs picks 1 KiB below 512 MiB)
    g.run('mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-d', r,
          '-U', U_D11, fs, '300M',
          env=dict(os.environ, E2FSPROGS_FAKE_TIME='1600000000'))
    g.run('btrfs-convert', fs)
    g.mkdisk(os.path.join(work, 'disk.img'), 320, 'dos', [
        dict(fs=fs, size_mb=300, type='83', bootable=True)], boot_code='grub2')


@guest('debian11-btrfs-subvol')
def debian11_btrfs_subvol(work):
    """Debian 11 installed the way Ubuntu and SUSE installers lay out Btrfs:
    the root in subvolume @ (the default subvolume, set-default), /home in
    subvolume @home, fstab mounting them with subvol=.  Made by the real
    kernel: mkfs.btrfs, a loop mount, btrfs subvolume create/set-default
    (needs root: NeedsRoot otherwise)."""
    if os.geteuid() != 0:
        raise NeedsRoot('not root')
    r = os.path.join(work, 'root')
    debian11_root(r, uuid=U_BT)
    g.w(r, '/etc/fstab', 'UUID=%s / btrfs defaults,subvol=@ 0 0\n'
        'UUID=%s /home btrfs defaults,subvol=@home 0 0\n' % (U_BT, U_BT))
    home = os.path.join(r, 'home')
    fs = os.path.join(work, 'root.fs')
    with open(fs, 'wb') as f:
        f.truncate(320 * g.MiB)
    g.run('mkfs.btrfs', '-q', '-f', '-U', U_BT, fs)
    mnt = os.path.join(work, 'mnt')
    os.makedirs(mnt)
    if subprocess.run(['mount', '-o', 'loop', fs, mnt],
                      stderr=subprocess.DEVNULL).returncode:
        raise NeedsRoot('cannot loop-mount a Btrfs image here')
    try:
        g.run('btrfs', 'subvolume', 'create', os.path.join(mnt, '@'))
        g.run('btrfs', 'subvolume', 'create', os.path.join(mnt, '@home'))
        for name in os.listdir(r):
            if name == 'home':
                continue
            src = os.path.join(r, name)
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, os.path.join(mnt, '@', name),
                                symlinks=True)
            else:
                shutil.copy2(src, os.path.join(mnt, '@', name),
                             follow_symlinks=False)
        os.makedirs(os.path.join(mnt, '@', 'home'))
        for name in os.listdir(home):
            shutil.copytree(os.path.join(home, name),
                            os.path.join(mnt, '@home', name), symlinks=True)
        out = g.run('btrfs', 'subvolume', 'list', mnt).decode()
        sid = [ln.split()[1] for ln in out.splitlines()
               if ln.split()[-1] == '@'][0]
        g.run('btrfs', 'subvolume', 'set-default', sid, mnt)
    finally:
        # umount detaches the loop device (autoclear); lazily if busy
        if subprocess.run(['umount', mnt]).returncode:
            subprocess.run(['umount', '-l', mnt])
    g.mkdisk(os.path.join(work, 'disk.img'), 340, 'dos', [
        dict(fs=fs, size_mb=320, type='83', bootable=True)], boot_code='grub2')


def vendor_part(work, label, size_mb=16):
    """A FAT file system with an OEM volume label (its contents are of no
    interest to the check)."""
    d = os.path.join(work, 'oem-' + label)
    g.w(d, '/readme.txt', 'vendor tools\n')
    img = os.path.join(work, 'oem-%s.fs' % label)
    g.mkfat(d, img, size_mb, label=label)
    return img


@guest('debian11-dell')
def debian11_dell(work):
    """Debian 11 installed on a Dell machine and copied to an image: the
    disk starts with Dell's utility partition (MBR type 0xde, FAT labelled
    DellUtility, upper case as FAT stores it), as the factory leaves it
    (OS-010 warns)."""
    r = os.path.join(work, 'root')
    debian11_root(r)
    g.mkdisk(os.path.join(work, 'disk.img'), 330, 'dos', [
        dict(fs=vendor_part(work, 'DELLUTILITY'), size_mb=16, type='de'),
        dict(fs=mg.part_linux(work, 'root', r, 300, uuid=U_D11),
             size_mb=300, type='83', bootable=True)], boot_code='grub2')


@guest('debian11-gpt-hp')
def debian11_gpt_hp(work):
    """Debian 11 on the GPT disk of an HP machine: an ordinary basic-data
    partition whose FAT label is HP_TOOLS (OS-010 warns on the label)."""
    r = os.path.join(work, 'root')
    debian11_root(r)
    g.mkdisk(os.path.join(work, 'disk.img'), 340, 'gpt', [
        dict(size_mb=1, type='21686148-6449-6E6F-744E-656564454649',
             name='bios'),
        dict(fs=vendor_part(work, 'HP_TOOLS'), size_mb=16,
             type='EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
             name='Basic data partition'),
        dict(fs=mg.part_linux(work, 'root', r, 300, uuid=U_D11),
             size_mb=300, type='0FC63DAF-8483-4772-8E79-3D69D8477DE4')],
        boot_code='grub2')


U_C7 = 'c7c7c7c7-0000-4000-8000-0000000000c7'


@guest('centos7-xfs')
def centos7_xfs(work):
    """CentOS 7.6, kernel 3.10.0, root on XFS (mkfs.xfs -p), GRUB 2 BIOS:
    in the matrix of both policies (aws-legacy lists CentOS 7.0-7.6)."""
    r = os.path.join(work, 'root')
    mg.linux_base(r, ssh_unit='sshd.service')
    g.w(r, '/etc/os-release', 'NAME="CentOS Linux"\nVERSION="7 (Core)"\n'
        'ID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n'
        'PRETTY_NAME="CentOS Linux 7 (Core)"\n')
    g.w(r, '/etc/centos-release', 'CentOS Linux release 7.6.1810 (Core)\n')
    g.ln(r, '/etc/redhat-release', 'centos-release')
    g.w(r, '/etc/hostname', 'c7xfs\n')
    g.w(r, '/etc/fstab', 'UUID=%s / xfs defaults 0 0\n' % U_C7)
    g.w(r, '/etc/sysconfig/network-scripts/ifcfg-eth0', 'DEVICE=eth0\n'
        'BOOTPROTO=dhcp\nONBOOT=yes\n')
    v = '3.10.0-957.el7.x86_64'
    mg.kernel(r, v, 'initramfs-%s.img', ('virtio_blk', 'virtio_net'), 'gzip')
    g.d(r, '/boot/grub2/i386-pc')
    g.w(r, '/boot/grub2/grubenv', 'saved_entry=CentOS Linux (%s) 7 (Core)\n' % v)
    g.w(r, '/boot/grub2/grub.cfg', 'set default="${saved_entry}"\n'
        'set timeout=5\n'
        "menuentry 'CentOS Linux (%s) 7 (Core)' {\n"
        '\tlinux16 /boot/vmlinuz-%s root=UUID=%s\n'
        '\tinitrd16 /boot/initramfs-%s.img\n}\n' % (v, v, U_C7, v))
    g.mkdisk(os.path.join(work, 'disk.img'), 340, 'dos', [
        dict(fs=mg.part_linux(work, 'root', r, 320, fs='xfs', uuid=U_C7),
             size_mb=320, type='83', bootable=True)], boot_code='grub2')


# -------------------------------------------------------------- Windows

def win_both(work, fixture, gpt=False, hiber=False, **hv):
    """A Windows guest that boots in both modes.  MBR: an active System
    Reserved partition with bootmgr and Boot/BCD (BIOS), an EFI system
    partition (type 0xef) with EFI/Microsoft/Boot/bootmgfw.efi (UEFI), C:.
    GPT: the layout `bcdboot /f ALL` leaves: the ESP holds both the BIOS
    files (bootmgr, Boot/BCD) and the UEFI ones; MSR; C:."""
    r = os.path.join(work, 'c')
    mg.win_tree(r)
    mg.win_hives(r, **hv)
    g.w(r, 'Windows/System32/ntoskrnl.exe', 'MZ')
    if hiber:
        # Fast Startup left a hibernation image: its header starts "HIBR"
        g.w(r, 'hiberfil.sys', 'HIBR' + '\0' * 8188)
    c = os.path.join(work, 'c.fs')
    g.mkntfs(r, c, 64, fixture)
    e = os.path.join(work, 'esp.d')
    g.w(e, '/EFI/Microsoft/Boot/bootmgfw.efi', 'MZ')
    g.w(e, '/EFI/Boot/bootx64.efi', 'MZ')
    mg.bcd(g.w(e, '/EFI/Microsoft/Boot/BCD', ''))
    if gpt:
        g.w(e, '/bootmgr', 'bootmgr')
        mg.bcd(g.w(e, '/Boot/BCD', ''))
    ef = os.path.join(work, 'esp.fs')
    g.mkfat(e, ef, 40, volid='5A5A1234', label='SYSTEM')
    if gpt:
        g.mkdisk(os.path.join(work, 'disk.img'), 128, 'gpt', [
            dict(fs=ef, size_mb=40, type='C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
                 name='EFI system partition'),
            dict(size_mb=16, type='E3C9E316-0B5C-4DB8-817D-F92DF00215AE',
                 name='Microsoft reserved partition'),
            dict(fs=c, size_mb=64, type='EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
                 name='Basic data partition')])
        return
    s = os.path.join(work, 'sr')
    g.w(s, '/bootmgr', 'bootmgr')
    mg.bcd(g.w(s, '/Boot/BCD', ''))
    sf = os.path.join(work, 'sr.fs')
    g.mkntfs(s, sf, 16, fixture, label='System Reserved')
    g.mkdisk(os.path.join(work, 'disk.img'), 128, 'dos', [
        dict(fs=sf, size_mb=16, type='7', bootable=True),
        dict(fs=ef, size_mb=40, type='ef'),
        dict(fs=c, size_mb=64, type='7')], boot_code='windows')


WIN11 = dict(product='Windows 10 Pro', edition='Professional', itype='Client',
             build='22631')


@guest('win2019-both')
def win2019_both(work, fixture):
    win_both(work, fixture, rdp=0, paging=['C:\\pagefile.sys 2048 2048'])


@guest('win2019-hibernated')
def win2019_hibernated(work, fixture):
    win_both(work, fixture, hiber=True, paging=['C:\\pagefile.sys 2048 2048'])


@guest('win2019-dell')
def win2019_dell(work, fixture):
    win_both(work, fixture, smbios=('Dell Inc.', 'PowerEdge R740'))


@guest('win2019-vmware')
def win2019_vmware(work, fixture):
    win_both(work, fixture, smbios=('VMware, Inc.', 'VMware7,1'))


@guest('win2019-both-gpt')
def win2019_both_gpt(work, fixture):
    win_both(work, fixture, gpt=True)


@guest('win11-both')
def win11_both(work, fixture):
    win_both(work, fixture, **WIN11)


@guest('win2019-wholedisk')
def win2019_wholedisk(work, fixture):
    """Windows Server 2019's C: volume alone, an NTFS file system over the
    whole disk with no partition table (a volume image, not a disk image):
    FS-004 wants NTFS on MBR or GPT."""
    r = os.path.join(work, 'c')
    mg.win_tree(r)
    mg.win_hives(r, paging=['C:\\pagefile.sys 2048 2048'])
    g.w(r, 'Windows/System32/ntoskrnl.exe', 'MZ')
    g.mkntfs(r, os.path.join(work, 'disk.img'), 64, fixture)


# ----------------------------------------------------------------- build

def build(cache, name, fixture=None):
    fn = GUESTS[name]
    os.makedirs(cache, exist_ok=True)
    out = os.path.join(cache, name + '.img')
    with open(os.path.join(cache, '.lock-' + name), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.exists(out):
            return out
        work = g.tmpdir(cache)
        try:
            if name.startswith('win'):
                if not fixture:
                    raise RuntimeError('Windows guests need ntfs_fixture')
                fn(work, fixture)
            else:
                fn(work)
            img = os.path.join(work, 'disk.img')
            # the file systems were copied in whole: punch their zeros out
            if shutil.which('fallocate'):
                subprocess.run(['fallocate', '--dig-holes', img])
            os.rename(img, out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


# ------------------------------------------------------------------- OVA

OVF_HEAD = '''<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
{files}
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
{disks}
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <Name>{name}</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian10_64Guest">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian GNU/Linux 10 (64-bit)</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>2048MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>SCSI controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:Address>1</rasd:Address>
        <rasd:ElementName>IDE 1</rasd:ElementName>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceType>5</rasd:ResourceType>
      </Item>
{items}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
'''


def ovf_text(name, disks, nics, cdroms):
    """disks: list of (href, file size, capacity in bytes)."""
    files, dsk, items = [], [], []
    iid = 10
    for n, (href, size, cap) in enumerate(disks, 1):
        files.append('    <File ovf:href="%s" ovf:id="file%d" ovf:size="%d"/>'
                     % (href, n, size))
        dsk.append('    <Disk ovf:capacity="%d" ovf:capacityAllocationUnits='
                   '"byte" ovf:diskId="vmdisk%d" ovf:fileRef="file%d" '
                   'ovf:format="http://www.vmware.com/interfaces/'
                   'specifications/vmdk.html#streamOptimized"/>' % (cap, n, n))
        items.append('      <Item>\n'
                     '        <rasd:AddressOnParent>%d</rasd:AddressOnParent>\n'
                     '        <rasd:ElementName>Hard disk %d</rasd:ElementName>\n'
                     '        <rasd:HostResource>ovf:/disk/vmdisk%d</rasd:HostResource>\n'
                     '        <rasd:InstanceID>%d</rasd:InstanceID>\n'
                     '        <rasd:Parent>3</rasd:Parent>\n'
                     '        <rasd:ResourceType>17</rasd:ResourceType>\n'
                     '      </Item>' % (n - 1, n, n, iid))
        iid += 1
    for n in range(cdroms):
        items.append('      <Item ovf:required="false">\n'
                     '        <rasd:AddressOnParent>%d</rasd:AddressOnParent>\n'
                     '        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n'
                     '        <rasd:ElementName>CD/DVD drive %d</rasd:ElementName>\n'
                     '        <rasd:InstanceID>%d</rasd:InstanceID>\n'
                     '        <rasd:Parent>4</rasd:Parent>\n'
                     '        <rasd:ResourceSubType>vmware.cdrom.remotepassthrough</rasd:ResourceSubType>\n'
                     '        <rasd:ResourceType>15</rasd:ResourceType>\n'
                     '      </Item>' % (n, n + 1, iid))
        iid += 1
    for n in range(nics):
        items.append('      <Item>\n'
                     '        <rasd:AddressOnParent>%d</rasd:AddressOnParent>\n'
                     '        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n'
                     '        <rasd:Connection>VM Network</rasd:Connection>\n'
                     '        <rasd:ElementName>Network adapter %d</rasd:ElementName>\n'
                     '        <rasd:InstanceID>%d</rasd:InstanceID>\n'
                     '        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>\n'
                     '        <rasd:ResourceType>10</rasd:ResourceType>\n'
                     '      </Item>' % (7 + n, n + 1, iid))
        iid += 1
    return OVF_HEAD.format(name=name, files='\n'.join(files),
                           disks='\n'.join(dsk), items='\n'.join(items))


def make_ova(out, args):
    disks, nics, cdroms, name, bad = [], 1, 0, 'vm', False
    i = 0
    while i < len(args):
        a = args[i]
        if a == '--disk':
            p, _, cap = args[i + 1].partition(':')
            disks.append((p, int(cap) if cap else None))
            i += 1
        elif a == '--nics':
            nics = int(args[i + 1]); i += 1
        elif a == '--cdroms':
            cdroms = int(args[i + 1]); i += 1
        elif a == '--name':
            name = args[i + 1]; i += 1
        elif a == '--bad-digest':
            bad = True
        else:
            sys.exit('ova: unknown option ' + a)
        i += 1
    stage = os.path.abspath(out) + '.d'
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    members, desc = [], []
    for n, (p, cap) in enumerate(disks, 1):
        href = '%s-disk%d.vmdk' % (name, n)
        if cap is None:     # the virtual size vmie reports
            info = subprocess.run([os.environ['VMIE'], 'info', p],
                                  stdout=subprocess.PIPE, check=True).stdout
            cap = int(info.decode().split('virtual size:')[1]
                      .split('(')[1].split()[0])
        desc.append((href, os.path.getsize(p), cap))
        os.symlink(os.path.abspath(p), os.path.join(stage, href))
        members.append(href)
    ovf = name + '.ovf'
    with open(os.path.join(stage, ovf), 'w') as f:
        f.write(ovf_text(name, desc, nics, cdroms))
    mf = name + '.mf'
    with open(os.path.join(stage, mf), 'w') as f:
        for href in [ovf] + members:
            h = hashlib.sha256()
            with open(os.path.join(stage, href), 'rb') as s:
                for b in iter(lambda: s.read(1 << 20), b''):
                    h.update(b)
            d = h.hexdigest()
            if bad and href != ovf:
                d = ('0' if d[0] != '0' else '1') + d[1:]
            f.write('SHA256(%s)= %s\n' % (href, d))
    # the OVF first, then the disks, the manifest last (DSP0243 5.3)
    subprocess.run(['tar', '--format=ustar', '-h', '--hard-dereference', '-C', stage, '-cf', out,
                    ovf] + members + [mf], check=True)
    shutil.rmtree(stage)


# ----------------------------------------------------------------- expect

def lookup(doc, path):
    cur = doc
    for p in path.split('.'):
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur


def parse_value(v):
    if v == 'null':
        return None
    if v in ('true', 'false'):
        return v == 'true'
    try:
        return int(v)
    except ValueError:
        return v


def expect(path, rc, exprs):
    with open(path) as f:
        doc = json.load(f)
    res = {r['id']: r for r in doc['results']}
    bad = []
    seen = os.environ.get('CHECK_E2E_SEEN')    # coverage: rule verdict
    if seen:
        asserted = set()
        for e in exprs:
            if '=' in e and '~' not in e.split('=')[0] and \
                    e.split('=')[0] in res:
                asserted.add(e.split('=')[0])
        label = os.environ.get('CHECK_E2E_LABEL', '?').replace('\n', ' ')
        with open(seen, 'a') as f:
            for r in doc['results']:
                f.write('%s %s %s %d %s\n' % (r['id'], doc['policy'],
                                              r['verdict'],
                                              r['id'] in asserted, label))
    for e in exprs:
        if e.startswith('exit='):
            if int(e[5:]) != rc:
                bad.append('exit status %d, want %s' % (rc, e[5:]))
        elif e.startswith('status~'):
            if e[7:].lower() not in (doc['status_message'] or '').lower():
                bad.append('status message %r lacks %r'
                           % (doc['status_message'], e[7:]))
        elif '~' in e and e.split('~')[0] in res:
            rid, text = e.split('~', 1)
            r = res[rid]
            hay = ' | '.join(x or '' for x in (r['evidence'], r['fix'],
                                                r['status_message']))
            if text.lower() not in hay.lower():
                bad.append('%s: %r not in %r' % (rid, text, hay))
        elif '=' in e and e.split('=')[0] in res:
            rid, want = e.split('=', 1)
            if res[rid]['verdict'] not in want.split(','):
                bad.append('%s is %s, want %s (evidence: %s)'
                           % (rid, res[rid]['verdict'], want,
                              res[rid]['evidence']))
        elif '=' in e:
            k, want = e.split('=', 1)
            try:
                got = lookup(doc, k)
            except (KeyError, IndexError, TypeError) as x:
                got = '<missing: %s>' % x
            if got != parse_value(want):
                bad.append('%s = %r, want %r' % (k, got, parse_value(want)))
        else:
            bad.append('bad expression %r (unknown rule?)' % e)
    # the contract of docs/check-json.md, on every report
    ids = [r['id'] for r in doc['results']]
    if len(ids) != len(set(ids)):
        bad.append('a rule id appears twice')
    fails = [r for r in doc['results'] if r['verdict'] == 'fail']
    if doc['would_pass'] != (not fails):
        bad.append('would_pass disagrees with the verdicts')
    if (rc == 0) != doc['would_pass'] or rc not in (0, 1):
        bad.append('exit status %d with would_pass %s' % (rc, doc['would_pass']))
    for r in fails:
        if not r['status_message'] or not r['fix']:
            bad.append('%s fails without a status message or fix' % r['id'])
        elif not r['status_message'].startswith('ClientError: '):
            bad.append('%s: status message not in the service\'s form: %r'
                       % (r['id'], r['status_message']))
    for r in doc['results']:
        if r['verdict'] == 'warn' and not r['fix']:
            bad.append('%s warns without a fix' % r['id'])
        if r['verdict'] != 'fail' and r['status_message']:
            bad.append('%s is %s but has a status message' % (r['id'],
                                                              r['verdict']))
        if not r['evidence']:
            bad.append('%s has no evidence' % r['id'])
    if fails and doc['status_message'] != fails[0]['status_message']:
        bad.append('top status message is not the first failure\'s')
    req = os.path.join(os.environ.get('SHARED', ''), 'REQUIREMENTS.md')
    if os.path.exists(req):
        with open(req) as f:
            want = re.findall(r'^\| ((?:FMT|DSK|FS|OS|BOOT|LIC|PREP|EXP)-\d{3}) \|',
                              f.read(), re.M)
        missing = sorted(set(want) - set(ids))
        if missing:
            bad.append('rules missing from the report: ' + ' '.join(missing))
    for b in bad:
        print('  ' + b)
    return not bad


def main():
    cmd = sys.argv[1]
    if cmd == 'build':
        try:
            print(build(sys.argv[2], sys.argv[3],
                        sys.argv[4] if len(sys.argv) > 4 else None))
        except NeedsRoot as e:
            print('%s: %s' % (sys.argv[3], e), file=sys.stderr)
            sys.exit(77)
    elif cmd == 'ova':
        make_ova(sys.argv[2], sys.argv[3:])
    elif cmd == 'expect':
        sys.exit(0 if expect(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
                 else 1)
    elif cmd == 'list':
        print('\n'.join(GUESTS))
    elif cmd == 'big':      # the benchmark's 4 GiB Debian 11 disk
        work = g.tmpdir(sys.argv[2])
        try:
            debian11(work, big=True)
            img = os.path.join(work, 'disk.img')
            if shutil.which('fallocate'):
                subprocess.run(['fallocate', '--dig-holes', img])
            os.rename(img, sys.argv[3])
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
