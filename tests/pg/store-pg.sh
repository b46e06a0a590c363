#!/bin/bash
# The task store on PostgreSQL (lib/task/store_pg.c), on a throwaway
# server (pg.sh): the store's contract (test_store_pg.c), then four
# processes hammering one store (tests/task/store-procs.sh on a URL), then
# threads claiming from the queue at once.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/pg/pg.sh"
pg_start

PG_SOCKDIR="$PGDIR/run" "$PG_STORE_TEST" > "$T/unit.out" 2>&1 ||
	{ cat "$T/unit.out" >&2; fail "test_store_pg"; }
grep -q PASSED "$T/unit.out" || { cat "$T/unit.out" >&2; fail "test_store_pg"; }

pg_sql "CREATE DATABASE procs" >/dev/null
STORE_PROCS_URL="postgresql:///procs?host=$PGDIR/run&user=vmie" \
	bash "$SRCDIR/tests/task/store-procs.sh" > "$T/procs.out" ||
	fail "store-procs on PostgreSQL"
cat "$T/procs.out"

# 16 queued tasks, 8 threads x 3 rounds claiming: each task once
pg_sql "CREATE DATABASE queue" >/dev/null
export VMIE_RECORDS="postgresql:///queue?host=$PGDIR/run&user=vmie"
mkdir -p "$T/st" "$T/bk/imports"
echo x > "$T/bk/imports/d.raw"
for i in $(seq 1 16); do
	"$QUEUE_TOOL" "$T/st" "$T/bk" submit import-image \
		'{"DiskContainers":[{"Format":"RAW","UserBucket":{"S3Bucket":"imports","S3Key":"d.raw"}}]}' \
		>> "$T/submitted" 2> "$T/submit.err" ||
		{ cat "$T/submit.err" >&2; fail "submit"; }
done
got=0
for round in 1 2 3; do
	n=$("$QUEUE_TOOL" "$T/st" "$T/bk" race 8)
	got=$((got + n))
done
assert_eq "$got" 16 "tasks claimed by racing threads"
owned=$(psql -X -A -t -d "$VMIE_RECORDS" -c "SELECT count(*) FROM
	vmie_records WHERE owner IS NOT NULL AND NOT queue")
assert_eq "$owned" 16 "tasks owned"
echo "ok: store contract, 4 processes, 16 claims by racing threads"
