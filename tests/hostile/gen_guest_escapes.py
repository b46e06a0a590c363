#!/usr/bin/env python3
"""Hostile input: a Linux guest whose names carry terminal escape
sequences (issue 9, class 11).  os-release PRETTY_NAME and VERSION,
/etc/hostname, an fstab device and a network interface name hold ESC
sequences (clear screen, set title, cursor moves), a bare C1 CSI (0x9b),
DEL, a BEL and a UTF-8 encoded C1 (U+009B).  Text output must escape every
one of them; JSON must carry them escaped as JSON does.

usage: gen_guest_escapes.py OUT.img"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'inspect'))
import guestlib as g  # noqa: E402

ESC = '\x1b'
HOSTILE = (ESC + '[2J' + ESC + ']0;owned\x07' + 'evil' + ESC + '[1A'
           + '\x7f' + '\u009b31m' + 'end')


def main():
    out = sys.argv[1]
    work = g.tmpdir(os.path.dirname(os.path.abspath(out)))
    r = os.path.join(work, 'root')
    for p in ('bin', 'sbin', 'usr/bin', 'boot', 'etc/network', 'lib/modules'):
        g.d(r, p)
    g.elf(r, '/bin/bash')
    g.ln(r, '/bin/sh', 'bash')
    g.w(r, '/etc/os-release',
        'PRETTY_NAME="Debian ' + HOSTILE + '"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nVERSION="12 (' + HOSTILE + ')"\nID=debian\n')
    g.w(r, '/etc/debian_version', '12.5\n')
    g.w(r, '/etc/hostname', 'host' + HOSTILE + '\n')
    g.w(r, '/etc/fstab', '/dev/sda1' + ESC + '[2J / ext4 defaults 0 1\n')
    g.w(r, '/etc/network/interfaces',
        'auto lo\niface lo inet loopback\n'
        'auto eth0' + ESC + '[2J\niface eth0' + ESC + '[2J inet dhcp\n')
    g.mkext4(r, out, 32, label='root')


if __name__ == '__main__':
    main()
