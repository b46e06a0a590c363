#!/usr/bin/env python3
"""jbd2mk: write jbd2 transactions into the internal journal of an ext3/4
image without replaying them (as a crash would leave them), for the journal
replay tests.  Layout from the kernel's Documentation/filesystems/ext4/
journal.rst; e2fsck replays what this writes, which is the tests' reference.

  jbd2mk.py IMAGE [options] TX...

TX is one transaction, ';'-separated items:
  B=1,2,3      log these blocks with their content in --from IMAGE
  J=7,8        log these blocks with junk content (block number pattern)
  R=7,9        revoke these blocks
  nocommit     no commit block (the transaction is not complete)
  badcommit    corrupt the commit block checksum
  baddesc      corrupt the (first) descriptor checksum
  baddata=N    corrupt the tag checksum of block N
options:
  --from IMG        source of B= blocks
  --csum none|v1|v2|v3   (default v3)   --32bit (default 64bit)
  --sbv1            journal superblock v1 (no features: 32-bit, no csum)
  --start N         first log block of the first transaction (default
                    s_first); the log wraps at s_maxlen
  --tid N           tid of the first transaction (default 1000)
  --maxtags N       tags per descriptor at most (default: as many as fit)
  --no-same-uuid    a UUID after every tag
  --stale           after the log, a descriptor of an older transaction
  --no-recover      leave needs_recovery clear
  --maxlen/--first/--magic/--sb-start/--blocksize N   override journal sb
                    fields after writing (hostile tests)
  --fast-commit N   set FAST_COMMIT with N fast-commit blocks
  --jino N          the journal inode (default 8)
"""
import argparse
import struct
import subprocess
import sys

MAGIC = 0xC03B3998


def crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


T32C = crc32c_table()


def crc32c_raw(seed, data):
    """The kernel's crc32c(): no final inversion."""
    c = seed
    for b in data:
        c = T32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c


