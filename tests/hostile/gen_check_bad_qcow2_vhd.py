#!/usr/bin/env python3
"""Write qcow2, VHD and VHDX images whose tables point past the end of the
file or whose compressed clusters do not inflate to one cluster.

usage: gen_check_bad_qcow2_vhd.py DIR [GOOD.vhdx]

qcow2 images are written by hand (qemu docs/interop/qcow2.txt, version 3,
4 KiB clusters, 1 MiB disk, valid refcounts), one defect each:
  q-good.qcow2        the intact image (for comparison)
  q-l2-eof.qcow2      an L2 entry names a data cluster past the end
  q-l1-eof.qcow2      an L1 entry names an L2 table past the end
  q-zgarbage.qcow2    a compressed (deflate) cluster holds garbage
  q-zlong.qcow2       a deflate stream that inflates to two clusters
  q-zstdgarbage.qcow2 a compressed (zstd) cluster holds garbage
  q-zstdlong.qcow2    a zstd frame (raw block) of a cluster and a half
  q-zstdgood.qcow2    a zstd frame (raw block) of exactly one cluster
VHD (Virtual Hard Disk Image Format Specification 1.0), by hand:
  v-good.vhd          a dynamic VHD, 2 MiB blocks, 4 MiB disk
  v-bat-eof.vhd       its second BAT entry points past the end of the file
VHDX (MS-VHDX): GOOD.vhdx (made by the test with vmie convert) is copied
with its first BAT entry pointing past the end of the file:
  x-bat-eof.vhdx
"""
import os
import struct
import sys
import zlib

CB = 12
CS = 1 << CB
SIZE = 1 << 20


def qcow2(path, l2_entries, extra, comp=0, l1_entry=None):
    """Clusters: 0 header, 1 refcount table, 2 refcount block, 3 L1,
    4 L2, 5.. extra (dict cluster -> bytes).  l2_entries: list of L2
    entries for guest clusters 0.."""
    last = max([4] + list(extra))
    h = bytearray(112)
    incompat = 8 if comp else 0
    struct.pack_into(">IIQIIQIIQQIIQQQQII", h, 0, 0x514649FB, 3, 0, 0, CB,
                     SIZE, 0, 1, 3 * CS, CS, 1, 0, 0, incompat, 0, 0, 4,
                     112)
    h[104] = comp
    img = bytearray((last + 1) * CS)
    img[0:112] = h
    struct.pack_into(">Q", img, CS, 2 * CS)
    for c in range(last + 1):
        struct.pack_into(">H", img, 2 * CS + 2 * c, 1)
    l1e = (1 << 63) | (4 * CS) if l1_entry is None else l1_entry
    struct.pack_into(">Q", img, 3 * CS, l1e)
    for i, e in enumerate(l2_entries):
        struct.pack_into(">Q", img, 4 * CS + 8 * i, e)
    for c, data in extra.items():
        img[c * CS:c * CS + len(data)] = data
    with open(path, "wb") as f:
        f.write(img)


def compressed(host_off, nbytes):
    shift = 62 - (CB - 8)
    nsec = (host_off % 512 + nbytes + 511) // 512
    return (1 << 62) | ((nsec - 1) << shift) | host_off


def deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -12)
    return c.compress(data) + c.flush()


def zstd_raw(data):
    """A zstd frame (RFC 8878) holding data as one raw block."""
    assert len(data) < 1 << 17
    fhd = 0x00                         # no content size, window descriptor
    wd = (17 - 10) << 3                # 128 KiB window
    bh = 1 | (0 << 1) | (len(data) << 3)
    return (struct.pack("<IBB", 0xFD2FB528, fhd, wd) +
            struct.pack("<I", bh)[:3] + data)


