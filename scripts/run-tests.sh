#!/bin/sh
# Build vmie twice (release, and AddressSanitizer + UBSan) and run the whole
# test suite in both.  Ends with the line "N passed, N failed, N skipped".
# Environment: VMIE_TEST_SUITES="core image" limits the suites;
#              VMIE_SLOW=1 also registers the slow suites.
set -u
cd "$(dirname "$0")/.."
slow=false
[ "${VMIE_SLOW:-0}" = 1 ] && slow=true
jobs=$(nproc)

setup() { # dir, extra args...
	d=$1; shift
	if [ ! -f "$d/build.ninja" ]; then
		meson setup "$d" "$@" -Dslow_tests=$slow >/dev/null || return 1
	else
		meson configure "$d" -Dslow_tests=$slow >/dev/null || return 1
	fi
	ninja -C "$d" >/dev/null || ninja -C "$d"
}

total_pass=0 total_fail=0 total_skip=0
run() { # dir label
	d=$1
	suites=""
	for s in ${VMIE_TEST_SUITES:-}; do suites="$suites --suite $s"; done
	# shellcheck disable=SC2086
	meson test -C "$d" --num-processes "$jobs" --print-errorlogs $suites \
		--timeout-multiplier "${VMIE_TIMEOUT_MULT:-3}" >"$d/test-output.txt" 2>&1
	grep -E '^ *[0-9]+/[0-9]+ ' "$d/test-output.txt" | sed "s/^/[$2] /"
	grep -A40 -E '^(Summary of Failures|=+ [0-9]+/[0-9]+ =+)' "$d/test-output.txt" | grep -vE '^ *[0-9]+/[0-9]+ ' | head -200
	p=$(python3 - "$d/meson-logs/testlog.json" <<'PY'
import json, sys
ok = fail = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skip += 1
    else: fail += 1
print(ok, fail, skip)
PY
)
	set -- $p
	total_pass=$((total_pass + $1)); total_fail=$((total_fail + $2)); total_skip=$((total_skip + $3))
}

status=0
if setup build --buildtype=debugoptimized; then
	run build release
else
	echo "release build failed"; total_fail=$((total_fail + 1))
fi
if setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false; then
	run build-asan asan
else
	echo "asan build failed"; total_fail=$((total_fail + 1))
fi
[ "$total_fail" -eq 0 ] || status=1
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $status
