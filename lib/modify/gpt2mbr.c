/*
 * GPT -> MBR on a Windows boot disk (gpt2mbr.h; BOOT-006,
 * docs/windows-boot.md).
 *
 * The new table keeps every partition at its offset and size:
 *
 * The types map by lib/part's vmie_gpt_mbr_type (part.h): the EFI system
 * partition is kept as 0xEF (the UEFI configuration stays on the disk, so
 * the import can be undone from what it kept), the Microsoft reserved
 * partition is dropped (no file system, only space Windows reserves on
 * GPT disks), basic data becomes 0x07 or a FAT type, Windows recovery
 * 0x27; a type with no MBR equivalent stops the plan.
 *
 * The Windows volume is the active one (bootmgr and \Boot\BCD are put
 * there).  CHS fields use 255 heads and 63 sectors a track, 1023/254/63
 * past cylinder 1023 (what BIOS boot code ignores when it reads by LBA).
 * The disk signature is the first field of the GPT disk GUID (so that
 * the same disk always gets the same one), another when a disk of the
 * same guest has it.
 *
 * Sector layouts read here (UEFI 2.10 section 5.3 for the GPT header;
 * the NTFS boot sector's BIOS parameter block as Microsoft's "NTFS
 * technical reference" and the Linux-NTFS documentation give it):
 *
 *   GPT header (LBA 1)      offset size  field
 *                           0      8     "EFI PART"
 *                           32     8     alternate (backup) header LBA
 *                           72     8     partition entries start LBA
 *                           80     4     number of entries
 *                           84     4     size of an entry
 *   NTFS boot sector        3      8     "NTFS    "
 *                           11     2     bytes per sector
 *                           28     4     hidden sectors (the partition's
 *                                        start LBA: the boot code adds it
 *                                        to every sector it reads)
 *                           40     8     total sectors of the volume (the
 *                                        backup boot sector is the one
 *                                        after them)
 *                           84     426   boot code
 *                           510    2     0x55 0xAA
 *   MBR                     0      440   boot code
 *                           440    4     disk signature
 *                           446    4x16  entries: status (0x80 active),
 *                                        CHS first, type, CHS last, LBA
 *                                        first (4), sector count (4)
 *                           510    2     0x55 0xAA
 */
#include "modify/gpt2mbr.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/util.h"
#include "image/image.h"
#include "inspect/inspect.h"
#include "part/part.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)
#define MBR_MAX_LBA ((uint64_t)1 << 32)

/* The file system inspection found on partition number of disk. */
static const struct vmie_insp_fs *g2m_fs(const struct vmie_inspection *in,
					 int disk, unsigned number)
{
	for (unsigned i = 0; i < in->n_fs; i++)
		if (in->fs[i].disk == disk && in->fs[i].partition > 0 &&
		    (unsigned)in->fs[i].partition == number &&
		    !in->fs[i].lv[0])
			return &in->fs[i];
	return NULL;
}

static int g2m_read(struct vmie_image *dev, uint64_t lba, uint8_t *buf,
		    size_t n, struct vmie_err *err)
{
	uint64_t off;
	if (vmie_mul_u64(lba, VMIE_G2M_SECTOR, &off))
		return VMIE_ERR(err, VMIE_EINVAL, "sector %llu is out of "
				"range", (unsigned long long)lba);
	return vmie_image_pread(dev, buf, n * VMIE_G2M_SECTOR, off, err);
}

/* The GPT regions: sectors 0 .. prim_count-1 and the backup entries and
 * header, each bounded by the partitions around them. */
static int g2m_gpt_regions(struct vmie_image *dev, struct vmie_g2m_plan *p,
			   uint64_t first_lba, uint64_t last_end,
			   struct vmie_err *err)
{
	uint8_t h[VMIE_G2M_SECTOR];
	int r = g2m_read(dev, 1, h, 1, err);
	if (r)
		return r;
	if (memcmp(h, "EFI PART", 8))
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: no primary GPT header "
				"at sector 1", p->disk_name);
	uint64_t alt = vmie_le64(h + 32), ent = vmie_le64(h + 72);
	uint32_t n = vmie_le32(h + 80), esz = vmie_le32(h + 84);
	uint64_t bytes = (uint64_t)n * esz;
	uint64_t secs = (bytes + VMIE_G2M_SECTOR - 1) / VMIE_G2M_SECTOR;
	if (ent < 2 || esz < 128 || esz > 4096 ||
	    secs > VMIE_G2M_MAX_GPT_SECTORS || ent + secs > first_lba)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: the primary GPT "
				"entries (sector %llu, %u of %u bytes) are not "
				"between the header and the first partition "
				"(sector %llu)", p->disk_name,
				(unsigned long long)ent, n, esz,
				(unsigned long long)first_lba);
	p->prim_count = ent + secs;
	p->back_lba = p->back_count = 0;
	if (alt <= last_end || alt >= p->disk_sectors)
		return 0;               /* no usable backup: nothing to clear */
	if ((r = g2m_read(dev, alt, h, 1, err)))
		return r;
	if (memcmp(h, "EFI PART", 8))
		return 0;
	uint64_t bent = vmie_le64(h + 72);
	if (bent >= last_end && bent < alt && alt - bent <=
	    VMIE_G2M_MAX_GPT_SECTORS) {
		p->back_lba = bent;
		p->back_count = alt - bent + 1;
	} else {
		p->back_lba = alt;      /* the header alone */
		p->back_count = 1;
	}
	return 0;
}

