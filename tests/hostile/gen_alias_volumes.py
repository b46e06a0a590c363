#!/usr/bin/env python3
"""Hostile inputs of issue 9, "alias volumes": tables whose thousands of
entries all name the same file system, so that an inspection that visits
every entry reads that file system thousands of times.

  gen_alias_volumes.py gpt FS OUT [N]   a GPT disk of N entries (default
      4000) that all start at the file system image FS (copied once at
      1 MiB): two thirds cover exactly its bytes, the rest end 8 sectors
      short of it (the same start, another size)
  gen_alias_volumes.py lvm FS OUT [N]   an LVM2 PV on a whole disk whose
      volume group lists N logical volumes (default 3000) over the same
      extents, where FS is copied once: most cover all of them, every
      fourth one extent less; plus one LV made of two linear segments that
      split the same extents (the same bytes, described another way)
  gen_alias_volumes.py overlap BIG SMALL OUT [N]   a GPT disk whose first
      entry is the file system BIG and whose next N (default 20) entries
      are copies of the file system SMALL written into the free tail of
      BIG: distinct file systems, each overlapping the first

Everything is written by hand (python3 stdlib only), from the UEFI
specification's GPT layout and LVM2's on-disk format (label, PV header,
metadata area, text metadata); see lib/part/part_disk.h.
"""
import struct
import sys
import uuid
import zlib

SECTOR = 512
MIB = 1 << 20


def le_guid(u):
    return uuid.UUID(u).bytes_le


def gpt_disk(fs, out, n, inner=None, n_inner=0):
    data = open(fs, "rb").read()
    fs_sectors = (len(data) + SECTOR - 1) // SECTOR
    fs_lba = MIB // SECTOR
    ranges = [(fs_lba, fs_lba + fs_sectors - 1 - (8 if i % 3 == 2 else 0))
              for i in range(n)]
    if inner:
        small = open(inner, "rb").read()
        s_sectors = (len(small) + SECTOR - 1) // SECTOR
        at = fs_lba + fs_sectors - n_inner * s_sectors
        assert at > fs_lba + fs_sectors // 2, "BIG too small for the copies"
        data = bytearray(data)
        ranges = [(fs_lba, fs_lba + fs_sectors - 1)]
        for k in range(n_inner):
            lba = at + k * s_sectors
            off = (lba - fs_lba) * SECTOR
            data[off:off + len(small)] = small
            ranges.append((lba, lba + s_sectors - 1))
        n = len(ranges)
    arr_sectors = (n * 128 + SECTOR - 1) // SECTOR
    first_usable = 2 + arr_sectors
    assert first_usable <= fs_lba, "entry array must end before 1 MiB"
    total = fs_lba + fs_sectors + MIB // SECTOR + arr_sectors + 1
    last_lba = total - 1
    last_usable = last_lba - arr_sectors - 1
    linux = le_guid("0fc63daf-8483-4772-8e79-3d69d8477de4")
    arr = bytearray(arr_sectors * SECTOR)
    for i in range(n):
        first, last = ranges[i]
        name = ("alias%d" % i).encode("utf-16-le")
        e = struct.pack("<16s16sQQQ72s", linux,
                        uuid.UUID(int=(0x1234 << 96) | (i + 1)).bytes_le,
                        first, last, 0, name)
        arr[i * 128:(i + 1) * 128] = e
    arr_crc = zlib.crc32(bytes(arr[:n * 128]))
    disk_guid = le_guid("5a1e5a1e-0000-4000-8000-00000000a11a")

    def header(my, alt, entries_lba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0,
                        my, alt, first_usable, last_usable, disk_guid,
                        entries_lba, n, 128, arr_crc)
        crc = zlib.crc32(h)
        h = h[:16] + struct.pack("<I", crc) + h[20:]
        return h + bytes(SECTOR - len(h))

    img = bytearray(total * SECTOR)
    # protective MBR: one 0xEE entry over the whole disk
    pmbr = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff",
                       1, min(total - 1, 0xFFFFFFFF))
    img[0x1BE:0x1BE + 16] = pmbr
    img[510:512] = b"\x55\xaa"
    img[SECTOR:2 * SECTOR] = header(1, last_lba, 2)
    img[2 * SECTOR:2 * SECTOR + len(arr)] = arr
    back_arr = last_lba - arr_sectors
    img[back_arr * SECTOR:back_arr * SECTOR + len(arr)] = arr
    img[last_lba * SECTOR:] = header(last_lba, 1, back_arr)
    img[fs_lba * SECTOR:fs_lba * SECTOR + len(data)] = data
    with open(out, "wb") as f:
        f.write(img)


# LVM's CRC-32: reflected 0xEDB88320, initial 0xf597a6cf, no final xor.
# zlib.crc32(b, c) computes ~crc_raw(b, ~c), so crc_raw(b, i) is
# ~zlib.crc32(b, ~i).
def lvm_crc(b, init=0xF597A6CF):
    return (~zlib.crc32(b, (~init) & 0xFFFFFFFF)) & 0xFFFFFFFF


