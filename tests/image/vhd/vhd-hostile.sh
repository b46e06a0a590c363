#!/bin/bash
# Hostile VHDs and VHDXs through the command line: each is refused, or read
# with its problem reported, with a message naming the problem, never a
# crash (the sanitizer build runs this too).  tests/image/vhd/test_vhd.c
# covers many more cases in memory.
source "$SRCDIR/tests/functions.sh"
need python3
P="$SRCDIR/tests/image/vhd/patch.py"
python3 "$SRCDIR/tests/image/vhd/mkraw.py" "$T/src.raw" $((9 * 1048576))
"$VMIE" convert -O vhd "$T/src.raw" "$T/d.vhd"
"$VMIE" convert -O vhdx -o block_size=1M "$T/src.raw" "$T/d.vhdx"
dsize=$(stat -c %s "$T/d.vhd")
xsize=$(stat -c %s "$T/d.vhdx")
bat=$(python3 "$P" "$T/d.vhd" get 0x210 '>Q')   # dynamic header: BAT offset

# truncated files
head -c $((dsize - 2 * 1048576)) "$T/d.vhd" > "$T/h.vhd"
expect_fail 'BAT entry [0-9]+ points past end of file.*FMT-005' "$VMIE" convert -O raw "$T/h.vhd" "$T/o.raw"
head -c 300 "$T/d.vhd" > "$T/h.vhd"
expect_fail 'too small to be a VHD' "$VMIE" info -f vhd "$T/h.vhd"
head -c $((xsize - 2097152)) "$T/d.vhdx" > "$T/h.vhdx"
expect_fail 'BAT entry for block [0-9]+ points past end of file' "$VMIE" info "$T/h.vhdx"
head -c 100000 "$T/d.vhdx" > "$T/h.vhdx"
expect_fail 'too small for a VHDX header section' "$VMIE" info "$T/h.vhdx"

# bad footer checksum, both copies: refused with both values
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" vhd-footer 0x30 '>Q' $((9 * 1048576))
python3 "$P" "$T/h.vhd" raw 0x40 '>I' 0x12345678
python3 "$P" "$T/h.vhd" raw $((dsize - 512 + 0x40)) '>I' 0x12345678
expect_fail 'bad checksum: stored 0x12345678, expected 0x' "$VMIE" info "$T/h.vhd"
# only the trailing footer bad: read from the copy, with a warning
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" raw $((dsize - 512 + 0x40)) '>I' 0x12345678
"$VMIE" info "$T/h.vhd" | grep -q '^warning: footer at offset .* bad checksum.*used the valid copy at offset 0' ||
	fail "no warning for the trailing footer"
assert_eq "$(vmie_raw_sha "$T/h.vhd")" "$(sha "$T/src.raw")" "read through the footer copy"
# bad dynamic header checksum
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" raw $((512 + 0x24)) '>I' 1
expect_fail 'dynamic header at offset 0x200 has a bad checksum' "$VMIE" info "$T/h.vhd"

# BAT pointing past the end; overlapping blocks (found by --check)
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" raw $((bat + 4)) '>I' 0x00ffffff
expect_fail 'BAT entry 1 points past end of file' "$VMIE" info "$T/h.vhd"
cp "$T/d.vhd" "$T/h.vhd"
b0=$(python3 "$P" "$T/h.vhd" get $bat '>I')
python3 "$P" "$T/h.vhd" raw $((bat + 4)) '>I' $((b0 + 16))
rc=0; "$VMIE" info --check "$T/h.vhd" > "$T/out" 2>&1 || rc=$?
assert_eq $rc 2 "check exit code for overlapping blocks"
grep -q 'block 1 .* overlaps block 0' "$T/out" || fail "overlap message"

# absurd sizes
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" vhd-footer 0x30 '>Q' $((1 << 62))
expect_fail 'absurd' "$VMIE" info "$T/h.vhd"
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" vhd-footer 0x30 '>Q' $((1 << 41))
expect_fail 'BAT has [0-9]+ entries but the' "$VMIE" convert -O raw "$T/h.vhd" "$T/o.raw"
cp "$T/d.vhd" "$T/h.vhd"
python3 "$P" "$T/h.vhd" vhd-dyn 0x1c '>I' 0xffffffff
expect_fail 'BAT of 4294967295 entries .* does not fit' "$VMIE" info "$T/h.vhd"

# VHDX: region table with 5000 entries (and the copy damaged too)
cp "$T/d.vhdx" "$T/h.vhdx"
python3 "$P" "$T/h.vhdx" vhdx-region 8 '<I' 5000
python3 "$P" "$T/h.vhdx" raw $((256 * 1024 + 100)) '<I' 1
expect_fail 'region table at 192 KiB has 5000 entries' "$VMIE" info "$T/h.vhdx"
# block size not a power of two
cp "$T/d.vhdx" "$T/h.vhdx"
python3 "$P" "$T/h.vhdx" raw $((2 * 1048576 + 65536)) '<I' $((3 * 1048576))
expect_fail 'block size 3145728 is not a power of two' "$VMIE" info "$T/h.vhdx"
# headers: both with bad CRC-32C
cp "$T/d.vhdx" "$T/h.vhdx"
python3 "$P" "$T/h.vhdx" raw $((64 * 1024 + 200)) '<I' 7
python3 "$P" "$T/h.vhdx" raw $((128 * 1024 + 200)) '<I' 7
expect_fail 'both headers are invalid .*bad CRC-32C' "$VMIE" info "$T/h.vhdx"
# BAT entry past the end
cp "$T/d.vhdx" "$T/h.vhdx"
python3 "$P" "$T/h.vhdx" raw $((3 * 1048576)) '<Q' $(((1 << 40) | 6))
expect_fail 'BAT entry for block 0 points past end of file' "$VMIE" convert -O raw "$T/h.vhdx" "$T/o.raw"

# the dirty-log sample holds entries 1..7, but only entry 7 carries the
# active header's log GUID (1..6 are left from earlier logs); with entry 7
# damaged (bad CRC-32C) it is a torn write, so per [MS-VHDX] there is
# nothing to replay; info and check say so
if [ -e "$SAMPLES/qemu-iotests/iotest-dirtylog-10G-4M.vhdx.bz2" ]; then
	f=$(sample qemu-iotests/iotest-dirtylog-10G-4M.vhdx.bz2)
	python3 "$P" "$f" raw $((1048576 + 49152 + 4096 + 64)) '<I' 0xdeadbeef
	"$VMIE" info "$f" > "$T/out"
	grep -q '^log: .*no valid entry sequence: nothing to replay' "$T/out" || fail "log info"
	grep -q '^log entries ignored: 1' "$T/out" || fail "ignored entries"
	rc=0; "$VMIE" info --check "$f" > "$T/out" 2>&1 || rc=$?
	assert_eq $rc 3 "check exit code for a torn log entry"
	# a log region outside the file
	python3 "$P" "$f" vhdx-header 0x48 '<Q' $((1 << 40))
	expect_fail 'log at offset 0x10000000000 .* past the end of the file' "$VMIE" info "$f"
	rm -f "$f"
fi
assert_no_temp "$T"
