#!/usr/bin/env python3
"""A phony Windows Server installed on dynamic disks: the inspection
suite's Windows marker files and registry hives (tests/inspect/mkguest.py,
guestlib.py, reused as they are) in an NTFS file system made by mkntfs +
ntfs_fixture, placed by mkldm.py inside the simple volume C: of an LDM
disk group of two MBR disks (with a spanned D: over both).

usage: mkldmwin.py NTFS_FIXTURE OUTDIR -> OUTDIR/disk0.img, disk1.img,
                                          manifest.json
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'inspect'))
import guestlib as g    # noqa: E402
import mkguest          # noqa: E402
import mkldm            # noqa: E402


def main():
    fixture, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = g.tmpdir(out)
    try:
        r = os.path.join(work, 'c')
        mkguest.win_tree(r)
        mkguest.win_hives(r, product='Windows Server 2016 Standard',
                          edition='ServerStandard', build='14393')
        g.w(r, 'Windows/System32/ntoskrnl.exe', 'MZ')
        # BIOS boot files on the system volume itself (no System Reserved)
        g.w(r, '/bootmgr', 'bootmgr')
        mkguest.bcd(g.w(r, '/Boot/BCD', ''))
        c = os.path.join(work, 'c.fs')
        g.mkntfs(r, c, 64, fixture)
        mkldm.build(mkldm.fixture('windows', c), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
