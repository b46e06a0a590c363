#!/usr/bin/env python3
"""Patch VHD/VHDX files for the hostile tests, fixing the checksums that
cover the patched bytes so that only the intended problem remains.
  patch.py FILE vhd-footer OFF FMT VALUE      (both footers, checksum fixed)
  patch.py FILE vhd-dyn OFF FMT VALUE         (dynamic header, checksum fixed)
  patch.py FILE raw OFF FMT VALUE             (no checksum)
  patch.py FILE vhdx-region OFF FMT VALUE     (region table 1, CRC-32C fixed)
  patch.py FILE vhdx-header OFF FMT VALUE     (both headers, CRC-32C fixed)
  patch.py FILE get OFF FMT                   (print a value)"""
import struct
import sys


def crc32c(data, crc=0):
    table = crc32c.table
    crc ^= 0xffffffff
    for b in data:
        crc = table[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff


crc32c.table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    crc32c.table.append(c)


def vhd_sum(b, off):
    b[off:off + 4] = b'\0\0\0\0'
    b[off:off + 4] = struct.pack('>I', ~sum(b) & 0xffffffff)


path, kind, off, fmt = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), sys.argv[4]
data = bytearray(open(path, 'rb').read())
if kind == 'get':
    print(struct.unpack_from(fmt, data, off)[0])
    sys.exit(0)
val = int(sys.argv[5], 0)
if kind == 'vhd-footer':
    for base in (0, len(data) - 512):
        if data[base:base + 8] != b'conectix':
            continue
        f = data[base:base + 512]
        struct.pack_into(fmt, f, off, val)
        vhd_sum(f, 0x40)
        data[base:base + 512] = f
elif kind == 'vhd-dyn':
    base = struct.unpack_from('>Q', data, 0x10)[0]
    h = data[base:base + 1024]
    struct.pack_into(fmt, h, off, val)
    vhd_sum(h, 0x24)
    data[base:base + 1024] = h
elif kind == 'vhdx-region':
    base = 192 << 10
    r = data[base:base + 65536]
    struct.pack_into(fmt, r, off, val)
    r[4:8] = b'\0\0\0\0'
    struct.pack_into('<I', r, 4, crc32c(r))
    data[base:base + 65536] = r
elif kind == 'vhdx-header':
    for base in (64 << 10, 128 << 10):
        h = data[base:base + 4096]
        struct.pack_into(fmt, h, off, val)
        h[4:8] = b'\0\0\0\0'
        struct.pack_into('<I', h, 4, crc32c(h))
        data[base:base + 4096] = h
elif kind == 'raw':
    struct.pack_into(fmt, data, off, val)
else:
    sys.exit('unknown kind ' + kind)
open(path, 'wb').write(data)