def write_qcow2(d):
    data = bytes(range(256)) * (CS // 256)
    p = lambda n: os.path.join(d, n)
    qcow2(p("q-good.qcow2"), [(1 << 63) | 5 * CS], {5: data})
    qcow2(p("q-l2-eof.qcow2"), [(1 << 63) | 5 * CS, (1 << 63) | 64 * CS],
          {5: data})
    qcow2(p("q-l1-eof.qcow2"), [(1 << 63) | 5 * CS], {5: data},
          l1_entry=(1 << 63) | 64 * CS)
    garbage = b"\xff" * 64
    qcow2(p("q-zgarbage.qcow2"), [compressed(5 * CS, 64)], {5: garbage})
    long = deflate(data * 2)
    qcow2(p("q-zlong.qcow2"), [compressed(5 * CS, len(long))], {5: long})
    qcow2(p("q-zstdgarbage.qcow2"), [compressed(5 * CS, 64)], {5: garbage},
          comp=1)
    zl = zstd_raw(data + data[:CS // 2])
    qcow2(p("q-zstdlong.qcow2"), [compressed(5 * CS, len(zl))],
          {5: zl[:CS], 6: zl[CS:]}, comp=1)
    zg = zstd_raw(data)
    qcow2(p("q-zstdgood.qcow2"), [compressed(5 * CS, len(zg))],
          {5: zg[:CS], 6: zg[CS:]}, comp=1)


def vhd_checksum(b):
    return (~sum(b)) & 0xffffffff


def vhd_footer(size):
    f = bytearray(512)
    f[0:8] = b"conectix"
    struct.pack_into(">IIQI", f, 8, 2, 0x00010000, 512, 0)
    f[28:32] = b"vmie"
    struct.pack_into(">I", f, 32, 0x00010000)
    f[36:40] = b"Wi2k"
    struct.pack_into(">QQ", f, 40, size, size)
    struct.pack_into(">HBB", f, 56, 65535, 16, 255)   # max geometry
    struct.pack_into(">I", f, 60, 3)                   # dynamic
    f[68:84] = bytes(range(1, 17))
    struct.pack_into(">I", f, 64, vhd_checksum(f))
    return bytes(f)


def write_vhd(d, bad):
    bs = 2 << 20
    size = 4 << 20
    nb = size // bs
    dyn = bytearray(1024)
    dyn[0:8] = b"cxsparse"
    struct.pack_into(">QQIII", dyn, 8, 0xffffffffffffffff, 1536,
                     0x00010000, nb, bs)
    struct.pack_into(">I", dyn, 36, vhd_checksum(dyn))
    bat = bytearray(b"\xff" * 512)
    blk0 = 2048
    struct.pack_into(">I", bat, 0, blk0 // 512)
    end = blk0 + 512 + bs
    if bad:
        struct.pack_into(">I", bat, 4, (end + (64 << 20)) // 512)
    foot = vhd_footer(size)
    img = bytearray(end)
    img[0:512] = foot
    img[512:1536] = dyn
    img[1536:2048] = bat
    img[blk0:blk0 + 512] = b"\xff" * 512                 # sector bitmap
    img[blk0 + 512:blk0 + 1024] = b"vhd data" * 64
    name = "v-bat-eof.vhd" if bad else "v-good.vhd"
    with open(os.path.join(d, name), "wb") as f:
        f.write(img + foot)


GUID_BAT = bytes.fromhex("6677c22d23f600429d64115e9bfd4a08")


def write_vhdx(d, good):
    b = bytearray(open(good, "rb").read())
    reg = 192 * 1024
    assert b[reg:reg + 4] == b"regi"
    n = struct.unpack_from("<I", b, reg + 8)[0]
    for i in range(n):
        e = reg + 16 + 32 * i
        if bytes(b[e:e + 16]) == GUID_BAT:
            bat = struct.unpack_from("<Q", b, e + 16)[0]
            break
    else:
        raise SystemExit("no BAT region in " + good)
    mib = (len(b) >> 20) + 64
    struct.pack_into("<Q", b, bat, (mib << 20) | 6)   # fully present
    with open(os.path.join(d, "x-bat-eof.vhdx"), "wb") as f:
        f.write(b)


def main():
    d = sys.argv[1]
    write_qcow2(d)
    write_vhd(d, False)
    write_vhd(d, True)
    if len(sys.argv) > 2:
        write_vhdx(d, sys.argv[2])


if __name__ == "__main__":
    main()
