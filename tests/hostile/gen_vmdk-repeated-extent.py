#!/usr/bin/env python3
"""VMDK descriptors that name one extent file thousands of times (issue 9):
each extent was opened and its grain directory loaded again (inspect took
28 s and 5 GB); one flat file named many times made convert take 1 GB.

  s.vmdk            a valid monolithicSparse file of 1 TiB capacity: a
                    grain directory of 32768 entries (128 KiB), one grain
                    table, one grain
  rep-sparse.vmdk   4096 SPARSE extents of 16 sectors, all "s.vmdk"
  rep-links.vmdk    1024 SPARSE extents, each through its own symbolic
                    link (l0000...) to s.vmdk in the same directory
  f.bin             64 KiB of data
  rep-flat.vmdk     4096 FLAT extents of 32 sectors over f.bin, at sectors
                    0, 32, 64, 96 in turn (legal: a flat file may back
                    several extents)
  *.sha256          the SHA-256 of each disk's expected contents

Usage: gen_vmdk-repeated-extent.py DIR
"""
import hashlib
import os
import struct
import sys

SECTOR = 512
GRAIN = 128
GTES = 512
CAPACITY = 1 << 31            # sectors: 1 TiB
N_GD = CAPACITY // GRAIN // GTES
N_EXT = 4096


def desc(path, create_type, extents):
    lines = ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe',
             'parentCID=ffffffff', 'createType="%s"' % create_type, '']
    lines += extents + ['']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def grain0():
    return bytes((k * 13 + 5) & 0xff for k in range(GRAIN * SECTOR))


def sparse(path):
    gd_sectors = N_GD * 4 // SECTOR
    gt_at = 1 + gd_sectors
    grain_at = gt_at + GTES * 4 // SECTOR
    h = struct.pack('<IIIQQQQIQQQB4sH', 0x564d444b, 1, 1, CAPACITY, GRAIN,
                    0, 0, GTES, 0, 1, grain_at, 0, b'\n \r\n', 0)
    gd = [0] * N_GD
    gd[0] = gt_at
    gt = [0] * GTES
    gt[0] = grain_at
    with open(path, 'wb') as f:
        f.write(h.ljust(SECTOR, b'\0'))
        f.write(struct.pack('<%dI' % N_GD, *gd))
        f.write(struct.pack('<%dI' % GTES, *gt))
        f.write(grain0())


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    j = lambda n: os.path.join(d, n)
    sparse(j('s.vmdk'))
    ext_bytes = 16 * SECTOR
    desc(j('rep-sparse.vmdk'), 'twoGbMaxExtentSparse',
         ['RW 16 SPARSE "s.vmdk"'] * N_EXT)
    with open(j('rep-sparse.sha256'), 'w') as f:
        f.write(hashlib.sha256(grain0()[:ext_bytes] * N_EXT).hexdigest())
    names = []
    for i in range(1024):
        n = 'l%04d' % i
        os.symlink('s.vmdk', j(n))
        names.append('RW 16 SPARSE "%s"' % n)
    desc(j('rep-links.vmdk'), 'twoGbMaxExtentSparse', names)
    with open(j('rep-links.sha256'), 'w') as f:
        f.write(hashlib.sha256(grain0()[:ext_bytes] * 1024).hexdigest())
    data = bytes(((k >> 9) * 31 + k) & 0xff for k in range(65536))
    with open(j('f.bin'), 'wb') as f:
        f.write(data)
    exts, h = [], hashlib.sha256()
    for i in range(N_EXT):
        at = 32 * (i % 4)
        exts.append('RW 32 FLAT "f.bin" %d' % at)
        h.update(data[at * SECTOR:(at + 32) * SECTOR])
    desc(j('rep-flat.vmdk'), 'twoGbMaxExtentFlat', exts)
    with open(j('rep-flat.sha256'), 'w') as f:
        f.write(h.hexdigest())


if __name__ == '__main__':
    main()
