/* lib/part: partition tables built byte by byte in memory (MBR, EBR
 * chains, GPT at 512- and 4096-byte sectors), the window image, and
 * hostile tables: EBR loops, EBRs past the disk, absurd GPT entry counts
 * and sizes, partitions past the end, overlaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "core/util.h"
#include "part/part.h"

/* ---- building disks ---- */

static uint8_t *disk_buf;
static size_t disk_len;
static struct vmie_image *disk_img;

static uint8_t *new_disk(size_t len)
{
	free(disk_buf);
	disk_buf = calloc(1, len);
	disk_len = len;
	assert_non_null(disk_buf);
	return disk_buf;
}

static struct vmie_image *open_disk(void)
{
	struct vmie_err e = { 0 };
	struct vmie_src *src;
	struct vmie_open_opts o = { .format = "raw" };
	assert_int_equal(vmie_src_open_mem(disk_buf, disk_len, false, "mem",
					   &src, &e), 0);
	assert_int_equal(vmie_image_open_src(src, &o, &disk_img, &e), 0);
	vmie_src_unref(src);
	return disk_img;
}

static void close_disk(void)
{
	vmie_image_close(disk_img);
	disk_img = NULL;
}

static void mbr_entry(uint8_t *sec, unsigned i, uint8_t status, uint8_t type,
		      uint32_t lba, uint32_t n)
{
	uint8_t *p = sec + 0x1be + 16 * i;
	p[0] = status;
	p[4] = type;
	vmie_put_le32(p + 8, lba);
	vmie_put_le32(p + 12, n);
	sec[510] = 0x55;
	sec[511] = 0xaa;
}

static int read_pt(struct vmie_ptable *pt, struct vmie_err *e)
{
	int r;
	open_disk();
	r = vmie_ptable_read(disk_img, pt, e);
	close_disk();
	return r;
}

static bool has_warning(const struct vmie_ptable *pt, const char *s)
{
	for (unsigned i = 0; i < pt->n_warnings; i++)
		if (strstr(pt->warnings[i], s))
			return true;
	return false;
}

struct gpt_part {
	const char *type;       /* GUID text */
	uint64_t first, last, attr;
	const char *name;       /* ASCII */
};

static void guid_parse(const char *s, uint8_t out[16])
{
	unsigned v[16];
	sscanf(s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x",
	       &v[3], &v[2], &v[1], &v[0], &v[5], &v[4], &v[7], &v[6],
	       &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]);
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)v[i];
}

/* Write a GPT header at lba with its entry array at entries_lba. */
static void gpt_header(uint32_t ss, uint64_t lba, uint64_t alt,
		       uint64_t entries_lba, uint32_t n_entries,
		       uint32_t entry_size, const struct gpt_part *parts,
		       unsigned n_parts)
{
	uint8_t *h = disk_buf + lba * ss;
	uint64_t n_lbas = disk_len / ss;
	size_t arr_len = (size_t)n_entries * entry_size;
	uint8_t *a = disk_buf;
	if (entries_lba < disk_len / ss && arr_len < (1u << 24) &&
	    entries_lba * ss + arr_len <= disk_len) {
		a = disk_buf + entries_lba * ss;
		memset(a, 0, arr_len);
		for (unsigned i = 0; i < n_parts; i++) {
			uint8_t *e = a + (size_t)i * entry_size;
			guid_parse(parts[i].type, e);
			for (int k = 0; k < 16; k++)
				e[16 + k] = (uint8_t)(0x40 + i * 16 + k);
			vmie_put_le64(e + 32, parts[i].first);
			vmie_put_le64(e + 40, parts[i].last);
			vmie_put_le64(e + 48, parts[i].attr);
			for (size_t k = 0; parts[i].name && parts[i].name[k]; k++)
				vmie_put_le16(e + 56 + 2 * k,
					      (uint8_t)parts[i].name[k]);
		}
	} else {
		arr_len = 0;
	}
	memset(h, 0, ss);
	memcpy(h, "EFI PART", 8);
	vmie_put_le32(h + 8, 0x00010000);
	vmie_put_le32(h + 12, 92);
	vmie_put_le64(h + 24, lba);
	vmie_put_le64(h + 32, alt);
	vmie_put_le64(h + 40, 34);
	vmie_put_le64(h + 48, n_lbas - 34);
	guid_parse("01234567-89ab-cdef-0011-223344556677", h + 56);
	vmie_put_le64(h + 72, entries_lba);
	vmie_put_le32(h + 80, n_entries);
	vmie_put_le32(h + 84, entry_size);
	vmie_put_le32(h + 88, vmie_crc32(0, a, arr_len));
	vmie_put_le32(h + 16, vmie_crc32(0, h, 92));
}

