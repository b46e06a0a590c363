#!/bin/bash
# End-to-end inspection of phony guests: build each named guest (cached in
# the build directory, rebuilt when the builder scripts change), run
# `vmie inspect --json` on it and check the facts mkguest.py expects.
# usage: guests.sh NTFS_FIXTURE GUEST_PREFIX...
source "$SRCDIR/tests/functions.sh"
need python3 mke2fs mkfs.fat mcopy sfdisk
FIXTURE=$1; shift
HERE="$SRCDIR/tests/inspect"
# the system python (a pyenv shim on PATH costs ~1 s per call)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
KEY=$(cat "$HERE/mkguest.py" "$HERE/guestlib.py" | sha256sum | cut -c1-12)
CACHE="$BUILDDIR/inspect-guests/$KEY"
names=()
for pre in "$@"; do
	while read -r n; do names+=("$n"); done < <("$PY" "$HERE/mkguest.py" list "$pre")
done
[ ${#names[@]} -gt 0 ] || fail "no guests match: $*"
bad=0
for n in "${names[@]}"; do
	case "$n" in
	win*|nano*) need mkntfs hivexregedit; [ -x "$FIXTURE" ] || skip "no ntfs_fixture";;
	lvm*) need losetup pvcreate mkfs.xfs mkswap
		[ "$(id -u)" = 0 ] || skip "LVM guests need root (loop devices)"
		losetup -f >/dev/null 2>&1 || skip "no free loop device";;
	esac
	# several disks of one VM: several paths
	imgs=$("$PY" "$HERE/mkguest.py" build "$CACHE" "$n" "$FIXTURE") ||
		fail "could not build guest $n"
	read -r -a img <<< "$imgs"
	expect_rc 0 "$T/$n.json" "$VMIE" inspect --json "${img[@]}"
	if ! "$PY" "$HERE/mkguest.py" check "$n" "$T/$n.json"; then
		bad=$((bad + 1))
		"$VMIE" inspect "${img[@]}" >&2 || true
	fi
done
[ "$bad" -eq 0 ] || fail "$bad guest(s) with wrong facts"
echo "ok: ${names[*]}"
