#!/bin/bash
# Several processes on one task store at once (store_sqlite.c): four
# store-tool hammers start together on a store that does not exist yet
# (all of them make the schema and the shared counter record), each puts,
# updates, reads and lists records for N cycles.  Afterwards the store
# must pass its integrity check, hold every record, and the shared counter
# must have counted every update of every process: update() is atomic.
source "$SRCDIR/tests/functions.sh"
TOOL="${STORE_TOOL:-$BUILDDIR/tests/task/store-tool}"
[ -x "$TOOL" ] || fail "store-tool not built ($TOOL)"
W=4
N=${STORE_PROCS_CYCLES:-150}
# STORE_PROCS_URL: the same on a PostgreSQL store (tests/pg)
STORE="${STORE_PROCS_URL:-$T/store}"
COUNTER=import-ami-00000000000000000

pids=()
for w in $(seq 1 $W); do
	"$TOOL" hammer "$STORE" "$w" "$N" > "$T/h$w.out" 2> "$T/h$w.err" &
	pids+=($!)
done
bad=0
for w in $(seq 1 $W); do
	rc=0
	wait "${pids[$((w - 1))]}" || rc=$?
	if [ "$rc" -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$T/h$w.err"; then
		echo "hammer $w exited $rc:" >&2
		cat "$T/h$w.err" >&2
		bad=1
	fi
done
[ "$bad" = 0 ] || fail "a hammer process failed"

# the directory was made private
[ -n "${STORE_PROCS_URL:-}" ] || [ "$(stat -c %a "$STORE")" = 700 ] ||
	fail "store directory mode $(stat -c %a "$STORE")"

expect_rc 0 "$T/integrity" "$TOOL" integrity "$STORE"

# every record, completed, each once
expect_rc 0 "$T/all" "$TOOL" list "$STORE" snapshot
assert_eq "$(wc -l < "$T/all")" "$((W * N))" "snapshots listed"
assert_eq "$(sort -u "$T/all" | wc -l)" "$((W * N))" "distinct snapshots"
expect_rc 0 "$T/done" "$TOOL" list "$STORE" snapshot completed
assert_eq "$(wc -l < "$T/done")" "$((W * N))" "completed snapshots"
expect_rc 0 "$T/pending" "$TOOL" list "$STORE" snapshot pending
assert_eq "$(wc -l < "$T/pending")" 0 "pending snapshots"

# the counter: every update of every process, none lost
expect_rc 0 "$T/counter" "$TOOL" get "$STORE" "$COUNTER"
count=$(sed -n 's/.*"Count":\([0-9]*\).*/\1/p' "$T/counter")
assert_eq "$count" "$((W * N))" "shared counter"
for w in $(seq 1 $W); do
	c=$(sed -n "s/.*\"W$w\":\([0-9]*\).*/\1/p" "$T/counter")
	assert_eq "$c" "$N" "updates of hammer $w"
done

# a client token used by a hammer answers its record
first=$(head -1 "$T/all")
expect_rc 0 "$T/first" "$TOOL" get "$STORE" "$first"
w=$(sed -n 's/.*"Worker":\([0-9]*\).*/\1/p' "$T/first")
i=$(sed -n 's/.*"I":\([0-9]*\).*/\1/p' "$T/first")
expect_rc 3 "$T/dup" "$TOOL" put "$STORE" snap-0123456789abcdef0 '{}' "w$w-$i"
assert_eq "$(cat "$T/dup")" "$first" "token answer"

# the store is still usable, the status column follows updates
expect_rc 0 "$T/st" "$TOOL" status "$STORE" "$COUNTER" completed
expect_rc 0 "$T/tasks" "$TOOL" list "$STORE" import-image completed
assert_eq "$(cat "$T/tasks")" "$COUNTER" "counter task listed by status"
expect_rc 0 "$T/integrity" "$TOOL" integrity "$STORE"
echo "ok: $W processes x $N cycles"
