#!/usr/bin/env python3
"""Damage a Btrfs image for the hostile tests, keeping checksums right
(CRC-32C) unless asked not to.  Addresses are found with btrfs-progs'
`btrfs inspect-internal dump-tree`, so this does not share code with the
reader under test.

  btrfs_patch.py IMG super OFF HEX          patch the superblock
  btrfs_patch.py IMG block LOGICAL OFF HEX [COPY|all] [nocsum]
                                            patch a tree block
  btrfs_patch.py IMG data LOGICAL OFF HEX    patch file data (every copy;
                                            data checksums are left alone)
  btrfs_patch.py IMG item TREE OBJECTID TYPE OFFSET
                                            print "LEAF DATAOFF" of an item
  btrfs_patch.py IMG root TREE              print "BYTENR LEVEL" of a root
"""
import functools
import re
import subprocess
import sys

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


def dump(img, *args):
    return subprocess.run(["btrfs", "inspect-internal", "dump-tree", *args, img],
                          check=True, capture_output=True, text=True).stdout


@functools.lru_cache(maxsize=None)
def chunks(img):
    """[(logical, length, [physical...])]"""
    out, cur = [], None
    for line in dump(img, "-t", "chunk").splitlines():
        m = re.search(r"key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)", line)
        if m:
            cur = [int(m.group(1)), 0, []]
            out.append(cur)
            continue
        m = re.search(r"^\s+length (\d+) owner", line)
        if m and cur:
            cur[1] = int(m.group(1))
        m = re.search(r"stripe \d+ devid \d+ offset (\d+)", line)
        if m and cur:
            cur[2].append(int(m.group(1)))
    return out


def physical(img, logical):
    for lo, ln, ph in chunks(img):
        if lo <= logical < lo + ln:
            return [p + logical - lo for p in ph]
    sys.exit("logical %d not mapped" % logical)


def nodesize(img):
    with open(img, "rb") as f:
        f.seek(0x10000 + 0x94)
        return int.from_bytes(f.read(4), "little")


def main():
    img, cmd = sys.argv[1], sys.argv[2]
    if cmd == "super":
        off, data = int(sys.argv[3], 0), bytes.fromhex(sys.argv[4])
        with open(img, "r+b") as f:
            f.seek(0x10000)
            sb = bytearray(f.read(4096))
            sb[off:off + len(data)] = data
            sb[0:4] = crc32c(sb[32:]).to_bytes(4, "little")
            f.seek(0x10000)
            f.write(sb)
    elif cmd == "block":
        logical, off = int(sys.argv[3], 0), int(sys.argv[4], 0)
        data = bytes.fromhex(sys.argv[5])
        which = sys.argv[6] if len(sys.argv) > 6 else "all"
        csum = "nocsum" not in sys.argv[7:]
        ns = nodesize(img)
        phys = physical(img, logical)
        if which != "all":
            phys = [phys[int(which)]]
        with open(img, "r+b") as f:
            for p in phys:
                f.seek(p)
                b = bytearray(f.read(ns))
                b[off:off + len(data)] = data
                if csum:
                    b[0:4] = crc32c(b[32:]).to_bytes(4, "little")
                f.seek(p)
                f.write(b)
    elif cmd == "data":
        logical, off = int(sys.argv[3], 0), int(sys.argv[4], 0)
        data = bytes.fromhex(sys.argv[5])
        with open(img, "r+b") as f:
            for p in physical(img, logical):
                f.seek(p + off)
                f.write(data)
    elif cmd == "item":
        tree, want = sys.argv[3], "key (%s %s %s)" % tuple(sys.argv[4:7])
        leaf = None
        for line in dump(img, "-t", tree).splitlines():
            m = re.match(r"leaf (\d+) items", line)
            if m:
                leaf = int(m.group(1))
            # Only item header lines: "item N key (...) itemoff O itemsize S".
            # Other lines quote keys too ("location key (...)" in a
            # DIR_ITEM), and the order of those varies from one mkfs to
            # the next.
            m = re.search(r"\bitem \d+ (key \(.*?\)) itemoff (\d+)", line)
            if m and m.group(1) == want:
                print(leaf, 101 + int(m.group(2)))
                return
        sys.exit("item not found")
    elif cmd == "root":
        first = dump(img, "-t", sys.argv[3]).splitlines()
        for line in first:
            m = re.match(r"(node|leaf) (\d+) (?:level (\d+)|items)", line)
            if m:
                print(m.group(2), m.group(3) or 0)
                return
        sys.exit("no root")


if __name__ == "__main__":
    main()
