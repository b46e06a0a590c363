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

# sha256 of a file
sha() { sha256sum "$1" | cut -d' ' -f1; }
# raw sha256 of an image as vmie decodes it
vmie_raw_sha() {
	"$VMIE" convert -O raw "$@" "$T/.raw.$$" >/dev/null && sha "$T/.raw.$$"; rm -f "$T/.raw.$$"
}
assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: '$1' != '$2'"; }
# no leftover temporary outputs in a directory
assert_no_temp() { ! ls -A "$1" | grep -q '\.vmie-' || fail "temporary file left in $1"; }
