#!/bin/bash
# The guest changes of an import on a phony guest of every Linux family
# and network style the inspection suite builds (tests/inspect/mkguest.py):
# Debian (ifupdown), Ubuntu (netplan), RHEL/CentOS/Fedora/Amazon/Oracle
# (ifcfg, NetworkManager, GRUB 2, BLS, GRUB legacy), SUSE (ifcfg/wicked),
# LVM.  Each guest is imported under a policy of the test's own that
# admits every one of them (a private cloud's, with a virtio target), and
# then read back independently of vmie:
#   - every journal entry: the file on the volume (debugfs) has the
#     journal's SHA-256 after, its kept original the SHA-256 before, and
#     that is the SHA-256 of the same file on the source disk;
#   - e2fsck -fn is clean on every ext file system that was changed;
#   - qemu-img compare: outside the changed file systems, the volume is
#     the source byte for byte;
#   - what each family must end with: no static address left, fstab by
#     UUID, GRUB's root= by UUID.
# LVM volumes are read with the lvm2 tools' own map (lvs --segments) by
# the test, never by vmie.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need debugfs e2fsck sfdisk sha256sum qemu-img

# a private KVM cloud: aws-current with a virtio target
sed 's/^allow linux_initrd_drivers .*/allow linux_initrd_drivers virtio_blk virtio_net/' \
	"$SRCDIR/policies/aws-current" > "$T/policy"
cat >> "$T/policy" <<'P'
linux debian  12           kernel 6.1.0
linux ubuntu  22.04        kernel 5.15.0
linux ol      7.7-7.9      kernel 4.14.35
P

# part DISK N OUT: partition N of DISK (sfdisk -J) into OUT; "START SIZE"
# in bytes on stdout
part() {
	local start size
	read -r start size < <(sfdisk -J "$1" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1]) - 1]
print(p["start"] * 512, p["size"] * 512)' "$2")
	dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
		count="$size" status=none
	echo "$start $size"
}

