#!/bin/bash
# qcow2 samples written by qemu-img (dissect.hypervisor): the zlib and zstd
# images decode to the raw content in EXPECTED.tsv; the image with internal
# snapshots reads its active L1 (the same bytes as qemu-img) and info lists
# the snapshots; images with a backing file are refused with FMT-004 naming
# the backing file, and `vmie info` shows it.
source "$SRCDIR/tests/functions.sh"
expected() { awk -F'\t' -v f="$1" '$1 == f { print $4 }' "$SAMPLES/EXPECTED.tsv"; }

for s in basic basic-zstd; do
	f=$(sample dissect.hypervisor/$s.qcow2.gz)
	want=$(expected dissect.hypervisor/$s.qcow2.gz)
	[ -n "$want" ] || fail "no EXPECTED.tsv line for $s"
	"$VMIE" info "$f" > "$T/info" || fail "info $s"
	grep -q '^file format: qcow2$' "$T/info" || fail "$s not probed as qcow2"
	grep -q '^virtual size: .*(536870912 bytes)' "$T/info" || fail "$s size"
	assert_eq "$(vmie_raw_sha "$f")" "$want" "$s raw sha256"
	"$VMIE" info --check "$f" > "$T/check" || { cat "$T/check"; fail "check $s"; }
done
grep -q '^compression type: zstd$' <("$VMIE" info "$T/basic-zstd.qcow2") || fail "zstd not shown"

# internal snapshots: the active L1 only
f=$(sample dissect.hypervisor/snapshot.qcow2.gz)
"$VMIE" info "$f" > "$T/info" || fail "info snapshot"
grep -q '^snapshots: 2$' "$T/info" || { cat "$T/info"; fail "snapshot count"; }
grep -q "you can't see me" "$T/info" || fail "snapshot name not listed"
grep -q "confused" "$T/info" || fail "second snapshot name not listed"
"$VMIE" info --check "$f" > "$T/check" || { cat "$T/check"; fail "check on the snapshot image"; }
if command -v qemu-img >/dev/null; then
	"$VMIE" convert -O raw "$f" "$T/snap.vmie.raw" || fail "convert snapshot"
	qemu-img convert -O raw "$f" "$T/snap.qemu.raw"
	cmp "$T/snap.vmie.raw" "$T/snap.qemu.raw" || fail "snapshot image differs from qemu-img"
fi

# backing chains: refused, naming the backing file; info shows it
for i in 1 2; do
	f=$(sample dissect.hypervisor/backing-chain-$i.qcow2.gz)
	b="backing-chain-$((i + 1)).qcow2"
	expect_fail "FMT-004.*backing file '$b'|backing file '$b'.*FMT-004|backing file '$b'" \
		"$VMIE" convert -O raw "$f" "$T/out.raw"
	[ ! -e "$T/out.raw" ] || fail "output left behind"
	assert_no_temp "$T"
	"$VMIE" info "$f" > "$T/info" || fail "info on a differencing image"
	grep -q "^parent: $b\$" "$T/info" || { cat "$T/info"; fail "parent not shown"; }
done
# the base of the chain has no backing file and converts
f=$(sample dissect.hypervisor/backing-chain-3.qcow2.gz)
"$VMIE" convert -O raw "$f" "$T/base.raw" || fail "convert the chain's base"
if command -v qemu-img >/dev/null; then
	qemu-img convert -O raw "$f" "$T/base.qemu.raw"
	cmp "$T/base.raw" "$T/base.qemu.raw" || fail "chain base differs from qemu-img"
fi
echo "ok"
