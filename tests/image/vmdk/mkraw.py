#!/usr/bin/env python3
"""Write a test raw disk: random data, text-like data, an explicit zero run,
holes, data in an odd-sized tail.  mkraw.py PATH SIZE [SPLIT]: with SPLIT,
also data across the 2 GiB extent boundary of twoGbMaxExtent* images."""
import random
import sys

path, size = sys.argv[1], int(sys.argv[2])
split = len(sys.argv) > 3
r = random.Random(1)
with open(path, 'wb') as f:
    f.truncate(size)

    def w(off, data):
        f.seek(off)
        f.write(data[:max(0, size - off)])

    w(0, r.randbytes(1 << 20))
    text = b''.join(b'line %d: the quick brown fox jumps over the lazy dog\n'
                    % i for i in range(20000))
    w(1 << 20, text[:1 << 20])
    w((2 << 20) + 4096, bytes(200000))
    w((3 << 20) + 777, r.randbytes(100000))
    w((4 << 20) + 65536 * 3, b'\x5a' * 65536)
    if split:
        w((2 << 30) - 30000, r.randbytes(60000))
    w(size - 5000, r.randbytes(5000))
