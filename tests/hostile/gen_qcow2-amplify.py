#!/usr/bin/env python3
"""Write qcow2 images whose tables name the same bytes over and over.

usage: gen_qcow2-amplify.py DIR

Writes, by hand (qemu docs/interop/qcow2.txt, version 3, 64 KiB clusters):
  l1-shared.qcow2    a 1 Mi-entry L1 table (8 MiB) whose every entry points
                     at the same L2 table, which maps one data cluster: a
                     naive reader loads that L2 table a million times (64 GiB
                     of reads) to compute the allocated size or to check it;
  snap-shared.qcow2  a valid 1 MiB disk with 65536 internal snapshots that
                     all use one 2 MiB L1 table (256 Ki entries, all pointing
                     at the active L2 table): a naive check walks 16 Gi L1
                     entries and loads 16 Gi L2 tables;
  snap-overlap.qcow2 the same, but each snapshot's L1 table starts one
                     cluster further into one big run of L1 clusters, so no
                     two snapshots share an offset while their tables
                     overlap.
Every other field is valid, so what is measured is the cross-linking.
"""
import os
import struct
import sys

CB = 16
CS = 1 << CB
COPIED = 1 << 63


def header(size, l1_size, l1_off, reft_off, reft_clusters, nb_snaps=0,
           snap_off=0):
    h = bytearray(112)
    struct.pack_into(">IIQIIQIIQQIIQQQQII", h, 0,
                     0x514649FB, 3, 0, 0, CB, size, 0, l1_size, l1_off,
                     reft_off, reft_clusters, nb_snaps, snap_off,
                     0, 0, 0, 4, 112)
    return h  # compression type 0 (zlib) at 0x68, then no extensions


def refcounts(nclusters, counts):
    """Refcount table (one cluster) + one block (16-bit refcounts)."""
    assert nclusters <= CS // 2
    blk = bytearray(CS)
    for c in range(nclusters):
        struct.pack_into(">H", blk, 2 * c, counts.get(c, 1))
    return blk


def write(path, clusters):
    """clusters: dict cluster index -> bytes (at most one cluster each)."""
    n = max(clusters) + 1
    with open(path, "wb") as f:
        f.truncate(n * CS)
        for c, data in sorted(clusters.items()):
            f.seek(c * CS)
            f.write(data)


def snapshot_entry(i, l1_off, l1_size, disk_size):
    ident = str(i + 1).encode()
    name = b"s%d" % i
    e = struct.pack(">QIHHIIQII", l1_off, l1_size, len(ident), len(name),
                    1700000000 + i, 0, 0, 0, 16)
    e += struct.pack(">QQ", 0, disk_size) + ident + name
    return e + b"\0" * (-len(e) % 8)


def l1_shared(path):
    # 0 header, 1 refcount table, 2 refcount block, 3..130 L1 (8 MiB),
    # 131 L2, 132 data
    l1_entries = 1 << 20
    l1_clusters = l1_entries * 8 // CS
    l2c, datac = 3 + l1_clusters, 4 + l1_clusters
    size = l1_entries * (CS // 8) * CS          # 512 TiB of guest
    cl = {0: header(size, l1_entries, 3 * CS, CS, 1)}
    cl[1] = struct.pack(">Q", 2 * CS)
    cl[2] = refcounts(datac + 1, {l2c: 1})
    l1 = struct.pack(">Q", COPIED | (l2c * CS)) * l1_entries
    for k in range(l1_clusters):
        cl[3 + k] = l1[k * CS:(k + 1) * CS]
    cl[l2c] = struct.pack(">Q", COPIED | (datac * CS))
    cl[datac] = b"shared L2 " * (CS // 10)
    write(path, cl)


def snap_shared(path, overlap):
    # 0 header, 1 refcount table, 2 refcount block, 3 active L1, 4 L2,
    # 5 data, 6.. snapshot table (65536 entries, ~3 MiB), then the
    # snapshots' L1 clusters (2 MiB, or 2 MiB + one cluster per snapshot
    # when they overlap, capped so the file stays small)
    nsnap = 65536
    snap_l1_entries = 1 << 18
    ents = []
    snapc = 6
    tab_len = sum(len(snapshot_entry(i, 0, 0, 0)) for i in range(nsnap))
    tab_clusters = (tab_len + CS - 1) // CS
    l1c = snapc + tab_clusters
    l1_clusters = snap_l1_entries * 8 // CS
    extra = 64 if overlap else 0                # overlapping starts
    for i in range(nsnap):
        off = (l1c + (i % (extra + 1) if overlap else 0)) * CS
        ents.append(snapshot_entry(i, off, snap_l1_entries, 1 << 20))
    tab = b"".join(ents)
    size = 1 << 20
    cl = {0: header(size, 1, 3 * CS, CS, 1, nsnap, snapc * CS)}
    cl[1] = struct.pack(">Q", 2 * CS)
    last = l1c + l1_clusters + extra
    cl[2] = refcounts(last, {4: 2, 5: 2})
    cl[3] = struct.pack(">Q", 4 * CS)            # shared with snapshots
    cl[4] = struct.pack(">Q", 5 * CS)
    cl[5] = b"snapshots " * (CS // 10)
    for k in range(tab_clusters):
        cl[snapc + k] = tab[k * CS:(k + 1) * CS]
    l1 = struct.pack(">Q", 4 * CS) * (snap_l1_entries + extra * CS // 8)
    for k in range(l1_clusters + extra):
        cl[l1c + k] = l1[k * CS:(k + 1) * CS]
    write(path, cl)


def main():
    d = sys.argv[1]
    l1_shared(os.path.join(d, "l1-shared.qcow2"))
    snap_shared(os.path.join(d, "snap-shared.qcow2"), False)
    snap_shared(os.path.join(d, "snap-overlap.qcow2"), True)


if __name__ == "__main__":
    main()
