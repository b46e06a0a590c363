#!/bin/bash
# Journal replay: image A, and B = A changed by debugfs (new, replaced and
# removed files, a directory, a symlink, a file whose data starts with the
# jbd2 magic).  jbd2mk.py logs the blocks that differ into A's journal as
# committed transactions and leaves needs_recovery set, as a crash would:
# vmie must read that image as B, and as e2fsck's replay of it
# (e2fsck -E journal_only on a copy: the independent reference), in every
# jbd2 layout: checksums none/v1/v2/v3, 32/64-bit tags, superblock v1,
# UUID after every tag, several descriptors, a log that wraps, 1 KiB and
# 4 KiB blocks, ext3 (block-mapped journal inode).  Then the replay rules:
# revoke, newest copy wins, uncommitted and badly checksummed transactions
# and blocks are left out.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
EXTJ=$2
need mkfs.ext4 mkfs.ext3 debugfs e2fsck
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "needs python3"
MK="$PY $SRCDIR/tests/fs/ext/jbd2mk.py"

src=$T/src
mkdir -p "$src/etc/default" "$src/usr/lib" "$src/var/log"
echo "UUID=old / ext4 defaults 0 1" > "$src/etc/fstab"
echo "old-host" > "$src/etc/hostname"
echo "gone soon" > "$src/etc/default/grub"
head -c 200000 /dev/urandom > "$src/usr/lib/big.bin"
for i in 1 2 3 4 5 6; do echo "log $i" > "$src/var/log/l$i"; done
printf 'UUID=new / ext4 defaults 0 1\n/dev/vdb /data xfs defaults 0 2\n' \
	> "$T/fstab.new"
printf '\xc0\x3b\x39\x98 starts with the jbd2 magic' > "$T/magic"
head -c 50000 /dev/urandom > "$T/vmlinuz"

# snapshot IMG: every path with its type, size and content hash (or link
# target), through vmie
snapshot() { "$EXTJ" "$1" walk || fail "walk $1"; }
# diffblocks A B: the blocks that differ, comma-separated
diffblocks() {
	"$PY" - "$1" "$2" <<'EOF'
import struct, sys
a, b = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb')
a.seek(1024); bs = 1024 << struct.unpack_from('<I', a.read(1024), 0x18)[0]
a.seek(0)
out, i = [], 0
while True:
    x, y = a.read(bs), b.read(bs)
    if not x:
        break
    if x != y:
        out.append(str(i))
    i += 1
print(','.join(out))
EOF
}
# bmap IMG PATH N: image block of block N of a file
bmap() { debugfs -R "bmap $2 $3" "$1" 2>/dev/null; }
# jinfo IMG KEY: one line of extjournal
jinfo() { "$EXTJ" "$1" | sed -n "s/^$2=//p"; }
# reference IMG: e2fsck's replay of a copy, snapshotted
reference() {
	cp "$1" "$T/ref.img"
	e2fsck -E journal_only -y "$T/ref.img" >/dev/null 2>&1 || true
	dumpe2fs -h "$T/ref.img" 2>/dev/null | grep -q needs_recovery \
		&& fail "e2fsck did not replay $1"
	snapshot "$T/ref.img"
}

make_pair() { # mkfs-command... : A.img and B.img
	rm -f "$T/A.img" "$T/B.img"
	truncate -s 24M "$T/A.img"
	"$@" -q -F -d "$src" "$T/A.img" >/dev/null || fail "$*"
	cp "$T/A.img" "$T/B.img"
	debugfs -w -f - "$T/B.img" >/dev/null 2>&1 <<EOF || fail "debugfs"
rm /etc/fstab
write $T/fstab.new /etc/fstab
rm /etc/default/grub
rmdir /etc/default
mkdir /boot
write $T/vmlinuz /boot/vmlinuz-6.1.0-9-amd64
write $T/magic /boot/magic
symlink /vmlinuz /boot/vmlinuz-6.1.0-9-amd64
rm /var/log/l3
EOF
	snapshot "$T/B.img" > "$T/want"
	snapshot "$T/A.img" > "$T/old"
	cmp -s "$T/want" "$T/old" && fail "B does not differ from A"
	DIFF=$(diffblocks "$T/A.img" "$T/B.img")
	[ -n "$DIFF" ] || fail "no block differs"
	:
}