def crc32_be(crc, data):
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def journal_map(img, ino=8):
    """Logical -> physical block list of the journal inode, from debugfs."""
    out = subprocess.run(['debugfs', '-R', 'stat <%d>' % ino, img],
                         capture_output=True, text=True).stdout
    text = out.split('EXTENTS:' if 'EXTENTS:' in out else 'BLOCKS:')[1]
    m = {}
    for part in text.replace('\n', ' ').split(','):
        part = part.strip()
        if not part.startswith('(') or '):' not in part:
            continue
        lr, pr = part[1:].split('):')
        if not lr[0].isdigit():
            continue            # (IND), (DIND): map blocks
        pr = pr.split()[0]
        l0, l1 = (lr.split('-') + [lr])[:2]
        p0 = pr.split('-')[0]
        for i in range(int(l1) - int(l0) + 1):
            m[int(l0) + i] = int(p0) + i
    return [m[i] for i in range(len(m))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('image')
    ap.add_argument('tx', nargs='*')
    ap.add_argument('--from', dest='src')
    ap.add_argument('--csum', default='v3')
    ap.add_argument('--32bit', dest='b32', action='store_true')
    ap.add_argument('--sbv1', action='store_true')
    ap.add_argument('--start', type=int)
    ap.add_argument('--tid', type=int, default=1000)
    ap.add_argument('--maxtags', type=int, default=10 ** 9)
    ap.add_argument('--no-same-uuid', action='store_true')
    ap.add_argument('--stale', action='store_true')
    ap.add_argument('--no-recover', action='store_true')
    ap.add_argument('--maxlen', type=int)
    ap.add_argument('--first', type=int)
    ap.add_argument('--magic', type=lambda x: int(x, 0))
    ap.add_argument('--sb-start', type=int)
    ap.add_argument('--blocksize', type=int)
    ap.add_argument('--fast-commit', type=int)
    ap.add_argument('--jino', type=int, default=8)
    a = ap.parse_intermixed_args()

    f = open(a.image, 'r+b')
    f.seek(1024)
    esb = bytearray(f.read(1024))
    bs = 1024 << struct.unpack_from('<I', esb, 0x18)[0]
    jmap = journal_map(a.image, a.jino)
    src = open(a.src, 'rb') if a.src else None

    def jwrite(lblk, data):
        assert len(data) == bs
        f.seek(jmap[lblk] * bs)
        f.write(data)

    f.seek(jmap[0] * bs)
    jsb = bytearray(f.read(1024))
    maxlen = struct.unpack_from('>I', jsb, 0x10)[0]
    first = struct.unpack_from('>I', jsb, 0x14)[0]
    uuid = bytes(jsb[0x30:0x40])
    if a.sbv1:
        a.csum, a.b32 = 'none', True
    csum = a.csum in ('v2', 'v3')
    v3 = a.csum == 'v3'
    b64 = not a.b32
    seed = crc32c_raw(0xFFFFFFFF, uuid)
    if v3:
        tag_bytes = 16
    else:
        tag_bytes = 12 + (2 if csum else 0) - (0 if b64 else 4)
    tail = 4 if csum else 0
    last = maxlen - (a.fast_commit or 0)

    pos = a.start if a.start is not None else first
    start = pos
    tid = a.tid
    commit_time = 1700000000

    def advance(p):
        p += 1
        return first if p >= last else p

    def junk(blk):
        return struct.pack('>Q', 0x4A554E4B00000000 | blk) * (bs // 8)

    def content(blk):
        src.seek(blk * bs)
        return src.read(bs)

    def seal_tail(blk):
        if csum:
            struct.pack_into('>I', blk, bs - 4, 0)
            struct.pack_into('>I', blk, bs - 4, crc32c_raw(seed, blk))

    for spec in a.tx:
        items = [x for x in spec.split(';') if x]
        blocks, revokes, flags, baddata = [], [], set(), set()
        for it in items:
            k, _, v = it.partition('=')
            if k == 'B':
                blocks += [(int(x), content(int(x))) for x in v.split(',')]
            elif k == 'J':
                blocks += [(int(x), junk(int(x))) for x in v.split(',')]
            elif k == 'R':
                revokes += [int(x) for x in v.split(',')]
            elif k == 'baddata':
                baddata.add(int(v))
            else:
                flags.add(k)
        crc1 = 0xFFFFFFFF
        first_desc = True
        i = 0
        while i < len(blocks):
            desc = bytearray(bs)
            struct.pack_into('>III', desc, 0, MAGIC, 1, tid)
            off = 12
            chunk = []
            while i < len(blocks) and len(chunk) < a.maxtags:
                need = tag_bytes + (16 if (not chunk or a.no_same_uuid)
                                    else 0)
                if off + need > bs - tail:
                    break
                blk, data = blocks[i]
                data = bytearray(data)
                fl = 0
                if struct.unpack_from('>I', data, 0)[0] == MAGIC:
                    data[0:4] = b'\0\0\0\0'
                    fl |= 1
                if chunk and not a.no_same_uuid:
                    fl |= 2
                c = crc32c_raw(seed, struct.pack('>I', tid))
                c = crc32c_raw(c, data)
                if blk in baddata:
                    c ^= 0xFFFF
                if v3:
                    struct.pack_into('>IIII', desc, off, blk & 0xFFFFFFFF,
                                     fl, blk >> 32, c)
                else:
                    struct.pack_into('>IHH', desc, off, blk & 0xFFFFFFFF,
                                     (c & 0xFFFF) if csum else 0, fl)
                    if b64:
                        struct.pack_into('>I', desc, off + 8, blk >> 32)
                chunk.append((off, fl, data))
                off += tag_bytes
                if not fl & 2:
                    desc[off:off + 16] = uuid
                    off += 16
                i += 1
            lo, lfl, _ = chunk[-1]
            if v3:
                struct.pack_into('>I', desc, lo + 4, lfl | 8)
            else:
                struct.pack_into('>H', desc, lo + 6, lfl | 8)
            seal_tail(desc)
            if 'baddesc' in flags and first_desc:
                desc[100] ^= 0xFF
            first_desc = False
            jwrite(pos, bytes(desc))
            crc1 = crc32_be(crc1, desc)
            pos = advance(pos)
            for _, _, data in chunk:
                jwrite(pos, bytes(data))
                crc1 = crc32_be(crc1, data)
                pos = advance(pos)
        if revokes:
            rec = 8 if b64 else 4
            per = (bs - tail - 16) // rec
            for j in range(0, len(revokes), per):
                rb = bytearray(bs)
                part = revokes[j:j + per]
                struct.pack_into('>IIII', rb, 0, MAGIC, 5, tid,
                                 16 + rec * len(part))
                for n, r in enumerate(part):
                    struct.pack_into('>Q' if b64 else '>I', rb,
                                     16 + rec * n, r)
                seal_tail(rb)
                jwrite(pos, bytes(rb))
                pos = advance(pos)
        if 'nocommit' not in flags:
            cb = bytearray(bs)
            struct.pack_into('>III', cb, 0, MAGIC, 2, tid)
            struct.pack_into('>QI', cb, 0x30, commit_time, 0)
            if a.csum == 'v1':
                cb[0x0C], cb[0x0D] = 1, 4
                struct.pack_into('>I', cb, 0x10, crc1)
            elif csum:
                struct.pack_into('>I', cb, 0x10, crc32c_raw(seed, cb))
            if 'badcommit' in flags:
                cb[0x11] ^= 0xFF
            jwrite(pos, bytes(cb))
            pos = advance(pos)
        tid = (tid + 1) & 0xFFFFFFFF
        commit_time += 1
    end = bytearray(bs)
    if a.stale:
        struct.pack_into('>III', end, 0, MAGIC, 1, (a.tid - 5) & 0xFFFFFFFF)
    jwrite(pos, bytes(end))

    # the journal superblock
    if a.sbv1:
        struct.pack_into('>I', jsb, 4, 3)
        jsb[0x24:0x30] = bytes(12)
    else:
        struct.pack_into('>I', jsb, 4, 4)
        compat = 1 if a.csum == 'v1' else 0
        inc = 1 | (2 if b64 else 0) | (8 if a.csum == 'v2' else 0) | \
            (16 if v3 else 0) | (0x20 if a.fast_commit else 0)
        struct.pack_into('>III', jsb, 0x24, compat, inc, 0)
        jsb[0x50] = 4 if csum else 0
        if a.fast_commit:
            struct.pack_into('>I', jsb, 0x54, a.fast_commit)
    struct.pack_into('>II', jsb, 0x18, a.tid, start)
    for name, off in (('maxlen', 0x10), ('first', 0x14), ('magic', 0),
                      ('sb_start', 0x1C), ('blocksize', 0x0C)):
        v = getattr(a, name)
        if v is not None:
            struct.pack_into('>I', jsb, off, v)
    if csum:
        struct.pack_into('>I', jsb, 0xFC, 0)
        struct.pack_into('>I', jsb, 0xFC, crc32c_raw(0xFFFFFFFF, jsb))
    f.seek(jmap[0] * bs)
    f.write(jsb)

    # needs_recovery in the ext superblock (and its checksum)
    inc = struct.unpack_from('<I', esb, 0x60)[0]
    inc = inc & ~4 if a.no_recover else inc | 4
    struct.pack_into('<I', esb, 0x60, inc)
    if struct.unpack_from('<I', esb, 0x64)[0] & 0x400:      # metadata_csum
        struct.pack_into('<I', esb, 0x3FC, crc32c_raw(0xFFFFFFFF,
                                                      esb[:0x3FC]))
    f.seek(1024)
    f.write(esb)
    f.close()
    print('log %d..%d' % (start, pos))


if __name__ == '__main__':
    sys.exit(main())
