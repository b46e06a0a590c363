#!/bin/bash
# Partition tables made by sfdisk and sgdisk on sparse files, read by
# lib/part (through tests/part/part-tool) and compared with what sfdisk
# --json and blkid -p report: offsets, sizes, types, GUIDs, names, flags.
source "$SRCDIR/tests/functions.sh"
need sfdisk sgdisk jq blkid partx
set -o pipefail     # a crash of part-tool inside a pipe fails the test
PT="$BUILDDIR/tests/part/part-tool"

# sfdisk's view as "part N start size type uuid bootable" lines
sfdisk_parts() {
	sfdisk --json "$1" | jq -r '.partitiontable.partitions[] |
		"part \(.node | capture("(?<n>[0-9]+)$").n) \(.start) \(.size) " +
		"\(.type | ascii_downcase) \((.uuid // "-") | ascii_downcase) " +
		"\(if (.bootable // false) or ((.attrs // "") | test("LegacyBIOSBootable")) then 1 else 0 end)"'
}
# sfdisk --json has no PARTUUID for MBR partitions: take it from partx
sfdisk_parts_uuid() {
	if [ "$(sfdisk --json "$1" | jq -r .partitiontable.label)" = dos ]; then
		sfdisk_parts "$1" | while read -r w n s z t _ b; do
			u=$(partx -g -o UUID -n "$n" "$1" | tr -d ' ')
			echo "$w $n $s $z $t ${u:--} $b"
		done
	else
		sfdisk_parts "$1"
	fi
}
ours() { "$PT" pt "$1" | grep '^part ' | cut -d' ' -f1-7; }
compare() {
	local img=$1 what=$2
	sfdisk_parts_uuid "$img" > "$T/theirs"
	ours "$img" > "$T/ours"
	diff -u "$T/theirs" "$T/ours" || fail "$what: partitions differ from sfdisk"
	# table id and type against blkid
	local id type
	eval "$(blkid -p -o export "$img" | grep -E '^PT(UUID|TYPE)=' | sed 's/^/B_/')"
	read -r _ type id _ < <("$PT" pt "$img" | grep '^table ')
	assert_eq "$type" "${B_PTTYPE:-none}" "$what: table type"
	assert_eq "$id" "${B_PTUUID:-}" "$what: PTUUID"
	unset B_PTTYPE B_PTUUID
}
flag() { "$PT" pt "$1" | grep '^flags ' | tr ' ' '\n' | sed -n "s/^$2=//p"; }
kind() { "$PT" pt "$1" | awk -v n="$2" '$1 == "part" && $2 == n { print $8 }'; }

# 1. four primaries, the first active
truncate -s 64M "$T/mbr4.img"
printf 'label: dos\n,8M,83,*\n,8M,7\n,8M,c\n,,82\n' | sfdisk -q "$T/mbr4.img"
compare "$T/mbr4.img" "4 primaries"
assert_eq "$(flag "$T/mbr4.img" n_primary)" 4 "n_primary"
assert_eq "$(kind "$T/mbr4.img" 2)" ntfs "kind of 0x07"
assert_eq "$(kind "$T/mbr4.img" 3)" fat32 "kind of 0x0c"
assert_eq "$(kind "$T/mbr4.img" 4)" linux-swap "kind of 0x82"
assert_eq "$(flag "$T/mbr4.img" bootcode)" 0 "sfdisk writes no boot code"

# 2. extended partition with three logicals
truncate -s 64M "$T/ext.img"
printf 'label: dos\n,8M,83\n,,5\n,4M,83\n,4M,82\n,,8e\n' | sfdisk -q "$T/ext.img"
compare "$T/ext.img" "extended + 3 logicals"
assert_eq "$("$PT" pt "$T/ext.img" | grep -c '^part ')" 5 "partition count"
assert_eq "$(kind "$T/ext.img" 7)" linux-lvm "kind of logical 7"
assert_eq "$(flag "$T/ext.img" n_primary)" 2 "n_primary with extended"
# data written into logical 6 reads back through the window image
start=$(sfdisk --json "$T/ext.img" | jq '.partitiontable.partitions[] | select(.node | endswith("6")) | .start')
head -c 100000 /dev/urandom > "$T/data"
dd if="$T/data" of="$T/ext.img" bs=512 seek="$start" conv=notrunc status=none
"$PT" pcat 6 "$T/ext.img" > "$T/p6"
assert_eq "$(stat -c %s "$T/p6")" $((4 * 1024 * 1024)) "logical 6 size"
head -c 100000 "$T/p6" > "$T/back"
assert_eq "$(sha "$T/back")" "$(sha "$T/data")" "logical 6 contents"

