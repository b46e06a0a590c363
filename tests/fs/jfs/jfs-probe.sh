#!/bin/bash
# JFS is detected (type, version, uuid, label, size equal blkid's and the
# mkfs geometry) but has no reader: open is refused, not crashed.
source "$SRCDIR/tests/functions.sh"
need mkfs.jfs
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
img="$T/j.img"
truncate -s 64M "$img"
mkfs.jfs -q -L jfs-label "$img" > /dev/null
p=$("$FSWALK" jfs "$img" probe)
echo "$p"
case "$p" in *"type=jfs version=1 "*"label=jfs-label "*"readable=0"*) ;; *) fail "probe: $p" ;; esac
if command -v blkid >/dev/null; then
	u=$(blkid -o value -s UUID "$img")
	case "$p" in *"uuid=$u "*) ;; *) fail "blkid uuid $u" ;; esac
fi
size=$(echo "$p" | sed 's/.*size=\([0-9]*\).*/\1/')
[ "$size" -gt $((60 << 20)) ] && [ "$size" -le $((64 << 20)) ] || fail "size $size"
expect_fail "no reader" "$FSWALK" jfs "$img" ls /
# the other readers do not claim it, and it does not claim theirs
"$FSWALK" xfs "$img" probe > /dev/null && fail "xfs claims JFS"
"$FSWALK" btrfs "$img" probe > /dev/null && fail "btrfs claims JFS"
head -c 1M /dev/zero > "$T/z.img"
"$FSWALK" jfs "$T/z.img" probe > /dev/null && fail "jfs claims zeros"
echo OK
