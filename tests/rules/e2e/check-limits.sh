#!/bin/bash
# vmie check on the limits of the disks of a VM (DSK-001..006), under both
# policies: 21 and 22 volumes, a 17 TiB disk, a 6 TiB disk with and
# without an import manifest, a 3 TiB boot disk, the root on a disk without
# the boot loader, an empty boot disk.  Sparse files cost nothing.
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"

c7=$(cguest centos7-xfs)
# a data disk: 1 GiB, sparse, one ext4 file system
truncate -s 1G "$T/data.raw"
mke2fs -q -F -t ext4 "$T/data.raw" 64M
data21=(); for i in $(seq 1 21); do data21+=("$T/data.raw"); done

check "21 volumes, current" "$c7" "${data21[@]:1}" -- exit=0 DSK-003=pass \
	'DSK-003~21 volume(s), limit 21' OS-001=pass
check "22 volumes, current: DSK-003" "$c7" "${data21[@]}" -- exit=1 \
	DSK-003=fail 'DSK-003~22 volume(s), limit 21' \
	'status~22 volumes; at most 21' 'DSK-003~import-snapshot'
check "22 volumes, legacy" --policy aws-legacy "$c7" "${data21[@]}" -- \
	exit=0 DSK-003=pass 'DSK-003~22 volume(s), limit 22'
check "23 volumes, legacy: DSK-003" --policy aws-legacy "$c7" \
	"${data21[@]}" "$T/data.raw" -- exit=1 DSK-003=fail

# 6 TiB: over the 4 TiB threshold of legacy, under the 8 TiB of current
truncate -s 6T "$T/six.raw"
check "6 TiB disk, current" "$c7" "$T/six.raw" -- exit=0 DSK-002=pass \
	DSK-001=pass 'DSK-002~no disk over 8 TiB'
check "6 TiB disk, legacy, no manifest: DSK-002" --policy aws-legacy "$c7" \
	"$T/six.raw" -- exit=1 DSK-002=fail 'DSK-002~disk1 is 6 TiB' \
	'DSK-002~manifest not given' 'status~require an import manifest'
check "6 TiB disk, legacy, --manifest" --policy aws-legacy --manifest "$c7" \
	"$T/six.raw" -- exit=0 DSK-002=pass 'DSK-002~manifest given'
rm -f "$T/six.raw"
# 9 TiB: over the 8 TiB threshold of aws-current too
truncate -s 9T "$T/nine.raw"
check "9 TiB disk, current, no manifest: DSK-002" "$c7" "$T/nine.raw" -- \
	exit=1 DSK-002=fail 'DSK-002~disk1 is 9 TiB, over 8 TiB' DSK-001=pass \
	'status_message=ClientError: Disks larger than 8 TiB require an import manifest'
check "9 TiB disk, current, --manifest" --manifest "$c7" "$T/nine.raw" -- \
	exit=0 DSK-002=pass
rm -f "$T/nine.raw"

# 17 TiB: over the 16 TiB limit (a raw file cannot be that big on ext4:
# a dynamic VHDX of that virtual size, or a sparse file on tmpfs)
big=""
if command -v qemu-img >/dev/null 2>&1 &&
	qemu-img create -q -f vhdx "$T/big17.vhdx" 17T 2>/dev/null; then
	big="$T/big17.vhdx"
elif [ -d /dev/shm ] && truncate -s 17T /dev/shm/vmie-e2e-17t.$$ 2>/dev/null; then
	big=/dev/shm/vmie-e2e-17t.$$
	trap 'rm -rf "$T" /dev/shm/vmie-e2e-17t.$$' EXIT
fi
if [ -n "$big" ]; then
	check "17 TiB disk: DSK-001" "$c7" "$big" -- exit=1 DSK-001=fail \
		'DSK-001~disk1 is 17 TiB' 'status~maximum of 16 TiB' \
		DSK-002=fail
	check "17 TiB disk, --manifest: still DSK-001" --manifest "$c7" "$big" \
		-- exit=1 DSK-001=fail DSK-002=pass
	check "17 TiB disk, legacy: DSK-001" --policy aws-legacy "$c7" "$big" \
		-- exit=1 DSK-001=fail
else
	echo "note: no qemu-img or tmpfs for a 17 TiB disk: DSK-001 not run"
fi

# a boot disk over 2 TiB (MBR limit, DSK-006)
cp --sparse=always "$c7" "$T/boot3t.raw"
truncate -s 3T "$T/boot3t.raw"
check "3 TiB boot disk: DSK-006" "$T/boot3t.raw" -- exit=1 DSK-006=fail \
	'DSK-006~boot disk0 is 3 TiB' 'status~boot volume exceeds 2 TiB' \
	DSK-001=pass
check "2 TiB data disk is not the boot disk" "$c7" "$T/boot3t.raw" -- \
	DSK-006=pass
rm -f "$T/boot3t.raw"

# the root file system on a disk without the boot loader (DSK-004)
cp --sparse=always "$c7" "$T/root.raw"
dd if=/dev/zero of="$T/root.raw" bs=440 count=1 conv=notrunc status=none
truncate -s 64M "$T/loader.raw"
printf 'label: dos\nstart=2048, size=8192, type=83, bootable\n' |
	sfdisk -q "$T/loader.raw"
dd if="$c7" of="$T/loader.raw" bs=440 count=1 conv=notrunc status=none
check "root away from the boot loader: DSK-004 warns" "$T/loader.raw" \
	"$T/root.raw" -- DSK-004=warn 'DSK-004~on disk1; boot code on disk0'
check "root with the boot loader" "$c7" "$T/data.raw" -- DSK-004=pass

# an empty boot disk (DSK-005) and a whole-disk file system
truncate -s 64M "$T/empty.raw"
check "empty boot disk: DSK-005" "$T/empty.raw" -- exit=1 DSK-005=fail \
	OS-001=fail 'status~' 'DSK-005~0 partition(s), 0 file system(s)'
check "whole-disk file system, no OS" "$T/data.raw" -- exit=1 DSK-005=pass \
	OS-001=fail 'status~Unknown OS'
checks_done
