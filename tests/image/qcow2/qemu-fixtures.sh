#!/bin/bash
# qcow2 images made by qemu-img / qemu-io from one raw disk (random data,
# written zeros, holes, compressible text, an odd size) in every variant
# vmie reads: compat 0.10 and 1.1, zlib and zstd compression, 512 B / 4 KiB /
# 2 MiB clusters, extended L2 entries with partly written clusters, zero
# clusters (v3 zero flag), preallocated metadata, a persistent bitmap.  `vmie convert -O raw`
# must equal `qemu-img convert -O raw`, and `vmie info --check` must pass.
source "$SRCDIR/tests/functions.sh"
need qemu-img qemu-io python3
SIZE=$((12 * 1024 * 1024 + 777))
python3 "$SRCDIR/tests/image/qcow2/mkraw.py" "$T/src.raw" $SIZE

mk() { # name, qemu-img convert options...
	local n=$1; shift
	qemu-img convert -f raw -O qcow2 "$@" "$T/src.raw" "$T/$n.qcow2" ||
		fail "qemu-img could not make $n"
}
mk v2 -o compat=0.10
mk v3 -o compat=1.1
mk v2-zlib -c -o compat=0.10
mk v3-zlib -c
mk zstd -c -o compression_type=zstd
mk c512 -o cluster_size=512
mk c4k -o cluster_size=4096
mk c2m -o cluster_size=2M
mk c4k-zlib -c -o cluster_size=4096
mk c2m-zstd -c -o cluster_size=2M,compression_type=zstd

# extended L2: subclusters written one by one, some zeroed
qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k "$T/extl2.qcow2" $SIZE
qemu-io -f qcow2 -c "write -P 0x11 4k 4k" -c "write -P 0x22 100k 12k" \
	-c "write -P 0x33 1M 300k" -c "write -z 1100k 8k" \
	-c "write -P 0x44 $((SIZE - 4096)) 4096" "$T/extl2.qcow2" >/dev/null ||
	fail "qemu-io on extended L2"
# v3 zero flag over data, and a discard
cp "$T/v3.qcow2" "$T/zeroed.qcow2"
qemu-io -f qcow2 -c "write -z 64k 256k" -c "write -z -u 6M 128k" \
	-c "discard 0 64k" "$T/zeroed.qcow2" >/dev/null || fail "qemu-io zero"
# preallocated metadata (zero flag with host offsets), then some data
qemu-img create -q -f qcow2 -o preallocation=metadata "$T/prealloc.qcow2" $SIZE
qemu-io -f qcow2 -c "write -P 0x5a 1M 70k" "$T/prealloc.qcow2" >/dev/null
qemu-img create -q -f qcow2 -o preallocation=metadata,compat=0.10 "$T/prealloc-v2.qcow2" $SIZE
qemu-io -f qcow2 -c "write -P 0x5a 1M 70k" "$T/prealloc-v2.qcow2" >/dev/null

# a persistent dirty bitmap (its clusters must be counted by --check)
qemu-img create -q -f qcow2 "$T/bitmap.qcow2" $SIZE
qemu-img bitmap --add "$T/bitmap.qcow2" b0 || fail "qemu-img bitmap"
qemu-io -f qcow2 -c "write -P 1 0 1M" -c "write -P 2 9M 64k" "$T/bitmap.qcow2" >/dev/null

n=0
for f in "$T"/*.qcow2; do
	b=$(basename "$f" .qcow2)
	"$VMIE" convert -O raw "$f" "$T/$b.vmie.raw" || fail "vmie convert $b"
	qemu-img convert -O raw "$f" "$T/$b.qemu.raw"
	cmp "$T/$b.vmie.raw" "$T/$b.qemu.raw" || fail "$b: vmie and qemu-img differ"
	"$VMIE" info --check "$f" > "$T/check" || { cat "$T/check"; fail "check $b"; }
	"$VMIE" compare "$f" "$T/$b.qemu.raw" > /dev/null || fail "vmie compare $b"
	rm -f "$T/$b.vmie.raw" "$T/$b.qemu.raw"
	n=$((n + 1))
done
[ $n -ge 15 ] || fail "only $n images"
grep -q '^compat: 0.10$' <("$VMIE" info "$T/v2.qcow2") || fail "compat not shown"
grep -q '^extended l2: true$' <("$VMIE" info "$T/extl2.qcow2") || fail "extended l2 not shown"
echo "ok: $n images"