# check NAME jbd2mk-options...: log all differing blocks in 3 transactions
check() {
	local name=$1; shift
	local n a b c
	cp "$T/A.img" "$T/J.img"
	n=$(echo "$DIFF" | tr ',' '\n' | wc -l)
	a=$(echo "$DIFF" | tr ',' '\n' | head -n $((n / 3)) | paste -sd,)
	b=$(echo "$DIFF" | tr ',' '\n' | sed -n "$((n / 3 + 1)),$((2 * n / 3))p" | paste -sd,)
	c=$(echo "$DIFF" | tr ',' '\n' | tail -n +$((2 * n / 3 + 1)) | paste -sd,)
	$MK "$T/J.img" --from "$T/B.img" "$@" ${a:+"B=$a"} ${b:+"B=$b"} \
		"B=$c" >/dev/null || fail "$name: jbd2mk"
	snapshot "$T/J.img" > "$T/got"
	diff "$T/want" "$T/got" >&2 || fail "$name: replayed image differs from B"
	reference "$T/J.img" > "$T/ref"
	diff "$T/ref" "$T/got" >&2 || fail "$name: differs from e2fsck's replay"
	assert_eq "$(jinfo "$T/J.img" STATE)" replayed "$name state"
	assert_eq "$(jinfo "$T/J.img" TRANSACTIONS)" \
		$(( ${a:+1}+0 + ${b:+1}+0 + 1 )) "$name transactions"
	assert_eq "$(jinfo "$T/J.img" BLOCKS)" "$n" "$name blocks"
	assert_eq "$(jinfo "$T/J.img" PROBLEM)" "" "$name problem"
	# the source image is never written
	"$FSREAD" "$T/J.img" find >/dev/null
	echo "$name ok"
}

# ---- ext4, 1 KiB blocks, metadata_csum ----
make_pair mkfs.ext4 -b 1024 -O metadata_csum,64bit
# the image as A is clean: nothing replayed
assert_eq "$(jinfo "$T/A.img" STATE)" clean "clean journal"
check v3 --csum v3
check v3-32bit --csum v3 --32bit
check v2 --csum v2
check v2-32bit --csum v2 --32bit
check v1-crc32 --csum v1
check nocsum --csum none
check nocsum-32bit --csum none --32bit
check sb-v1 --sbv1
check uuid-every-tag --no-same-uuid
check small-descriptors --maxtags 3
check stale-after-end --stale
check tid-wraps --tid 4294967295
# jblocks IMG: journal size in blocks
jblocks() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Total journal blocks: *//p'; }
maxlen=$(jblocks "$T/A.img")
[ -n "$maxlen" ] || fail "journal size"
check wrap --start $((maxlen - 7))
check wrap-v2-32 --start $((maxlen - 4)) --csum v2 --32bit --maxtags 2

# ---- replay rules (ext4 1 KiB) ----
big1=$(bmap "$T/A.img" /usr/lib/big.bin 1)
big2=$(bmap "$T/A.img" /usr/lib/big.bin 2)
big3=$(bmap "$T/A.img" /usr/lib/big.bin 3)
[ -n "$big1" ] && [ -n "$big2" ] && [ -n "$big3" ] || fail bmap
bigsha=$(sha "$src/usr/lib/big.bin")
# revoke: junk logged in T1 and revoked in T2 stays out, and so does junk
# logged in T2 itself (a revoke covers its own tid); a revoke older than the
# copy does not (big2: revoked in T2, junk in T3, good again in T4: the
# newest copy wins)
cp "$T/A.img" "$T/J.img"
$MK "$T/J.img" --from "$T/B.img" "B=$DIFF;J=$big1" \
	"R=$big1,$big2,$big3;J=$big3" "J=$big2" "B=$big2" >/dev/null