# an MBR with disk id 0 has no PARTUUIDs (like blkid)
truncate -s 16M "$T/id0.img"
printf 'label: dos\nlabel-id: 0x0\n,,83\n' | sfdisk -q "$T/id0.img"
assert_eq "$(sfdisk_parts_uuid "$T/id0.img")" "$(ours "$T/id0.img")" "disk id 0"

# 3. Windows dynamic disk (0x42)
truncate -s 32M "$T/ldm.img"
printf 'label: dos\n,,42\n' | sfdisk -q "$T/ldm.img"
compare "$T/ldm.img" "LDM"
assert_eq "$(flag "$T/ldm.img" ldm)" 1 "0x42 sets ldm"
assert_eq "$(kind "$T/ldm.img" 1)" ldm "kind of 0x42"

# 4. whole-disk file systems and an empty disk: no table
truncate -s 32M "$T/empty.img"
"$PT" pt "$T/empty.img" | grep -q '^table none' || fail "empty disk"
if command -v mkfs.vfat >/dev/null; then
	truncate -s 64M "$T/fat.img"
	mkfs.vfat -F 32 "$T/fat.img" >/dev/null
	"$PT" pt "$T/fat.img" | grep -q '^table none' || fail "whole-disk FAT read as a table"
fi
if command -v mkfs.ext4 >/dev/null; then
	truncate -s 32M "$T/ext4.img"
	mkfs.ext4 -q -F "$T/ext4.img"
	"$PT" pt "$T/ext4.img" | grep -q '^table none' || fail "whole-disk ext4"
fi
if command -v mkntfs >/dev/null; then
	truncate -s 32M "$T/ntfs.img"
	mkntfs -q -F -f "$T/ntfs.img" >/dev/null 2>&1 &&
	{ "$PT" pt "$T/ntfs.img" | grep -q '^table none' || fail "whole-disk NTFS read as a table"; }
fi

# 5. GPT: ESP, BIOS boot, Linux (legacy-bootable), swap, with names
truncate -s 128M "$T/gpt.img"
sgdisk -n1:2048:+32M -t1:ef00 -c1:"EFI System" -n2:0:+1M -t2:ef02 \
	-c2:"BIOS boot" -n3:0:+64M -t3:8300 -c3:"root fs é" -A3:set:2 \
	-n4:0:0 -t4:8200 "$T/gpt.img" >/dev/null
compare "$T/gpt.img" "GPT"
assert_eq "$(kind "$T/gpt.img" 1)" esp "ESP kind"
assert_eq "$(kind "$T/gpt.img" 2)" bios-boot "BIOS boot kind"
assert_eq "$(kind "$T/gpt.img" 3)" linux "Linux kind"
assert_eq "$(kind "$T/gpt.img" 4)" linux-swap "swap kind"
assert_eq "$(flag "$T/gpt.img" protective)" 1 "protective MBR"
assert_eq "$(flag "$T/gpt.img" hybrid)" 0 "not hybrid"
assert_eq "$(flag "$T/gpt.img" primary_ok)$(flag "$T/gpt.img" backup_ok)" 11 "both headers good"
names=$(sfdisk --json "$T/gpt.img" | jq -r '.partitiontable.partitions[] | .name // "-"')
ournames=$("$PT" pt "$T/gpt.img" | grep '^part ' | cut -d' ' -f9-)
assert_eq "$ournames" "$names" "GPT names"
"$PT" pt "$T/gpt.img" | grep -q '^warn' && fail "warnings on a clean GPT"

# 6. GPT with a corrupt primary header: the backup is used, with a warning
cp --sparse=always "$T/gpt.img" "$T/gptbad.img"
printf 'garbage!' | dd of="$T/gptbad.img" bs=1 seek=$((512 + 24)) conv=notrunc status=none
"$PT" pt "$T/gptbad.img" > "$T/bad.out"
grep -q '^warn gpt: primary header bad (header at LBA 1: header CRC-32 mismatch); using the backup' "$T/bad.out" ||
	{ cat "$T/bad.out"; fail "no warning for a bad primary GPT"; }
