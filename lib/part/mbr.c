/*
 * Partition-table dispatcher and the MBR reader: sector 0, the four
 * primary entries, extended/logical chains (EBRs), the boot code and which
 * boot loader wrote it.  A 0xEE entry hands over to the GPT reader
 * (gpt.c), a dynamic disk (type 0x42 or GPT LDM partitions) to the LDM
 * reader (ldm.c).  Layouts and sources: part_disk.h.
 *
 * EBR chains are untrusted linked lists: every EBR must lie inside the
 * extended partition and the disk, an EBR already visited ends the chain
 * (loop), and at most PART_MAX_LOGICAL logical partitions are read.
 */
#include "part.h"
#include "part_disk.h"
#include "part_int.h"
#include "../core/budget.h"
#include "../core/checked.h"
#include "../core/endian.h"
#include "../core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared with gpt.c ---- */

void part_warn(struct vmie_ptable *pt, const char *fmt, ...)
{
	va_list ap;
	if (pt->n_warnings >= VMIE_PT_MAX_WARN) {
		vmie_strlcpy(pt->warnings[VMIE_PT_MAX_WARN - 1],
			     "(more warnings not shown)",
			     sizeof pt->warnings[0]);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(pt->warnings[pt->n_warnings], sizeof pt->warnings[0], fmt,
		  ap);
	va_end(ap);
	pt->n_warnings++;
}

int part_add(struct vmie_ptable *pt, const struct vmie_partition *p,
	     struct vmie_err *err)
{
	if (pt->n_parts >= PART_MAX_PARTS)
		return VMIE_CORRUPT(err, "partition table lists more than %u "
				    "partitions", PART_MAX_PARTS);
	/* grow by doubling: n_parts is bounded above */
	if ((pt->n_parts & (pt->n_parts - 1)) == 0) {
		unsigned cap = pt->n_parts ? pt->n_parts * 2 : 8;
		struct vmie_partition *n = realloc(pt->parts,
						   (size_t)cap * sizeof *n);
		if (!n)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		pt->parts = n;
	}
	pt->parts[pt->n_parts++] = *p;
	return 0;
}

struct span {
	uint64_t start, end;
	unsigned number;
};

static int mbr_span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->number < y->number ? -1 : x->number > y->number;
}

void part_check_layout(struct vmie_ptable *pt)
{
	struct span *s;
	unsigned n = 0, reported = 0;

	for (unsigned i = 0; i < pt->n_parts; i++) {
		const struct vmie_partition *p = &pt->parts[i];
		if (vmie_range_outside(p->start, p->size, pt->disk_size))
			part_warn(pt, "partition %u [%llu, +%llu) runs past "
				  "the end of the disk (%llu bytes)", p->number,
				  (unsigned long long)p->start,
				  (unsigned long long)p->size,
				  (unsigned long long)pt->disk_size);
	}
	if (pt->n_parts < 2)
		return;
	s = malloc(pt->n_parts * sizeof *s);
	if (!s)
		return;    /* a missed warning is not worth failing for */
	for (unsigned i = 0; i < pt->n_parts; i++) {
		const struct vmie_partition *p = &pt->parts[i];
		if (p->extended)
			continue;   /* holds its logicals by design */
		s[n].start = p->start;
		s[n].end = p->start + vmie_min_u64(p->size,
						   UINT64_MAX - p->start);
		s[n].number = p->number;
		n++;
	}
	qsort(s, n, sizeof *s, mbr_span_cmp);
	/* sweep: compare each span with the one reaching furthest so far */
	for (unsigned i = 1, far = 0; i < n && reported < 3; i++) {
		if (s[i].start < s[far].end) {
			part_warn(pt, "partitions %u and %u overlap",
				  s[far].number, s[i].number);
			reported++;
		}
		if (s[i].end > s[far].end)
			far = i;
	}
	free(s);
}

const char *part_mbr_kind(uint8_t type)
{
	switch (type) {
	case 0x01: return "fat12";
	case 0x04: case 0x06: case 0x0e: return "fat16";
	case 0x0b: case 0x0c: return "fat32";
	case 0x07: return "ntfs";
	case 0x27: return "ms-recovery";
	case 0x05: case 0x0f: case 0x85: return "extended";
	case 0x42: return "ldm";
	case 0x82: return "linux-swap";
	case 0x83: return "linux";
	case 0x8e: return "linux-lvm";
	case 0xfd: return "linux-raid";
	case 0xee: return "gpt-protective";
	case 0xef: return "esp";
	default: return "unknown";
	}
}

static bool mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

/* ---- boot code ---- */

static bool mbr_has(const uint8_t *code, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (n > len)
		return false;
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(code + i, s, n))
			return true;
	return false;
}