/* A whole GPT disk: protective MBR, primary and backup. */
static void gpt_disk(uint32_t ss, size_t len, const struct gpt_part *parts,
		     unsigned n)
{
	uint64_t n_lbas = len / ss;
	new_disk(len);
	mbr_entry(disk_buf, 0, 0, 0xee, 1,
		  (uint32_t)(n_lbas - 1 > 0xffffffff ? 0xffffffff : n_lbas - 1));
	gpt_header(ss, n_lbas - 1, 1, n_lbas - 33, 128, 128, parts, n);
	gpt_header(ss, 1, n_lbas - 1, 2, 128, 128, parts, n);
}

static const char *LINUX = "0fc63daf-8483-4772-8e79-3d69d8477de4";
static const char *ESP = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
static const char *LDM = "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3";

/* ---- tests ---- */

static void test_window(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_image *w, *w2;
	uint8_t b[16];
	uint64_t pnum;
	unsigned st;
	new_disk(64 * 1024);
	for (size_t i = 0; i < disk_len; i++)
		disk_buf[i] = (uint8_t)(i / 512);
	open_disk();
	assert_int_equal(vmie_image_window(disk_img, 4096, 8192, "p1", &w, &e),
			 0);
	assert_int_equal(w->size, 8192);
	assert_string_equal(w->drv->name, "window");
	assert_ptr_equal(w->src, disk_img->src);
	assert_int_equal(vmie_image_pread(w, b, 4, 512, &e), 0);
	assert_int_equal(b[0], 9);
	assert_int_equal(vmie_image_pread(w, b, 16, 8190, &e), VMIE_ERANGE);
	assert_int_equal(vmie_image_block_status(w, 0, 1 << 20, &pnum, &st, &e),
			 0);
	assert_true(pnum > 0 && pnum <= 8192);
	/* a window on a window */
	assert_int_equal(vmie_image_window(w, 512, 1024, NULL, &w2, &e), 0);
	assert_int_equal(vmie_image_pread(w2, b, 1, 0, &e), 0);
	assert_int_equal(b[0], 9);
	vmie_image_close(w2);
	/* windows past the base, or overflowing, are refused */
	assert_int_equal(vmie_image_window(disk_img, 60000, 8192, "bad", &w2,
					   &e), VMIE_ERANGE);
	assert_non_null(strstr(e.msg, "past the end of the disk"));
	assert_null(w2);
	assert_int_equal(vmie_image_window(disk_img, UINT64_MAX - 10, 100,
					   "ovf", &w2, &e), VMIE_ERANGE);
	vmie_image_close(w);
	close_disk();
}

static void test_mbr_primaries(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	new_disk(16 << 20);
	mbr_entry(disk_buf, 0, 0x80, 0x83, 2048, 4096);
	mbr_entry(disk_buf, 1, 0, 0x07, 6144, 4096);
	mbr_entry(disk_buf, 3, 0, 0x8e, 10240, 8192);
	vmie_put_le32(disk_buf + 440, 0xdeadbeef);
	memcpy(disk_buf + 6, "LILO", 4);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_MBR);
	assert_int_equal(pt.n_parts, 3);
	assert_int_equal(pt.n_primary, 3);
	assert_int_equal(pt.mbr_disk_id, 0xdeadbeef);
	assert_true(pt.mbr_boot_code);
	assert_string_equal(pt.boot_code, "lilo");
	assert_int_equal(pt.parts[0].number, 1);
	assert_true(pt.parts[0].bootable);
	assert_int_equal(pt.parts[0].start, 2048 * 512);
	assert_int_equal(pt.parts[0].size, 4096 * 512);
	assert_string_equal(pt.parts[0].kind, "linux");
	assert_false(pt.parts[1].bootable);
	assert_string_equal(pt.parts[1].kind, "ntfs");
	assert_int_equal(pt.parts[2].number, 4);
	assert_string_equal(pt.parts[2].kind, "linux-lvm");
	assert_int_equal(pt.n_warnings, 0);
	vmie_ptable_free(&pt);
}

