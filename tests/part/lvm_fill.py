#!/usr/bin/env python3
"""Test helper: write the contents of LVs into the files behind their PVs,
using only what the lvm2 tools report (lvs --segments, pvs), so that tests
can check that lib/part maps LV offsets to PV offsets the same way.

usage: lvm_fill.py SEGS PVS MAP LV=FILE...
  SEGS  output of: lvs --segments --units b --nosuffix --noheadings
        --separator ';' -o vg_name,lv_name,seg_start,seg_size,stripes,
        stripe_size,seg_pe_ranges,vg_extent_size
  PVS   output of: pvs --units b --nosuffix --noheadings --separator ';'
        -o pv_name,pe_start
  MAP   lines "DEVICE FILE OFFSET": where each PV device lives
  LV    vg/lv, FILE its contents (at most the LV size)
Striping follows dm-stripe: chunk k of a segment goes to stripe k % N,
row k // N.
"""
import sys


def main():
    segs_f, pvs_f, map_f = sys.argv[1:4]
    want = dict(a.split('=', 1) for a in sys.argv[4:])
    pe_start = {}
    for line in open(pvs_f):
        name, start = line.strip().split(';')
        pe_start[name] = int(start)
    where = {}
    for line in open(map_f):
        dev, path, off = line.split()
        where[dev] = (path, int(off))
    files = {}
    for line in open(segs_f):
        vg, lv, sstart, ssize, nst, stsize, ranges, ext = \
            line.strip().split(';')
        key = vg + '/' + lv
        if key not in want:
            continue
        data = open(want[key], 'rb').read()
        sstart, ssize, nst, ext = int(sstart), int(ssize), int(nst), int(ext)
        stsize = int(stsize) if int(nst) > 1 else ssize
        stripes = []
        for r in ranges.split():
            dev, pes = r.rsplit(':', 1)
            first = int(pes.split('-')[0])
            path, base = where[dev]
            stripes.append((path, base + pe_start[dev] + first * ext))
        assert len(stripes) == nst
        pos = 0
        while pos < ssize and sstart + pos < len(data):
            k, within = divmod(pos, stsize)
            path, base = stripes[k % nst]
            off = base + (k // nst) * stsize + within
            n = min(stsize - within, ssize - pos, len(data) - sstart - pos)
            if path not in files:
                files[path] = open(path, 'r+b')
            f = files[path]
            f.seek(off)
            f.write(data[sstart + pos:sstart + pos + n])
            pos += n
    for f in files.values():
        f.close()


main()
