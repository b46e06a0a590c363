#!/bin/bash
# vmie against a real S3 server: a single-node Ceph cluster with radosgw,
# started here on loopback (../shared/tools/ceph-rgw.sh; radosgw checks
# every SigV4 signature).  The AWS CLI puts a VMDK into a bucket; vmie
# imports it with its volumes kept in S3 (--volumes), exports it in every
# format into another bucket; the exports, downloaded, equal the volume
# (qemu-img compare); the exported OVA, put back with the AWS CLI, is
# imported from the bucket (read in place: ranged GETs under the tar
# windows).  Faults: the source replaced mid-import (ETag pinned with
# If-Match), RGW stopped during the volume's multipart upload (the task
# ends deleted, the next command aborts the upload: none left), a wrong
# secret, a missing bucket and key, a missing volumes bucket: each a
# clear message.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
source "$SRCDIR/tests/s3/rgw.sh"
rgw_start
t0=$(date +%s)
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_REGION
export S3_ENDPOINT=$E VMIE_S3_ENDPOINT=$E
s3t mb imports exports vmie-vols || fail "make buckets"

# v3 CMD ...: vmie with S3 buckets and volumes (exit status in RC)
v3() {
	RC=0
	"$VMIE" "$@" --store "$ST" --bucket-root s3:// --volumes s3://vmie-vols/v \
		> "$T/out" 2> "$T/err" || RC=$?
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then
		cat "$T/err" >&2; fail "sanitizer report: vmie $*"
	fi
}
msg() { jget 'd.get("StatusMessage", "")'; }

# --- import a VMDK put with the AWS CLI; volumes in S3 ---
img=$(guest amzn2)
"$VMIE" convert -O vmdk,streamOptimized "$img" "$T/g.vmdk" >/dev/null || fail "convert"
a3 s3 cp --quiet "$T/g.vmdk" s3://imports/g.vmdk || fail "aws s3 cp"
v3 import-image --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=g.vmdk}"
[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "import from RGW: exit $RC"; }
[ "$(jget 'd["Status"]')" = completed ] || fail "import from RGW: not completed"
AMI=$(jget 'd["ImageId"]'); SNAP=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
[ -z "$(ls "$ST/volumes" 2>/dev/null)" ] || fail "a volume was written locally"
s3t get vmie-vols "v/$SNAP.raw" "$T/vol.raw" || fail "no volume object v/$SNAP.raw"
"$VMIE" image-journal --image-id "$AMI" --store "$ST" --volumes s3://vmie-vols/v > "$T/journal" 2>/dev/null
if [ "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Changes"]))' "$T/journal" 2>/dev/null)" = 0 ]; then
	qemu-img compare -q "$img" "$T/vol.raw" || fail "volume differs from the source"
fi
echo "import from RGW: ok [$(( $(date +%s) - t0 )) s]"

# --- export in every format into S3, download, compare ---
for f in VMDK VHD RAW OVA; do
	v3 export-image --image-id "$AMI" --disk-image-format $f \
		--s3-export-location S3Bucket=exports,S3Prefix=x/
	[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "export $f: exit $RC"; }
	[ "$(jget 'd["Status"]')" = completed ] || fail "export $f: not completed"
	id=$(jget 'd["ExportImageTaskId"]'); ext=$(echo $f | tr A-Z a-z)
	s3t get exports "x/$id.$ext" "$T/e.$ext" || fail "export $f: no object"
	if [ $f = OVA ]; then
		"$VMIE" convert -O raw "$T/e.ova" "$T/e-ova.raw" >/dev/null || fail "OVA unreadable"
		qemu-img compare -q "$T/vol.raw" "$T/e-ova.raw" || fail "OVA export differs"
	else
		qemu-img compare -q "$T/vol.raw" "$T/e.$ext" || fail "export $f differs"
	fi
done
no_uploads exports "exports"
echo "export to RGW (VMDK VHD RAW OVA), compared: ok [$(( $(date +%s) - t0 )) s]"

