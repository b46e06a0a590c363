#!/usr/bin/env python3
"""Phony guests whose Linux root lives in a Btrfs subvolume, laid out the
way the installers do it, and what `vmie inspect` / `vmie check` must say
about each.  The file systems are made by the kernel itself: mkfs.btrfs, a
loop mount, `btrfs subvolume create` / `snapshot` / `set-default`, marker
trees copied in (mkfs.btrfs 6.2 has no --subvol).  Needs root and a
working loop mount of Btrfs: `build` exits 77 otherwise.

  fedora38-btrfs  GPT: ESP, /boot ext4 (BLS entries, grubenv), Btrfs with
                  subvolumes "root" and "home" under the default top level;
                  fstab subvol=root / subvol=home (Fedora 33 and later)
  ubuntu2204-btrfs  MBR: one Btrfs with "@" (root, /boot inside it) and
                  "@home" under the default top level, a timeshift snapshot
                  of "@"; grub.cfg names /@/boot/vmlinuz-* (Ubuntu's
                  installer)
  sles15-snapper  MBR: one Btrfs with "@", "@/.snapshots", the root in
                  "@/.snapshots/1/snapshot" set as the default, a read-only
                  snapper snapshot 2, and nested subvolumes "@/var",
                  "@/home", "@/boot/grub2/i386-pc"... mounted by fstab with
                  subvol=/@/... (one by subvolid=, one naming a subvolume
                  that does not exist)

usage: mksubvol.py build WORK NAME MNT   -> prints the image path
       mksubvol.py check NAME JSON        -> inspect facts; exit 1 if wrong
       mksubvol.py rules NAME JSON        -> vmie check report; exit 1 if wrong
       mksubvol.py list
MNT is an empty directory to mount on; the caller unmounts it and detaches
loop devices if this script is killed half-way.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlib as g  # noqa: E402
import mkguest as mg  # noqa: E402

GUESTS = {}


class NeedsRoot(Exception):
    pass


def guest(name, rules=(), **expect):
    def deco(fn):
        GUESTS[name] = (fn, expect, rules)
        return fn
    return deco


def btrfs(work, mnt, name, size_mb, uuid, subvols, default=None,
          snapshots=(), label=None, late=None):
    """A Btrfs image made by the kernel.  subvols: (path from the top
    level, source tree or None), created in order (plain directories on the
    way are made); snapshots: (source path, new path, read-only) taken
    after the copies; default: the path set as the default subvolume;
    late(mnt, ids) runs last (ids: path -> subvolume id)."""
    if os.geteuid() != 0:
        raise NeedsRoot('not root')
    img = os.path.join(work, name + '.fs')
    with open(img, 'wb') as f:
        f.truncate(size_mb * g.MiB)
    args = ['mkfs.btrfs', '-q', '-f', '-U', uuid]
    if label:
        args += ['-L', label]
    g.run(*args, img)
    if subprocess.run(['mount', '-o', 'loop', img, mnt],
                      stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode:
        raise NeedsRoot('cannot loop-mount a Btrfs image here')
    try:
        for path, _ in subvols:
            t = os.path.join(mnt, path)
            os.makedirs(os.path.dirname(t), exist_ok=True)
            g.run('btrfs', 'subvolume', 'create', t)
        for path, src in subvols:
            if src:
                shutil.copytree(src, os.path.join(mnt, path), symlinks=True,
                                dirs_exist_ok=True)
        for src, dst, ro in snapshots:
            t = os.path.join(mnt, dst)
            os.makedirs(os.path.dirname(t), exist_ok=True)
            g.run('btrfs', 'subvolume', 'snapshot', *(['-r'] if ro else []),
                  os.path.join(mnt, src), t)
        ids = {}
        for line in g.run('btrfs', 'subvolume', 'list', mnt).decode() \
                .splitlines():
            f = line.split()
            ids[f[-1]] = int(f[1])
        if default:
            g.run('btrfs', 'subvolume', 'set-default', str(ids[default]), mnt)
        if late:
            late(mnt, ids)
    finally:
        # umount detaches the loop device (autoclear)
        if subprocess.run(['umount', mnt]).returncode:
            subprocess.run(['umount', '-l', mnt])
    return img


def split_home(r, work):
    """Move the root tree's /home into a tree of its own (a subvolume)."""
    home = os.path.join(work, 'home')
    shutil.move(os.path.join(r, 'home'), home)
    g.d(r, '/home')
    return home


# ---------------------------------------------------------------- Fedora

