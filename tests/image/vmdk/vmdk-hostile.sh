#!/bin/bash
# Hostile VMDKs: each is refused or fails to read with a message naming the
# problem, never a crash (run under ASan in the sanitizer build).
source "$SRCDIR/tests/functions.sh"
need python3
D="$SRCDIR/tests/image/vmdk"
python3 "$D/mkraw.py" "$T/src.raw" $((6 * 1048576))
"$VMIE" convert -O vmdk "$T/src.raw" "$T/s.vmdk"
"$VMIE" convert -O vmdk,monolithicSparse "$T/src.raw" "$T/m.vmdk"
ssize=$(stat -c %s "$T/s.vmdk")

# truncated stream: in the middle of a grain, just before the footer
head -c 200000 "$T/s.vmdk" > "$T/cut1.vmdk"
head -c $((ssize - 1536)) "$T/s.vmdk" > "$T/cut2.vmdk"
expect_fail 'no footer.*truncated.*FMT-005' "$VMIE" convert -O raw "$T/cut1.vmdk" "$T/o.raw"
expect_fail 'no footer' "$VMIE" info "$T/cut2.vmdk"

# patch PATH OFFSET FORMAT VALUE
patch() { python3 -c '
import struct, sys
p, off, fmt, v = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with open(p, "r+b") as f:
    f.seek(off); f.write(struct.pack(fmt, v))' "$@"; }
rd() { python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
print(struct.unpack_from(sys.argv[3], b, int(sys.argv[2]))[0])' "$@"; }

gd=$(( $(rd "$T/m.vmdk" 56 '<Q') * 512 ))
gt0=$(( $(rd "$T/m.vmdk" $gd '<I') * 512 ))
msize=$(stat -c %s "$T/m.vmdk")

cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" $gt0 '<I' $((msize / 512 + 50))
expect_fail 'grain table 0 entry 0 points past the end of the file' "$VMIE" convert -O raw "$T/h.vmdk" "$T/o.raw"
rc=0; "$VMIE" info --check "$T/h.vmdk" > "$T/out" 2>&1 || rc=$?
assert_eq $rc 2 "check exit code for corruption"
grep -q 'points past the end' "$T/out" || fail "check message"

cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" $gd '<I' $((gd / 512))
expect_fail 'grain directory entry 0 .*inside the grain directory' "$VMIE" info "$T/h.vmdk"
cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" $gd '<I' $((msize / 512))
expect_fail 'grain directory entry 0 points past the end' "$VMIE" info "$T/h.vmdk"
cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" $((gt0 + 4)) '<I' $(rd "$T/m.vmdk" $gt0 '<I')
rc=0; "$VMIE" info --check "$T/h.vmdk" > "$T/out" 2>&1 || rc=$?
assert_eq $rc 2 "check exit code for overlapping grains"
grep -qE 'grain 1 at offset [0-9]+ overlaps' "$T/out" || { cat "$T/out"; fail "overlap message"; }
cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" 12 '<Q' $((1 << 62))
expect_fail 'capacity .* absurd.*FMT-005' "$VMIE" info "$T/h.vmdk"
cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" 44 '<I' 1024
expect_fail 'numGTEsPerGT 1024 is invalid' "$VMIE" info "$T/h.vmdk"
cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" 20 '<Q' 3
expect_fail 'grain size of 3 sectors' "$VMIE" info "$T/h.vmdk"
cp "$T/m.vmdk" "$T/h.vmdk"; patch "$T/h.vmdk" 36 '<Q' 100000
expect_fail 'embedded descriptor of 100000 sectors' "$VMIE" info "$T/h.vmdk"

# descriptor files naming paths outside the directory
mkdir -p "$T/d"
desc() { printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=%s\ncreateType="%s"\n%s\n' "$@" > "$T/d/x.vmdk"; }
desc ffffffff monolithicFlat 'RW 12288 FLAT "../src.raw" 0'
expect_fail "'\.\./src\.raw' is a path" "$VMIE" convert -O raw "$T/d/x.vmdk" "$T/o.raw"
desc ffffffff monolithicFlat 'RW 12288 FLAT "/etc/passwd" 0'
expect_fail "'/etc/passwd' is a path" "$VMIE" info "$T/d/x.vmdk"
cp "$T/src.raw" "$T/d/flat.raw"
desc ffffffff monolithicFlat 'RW 99999999 FLAT "flat.raw" 0'
expect_fail 'too short' "$VMIE" info "$T/d/x.vmdk"
desc ffffffff vmfsRawDeviceMap 'RW 12288 VMFSRDM "flat.raw"'
expect_fail 'FMT-003' "$VMIE" info "$T/d/x.vmdk"
# a parent: refused for conversion, shown by info
desc 1234abcd monolithicFlat 'RW 12288 FLAT "flat.raw" 0'
expect_fail 'parent.*FMT-004' "$VMIE" convert -O raw "$T/d/x.vmdk" "$T/o.raw"
"$VMIE" info "$T/d/x.vmdk" | grep -q 'parent' || fail "info shows no parent"
# and a valid one reads
desc ffffffff monolithicFlat 'RW 12288 FLAT "flat.raw" 0'
"$VMIE" convert -O raw "$T/d/x.vmdk" "$T/o.raw"
cmp "$T/o.raw" "$T/src.raw" || fail "flat descriptor read"
[ ! -e "$T/o.raw.tmp" ] && assert_no_temp "$T"
echo ok
