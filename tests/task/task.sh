# Helpers of the import/export tests (source after tests/functions.sh).
#   ST, BK       a fresh store and bucket root in $T (buckets: imports,
#                exports)
#   guest NAME   a phony guest of the inspection suite (tests/inspect/
#                mkguest.py), cached in the build directory; prints its
#                disk path(s)
#   vt CMD ...   vmie CMD --store $ST --bucket-root $BK ...; JSON on
#                stdout into $T/out, stderr into $T/err, exit status in RC
#   jget EXPR    a value from $T/out (Python expression on `d`)
#   store_clean  the store is consistent: PRAGMA integrity_check ok, no
#                temporary or stray volume, no temporary object in a
#                bucket, no task left active
need python3 qemu-img sqlite3
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
ST="$T/store"
BK="$T/buckets"
mkdir -p "$BK/imports" "$BK/exports"
INSP="$SRCDIR/tests/inspect"
IKEY=$(cat "$INSP/mkguest.py" "$INSP/guestlib.py" | sha256sum | cut -c1-12)
ICACHE="$BUILDDIR/inspect-guests/$IKEY"
FIXTURE=${FIXTURE:-$BUILDDIR/tests/fs/ntfs/ntfs_fixture}

guest() {
	local fx=""
	case "$1" in win*|nano*) fx=$FIXTURE ;; esac
	"$PY" "$INSP/mkguest.py" build "$ICACHE" "$1" $fx ||
		fail "could not build guest $1"
}

vt() {
	RC=0
	"$VMIE" "$@" --store "$ST" --bucket-root "$BK" > "$T/out" 2> "$T/err" ||
		RC=$?
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then
		cat "$T/err" >&2
		fail "sanitizer report: vmie $*"
	fi
}

jget() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$T/out" "$1"
}

store_clean() {
	local what=$1 n
	[ "$(sqlite3 "$ST/vmie.db" 'PRAGMA integrity_check')" = ok ] ||
		fail "$what: store integrity"
	n=$(find "$ST/volumes" -name '.*' -type f | wc -l)
	[ "$n" = 0 ] || { find "$ST/volumes" >&2; fail "$what: $n temporary volumes left"; }
	n=$(find "$BK" -name '.*vmie-*' | wc -l)
	[ "$n" = 0 ] || { find "$BK" >&2; fail "$what: $n temporary objects left in buckets"; }
	# every volume belongs to a snapshot record, every snapshot has one
	local vols snaps
	vols=$(cd "$ST/volumes" && ls | sed 's/\.[a-z0-9]*$//' | sort)
	snaps=$(sqlite3 "$ST/vmie.db" "select id from records where kind='snapshot'" 2>/dev/null | sort)
	[ "$vols" = "$snaps" ] || fail "$what: volumes ($vols) != snapshot records ($snaps)"
	for k in import-image import-snapshot export-image; do
		"$VMIE" describe-$k-tasks --store "$ST" > "$T/desc" 2>/dev/null ||
			fail "$what: describe-$k-tasks"
		grep -q '"Status": "active"\|"Status": "deleting"' "$T/desc" &&
			{ cat "$T/desc" >&2; fail "$what: a $k task is still active"; }
	done
	return 0
}
