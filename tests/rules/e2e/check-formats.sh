#!/bin/bash
# vmie check on the input formats (FMT-001..006): disks the image layer
# refuses by rule (real samples from other tools: SEsparse, differencing
# VHD/AVHDX, a VHD with a corrupted footer, a VirtualBox VDI; hand-written
# RDM and child VMDK descriptors) are failing verdicts with exit 1, not
# errors; VMDK kinds other than stream-optimized fail FMT-001 with a hint to
# convert (and FMT-006 under the legacy policy).
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"

c7=$(cguest centos7-xfs)

# SEsparse: the descriptor with its extent beside it, and the extent alone
ses=$(sample dissect.hypervisor/sesparse.vmdk.gz)
cp "$SAMPLES/dissect.hypervisor/sesparse-desc.vmdk" "$T/"
check "SEsparse descriptor: FMT-002" "$T/sesparse-desc.vmdk" -- exit=1 \
	FMT-002=fail 'FMT-002~seSparse' \
	'status_message=ClientError: Disk validation failed [Unsupported VMDK File Format]' \
	inputs.0.refused_by=FMT-002 inputs.0.format=vmdk FMT-001=pass
check "SEsparse extent: FMT-002" "$ses" -- exit=1 FMT-002=fail
# differencing disks, parents absent
check "differencing AVHDX: FMT-004" "$(sample dissect.hypervisor/differencing.avhdx.gz)" \
	-- exit=1 FMT-004=fail 'FMT-004~differencing' inputs.0.format=vhdx \
	'status~Differencing disks'
check "differencing VHD: FMT-004" "$(sample dfvfs/fat-differential.vhd)" \
	-- exit=1 FMT-004=fail inputs.0.format=vhd
# corrupted VHD footer (both copies), and a truncated stream-optimized VMDK
check "corrupted VHD: FMT-005" "$(sample dfvfs/image.vhd)" -- exit=1 \
	FMT-005=fail 'FMT-005~checksum' 'status~Invalid or corrupt disk image'
convert "$c7" vmdk "$T/c7.vmdk"
head -c 65536 "$T/c7.vmdk" > "$T/cut.vmdk"
check "truncated stream-optimized VMDK: FMT-005" "$T/cut.vmdk" -- exit=1 \
	FMT-005=fail
# not an import format
check "VirtualBox VDI: FMT-001" "$(sample dissect.hypervisor/basic.vdi.gz)" \
	-- exit=1 FMT-001=fail 'FMT-001~VDI' inputs.0.format=vdi \
	'status~Unsupported image format: vdi' inputs.0.refused_by=FMT-001
head -c 65536 /dev/zero > "$T/x.qed"
printf 'QED\0' | dd of="$T/x.qed" conv=notrunc status=none
check "QED: FMT-001" "$T/x.qed" -- exit=1 FMT-001=fail 'FMT-001~QED'
convert "$c7" qcow2 "$T/c7.qcow2"
check "qcow2: FMT-001 (readable, not importable)" "$T/c7.qcow2" -- exit=1 \
	FMT-001=fail 'FMT-001~qcow2' OS-001=pass OS-002=pass
# RDM and child VMDK descriptors
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfsRawDeviceMap"\nRW 2097152 VMFSRDM "rdm-rdm.vmdk"\n' > "$T/rdm.vmdk"
check "RDM VMDK: FMT-003" "$T/rdm.vmdk" -- exit=1 FMT-003=fail \
	'FMT-003~vmfsRawDeviceMap' 'status~Raw Device Mapping'
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfsPassthroughRawDeviceMap"\nRW 2097152 VMFSRDM "rdm-rdmp.vmdk"\n' > "$T/rdmp.vmdk"
check "passthrough RDM VMDK: FMT-003" "$T/rdmp.vmdk" -- exit=1 FMT-003=fail
printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=fffffffe\ncreateType="monolithicSparse"\nparentFileNameHint="parent.vmdk"\nRW 2097152 SPARSE "child-s.vmdk"\n' > "$T/child.vmdk"
check "child VMDK: FMT-004" "$T/child.vmdk" -- exit=1 FMT-004=fail \
	'FMT-004~parent'
# a refused second disk: the first is still inspected
check "good boot disk + differencing disk" "$c7" \
	"$(sample dissect.hypervisor/differencing.avhdx.gz)" -- exit=1 \
	FMT-004=fail 'FMT-004~disk1' OS-001=pass OS-002=pass DSK-003=pass \
	'DSK-003~2 volume(s)' inputs.0.refused_by=null inputs.1.refused_by=FMT-004

# VMDK kinds: stream-optimized passes, monolithicSparse fails with a hint
check "stream-optimized VMDK" "$T/c7.vmdk" -- exit=0 FMT-001=pass \
	FMT-006=n/a inputs.0.subformat=streamOptimized
check "stream-optimized VMDK, legacy" --policy aws-legacy "$T/c7.vmdk" -- \
	exit=0 FMT-001=pass FMT-006=pass
convert "$c7" vmdk,monolithicSparse "$T/c7-sparse.vmdk"
check "monolithicSparse VMDK: FMT-001" "$T/c7-sparse.vmdk" -- exit=1 \
	FMT-001=fail 'FMT-001~monolithicSparse' 'FMT-001~vmie convert -O vmdk,streamOptimized' \
	FMT-006=n/a OS-002=pass \
	'status_message=ClientError: Disk validation failed [Unsupported VMDK File Format]'
check "monolithicSparse VMDK, legacy: FMT-006 too" --policy aws-legacy \
	"$T/c7-sparse.vmdk" -- exit=1 FMT-001=fail FMT-006=fail \
	'FMT-006~monolithicSparse'
# the other import formats
for f in vhd vhd,fixed vhdx vhdx,fixed; do
	convert "$c7" "$f" "$T/c7.img"
	check "$f passes FMT-001" "$T/c7.img" -- exit=0 FMT-001=pass \
		"inputs.0.format=${f%,*}"
	rm -f "$T/c7.img"
done
check "raw VHD sample from Windows" "$(sample dissect.hypervisor/fixed.vhd.gz)" \
	-- FMT-001=pass FMT-005=pass inputs.0.format=vhd inputs.0.subformat=fixed
checks_done
