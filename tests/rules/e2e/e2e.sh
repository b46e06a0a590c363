# Helpers of the end-to-end tests of `vmie check` (source this file after
# setting FIXTURE to the ntfs_fixture path, or "" when there is none).
#
# Guests come from two builders, each caching its images in the build
# directory under a per-image lock, keyed by the builders' source so that a
# change rebuilds them:
#   iguest NAME  the inspection suite's phony guests (tests/inspect/
#                mkguest.py), in its cache: both suites share the images
#   cguest NAME  this suite's guests (mkcheck.py), in test-cache/rules-e2e
# check LABEL ARGS... -- EXPR...  runs `vmie check --json ARGS`, then
# mkcheck.py expect on the report (EXPR syntax: see mkcheck.py); a wrong
# verdict is counted and shown with the text report, and checks_done fails
# the test at the end if any was wrong.
source "$SRCDIR/tests/functions.sh"
need python3 mke2fs mkfs.fat mkfs.xfs mcopy sfdisk
# the system python (a pyenv shim on PATH costs ~1 s per call)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
E2E="$SRCDIR/tests/rules/e2e"
INSP="$SRCDIR/tests/inspect"
IKEY=$(cat "$INSP/mkguest.py" "$INSP/guestlib.py" | sha256sum | cut -c1-12)
ICACHE="$BUILDDIR/inspect-guests/$IKEY"
CKEY=$(cat "$E2E/mkcheck.py" "$INSP/mkguest.py" "$INSP/guestlib.py" |
       sha256sum | cut -c1-12)
CCACHE="$BUILDDIR/test-cache/rules-e2e/$CKEY"
# images of older builder versions are of no use any more
for d in "$BUILDDIR/test-cache/rules-e2e"/*; do
	[ -d "$d" ] && [ "$d" != "$CCACHE" ] && rm -rf "$d"
done
FIXTURE=${FIXTURE:-}
bad=0

# Coverage (coverage.sh): every report's verdicts go to $T/seen, one line
# "RULE POLICY VERDICT ASSERTED LABEL"; checks_done copies them to
# test-cache/rules-coverage/NAME.seen under a key of everything that made
# them (e2e_key), so that coverage.sh reuses a fresh run instead of running
# the test again.
E2E_NAME=$(basename "$0" .sh)
COVDIR="$BUILDDIR/test-cache/rules-coverage"
e2e_key() { # NAME: what a run of tests/rules/e2e/NAME.sh depends on
	{ cat "$E2E/$1.sh" "$E2E/e2e.sh" "$E2E/mkcheck.py" "$INSP/mkguest.py" \
		"$INSP/guestlib.py" "$SRCDIR"/policies/*
	  stat -L -c '%s %Y' "$VMIE"; echo "fixture=${FIXTURE:+yes}"
	} | sha256sum | cut -c1-16
}
export CHECK_E2E_SEEN="$T/seen"
: > "$CHECK_E2E_SEEN"

need_windows() {
	need mkntfs hivexregedit
	[ -n "$FIXTURE" ] && [ -x "$FIXTURE" ] || skip "no ntfs_fixture"
}

iguest() {
	"$PY" "$INSP/mkguest.py" build "$ICACHE" "$1" $FIXTURE ||
		fail "could not build guest $1"
}

cguest() {
	"$PY" "$E2E/mkcheck.py" build "$CCACHE" "$1" $FIXTURE ||
		fail "could not build guest $1"
}

# convert IMAGE FMT[,SUB] OUT: a copy of a cached guest in another format
convert() {
	"$VMIE" convert -O "$2" "$1" "$3" > /dev/null 2> "$T/conv.err" || {
		cat "$T/conv.err" >&2; fail "vmie convert -O $2 $1"; }
}

check() {
	local label=$1 rc=0 args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	"$VMIE" check --json "${args[@]}" > "$T/r.json" 2> "$T/r.err" || rc=$?
	if grep -qE 'Sanitizer|runtime error' "$T/r.err"; then
		cat "$T/r.err" >&2; fail "$label: sanitizer report"
	fi
	if [ "$rc" -ge 2 ]; then
		cat "$T/r.err" >&2; fail "$label: vmie check exited $rc"
	fi
	if CHECK_E2E_LABEL="$E2E_NAME: $label" \
		"$PY" "$E2E/mkcheck.py" expect "$T/r.json" "$rc" "$@"; then
		echo "ok   $label"
	else
		echo "FAIL $label"
		bad=$((bad + 1))
		"$VMIE" check "${args[@]}" || true
	fi
}

checks_done() {
	[ "$bad" -eq 0 ] || fail "$bad check(s) gave a wrong report"
	mkdir -p "$COVDIR"
	{ echo "# key $(e2e_key "$E2E_NAME")"; cat "$CHECK_E2E_SEEN"; } \
		> "$COVDIR/.$E2E_NAME.seen.$$"
	mv -f "$COVDIR/.$E2E_NAME.seen.$$" "$COVDIR/$E2E_NAME.seen"
	echo "all checks ok"
}