assert_eq "$(flag "$T/gptbad.img" primary_ok)$(flag "$T/gptbad.img" backup_ok)" 01 "header status"
diff <(ours "$T/gpt.img") <(ours "$T/gptbad.img") || fail "backup GPT lists other partitions"
# and with a corrupt entry array (primary header fine, array CRC wrong)
cp --sparse=always "$T/gpt.img" "$T/gptarr.img"
printf 'X' | dd of="$T/gptarr.img" bs=1 seek=$((1024 + 56)) conv=notrunc status=none
"$PT" pt "$T/gptarr.img" | grep -q 'array CRC-32 mismatch); using the backup' || fail "array CRC not checked"
# both copies bad: an error naming both
cp --sparse=always "$T/gptbad.img" "$T/gptboth.img"
sz=$(stat -c %s "$T/gptboth.img")
printf 'garbage!' | dd of="$T/gptboth.img" bs=1 seek=$((sz - 512 + 24)) conv=notrunc status=none
expect_fail 'primary header bad .* and backup header bad' "$PT" pt "$T/gptboth.img"

# 7. hybrid MBR (sgdisk -h): GPT read, hybrid flagged
truncate -s 64M "$T/hyb.img"
sgdisk -n1:2048:+8M -t1:0700 -n2:0:+8M -t2:8300 -h1:2 "$T/hyb.img" >/dev/null
compare "$T/hyb.img" "hybrid"
assert_eq "$(flag "$T/hyb.img" hybrid)" 1 "hybrid flag"
assert_eq "$(flag "$T/hyb.img" protective)" 1 "0xEE present"
assert_eq "$(flag "$T/hyb.img" n_primary)" 3 "hybrid MBR entries"
# the same hybrid disk with both GPT headers destroyed: the MBR half is read
cp --sparse=always "$T/hyb.img" "$T/hybbad.img"
sz=$(stat -c %s "$T/hybbad.img")
dd if=/dev/zero of="$T/hybbad.img" bs=512 seek=1 count=1 conv=notrunc status=none
dd if=/dev/zero of="$T/hybbad.img" bs=512 seek=$((sz / 512 - 1)) count=1 conv=notrunc status=none
"$PT" pt "$T/hybbad.img" > "$T/hb.out"
grep -q '^table dos' "$T/hb.out" || fail "hybrid fallback to MBR"
grep -q '^warn gpt: unusable' "$T/hb.out" || fail "hybrid fallback warning"

# 8. a 3 TiB sparse disk with GPT (past the MBR limit)
truncate -s 3T "$T/big.img"
sgdisk -n1:0:+1G -n2:0:0 "$T/big.img" >/dev/null
compare "$T/big.img" "3 TiB GPT"
"$PT" pt "$T/big.img" | grep '^part 2' | awk '{ exit !($4 * 512 > 2 * 1024^4) }' ||
	fail "partition 2 should be larger than 2 TiB"
rm -f "$T/big.img"

# 9. boot code classification from known signature bytes
truncate -s 32M "$T/boot.img"
printf 'label: dos\n,,83,*\n' | sfdisk -q "$T/boot.img"
printf '\xeb\x63\x90' | dd of="$T/boot.img" conv=notrunc status=none
printf 'GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n\0' | dd of="$T/boot.img" bs=1 seek=$((0x180)) conv=notrunc status=none
assert_eq "$(flag "$T/boot.img" loader)" grub2 "GRUB 2 boot.img"
printf '\xeb\x48\x90' | dd of="$T/boot.img" conv=notrunc status=none
assert_eq "$(flag "$T/boot.img" loader)" grub-legacy "GRUB legacy stage1"
dd if=/dev/zero of="$T/boot.img" bs=440 count=1 conv=notrunc status=none
printf '\x33\xc0\x8e\xd0\xbc\x00\x7c\xfb' | dd of="$T/boot.img" conv=notrunc status=none
printf 'Invalid partition table\0Error loading operating system\0Missing operating system\0' |
	dd of="$T/boot.img" bs=1 seek=$((0x163)) conv=notrunc status=none
assert_eq "$(flag "$T/boot.img" loader)" windows "Windows MBR"
assert_eq "$(flag "$T/boot.img" bootcode)" 1 "boot code present"
dd if=/dev/zero of="$T/boot.img" bs=440 count=1 conv=notrunc status=none
printf '\x33\xc0\xfa\x8e\xd8\x8e\xd0\xbc\x00\x7c' | dd of="$T/boot.img" conv=notrunc status=none
printf 'Missing operating system.\r\n' | dd of="$T/boot.img" bs=1 seek=$((0x5e)) conv=notrunc status=none
assert_eq "$(flag "$T/boot.img" loader)" syslinux "syslinux mbr.bin"
compare "$T/boot.img" "boot code does not change the table"
echo "ok"
