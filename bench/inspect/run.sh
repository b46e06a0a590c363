#!/bin/bash
# Benchmark of `vmie inspect` against virt-inspector on the same images:
#  - bench-debian12-4g.img: a 4 GiB Debian-like disk (the phony Debian 12
#    guest of tests/inspect with ~300 MB of extra files), built once;
#  - debian12-debootstrap.img (ext4, MBR) and debian12-xfs-lvm.img (XFS on
#    LVM): REAL Debian 12 systems with a real kernel, GRUB and a real
#    initramfs-tools initramfs (zstd), when tests/inspect/mkdebian.sh has
#    cached them (it is not run from here: it needs root and a mirror).
# vmie: wall time best of 5 runs (process start to exit, --json output),
# CPU time (user + system, best of 5) and peak RSS from /usr/bin/time -v
# (on a shared 2-core machine the wall time includes waiting for a core;
# the CPU time does not).  virt-inspector (libguestfs-tools,
# installed here if missing) runs once per image with the appliance under
# TCG (LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg).
# usage: bench/inspect/run.sh [VMIE]        targets: < 0.3 s, >= 30x faster
#                                           than virt-inspector, < 128 MiB
set -eu
VMIE=$(realpath "${1:-build/vmie}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${VMIE_GUEST_CACHE:-$HOME/.cache/vmie-test-guests}
mkdir -p "$CACHE"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/vmie-bench-inspect.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

IMGS=("$CACHE/bench-debian12-4g.img")
if [ ! -s "${IMGS[0]}" ]; then
	echo "building ${IMGS[0]} (once)..." >&2
	"$PY" "$SRC/tests/inspect/mkguest.py" big "$CACHE" "${IMGS[0]}"
fi
for n in debian12-debootstrap debian12-xfs-lvm; do
	if [ -s "$CACHE/$n.img" ]; then
		IMGS+=("$CACHE/$n.img")
	else
		echo "($n.img not cached: run tests/inspect/mkdebian.sh as root to add it)"
	fi
done

if ! command -v virt-inspector >/dev/null 2>&1; then
	echo "installing libguestfs-tools for the comparison..." >&2
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libguestfs-tools >/dev/null 2>&1 || true
fi

printf '\n%-26s %8s %8s %9s %10s %10s %7s  %s\n' image "vmie s" "cpu s" "vmie MiB" "v-insp s" "v-insp MiB" ratio targets
rows=()
for IMG in "${IMGS[@]}"; do
	best=999 rss=0 cpu=999
	for i in 1 2 3 4 5; do
		/usr/bin/time -v "$VMIE" inspect --json "$IMG" > "$TMP/out.json" 2> "$TMP/time"
		t0=$(date +%s.%N)
		"$VMIE" inspect --json "$IMG" > /dev/null
		t=$(echo "$t0 $(date +%s.%N)" | awk '{ print $2 - $1 }')
		m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TMP/time")
		c=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$TMP/time")
		cpu=$(echo "$c $cpu" | awk '{ print ($1 < $2) ? $1 : $2 }')
		best=$(echo "$t $best" | awk '{ print ($1 < $2) ? $1 : $2 }')
		[ "$m" -gt "$rss" ] && rss=$m
	done
	found=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["operating_systems"][0]; l=o["linux"]; print(o["product_name"], "| kernel", l["default_kernel"], "| initrd", l["initrd"]["compression"], l["initrd"]["read"], ",".join(l["initrd"]["drivers"]), "| root", o["root_device"], "| internal %.3f s" % d["seconds"])' "$TMP/out.json")
	vt=- vm=- ratio=-
	if command -v virt-inspector >/dev/null 2>&1; then
		/usr/bin/time -v env LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg \
			virt-inspector --format=raw -a "$IMG" > "$TMP/vi.xml" 2> "$TMP/vi" || true
		if grep -q "<operatingsystem>" "$TMP/vi.xml"; then
			vt=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$TMP/vi")
			vm=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$TMP/vi")
			ratio=$(echo "$vt $best" | awk '{ printf "%.0fx", $1 / ($2 > 0 ? $2 : 0.001) }')
			vidist=$(sed -n 's:.*<distro>\(.*\)</distro>.*:\1:p' "$TMP/vi.xml" | head -1)
			vimaj=$(sed -n 's:.*<major_version>\(.*\)</major_version>.*:\1:p' "$TMP/vi.xml" | head -1)
			vimin=$(sed -n 's:.*<minor_version>\(.*\)</minor_version>.*:\1:p' "$TMP/vi.xml" | head -1)
			vik=$(sed -n 's:.*<name>\(linux-image-[0-9][^<]*\)</name>.*:\1:p' "$TMP/vi.xml" | head -1)
			found="$found | virt-inspector: $vidist $vimaj.$vimin ${vik:-no kernel package}"
		else
			found="$found | virt-inspector found no OS: $(tail -1 "$TMP/vi")"
		fi
	fi
	ok=$(echo "$best $rss $vt" | awk '{ r = ($1 < 0.3) ? "time ok" : "time MISSED";
		r = r (($2 / 1024 < 128) ? ", mem ok" : ", mem MISSED");
		if ($3 != "-") r = r (($3 / $1 >= 30) ? ", ratio ok" : ", ratio MISSED");
		print r }')
	printf '%-26s %8.3f %8.2f %9.1f %10s %10s %7s  %s\n' "$(basename "$IMG")" "$best" \
		"$cpu" "$(echo "$rss" | awk '{ print $1 / 1024 }')" "$vt" "$vm" "$ratio" "$ok"
	rows+=("$(basename "$IMG"): $found")
done
echo
for r in "${rows[@]}"; do echo "$r"; done
