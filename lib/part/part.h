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
 * striped LVs), Windows dynamic disks (LDM: the database is read and its
 * simple, spanned, striped and mirrored volumes are exposed as images,
 * across the disks of one VM; RAID-5 volumes are reported only).
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

/* ---- Windows dynamic disks (LDM), lib/part/ldm.c ---- */

/* One LDM partition: a piece of a volume on one disk. */
struct vmie_ldm_extent {
	char name[64];          /* "Disk1-01" */
	char disk_guid[37];     /* the disk it is on (PRIVHEAD disk GUID) */
	char disk_name[64];     /* "Disk1" */
	int dev;                /* index of that disk in the devices given to
				   vmie_ldm_scan (0 = this disk in a
				   ptable's list), -1 when not present */
	uint64_t data_off;      /* bytes from the disk's LDM data area start */
	uint64_t start;         /* bytes from the start of the disk (valid
				   when dev >= 0) */
	uint64_t size;          /* bytes */
	uint64_t vol_off;       /* bytes: where it sits in a spanned volume */
	unsigned column;        /* striped / RAID-5: its column */
	unsigned plex;          /* which component (mirror half), 0-based */
};

struct vmie_ldm_volume {
	char group[64];         /* disk group name ("WIN-ABC-Dg0") */
	char group_guid[37];
	char name[64];          /* "Volume1" */
	char guid[37];
	/* "simple", "spanned", "striped", "mirrored", "raid5" */
	char type[12];
	uint64_t size;          /* bytes */
	uint8_t part_type;      /* MBR-style type of its contents (0x07) */
	char hint[16];          /* drive letter hint ("C:"), or "" */
	uint64_t stripe_size;   /* bytes, striped and RAID-5 */
	unsigned columns;       /* striped and RAID-5 */
	unsigned n_plexes;      /* components: 2 for a mirror */
	unsigned n_extents;
	struct vmie_ldm_extent *extents;
	uint64_t dev_mask;      /* bit i: an extent on device i (i < 64) */
	struct vmie_image *dev; /* the volume as an image; NULL when it was
				   not assembled (always NULL in a ptable) */
	char error[200];        /* why dev is NULL: a missing disk, RAID-5,
				   a bad layout; "" */
};

struct vmie_ldm_db;     /* one disk's parsed database (ldm.c) */

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
	/* Windows dynamic disk (ldm set): what its LDM database says.  Each
	 * disk of a disk group holds the whole group's database, so the
	 * volume list names every volume of the group; extents on this disk
	 * have dev 0, those on other disks -1.  ldm_error says why the
	 * database could not be read ("" when it was). */
	char ldm_disk_guid[37];
	char ldm_group[64];
	char ldm_group_guid[37];
	char ldm_error[200];
	unsigned n_ldm_volumes;
	struct vmie_ldm_volume *ldm_volumes;
	struct vmie_ldm_db *ldm_db;   /* owned; used by vmie_ldm_scan */
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

/* ---- where a device's bytes lie: recognising aliases ---- */

/* One record of a device's layout, in the order of the device's bytes:
 * a run [off, off + len) of a top-level image (disk != NULL: an image
 * that is not a partition window, a logical volume or an LDM volume), or
 * the header of a striped range (disk == NULL): the range [off, off + len)
 * of a stripe set of n columns interleaved in chunks of chunk bytes, whose
 * columns follow (each one or more records).  Adjacent runs of one image
 * are merged, so two devices have equal layouts exactly when they read
 * the same bytes in the same order, however their tables describe them. */
struct vmie_layout_rec {
	const struct vmie_image *disk;
	uint64_t off, len, chunk;
	unsigned n;
};

struct vmie_layout {
	unsigned n, cap;
	struct vmie_layout_rec *r;
	uint64_t hash;          /* of the records (to bucket; compare with
				   vmie_layout_equal) */
	/* where byte 0 of the device lies (start_disk NULL if unknown) */
	const struct vmie_image *start_disk;
	uint64_t start_off;
	/* internal: the budget r is charged to, merging state */
	struct vmie_budget *budget;
	bool barrier;
};

