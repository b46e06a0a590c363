#!/bin/bash
# vmie's commands with --records postgresql://... (docs/postgresql.md):
# import-image end to end with the records in PostgreSQL and the volumes
# in --store, describe from another process, a ClientToken answered by
# the first task, VMIE_RECORDS as the flag's default, a PostgreSQL that
# cannot be reached refused with a clear message.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/pg/pg.sh"
pg_start
R="$PG_URL"

c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
DC="Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
vt import-image --records "$R" --disk-containers "$DC" --client-token tok-1
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import-image: exit $RC"; }
task=$(jget 'd["ImportTaskId"]')
ami=$(jget 'd["ImageId"]')
[ "$(jget 'd["Status"]')" = completed ] || fail "import not completed"
# the records are in PostgreSQL, none in SQLite
[ ! -e "$ST/vmie.db" ] || fail "a SQLite store was made beside --records"
[ "$(pg_sql "SELECT status FROM vmie_records WHERE id = '$task'")" = completed ] ||
	fail "task record not in PostgreSQL"
[ "$(pg_sql "SELECT count(*) FROM vmie_records WHERE kind = 'snapshot'")" = 1 ] ||
	fail "snapshot record not in PostgreSQL"
snap=$(pg_sql "SELECT id FROM vmie_records WHERE kind = 'snapshot'")
ls "$ST/volumes/$snap".* >/dev/null 2>&1 || fail "volume of $snap not in the store"

# describe through the environment variable
VMIE_RECORDS="$R" vt describe-images --image-ids "$ami"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "describe-images: exit $RC"; }
[ "$(jget 'd["Images"][0]["State"]')" = available ] || fail "image not available"

# the same ClientToken: the first task, not a second import
vt import-image --records "$R" --disk-containers "$DC" --client-token tok-1
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import-image again: exit $RC"; }
[ "$(jget 'd["ImportTaskId"]')" = "$task" ] || fail "ClientToken not idempotent"
[ "$(pg_sql "SELECT count(*) FROM vmie_records WHERE kind = 'import-image'")" = 1 ] ||
	fail "a second task was stored"

# export from the image whose records are in PostgreSQL
vt export-image --records "$R" --image-id "$ami" --disk-image-format VMDK \
	--s3-export-location S3Bucket=exports,S3Prefix=out/
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "export-image: exit $RC"; }
ls "$BK/exports/out/"*.vmdk >/dev/null || fail "no exported object"

# unreachable, and not a URL
vt describe-import-image-tasks --records "postgresql://vmie:pw@127.0.0.1:1/x?connect_timeout=2"
[ "$RC" = 253 ] || fail "unreachable PostgreSQL: exit $RC"
grep -q "cannot connect" "$T/err" || { cat "$T/err" >&2; fail "no clear message"; }
grep -q ":pw@" "$T/err" && fail "the password was printed"
vt describe-import-image-tasks --records "mysql://x"
[ "$RC" != 0 ] || fail "a non-PostgreSQL URL was accepted"
echo "ok: import, describe, ClientToken, export with the records in PostgreSQL"
