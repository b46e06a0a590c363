"""Building blocks of phony guests for the lib/inspect tests.

A phony guest holds only the marker files that inspection looks at (the
libguestfs way): release files, a kernel name, an initramfs with a few
module names, boot loader files, fstab, network configuration, registry
hives.  File systems are made by the real tools (mke2fs -d, mkfs.btrfs
--rootdir, mkfs.xfs -p, mkfs.fat + mcopy, mkntfs + ntfs_fixture), disks by
sfdisk on sparse files with the file systems copied in at their offsets.
"""
import os
import struct
import subprocess
import tempfile

MiB = 1 << 20


def run(*args, **kw):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       **kw)
    if r.returncode != 0:
        raise RuntimeError('%s failed: %s' % (' '.join(map(str, args)),
                                              r.stderr.decode(errors='replace')))
    return r.stdout


def w(root, path, content='', mode=0o644):
    p = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    with open(p, 'wb') as f:
        f.write(content)
    os.chmod(p, mode)
    return p


def d(root, path):
    os.makedirs(os.path.join(root, path.lstrip('/')), exist_ok=True)


def ln(root, path, target):
    p = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(target, p)


def elf(root, path, arch='x86_64'):
    """A binary of the guest's architecture: the host's /bin/true for
    x86_64, a crafted 64-byte ELF header for the others."""
    if arch == 'x86_64':
        with open('/bin/true', 'rb') as f:
            return w(root, path, f.read(), 0o755)
    cls, mach = {'i386': (1, 3), 'aarch64': (2, 183), 'arm': (1, 40)}[arch]
    h = bytearray(64)
    h[0:4] = b'\x7fELF'
    h[4], h[5], h[6] = cls, 1, 1
    struct.pack_into('<HHI', h, 16, 2, mach, 1)
    return w(root, path, bytes(h), 0o755)


# ---- initramfs ----

def cpio_newc(entries):
    """entries: list of (name, mode, data).  Returns cpio newc bytes."""
    out = bytearray()

    def pad():
        out.extend(b'\0' * ((4 - len(out) % 4) % 4))
    for i, (name, mode, data) in enumerate(entries + [('TRAILER!!!', 0, b'')]):
        nb = name.encode() + b'\0'
        out += b'070701' + ''.join('%08X' % v for v in (
            i + 1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0)).encode()
        out += nb
        pad()
        out += data
        pad()
    out.extend(b'\0' * ((512 - len(out) % 512) % 512))
    return bytes(out)


