#!/bin/sh
# Build vmie twice (release, and AddressSanitizer + UBSan) and run the whole
# test suite in both.  Always ends with the line "N passed, N failed,
# N skipped", even when a build fails (a failed setup or build counts as one
# failure; the tests that could be built still run).  The logs of the tests
# that failed are shown, shortened, just before that line; the complete
# ones are in build*/test-output.txt and build*/meson-logs/testlog.txt.
# Environment: VMIE_TEST_SUITES="core image" limits the suites;
#              VMIE_SLOW=1 also registers the slow suites;
#              VMIE_TIMEOUT_MULT (default 3) scales every test's timeout, for
#              a loaded machine;
#              VMIE_BUILDS="build build-asan" limits the builds.
set -u
cd "$(dirname "$0")/.."
slow=false
[ "${VMIE_SLOW:-0}" = 1 ] && slow=true
jobs=$(nproc 2>/dev/null || echo 2)
mult=${VMIE_TIMEOUT_MULT:-3}
builds=${VMIE_BUILDS:-build build-asan}
# the pyenv shim costs 0.5 s a call; the summary needs only the stdlib
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

total_pass=0 total_fail=0 total_skip=0
report=$(mktemp "${TMPDIR:-/tmp}/vmie-run-tests.XXXXXX")
done_=0
finish() {
	[ "$done_" = 1 ] && return
	done_=1
	if [ -s "$report" ]; then
		echo
		echo "======== failures ========"
		cat "$report"
	fi
	rm -f "$report"
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
}
trap 'finish' EXIT
trap 'echo "interrupted" >>"$report"; total_fail=$((total_fail + 1)); exit 130' INT TERM

# setup DIR LABEL ARGS...: configure and build DIR; a failure is counted,
# shown (its first errors) and returns 1; a partial build stays usable
setup() {
	d=$1 label=$2
	shift 2
	if [ ! -f "$d/build.ninja" ]; then
		meson setup "$d" "$@" -Dslow_tests=$slow >"$d.setup.log" 2>&1
	else
		meson configure "$d" -Dslow_tests=$slow >"$d.setup.log" 2>&1
	fi
	if [ $? -ne 0 ]; then
		echo "[$label] meson setup FAILED"
		{
			echo "---- [$label] meson setup failed:"
			grep -E 'ERROR|error' "$d.setup.log" | head -20
		} >>"$report"
		total_fail=$((total_fail + 1))
		return 2
	fi
	rm -f "$d.setup.log"
	start=$(date +%s)
	if ! ninja -C "$d" -k 0 -j "$jobs" >"$d/build-output.txt" 2>&1; then
		echo "[$label] build FAILED (errors below; the tests that were built still run)"
		{
			echo "---- [$label] build failed (full output: $d/build-output.txt):"
			grep -E '^FAILED:|error:|undefined reference' "$d/build-output.txt" | head -30
		} >>"$report"
		total_fail=$((total_fail + 1))
		return 1
	fi
	echo "[$label] built in $(( $(date +%s) - start )) s"
	return 0
}

# run DIR LABEL: run the tests, print one line per test, add the counts
run() {
	d=$1 label=$2
	suites=""
	for s in ${VMIE_TEST_SUITES:-}; do suites="$suites --suite $s"; done
	rm -f "$d/meson-logs/testlog.json" "$d/test-counts"
	start=$(date +%s)
	# shellcheck disable=SC2086
	meson test -C "$d" --no-rebuild --num-processes "$jobs" \
		--print-errorlogs --timeout-multiplier "$mult" $suites \
		>"$d/test-output.txt" 2>&1
	echo "[$label] tests ran in $(( $(date +%s) - start )) s"
	"$PY" - "$d/meson-logs/testlog.json" "$label" "$report" \
		"$d/test-counts" "$d/test-output.txt" <<'PY'
import json, re, sys
path, label, report, counts, output = sys.argv[1:6]
try:
    recs = [json.loads(l) for l in open(path) if l.strip()]
except (OSError, ValueError) as e:
    with open(report, "a") as r:
        r.write("---- [%s] no test results (%s); meson test said:\n" % (label, e))
        try:
            r.writelines("    " + l for l in open(output).readlines()[-10:])
        except OSError:
            pass
    open(counts, "w").write("0 1 0\n")
    sys.exit(0)
# a sanitizer report in a test that passed anyway (a shell test that
# ignored the exit status or the stderr of what crashed) is a failure too
san = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|"
                 r"^\S+:\d+:\d+: runtime error: ", re.M)
ok = fail = skip = 0
failed = []
for r in recs:
    out = (r.get("stdout") or "") + (r.get("stderr") or "")
    res = r["result"]
    if res in ("OK", "EXPECTEDFAIL") and san.search(out):
        res = "OK-BUT-SANITIZER-REPORT"
    r["result"] = res
    if res in ("OK", "EXPECTEDFAIL"):
        ok += 1
        tag = "ok"
    elif res == "SKIP":
        skip += 1
        tag = "SKIP"
    else:
        fail += 1
        tag = res
        failed.append(r)
    print("[%s] %-7s %7.1fs  %s" % (label, tag, r["duration"], r["name"]))
slow = sorted(recs, key=lambda r: -r["duration"])[:8]
print("[%s] slowest: %s" % (label, ", ".join(
    "%s %.0fs" % (r["name"].split(" / ")[-1], r["duration"]) for r in slow)))

def excerpt(out, n=25):
    lines = out.rstrip("\n").split("\n")
    # a sanitizer report: what ran before it, the error and its top frames
    for i, l in enumerate(lines):
        if san.search(l):
            rep = lines[max(0, i - 3):i + n]
            end = [j for j, x in enumerate(rep) if x.startswith("SUMMARY:")]
            return rep[:end[0] + 1] if end else rep
    # otherwise the first FAIL line and the end of the log
    tail = lines[-n:]
    keep = [l for l in lines[:-n] if re.match(r"(FAIL|\[  FAILED|ERROR)", l)]
    return keep[:5] + (["..."] if keep else []) + tail

with open(report, "a") as rep:
    for r in failed:
        rep.write("---- [%s] %s: %s (exit %s, %.1f s)\n" % (
            label, r["name"], r["result"], r.get("returncode"), r["duration"]))
        out = (r.get("stdout") or "") + (r.get("stderr") or "")
        for l in excerpt(out):
            rep.write("    " + l[:300] + "\n")
open(counts, "w").write("%d %d %d\n" % (ok, fail, skip))
PY
	# shellcheck disable=SC2046
	set -- $(cat "$d/test-counts" 2>/dev/null)
	if [ $# -ne 3 ]; then
		echo "---- [$label] could not read the test results" >>"$report"
		set -- 0 1 0
	fi
	total_pass=$((total_pass + $1))
	total_fail=$((total_fail + $2))
	total_skip=$((total_skip + $3))
}

for b in $builds; do
	case $b in
	build-asan)
		label=asan
		set -- --buildtype=debug -Db_sanitize=address,undefined \
			-Db_lundef=false ;;
	*)
		label=release
		set -- --buildtype=debugoptimized ;;
	esac
	setup "$b" "$label" "$@"
	[ $? -le 1 ] && run "$b" "$label"
done
[ "$total_fail" -eq 0 ]