/* The NTFS boot sector of e: its hidden sectors and the backup's place;
 * an active volume without boot code cannot be started by a BIOS. */
static int g2m_ntfs(struct vmie_image *dev, const struct vmie_g2m_plan *p,
		    struct vmie_g2m_entry *e, struct vmie_err *err)
{
	uint8_t s[VMIE_G2M_SECTOR];
	int r = g2m_read(dev, e->lba, s, 1, err);
	if (r)
		return r;
	if (memcmp(s + 3, "NTFS    ", 8) || s[510] != 0x55 || s[511] != 0xAA) {
		if (e->active)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: its boot sector "
					"is not an NTFS boot sector", e->device);
		return 0;
	}
	e->ntfs = true;
	e->hidden = vmie_le32(s + 28);
	e->fix_hidden = e->hidden != e->lba;
	uint16_t bps = vmie_le16(s + 11);
	uint64_t total = vmie_le64(s + 40);
	if (bps == VMIE_G2M_SECTOR && total < e->count) {
		uint8_t b[VMIE_G2M_SECTOR];
		if ((r = g2m_read(dev, e->lba + total, b, 1, err)))
			return r;
		if (!memcmp(b + 3, "NTFS    ", 8) && b[510] == 0x55 &&
		    b[511] == 0xAA)
			e->backup_lba = e->lba + total;
	}
	if (e->active) {
		bool code = false;
		for (unsigned i = 84; i < 510 && !code; i++)
			code = s[i] != 0;
		if (!code)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: the NTFS boot "
					"sector has no boot code, so a BIOS "
					"cannot start bootmgr from it (on "
					"Windows, bootsect /nt60 writes it); "
					"import with --boot-mode uefi",
					e->device);
	}
	(void)p;
	return 0;
}

static bool g2m_sig_taken(const struct vmie_inspection *in, int disk,
			  uint32_t sig)
{
	for (unsigned d = 0; d < in->n_disks; d++)
		if ((int)d != disk && in->disks[d].pt.type == VMIE_PT_MBR &&
		    in->disks[d].pt.mbr_disk_id == sig)
			return true;
	return false;
}

