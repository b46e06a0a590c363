#!/bin/bash
# Broken FAT images: directory cycles, FAT chain loops, clusters out of
# range, truncation, insane BPBs.  Clear errors, no hang, no crash.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
need mkfs.fat mmd mcopy python3
PY=$(command -v /usr/bin/python3 || command -v python3)
export MTOOLS_SKIP_CHECK=1
P="$PY $SRCDIR/tests/fs/fat/fatpatch.py"

head -c 20000 /dev/urandom > "$T/data"
mkdir "$T/D"
for i in $(seq 1 40); do echo "$i" > "$T/D/F$i.TXT"; done

poke() { # IMG OFFSET HEXBYTES
	"$PY" -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2], 0))
f.write(bytes.fromhex(sys.argv[3]))' "$@"
}

for bits in 12 16 32; do
	case $bits in 12) size=1440K;; 16) size=16M;; 32) size=40M;; esac
	img=$T/base$bits.img
	truncate -s $size "$img"
	mkfs.fat -F $bits -s 1 "$img" >/dev/null
	mmd -i "$img" ::/A ::/A/B
	mcopy -i "$img" "$T/data" ::/A/B/F.BIN
	mcopy -s -i "$img" "$T/D" ::/
	"$FSREAD" "$img" cat /A/B/F.BIN | cmp -s - "$T/data" || fail "base$bits"

	# B's entry points to A's cluster: a directory that is its own parent
	cp "$img" "$T/bad.img"
	a=$($P "$T/bad.img" chain /A | cut -d' ' -f1)
	$P "$T/bad.img" setclus /A/B "$a"
	expect_fail "cycle" "$FSREAD" "$T/bad.img" cat /A/B/F.BIN
	expect_fail "cycle|too deep" "$FSREAD" "$T/bad.img" find /

	# on FAT32, B points to the root: a cycle through the parent
	if [ $bits = 32 ]; then
		cp "$img" "$T/bad.img"
		$P "$T/bad.img" setclus /A/B "$($P "$T/bad.img" root)"
		expect_fail "too deep|deeper" "$FSREAD" "$T/bad.img" find /
		"$FSREAD" "$T/bad.img" ls /A/B/A/B/A/B > /dev/null || fail "walk"
	fi

	# the file's chain comes back to its start
	cp "$img" "$T/bad.img"
	set -- $($P "$T/bad.img" chain /A/B/F.BIN)
	[ $# -ge 3 ] || fail "chain too short: $*"
	$P "$T/bad.img" setfat "$3" "$1"
	expect_fail "loops" "$FSREAD" "$T/bad.img" cat /A/B/F.BIN

	# a chain that leaves the volume, and one that ends early
	cp "$img" "$T/bad.img"
	case $bits in 12) oor=0xFF0;; 16) oor=0xFFF0;; 32) oor=0x0FFFFFF0;; esac
	$P "$T/bad.img" setfat "$2" $oor
	expect_fail "not a cluster of the volume|marked bad" \
		"$FSREAD" "$T/bad.img" cat /A/B/F.BIN
	cp "$img" "$T/bad.img"
	$P "$T/bad.img" setfat "$2" 0x0FFFFFFF
	expect_fail "ends before its size" "$FSREAD" "$T/bad.img" cat /A/B/F.BIN
	# a free cluster inside a chain
	cp "$img" "$T/bad.img"
	$P "$T/bad.img" setfat "$2" 0
	expect_fail "not a cluster of the volume" "$FSREAD" "$T/bad.img" cat /A/B/F.BIN
	# first cluster out of range
	cp "$img" "$T/bad.img"
	$P "$T/bad.img" setclus /A/B/F.BIN $oor
	expect_fail "out of range" "$FSREAD" "$T/bad.img" cat /A/B/F.BIN

	# a directory whose chain loops (D spans several clusters)
	cp "$img" "$T/bad.img"
	set -- $($P "$T/bad.img" chain /D)
	[ $# -ge 2 ] || fail "D has one cluster"
	$P "$T/bad.img" setfat "$2" "$1"
	expect_fail "loops" "$FSREAD" "$T/bad.img" ls /D
	expect_fail "loops" "$FSREAD" "$T/bad.img" cat /D/NOTHERE

	# a cut image still probes
	head -c $(( $(stat -c %s "$img") / 2 )) "$img" > "$T/short.img"
	"$FSREAD" "$T/short.img" probe > /dev/null || fail "probe of a cut image"
	echo "fat$bits ok"
done

# the cut image: data beyond the end of the file
img=$T/base16.img
first=$($P "$img" chain /A/B/F.BIN | cut -d' ' -f1)
head -c $(( $($P "$img" clusoff "$first") + 1024 )) "$img" > "$T/short.img"
expect_fail "past the end" "$FSREAD" "$T/short.img" cat /A/B/F.BIN

# insane BPBs are not FAT at all
for patch in "11 0102" "13 03" "14 0000" "16 00" "16 05" "21 12"; do
	cp "$T/base16.img" "$T/bad.img"
	poke "$T/bad.img" $patch
	expect_fail "no known file system" "$FSREAD" "$T/bad.img" ls /
done
# FAT32 BPB claiming a fixed root directory
cp "$T/base32.img" "$T/bad.img"
poke "$T/bad.img" 17 1000
expect_fail "no known file system" "$FSREAD" "$T/bad.img" ls /

# an MBR with a partition but no file system is not FAT
if command -v sfdisk > /dev/null; then
	truncate -s 8M "$T/mbr.img"
	echo 'start=2048, type=83' | sfdisk -q "$T/mbr.img" >/dev/null 2>&1
	expect_fail "no file system" "$FSREAD" "$T/mbr.img" probe
fi
echo ok
