#!/bin/sh
# Build vmie twice (release, and AddressSanitizer + UBSan) and run the whole
# test suite in both.  Always ends with the line "N passed, N failed,
# N skipped", even when a build fails: a failed setup or build counts as one
# failure, the tests whose programs could not be built count as failed, the
# others still run.  A test that passed although its output holds a
# sanitizer report counts as failed.  The logs of the failed tests are
# shown, shortened, just before the last line; the complete ones are in
# build*/test-output.txt and build*/meson-logs/testlog.txt.
# Environment: VMIE_TEST_SUITES="core image" limits the suites;
#              VMIE_SLOW=1 also registers the slow suites;
#              VMIE_TIMEOUT_MULT (default 3) scales every test's timeout, for
#              a loaded machine;
#              VMIE_BUILDS="build build-asan" limits the builds.
set -u
cd "$(dirname "$0")/.." || exit 1
slow=false
[ "${VMIE_SLOW:-0}" = 1 ] && slow=true
jobs=$(nproc 2>/dev/null || echo 2)
mult=${VMIE_TIMEOUT_MULT:-3}
builds=${VMIE_BUILDS:-build build-asan}
# the pyenv shim costs 0.5 s a call; the helper needs only the stdlib
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

total_pass=0 total_fail=0 total_skip=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmie-run-tests.XXXXXX")
report=$tmp/report
: >"$report"
finished=0
finish() {
	[ "$finished" = 1 ] && return
	finished=1
	if [ -s "$report" ]; then
		echo
		echo "======== failures ========"
		cat "$report"
	fi
	rm -rf "$tmp"
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
}
trap 'finish' EXIT
trap 'echo "---- interrupted" >>"$report"; total_fail=$((total_fail + 1)); exit 130' INT TERM HUP

# The helper: "runnable DIR" prints the names of the selected tests whose
# programs exist and records the others in DIR/not-built.json; "summary"
# prints one line per test, appends the failures to the report and writes
# "pass fail skip".
cat >"$tmp/helper.py" <<'PY'
import json, os, re, sys

def runnable(d, suites):
    tests = json.load(open(os.path.join(d, "meson-info", "intro-tests.json")))
    ok, missing = [], []
    for t in tests:
        ss = [s.split(":", 1)[-1] for s in t["suite"]]
        if suites and not set(ss) & set(suites):
            continue
        full = "%s / %s" % (t["suite"][0] if t["suite"] else "", t["name"])
        if os.path.exists(t["cmd"][0]):
            ok.append(t["name"])
        else:
            missing.append({"name": full, "result": "NOT-BUILT",
                            "duration": 0.0, "returncode": None,
                            "stdout": "program not built: %s\n" % t["cmd"][0]})
    with open(os.path.join(d, "not-built.json"), "w") as f:
        for m in missing:
            f.write(json.dumps(m) + "\n")
    print("\n".join(ok))

SAN = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|"
                 r"^\S+:\d+:\d+: runtime error: ", re.M)

def excerpt(out, n=25):
    lines = out.rstrip("\n").split("\n")
    # a sanitizer report: what ran just before, the error, the top frames
    for i, l in enumerate(lines):
        if SAN.search(l):
            rep = lines[max(0, i - 3):i + n]
            end = [j for j, x in enumerate(rep) if x.startswith("SUMMARY:")]
            return rep[:end[0] + 1] if end else rep
    # otherwise the first FAIL lines and the end of the log
    tail = lines[-n:]
    keep = [l for l in lines[:-n] if re.match(r"(FAIL|\[  FAILED|ERROR)", l)]
    return keep[:5] + (["..."] if keep else []) + tail

def summary(d, label, report, counts):
    recs = []
    rep = open(report, "a")
    try:
        lines = open(os.path.join(d, "meson-logs", "testlog.json"),
                     errors="replace").readlines()
    except OSError as e:
        lines = []
        rep.write("---- [%s] no test results (%s); meson test said:\n" %
                  (label, e))
        try:
            out = open(os.path.join(d, "test-output.txt"),
                       errors="replace").readlines()[-10:]
            rep.writelines("    " + l for l in out)
        except OSError:
            pass
        recs.append({"name": "meson test", "result": "ERROR",
                     "duration": 0.0, "stdout": ""})
    for l in lines:
        if not l.strip():
            continue
        try:
            recs.append(json.loads(l))
        except ValueError:
            # a truncated record (a full disk): a failure of its own
            m = re.search(r'"name": "([^"]*)"', l)
            recs.append({"name": m.group(1) if m else "?",
                         "result": "UNREADABLE-RESULT", "duration": 0.0,
                         "stdout": l[:200] + "\n"})
    try:
        recs += [json.loads(l) for l in
                 open(os.path.join(d, "not-built.json")) if l.strip()]
    except OSError:
        pass
    ok = fail = skip = 0
    failed = []
    for r in recs:
        out = (r.get("stdout") or "") + (r.get("stderr") or "")
        res = r["result"]
        # a shell test that ignored what crashed under it
        if res in ("OK", "EXPECTEDFAIL") and SAN.search(out):
            res = r["result"] = "OK-BUT-SANITIZER-REPORT"
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
    slow = [r for r in sorted(recs, key=lambda r: -r["duration"])[:8]
            if r["duration"] >= 1]
    if slow:
        print("[%s] slowest: %s" % (label, ", ".join(
            "%s %.0fs" % (r["name"].split(" / ")[-1], r["duration"])
            for r in slow)))
    for r in failed:
        rep.write("---- [%s] %s: %s (exit %s, %.1f s)\n" % (
            label, r["name"], r["result"], r.get("returncode"),
            r["duration"]))
        out = (r.get("stdout") or "") + (r.get("stderr") or "")
        for l in excerpt(out):
            rep.write("    " + l[:300] + "\n")
    open(counts, "w").write("%d %d %d\n" % (ok, fail, skip))

