#!/bin/bash
# Running out of room and losing the source (issue 10): an import into a
# store on a 40 MiB tmpfs of a disk with 96 MiB of data fails with the
# device's error and leaves no volume; an export into a full bucket the
# same; a source cut short in the middle of the copy fails the task with
# a message that says so (FMT-005), nothing left behind.  Needs root (a
# tmpfs mount); skipped otherwise.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
[ "$(id -u)" = 0 ] || skip "needs root for a tmpfs mount"
need mount umount mountpoint
SMALL="$T/small"
mkdir -p "$SMALL"
mount -t tmpfs -o size=40M tmpfs "$SMALL" 2>/dev/null || skip "cannot mount a tmpfs"
trap 'umount "$SMALL" 2>/dev/null || umount -l "$SMALL"; rm -rf "$T"' EXIT

head -c 96M /dev/urandom > "$BK/imports/big.raw"
# --- a full image store ---
RC=0
"$VMIE" import-snapshot --store "$SMALL/st" --bucket-root "$BK" --disk-container \
	"Format=RAW,UserBucket={S3Bucket=imports,S3Key=big.raw}" > "$T/out" 2> "$T/err" || RC=$?
[ "$RC" = 1 ] || { cat "$T/err" >&2; fail "full store: exit $RC"; }
[ "$(jget 'd["SnapshotTaskDetail"]["Status"]')" = deleted ] || fail "full store: not deleted"
jget 'd["SnapshotTaskDetail"]["StatusMessage"]' | grep -q 'No space left on device' ||
	fail "full store: message $(jget 'd["SnapshotTaskDetail"]["StatusMessage"]')"
[ -z "$(ls -A "$SMALL/st/volumes")" ] || fail "full store: volume left: $(ls -A "$SMALL/st/volumes")"
[ "$(sqlite3 "$SMALL/st/vmie.db" 'PRAGMA integrity_check')" = ok ] || fail "full store: integrity"
[ "$(sqlite3 "$SMALL/st/vmie.db" "select count(*) from records where kind='snapshot'")" = 0 ] ||
	fail "full store: a snapshot was registered"

# --- a full bucket ---
c7=$(guest centos7)
vt import-image --disk-containers "[{\"Format\": \"RAW\", \"Url\": \"$c7\"}, {\"Format\": \"RAW\", \"Url\": \"$BK/imports/big.raw\"}]"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import for the export"; }
ami=$(jget 'd["ImageId"]')
mkdir -p "$SMALL/bk/full"
RC=0
"$VMIE" export-image --store "$ST" --bucket-root "$SMALL/bk" --image-id "$ami" \
	--disk-image-format RAW --s3-export-location S3Bucket=full > "$T/out" 2> "$T/err" || RC=$?
[ "$RC" = 1 ] || { cat "$T/err" >&2; fail "full bucket: exit $RC"; }
[ "$(jget 'd["Status"]')" = deleted ] || fail "full bucket: not deleted"
jget 'd["StatusMessage"]' | grep -q 'No space left on device' || fail "full bucket: message"
[ -z "$(ls -A "$SMALL/bk/full")" ] || fail "full bucket: left $(ls -A "$SMALL/bk/full")"

# --- a source cut short while it is read ---
# 320 MiB: more than the conversion keeps in flight (128 MiB), so the
# throttled dispatcher is still reading when the file is cut
yes vmie-shrink-test | head -c 320M > "$BK/imports/shrink.raw"
VMIE_TEST_THROTTLE_MS=100 "$VMIE" import-snapshot --store "$ST" --bucket-root "$BK" \
	--disk-container "Format=RAW,UserBucket={S3Bucket=imports,S3Key=shrink.raw}" \
	> "$T/out" 2> "$T/err" &
pid=$!
for i in $(seq 1 600); do compgen -G "$ST/volumes/.snap-*" >/dev/null && break; sleep 0.05; done
truncate -s 1M "$BK/imports/shrink.raw"
rc=0; wait $pid || rc=$?
[ "$rc" = 1 ] || { cat "$T/out" "$T/err" >&2; ls -la "$BK/imports" >&2; fail "shrunk source: exit $rc"; }
jget 'd["SnapshotTaskDetail"]["StatusMessage"]' | grep -qE 'shrank|end of file|truncated' ||
	fail "shrunk source: message $(jget 'd["SnapshotTaskDetail"]["StatusMessage"]')"
store_clean "full store"
echo ok
