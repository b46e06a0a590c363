#!/usr/bin/env python3
"""Populate a mounted Btrfs (top-level subvolume) for btrfs-kernel.sh with
what mkfs.btrfs --rootdir never writes: compressed extents (zlib, lzo,
zstd; regular and inline; partly overwritten so that file extents point
into the middle of a compressed extent), reflinked (shared) extents, holes,
prealloc extents (whole, partly written, past EOF), files of thousands of
extents, a directory of thousands of entries, subvolumes, a nested
subvolume, snapshots (whose copy of the nested subvolume is an empty
placeholder directory), hard links, special files.

Usage: kfill.py MOUNTPOINT
Content is reproducible (seeded); the caller records the manifest."""
import os
import random
import socket
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "xfs"))
import collide  # noqa: E402
from kfs import (FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE,  # noqa: E402
                 clone_range, fallocate)
import kfs  # noqa: E402

M = sys.argv[1]
rnd = random.Random(20240611)
WORDS = [w for w in """alpha bravo charlie delta echo foxtrot golf hotel
india juliet kilo lima mike november oscar papa quebec romeo sierra tango
uniform victor whiskey xray yankee zulu kernel btrfs extent inode subvolume
snapshot reflink compress decompress segment sector chunk device""".split()]

def p(*parts):
    return os.path.join(M, *parts)


