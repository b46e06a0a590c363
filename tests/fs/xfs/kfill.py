#!/usr/bin/env python3
"""Populate a mounted XFS for xfs-kernel.sh with what mkfs.xfs -p never
writes: files of a few extents (extent list in the inode) and of thousands
(extent B+tree, two levels), unwritten extents (fallocate: whole, partly
written, alternating with written blocks, past EOF), sparse files, holes
punched into extents, reflinked extents (v5), directories in every form
(short-form, block, leaf, node, B+tree), inline and remote symlinks, hard
links, special files, odd owners and modes.

Usage: kfill.py MOUNTPOINT [reflink]     the tree above
       kfill.py MOUNTPOINT bigino        directories in every AG
Content is reproducible (seeded); the caller records the manifest."""
import os
import random
import socket
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collide  # noqa: E402
from kfs import (FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE,  # noqa: E402
                 clone_range, fallocate)
import kfs  # noqa: E402

M = sys.argv[1]
REFLINK = "reflink" in sys.argv[2:]
rnd = random.Random(20240612)


def p(*parts):
    return os.path.join(M, *parts)


def noise(n):
    return rnd.randbytes(n)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def files():
    os.mkdir(p("f"))
    write(p("f", "small.txt"), b"a small file\n")
    write(p("f", "odd.bin"), noise(12345))
    write(p("f", "random1m.bin"), noise(1 << 20))
    write(p("f", "empty"), b"")
    # a few extents: the extent list stays in the inode
    f = p("f", "few.bin")
    write(f, noise(80 * 1024))
    fd = os.open(f, os.O_WRONLY)
    os.fsync(fd)
    for off in range(8192, 80 * 1024, 16384):
        fallocate(fd, FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE, off, 4096)
    os.close(fd)
    # thousands of extents: an extent B+tree (two levels for punched.bin)
    kfs.fragmented([p("f", "many-a.bin"), p("f", "many-b.bin")], 700, rnd)
    f = p("f", "punched.bin")
    write(f, noise(64 << 20))
    fd = os.open(f, os.O_WRONLY)
    os.fsync(fd)
    for off in range(4096, 64 << 20, 8192):
        fallocate(fd, FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE, off, 4096)
    os.close(fd)
    # unwritten extents: whole, partly written, alternating, past EOF
    fd = os.open(p("f", "prealloc.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
    fallocate(fd, 0, 0, 1 << 20)
    os.close(fd)
    fd = os.open(p("f", "prealloc-part.bin"), os.O_WRONLY | os.O_CREAT,
                 0o644)
    fallocate(fd, 0, 0, 1 << 20)
    os.pwrite(fd, noise(8192), 300 * 1024)
    os.pwrite(fd, noise(100), (1 << 20) - 100)
    os.fsync(fd)
    os.close(fd)
    fd = os.open(p("f", "unwritten-many.bin"), os.O_WRONLY | os.O_CREAT,
                 0o644)
    fallocate(fd, 0, 0, 8 << 20)
    for off in range(0, 8 << 20, 8192):
        os.pwrite(fd, noise(4096), off)
    os.fsync(fd)
    os.close(fd)
    fd = os.open(p("f", "prealloc-keep.bin"), os.O_WRONLY | os.O_CREAT,
                 0o644)
    os.write(fd, noise(10000))
    fallocate(fd, FALLOC_KEEP_SIZE, 0, 4 << 20)
    os.close(fd)
    # sparse: leading, middle and trailing holes, data far away
    f = p("f", "sparse.bin")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, noise(5000), 3 << 20)
    os.pwrite(fd, b"middle", 9 << 20)
    os.ftruncate(fd, 16 << 20)
    os.close(fd)
    fd = os.open(p("f", "sparse-far.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x")
    os.pwrite(fd, b"64 MiB later", (64 << 20) + 12345)
    os.close(fd)
    if REFLINK:
        subprocess.run(["cp", "--reflink=always", p("f", "random1m.bin"),
                        p("f", "reflink-whole.bin")], check=True)
        f = p("f", "reflink-parts.bin")
        write(f, noise(256 * 1024))
        clone_range(p("f", "random1m.bin"), f, 512 * 1024, 64 * 1024, 8192)
        clone_range(p("f", "many-a.bin"), f, 40960, 40960, 200 * 1024)
    os.link(p("f", "odd.bin"), p("f", "hardlink.bin"))
    os.mkfifo(p("f", "fifo"))
    os.mknod(p("f", "null"), 0o20666, os.makedev(1, 3))
    os.mknod(p("f", "loop0"), 0o60660, os.makedev(7, 0))
    s = socket.socket(socket.AF_UNIX)
    s.bind(p("f", "sock"))
    s.close()
    os.chmod(p("f", "small.txt"), 0o4751)
    os.chown(p("f", "odd.bin"), 1234, 5678)
    os.chown(p("f", "random1m.bin"), 70000, 4000000000)


def links():
    os.mkdir(p("l"))
    os.symlink("../f/small.txt", p("l", "rel"))
    os.symlink("/f/random1m.bin", p("l", "abs"))
    os.symlink("x" * 200, p("l", "dangling-200"))
    # remote (block) symlinks: past the inode's literal area, up to 1024
    os.symlink("/".join("component-%02d" % i for i in range(30)),
               p("l", "remote-400"))
    os.symlink("/".join("c%04d" % i for i in range(170)), p("l", "remote-1k"))


def dirs():
    os.mkdir(p("d"))
    for n, form in ((3, "sf"), (40, "block"), (300, "leaf")):
        d = p("d", form)
        os.mkdir(d)
        for i in range(n):
            name = "entry-%05d-%s" % (i, "x" * (i % 23))
            if i % 10 == 3:
                os.mkdir(os.path.join(d, name))
            else:
                write(os.path.join(d, name), b"%d\n" % i)
    # node form with its extent list still in the inode: hard links only,
    # so that no inode or data block comes between the directory's blocks
    d = p("d", "node")
    os.mkdir(d)
    write(p("d", "node-target"), b"one inode, many names\n")
    for i in range(1500):
        os.link(p("d", "node-target"),
                os.path.join(d, "entry-%05d-%s" % (i, "x" * (i % 23))))
    # 1200 names of one hash: the run of equal hashes spans leaf blocks
    d = p("d", "collide")
    os.mkdir(d)
    write(p("d", "collide-target"), b"same hash\n")
    for n in collide.colliding_names(collide.xfs_hash,
                                     b"collide-" + b"c" * 16, 1200):
        os.link(p("d", "collide-target"), os.path.join(d, n.decode()))
    # a directory whose blocks are interleaved with another's and with
    # file data: more extents than the inode holds, so a B+tree
    a, b = p("d", "btree"), p("d", "btree-twin")
    os.mkdir(a)
    os.mkdir(b)
    for i in range(25000):
        for d in (a, b) if i % 2 == 0 else (a,):
            name = "%s-%06d-%s" % (os.path.basename(d), i, "z" * (i % 41))
            fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT,
                         0o644)
            if i % 50 == 0:
                os.write(fd, b"%d" % i)
            os.close(fd)
    # entries removed: free space inside the directory blocks
    for i in range(0, 25000, 7):
        os.unlink(p("d", "btree", "btree-%06d-%s" % (i, "z" * (i % 41))))


def bigino():
    """Directories spread over the allocation groups (inode64): on an AG
    of 2^28 blocks, inodes in AG 2 (v5) or 1 (256-byte inodes) need more
    than 32 bits, so the root and these directories hold 8-byte numbers."""
    for i in range(6):
        d = p("ag%d" % i)
        os.mkdir(d)
        write(os.path.join(d, "file"), b"file %d\n" % i)
        os.symlink("file", os.path.join(d, "link"))
        os.mkdir(os.path.join(d, "sub"))
        for j in range(1500 if i == 2 else 60):
            write(os.path.join(d, "sub", "entry-%03d" % j), b"%d\n" % j)


if sys.argv[2:3] == ["bigino"]:
    bigino()
else:
    files()
    links()
    dirs()
os.sync()
