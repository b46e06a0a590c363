#!/bin/sh
# Install the Debian 12 packages vmie needs to build and test, only those
# that are missing.  Runs apt-get only when something is missing.
set -eu
PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
 zlib1g-dev libdeflate-dev libisal-dev libzstd-dev liblz4-dev liblzo2-dev
 libxml2-dev libssl-dev libext2fs-dev ntfs-3g-dev libhivex-dev libjansson-dev
 libcmocka-dev liblzma-dev libsqlite3-dev sqlite3 libyaml-dev
 qemu-utils e2fsprogs xfsprogs btrfs-progs jfsutils dosfstools mtools ntfs-3g
 libhivex-bin fdisk gdisk zstd lz4 xz-utils bzip2 cpio time libwin-hivex-perl debootstrap
 python3 lvm2 util-linux strace grub-pc-bin ldmtool"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
