#!/usr/bin/env python3
"""Write a test disk: a sparse raw file of SIZE bytes with, per 10 units of
UNIT bytes, 4 units of random data, 3 of compressible text and 3 left as
holes (zeros); plus a few odd-offset writes and a tail that ends off any
block boundary.  usage: mkdisk.py PATH SIZE [UNIT] [SEED]"""
import os
import random
import sys

path, size = sys.argv[1], int(sys.argv[2])
unit = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
         for _ in range(2000)]


def text(n):
    out = bytearray()
    while len(out) < n:
        out += b" ".join(rng.choice(words) for _ in range(12)) + b"\n"
    return bytes(out[:n])


pool_text = text(8 * unit if unit <= (1 << 20) else unit)
with open(path, "wb") as f:
    f.truncate(size)
    off, i = 0, 0
    while off < size:
        n = min(unit, size - off)
        k = i % 10
        if k < 4:
            f.seek(off)
            f.write(os.urandom(n) if unit >= 65536 else rng.randbytes(n))
        elif k < 7:
            start = (i * 4099) % (len(pool_text) - n + 1)
            f.seek(off)
            f.write(pool_text[start:start + n])
        off += n
        i += 1
    # odd writes: straddling boundaries, and the very last bytes
    for o in (511, 65535, 1048575):
        if o + 2 <= size:
            f.seek(o)
            f.write(b"\xAB\xCD")
    if size >= 3:
        f.seek(size - 3)
        f.write(b"END")
