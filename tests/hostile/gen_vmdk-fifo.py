#!/usr/bin/env python3
"""VMDK descriptors whose extents are not regular files (issue 9): opening
a FIFO for reading blocks until a writer comes, so every command hung.

  fifo-flat.vmdk     monolithicFlat whose extent is a FIFO
  fifo-sparse.vmdk   twoGbMaxExtentSparse whose extent is a FIFO
  fifo-second.vmdk   twoGbMaxExtentFlat: a good extent, then a FIFO
  socket.vmdk        the extent is a unix socket
  dir.vmdk           the extent is a directory
  pipe.fifo          a FIFO to name on the command line directly
  good.vmdk          the same descriptor over a regular file (control)

Usage: gen_vmdk-fifo.py DIR
"""
import os
import socket
import sys


def desc(path, create_type, extents):
    lines = ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe',
             'parentCID=ffffffff', 'createType="%s"' % create_type, '']
    lines += extents
    lines += ['', 'ddb.adapterType = "lsilogic"', '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    j = lambda n: os.path.join(d, n)
    with open(j('flat.bin'), 'wb') as f:
        f.write(bytes(range(256)) * 256)          # 64 KiB, 128 sectors
    os.mkfifo(j('extent.fifo'))
    os.mkfifo(j('pipe.fifo'))
    os.mkdir(j('extent.dir'))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(j('extent.sock'))
    s.close()                                     # the socket file stays
    desc(j('good.vmdk'), 'monolithicFlat', ['RW 128 FLAT "flat.bin" 0'])
    desc(j('fifo-flat.vmdk'), 'monolithicFlat',
         ['RW 128 FLAT "extent.fifo" 0'])
    desc(j('fifo-sparse.vmdk'), 'twoGbMaxExtentSparse',
         ['RW 128 SPARSE "extent.fifo"'])
    desc(j('fifo-second.vmdk'), 'twoGbMaxExtentFlat',
         ['RW 128 FLAT "flat.bin" 0', 'RW 128 FLAT "extent.fifo" 0'])
    desc(j('socket.vmdk'), 'monolithicFlat', ['RW 128 FLAT "extent.sock" 0'])
    desc(j('dir.vmdk'), 'monolithicFlat', ['RW 128 FLAT "extent.dir" 0'])


if __name__ == '__main__':
    main()
