#!/usr/bin/env python3
"""Build Windows dynamic disks (LDM) from a description, for the lib/part
LDM tests.  Written from the public description of the format (Linux
Documentation/admin-guide/ldm.rst and block/partitions/ldm.h, libldm's
reading of volume/component/partition records, and the layout Windows
Server 2003 R2 / 2008 R2 databases have), never from their code; the
layout constants are those of lib/part/ldm_disk.h.

usage: mkldm.py FIXTURE OUTDIR      -> writes OUTDIR/<disk files> and
                                       OUTDIR/manifest.json
       mkldm.py list                -> the fixture names
       mkldm.py corpus DIR          -> tiny whole disks (32 KiB) for the
                                       fuzz corpus of lib/part

A fixture is a disk group: disks (MBR with one 0x42 partition, or GPT with
"LDM metadata" + "LDM data" partitions, after the partitions of the disk's
optional 'prefix' list: a boot disk's ESP and MSR), volumes (simple, spanned, striped,
mirrored, raid5) with their extents, and optional damage (hostile
fixtures).  Volume contents are a pattern that names the volume and the
sector ("<name> sector <n>"), or a file (an NTFS image); the manifest
gives each volume's expected size, type, hint, extents and SHA-256.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import uuid

SS = 512
MiB = 1 << 20
DB_SECTORS = 2048           # the database: 1 MiB at the end of the disk
CFG_START, CFG_SECTORS = 17, 1481   # VMDB + VBLKs inside the database
LOG_START, LOG_SECTORS = 1498, 224
VBLK = 128
PAY = VBLK - 16
TYPE_GUID_META = '5808c8aa-7e8f-42e0-85d2-e1e90434cfb3'
TYPE_GUID_DATA = 'af9b60a0-1431-4f62-bc68-3311714a69ad'


# ---- field encoders ----

def vnum(v):
    n = max(1, (v.bit_length() + 7) // 8)
    return bytes([n]) + v.to_bytes(n, 'big')


def vstr(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([len(b)]) + b


def record(kind, rev, body, flags=0):
    return struct.pack('>HBBI', 0, flags, rev << 4 | kind, len(body)) + body


def rec_group(oid, name, gguid):
    return record(5, 3, vnum(oid) + vstr(name) + vstr(gguid) + bytes(12))


def rec_disk(oid, name, dguid, rev=3, alt=''):
    if rev == 4:
        return record(4, 4, vnum(oid) + vstr(name) + uuid.UUID(dguid).bytes
                      + bytes(29))
    return record(4, 3, vnum(oid) + vstr(name) + vstr(dguid) + vstr(alt)
                  + bytes(12))


def rec_comp(oid, name, ctype, nparts, parent, chunk=None, cols=None):
    body = (vnum(oid) + vstr(name) + vstr('ACTIVE') + bytes([ctype])
            + bytes(4) + vnum(nparts) + struct.pack('>Q', oid) + bytes(8)
            + vnum(parent) + bytes(1))
    flags = 0
    if chunk is not None:
        body += vnum(chunk) + vnum(cols)
        flags = 0x10
    return record(2, 3, body, flags)


def rec_part(oid, name, start, voff, size, parent, disk, index=None):
    body = (vnum(oid) + vstr(name) + bytes(4) + struct.pack('>Q', oid)
            + struct.pack('>QQ', start, voff) + vnum(size) + vnum(parent)
            + vnum(disk))
    flags = 0x40
    if index is not None:
        body += vnum(index)
        flags |= 0x08
    return record(3, 3, body, flags)


def rec_vol(oid, name, raid5, ncomps, size, ptype, vguid, number, hint=None):
    body = (vnum(oid) + vstr(name) + vstr('raid5' if raid5 else 'gen')
            + vstr('') + b'ACTIVE'.ljust(14, b'\0')
            + bytes([4 if raid5 else 3, 1, number, 0, 0, 0, 0x11])
            + vnum(ncomps) + struct.pack('>Q', oid) + bytes(8) + vnum(size)
            + bytes(4) + bytes([ptype]) + uuid.UUID(vguid).bytes)
    flags = 0
    if hint:
        body += vstr(hint)
        flags = 0x02
    return record(1, 5, body, flags)


# ---- the database ----

def privhead(d, g, disk):
    p = bytearray(SS)
    p[0:8] = b'PRIVHEAD'
    struct.pack_into('>IHHQQQQ', p, 8, 0x2ea1, 2, g.get('minor', 12),
                     0x01cd901d03d679b2, 1, DB_SECTORS - 1, 1856)
    for off, s in ((0x30, disk['guid']), (0x70, g['host_guid']),
                   (0xb0, g['guid'])):
        p[off:off + len(s)] = s.encode()
    if g.get('minor', 12) >= 12:
        p[0xf0:0xf0 + len(g['name'])] = g['name'].encode()
    dbs = d.get('db_sectors', DB_SECTORS)
    struct.pack_into('>QQQQQQIIQQI', p, 0x11b, d['data_start'],
                     d['data_size'], d['cfg_start'], dbs, 2, dbs - 3, 1, 1,
                     d.get('cfg_sectors', CFG_SECTORS), LOG_SECTORS,
                     disk.get('sig', 0x12345678))
    return bytes(p)


def tocblock(cfg_sectors=CFG_SECTORS, log=(LOG_START, LOG_SECTORS)):
    t = bytearray(SS)
    t[0:8] = b'TOCBLOCK'
    struct.pack_into('>II', t, 8, 0x8b6, 1)
    for off, name, st, sz in ((0x24, b'config', CFG_START, cfg_sectors),
                              (0x46, b'log', log[0], log[1])):
        t[off:off + len(name)] = name
        struct.pack_into('>HQQQ', t, off + 8, 0, st, sz, 0x0006000100000000)
    return bytes(t)


def vmdb(g, counts, n_slots):
    v = bytearray(SS)
    v[0:4] = b'VMDB'
    struct.pack_into('>IIIHHH', v, 4, n_slots, VBLK, 512, 1, 4, 10)
    v[0x16:0x16 + len(g['name'])] = g['name'].encode()
    v[0x35:0x35 + 36] = g['guid'].encode()
    struct.pack_into('>QQ', v, 0x75, g['seq'], g['seq'])
    struct.pack_into('>IIII', v, 0x85, *counts)
    struct.pack_into('>IIII', v, 0xa1, *counts)
    return v


def slots(records, n_slots, damage):
    """Place records (list of bytes) into VBLK slots: one per slot, or
    split into fragments (the second fragment of every split record goes
    to the end of the used slots, as Windows may leave it)."""
    out = {}
    k = 4
    later = []
    for gid, rec in enumerate(records, start=1):
        frags = [rec[i:i + PAY] for i in range(0, len(rec), PAY)]
        for i, fr in enumerate(frags):
            item = (gid, i, len(frags), fr)
            if i == 0:
                out[k] = item
                k += 1
            else:
                later.append(item)
    for item in later:
        out[k] = item
        k += 1
    if damage.get('frag_loop'):
        # the second fragment of the first split record, again
        item = next(i for i in later)
        out[k] = item
        k += 1
    if damage.get('frag_total'):
        gid, i, n, fr = out[4]
        out[4] = (gid, i, 60000, fr)
    data = bytearray(n_slots * VBLK)
    for s in range(4, n_slots):
        o = s * VBLK
        data[o:o + 4] = b'VBLK'
        struct.pack_into('>I', data, o + 4, s)
        if s in out:
            gid, i, n, fr = out[s]
            struct.pack_into('>IHH', data, o + 8, gid, i, n)
            data[o + 16:o + 16 + len(fr)] = fr
    return data


# ---- volume contents and their mapping ----

def pattern(name, size):
    out = bytearray()
    for s in range(size // SS):
        out += ('%s sector %d\n' % (name, s)).encode().ljust(SS, b'.')
    return bytes(out)


def layout(spec):
    """Normalize the description: every disk gets its geometry, every
    volume its partitions (disk, start in the data area, size, volume
    offset, column, plex), all in sectors."""
    g = spec['group']
    for i, d in enumerate(spec['disks']):
        n = d['size_mb'] * MiB // SS
        d.setdefault('name', 'Disk%d' % (i + 1))
        d.setdefault('guid', str(uuid.UUID(int=0x1000 + i, version=4)))
        if d.get('label', 'mbr') == 'gpt':
            # partitions before the LDM ones (a boot disk's ESP and MSR:
            # d['prefix'], list of dict(size_mb, type, name, fs))
            pre = sum(q['size_mb'] for q in d.get('prefix', ())) * MiB // SS
            d['cfg_start'] = 2048 + pre
            d['data_start'] = 4096 + pre
            d['data_size'] = n - 34 - d['data_start']
        else:
            d['cfg_start'] = n - DB_SECTORS
            d['data_start'] = 63
            d['data_size'] = n - DB_SECTORS - 63
    for v in spec['volumes']:
        v.setdefault('guid', str(uuid.UUID(int=0x2000 + len(v['name']) +
                                          sum(map(ord, v['name'])),
                                          version=4)))
        size = v['size_mb'] * MiB // SS
        v['sectors'] = size
        t = v['type']
        ext = []
        for k, e in enumerate(v['extents']):
            ext.append(dict(disk=e['disk'], start=e['start_mb'] * MiB // SS,
                            size=e.get('size_mb', 0) * MiB // SS,
                            plex=e.get('plex', 0), column=0, voff=0))
        if t in ('simple', 'spanned', 'mirrored'):
            for p in set(e['plex'] for e in ext):
                off = 0
                for e in [e for e in ext if e['plex'] == p]:
                    e['voff'] = off
                    off += e['size']
        else:       # striped / raid5: equal columns
            cols = len(ext)
            data_cols = cols - 1 if t == 'raid5' else cols
            for c, e in enumerate(ext):
                e['column'] = c
                e['size'] = size // data_cols
        v['parts'] = ext
    return g


def volume_map(v, chunk):
    """(volume offset, length, part index, offset in part) in sectors."""
    t = v['type']
    ext = v['parts']
    out = []
    if t in ('simple', 'spanned', 'mirrored'):
        for i, e in enumerate(ext):
            if e['plex'] == 0 or t == 'mirrored':
                out.append((e['voff'], e['size'], i, 0))
    elif t == 'striped':
        n = len(ext)
        for c in range(v['sectors'] // chunk):
            out.append((c * chunk, chunk, c % n, (c // n) * chunk))
    return out


def build(spec, outdir):
    g = layout(spec)
    damage = spec.get('damage', {})
    disks = spec['disks']
    recs = [rec_group(1, g['name'], g['guid'])]
    ids = {'next': 2}

    def nid():
        ids['next'] += 1
        return ids['next'] - 1
    disk_id = []
    for d in disks:
        disk_id.append(nid())
        recs.append(rec_disk(disk_id[-1], d['name'], d['guid'],
                             rev=d.get('rev', 3), alt=d.get('alt', '')))
    counts = [0, 0, 0, len(disks)]
    seen = {}
    for vn, v in enumerate(spec['volumes'], start=1):
        vid = nid()
        t = v['type']
        plexes = sorted(set(e['plex'] for e in v['parts']))
        v['ids'] = vid
        vsec = 0 if vn == 1 and damage.get('zero_size') else v['sectors']
        recs.append(rec_vol(vid, v['name'], t == 'raid5', len(plexes),
                            vsec, v.get('part_type', 7), v['guid'],
                            vn, v.get('hint')))
        counts[0] += 1
        chunk = v.get('stripe_kb', 64) * 1024 // SS
        for p in plexes:
            cid = nid()
            mine = [e for e in v['parts'] if e['plex'] == p]
            ctype = {'striped': 1, 'raid5': 3}.get(t, 2)
            recs.append(rec_comp(cid, '%s-%02d' % (v['name'], p + 1), ctype,
                                 len(mine), vid,
                                 chunk if ctype != 2 else None,
                                 len(mine) if ctype != 2 else None))
            counts[1] += 1
            for e in mine:
                pid = nid()
                d = disks[e['disk']]
                seen[e['disk']] = seen.get(e['disk'], 0) + 1
                e['name'] = '%s-%02d' % (d['name'], seen[e['disk']])
                e['pid'] = pid
                start = e['start']
                if vn == 1 and e is v['parts'][0]:
                    start += damage.get('part_past_end', 0)
                recs.append(rec_part(pid, e['name'], start, e['voff'],
                                     e['size'], cid, disk_id[e['disk']],
                                     e['column'] if e['column'] else None))
                counts[2] += 1
    if damage.get('huge_count'):
        counts[0] = 0xfffffff0
    if damage.get('dangling'):
        recs.append(rec_part(nid(), 'Lost-01', 0, 0, 8, 999, disk_id[0]))
        counts[2] += 1
    if damage.get('dup_id'):
        recs.append(rec_disk(2, 'Twin', str(uuid.uuid4())))
        counts[3] += 1
    if damage.get('long_vnum'):
        recs[1] = recs[1][:8] + b'\x09' + recs[1][9:]
    n_slots = CFG_SECTORS * SS // VBLK
    if damage.get('huge_slots'):
        n_slots_hdr = 0x7fffffff
    else:
        n_slots_hdr = n_slots
    area = bytearray(vmdb(g, counts, n_slots_hdr)) + \
        slots(recs, n_slots, damage)[SS:]
    # the volume contents, per disk: a list of (byte offset, bytes)
    writes = [[] for _ in disks]
    manifest = dict(group=g, disks=[], volumes=[])
    for v in spec['volumes']:
        size = v['sectors'] * SS
        if v.get('content'):
            with open(v['content'], 'rb') as f:
                data = f.read().ljust(size, b'\0')[:size]
        else:
            data = pattern(v['name'], size)
        chunk = v.get('stripe_kb', 64) * 1024 // SS
        for voff, n, pi, poff in volume_map(v, chunk):
            e = v['parts'][pi]
            d = disks[e['disk']]
            at = (d['data_start'] + e['start'] + poff) * SS
            writes[e['disk']].append((at, data[voff * SS:(voff + n) * SS]))
        manifest['volumes'].append(dict(
            name=v['name'], type=v['type'], size=size,
            sectors=v['sectors'], hint=v.get('hint', ''),
            guid=v['guid'], stripe_size=chunk * SS
            if v['type'] in ('striped', 'raid5') else 0,
            sha256=hashlib.sha256(data).hexdigest(),
            parts=[dict(name=e['name'], disk=e['disk'],
                        disk_name=disks[e['disk']]['name'],
                        start=e['start'], size=e['size'],
                        abs_start=(disks[e['disk']]['data_start'] +
                                   e['start']) * SS)
                   for e in v['parts']]))
    os.makedirs(outdir, exist_ok=True)
    for i, d in enumerate(disks):
        path = os.path.join(outdir, d.get('file', 'disk%d.img' % i))
        write_disk(path, g, d, area, writes[i], damage, i)
        manifest['disks'].append(dict(path=path, name=d['name'],
                                      guid=d['guid'],
                                      data_start=d['data_start'],
                                      cfg_start=d['cfg_start']))
    with open(os.path.join(outdir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    return manifest


def write_disk(path, g, d, area, writes, damage, index):
    n = d['size_mb'] * MiB // SS
    with open(path, 'wb') as f:
        f.truncate(n * SS)
    if d.get('label') == 'gpt':
        args, at, k = [], 2048, 0
        for k, q in enumerate(d.get('prefix', ()), start=1):
            end = at + q['size_mb'] * MiB // SS - 1
            args += ['-n', '%d:%d:%d' % (k, at, end), '-t',
                     '%d:%s' % (k, q['type']), '-c', '%d:%s' % (k, q['name'])]
            if q.get('fs'):
                with open(q['fs'], 'rb') as fs:
                    writes = writes + [(at * SS, fs.read())]
            at = end + 1
        m, dd = k + 1, k + 2
        subprocess.run(['sgdisk', '-o', '-U', d.get('disk_uuid', str(
            uuid.UUID(int=0x3000 + index, version=4))),
            *args,
            '-n', '%d:%d:%d' % (m, at, at + 2047),
            '-t', '%d:%s' % (m, TYPE_GUID_META),
            '-c', '%d:LDM metadata partition' % m,
            '-n', '%d:%d:%d' % (dd, at + 2048, n - 35),
            '-t', '%d:%s' % (dd, TYPE_GUID_DATA),
            '-c', '%d:LDM data partition' % dd, path], check=True,
            stdout=subprocess.DEVNULL)
        ph_at = [d['cfg_start'] + DB_SECTORS - 1, d['cfg_start'] + 1856]
    else:
        ph_at = [6, d['cfg_start'] + 1856, d['cfg_start'] + DB_SECTORS - 1]
    ph = privhead(d, g, d)
    with open(path, 'r+b') as f:
        if d.get('label') != 'gpt':
            mbr = bytearray(SS)
            if d.get('boot_code'):
                mbr[0:7] = b'\x33\xc0\x8e\xd0\xbc\x00\x7c'
                s = (b'Invalid partition table\0Error loading operating '
                     b'system\0Missing operating system\0')
                mbr[0x163:0x163 + len(s)] = s
            struct.pack_into('<I', mbr, 440, d.get('sig', 0x12345678))
            struct.pack_into('<B3sB3sII', mbr, 0x1be,
                             0x80 if d.get('active') else 0, b'\0' * 3,
                             0x42, b'\0' * 3, d['data_start'], d['data_size'])
            mbr[510:512] = b'\x55\xaa'
            f.seek(0)
            f.write(mbr)
        for at in ph_at:
            f.seek(at * SS)
            f.write(ph)
        tocs = (1, 2, DB_SECTORS - 3, DB_SECTORS - 2) \
            if g.get('minor', 12) == 11 else (2, DB_SECTORS - 3)
        for t in tocs:
            f.seek((d['cfg_start'] + t) * SS)
            f.write(tocblock())
        f.seek((d['cfg_start'] + CFG_START) * SS)
        f.write(area)
        for at, data in writes:     # all-zero chunks stay holes
            for k in range(0, len(data), 65536):
                piece = data[k:k + 65536]
                if piece.count(0) != len(piece):
                    f.seek(at + k)
                    f.write(piece)


# ---- tiny disks for the fuzz corpus of lib/part ----

def compact(damage, name='Volume1'):
    """A whole dynamic disk in 32 KiB: MBR, PRIVHEAD, 16 data sectors
    and a 40-sector database (20 sectors of VBLKs: 80 slots) holding a
    simple and a spanned volume; damage as in build()."""
    n, cfg, dbs, cfgs = 64, 24, 40, 20
    g = dict(GROUP)
    d = dict(guid=str(uuid.UUID(int=0x1000, version=4)), data_start=8,
             data_size=16, cfg_start=cfg, db_sectors=dbs, cfg_sectors=cfgs)
    recs = [rec_group(1, g['name'], g['guid']), rec_disk(2, 'Disk1',
                                                         d['guid']),
            rec_vol(3, name, False, 1, 4, 7, str(uuid.UUID(int=5)), 1, 'E:'),
            rec_comp(4, 'Volume1-01', 2, 1, 3),
            rec_part(5, 'Disk1-01', damage.get('part_past_end', 0), 0, 4, 4,
                     2),
            rec_vol(6, 'Volume2', False, 1, 8, 7, str(uuid.UUID(int=6)), 2),
            rec_comp(7, 'Volume2-01', 2, 2, 6),
            rec_part(8, 'Disk1-02', 4, 0, 4, 7, 2),
            rec_part(9, 'Disk1-03', 10, 4, 4, 7, 2)]
    counts = [2, 2, 3, 1]
    if damage.get('huge_count'):
        counts[2] = 0xffffffff
    slots_n = cfgs * SS // VBLK
    area = vmdb(g, counts, slots_n) + slots(recs, slots_n, damage)[SS:]
    disk = bytearray(n * SS)
    struct.pack_into('<B3sB3sII', disk, 0x1be, 0, b'\0' * 3, 0x42,
                     b'\0' * 3, 8, 16)
    disk[510:512] = b'\x55\xaa'
    ph = privhead(d, g, d)
    for at in (6, cfg + dbs - 1):
        disk[at * SS:(at + 1) * SS] = ph
    for t in (1, 2, dbs - 3, dbs - 2):
        disk[(cfg + t) * SS:(cfg + t + 1) * SS] = tocblock(cfgs, (37, 1))
    disk[(cfg + CFG_START) * SS:(cfg + CFG_START) * SS + len(area)] = area
    for s in range(8, 24):
        disk[s * SS:s * SS + 16] = b'data sector %3d\n' % s
    return bytes(disk)


def corpus(outdir):
    for name, damage, vname in (
            ('ldm-mbr-two-volumes', {}, 'Volume1'),
            ('ldm-fragmented-record', {}, 'V' * 100),
            ('ldm-frag-loop', dict(frag_loop=True), 'V' * 100),
            ('ldm-frag-total', dict(frag_total=True), 'Volume1'),
            ('ldm-huge-count', dict(huge_count=True), 'Volume1'),
            ('ldm-part-past-end', dict(part_past_end=1 << 40), 'Volume1')):
        with open(os.path.join(outdir, name), 'wb') as f:
            f.write(compact(damage, vname))


# ---- the fixtures ----

GROUP = dict(name='TEST-PC-Dg0', guid='3c8f4e57-1d2a-4b0c-9e61-7a5d2f80c4b1',
             host_guid='1b77da20-c717-11d0-a5be-00a0c91db73c', seq=7)


def fixture(name, content=None):
    g = dict(GROUP)
    if name == 'simple':
        return dict(group=g, disks=[dict(size_mb=32)], volumes=[
            dict(name='Volume1', type='simple', size_mb=8, hint='E:',
                 extents=[dict(disk=0, start_mb=1, size_mb=8)]),
            dict(name='Volume2', type='simple', size_mb=4,
                 extents=[dict(disk=0, start_mb=12, size_mb=4)])])
    if name == 'multi':     # two disks: spanned, striped, mirrored, raid5
        g['minor'] = 11     # Windows 2003 style: 4 TOCBLOCKs
        return dict(group=g, disks=[
            dict(size_mb=40, rev=3, alt='SCSI\\DISK&VEN_RED_HAT&PROD_'
                 'VIRTIO&REV_0001\\4&1618751F&0&0'), dict(size_mb=40,
                                                        rev=4),
            dict(size_mb=40, label='gpt')], volumes=[
            dict(name='Spanned', type='spanned', size_mb=10, hint='F:',
                 extents=[dict(disk=1, start_mb=0, size_mb=4),
                          dict(disk=0, start_mb=0, size_mb=6)]),
            dict(name='Stripe1', type='striped', size_mb=12, hint='G:',
                 stripe_kb=64, extents=[dict(disk=0, start_mb=8),
                                        dict(disk=1, start_mb=8),
                                        dict(disk=2, start_mb=0)]),
            dict(name='Mirror', type='mirrored', size_mb=5, hint='H:',
                 extents=[dict(disk=0, start_mb=14, size_mb=5),
                          dict(disk=2, start_mb=6, size_mb=5, plex=1)]),
            dict(name='Raid1', type='raid5', size_mb=8, hint='I:',
                 stripe_kb=64, extents=[dict(disk=0, start_mb=20),
                                        dict(disk=1, start_mb=20),
                                        dict(disk=2, start_mb=20)]),
            dict(name='A-volume-whose-long-name-needs-two-VBLK-fragments',
                 type='simple', size_mb=2,
                 extents=[dict(disk=2, start_mb=14, size_mb=2)])])
    if name == 'windows':   # a boot volume C: and a data volume D:
        return dict(group=g, disks=[
            dict(size_mb=100, boot_code=True, active=True),
            dict(size_mb=40)], volumes=[
            dict(name='Volume1', type='simple', size_mb=64, hint='C:',
                 content=content,
                 extents=[dict(disk=0, start_mb=1, size_mb=64)]),
            dict(name='Volume2', type='spanned', size_mb=24, hint='D:',
                 extents=[dict(disk=0, start_mb=70, size_mb=16),
                          dict(disk=1, start_mb=0, size_mb=8)])])
    # hostile: each one broken database (or layout) on one disk
    base = fixture('simple')
    base['damage'] = {
        'hostile-frag-loop': dict(frag_loop=True),
        'hostile-past-end': dict(part_past_end=(1 << 40) // SS),
        'hostile-huge-count': dict(huge_count=True),
        'hostile-huge-slots': dict(huge_slots=True),
        'hostile-frag-total': dict(frag_total=True),
        'hostile-dangling': dict(dangling=True),
        'hostile-dup-id': dict(dup_id=True),
        'hostile-long-vnum': dict(long_vnum=True),
        'hostile-zero-size': dict(zero_size=True),
    }[name]
    if name == 'hostile-frag-loop':    # needs a fragmented record
        base['volumes'][0]['name'] = 'V' * 120
    return base


NAMES = ['simple', 'multi', 'windows', 'hostile-frag-loop',
         'hostile-past-end', 'hostile-huge-count', 'hostile-huge-slots',
         'hostile-frag-total', 'hostile-dangling', 'hostile-dup-id',
         'hostile-long-vnum', 'hostile-zero-size']


def main():
    if sys.argv[1] == 'list':
        print('\n'.join(NAMES))
        return
    if sys.argv[1] == 'corpus':     # -> tests/fuzz/part/corpus/ldm-*
        corpus(sys.argv[2])
        return
    content = sys.argv[3] if len(sys.argv) > 3 else None
    build(fixture(sys.argv[1], content), sys.argv[2])


if __name__ == '__main__':
    main()
