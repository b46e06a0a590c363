#!/bin/bash
# vmie inspect: exit status and output contract (docs/cmd-inspect.md).
source "$SRCDIR/tests/functions.sh"
need python3
rc=0; "$VMIE" inspect "$T/missing.img" >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 2 "exit status when the image cannot be opened"
grep -q missing.img "$T/err" || fail "error does not name the file"
rc=0; "$VMIE" inspect >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status without arguments"
truncate -s 8M "$T/empty.img"
"$VMIE" inspect -f raw "$T/empty.img" > "$T/out" || fail "empty disk: not 0"
grep -q 'no operating system found' "$T/out" || fail "empty disk: no message"
"$VMIE" inspect --json -f raw "$T/empty.img" "$T/empty.img" > "$T/j" || fail "json"
python3 - "$T/j" <<'PY' || fail "json contract"
import json, sys
d = json.load(open(sys.argv[1]))
assert d['schema_version'] == 1, d['schema_version']
assert d['operating_systems'] == [] and d['dual_boot'] is False
assert len(d['disks']) == 2 and d['disks'][1]['index'] == 1
assert d['filesystems'][0]['device'] == 'disk0' and d['filesystems'][1]['device'] == 'disk1'
assert d['filesystems'][0]['type'] is None and d['vm'] is None
assert isinstance(d['seconds'], float)
PY
echo ok
