#!/bin/bash
# Import and export on one machine, end to end (issue 10): phony guests of
# the families the rules admit, from every input format (stream-optimized
# VMDK, dynamic VHD, VHDX, raw, OVA) read from a bucket directory, a local
# path and an s3:// Url; describe-import-image-tasks, describe-images,
# describe-snapshots; export in VMDK, VHD, RAW and OVA, each compared with
# the source by qemu-img compare (no guest change yet: they are equal) and
# checked by qemu-img check; a VM of two disks given as two containers, and
# again as an OVA of two disks; idempotent ClientToken; tags; the store
# consistent at the end.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"

# import SRC_ARGS... : import-image, must complete; AMI and SNAPS set
import() {
	vt import-image "$@"
	[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "import-image $*: exit $RC"; }
	[ "$(jget 'd["Status"]')" = completed ] || fail "import $*: not completed"
	AMI=$(jget 'd["ImageId"]')
	SNAPS=$(jget '" ".join(s["SnapshotId"] for s in d["SnapshotDetails"])')
	case "$AMI" in ami-[0-9a-f]*) ;; *) fail "import $*: ImageId '$AMI'" ;; esac
}
# vols: the volume file of each snapshot in SNAPS
vols() { local x; for x in $SNAPS; do ls "$ST/volumes/$x".*; done; }
# same_as_source SRC: the image's volume equals SRC when its import made
# no guest change (the change journal is empty); the changes themselves
# are tested in tests/modify
same_as_source() {
	local n
	"$VMIE" image-journal --image-id "$AMI" --store "$ST" > "$T/journal" ||
		fail "image-journal $AMI"
	n=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Changes"]))' "$T/journal")
	if [ "$n" = 0 ]; then
		qemu-img compare -q "$1" "$(vols | head -1)" || fail "$AMI: volume differs with no change made"
	fi
}
# export_all AMI VOLUME...: every format, compared with the volumes
export_all() {
	local ami=$1; shift
	local srcs=("$@") f ext key i
	for f in VMDK VHD RAW OVA; do
		vt export-image --image-id "$ami" --disk-image-format $f \
			--s3-export-location S3Bucket=exports,S3Prefix=x/
		[ "$RC" = 0 ] || { cat "$T/err" >&2; fail "export $f: exit $RC"; }
		[ "$(jget 'd["Status"]')" = completed ] || fail "export $f: not completed"
		local id; id=$(jget 'd["ExportImageTaskId"]')
		ext=$(echo $f | tr A-Z a-z)
		key="$BK/exports/x/$id.$ext"
		[ -f "$key" ] || fail "export $f: no object $key"
		if [ $f = OVA ]; then
			LAST_OVA=$key
			# every disk of the OVA is the source disk
			for i in "${!srcs[@]}"; do
				"$VMIE" convert --disk $i -O raw "$key" "$T/ova-d$i.raw" >/dev/null ||
					fail "OVA export: disk $i unreadable"
				qemu-img compare -q "${srcs[$i]}" "$T/ova-d$i.raw" ||
					fail "OVA export: disk $i differs"
				rm -f "$T/ova-d$i.raw"
			done
			tar tf "$key" | head -1 | grep -q '\.ovf$' || fail "OVA export: no OVF first"
		else
			qemu-img compare -q "${srcs[0]}" "$key" ||
				fail "export $f of $ami differs from its source"
			case $f in
			VMDK) qemu-img check -q "$key" || fail "export $f: qemu-img check" ;;
			VHD) qemu-img info -f vpc "$key" >/dev/null || fail "export $f: qemu-img info" ;;
			esac
			for ((i = 1; i < ${#srcs[@]}; i++)); do
				qemu-img compare -q "${srcs[$i]}" "$BK/exports/x/$id-disk$((i + 1)).$ext" ||
					fail "export $f: disk $((i + 1)) differs"
			done
		fi
	done
}

# --- one Linux guest from every input format ---
c7=$(guest centos7)
"$VMIE" convert -O vmdk,streamOptimized "$c7" "$BK/imports/c7.vmdk" >/dev/null
"$VMIE" convert -O vhd,dynamic "$c7" "$BK/imports/c7.vhd" >/dev/null
"$VMIE" convert -O vhdx,dynamic "$c7" "$BK/imports/c7.vhdx" >/dev/null
cp --sparse=always "$c7" "$BK/imports/c7.raw"
"$VMIE" convert -O ova "$c7" "$BK/imports/c7.ova" >/dev/null
for f in VMDK VHD VHDX RAW OVA; do
	ext=$(echo $f | tr A-Z a-z)
	import --description "centos7 $f" --disk-containers \
		"Format=$f,UserBucket={S3Bucket=imports,S3Key=c7.$ext}"
	[ "$(jget 'd["Platform"]')" = Linux ] || fail "$f: Platform"
	[ "$(jget 'd["BootMode"]')" = legacy-bios ] || fail "$f: BootMode"
	[ "$(jget 'd["SnapshotDetails"][0]["DiskImageSize"]')" = 134217728.0 ] ||
		fail "$f: DiskImageSize"
	grep -q '"DiskImageSize": 134217728.0' "$T/out" || fail "$f: DiskImageSize not a float"
	same_as_source "$c7"
done
export_all "$AMI" $(vols)
# an s3:// Url and a local path
import --disk-containers "Format=VMDK,Url=s3://imports/c7.vmdk"
import --disk-containers "[{\"Format\": \"raw\", \"Url\": \"$c7\"}]"

# --- a qcow2 volume on request, exported like any other ---
import --volume-format qcow2 --disk-containers "Format=VMDK,Url=s3://imports/c7.vmdk"
qemu-img check -q "$ST/volumes/$SNAPS.qcow2" || fail "qcow2 volume: qemu-img check"
same_as_source "$c7"
export_all "$AMI" $(vols)
vt import-image --volume-format vdi --disk-containers "Format=VMDK,Url=s3://imports/c7.vmdk"
[ "$RC" = 254 ] || fail "--volume-format vdi accepted"

# --- describe ---
vt describe-import-image-tasks
[ "$(jget 'len(d["ImportImageTasks"])')" = 8 ] || fail "describe: 8 tasks"
vt describe-import-image-tasks --filters Name=task-state,Values=completed --max-results 2
[ "$(jget 'len(d["ImportImageTasks"])')" = 2 ] || fail "describe: page of 2"
tok=$(jget 'd["NextToken"]')
vt describe-import-image-tasks --max-results 5 --next-token "$tok"
[ "$(jget 'len(d["ImportImageTasks"])')" = 5 ] || fail "describe: next page"
vt describe-images --image-ids "$AMI"
[ "$(jget 'd["Images"][0]["State"]')" = available ] || fail "describe-images"
[ "$(jget 'd["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]')" = "$SNAPS" ] ||
	fail "describe-images: snapshot"
vt describe-images --image-ids ami-00000000000000000
[ "$RC" = 254 ] && grep -q InvalidAMIID.NotFound "$T/err" || fail "unknown image: $(cat "$T/err")"
vt describe-snapshots --snapshot-ids $SNAPS
[ "$(jget 'd["Snapshots"][0]["State"]')" = completed ] || fail "describe-snapshots"

# --- two disks: two containers, then the OVA vmie exports of them ---
# the boot disk and a data disk (ext4 made by mke2fs -d)
need mke2fs
d0=$c7
d1="$T/data.raw"
mkdir -p "$T/data/srv"
echo "payload" > "$T/data/srv/file.txt"
truncate -s 64M "$d1"
mke2fs -q -F -t ext4 -d "$T/data" "$d1"
cp --sparse=always "$d0" "$BK/imports/span0.raw"
cp --sparse=always "$d1" "$BK/imports/span1.raw"
import --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=span0.raw}" \
	"Format=RAW,UserBucket={S3Bucket=imports,S3Key=span1.raw}"
[ "$(jget 'len(d["SnapshotDetails"])')" = 2 ] || fail "two disks: 2 snapshots"
span_ami=$AMI
span_vols=$(vols)
export_all "$span_ami" $span_vols
cp "$LAST_OVA" "$BK/imports/span.ova"
import --disk-containers "Format=OVA,UserBucket={S3Bucket=imports,S3Key=span.ova}"
[ "$(jget 'len(d["SnapshotDetails"])')" = 2 ] || fail "OVA of two disks: 2 snapshots"
# the data disk of the OVA is the exported volume (the boot disk gets
# its guest changes made again)
set -- $span_vols
qemu-img compare -q "$2" "$(vols | tail -1)" || fail "OVA disk 2 differs"

# --- other families ---
for g in amzn2 sles15-btrfs lvm-debian11; do
	img=$(guest $g)
	"$VMIE" convert -O vmdk,streamOptimized "$img" "$BK/imports/$g.vmdk" >/dev/null
	import --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=$g.vmdk}"
	same_as_source "$img"
	export_all "$AMI" $(vols)
