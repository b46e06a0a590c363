#!/bin/bash
# Hostile journals on a file system that needs recovery: a broken journal
# superblock (magic, block size, s_maxlen, s_first, s_start, checksum,
# unknown feature), an external journal, a descriptor tag past the end of
# the file system, a log with more tags than the journal has blocks, a log
# that goes round the whole journal, an absurd revoke count.  vmie must
# still open the file system (read as it is on disk, or with the good
# transactions before the damage), report the problem with rule FMT-005 and
# a message naming it, and never crash, hang or trip a sanitizer.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
EXTJ=$2
need mkfs.ext4 debugfs
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "needs python3"
MK="$PY $SRCDIR/tests/fs/ext/jbd2mk.py"

mkdir -p "$T/src/etc"
echo "on disk" > "$T/src/etc/hostname"
truncate -s 16M "$T/A.img"
mkfs.ext4 -q -F -b 1024 -O metadata_csum -d "$T/src" "$T/A.img"
cp "$T/A.img" "$T/B.img"
echo "from the journal" > "$T/new"
debugfs -w -R "write $T/new /etc/new" "$T/B.img" >/dev/null 2>&1
DIFF=$("$PY" - "$T/A.img" "$T/B.img" <<'EOF'
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
print(','.join(str(i) for i in range(len(a) // 1024)
               if a[i * 1024:(i + 1) * 1024] != b[i * 1024:(i + 1) * 1024]))
EOF
)
jblk0=$(debugfs -R "bmap <8> 0" "$T/A.img" 2>/dev/null)
jblocks=$(dumpe2fs -h "$T/A.img" 2>/dev/null | sed -n 's/^Total journal blocks: *//p')
[ -n "$DIFF" ] && [ -n "$jblk0" ] && [ -n "$jblocks" ] || fail setup

poke() { # IMG OFFSET HEXBYTES
	"$PY" -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(bytes.fromhex(sys.argv[3]))' "$@"
}
# result IMG STATE TRANSACTIONS PATTERN [RULE]: journal info as expected,
# the file system still readable, no crash
result() {
	local img=$1 state=$2 tx=$3 pat=$4 rule=${5-FMT-005} out rc=0
	out=$("$EXTJ" "$img" 2> "$T/err") || rc=$?
	[ $rc -lt 128 ] || { cat "$T/err" >&2; fail "crashed ($rc) on $img"; }
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then
		cat "$T/err" >&2; fail "sanitizer report"
	fi
	[ $rc = 0 ] || { cat "$T/err" >&2; fail "open failed: $pat"; }
	assert_eq "$(echo "$out" | sed -n 's/^STATE=//p')" "$state" "state ($pat)"
	assert_eq "$(echo "$out" | sed -n 's/^TRANSACTIONS=//p')" "$tx" "tx ($pat)"
	assert_eq "$(echo "$out" | sed -n 's/^PROBLEM_RULE=//p')" "$rule" "rule ($pat)"
	echo "$out" | grep -E "^PROBLEM=.*$pat" >/dev/null \
		|| fail "problem /$pat/ not reported: $(echo "$out" | grep PROBLEM=)"
	assert_eq "$("$FSREAD" "$img" cat /etc/hostname)" "on disk" "read ($pat)"
}
journal() { # jbd2mk options and transactions; J.img = A + that journal
	cp "$T/A.img" "$T/J.img"
	$MK "$T/J.img" --from "$T/B.img" "$@" >/dev/null || fail "jbd2mk $*"
}

# broken journal superblock: nothing replayed, the disk as it is
journal --magic 0x12345678 "B=$DIFF"
result "$T/J.img" skipped 0 "bad journal superblock \(magic 0x12345678"
"$FSREAD" "$T/J.img" exists /etc/new && fail "replayed a refused journal"
journal --blocksize 4096 "B=$DIFF"
result "$T/J.img" skipped 0 "journal block size 4096 differs"
journal --maxlen 4000000000 "B=$DIFF"
result "$T/J.img" skipped 0 "s_maxlen 4000000000 but the journal inode holds"
journal --first 0 "B=$DIFF"
result "$T/J.img" skipped 0 "s_first 0 outside"
journal --first "$jblocks" "B=$DIFF"
result "$T/J.img" skipped 0 "s_first $jblocks outside"
journal --sb-start "$jblocks" "B=$DIFF"
result "$T/J.img" skipped 0 "s_start $jblocks outside the log"
# journal superblock checksum: one byte changed after it was sealed
journal "B=$DIFF"
poke "$T/J.img" $((jblk0 * 1024 + 0x48)) 01
result "$T/J.img" skipped 0 "journal superblock checksum mismatch"
# an unknown incompatible journal feature: unsupported, not corrupt
journal "B=$DIFF"
poke "$T/J.img" $((jblk0 * 1024 + 0x28)) 00010000
poke "$T/J.img" $((jblk0 * 1024 + 0xFC)) 00000000
"$PY" - "$T/J.img" $((jblk0 * 1024)) "$SRCDIR/tests/fs/ext" <<'EOF'
import sys, struct
sys.path.insert(0, sys.argv[3])
import jbd2mk
f = open(sys.argv[1], 'r+b'); off = int(sys.argv[2])
f.seek(off); sb = bytearray(f.read(1024))
struct.pack_into('>I', sb, 0xFC, jbd2mk.crc32c_raw(0xFFFFFFFF, sb))
f.seek(off); f.write(sb)
EOF
result "$T/J.img" skipped 0 "unknown journal incompatible features 0x10000" ""

# the log: a tag past the end of the file system ends it there
journal "B=$DIFF" "J=99999999"
result "$T/J.img" replayed 1 "transaction 1001: descriptor at journal block .* logs block 99999999, past the end"
[ "$("$FSREAD" "$T/J.img" cat /etc/new)" = "from the journal" ] \
	|| fail "the good transaction before the bad one was not replayed"
journal "J=99999999" "B=$DIFF"
result "$T/J.img" replayed 0 "logs block 99999999, past the end"
# a 64-bit tag whose high half is set
journal "J=$((1 << 40))"
result "$T/J.img" replayed 0 "logs block $((1 << 40)), past the end"
# more tags than the log has blocks (s_maxlen cut after writing)
journal --maxlen 12 "B=$DIFF,1,2,3,4,5,6,7,8,9,10,11,12,13,14"
result "$T/J.img" replayed 0 "runs past the whole log|round the whole journal"
# commit-only transactions filling a 1-block log: goes round forever
journal --maxlen 2 "empty"
result "$T/J.img" replayed 1 "goes round the whole journal"
# absurd revoke count in a revoke block (no checksums to stop it first)
journal --csum none "B=$DIFF" "R=7"
rb=$(debugfs -R "logdump" "$T/J.img" 2>/dev/null \
	| sed -n 's/.*type 5 (revoke table) at block \([0-9]*\).*/\1/p' | head -1)
[ -n "$rb" ] || fail "no revoke block"
rbp=$(debugfs -R "bmap <8> $rb" "$T/J.img" 2>/dev/null)
poke "$T/J.img" $((rbp * 1024 + 12)) 7fffffff
result "$T/J.img" replayed 1 "revoke block at journal block $rb counts 2147483647 bytes"

# an external journal that vmie does not have
cp "$T/B.img" "$T/X.img"
debugfs -w -f - "$T/X.img" >/dev/null 2>&1 <<'EOF'
ssv journal_inum 0
ssv journal_uuid 5f5f5f5f-1111-2222-3333-444444444444
feature needs_recovery
EOF
out=$("$EXTJ" "$T/X.img") || fail "external journal: open failed"
echo "$out" | grep -qx 'STATE=skipped' || fail "external: $out"
echo "$out" | grep -qx 'EXTERNAL=1' || fail "external flag: $out"
echo "$out" | grep -q 'PROBLEM=.*external journal (UUID 5f5f5f5f-1111-2222-3333-444444444444)' \
	|| fail "external message: $out"
assert_eq "$("$FSREAD" "$T/X.img" cat /etc/new)" "from the journal" "external read"

# random bytes over the whole log area, with needs_recovery: no crash
for seed in 1 2 3; do
	journal "B=$DIFF"
	"$PY" - "$T/J.img" "$jblk0" "$seed" <<'EOF'
import random, sys
random.seed(int(sys.argv[3]))
f = open(sys.argv[1], 'r+b'); j0 = int(sys.argv[2])
for blk in range(1, 40):
    f.seek((j0 + blk) * 1024)
    data = bytearray(random.getrandbits(8) for _ in range(1024))
    if blk % 3 == 1:        # keep some plausible headers
        data[0:12] = bytes.fromhex('c03b3998') + \
            (1 + blk % 5).to_bytes(4, 'big') + (1000).to_bytes(4, 'big')
    f.write(data)
EOF
	rc=0
	"$EXTJ" "$T/J.img" > "$T/out" 2> "$T/err" || rc=$?
	[ $rc -lt 128 ] || fail "random log $seed: crashed ($rc)"
	grep -qE 'Sanitizer|runtime error' "$T/err" && { cat "$T/err" >&2; fail "random log $seed: sanitizer"; }
	"$FSREAD" "$T/J.img" cat /etc/hostname >/dev/null 2>&1 || true
done
echo ok
