# A throwaway PostgreSQL for the tests of tests/pg (source after
# tests/functions.sh).  pg_start makes a cluster in $T/pg (initdb, trust
# authentication, superuser "vmie"), listening only on a Unix socket in
# $T/pg/run, and sets PG_URL; as root the server runs as "nobody".
# pg_stop / pg_restart act on it; the EXIT trap stops it.
pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	return 1
}

pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	PGBIN=$(pg_bin) || skip "needs PostgreSQL (Debian package postgresql)"
	PGDIR="$T/pg"
	mkdir -p "$PGDIR/data" "$PGDIR/run"
	chmod 755 "$T"
	[ "$(id -u)" = 0 ] && chown -R nobody "$PGDIR"
	pg_as "$PGBIN/initdb" -D "$PGDIR/data" -U vmie -A trust -E UTF8 \
		--no-sync > "$PGDIR/initdb.log" 2>&1 ||
		{ cat "$PGDIR/initdb.log" >&2; fail "initdb"; }
	cat >> "$PGDIR/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$PGDIR/run'
fsync = off
max_connections = 200
shared_buffers = 32MB
CONF
	trap 'pg_stop; rm -rf "$T"' EXIT
	pg_start_server
	PG_URL="postgresql:///postgres?host=$PGDIR/run&user=vmie"
	export PG_URL
}

pg_start_server() {
	pg_as "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
		-t 30 start > /dev/null ||
		{ cat "$PGDIR/server.log" >&2; fail "pg_ctl start"; }
}

pg_stop() {
	[ -n "${PGDIR:-}" ] && [ -f "$PGDIR/data/postmaster.pid" ] &&
		pg_as "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop \
			> /dev/null 2>&1
	return 0
}

# pg_restart: the server goes away (immediate shutdown: sessions cut as
# by a crash) and comes back
pg_restart() {
	pg_as "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop > /dev/null
	pg_start_server
}

# pg_sql SQL: run SQL as the superuser, print the rows (unaligned)
pg_sql() {
	"$PGBIN/psql" -X -q -A -t -d "$PG_URL" -c "$1"
}
