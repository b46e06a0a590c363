#!/bin/bash
# vmie check on phony Linux guests, through the real binary: the verdicts,
# evidence, decisions and exit status of supported and unsupported guests
# and of the import-image options that change the outcome, under both
# policies where they differ.
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"

d11=$(cguest debian11)
d11gpt=$(cguest debian11-gpt)
c7=$(cguest centos7-xfs)
d12=$(iguest debian12)
i386=$(iguest rhel5-i386)
dual=$(iguest dualboot)
hyb=$(iguest ubuntu2204-hybrid)
rhel8=$(iguest rhel8-uefi)
custom=$(iguest debian10-custom)
unprep=$(cguest debian11-unprepared)

# a supported guest passes every rule: exit 0, the decisions with their rules
check "debian 11 passes" "$d11" -- exit=0 OS-001=pass OS-002=pass \
	OS-003=pass OS-004=pass FS-001=pass FS-003=pass BOOT-001=info \
	BOOT-002=n/a BOOT-003=n/a BOOT-004=pass BOOT-005=pass LIC-002=pass \
	LIC-005=pass DSK-005=pass PREP-001=pass PREP-011=n/a \
	FMT-001=pass FMT-002=pass FMT-003=pass FMT-004=pass FMT-005=pass \
	OS-007=pass 'OS-007~1 operating system root(s)' EXP-003=pass \
	PREP-018=info 'PREP-018~/etc/fstab' \
	'OS-002~kernel 5.10.0-28-amd64' 'FS-001~ext4' \
	decisions.platform=Linux decisions.boot_mode=legacy-bios \
	decisions.boot_mode_rule=BOOT-001 decisions.license_type=BYOL \
	decisions.license_rule=LIC-002 decisions.usage_operation=RunInstances \
	decisions.gpt_to_mbr=false status_message=null inputs.0.format=raw
# Debian 12 (kernel 6.1) is not in the matrix
# (the service words every Linux matrix failure by the kernel; the
# evidence says which part of the matrix failed)
check "debian 12: OS-002" "$d12" -- exit=1 OS-002=fail OS-003=pass \
	'OS-002~debian 12.5' 'OS-002~6.1.0-13-amd64' \
	'OS-002~debian 12.5 is not a listed version' PREP-001=warn \
	'status~ClientError: Unsupported kernel version 6.1.0-13-amd64'
# CentOS 7 on XFS: both policies list it
check "centos 7 on xfs" "$c7" -- exit=0 FS-001=pass 'FS-001~xfs' \
	OS-002=pass 'OS-002~centos 7.6' 'OS-002~3.10.0-957.el7.x86_64'
check "centos 7 on xfs, legacy" --policy aws-legacy "$c7" -- exit=0 \
	FS-001=pass OS-002=pass FMT-006=pass BOOT-008=pass policy=aws-legacy
# 32-bit Linux
check "32-bit: OS-003" "$i386" -- exit=1 OS-003=fail 'OS-003~i386' \
	'status~Linux images must be 64-bit' BOOT-005=pass 'BOOT-005~grub-legacy' \
	decisions.usage_operation=RunInstances:00g0 LIC-002=info \
	'LIC-002~Cloud Access' PREP-003=info 'PREP-003~10.1.2.3'
check "--architecture arm64 on x86_64: OS-003" --architecture arm64 "$d11" \
	-- exit=1 OS-003=fail 'OS-003~--architecture arm64'
check "--architecture x86_64" --architecture x86_64 "$d11" -- exit=0 \
	OS-003=pass
# two roots: dual boot; no boot loader on either
check "dual boot: OS-007" "$dual" -- exit=1 OS-007=fail \
	'OS-007~2 operating system root(s)' 'OS-007~CentOS' BOOT-005=fail \
	BOOT-001=fail 'status~Dual-boot'
# custom kernel: a warning only
check "custom kernel: OS-004 warns" --policy aws-legacy "$custom" -- \
	OS-004=warn 'OS-004~5.4.99-custom'

# licence options (LIC-001, LIC-002, LIC-005) and usage operation
check "--license-type AWS on Linux: LIC-005" --license-type AWS "$d11" -- \
	exit=1 LIC-005=fail LIC-002=fail decisions.license_type=null \
	'status~BYOL'
check "--license-type BYOL on Linux" --license-type BYOL "$d11" -- exit=0 \
	LIC-005=pass LIC-001=pass decisions.license_type=BYOL
check "--license-type Auto" --license-type Auto "$d11" -- exit=0 \
	LIC-001=pass decisions.license_type=BYOL
check "--license-type Foo: LIC-001" --license-type Foo "$d11" -- exit=1 \
	LIC-001=fail 'status~Invalid license type Foo'
check "--usage-operation of Windows on Linux: LIC-005" \
	--usage-operation RunInstances:0002 "$d11" -- exit=1 LIC-005=fail \
	'LIC-005~--usage-operation RunInstances:0002'
check "--usage-operation RunInstances" --usage-operation RunInstances \
	"$d11" -- exit=0 LIC-005=pass
check "--platform Windows on Linux: LIC-005" --platform Windows "$d11" -- \
	exit=1 LIC-005=fail 'status~platform'

