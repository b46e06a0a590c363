#!/usr/bin/env python3
"""Write a test disk: random data, an explicitly written zero run, holes,
compressible text, a pattern at a 4 KiB-unaligned spot, and an odd size.
usage: mkraw.py PATH SIZE_BYTES [extra OFFSET:LEN ...]"""
import os, random, sys

path, size = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1234)
M = 1 << 20
with open(path, "wb") as f:
    f.truncate(size)

    def put(off, data):
        if off < size:
            f.seek(off)
            f.write(data[: size - off])

    put(0, rnd.randbytes(2 * M))                        # random
    put(2 * M, bytes(M))                                # written zeros
    put(3 * M + 4096, b"compressible text, " * 50000)   # ~0.9 MiB text
    put(6 * M + 1234, rnd.randbytes(100000))            # unaligned
    put(9 * M - 512, b"\x01" * 4096)                    # across 2 clusters
    for spec in sys.argv[3:]:
        off, n = (int(x) for x in spec.split(":"))
        put(off, rnd.randbytes(n))
    put(size - 7, b"THE END")                           # odd tail
