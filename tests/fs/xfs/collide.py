#!/usr/bin/env python3
"""Directory entry names that share one hash, for the kernel-written XFS
and Btrfs fixtures (kfill.py): XFS's name hash and Btrfs's CRC-32C are both
affine over GF(2) in the name's bits, so flipping a set of bits whose hash
changes cancel out keeps the hash.  Gives XFS a run of equal hashes across
several leaf blocks and Btrfs DIR_ITEMs holding many names."""


def colliding_names(hashfn, base, count):
    """count distinct names of len(base) bytes with one hash: hashfn must
    be affine over GF(2) in the name's bits (XFS's name hash and CRC-32C
    are), so flipping a set of bits whose hash deltas cancel keeps it.
    Only the low 4 bits of bytes 0x60-0x6f are flipped: letters stay
    letters (or a backquote)."""
    flips = [(i, b) for i in range(len(base)) if 0x60 <= base[i] <= 0x6f
             for b in range(4)]
    h0 = hashfn(base)
    basis, nulls = {}, []
    for k, (i, b) in enumerate(flips):
        n = bytearray(base)
        n[i] ^= 1 << b
        v, combo = hashfn(bytes(n)) ^ h0, 1 << k
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = (v, combo)
                break
            v ^= basis[top][0]
            combo ^= basis[top][1]
        if not v:
            nulls.append(combo)
    m = max(count - 1, 1).bit_length()
    assert len(nulls) >= m, "name too short for %d collisions" % count
    out = []
    for mask in range(count):
        combo = 0
        for j in range(m):
            if mask >> j & 1:
                combo ^= nulls[j]
        n = bytearray(base)
        for k, (i, b) in enumerate(flips):
            if combo >> k & 1:
                n[i] ^= 1 << b
        out.append(bytes(n))
    return out


def _rol(v, n):
    return (v << n | v >> (32 - n)) & 0xFFFFFFFF


def xfs_hash(b):
    """xfs_da_hashname"""
    h = 0
    while len(b) >= 4:
        h = b[0] << 21 ^ b[1] << 14 ^ b[2] << 7 ^ b[3] ^ _rol(h, 28)
        b = b[4:]
    if len(b) == 3:
        h = b[0] << 14 ^ b[1] << 7 ^ b[2] ^ _rol(h, 21)
    elif len(b) == 2:
        h = b[0] << 7 ^ b[1] ^ _rol(h, 14)
    elif len(b) == 1:
        h = b[0] ^ _rol(h, 7)
    return h


_CRC = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC.append(_c)


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _CRC[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
