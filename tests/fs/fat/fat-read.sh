#!/bin/bash
# FAT12/16/32 images made by mkfs.fat and filled with mtools (long names,
# nested directories, a file over many clusters): every file reads back
# equal, names are case-insensitive, probe matches blkid.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
need mkfs.fat mmd mcopy blkid
export MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0

src=$T/src
mkdir -p "$src/EFI/BOOT" "$src/Program Files/Common Files/Deeply Nested"
echo "grub config" > "$src/EFI/BOOT/grub.cfg"
head -c 300000 /dev/urandom > "$src/EFI/BOOT/BOOTX64.EFI"       # many clusters
echo "mixed" > "$src/Program Files/Common Files/Deeply Nested/A Long Name With Spaces.txt"
echo "lower" > "$src/lower.txt"
echo "upper" > "$src/UPPER.TXT"
echo "exactly 8.3" > "$src/README.MD"
echo "utf8" > "$src/Café – ünïcödé.txt"
: > "$src/empty.dat"
long=$(printf 'L%.0s' $(seq 1 200))
echo "long" > "$src/$long.txt"
# a directory with enough entries to span several clusters
mkdir -p "$src/many"
for i in $(seq 1 60); do echo "$i" > "$src/many/file number $i.txt"; done

check_fat() { # bits size
	local bits=$1 size=$2 img=$T/fat$1.img
	rm -f "$img"
	truncate -s "$size" "$img"
	mkfs.fat -F "$bits" -n "VOL$bits" -i 1234ABCD "$img" >/dev/null \
		|| fail "mkfs.fat -F $bits"
	mcopy -s -i "$img" "$src"/* ::/ || fail "mcopy"

	local b p key
	b=$(blkid -p -o export "$img")
	p=$("$FSREAD" "$img" probe)
	for key in TYPE UUID LABEL VERSION; do
		assert_eq "$(echo "$p" | grep "^$key=")" \
			"$(echo "$b" | grep "^$key=")" "fat$bits $key"
	done
	assert_eq "$(echo "$p" | grep '^UUID=')" "UUID=1234-ABCD"

	# contents (the "many" directory: a sample, its listing is checked)
	local n=0 f rel
	while IFS= read -r f; do
		rel=${f#"$src"}
		"$FSREAD" "$img" cat "$rel" > "$T/out" || fail "fat$bits cat $rel"
		cmp -s "$T/out" "$f" || fail "fat$bits: $rel differs"
		n=$((n + 1))
	done < <(find "$src" -type f \( ! -path '*/many/*' -o -name '*5?.txt' \))
	[ "$n" -ge 15 ] || fail "only $n files"

	(cd "$src" && find . -mindepth 1 \( -type f -printf 'f %s /%P\n' \) -o \
		\( -type d -printf 'd 0 /%P\n' \)) | sort > "$T/want"
	"$FSREAD" "$img" find | sort > "$T/got"
	diff "$T/want" "$T/got" >&2 || fail "fat$bits: listing differs"

	# case-insensitive, and the 8.3 aliases work as on Windows
	assert_eq "$("$FSREAD" "$img" cat /efi/boot/GRUB.CFG)" "grub config"
	assert_eq "$("$FSREAD" "$img" cat "/program files/COMMON FILES/deeply nested/a long name with spaces.txt")" "mixed"
	assert_eq "$("$FSREAD" "$img" cat /PROGRA~1/COMMON~1/DEEPLY~1/ALONGN~1.TXT)" "mixed"
	assert_eq "$("$FSREAD" "$img" cat "/CAFÉ – ÜNÏCÖDÉ.TXT")" "utf8"
	# 8.3 names keep their case flags (lower.txt is stored LOWER.TXT + flags)
	"$FSREAD" "$img" ls / | grep -qx 'f lower.txt' || fail "case flags"
	"$FSREAD" "$img" ls / | grep -qx 'f UPPER.TXT' || fail "upper case"
	expect_fail "not found" "$FSREAD" "$img" cat /nothere
	expect_fail "no symbolic links|not a symbolic link" "$FSREAD" "$img" readlink /README.MD
	"$FSREAD" "$img" stat /EFI/BOOT/BOOTX64.EFI | grep -qx 'size=300000' \
		|| fail "stat"
	# partial reads at many offsets (the chain position is cached)
	for c in 1000 4096 65537; do
		"$FSREAD" "$img" chunks /EFI/BOOT/BOOTX64.EFI $c \
			| cmp -s - "$src/EFI/BOOT/BOOTX64.EFI" || fail "fat$bits chunks $c"
	done
	echo "fat$bits ok"
}

check_fat 12 8M
check_fat 16 32M
check_fat 32 64M