U_FED = 'fed0fed0-0000-4000-8000-0000000000f3'
U_FEDBOOT = 'fed0b007-0000-4000-8000-0000000000f3'
FED_MID = '2c3f1d5a8e7b4c6d9e0f1a2b3c4d5e6f'
K_FED = ('6.2.9-300.fc38.x86_64', '6.5.6-200.fc38.x86_64')


@guest('fedora38-btrfs', rules=('OS-001=pass', 'FS-001=pass', 'FS-002=fail',
                                'FS-002~disk0p3 (root): 2 subvolume(s)',
                                'FS-002~root,home'), **{
    'os.type': 'linux', 'os.distro': 'fedora', 'os.version': '38',
    'os.product_name': 'Fedora Linux 38 (Server Edition)',
    'os.root_device': 'disk0p3', 'os.root_subvolume': 'root',
    'os.hostname': 'fedora38.example.com',
    'os.linux.kernels.len': 2,
    'os.linux.kernels.has_modules': True,
    'os.linux.default_kernel': K_FED[0],
    'os.boot.grub_default': '%s-%s' % (FED_MID, K_FED[0]),
    'os.boot.bootloader': 'grub2', 'os.boot.grub2_efi': True,
    'os.boot.can_uefi': True, 'os.boot.esp_device': 'disk0p1',
    'os.linux.initrd.read': True,
    'os.linux.initrd.drivers': ['virtio_blk', 'virtio_scsi', 'nvme'],
    'os.linux.fstab.len': 4,
    'os.linux.fstab.0.resolves_to': 'disk0p3',
    'os.linux.fstab.0.subvolume': 'root',
    'os.linux.fstab.1.resolves_to': 'disk0p2',
    'os.linux.fstab.1.subvolume': None,
    'os.linux.fstab.2.resolves_to': 'disk0p1',
    'os.linux.fstab.3.mountpoint': '/home',
    'os.linux.fstab.3.resolves_to': 'disk0p3',
    'os.linux.fstab.3.subvolume': 'home',
    'os.linux.fstab.subvolume_missing': False,
    'os.linux.users_with_keys': ['admin', 'fedora'],
    'fs.0.mountpoint': '/boot/efi', 'fs.1.mountpoint': '/boot',
    'fs.2.type': 'btrfs', 'fs.2.mountpoint': '/', 'fs.2.subvolumes': 2,
    'fs.2.subvolume_paths': ['root', 'home'],
    'fs.2.default_subvolume': None, 'top.dual_boot': False})
def fedora38(work, mnt):
    r = os.path.join(work, 'root')
    mg.linux_base(r, ssh_unit='sshd.service', dhcp='/usr/sbin/NetworkManager',
                  user=('fedora', 1000))
    # os-release is an absolute link, resolved inside the subvolume
    g.w(r, '/usr/lib/os-release', 'NAME="Fedora Linux"\n'
        'VERSION="38 (Server Edition)"\nID=fedora\nVERSION_ID=38\n'
        'PRETTY_NAME="Fedora Linux 38 (Server Edition)"\n'
        'VARIANT_ID=server\n')
    g.ln(r, '/etc/os-release', '/usr/lib/os-release')
    g.w(r, '/etc/fedora-release', 'Fedora release 38 (Thirty Eight)\n')
    g.ln(r, '/etc/redhat-release', 'fedora-release')
    g.ln(r, '/etc/system-release', 'fedora-release')
    g.w(r, '/etc/hostname', 'fedora38.example.com\n')
    g.w(r, '/etc/fstab',
        'UUID=%s /          btrfs subvol=root,compress=zstd:1 0 0\n'
        'UUID=%s /boot      ext4  defaults 1 2\n'
        'UUID=ABCD-1234 /boot/efi vfat umask=0077,shortname=winnt 0 2\n'
        'UUID=%s /home      btrfs subvol=home,compress=zstd:1 0 0\n'
        % (U_FED, U_FEDBOOT, U_FED))
    home = split_home(r, work)
    # a second user whose keys are only in the "home" subvolume
    g.w(home, '/admin/.ssh/authorized_keys', 'ssh-ed25519 AAAA admin\n', 0o600)
    g.w(r, '/etc/passwd', open(os.path.join(r, 'etc/passwd')).read() +
        'admin:x:1002:1002::/home/admin:/bin/bash\n')
    b = os.path.join(work, 'boot')
    for v in K_FED:
        g.d(r, '/lib/modules/%s/kernel' % v)
        g.w(b, '/vmlinuz-' + v, b'\x00' * 512 + b'HdrS' + v.encode())
        g.initramfs(b, '/initramfs-%s.img' % v, v,
                    ('virtio_blk', 'virtio_scsi', 'nvme'), 'xz')
        g.w(b, '/loader/entries/%s-%s.conf' % (FED_MID, v),
            'title Fedora Linux (%s) 38 (Server Edition)\nversion %s\n'
            'linux /vmlinuz-%s\ninitrd /initramfs-%s.img\n'
            'options root=UUID=%s ro rootflags=subvol=root\n'
            'grub_users $grub_users\ngrub_arg --unrestricted\n'
            'grub_class fedora\n' % (v, v, v, v, U_FED))
    # the older kernel is the saved default
    g.w(b, '/grub2/grubenv', '# GRUB Environment Block\nsaved_entry=%s-%s\n'
        'boot_success=1\n' % (FED_MID, K_FED[0]) + '#' * 900)
    g.w(b, '/grub2/grub.cfg', 'set default="${saved_entry}"\n'
        'load_env -f ${config_directory}/grubenv\nset timeout=5\n'
        'insmod blscfg\nblscfg\n')
    e = mg.esp(work, {
        '/EFI/fedora/shimx64.efi': 'MZ', '/EFI/fedora/grubx64.efi': 'MZ',
        '/EFI/fedora/grub.cfg': 'search --no-floppy --fs-uuid --set=dev %s\n'
        'set prefix=($dev)/grub2\nexport $prefix\n'
        'configfile $prefix/grub.cfg\n' % U_FEDBOOT,
        '/EFI/BOOT/BOOTX64.EFI': 'MZ'})
    bimg = os.path.join(work, 'boot.fs')
    g.mkext4(b, bimg, 32, uuid=U_FEDBOOT)
    fs = btrfs(work, mnt, 'root', 160, U_FED, [('root', r), ('home', home)],
               label='fedora')
    g.mkdisk(os.path.join(work, 'disk.img'), 240, 'gpt', [
        dict(fs=e, size_mb=40, type='C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
             name='EFI System Partition'),
        dict(fs=bimg, size_mb=32, type='0FC63DAF-8483-4772-8E79-3D69D8477DE4'),
        dict(fs=fs, size_mb=160, type='0FC63DAF-8483-4772-8E79-3D69D8477DE4')])


