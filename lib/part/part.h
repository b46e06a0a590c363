/*
 * Partition tables and volume managers: the layer between disk images and
 * file systems.
 *
 * Everything here hands out block devices as struct vmie_image (see
 * lib/image/image.h): a partition is a window image onto its disk, an LVM
 * logical volume is an image that maps its extents onto one or more
 * physical volumes (possibly on several disks of one VM).  File systems read
 * any struct vmie_image, so they never know which one they sit on.
 *
 * Supported: MBR (with extended/logical chains, loop- and bounds-protected),
 * GPT (primary and backup headers, CRC-32), protective and hybrid MBRs,
 * whole-disk file systems with no table, LVM2 (text metadata, linear and
 * striped LVs), Windows dynamic disks (LDM) detected and reported.
 */
#ifndef VMIE_PART_PART_H
#define VMIE_PART_PART_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"

enum vmie_pt_type {
	VMIE_PT_NONE = 0,   /* no table: whole-disk file system or empty */
	VMIE_PT_MBR,
	VMIE_PT_GPT,
};

struct vmie_partition {
	unsigned number;        /* 1-based: MBR 1-4 primary, 5+ logical;
				   GPT entry index + 1 */
	uint64_t start;         /* bytes from the start of the disk */
	uint64_t size;          /* bytes */
	uint8_t mbr_type;       /* MBR type byte (0 for GPT entries) */
	bool bootable;          /* MBR active flag / GPT legacy-BIOS-bootable */
	bool logical;           /* inside an MBR extended partition */
	bool extended;          /* the MBR extended container itself */
	char type_guid[37];     /* GPT partition type GUID, lower case */
	char part_guid[37];     /* PARTUUID: GPT unique partition GUID;
				   MBR "<disk id>-<number>" ("384c9ec7-05") */
	char name[72];          /* GPT partition name, UTF-8 */
	/* What the type says: "linux", "linux-swap", "linux-lvm", "linux-raid",
	 * "esp", "bios-boot", "ms-basic-data", "ms-reserved", "ms-recovery",
	 * "ldm-metadata", "ldm-data", "ntfs", "fat12", "fat16", "fat32",
	 * "extended", "gpt-protective", "unknown"; also "ldm" (MBR 0x42) */
	char kind[24];
};

#define VMIE_PT_MAX_WARN 8
struct vmie_ptable {
	enum vmie_pt_type type;
	uint64_t disk_size;
	bool protective_mbr;    /* GPT with a 0xEE protective MBR */
	bool hybrid_mbr;        /* GPT whose MBR also lists real partitions */
	bool mbr_signature;     /* 0x55AA at 510 */
	bool mbr_boot_code;     /* non-zero boot code in the first 440 bytes */
	/* Which boot code, by its signature bytes: "grub2", "grub-legacy",
	 * "windows", "syslinux", "lilo", "unknown", "" (none) */
	char boot_code[16];
	uint32_t mbr_disk_id;   /* MBR disk signature at 440 */
	char gpt_disk_guid[37];
	bool gpt_primary_ok, gpt_backup_ok;
	unsigned n_primary;     /* MBR: non-empty primary entries */
	bool ldm;               /* Windows dynamic disk (MBR 0x42 / GPT LDM) */
	unsigned n_parts;
	struct vmie_partition *parts;
	unsigned n_warnings;    /* non-fatal oddities, e.g. backup GPT bad */
	char warnings[VMIE_PT_MAX_WARN][160];
	uint32_t sector_size;   /* logical sector size of the table: 512, or
				   4096 for a GPT found at byte 4096 */
};

/* Read the partition table of a disk.  A disk with no recognisable table
 * gives type VMIE_PT_NONE and 0 partitions (not an error).  Corrupt tables
 * are errors only when nothing usable remains; otherwise warnings. */
int vmie_ptable_read(struct vmie_image *disk, struct vmie_ptable *pt,
		     struct vmie_err *err);
void vmie_ptable_free(struct vmie_ptable *pt);

/* A block device that is the range [off, off+len) of base (a partition).
 * base must outlive it. */
int vmie_image_window(struct vmie_image *base, uint64_t off, uint64_t len,
		      const char *name, struct vmie_image **out,
		      struct vmie_err *err);

/* ---- LVM2 ---- */

struct vmie_lvm_lv {
	char vg[128];
	char name[128];
	uint64_t size;
	char segtype[16];       /* "linear", "striped", or what was found */
	struct vmie_image *dev; /* NULL when it cannot be assembled */
	char error[160];        /* why dev is NULL (missing PV, raid...) */
};

struct vmie_lvm {
	unsigned n_lvs;
	struct vmie_lvm_lv *lvs;
	unsigned n_vgs;
	char (*vgs)[128];
	/* Non-fatal problems: a bad metadata copy, a duplicate PV... */
	unsigned n_warnings;
	char warnings[VMIE_PT_MAX_WARN][160];
};

/* True if dev carries an LVM2 PV label (in its first 4 sectors). */
bool vmie_lvm_is_pv(struct vmie_image *dev);
/* Scan devs (partitions or whole disks, of all disks of one VM) for PVs,
 * assemble volume groups from their text metadata and expose the logical
 * volumes.  devs must outlive the result. */
int vmie_lvm_scan(struct vmie_image *const *devs, unsigned n,
		  struct vmie_lvm *out, struct vmie_err *err);
void vmie_lvm_free(struct vmie_lvm *l);

#endif