def text(n):
    """n bytes of compressible text (random words, a line break now and
    then)."""
    words = rnd.choices(WORDS, k=n // 5 + 8)
    for i in range(0, len(words), 11):
        words[i] += "\n"
    return " ".join(words).encode()[:n]


def noise(n):
    return rnd.randbytes(n)


def write(path, data, sync=True):
    with open(path, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def pwrite(path, off, data):
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, data, off)
    os.fsync(fd)
    os.close(fd)


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def plain():
    d = p("plain")
    os.mkdir(d)
    write(p("plain", "small.txt"), b"a small inline file\n")
    write(p("plain", "inline-2000.bin"), noise(2000))
    write(p("plain", "sector.bin"), noise(4096))
    write(p("plain", "odd.bin"), noise(12345))
    write(p("plain", "random1m.bin"), noise(1 << 20))
    write(p("plain", "empty"), b"")
    # holes: leading, middle, trailing (size past the last extent)
    f = p("plain", "sparse.bin")
    write(f, b"")
    pwrite(f, 3 << 20, noise(5000))
    pwrite(f, 9 << 20, b"middle")
    os.truncate(f, 16 << 20)
    f = p("plain", "sparse-far.bin")
    write(f, b"x")
    pwrite(f, (64 << 20) + 12345, b"64 MiB later")
    # punched holes inside one extent: the pieces left point into it
    f = p("plain", "punched.bin")
    write(f, noise(1 << 20))
    fd = os.open(f, os.O_WRONLY)
    for off in range(4096, 1 << 20, 65536):
        fallocate(fd, FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE, off, 16384)
    os.fsync(fd)
    os.close(fd)
    # prealloc: whole file, partly written, past EOF (keep size)
    fd = os.open(p("plain", "prealloc.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
    fallocate(fd, 0, 0, 1 << 20)
    os.close(fd)
    f = p("plain", "prealloc-part.bin")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT, 0o644)
    fallocate(fd, 0, 0, 1 << 20)
    os.pwrite(fd, noise(8192), 300 * 1024)
    os.pwrite(fd, noise(100), (1 << 20) - 100)
    os.fsync(fd)
    os.close(fd)
    f = p("plain", "prealloc-keep.bin")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, noise(10000))
    fallocate(fd, FALLOC_KEEP_SIZE, 0, 4 << 20)
    os.fsync(fd)
    os.close(fd)
    # thousands of extents (the EXTENT_DATA items span many leaves)
    kfs.fragmented([p("plain", "frag-a.bin"), p("plain", "frag-b.bin")], 1500,
                   rnd)
    # reflinks: a whole file, and ranges cloned into another file
    sh("cp", "--reflink=always", p("plain", "random1m.bin"),
       p("plain", "reflink-whole.bin"))
    f = p("plain", "reflink-parts.bin")
    write(f, noise(256 * 1024))
    clone_range(p("plain", "random1m.bin"), f, 512 * 1024, 64 * 1024, 8192)
    clone_range(p("plain", "frag-a.bin"), f, 40960, 40960, 200 * 1024)
    clone_range(p("plain", "random1m.bin"), f, 0, 4096, 1 << 20)
    # links and special files
    os.link(p("plain", "odd.bin"), p("plain", "hardlink.bin"))
    os.symlink("small.txt", p("plain", "link-rel"))
    os.symlink("/plain/random1m.bin", p("plain", "link-abs"))
    os.symlink("/".join("component-%03d" % i for i in range(270)),
               p("plain", "link-4k"))
    os.mkfifo(p("plain", "fifo"))
    os.mknod(p("plain", "null"), 0o20666, os.makedev(1, 3))
    s = socket.socket(socket.AF_UNIX)
    s.bind(p("plain", "sock"))
    s.close()
    os.mkdir(p("plain", "empty-dir"))
    os.chmod(p("plain", "small.txt"), 0o4751)
    os.chown(p("plain", "odd.bin"), 1234, 5678)


def compressed(algo):
    d = p(algo)
    os.mkdir(d)
    sh("btrfs", "property", "set", d, "compression", algo)
    write(p(algo, "text4m.txt"), text(4 << 20))
    if algo == "lzo":
        # more segments: each 4 KiB one may push the next header across a
        # sector boundary (padding), about 3 times in 4096
        write(p(algo, "more8m.txt"), text(8 << 20))
    write(p(algo, "inline.txt"), text(3000))   # compressed inline extent
    write(p(algo, "tiny.txt"), b"tiny\n" * 40)
    write(p(algo, "odd.txt"), text(300000))    # partial last sector
    f = p(algo, "overwrite.txt")
    write(f, text(512 * 1024))
    pwrite(f, 200 * 1024, text(4096))           # splits a compressed extent
    pwrite(f, 300 * 1024 + 100, b"unaligned overwrite")
    write(p(algo, "mixed.bin"),
          noise(192 * 1024) + text(256 * 1024) + noise(64 * 1024) +
          text(100 * 1024))
    f = p(algo, "sparse.txt")
    write(f, text(10000))
    pwrite(f, 3 << 20, text(70000))
    os.truncate(f, 5 << 20)
    # shared compressed extents: a whole-file reflink and a range out of
    # the middle of a compressed extent
    sh("cp", "--reflink=always", p(algo, "text4m.txt"), p(algo, "reflink.txt"))
    f = p(algo, "reflink-part.txt")
    write(f, text(65536))
    clone_range(p(algo, "text4m.txt"), f, 40960, 24576, 8192)
    clone_range(p(algo, "text4m.txt"), f, 1 << 20, 200 * 1024, 128 * 1024)


def bigdir():
    d = p("big")
    os.mkdir(d)
    for i in range(6000):
        name = "entry-%05d-%s" % (i, "y" * (i % 37))
        if i % 97 == 5:
            os.mkdir(os.path.join(d, name))
        else:
            with open(os.path.join(d, name), "w") as f:
                f.write("entry %d\n" % i)


def collisions():
    """40 names of one CRC-32C: one DIR_ITEM holds them all."""
    d = p("collide")
    os.mkdir(d)
    for n in collide.colliding_names(collide.crc32c,
                                     b"same-crc-" + b"c" * 16, 40):
        write(os.path.join(d, n.decode()), n + b"\n", sync=False)


def subvolumes():
    sh("btrfs", "subvolume", "create", p("sv1"))
    write(p("sv1", "in-sv1.txt"), b"inside sv1\n")
    os.makedirs(p("sv1", "etc", "default"))
    write(p("sv1", "etc", "os-release"), b'ID=debian\nVERSION_ID="12"\n')
    write(p("sv1", "data.bin"), noise(300000))
    sh("btrfs", "subvolume", "create", p("sv1", "nested"))
    write(p("sv1", "nested", "deep.txt"), b"nested subvolume\n")
    os.mkdir(p("sv1", "nested", "sub"))
    write(p("sv1", "nested", "sub", "f"), text(5000))
    os.symlink("../in-sv1.txt", p("sv1", "nested", "up-link"))
    sh("btrfs", "subvolume", "snapshot", p("sv1"), p("snap1"))
    sh("btrfs", "subvolume", "snapshot", "-r", p("sv1"), p("snap-ro"))
    # change the original after the snapshots
    write(p("sv1", "in-sv1.txt"), b"inside sv1, changed after snapshot\n")
    pwrite(p("sv1", "data.bin"), 100000, noise(5000))
    os.unlink(p("sv1", "etc", "os-release"))
    write(p("snap1", "only-in-snap.txt"), b"snapshot\n")
    os.mkdir(p("dirs"))
    sh("btrfs", "subvolume", "create", p("dirs", "sv2"))
    write(p("dirs", "sv2", "f.txt"), b"sv2\n")


plain()
for a in ("zlib", "lzo", "zstd"):
    compressed(a)
bigdir()
collisions()
subvolumes()
os.sync()
