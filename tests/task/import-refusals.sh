#!/bin/bash
# Every way an import or export is refused (issue 10): by the rules in the
# decide stage (before any volume is written: the task ends deleted with
# AWS's ClientError wording, then vmie's rule id and evidence), by
# validation (not a disk image, a format other than the one declared, a
# truncated VMDK, an object that does not exist), and at the request (a
# key that leaves its bucket, encryption, a bad option, an export of an
# image that does not exist or of a hybrid BIOS+UEFI image).  --dry-run
# prints the decisions and stores nothing.  The store stays clean.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need mke2fs

# refused TASK_STATUS_PATTERN CONTAINERS...: the import ends deleted
refused() {
	local pat=$1; shift
	vt import-image --disk-containers "$@"
	[ "$RC" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "refusal /$pat/: exit $RC"; }
	[ "$(jget 'd["Status"]')" = deleted ] || fail "/$pat/: not deleted"
	jget 'd["StatusMessage"]' | grep -qE "$pat" ||
		fail "/$pat/: StatusMessage is '$(jget 'd["StatusMessage"]')'"
	grep -qE "${pat#^}" "$T/err" || fail "/$pat/: not on stderr"
	[ -z "$(ls -A "$ST/volumes")" ] || fail "/$pat/: a volume was left"
}
# request_error CODE CMD...: refused at once (exit 254, the EC2 code)
request_error() {
	local code=$1; shift
	vt "$@"
	[ "$RC" = 254 ] || { cat "$T/err" >&2; fail "$code: exit $RC for $*"; }
	grep -q "An error occurred ($code) when calling the" "$T/err" ||
		fail "$code: $(cat "$T/err")"
}

d12=$(guest debian12)
uefi=$(guest rhel8-uefi)
c7=$(guest centos7)
cp --sparse=always "$c7" "$BK/imports/c7.raw"
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
"$VMIE" convert -O vhd "$c7" "$BK/imports/c7.vhd" >/dev/null
"$VMIE" convert -O qcow2 "$c7" "$BK/imports/c7.qcow2" >/dev/null

# --- the rules, in the decide stage ---
refused '^ClientError: Unsupported kernel version 6\.1\.0-13-amd64 \[OS-0' \
	"[{\"Format\": \"RAW\", \"Url\": \"$d12\"}]"
refused '^ClientError: UEFI boot requires .*\[BOOT-003' \
	"[{\"Format\": \"RAW\", \"Url\": \"$uefi\"}]"
refused 'ClientError: Disk validation failed \[Unsupported image format: qcow2' \
	"[{\"Url\": \"$BK/imports/c7.qcow2\"}]"
truncate -s 64M "$T/zero.raw"
refused '^ClientError: No valid partitions\. Not a valid volume\.' \
	"[{\"Format\": \"RAW\", \"Url\": \"$T/zero.raw\"}]"
truncate -s 64M "$T/data.raw"
mke2fs -q -F -t ext4 "$T/data.raw"
refused '^ClientError: Unknown OS / Missing OS files' \
	"[{\"Format\": \"RAW\", \"Url\": \"$T/data.raw\"}]"

# --- validation ---
echo "not a disk" > "$BK/imports/text.vmdk"
refused '^ClientError: Disk validation failed \[Unsupported VMDK File Format' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=text.vmdk}"
refused '^ClientError: Disk validation failed \[Unsupported VMDK File Format\] \[FMT-001: .* is vhd\]' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vhd}"
head -c 60000 "$BK/imports/c7.vmdk" > "$BK/imports/short.vmdk"
refused '^ClientError: .*(truncated|past the end|end of file)' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=short.vmdk}"
refused '^ClientError: Disk validation failed \[.*(does not exist|no such object)' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=missing.vmdk}"
refused '^ClientError: Disk validation failed \[.*bucket' \
	"Format=VMDK,UserBucket={S3Bucket=nobucket,S3Key=c7.vmdk}"

# --- the request ---
request_error InvalidParameterValue import-image --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=../imports/c7.vmdk}"
request_error InvalidParameterValue import-image --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=/etc/passwd}"
request_error InvalidParameterValue import-image --disk-containers \
	"Format=QCOW2,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
request_error InvalidParameterValue import-image --boot-mode bios --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
request_error UnsupportedOperation import-image --encrypted --disk-containers \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
request_error MissingParameter import-image --disk-containers '[]'
request_error InvalidParameterValue import-image --policy no-such-policy \
	--disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
# a symlink inside the bucket that leads out of it
ln -s /etc/passwd "$BK/imports/escape.vmdk"
refused '^ClientError: Disk validation failed \[' \
	"Format=VMDK,UserBucket={S3Bucket=imports,S3Key=escape.vmdk}"
vt import-image 2>/dev/null
[ "$RC" = 252 ] || fail "no --disk-containers: exit $RC"

# --- dry run: decisions, nothing stored ---
vt import-image --dry-run --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
[ "$RC" = 0 ] || { cat "$T/err"; fail "dry run: exit $RC"; }
[ "$(jget 'd["Decisions"]["boot_mode"]')" = legacy-bios ] || fail "dry run: decisions"
vt import-image --dry-run --disk-containers "[{\"Format\": \"RAW\", \"Url\": \"$d12\"}]"
[ "$RC" = 1 ] || fail "dry run of a refused guest: exit $RC"
jget 'd["StatusMessage"]' | grep -q 'Unsupported kernel version' || fail "dry run: message"
n=$(sqlite3 "$ST/vmie.db" "select count(*) from records where doc like '%\"DryRun\"%'")
[ "$n" = 0 ] || fail "dry run stored a task"

# --- export refusals ---
request_error InvalidAMIID.NotFound export-image --image-id ami-0123456789abcdef0 \
	--disk-image-format VMDK --s3-export-location S3Bucket=exports
grep -q 'EXP-002' "$T/err" || fail "EXP-002 not named"
request_error InvalidAMIID.Malformed export-image --image-id ami-xyz \
	--disk-image-format VMDK --s3-export-location S3Bucket=exports
vt import-image --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
[ "$RC" = 0 ] || fail "import for export refusals"
ami=$(jget 'd["ImageId"]')
request_error InvalidParameterValue export-image --image-id "$ami" \
	--disk-image-format VHDX --s3-export-location S3Bucket=exports
grep -q 'EXP-001' "$T/err" || fail "EXP-001 not named"
request_error InvalidParameterValue export-image --image-id "$ami" \
	--disk-image-format VMDK --s3-export-location S3Bucket=nobucket
hy=$(guest ubuntu2204-hybrid)
vt import-image --disk-containers "[{\"Format\": \"RAW\", \"Url\": \"$hy\"}]"
[ "$RC" = 0 ] || { cat "$T/err"; fail "import of the hybrid guest"; }
request_error InvalidParameterValue export-image --image-id "$(jget 'd["ImageId"]')" \
	--disk-image-format VMDK --s3-export-location S3Bucket=exports
grep -q 'EXP-003' "$T/err" || fail "EXP-003 not named"
[ -z "$(ls -A "$BK/exports")" ] || fail "a refused export wrote something"
vt cancel-import-task --import-task-id import-ami-0123456789abcdef0
[ "$RC" = 254 ] || fail "cancel of an unknown task"
store_clean "refusals"
echo ok