/* Most records one layout may have (a volume of more pieces is not
 * compared: VMIE_ELIMIT). */
#define VMIE_LAYOUT_MAX_RECS 65536

/* The layout of dev (a disk, a partition window, an LVM or LDM volume, or
 * any nesting of them).  Each record draws one "entries" from dev's
 * budget and its memory from "mem".  Free with vmie_layout_free. */
int vmie_image_layout(struct vmie_image *dev, struct vmie_layout *out,
		      struct vmie_err *err);
void vmie_layout_free(struct vmie_layout *l);
bool vmie_layout_equal(const struct vmie_layout *a,
		       const struct vmie_layout *b);

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

/* ---- Windows dynamic disks (LDM) across the disks of one VM ---- */

struct vmie_ldm_group {
	char name[64];
	char guid[37];
	uint64_t seq;           /* committed sequence of the copy used */
	unsigned n_disks;       /* disks the database lists */
	unsigned n_present;     /* of those, found among the devices */
};

struct vmie_ldm {
	unsigned n_groups;
	struct vmie_ldm_group *groups;
	unsigned n_volumes;
	struct vmie_ldm_volume *volumes;
	/* Non-fatal problems: an unreadable database on one disk, a disk
	 * with an older copy, a duplicate disk GUID... */
	unsigned n_warnings;
	char warnings[VMIE_PT_MAX_WARN][200];
};

/* Assemble the LDM disk groups of the whole disks devs[0..n) (the disks
 * of one VM): disks are matched by the GUID in their PRIVHEAD, the
 * database copy with the highest committed sequence number is used, and
 * every volume whose extents are all present is exposed as an image
 * (driver "ldm"): simple, spanned, striped, and mirrored (from the first
 * complete plex).  RAID-5 volumes are listed with an error.  pts, if not
 * NULL, are the disks' tables from vmie_ptable_read (read again if NULL);
 * disks that are not dynamic are skipped.  Fails only on I/O or memory
 * errors, or when dynamic disks were given but no database could be read
 * (the error is the first problem).  devs must outlive the result. */
int vmie_ldm_scan(struct vmie_image *const *devs,
		  const struct vmie_ptable *const *pts, unsigned n,
		  struct vmie_ldm *out, struct vmie_err *err);
void vmie_ldm_free(struct vmie_ldm *l);

/* ---- GPT to MBR (the Windows boot volume conversion of BOOT-006) ---- */

enum vmie_gpt_mbr_map {
	VMIE_GPT_MBR_NONE = -1, /* no MBR type carries it: the disk cannot
				   be converted (LDM, Storage Spaces, BIOS
				   boot, any type not listed) */
	VMIE_GPT_MBR_KEEP = 0,  /* kept, as *mbr_type */
	VMIE_GPT_MBR_DROP = 1,  /* left out of the MBR: the Microsoft
				   reserved partition (MSR), which holds no
				   data and which MBR disks do not have */
};

/* What a GPT partition becomes in the MBR: type_guid as text (any case,
 * struct vmie_partition.type_guid); fs_type and fs_version as the file
 * system probe found them ("ntfs", "vfat" with "FAT32"...; NULL or "" when
 * unknown), which choose the byte of a Microsoft basic data partition
 * (NTFS/exFAT/unknown 0x07, FAT32 0x0C, FAT16 0x0E, FAT12 0x01).  ESP
 * 0xEF (kept, so the UEFI files stay on the disk), Windows recovery 0x27,
 * Linux 0x83/0x82/0x8E/0xFD.  Returns enum vmie_gpt_mbr_map; *mbr_type
 * (if not NULL) is set for KEEP, else 0; *what (if not NULL) names the
 * type in words ("EFI system partition", "unknown type"), static text. */
int vmie_gpt_mbr_type(const char *type_guid, const char *fs_type,
		      const char *fs_version, uint8_t *mbr_type,
		      const char **what);

#endif