/*
 * Which boot loader wrote the first 440 bytes.  Facts used:
 *  - GRUB 2 boot.img and GRUB legacy stage1 both carry the message table
 *    "GRUB \0Geom\0Hard Disk\0Read\0 Error" near the end of the code
 *    (GRUB 2: "GRUB " at 0x180); GRUB 2 starts with the jump EB 63,
 *    GRUB legacy stage1 with EB 48.
 *  - LILO writes its signature "LILO" at offset 6.
 *  - Syslinux mbr.bin carries "Missing operating system.\r\n" (with a full
 *    stop) and "Multiple active partitions."; its gptmbr.bin the same.
 *  - Windows 2000/XP/Vista/7/10 MBR code starts 33 C0 8E D0 BC 00 7C
 *    (xor ax,ax; mov ss,ax; mov sp,7C00) and, in English builds, carries
 *    "Invalid partition table", "Error loading operating system" and
 *    "Missing operating system" (NUL-terminated, no full stop).
 */
static const char *mbr_boot_code_id(const uint8_t *s)
{
	static const uint8_t win_start[] = { 0x33, 0xc0, 0x8e, 0xd0, 0xbc,
					     0x00, 0x7c };
	const size_t n = MBR_BOOT_CODE_LEN;
	if (vmie_is_zero(s, n))
		return "";
	if (mbr_has(s, n, "GRUB ") && mbr_has(s, n, "Geom")) {
		if (s[0] == 0xeb && s[1] == 0x48)
			return "grub-legacy";
		return "grub2";
	}
	if (!memcmp(s + 6, "LILO", 4))
		return "lilo";
	if (mbr_has(s, n, "Missing operating system.\r\n") ||
	    mbr_has(s, n, "Multiple active partitions."))
		return "syslinux";
	if (!memcmp(s, win_start, sizeof win_start) ||
	    (mbr_has(s, n, "Invalid partition table") &&
	     mbr_has(s, n, "Missing operating system")))
		return "windows";
	return "unknown";
}

/* ---- recognising what sector 0 is ---- */

/* A FAT, exFAT or NTFS boot sector at sector 0 (a whole-disk file system
 * also ends in 55 AA and must not be read as a partition table). */
static bool mbr_is_vbr(const uint8_t *s)
{
	if (!memcmp(s + 3, "NTFS    ", 8) || !memcmp(s + 3, "EXFAT   ", 8))
		return true;
	if (!(s[0] == 0xe9 || (s[0] == 0xeb && s[2] == 0x90)))
		return false;
	uint16_t bps = vmie_le16(s + 11);
	uint8_t spc = s[13], nfats = s[16];
	if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096)
		return false;
	if (!spc || (spc & (spc - 1)) || !vmie_le16(s + 14) ||
	    nfats < 1 || nfats > 2)
		return false;
	return !memcmp(s + 0x36, "FAT", 3) || !memcmp(s + 0x52, "FAT", 3) ||
	       s[21] == 0xf0 || s[21] >= 0xf8;
}

struct mbr_entry {
	uint8_t status, type;
	uint32_t lba, nsect;
};

static void mbr_decode(const uint8_t *sector, unsigned i, struct mbr_entry *e)
{
	const uint8_t *p = sector + MBR_ENTRIES_OFF + i * MBR_ENTRY_LEN;
	e->status = p[MBR_E_STATUS];
	e->type = p[MBR_E_TYPE];
	e->lba = vmie_le32(p + MBR_E_LBA);
	e->nsect = vmie_le32(p + MBR_E_NSECT);
}

static void mbr_fill(struct vmie_partition *p, unsigned number,
		     const struct mbr_entry *e, uint64_t lba, uint32_t ss)
{
	memset(p, 0, sizeof *p);
	p->number = number;
	p->start = lba * ss;              /* lba < 2^34, ss 512: no overflow */
	p->size = (uint64_t)e->nsect * ss;
	p->mbr_type = e->type;
	p->bootable = e->status == 0x80;
	p->extended = mbr_is_extended(e->type);
	vmie_strlcpy(p->kind, part_mbr_kind(e->type), sizeof p->kind);
}