# --- an OVA in the bucket, imported in place ---
a3 s3 cp --quiet "$T/e.ova" s3://imports/g.ova || fail "aws s3 cp ova"
v3 import-image --disk-containers "Format=OVA,UserBucket={S3Bucket=imports,S3Key=g.ova}"
[ "$RC" = 0 ] && [ "$(jget 'd["Status"]')" = completed ] || { cat "$T/err" >&2; fail "OVA import from RGW"; }
echo "OVA import from RGW: ok [$(( $(date +%s) - t0 )) s]"

# --- the source replaced during the import: a clear failure ---
cp --sparse=always "$img" "$T/big.raw"
s3t put imports big.raw "$T/big.raw" || fail "put raw"
head -c 4096 /dev/urandom > "$T/other"
s3t put-after 2 imports big.raw "$T/other" & putter=$!
VMIE_TEST_THROTTLE_MS=4000 VMIE_THREADS=1 \
	v3 import-image --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=big.raw}"
wait $putter || fail "the replacing put failed"
[ "$RC" = 1 ] && [ "$(jget 'd["Status"]')" = deleted ] || fail "ETag change: exit $RC, not deleted"
msg | grep -q 's3://imports/big.raw was replaced while it was being read' ||
	fail "ETag change: message '$(msg)'"
echo "ETag change mid-import: ok ($(msg | cut -c1-120)...) [$(( $(date +%s) - t0 )) s]"

# --- RGW stopped during the volume's multipart upload ---
s3t put imports big.raw "$T/big.raw" || fail "put raw"
VMIE_S3_RETRIES=2 VMIE_TEST_S3_PART_MS=2000 \
	v3 import-image --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=big.raw}" &
vp=$!
for i in $(seq 150); do
	u=$(s3t uploads vmie-vols) || fail "cannot list the uploads"
	[ -n "$u" ] && break; sleep 0.1
done
[ "$i" != 150 ] || fail "no multipart upload seen"
rgw_kill
wait $vp
[ "$(jget 'd["Status"]')" = deleted ] || fail "RGW stopped: task not deleted"
msg | grep -q "Couldn't connect\|failed after" || fail "RGW stopped: message '$(msg)'"
rgw_restart
v3 describe-import-image-tasks      # recovery: aborts what the dead upload left
no_uploads vmie-vols "RGW stopped"
n=$(s3t ls vmie-vols v/ | wc -l)
[ "$n" = 2 ] || { s3t ls vmie-vols v/ >&2; fail "RGW stopped: $n volumes (2 expected)"; }
echo "RGW stopped during an upload: task deleted, no upload left: ok [$(( $(date +%s) - t0 )) s]"

# --- a wrong secret, a missing bucket, a missing key ---
AWS_SECRET_ACCESS_KEY=wrong v3 import-image --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=g.vmdk}"
cat "$T/out" "$T/err" | grep -q 'SignatureDoesNotMatch.*secret access key is wrong' ||
	fail "wrong secret: $(cat "$T/out" "$T/err")"
v3 import-image --disk-containers "Format=VMDK,UserBucket={S3Bucket=nobucket,S3Key=g.vmdk}"
msg | grep -q 'bucket nobucket does not exist' || fail "missing bucket: '$(msg)'"
v3 import-image --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=none.vmdk}"
msg | grep -q 'no object s3://imports/none.vmdk' || fail "missing key: '$(msg)'"
v3 export-image --image-id "$AMI" --disk-image-format VMDK --s3-export-location S3Bucket=nobucket,S3Prefix=x/
grep -q 'nobucket does not exist' "$T/out" "$T/err" || fail "export to a missing bucket: $(cat "$T/out" "$T/err")"
# the volumes' bucket is checked when a command opens it
RC=0
"$VMIE" describe-import-image-tasks --store "$ST" --bucket-root s3:// \
	--volumes s3://novols/v > "$T/out" 2> "$T/err" || RC=$?
[ "$RC" = 253 ] && grep -q 'novols' "$T/err" ||
	fail "missing volumes bucket: exit $RC, $(cat "$T/err")"
echo "wrong secret, missing bucket and key: clear messages: ok [$(( $(date +%s) - t0 )) s]"
echo "total $(( $(date +%s) - t0 )) s"
