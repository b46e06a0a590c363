#!/bin/bash
# Broken ext images: clear errors, no crash, no sanitizer report.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
need mkfs.ext2 mkfs.ext4 python3
PY=$(command -v /usr/bin/python3 || command -v python3)

src=$T/src
mkdir -p "$src/etc"
echo hello > "$src/etc/hostname"
head -c 300000 /dev/urandom > "$src/big"

# poke IMG OFFSET HEXBYTES
poke() {
	"$PY" - "$@" <<'EOF'
import sys
path, off, data = sys.argv[1], int(sys.argv[2], 0), bytes.fromhex(sys.argv[3])
with open(path, 'r+b') as f:
    f.seek(off)
    f.write(data)
EOF
}

truncate -s 16M "$T/e4.img"
mkfs.ext4 -q -F -d "$src" -O metadata_csum "$T/e4.img"
truncate -s 16M "$T/e2.img"
mkfs.ext2 -q -F -d "$src" "$T/e2.img"

# ext4 with metadata_csum: one changed byte in the superblock
cp "$T/e4.img" "$T/bad.img"
poke "$T/bad.img" $((1024 + 0x78)) 41
expect_fail "checksum" "$FSREAD" "$T/bad.img" cat /etc/hostname

# ext2: zero blocks per group (superblock at 1024, s_blocks_per_group 0x20)
cp "$T/e2.img" "$T/bad.img"
poke "$T/bad.img" $((1024 + 0x20)) 00000000
expect_fail "corrupt" "$FSREAD" "$T/bad.img" cat /etc/hostname

# ext2: absurd inode count
cp "$T/e2.img" "$T/bad.img"
poke "$T/bad.img" $((1024 + 0x00)) ffffffff
expect_fail "corrupt|superblock" "$FSREAD" "$T/bad.img" ls /

# an incompat feature libext2fs does not know (0x1 compression, 0x1000000)
cp "$T/e2.img" "$T/bad.img"
poke "$T/bad.img" $((1024 + 0x60)) 02000001
expect_fail "unknown incompatible features" "$FSREAD" "$T/bad.img" ls /
"$FSREAD" "$T/bad.img" probe | grep -q '^TYPE=ext4' || fail "probe of unknown feature"

# unknown block size: not an ext file system any more
cp "$T/e2.img" "$T/bad.img"
poke "$T/bad.img" $((1024 + 0x18)) 40000000
expect_fail "no known file system" "$FSREAD" "$T/bad.img" ls /

# truncated images: at the superblock, and after the metadata
head -c 1500 "$T/e4.img" > "$T/short.img"
expect_fail "no known file system" "$FSREAD" "$T/short.img" ls /
# cut the image inside /big (debugfs: its 10th block; 1 KiB blocks)
blk=$(debugfs -R "bmap /big 10" "$T/e4.img" 2>/dev/null)
[ -n "$blk" ] || fail "bmap"
head -c $((blk * 1024)) "$T/e4.img" > "$T/short.img"
expect_fail "[Ss]hort read|past the end|truncated" "$FSREAD" "$T/short.img" cat /big

# a directory inode whose blocks point past the device: e2 root dir block
# (debugfs gives the block number; patch the inode's first block pointer)
if command -v debugfs >/dev/null; then
	cp "$T/e2.img" "$T/bad.img"
	debugfs -w -R "sif /etc block[0] 99999999" "$T/bad.img" 2>/dev/null
	expect_fail "directory lookup: .*short read" "$FSREAD" "$T/bad.img" cat /etc/hostname
	# a directory that contains itself: /etc/loop -> inode of /etc
	cp "$T/e2.img" "$T/bad.img"
	ino=$(debugfs -R "stat /etc" "$T/bad.img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	debugfs -w -R "link <$ino> /etc/loop" "$T/bad.img" 2>/dev/null
	"$FSREAD" "$T/bad.img" cat /etc/loop/loop/loop/hostname > "$T/o" \
		|| fail "cycle lookup"
	expect_fail "too deep|deeper" "$FSREAD" "$T/bad.img" find /
fi
echo ok
