#!/usr/bin/env python3
"""Write the seed corpus of fuzz_part into corpus/: tiny disks (a few KiB)
with MBRs, EBR chains, GPTs (512 and 4096-byte sectors), hybrid MBRs and
LVM2 PVs, plus hostile variants.  Layouts follow lib/part/part_disk.h.
Run from anywhere: python3 mkcorpus.py [OUTDIR].  lvm-real-prefix is not
made here: it is the first 9 KiB of a PV written by pvcreate/vgcreate/
lvcreate (see tests/part/lvm-tools.sh for how)."""
import os
import struct
import sys
import uuid
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), 'corpus')


def put(buf, off, data):
    buf[off:off + len(data)] = data


def mbr_entry(sec, i, status, ptype, lba, n):
    put(sec, 0x1be + 16 * i, struct.pack('<B3sB3sII', status, b'\0' * 3,
                                        ptype, b'\0' * 3, lba, n))
    sec[510:512] = b'\x55\xaa'


def save(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(bytes(data))


def gpt(ss, n_lbas, parts, n_entries=4, hybrid=False, bad_primary=False):
    d = bytearray(ss * n_lbas)
    mbr_entry(d, 0, 0, 0xee, 1, n_lbas - 1)
    if hybrid:
        mbr_entry(d, 1, 0x80, 0x83, parts[0][1],
                  parts[0][2] - parts[0][1] + 1)
    arr = bytearray(128 * n_entries)
    for i, (tguid, first, last, attr, name) in enumerate(parts):
        e = uuid.UUID(tguid).bytes_le + uuid.UUID(int=i + 1).bytes_le
        e += struct.pack('<QQQ', first, last, attr)
        e += name.encode('utf-16-le').ljust(72, b'\0')
        put(arr, 128 * i, e)
    asz = (len(arr) + ss - 1) // ss
    for lba, alt, elba in ((1, n_lbas - 1, 2),
                           (n_lbas - 1, 1, n_lbas - 1 - asz)):
        h = bytearray(92)
        put(h, 0, b'EFI PART' + struct.pack('<II', 0x10000, 92))
        put(h, 24, struct.pack('<QQQQ', lba, alt, 2 + asz,
                               n_lbas - 2 - asz))
        put(h, 56, uuid.UUID('01234567-89ab-cdef-0011-223344556677').bytes_le)
        put(h, 72, struct.pack('<QIII', elba, n_entries, 128,
                               zlib.crc32(arr)))
        put(h, 16, struct.pack('<I', zlib.crc32(h)))
        put(d, lba * ss, h)
        put(d, elba * ss, arr)
    if bad_primary:
        d[ss + 20] ^= 0xff
    return d


LINUX = '0fc63daf-8483-4772-8e79-3d69d8477de4'
ESP = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b'
LDMD = 'af9b60a0-1431-4f62-bc68-3311714a69ad'


def lvm_crc(data):
    return ~zlib.crc32(data, ~0xf597a6cf & 0xffffffff) & 0xffffffff


def pv(uid, text, size=6144, mda=1024, mda_len=1536):
    """A tiny PV: label in sector 1, metadata area at mda (1 KiB of
    text), extents of 512 bytes from 2560."""
    d = bytearray(size)
    lab = bytearray(512)
    put(lab, 0, b'LABELONE' + struct.pack('<QII', 1, 0, 32) + b'LVM2 001')
    put(lab, 32, uid.encode() + struct.pack('<Q', size))
    put(lab, 72, struct.pack('<QQQQQQQQ', 2560, 0, 0, 0, mda, mda_len, 0, 0))
    put(lab, 16, struct.pack('<I', lvm_crc(bytes(lab[20:]))))
    put(d, 512, lab)
    t = text.encode() + b'\0'
    assert len(t) <= mda_len - 512, len(t)
    h = bytearray(512)
    put(h, 4, b' LVM2 x[5A%r0N*>' + struct.pack('<IQQ', 1, mda, mda_len))
    put(h, 40, struct.pack('<QQII', 512, len(t), lvm_crc(t), 0))
    put(h, 0, struct.pack('<I', lvm_crc(bytes(h[4:]))))
    put(d, mda, h)
    put(d, mda + 512, t)
    for i in range(2560, size, 4):
        put(d, i, struct.pack('<I', i))
    return d


U0 = 'A' * 31 + '0'
U1 = 'A' * 31 + '1'


def dashed(u):
    return '-'.join((u[0:6], u[6:10], u[10:14], u[14:18], u[18:22],
                     u[22:26], u[26:32]))


def vg(name, pvs, lvs, seq=1):
    pv_txt = ''.join('pv%d {\nid = "%s"\ndevice = "/dev/x"\n'
                     'status = ["ALLOCATABLE"]\ndev_size = 24\n'
                     'pe_start = 5\npe_count = 7\n}\n' % (i, dashed(u))
                     for i, u in enumerate(pvs))
    return ('%s {\nid = "vgid-%s"\nseqno = %d\nformat = "lvm2"\n'
            'status = ["RESIZEABLE", "READ", "WRITE"]\nflags = []\n'
            'extent_size = 1\nphysical_volumes {\n%s}\n'
            'logical_volumes {\n%s}\n}\ncontents = "Text Format Volume '
            'Group"\nversion = 1\n# a comment\n'
            % (name, name, seq, pv_txt, lvs))


def lv(name, segs):
    s = ''.join('segment%d {\nstart_extent = %d\nextent_count = %d\n'
                'type = "striped"\nstripe_count = %d\n%sstripes = [\n%s\n]\n}\n'
                % (i + 1, st, cnt, len(stripes),
                   'stripe_size = 1\n' if len(stripes) > 1 else '',
                   ',\n'.join('"%s", %d' % p for p in stripes))
                for i, (st, cnt, stripes) in enumerate(segs))
    return ('%s {\nstatus = ["VISIBLE"]\nsegment_count = %d\n%s}\n'
            % (name, len(segs), s))


def main():
    os.makedirs(OUT, exist_ok=True)
    # MBR: four primaries, one active, GRUB 2-like boot code
    d = bytearray(2048)
    d[0:3] = b'\xeb\x63\x90'
    put(d, 0x180, b'GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n\0')
    mbr_entry(d, 0, 0x80, 0x83, 1, 1)
    mbr_entry(d, 1, 0, 0x07, 2, 2)
    mbr_entry(d, 2, 0, 0x0c, 4, 2)
    mbr_entry(d, 3, 0, 0x42, 6, 2)
    save('mbr-4-primaries-grub2', d)
    # extended partition with three logicals (EBRs at 8, 12, 16)
    d = bytearray(5120)
    mbr_entry(d, 0, 0, 0x83, 1, 3)
    mbr_entry(d, 1, 0, 0x0f, 4, 6)
    for k in range(3):
        e = bytearray(512)
        mbr_entry(e, 0, 0, (0x83, 0x82, 0x8e)[k], 1, 1)
        if k < 2:
            mbr_entry(e, 1, 0, 0x05, 2 * (k + 1), 2)
        put(d, (4 + 2 * k) * 512, e)
    save('mbr-ebr-3-logicals', d)
    # the same chain looping back to its first EBR
    e = bytearray(d[8 * 512:9 * 512])
    mbr_entry(e, 1, 0, 0x05, 0, 2)
    put(d, 8 * 512, e)
    save('mbr-ebr-loop', d)
    # an EBR link past the disk
    e = bytearray(512)
    mbr_entry(e, 0, 0, 0x83, 1, 1)
    mbr_entry(e, 1, 0, 0x05, 0xfffffff0, 2)
    put(d, 8 * 512, e)
    save('mbr-ebr-past-disk', d)
    # overlapping primaries, one past the end, bad status bytes
    d = bytearray(2048)
    mbr_entry(d, 0, 0, 0x83, 1, 3)
    mbr_entry(d, 1, 0, 0x83, 2, 3)
    mbr_entry(d, 2, 0, 0x83, 3, 0x7fffffff)
    save('mbr-overlap-past-end', d)
    # GPT: ESP + Linux (legacy bootable) + LDM data, 512-byte sectors
    parts = [(ESP, 3, 3, 0, 'EFI System'), (LINUX, 4, 6, 4, 'root'),
             (LDMD, 7, 8, 0, 'ldm')]
    save('gpt-512', gpt(512, 12, parts))
    save('gpt-hybrid', gpt(512, 12, parts, hybrid=True))
    save('gpt-bad-primary', gpt(512, 12, parts, bad_primary=True))
    # 4096-byte sectors: keep the first 12 KiB (no backup)
    save('gpt-4k-prefix', gpt(4096, 8, [(LINUX, 3, 5, 0, 'x')])[:12288])
    # hostile GPT: entry count 2^31 and entry size 0 in the primary
    d = gpt(512, 12, parts)
    put(d, 512 + 80, struct.pack('<II', 0x80000000, 0))
    put(d, 512 + 16, b'\0\0\0\0')
    put(d, 512 + 16, struct.pack('<I', zlib.crc32(bytes(d[512:512 + 92]))))
    save('gpt-absurd-entries', d)
    # LVM: one PV with two linear LVs
    save('lvm-one-pv', pv(U0, vg('vg0', [U0],
                                  lv('root', [(0, 3, [('pv0', 0)])]) +
                                  lv('home', [(0, 2, [('pv0', 4)])]))))
    # two PVs (the two halves of the input): spanning and striped LVs
    lvs = (lv('span', [(0, 4, [('pv0', 0)]), (4, 3, [('pv1', 0)])]) +
           lv('st', [(0, 4, [('pv0', 4), ('pv1', 3)])]))
    save('lvm-two-pvs-halves', pv(U0, vg('vg1', [U0, U1], lvs, 2)) +
         pv(U1, vg('vg1', [U0, U1], lvs, 1)))
    # hostile metadata
    save('lvm-absurd-extents', pv(U0, vg('vg2', [U0], lv(
        'big', [(0, 4000000000, [('pv0', 0)])])), size=2560))
    save('lvm-unterminated', pv(U0, 'vg3 {\nid = "abc\nseqno = 1\n',
                                size=2560))
    save('lvm-deep-nesting', pv(U0, 's {' * 200, size=2560))
    save('lvm-thin-raid', pv(U0, vg('vg4', [U0],
        'pool {\nstatus = ["VISIBLE"]\nsegment1 {\nstart_extent = 0\n'
        'extent_count = 2\ntype = "thin-pool"\n}\n}\n'), size=2560))


main()