if sys.argv[1] == "runnable":
    runnable(sys.argv[2], sys.argv[3:])
else:
    summary(*sys.argv[2:6])
PY

# setup DIR LABEL ARGS...: configure and build DIR.  Returns 2 when there is
# no build at all, 1 when the build is partial (counted, errors shown, what
# could not be rebuilt removed), 0 when complete.
setup() {
	d=$1 label=$2
	shift 2
	if [ -f "$d/build.ninja" ]; then
		set -- configure "$d" -Dslow_tests=$slow
	else
		set -- setup "$d" "$@" -Dslow_tests=$slow
	fi
	if ! meson "$@" >"$tmp/setup.log" 2>&1; then
		echo "[$label] meson setup FAILED"
		{
			echo "---- [$label] meson setup failed:"
			grep -E -A3 'ERROR' "$tmp/setup.log" | head -20 | sed 's/^/    /'
		} >>"$report"
		total_fail=$((total_fail + 1))
		return 2
	fi
	# the builds and the tests' scratch files need a few GiB
	for fs in . "${TMPDIR:-/tmp}"; do
		free=$(df -Pk "$fs" 2>/dev/null | awk 'NR == 2 { print int($4 / 1048576) }')
		[ -n "$free" ] && [ "$free" -lt 4 ] &&
			echo "[$label] WARNING: only $free GiB free in $fs; tests may fail with ENOSPC"
	done
	start=$(date +%s)
	if ! ninja -C "$d" -k 0 -j "$jobs" >"$d/build-output.txt" 2>&1; then
		echo "[$label] build FAILED; the tests that were built still run"
		{
			echo "---- [$label] build failed (all of it in $d/build-output.txt):"
			grep -E '^FAILED:|error:|ERROR:|undefined reference' \
				"$d/build-output.txt" | head -30 | sed 's/^/    /'
		} >>"$report"
		total_fail=$((total_fail + 1))
		# what could not be rebuilt must not run from an older build:
		# remove every output ninja still finds out of date
		ninja -C "$d" -n -d explain 2>&1 |
		sed -n 's/^ninja explain: \(.*\) is dirty$/\1/p' | sort -u |
		while read -r f; do
			[ -f "$d/$f" ] && rm -f "$d/$f"
		done
		return 1
	fi
	echo "[$label] built in $(( $(date +%s) - start )) s"
	return 0
}

# run DIR LABEL PARTIAL: run the tests (only those that were built when
# PARTIAL is 1), print one line per test, add the counts
run() {
	d=$1 label=$2 partial=$3
	rm -f "$d/meson-logs/testlog.json" "$d/test-counts" "$d/not-built.json"
	sel=""
	for s in ${VMIE_TEST_SUITES:-}; do sel="$sel --suite $s"; done
	if [ "$partial" = 1 ]; then
		# shellcheck disable=SC2086
		sel=$("$PY" "$tmp/helper.py" runnable "$d" ${VMIE_TEST_SUITES:-})
	fi
	start=$(date +%s)
	if [ "$partial" = 1 ] && [ -z "$sel" ]; then
		echo "[$label] no test could be built"
		mkdir -p "$d/meson-logs"
		: >"$d/meson-logs/testlog.json"
	else
		# shellcheck disable=SC2086
		meson test -C "$d" --no-rebuild --num-processes "$jobs" \
			--print-errorlogs --timeout-multiplier "$mult" $sel \
			>"$d/test-output.txt" 2>&1
		echo "[$label] tests ran in $(( $(date +%s) - start )) s"
	fi
	"$PY" "$tmp/helper.py" summary "$d" "$label" "$report" "$d/test-counts"
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
	*asan*)
		label=asan
		set -- --buildtype=debug -Db_sanitize=address,undefined \
			-Db_lundef=false ;;
	*)
		label=release
		set -- --buildtype=debugoptimized ;;
	esac
	setup "$b" "$label" "$@"
	rc=$?
	[ $rc -le 1 ] && run "$b" "$label" "$rc"
done
[ "$total_fail" -eq 0 ]
