#!/usr/bin/env python3
"""Write an mkfs.xfs prototype file (man mkfs.xfs, option -p) describing a
host directory tree: directories, regular files (contents copied by mkfs)
and symbolic links.  Names must not contain blanks or ':'."""
import os
import stat
import sys


def mode(st):
    return "%03o" % (st.st_mode & 0o777)


def walk(path, depth, out):
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        st = os.lstat(p)
        pad = "  " * depth
        if stat.S_ISLNK(st.st_mode):
            out.append("%s%s l--%s 0 0 %s" % (pad, name, mode(st), os.readlink(p)))
        elif stat.S_ISDIR(st.st_mode):
            out.append("%s%s d--%s 0 0" % (pad, name, mode(st)))
            walk(p, depth + 1, out)
            out.append("%s$" % pad)
        elif stat.S_ISREG(st.st_mode):
            out.append("%s%s ---%s 0 0 %s" % (pad, name, mode(st), os.path.abspath(p)))


def main():
    root = sys.argv[1]
    out = ["vmie", "0 0", "d--755 0 0"]
    walk(root, 1, out)
    out.append("$")
    print("\n".join(out))


main()