/* Follow the EBR chain of the extended partition at [ext_lba, +ext_n). */
static int mbr_read_logicals(struct vmie_image *disk, struct vmie_ptable *pt,
			     uint64_t ext_lba, uint64_t ext_n,
			     unsigned *next_number, struct vmie_err *err)
{
	const uint32_t ss = pt->sector_size;
	uint64_t visited[PART_MAX_LOGICAL];
	unsigned n_visited = 0;
	uint64_t cur = ext_lba;
	uint8_t *sec = malloc(ss);
	int r = 0;

	if (!sec)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (;;) {
		struct mbr_entry e0, e1;
		bool seen = false;
		if (n_visited >= PART_MAX_LOGICAL) {
			part_warn(pt, "mbr: more than %u logical partitions; "
				  "the rest of the EBR chain is ignored",
				  PART_MAX_LOGICAL);
			break;
		}
		for (unsigned i = 0; i < n_visited; i++)
			seen |= visited[i] == cur;
		if (seen) {
			part_warn(pt, "mbr: EBR chain loops back to LBA %llu; "
				  "chain ends there", (unsigned long long)cur);
			break;
		}
		if (cur < ext_lba || cur - ext_lba >= ext_n ||
		    vmie_range_outside(cur * ss, ss, pt->disk_size)) {
			part_warn(pt, "mbr: EBR at LBA %llu is outside the "
				  "extended partition or the disk; chain ends "
				  "there", (unsigned long long)cur);
			break;
		}
		visited[n_visited++] = cur;
		r = vmie_budget_entries(disk->budget, 1, "mbr: EBR chain", err);
		if (r)
			goto out;
		r = vmie_image_pread(disk, sec, ss, cur * ss, err);
		if (r)
			goto out;
		if (sec[MBR_SIG_OFF] != 0x55 || sec[MBR_SIG_OFF + 1] != 0xaa) {
			part_warn(pt, "mbr: EBR at LBA %llu has no 55 AA "
				  "signature; chain ends there",
				  (unsigned long long)cur);
			break;
		}
		mbr_decode(sec, 0, &e0);
		mbr_decode(sec, 1, &e1);
		if (e0.type != MBR_TYPE_EMPTY && e0.nsect) {
			struct vmie_partition p;
			uint64_t lba = cur + e0.lba;
			mbr_fill(&p, (*next_number)++, &e0, lba, ss);
			p.logical = true;
			p.extended = false;
			if (lba < ext_lba || lba + e0.nsect > ext_lba + ext_n)
				part_warn(pt, "mbr: logical partition %u lies "
					  "outside its extended partition",
					  p.number);
			if (e0.status != 0 && e0.status != 0x80)
				part_warn(pt, "mbr: logical partition %u has "
					  "an invalid status byte 0x%02x",
					  p.number, e0.status);
			if (e0.type == MBR_TYPE_LDM)
				pt->ldm = true;
			r = part_add(pt, &p, err);
			if (r)
				goto out;
		}
		if (e1.type == MBR_TYPE_EMPTY || !e1.nsect)
			break;
		if (!mbr_is_extended(e1.type)) {
			part_warn(pt, "mbr: EBR at LBA %llu links to a "
				  "non-extended entry (type 0x%02x); chain "
				  "ends there", (unsigned long long)cur,
				  e1.type);
			break;
		}
		cur = ext_lba + e1.lba;
	}
out:
	free(sec);
	return r;
}

static int mbr_read_table(struct vmie_image *disk, struct vmie_ptable *pt,
			  const uint8_t *s0, struct vmie_err *err)
{
	struct mbr_entry e[4];
	unsigned next_logical = 5;
	int r;

	pt->type = VMIE_PT_MBR;
	for (unsigned i = 0; i < 4; i++)
		mbr_decode(s0, i, &e[i]);
	for (unsigned i = 0; i < 4; i++) {
		struct vmie_partition p;
		if (e[i].type == MBR_TYPE_EMPTY)
			continue;
		if (!e[i].nsect) {
			part_warn(pt, "mbr: entry %u has type 0x%02x but no "
				  "sectors; ignored", i + 1, e[i].type);
			continue;
		}
		mbr_fill(&p, i + 1, &e[i], e[i].lba, pt->sector_size);
		if (e[i].type == MBR_TYPE_LDM)
			pt->ldm = true;
		r = part_add(pt, &p, err);
		if (r)
			return r;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (!mbr_is_extended(e[i].type) || !e[i].nsect)
			continue;
		r = mbr_read_logicals(disk, pt, e[i].lba, e[i].nsect,
				      &next_logical, err);
		if (r)
			return r;
	}
	/* Linux's PARTUUID for MBR partitions: "<disk id>-<number>" (none
	 * when the disk id is 0, as blkid does) */
	for (unsigned i = 0; pt->mbr_disk_id && i < pt->n_parts; i++)
		snprintf(pt->parts[i].part_guid, sizeof pt->parts[i].part_guid,
			 "%08x-%02x", pt->mbr_disk_id,
			 pt->parts[i].number & 0xff);
	part_check_layout(pt);
	return 0;
}

/* An LVM label in sectors 1..3 (a PV on the whole disk: "crazy people
 * boot from LVM devices", so an empty MBR in front of it is no table). */
