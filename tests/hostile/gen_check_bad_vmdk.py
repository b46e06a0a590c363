#!/usr/bin/env python3
"""VMDKs whose tables or grains are wrong in ways `vmie convert` would only
find while copying (issue 9, check-bad-tables, VMDK half), written by hand:

  gt-past-eof.vmdk     monolithicSparse: a grain table entry points past the
                       end of the file
  gd-past-eof.vmdk     monolithicSparse: a grain directory entry points past
                       the end of the file
  stream-garbage.vmdk  streamOptimized: a compressed grain that is not zlib
  stream-bomb.vmdk     streamOptimized: a grain that inflates to more than a
                       grain (twice the grain size of zeros)
  stream-short.vmdk    streamOptimized: a grain that inflates to less than a
                       grain
  good-sparse.vmdk, good-stream.vmdk: the same layouts, valid (controls)

Usage: gen_check_bad_vmdk.py DIR
"""
import os
import struct
import sys
import zlib

SECTOR = 512
GRAIN = 128                   # sectors: 64 KiB grains
GRAIN_BYTES = GRAIN * SECTOR
CAPACITY = 16 * GRAIN         # 1 MiB disk, one grain table
GTES = 512
GD_AT_END = (1 << 64) - 1


def header(flags, gd, compress=0, version=1, overhead=0):
    h = struct.pack('<IIIQQQQIQQQB4sH', 0x564d444b, version, flags, CAPACITY,
                    GRAIN, 0, 0, GTES, 0, gd, overhead, 0, b'\n \r\n',
                    compress)
    return h.ljust(SECTOR, b'\0')


def pad(b):
    return b + b'\0' * (-len(b) % SECTOR)


def grain_data(i):
    return bytes((i * 7 + k) & 0xff for k in range(256)) * (GRAIN_BYTES // 256)


def sparse(path, gd_entry=None, bad_gte=None):
    """header | GD (sector 1) | GT (sectors 2-5) | grains 0 and 1"""
    gt = [0] * GTES
    gt[0] = 8
    gt[1] = 8 + GRAIN
    nsect = 8 + 2 * GRAIN
    if bad_gte is not None:
        gt[1] = bad_gte
    gd = [2 if gd_entry is None else gd_entry]
    out = header(1, 1, overhead=8)
    out += pad(struct.pack('<I', gd[0]))
    out += struct.pack('<%dI' % GTES, *gt)
    out += b'\0' * (8 * SECTOR - len(out))
    out += grain_data(0) + grain_data(1)
    assert len(out) == nsect * SECTOR
    with open(path, 'wb') as f:
        f.write(out)


def stream(path, payload1=None):
    """header (GD at end) | zero sector | grain 0 | grain 1 | GT marker+GT | GD marker+GD
    | footer marker, footer, end-of-stream"""
    flags = 1 | (1 << 16) | (1 << 17)
    # grains start at sector 2: a grain table entry of 1 means "zeroed"
    out = bytearray(header(flags, GD_AT_END, compress=1, version=3))
    out += bytes(SECTOR)
    gt = [0] * GTES
    for i in range(2):
        data = zlib.compress(grain_data(i))
        if i == 1 and payload1 is not None:
            data = payload1
        gt[i] = len(out) // SECTOR
        out += pad(struct.pack('<QI', i * GRAIN, len(data)) + data)
    out += pad(struct.pack('<QII', GTES * 4 // SECTOR, 0, 1))
    gt_at = len(out) // SECTOR
    out += struct.pack('<%dI' % GTES, *gt)
    out += pad(struct.pack('<QII', 1, 0, 2))
    gd_at = len(out) // SECTOR
    out += pad(struct.pack('<I', gt_at))
    out += pad(struct.pack('<QII', 1, 0, 3))
    out += header(flags, gd_at, compress=1, version=3)
    out += pad(struct.pack('<QII', 0, 0, 0))
    with open(path, 'wb') as f:
        f.write(out)


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    j = lambda n: os.path.join(d, n)
    sparse(j('good-sparse.vmdk'))
    sparse(j('gt-past-eof.vmdk'), bad_gte=1 << 20)
    sparse(j('gd-past-eof.vmdk'), gd_entry=1 << 20)
    stream(j('good-stream.vmdk'))
    # a zlib header, then bytes that are no deflate stream
    garbage = b'\x78\x9c' + bytes((k * 37 + 11) & 0xff | 0x07
                                 for k in range(600))
    stream(j('stream-garbage.vmdk'), garbage)
    stream(j('stream-bomb.vmdk'), zlib.compress(b'\0' * (2 * GRAIN_BYTES)))
    stream(j('stream-short.vmdk'), zlib.compress(b'\x55' * 1000))
    with open(j('expected.raw'), 'wb') as f:
        f.write(grain_data(0) + grain_data(1))
        f.truncate(CAPACITY * SECTOR)


if __name__ == '__main__':
    main()