def compress(data, comp):
    if comp == 'none':
        return data
    cmd = {'gzip': ['gzip', '-n', '-c'], 'zstd': ['zstd', '-q', '-c'],
           'xz': ['xz', '--check=crc32', '-c'], 'lz4': ['lz4', '-l', '-c'],
           'lz4f': ['lz4', '-c']}[comp]
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def initramfs(root, path, kver, drivers, comp='gzip', microcode=False,
              builtin=(), corrupt=False):
    paths = {'virtio_blk': 'drivers/block/virtio_blk.ko',
             'virtio_scsi': 'drivers/scsi/virtio_scsi.ko',
             'virtio_net': 'drivers/net/virtio_net.ko',
             'nvme': 'drivers/nvme/host/nvme.ko',
             'xen-blkfront': 'drivers/block/xen-blkfront.ko',
             'xen-netfront': 'drivers/net/xen-netfront.ko',
             'ena': 'drivers/net/ethernet/amazon/ena/ena.ko',
             'ext4': 'fs/ext4/ext4.ko'}
    ext = {'xz': '.xz', 'zstd': '.zst'}.get(comp, '')
    ents = [('init', 0o100755, b'#!/bin/sh\n'), ('lib', 0o40755, b'')]
    for drv in drivers:
        ents.append(('lib/modules/%s/kernel/%s%s' % (kver, paths[drv], ext),
                     0o100644, b'\x7fELF module ' + drv.encode()))
    if builtin:
        ents.append(('lib/modules/%s/modules.builtin' % kver, 0o100644,
                     ''.join('kernel/%s\n' % paths[b] for b in builtin).encode()))
    data = compress(cpio_newc(ents), comp)
    if microcode:
        data = cpio_newc([('kernel/x86/microcode/GenuineIntel.bin',
                           0o100644, b'\x01' * 100)]) + data
    if corrupt:
        b = bytearray(data)
        mid = len(b) // 2
        b[mid:mid + 16] = b'\xff' * 16
        data = bytes(b[:len(b) * 3 // 4])
    return w(root, path, data)


# ---- GRUB ----

def grub_cfg(entries, default='0', timeout=5, title='GNU/Linux', root_uuid='x',
             submenu=True):
    """entries: kernel versions, newest first; grub-mkconfig layout."""
    t = ['### generated for tests (grub-mkconfig layout)',
         'if [ -s $prefix/grubenv ]; then', '  load_env', 'fi',
         'if [ "${next_entry}" ] ; then', '   set default="${next_entry}"',
         'else', '   set default="%s"' % default, 'fi',
         'set timeout=%d' % timeout]
    first = entries[0]
    t += ["menuentry '%s' --class os $menuentry_id_option 'gnulinux-simple-%s' {"
          % (title, root_uuid),
          '\tlinux\t/boot/vmlinuz-%s root=UUID=%s ro quiet' % (first, root_uuid),
          '\tinitrd\t/boot/initrd.img-%s' % first, '}']
    if submenu:
        t.append("submenu 'Advanced options for %s' $menuentry_id_option "
                 "'gnulinux-advanced-%s' {" % (title, root_uuid))
        for k in entries:
            t += ["\tmenuentry '%s, with Linux %s' $menuentry_id_option "
                  "'gnulinux-%s-advanced-%s' {" % (title, k, k, root_uuid),
                  '\t\tlinux\t/boot/vmlinuz-%s root=UUID=%s ro' % (k, root_uuid),
                  '\t}']
        t.append('}')
    return '\n'.join(t) + '\n'


# ---- file systems ----

def mkext4(src, img, size_mb, uuid=None, label=None):
    args = ['mke2fs', '-q', '-F', '-t', 'ext4', '-d', src]
    if uuid:
        args += ['-U', uuid]
    if label:
        args += ['-L', label]
    run(*args, img, '%dM' % size_mb, env=dict(os.environ, E2FSPROGS_FAKE_TIME='1600000000'))


def mkbtrfs(src, img, size_mb, uuid=None, label=None):
    with open(img, 'wb') as f:
        f.truncate(size_mb * MiB)
    args = ['mkfs.btrfs', '-q', '-f', '--rootdir', src]
    if uuid:
        args += ['-U', uuid]
    if label:
        args += ['-L', label]
    run(*args, img)


def mkxfs(src, img, size_mb, uuid=None, label=None):
    """mkfs.xfs -p protofile from a directory tree."""
    lines = ['/dummy', '0 0', 'd--755 0 0']

    def walk(path, depth):
        for name in sorted(os.listdir(path)):
            p = os.path.join(path, name)
            ind = ' ' * depth
            if os.path.islink(p):
                lines.append('%s%s l--777 0 0 %s' % (ind, name, os.readlink(p)))
            elif os.path.isdir(p):
                lines.append('%s%s d--755 0 0' % (ind, name))
                walk(p, depth + 1)
                lines.append('%s$' % ind)
            else:
                lines.append('%s%s ---644 0 0 %s' % (ind, name, p))
    walk(src, 1)
    lines.append('$')
    proto = img + '.proto'
    with open(proto, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(img, 'wb') as f:
        f.truncate(size_mb * MiB)
    args = ['mkfs.xfs', '-q', '-f', '-p', proto]
    if uuid:
        args += ['-m', 'uuid=' + uuid]
    if label:
        args += ['-L', label]
    run(*args, img)
    os.unlink(proto)


def mkfat(src, img, size_mb, volid='1234ABCD', label='EFI'):
    if os.path.exists(img):
        os.unlink(img)
    run('mkfs.fat', '-C', '-F', '32' if size_mb >= 33 else '16', '-i', volid,
        '-n', label, img, str(size_mb * 1024))
    items = [os.path.join(src, n) for n in sorted(os.listdir(src))]
    if items:
        run('mcopy', '-s', '-i', img, *items, '::', env=dict(os.environ, MTOOLS_SKIP_CHECK='1'))


def mkntfs(src, img, size_mb, fixture, label='Windows'):
    with open(img, 'wb') as f:
        f.truncate(size_mb * MiB)
    run('mkntfs', '-q', '-F', '-f', '-L', label, img)
    ops = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src)
        base = '' if rel == '.' else '/' + rel
        for dn in dirnames:
            ops.append('mkdir:%s/%s' % (base, dn))
        for fn in sorted(filenames):
            ops.append('file:%s/%s=%s' % (base, fn, os.path.join(dirpath, fn)))
    for i in range(0, len(ops), 200):
        run(fixture, img, *ops[i:i + 200])


# ---- disks ----

def mkdisk(img, size_mb, label, parts, disk_id='0x12345678', boot_code=None,
           disk_guid=None):
    """parts: list of dict(fs=path or None, size_mb, type, bootable, uuid,
    name, attrs (GPT attribute bits as sfdisk names them:
    "RequiredPartition,GUID:63")).  Partitions are 1 MiB aligned, in
    order."""
    with open(img, 'wb') as f:
        f.truncate(size_mb * MiB)
    script = ['label: ' + label]
    if label == 'dos':
        script.append('label-id: ' + disk_id)
    elif disk_guid:
        script.append('label-id: ' + disk_guid)
    start = 1
    offs = []
    for p in parts:
        line = 'start=%dM, size=%dM, type=%s' % (start, p['size_mb'], p['type'])
        if p.get('bootable'):
            line += ', bootable'
        if p.get('uuid'):
            line += ', uuid=' + p['uuid']
        if p.get('name'):
            line += ', name="%s"' % p['name']
        if p.get('attrs'):
            line += ', attrs="%s"' % p['attrs']
        script.append(line)
        offs.append(start)
        start += p['size_mb']
    subprocess.run(['sfdisk', '-q', img], input='\n'.join(script).encode(),
                   check=True, stdout=subprocess.DEVNULL)
    with open(img, 'r+b') as f:
        for p, off in zip(parts, offs):
            if p.get('fs'):
                with open(p['fs'], 'rb') as s:
                    copy_sparse(s, f, off * MiB)
        if boot_code:
            f.seek(0)
            f.write(boot_code_bytes(boot_code))


def copy_sparse(src, dst, at, chunk=64 * 1024):
    """Copy file src into dst at byte at, leaving all-zero chunks as holes
    of the (sparse) disk file."""
    zero = bytes(chunk)
    pos = at
    while True:
        b = src.read(chunk)
        if not b:
            break
        if b != zero[:len(b)]:
            dst.seek(pos)
            dst.write(b)
        pos += len(b)


def boot_code_bytes(kind):
    """First 440 bytes of an MBR carrying the signatures lib/part looks for
    (the strings GRUB's boot.img and Windows' MBR code contain)."""
    b = bytearray(440)
    if kind == 'grub2':
        b[0:3] = b'\xeb\x63\x90'
        s = b'GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n'
        b[0x180:0x180 + len(s)] = s
    elif kind == 'grub-legacy':
        b[0:2] = b'\xeb\x48'
        s = b'GRUB \0Geom\0Hard Disk\0Read\0 Error\0'
        b[0x17e:0x17e + len(s)] = s
    elif kind == 'windows':
        b[0:7] = b'\x33\xc0\x8e\xd0\xbc\x00\x7c'
        s = (b'Invalid partition table\0Error loading operating system\0'
             b'Missing operating system\0')
        b[0x163:0x163 + len(s)] = s
    return bytes(b)


# ---- registry hives ----

def empty_hive(path, name='ROOT'):
    """A valid empty regf hive: header, one hbin with the root nk, its sk
    and a free cell (layout: "Windows registry file format specification",
    the regf header, hbin, nk and sk records)."""
    hb = bytearray(4096)
    hb[0:4] = b'hbin'
    struct.pack_into('<III', hb, 4, 0, 4096, 0)
    # root nk at 0x20
    nb = name.encode()
    nk = bytearray(0x4c + len(nb))
    nk[0:2] = b'nk'
    struct.pack_into('<H', nk, 2, 0x2c)
    struct.pack_into('<I', nk, 0x10, 0xffffffff)    # parent
    struct.pack_into('<IIII', nk, 0x14, 0, 0, 0xffffffff, 0xffffffff)
    struct.pack_into('<II', nk, 0x24, 0, 0xffffffff)
    sk_off = 0x20 + ((4 + len(nk) + 7) // 8 * 8)
    struct.pack_into('<II', nk, 0x2c, sk_off, 0xffffffff)
    struct.pack_into('<HH', nk, 0x48, len(nb), 0)
    nk[0x4c:] = nb
    nksz = (4 + len(nk) + 7) // 8 * 8
    struct.pack_into('<i', hb, 0x20, -nksz)
    hb[0x24:0x24 + len(nk)] = nk
    sd = struct.pack('<BBHIIII', 1, 0, 0x8004, 0, 0, 0, 0)
    sk = bytearray(b'sk\0\0') + struct.pack('<IIII', sk_off, sk_off, 1, len(sd)) + sd
    sksz = (4 + len(sk) + 7) // 8 * 8
    struct.pack_into('<i', hb, sk_off, -sksz)
    hb[sk_off + 4:sk_off + 4 + len(sk)] = sk
    free_off = sk_off + sksz
    struct.pack_into('<i', hb, free_off, 4096 - free_off)
    hdr = bytearray(4096)
    hdr[0:4] = b'regf'
    struct.pack_into('<IIQIIII', hdr, 4, 1, 1, 0, 1, 3, 0, 1)
    struct.pack_into('<III', hdr, 0x24, 0x20, 4096, 1)
    x = 0
    for i in range(0, 0x1fc, 4):
        x ^= struct.unpack_from('<I', hdr, i)[0]
    struct.pack_into('<I', hdr, 0x1fc, x)
    with open(path, 'wb') as f:
        f.write(hdr + hb)


def reg_value(v):
    if isinstance(v, int):
        return 'dword:%08x' % v
    if isinstance(v, list):     # REG_MULTI_SZ
        data = ''.join(s + '\0' for s in v).encode('utf-16-le') + b'\0\0'
        return 'hex(7):' + ','.join('%02x' % c for c in data)
    if isinstance(v, bytes):    # REG_BINARY
        return 'hex:' + ','.join('%02x' % c for c in v)
    return '"%s"' % v.replace('\\', '\\\\').replace('"', '\\"')


def hive(path, prefix, keys):
    """keys: {'Key\\Path': {'Value': value, ...}} under prefix (e.g.
    'HKEY_LOCAL_MACHINE\\SOFTWARE')."""
    empty_hive(path)
    keys = dict(keys)
    for k in list(keys):        # every parent must exist before its child
        parts = k.split('\\')
        for i in range(1, len(parts)):
            keys.setdefault('\\'.join(parts[:i]), {})
    lines = ['Windows Registry Editor Version 5.00', '']
    for k in sorted(keys, key=lambda k: k.split('\\')):
        lines.append('[%s\\%s]' % (prefix, k))
        for n, v in keys[k].items():
            lines.append('"%s"=%s' % (n, reg_value(v)))
        lines.append('')
    reg = path + '.reg'
    with open(reg, 'w', encoding='utf-8') as f:
        f.write('\r\n'.join(lines))
    run('hivexregedit', '--merge', '--prefix', prefix, path, reg)
    os.unlink(reg)


def tmpdir(base):
    return tempfile.mkdtemp(dir=base, prefix='.build-')


# ---- LVM2, by the real lvm2 tools ----

def lvm(vg, pvs, lvs, extent_mb=4):
    """Make volume group vg over pvs (list of (image file, offset, size) in
    bytes: a partition or a whole disk) with the real lvm2 tools on loop
    devices (--driverloaded n: nothing is activated, no device-mapper), then
    write each LV's contents where `lvs --segments` says its extents are.
    lvs: list of (name, size_mb, contents file or None), created in order
    (an LV larger than the free space of the first PV spans the next).
    Needs root and loop devices; raises RuntimeError otherwise."""
    loops = []
    try:
        for img, off, size in pvs:
            loops.append(run('losetup', '-f', '--show', '-o', str(off),
                             '--sizelimit', str(size), img).decode().strip())
        where = {l: (img, off) for l, (img, off, _) in zip(loops, pvs)}
        cfg = ('devices { filter=[ %s, "r|.*|" ] obtain_device_list_from_udev=0 '
               'use_devicesfile=0 } activation { udev_sync=0 udev_rules=0 } '
               'backup { backup=0 archive=0 }'
               % ', '.join('"a|^%s$|"' % l for l in loops))
        env = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS='1')

        def lv_(*a):
            return run(*a, '--nolocking', '--driverloaded', 'n', '--config', cfg,
                       env=env).decode()
        lv_('pvcreate', '-q', '-ff', '-y', *loops)
        lv_('vgcreate', '-q', '-s', '%dM' % extent_mb, vg, *loops)
        for name, size_mb, _ in lvs:
            lv_('lvcreate', '-q', '--zero', 'n', '-an', '-L', '%dM' % size_mb,
                '-n', name, vg)
        segs = lv_('lvs', '--segments', '--units', 'b', '--nosuffix',
                   '--noheadings', '--separator', ';', '-o',
                   'lv_name,seg_start,seg_size,stripes,seg_pe_ranges,'
                   'vg_extent_size')
        pe_start = {}
        for line in lv_('pvs', '--units', 'b', '--nosuffix', '--noheadings',
                        '--separator', ';', '-o', 'pv_name,pe_start').split('\n'):
            if line.strip():
                n, s = line.strip().split(';')
                pe_start[n] = int(s)
    finally:
        for l in loops:
            subprocess.run(['losetup', '-d', l], stderr=subprocess.DEVNULL)
    contents = {name: src for name, _, src in lvs if src}
    for line in segs.split('\n'):
        if not line.strip():
            continue
        name, sstart, ssize, nst, ranges, ext = line.strip().split(';')
        if name not in contents:
            continue
        assert nst == '1', 'only linear LVs here'
        dev, pes = ranges.strip().rsplit(':', 1)
        img, base = where[dev]
        dst = base + pe_start[dev] + int(pes.split('-')[0]) * int(ext)
        with open(contents[name], 'rb') as s, open(img, 'r+b') as f:
            s.seek(int(sstart))
            f.seek(dst)
            left = int(ssize)
            while left > 0:
                b = s.read(min(left, 4 * MiB))
                if not b:
                    break
                f.write(b)
                left -= len(b)
