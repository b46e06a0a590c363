#!/bin/bash
# A journal written by the kernel: mount an ext4 image on a loop device,
# change files (commit=1, no sync), and copy the backing file while it is
# still mounted: the copy has needs_recovery and committed transactions
# whose home blocks are not all written, as in a VM exported running.
# vmie must read the copy as e2fsck's replay of it does.  Needs root and
# loop mounts (skipped otherwise).
source "$SRCDIR/tests/functions.sh"
FSREAD=$1
EXTJ=$2
need mkfs.ext4 debugfs e2fsck dumpe2fs mount umount
[ "$(id -u)" = 0 ] || skip "needs root for a loop mount"
grep -qw ext4 /proc/filesystems || modprobe ext4 2>/dev/null || true
grep -qw ext4 /proc/filesystems || skip "kernel without ext4"

mnt=$T/mnt
mkdir -p "$mnt" "$T/src/etc" "$T/src/usr/lib"
echo "UUID=old / ext4 defaults 0 1" > "$T/src/etc/fstab"
for i in 1 2 3 4 5 6 7 8; do echo "file $i" > "$T/src/usr/lib/f$i"; done
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

snapshot() { "$EXTJ" "$1" walk || fail "walk $1"; }

run() { # mkfs-options...
	local img=$T/k.img
	rm -f "$img"
	truncate -s 32M "$img"
	mkfs.ext4 -q -F -d "$T/src" "$@" "$img" || fail "mkfs.ext4 $*"
	mount -o loop,commit=1 "$img" "$mnt" 2>/dev/null || skip "loop mount refused"
	mkdir -p "$mnt/boot/grub" "$mnt/etc/network"
	echo "UUID=new / ext4 defaults 0 1" > "$mnt/etc/fstab.tmp"
	mv "$mnt/etc/fstab.tmp" "$mnt/etc/fstab"
	echo "auto eth0" > "$mnt/etc/network/interfaces"
	ln -s /boot/vmlinuz-6.1 "$mnt/vmlinuz"
	rm "$mnt/usr/lib/f3" "$mnt/usr/lib/f4"
	for i in $(seq 1 40); do echo "menuentry $i" > "$mnt/boot/grub/e$i"; done
	# data blocks of these are written at commit (data=ordered)
	head -c 20000 /dev/urandom > "$mnt/boot/initrd.img"
	# wait for a commit (commit=1) that holds the changes, without sync
	local n=0
	while :; do
		cp "$img" "$T/crash.img"
		debugfs -R logdump "$T/crash.img" 2>/dev/null \
			| grep -q 'commit block' && break
		n=$((n + 1))
		[ $n -lt 20 ] || fail "no commit in the journal after 10 s"
		sleep 0.5
	done
	umount "$mnt"
	dumpe2fs -h "$T/crash.img" 2>/dev/null | grep -q needs_recovery \
		|| fail "copy has no needs_recovery"
	assert_eq "$("$EXTJ" "$T/crash.img" | sed -n 's/^STATE=//p')" replayed state
	local tx
	tx=$("$EXTJ" "$T/crash.img" | sed -n 's/^TRANSACTIONS=//p')
	[ "$tx" -ge 1 ] || fail "no transaction replayed"
	snapshot "$T/crash.img" > "$T/got"
	cp "$T/crash.img" "$T/ref.img"
	e2fsck -E journal_only -y "$T/ref.img" >/dev/null 2>&1 || true
	snapshot "$T/ref.img" > "$T/ref"
	diff "$T/ref" "$T/got" >&2 || fail "$*: differs from e2fsck's replay"
	grep -q ' /etc/network$' "$T/got" || fail "$*: replayed directory missing"
	# how stale the disk alone was (information, timing-dependent)
	debugfs -R "ls /etc" "$T/crash.img" 2>/dev/null | grep -q network \
		|| echo "note: the disk alone lacks /etc/network (replay needed)"
	echo "$* ok ($tx transactions)"
}

run -O metadata_csum
run -b 4096 -O ^metadata_csum
echo ok
