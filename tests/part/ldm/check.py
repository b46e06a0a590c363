#!/usr/bin/env python3
"""Compare what `ldm-tool scan` (lib/part) says about generated dynamic
disks with what mkldm.py's manifest says, and with what ldmtool (libldm,
an independent reader) says.

usage: check.py manifest MANIFEST SCAN_OUTPUT
       check.py ldmtool MANIFEST SCAN_OUTPUT DISK...
Prints each difference; exit 1 if any.
"""
import json
import subprocess
import sys


def parse_scan(path):
    vols, exts, groups = {}, {}, []
    for line in open(path):
        kind, _, rest = line.rstrip('\n').partition(' ')
        if kind not in ('volume', 'extent', 'group'):
            continue
        head, _, kv = rest.partition(' ')
        if kind == 'extent':
            vol = head
            part, _, kv = kv.partition(' ')
            d = dict(part=part)
        else:
            d = dict(id=head)
        err = ''
        if ' error=' in kv or kv.startswith('error='):
            kv, _, err = kv.partition('error=')
        for item in kv.split():
            k, _, v = item.partition('=')
            d[k] = v
        d['error'] = err
        if kind == 'volume':
            vols[head] = d
        elif kind == 'extent':
            exts.setdefault(vol, []).append(d)
        else:
            groups.append(d)
    return groups, vols, exts


def check_manifest(man, scan):
    groups, vols, exts = scan
    bad = []
    if len(groups) != 1 or groups[0]['id'] != man['group']['guid'] or \
            groups[0]['name'] != man['group']['name']:
        bad.append('groups: %r' % groups)
    for v in man['volumes']:
        o = vols.get(v['name'])
        if not o:
            bad.append('volume %s missing' % v['name'])
            continue
        for k, want in (('type', v['type']), ('size', str(v['size'])),
                        ('hint', v['hint'] or '-'), ('guid', v['guid']),
                        ('stripe', str(v['stripe_size']))):
            if o[k] != want:
                bad.append('volume %s: %s=%s, want %s' % (v['name'], k,
                                                         o[k], want))
        mine = {e['part']: e for e in exts.get(v['name'], [])}
        for p in v['parts']:
            e = mine.get(p['name'])
            if not e:
                bad.append('volume %s: extent %s missing' % (v['name'],
                                                            p['name']))
                continue
            for k, want in (('disk', p['disk_name']),
                            ('start', str(p['abs_start'])),
                            ('size', str(p['size'] * 512)),
                            ('dev', str(p['disk']))):
                if e[k] != want:
                    bad.append('extent %s: %s=%s, want %s' % (p['name'], k,
                                                             e[k], want))
    return bad


def ldmtool(disks, *args):
    cmd = ['ldmtool']
    for d in disks:
        cmd += ['-d', d]
    r = subprocess.run(cmd + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return json.loads(r.stdout.decode() or 'null')


def check_ldmtool(man, scan, disks):
    groups, vols, exts = scan
    bad = []
    g = man['group']['guid']
    if ldmtool(disks, 'scan') != [g]:
        bad.append('ldmtool scan: %r' % ldmtool(disks, 'scan'))
        return bad
    dg = ldmtool(disks, 'show', 'diskgroup', g)
    if sorted(dg['volumes']) != sorted(vols):
        bad.append('volumes: ldmtool %r, ours %r' % (dg['volumes'],
                                                    sorted(vols)))
    for name in dg['volumes']:
        t = ldmtool(disks, 'show', 'volume', g, name)
        o = vols.get(name)
        if not o:
            continue
        ltype = t['type'].lower()
        for k, theirs, ours in (
                ('type', ltype, o['type']),
                ('size', t['size'] * 512, int(o['size'])),
                ('stripe', t['chunk-size'] * 512, int(o['stripe'])),
                ('hint', t.get('hint') or '-', o['hint']),
                ('guid', t['guid'], o['guid'])):
            if theirs != ours:
                bad.append('volume %s: %s: ldmtool %r, ours %r' % (
                    name, k, theirs, ours))
        mine = {e['part']: e for e in exts.get(name, [])}
        if sorted(t['partitions']) != sorted(mine):
            bad.append('volume %s: partitions ldmtool %r, ours %r' % (
                name, t['partitions'], sorted(mine)))
            continue
        for pn in t['partitions']:
            p = ldmtool(disks, 'show', 'partition', g, pn)
            d = ldmtool(disks, 'show', 'disk', g, p['disk'])
            e = mine[pn]
            if p['disk'] != e['disk'] or d['guid'] != e['guid'] or \
                    p['size'] * 512 != int(e['size']) or \
                    p['start'] * 512 != int(e['data_off']):
                bad.append('partition %s: ldmtool %r / %r, ours %r' % (
                    pn, p, d, e))
            elif d.get('present') and \
                    (d['data-start'] + p['start']) * 512 != int(e['start']):
                bad.append('partition %s: ldmtool start %d, ours %s' % (
                    pn, (d['data-start'] + p['start']) * 512, e['start']))
    return bad


def main():
    man = json.load(open(sys.argv[2]))
    scan = parse_scan(sys.argv[3])
    if sys.argv[1] == 'manifest':
        bad = check_manifest(man, scan)
    else:
        bad = check_ldmtool(man, scan, sys.argv[4:])
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