# ---------------------------------------------------------------- Ubuntu

U_UB = 'ab0ab0ab-0000-4000-8000-000000002204'
K_UB = ('5.15.0-91-generic', '5.15.0-88-generic')
TS = 'timeshift-btrfs/snapshots/2024-01-02_03-04-05/@'


@guest('ubuntu2204-btrfs', rules=('OS-001=pass', 'FS-001=pass',
                                  'FS-002=fail',
                                  'FS-002~disk0p1 (root): 3 subvolume(s)',
                                  'FS-002~@,@home,' + TS), **{
    'os.type': 'linux', 'os.distro': 'ubuntu', 'os.version': '22.04',
    'os.root_device': 'disk0p1', 'os.root_subvolume': '@',
    'os.hostname': 'jammy',
    'os.linux.kernels.len': 2, 'os.linux.default_kernel': K_UB[0],
    'os.linux.kernels.has_modules': True,
    'os.boot.bootloader': 'grub2', 'os.boot.grub2_bios': True,
    'os.boot.can_bios': True, 'os.linux.initrd.read': True,
    'os.linux.initrd.drivers': ['virtio_blk', 'virtio_net'],
    'os.linux.fstab.len': 2,
    'os.linux.fstab.0.resolves_to': 'disk0p1',
    'os.linux.fstab.0.subvolume': '@',
    'os.linux.fstab.1.resolves_to': 'disk0p1',
    'os.linux.fstab.1.subvolume': '@home',
    'os.linux.users_with_keys': ['admin'],
    'fs.0.type': 'btrfs', 'fs.0.subvolumes': 3,
    'fs.0.subvolume_paths': ['@', '@home', TS],
    'fs.0.default_subvolume': None, 'top.dual_boot': False})
