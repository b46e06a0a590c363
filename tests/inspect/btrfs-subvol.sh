#!/bin/bash
# Linux roots in Btrfs subvolumes, as the installers lay them out (Fedora's
# "root"/"home" under the default top level with /boot on ext4 and BLS
# entries; Ubuntu's "@"/"@home" with /boot inside "@"; SLES/openSUSE's
# snapper snapshot as the default subvolume with nested "@/var",
# "@/home"... mounted by fstab subvol=/subvolid=).  The images are made by
# the kernel (tests/inspect/mksubvol.py: mkfs.btrfs, loop mount, btrfs
# subvolume create/snapshot/set-default); `vmie inspect` must find the OS
# in the right subvolume, its kernels and default kernel, resolve fstab
# with subvolumes and read /home from the subvolume fstab mounts there;
# `vmie check` must identify the OS (OS-001) and fail FS-002 naming the
# subvolumes.  Needs root and a loop mount of Btrfs (skips otherwise);
# always unmounts and detaches.
source "$SRCDIR/tests/functions.sh"
need mkfs.btrfs btrfs mount umount losetup mkfs.fat mcopy mke2fs sfdisk
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
MK="$SRCDIR/tests/inspect/mksubvol.py"
loop_mounts

bad=0
for n in $("$PY" "$MK" list); do
	rc=0
	img=$("$PY" "$MK" build "$T/$n" "$n" "$MNT" 2> "$T/$n.build.err") ||
		rc=$?
	if [ "$rc" -eq 77 ]; then
		skip "$(cat "$T/$n.build.err")"
	elif [ "$rc" -ne 0 ]; then
		cat "$T/$n.build.err" >&2
		fail "could not build guest $n"
	fi
	mountpoint -q "$MNT" && fail "$n: the builder left $MNT mounted"
	# inspection
	expect_rc 0 "$T/$n.json" "$VMIE" inspect --json "$img"
	if ! "$PY" "$MK" check "$n" "$T/$n.json"; then
		bad=$((bad + 1))
		"$VMIE" inspect "$img" >&2 || true
	fi
	# the text report names the subvolume too
	"$VMIE" inspect --no-initrd "$img" > "$T/$n.txt" 2>&1 ||
		fail "$n: vmie inspect (text) failed"
	grep -q '^OS 1: linux on disk0p[0-9], Btrfs subvolume ' "$T/$n.txt" ||
		{ cat "$T/$n.txt" >&2; fail "$n: text report lacks the subvolume"; }
	# the verdicts
	# FS-002 fails: exit 1
	expect_rc 1 "$T/$n.check.json" "$VMIE" check --json "$img"
	if ! "$PY" "$MK" rules "$n" "$T/$n.check.json"; then
		bad=$((bad + 1))
		"$VMIE" check "$img" >&2 || true
	fi
	echo "ok: $n"
	rm -f "$T/$n"/disk*.img
done
[ "$bad" -eq 0 ] || fail "$bad guest(s) with wrong facts or verdicts"

# Damaged subvolume metadata (tree blocks patched with their checksums
# fixed by tests/fs/btrfs/btrfs_patch.py) in Ubuntu's file system, read as
# a whole-disk file system: never a crash or a sanitizer report.
P="$PY $SRCDIR/tests/fs/btrfs/btrfs_patch.py"
ub="$T/ubuntu2204-btrfs/root.fs"
[ -e "$ub" ] || fail "the Ubuntu file system image is gone"
inspect_bad() { # image name -> $T/name.json
	expect_rc 0 "$T/$2.json" "$VMIE" inspect --json "$1"
}
facts() { # name python-expression over doc, o (first OS or None)
	"$PY" -c 'import json, sys
doc = json.load(open(sys.argv[1]))
o = (doc["operating_systems"] or [None])[0]
print(eval(sys.argv[2]))' "$T/$1.json" "$2"
}
# the pristine file system, as a whole disk: the same root
inspect_bad "$ub" pristine
assert_eq "$(facts pristine 'o["root_device"], o["root_subvolume"]')" \
	"('disk0', '@')" "whole-disk file system"
# the name length of @'s ROOT_BACKREF past its item: the subvolumes cannot
# be listed (a warning says why); the top level holds no root
cp --sparse=always "$ub" "$T/bad.fs"
read -r leaf off <<< "$($P "$T/bad.fs" item root 256 ROOT_BACKREF 5)"
[ -n "$leaf" ] && [ -n "$off" ] || fail "ROOT_BACKREF of subvolume 256 not found"
$P "$T/bad.fs" block "$leaf" $((off + 16)) ffff
inspect_bad "$T/bad.fs" backref-len
assert_eq "$(facts backref-len 'len(doc["operating_systems"])')" 0 \
	"damaged backref: OS count"
facts backref-len 'doc["warnings"]' | grep -q "Btrfs subvolumes not listed: btrfs: bad root backref of subvolume 256" ||
	fail "damaged backref: no warning naming it ($(facts backref-len 'doc["warnings"]'))"
# @'s backref names a directory that does not exist: its path cannot be
# told ("?"), so it is tried last; the timeshift snapshot of @ is found
# first (a copy of the same root)
cp --sparse=always "$ub" "$T/bad.fs"
$P "$T/bad.fs" block "$leaf" "$off" 3f42000000000000
inspect_bad "$T/bad.fs" backref-dir
assert_eq "$(facts backref-dir 'doc["filesystems"][0]["subvolume_paths"]')" \
	"['?', '@home', 'timeshift-btrfs/snapshots/2024-01-02_03-04-05/@']" \
	"damaged backref dirid: subvolume paths"
assert_eq "$(facts backref-dir 'o["root_subvolume"], o["distro"]')" \
	"('timeshift-btrfs/snapshots/2024-01-02_03-04-05/@', 'ubuntu')" \
	"damaged backref dirid: root"
echo "ok: damaged subvolume metadata"
