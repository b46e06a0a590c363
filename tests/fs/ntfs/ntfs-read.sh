#!/bin/bash
# NTFS images made by mkntfs and populated without FUSE (ntfs_fixture for
# directories, files and reparse points; ntfscp for a file): every file
# reads back equal, paths are case-insensitive as on Windows, symlinks and
# junctions resolve inside the guest, probe matches blkid.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
FIXTURE=$2
need mkntfs ntfscp ntfscat blkid

img=$T/ntfs.img
truncate -s 64M "$img"
mkntfs -F -Q -L "Windows Vol" "$img" >/dev/null 2>&1 || fail mkntfs

echo "regf fake hive" > "$T/SOFTWARE"
head -c 300000 /dev/urandom > "$T/big"
echo "ProductName" > "$T/small"
: > "$T/empty"
"$FIXTURE" "$img" mkdir:/Windows mkdir:/Windows/System32 \
	mkdir:/Windows/System32/config mkdir:/Windows/System32/drivers \
	mkdir:/Users mkdir:/Users/Public "mkdir:/Program Files" \
	"file:/Windows/System32/drivers/big driver.sys=$T/big" \
	"file:/Windows/System32/config/SYSTEM=$T/small" \
	"file:/Users/Public/empty.txt=$T/empty" \
	"file:/Users/Public/Résumé ünïcode.txt=$T/small" \
	'symlink:/Windows/syslink=C:\Windows\System32' \
	'symlink:/Windows/rel=System32\config\SYSTEM' \
	'junction:/Documents and Settings=C:\Users' \
	|| fail "fixture"
# ntfscp copies into an existing directory (no FUSE needed)
ntfscp -f "$img" "$T/SOFTWARE" /Windows/System32/config/SOFTWARE \
	>/dev/null 2>&1 || fail ntfscp

p=$("$FSREAD" "$img" probe)
for key in TYPE UUID LABEL; do
	assert_eq "$(echo "$p" | sed -n "s/^$key=//p")" \
		"$(blkid -p -s $key -o value "$img")" "ntfs $key"
done
echo "$p" | grep -qx 'VERSION=3.1' || fail "version"

# contents, exact and case-insensitive paths
"$FSREAD" "$img" cat /Windows/System32/config/SOFTWARE | cmp -s - "$T/SOFTWARE" \
	|| fail "SOFTWARE"
"$FSREAD" "$img" cat /windows/system32/config/software | cmp -s - "$T/SOFTWARE" \
	|| fail "software (case-insensitive)"
"$FSREAD" "$img" cat "/WINDOWS/SYSTEM32/DRIVERS/BIG DRIVER.SYS" | cmp -s - "$T/big" \
	|| fail "big driver"
"$FSREAD" "$img" chunks "/Windows/System32/drivers/big driver.sys" 7000 \
	| cmp -s - "$T/big" || fail "chunks"
ntfscat "$img" "/Windows/System32/drivers/big driver.sys" 2>/dev/null \
	| cmp -s - "$T/big" || fail "ntfscat disagrees"
"$FSREAD" "$img" cat "/users/public/RÉSUMÉ ÜNÏCODE.TXT" | cmp -s - "$T/small" \
	|| fail "unicode case folding"
assert_eq "$("$FSREAD" "$img" cat /Users/Public/empty.txt | wc -c)" 0
"$FSREAD" "$img" stat "/Windows/System32/drivers/big driver.sys" \
	| grep -qx 'size=300000' || fail "stat size"

# links: absolute (C:\...) inside the guest, relative, junction
assert_eq "$("$FSREAD" "$img" lstat /Windows/syslink | grep type=)" "type=l"
assert_eq "$("$FSREAD" "$img" readlink /Windows/syslink)" "/Windows/System32"
assert_eq "$("$FSREAD" "$img" cat /Windows/syslink/config/SYSTEM)" "ProductName"
assert_eq "$("$FSREAD" "$img" cat /Windows/rel)" "ProductName"
assert_eq "$("$FSREAD" "$img" readlink "/Documents and Settings")" "/Users"
assert_eq "$("$FSREAD" "$img" ls "/documents and settings/public" | tr '\n' ' ')" \
	"f Résumé ünïcode.txt f empty.txt "

# listing: user files; the metadata files (MFT records 0-15, $Extend and
# what is in it) are hidden as with ntfs-3g's default, but reachable by path
"$FSREAD" "$img" find > "$T/find"
grep -qx 'f 300000 /Windows/System32/drivers/big driver.sys' "$T/find" || fail find
grep -q '\$' "$T/find" && { grep '\$' "$T/find" >&2; fail "metadata files listed"; }
assert_eq "$("$FSREAD" "$img" ls / | tr '\n' ' ')" \
	"l Documents and Settings d Program Files d Users d Windows " "root listing"
for f in '$MFT' '$MFTMirr' '$LogFile' '$Volume' '$AttrDef' '$Bitmap' '$Boot' \
	'$BadClus' '$Secure' '$UpCase'; do
	"$FSREAD" "$img" lstat "/$f" | grep -qx 'type=f' || fail "/$f by path"
done
"$FSREAD" "$img" lstat '/$Extend' | grep -qx 'type=d' || fail '$Extend by path'
assert_eq "$("$FSREAD" "$img" ls '/$Extend')" "" '$Extend listed empty'
"$FSREAD" "$img" exists '/$Extend/$Quota' || fail '$Extend/$Quota by path'
"$FSREAD" "$img" cat '/$MFT' | head -c 4 | grep -q FILE || fail '$MFT content'
ntfscat "$img" '$Boot' 2>/dev/null | cmp -s - <("$FSREAD" "$img" cat '/$boot') \
	|| fail '$Boot differs from ntfscat'
grep -q '~' "$T/find" && fail "DOS 8.3 names listed"
"$FSREAD" "$img" ls / | grep -qx 'd Windows' || fail "ls"

expect_fail "not found" "$FSREAD" "$img" cat /Windows/nothere
expect_fail "is a directory" "$FSREAD" "$img" cat /Windows
echo ok
