#!/bin/bash
# qcow2 written by vmie: `qemu-img check` finds no errors and no leaks and
# `qemu-img compare` equals the source, for v3 and v2, zlib and zstd, cluster
# sizes 512 B to 2 MiB; a 3 TiB sparse disk with a few MiB of data converts
# without holding its tables in memory; qcow2 -> qcow2 and back to raw.
source "$SRCDIR/tests/functions.sh"
need qemu-img python3
SIZE=$((12 * 1024 * 1024 + 777))
python3 "$SRCDIR/tests/image/qcow2/mkraw.py" "$T/src.raw" $SIZE

qcheck() { # image: qemu-img check must be clean
	qemu-img check "$1" > "$T/qc" 2>&1 || { cat "$T/qc"; fail "qemu-img check $1"; }
	grep -q "No errors were found" "$T/qc" || { cat "$T/qc"; fail "qemu-img check $1"; }
	! grep -qi "leak" "$T/qc" || { cat "$T/qc"; fail "leaks in $1"; }
}

w() { # name, vmie convert options...
	local n=$1; shift
	"$VMIE" convert "$@" "$T/src.raw" "$T/$n.qcow2" || fail "vmie convert $n"
	qcheck "$T/$n.qcow2"
	qemu-img compare -q "$T/src.raw" "$T/$n.qcow2" || fail "$n differs from the source"
	"$VMIE" info --check "$T/$n.qcow2" > "$T/vc" || { cat "$T/vc"; fail "vmie check $n"; }
	qemu-img info "$T/$n.qcow2" > "$T/$n.info"
}
w default -O qcow2
grep -q "compat: 1.1" "$T/default.info" || fail "default is not v3"
grep -q "cluster_size: 65536" "$T/default.info" || fail "default cluster size"
w v2 -O qcow2,v2
grep -q "compat: 0.10" "$T/v2.info" || fail "v2 is not compat 0.10"
w compat010 -O qcow2 -o compat=0.10
w zlib -O qcow2 -o compression=zlib
w zstd -O qcow2 -o compression=zstd
grep -q "compression type: zstd" "$T/zstd.info" || fail "zstd type not set"
w c512 -O qcow2 -o cluster_size=512
w c4k-zlib -O qcow2 -o cluster_size=4K,compression=zlib
w c2m -O qcow2 -o cluster_size=2M
w c2m-zstd -O qcow2 -o cluster_size=2M,compression=zstd
w v2-zlib-c512 -O qcow2,v2 -o compression=zlib,cluster_size=512
s_zlib=$(stat -c %s "$T/zlib.qcow2"); s_plain=$(stat -c %s "$T/default.qcow2")
[ "$s_zlib" -lt "$s_plain" ] || fail "compression did not shrink the image"

# qcow2 -> qcow2 (recompress) -> raw, and qemu reads the result
"$VMIE" convert -O qcow2 -o compression=zstd "$T/zlib.qcow2" "$T/re.qcow2" || fail "qcow2 -> qcow2"
qcheck "$T/re.qcow2"
"$VMIE" convert -O raw "$T/re.qcow2" "$T/back.raw" || fail "qcow2 -> raw"
# the odd size is rounded up to whole sectors (as qemu-img does), with zeros
assert_eq "$(stat -c %s "$T/back.raw")" $(( (SIZE + 511) / 512 * 512 )) "round-trip size"
cmp -n $SIZE "$T/src.raw" "$T/back.raw" || fail "round trip changed the disk"
[ "$(tail -c +$((SIZE + 1)) "$T/back.raw" | tr -d '\0' | wc -c)" = 0 ] || fail "padding is not zeros"

# unknown option and bad values: refused, naming the key
expect_fail "unknown option 'frobnicate'" "$VMIE" convert -O qcow2 -o frobnicate=1 "$T/src.raw" "$T/x.qcow2"
expect_fail "cluster_size" "$VMIE" convert -O qcow2 -o cluster_size=100 "$T/src.raw" "$T/x.qcow2"
[ ! -e "$T/x.qcow2" ] || fail "output left after a refused option"

# a 3 TiB sparse disk with a few MiB of data
truncate -s 3T "$T/big.raw"
python3 - "$T/big.raw" <<'PY'
import os, sys
f = open(sys.argv[1], "r+b")
T = 1 << 40
for off, n in ((0, 1 << 20), (T + 12345 * 512, 3 << 20), (5 * T // 2, 65536),
               (3 * T - (1 << 20), 1 << 20)):
    f.seek(off); f.write(os.urandom(n))
PY
"$VMIE" convert -O qcow2 "$T/big.raw" "$T/big.qcow2" || fail "3 TiB convert"
qcheck "$T/big.qcow2"
qemu-img info "$T/big.qcow2" | grep -q "virtual size: 3 TiB" || fail "3 TiB size"
[ "$(stat -c %s "$T/big.qcow2")" -lt $((16 * 1024 * 1024)) ] || fail "3 TiB image too big"
qemu-img compare -q "$T/big.raw" "$T/big.qcow2" || fail "3 TiB image differs"
"$VMIE" compare "$T/big.raw" "$T/big.qcow2" > /dev/null || fail "vmie compare 3 TiB"
echo "ok"
