#!/bin/bash
# The state Windows left an NTFS volume in, as vmie records it on open
# (lib/fs/ntfs/ntfs.h): the $Volume dirty flag (set by ntfs_fixture through
# libntfs-3g, checked with ntfsinfo) and hiberfil.sys (a "HIBR" header:
# hibernated or fast startup, which ntfs-3g itself refuses read-write; a
# zeroed or "wake" header is not; a short one is, as libntfs-3g judges).
# Such volumes still open and read; the state is reported.
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
FIXTURE=$2
STATE=$3
need mkntfs ntfsinfo

truncate -s 32M "$T/base.img"
mkntfs -F -Q -L Win "$T/base.img" >/dev/null 2>&1 || fail mkntfs
mkdir -p "$T/h"
echo "Windows 11" > "$T/h/ver"
"$FIXTURE" "$T/base.img" mkdir:/Windows "file:/Windows/ver=$T/h/ver" \
	|| fail fixture
key() { "$STATE" "$1" | sed -n "s/^$2=//p"; }

# a clean volume
assert_eq "$(key "$T/base.img" DIRTY)" 0 "clean: dirty"
assert_eq "$(key "$T/base.img" HIBERFILE)" 0 "clean: hiberfile"
assert_eq "$(key "$T/base.img" HIBERNATED)" 0 "clean: hibernated"

# dirty
cp "$T/base.img" "$T/dirty.img"
"$FIXTURE" "$T/dirty.img" dirty: || fail "set dirty"
ntfsinfo -m "$T/dirty.img" 2>/dev/null | grep -qi 'dirty\|0x0001' \
	|| echo "note: ntfsinfo does not show the flag"
assert_eq "$(key "$T/dirty.img" DIRTY)" 1 "dirty flag"
assert_eq "$(key "$T/dirty.img" VOLUME_FLAGS)" 0x0001 "volume flags"
assert_eq "$("$FSREAD" "$T/dirty.img" cat /windows/ver)" "Windows 11" "dirty read"

# hiberfil.sys with a hibernation image (fast startup writes "HIBR")
hib() { # IMG SIG SIZE
	{ printf '%s' "$2"; head -c $(($3 - ${#2})) /dev/zero; } > "$T/h/hiberfil"
	cp "$T/base.img" "$1"
	"$FIXTURE" "$1" "file:/hiberfil.sys=$T/h/hiberfil" || fail "hiberfil"
}
hib "$T/hib.img" HIBR 16384
assert_eq "$(key "$T/hib.img" HIBERFILE)" 1 "HIBR: hiberfile"
assert_eq "$(key "$T/hib.img" HIBERNATED)" 1 "HIBR: hibernated"
assert_eq "$(key "$T/hib.img" HIBER_SIG)" HIBR "HIBR: signature"
assert_eq "$(key "$T/hib.img" DIRTY)" 0 "HIBR: not dirty"
assert_eq "$("$FSREAD" "$T/hib.img" cat /Windows/ver)" "Windows 11" "hibernated read"
# the hibernated and dirty volume both (libntfs-3g will not open a
# hibernated volume read-write: one fixture run does both)
cp "$T/base.img" "$T/both.img"
"$FIXTURE" "$T/both.img" "file:/hiberfil.sys=$T/h/hiberfil" dirty: \
	|| fail "hiberfil + dirty"
assert_eq "$(key "$T/both.img" DIRTY)$(key "$T/both.img" HIBERNATED)" 11 "both"
# the older lower-case signature
hib "$T/hib2.img" hibr 8192
assert_eq "$(key "$T/hib2.img" HIBERNATED)" 1 "hibr"
# resumed ("wake") or zeroed: a hiberfil.sys that is not a hibernation
hib "$T/wake.img" wake 8192
assert_eq "$(key "$T/wake.img" HIBERFILE)$(key "$T/wake.img" HIBERNATED)" 10 "wake"
assert_eq "$(key "$T/wake.img" HIBER_SIG)" wake "wake signature"
hib "$T/zero.img" "" 8192
assert_eq "$(key "$T/zero.img" HIBERFILE)$(key "$T/zero.img" HIBERNATED)" 10 "zeroed"
assert_eq "$(key "$T/zero.img" HIBER_SIG)" "" "zeroed signature"
# shorter than its 4 KiB header: libntfs-3g counts it as hibernated
hib "$T/short.img" "" 100
assert_eq "$(key "$T/short.img" HIBERNATED)" 1 "short hiberfil"
# hiberfil.sys is a normal file in listings
"$FSREAD" "$T/hib.img" ls / | grep -qx 'f hiberfil.sys' || fail "hiberfil listed"
# ntfs-3g agrees (when it can run here): it refuses read-write
if command -v ntfs-3g.probe >/dev/null; then
	rc=0; ntfs-3g.probe --readwrite "$T/hib.img" >/dev/null 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "ntfs-3g.probe accepts the hibernated image rw"
	ntfs-3g.probe --readonly "$T/hib.img" >/dev/null 2>&1 \
		|| fail "ntfs-3g.probe refuses it read-only"
fi
echo ok
