#!/bin/bash
# FS-001 and FS-002 on Btrfs roots, end to end: a root made by
# mkfs.btrfs --rootdir (the top-level subvolume only: passes), one converted
# in place from ext4 by btrfs-convert (keeps subvolume ext2_saved: fails,
# no root needed), and the installers' layout made by the kernel itself --
# root in subvolume @ set as default, /home in @home -- which needs root
# and a loop mount (that part is skipped with a note otherwise).  FS-002
# holds under both policies alike.
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"
need mkfs.btrfs btrfs-convert

plain=$(cguest debian11-btrfs)
conv=$(cguest debian11-btrfs-converted)

check "Btrfs root, no subvolumes" "$plain" -- exit=0 FS-001=pass \
	'FS-001~btrfs' FS-002=pass 'FS-002~disk0p1 (root): 0 subvolume(s)' \
	OS-001=pass OS-002=pass
check "Btrfs root, no subvolumes, legacy" --policy aws-legacy "$plain" -- \
	FS-002=pass FS-001=pass
check "converted root keeps ext2_saved: FS-002" "$conv" -- exit=1 \
	FS-002=fail 'FS-002~disk0p1 (root): 1 subvolume(s)' FS-001=pass \
	OS-001=pass OS-002=pass \
	'status_message=ClientError: Btrfs subvolumes are not supported' \
	'FS-002~btrfs subvolume delete'
check "converted root, legacy: FS-002" --policy aws-legacy "$conv" -- \
	exit=1 FS-002=fail
# not Btrfs at all: not applicable
check "ext4 root: FS-002 n/a" "$(cguest debian11)" -- FS-002=n/a \
	'FS-002~no Btrfs file system'

rc=0
sub=$("$PY" "$E2E/mkcheck.py" build "$CCACHE" debian11-btrfs-subvol \
	2> "$T/sub.err") || rc=$?
if [ "$rc" -eq 77 ]; then
	echo "note: $(cat "$T/sub.err"): the @/@home layout was not checked"
elif [ "$rc" -ne 0 ]; then
	cat "$T/sub.err" >&2
	fail "could not build guest debian11-btrfs-subvol"
else
	# the root is found in the default subvolume @; both subvolumes count
	check "root in subvolume @, /home in @home: FS-002" "$sub" -- exit=1 \
		FS-002=fail 'FS-002~disk0p1 (root): 2 subvolume(s)' \
		FS-001=pass OS-001=pass OS-002=pass 'OS-002~5.10.0-28-amd64' \
		'status~Btrfs subvolumes are not supported'
	check "the same, legacy" --policy aws-legacy "$sub" -- exit=1 FS-002=fail
fi
checks_done
