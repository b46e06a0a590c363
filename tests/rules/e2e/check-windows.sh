#!/bin/bash
# vmie check on phony Windows guests (NTFS made by mkntfs + ntfs_fixture,
# registry hives by hivexregedit): the BOOT-006 boot-mode decision and
# GPT-to-MBR conversion by image format, Windows 11 and UEFI (OS-009),
# language (OS-005), Nano Server (OS-006), licences (LIC-003/004), and the
# differences of the legacy policy (FS-004, BOOT-008).
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"
need_windows

both=$(cguest win2019-both)
w11both=$(cguest win11-both)
w2019=$(iguest win2019)
w11=$(iguest win11)
w7de=$(iguest win7-de)
nano=$(iguest nano2016)
w2008=$(iguest win2008r2)
w2016=$(iguest win2016)
w2012=$(iguest win2012r2)
convert "$both" vhdx "$T/both.vhdx"
convert "$both" vhd "$T/both.vhd"
convert "$w11both" vhdx "$T/w11both.vhdx"
convert "$w2019" vhdx "$T/w2019.vhdx"

# a Windows Server that boots in both modes: VHDX -> legacy BIOS
check "both modes, VHDX: legacy BIOS (BOOT-006)" "$T/both.vhdx" -- exit=0 \
	BOOT-001=info 'BOOT-001~legacy BIOS: yes, UEFI: yes' BOOT-006=info \
	'BOOT-006~VHDX: legacy BIOS' decisions.boot_mode=legacy-bios \
	decisions.boot_mode_rule=BOOT-006 decisions.gpt_to_mbr=false \
	decisions.platform=Windows decisions.license_type=AWS \
	decisions.license_rule=LIC-004 \
	decisions.usage_operation=RunInstances:0002 OS-002=pass \
	'OS-002~server-2019' FS-004=pass OS-009=n/a inputs.0.format=vhdx \
	OS-008=pass 'OS-008~64-bit' \
	inputs.0.subformat=dynamic
# the same disk as VHD: not VHDX -> UEFI
check "both modes, VHD: UEFI (BOOT-006)" "$T/both.vhd" -- exit=0 \
	BOOT-006=info 'BOOT-006~not VHDX' decisions.boot_mode=uefi \
	decisions.boot_mode_rule=BOOT-006 inputs.0.format=vhd
# a refused disk given first: the decisions are still the boot disk's
check "refused disk first, then the VHDX" \
	"$(sample dissect.hypervisor/differencing.avhdx.gz)" "$T/both.vhdx" -- \
	exit=1 FMT-004=fail decisions.boot_mode=legacy-bios \
	inputs.0.format=vhdx inputs.0.inspected=true inputs.1.refused_by=FMT-004 \
	inputs.1.inspected=false 'FMT-004~disk1'
check "both modes, VHDX, --boot-mode uefi overrides" --boot-mode uefi \
	"$T/both.vhdx" -- exit=0 BOOT-002=pass decisions.boot_mode=uefi \
	'BOOT-006~requested'
check "both modes, --boot-mode uefi --encrypted: BOOT-007" --boot-mode uefi \
	--encrypted "$T/both.vhdx" -- exit=1 BOOT-007=fail
check "both modes, VHDX, --license-type BYOL" --license-type BYOL \
	"$T/both.vhdx" -- exit=0 LIC-004=pass decisions.license_type=BYOL \
	decisions.usage_operation=RunInstances:0800
# UEFI only (GPT): UEFI whatever the format; BIOS cannot be asked for
check "UEFI-only GPT guest" "$T/w2019.vhdx" -- exit=0 \
	decisions.boot_mode=uefi 'BOOT-006~UEFI only' FS-004=pass \
	PREP-002=warn 'PREP-002~automatically managed'
check "UEFI-only guest, --boot-mode legacy-bios: BOOT-002" \
	--boot-mode legacy-bios "$w2019" -- exit=1 BOOT-002=fail BOOT-006=fail
# Windows 11 needs UEFI: a UEFI-only guest gets it...
check "Windows 11, UEFI only: OS-009 passes" "$w11" -- exit=0 OS-009=pass \
	LIC-003=pass LIC-004=n/a \
	OS-002=pass 'OS-002~product 11' decisions.boot_mode=uefi \
	decisions.license_type=BYOL decisions.license_rule=LIC-003 \
	decisions.usage_operation=RunInstances:0800
# ... but one compatible with both modes, in VHDX, gets legacy BIOS
check "Windows 11, both modes, no --boot-mode: OS-009" "$T/w11both.vhdx" -- \
	exit=1 OS-009=fail decisions.boot_mode=legacy-bios \
	'status~Windows 11 requires the UEFI boot mode' \
	'OS-009~--boot-mode uefi'
check "Windows 11, both modes, --boot-mode uefi" --boot-mode uefi \
	"$T/w11both.vhdx" -- exit=0 OS-009=pass decisions.boot_mode=uefi
check "Windows 11, --license-type AWS: LIC-003" --license-type AWS "$w11" \
	-- exit=1 LIC-003=fail LIC-005=fail 'status~only BYOL'
# language, Nano Server, 32-bit regions
check "German Windows 7: OS-005" "$w7de" -- exit=1 OS-005=fail \
	'OS-005~de-DE' 'status~only US English' OS-008=info \
	'OS-008~32-bit' PREP-004=warn
