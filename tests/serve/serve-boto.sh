#!/bin/bash
# vmie serve with boto3 and botocore's signers (serve_boto.py): DryRun
# allowed and not, ClientToken, MaxResults/NextToken and the paginator,
# cancel, a full queue answered 503 RequestLimitExceeded, tags; requests
# signed by botocore then changed (body, presigned query), signed 20
# minutes in the past and in the future, for another service or region,
# unsigned; malformed parameters; a body over the limit (413); the request
# id in every answer's header and body; /healthz; /metrics in the
# Prometheus text format.  No worker runs, so the tasks stay queued.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"

c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
write_config '{"workers": 0, "limits": {"queue_length": 8}}'
start_server
"$PYB" "$SRCDIR/tests/serve/serve_boto.py" "$EP" "$SECRET_ADMIN" "$SECRET_OTHER" ||
	{ tail -30 "$T/srv.log" >&2; fail "serve_boto.py"; }
! grep -q "$SECRET_ADMIN\|$SECRET_OTHER" "$T/srv.log" || fail "a secret in the log"
stop_server
echo "ok"
