#!/bin/bash
# Hostile qcow2 files through the CLI: truncated, L1 past EOF, L2 entry past
# EOF, huge l1_size, cluster_bits 40, an unknown incompatible bit, garbage in
# a compressed cluster, the corrupt bit, encryption.  Each is refused with a
# message that names the problem, with no crash and no sanitizer report.
source "$SRCDIR/tests/functions.sh"
need python3
python3 "$SRCDIR/tests/image/qcow2/mkraw.py" "$T/src.raw" $((4 * 1024 * 1024))
"$VMIE" convert -O qcow2 "$T/src.raw" "$T/good.qcow2" || fail "make image"
"$VMIE" convert -O qcow2 -o compression=zlib "$T/src.raw" "$T/z.qcow2" || fail "make image"

# patch SRC DST PYTHON: run python with b (bytearray of SRC) and helpers
patch() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
def be32(o, v): b[o:o+4] = struct.pack(">I", v)
def be64(o, v): b[o:o+8] = struct.pack(">Q", v)
def get64(o): return struct.unpack(">Q", bytes(b[o:o+8]))[0]
cs = 1 << struct.unpack(">I", bytes(b[20:24]))[0]
l1 = get64(0x28)
l2 = get64(l1) & 0x00fffffffffffe00
exec(sys.argv[3])
open(sys.argv[2], "wb").write(b)
PY
}
bad() { # name, python patch, expected message (ERE)
	patch "$T/good.qcow2" "$T/$1.qcow2" "$2"
	expect_fail "$3" "$VMIE" convert -O raw "$T/$1.qcow2" "$T/$1.raw"
	[ ! -e "$T/$1.raw" ] || fail "$1: output left behind"
}
bad trunc-header 'del b[60:]' 'too short'
bad trunc-l1 'del b[l1 + 4:]' 'L1 table .*past the end'
bad trunc-data 'del b[len(b) // 2:]' 'past the end|truncated'
bad l1-past-eof 'be64(l1, (len(b) + 64 * cs) | (1 << 63))' 'L1 entry 0: L2 table at 0x[0-9a-f]+ is past the end'
bad l2-past-eof 'be64(l2 + 8, (len(b) + 64 * cs) | (1 << 63))' 'guest cluster 1 .*past the end of the file'
bad huge-l1 'be32(0x24, 0xffffffff)' 'L1 table of 4294967295 entries'
bad cluster-bits 'be32(20, 40)' 'cluster_bits 40'
bad unknown-bit 'be64(0x48, 1 << 9)' 'unknown incompatible feature bit 9'
bad corrupt-bit 'be64(0x48, 2)' 'marked corrupt'
bad encrypted 'be32(0x20, 1)' 'encrypted.*AES'
bad huge-size 'be64(0x18, 1 << 60)' 'virtual size'

# garbage in every compressed cluster's data
patch "$T/z.qcow2" "$T/zbad.qcow2" '
l2 = get64(l1) & 0x00fffffffffffe00
sh = 62 - (cs.bit_length() - 1 - 8)
n = 0
for i in range(cs // 8):
    e = get64(l2 + 8 * i)
    if e & (1 << 62):
        off = e & ((1 << sh) - 1)
        b[off:off + 32] = b"\xff" * 32
        n += 1
assert n > 0
'
expect_fail 'compressed data at 0x[0-9a-f]+ .*does not decompress' \
	"$VMIE" convert -O raw "$T/zbad.qcow2" "$T/zbad.raw"
# info --check reports corruptions (exit 2) rather than crashing
patch "$T/good.qcow2" "$T/l2bad.qcow2" 'be64(l2 + 8, (len(b) + 64 * cs) | (1 << 63))'
rc=0; "$VMIE" info --check "$T/l2bad.qcow2" > "$T/out" 2> "$T/err" || rc=$?
[ $rc -eq 2 ] || { cat "$T/out" "$T/err"; fail "check exit $rc, expected 2"; }
! grep -qE 'Sanitizer|runtime error' "$T/err" || fail "sanitizer report"
echo "ok"
