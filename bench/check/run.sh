#!/bin/bash
# vmie check benchmark: a full check of a 4 GiB image (target < 0.5 s) and of
# a 21-disk VM (target < 2 s).  Prints the figures (best of 5 runs).
set -eu
VMIE=${1:-build/vmie}
D=${BENCH_DIR:-/var/tmp/vmie-bench}/check
mkdir -p "$D"
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)

mkguest() { # out size
	local out=$1 size=$2 r="$D/root"
	rm -rf "$r"; mkdir -p "$r/etc" "$r/boot/grub" "$r/lib/modules/5.10.0-23-amd64" "$r/usr/sbin" "$r/bin"
	printf 'ID=debian\nVERSION_ID="11"\nPRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n' > "$r/etc/os-release"
	echo 11.7 > "$r/etc/debian_version"
	echo bench > "$r/etc/hostname"
	printf 'UUID=%s / ext4 defaults 0 1\n' 0b5a1f59-0000-4000-8000-000000000001 > "$r/etc/fstab"
	cp /bin/true "$r/bin/sh"
	: > "$r/boot/vmlinuz-5.10.0-23-amd64"
	printf 'menuentry "Debian" {\n linux /boot/vmlinuz-5.10.0-23-amd64 root=/dev/sda1\n}\n' > "$r/boot/grub/grub.cfg"
	: > "$r/usr/sbin/sshd"
	# some bulk so the disk is not empty
	mkdir -p "$r/usr/share/bulk"; for i in $(seq 1 200); do head -c 200000 /dev/urandom > "$r/usr/share/bulk/f$i"; done
	truncate -s $((size - (1 << 20))) "$D/part.img"
	mkfs.ext4 -q -F -U 0b5a1f59-0000-4000-8000-000000000001 -d "$r" "$D/part.img"
	rm -f "$out"; truncate -s "$size" "$out"
	printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$out"
	dd if="$D/part.img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
	rm -f "$D/part.img"
}
[ -f "$D/vm4g.raw" ] || mkguest "$D/vm4g.raw" $((4 << 30))
if [ ! -f "$D/data20.raw" ]; then
	truncate -s 1G "$D/data20.raw"; mkfs.ext4 -q -F "$D/data20.raw"
fi
DATA=(); for i in $(seq 1 20); do DATA+=("$D/data20.raw"); done

best() { # runs command 5 times, prints best wall time and max RSS
	local b=999 m=0
	for i in 1 2 3 4 5; do
		/usr/bin/time -f '%e %M' -o "$D/t" "$@" >/dev/null 2>&1 || true
		read -r t k < "$D/t"
		b=$(python3 -c "print(min($b, $t))"); m=$((k > m ? k : m))
	done
	echo "$b $((m / 1024))"
}
read -r t1 m1 <<<"$(best "$VMIE" check "$D/vm4g.raw")"
read -r t2 m2 <<<"$(best "$VMIE" check "$D/vm4g.raw" "${DATA[@]}")"
printf '%-40s %8s s  %6s MiB  (target < %s s)\n' "vmie check, 4 GiB image" "$t1" "$m1" 0.5
printf '%-40s %8s s  %6s MiB  (target < %s s)\n' "vmie check, 21-disk VM" "$t2" "$m2" 2