static bool mbr_lvm_label(struct vmie_image *disk)
{
	uint8_t s[LVM_SECTOR];
	for (unsigned i = 1; i < LVM_LABEL_SCAN_SECTORS; i++) {
		if (vmie_range_outside((uint64_t)i * LVM_SECTOR, LVM_SECTOR,
				       disk->size) ||
		    vmie_image_pread(disk, s, sizeof s,
				     (uint64_t)i * LVM_SECTOR, NULL))
			return false;
		if (!memcmp(s, LVM_LABEL_ID, 8))
			return true;
	}
	return false;
}

static int mbr_ptable_read(struct vmie_image *disk, struct vmie_ptable *pt,
			   struct vmie_err *err)
{
	uint8_t s0[512];
	struct mbr_entry e[4];
	bool valid = true, has_ee = false, other = false, empty = true;
	bool found = false;
	int r;

	memset(pt, 0, sizeof *pt);
	pt->disk_size = disk->size;
	pt->sector_size = 512;
	if (disk->size < sizeof s0)
		return 0;       /* too small for anything: no table */
	r = vmie_image_pread(disk, s0, sizeof s0, 0, err);
	if (r)
		return r;
	pt->mbr_signature = s0[MBR_SIG_OFF] == 0x55 &&
			    s0[MBR_SIG_OFF + 1] == 0xaa;
	for (unsigned i = 0; i < 4; i++) {
		mbr_decode(s0, i, &e[i]);
		if (e[i].status != 0 && e[i].status != 0x80)
			valid = false;
		if (e[i].type == MBR_TYPE_GPT_PMBR)
			has_ee = true;
		else if (e[i].type != MBR_TYPE_EMPTY)
			other = true;
		if (e[i].type != MBR_TYPE_EMPTY)
			empty = false;
	}

	if (!pt->mbr_signature) {
		/* No MBR: a GPT without a protective MBR is still read (with
		 * a warning); anything else is no table. */
		r = part_gpt_read(disk, pt, &found, err);
		if (r || !found) {
			if (!r)
				pt->type = VMIE_PT_NONE;
			return r;
		}
		part_warn(pt, "gpt: no protective MBR (no 55 AA at 510)");
		return 0;
	}
	if (!valid || mbr_is_vbr(s0) || (empty && mbr_lvm_label(disk))) {
		pt->mbr_signature = true;
		return 0;       /* whole-disk file system or PV */
	}

	pt->mbr_disk_id = vmie_le32(s0 + MBR_DISK_ID_OFF);
	pt->mbr_boot_code = !vmie_is_zero(s0, MBR_BOOT_CODE_LEN);
	vmie_strlcpy(pt->boot_code, mbr_boot_code_id(s0), sizeof pt->boot_code);
	for (unsigned i = 0; i < 4; i++)
		if (e[i].type != MBR_TYPE_EMPTY && e[i].nsect)
			pt->n_primary++;

	if (has_ee) {
		struct vmie_err gerr = { 0 };
		r = part_gpt_read(disk, pt, &found, &gerr);
		if (!r && found) {
			pt->protective_mbr = true;
			pt->hybrid_mbr = other;
			return 0;
		}
		/* No usable GPT behind the 0xEE entry. */
		if (!other) {
			if (r) {
				if (err)
					*err = gerr;
				return r;
			}
			return VMIE_CORRUPT(err, "gpt: protective MBR but no "
					    "GPT header at LBA 1 or at the "
					    "last LBA");
		}
		/* Hybrid MBR with a broken GPT: its MBR half still works. */
		part_warn(pt, "gpt: unusable (%s); reading the hybrid MBR",
			  r ? gerr.msg : "no GPT header");
		free(pt->parts);
		pt->parts = NULL;
		pt->n_parts = 0;
		pt->sector_size = 512;
		memset(pt->gpt_disk_guid, 0, sizeof pt->gpt_disk_guid);
		pt->gpt_primary_ok = pt->gpt_backup_ok = false;
	}
	return mbr_read_table(disk, pt, s0, err);
}

int vmie_ptable_read(struct vmie_image *disk, struct vmie_ptable *pt,
		     struct vmie_err *err)
{
	int r = mbr_ptable_read(disk, pt, err);
	/* a dynamic disk: its LDM database (ldm.c) */
	if (!r && pt->ldm)
		r = part_ldm_read(disk, pt, err);
	return r;
}

void vmie_ptable_free(struct vmie_ptable *pt)
{
	if (!pt)
		return;
	part_ldm_free(pt);
	free(pt->parts);
	pt->parts = NULL;
	pt->n_parts = 0;
}
