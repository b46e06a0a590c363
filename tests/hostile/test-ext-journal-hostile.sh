#!/bin/bash
# Hostile ext4 journal (issue 9): a journal that needs recovery and whose
# replay would overwrite the group descriptors, the root directory's inode
# or its directory block.  vmie must not trust it: inspection reads the
# file system as it is on disk (the OS is still found), says that the
# journal was not replayed and why, and check warns under FS-001 with the
# reason.  A journal whose replay leaves the file system whole is still
# replayed (control).
source "$SRCDIR/tests/functions.sh"
need python3 mke2fs debugfs
bash "$SRCDIR/tests/hostile/gen_ext-journal-hostile.sh" "$T" >/dev/null ||
	fail "generator"
for k in gdt rootino rootdir nocsum; do
	every_command ok ok any ok "$T/$k.img"
	grep -q 'Hostile Linux 12' "$T/inspect" || fail "$k: OS not found"
	grep -q 'journal not trusted' "$T/inspect" ||
		fail "$k: untrusted journal not reported"
	grep -q 'not replayed' "$T/inspect" || fail "$k: no 'not replayed'"
	"$VMIE" check --json "$T/$k.img" > "$T/c.json" 2>/dev/null || true
	python3 - "$T/c.json" "$k" <<'PY' || fail "$k: check JSON"
import json, sys
d = json.load(open(sys.argv[1]))
rules = d.get('rules') or d.get('results') or []
r = [x for x in rules if x.get('id') == 'FS-001']
assert r, 'no FS-001'
r = r[0]
assert r.get('verdict') == 'warn', r
assert 'not trusted' in r.get('evidence', ''), r
PY
	"$VMIE" inspect --json "$T/$k.img" > "$T/i.json" 2>/dev/null ||
		fail "$k: inspect --json"
	python3 - "$T/i.json" <<'PY' || fail "$k: inspect JSON journal"
import json, sys
d = json.load(open(sys.argv[1]))
j = [f['journal'] for f in d['filesystems'] if f.get('journal')]
assert j and j[0]['state'] == 'skipped' and j[0]['untrusted'] is True, j
PY
done
# the reason names what broke
"$VMIE" inspect "$T/gdt.img" 2>&1 | grep -q 'group descriptors' ||
	fail "gdt: reason does not name the group descriptors"
"$VMIE" inspect "$T/rootino.img" 2>&1 | grep -q 'root' ||
	fail "rootino: reason does not name the root directory"
"$VMIE" inspect "$T/nocsum.img" 2>&1 | grep -q 'root inode is not a live directory' ||
	fail "nocsum: reason does not name the root inode"
# control: a replay that keeps the file system whole is trusted
every_command ok ok any ok "$T/good.img"
grep -q 'journal replayed' "$T/inspect" || fail "good: journal not replayed"
grep -q 'not trusted' "$T/inspect" && fail "good: journal distrusted"
echo ok
