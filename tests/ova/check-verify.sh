#!/bin/bash
# vmie check validates what vmie convert relies on (issue 9): the table walk
# plus a data pass that reads every allocated range (every compressed grain
# inflated), for plain disks and for the disks of an OVA.  A grain that does
# not inflate fails FMT-005 naming it; --quick walks the tables only and
# says, in text and JSON, that the data was not read.
. "$SRCDIR/tests/functions.sh"

python3 - "$T/g.raw" <<'PY'
import sys
b = bytearray(8 << 20)
for i in range(0, len(b), 65536):
    b[i:i + 16] = (b"grain %08d  " % (i >> 16))[:16]
open(sys.argv[1], "wb").write(b)
PY
"$VMIE" convert -O vmdk,streamOptimized "$T/g.raw" "$T/g.vmdk" ||
	fail "cannot make the stream VMDK"
# corrupt the middle of grain 5's deflate stream (marker: LBA u64, size u32)
python3 - "$T/g.vmdk" "$T/bad.vmdk" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
off = struct.unpack_from("<Q", b, 0x40)[0] * 512      # overHead: first grain
for _ in range(5):
    lba, size = struct.unpack_from("<QI", b, off)
    off = (off + 12 + size + 511) // 512 * 512
lba, size = struct.unpack_from("<QI", b, off)
assert lba == 5 * 128, lba
mid = off + 12 + size // 2
for i in range(16):
    b[mid + i] ^= 0x5a
open(sys.argv[2], "wb").write(b)
PY

# verdict of FMT-005 and the data pass of input 0, from check --json
fmt005() {
	python3 - "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = {x["id"]: x for x in j["results"]}["FMT-005"]
v = j["inputs"][0]["verify"]
print(r["verdict"], j["data_read"], v["data_read"], v["data_bytes"], "|", r["evidence"])
PY
}

# 1. intact image: the whole 8 MiB of data is read, FMT-005 passes
run_bounded 1 "$T/ok" "$VMIE" check --json "$T/g.vmdk"
read -r verdict all one bytes _ < <(fmt005 "$T/ok")
assert_eq "$verdict $all $one $bytes" "pass True True 8388608" "data pass of an intact disk"
run_bounded 1 "$T/okt" "$VMIE" check "$T/g.vmdk"
grep -q 'disk0: .*tables walked, 8 MiB of data read' "$T/okt" ||
	{ cat "$T/okt"; fail "text report does not say the data was read"; }

# 2. --quick on the intact image: passes FMT-005 but says the data was not read
run_bounded 1 "$T/q" "$VMIE" check --quick --json "$T/g.vmdk"
read -r verdict all one bytes _ < <(fmt005 "$T/q")
assert_eq "$verdict $all $one $bytes" "pass False False 0" "--quick read data"
grep -q 'NOT read (--quick)' "$T/q" || fail "--quick JSON evidence does not say the data was not read"
run_bounded 1 "$T/qt" "$VMIE" check --quick "$T/g.vmdk"
grep -q '^data: NOT read (--quick)' "$T/qt" && grep -q 'data NOT read' "$T/qt" ||
	{ cat "$T/qt"; fail "--quick text does not say the data was not read"; }

# 3. a grain that does not inflate: FMT-005 fails naming the grain; convert
# fails too (what the check now predicts)
run_bounded 1 "$T/bad" "$VMIE" check "$T/bad.vmdk"
grep -q '^fail FMT-005' "$T/bad" || { cat "$T/bad"; fail "corrupt grain not failed by FMT-005"; }
grep -A1 '^fail FMT-005' "$T/bad" | grep -qE 'grain.*(inflate|zlib)' ||
	{ cat "$T/bad"; fail "FMT-005 evidence does not name the grain"; }
run_bounded fail "$T/conv" "$VMIE" convert -O raw "$T/bad.vmdk" "$T/o.raw"
run_bounded 1 "$T/badq" "$VMIE" check --quick --json "$T/bad.vmdk"
read -r verdict all one bytes _ < <(fmt005 "$T/badq")
assert_eq "$all $one $bytes" "False False 0" "--quick read data of the corrupt disk"

# 4. the same disk inside an OVA: check verifies the OVA's disks too
python3 "$SRCDIR/tests/hostile/gen_ova-manifest-repeat.py" "$T/bad.ova" \
	"$T/bad.vmdk" repeat 1 || fail "cannot make the OVA"
run_bounded 1 "$T/ova" "$VMIE" check --json "$T/bad.ova"
read -r verdict _ < <(fmt005 "$T/ova")
assert_eq "$verdict" "fail" "FMT-005 on the OVA's corrupt disk"
grep -q 'grain' "$T/ova" || fail "OVA check evidence does not name the grain"
python3 "$SRCDIR/tests/hostile/gen_ova-manifest-repeat.py" "$T/good.ova" \
	"$T/g.vmdk" repeat 1 || fail "cannot make the OVA"
run_bounded 1 "$T/gova" "$VMIE" check --json "$T/good.ova"
read -r verdict all one bytes _ < <(fmt005 "$T/gova")
assert_eq "$verdict $one $bytes" "pass True 8388608" "data pass of the OVA's disk"
exit 0
