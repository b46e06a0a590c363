#!/usr/bin/env python3
"""Print a host directory tree in fswalk's "walk" format (sorted by path):
"d PATH", "f PATH SIZE SHA256", "l PATH TARGET", "o PATH".
With --meta (first argument), in fswalk's "walkmeta" format instead: each
line ends with " MODE UID GID NLINK MTIME" (octal mode with the type bits)
and "o" lines name the type (p c b s) before it.
Usage: hostwalk.py [--meta] DIR"""
import hashlib
import os
import stat
import sys


def meta(st):
    return " %o %d %d %d %d" % (st.st_mode, st.st_uid, st.st_gid,
                                st.st_nlink, int(st.st_mtime // 1))


def other(mode):
    for test, c in ((stat.S_ISFIFO, "p"), (stat.S_ISCHR, "c"),
                    (stat.S_ISBLK, "b"), (stat.S_ISSOCK, "s")):
        if test(mode):
            return " " + c
    return " ?"


def walk(root, rel, out, with_meta):
    for name in os.listdir(root + rel):
        r = rel + "/" + name
        p = root + r
        st = os.lstat(p)
        m = meta(st) if with_meta else ""
        if stat.S_ISLNK(st.st_mode):
            out.append("l %s %s%s" % (r, os.readlink(p), m))
        elif stat.S_ISDIR(st.st_mode):
            out.append("d %s%s" % (r, m))
            walk(root, r, out, with_meta)
        elif stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out.append("f %s %d %s%s" % (r, st.st_size, h.hexdigest(), m))
        else:
            out.append("o %s%s%s" % (r, other(st.st_mode) if with_meta
                                     else "", m))


args = sys.argv[1:]
with_meta = bool(args) and args[0] == "--meta"
if with_meta:
    args = args[1:]
out = []
walk(args[0].rstrip("/"), "", out, with_meta)
print("\n".join(sorted(out)))
