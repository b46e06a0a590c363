#!/bin/bash
# Issue 9, class 11: names read from a guest (os-release, hostname, fstab,
# network) that carry terminal escape sequences are never printed raw:
# text output escapes every control character as \xHH (inspect, check,
# and stderr), JSON escapes them as JSON does.
. "$SRCDIR/tests/functions.sh"
need mke2fs
python3 "$SRCDIR/tests/hostile/gen_guest_escapes.py" "$T/esc.img" ||
	fail "generator failed"

# no raw control byte but newline/tab (and CR on stderr) in FILE
no_raw_controls() {
	if LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$1"; then
		od -c "$1" | head -20 >&2; fail "raw control characters in $2"
	fi
	# U+0080..U+009F (C1) encoded as UTF-8, or a bare 0x9b CSI
	if LC_ALL=C grep -qP '\xc2[\x80-\x9f]|(^|[^\xc0-\xff])\x9b' "$1"; then
		od -c "$1" | head -20 >&2; fail "raw C1 control in $2"
	fi
}

run_bounded ok "$T/inspect" "$VMIE" inspect "$T/esc.img"
no_raw_controls "$T/inspect" "inspect text output"
grep -q 'Debian \\x1b\[2J\\x1b\]0;owned\\x07evil' "$T/inspect" ||
	{ cat "$T/inspect"; fail "PRETTY_NAME not shown escaped"; }
grep -q 'hostname: *host\\x1b' "$T/inspect" ||
	{ cat "$T/inspect"; fail "hostname not shown escaped"; }
grep -q '\\x7f' "$T/inspect" || fail "DEL not escaped"
grep -q '\\xc2\\x9b' "$T/inspect" || fail "UTF-8 C1 not escaped"

run_bounded any "$T/check" "$VMIE" check "$T/esc.img"
no_raw_controls "$T/check" "check text output"
no_raw_controls "$T/check.err" "check stderr"
grep -q 'x1b' "$T/check" || { cat "$T/check"; fail "check does not show the guest name at all"; }

# JSON: valid, escapes control characters, and keeps the real value
run_bounded ok "$T/json" "$VMIE" inspect --json "$T/esc.img"
no_raw_controls "$T/json" "inspect --json"
python3 - "$T/json" <<'PY' || fail "JSON does not carry the name"
import json, sys
j = json.load(open(sys.argv[1]))
os_ = j["operating_systems"][0] if "operating_systems" in j else j["os"][0]
names = json.dumps(os_)
assert "\\u001b[2J" in names, names[:400]
assert any("\x1b" in str(v) for v in os_.values()), "value lost its ESC"
PY
run_bounded any "$T/checkjson" "$VMIE" check --json "$T/esc.img"
no_raw_controls "$T/checkjson" "check --json"

# stderr: an error message naming a guest-controlled name
run_bounded fail "$T/bad" "$VMIE" info "$(printf '%s/no\033[2Jfile' "$T")"
no_raw_controls "$T/bad.err" "stderr"
grep -q 'no\\x1b\[2Jfile' "$T/bad.err" || { cat "$T/bad.err"; fail "stderr not escaped"; }
echo "ok: guest escapes"
