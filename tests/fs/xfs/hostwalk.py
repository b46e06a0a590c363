#!/usr/bin/env python3
"""Print a host directory tree in fswalk's "walk" format (sorted by path):
"d PATH", "f PATH SIZE SHA256", "l PATH TARGET", "o PATH"."""
import hashlib
import os
import stat
import sys


def walk(root, rel, out):
    for name in os.listdir(root + rel):
        r = rel + "/" + name
        p = root + r
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out.append("l %s %s" % (r, os.readlink(p)))
        elif stat.S_ISDIR(st.st_mode):
            out.append("d %s" % r)
            walk(root, r, out)
        elif stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out.append("f %s %d %s" % (r, st.st_size, h.hexdigest()))
        else:
            out.append("o %s" % r)


out = []
walk(sys.argv[1].rstrip("/"), "", out)
print("\n".join(sorted(out)))