done
if [ -x "$FIXTURE" ] && command -v mkntfs >/dev/null; then
	w=$(guest win2019)
	"$VMIE" convert -O vhdx,dynamic "$w" "$BK/imports/w.vhdx" >/dev/null
	import --disk-containers "Format=VHDX,UserBucket={S3Bucket=imports,S3Key=w.vhdx}"
	[ "$(jget 'd["Platform"]')" = Windows ] || fail "windows: Platform"
	[ "$(jget 'd["LicenseType"]')" = AWS ] || fail "windows: LicenseType"
	same_as_source "$w"
	export_all "$AMI" $(vols)
fi

# --- ClientToken: the same request gives the same task ---
import --client-token tok-1 --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
t1=$(jget 'd["ImportTaskId"]')
import --client-token tok-1 --disk-containers "Format=VMDK,UserBucket={S3Bucket=imports,S3Key=c7.vmdk}"
[ "$(jget 'd["ImportTaskId"]')" = "$t1" ] || fail "client token: another task"
vt import-image --client-token tok-1 --disk-containers "Format=RAW,UserBucket={S3Bucket=imports,S3Key=c7.raw}"
[ "$RC" = 254 ] && grep -q IdempotentParameterMismatch "$T/err" || fail "client token mismatch"

# --- tags ---
vt create-tags --resources "$span_ami" $SNAPS --tags Key=team,Value=infra Key=env,Value=test
[ "$RC" = 0 ] || fail "create-tags: $(cat "$T/err")"
vt describe-tags --filters Name=key,Values=team
ntag=$(( 1 + $(echo $SNAPS | wc -w) ))
[ "$(jget 'len(d["Tags"])')" = $ntag ] || fail "describe-tags: $(cat "$T/out")"
# paging: pages of 5 (the least AWS takes) hold every tag once
vt describe-tags --max-results 5
[ "$RC" = 0 ] || fail "describe-tags paging: $(cat "$T/err")"
"$PY" - "$T/out" > "$T/page1" <<'PYEOF' || fail "describe-tags page 1"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["Tags"]) <= 5
for t in d["Tags"]: print(t["ResourceId"], t["Key"])
print("TOKEN", d.get("NextToken", ""))
PYEOF
seen=$(grep -vc '^TOKEN' "$T/page1")
tok=$(sed -n 's/^TOKEN //p' "$T/page1")
while [ -n "$tok" ]; do
	vt describe-tags --max-results 5 --next-token "$tok"
	[ "$RC" = 0 ] || fail "describe-tags next page: $(cat "$T/err")"
	seen=$((seen + $(jget 'len(d["Tags"])')))
	tok=$(jget 'd.get("NextToken", "")')
