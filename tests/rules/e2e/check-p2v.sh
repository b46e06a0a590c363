#!/bin/bash
# OS-010, the P2V heuristic, end to end: what the vendor of a physical
# machine leaves on its disks.  Warns on a Dell utility partition (MBR type
# 0xde, FAT labelled DellUtility) at the start of the boot disk, on an HP
# machine's GPT disk with a basic-data partition labelled HP_TOOLS, on a
# data disk with a Lenovo boot partition (GPT type) or an Acer PQSERVICE
# recovery partition; passes on a plain VM disk and on the recovery
# partition Windows setup makes in VMs too (MBR type 0x27, label
# "Recovery").  The lists are policy data: a policy of one's own changes
# the verdict.
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"

c7=$(cguest centos7-xfs)
dell=$(cguest debian11-dell)
hp=$(cguest debian11-gpt-hp)

# oemdisk OUT LABEL|- SFDISK-TYPE [gpt]: a 32 MiB data disk with one 8 MiB
# FAT partition at 1 MiB
oemdisk() {
	truncate -s 32M "$1"
	printf 'label: %s\nstart=2048, size=16384, type=%s\n' "${4:-dos}" "$3" |
		sfdisk -q "$1"
	rm -f "$T/part.fs"
	mkfs.fat -C ${2:+-n "$2"} "$T/part.fs" 8192 > /dev/null
	dd if="$T/part.fs" of="$1" bs=1M seek=1 conv=notrunc status=none
}

check "plain VM disk: OS-010 passes" "$c7" -- exit=0 OS-010=pass \
	'OS-010~no vendor utility'
check "Dell utility partition on the boot disk: OS-010 warns" "$dell" -- \
	exit=0 OS-010=warn 'OS-010~disk0p1: Dell utility partition' \
	OS-002=pass decisions.boot_mode=legacy-bios
check "the same, legacy" --policy aws-legacy "$dell" -- OS-010=warn
check "HP_TOOLS on a GPT boot disk: OS-010 warns" "$hp" -- exit=0 \
	OS-010=warn 'OS-010~HP tools partition (label HP_TOOLS)'
oemdisk "$T/lenovo.raw" "" BFBFAFE7-A34F-448A-9A5B-6213EB736C22 gpt
check "Lenovo boot partition on a second disk: OS-010 warns" "$c7" \
	"$T/lenovo.raw" -- exit=0 OS-010=warn 'OS-010~disk1p1: Lenovo boot partition'
oemdisk "$T/acer.raw" PQSERVICE 27
check "Acer PQSERVICE recovery (type 0x27): OS-010 warns" "$c7" \
	"$T/acer.raw" -- exit=0 OS-010=warn 'OS-010~Acer'
oemdisk "$T/winre.raw" RECOVERY 27
check "Windows RE partition (type 0x27, label Recovery): OS-010 passes" \
	"$c7" "$T/winre.raw" -- exit=0 OS-010=pass
# a policy of one's own: Windows RE partitions count, Dell's do not
sed -e 's/^allow p2v_mbr_types .*/allow p2v_mbr_types 27/' \
	"$SRCDIR/policies/aws-current" > "$T/p2v.policy"
check "own policy: 0x27 is a sign" --policy "$T/p2v.policy" "$c7" \
	"$T/winre.raw" -- OS-010=warn 'OS-010~listed as a P2V sign by the policy'
check "own policy: 0xde is not" --policy "$T/p2v.policy" "$dell" -- \
	OS-010=warn 'OS-010~label DellUtility'
# Windows records the SMBIOS names of the machine it last ran on
if [ -n "$FIXTURE" ] && [ -x "$FIXTURE" ] && command -v hivexregedit >/dev/null; then
	wdell=$(cguest win2019-dell)
	wvm=$(cguest win2019-vmware)
	check "Windows last ran on a Dell PowerEdge: OS-010 warns" "$wdell" -- \
		exit=0 OS-010=warn 'OS-010~"Dell Inc." "PowerEdge R740"'
	check "Windows last ran on VMware: OS-010 passes" "$wvm" -- \
		exit=0 OS-010=pass 'OS-010~last ran on a virtual machine'
else
	echo "note: no ntfs_fixture/hivexregedit: SMBIOS cases not run"
fi
checks_done
