#!/bin/bash
# Every VHD and VHDX sample in the shared set: the virtual size and the
# SHA-256 of the raw contents as EXPECTED.tsv gives them (what qemu-img 7.2
# decodes), and the refusals: differencing disks (FMT-004) and the dfvfs
# images whose footer checksum was edited by hand (FMT-005).
# Hashing very large disks is slow, so by default: the two 127 GiB disks
# hold no data, and the test checks that vmie reports nothing allocated and
# writes a raw file with no data extent (all zeros, whose SHA-256 is the
# expected one); the 10 GiB dirty-log disk is compared with what qemu-img
# makes of a copy after its own log replay (qemu-img check -r all), which
# qemu-img compare does quickly on sparse files.  VHD_FULL=1 (slow_tests)
# hashes them all.
source "$SRCDIR/tests/functions.sh"
need python3
E="$SAMPLES/EXPECTED.tsv"
field() { awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$E"; }
jget() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
has_data() { python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.lseek(fd, 0, os.SEEK_DATA); print("yes")
except OSError:
    print("no")' "$1"; }

check() { # REL FORMAT [big]
	local rel=$1 fmt=$2 f size sum got
	f=$(sample "$rel")
	size=$(field "$rel" 3)
	sum=$(field "$rel" 4)
	[ -n "$size" ] && [ -n "$sum" ] || fail "$rel not in EXPECTED.tsv"
	"$VMIE" info --json "$f" > "$T/info.json"
	assert_eq "$(jget format < "$T/info.json")" "$fmt" "$rel format"
	assert_eq "$(jget virtual_size < "$T/info.json")" "$size" "$rel size"
	"$VMIE" convert -O raw "$f" "$T/o.raw"
	assert_eq "$(stat -c %s "$T/o.raw")" "$size" "$rel raw size"
	if [ "${3:-}" = big ] && [ "${VHD_FULL:-0}" != 1 ]; then
		assert_eq "$(jget allocated < "$T/info.json")" 0 "$rel allocated"
		assert_eq "$(has_data "$T/o.raw")" no "$rel raw has data"
	elif [ "${3:-}" = log ] && [ "${VHD_FULL:-0}" != 1 ] &&
	     command -v qemu-img > /dev/null; then
		cp "$f" "$T/replayed.vhdx"
		qemu-img check -q -r all "$T/replayed.vhdx" > /dev/null 2>&1 || true
		qemu-img compare -q -f raw -F vhdx "$T/o.raw" "$T/replayed.vhdx" ||
			fail "$rel differs from qemu-img's replay"
		rm -f "$T/replayed.vhdx"
	else
		assert_eq "$(sha "$T/o.raw")" "$sum" "$rel raw sha256"
	fi
	rm -f "$T/o.raw" "$f"
}

check qemu-iotests/d2v-zerofilled.vhd.bz2 vhd
check qemu-iotests/hyperv2012r2-dynamic.vhd.bz2 vhd big
check qemu-iotests/virtualpc-dynamic.vhd.bz2 vhd big
check dissect.hypervisor/dynamic.vhd.gz vhd
check dissect.hypervisor/fixed.vhd.gz vhd       # footer only at the end
check dfvfs/ext2.vhd vhd
check qemu-iotests/iotest-dynamic-1G.vhdx.bz2 vhdx
check qemu-iotests/test-disk2vhd.vhdx.bz2 vhdx   # equal header sequences
check qemu-iotests/iotest-dirtylog-10G-4M.vhdx.bz2 vhdx log   # log replayed
check dissect.hypervisor/dynamic.vhdx.gz vhdx
check dissect.hypervisor/fixed.vhdx.gz vhdx

# the size rule: current_size for Hyper-V, CHS geometry for Virtual PC
f=$(sample qemu-iotests/virtualpc-dynamic.vhd.bz2)
"$VMIE" info "$f" | grep -q '^size from: CHS geometry' || fail "vpc size rule"
f=$(sample qemu-iotests/hyperv2012r2-dynamic.vhd.bz2)
"$VMIE" info "$f" | grep -q '^size from: footer current size' || fail "win size rule"

# the dirty log is replayed in memory, the sample file is not touched
f=$(sample qemu-iotests/iotest-dirtylog-10G-4M.vhdx.bz2)
before=$(sha "$f")
"$VMIE" info "$f" | grep -q '^log: replayed in memory: 1 entries' || fail "log info"
assert_eq "$(sha "$f")" "$before" "source changed by log replay"

# differencing disks: refused (FMT-004), shown by info with their parent
f=$(sample dfvfs/fat-differential.vhd)
expect_fail 'differencing disk.*FMT-004' "$VMIE" convert -O raw "$f" "$T/o.raw"
"$VMIE" info "$f" | grep -qF 'parent: C:\Projects\dfvfs\test_data\fat-parent.vhd' ||
	fail "parent name of fat-differential.vhd"
f=$(sample dissect.hypervisor/differencing.avhdx.gz)
expect_fail 'differencing disk.*FMT-004' "$VMIE" convert -O raw "$f" "$T/o.raw"
"$VMIE" info "$f" | grep -q '^parent: .*Generation 1_49C4BAF3.*\.avhdx' ||
	fail "parent name of differencing.avhdx"
rc=0; "$VMIE" info --check "$f" > /dev/null || rc=$?
assert_eq $rc 0 "check of differencing.avhdx"
rm -f "$f"

# hand-edited footer checksums: refused, naming both checksums (the copy at
# offset 0 is just as bad, so there is nothing valid to fall back on)
for s in image.vhd image-differential.vhd; do
	f=$(sample dfvfs/$s)
	expect_fail 'bad checksum: stored 0xfffff683, expected 0x[0-9a-f]{8}.*copy at offset 0 is bad too.*FMT-005' \
		"$VMIE" convert -O raw "$f" "$T/o.raw"
done
assert_no_temp "$T"