def ubuntu2204(work, mnt):
    r = os.path.join(work, 'root')
    mg.linux_base(r, dhcp='/usr/lib/systemd/systemd-networkd')
    g.w(r, '/usr/lib/os-release', 'PRETTY_NAME="Ubuntu 22.04.3 LTS"\n'
        'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n')
    g.ln(r, '/etc/os-release', '../usr/lib/os-release')
    g.w(r, '/etc/lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n')
    g.w(r, '/etc/debian_version', 'bookworm/sid\n')
    g.w(r, '/etc/hostname', 'jammy\n')
    g.w(r, '/etc/fstab', '# / was on /dev/vda1 during installation\n'
        'UUID=%s /     btrfs defaults,subvol=@     0 1\n'
        'UUID=%s /home btrfs defaults,subvol=@home 0 2\n' % (U_UB, U_UB))
    for v in K_UB:
        mg.kernel(r, v, 'initrd.img-%s', ('virtio_blk', 'virtio_net'),
                  'zstd')
    g.ln(r, '/vmlinuz', 'boot/vmlinuz-' + K_UB[0])
    g.w(r, '/boot/grub/i386-pc/normal.mod', 'mod')
    # GRUB reads the top level: kernel paths go through /@
    cfg = g.grub_cfg(list(K_UB), title='Ubuntu', root_uuid=U_UB)
    cfg = cfg.replace('/boot/vmlinuz', '/@/boot/vmlinuz') \
             .replace('/boot/initrd', '/@/boot/initrd')
    cfg = re.sub(r' ro(?=\s)', ' ro rootflags=subvol=@', cfg)
    g.w(r, '/boot/grub/grub.cfg', cfg)
    g.w(r, '/boot/grub/grubenv', '# GRUB Environment Block\n' + '#' * 990)
    home = split_home(r, work)
    fs = btrfs(work, mnt, 'root', 160, U_UB, [('@', r), ('@home', home)],
               snapshots=[('@', TS, False)])
    g.mkdisk(os.path.join(work, 'disk.img'), 180, 'dos', [
        dict(fs=fs, size_mb=160, type='83', bootable=True)],
        boot_code='grub2')


# ------------------------------------------------------------------ SLES

U_SL = '5e5e0015-0000-4000-8000-000000000155'
K_SL = '5.14.21-150500.55.39-default'
SL_NESTED = ('@/home', '@/opt', '@/root', '@/srv', '@/tmp', '@/usr/local',
             '@/var', '@/boot/grub2/i386-pc', '@/boot/grub2/x86_64-efi')
SL_SNAP = '@/.snapshots/1/snapshot'


@guest('sles15-snapper', rules=('OS-001=pass', 'FS-001=pass', 'FS-002=fail',
                                'FS-002~disk0p1 (root): 13 subvolume(s)',
                                'FS-002~@,@/.snapshots,' + SL_SNAP), **{
    'os.type': 'linux', 'os.distro': 'sles', 'os.version': '15.5',
    'os.service_pack': 'SP5', 'os.root_device': 'disk0p1',
    'os.root_subvolume': SL_SNAP, 'os.hostname': 'sles15sp5',
    'os.linux.kernels.len': 1, 'os.linux.default_kernel': K_SL,
    'os.linux.kernels.has_modules': True,
    'os.boot.bootloader': 'grub2', 'os.boot.grub2_bios': True,
    'os.boot.can_bios': True, 'os.linux.initrd.read': True,
    'os.linux.initrd.drivers': ['virtio_blk', 'virtio_scsi'],
    'os.linux.fstab.len': 12,
    'os.linux.fstab.0.subvolume': SL_SNAP,
    'os.linux.fstab.1.mountpoint': '/var',
    'os.linux.fstab.1.subvolume': '@/var',
    'os.linux.fstab.1.resolves_to': 'disk0p1',
    'os.linux.fstab.4.mountpoint': '/srv',
    'os.linux.fstab.4.subvolume': '@/srv',
    'os.linux.fstab.7.subvolume': '@/home',
    'os.linux.fstab.9.subvolume': '@/boot/grub2/i386-pc',
    'os.linux.fstab.10.subvolume': '@/.snapshots',
    'os.linux.fstab.11.mountpoint': '/data',
    'os.linux.fstab.11.subvolume_missing': True,
    'os.linux.fstab.11.subvolume': '/@/data',
    'os.linux.fstab.10.subvolume_missing': False,
    'os.linux.users_with_keys': ['admin'],
    'fs.0.type': 'btrfs', 'fs.0.subvolumes': 13,
    'fs.0.default_subvolume': SL_SNAP, 'fs.0.mountpoint': '/',
    'top.dual_boot': False})
