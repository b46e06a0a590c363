#!/bin/sh
# Build the host directory tree that the XFS and Btrfs fixture images are
# populated from (mkfs.xfs -p proto, mkfs.btrfs --rootdir): small files,
# nested directories, directories big enough for every XFS directory form
# (short-form, block, leaf, node), symlinks (short, long, absolute,
# dangling), a 1 MiB file, a sparse file, an empty file.
# Usage: mktree.sh DIR
set -eu
d=$1
mkdir -p "$d"
cd "$d"
printf 'hello, world\n' > hello.txt
mkdir -p etc a/b/c/d
printf 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' > etc/os-release
printf 'deep file\n' > a/b/c/d/deep.txt
printf 'b level\n' > a/b/file-b
: > empty
# 1 MiB of pseudo-random data, reproducible
python3 -c '
import hashlib, sys
out = bytearray()
h = b"vmie"
while len(out) < 1 << 20:
    h = hashlib.sha256(h).digest()
    out += h
sys.stdout.buffer.write(out[:1 << 20])' > random1m.bin
# sparse: data at 0, a hole, data at 5 MiB, a hole to 8 MiB
printf 'start' > sparse.bin
printf 'middle' | dd of=sparse.bin bs=1 seek=5242880 conv=notrunc 2>/dev/null
truncate -s 8M sparse.bin
# 3 entries: short-form; 40: block; 300: leaf; 3000: node
for n in 3 40 300 3000; do
	mkdir "dir$n"
	python3 - "dir$n" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    name = "entry-%05d-%s" % (i, "x" * (i % 23))
    if i % 10 == 3:
        os.mkdir(os.path.join(d, name))
    else:
        with open(os.path.join(d, name), "w") as f:
            f.write("file %d of %s\n" % (i, d))
PY
done
ln -s hello.txt link-rel
ln -s /etc/os-release link-abs
ln -s a/b/c/d link-dir
ln -s does/not/exist link-dangling
ln -s "$(python3 -c 'print("/".join(["long-component-%02d" % i for i in range(40)]))')" link-long