def lvm_id(k):
    s = ("%032x" % (0xA11A5 * 1000003 + k))[-32:]
    s = "".join(c if c.isalnum() else "0" for c in s)
    return s, "-".join([s[0:6], s[6:10], s[10:14], s[14:18], s[18:22],
                        s[22:26], s[26:32]])


def lvm_disk(fs, out, n):
    data = open(fs, "rb").read()
    ext_sectors = 2048                      # 1 MiB extents
    ext = ext_sectors * SECTOR
    pe_count = (len(data) + ext - 1) // ext
    mda_off, mda_size = 4096, 4 * MIB - 4096
    pe_start = 4 * MIB                      # bytes
    total = pe_start + pe_count * ext + MIB
    pv_raw, pv_id = lvm_id(1)
    _, vg_id = lvm_id(2)

    lvs = []
    for i in range(n):
        count = pe_count - 1 if i % 4 == 3 and pe_count > 1 else pe_count
        lvs.append("""lv%d {
id = "%s"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
segment_count = 1
segment1 {
start_extent = 0
extent_count = %d
type = "striped"
stripe_count = 1
stripes = [
"pv0", 0
]
}
}
""" % (i, lvm_id(100 + i)[1], count))
    if pe_count > 1:
        # the same bytes as lv0, in two segments
        lvs.append("""split {
id = "%s"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
segment_count = 2
segment1 {
start_extent = 0
extent_count = 1
type = "striped"
stripe_count = 1
stripes = [
"pv0", 0
]
}
segment2 {
start_extent = 1
extent_count = %d
type = "striped"
stripe_count = 1
stripes = [
"pv0", 1
]
}
}
""" % (lvm_id(99)[1], pe_count - 1))
    text = """vg_alias {
id = "%s"
seqno = 1
format = "lvm2"
status = ["RESIZEABLE", "READ", "WRITE"]
flags = []
extent_size = %d
max_lv = 0
max_pv = 0
metadata_copies = 0

physical_volumes {
pv0 {
id = "%s"
device = "/dev/sda"
status = ["ALLOCATABLE"]
flags = []
dev_size = %d
pe_start = %d
pe_count = %d
}
}

logical_volumes {
%s}
}
contents = "Text Format Volume Group"
version = 1
description = ""
creation_host = "hostile"
creation_time = 0
""" % (vg_id, ext_sectors, pv_id, total // SECTOR, pe_start // SECTOR,
       pe_count, "".join(lvs))
    text = text.encode() + b"\0"
    assert 512 + len(text) <= mda_size, "metadata larger than its area"

    img = bytearray(total)
    # label in sector 1, PV header at offset 0x20 of it
    lab = bytearray(SECTOR)
    lab[0:8] = b"LABELONE"
    struct.pack_into("<Q", lab, 8, 1)
    struct.pack_into("<I", lab, 0x14, 0x20)
    lab[0x18:0x20] = b"LVM2 001"
    p = 0x20
    lab[p:p + 32] = pv_raw.encode()
    struct.pack_into("<Q", lab, p + 32, total)
    q = p + 40
    for off, size in ((pe_start, 0), (0, 0), (mda_off, mda_size), (0, 0)):
        struct.pack_into("<QQ", lab, q, off, size)
        q += 16
    struct.pack_into("<I", lab, 0x10, lvm_crc(bytes(lab[0x14:])))
    img[SECTOR:2 * SECTOR] = lab
    # metadata area header and the text right after it
    mh = bytearray(512)
    mh[4:20] = b" LVM2 x[5A%r0N*>"
    struct.pack_into("<IQQ", mh, 0x14, 1, mda_off, mda_size)
    struct.pack_into("<QQII", mh, 0x28, 512, len(text), lvm_crc(text), 0)
    struct.pack_into("<I", mh, 0, lvm_crc(bytes(mh[4:])))
    img[mda_off:mda_off + 512] = mh
    img[mda_off + 512:mda_off + 512 + len(text)] = text
    img[pe_start:pe_start + len(data)] = data
    with open(out, "wb") as f:
        f.write(img)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: gen_alias_volumes.py gpt|lvm FS OUT [N] | "
                 "overlap BIG SMALL OUT [N]")
    kind, fs, out = sys.argv[1:4]
    if kind == "gpt":
        gpt_disk(fs, out, int(sys.argv[4]) if len(sys.argv) > 4 else 4000)
    elif kind == "overlap":
        small, out = sys.argv[3:5]
        n = int(sys.argv[5]) if len(sys.argv) > 5 else 20
        gpt_disk(fs, out, 0, small, n)
    elif kind == "lvm":
        lvm_disk(fs, out, int(sys.argv[4]) if len(sys.argv) > 4 else 3000)
    else:
        sys.exit("usage: gen_alias_volumes.py gpt|lvm FS OUT [N] | "
                 "overlap BIG SMALL OUT [N]")


if __name__ == "__main__":
    main()
