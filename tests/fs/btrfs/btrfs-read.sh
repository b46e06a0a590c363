#!/bin/bash
# Btrfs images populated from a host tree with mkfs.btrfs --rootdir (no
# mount), with DUP and SINGLE metadata and 4 KiB / 16 KiB nodes: every
# file, directory listing and symlink read by vmie equals the host
# original; uuid/label/type equal blkid's.  A btrfs-convert'ed ext4 image
# adds a subvolume (ext2_saved) that vmie must cross, count and name, and
# whose files must equal what `btrfs restore` extracts.
source "$SRCDIR/tests/functions.sh"
need mkfs.btrfs python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
D="$SRCDIR/tests/fs/xfs"

"$D/mktree.sh" "$T/tree"
python3 "$D/hostwalk.py" "$T/tree" > "$T/host.txt"

check_ids() { # image
	p=$("$FSWALK" btrfs "$1" probe)
	echo "$p"
	case "$p" in *"type=btrfs "*) ;; *) fail "probe: $p" ;; esac
	if command -v blkid >/dev/null; then
		u=$(blkid -o value -s UUID "$1")
		l=$(blkid -o value -s LABEL "$1")
		case "$p" in *"uuid=$u label=$l "*) ;; *) fail "blkid says $u/$l" ;; esac
	fi
}

n=0
for opts in "-m dup -d single" "-m single -d single" "-m dup -d single -n 4096"; do
	n=$((n + 1))
	img="$T/b$n.img"
	truncate -s 256M "$img"
	# shellcheck disable=SC2086
	mkfs.btrfs -q -f -L "btrfs-$n" $opts -r "$T/tree" "$img" >/dev/null 2>&1 ||
		fail "mkfs.btrfs $opts"
	"$FSWALK" btrfs "$img" walk | sort > "$T/b$n.txt"
	diff -u "$T/host.txt" "$T/b$n.txt" || fail "$opts: tree differs from the host"
	check_ids "$img"
	assert_eq "$("$FSWALK" btrfs "$img" subvols)" "0" "no subvolumes"
	assert_eq "$("$FSWALK" btrfs "$img" readlink /link-long | wc -c)" \
		"$(($(readlink "$T/tree/link-long" | wc -c)))" "long link"
	expect_fail "no entry 'nope'" "$FSWALK" btrfs "$img" cat /etc/nope
done

# through the lib/fs framework (probing, symlinks, ".."), when fsread exists
FSREAD="$BUILDDIR/tests/fs/common/fsread"
if [ -x "$FSREAD" ]; then
	assert_eq "$("$FSREAD" "$T/b1.img" cat /link-abs | sha256sum)" \
		"$(sha256sum < "$T/tree/etc/os-release")" "fsread link-abs"
	assert_eq "$("$FSREAD" "$T/b2.img" cat /link-dir/../../file-b)" "b level" "fsread .."
fi

# a subvolume: btrfs-convert keeps the ext4 image in subvolume ext2_saved
if command -v btrfs-convert >/dev/null && command -v mkfs.ext4 >/dev/null; then
	img="$T/conv.img"
	truncate -s 128M "$img"
	mkfs.ext4 -q -F -b 4096 -d "$T/tree" -L conv "$img"
	btrfs-convert "$img" >/dev/null 2>&1 || fail "btrfs-convert"
	check_ids "$img"
	assert_eq "$("$FSWALK" btrfs "$img" subvols | tr '\n' ' ')" "1 ext2_saved " "subvolumes"
	"$FSWALK" btrfs "$img" walk | sort | grep -v -e ' /ext2_saved' -e ' /lost+found' > "$T/conv.txt"
	diff -u "$T/host.txt" "$T/conv.txt" || fail "converted tree differs from the host"
	if command -v btrfs >/dev/null; then
		mkdir "$T/restore"
		btrfs restore -s -S "$img" "$T/restore" >/dev/null 2>&1 || fail "btrfs restore"
		[ -f "$T/restore/ext2_saved/image" ] || fail "restore made no ext2_saved/image"
		assert_eq "$("$FSWALK" btrfs "$img" cat /ext2_saved/image | sha256sum)" \
			"$(sha256sum < "$T/restore/ext2_saved/image")" "ext2_saved/image vs btrfs restore"
		assert_eq "$("$FSWALK" btrfs "$img" cat /random1m.bin | sha256sum)" \
			"$(sha256sum < "$T/restore/random1m.bin")" "random1m.bin vs btrfs restore"
	fi
	if [ -x "$FSREAD" ]; then
		"$FSREAD" "$img" ls /ext2_saved | grep -qx 'f image' || fail "fsread: no ext2_saved/image"
	fi
fi
echo OK
