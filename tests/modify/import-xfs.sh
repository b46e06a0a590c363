#!/bin/bash
# `vmie import-image` of a guest whose root is XFS (the phony CentOS 6.10
# of the inspection suite, a private cloud's policy admitting it), or
# with GFS_FS=btrfs the phony SLES 15 SP1 on Btrfs (slow suite): the
# guest changes go through the libguestfs backend inside the import, and
# the result is read back independently of vmie: xfs_repair -n on the
# changed file system, guestfish --ro for every file of the journal (the
# file has the journal's SHA-256 after, its kept original the SHA-256
# before, which is the source's file), and outside the changed partition
# the volume is the source byte for byte.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
FS=${GFS_FS:-xfs}
case $FS in
xfs)   GUEST=centos6-xfs; ROW="linux centos  6.10         kernel 2.6.32"
       need xfs_repair ;;
btrfs) GUEST=sles15-btrfs; ROW=""
       need btrfs ;;
*)     fail "GFS_FS=$FS: xfs or btrfs" ;;
esac
need sfdisk guestfish sha256sum
[ -e /usr/include/guestfs.h ] || skip "built without libguestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "no kernel in /boot for the libguestfs appliance"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

sed 's/^allow linux_initrd_drivers .*/allow linux_initrd_drivers virtio_blk virtio_net/' \
	"$SRCDIR/policies/aws-current" > "$T/policy"
[ -z "$ROW" ] || echo "$ROW" >> "$T/policy"

cp "$(guest $GUEST)" "$BK/imports/c6.raw"
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
case $FS in
xfs)   menu=/boot/grub/grub.conf ;;    # GRUB legacy
btrfs) menu=/boot/grub2/grub.cfg ;;    # GRUB 2
esac
grep -q " PREP-014 $menu " "$T/entries" || fail "the boot menu $menu was not changed"

# the partition the journal names, off the volume: xfs_repair -n
read -r start size < <(sfdisk -J "$vol" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][0]
print(p["start"] * 512, p["size"] * 512)')
dd if="$vol" of="$T/p1.img" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
	count="$size" status=none
if [ "$FS" = xfs ]; then
	xfs_repair -n -f "$T/p1.img" > "$T/repair" 2>&1 || { cat "$T/repair" >&2; fail "xfs_repair -n"; }
else
	btrfs check --readonly "$T/p1.img" > "$T/repair" 2>&1 || { cat "$T/repair" >&2; fail "btrfs check"; }
fi

# every file of the journal: the volume's files and kept originals, then
# the source's files.  XFS: one guestfish session, both disks (they carry
# the same UUID: mounted one after the other, nouuid); Btrfs: one session
# per disk (a second device with the same fsid confuses the kernel).
gf_script() { # DEV WHAT(new|old)
	echo "run"
	if [ "$FS" = xfs ]; then echo "mount-options ro,nouuid $1 /"
	else echo "mount-ro $1 /"; fi
	local i=0
	while read -r dev rule path kept before after; do
		[ "$dev" = disk0p1 ] || fail "change on $dev: the test reads disk0p1 only"
		i=$((i + 1))
		if [ "$2" = new ]; then
			[ "$after" = - ] || echo "download $path $T/new-$i"
			[ "$kept" = - ] || echo "download $kept $T/kept-$i"
		else
			[ "$kept" = - ] || echo "download $path $T/old-$i"
		fi
	done < "$T/entries"
}
if [ "$FS" = xfs ]; then
	{ gf_script /dev/sda1 new; echo "umount /"; gf_script /dev/sdb1 old | sed 1d; } > "$T/gf"
	guestfish --ro -a "$vol" -a "$src" -f "$T/gf" > "$T/gf.log" 2>&1 ||
		{ cat "$T/gf" "$T/gf.log" >&2; fail "guestfish"; }
else
	gf_script /dev/sda1 new > "$T/gf"
	guestfish --ro -a "$vol" -f "$T/gf" > "$T/gf.log" 2>&1 ||
		{ cat "$T/gf" "$T/gf.log" >&2; fail "guestfish (volume)"; }
	gf_script /dev/sda1 old > "$T/gf"
	guestfish --ro -a "$src" -f "$T/gf" > "$T/gf.log" 2>&1 ||
		{ cat "$T/gf" "$T/gf.log" >&2; fail "guestfish (source)"; }
fi
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
store_clean "after the $FS import"
echo "checked $n journal entries on $FS"