check "32-bit Windows 7 in an opt-in region: OS-008" --non-default-region \
	"$w7de" -- exit=1 OS-008=fail
check "Nano Server: OS-006" "$nano" -- exit=1 OS-006=fail \
	'OS-006~Nano Server' 'status~Nano Server'
check "Windows Server 2019 is not Nano" "$w2019" -- OS-006=pass OS-005=pass \
	PREP-005=pass PREP-007=pass PREP-010=pass PREP-009=info \
	'PREP-009~RealTimeIsUniversal not set' PREP-018=info 'PREP-018~registry' \
	LIC-004=pass LIC-003=n/a
check "2008 R2: preparation warnings" "$w2008" -- exit=0 PREP-005=warn \
	PREP-007=warn PREP-010=info PREP-009=pass PREP-002=warn \
	decisions.boot_mode=legacy-bios
check "2016 with autologon: PREP-006" "$w2016" -- exit=0 PREP-006=warn \
	'PREP-006~AutoAdminLogon enabled' PREP-016=n/a
check "2012 R2: SR-IOV drivers (PREP-016)" "$w2012" -- exit=0 PREP-016=info \
	PREP-006=pass 'OS-002~server-2012-r2'
# a dynamic (LDM) data disk is reported; the boot disk's decision stands
truncate -s 64M "$T/ldm.raw"
printf 'label: dos\nstart=2048, size=16384, type=42\n' | sfdisk -q "$T/ldm.raw"
check "dynamic data disk: FS-005 warns" "$T/both.vhdx" "$T/ldm.raw" -- \
	exit=0 FS-005=warn 'FS-005~disk1' decisions.boot_mode=legacy-bios
check "no dynamic disk" "$T/both.vhdx" -- FS-005=pass
# legacy policy: GPT Windows only in VHDX (FS-004, BOOT-008), .NET table
check "legacy: GPT Windows in raw: FS-004, BOOT-008" --policy aws-legacy \
	"$w2019" -- exit=1 FS-004=fail BOOT-008=fail \
	'status~GPT Windows boot volumes are supported only in VHDX'
check "legacy: GPT Windows in VHDX" --policy aws-legacy "$T/w2019.vhdx" -- \
	exit=0 FS-004=pass BOOT-008=pass BOOT-006=n/a PREP-008=pass
check "legacy: no automatic boot-mode choice" --policy aws-legacy \
	"$T/both.vhd" -- decisions.boot_mode=legacy-bios \
	decisions.boot_mode_rule=BOOT-008
check "legacy: Windows 11 is not in the matrix" --policy aws-legacy "$w11" \
	-- exit=1 OS-002=fail OS-009=n/a

# a volume image: NTFS over the whole disk, no partition table (FS-004)
whole=$(cguest win2019-wholedisk)
check "NTFS without a partition table: FS-004" "$whole" -- exit=1 \
	FS-004=fail 'FS-004~is ntfs on none' OS-001=pass OS-002=pass \
	DSK-005=pass 'status~ClientError: '
check "the same, legacy: FS-004" --policy aws-legacy "$whole" -- exit=1 \
	FS-004=fail
# PREP-002: the phony C: has MiBs, not 6 GiB, free: a policy of one's own
# (the limit is data) shows the passing side with a fixed page file
sed 's/^limit windows_min_free .*/limit windows_min_free 8MiB/' \
	"$SRCDIR/policies/aws-current" > "$T/smallc.policy"
check "fixed page file, enough free space: PREP-002 passes" \
	--policy "$T/smallc.policy" "$T/both.vhdx" -- PREP-002=pass \
	'PREP-002~C:\pagefile.sys 2048 2048'
check "the same under aws-current: 6 GiB wanted" "$T/both.vhdx" -- \
	PREP-002=warn 'PREP-002~needs 6 GiB'
# PREP-008 (aws-legacy's .NET table): Server 2003 R2 with .NET 2.0 only
w2003=$(iguest win2003r2-x86)
check "legacy: .NET 2.0 on Server 2003 R2: PREP-008 warns" \
	--policy aws-legacy "$w2003" -- PREP-008=warn 'PREP-008~needs 3.5'
check "current: no .NET table" "$w2003" -- PREP-008=n/a
check "legacy: .NET 4.8 on 2008 R2" --policy aws-legacy "$w2008" -- \
	PREP-008=pass
# PREP-007: a system volume hibernated by Fast Startup (hiberfil.sys holds
# a hibernation image) was not shut down: warn, the disk is stale
hib=$(cguest win2019-hibernated)
check "hibernated system volume: PREP-007 warns" "$hib" -- exit=0 \
	PREP-007=warn 'PREP-007~hibernation image' 'PREP-007~pending reboot: no'
check "the same guest without hiberfil.sys passes PREP-007" "$both" -- \
	PREP-007=pass
"$VMIE" inspect --json "$hib" > "$T/hib.json" || fail "inspect hibernated"
"$PY" - "$T/hib.json" <<'PY' || fail "inspect: hibernated not reported"
import json, sys
d = json.load(open(sys.argv[1]))
h = [f['device'] for f in d['filesystems'] if f.get('hibernated')]
sys.exit(0 if len(h) == 1 else 1)
PY

checks_done
