#!/bin/bash
# The JSON of every import/export command has the shape that botocore's
# ec2 model (the AWS CLI's own) gives the operation (issue 10): checked
# member by member by awsshape.py, for import-image (foreground: the
# ImportImageTask; --no-wait: ImportImageResult), import-snapshot,
# export-image, the describe calls, cancel-import-task, describe-tags and
# an error's wording.  Also the sample outputs of the AWS CLI in
# ../shared/protocol/cli-json-outputs.txt pass the same checker (the
# checker's own test).
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
# botocore is in the machine's Python (the one on PATH), maybe not in
# /usr/bin/python3
BPY=""
for p in "$(type -P python3)" /usr/bin/python3; do
	[ -x "$p" ] && "$p" -c 'import botocore' 2>/dev/null && { BPY=$p; break; }
done
[ -n "$BPY" ] || skip "needs botocore"
SH="$BPY $SRCDIR/tests/task/awsshape.py"
shape() { # OP KIND: $T/out against the shape
	$SH "$1" "$2" < "$T/out" > "$T/shape" || { cat "$T/shape" "$T/out" >&2; fail "$1: shape"; }
}

# the checker accepts the AWS CLI's own outputs, and rejects a wrong one
"$PY" - "$SHARED/protocol/cli-json-outputs.txt" "$T" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
ops = {'import-image': 'ImportImage', 'describe-import-image-tasks': 'DescribeImportImageTasks',
       'export-image': 'ExportImage', 'describe-export-image-tasks': 'DescribeExportImageTasks',
       'import-snapshot': 'ImportSnapshot', 'describe-import-snapshot-tasks': 'DescribeImportSnapshotTasks',
       'cancel-import-task': 'CancelImportTask'}
n = 0
for m in re.finditer(r'^\$ aws ec2 (\S+)[^\n]*\n(\{.*?^\})\nrc=0', text, re.S | re.M):
    cmd, body = m.group(1), m.group(2)
    if cmd in ops:
        open('%s/sample-%d.json' % (sys.argv[2], n), 'w').write(body)
        open('%s/sample-%d.op' % (sys.argv[2], n), 'w').write(ops[cmd])
        n += 1
print(n)
PYEOF
for f in "$T"/sample-*.json; do
	$SH "$(cat "${f%.json}.op")" output < "$f" || fail "the checker refuses the AWS CLI's $f"
done
echo '{"ImportTaskId": "x", "Bogus": 1}' | $SH ImportImage output > /dev/null &&
	fail "the checker accepts a wrong member"
echo '{"SnapshotDetails": [{"DiskImageSize": 5}]}' | $SH ImportImage output > /dev/null &&
	fail "the checker accepts an integer DiskImageSize"

c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
C7="Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
vt import-image --description d --disk-containers "$C7" \
	--tag-specifications 'ResourceType=import-image-task,Tags=[{Key=Name,Value=x}]'
[ "$RC" = 0 ] || fail "import-image"
shape DescribeImportImageTasks ImportImageTask
ami=$(jget 'd["ImageId"]')
snap=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
vt import-image --no-wait --disk-containers "$C7"
shape ImportImage output
id=$(jget 'd["ImportTaskId"]')
vt cancel-import-task --import-task-id "$id"
[ "$RC" = 0 ] && shape CancelImportTask output
vt describe-import-image-tasks
shape DescribeImportImageTasks output
vt import-snapshot --disk-container "$C7" --description s
shape DescribeImportSnapshotTasks ImportSnapshotTask
vt import-snapshot --no-wait --disk-container "$C7"
shape ImportSnapshot output
vt describe-import-snapshot-tasks
shape DescribeImportSnapshotTasks output
vt export-image --image-id "$ami" --disk-image-format VMDK \
	--s3-export-location S3Bucket=exports,S3Prefix=e/ --role-name vmimport
shape ExportImage output
vt export-image --no-wait --image-id "$ami" --disk-image-format RAW \
	--s3-export-location S3Bucket=exports,S3Prefix=e/ --role-name vmimport
shape ExportImage output
[ "$(jget 'd["RoleName"]')" = vmimport ] || fail "ExportImage: RoleName"
[ "$(jget 'd["DiskImageFormat"]')" = RAW ] || fail "ExportImage: DiskImageFormat"
vt describe-export-image-tasks
shape DescribeExportImageTasks output
vt describe-images
shape DescribeImages output
vt describe-snapshots
shape DescribeSnapshots output
vt create-tags --resources "$ami" "$snap" --tags Key=a,Value=b
vt describe-tags
shape DescribeTags output
vt deregister-image --image-id "$ami"
shape DeregisterImage output
# errors as the AWS CLI prints them
vt describe-images --image-ids ami-0123456789abcdef0
[ "$RC" = 254 ] || fail "error exit status $RC"
grep -qx 'An error occurred (InvalidAMIID.NotFound) when calling the DescribeImages operation: .*' "$T/err" ||
	fail "error wording: $(cat "$T/err")"
# wait for the --no-wait workers before the store is checked
for i in $(seq 1 400); do
	vt describe-export-image-tasks --filters Name=task-state,Values=active
	[ "$(jget 'len(d["ExportImageTasks"])')" = 0 ] && break
	sleep 0.05
done
for i in $(seq 1 400); do
	vt describe-import-snapshot-tasks
	grep -q '"Status": "active"' "$T/out" || break
	sleep 0.05
done
store_clean "aws-shapes"
echo ok
