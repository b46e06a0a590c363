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

# The queue's count and recovery read only tasks that have not ended
# (the partial indexes vmie_records_queue and vmie_records_live): beside
# 4 queued tasks, 3000 completed ones are never read.  The database is
# first taken back to schema 1, so the migration to 2 runs too.
pg_sql "CREATE DATABASE ended" >/dev/null
export VMIE_RECORDS="postgresql:///ended?host=$PGDIR/run&user=vmie"
for i in 1 2 3 4; do
	"$QUEUE_TOOL" "$T/st" "$T/bk" submit import-image \
		'{"DiskContainers":[{"Format":"RAW","UserBucket":{"S3Bucket":"imports","S3Key":"d.raw"}}]}' \
		> /dev/null 2> "$T/submit.err" || { cat "$T/submit.err" >&2; fail "submit"; }
done
esql() { psql -X -q -A -t -d "$VMIE_RECORDS" -c "$1"; }
esql "DROP INDEX vmie_records_live; DELETE FROM vmie_schema WHERE version = 2"
esql "INSERT INTO vmie_records (kind, id, created, status, doc)
	SELECT 'import-image', id, 0, 'completed',
	       '{\"ImportTaskId\":\"' || id || '\",\"Status\":\"completed\"}'
	FROM (SELECT 'import-ami-' || lpad(to_hex(g), 17, '0') AS id
	      FROM generate_series(1, 3000) g) x"
esql "ANALYZE vmie_records"
assert_eq "$("$QUEUE_TOOL" "$T/st" "$T/bk" count)" 4 "queued count"
assert_eq "$(esql "SELECT max(version) FROM vmie_schema")" 2 "schema version after the migration"
assert_eq "$(esql "SELECT count(*) FROM pg_indexes WHERE indexname = 'vmie_records_live'")" 1 \
	"vmie_records_live made by the migration"
esql "SELECT pg_stat_reset()" > /dev/null
"$QUEUE_TOOL" "$T/st" "$T/bk" count > /dev/null || fail "count"
"$QUEUE_TOOL" "$T/st" "$T/bk" recover > /dev/null || fail "recover"
for i in $(seq 50); do
	[ "$(esql "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'vmie_records_live'")" -ge 1 ] && break
	sleep 0.2
done
read -r seq_read idx_read <<< "$(esql "SELECT seq_tup_read, coalesce(idx_tup_fetch, 0)
	FROM pg_stat_user_tables WHERE relname = 'vmie_records'" | tr '|' ' ')"
for ix in vmie_records_queue vmie_records_live; do
	n=$(esql "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '$ix'")
	[ "$n" -ge 1 ] || fail "$ix not used by the count and recovery ($n scans)"
done
echo "count + recovery beside 3000 ended tasks: $seq_read rows by sequential scans, $idx_read by indexes"
[ $((seq_read + idx_read)) -lt 100 ] ||
	fail "the count and recovery read $seq_read + $idx_read rows: the ended tasks too"
echo "ok: store contract, 4 processes, 16 claims by racing threads, count and recovery by index"
