#!/bin/bash
# Issue 9, class 4: an OVA whose manifest repeats the disk's line thousands
# of times.  Each member is digested at most once per algorithm: repeats
# of the same digest are ignored (and counted), a repeat with another
# digest is refused before any disk byte is read, and a manifest past the
# line or size limit is refused as it is parsed.  Asserted by counting
# (digests computed, bytes digested, budget entries), not by timing.
. "$SRCDIR/tests/functions.sh"
GEN="$SRCDIR/tests/hostile/gen_ova-manifest-repeat.py"

# an 8 MiB disk with data in every 64 KiB grain, as a stream VMDK
python3 - "$T/d.raw" <<'PY'
import sys
b = bytearray(8 << 20)
for i in range(0, len(b), 65536):
    b[i:i + 16] = (b"grain %08d  " % (i >> 16))[:16]
open(sys.argv[1], "wb").write(b)
PY
"$VMIE" convert -O vmdk,streamOptimized "$T/d.raw" "$T/d.vmdk" ||
	fail "cannot make the stream VMDK"
dsize=$(stat -c %s "$T/d.vmdk")

# 1. 8000 repeats (under the 8192-line and 1 MiB limits): accepted, the
# disk digested once
python3 "$GEN" "$T/rep.ova" "$T/d.vmdk" repeat 8000 || fail "generator failed"
every_command ok any any ok "$T/rep.ova"
run_bounded ok "$T/j" "$VMIE" info --check --json "$T/rep.ova"
python3 - "$T/j" "$dsize" <<'PY' || fail "the disk was digested more than once"
import json, sys
m = json.load(open(sys.argv[1]))["manifest"]
dsize = int(sys.argv[2])
assert m["verified"] is True, m
assert m["entries"] == 8001, m
assert m["duplicate_lines"] == 7999, m
assert m["digests_computed"] == 2, m          # the OVF and the disk, once
assert dsize <= m["digested_bytes"] < dsize + 65536, m
PY
grep -q 'repeated lines ignored' "$T/info" || { cat "$T/info"; fail "info does not say the repeats were ignored"; }
# (the disk holds no OS: the verdict fails, but not by FMT-005)
run_bounded 1 "$T/v" "$VMIE" check --verify-manifest --json "$T/rep.ova"
python3 - "$T/v" <<'PY' || fail "check --verify-manifest does not pass FMT-005"
import json, sys
r = {x["id"]: x for x in json.load(open(sys.argv[1]))["results"]}
assert r["FMT-005"]["verdict"] == "pass", r["FMT-005"]
PY
# manifest lines, tar headers, OVF nodes and the VMDK's tables: far below
# what one entry per byte of the repeated disk would be
entries=$(budget_field entries "$T/v")
[ "$entries" -lt 200000 ] || fail "check --verify-manifest visited $entries entries"

# 2. a conflicting repeat: refused, naming both entries, and no digest
python3 "$GEN" "$T/conf.ova" "$T/d.vmdk" conflict 3 || fail "generator failed"
run_bounded 2 "$T/c" "$VMIE" info --check "$T/conf.ova"
grep -q "twice with different values (entries 2 and 5)" "$T/c.err" ||
	{ cat "$T/c" "$T/c.err"; fail "conflicting repeat not refused with a clear message"; }
run_bounded 1 "$T/c2" "$VMIE" check --verify-manifest "$T/conf.ova"
grep -q 'FMT-005' "$T/c2" && grep -q 'different values' "$T/c2" ||
	{ cat "$T/c2"; fail "check does not fail FMT-005 on a conflicting manifest"; }

# 3. 20000 repeats: past the manifest limits, refused as it is parsed
python3 "$GEN" "$T/big.ova" "$T/d.vmdk" repeat 20000 || fail "generator failed"
run_bounded 1 "$T/b" "$VMIE" check --verify-manifest "$T/big.ova"
grep -qE 'FMT-005' "$T/b" && grep -qE 'more than (the )?[0-9]+' "$T/b" ||
	{ cat "$T/b" "$T/b.err"; fail "oversized manifest not refused by FMT-005"; }
run_bounded any "$T/b2" "$VMIE" info --check --json "$T/big.ova"
entries=$(budget_field entries "$T/b2")
[ "$entries" -lt 200000 ] || fail "info --check visited $entries entries"

# 4. a thousand File references to the same member: each resolves to a
# member of the archive, nothing else is opened
python3 "$GEN" "$T/refs.ova" "$T/d.vmdk" refs 1000 || fail "generator failed"
every_command ok any any ok "$T/refs.ova"
exit 0
