#!/usr/bin/env python3
"""gen_initramfs-bomb: Linux roots whose default initramfs is hostile
(issue 9), as ext4 images made by mke2fs -d from a tree written here.

  gen_initramfs-bomb.py OUTDIR

writes in OUTDIR:
  gzip-bomb.img    /boot/initrd.img-VER: about 3 MiB of gzip that
                   inflates to 3 GiB (a cpio member of 3 GiB of zeros;
                   gzip packs zeros about 1000:1)
  zstd-bomb.img    the same as a zstd frame (written by hand: a raw
                   block of zeros, then RLE blocks; no zstd module needed)
  members.img      100000 tiny cpio members, uncompressed
  streams.img      20000 concatenated gzip members, each one tiny cpio
                   archive (a decoder started per member)
Each root has /etc/os-release ("Hostile Linux"), /bin, a kernel
/boot/vmlinuz-VER and /lib/modules/VER, so that inspection finds the OS
and reads the initramfs.
"""
import os
import shutil
import struct
import subprocess
import sys
import zlib

VER = '6.1.0-9-amd64'


def w(root, path, data, mode=0o644):
    p = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(p, mode)


def newc(name, size, mode=0o100644, ino=1):
    """A cpio newc header and name, padded (data follows, by the caller)."""
    nm = name.encode() + b'\0'
    h = b'070701' + b''.join(b'%08X' % v for v in (
        ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(nm), 0))
    h += nm
    h += b'\0' * ((4 - len(h) % 4) % 4)
    return h


def trailer():
    return newc('TRAILER!!!', 0, 0, 0)


def pad4(n):
    return b'\0' * ((4 - n % 4) % 4)


def gzip_bomb(path, total):
    """gzip of a cpio holding one member of `total` zero bytes: gzip
    members of 64 MiB of zeros each, concatenated (a gzip file may hold
    several members; the initramfs reader decodes them in turn)."""
    def gz(data):
        co = zlib.compressobj(9, zlib.DEFLATED, 16 + 15)
        return co.compress(data) + co.flush()
    unit = 64 << 20
    zeros = gz(b'\0' * unit)
    with open(path, 'wb') as f:
        f.write(gz(newc('lib/firmware/zeros.bin', total)))
        left = total
        while left >= unit:
            f.write(zeros)
            left -= unit
        f.write(gz(b'\0' * left + pad4(total) + trailer()))


def zstd_bomb(path, total):
    """A zstd frame (RFC 8878) written by hand: a raw block with the cpio
    header, then RLE blocks of zeros (each 128 KiB of output from 4 bytes),
    a raw block with the trailer.  No content size, no checksum."""
    hdr = newc('lib/firmware/zeros.bin', total)
    tail = pad4(total) + trailer()
    out = bytearray(struct.pack('<I', 0xFD2FB528))
    out += bytes([0x00])          # FHD: no FCS, single segment 0, no csum
    out += bytes([0x58])          # window descriptor: 2^(10+11) = 2 MiB

    def block(last, btype, size, payload):
        v = (size << 3) | (btype << 1) | (1 if last else 0)
        return struct.pack('<I', v)[:3] + payload
    out += block(False, 0, len(hdr), hdr)
    blk = 128 << 10
    n = total // blk
    rest = total - n * blk
    rle = block(False, 1, blk, b'\0')
    with open(path, 'wb') as f:
        f.write(out)
        for _ in range(n):
            f.write(rle)
        if rest:
            f.write(block(False, 1, rest, b'\0'))
        f.write(block(True, 0, len(tail), tail))


def many_members(path, count):
    with open(path, 'wb') as f:
        for i in range(count):
            data = b'x'
            f.write(newc('m/%d' % i, len(data), ino=i + 2) + data +
                    pad4(len(data)))
        f.write(trailer())


def many_streams(path, count):
    one = newc('s', 1) + b'y' + pad4(1) + trailer()
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + 15)
    gz = z.compress(one) + z.flush()
    with open(path, 'wb') as f:
        for _ in range(count):
            f.write(gz)


def root(base):
    if os.path.exists(base):
        shutil.rmtree(base)
    for d in ('bin', 'sbin', 'usr/bin', 'etc', 'boot',
              'lib/modules/' + VER, 'root', 'tmp'):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    w(base, '/etc/os-release', 'NAME="Hostile Linux"\nID=debian\n'
      'VERSION_ID="12"\nPRETTY_NAME="Hostile Linux 12"\n')
    w(base, '/etc/hostname', 'bomb\n')
    w(base, '/etc/fstab', '/dev/vda1 / ext4 defaults 0 1\n')
    w(base, '/boot/vmlinuz-' + VER, b'\0' * 4096)
    w(base, '/bin/sh', b'\x7fELF\x02\x01\x01' + b'\0' * 9 +
      struct.pack('<HHI', 2, 62, 1) + b'\0' * 100, 0o755)


def mkext4(src, img, size_mb):
    if os.path.exists(img):
        os.unlink(img)
    subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-d', src, img,
                    '%dM' % size_mb], check=True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    big = (3 << 30) + 12345
    kinds = {
        'gzip-bomb': lambda p: gzip_bomb(p, big),
        'zstd-bomb': lambda p: zstd_bomb(p, big),
        'members': lambda p: many_members(p, 100000),
        'streams': lambda p: many_streams(p, 20000),
    }
    for name, make in kinds.items():
        r = os.path.join(out, name + '.root')
        root(r)
        make(os.path.join(r, 'boot', 'initrd.img-' + VER))
        size = os.path.getsize(os.path.join(r, 'boot', 'initrd.img-' + VER))
        mkext4(r, os.path.join(out, name + '.img'),
               max(32, size * 2 // (1 << 20) + 24))
        shutil.rmtree(r)


if __name__ == '__main__':
    main()
