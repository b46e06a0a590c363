#!/bin/bash
# Registry hives never reach a host file (issue 9): inspecting and checking
# a Windows guest copies each hive into an anonymous memory file
# (memfd_create) and nothing else.  Under strace, no file is created,
# renamed, linked or removed, nothing is opened for writing, and TMPDIR
# stays empty; when memfd_create fails (strace fault injection), the hives
# are reported unreadable with the reason and still no file is written.
FIXTURE=${1:-}
source "$SRCDIR/tests/functions.sh"
need python3 strace mkntfs hivexregedit
[ -n "$FIXTURE" ] && [ -x "$FIXTURE" ] || skip "no ntfs_fixture"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
INSP="$SRCDIR/tests/inspect"
IKEY=$(cat "$INSP/mkguest.py" "$INSP/guestlib.py" | sha256sum | cut -c1-12)
img=$("$PY" "$INSP/mkguest.py" build "$BUILDDIR/inspect-guests/$IKEY" \
	win2019 "$FIXTURE") || fail "could not build win2019"
mkdir -p "$T/tmp"
# traced CMD...: run a vmie command under strace; the trace in $T/trace
traced() {
	local rc=0
	# LeakSanitizer cannot run under ptrace: leaks are the other
	# tests' business here
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
	TMPDIR="$T/tmp" strace -f -qq -o "$T/trace" \
		-e trace=open,openat,openat2,creat,memfd_create,rename,renameat,renameat2,link,linkat,unlink,unlinkat,mkdir,mkdirat,symlink,symlinkat \
		"${INJECT[@]}" "$@" > "$T/out" 2> "$T/err" || rc=$?
	[ $rc -lt 128 ] || { cat "$T/err" >&2; fail "crashed ($rc): $*"; }
	grep -qE 'Sanitizer|runtime error' "$T/err" && {
		cat "$T/err" >&2; fail "sanitizer report: $*"; }
	# creating, writing or removing anything is a failure
	if grep -E 'O_CREAT|O_WRONLY|O_RDWR|O_TMPFILE|^[0-9]+ +(creat|rename|link|unlink|mkdir|symlink)' \
		"$T/trace" | grep -vE '/dev/(null|tty)' > "$T/writes"; [ -s "$T/writes" ]; then
		cat "$T/writes" >&2; fail "wrote to the host: $*"
	fi
	[ -z "$(ls -A "$T/tmp")" ] || fail "TMPDIR not empty after: $*"
	return 0
}
INJECT=()
for cmd in inspect check; do
	traced "$VMIE" "$cmd" "$img"
	n=$(grep -c 'memfd_create("vmie-hive"' "$T/trace")
	[ "$n" -ge 2 ] || fail "$cmd: $n hives read through memfd (want SYSTEM, SOFTWARE)"
	grep -q 'Windows Server 2019' "$T/out" || fail "$cmd: Windows not identified"
done
# no memfd: the hives cannot be read, said so, and nothing falls back to disk
INJECT=(-e inject=memfd_create:error=ENOSYS)
traced "$VMIE" inspect "$img"
grep -q 'cannot hold the hive in memory' "$T/out" "$T/err" ||
	fail "memfd failure not reported: $(cat "$T/out")"
grep -q 'Windows Server 2019' "$T/out" && fail "identified without any hive?"
echo ok