/* extended at 8192 with n logicals chained by EBRs every 64 sectors */
static void ebr_chain(unsigned n)
{
	new_disk(32 << 20);
	mbr_entry(disk_buf, 0, 0, 0x0f, 8192, 50000);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *ebr = disk_buf + (size_t)(8192 + 64 * i) * 512;
		mbr_entry(ebr, 0, 0, 0x83, 8, 32);
		if (i + 1 < n)
			mbr_entry(ebr, 1, 0, 0x05, 64 * (i + 1), 64);
	}
}

static void test_ebr_logicals(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	ebr_chain(3);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 4);
	assert_true(pt.parts[0].extended);
	assert_string_equal(pt.parts[0].kind, "extended");
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pt.parts[1 + i].number, 5 + i);
		assert_true(pt.parts[1 + i].logical);
		/* relative to its own EBR */
		assert_int_equal(pt.parts[1 + i].start,
				 (uint64_t)(8192 + 64 * i + 8) * 512);
		assert_int_equal(pt.parts[1 + i].size, 32 * 512);
	}
	assert_int_equal(pt.n_primary, 1);
	assert_int_equal(pt.n_warnings, 0);
	vmie_ptable_free(&pt);
}

static void test_ebr_loop(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	/* an EBR that links to itself */
	ebr_chain(1);
	mbr_entry(disk_buf + 8192 * 512, 1, 0, 0x05, 0, 64);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 2);
	assert_true(has_warning(&pt, "EBR chain loops back to LBA 8192"));
	vmie_ptable_free(&pt);
	/* a longer loop: 3 -> 1 */
	ebr_chain(3);
	mbr_entry(disk_buf + (8192 + 128) * 512, 1, 0, 0x05, 64, 64);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 4);
	assert_true(has_warning(&pt, "loops back to LBA 8256"));
	vmie_ptable_free(&pt);
}

static void test_ebr_past_disk(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	ebr_chain(2);
	/* the link points far outside the extended partition and disk */
	mbr_entry(disk_buf + 8192 * 512, 1, 0, 0x05, 0xfffffff0, 64);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 2);
	assert_true(has_warning(&pt, "outside the extended partition or the "
				"disk"));
	vmie_ptable_free(&pt);
	/* an extended partition that itself starts past the disk */
	new_disk(1 << 20);
	mbr_entry(disk_buf, 0, 0, 0x05, 0x7ffffff0, 100);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_true(has_warning(&pt, "EBR at LBA 2147483632 is outside"));
	assert_true(has_warning(&pt, "runs past the end of the disk"));
	vmie_ptable_free(&pt);
}

static void test_ebr_too_many(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	ebr_chain(200);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 1 + 128);
	assert_true(has_warning(&pt, "more than 128 logical partitions"));
	vmie_ptable_free(&pt);
}

static void test_mbr_oddities(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	/* overlapping primaries and one past the end */
	new_disk(8 << 20);
	mbr_entry(disk_buf, 0, 0, 0x83, 2048, 4096);
	mbr_entry(disk_buf, 1, 0, 0x83, 4096, 4096);
	mbr_entry(disk_buf, 2, 0, 0x83, 10000, 100000);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 3);
	assert_true(has_warning(&pt, "partitions 1 and 2 overlap"));
	assert_true(has_warning(&pt, "partition 3 [5120000, +51200000) runs "
				"past the end"));
	vmie_ptable_free(&pt);
	/* invalid status bytes: not a partition table */
	new_disk(1 << 20);
	mbr_entry(disk_buf, 0, 0x12, 0x83, 2048, 100);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_NONE);
	vmie_ptable_free(&pt);
	/* a FAT boot sector on the whole disk */
	new_disk(1 << 20);
	disk_buf[0] = 0xeb; disk_buf[1] = 0x58; disk_buf[2] = 0x90;
	vmie_put_le16(disk_buf + 11, 512);
	disk_buf[13] = 8;
	vmie_put_le16(disk_buf + 14, 32);
	disk_buf[16] = 2;
	disk_buf[21] = 0xf8;
	memcpy(disk_buf + 0x52, "FAT32   ", 8);
	disk_buf[510] = 0x55; disk_buf[511] = 0xaa;
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_NONE);
	assert_int_equal(pt.n_parts, 0);
	/* tiny and empty disks */
	new_disk(100);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_NONE);
	new_disk(1 << 20);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_NONE);
	assert_false(pt.mbr_signature);
}

