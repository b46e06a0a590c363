#!/bin/bash
# Damaged compressed extents (zlib, lzo, zstd; inline and regular) in a
# Btrfs written by the kernel (loop mount): sizes that lie, LZO segment and
# total lengths past the end, corrupt or truncated streams, unknown
# compression.  Each must give a clear FMT-005 error naming the extent and
# the problem, never a crash, a hang or a sanitizer report.  Needs root and
# loop devices (skips otherwise); always unmounts and detaches.
source "$SRCDIR/tests/functions.sh"
need mkfs.btrfs btrfs losetup mount umount python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
P="python3 $SRCDIR/tests/fs/btrfs/btrfs_patch.py"
loop_mounts

ok="$T/ok.img"
truncate -s 160M "$ok"
mkfs.btrfs -q -f "$ok" >/dev/null 2>&1 || fail "mkfs.btrfs"
LOOP=$(losetup -f --show "$ok") || { LOOP=""; skip "no loop device"; }
mount -t btrfs "$LOOP" "$MNT" || skip "cannot mount btrfs here"
python3 - "$MNT" <<'PY'
import os, random, subprocess, sys
m = sys.argv[1]
rnd = random.Random(7)
words = "alpha bravo charlie delta echo foxtrot golf hotel india".split()
def text(n):
    return " ".join(rnd.choice(words) for _ in range(n // 4)).encode()[:n]
for algo in ("zlib", "lzo", "zstd"):
    d = os.path.join(m, algo)
    os.mkdir(d)
    subprocess.run(["btrfs", "property", "set", d, "compression", algo],
                   check=True)
    for name, n in (("big.txt", 131072), ("inline.txt", 3000)):
        with open(os.path.join(d, algo + "-" + name), "wb") as f:
            f.write(text(n))
os.sync()
PY
umount "$MNT"
losetup -d "$LOOP"
LOOP=""
"$FSWALK" btrfs "$ok" walk > "$T/ok.txt" || fail "pristine image unreadable"
grep -q "^f /zstd/zstd-big.txt 131072 " "$T/ok.txt" || fail "fixture: no /zstd/zstd-big.txt"

img="$T/bad.img"
fresh() { cp --sparse=always "$ok" "$img"; }
ino() { # path below the top: inode number from dump-tree
	btrfs inspect-internal dump-tree -t 5 "$ok" |
		grep -B2 "name: $(basename "$1")\$" |
		sed -n 's/.*location key (\([0-9]*\) INODE_ITEM.*/\1/p' | head -1
}
le() { python3 -c "import sys; print(int(sys.argv[1]).to_bytes(int(sys.argv[2]), 'little').hex())" "$@"; }
# extent item of FILE: "LEAF OFF" (OFF = the item's data in the leaf)
extent() { $P "$ok" item 5 "$(ino "$1")" EXTENT_DATA 0; }
inode() { $P "$ok" item 5 "$(ino "$1")" INODE_ITEM 0; }
disk() { # leaf off: disk_bytenr of a regular extent
	btrfs inspect-internal dump-tree -t 5 "$ok" | grep -A3 "key ($1 EXTENT_DATA 0)" |
		sed -n 's/.*disk byte \([0-9]*\) nr.*/\1/p'
}
check_fixture() { # file compression type
	btrfs inspect-internal dump-tree -t 5 "$ok" | grep -A4 "key ($(ino "$1") EXTENT_DATA 0)" |
		grep -q "$2" || fail "fixture: $1 has no $2 extent"
}
check_fixture zlib/zlib-big.txt "compression 1 (zlib)"
check_fixture lzo/lzo-big.txt "compression 2 (lzo)"
check_fixture zstd/zstd-big.txt "compression 3 (zstd)"
check_fixture lzo/lzo-inline.txt "inline extent data size .* compression 2 (lzo)"
check_fixture zstd/zstd-inline.txt "inline extent data size .* compression 3 (zstd)"

# ram_bytes and num_bytes say 64 KiB, the zlib stream gives 128 KiB
read -r leaf off <<< "$(extent zlib/zlib-big.txt)"
fresh; $P "$img" block "$leaf" $((off + 8)) "$(le 65536 8)"
$P "$img" block "$leaf" $((off + 45)) "$(le 65536 8)"
expect_fail "zlib extent at file offset 0 .*ram_bytes 65536\): zlib: decompresses to more than the extent's 65536 bytes" \
	"$FSWALK" btrfs "$img" cat /zlib/zlib-big.txt
# an inline zstd extent and the inode say 4000 bytes, the stream gives 3000
read -r leaf off <<< "$(extent zstd/zstd-inline.txt)"
read -r ileaf ioff <<< "$(inode zstd/zstd-inline.txt)"
fresh; $P "$img" block "$leaf" $((off + 8)) "$(le 4000 8)"
$P "$img" block "$ileaf" $((ioff + 16)) "$(le 4000 8)"
expect_fail "zstd extent at file offset 0 decompresses to 3000 bytes, but the file needs 4000" \
	"$FSWALK" btrfs "$img" cat /zstd/zstd-inline.txt
# LZO: a segment length past the end, a total length past the extent
read -r leaf off <<< "$(extent lzo/lzo-big.txt)"
lzo=$(disk "$(ino lzo/lzo-big.txt)")
[ -n "$lzo" ] || fail "no disk address for lzo/lzo-big.txt"
fresh; $P "$img" data "$lzo" 4 "$(le 2147483647 4)"
expect_fail "lzo extent at file offset 0 \(disk 0x[0-9a-f]+.*lzo: segment at byte 4 has length 2147483647" \
	"$FSWALK" btrfs "$img" cat /lzo/lzo-big.txt
fresh; $P "$img" data "$lzo" 0 "$(le 1048576 4)"
expect_fail "lzo: total length 1048576 is not within 8\.\." "$FSWALK" btrfs "$img" cat /lzo/lzo-big.txt
fresh; $P "$img" data "$lzo" 8 "$(python3 -c 'print("ff" * 64)')"
expect_fail "lzo: segment at byte 4 is corrupt" "$FSWALK" btrfs "$img" cat /lzo/lzo-big.txt
read -r leaf off <<< "$(extent lzo/lzo-inline.txt)"
fresh; $P "$img" block "$leaf" $((off + 21 + 4)) "$(le 4096 4)"
expect_fail "lzo extent at file offset 0 \(inline.*lzo: segment at byte 4 has length 4096" \
	"$FSWALK" btrfs "$img" cat /lzo/lzo-inline.txt
# corrupt zlib and zstd streams, a zstd frame cut short
zl=$(disk "$(ino zlib/zlib-big.txt)")
fresh; $P "$img" data "$zl" 2 "$(python3 -c 'print("ff" * 32)')"
expect_fail "zlib: corrupt data" "$FSWALK" btrfs "$img" cat /zlib/zlib-big.txt
zs=$(disk "$(ino zstd/zstd-big.txt)")
fresh; $P "$img" data "$zs" 0 00000000
expect_fail "zstd extent at file offset 0 .*zstd: corrupt data after 0 bytes out" \
	"$FSWALK" btrfs "$img" cat /zstd/zstd-big.txt
read -r leaf off <<< "$(extent zstd/zstd-big.txt)"
fresh; $P "$img" block "$leaf" $((off + 29)) "$(le 4096 8)"
expect_fail "zstd: the frame has no end within its 4096 bytes" "$FSWALK" btrfs "$img" cat /zstd/zstd-big.txt
# extent items that do not add up, an unknown compression
fresh; $P "$img" block "$leaf" $((off + 8)) "$(le 0 8)"
expect_fail "bad extent item at file offset 0: ram_bytes out of range" "$FSWALK" btrfs "$img" cat /zstd/zstd-big.txt
fresh; $P "$img" block "$leaf" $((off + 37)) "$(le 131072 8)"
expect_fail "bad extent item at file offset 0: offset \+ num_bytes past ram_bytes" "$FSWALK" btrfs "$img" cat /zstd/zstd-big.txt
fresh; $P "$img" block "$leaf" $((off + 29)) "$(le 16777216 8)"
expect_fail "bad extent item at file offset 0: disk_num_bytes out of range" "$FSWALK" btrfs "$img" cat /zstd/zstd-big.txt
fresh; $P "$img" block "$leaf" $((off + 16)) 07
expect_fail "unknown compression 7" "$FSWALK" btrfs "$img" cat /zstd/zstd-big.txt
# the rest of the tree is still readable around a bad extent
"$FSWALK" btrfs "$img" cat /zlib/zlib-big.txt | cmp -s - <("$FSWALK" btrfs "$ok" cat /zlib/zlib-big.txt) ||
	fail "an undamaged file reads differently"
echo OK
