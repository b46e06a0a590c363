/*
 * GPT reader (UEFI specification 2.10, section 5.3): the primary header at
 * LBA 1 and the backup at the last LBA (or where the primary says), both
 * with their header CRC-32 and partition-entry-array CRC-32; the backup is
 * used when the primary is bad.  512- and 4096-byte logical sectors are
 * recognised by where "EFI PART" is found.  Layout: part_disk.h.
 *
 * Every number in a header is checked before use: header size, entry
 * size (>= 128, multiple of 8, <= GPT_MAX_ENTRY_SIZE), entry count and
 * array size (<= GPT_MAX_ENTRIES, <= GPT_MAX_ARRAY), and the array must lie
 * inside the disk.
 */
#include "part.h"
#include "part_disk.h"
#include "part_int.h"
#include "../core/budget.h"
#include "../core/checked.h"
#include "../core/endian.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPT_MAX_ENTRIES     PART_MAX_PARTS
#define GPT_MAX_ARRAY       ((uint64_t)1 << 20)
#define GPT_MAX_ENTRY_SIZE  4096

struct gpt_hdr {
	uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
	uint32_t n_entries, entry_size, entries_crc;
	uint8_t disk_guid[16];
};

enum gpt_load_result { GPT_OK = 0, GPT_NO_SIG = 1, GPT_BAD = 2 };

/* Read the header at lba and its entry array.  Returns GPT_OK (with
 * *arr allocated), GPT_NO_SIG, GPT_BAD (why says what is wrong), or a
 * negative error (I/O, memory). */
