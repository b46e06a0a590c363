#!/bin/bash
# BOOT-006 on every case of the seed's two sentences, with phony Windows
# UEFI guests on GPT (tests/inspect/mkguest.py: win10-gpt*, win11-gpt).
# A Windows 10 that carries the BIOS boot files on its volume
# (\Windows\Boot\PCAT\bootmgr, \Windows\System32\winload.exe) is
# compatible with both modes; on GPT, legacy BIOS means converting the
# boot volume to MBR, which needs VHDX, at most 2 TiB, at most 3
# partitions in the MBR (the MSR is dropped and not counted, the ESP is
# kept) and a basic disk (docs/windows-boot.md).
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"
need_windows
need qemu-img

w10=$(iguest win10-gpt)
w10x4=$(iguest win10-gpt-4prim)
w10dyn=$(iguest win10-gpt-dyn)
w11=$(iguest win11-gpt)
w10np=$(iguest win10-gpt-nopcat)
convert "$w10" vhdx "$T/w10.vhdx"
convert "$w10" vmdk "$T/w10.vmdk"
convert "$w10x4" vhdx "$T/w10x4.vhdx"
convert "$w10dyn" vhdx "$T/w10dyn.vhdx"
convert "$w11" vhdx "$T/w11.vhdx"
convert "$w10np" vhdx "$T/w10np.vhdx"
# the VHDX another tool writes (dynamic: the seed's "format VHDX")
qemu-img convert -f raw -O vhdx -o subformat=dynamic "$w10" "$T/w10q.vhdx"

check "win10-gpt, VHDX: legacy BIOS, GPT converted to MBR" "$T/w10.vhdx" -- \
	exit=0 BOOT-006=info BOOT-001=info decisions.boot_mode=legacy-bios \
	decisions.gpt_to_mbr=true decisions.boot_mode_rule=BOOT-006 \
	'BOOT-006~converted to MBR' \
	'BOOT-006~3 partitions in the MBR (at most 3; the MSR not counted)' \
	'BOOT-006~p2 MSR dropped' 'BOOT-006~p1 EFI system partition 0xef' \
	'BOOT-006~p4 Windows recovery 0x27' \
	'BOOT-001~after GPT-to-MBR conversion'
check "win10-gpt, VHDX by qemu-img: the same" "$T/w10q.vhdx" -- exit=0 \
	decisions.boot_mode=legacy-bios decisions.gpt_to_mbr=true
check "win10-gpt, raw: UEFI, not VHDX" "$w10" -- exit=0 BOOT-006=info \
	decisions.boot_mode=uefi decisions.gpt_to_mbr=false \
	'BOOT-006~stays GPT: not VHDX'
check "win10-gpt, stream VMDK: UEFI, not VHDX" "$T/w10.vmdk" -- exit=0 \
	decisions.boot_mode=uefi decisions.gpt_to_mbr=false \
	'BOOT-006~not VHDX'
check "win10-gpt-4prim, VHDX: UEFI, 4 partitions" "$T/w10x4.vhdx" -- \
	exit=0 decisions.boot_mode=uefi decisions.gpt_to_mbr=false \
	'BOOT-006~4 partitions would be in the MBR (the MSR not counted), more than 3'
check "win10-gpt-dyn, VHDX: UEFI, dynamic disk" "$T/w10dyn.vhdx" -- \
	exit=0 decisions.boot_mode=uefi decisions.gpt_to_mbr=false \
	'BOOT-006~dynamic disk' 'FS-005~dynamic'
check "win11-gpt, VHDX: UEFI only" "$T/w11.vhdx" -- exit=0 OS-009=pass \
	decisions.boot_mode=uefi decisions.gpt_to_mbr=false \
	'BOOT-006~boots with UEFI only' 'BOOT-001~legacy BIOS: no'
check "win10-gpt without the BIOS files, VHDX: UEFI only" "$T/w10np.vhdx" \
	-- exit=0 decisions.boot_mode=uefi decisions.gpt_to_mbr=false \
	'BOOT-006~the guest boots with UEFI only' 'BOOT-001~legacy BIOS: no'

# --boot-mode
check "win10-gpt, VHDX, --boot-mode uefi: no conversion" --boot-mode uefi \
	"$T/w10.vhdx" -- exit=0 BOOT-002=pass decisions.boot_mode=uefi \
	decisions.gpt_to_mbr=false 'BOOT-006~requested with --boot-mode'
check "win10-gpt, VHDX, --boot-mode legacy-bios: converted" \
	--boot-mode legacy-bios "$T/w10.vhdx" -- exit=0 BOOT-002=pass \
	decisions.boot_mode=legacy-bios decisions.gpt_to_mbr=true
check "win10-gpt-4prim, VHDX, --boot-mode legacy-bios: the limit" \
	--boot-mode legacy-bios "$T/w10x4.vhdx" -- exit=1 BOOT-002=pass \
	BOOT-006=fail decisions.gpt_to_mbr=false \
	'status~converted to MBR, which is not possible: 4 partitions would be in the MBR' \
	'BOOT-006~--boot-mode uefi'
if grep -q 'Unable to determine' "$T/r.json"; then
	echo "FAIL the conversion limit is reported as 'Unable to determine the boot mode'"
	bad=$((bad + 1))
fi
check "win10-gpt, raw, --boot-mode legacy-bios: not VHDX" \
	--boot-mode legacy-bios "$w10" -- exit=1 BOOT-006=fail \
	'status~which is not possible: not VHDX'
check "win10-gpt-dyn, VHDX, --boot-mode legacy-bios: dynamic" \
	--boot-mode legacy-bios "$T/w10dyn.vhdx" -- exit=1 BOOT-006=fail \
	'status~which is not possible: dynamic disk'
check "win11-gpt, VHDX, --boot-mode legacy-bios: BOOT-002" \
	--boot-mode legacy-bios "$T/w11.vhdx" -- exit=1 BOOT-002=fail \
	BOOT-006=fail 'BOOT-006~UEFI only'

# the older policy converts nothing
check "legacy policy: win10-gpt, VHDX: no conversion" --policy aws-legacy \
	"$T/w10.vhdx" -- decisions.gpt_to_mbr=false BOOT-006=n/a
checks_done
