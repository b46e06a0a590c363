#!/usr/bin/env python3
"""Regenerate the XFS and Btrfs fuzz seed corpora (corpus-xfs/,
corpus-btrfs/) from images made by mkfs.xfs and mkfs.btrfs.

XFS seeds are whole tiny file systems: a 1 KiB-block image made with a
prototype file, cut after the root inode chunk, with the superblock
geometry shrunk to match (one AG of 32 or 64 blocks; the v5 CRC redone), so
the reader opens them and walks the root directory.  Btrfs seeds are the
first 68 KiB (the superblock), whole and damaged.
Usage: mkcorpus_xfs_btrfs.py OUTDIR_PARENT (needs mkfs.xfs, mkfs.btrfs)."""
import os
import subprocess
import sys
import tempfile

POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def run(*a):
    subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tiny_xfs(tmp, v5, cut, blocks, agblklog):
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "sub"), exist_ok=True)
    open(os.path.join(tree, "a.txt"), "w").write("hi\n")
    open(os.path.join(tree, "sub", "b.txt"), "w").write("there\n")
    for name, target in (("l", "a.txt"), ("abs", "/sub/b.txt")):
        if not os.path.islink(os.path.join(tree, name)):
            os.symlink(target, os.path.join(tree, name))
    proto = os.path.join(tmp, "proto")
    with open(proto, "w") as f:
        f.write("x\n0 0\nd--755 0 0\n a.txt ---644 0 0 %s/a.txt\n"
                " abs l--777 0 0 /sub/b.txt\n l l--777 0 0 a.txt\n"
                " sub d--755 0 0\n  b.txt ---644 0 0 %s/sub/b.txt\n $\n$\n"
                % (tree, tree))
    img = os.path.join(tmp, "x.img")
    with open(img, "wb") as f:
        f.truncate(320 << 20)
    opts = [] if v5 else ["-m", "crc=0", "-i", "size=256"]
    run("mkfs.xfs", "-q", "-f", "-b", "size=1024", *opts, "-p", proto, img)
    b = bytearray(open(img, "rb").read(cut))
    b[0x08:0x10] = blocks.to_bytes(8, "big")         # dblocks
    b[0x54:0x58] = blocks.to_bytes(4, "big")         # agblocks
    b[0x58:0x5c] = (1).to_bytes(4, "big")            # agcount
    b[0x7c] = agblklog
    if v5:
        b[0xe0:0xe4] = b"\0\0\0\0"
        b[0xe0:0xe4] = crc32c(b[:512]).to_bytes(4, "little")
    return b


def main():
    out = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(out, "corpus-xfs")
        v4 = tiny_xfs(tmp, False, 32 << 10, 32, 5)
        open(os.path.join(x, "v4-tiny"), "wb").write(v4)
        v5 = tiny_xfs(tmp, True, 64 << 10, 64, 6)
        open(os.path.join(x, "v5-tiny"), "wb").write(v5)
        # v4 with the root inode's short-form header damaged (count 255)
        bad = bytearray(v4)
        root = 16 << 10
        bad[root + 100] = 255
        open(os.path.join(x, "v4-tiny-bad-shortform"), "wb").write(bad)

        b = os.path.join(out, "corpus-btrfs")
        img = os.path.join(tmp, "b.img")
        with open(img, "wb") as f:
            f.truncate(256 << 20)
        run("mkfs.btrfs", "-q", "-f", "-m", "dup", "-d", "single", img)
        head = bytearray(open(img, "rb").read(0x11000))
        # total_bytes shrunk to the seed's size (CRC redone), so open goes
        # on to the system chunk array and the chunk tree
        sb = 0x10000
        head[sb + 0x70:sb + 0x78] = len(head).to_bytes(8, "little")
        head[sb:sb + 4] = crc32c(head[sb + 32:sb + 4096]).to_bytes(4, "little")
        open(os.path.join(b, "super-only"), "wb").write(head)


main()
