#!/bin/bash
# Benchmark of `vmie inspect`: a 4 GiB Debian-like disk (the phony Debian 12
# guest of tests/inspect with ~300 MB of extra files, or the debootstrap
# guest when tests/inspect/debootstrap.sh has cached it), timed with
# /usr/bin/time -v (best of 5 runs, peak memory), and virt-inspector on the
# same image (installed here if missing) for the ratio.
# usage: bench/inspect/run.sh [VMIE]        targets: < 0.3 s, >= 30x faster
#                                           than virt-inspector, < 128 MiB
set -eu
VMIE=$(realpath "${1:-build/vmie}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${VMIE_GUEST_CACHE:-$HOME/.cache/vmie-test-guests}
mkdir -p "$CACHE"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
IMG="$CACHE/debian12-debootstrap.img"
if [ ! -s "$IMG" ]; then
	IMG="$CACHE/bench-debian12-4g.img"
	if [ ! -s "$IMG" ]; then
		echo "building $IMG (once)..." >&2
		"$PY" "$SRC/tests/inspect/mkguest.py" big "$CACHE" "$IMG"
	fi
fi
echo "image: $IMG ($(du -h --apparent-size "$IMG" | cut -f1) virtual, $(du -h "$IMG" | cut -f1) allocated)"
best=999 rss=0
for i in 1 2 3 4 5; do
	/usr/bin/time -v "$VMIE" inspect --json "$IMG" > /tmp/vmie-bench-inspect.$$ 2> /tmp/vmie-bench-time.$$
	t0=$(date +%s.%N)
	"$VMIE" inspect --json "$IMG" > /dev/null
	t=$(echo "$t0 $(date +%s.%N)" | awk '{ print $2 - $1 }')
	m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' /tmp/vmie-bench-time.$$)
	best=$(echo "$t $best" | awk '{ print ($1 < $2) ? $1 : $2 }')
	[ "$m" -gt "$rss" ] && rss=$m
done
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["operating_systems"][0]; print("found:", o["product_name"], o["linux"]["default_kernel"], "initrd", o["linux"]["initrd"]["compression"], "drivers", ",".join(o["linux"]["initrd"]["drivers"]))' /tmp/vmie-bench-inspect.$$
rm -f /tmp/vmie-bench-inspect.$$ /tmp/vmie-bench-time.$$
printf 'vmie inspect: %.3f s (best of 5), peak RSS %d KiB (%.1f MiB)\n' "$best" "$rss" "$(echo "$rss" | awk '{ print $1 / 1024 }')"

if ! command -v virt-inspector >/dev/null 2>&1; then
	echo "installing libguestfs-tools for the comparison..." >&2
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libguestfs-tools >/dev/null 2>&1 || true
fi
if command -v virt-inspector >/dev/null 2>&1; then
	/usr/bin/time -v env LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg \
		virt-inspector --format=raw -a "$IMG" > /tmp/vmie-bench-vi.xml.$$ 2> /tmp/vmie-bench-vi.$$ || true
	grep -q "<operatingsystem>" /tmp/vmie-bench-vi.xml.$$ || { echo "virt-inspector found no OS:"; tail -3 /tmp/vmie-bench-vi.$$; }
	rm -f /tmp/vmie-bench-vi.xml.$$
	vt=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' /tmp/vmie-bench-vi.$$)
	vm=$(awk -F': ' '/Maximum resident set size/ { print $2 }' /tmp/vmie-bench-vi.$$)
	rm -f /tmp/vmie-bench-vi.$$
	printf 'virt-inspector (TCG): %.2f s, peak RSS %.0f MiB\n' "$vt" "$(echo "$vm" | awk '{ print $1 / 1024 }')"
	echo "$vt $best" | awk '{ printf "ratio: vmie is %.0fx faster\n", $1 / ($2 > 0 ? $2 : 0.001) }'
else
	echo "virt-inspector not available: no ratio"
fi
