/*
 * The MBR partition type a GPT partition becomes when the GPT boot volume
 * of a Windows guest is converted to MBR (BOOT-006): one table, used both
 * by the rules (does the disk fit in an MBR?) and by the converter.
 *
 * Types from the UEFI specification 2.10 (table 5.7, the EFI system
 * partition), Microsoft's "PARTITION_INFORMATION_GPT" and
 * "PARTITION_INFORMATION_MBR" documentation (basic data, reserved, LDM,
 * recovery; MBR 0x07 IFS, 0x0B/0x0C FAT32, 0x0E FAT16 LBA, 0x27 recovery)
 * and the Linux GUIDs of the Discoverable Partitions Specification.  See
 * docs/windows-boot.md, "Boot mode and GPT-to-MBR (BOOT-006)".
 */
#include "part.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *guid;
	int map;                /* enum vmie_gpt_mbr_map */
	uint8_t mbr;            /* 0: from the file system (basic data) */
	const char *what;
} gpt_mbr_types[] = {
	{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", VMIE_GPT_MBR_KEEP, 0xef,
	  "EFI system partition" },
	{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", VMIE_GPT_MBR_KEEP, 0,
	  "Microsoft basic data" },
	{ "de94bba4-06d1-4d40-a16a-bfd50179d6ac", VMIE_GPT_MBR_KEEP, 0x27,
	  "Windows recovery" },
	{ "e3c9e316-0b5c-4db8-817d-f92df00215ae", VMIE_GPT_MBR_DROP, 0,
	  "Microsoft reserved (MSR)" },
	{ "0fc63daf-8483-4772-8e79-3d69d8477de4", VMIE_GPT_MBR_KEEP, 0x83,
	  "Linux file system" },
	{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", VMIE_GPT_MBR_KEEP, 0x82,
	  "Linux swap" },
	{ "e6d6d379-f507-44c2-a23c-238f2a3df928", VMIE_GPT_MBR_KEEP, 0x8e,
	  "Linux LVM" },
	{ "a19d880f-05fc-4d3b-a006-743f0f84911e", VMIE_GPT_MBR_KEEP, 0xfd,
	  "Linux RAID" },
	/* no MBR type can carry these on a basic disk */
	{ "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", VMIE_GPT_MBR_NONE, 0,
	  "LDM metadata (dynamic disk)" },
	{ "af9b60a0-1431-4f62-bc68-3311714a69ad", VMIE_GPT_MBR_NONE, 0,
	  "LDM data (dynamic disk)" },
	{ "e75caf8f-f680-4cee-afa3-b001e56efc2d", VMIE_GPT_MBR_NONE, 0,
	  "Storage Spaces" },
	{ "21686148-6449-6e6f-744e-656564454649", VMIE_GPT_MBR_NONE, 0,
	  "BIOS boot" },
};

/* Microsoft basic data: the type byte Windows gives its contents on an
 * MBR disk. */
static uint8_t gpt_mbr_basic_data(const char *fs_type, const char *fs_version)
{
	if (fs_type && !strcmp(fs_type, "vfat")) {
		if (fs_version && !strcasecmp(fs_version, "FAT12"))
			return 0x01;
		if (fs_version && !strcasecmp(fs_version, "FAT16"))
			return 0x0e;        /* FAT16, LBA */
		return 0x0c;                /* FAT32, LBA */
	}
	/* NTFS, exFAT, ReFS, BitLocker, unformatted: "IFS" */
	return 0x07;
}

int vmie_gpt_mbr_type(const char *type_guid, const char *fs_type,
		      const char *fs_version, uint8_t *mbr_type,
		      const char **what)
{
	if (mbr_type)
		*mbr_type = 0;
	if (what)
		*what = "unknown type";
	if (!type_guid)
		return VMIE_GPT_MBR_NONE;
	for (size_t i = 0; i < sizeof gpt_mbr_types / sizeof *gpt_mbr_types;
	     i++) {
		if (strcasecmp(gpt_mbr_types[i].guid, type_guid))
			continue;
		if (what)
			*what = gpt_mbr_types[i].what;
		if (mbr_type && gpt_mbr_types[i].map == VMIE_GPT_MBR_KEEP)
			*mbr_type = gpt_mbr_types[i].mbr ? gpt_mbr_types[i].mbr :
				    gpt_mbr_basic_data(fs_type, fs_version);
		return gpt_mbr_types[i].map;
	}
	return VMIE_GPT_MBR_NONE;
}