static int gpt_load(struct vmie_image *disk, uint32_t ss, uint64_t lba,
		    struct gpt_hdr *h, uint8_t **arr, char *why,
		    size_t why_len, struct vmie_err *err)
{
	uint8_t *s = NULL, *a = NULL;
	uint64_t n_lbas = disk->size / ss, arr_bytes, arr_off;
	uint32_t hsize, crc;
	int r;

	*arr = NULL;
	if (lba >= n_lbas || lba < 1) {
		snprintf(why, why_len, "LBA %llu is outside the disk",
			 (unsigned long long)lba);
		return GPT_BAD;
	}
	s = malloc(ss);
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	r = vmie_image_pread(disk, s, ss, lba * ss, err);
	if (r)
		goto out;
	if (memcmp(s + GPT_H_SIG, GPT_SIGNATURE, 8)) {
		r = GPT_NO_SIG;
		goto out;
	}
	r = GPT_BAD;
	hsize = vmie_le32(s + GPT_H_SIZE);
	if (hsize < GPT_HEADER_MIN || hsize > ss) {
		snprintf(why, why_len, "header at LBA %llu: header size %u "
			 "out of range", (unsigned long long)lba, hsize);
		goto out;
	}
	crc = vmie_le32(s + GPT_H_CRC);
	memset(s + GPT_H_CRC, 0, 4);
	if (vmie_crc32(0, s, hsize) != crc) {
		snprintf(why, why_len, "header at LBA %llu: header CRC-32 "
			 "mismatch", (unsigned long long)lba);
		goto out;
	}
	h->my_lba = vmie_le64(s + GPT_H_MY_LBA);
	h->alt_lba = vmie_le64(s + GPT_H_ALT_LBA);
	h->first_usable = vmie_le64(s + GPT_H_FIRST_USABLE);
	h->last_usable = vmie_le64(s + GPT_H_LAST_USABLE);
	memcpy(h->disk_guid, s + GPT_H_DISK_GUID, 16);
	h->entries_lba = vmie_le64(s + GPT_H_ENTRIES_LBA);
	h->n_entries = vmie_le32(s + GPT_H_N_ENTRIES);
	h->entry_size = vmie_le32(s + GPT_H_ENTRY_SIZE);
	h->entries_crc = vmie_le32(s + GPT_H_ENTRIES_CRC);
	if (h->my_lba != lba) {
		snprintf(why, why_len, "header at LBA %llu says it is at LBA "
			 "%llu", (unsigned long long)lba,
			 (unsigned long long)h->my_lba);
		goto out;
	}
	if (h->first_usable > h->last_usable) {
		snprintf(why, why_len, "header at LBA %llu: first usable LBA "
			 "%llu after last usable LBA %llu",
			 (unsigned long long)lba,
			 (unsigned long long)h->first_usable,
			 (unsigned long long)h->last_usable);
		goto out;
	}
	if (h->entry_size < GPT_ENTRY_MIN || h->entry_size % 8 ||
	    h->entry_size > GPT_MAX_ENTRY_SIZE) {
		snprintf(why, why_len, "header at LBA %llu: partition entry "
			 "size %u is invalid (128..%u, multiple of 8)",
			 (unsigned long long)lba, h->entry_size,
			 GPT_MAX_ENTRY_SIZE);
		goto out;
	}
	arr_bytes = (uint64_t)h->n_entries * h->entry_size;
	if (h->n_entries > GPT_MAX_ENTRIES || arr_bytes > GPT_MAX_ARRAY) {
		snprintf(why, why_len, "header at LBA %llu: %u partition "
			 "entries of %u bytes is more than vmie reads (%u "
			 "entries, %llu bytes)", (unsigned long long)lba,
			 h->n_entries, h->entry_size, GPT_MAX_ENTRIES,
			 (unsigned long long)GPT_MAX_ARRAY);
		goto out;
	}
	if (h->entries_lba == lba || vmie_mul_u64(h->entries_lba, ss, &arr_off) ||
	    vmie_range_outside(arr_off, arr_bytes, disk->size) ||
	    (arr_off <= lba * ss && lba * ss < arr_off + arr_bytes)) {
		snprintf(why, why_len, "header at LBA %llu: partition entry "
			 "array at LBA %llu (%llu bytes) is outside the disk "
			 "or over the header", (unsigned long long)lba,
			 (unsigned long long)h->entries_lba,
			 (unsigned long long)arr_bytes);
		goto out;
	}
	{
		char where[80];
		snprintf(where, sizeof where, "gpt: partition entries at LBA "
			 "%llu", (unsigned long long)h->entries_lba);
		int rr = vmie_budget_entries(disk->budget, h->n_entries, where,
					     err);
		if (rr) {
			r = rr;
			goto out;
		}
	}
	a = malloc(arr_bytes ? arr_bytes : 1);
	if (!a) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (arr_bytes) {
		int rr = vmie_image_pread(disk, a, arr_bytes, arr_off, err);
		if (rr) {
			r = rr;
			goto out;
		}
	}
	if (vmie_crc32(0, a, arr_bytes) != h->entries_crc) {
		snprintf(why, why_len, "header at LBA %llu: partition entry "
			 "array CRC-32 mismatch", (unsigned long long)lba);
		goto out;
	}
	*arr = a;
	a = NULL;
	r = GPT_OK;
out:
	free(s);
	free(a);
	return r;
}

/* UTF-16LE (up to n units, NUL-terminated or not) to UTF-8 in out. */
static void gpt_name_utf8(const uint8_t *in, unsigned n, char *out,
			  size_t out_len)
{
	size_t o = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t c = vmie_le16(in + 2 * i);
		uint8_t b[4];
		size_t k;
		if (!c)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
			uint32_t lo = vmie_le16(in + 2 * (i + 1));
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		if (c < 0x80) {
			b[0] = (uint8_t)c;
			k = 1;
		} else if (c < 0x800) {
			b[0] = (uint8_t)(0xc0 | c >> 6);
			b[1] = (uint8_t)(0x80 | (c & 0x3f));
			k = 2;
		} else if (c < 0x10000) {
			b[0] = (uint8_t)(0xe0 | c >> 12);
			b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (uint8_t)(0x80 | (c & 0x3f));
			k = 3;
		} else {
			b[0] = (uint8_t)(0xf0 | c >> 18);
			b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (uint8_t)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (o + k >= out_len)
			break;
		memcpy(out + o, b, k);
		o += k;
	}
	out[o] = 0;
}

