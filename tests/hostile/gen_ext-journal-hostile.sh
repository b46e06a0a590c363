#!/bin/bash
# gen_ext-journal-hostile OUTDIR: Linux roots (ext4, mke2fs -d) whose
# journal needs recovery and whose committed transactions, replayed, would
# overwrite the file system's own metadata (issue 9):
#   gdt.img      the group descriptor block, logged as junk
#   rootino.img  the inode table block that holds the root directory's
#                inode, logged as junk
#   rootdir.img  the root directory's first data block, logged as junk
#   nocsum.img   as rootino.img, on a file system without metadata
#                checksums (the junk is caught by its content)
#   good.img     a transaction that logs an unchanged block (control: the
#                replay is kept)
# The journal is written by tests/fs/ext/jbd2mk.py (J= logs blocks with a
# junk pattern), as a crash would leave it: needs_recovery set.
set -e
out=$1
[ -n "$out" ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
MK="python3 $here/../fs/ext/jbd2mk.py"
src=$out/src
rm -rf "$src"
mkdir -p "$src/etc" "$src/bin" "$src/boot" "$src/lib/modules/6.1.0-9-amd64"
cat > "$src/etc/os-release" <<'OS'
NAME="Hostile Linux"
VERSION_ID="12"
PRETTY_NAME="Hostile Linux 12"
ID=debian
OS
echo journal-host > "$src/etc/hostname"
echo "/dev/sda / ext4 defaults 0 1" > "$src/etc/fstab"
head -c 4096 /dev/zero > "$src/bin/sh"
head -c 8192 /dev/zero > "$src/boot/vmlinuz-6.1.0-9-amd64"
truncate -s 32M "$out/base.img"
mke2fs -q -F -t ext4 -b 4096 -d "$src" "$out/base.img"
# the blocks to poison
rootino=$(debugfs -R "imap <2>" "$out/base.img" 2>/dev/null |
	sed -n 's/.*located at block \([0-9]*\),.*/\1/p')
rootdir=$(debugfs -R "bmap <2> 0" "$out/base.img" 2>/dev/null)
[ -n "$rootino" ] && [ -n "$rootdir" ] || { echo "setup failed" >&2; exit 1; }
for x in gdt:1 rootino:$rootino rootdir:$rootdir; do
	cp "$out/base.img" "$out/${x%%:*}.img"
	$MK "$out/${x%%:*}.img" "J=${x#*:}" >/dev/null
done
truncate -s 32M "$out/nocsum.img"
mke2fs -q -F -t ext4 -O ^metadata_csum -b 4096 -d "$src" "$out/nocsum.img"
rootino=$(debugfs -R "imap <2>" "$out/nocsum.img" 2>/dev/null |
	sed -n 's/.*located at block \([0-9]*\),.*/\1/p')
$MK "$out/nocsum.img" --csum none "J=$rootino" >/dev/null
cp "$out/base.img" "$out/good.img"
$MK "$out/good.img" --from "$out/base.img" "B=$rootdir" >/dev/null
rm -f "$out/base.img"
