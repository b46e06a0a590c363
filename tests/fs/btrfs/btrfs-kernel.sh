#!/bin/bash
# Btrfs written by the running kernel (loop mount), then read by vmie without
# mounting: compressed extents (zlib, lzo, zstd; inline and regular; split by
# overwrites so that file extents start inside a compressed extent; LZO
# segment headers padded to the next sector), reflinked extents, holes with
# NO_HOLES on and off, prealloc extents, files of thousands of extents, a
# directory of 6000 entries, subvolumes, a nested subvolume, snapshots (whose
# copy of the nested subvolume is an empty placeholder, as Linux shows it),
# the default subvolume, hard links and special files.  The tree vmie reads
# must equal the manifest recorded while mounted (content hash, size, mode,
# owner, link count, mtime, symlink target, listings); dump-tree confirms the
# fixture holds what the test means to cover.  Needs root and loop devices
# (skips otherwise); always unmounts and detaches.
source "$SRCDIR/tests/functions.sh"
need mkfs.btrfs btrfs losetup mount umount python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
FSREAD="$BUILDDIR/tests/fs/common/fsread"
HW="$SRCDIR/tests/fs/xfs/hostwalk.py"
B="$SRCDIR/tests/fs/btrfs"
loop_mounts

first=1
kmount() { # image [mount options]
	LOOP=$(losetup -f --show "$1") || {
		LOOP=""
		[ $first = 1 ] && skip "no loop device"; fail "losetup"
	}
	if ! mount -t btrfs ${2:+-o "$2"} "$LOOP" "$MNT"; then
		losetup -d "$LOOP"; LOOP=""
		[ $first = 1 ] && skip "cannot mount btrfs here"; fail "mount"
	fi
	first=0
}
kumount() {
	umount "$MNT"
	losetup -d "$LOOP"
	LOOP=""
}
# the placeholder of a nested subvolume gets the current time as mtime
mask() { sed -E 's#^(d /snap[^ ]*/nested [0-9]+ [0-9]+ [0-9]+ [0-9]+) [0-9]+$#\1 T#'; }
walk() { # image out
	"$FSWALK" btrfs "$1" walkmeta > "$2.raw"
	LC_ALL=C sort "$2.raw" | mask > "$2"
}
fact() { awk -v k="$1" '$1 == k { print $2 }' "$T/facts"; }
need_fact() { # name minimum
	local v
	v=$(fact "$1")
	[ "${v:-0}" -ge "$2" ] || fail "$name: fixture has $1=${v:-0}, wants >= $2"
}

for variant in "no-holes:" "holes:-O ^no-holes -n 4096"; do
	name=${variant%%:*}
	opts=${variant#*:}
	img="$T/$name.img"
	# stale bytes everywhere (no discard): prealloc extents must still
	# read as zeros
	yes "stale $name bytes" | head -c 256M > "$img"
	# shellcheck disable=SC2086
	mkfs.btrfs -q -f -K -L "k-$name" $opts "$img" >/dev/null 2>&1 || fail "mkfs.btrfs $opts"
	kmount "$img"
	python3 "$B/kfill.py" "$MNT" || fail "$name: populating the fixture"
	python3 "$HW" --meta "$MNT" | LC_ALL=C sort | mask > "$T/host.txt"
	python3 "$HW" --meta "$MNT/sv1" | LC_ALL=C sort > "$T/host-sv1.txt"
	kumount

	# the whole tree, from the top-level subvolume
	walk "$img" "$T/vmie.txt"
	diff -u "$T/host.txt" "$T/vmie.txt" > "$T/diff" || {
		head -40 "$T/diff"; fail "$name: vmie's tree differs from the kernel's"; }
	[ "$(wc -l < "$T/vmie.txt")" -gt 6000 ] || fail "$name: walk too short"

	# reads at odd offsets and sizes, through the framework
	for f in zstd/overwrite.txt:4097 zlib/reflink-part.txt:4097 \
		 plain/prealloc-part.bin:4097 plain/punched.bin:4097 \
		 lzo/odd.txt:4097 lzo/text4m.txt:65537 plain/frag-a.bin:65537 \
		 plain/sparse.bin:1000001; do
		n=${f#*:} f=${f%:*}
		want=$(awk -v p="/$f" '$1 == "f" && $2 == p { print $4 }' "$T/host.txt")
		[ -n "$want" ] || fail "$f not in the manifest"
		assert_eq "$("$FSREAD" "$img" chunks "/$f" "$n" | sha256sum | cut -d' ' -f1)" \
			"$want" "$name: /$f read $n bytes at a time"
	done
	# paths across subvolume boundaries (framework and driver ".."),
	# placeholder of a nested subvolume in a snapshot
	assert_eq "$("$FSREAD" "$img" cat /sv1/nested/up-link)" \
		"inside sv1, changed after snapshot" "$name: link out of a nested subvolume"
	assert_eq "$("$FSWALK" btrfs "$img" cat /sv1/nested/sub/../../in-sv1.txt)" \
		"inside sv1, changed after snapshot" "$name: .. across subvolumes"
	assert_eq "$("$FSWALK" btrfs "$img" cat /snap1/in-sv1.txt)" "inside sv1" \
		"$name: snapshot content"
	assert_eq "$("$FSWALK" btrfs "$img" ls /snap1/nested)" "" "$name: placeholder listing"
	expect_fail "no entry 'deep.txt'" "$FSWALK" btrfs "$img" cat /snap1/nested/deep.txt
	assert_eq "$("$FSWALK" btrfs "$img" subvols | tr '\n' ' ')" \
		"5 sv1 nested snap1 snap-ro sv2 " "$name: subvolumes"

	# the fixture holds what this test is about
	python3 "$B/kfacts.py" "$img" > "$T/facts"
	tr "\n" " " < "$T/facts"; echo
	for c in zlib lzo zstd; do
		need_fact "inline-$c" 2
		need_fact "regular-$c" 40
	done
	need_fact partial-compressed 10
	need_fact prealloc 4
	need_fact shared 10
	need_fact max-extents 1500
	need_fact max-dir-index 6000
	need_fact max-dir-item-names 40
	need_fact subvol-refs 3
	need_fact lzo-segments 3000
	need_fact lzo-pads 1
	if [ "$name" = holes ]; then
		need_fact holes 10
	else
		assert_eq "$(fact holes)" "" "$name: hole extents with NO_HOLES"
	fi

	# the default subvolume becomes the root
	kmount "$img"
	btrfs subvolume set-default "$MNT/sv1" >/dev/null || fail "set-default"
	kumount
	walk "$img" "$T/vmie-sv1.txt"
	diff -u "$T/host-sv1.txt" "$T/vmie-sv1.txt" || fail "$name: default subvolume differs"
	assert_eq "$("$FSREAD" "$img" cat /nested/up-link)" \
		"inside sv1, changed after snapshot" "$name: default subvolume path"
	rm -f "$img"
	echo "$name: OK ($(wc -l < "$T/vmie.txt") entries)"
done
echo OK
