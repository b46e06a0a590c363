#!/bin/bash
# import-image --boot-check of a UEFI guest (slow suite, about 30 s): the
# phony ubuntu2204-hybrid guest of tests/inspect/mkguest.py imported with
# --boot-mode uefi boots OVMF (a private copy of its variables).  Its
# BOOTX64.EFI is a stub OVMF cannot load, so OVMF falls back to its UEFI
# shell, which runs startup.nsh from the ESP: the test puts one there that
# echoes a login prompt.  The check passes with Firmware uefi, the log
# holds OVMF's messages and the prompt, and no copy of the variables is
# left in TMPDIR.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need qemu-system-x86_64 mcopy sfdisk
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip "needs ovmf"

src=$(guest ubuntu2204-hybrid)
cp --sparse=always "$src" "$T/u.raw"
esp=$(sfdisk --json "$T/u.raw" | "$PY" -c 'import json, sys
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    if p["type"].upper() == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B":
        print(p["start"] * 512)')
[ -n "$esp" ] || fail "no ESP in ubuntu2204-hybrid"
printf 'echo "vmie-uefi login:"\r\n' > "$T/startup.nsh"
MTOOLS_SKIP_CHECK=1 mcopy -i "$T/u.raw@@$esp" "$T/startup.nsh" ::/ ||
	fail "mcopy startup.nsh"

export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
vt import-image --boot-mode uefi --boot-check --boot-check-timeout 300 \
	--disk-containers "Format=RAW,Url=$T/u.raw"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "uefi boot check: exit $RC"; }
[ "$(jget 'd["BootMode"]')" = uefi ] || fail "uefi: BootMode"
task=$(jget 'd["ImportTaskId"]')
sqlite3 "$ST/vmie.db" "select doc from records where kind='import-image' and id='$task'" > "$T/rec"
"$PY" - "$T/rec" <<'PYEOF' || fail "uefi: Vmie.BootCheck"
import json, sys
b = json.load(open(sys.argv[1]))["Vmie"]["BootCheck"]
assert b["Result"] == "pass", b
assert b["Firmware"] == "uefi", b
assert b["Prompt"] == "vmie-uefi login:", b
PYEOF
log="$ST/logs/$task.boot.log"
grep -q 'UEFI Interactive Shell' "$log" || fail "uefi: the log has no OVMF shell"
grep -q '^vmie-uefi login:' "$log" || fail "uefi: the log has no prompt"
[ -z "$(ls -A "$TMPDIR")" ] || { ls -la "$TMPDIR" >&2; fail "uefi: left files in TMPDIR"; }
store_clean "uefi boot check"
echo ok