static void test_gpt_basic(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 512, 4096 };
	const struct gpt_part parts[] = {
		{ ESP, 2048, 4095, 0, "EFI System" },
		{ LINUX, 4096, 8191, 4, "root" },
	};
	for (int k = 0; k < 2; k++) {
		struct vmie_ptable pt;
		struct vmie_err e = { 0 };
		uint32_t ss = sizes[k];
		gpt_disk(ss, (size_t)16384 * ss, parts, 2);
		assert_int_equal(read_pt(&pt, &e), 0);
		assert_int_equal(pt.type, VMIE_PT_GPT);
		assert_int_equal(pt.sector_size, ss);
		assert_true(pt.protective_mbr);
		assert_false(pt.hybrid_mbr);
		assert_true(pt.gpt_primary_ok);
		assert_true(pt.gpt_backup_ok);
		assert_string_equal(pt.gpt_disk_guid,
				    "01234567-89ab-cdef-0011-223344556677");
		assert_int_equal(pt.n_parts, 2);
		assert_int_equal(pt.parts[0].start, (uint64_t)2048 * ss);
		assert_int_equal(pt.parts[0].size, (uint64_t)2048 * ss);
		assert_string_equal(pt.parts[0].kind, "esp");
		assert_string_equal(pt.parts[0].name, "EFI System");
		assert_string_equal(pt.parts[0].type_guid, ESP);
		assert_string_equal(pt.parts[0].part_guid,
				    "43424140-4544-4746-4849-4a4b4c4d4e4f");
		assert_false(pt.parts[0].bootable);
		assert_true(pt.parts[1].bootable);
		assert_string_equal(pt.parts[1].kind, "linux");
		assert_int_equal(pt.n_warnings, 0);
		vmie_ptable_free(&pt);
	}
}

static void test_gpt_names_and_ldm(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	const struct gpt_part parts[] = {
		{ LDM, 2048, 4095, 0, NULL },
	};
	gpt_disk(512, 8 << 20, parts, 1);
	/* "é" and U+1F600 (surrogate pair) and a lone surrogate */
	uint8_t *name = disk_buf + 2 * 512 + 56;
	vmie_put_le16(name, 0xe9);
	vmie_put_le16(name + 2, 0xd83d);
	vmie_put_le16(name + 4, 0xde00);
	vmie_put_le16(name + 6, 0xdc00);
	vmie_put_le16(name + 8, 'x');
	/* fix the array and header CRCs */
	uint8_t *h = disk_buf + 512;
	vmie_put_le32(h + 88, vmie_crc32(0, disk_buf + 1024, 128 * 128));
	vmie_put_le32(h + 16, 0);
	vmie_put_le32(h + 16, vmie_crc32(0, h, 92));
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_true(pt.ldm);
	assert_string_equal(pt.parts[0].kind, "ldm-metadata");
	assert_string_equal(pt.parts[0].name, "\xc3\xa9\xf0\x9f\x98\x80"
			    "\xef\xbf\xbdx");
	/* the backup still has no name: it was not used; the only warning
	 * is that the LDM metadata partition holds no database */
	assert_int_equal(pt.n_warnings, 1);
	assert_true(has_warning(&pt, "ldm: database unreadable: no PRIVHEAD "
				"at sector 4095"));
	assert_string_equal(pt.ldm_error, "no PRIVHEAD at sector 4095");
	assert_int_equal(pt.n_ldm_volumes, 0);
	vmie_ptable_free(&pt);
}

static void test_gpt_backup(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	const struct gpt_part parts[] = { { LINUX, 2048, 4095, 0, "a" } };
	gpt_disk(512, 8 << 20, parts, 1);
	disk_buf[512 + 30] ^= 1;       /* primary header CRC now wrong */
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_GPT);
	assert_false(pt.gpt_primary_ok);
	assert_true(pt.gpt_backup_ok);
	assert_true(has_warning(&pt, "primary header bad (header at LBA 1: "
				"header CRC-32 mismatch); using the backup"));
	assert_int_equal(pt.n_parts, 1);
	assert_string_equal(pt.parts[0].name, "a");
	vmie_ptable_free(&pt);
	/* backup bad too: an error naming both */
	disk_buf[disk_len - 512 + 30] ^= 1;
	assert_int_equal(read_pt(&pt, &e), VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "primary header bad"));
	assert_non_null(strstr(e.msg, "backup header bad"));
	assert_string_equal(e.rule, "FMT-005");
	/* primary fine, backup bad: a warning only */
	gpt_disk(512, 8 << 20, parts, 1);
	disk_buf[disk_len - 512 + 30] ^= 1;
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_true(pt.gpt_primary_ok);
	assert_false(pt.gpt_backup_ok);
	assert_true(has_warning(&pt, "backup header bad"));
	vmie_ptable_free(&pt);
}

