# Helpers of the `vmie serve` tests (source after tests/functions.sh and
# tests/task/task.sh).
#   AWS, PYB        the AWS CLI and a Python with boto3 (the machine's;
#                   the test skips without them)
#   write_config    $T/serve.json (mode 0600): account 123456789012, the
#                   store $ST and buckets $BK, users
#                     admin   allowed everything
#                     reader  ec2:Describe* only
#                     denier  everything, but an explicit Deny of
#                             ec2:ImportImage
#                     nos3    ec2:* but no s3 permission
#                   and the role vmimport (s3 on every bucket)
#   start_server [FLAG...]   vmie serve on 127.0.0.1:<free port>, log in
#                   $T/srv.log; sets SRV_PID, PORT, EP (the endpoint URL)
#   stop_server     SIGTERM, must exit 0 within 60 s
#   awsu USER ARGS...  the AWS CLI as USER against the server: stdout in
#                   $T/out, stderr in $T/err, exit status in RC
#   ajget EXPR      a value of $T/out (Python on `d`)
AWS=""
for a in "$(command -v pyenv >/dev/null 2>&1 && pyenv which aws 2>/dev/null)" \
	 "$(command -v aws 2>/dev/null)"; do
	[ -n "$a" ] && [ -x "$a" ] && { AWS=$a; break; }
done
[ -n "$AWS" ] || skip "needs the AWS CLI (aws)"
PYB=""
for p in "$(dirname "$AWS")/python3" "$(command -v python3)" /usr/bin/python3; do
	[ -x "$p" ] && "$p" -c 'import boto3' 2>/dev/null && { PYB=$p; break; }
done
[ -n "$PYB" ] || skip "needs a Python with boto3"
need curl
SECRET_ADMIN=vmieTestAdminSecret0123456789abcdefghijk
SECRET_OTHER=vmieTestOtherSecret0123456789abcdefghijk
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

write_config() {
	local extra='{}'
	[ $# = 0 ] || extra=$1
	"$PY" - "$T/serve.json" "$ST" "$BK" "$SECRET_ADMIN" "$SECRET_OTHER" "$extra" <<'EOF'
import json, os, sys
path, st, bk, sa, so, extra = sys.argv[1:7]
allow_all = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]}
cfg = {
    "listen": "127.0.0.1:0", "store": st, "bucket_root": bk,
    "regions": ["us-east-1", "eu-central-1"], "account": "123456789012",
    "workers": 2, "log_format": "kv",
    "users": [
        {"name": "admin", "access_keys": [{"id": "AKIAVMIETESTADMIN001", "secret": sa}],
         "policies": [allow_all]},
        {"name": "reader", "access_keys": [{"id": "AKIAVMIETESTREADER01", "secret": so}],
         "policies": [{"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}]},
        {"name": "denier", "access_keys": [{"id": "AKIAVMIETESTDENIER01", "secret": so}],
         "policies": [allow_all, {"Version": "2012-10-17", "Statement": [
             {"Sid": "NoImports", "Effect": "Deny", "Action": "ec2:ImportImage",
              "Resource": "*"}]}]},
        {"name": "nos3", "access_keys": [{"id": "AKIAVMIETESTNOS3USR1", "secret": so}],
         "policies": [{"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}]},
    ],
    "roles": [{"name": "vmimport", "policies": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:GetObject",
                                       "s3:ListBucket", "s3:PutObject",
                                       "s3:GetBucketAcl"],
         "Resource": "arn:aws:s3:::*"}]}]}],
}
cfg.update(json.loads(extra))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(cfg, indent=1).encode())
os.close(fd)
EOF
}

SRV_PID=""
start_server() {
	: > "$T/srv.log"
	"$VMIE" serve --config "$T/serve.json" "$@" 2>> "$T/srv.log" &
	SRV_PID=$!
	local i
	for i in $(seq 100); do
		PORT=$(sed -n 's/.*event=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/srv.log" | tail -1)
		[ -n "$PORT" ] && break
		kill -0 "$SRV_PID" 2>/dev/null || { cat "$T/srv.log" >&2; fail "vmie serve exited at start"; }
		sleep 0.1
	done
	[ -n "$PORT" ] || { cat "$T/srv.log" >&2; fail "vmie serve did not listen"; }
	EP="http://127.0.0.1:$PORT"
	trap srv_cleanup EXIT
}
srv_cleanup() {
	local rc=$?
	[ -z "$SRV_PID" ] || kill -9 "$SRV_PID" 2>/dev/null || true
	rm -rf "$T"
	exit $rc
}

stop_server() {
	local rc=0 i
	kill -TERM "$SRV_PID"
	for i in $(seq 600); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SRV_PID" || rc=$?
	[ "$rc" = 0 ] || { tail -20 "$T/srv.log" >&2; fail "vmie serve exited $rc after SIGTERM"; }
	if grep -qE 'Sanitizer|runtime error' "$T/srv.log"; then
		cat "$T/srv.log" >&2; fail "sanitizer report from vmie serve"
	fi
	SRV_PID=""
}

# credentials of a user of write_config
creds() {
	case $1 in
	admin) echo "AKIAVMIETESTADMIN001 $SECRET_ADMIN" ;;
	reader) echo "AKIAVMIETESTREADER01 $SECRET_OTHER" ;;
	denier) echo "AKIAVMIETESTDENIER01 $SECRET_OTHER" ;;
	nos3) echo "AKIAVMIETESTNOS3USR1 $SECRET_OTHER" ;;
	*) echo "$1" ;;   # "KEY SECRET" given as is
	esac
}

awsu() {
	local c; c=$(creds "$1"); shift
	RC=0
	AWS_ACCESS_KEY_ID=${c% *} AWS_SECRET_ACCESS_KEY=${c#* } \
	AWS_DEFAULT_REGION=${REGION:-us-east-1} \
		"$AWS" --endpoint-url "$EP" --output json ec2 "$@" > "$T/out" 2> "$T/err" || RC=$?
}

ajget() { jget "$@"; }

# aws_error CODE USER ARGS...: the AWS CLI fails as for EC2's CODE: exit
# status 255 (awscli 1) or 254 (awscli 2) and its message
aws_error() {
	local code=$1; shift
	awsu "$@"
	case "$RC" in 254|255) ;; *) cat "$T/out" "$T/err" >&2; fail "aws ec2 ${*:2}: exit $RC, want the CLI's service error status (255/254)" ;; esac
	grep -q "An error occurred ($code) when calling the" "$T/err" ||
		{ cat "$T/err" >&2; fail "aws ec2 ${*:2}: not the $code error"; }
}
