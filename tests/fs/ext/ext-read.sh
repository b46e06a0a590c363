#!/bin/bash
# ext2/3/4 images made by mke2fs -d from a directory tree: every file reads
# back equal to the original (and to debugfs), symlinks resolve inside the
# guest, probe matches blkid.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
need mkfs.ext2 mkfs.ext3 mkfs.ext4 debugfs blkid

src=$T/src
mkdir -p "$src/etc/default" "$src/usr/lib/deep/er/still" "$src/boot"
echo "debian-guest" > "$src/etc/hostname"
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n' \
	> "$src/usr/lib/os-release"
ln -s ../usr/lib/os-release "$src/etc/os-release"          # relative
ln -s /etc/hostname "$src/boot/abs-link"                     # absolute
ln -s /etc/shadow "$src/host-escape"      # absent in the guest, not the host
ln -s loop-b "$src/loop-a"
ln -s loop-a "$src/loop-b"
ln -s /usr/lib/deep "$src/deeplink"
head -c 204800 /dev/urandom > "$src/usr/lib/big.bin"         # 200 KiB
truncate -s 3M "$src/sparse.img"                              # holes
echo "in the middle" | dd of="$src/sparse.img" bs=1 seek=1048576 conv=notrunc 2>/dev/null
echo tail >> "$src/sparse.img"
echo tiny > "$src/etc/default/tiny"                           # inline data
echo "deep file" > "$src/usr/lib/deep/er/still/file.txt"
: > "$src/empty"
long=$(printf 'n%.0s' $(seq 1 255))
echo "long name" > "$src/$long"

check_fs() { # type mkfs-options...
	local type=$1; shift
	local img=$T/$type.img
	rm -f "$img"
	truncate -s 32M "$img"
	"mkfs.$type" -q -F -L "lbl-$type" -d "$src" "$@" "$img" \
		|| fail "mkfs.$type"

	# probe equals blkid -p
	local b p key
	b=$(blkid -p -o export "$img")
	p=$("$FSREAD" "$img" probe)
	for key in TYPE UUID LABEL; do
		assert_eq "$(echo "$p" | grep "^$key=")" \
			"$(echo "$b" | grep "^$key=")" "$type $key"
	done
	echo "$p" | grep -q '^READABLE=1' || fail "$type not readable"

	# every regular file equals the original; symlinks give their target
	local n=0 f rel
	while IFS= read -r f; do
		rel=${f#"$src"}
		"$FSREAD" "$img" cat "$rel" > "$T/out" || fail "$type cat $rel"
		cmp -s "$T/out" "$f" || fail "$type: $rel differs"
		n=$((n + 1))
	done < <(find "$src" -type f)
	[ "$n" -ge 8 ] || fail "only $n files compared"
	while IFS= read -r f; do
		rel=${f#"$src"}
		assert_eq "$("$FSREAD" "$img" readlink "$rel")" "$(readlink "$f")" \
			"$type readlink $rel"
	done < <(find "$src" -type l)

	# the listing matches the tree (names, types, file sizes)
	(cd "$src" && find . -mindepth 1 \( -type f -printf 'f %s /%P\n' \) -o \
		\( -type d -printf 'd 0 /%P\n' \) -o \( -type l -printf 'l %s /%P\n' \)) \
		| sort > "$T/want"
	"$FSREAD" "$img" find | grep -v ' /lost+found' | sort > "$T/got"
	diff "$T/want" "$T/got" >&2 || fail "$type: listing differs"

	# content equals what debugfs reads
	debugfs -R "cat /usr/lib/big.bin" "$img" 2>/dev/null > "$T/dbg"
	"$FSREAD" "$img" cat /usr/lib/big.bin | cmp -s - "$T/dbg" \
		|| fail "$type: differs from debugfs"

	"$FSREAD" "$img" chunks /usr/lib/big.bin 5000 | cmp -s - "$src/usr/lib/big.bin" \
		|| fail "$type chunks"
	"$FSREAD" "$img" chunks /sparse.img 65536 | cmp -s - "$src/sparse.img" \
		|| fail "$type chunks sparse"

	# links are followed inside the guest
	assert_eq "$("$FSREAD" "$img" cat /etc/os-release | sed -n 2p)" "ID=debian"
	assert_eq "$("$FSREAD" "$img" cat /boot/abs-link)" "debian-guest"
	assert_eq "$("$FSREAD" "$img" cat /deeplink/er/still/file.txt)" "deep file"
	assert_eq "$("$FSREAD" "$img" cat /usr/lib/deep/../deep/./er/still/file.txt)" "deep file"
	expect_fail "not found" "$FSREAD" "$img" cat /host-escape
	expect_fail "symbolic links" "$FSREAD" "$img" cat /loop-a
	expect_fail "not found" "$FSREAD" "$img" cat /etc/nothere
	expect_fail "not a directory" "$FSREAD" "$img" cat /etc/hostname/x
	expect_fail "is a directory" "$FSREAD" "$img" cat /etc
	"$FSREAD" "$img" exists /loop-a || fail "lstat of a loop link"

	# stat
	local st
	st=$("$FSREAD" "$img" stat /usr/lib/big.bin)
	echo "$st" | grep -qx 'size=204800' || fail "$type stat size"
	echo "$st" | grep -qx 'type=f' || fail "$type stat type"
	assert_eq "$("$FSREAD" "$img" lstat /etc/os-release | grep type=)" "type=l"
	assert_eq "$("$FSREAD" "$img" stat /etc/os-release | grep type=)" "type=f"
	echo "$type ok"
}

check_fs ext2
check_fs ext3
if mkfs.ext4 -q -F -O inline_data "$T/probe.img" 4M >/dev/null 2>&1; then
	check_fs ext4 -O inline_data
	# tiny was stored inline
	debugfs -R "stat /etc/default/tiny" "$T/ext4.img" 2>/dev/null \
		| grep -qi 'inline' || echo "note: tiny not stored inline"
else
	check_fs ext4
fi
# ext4 with 4 KiB blocks and 64bit
check_fs ext4 -b 4096 -O 64bit
