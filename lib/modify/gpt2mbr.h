/*
 * GPT -> MBR on a Windows boot disk (BOOT-006), inside lib/modify: the
 * plan (pure: what the new table holds, from the inspection and the
 * disk's GPT headers, refused with a reason before anything is written)
 * and the sectors it writes.  windows.c carries it out with the BIOS boot
 * files (bootmgr, \Boot\BCD) and the registry; docs/windows-boot.md says
 * why each choice was made.
 */
#ifndef VMIE_MODIFY_GPT2MBR_H
#define VMIE_MODIFY_GPT2MBR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmie_image;
struct vmie_inspection;
struct vmie_err;

#define VMIE_G2M_SECTOR 512u
/* the primary GPT (header and entries) a converter keeps and clears:
 * at most this many sectors after the MBR */
#define VMIE_G2M_MAX_GPT_SECTORS 256u

struct vmie_g2m_entry {
	unsigned gpt_number;        /* its GPT entry (1-based) */
	char device[160];           /* "disk0p3" */
	char kind[24];              /* lib/part's kind: "esp", "ms-basic-data" */
	char fs[16];                /* file system found on it, or "" */
	char part_guid[37];         /* GPT unique partition GUID */
	uint8_t type;               /* MBR type byte */
	bool active;
	uint64_t lba, count;        /* 512-byte sectors */
	/* NTFS boot sector (fs "ntfs"): the hidden-sectors field as found;
	 * fix_hidden when it is not lba; backup_lba the sector of the
	 * backup boot sector (0: none found) */
	bool ntfs;
	uint32_t hidden;
	bool fix_hidden;
	uint64_t backup_lba;
};

struct vmie_g2m_plan {
	int disk;                   /* index of the disk in the inspection */
	char disk_name[16];         /* "disk0" */
	unsigned n;                 /* MBR entries, in disk order */
	struct vmie_g2m_entry e[4];
	unsigned n_dropped;         /* partitions that do not survive: MSR */
	char dropped[4][200];       /* "disk0p2 (Microsoft reserved, 16 MiB)" */
	uint32_t signature;         /* the new MBR disk signature */
	uint64_t disk_sectors;
	uint64_t prim_count;        /* sectors 0 .. prim_count-1: protective
				       MBR, primary GPT header and entries */
	uint64_t back_lba, back_count;  /* backup GPT entries and header
				       (back_count 0: no valid backup) */
};

/* The plan for disk `disk` of in (a GPT disk), whose partition holding
 * device `active` (the Windows volume) becomes the active one; dev is
 * the whole disk (its GPT headers and NTFS boot sectors are read).
 * 0, or VMIE_EUNSUPP with err saying why it cannot be converted
 * (nothing is written either way). */
int vmie_g2m_plan(const struct vmie_inspection *in, int disk,
		  const char *active, struct vmie_image *dev,
		  struct vmie_g2m_plan *p, struct vmie_err *err);

/* The MBR sector of the plan, with code (the first 440 bytes: generic
 * boot code that chains to the active partition's boot sector). */
void vmie_g2m_mbr(const struct vmie_g2m_plan *p, const uint8_t code[440],
		  uint8_t out[VMIE_G2M_SECTOR]);

/* The 440 bytes of MBR boot code from the first readable of the packaged
 * files (Debian's syslinux-common mbr.bin; VMIE_MBR_BOOT_CODE names
 * another); VMIE_ENOENT naming the package when there is none. */
int vmie_g2m_boot_code(uint8_t code[440], char *from, size_t fsize,
		       struct vmie_err *err);

/* The old table and the new one as text, one partition a line (for the
 * dry run's diff and the journal): "disk0p3 start=... size=... type=..." */
int vmie_g2m_old_text(const struct vmie_inspection *in,
		      const struct vmie_g2m_plan *p, char *buf, size_t size);
int vmie_g2m_new_text(const struct vmie_g2m_plan *p, char *buf,
		      size_t size);

/* The MountedDevices data of a GPT partition ("DMIO:ID:" and its GUID,
 * 24 bytes) and of the same partition on the MBR disk (signature and
 * byte offset, 12 bytes).  false when the GUID text is malformed. */
bool vmie_g2m_mounted_gpt(const char *part_guid, uint8_t out[24]);
void vmie_g2m_mounted_mbr(uint32_t signature, uint64_t lba,
			  uint8_t out[12]);

#endif
