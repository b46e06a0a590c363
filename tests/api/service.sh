#!/bin/bash
# lib/api/service.h end to end in one process (test_service.c): a store, a
# bucket root with "mys3bucket" (the seed's policy names it) and "other",
# each holding a phony CentOS 7 guest as c7.vmdk (stream-optimized) and
# c7.raw; then every action through vmie_api_call.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
: "${SERVICE_TEST:?run through meson test}"
c7=$(guest centos7)
for b in mys3bucket other; do
	mkdir -p "$BK/$b"
	"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/$b/c7.vmdk" >/dev/null
	cp --sparse=always "$c7" "$BK/$b/c7.raw"
done
mkdir -p "$ST"
"$SERVICE_TEST" "$ST" "$BK" || fail "test_service"
store_clean "after the API calls"