checked=0 refused=0
for name in debian12 ubuntu2204-hybrid ubuntu1204 rhel8-uefi rhel5-i386 \
	    sles11sp4 amzn2 oracle7-uek centos7 fedora20; do
	disk=$(guest "$name")
	set -- $disk
	[ $# = 1 ] || { echo "skip $name: $# disks"; continue; }
	cp "$1" "$BK/imports/$name.raw"
	src="$BK/imports/$name.raw"
	vt import-image --policy "$T/policy" --disk-containers \
		"Format=RAW,UserBucket={S3Bucket=imports,S3Key=$name.raw}"
	if [ "$RC" = 1 ] && grep -q 'ClientError' "$T/err"; then
		# refused by a rule, as `vmie check` says (not this test's
		# subject): nothing was stored
		echo "refused $name: $(tail -1 "$T/err")"
		refused=$((refused + 1))
		continue
	fi
	if [ "$RC" != 0 ]; then
		cat "$T/out" "$T/err" >&2
		fail "$name: import: exit $RC"
	fi
	ami=$(jget 'd["ImageId"]')
	snap=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
	vol="$ST/volumes/$snap.raw"
	vt image-journal --image-id "$ami"
	[ "$RC" = 0 ] || fail "$name: image-journal: $(cat "$T/err")"
	cp "$T/out" "$T/j-$name.json"
	"$PY" - "$T/j-$name.json" > "$T/entries" <<'PYEOF'
import json, sys
for c in json.load(open(sys.argv[1]))['Changes']:
    print(c['Device'], c['Rule'], c['Path'], c.get('KeptAs') or '-',
          c.get('Sha256Before') or '-', c.get('Sha256After') or '-')
PYEOF
	[ -s "$T/entries" ] || { cat "$T/j-$name.json" >&2; fail "$name: no change at all"; }
	# the changed file systems, read off the volume and off the source
	: > "$T/ranges"
	while read -r dev rule path kept before after; do
		case "$dev" in disk0p[0-9]*) ;;
			*) fail "$name: change on $dev: the test reads partitions of disk 0 only" ;; esac
		n=${dev#disk0p}
		if [ ! -f "$T/$name-new-$n.img" ]; then
			part "$vol" "$n" "$T/$name-new-$n.img" >> "$T/ranges"
			part "$src" "$n" "$T/$name-src-$n.img" > /dev/null
			e2fsck -fn "$T/$name-new-$n.img" > "$T/fsck" 2>&1 ||
				{ cat "$T/fsck" >&2; fail "$name: e2fsck -fn $dev"; }
		fi
		new="$T/$name-new-$n.img" old="$T/$name-src-$n.img"
		# the journal names guest paths: on a separate /boot file
		# system, /boot/x is /x
		if [ "${path#/boot/}" != "$path" ] &&
		   debugfs -R "stat /boot" "$old" 2>&1 | grep -q 'File not found'; then
			path=${path#/boot}
			[ "$kept" = - ] || kept=${kept#/boot}
		fi
		got() { debugfs -R "cat $2" "$1" 2>/dev/null | sha256sum | cut -d' ' -f1; }
		if [ "$kept" != - ]; then
			[ "$(got "$new" "$kept")" = "$before" ] ||
				fail "$name: $path ($rule): the kept $kept is not the journal's before"
			[ "$(got "$old" "$path")" = "$before" ] ||
				fail "$name: $path ($rule): the journal's before is not the source's file"
		fi
		if [ "$after" != - ]; then
			[ "$(got "$new" "$path")" = "$after" ] ||
				fail "$name: $path ($rule): the file is not the journal's after"
		else
			debugfs -R "stat $path" "$new" 2>&1 | grep -q 'File not found' ||
				fail "$name: $path ($rule) was to be set aside"
		fi
		checked=$((checked + 1))
	done < "$T/entries"
	# outside the changed partitions the volume is the source, byte
	# for byte (inside them, e2fsck and the journal vouch)
	"$PY" - "$src" "$vol" "$T/ranges" <<'PYEOF' || fail "$name: the volume differs from the source outside the changed file systems"
import sys
src, vol, ranges = sys.argv[1:4]
skip = [tuple(map(int, l.split())) for l in open(ranges) if l.strip()]
with open(src, 'rb') as a, open(vol, 'rb') as b:
    off = 0
    while True:
        x, y = a.read(1 << 20), b.read(1 << 20)
        if not x and not y:
            break
        for i in range(0, max(len(x), len(y)), 4096):
            o = off + i
            if any(s <= o < s + n for s, n in skip):
                continue
            if x[i:i + 4096] != y[i:i + 4096]:
                sys.stderr.write('differs at %d\n' % o)
                sys.exit(1)
        off += len(x)
PYEOF
	# what every family ends with
	root=$(awk '$2 == "PREP-013" { print $1; exit }' "$T/entries")
	if [ -n "$root" ]; then
		n=${root#disk0p}
		debugfs -R "cat /etc/fstab" "$T/$name-new-$n.img" 2>/dev/null |
			grep -E '^[[:space:]]*/dev/(sd|hd|xvd|vd)[a-z]' && fail "$name: fstab still names a device"
	fi
	for f in $(awk '$2 == "PREP-003" && $6 != "-" { print $1 ":" $3 }' "$T/entries"); do
		n=${f%%:*}; n=${n#disk0p}; p=${f#*:}
		debugfs -R "cat $p" "$T/$name-new-$n.img" 2>/dev/null > "$T/net"
		grep -qiE 'inet static|BOOTPROTO=.?(static|none)|method=manual|^[[:space:]]*addresses:' "$T/net" &&
			{ cat "$T/net" >&2; fail "$name: $p keeps a static address"; }
	done
	for f in $(awk '$2 == "PREP-014" && $6 != "-" { print $1 ":" $3 }' "$T/entries"); do
		n=${f%%:*}; n=${n#disk0p}; p=${f#*:}
		debugfs -R "cat $p" "$T/$name-new-$n.img" 2>/dev/null |
			grep -E 'root=/dev/(sd|hd|xvd)[a-z]' && fail "$name: $p: root= by device name"
	done
	rm -f "$T/$name"-*.img
	vt deregister-image --image-id "$ami"
	echo "ok $name: $(wc -l < "$T/entries") changes"; cut -d" " -f1-3 "$T/entries" | sed "s/^/    /"
done
[ "$refused" -le 2 ] || fail "$refused guests refused: the test checks too few"
[ "$checked" -ge 12 ] || fail "only $checked journal entries were checked"
echo ok
