#!/bin/bash
# XFS v5 and v4 written by the running kernel (loop mount), then read by
# vmie without mounting: files of a few extents (list in the inode) and of
# thousands (extent B+tree of one and two levels), unwritten extents (whole,
# partly written, alternating with written blocks, past EOF), sparse files,
# punched holes, reflinked extents (v5), directories in every form
# (short-form, block, leaf, node, B+tree; 25000 entries), inline and remote
# symlinks, hard links, special files, owners above 16 bits, and inode
# numbers above 2^32 (inode64 on allocation groups of 2^28 blocks).  The
# tree vmie reads must equal the manifest recorded while mounted (content
# hash, size, mode, owner, link count, mtime, symlink target, listings);
# xfs_db confirms the fixture holds what the test means to cover.  Needs
# root and loop devices (skips otherwise); always unmounts and detaches.
source "$SRCDIR/tests/functions.sh"
need mkfs.xfs xfs_db losetup mount umount python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
FSREAD="$BUILDDIR/tests/fs/common/fsread"
D="$SRCDIR/tests/fs/xfs"
loop_mounts

first=1
kmount() { # image [may-fail]: status 1 when it may fail and does
	LOOP=$(losetup -f --show "$1") || {
		LOOP=""
		[ $first = 1 ] && skip "no loop device"; fail "losetup"
	}
	if ! mount -t xfs "$LOOP" "$MNT" 2>"$T/mount.err"; then
		losetup -d "$LOOP"; LOOP=""
		cat "$T/mount.err" >&2
		[ $first = 1 ] && skip "cannot mount xfs here"
		[ -n "${2:-}" ] && return 1
		fail "mount $1"
	fi
	first=0
}
kumount() {
	umount "$MNT"
	losetup -d "$LOOP"
	LOOP=""
}
compare() { # image what
	python3 "$D/hostwalk.py" --meta "$MNT" | LC_ALL=C sort > "$T/host.txt"
	kumount
	"$FSWALK" xfs "$1" walkmeta > "$T/vmie.raw"
	LC_ALL=C sort "$T/vmie.raw" > "$T/vmie.txt"
	diff -u "$T/host.txt" "$T/vmie.txt" > "$T/diff" || {
		head -40 "$T/diff"; fail "$2: vmie's tree differs from the kernel's"; }
}
# xfs_db facts about one path
db() { # image path commands...
	local img=$1 path=$2; shift 2
	local args=(-r "$img" -c "path $path")
	for c in "$@"; do args+=(-c "$c"); done
	xfs_db "${args[@]}" 2>&1 | tr '\n' ' '
}
want() { # what text pattern
	case "$2" in *$3*) ;; *) fail "$v: fixture: $1 is not what the test covers: $2" ;; esac
}

