#!/bin/bash
# Issue 9: a VMDK descriptor whose extent is a FIFO made every command block
# forever (opening a FIFO for reading waits for a writer).  Only regular
# files are read through names found inside an image: FIFOs, sockets and
# directories are refused before they are opened, with a message naming
# the extent and what it is.  A FIFO named on the command line is refused
# too, without blocking.
. "$SRCDIR/tests/functions.sh"
need python3
python3 "$SRCDIR/tests/hostile/gen_vmdk-fifo.py" "$T/d" || fail "generator failed"
D="$T/d"

# the control reads
run_bounded ok "$T/info" "$VMIE" info --check "$D/good.vmdk"

# want_refusal IMAGE PATTERN: every command refuses IMAGE, naming PATTERN
want_refusal() {
	every_command fail fail fail fail "$1"
	for c in info inspect convert; do
		grep -qE "$2" "$T/$c.err" ||
			{ cat "$T/$c.err"; fail "$c of $1: no '$2' in the message"; }
	done
	grep -qE "$2" "$T/check" "$T/check.err" ||
		{ cat "$T/check" "$T/check.err"; fail "check of $1: no '$2'"; }
	# nothing was read: the refusal comes before any table
	local e; e=$(budget_field entries "$T/info")
	[ "${e:-0}" -le 8 ] || fail "$1: $e entries visited before the refusal"
}
want_refusal "$D/fifo-flat.vmdk" "extent 0.*'extent\.fifo' is a FIFO"
want_refusal "$D/fifo-sparse.vmdk" "extent 0.*'extent\.fifo' is a FIFO"
want_refusal "$D/fifo-second.vmdk" "extent 1.*'extent\.fifo' is a FIFO"
want_refusal "$D/socket.vmdk" "extent 0.*'extent\.sock' is a socket"
want_refusal "$D/dir.vmdk" "extent 0.*'extent\.dir' is a directory"

# a FIFO named directly: refused, not waited on
rc=0; timeout -k 5 60 "$VMIE" info "$D/pipe.fifo" >"$T/out" 2>&1 || rc=$?
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "info on a FIFO blocked"
[ "$rc" -ne 0 ] || fail "info on a FIFO passed"
grep -q 'FIFO' "$T/out" || { cat "$T/out"; fail "FIFO message"; }
echo ok