static void test_gpt_hostile_counts(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	const struct gpt_part parts[] = { { LINUX, 2048, 4095, 0, "a" } };
	uint64_t last = (8 << 20) / 512 - 1;

	/* 2^31 entries in both headers */
	gpt_disk(512, 8 << 20, parts, 1);
	gpt_header(512, 1, last, 2, 0x80000000u, 128, parts, 1);
	gpt_header(512, last, 1, last - 32, 0x80000000u, 128, parts, 1);
	assert_int_equal(read_pt(&pt, &e), VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "2147483648 partition entries"));

	/* entry size 0 */
	gpt_disk(512, 8 << 20, parts, 1);
	gpt_header(512, 1, last, 2, 128, 0, parts, 1);
	gpt_header(512, last, 1, last - 32, 128, 0, parts, 1);
	assert_int_equal(read_pt(&pt, &e), VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "partition entry size 0 is invalid"));

	/* huge entry size, entry array LBA past the disk, header size */
	gpt_disk(512, 8 << 20, parts, 1);
	gpt_header(512, 1, last, 2, 4, 0x80000000u, parts, 1);
	gpt_header(512, last, 1, UINT64_MAX / 2, 128, 128, parts, 1);
	assert_int_equal(read_pt(&pt, &e), VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "outside the disk"));

	/* only the primary is hostile: the backup is used */
	gpt_disk(512, 8 << 20, parts, 1);
	gpt_header(512, 1, last, 2, 0x80000000u, 128, parts, 1);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_true(has_warning(&pt, "using the backup"));
	assert_int_equal(pt.n_parts, 1);
	vmie_ptable_free(&pt);
}

static void test_gpt_bad_partitions(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	const struct gpt_part parts[] = {
		{ LINUX, 2048, 4095, 0, "a" },
		{ LINUX, 3000, 5000, 0, "overlaps a" },
		{ LINUX, 100000, 200000, 0, "past the end" },
		{ LINUX, 9000, 8000, 0, "backwards" },
		{ LINUX, UINT64_MAX - 1, UINT64_MAX, 0, "overflow" },
	};
	gpt_disk(512, 8 << 20, parts, 5);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.n_parts, 3);
	assert_true(has_warning(&pt, "partitions 1 and 2 overlap"));
	assert_true(has_warning(&pt, "partition 3 (LBA 100000..200000) is "
				"outside the usable LBAs"));
	assert_true(has_warning(&pt, "entry 4 has an invalid range"));
	assert_true(has_warning(&pt, "entry 5 has an invalid range"));
	vmie_ptable_free(&pt);
}

static void test_hybrid_and_no_pmbr(void **state)
{
	(void)state;
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	const struct gpt_part parts[] = { { LINUX, 2048, 4095, 0, "a" } };
	gpt_disk(512, 8 << 20, parts, 1);
	mbr_entry(disk_buf, 1, 0x80, 0x83, 2048, 2048);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_GPT);
	assert_true(pt.hybrid_mbr);
	assert_int_equal(pt.n_primary, 2);
	vmie_ptable_free(&pt);
	/* a GPT with no MBR at all */
	memset(disk_buf, 0, 512);
	assert_int_equal(read_pt(&pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_GPT);
	assert_true(has_warning(&pt, "no protective MBR"));
	vmie_ptable_free(&pt);
	/* protective MBR, no GPT anywhere */
	new_disk(8 << 20);
	mbr_entry(disk_buf, 0, 0, 0xee, 1, 10000);
	assert_int_equal(read_pt(&pt, &e), VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "protective MBR but no GPT header"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_mbr_primaries),
		cmocka_unit_test(test_ebr_logicals),
		cmocka_unit_test(test_ebr_loop),
		cmocka_unit_test(test_ebr_past_disk),
		cmocka_unit_test(test_ebr_too_many),
		cmocka_unit_test(test_mbr_oddities),
		cmocka_unit_test(test_gpt_basic),
		cmocka_unit_test(test_gpt_names_and_ldm),
		cmocka_unit_test(test_gpt_backup),
		cmocka_unit_test(test_gpt_hostile_counts),
		cmocka_unit_test(test_gpt_bad_partitions),
		cmocka_unit_test(test_hybrid_and_no_pmbr),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	free(disk_buf);
	return r;
}
