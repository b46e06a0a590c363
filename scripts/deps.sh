#!/bin/sh
# Install the Debian 12 packages vmie needs to build and test, only those
# that are missing.  Runs apt-get only when something is missing.
set -eu
PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
 zlib1g-dev libdeflate-dev libisal-dev libzstd-dev liblz4-dev liblzo2-dev
 libxml2-dev libssl-dev libext2fs-dev ntfs-3g-dev libhivex-dev libjansson-dev
 libcmocka-dev liblzma-dev libsqlite3-dev sqlite3 libyaml-dev libmicrohttpd-dev
 qemu-utils e2fsprogs xfsprogs btrfs-progs jfsutils dosfstools mtools ntfs-3g
 libhivex-bin libregf-utils fdisk gdisk syslinux-common zstd lz4 xz-utils bzip2 cpio time libwin-hivex-perl debootstrap
 python3 python3-botocore lvm2 util-linux strace grub-pc-bin ldmtool curl
 help2man man-db bsdextrautils
 libpq-dev postgresql
 libcurl4-openssl-dev ceph-mon ceph-osd radosgw ceph-common
 qemu-system-x86 ovmf
 libguestfs-dev libguestfs-tools libguestfs-xfs linux-image-amd64"
# (libmicrohttpd-dev: vmie serve, lib/server)
# (libpq-dev: task records in PostgreSQL, lib/task/store_pg.c; postgresql:
# the throwaway servers of tests/pg)
# (libcurl4-openssl-dev: S3 buckets and image store, lib/io/s3.c; ceph-*,
# radosgw: the real S3 server of tests/s3, ../shared/tools/ceph-rgw.sh)
# (python3-botocore: lib/api/gen_shapes.py reads its ec2 service model at
# build time; the tests in tests/api check lib/api against it)
# (libguestfs: XFS, Btrfs and JFS guests and initramfs regeneration,
# lib/modify/guest_gfs.c; its appliance needs a kernel in /boot and
# qemu-system-x86; tests/modify/gfs-changes.sh)
# (help2man: the man pages, man/meson.build; man-db and bsdextrautils's
# col: tests/install renders them)
# (syslinux-common: its mbr.bin is the generic MBR boot code that a Windows
# GPT boot disk converted to MBR gets, lib/modify/gpt2mbr.c, BOOT-006)
# (qemu-system-x86 and ovmf: import-image --boot-check and its tests,
# tests/task/import-bootcheck.sh)
# the slow suites and the benchmarks (make test-slow, make bench: VMIE_SLOW=1)
# also boot real guests (tests/guests/mk-debian12.sh, tests/slow) under QEMU
# and run virt-v2v (bench/v2v), whose appliance needs a kernel in /boot
# and build the Debian package, install and purge it (tests/slow/deb.sh)
SLOW_PKGS="qemu-system-x86 virt-v2v nbdkit libguestfs-tools linux-image-amd64
 debhelper dpkg-dev build-essential"
[ "${VMIE_SLOW:-0}" = 1 ] && PKGS="$PKGS $SLOW_PKGS"
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
