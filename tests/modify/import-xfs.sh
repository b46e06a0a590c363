#!/bin/bash
# `vmie import-image` of a guest whose root is XFS (the phony CentOS 6.10
# of the inspection suite, a private cloud's policy admitting it): the
# guest changes go through the libguestfs backend inside the import, and
# the result is read back independently of vmie: xfs_repair -n on the
# changed file system, guestfish --ro for every file of the journal (the
# file has the journal's SHA-256 after, its kept original the SHA-256
# before, which is the source's file), and outside the changed partition
# the volume is the source byte for byte.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need xfs_repair sfdisk guestfish sha256sum
[ -e /usr/include/guestfs.h ] || skip "built without libguestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "no kernel in /boot for the libguestfs appliance"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

sed 's/^allow linux_initrd_drivers .*/allow linux_initrd_drivers virtio_blk virtio_net/' \
	"$SRCDIR/policies/aws-current" > "$T/policy"
echo "linux centos  6.10         kernel 2.6.32" >> "$T/policy"

cp "$(guest centos6-xfs)" "$BK/imports/c6.raw"
src="$BK/imports/c6.raw"
vt import-image --policy "$T/policy" --disk-containers \
	"Format=RAW,UserBucket={S3Bucket=imports,S3Key=c6.raw}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import: exit $RC"; }
ami=$(jget 'd["ImageId"]')
snap=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
vol="$ST/volumes/$snap.raw"
vt image-journal --image-id "$ami"
[ "$RC" = 0 ] || fail "image-journal: $(cat "$T/err")"
"$PY" - "$T/out" > "$T/entries" <<'PYEOF'
import json, sys
for c in json.load(open(sys.argv[1]))['Changes']:
    print(c['Device'], c['Rule'], c['Path'], c.get('KeptAs') or '-',
          c.get('Sha256Before') or '-', c.get('Sha256After') or '-')
PYEOF
[ -s "$T/entries" ] || fail "no change in the journal"
grep -q ' PREP-014 /boot/grub/grub.conf ' "$T/entries" || fail "GRUB legacy menu not changed"

# the partition the journal names, off the volume: xfs_repair -n
read -r start size < <(sfdisk -J "$vol" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][0]
print(p["start"] * 512, p["size"] * 512)')
dd if="$vol" of="$T/p1.img" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
	count="$size" status=none
xfs_repair -n -f "$T/p1.img" > "$T/repair" 2>&1 || { cat "$T/repair" >&2; fail "xfs_repair -n"; }

# every file of the journal: one guestfish session reads the volume's
# files and kept originals, then the source's files (both XFS carry the
# same UUID: mounted one after the other, nouuid)
{
	echo "run"
	echo "mount-options ro,nouuid /dev/sda1 /"
	i=0
	while read -r dev rule path kept before after; do
		[ "$dev" = disk0p1 ] || fail "change on $dev: the test reads disk0p1 only"
		i=$((i + 1))
		[ "$after" = - ] || echo "download $path $T/new-$i"
		[ "$kept" = - ] || echo "download $kept $T/kept-$i"
	done < "$T/entries"
	echo "umount /"
	echo "mount-options ro,nouuid /dev/sdb1 /"
	i=0
	while read -r dev rule path kept before after; do
		i=$((i + 1))
		[ "$kept" = - ] || echo "download $path $T/old-$i"
	done < "$T/entries"
} > "$T/gf"
guestfish --ro -a "$vol" -a "$src" -f "$T/gf" > "$T/gf.log" 2>&1 ||
	{ cat "$T/gf" "$T/gf.log" >&2; fail "guestfish"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
n=0
while read -r dev rule path kept before after; do
	n=$((n + 1))
	[ "$after" = - ] || [ "$(sum "$T/new-$n")" = "$after" ] ||
		fail "$path ($rule): not the journal's after"
	if [ "$kept" != - ]; then
		[ "$(sum "$T/kept-$n")" = "$before" ] ||
			fail "$path: the kept $kept is not the journal's before"
		[ "$(sum "$T/old-$n")" = "$before" ] ||
			fail "$path: the journal's before is not the source's file"
	fi
done < "$T/entries"

# outside partition 1 the volume is the source
cmp -n "$start" "$src" "$vol" || fail "the volume differs from the source before partition 1"
cmp -i "$((start + size))" "$src" "$vol" || fail "the volume differs from the source after partition 1"
store_clean "after the XFS import"
echo "checked $n journal entries on XFS"
