#!/bin/bash
# The guest changes of an import on a REAL Debian 12 guest (issue 11), no
# boot: tests/guests/mk-debian12.sh --style old (separate /boot, fstab and
# root= by device name, a static address on eth0, a cifs share), as a
# stream-optimized VMDK (qemu-img), imported with a policy that admits
# Debian 12 for a virtio target; the volume is read back independently
# (e2fsck -fn on both file systems, debugfs): fstab, grub.cfg on /boot,
# /etc/default/grub, interfaces; every journal entry's kept original holds
# the source's file (its SHA-256 before), the file the SHA-256 after.
# The default suite takes the guest from the cache only (--cached-only:
# skipped when tests/guests/mk-debian12.sh has not run yet); with --build
# (registered in the slow suite) it builds it first (debootstrap, minutes).
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need mke2fs debugfs e2fsck sfdisk sha256sum qemu-img
[ "$(id -u)" = 0 ] || skip "needs root (mk-debian12.sh)"
only=--cached-only
[ "${1:-}" = --build ] && only=""
rc=0
"$SRCDIR/tests/guests/mk-debian12.sh" "$T/old.raw" --style old $only || rc=$?
[ $rc = 77 ] && skip "no cached Debian 12 guest (tests/guests/mk-debian12.sh)"
[ $rc = 0 ] || fail "mk-debian12.sh: exit $rc"
. "$T/old.raw.facts"

# the source's file systems, to compare with
part() {  # part DISK OFFSET SIZE OUT
	dd if="$1" of="$4" bs=4M skip="$2" count="$3" iflag=skip_bytes,count_bytes \
		conv=sparse status=none
}
sfd() { sfdisk -d "$1" | sed -n "s#^.*$2 : start= *\([0-9]*\), size= *\([0-9]*\).*#\1 \2#p"; }
read -r s1 n1 < <(sfd "$T/old.raw" old.raw1)
read -r s2 n2 < <(sfd "$T/old.raw" old.raw2)
[ $((s1 * 512)) = "$BOOT_OFF" ] && [ $((s2 * 512)) = "$ROOT_OFF" ] || fail "partition table vs facts"
part "$T/old.raw" "$BOOT_OFF" $((n1 * 512)) "$T/src-p1"
part "$T/old.raw" "$ROOT_OFF" $((n2 * 512)) "$T/src-p2"
head -c "$BOOT_OFF" "$T/old.raw" > "$T/src-head"

qemu-img convert -O vmdk -o subformat=streamOptimized "$T/old.raw" "$BK/imports/old.vmdk"
rm -f "$T/old.raw"
POLICY="$T/policy"
sed -e 's/^name aws-current$/name debian12-import/' \
	-e 's/^allow linux_initrd_drivers .*/allow linux_initrd_drivers virtio_blk virtio_net/' \
	-e '/^linux debian  11 /a linux debian  12           kernel 6.1' \
	"$SRCDIR/policies/aws-current" > "$POLICY"

vt import-image --policy "$POLICY" --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=old.vmdk}"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import: exit $RC"; }
[ "$(jget 'd["Status"]')" = completed ] || { cat "$T/out" >&2; fail "import not completed"; }
ami=$(jget 'd["ImageId"]')
snap=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
vt image-journal --image-id "$ami"
[ "$RC" = 0 ] || fail "image-journal: $(cat "$T/err")"
cp "$T/out" "$T/journal.json"

vol="$ST/volumes/$snap.raw"
[ -f "$vol" ] || fail "no raw volume $vol"
part "$vol" "$BOOT_OFF" $((n1 * 512)) "$T/p1"
part "$vol" "$ROOT_OFF" $((n2 * 512)) "$T/p2"
for p in p1 p2; do
	e2fsck -fn "$T/$p" > "$T/fsck-$p" 2>&1 || { cat "$T/fsck-$p" >&2; fail "e2fsck -fn $p"; }