done
vt describe-tags
[ "$seen" = "$(jget 'len(d["Tags"])')" ] || fail "describe-tags paging: $seen tags in pages, $(jget 'len(d["Tags"])') in all"
[ "$seen" -gt 5 ] || fail "describe-tags paging: only $seen tags (the test wants more than a page)"
vt describe-tags --max-results 4
[ "$RC" = 252 ] || [ "$RC" = 254 ] || fail "describe-tags --max-results 4 accepted"
vt describe-tags --next-token bogus
[ "$RC" = 254 ] && grep -q InvalidNextToken "$T/err" || fail "describe-tags: a bogus NextToken"
vt describe-images --filters Name=tag:env,Values=test
[ "$(jget 'd["Images"][0]["ImageId"]')" = "$span_ami" ] || fail "tag filter"
vt delete-tags --resources "$span_ami" --tags Key=team
vt describe-tags --filters Name=resource-id,Values="$span_ami" Name=key,Values=team,env
[ "$(jget 'len(d["Tags"])')" = 1 ] || fail "delete-tags"

# --- deregister keeps the snapshots; delete-snapshot refuses one in use ---
set -- $SNAPS
vt delete-snapshot --snapshot-id "$1"
[ "$RC" = 254 ] && grep -q InvalidSnapshot.InUse "$T/err" || fail "snapshot in use"
vt deregister-image --image-id "$AMI"
[ "$RC" = 0 ] || fail "deregister"
vt delete-snapshot --snapshot-id "$1"
[ "$RC" = 0 ] || fail "delete-snapshot: $(cat "$T/err")"
[ ! -e "$ST/volumes/$1.raw" ] || fail "delete-snapshot left the volume"
store_clean "import-local"
echo ok
