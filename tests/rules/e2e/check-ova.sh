#!/bin/bash
# vmie check on OVAs as whole VMs: every disk of the OVF is opened and
# inspected (not only the first), the VM definition gives PREP-011 (NICs)
# and PREP-012 (CD-ROMs), a refused member disk fails its rule, a manifest
# digest mismatch fails FMT-005 with --verify-manifest.  The OVF is written
# from a template (mkcheck.py ova), the disks by `vmie convert -O vmdk`.
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"
need tar
export VMIE
MK="$PY $E2E/mkcheck.py"

c7=$(cguest centos7-xfs)
convert "$c7" vmdk "$T/c7.vmdk"
truncate -s 64M "$T/data.raw"
mke2fs -q -F -t ext4 -L data "$T/data.raw"
convert "$T/data.raw" vmdk "$T/data.vmdk"

$MK ova "$T/web.ova" --name web01 --disk "$T/c7.vmdk" --disk "$T/data.vmdk" \
	--nics 2 --cdroms 1 || fail "could not write web.ova"
check "OVA, 2 disks, 2 NICs, a CD-ROM: PREP-011/012 warn" "$T/web.ova" -- \
	exit=0 PREP-011=warn 'PREP-011~2 network interface(s)' PREP-012=warn \
	'PREP-012~1 CD/DVD drive(s)' vm.name=web01 vm.nics=2 vm.cdroms=1 \
	vm.disks=2 vm.os_id=debian10_64Guest inputs.0.format=vmdk \
	inputs.0.subformat=streamOptimized inputs.1.format=vmdk \
	inputs.1.virtual_size=67108864 'DSK-003~2 volume(s)' \
	'FMT-001~disk1: vmdk streamOptimized' OS-002=pass FMT-006=n/a
check "the same, legacy" --policy aws-legacy "$T/web.ova" -- exit=0 \
	FMT-006=pass PREP-011=warn
$MK ova "$T/one.ova" --name one --disk "$T/c7.vmdk" --nics 1 ||
	fail "could not write one.ova"
check "OVA, one NIC, no CD-ROM" "$T/one.ova" -- exit=0 PREP-011=pass \
	PREP-012=pass vm.nics=1 vm.cdroms=0
check "a disk image has no VM definition" "$T/c7.vmdk" -- PREP-011=n/a \
	PREP-012=n/a vm=null

# every disk is checked: a broken second disk fails FMT-005, the first
# one is still inspected
$MK ova "$T/bad.ova" --name bad --disk "$T/c7.vmdk" \
	--disk "$(sample dfvfs/image.vhd):2097152" || fail "bad.ova"
check "OVA with a corrupted second disk: FMT-005" "$T/bad.ova" -- exit=1 \
	FMT-005=fail 'FMT-005~disk1' inputs.1.refused_by=FMT-005 \
	inputs.0.refused_by=null OS-001=pass OS-002=pass
$MK ova "$T/ses.ova" --name ses --disk "$T/c7.vmdk" \
	--disk "$(sample dissect.hypervisor/sesparse.vmdk.gz):536870912" ||
	fail "ses.ova"
check "OVA with an SEsparse second disk: FMT-002" "$T/ses.ova" -- exit=1 \
	FMT-002=fail inputs.1.refused_by=FMT-002 OS-001=pass
# 22 disks in one OVA: DSK-003 counts the OVF's disks
disks=(); for i in $(seq 1 21); do disks+=(--disk "$T/data.vmdk"); done
$MK ova "$T/many.ova" --name many --disk "$T/c7.vmdk" "${disks[@]}" ||
	fail "many.ova"
check "OVA with 22 disks: DSK-003" "$T/many.ova" -- exit=1 DSK-003=fail \
	'DSK-003~22 volume(s)' vm.disks=22 inputs.21.format=vmdk
check "OVA with 22 disks, legacy" --policy aws-legacy "$T/many.ova" -- \
	exit=0 DSK-003=pass

# the manifest: read only with --verify-manifest
$MK ova "$T/digest.ova" --name digest --disk "$T/c7.vmdk" --bad-digest ||
	fail "digest.ova"
check "wrong digest, not verified" "$T/digest.ova" -- exit=0 FMT-005=pass
check "wrong digest, --verify-manifest: FMT-005" --verify-manifest \
	"$T/digest.ova" -- exit=1 FMT-005=fail 'FMT-005~digest-disk1.vmdk' \
	'FMT-005~does not match' OS-001=pass
check "right digests, --verify-manifest" --verify-manifest "$T/web.ova" -- \
	exit=0 FMT-005=pass

# a broken archive is a verdict too
head -c 3000 "$T/web.ova" > "$T/cut.ova"
check "truncated OVA: FMT-005" "$T/cut.ova" -- exit=1 FMT-005=fail \
	inputs.0.format=ova

# a tar whose first member is not an OVF is not an OVA that import takes
tar --format=ustar -C "$T" -cf "$T/notovf.ova" data.vmdk
check "tar without an OVF first: FMT-001" "$T/notovf.ova" -- exit=1 \
	'status_message=ClientError: Disk validation failed [Unsupported OVA format]' \
	FMT-001=fail inputs.0.format=ova inputs.0.refused_by=FMT-001

# an OVA is a whole VM: not mixed with other disks
rc=0; "$VMIE" check "$T/web.ova" "$T/data.raw" > /dev/null 2> "$T/err" || rc=$?
assert_eq "$rc" 2 "OVA with another disk: exit status"
grep -q 'is an OVA, a whole VM' "$T/err" || fail "OVA with another disk: message"
checks_done