done
dbg() { debugfs -R "cat $2" "$T/$1" 2>/dev/null; }
# fstab: every device name -> UUID=, the share commented out
dbg p2 /etc/fstab > "$T/fstab"
grep -qE "^UUID=$ROOT_UUID[[:space:]]+/[[:space:]]" "$T/fstab" || { cat "$T/fstab" >&2; fail "fstab: /"; }
grep -qE "^UUID=$BOOT_UUID[[:space:]]+/boot[[:space:]]" "$T/fstab" || { cat "$T/fstab" >&2; fail "fstab: /boot"; }
grep -qE "^UUID=$SWAP_UUID[[:space:]]+none[[:space:]]+swap" "$T/fstab" || { cat "$T/fstab" >&2; fail "fstab: swap"; }
grep -qE '^/dev/sd' "$T/fstab" && { cat "$T/fstab" >&2; fail "fstab: a device name is left"; }
grep -qE '^#.*//192.168.50.5/share' "$T/fstab" || { cat "$T/fstab" >&2; fail "fstab: the cifs share"; }
# network: DHCP on eth0, the static address gone
dbg p2 /etc/network/interfaces > "$T/ifaces"
grep -qE '^iface eth0 inet dhcp' "$T/ifaces" || { cat "$T/ifaces" >&2; fail "interfaces: no DHCP"; }
grep -qE '^[[:space:]]*address 192.168.50.10' "$T/ifaces" && { cat "$T/ifaces" >&2; fail "interfaces: static address left"; }
# GRUB on /boot (grub/grub.cfg there) and /etc/default/grub
dbg p1 /grub/grub.cfg > "$T/grub.cfg"
grep -q "root=UUID=$ROOT_UUID" "$T/grub.cfg" || { cat "$T/grub.cfg" >&2; fail "grub.cfg: root=UUID="; }
grep -q 'root=/dev/sd' "$T/grub.cfg" && { cat "$T/grub.cfg" >&2; fail "grub.cfg: root=/dev/sdX left"; }
grep -q 'console=ttyS0' "$T/grub.cfg" || fail "grub.cfg: no serial console"
grep -q "linux[[:space:]]*/vmlinuz-$KVER" "$T/grub.cfg" || fail "grub.cfg: the kernel path changed"
dbg p2 /etc/default/grub | grep -q '^GRUB_CMDLINE_LINUX=.*console=ttyS0' ||
	fail "/etc/default/grub: GRUB_CMDLINE_LINUX"
# the boot code and the kernel are untouched
cmp -s -n 440 "$vol" "$T/src-head" || fail "the MBR boot code changed"
cmp -s -i 512 -n $((BOOT_OFF - 512)) "$vol" "$T/src-head" || fail "core.img (after the MBR) changed"
for f in "/vmlinuz-$KVER" "/initrd.img-$KVER" /grub/i386-pc/normal.mod; do
	[ "$(dbg p1 "$f" | sha256sum)" = "$(dbg src-p1 "$f" | sha256sum)" ] || fail "$f changed"
done

# every journal entry: the kept original = the source's file (SHA-256
# before), the file = SHA-256 after; Device disk0pN -> partition N
"$PY" - "$T/journal.json" > "$T/entries" <<'PYEOF'
import json, sys
for c in json.load(open(sys.argv[1]))['Changes']:
    print(c['Device'], c['Path'], c.get('KeptAs', '-'), c.get('Sha256Before', '-'),
          c.get('Sha256After', '-'), c['Rule'])
PYEOF
echo "journal:"; sed 's/^/  /' "$T/entries"
n=0
while read -r dev path kept before after rule; do
	case "$dev" in *p1) p=p1 ;; *p2) p=p2 ;; *) fail "$path: journal device $dev" ;; esac
	# a path of the journal is the guest's (/boot/grub/grub.cfg) or the
	# file system's (/grub/grub.cfg): on p1, try both
	fpath=$path kpath=$kept
	if [ $p = p1 ]; then fpath=${path#/boot}; kpath=${kept#/boot}; fi
	[ "$kept" != - ] || fail "$path: no kept original"
	[ "$(dbg $p "$kpath" | sha256sum | cut -d' ' -f1)" = "$before" ] ||
		fail "$path: the kept $kept is not the original"
	[ "$(dbg src-$p "$fpath" | sha256sum | cut -d' ' -f1)" = "$before" ] ||
		fail "$path: SHA-256 before differs from the source's file"
	if [ "$after" != - ]; then
		[ "$(dbg $p "$fpath" | sha256sum | cut -d' ' -f1)" = "$after" ] ||
			fail "$path: content is not what the journal says"
	fi
	n=$((n + 1))
done < "$T/entries"
for want in "/etc/fstab PREP-013" "/etc/network/interfaces PREP-003" \
	    "grub/grub.cfg PREP-014" "/etc/default/grub PREP-014"; do
	set -- $want
	grep -qE "[^ ]*$1 .* $2\$" "$T/entries" || fail "journal: no $1 ($2)"
done
store_clean "debian12-import"
echo "ok ($n journal entries checked)"
