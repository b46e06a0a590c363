# Shared helpers for shell tests (source this file).
# Environment from meson: VMIE (the binary), SHARED (../shared), SRCDIR,
# BUILDDIR.  Exit 77 = skipped, 0 = pass, anything else = fail.
set -eu
: "${VMIE:?run through meson test}"
SAMPLES="$SHARED/samples"
T=$(mktemp -d "${TMPDIR:-/tmp}/vmie-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

# The pyenv shim on PATH costs ~0.5 s per call; tests use only the standard
# library, so call the system interpreter directly when there is one.
if [ -x /usr/bin/python3 ]; then
	python3() { /usr/bin/python3 "$@"; }
fi

# loop_mounts: for tests that build fixtures with the host kernel (loop
# mounts, as root; skips otherwise).  Sets MNT (a mount point in $T) and
# LOOP (set it to a device made with losetup -f --show), and replaces the
# EXIT trap: it unmounts MNT, detaches LOOP and every loop device still
# attached to a file under $T, then removes $T, also after a failure.
loop_mounts() {
	[ "$(id -u)" = 0 ] || skip "needs root for loop mounts"
	need losetup mount umount mountpoint
	MNT="$T/mnt"
	LOOP=""
	mkdir -p "$MNT"
	trap loop_cleanup EXIT
	trap 'exit 1' INT TERM
}
loop_cleanup() {
	local dev f
	if mountpoint -q "$MNT" 2>/dev/null; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
	for dev in $(losetup -n -O NAME,BACK-FILE 2>/dev/null |
		     awk -v t="$T/" 'index($2, t) == 1 {print $1}'); do
		losetup -d "$dev" 2>/dev/null || true
	done
	rm -rf "$T"
}

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }

# sample REL: decompress a sample (.gz/.bz2) into $T and print its path
sample() {
	local src="$SAMPLES/$1" base
	[ -e "$src" ] || skip "sample $1 missing"
	base=$(basename "$1"); base=${base%.gz}; base=${base%.bz2}
	case "$1" in
	*.gz) gzip -dc "$src" > "$T/$base" ;;
	*.bz2) bzip2 -dc "$src" > "$T/$base" ;;
	*) cp --sparse=always "$src" "$T/$base" ;;
	esac
	echo "$T/$base"
}

# expect_fail PATTERN CMD...: CMD must exit non-zero, print PATTERN (ERE) on
# stderr, and not crash (no sanitizer report, no signal)
expect_fail() {
	local pat="$1"; shift
	local rc=0
	"$@" > "$T/out" 2> "$T/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "expected failure: $*"
	[ "$rc" -lt 128 ] || { cat "$T/err" >&2; fail "crashed ($rc): $*"; }
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then
		cat "$T/err" >&2; fail "sanitizer report: $*"
	fi
	grep -qE -- "$pat" "$T/err" || { cat "$T/err" >&2; fail "message /$pat/ not printed by: $*"; }
}

# expect_rc RC OUT CMD...: CMD must exit RC, with stdout in OUT and stderr in
# OUT.err, and no sanitizer report; the failure names the command
expect_rc() {
	local want="$1" out="$2"; shift 2
	local rc=0
	"$@" > "$out" 2> "$out.err" || rc=$?
	if grep -qE 'Sanitizer|runtime error' "$out.err"; then
		cat "$out.err" >&2; fail "sanitizer report: $*"
	fi
	[ "$rc" -eq "$want" ] || { cat "$out.err" >&2; fail "exited $rc, want $want: $*"; }
}

# sha256 of a file
sha() { sha256sum "$1" | cut -d' ' -f1; }
# raw sha256 of an image as vmie decodes it
vmie_raw_sha() {
	"$VMIE" convert -O raw "$@" "$T/.raw.$$" >/dev/null && sha "$T/.raw.$$"; rm -f "$T/.raw.$$"
}
assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: '$1' != '$2'"; }
# no leftover temporary outputs in a directory
assert_no_temp() { ! ls -A "$1" | grep -q '\.vmie-' || fail "temporary file left in $1"; }

# ---- hostile inputs (tests/hostile): bounded time and memory ----
# run_bounded WANT OUT CMD...: run CMD (a vmie command) with the budget's
# debug report on (VMIE_BUDGET_REPORT=1), a time limit far above the
# expected time (BOUND_SECONDS, default 120) and a memory limit (under
# ASan, hard_rss_limit_mb=1536 for the sanitizer's overhead; in the release
# build the peak RSS that vmie reports must stay under 256 MiB).  WANT is
# "ok" (exit 0), "fail" (exit 1..127, a clean refusal), "any" (either, not
# a crash) or a number.  stdout goes to OUT, stderr to OUT.err.  A timeout,
# a signal, a sanitizer report or a missing budget report fails the test.
run_bounded() {
	local want="$1" out="$2"; shift 2
	local rc=0 asan="${ASAN_OPTIONS:-}"
	case "$BUILDDIR" in
	*asan*) asan="${asan:+$asan:}hard_rss_limit_mb=1536:quarantine_size_mb=32" ;;
	esac
	ASAN_OPTIONS="$asan" VMIE_BUDGET_REPORT=1 \
		timeout -k 5 "${BOUND_SECONDS:-120}" "$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] ||
		fail "timed out after ${BOUND_SECONDS:-120} s: $*"
	if grep -qE 'Sanitizer|runtime error|rss_limit' "$out.err"; then
		cat "$out.err" >&2; fail "sanitizer report: $*"
	fi
	[ "$rc" -lt 128 ] || { cat "$out.err" >&2; fail "crashed ($rc): $*"; }
	case "$want" in
	ok) [ "$rc" -eq 0 ] || { cat "$out.err" >&2; fail "exited $rc, want 0: $*"; } ;;
	fail) [ "$rc" -ne 0 ] || fail "expected a refusal: $*" ;;
	any) ;;
	*) [ "$rc" -eq "$want" ] || { cat "$out.err" >&2; fail "exited $rc, want $want: $*"; } ;;
	esac
	grep -q '^vmie: budget: ' "$out.err" ||
		{ cat "$out.err" >&2; fail "no budget report from: $*"; }
	case "$BUILDDIR" in
	*asan*) ;;
	*) local rss; rss=$(budget_field maxrss_kib "$out")
	   [ "$rss" -le 262144 ] || fail "peak RSS $rss KiB over 256 MiB: $*" ;;
	esac
}
# budget_field NAME OUT: a counter of the budget report in OUT.err (read,
# entries, mem_peak, inflate, maxrss_kib): the value used, not the limit
budget_field() {
	sed -n "s/^vmie: budget:\(.* \)\{0,1\} *$1=\([0-9]*\).*/\2/p" "$2.err" | tail -1
}
# every_command WANT_INFO WANT_INSPECT WANT_CHECK WANT_CONVERT IMAGE: run
# info, inspect, check and convert on IMAGE with run_bounded; the outputs
# are $T/info, $T/inspect, $T/check, $T/convert (and .err)
every_command() {
	local img="$5"
	run_bounded "$1" "$T/info" "$VMIE" info --check "$img"
	run_bounded "$2" "$T/inspect" "$VMIE" inspect "$img"
	run_bounded "$3" "$T/check" "$VMIE" check "$img"
	rm -f "$T/conv.out"
	run_bounded "$4" "$T/convert" "$VMIE" convert -O raw "$img" "$T/conv.out"
	rm -f "$T/conv.out"
	assert_no_temp "$T"
}
