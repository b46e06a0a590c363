#!/usr/bin/env python3
"""What a Btrfs image holds, from btrfs-progs' dump-tree (not from the
reader under test), so that btrfs-kernel.sh can fail when its fixture
stops exercising a path.  Prints "name value" lines:

  inline-zlib|lzo|zstd   compressed inline extents
  regular-zlib|lzo|zstd  compressed regular extents
  partial-compressed     compressed file extents starting inside their
                         extent (offset > 0)
  prealloc               prealloc file extents
  holes                  explicit hole extents (disk byte 0; no NO_HOLES)
  shared                 data extents with more than one reference
  max-extents            most EXTENT_DATA items of one inode
  max-dir-index          most DIR_INDEX items of one directory
  subvol-refs            ROOT_REF items (subvolumes linked in a directory)
  max-dir-item-names     most names in one DIR_ITEM (hash collisions)
  lzo-segments           segments in the regular LZO extents
  lzo-pads               segment headers moved to the next sector

Usage: kfacts.py IMG"""
import collections
import os
import re
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import btrfs_patch  # noqa: E402

img = sys.argv[1]
facts = collections.Counter()
text = btrfs_patch.dump(img)
with open(img, "rb") as f:
    f.seek(0x10000 + 0x90)
    sector = int.from_bytes(f.read(4), "little")

extents = collections.Counter()
dirindex = collections.Counter()
names = collections.Counter()
lzo = set()
item = None
lines = text.splitlines()
for i, line in enumerate(lines):
    m = re.search(r"\bitem \d+ key \((\S+) (\S+) (\S+)\)", line)
    if m:
        item = m.groups()
        if item[1] == "EXTENT_DATA":
            extents[item[0]] += 1
        elif item[1] == "DIR_INDEX":
            dirindex[item[0]] += 1
        elif item[1] == "ROOT_REF":
            facts["subvol-refs"] += 1
        continue
    if item and item[1] == "DIR_ITEM" and re.search(r"^\s+name: ", line):
        names[item] += 1
    m = re.search(r"inline extent data size \d+ ram_bytes \d+ "
                  r"compression \d \((\w+)\)", line)
    if m:
        facts["inline-" + m.group(1)] += 1
    if "type 2 (prealloc)" in line:
        facts["prealloc"] += 1
    m = re.search(r"extent data disk byte (\d+) nr (\d+)", line)
    if m:
        if m.group(1) == "0":
            facts["holes"] += 1
        off = re.search(r"extent data offset (\d+)", lines[i + 1])
        comp = re.search(r"extent compression \d \((\w+)\)", lines[i + 2])
        if comp:
            facts["regular-" + comp.group(1)] += 1
            if int(off.group(1)) > 0:
                facts["partial-compressed"] += 1
            if comp.group(1) == "lzo":
                lzo.add((int(m.group(1)), int(m.group(2))))
    m = re.search(r"^\s+refs (\d+) gen \d+ flags DATA", line)
    if m and int(m.group(1)) > 1:
        facts["shared"] += 1

facts["max-extents"] = max(extents.values(), default=0)
facts["max-dir-index"] = max(dirindex.values(), default=0)
facts["max-dir-item-names"] = max(names.values(), default=0)
with open(img, "rb") as f:
    for bytenr, nr in sorted(lzo):
        f.seek(btrfs_patch.physical(img, bytenr)[0])
        data = f.read(nr)
        total = int.from_bytes(data[:4], "little")
        pos = 4
        while pos < total:
            if sector - pos % sector < 4:
                pos += sector - pos % sector
                facts["lzo-pads"] += 1
                continue
            seg = int.from_bytes(data[pos:pos + 4], "little")
            facts["lzo-segments"] += 1
            pos += 4 + seg
for k in sorted(facts):
    print(k, facts[k])