def sles15(work, mnt):
    r = os.path.join(work, 'root')
    mg.linux_base(r, ssh_unit='sshd.service', dhcp='/usr/sbin/wicked')
    g.w(r, '/etc/os-release', 'NAME="SLES"\nVERSION="15-SP5"\n'
        'VERSION_ID="15.5"\nPRETTY_NAME="SUSE Linux Enterprise Server 15 '
        'SP5"\nID="sles"\nID_LIKE="suse"\n')
    g.w(r, '/etc/hostname', 'sles15sp5\n')
    mg.kernel(r, K_SL, 'initrd-%s', ('virtio_blk', 'virtio_scsi'), 'xz')
    g.w(r, '/boot/grub2/grub.cfg', g.grub_cfg([K_SL], title='SLES 15-SP5',
                                                root_uuid=U_SL)
        .replace('initrd.img-', 'initrd-'))
    # the contents of the nested subvolumes live in them, not in the
    # snapshot, which keeps empty directories where they are mounted
    trees = {}
    for sv in SL_NESTED:
        rel = sv[2:]
        src = os.path.join(r, rel)
        dst = os.path.join(work, 'sv-' + rel.replace('/', '-'))
        if os.path.isdir(src):
            shutil.move(src, dst)
        else:
            os.makedirs(dst)
        g.d(r, '/' + rel)
        trees[sv] = dst
    g.d(r, '/.snapshots')
    g.w(trees['@/var'], '/log/zypp/history', '# zypper history\n')
    g.w(trees['@/boot/grub2/i386-pc'], '/normal.mod', 'mod')
    g.w(trees['@/boot/grub2/x86_64-efi'], '/normal.mod', 'mod')

    def fstab(mnt, ids):
        ent = ['UUID=%s / btrfs defaults 0 0' % U_SL]
        for sv in ('@/var', '@/usr/local', '@/tmp', '@/srv', '@/root',
                   '@/opt', '@/home', '@/boot/grub2/x86_64-efi',
                   '@/boot/grub2/i386-pc', '@/.snapshots'):
            opt = 'subvolid=%d' % ids[sv] if sv == '@/srv' else \
                  'subvol=/' + sv
            ent.append('UUID=%s %s btrfs %s 0 0' % (U_SL, sv[1:], opt))
        ent.append('UUID=%s /data btrfs subvol=/@/data,nofail 0 0' % U_SL)
        g.w(os.path.join(mnt, SL_SNAP), '/etc/fstab', '\n'.join(ent) + '\n')
    fs = btrfs(work, mnt, 'root', 200, U_SL,
               [('@', None), ('@/.snapshots', None), (SL_SNAP, r)] +
               [(sv, trees[sv]) for sv in SL_NESTED], default=SL_SNAP,
               snapshots=[(SL_SNAP, '@/.snapshots/2/snapshot', True)],
               late=fstab)
    g.mkdisk(os.path.join(work, 'disk.img'), 220, 'dos', [
        dict(fs=fs, size_mb=200, type='83', bootable=True)],
        boot_code='grub2')


# ------------------------------------------------------------------ main

def check_inspect(name, doc):
    _, expect, _ = GUESTS[name]
    bad = 0
    if not doc['operating_systems']:
        print('%s: no operating system found' % name)
        return 1
    for k, want in expect.items():
        head, _, rest = k.partition('.')
        base = {'os': lambda: doc['operating_systems'][0],
                'top': lambda: doc, 'fs': lambda: doc['filesystems']}[head]
        try:
            got = mg.lookup(base(), rest) if rest else base()
        except (KeyError, IndexError, TypeError) as e:
            got = '<missing: %s>' % e
        if isinstance(want, list) and isinstance(got, list) and \
                k.endswith(('drivers', 'users_with_keys')):
            ok = sorted(want) == sorted(got)
        else:
            ok = got == want
        if not ok:
            print('%s: %s = %r, want %r' % (name, k, got, want))
            bad += 1
    return bad


def check_rules(name, doc):
    """RULE=verdict, RULE~text (in the evidence)."""
    _, _, rules = GUESTS[name]
    res = {r['id']: r for r in doc['results']}
    bad = 0
    for e in rules:
        if '~' in e:
            rid, text = e.split('~', 1)
            ok = text in (res[rid]['evidence'] or '')
        else:
            rid, want = e.split('=', 1)
            ok = res[rid]['verdict'] == want
        if not ok:
            print('%s: %s: %s is %s: %s' % (name, e, rid, res[rid]['verdict'],
                                            res[rid]['evidence']))
            bad += 1
    return bad


def main():
    cmd = sys.argv[1]
    if cmd == 'build':
        work, name, mnt = sys.argv[2:5]
        os.makedirs(work, exist_ok=True)
        try:
            GUESTS[name][0](work, mnt)
        except NeedsRoot as e:
            print(e, file=sys.stderr)
            sys.exit(77)
        print(os.path.join(work, 'disk.img'))
    elif cmd in ('check', 'rules'):
        with open(sys.argv[3]) as f:
            doc = json.load(f)
        fn = check_inspect if cmd == 'check' else check_rules
        sys.exit(1 if fn(sys.argv[2], doc) else 0)
    elif cmd == 'list':
        print('\n'.join(GUESTS))


if __name__ == '__main__':
    main()
