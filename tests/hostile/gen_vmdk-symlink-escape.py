#!/usr/bin/env python3
"""VMDK descriptors whose extent is a symbolic link (issue 9): a link in the
image's directory that leads elsewhere on the host must not be read; one
that stays inside the directory may be.

DIR/secret.bin                 a file outside the image directory
DIR/img/                       the directory the user names images in:
  abs.vmdk      extent -> DIR/secret.bin (absolute link)
  rel.vmdk      extent -> ../secret.bin (relative link)
  chain.vmdk    extent -> hop (inside) -> ../secret.bin
  devzero.vmdk  extent -> /dev/zero
  sparse.vmdk   twoGbMaxExtentSparse, extent -> ../secret.bin
  dotdot.vmdk   extent -> sub/../../secret.bin
  inside.vmdk   extent -> flat.bin (same directory: allowed)
  subdir.vmdk   extent -> sub/flat2.bin (below the directory: allowed)
  good.vmdk     extent is flat.bin itself

Usage: gen_vmdk-symlink-escape.py DIR
"""
import os
import sys


def desc(path, create_type, extents):
    lines = ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe',
             'parentCID=ffffffff', 'createType="%s"' % create_type, '']
    lines += extents + ['']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main():
    d = os.path.abspath(sys.argv[1])
    img = os.path.join(d, 'img')
    os.makedirs(os.path.join(img, 'sub'), exist_ok=True)
    j = lambda n: os.path.join(img, n)
    with open(os.path.join(d, 'secret.bin'), 'wb') as f:
        f.write(b'SECRET!\n' * 8192)               # 64 KiB
    data = bytes(range(256)) * 256
    for p in (j('flat.bin'), j('sub/flat2.bin')):
        with open(p, 'wb') as f:
            f.write(data)
    links = {
        'abs.lnk': os.path.join(d, 'secret.bin'),
        'rel.lnk': '../secret.bin',
        'hop': '../secret.bin',
        'chain.lnk': 'hop',
        'devzero.lnk': '/dev/zero',
        'dotdot.lnk': 'sub/../../secret.bin',
        'inside.lnk': 'flat.bin',
        'subdir.lnk': 'sub/flat2.bin',
    }
    for name, target in links.items():
        os.symlink(target, j(name))
    for name in ('abs', 'rel', 'chain', 'devzero', 'dotdot', 'inside',
                 'subdir'):
        desc(j(name + '.vmdk'), 'monolithicFlat',
             ['RW 128 FLAT "%s.lnk" 0' % name])
    desc(j('sparse.vmdk'), 'twoGbMaxExtentSparse', ['RW 128 SPARSE "rel.lnk"'])
    desc(j('good.vmdk'), 'monolithicFlat', ['RW 128 FLAT "flat.bin" 0'])


if __name__ == '__main__':
    main()