static const struct {
	const char *guid, *kind;
} gpt_kinds[] = {
	{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp" },
	{ "21686148-6449-6e6f-744e-656564454649", "bios-boot" },
	{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "ms-basic-data" },
	{ "e3c9e316-0b5c-4db8-817d-f92df00215ae", "ms-reserved" },
	{ "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "ms-recovery" },
	{ "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", "ldm-metadata" },
	{ "af9b60a0-1431-4f62-bc68-3311714a69ad", "ldm-data" },
	{ "0fc63daf-8483-4772-8e79-3d69d8477de4", "linux" },
	{ "e6d6d379-f507-44c2-a23c-238f2a3df928", "linux-lvm" },
	{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "linux-swap" },
	{ "a19d880f-05fc-4d3b-a006-743f0f84911e", "linux-raid" },
	/* Discoverable Partitions Specification: root and /usr, x86-64,
	 * x86, aarch64; /home, /srv, /var, /boot (XBOOTLDR) */
	{ "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "linux" },
	{ "44479540-f297-41b2-9af7-d131d5f0458a", "linux" },
	{ "b921b045-1df0-41c3-af44-4c6f280d3fae", "linux" },
	{ "8484680c-9521-48c6-9c11-b0720656f69e", "linux" },
	{ "75250d76-8cc6-458e-bd66-bd47cc81a812", "linux" },
	{ "b0e01050-ee5f-4390-949a-9101b17104e9", "linux" },
	{ "933ac7e1-2eb4-4f13-b844-0e14e2aef915", "linux" },
	{ "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", "linux" },
	{ "4d21b016-b534-45c2-a9fb-5c16e091fd2d", "linux" },
	{ "bc13c2ff-59e6-4262-a352-b275fd6f7172", "linux" },
};

const char *part_gpt_kind(const char *guid)
{
	for (size_t i = 0; i < sizeof gpt_kinds / sizeof *gpt_kinds; i++)
		if (!strcmp(gpt_kinds[i].guid, guid))
			return gpt_kinds[i].kind;
	return "unknown";
}

static int gpt_entries(struct vmie_ptable *pt, const struct gpt_hdr *h,
		       const uint8_t *arr, uint32_t ss, uint64_t n_lbas,
		       struct vmie_err *err)
{
	unsigned outside = 0;
	for (uint32_t i = 0; i < h->n_entries; i++) {
		const uint8_t *e = arr + (size_t)i * h->entry_size;
		struct vmie_partition p;
		uint64_t first, last, start, size;
		int r;
		if (vmie_is_zero(e + GPT_E_TYPE, 16))
			continue;
		first = vmie_le64(e + GPT_E_FIRST);
		last = vmie_le64(e + GPT_E_LAST);
		if (first > last || vmie_mul_u64(first, ss, &start) ||
		    vmie_mul_u64(last - first + 1, ss, &size) ||
		    last - first + 1 == 0) {
			part_warn(pt, "gpt: entry %u has an invalid range "
				  "(LBA %llu..%llu); ignored", i + 1,
				  (unsigned long long)first,
				  (unsigned long long)last);
			continue;
		}
		if ((first < h->first_usable || last > h->last_usable ||
		     last >= n_lbas) && outside++ < 2)
			part_warn(pt, "gpt: partition %u (LBA %llu..%llu) is "
				  "outside the usable LBAs %llu..%llu", i + 1,
				  (unsigned long long)first,
				  (unsigned long long)last,
				  (unsigned long long)h->first_usable,
				  (unsigned long long)h->last_usable);
		memset(&p, 0, sizeof p);
		p.number = i + 1;
		p.start = start;
		p.size = size;
		p.bootable = (vmie_le64(e + GPT_E_ATTR) & GPT_ATTR_LEGACY_BOOT) != 0;
		vmie_guid_ms(p.type_guid, e + GPT_E_TYPE);
		vmie_guid_ms(p.part_guid, e + GPT_E_GUID);
		gpt_name_utf8(e + GPT_E_NAME, GPT_E_NAME_UNITS, p.name,
			      sizeof p.name);
		vmie_strlcpy(p.kind, part_gpt_kind(p.type_guid), sizeof p.kind);
		if (!strncmp(p.kind, "ldm-", 4))
			pt->ldm = true;
		r = part_add(pt, &p, err);
		if (r)
			return r;
	}
	return 0;
}

int part_gpt_read(struct vmie_image *disk, struct vmie_ptable *pt,
		  bool *found, struct vmie_err *err)
{
	static const uint32_t sizes[] = { 512, 4096 };
	struct gpt_hdr hp, hb, *h = NULL;
	uint8_t *ap = NULL, *ab = NULL;
	char whyp[200] = "", whyb[200] = "";
	int rp = GPT_NO_SIG, rb = GPT_NO_SIG, r = 0;
	uint32_t ss = 0;
	uint64_t n_lbas = 0, last;

	*found = false;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		ss = sizes[i];
		n_lbas = disk->size / ss;
		if (n_lbas < 3) {
			ss = 0;
			continue;
		}
		rp = gpt_load(disk, ss, 1, &hp, &ap, whyp, sizeof whyp, err);
		if (rp < 0)
			return rp;
		if (rp == GPT_OK) {
			/* the backup, where the primary says it is */
			uint64_t at = hp.alt_lba < n_lbas && hp.alt_lba > 1 ?
				      hp.alt_lba : n_lbas - 1;
			rb = gpt_load(disk, ss, at, &hb, &ab, whyb,
				      sizeof whyb, err);
			if (rb == GPT_NO_SIG && at != n_lbas - 1) {
				free(ab);
				ab = NULL;
				rb = gpt_load(disk, ss, n_lbas - 1, &hb, &ab,
					      whyb, sizeof whyb, err);
			}
			if (rb == GPT_NO_SIG)
				snprintf(whyb, sizeof whyb, "no header at LBA "
					 "%llu", (unsigned long long)at);
		} else {
			rb = gpt_load(disk, ss, n_lbas - 1, &hb, &ab, whyb,
				      sizeof whyb, err);
		}
		if (rb < 0) {
			free(ap);
			return rb;
		}
		if (rp != GPT_NO_SIG || rb != GPT_NO_SIG)
			break;
		ss = 0;
	}
	if (!ss)
		return 0;       /* no GPT at all */

	*found = true;
	last = n_lbas - 1;
	pt->gpt_primary_ok = rp == GPT_OK;
	pt->gpt_backup_ok = rb == GPT_OK;
	if (rp == GPT_OK) {
		h = &hp;
		if (rb != GPT_OK)
			part_warn(pt, "gpt: backup header bad (%s)", whyb);
		else if (hb.my_lba != last)
			part_warn(pt, "gpt: backup header at LBA %llu, not at "
				  "the last LBA %llu (disk resized?)",
				  (unsigned long long)hb.my_lba,
				  (unsigned long long)last);
	} else if (rb == GPT_OK) {
		h = &hb;
		part_warn(pt, "gpt: primary header bad (%s); using the backup "
			  "at LBA %llu", rp == GPT_NO_SIG ? "no header at LBA 1"
			  : whyp, (unsigned long long)last);
	} else {
		r = VMIE_CORRUPT(err, "gpt: primary header bad (%s) and backup "
				 "header bad (%s)",
				 rp == GPT_NO_SIG ? "no header at LBA 1" : whyp,
				 rb == GPT_NO_SIG ? "no header at the last LBA"
				 : whyb);
		goto out;
	}
	pt->type = VMIE_PT_GPT;
	pt->sector_size = ss;
	vmie_guid_ms(pt->gpt_disk_guid, h->disk_guid);
	if (h->last_usable >= n_lbas)
		part_warn(pt, "gpt: last usable LBA %llu is past the end of "
			  "the disk (%llu sectors): truncated image?",
			  (unsigned long long)h->last_usable,
			  (unsigned long long)n_lbas);
	r = gpt_entries(pt, h, h == &hp ? ap : ab, ss, n_lbas, err);
	if (!r)
		part_check_layout(pt);
out:
	free(ap);
	free(ab);
	return r;
}
