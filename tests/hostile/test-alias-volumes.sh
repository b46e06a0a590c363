#!/bin/bash
# Issue 9, alias volumes: a GPT of 4000 entries and an LVM volume group of
# 3000 logical volumes that all name one small file system.  Every command
# finishes within its limits; inspection visits the file system once and
# reports the other entries as aliases of it; the budget's read counter
# shows that the file system was read once, not thousands of times.
. "$SRCDIR/tests/functions.sh"
need python3 mkfs.ext2
G="$SRCDIR/tests/hostile/gen_alias_volumes.py"

# a small Linux root: os-release, fstab, /bin
mkdir -p "$T/root/etc" "$T/root/bin" "$T/root/usr/bin"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' \
	> "$T/root/etc/os-release"
printf 'UUID=5a1e5a1e-0000-4000-8000-0000000000a1 / ext2 defaults 0 1\n' \
	> "$T/root/etc/fstab"
echo alias > "$T/root/etc/hostname"
mkfs.ext2 -q -F -b 1024 -U 5a1e5a1e-0000-4000-8000-0000000000a1 \
	-d "$T/root" "$T/fs.img" 4096 >/dev/null 2>&1 ||
	skip "mkfs.ext2 cannot populate a file system (-d)"

# counter NAME OUT: a counter of the budget report in OUT.err (like
# budget_field, which does not match the report's first field, read=)
counter() {
	sed -n "s/^vmie: budget: \(.*[ :]\)\{0,1\}$1=\([0-9]*\).*/\2/p" "$2.err" | tail -1
}

# count_json FILE EXPR: evaluate EXPR on the parsed JSON j
count_json() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$@"
}

check_aliases() {   # IMG N_ENTRIES WHAT
	local img="$1" n="$2" what="$3" read reads
	every_command ok ok any ok "$img"
	# one OS, found once
	grep -q 'Debian GNU/Linux 12' "$T/inspect" ||
		{ cat "$T/inspect"; fail "$what: no OS found"; }
	local aliases; aliases=$(grep -c '(alias of ' "$T/inspect" || true)
	[ "$aliases" -ge $((n - 1)) ] ||
		fail "$what: $aliases entries reported as aliases, want $((n - 1))"
	read=$(counter read "$T/inspect")
	echo "$what: inspect read=$read entries=$(counter entries "$T/inspect")" \
		"mem_peak=$(counter mem_peak "$T/inspect")" \
		"maxrss_kib=$(counter maxrss_kib "$T/inspect")"
	# the file system (4 MiB) and the tables, read once: well under
	# what n inspections would read
	[ "$read" -gt 0 ] || fail "$what: inspection reads were not metered"
	[ "$read" -lt $((16 << 20)) ] ||
		fail "$what: inspect read $read bytes: the file system was read again per alias"
	reads=$(counter read "$T/check")
	[ "$reads" -lt $((16 << 20)) ] || fail "$what: check read $reads bytes"
	# JSON: every alias names the first entry; one operating system
	run_bounded ok "$T/inspect.json" "$VMIE" inspect --json "$img"
	assert_eq "$(count_json "$T/inspect.json" \
		'len(j["operating_systems"])')" 1 "$what: operating systems"
	assert_eq "$(count_json "$T/inspect.json" \
		'len(set(f["alias_of"] for f in j["filesystems"] if f["alias_of"]))')" \
		1 "$what: aliases name one entry"
	local na; na=$(count_json "$T/inspect.json" \
		'sum(1 for f in j["filesystems"] if f["alias_of"])')
	[ "$na" -ge $((n - 1)) ] || fail "$what: JSON lists $na aliases"
	assert_eq "$(count_json "$T/inspect.json" \
		'sum(1 for f in j["filesystems"] if f["alias_exact"]) > 0 and sum(1 for f in j["filesystems"] if f["alias_of"] and not f["alias_exact"]) > 0')" \
		True "$what: exact and same-start aliases"
	assert_eq "$(count_json "$T/inspect.json" \
		'sum(1 for f in j["filesystems"] if f["type"] == "ext2" and not f["alias_of"])')" \
		1 "$what: one file system inspected"
}

# (a) a GPT whose 4000 entries all start at the file system
python3 "$G" gpt "$T/fs.img" "$T/gpt.raw" 4000
check_aliases "$T/gpt.raw" 4000 "GPT"
# the entries it visits are counted: under a lower limit, a clean refusal
# that names the counter, where, and how to raise it
run_bounded fail "$T/lim" "$VMIE" inspect --limit entries=1000 "$T/gpt.raw"
grep -q 'gpt: partition entries.*--limit entries=VALUE.*FMT-005' "$T/lim.err" ||
	{ cat "$T/lim.err"; fail "GPT: no FMT-005 refusal under --limit entries=1000"; }
run_bounded fail "$T/lim" "$VMIE" check --limit entries=1000 "$T/gpt.raw"
grep -q 'FMT-005' "$T/lim" "$T/lim.err" || fail "GPT: check does not say FMT-005"

# (b) an LVM volume group of 3000 logical volumes over the same extents
# (and one that splits them into two segments: the same bytes)
python3 "$G" lvm "$T/fs.img" "$T/lvm.raw" 3000
check_aliases "$T/lvm.raw" 3001 "LVM"
grep -q 'vg_alias/split' "$T/inspect" || fail "LVM: split LV not listed"
assert_eq "$(count_json "$T/inspect.json" \
	'[f["alias_exact"] for f in j["filesystems"] if f["lv"] == "vg_alias/split"][0]')" \
	True "LVM: two segments over the same extents are an exact alias"

# (c) distinct file systems that overlap: 20 FATs written into the free
# tail of an ext2 that a first entry covers; at most 8 overlapping ones are
# opened, the others are reported and not inspected
if command -v mkfs.vfat >/dev/null 2>&1 &&
   mkfs.ext2 -q -F -b 1024 -d "$T/root" "$T/big.img" 16384 >/dev/null 2>&1 &&
   mkfs.vfat -C "$T/small.img" 256 >/dev/null 2>&1; then
	python3 "$G" overlap "$T/big.img" "$T/small.img" "$T/overlap.raw" 20
	every_command ok ok any ok "$T/overlap.raw"
	assert_eq "$(grep -c 'not inspected (more than 8 file systems overlap' "$T/inspect")" \
		12 "overlap: file systems set aside"
	grep -q 'overlaps disk0p1: the table' "$T/inspect.err" ||
		grep -q 'overlaps disk0p1: the table' "$T/inspect" ||
		fail "overlap: no warning"
	[ "$(counter read "$T/inspect")" -lt $((32 << 20)) ] ||
		fail "overlap: inspect read too much"
fi
echo "ok"