# boot mode (BOOT-002..005, BOOT-007)
check "--boot-mode uefi on a BIOS-only guest: BOOT-002" --boot-mode uefi \
	"$d11" -- exit=1 BOOT-002=fail 'BOOT-002~requested uefi' \
	'status~boot mode uefi is not supported'
check "--boot-mode legacy-bios on a BIOS guest" --boot-mode legacy-bios \
	"$d11" -- exit=0 BOOT-002=pass decisions.boot_mode=legacy-bios \
	decisions.boot_mode_rule=BOOT-002
check "hybrid GRUB: BOOT-004 warns, EXP-003" "$hyb" -- exit=0 \
	BOOT-004=warn EXP-003=warn OS-002=pass FS-003=pass \
	decisions.boot_mode=legacy-bios PREP-003=info 'PREP-003~10.0.0.15'
check "hybrid, --boot-mode uefi: BOOT-003 passes" --boot-mode uefi "$hyb" \
	-- exit=0 BOOT-002=pass BOOT-003=pass BOOT-007=pass \
	decisions.boot_mode=uefi
check "--encrypted with uefi: BOOT-007" --boot-mode uefi --encrypted \
	"$hyb" -- exit=1 BOOT-007=fail 'BOOT-007~encrypted yes' \
	'status~UEFI imports cannot use encryption'
check "--license-configuration with uefi: BOOT-007" --boot-mode uefi \
	--license-configuration "$hyb" -- exit=1 BOOT-007=fail
check "--snapshot without --platform with uefi: BOOT-007" --boot-mode uefi \
	--snapshot "$hyb" -- exit=1 BOOT-007=fail
check "--snapshot --platform Linux with uefi" --boot-mode uefi --snapshot \
	--platform Linux "$hyb" -- exit=0 BOOT-007=pass
check "--encrypted with legacy BIOS" --encrypted "$d11" -- exit=0 \
	BOOT-007=n/a
check "UEFI only, no fallback loader: BOOT-003" "$rhel8" -- exit=1 \
	BOOT-003=fail decisions.boot_mode=uefi decisions.boot_mode_rule=BOOT-003 \
	'status~EFI/BOOT/BOOTX64.EFI' decisions.usage_operation=RunInstances:00g0
check "legacy: no BOOT-003 for a UEFI Linux, BOOT-008 fails" \
	--policy aws-legacy "$rhel8" -- BOOT-003=n/a BOOT-008=fail FS-003=fail

# GPT Linux boot disk (FS-003): current allows it, legacy does not
check "GPT Linux, current: FS-003 passes" "$d11gpt" -- exit=0 FS-003=pass \
	'FS-003~gpt'
check "GPT Linux, legacy: FS-003 fails" --policy aws-legacy "$d11gpt" -- \
	exit=1 FS-003=fail 'status~' 'FS-003~gpt'
check "MBR Linux, legacy: FS-003 passes" --policy aws-legacy "$d11" -- \
	FS-003=pass OS-002=fail

# preparation: warnings, never failures
check "unprepared guest: PREP warnings" "$unprep" -- exit=0 PREP-003=warn \
	'PREP-003~192.0.2.10/24' PREP-004=warn 'PREP-004~sshd not found' \
	PREP-013=warn 'PREP-013~2 by device name' 'PREP-013~1 matching no file system' \
	'PREP-013~1 non-standard' PREP-017=warn PREP-014=info \
	'PREP-014~GRUB default entry not set, timeout not set' \
	'PREP-014~default kernel 5.10.0-28-amd64'
check "prepared guest: PREP passes" "$d11" -- PREP-003=pass PREP-004=pass \
	PREP-013=pass PREP-017=pass 'PREP-017~admin' PREP-014=pass \
	'PREP-014~timeout 5 s' PREP-001=pass
# PREP-015: the drivers of the policy's target (aws-current: nvme, ena;
# aws-legacy: the Xen PV drivers); an initramfs that cannot be read warns
check "initramfs with nvme and ena: PREP-015 passes" "$d11" -- PREP-015=pass \
	'PREP-015~the target needs: nvme, ena; missing: none'
check "the same, legacy: Xen drivers missing" --policy aws-legacy "$d11" -- \
	PREP-015=info 'PREP-015~missing: xen-blkfront, xen-netfront'
check "CentOS 7 initramfs without nvme/ena: PREP-015 info" "$c7" -- \
	PREP-015=info 'PREP-015~missing: nvme, ena'
check "unreadable initramfs: PREP-015 warns" "$(iguest hostile)" -- \
	PREP-015=warn 'PREP-015~could not be read'
# P2V heuristic (OS-010): see check-p2v.sh
# a policy is data: the same guest under a copy of aws-current without XFS
sed 's/^allow linux_filesystems .*/allow linux_filesystems ext2 ext3 ext4/' \
	"$SRCDIR/policies/aws-current" > "$T/noxfs.policy"
check "policy file without XFS: FS-001" --policy "$T/noxfs.policy" "$c7" -- \
	exit=1 FS-001=fail 'FS-001~xfs' 'status~Unsupported root file system xfs'
check "the same policy, ext4 root" --policy "$T/noxfs.policy" "$d11" -- \
	exit=0 FS-001=pass
checks_done
