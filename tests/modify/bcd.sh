#!/bin/bash
# The BIOS \Boot\BCD store of lib/modify/bcd.c, read by tools that are not
# vmie: hivexget and hivexregedit (hivex), and regfinfo/regfexport
# (libregf, a second, independent hive reader; skipped with a note when
# libregf-utils is not installed).  The device element is also decoded
# back by bcd_tool from the bytes hivexget gives.
source "$SRCDIR/tests/functions.sh"
need hivexget hivexregedit cmp od
tool="$BUILDDIR/tests/modify/bcd_tool"
[ -x "$tool" ] || fail "missing $tool"

BM='Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\Elements'
S="$T/BCD"
# boot manager on "System Reserved" at 1 MiB, Windows at 500 MiB
loader=$("$tool" build "$S" 0x5eed1e55 1048576 524288000 \
	'desc=Windows 10 Enterprise' locale=fr-FR) || fail "bcd_tool build"
[[ "$loader" =~ ^\{[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\}$ ]] ||
	fail "loader GUID '$loader'"
LD="Objects\\$loader\\Elements"

get() { hivexget "$S" "$1" "${2:-Element}"; }
[ "$(get "$BM\\23000003")" = "$loader" ] || fail "bootmgr default"
[ "$(get "$BM\\24000001")" = "$loader" ] || fail "bootmgr displayorder"
[ "$(get "$BM\\12000004")" = "Windows Boot Manager" ] || fail "bootmgr description"
[ "$(get "$BM\\12000005")" = "fr-FR" ] || fail "bootmgr locale"
[ "$(get "$LD\\12000002")" = '\Windows\system32\winload.exe' ] || fail "loader path"
[ "$(get "$LD\\22000002")" = '\Windows' ] || fail "systemroot"
[ "$(get "$LD\\12000004")" = "Windows 10 Enterprise" ] || fail "description"
[ "$(get 'Description' KeyName)" = "BCD00000000" ] || fail "KeyName"
[ "$(get "Objects\\$loader\\Description" Type)" = 270532611 ] || fail "loader type"
# the BIOS boot manager has no path (the UEFI one has \EFI\...\bootmgfw.efi)
if hivexget "$S" "$BM\\12000002" Element >/dev/null 2>&1; then
	fail "bootmgr has a path"
fi
# timeout 30, 8 bytes little-endian
[ "$(get "$BM\\25000004" | od -An -tx1 | tr -d ' \n')" = 1e00000000000000 ] ||
	fail "timeout"
[ "$(get "$LD\\260000b0" | od -An -tx1 | tr -d ' \n')" = 00 ] || fail "ems"

# the device elements, decoded from the bytes hivexget gives
get "$BM\\11000001" > "$T/bm.dev"
get "$LD\\11000001" > "$T/ld.dev"
get "$LD\\21000001" > "$T/os.dev"
[ "$(stat -c %s "$T/bm.dev")" = 88 ] || fail "device length"
[ "$("$tool" decode "$T/bm.dev")" = "partition mbr signature=0x5eed1e55 offset=1048576" ] ||
	fail "bootmgr device: $("$tool" decode "$T/bm.dev")"
[ "$("$tool" decode "$T/ld.dev")" = "partition mbr signature=0x5eed1e55 offset=524288000" ] ||
	fail "loader device"
cmp -s "$T/ld.dev" "$T/os.dev" || fail "device and osdevice differ"
# the documented offsets: 6 at 0x10, 0x48 at 0x18, offset at 0x20,
# style 1 at 0x34, signature at 0x38
[ "$(od -An -tx1 -j16 -N12 "$T/ld.dev" | tr -d ' \n')" = 060000000000000048000000 ] ||
	fail "device header"
[ "$(od -An -tx1 -j32 -N8 "$T/ld.dev" | tr -d ' \n')" = 0000401f00000000 ] ||
	fail "partition offset bytes"
[ "$(od -An -tx1 -j52 -N8 "$T/ld.dev" | tr -d ' \n')" = 01000000551eed5e ] ||
	fail "style and signature bytes"

# hivexregedit parses the whole store
hivexregedit --export "$S" '\' > "$T/bcd.reg" || fail "hivexregedit --export"
[ "$(grep -c '^\[\\Objects\\{[^}]*}\]$' "$T/bcd.reg")" = 8 ] || fail "8 objects"
grep -q '^"Type"=dword:10100002$' "$T/bcd.reg" || fail "bootmgr type in export"

# the same inputs give the same bytes; another signature other ones
"$tool" build "$T/BCD2" 0x5eed1e55 1048576 524288000 \
	'desc=Windows 10 Enterprise' locale=fr-FR >/dev/null || fail "rebuild"
cmp -s "$S" "$T/BCD2" || fail "two builds differ"
"$tool" build "$T/BCD3" 0x5eed1e56 1048576 524288000 >/dev/null || fail "build 3"
if cmp -s "$S" "$T/BCD3"; then fail "signature not in the store"; fi

# a damaged copy is refused by hivex (so the checks above can fail)
cp "$S" "$T/bad"
printf '\x00\x00\x00\x00' | dd of="$T/bad" bs=1 seek=508 conv=notrunc status=none
if hivexget "$T/bad" 'Description' KeyName >/dev/null 2>&1; then
	fail "hivex read a store with a wrong checksum"
fi

# libregf: an independent reader of the registry file format
if command -v regfexport >/dev/null && command -v regfinfo >/dev/null; then
	regfinfo "$S" > "$T/info" 2> "$T/info.err" || fail "regfinfo: $(cat "$T/info.err")"
	[ ! -s "$T/info.err" ] || fail "regfinfo: $(cat "$T/info.err")"
	grep -q 'Version:.*1\.5' "$T/info" || fail "regfinfo version"
	regfexport "$S" > "$T/export" 2> "$T/export.err" || fail "regfexport"
	[ ! -s "$T/export.err" ] || fail "regfexport: $(cat "$T/export.err")"
	grep -q '^Key path: NewStoreRoot\\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\11000001$' \
		"$T/export" || fail "regfexport: no bootmgr device"
	grep -q '^00000030: 00 00 00 00 01 00 00 00  55 1e ed 5e 00 00 00 00' \
		"$T/export" || fail "regfexport: device bytes"
	grep -q '^Data: \\Windows\\system32\\winload.exe$' "$T/export" ||
		fail "regfexport: path"
	regfinfo "$T/bad" > /dev/null 2> "$T/bad.err" || true
	grep -q 'checksum' "$T/bad.err" || fail "libregf read the damaged copy"
else
	echo "NOTE: regfexport (libregf-utils) not installed: independent reader skipped"
fi
echo "bcd: all checks passed"
