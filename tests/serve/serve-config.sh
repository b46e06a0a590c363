#!/bin/bash
# vmie serve's configuration (issue 12): a first run without --config
# creates $XDG_CONFIG_HOME/vmie/serve.json (mode 0600) with a new account
# and access key, prints the key, the secret and the aws lines, and serves
# with them; --init-config never overwrites; a file others may read is
# refused with a message saying why; unknown members and bad values are
# named; --help lists every flag; the secret never reaches the log.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/serve/serve.sh"

# --- --help ---
"$VMIE" serve --help > "$T/help" || fail "serve --help"
for f in --config --init-config --listen --store --bucket-root --workers \
	 --region --policy --log-format SIGTERM /metrics; do
	grep -q -- "$f" "$T/help" || fail "serve --help does not mention $f"
done
expect_fail "unknown option '--bogus'" "$VMIE" serve --bogus
expect_fail -- "--workers needs a number" "$VMIE" serve --workers lots

# --- a first run ---
# (without --config the file is $XDG_CONFIG_HOME/vmie/serve.json, or
# /etc/vmie/serve.json for root: a test must not write there, so it names
# the path, which a first run creates the same way)
export XDG_CONFIG_HOME="$T/xdg" XDG_DATA_HOME="$T/data"
cfg="$XDG_CONFIG_HOME/vmie/serve.json"
if [ "$(id -u)" = 0 ]; then first=(--config "$cfg"); else first=(); fi
"$VMIE" serve "${first[@]}" --listen 127.0.0.1:0 --store "$ST" --bucket-root "$BK" \
	> "$T/first" 2> "$T/srv.log" &
SRV_PID=$!
trap srv_cleanup EXIT
for i in $(seq 100); do
	PORT=$(sed -n 's/.*event=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/srv.log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "$PORT" ] || { cat "$T/first" "$T/srv.log" >&2; fail "first run did not listen"; }
EP="http://127.0.0.1:$PORT"
[ -f "$cfg" ] || fail "first run: no $cfg"
[ "$(stat -c %a "$cfg")" = 600 ] || fail "first run: $cfg mode $(stat -c %a "$cfg")"
key=$(sed -n 's/^ *access key id: *//p' "$T/first")
sec=$(sed -n 's/^ *secret access key: *//p' "$T/first")
[[ $key =~ ^AKIA[A-Z2-7]{16}$ ]] || { cat "$T/first" >&2; fail "first run: access key '$key'"; }
[ ${#sec} = 40 ] || fail "first run: secret of ${#sec} characters"
grep -q "aws configure set aws_access_key_id $key" "$T/first" || fail "first run: no aws configure line"
grep -q -- "--endpoint-url http://127.0.0.1:0" "$T/first" || fail "first run: no --endpoint-url line"
acct=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["account"])' "$cfg")
[[ $acct =~ ^[1-9][0-9]{11}$ ]] || fail "first run: account '$acct'"
awsu "$key $sec" describe-import-image-tasks
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "the first run's key does not work"; }
# the vmimport role lets the admin import from a bucket
c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
awsu "$key $sec" import-image --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import with the generated configuration"; }
awsu "$key $sec" describe-images --owners self
! grep -q "$sec" "$T/srv.log" || fail "the secret is in the log"
stop_server

# --- the file is never overwritten ---
expect_fail "exists" "$VMIE" serve --init-config "$cfg"
"$VMIE" serve --init-config "$T/other.json" > "$T/init" || fail "--init-config"
grep -q "secret access key" "$T/init" || fail "--init-config did not print the key"
[ "$(stat -c %a "$T/other.json")" = 600 ] || fail "--init-config mode"

# --- refusals ---
chmod 644 "$cfg"
expect_fail "other users may read it \(mode 0644\): refusing it; run 'chmod o-rwx" \
	"$VMIE" serve --config "$cfg"
! grep -q "$sec" "$T/err" || fail "the secret is in the refusal"
chmod 600 "$cfg"
"$PY" - "$cfg" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["wokers"] = 3
open(sys.argv[1], "w").write(json.dumps(d))
EOF
expect_fail 'unknown member "wokers"' "$VMIE" serve --config "$cfg"
"$PY" - "$cfg" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); del d["wokers"]; d["account"] = "12345"
open(sys.argv[1], "w").write(json.dumps(d))
EOF
expect_fail '"account" must be the 12 digits' "$VMIE" serve --config "$cfg"
"$PY" - "$cfg" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["account"] = "123456789012"
d["users"][0]["policies"] = [{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"aws:username": "x"}}}]}]
open(sys.argv[1], "w").write(json.dumps(d))
EOF
expect_fail 'user admin: policies\[0\]' "$VMIE" serve --config "$cfg"
! grep -q "$sec" "$T/err" || fail "the secret is in a refusal"

# --- HTTPS, and a policy that requires it (aws:SecureTransport) ---
need openssl
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
	-days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
	fail "openssl req"
"$PY" - "$cfg" "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["users"][0]["policies"] = [
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}]
open(sys.argv[1], "w").write(json.dumps(d))
d["tls"] = {"cert": sys.argv[2] + "/cert.pem", "key": sys.argv[2] + "/key.pem"}
open(sys.argv[2] + "/tls.json", "w").write(json.dumps(d))
EOF
chmod 600 "$T/tls.json"
cp "$T/tls.json" "$T/serve.json"
start_server --listen 127.0.0.1:0
grep -q "event=listening .*tls=true" "$T/srv.log" || fail "not listening with TLS"
EP="https://127.0.0.1:$PORT"
awsu "$key $sec" --ca-bundle "$T/cert.pem" describe-images --owners self
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "HTTPS request refused"; }
stop_server
cp "$cfg" "$T/serve.json"
start_server --listen 127.0.0.1:0
aws_error UnauthorizedOperation "$key $sec" describe-images --owners self
stop_server
echo "ok"