for v in v5 v4; do
	img="$T/$v.img"
	# stale bytes everywhere (no discard): unwritten extents must still
	# read as zeros
	yes "stale $v bytes" | head -c 384M > "$img"
	if [ $v = v4 ]; then
		mkfs.xfs -q -f -K -m crc=0 -n ftype=0 -L "k-$v" "$img" 2>/dev/null ||
			skip "mkfs.xfs cannot make v4 file systems"
		fill=""
	else
		mkfs.xfs -q -f -K -L "k-$v" "$img"
		fill=reflink
	fi
	mayfail=""
	[ $v = v4 ] && mayfail=may-fail
	if ! kmount "$img" $mayfail; then
		# Linux 6.x may be built without CONFIG_XFS_SUPPORT_V4
		echo "$v: SKIPPED: this kernel does not mount v4 XFS"
		continue
	fi
	python3 "$D/kfill.py" "$MNT" $fill || fail "$v: populating the fixture"
	compare "$img" "$v"
	[ "$(wc -l < "$T/vmie.txt")" -gt 30000 ] || fail "$v: walk too short"

	# reads at odd offsets and sizes, through the framework
	for f in f/many-a.bin:4097 f/unwritten-many.bin:4097 \
		 f/prealloc-part.bin:4097 f/few.bin:4097 f/punched.bin:65537 \
		 f/sparse.bin:1000001; do
		n=${f#*:} f=${f%:*}
		sum=$(awk -v p="/$f" '$1 == "f" && $2 == p { print $4 }' "$T/host.txt")
		[ -n "$sum" ] || fail "$f not in the manifest"
		assert_eq "$("$FSREAD" "$img" chunks "/$f" "$n" | sha256sum | cut -d' ' -f1)" \
			"$sum" "$v: /$f read $n bytes at a time"
	done
	assert_eq "$("$FSREAD" "$img" cat /l/rel)" "a small file" "$v: link"
	assert_eq "$("$FSWALK" xfs "$img" cat /d/btree/../node/entry-01499-xxxx)" \
		"one inode, many names" "$v: lookup through .. and a node directory"
	expect_fail "no entry 'btree-000007-" "$FSWALK" xfs "$img" cat \
		/d/btree/btree-000007-zzzzzzz
	expect_fail "no entry 'nope'" "$FSWALK" xfs "$img" cat /d/leaf/nope

	# the fixture holds what this test is about
	if [ $v = v5 ]; then u=u3 leafm=0x3df1 nodem=0x3ebe; else u=u leafm=0xd2f1 nodem=0xfebe; fi
	leafblk=$((32 << 30 >> 12))
	want "d/sf" "$(db "$img" /d/sf "p core.format")" "(local)"
	want "d/block" "$(db "$img" /d/block "p core.format core.size")" "(extents) core.size = 4096 "
	want "d/leaf" "$(db "$img" /d/leaf "dblock $leafblk" "type dir3" "p lhdr.info.hdr.magic")" "= $leafm "
	want "d/node" "$(db "$img" /d/node "p core.format")" "(extents)"
	want "d/node" "$(db "$img" /d/node "dblock $leafblk" "type dir3" "p nhdr.info.hdr.magic")" "= $nodem "
	want "d/btree" "$(db "$img" /d/btree "p core.format")" "(btree)"
	want "d/collide" "$(db "$img" /d/collide "dblock $leafblk" "type dir3" "p nhdr.count")" "nhdr.count = "
	h1=$(xfs_db -r "$img" -c "hash collide-cccccccccccccccc" 2>&1)
	h2=$(xfs_db -r "$img" -c "hash bollile-cccccccccccccccc" 2>&1)
	[ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "$v: the collide names do not collide ($h1 / $h2)"
	want "f/few.bin" "$(db "$img" /f/few.bin "p core.format core.nextents")" "(extents) core.nextents = 6 "
	want "f/many-a.bin" "$(db "$img" /f/many-a.bin "p core.format $u.bmbt.level")" "(btree) $u.bmbt.level = 1 "
	want "f/punched.bin" "$(db "$img" /f/punched.bin "p $u.bmbt.level core.nextents")" "$u.bmbt.level = 2 core.nextents = 8192 "
	want "f/unwritten-many.bin" "$(db "$img" /f/unwritten-many.bin "bmap")" "flag 1"
	want "f/prealloc.bin" "$(db "$img" /f/prealloc.bin "bmap")" "flag 1"
	want "l/remote-1k" "$(db "$img" /l/remote-1k "p core.format")" "(extents)"
	want "l/rel" "$(db "$img" /l/rel "p core.format")" "(local)"
	if [ $v = v5 ]; then
		a=$(db "$img" /f/random1m.bin bmap | grep -o 'startblock [0-9]*')
		b=$(db "$img" /f/reflink-whole.bin bmap | grep -o 'startblock [0-9]*')
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "$v: reflink-whole.bin shares no blocks ($a / $b)"
	fi
	rm -f "$img"

	# inode numbers past 32 bits (sparse image of 2^28-block AGs)
	img="$T/$v-bigino.img"
	if [ $v = v5 ]; then
		# also: 64-bit extent counters, 16 KiB directory blocks
		truncate -s 3T "$img"
		mkfs.xfs -q -f -d agsize=268435455b -l size=64m -i nrext64=1 \
			-n size=16384 "$img"
		want "superblock" "$(xfs_db -r "$img" -c 'sb 0' -c 'p features_incompat dirblklog' 2>&1)" "dirblklog = 2"
		xfs_db -r "$img" -c 'version' 2>&1 | grep -q NREXT64 ||
			fail "$v: mkfs.xfs made no NREXT64 file system"
	else
		truncate -s 2T "$img"
		mkfs.xfs -q -f -m crc=0 -i size=256 -d agsize=268435455b -l size=64m "$img" 2>/dev/null
	fi
	kmount "$img"
	python3 "$D/kfill.py" "$MNT" bigino || fail "$v: populating the big-inode fixture"
	max=$(find "$MNT" -printf '%i\n' | sort -n | tail -1)
	[ "$max" -gt 4294967295 ] || fail "$v: no inode number past 32 bits (max $max)"
	compare "$img" "$v big inode numbers"
	[ $v = v4 ] || want "ag2/sub" "$(db "$img" /ag2/sub "dblock $leafblk" "type dir3" "p lhdr.info.hdr.magic")" "= $leafm "
	rm -f "$img"
	echo "$v: OK"
done
echo OK
