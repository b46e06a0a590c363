#!/bin/bash
# Broken NTFS images: clear errors, no crash, no sanitizer report, and
# libntfs-3g never prints.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
FIXTURE=$2
need mkntfs python3
PY=$(command -v /usr/bin/python3 || command -v python3)

poke() { # IMG OFFSET HEXBYTES
	"$PY" -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2], 0))
f.write(bytes.fromhex(sys.argv[3]))' "$@"
}

img=$T/ntfs.img
truncate -s 32M "$img"
mkntfs -F -Q "$img" >/dev/null 2>&1 || fail mkntfs
head -c 2000000 /dev/urandom > "$T/big"
"$FIXTURE" "$img" mkdir:/Windows "file:/Windows/big=$T/big" || fail fixture
"$FSREAD" "$img" cat /Windows/big | cmp -s - "$T/big" || fail "base image"

# geometry from the boot sector
bps=$("$PY" -c 'import struct,sys; print(struct.unpack_from("<H", open(sys.argv[1],"rb").read(512), 11)[0])' "$img")
spc=$("$PY" -c 'import sys; print(open(sys.argv[1],"rb").read(512)[13])' "$img")
mftlcn=$("$PY" -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(512), 48)[0])' "$img")
mft=$((mftlcn * bps * spc))

# the $MFT record itself destroyed (and its mirror, so no fallback)
cp "$img" "$T/bad.img"
poke "$T/bad.img" $mft 00000000
mirlcn=$("$PY" -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(512), 56)[0])' "$img")
poke "$T/bad.img" $((mirlcn * bps * spc)) 00000000
expect_fail "ntfs: .*cannot mount" "$FSREAD" "$T/bad.img" ls /
[ ! -s "$T/out" ] || fail "stdout not empty"
grep -v '^fsread:' "$T/err" && fail "libntfs-3g printed something"

# the root directory record (5) broken: lookups fail, nothing crashes
cp "$img" "$T/bad.img"
poke "$T/bad.img" $((mft + 5 * 1024)) 00000000
expect_fail "ntfs: " "$FSREAD" "$T/bad.img" cat /Windows/big

# insane boot sectors are not NTFS
for patch in "11 0000" "11 0302" "13 03" "14 0100" "64 e0"; do
	cp "$img" "$T/bad.img"
	poke "$T/bad.img" $patch
	expect_fail "no known file system" "$FSREAD" "$T/bad.img" ls /
done

# truncated: at the boot sector, before the MFT, inside the file's data
head -c 300 "$img" > "$T/short.img"
expect_fail "no known file system" "$FSREAD" "$T/short.img" ls /
head -c $((mft / 2)) "$img" > "$T/short.img"
expect_fail "truncated" "$FSREAD" "$T/short.img" ls /
# cut after the metadata, inside the file's data
size=$(stat -c %s "$img")
head -c $((size / 2)) "$img" > "$T/short.img"
expect_fail "truncated" "$FSREAD" "$T/short.img" cat /Windows/big
echo ok
