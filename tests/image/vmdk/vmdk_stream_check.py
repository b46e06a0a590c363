#!/usr/bin/env python3
"""Independent checker for stream-optimized VMDK files.

Written from VMware "Virtual Disk Format 5.0" (sections "Hosted Sparse
Extent Header", "The Descriptor File", "Stream-Optimized Compressed Sparse
Extents") and from what VMware's own writers and the readers that matter
(VMware, VirtualBox, qemu) require; it shares no code with vmie.  It walks
the file front to back as a streaming reader does (marker by marker),
inflates every grain, rebuilds the grain tables and the grain directory
from what it saw and compares them with the ones written, and checks the
footer and the end-of-stream marker.

usage: vmdk_stream_check.py [--ours] [--raw SRC] [--adapter A] [--hw N]
                            [--tools N|none] FILE.vmdk

  (always)   every structural rule of the spec, plus the reader limits
             noted below; exits 1 naming the first violation
  --ours     also the exact descriptor vmie promises (docs/format-vmdk.md):
             keys, their order, geometry, longContentID ending in the CID,
             no all-zero grain stored
  --raw SRC  the grains inflate to SRC's bytes and every grain that is not
             stored is all zeros in SRC (the image content is exact)

On success prints one line of facts: "ok grains=N tables=N populated=BYTES
capacity=SECTORS file=BYTES".
"""
import os
import re
import struct
import sys
import zlib

SECTOR = 512
GD_AT_END = 0xffffffffffffffff
MARKER_EOS, MARKER_GT, MARKER_GD, MARKER_FOOTER = 0, 1, 2, 3
# A compressed grain with its 12-byte marker must fit VirtualBox's buffer of
# align(grain + 8 + 16, 512) bytes (VMDK.cpp vmdkAllocStreamBuffers).
VBOX_RECORD_MAX = (65536 + 8 + 16 + SECTOR - 1) // SECTOR * SECTOR

SCSI_ADAPTERS = ('lsilogic', 'buslogic', 'pvscsi', 'legacyESX')


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


def header(b, where):
    """Decode a SparseExtentHeader (spec: 'Hosted Sparse Extent Header')."""
    need(len(b) >= SECTOR, f'{where}: short header')
    (magic, version, flags, capacity, grain, desc_off, desc_size, n_gtes,
     rgd, gd, overhead) = struct.unpack_from('<IIIQQQQIQQQ', b, 0)
    unclean = b[0x48]
    nl = b[0x49:0x4d]
    compress = struct.unpack_from('<H', b, 0x4d)[0]
    return dict(magic=magic, version=version, flags=flags, capacity=capacity,
                grain=grain, desc_off=desc_off, desc_size=desc_size,
                n_gtes=n_gtes, rgd=rgd, gd=gd, overhead=overhead,
                unclean=unclean, nl=nl, compress=compress,
                pad=bytes(b[0x4f:SECTOR]))


def check_header(h, where):
    need(h['magic'] == 0x564d444b, f'{where}: magic is not KDMV')
    # ESXi refuses stream-optimized extents older than version 3
    need(h['version'] == 3, f'{where}: version {h["version"]}, want 3')
    # bit 0 newline test, 16 compressed grains, 17 markers; no redundant
    # grain table (bit 1) and no zeroed-grain GTE (bit 2) in a stream
    need(h['flags'] == 0x30001, f'{where}: flags {h["flags"]:#x}, want 0x30001')
    need(h['grain'] == 128, f'{where}: grainSize {h["grain"]}, want 128')
    need(h['n_gtes'] == 512, f'{where}: numGTEsPerGT {h["n_gtes"]}')
    need(h['desc_off'] == 1, f'{where}: descriptorOffset {h["desc_off"]}')
    need(h['desc_size'] >= 1, f'{where}: descriptorSize 0')
    need(h['rgd'] == 0, f'{where}: rgdOffset {h["rgd"]} (must be 0)')
    need(h['unclean'] == 0, f'{where}: uncleanShutdown set')
    need(h['nl'] == b'\n \r\n', f'{where}: newline test bytes {h["nl"]!r}')
    need(h['compress'] == 1, f'{where}: compressAlgorithm {h["compress"]}')
    need(not any(h['pad']), f'{where}: header padding not zero')
    need(h['capacity'] > 0, f'{where}: capacity 0')
    need(h['overhead'] >= 1 + h['desc_size'],
         f'{where}: overHead {h["overhead"]} overlaps the descriptor')


