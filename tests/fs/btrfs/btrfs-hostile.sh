#!/bin/bash
# Damaged Btrfs images (tree blocks patched with their checksums fixed, so
# the structural checks are what catches them): each must give a clear
# error naming the problem, never a crash, a hang or a sanitizer report.
# A DUP block whose first copy is bad must be read from the second.
source "$SRCDIR/tests/functions.sh"
need mkfs.btrfs btrfs python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
D="$SRCDIR/tests/fs/xfs"
P="python3 $SRCDIR/tests/fs/btrfs/btrfs_patch.py"

"$D/mktree.sh" "$T/tree"
ok="$T/ok.img"
truncate -s 256M "$ok"
mkfs.btrfs -q -f -m dup -d single -n 4096 -r "$T/tree" "$ok" >/dev/null 2>&1
"$FSWALK" btrfs "$ok" walk > "$T/ok.txt" || fail "pristine image unreadable"
img="$T/bad.img"
fresh() { cp --sparse=always "$ok" "$img"; }

read -r fsroot fslevel <<< "$($P "$ok" root 5)"
read -r rtroot _ <<< "$($P "$ok" root root)"
[ "$fslevel" -ge 1 ] || fail "FS tree of one leaf: no node to damage"
ino=$(btrfs inspect-internal dump-tree -t 5 "$ok" | grep -B2 'name: random1m.bin' |
	sed -n 's/.*location key (\([0-9]*\) INODE_ITEM.*/\1/p' | head -1)
[ -n "$ino" ] || fail "random1m.bin not found in the FS tree dump"
read -r leaf off <<< "$($P "$ok" item 5 "$ino" EXTENT_DATA 0)"
[ -n "$leaf" ] && [ -n "$off" ] || fail "EXTENT_DATA item of inode $ino not found"

# truncated image
head -c 40M "$ok" > "$img"
expect_fail "truncated" "$FSWALK" btrfs "$img" walk

# garbage in the first copy of the root tree block: DUP saves it
fresh; $P "$img" block "$rtroot" 200 deadbeefdeadbeef 0 nocsum
"$FSWALK" btrfs "$img" walk | cmp - "$T/ok.txt" || fail "DUP copy not used"
# ... in both copies: a checksum error
fresh; $P "$img" block "$rtroot" 200 deadbeefdeadbeef all nocsum
expect_fail "tree block $(printf 0x%x "$rtroot"): checksum mismatch" "$FSWALK" btrfs "$img" ls /

# an FS tree leaf with a huge item count
fresh; $P "$img" block "$leaf" 0x60 ffffff00
expect_fail "tree block $(printf 0x%x "$leaf"): too many items" "$FSWALK" btrfs "$img" walk
# the FS tree root pointing to itself
fresh; $P "$img" block "$fsroot" $((101 + 17)) "$(python3 -c "print(($fsroot).to_bytes(8,'little').hex())")"
expect_fail "tree block $(printf 0x%x "$fsroot"): unexpected level" "$FSWALK" btrfs "$img" walk
# a file extent past the end of the device
fresh; $P "$img" block "$leaf" $((off + 21)) 0000000000010000
expect_fail "extent at file offset 0.*not mapped by any chunk" "$FSWALK" btrfs "$img" cat /random1m.bin

# unknown incompatible feature (extent tree v2), several devices
fresh; $P "$img" super 0xbc 4123000000000000
expect_fail "unknown incompatible feature bits 0x2000" "$FSWALK" btrfs "$img" ls /
fresh; $P "$img" super 0x88 0200000000000000
expect_fail "spans 2 devices" "$FSWALK" btrfs "$img" ls /

# not Btrfs at all
head -c 1M /dev/zero > "$img"
expect_fail "no superblock magic" "$FSWALK" btrfs "$img" ls /
echo OK