int vmie_g2m_plan(const struct vmie_inspection *in, int disk,
		  const char *active, struct vmie_image *dev,
		  struct vmie_g2m_plan *p, struct vmie_err *err)
{
	memset(p, 0, sizeof *p);
	p->disk = disk;
	snprintf(p->disk_name, sizeof p->disk_name, "disk%d", disk);
	if (disk < 0 || (unsigned)disk >= in->n_disks)
		return VMIE_ERR(err, VMIE_EINVAL, "no disk %d", disk);
	const struct vmie_insp_disk *d = &in->disks[disk];
	const struct vmie_ptable *pt = &d->pt;
	if (pt->type != VMIE_PT_GPT)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: not a GPT disk",
				p->disk_name);
	if (pt->ldm)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: a dynamic disk (LDM) "
				"is not converted to MBR", p->disk_name);
	if (pt->sector_size != VMIE_G2M_SECTOR)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: GPT of %u-byte sectors: "
				"an MBR of 512-byte sectors cannot describe it",
				p->disk_name, pt->sector_size);
	p->disk_sectors = d->virtual_size / VMIE_G2M_SECTOR;
	uint64_t first = UINT64_MAX, last_end = 0, prev_end = 0;
	bool have_active = false;
	for (unsigned i = 0; i < pt->n_parts; i++) {
		const struct vmie_partition *q = &pt->parts[i];
		char dev_name[160];
		snprintf(dev_name, sizeof dev_name, "%sp%u", p->disk_name,
			 q->number);
		const struct vmie_insp_fs *f = g2m_fs(in, disk, q->number);
		const char *fs = f ? f->probe.type : "", *tname = "";
		uint8_t type = 0;
		if (q->start % VMIE_G2M_SECTOR || q->size % VMIE_G2M_SECTOR ||
		    !q->size)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: not on 512-byte "
					"sectors", dev_name);
		uint64_t lba = q->start / VMIE_G2M_SECTOR;
		uint64_t cnt = q->size / VMIE_G2M_SECTOR;
		if (lba < prev_end)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: partitions "
					"overlap or are not in disk order",
					dev_name);
		prev_end = lba + cnt;
		if (lba < first)
			first = lba;
		if (lba + cnt > last_end)
			last_end = lba + cnt;
		int t = vmie_gpt_mbr_type(q->type_guid, fs,
					  f ? f->probe.version : NULL, &type,
					  &tname);
		if (t == VMIE_GPT_MBR_NONE)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: GPT type %s (%s) "
					"has no MBR equivalent", dev_name,
					q->type_guid, tname);
		if (t == VMIE_GPT_MBR_DROP) {
			if (p->n_dropped < 4)
				snprintf(p->dropped[p->n_dropped++],
					 sizeof p->dropped[0], "%s (%s, %llu "
					 "MiB)", dev_name, tname,
					 (unsigned long long)(q->size / MIB));
			continue;
		}
		if (lba + cnt > MBR_MAX_LBA || cnt >= MBR_MAX_LBA)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: ends past sector "
					"2^32 (2 TiB): an MBR cannot address it",
					dev_name);
		if (p->n == 4)
			return VMIE_ERR(err, VMIE_EUNSUPP, "%s: more than 4 "
					"partitions besides the Microsoft "
					"reserved one: an MBR holds 4 primary "
					"partitions", p->disk_name);
		struct vmie_g2m_entry *e = &p->e[p->n++];
		e->gpt_number = q->number;
		vmie_strlcpy(e->device, dev_name, sizeof e->device);
		vmie_strlcpy(e->kind, q->kind, sizeof e->kind);
		vmie_strlcpy(e->fs, fs, sizeof e->fs);
		vmie_strlcpy(e->part_guid, q->part_guid, sizeof e->part_guid);
		e->type = type;
		e->lba = lba;
		e->count = cnt;
		e->active = active && !strcmp(dev_name, active);
		have_active |= e->active;
	}
	if (!have_active)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: the Windows volume %s "
				"is not one of its partitions", p->disk_name,
				active ? active : "(none)");
	int r = g2m_gpt_regions(dev, p, first, last_end, err);
	for (unsigned i = 0; !r && i < p->n; i++)
		if (!strcmp(p->e[i].fs, "ntfs") || p->e[i].active)
			r = g2m_ntfs(dev, p, &p->e[i], err);
	if (r)
		return r;
	/* the signature: the GPT disk GUID's first field */
	char h8[9] = "";
	memcpy(h8, pt->gpt_disk_guid, strnlen(pt->gpt_disk_guid, 8));
	uint32_t sig = (uint32_t)strtoul(h8, NULL, 16);
	if (!sig)
		sig = 0x564d4945u;      /* "VMIE" */
	for (unsigned k = 0; g2m_sig_taken(in, disk, sig) && k < 64; k++)
		sig = sig * 2654435761u + 1;
	p->signature = sig;
	return 0;
}

/* CHS of lba with 255 heads and 63 sectors a track (1023/254/63 past
 * cylinder 1023). */
static void g2m_chs(uint64_t lba, uint8_t out[3])
{
	uint64_t c = lba / (255 * 63);
	unsigned h = (unsigned)(lba / 63 % 255), s = (unsigned)(lba % 63) + 1;
	if (c > 1023) {
		c = 1023;
		h = 254;
		s = 63;
	}
	out[0] = (uint8_t)h;
	out[1] = (uint8_t)(s | ((c >> 2) & 0xC0));
	out[2] = (uint8_t)(c & 0xFF);
}

void vmie_g2m_mbr(const struct vmie_g2m_plan *p, const uint8_t code[440],
		  uint8_t out[VMIE_G2M_SECTOR])
{
	memset(out, 0, VMIE_G2M_SECTOR);
	memcpy(out, code, 440);
	vmie_put_le32(out + 440, p->signature);
	for (unsigned i = 0; i < p->n && i < 4; i++) {
		const struct vmie_g2m_entry *e = &p->e[i];
		uint8_t *x = out + 446 + 16 * i;
		x[0] = e->active ? 0x80 : 0x00;
		g2m_chs(e->lba, x + 1);
		x[4] = e->type;
		g2m_chs(e->lba + e->count - 1, x + 5);
		vmie_put_le32(x + 8, (uint32_t)e->lba);
		vmie_put_le32(x + 12, (uint32_t)e->count);
	}
	out[510] = 0x55;
	out[511] = 0xAA;
}