def vmware_geometry(adapter, sectors):
    """ddb.geometry as VMware derives it: IDE 16 heads x 63 sectors;
    SCSI (VMware KB 1026266) 64x32 under 1 GiB, 128x32 under 2 GiB, else
    255x63.  Cylinders rounded down, at least 1, capped at the BIOS/ATA
    limits vmie writes (16383 IDE, 65535 SCSI)."""
    if adapter == 'ide':
        heads, secs, cap = 16, 63, 16383
    elif sectors < (1 << 30) // SECTOR:
        heads, secs, cap = 64, 32, 65535
    elif sectors < (2 << 30) // SECTOR:
        heads, secs, cap = 128, 32, 65535
    else:
        heads, secs, cap = 255, 63, 65535
    return max(1, min(cap, sectors // (heads * secs))), heads, secs


def check_descriptor(b, h, opts):
    area = b[SECTOR:SECTOR * (1 + h['desc_size'])]
    need(len(area) == SECTOR * h['desc_size'], 'descriptor past end of file')
    need(b'\0' in area, 'descriptor not NUL-terminated inside descriptorSize')
    text = area.split(b'\0', 1)[0]
    need(not any(area[len(text):]), 'garbage after the descriptor text')
    need(b'\r' not in text, 'descriptor has CR line endings')
    try:
        text = text.decode('ascii')
    except UnicodeDecodeError:
        raise Bad('descriptor is not ASCII')
    lines = text.split('\n')
    need(text.endswith('\n'), 'descriptor does not end with a newline')
    need(lines[0] == '# Disk DescriptorFile', 'first line is not '
         '"# Disk DescriptorFile"')
    body = [l.strip() for l in lines if l.strip() and not l.startswith('#')]
    # VMware recognises a descriptor by "version=1" as its first entry
    need(body and body[0] == 'version=1', 'first entry is not version=1')
    kv, ddb, extents = {}, [], []
    for l in body:
        m = re.fullmatch(r'(RW|RDONLY|NOACCESS) (\d+) (\w+)(?: "([^"]*)")?'
                         r'(?: (\d+))?', l)
        if m:
            extents.append(m.groups())
            continue
        m = re.fullmatch(r'(ddb\.[A-Za-z0-9.]+) = "([^"]*)"', l)
        if m:
            ddb.append((m.group(1), m.group(2)))
            continue
        m = re.fullmatch(r'([A-Za-z]+)=(.*)', l)
        need(m, f'descriptor line not understood: {l!r}')
        kv[m.group(1)] = m.group(2)
    need(kv.get('createType', '').strip('"') == 'streamOptimized',
         'createType is not streamOptimized')
    cid = kv.get('CID', '')
    need(re.fullmatch(r'[0-9a-f]{8}', cid), f'CID {cid!r} not 8 hex digits')
    need(cid not in ('ffffffff', 'fffffffe'), f'CID {cid} is reserved')
    need(kv.get('parentCID') == 'ffffffff', 'parentCID is not ffffffff')
    need('parentFileNameHint' not in kv, 'a stream disk has a parent hint')
    need(len(extents) == 1, f'{len(extents)} extent lines, want 1')
    access, size, etype, name, off = extents[0]
    need(etype == 'SPARSE', f'extent type {etype}, want SPARSE')
    need(int(size) == h['capacity'], f'extent size {size} != header '
         f'capacity {h["capacity"]}')
    need(name and '/' not in name, f'extent file name {name!r}')
    need(off is None, 'a SPARSE extent line has an offset')
    d = dict(ddb)
    need(len(d) == len(ddb), 'a ddb key appears twice')
    adapter = d.get('ddb.adapterType')
    need(adapter in ('ide',) + SCSI_ADAPTERS, f'ddb.adapterType {adapter!r}')
    for k in ('ddb.geometry.cylinders', 'ddb.geometry.heads',
              'ddb.geometry.sectors', 'ddb.virtualHWVersion'):
        need(re.fullmatch(r'[1-9]\d*', d.get(k, '')), f'{k} = {d.get(k)!r}')
    if 'ddb.longContentID' in d:
        need(re.fullmatch(r'[0-9a-f]{32}', d['ddb.longContentID']),
             'ddb.longContentID is not 32 hex digits')
    if 'ddb.toolsVersion' in d:
        need(re.fullmatch(r'\d+', d['ddb.toolsVersion']) and
             int(d['ddb.toolsVersion']) <= 2147483647, 'ddb.toolsVersion')
    if 'ddb.uuid' in d:
        need(re.fullmatch(r'([0-9a-fA-F]{2} ){7}[0-9a-fA-F]{2}-'
                          r'([0-9a-fA-F]{2} ){7}[0-9a-fA-F]{2}', d['ddb.uuid']),
             f'ddb.uuid {d["ddb.uuid"]!r} not in VMware\'s form')
    if not opts['ours']:
        return
    # vmie's exact descriptor (docs/format-vmdk.md, "What vmie writes")
    need(kv.get('encoding') == '"UTF-8"', 'encoding is not "UTF-8"')
    need(kv.get('createType') == '"streamOptimized"', 'createType unquoted')
    need(list(kv) == ['version', 'encoding', 'CID', 'parentCID',
                      'createType'], f'header keys {list(kv)}')
    need(access == 'RDONLY', f'extent access {access}, want RDONLY as '
         'VMware exports write')
    want_keys = ['ddb.adapterType', 'ddb.geometry.cylinders',
                 'ddb.geometry.heads', 'ddb.geometry.sectors',
                 'ddb.longContentID', 'ddb.toolsVersion', 'ddb.uuid',
                 'ddb.virtualHWVersion']
    if opts['tools'] == 'none':
        want_keys.remove('ddb.toolsVersion')
    need([k for k, _ in ddb] == want_keys, f'ddb keys {[k for k, _ in ddb]}')
    need(adapter == opts['adapter'], f'adapter {adapter} != {opts["adapter"]}')
    geo = vmware_geometry(adapter, h['capacity'])
    got = tuple(int(d['ddb.geometry.' + k])
                for k in ('cylinders', 'heads', 'sectors'))
    need(got == geo, f'geometry C/H/S {got}, VMware gives {geo}')
    need(d['ddb.longContentID'][24:] == cid,
         'ddb.longContentID does not end with the CID')
    need(d['ddb.virtualHWVersion'] == opts['hw'], 'ddb.virtualHWVersion '
         f'{d["ddb.virtualHWVersion"]} != {opts["hw"]}')
    if opts['tools'] != 'none':
        need(d['ddb.toolsVersion'] == opts['tools'], 'ddb.toolsVersion '
             f'{d["ddb.toolsVersion"]} != {opts["tools"]}')
    need(d['ddb.uuid'].startswith('60 00 C2 '), 'ddb.uuid lacks VMware\'s '
         '60 00 C2 prefix')


def data_grains(f, gbytes):
    """Grain indexes of f that are not holes (SEEK_DATA / SEEK_HOLE, so a
    multi-TiB sparse source is not read in full)."""
    fd, end, off = f.fileno(), os.fstat(f.fileno()).st_size, 0
    while off < end:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            return
        stop = os.lseek(fd, start, os.SEEK_HOLE)
        yield from range(start // gbytes, -(-stop // gbytes))
        off = stop


def marker(b, pos):
    need(pos + SECTOR <= len(b), f'marker at {pos:#x} runs past the end')
    return struct.unpack_from('<QII', b, pos)


def check(path, opts):
    b = open(path, 'rb').read()
    need(len(b) % SECTOR == 0, f'file size {len(b)} not a multiple of 512')
    h = header(b, 'header')
    check_header(h, 'header')
    need(h['gd'] == GD_AT_END, f'header gdOffset {h["gd"]:#x}, want '
         'GD_AT_END (the real one is in the footer)')
    check_descriptor(b, h, opts)
    need(not any(b[SECTOR * (1 + h['desc_size']):SECTOR * h['overhead']]),
         'bytes between the descriptor and overHead are not zero')

    cap = h['capacity']
    gbytes = h['grain'] * SECTOR
    n_grains = -(-cap // h['grain'])
    n_gts = -(-n_grains // 512)
    gd_sectors = -(-n_gts * 4 // SECTOR)
    raw = open(opts['raw'], 'rb') if opts['raw'] else None

    grains = {}          # grain index -> sector of its marker
    pending = {}         # grains of the table being filled
    gts = {}             # table index -> sector of the table
    last_lba = -1
    pos = h['overhead'] * SECTOR
    gd_sector = footer = None
    while True:
        val, size, mtype = marker(b, pos)
        if size:
            # grain marker: LBA, size, then the deflate data (zlib framing)
            need(gd_sector is None, f'grain at {pos:#x} after the directory')
            need(val % h['grain'] == 0, f'grain LBA {val} at {pos:#x} is '
                 'not grain-aligned')
            need(val < cap, f'grain LBA {val} at {pos:#x} past capacity')
            need(val > last_lba, f'grain LBA {val} at {pos:#x} not after '
                 f'{last_lba} (sequential readers need ascending LBAs)')
            last_lba = val
            rec = 12 + size
            padded = -(-rec // SECTOR) * SECTOR
            need(padded <= VBOX_RECORD_MAX, f'grain at {pos:#x}: {rec} '
                 'bytes, more than a sequential reader buffers')
            need(pos + padded <= len(b), f'grain at {pos:#x} past the end')
            need(not any(b[pos + rec:pos + padded]),
                 f'grain at {pos:#x}: padding not zero')
            comp = b[pos + 12:pos + rec]
            need(comp[0] & 0x0f == 8 and (comp[0] << 8 | comp[1]) % 31 == 0,
                 f'grain at {pos:#x}: not a zlib stream')
            z = zlib.decompressobj()
            try:
                data = z.decompress(comp, gbytes + 1)
            except zlib.error as e:
                raise Bad(f'grain at {pos:#x}: inflate: {e}')
            need(z.eof and not z.unconsumed_tail and not z.unused_data,
                 f'grain at {pos:#x}: zlib stream does not end at size')
            # VirtualBox refuses a grain that does not inflate to a whole
            # grain, even the last one of a disk
            need(len(data) == gbytes, f'grain at {pos:#x} inflates to '
                 f'{len(data)} bytes, want {gbytes}')
            gi = val // h['grain']
            if opts['ours']:
                need(any(data), f'grain at {pos:#x} is all zeros (vmie '
                     'never stores one)')
            tail = cap * SECTOR - val * SECTOR
            if tail < gbytes:
                need(not any(data[tail:]), f'last grain at {pos:#x}: '
                     'bytes past the capacity are not zero')
            if pending:
                need(next(iter(pending)) // 512 == gi // 512,
                     f'grain {gi} at {pos:#x}: the table of grain '
                     f'{next(iter(pending))} was not written before it')
            pending[gi] = pos // SECTOR
            grains[gi] = pos // SECTOR
            if raw:
                raw.seek(val * SECTOR)
                src = raw.read(gbytes)
                src += bytes(gbytes - len(src))
                need(src == data, f'grain LBA {val} differs from the source')
            pos += padded
            continue
        need(not any(b[pos + 16:pos + SECTOR]),
             f'marker at {pos:#x}: padding not zero')
        if mtype == MARKER_EOS:
            need(val == 0, f'end-of-stream at {pos:#x}: val {val}')
            need(footer is not None, 'end-of-stream before the footer')
            need(pos + SECTOR == len(b), f'end-of-stream at {pos:#x} is not '
                 f'the last sector (file is {len(b)} bytes): a streaming '
                 'reader (ovftool) stops there and hashes less than the file')
            break
        need(footer is None, f'marker type {mtype} at {pos:#x} after footer')
        if mtype == MARKER_GT:
            need(gd_sector is None, f'grain table at {pos:#x} after the GD')
            need(val == 4, f'grain table marker at {pos:#x}: {val} sectors')
            need(pending, f'empty grain table at {pos:#x} (VMware writes '
                 'none for tables without grains)')
            t = next(iter(pending)) // 512
            need(t not in gts, f'grain table {t} written twice')
            gt = struct.unpack_from('<512I', b, pos + SECTOR)
            for i, e in enumerate(gt):
                want = pending.get(t * 512 + i, 0)
                need(e == want, f'grain table {t} entry {i} is {e}, the '
                     f'grain is at sector {want}')
            gts[t] = pos // SECTOR + 1
            pending = {}
        elif mtype == MARKER_GD:
            need(gd_sector is None, f'second grain directory at {pos:#x}')
            need(not pending, f'grains {sorted(pending)[:3]}... have no '
                 'grain table before the directory')
            need(val == gd_sectors, f'GD marker: {val} sectors, want '
                 f'{gd_sectors}')
            gd = struct.unpack_from(f'<{n_gts}I', b, pos + SECTOR)
            for i, e in enumerate(gd):
                need(e == gts.get(i, 0), f'GD entry {i} is {e}, want '
                     f'{gts.get(i, 0)}')
            need(not any(b[pos + SECTOR + 4 * n_gts:
                           pos + SECTOR * (1 + gd_sectors)]),
                 'GD padding not zero')
            gd_sector = pos // SECTOR + 1
        elif mtype == MARKER_FOOTER:
            need(gd_sector is not None, 'footer before the grain directory')
            need(val == 1, f'footer marker: {val} sectors')
            f = header(b[pos + SECTOR:pos + 2 * SECTOR], 'footer')
            check_header(f, 'footer')
            need(f['gd'] == gd_sector, f'footer gdOffset {f["gd"]}, the GD '
                 f'is at sector {gd_sector}')
            fb = bytearray(b[pos + SECTOR:pos + 2 * SECTOR])
            fb[0x38:0x40] = struct.pack('<Q', GD_AT_END)
            need(bytes(fb) == b[:SECTOR], 'footer is not the header with '
                 'the real gdOffset')
            footer = pos
        else:
            raise Bad(f'unknown marker type {mtype} at {pos:#x}')
        pos += SECTOR * (1 + val)
    if raw:
        for gi in data_grains(raw, gbytes):
            if gi in grains:
                continue
            raw.seek(gi * gbytes)
            need(not any(raw.read(gbytes)), f'grain {gi} holds data in the '
                 'source but is not stored')
    print(f'ok grains={len(grains)} tables={len(gts)} '
          f'populated={len(grains) * gbytes} capacity={cap} file={len(b)}')


def main(argv):
    opts = dict(ours=False, raw=None, adapter='lsilogic', hw='4',
                tools='2147483647')
    args = list(argv)
    path = None
    while args:
        a = args.pop(0)
        if a == '--ours':
            opts['ours'] = True
        elif a in ('--raw', '--adapter', '--hw', '--tools'):
            opts[a[2:]] = args.pop(0)
        else:
            path = a
    if not path:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check(path, opts)
    except Bad as e:
        print(f'{path}: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
