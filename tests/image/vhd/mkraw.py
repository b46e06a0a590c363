#!/usr/bin/env python3
"""Write a test raw disk for the VHD/VHDX tests: random data, text-like
(compressible) data, an explicit zero run, holes, and data in the last
bytes.  mkraw.py PATH SIZE"""
import random
import sys

path, size = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
with open(path, 'wb') as f:
    f.truncate(size)

    def w(off, data):
        if off < size:
            f.seek(off)
            f.write(data[:size - off])

    w(0, r.randbytes(1 << 20))
    text = b''.join(b'sector %d of a VHD test disk\n' % i for i in range(40000))
    w(1 << 20, text[:1 << 20])
    w((2 << 20) + 4096, bytes(300000))             # zeros written out
    w((3 << 20) + 777, r.randbytes(100000))        # unaligned data
    w((5 << 20) + 512 * 3, b'\x5a' * 70000)         # after a hole
    w(size - 4000, r.randbytes(4000))               # the tail
