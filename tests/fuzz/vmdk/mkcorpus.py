#!/usr/bin/env python3
"""Regenerate the small VMDK corpus for fuzz_vmdk (tests/fuzz/vmdk/corpus):
compact valid images (4 KiB grains, 4 entries per grain table) and broken
variants, each named after what it exercises.  Usage: mkcorpus.py DIR"""
import os
import struct
import sys
import zlib

out = sys.argv[1]
S = 512
GRAIN = 8            # sectors
GTES = 4
CAP = 64             # sectors: 8 grains, 2 grain tables


def header(version, flags, gd, rgd, overhead, desc_off, desc_sec, compress,
           cap=CAP, grain=GRAIN, gtes=GTES):
    h = struct.pack('<4sIIQQQQIQQQB4sH', b'KDMV', version, flags, cap, grain,
                    desc_off, desc_sec, gtes, rgd, gd, overhead, 0,
                    b'\n \r\n', compress)
    return h.ljust(S, b'\0')


def desc(ctype, extra=''):
    d = ('# Disk DescriptorFile\nversion=1\nCID=1234abcd\nparentCID=ffffffff\n'
         'createType="%s"\n%sRW %d SPARSE "x.vmdk"\nddb.adapterType = '
         '"lsilogic"\n' % (ctype, extra, CAP)).encode()
    return d.ljust((len(d) + S - 1) // S * S, b'\0')


def grain_data(i):
    return bytes((i * 7 + j) & 0xff for j in range(GRAIN * S))


def pad(b):
    return b + b'\0' * (-len(b) % S)


def stream():
    d = desc('streamOptimized')
    f = bytearray(header(3, 0x30005, 2**64 - 1, 0, 1 + len(d) // S, 1,
                         len(d) // S, 1) + d)
    gts = [[0] * GTES, [0] * GTES]
    gd = [0, 0]
    for gi in (0, 2, 5):
        z = zlib.compress(grain_data(gi))
        gts[gi // GTES][gi % GTES] = len(f) // S
        f += pad(struct.pack('<QI', gi * GRAIN, len(z)) + z)
        if gi == 2 or gi == 5:
            t = gi // GTES
            f += struct.pack('<QII', 1, 0, 1).ljust(S, b'\0')
            gd[t] = len(f) // S
            f += pad(struct.pack('<4I', *gts[t]))
    gts[0][1] = 1                      # a zeroed grain
    f[gd[0] * S:gd[0] * S + 16] = struct.pack('<4I', *gts[0])
    f += struct.pack('<QII', 1, 0, 2).ljust(S, b'\0')
    gdsec = len(f) // S
    f += pad(struct.pack('<2I', *gd))
    f += struct.pack('<QII', 1, 0, 3).ljust(S, b'\0')
    f += header(3, 0x30005, gdsec, 0, 1 + len(d) // S, 1, len(d) // S, 1)
    f += bytes(S)
    return bytes(f)


def sparse():
    d = desc('monolithicSparse')
    rgd = 1 + len(d) // S
    rgt = rgd + 1
    gd = rgt + 2
    gt = gd + 1
    grains = gt + 2
    f = bytearray(header(1, 3, gd, rgd, grains, 1, len(d) // S, 0) + d)
    f += pad(struct.pack('<2I', rgt, rgt + 1))
    tabs = [[grains, 0, 0, 0], [0, 0, grains + GRAIN, 0]]
    f += pad(struct.pack('<4I', *tabs[0])) + pad(struct.pack('<4I', *tabs[1]))
    f += pad(struct.pack('<2I', gt, gt + 1))
    f += pad(struct.pack('<4I', *tabs[0])) + pad(struct.pack('<4I', *tabs[1]))
    for gi in (0, 6):
        f += grain_data(gi)
    return bytes(f)


def put(name, data):
    with open(os.path.join(out, name), 'wb') as fh:
        fh.write(data)


def patched(data, off, fmt, val):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, val)
    return bytes(b)


s, m = stream(), sparse()
put('valid-stream.vmdk', s)
put('valid-sparse.vmdk', m)
put('valid-desc-zero.vmdk', b'# Disk DescriptorFile\nversion=1\nCID=1\n'
    b'parentCID=ffffffff\ncreateType="custom"\nRW 100 ZERO\nRDONLY 28 ZERO\n')
put('stream-cut-in-grain.vmdk', s[:2000])
put('stream-cut-before-footer.vmdk', s[:-1536])
put('stream-bad-grain-size.vmdk', patched(s, 512 * 2 + 8, '<I', 0x7fffffff))
put('sparse-gte-past-eof.vmdk', patched(m, (1 + 1 + 1 + 2 + 1) * S +
                                        len(desc('x')) - S, '<I', 99999))
put('sparse-gtes-1024.vmdk', patched(m, 0x2c, '<I', 1024))
put('sparse-capacity-absurd.vmdk', patched(m, 0x0c, '<Q', 2**62))
put('sparse-gd-in-descriptor.vmdk', patched(m, 0x38, '<Q', 1))
gdsec = struct.unpack_from('<Q', m, 0x38)[0]
put('sparse-gd-loop.vmdk', patched(m, gdsec * S, '<I', gdsec))
put('desc-dotdot.vmdk', b'version=1\ncreateType="monolithicFlat"\n'
    b'RW 100 FLAT "../x" 0\n')
put('desc-sesparse.vmdk', b'version=1\nparentCID=ffffffff\n'
    b'createType="seSparse"\nRW 1048576 SESPARSE "s.vmdk"\n')
put('sesparse-header.vmdk', struct.pack('<QQQQ', 0xcafebabe, 0x200000001,
                                        1 << 20, 8).ljust(S, b'\0'))