int vmie_g2m_boot_code(uint8_t code[440], char *from, size_t fsize,
		       struct vmie_err *err)
{
	const char *env = getenv("VMIE_MBR_BOOT_CODE");
	static const char *const paths[] = {
		"/usr/lib/syslinux/mbr/mbr.bin",        /* Debian */
		"/usr/share/syslinux/mbr.bin",          /* Fedora, SUSE */
		"/usr/lib/SYSLINUX/mbr.bin",
		NULL };
	const char *const *list = paths;
	const char *one[2] = { env, NULL };
	if (env && env[0])
		list = one;
	for (unsigned i = 0; list[i]; i++) {
		int fd = open(list[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		uint8_t b[512];
		ssize_t n = read(fd, b, sizeof b);
		close(fd);
		/* mbr.bin is 440 bytes; a whole sector's first 440 do too */
		if (n < 440 || (n > 440 && n != 512))
			return VMIE_ERR(err, VMIE_EINVAL, "%s: %zd bytes: not "
					"MBR boot code (440 bytes expected)",
					list[i], n);
		bool any = false;
		for (unsigned k = 0; k < 440 && !any; k++)
			any = b[k] != 0;
		if (!any)
			return VMIE_ERR(err, VMIE_EINVAL, "%s: all zeros: not "
					"MBR boot code", list[i]);
		memcpy(code, b, 440);
		vmie_strlcpy(from, list[i], fsize);
		return 0;
	}
	return VMIE_ERR(err, VMIE_ENOENT, "no MBR boot code found (%s): "
			"install the Debian package syslinux-common",
			env && env[0] ? env : "/usr/lib/syslinux/mbr/mbr.bin");
}

static const char *g2m_type_name(uint8_t t)
{
	switch (t) {
	case 0x01: return "FAT12";
	case 0x07: return "NTFS/exFAT";
	case 0x0C: return "FAT32 LBA";
	case 0x0E: return "FAT16 LBA";
	case 0x82: return "Linux swap";
	case 0x83: return "Linux";
	case 0x8E: return "Linux LVM";
	case 0xFD: return "Linux RAID";
	case 0x27: return "Windows recovery";
	case 0xEF: return "EFI system";
	default: return "?";
	}
}

int vmie_g2m_old_text(const struct vmie_inspection *in,
		      const struct vmie_g2m_plan *p, char *buf, size_t size)
{
	const struct vmie_ptable *pt = &in->disks[p->disk].pt;
	size_t n = 0;
	int w = snprintf(buf, size, "label: gpt\nlabel-id: %s\n",
			 pt->gpt_disk_guid);
	if (w < 0 || (size_t)w >= size)
		return -1;
	n = (size_t)w;
	for (unsigned i = 0; i < pt->n_parts; i++) {
		const struct vmie_partition *q = &pt->parts[i];
		w = snprintf(buf + n, size - n, "%sp%u : start=%llu, "
			     "size=%llu, type=%s (%s)%s%s%s\n", p->disk_name,
			     q->number,
			     (unsigned long long)(q->start / VMIE_G2M_SECTOR),
			     (unsigned long long)(q->size / VMIE_G2M_SECTOR),
			     q->type_guid, q->kind, q->name[0] ? ", name=\"" : "",
			     q->name, q->name[0] ? "\"" : "");
		if (w < 0 || (size_t)w >= size - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

int vmie_g2m_new_text(const struct vmie_g2m_plan *p, char *buf, size_t size)
{
	size_t n = 0;
	int w = snprintf(buf, size, "label: dos\nlabel-id: 0x%08x\n",
			 p->signature);
	if (w < 0 || (size_t)w >= size)
		return -1;
	n = (size_t)w;
	for (unsigned i = 0; i < p->n; i++) {
		const struct vmie_g2m_entry *e = &p->e[i];
		w = snprintf(buf + n, size - n, "%sp%u : start=%llu, "
			     "size=%llu, type=%x (%s)%s   [was %sp%u]\n",
			     p->disk_name, i + 1, (unsigned long long)e->lba,
			     (unsigned long long)e->count, e->type,
			     g2m_type_name(e->type),
			     e->active ? ", bootable" : "", p->disk_name,
			     e->gpt_number);
		if (w < 0 || (size_t)w >= size - n)
			return -1;
		n += (size_t)w;
	}
	for (unsigned i = 0; i < p->n_dropped; i++) {
		w = snprintf(buf + n, size - n, "(dropped: %s)\n",
			     p->dropped[i]);
		if (w < 0 || (size_t)w >= size - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

bool vmie_g2m_mounted_gpt(const char *g, uint8_t out[24])
{
	memcpy(out, "DMIO:ID:", 8);
	return vmie_guid_ms_parse(g, out + 8);
}

void vmie_g2m_mounted_mbr(uint32_t signature, uint64_t lba, uint8_t out[12])
{
	vmie_put_le32(out, signature);
	vmie_put_le64(out + 4, lba * VMIE_G2M_SECTOR);
}