snapshot "$T/J.img" > "$T/got"
diff "$T/want" "$T/got" >&2 || fail "revoke: differs from B"
reference "$T/J.img" > "$T/ref"
diff "$T/ref" "$T/got" >&2 || fail "revoke: differs from e2fsck"
assert_eq "$(jinfo "$T/J.img" REVOKED)" 2 "revoked blocks"
assert_eq "$(jinfo "$T/J.img" TRANSACTIONS)" 4 "revoke transactions"
# revoke then rewrite: the newer copy wins (junk visible)
cp "$T/A.img" "$T/J.img"
$MK "$T/J.img" "R=$big1" "J=$big1" >/dev/null
[ "$("$FSREAD" "$T/J.img" cat /usr/lib/big.bin | sha256sum | cut -d' ' -f1)" \
	!= "$bigsha" ] || fail "a copy newer than its revoke was not replayed"
reference "$T/J.img" > "$T/ref"
snapshot "$T/J.img" | diff "$T/ref" - >&2 || fail "rewrite: differs from e2fsck"

# an uncommitted transaction at the end is not replayed
cp "$T/A.img" "$T/J.img"
$MK "$T/J.img" --from "$T/B.img" "B=$DIFF" "J=$big1;nocommit" >/dev/null
snapshot "$T/J.img" | diff "$T/want" - >&2 || fail "nocommit replayed"
assert_eq "$(jinfo "$T/J.img" TRANSACTIONS)" 1 "nocommit transactions"
assert_eq "$(jinfo "$T/J.img" PROBLEM)" "" "nocommit is no problem"

# a commit block with a bad checksum ends the log: that transaction and the
# later ones are left out, and it is reported
for bad in badcommit baddesc; do
	cp "$T/A.img" "$T/J.img"
	$MK "$T/J.img" --from "$T/B.img" "B=$DIFF" "J=$big1;$bad" "J=$big2" \
		>/dev/null
	snapshot "$T/J.img" | diff "$T/want" - >&2 || fail "$bad replayed"
	assert_eq "$(jinfo "$T/J.img" TRANSACTIONS)" 1 "$bad transactions"
	assert_eq "$(jinfo "$T/J.img" PROBLEM_RULE)" FMT-005 "$bad rule"
	jinfo "$T/J.img" PROBLEM | grep -q "transaction 1001: .* fails its checksum" \
		|| fail "$bad message: $(jinfo "$T/J.img" PROBLEM)"
done
# a logged block with a bad tag checksum is skipped, the rest replayed
cp "$T/A.img" "$T/J.img"
$MK "$T/J.img" --from "$T/B.img" "B=$DIFF" "J=$big1,$big2;baddata=$big1" \
	>/dev/null
assert_eq "$(jinfo "$T/J.img" BAD_BLOCKS)" 1 "bad data block"
assert_eq "$(jinfo "$T/J.img" TRANSACTIONS)" 2 "bad data transactions"
"$FSREAD" "$T/J.img" cat /usr/lib/big.bin > "$T/big.out"
cmp -s -i 1024:1024 -n 1024 "$T/big.out" "$src/usr/lib/big.bin" \
	|| fail "a block with a bad checksum was replayed"
cmp -s -i 2048:2048 -n 1024 "$T/big.out" "$src/usr/lib/big.bin" \
	&& fail "the good block of that transaction was not replayed"

# needs_recovery clear: the log is ignored, as the kernel does
cp "$T/A.img" "$T/J.img"
$MK "$T/J.img" --from "$T/B.img" --no-recover "B=$DIFF" >/dev/null
snapshot "$T/J.img" | diff "$T/old" - >&2 || fail "replayed without needs_recovery"
assert_eq "$(jinfo "$T/J.img" STATE)" clean "no needs_recovery"

# ---- ext4 with 4 KiB blocks, no metadata_csum ----
make_pair mkfs.ext4 -b 4096 -O ^metadata_csum
check 4k-v3 --csum v3
check 4k-nocsum-32 --csum none --32bit

# ---- ext3: block-mapped journal inode ----
make_pair mkfs.ext3 -b 1024
check ext3 --csum none --32bit
check ext3-wrap --csum none --32bit --start $(($(jblocks "$T/A.img") - 5))
# ---- ext2: no journal ----
truncate -s 8M "$T/e2.img"
mkfs.ext2 -q -F -d "$src" "$T/e2.img"
assert_eq "$(jinfo "$T/e2.img" STATE)" none "ext2"
echo ok
