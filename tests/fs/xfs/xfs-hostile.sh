#!/bin/bash
# Damaged XFS images (edited with xfs_db in expert mode, which keeps CRCs
# right unless told otherwise): each must give a clear error naming the
# problem, never a crash, a hang or a sanitizer report.
source "$SRCDIR/tests/functions.sh"
need mkfs.xfs xfs_db python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
D="$SRCDIR/tests/fs/xfs"

"$D/mktree.sh" "$T/tree"
python3 "$D/mkproto.py" "$T/tree" > "$T/proto"
ok="$T/ok.img"
truncate -s 320M "$ok"
mkfs.xfs -q -f -p "$T/proto" "$ok"
"$FSWALK" xfs "$ok" walk > /dev/null || fail "pristine image unreadable"
img="$T/bad.img"
fresh() { cp --sparse=always "$ok" "$img"; }
xdb() { xfs_db -x "$img" "$@" > /dev/null 2>&1 || true; }

# truncated image
head -c 64M "$ok" > "$img"
expect_fail "truncated" "$FSWALK" xfs "$img" walk

# root inode with a bad magic / a bad CRC
fresh; xdb -c 'inode 128' -c 'write -d core.magic 0'
expect_fail "inode 128 .*bad magic" "$FSWALK" xfs "$img" ls /
fresh; xdb -c 'inode 128' -c 'write -c core.gid 5'
expect_fail "inode 128 .*CRC mismatch" "$FSWALK" xfs "$img" ls /

# unknown incompatible feature
fresh; xdb -c 'sb 0' -c 'write -d features_incompat 0x10000b'
expect_fail "unknown incompatible feature bits 0x100000" "$FSWALK" xfs "$img" ls /

# extent B-tree of the big directory: huge numrecs, a leaf that claims to
# be a node (a block pointing below itself), a leaf that is its own sibling
leaf=$(xfs_db -r "$ok" -c 'path /dir3000' -c 'p u3.bmbt.ptrs[1]' 2>/dev/null | sed 's/.*= //')
[ -n "$leaf" ] || fail "no bmbt leaf in dir3000"
fresh; xdb -c 'path /dir3000' -c 'addr u3.bmbt.ptrs[1]' -c 'write -d numrecs 60000'
expect_fail "B-tree block $leaf holds 60000 records" "$FSWALK" xfs "$img" ls /dir3000
fresh; xdb -c 'path /dir3000' -c 'addr u3.bmbt.ptrs[1]' -c 'write -d level 1'
expect_fail "expected level 0" "$FSWALK" xfs "$img" ls /dir3000
fresh; xdb -c 'path /dir3000' -c 'addr u3.bmbt.ptrs[1]' -c "write -d rightsib $leaf" -c 'write -d numrecs 1'
expect_fail "its own right sibling" "$FSWALK" xfs "$img" ls /dir3000

# a file extent past the end of the device
fresh; xdb -c 'path /random1m.bin' -c 'write u3.bmx[0].startblock 4000000'
expect_fail "extent at file block 0 .*past the end of the device" "$FSWALK" xfs "$img" cat /random1m.bin

# a directory data block with a bad magic
fsb=$(xfs_db -r "$ok" -c 'path /dir300' -c 'bmap' 2>/dev/null | head -1 | sed 's/.*startblock \([0-9]*\) .*/\1/')
off=$(xfs_db -r "$ok" -c "convert fsb $fsb byte" 2>/dev/null | sed 's/.*(\([0-9]*\)).*/\1/')
[ -n "$off" ] || fail "no offset for dir300's first block"
fresh; printf 'JUNK' | dd of="$img" bs=1 seek="$off" conv=notrunc 2>/dev/null
expect_fail "block 0 has bad magic" "$FSWALK" xfs "$img" ls /dir300

# the hash index (lookups): a node with a bad magic, a bad level, children
# outside the leaf space; a leaf with a huge count; a leaf entry pointing
# at no data entry (found through the name's hash, computed here)
leafblk=$((32 << 30 >> 12))
name=entry-00005-xxxxx
for i in $(seq 0 63); do echo "-c" "write -d nbtree[$i].before 5"; done > "$T/nb"
fresh; xdb -c 'path /dir3000' -c "dblock $leafblk" -c 'type dir3' -c 'write -d nhdr.info.hdr.magic 0x1234'
expect_fail "directory inode [0-9]+: bad hash tree block $leafblk \(magic 0x1234" \
	"$FSWALK" xfs "$img" cat /dir3000/entry-00005-xxxxx
fresh; xdb -c 'path /dir3000' -c "dblock $leafblk" -c 'type dir3' -c 'write -d nhdr.level 9'
expect_fail "bad hash tree block $leafblk" "$FSWALK" xfs "$img" cat /dir3000/entry-00005-xxxxx
fresh; mapfile -t nb < "$T/nb"
xdb -c 'path /dir3000' -c "dblock $leafblk" -c 'type dir3' "${nb[@]}"
expect_fail "hash tree points at block 5, outside the leaf space" \
	"$FSWALK" xfs "$img" cat /dir3000/entry-00005-xxxxx
fresh; xdb -c 'path /dir300' -c "dblock $leafblk" -c 'type dir3' -c 'write -d lhdr.count 60000'
expect_fail "bad hash tree block $leafblk \(magic 0x3df1, 60000 entries\)" \
	"$FSWALK" xfs "$img" cat /dir300/$name
hash=$(python3 - "$name" <<'PY'
import sys
def rol(v, n):
    return (v << n | v >> (32 - n)) & 0xffffffff
b, h = sys.argv[1].encode(), 0
while len(b) >= 4:
    h = b[0] << 21 ^ b[1] << 14 ^ b[2] << 7 ^ b[3] ^ rol(h, 28)
    b = b[4:]
if len(b) == 3:
    h = b[0] << 14 ^ b[1] << 7 ^ b[2] ^ rol(h, 21)
elif len(b) == 2:
    h = b[0] << 7 ^ b[1] ^ rol(h, 14)
elif len(b) == 1:
    h = b[0] ^ rol(h, 7)
print("0x%x" % h)
PY
)
idx=$(xfs_db -r "$ok" -c 'path /dir300' -c "dblock $leafblk" -c 'type dir3' -c 'p lents' 2>/dev/null |
	sed -n "s/^lents\[\([0-9]*\)\]\.hashval = $hash\$/\1/p" | head -1)
[ -n "$idx" ] || fail "hash $hash of $name not in dir300's leaf"
fresh; xdb -c 'path /dir300' -c "dblock $leafblk" -c 'type dir3' -c "write -d lents[$idx].address 1"
expect_fail "hash entry points to no entry \(address 0x1\)" "$FSWALK" xfs "$img" cat /dir300/$name
"$FSWALK" xfs "$img" cat /dir300/entry-00006-xxxxxx > /dev/null || fail "other entries of dir300 lost"

# not XFS at all
head -c 1M /dev/zero > "$img"
expect_fail "no superblock magic" "$FSWALK" xfs "$img" ls /
echo OK
