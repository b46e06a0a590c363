/*
 * vhdx: the VHDX driver (reader), following [MS-VHDX] "Virtual Hard Disk v2
 * (VHDX) File Format"; layouts in vhdx_disk.h, log replay in vhdx_log.c,
 * the writer in vhdx_write.c.
 *
 * Open: file type identifier, the two headers (CRC-32C; the valid one with
 * the higher sequence number is active; equal numbers are accepted when the
 * two headers are identical), log replay in memory when the active header
 * names a log, the region table (the copy at 256 KiB when the one at
 * 192 KiB is damaged), the metadata region, then the BAT.  Differencing
 * disks (file parameter "has parent") are refused with FMT-004 unless the
 * caller only wants info.  Every offset and length read is checked against
 * the file size and the specification's limits before use.
 */
#include "../image.h"
#include "core/checked.h"
#include "core/util.h"
#include "vhd_common.h"
#include "vhdx_disk.h"
#include "vhdx_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t vhdx_guid_bat[16] = VHDX_GUID_BAT;
static const uint8_t vhdx_guid_meta[16] = VHDX_GUID_METADATA;
static const uint8_t vhdx_guid_params[16] = VHDX_GUID_FILE_PARAMS;
static const uint8_t vhdx_guid_size[16] = VHDX_GUID_DISK_SIZE;
static const uint8_t vhdx_guid_page83[16] = VHDX_GUID_PAGE83;
static const uint8_t vhdx_guid_lsec[16] = VHDX_GUID_LOGICAL_SECTOR;
static const uint8_t vhdx_guid_psec[16] = VHDX_GUID_PHYSICAL_SECTOR;
static const uint8_t vhdx_guid_parent[16] = VHDX_GUID_PARENT_LOCATOR;
static const uint8_t vhdx_guid_zero[16];

struct vhdx_span {
	uint64_t off, end;
	const char *what;
	uint64_t idx;
};

struct vhdx_state {
	struct vmie_src *rs;       /* img->src, or the log-replay source */
	struct vhdx_header_disk hdr;
	unsigned active;           /* 1 or 2 */
	bool hvalid[2];
	uint64_t hseq[2];
	uint64_t bat_off, meta_off;
	uint32_t bat_len, meta_len;
	uint32_t n_regions;
	uint32_t block_size, lsec, psec, params;
	uint8_t page83[16];
	uint64_t chunk_ratio, n_blocks, n_bat;
	uint64_t *bat;
	char creator[128];
	char parent[256];
	bool log_present;
	struct vhdx_log_result log;
	char note[160];
};

static int vhdx_probe(struct vmie_src *src, const uint8_t *head, size_t len)
{
	uint8_t h[VHDX_HEADER_SIZE];
	(void)len;
	if (len < 8 || memcmp(head, "vhdxfile", 8))
		return 0;
	/* a header signature too: more bits verified */
	if (src->size >= VHDX_HEADER1_OFF + VHDX_HEADER_SIZE &&
	    !vmie_src_pread(src, h, sizeof h, VHDX_HEADER1_OFF, NULL) &&
	    !memcmp(h, "head", 4))
		return 100;
	return 80;
}

/* Validate one header; reason gets why not. */
static bool vhdx_header_ok(const uint8_t *b, char *why, size_t why_size)
{
	uint32_t want;
	if (memcmp(b, "head", 4)) {
		snprintf(why, why_size, "no \"head\" signature");
		return false;
	}
	want = vhdx_crc(b, VHDX_HEADER_SIZE, 4);
	if (want != vmie_le32(b + 4)) {
		snprintf(why, why_size, "bad CRC-32C: stored 0x%08x, expected "
			 "0x%08x", vmie_le32(b + 4), want);
		return false;
	}
	if (vmie_le16(b + 0x42) != 1) {
		snprintf(why, why_size, "version %u is not 1",
			 vmie_le16(b + 0x42));
		return false;
	}
	return true;
}

static int vhdx_read_headers(struct vmie_image *img, struct vhdx_state *s,
			     struct vmie_err *err)
{
	uint8_t b[2][VHDX_HEADER_SIZE];
	char why[2][96];
	const uint64_t at[2] = { VHDX_HEADER1_OFF, VHDX_HEADER2_OFF };
	int r;
	for (int i = 0; i < 2; i++) {
		r = vmie_src_pread(img->src, b[i], VHDX_HEADER_SIZE, at[i], err);
		if (r)
			return r;
		s->hvalid[i] = vhdx_header_ok(b[i], why[i], sizeof why[i]);
		s->hseq[i] = vmie_le64(b[i] + 8);
	}
	if (!s->hvalid[0] && !s->hvalid[1])
		return VMIE_CORRUPT(err, "vhdx: %s: both headers are invalid "
				    "(at 64 KiB: %s; at 128 KiB: %s)", img->name,
				    why[0], why[1]);
	if (s->hvalid[0] && s->hvalid[1] && s->hseq[0] == s->hseq[1] &&
	    memcmp(b[0], b[1], VHDX_HEADER_SIZE))
		return VMIE_CORRUPT(err, "vhdx: %s: both headers have sequence "
				    "number %llu but differ: cannot tell which "
				    "is current", img->name,
				    (unsigned long long)s->hseq[0]);
	if (s->hvalid[0] && (!s->hvalid[1] || s->hseq[0] >= s->hseq[1]))
		s->active = 1;
	else
		s->active = 2;
	vhdx_header_decode(&s->hdr, b[s->active - 1]);
	if (s->hdr.log_version != 0)
		return VMIE_ERR(err, VMIE_EUNSUPP, "vhdx: %s: log version %u "
				"is not 0", img->name, s->hdr.log_version);
	if (s->hdr.log_length % VHDX_MiB || s->hdr.log_offset % VHDX_MiB ||
	    (s->hdr.log_length && s->hdr.log_offset < VHDX_MiB) ||
	    s->hdr.log_offset > VMIE_MAX_VIRTUAL_SIZE)
		return VMIE_CORRUPT(err, "vhdx: %s: header %u: log at offset "
				    "0x%llx, length %u is not in whole MiB "
				    "after the first MiB", img->name, s->active,
				    (unsigned long long)s->hdr.log_offset,
				    s->hdr.log_length);
	return 0;
}

static void vhdx_guid_str(char *out, const uint8_t *g)
{
	vmie_guid_ms(out, g);
}

/* Regions must not overlap each other, the header section or the log. */
static int vhdx_span_cmp(const void *a, const void *b)
{
	const struct vhdx_span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int vhdx_read_regions(struct vmie_image *img, struct vhdx_state *s,
			     struct vmie_err *err)
{
	uint8_t *b = malloc(VHDX_REGION_SIZE);
	struct vhdx_span sp[VHDX_REGION_MAX_ENTRIES + 2];
	size_t nsp = 0;
	bool have_bat = false, have_meta = false;
	int r = 0, which = 0;
	char why[2][96];
	const uint64_t at[2] = { VHDX_REGION1_OFF, VHDX_REGION2_OFF };

	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
	for (which = 0; which < 2; which++) {
		uint32_t want;
		r = vmie_src_pread(s->rs, b, VHDX_REGION_SIZE, at[which], err);
		if (r)
			goto out;
		if (memcmp(b, "regi", 4)) {
			snprintf(why[which], sizeof why[which],
				 "no \"regi\" signature");
			continue;
		}
		want = vhdx_crc(b, VHDX_REGION_SIZE, 4);
		if (want != vmie_le32(b + 4)) {
			snprintf(why[which], sizeof why[which], "bad CRC-32C: "
				 "stored 0x%08x, expected 0x%08x",
				 vmie_le32(b + 4), want);
			continue;
		}
		break;
	}
	if (which == 2) {
		r = VMIE_CORRUPT(err, "vhdx: %s: both region tables are invalid "
				 "(at 192 KiB: %s; at 256 KiB: %s)", img->name,
				 why[0], why[1]);
		goto out;
	}
	s->n_regions = vmie_le32(b + 8);
	if (s->n_regions > VHDX_REGION_MAX_ENTRIES) {
		r = VMIE_CORRUPT(err, "vhdx: %s: region table at %u KiB has %u "
				 "entries (at most %u)", img->name,
				 (unsigned)(at[which] >> 10), s->n_regions,
				 VHDX_REGION_MAX_ENTRIES);
		goto out;
	}
	r = vmie_budget_entries(img->budget, s->n_regions,
				"vhdx: region table", err);
	if (r)
		goto out;
	sp[nsp++] = (struct vhdx_span){ 0, VHDX_MiB, "the header section", 0 };
	if (s->log_present || s->hdr.log_length)
		sp[nsp++] = (struct vhdx_span){ s->hdr.log_offset,
			s->hdr.log_offset + s->hdr.log_length, "the log", 0 };
	for (uint32_t i = 0; i < s->n_regions; i++) {
		struct vhdx_region_entry_disk e;
		char g[40];
		vhdx_region_entry_decode(&e, b + 16 + 32 * (size_t)i);
		vhdx_guid_str(g, e.guid);
		bool is_bat = !memcmp(e.guid, vhdx_guid_bat, 16);
		bool is_meta = !memcmp(e.guid, vhdx_guid_meta, 16);
		if (!is_bat && !is_meta) {
			if (e.flags & 1) {
				r = VMIE_ERR(err, VMIE_EUNSUPP, "vhdx: %s: "
					     "region %s is marked required but "
					     "is unknown to vmie", img->name, g);
				goto out;
			}
		}
		if (e.file_offset % VHDX_MiB || e.file_offset < VHDX_MiB ||
		    e.length % VHDX_MiB || !e.length) {
			r = VMIE_CORRUPT(err, "vhdx: %s: region %s at 0x%llx, "
					 "length %u is not in whole MiB after "
					 "the first MiB", img->name, g,
					 (unsigned long long)e.file_offset,
					 e.length);
			goto out;
		}
		if (vmie_range_outside(e.file_offset, e.length, s->rs->size)) {
			r = VMIE_CORRUPT(err, "vhdx: %s: region %s at 0x%llx "
					 "(%u bytes) extends past the end of "
					 "the file (%llu bytes)", img->name, g,
					 (unsigned long long)e.file_offset,
					 e.length,
					 (unsigned long long)s->rs->size);
			goto out;
		}
		if ((is_bat && have_bat) || (is_meta && have_meta)) {
			r = VMIE_CORRUPT(err, "vhdx: %s: region %s appears "
					 "twice in the region table", img->name,
					 g);
			goto out;
		}
		if (is_bat) {
			have_bat = true;
			s->bat_off = e.file_offset;
			s->bat_len = e.length;
		} else if (is_meta) {
			have_meta = true;
			s->meta_off = e.file_offset;
			s->meta_len = e.length;
		}
		sp[nsp++] = (struct vhdx_span){ e.file_offset,
			e.file_offset + e.length,
			is_bat ? "the BAT region" : is_meta ?
			"the metadata region" : "a region", i };
	}
	if (!have_bat || !have_meta) {
		r = VMIE_CORRUPT(err, "vhdx: %s: the region table has no %s "
				 "region", img->name, have_bat ? "metadata" :
				 "BAT");
		goto out;
	}
	qsort(sp, nsp, sizeof *sp, vhdx_span_cmp);
	for (size_t i = 1; i < nsp; i++)
		if (sp[i].off < sp[i - 1].end) {
			r = VMIE_CORRUPT(err, "vhdx: %s: %s (0x%llx..0x%llx) "
					 "overlaps %s (0x%llx..0x%llx)",
					 img->name, sp[i].what,
					 (unsigned long long)sp[i].off,
					 (unsigned long long)sp[i].end,
					 sp[i - 1].what,
					 (unsigned long long)sp[i - 1].off,
					 (unsigned long long)sp[i - 1].end);
			goto out;
		}
out:
	free(b);
	return r;
}

/* Parent locator (2.6.2.6): a header then key/value UTF-16LE strings.  Pick
 * the most useful name for info. */
static void vhdx_parse_parent(struct vhdx_state *s, const uint8_t *p,
			      uint32_t len)
{
	static const char *const pref[] = { "relative_path", "volume_path",
					    "absolute_win32_path" };
	int best = 99;
	if (len < 20)
		return;
	uint16_t n = vmie_le16(p + 18);
	if (20 + (uint64_t)n * 12 > len)
		return;
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = p + 20 + 12 * (size_t)i;
		uint32_t ko = vmie_le32(e), vo = vmie_le32(e + 4);
		uint16_t kl = vmie_le16(e + 8), vl = vmie_le16(e + 10);
		char key[40], val[256];
		if (vmie_range_outside(ko, kl, len) ||
		    vmie_range_outside(vo, vl, len))
			continue;
		vmie_vhd_utf16_to_utf8(p + ko, kl / 2, false, key, sizeof key);
		for (int k = 0; k < 3; k++)
			if (!strcmp(key, pref[k]) && k < best) {
				vmie_vhd_utf16_to_utf8(p + vo, vl / 2, false,
						       val, sizeof val);
				vmie_strlcpy(s->parent, val, sizeof s->parent);
				best = k;
			}
	}
}

static int vhdx_read_metadata(struct vmie_image *img, struct vhdx_state *s,
			      struct vmie_err *err)
{
	uint8_t *t = malloc(VHDX_META_TABLE_SIZE), *item = NULL;
	bool seen[6] = { false };
	uint64_t disk_size = 0;
	int r = 0;
	uint16_t n;

	if (!t)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
	if (s->meta_len < VHDX_META_TABLE_SIZE) {
		r = VMIE_CORRUPT(err, "vhdx: %s: metadata region of %u bytes is "
				 "smaller than its table", img->name,
				 s->meta_len);
		goto out;
	}
	r = vmie_src_pread(s->rs, t, VHDX_META_TABLE_SIZE, s->meta_off, err);
	if (r)
		goto out;
	if (memcmp(t, "metadata", 8)) {
		r = VMIE_CORRUPT(err, "vhdx: %s: no \"metadata\" signature at "
				 "0x%llx", img->name,
				 (unsigned long long)s->meta_off);
		goto out;
	}
	n = vmie_le16(t + 10);
	if (n > VHDX_META_MAX_ENTRIES) {
		r = VMIE_CORRUPT(err, "vhdx: %s: metadata table has %u entries "
				 "(at most %u)", img->name, n,
				 VHDX_META_MAX_ENTRIES);
		goto out;
	}
	r = vmie_budget_entries(img->budget, n, "vhdx: metadata table", err);
	if (r)
		goto out;
	item = malloc(VHDX_META_ITEM_MAX);
	if (!item) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
		goto out;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct vhdx_meta_entry_disk e;
		char g[40];
		int k;
		vhdx_meta_entry_decode(&e, t + 32 + 32 * (size_t)i);
		vhdx_guid_str(g, e.item_id);
		if (!memcmp(e.item_id, vhdx_guid_params, 16))
			k = 0;
		else if (!memcmp(e.item_id, vhdx_guid_size, 16))
			k = 1;
		else if (!memcmp(e.item_id, vhdx_guid_lsec, 16))
			k = 2;
		else if (!memcmp(e.item_id, vhdx_guid_psec, 16))
			k = 3;
		else if (!memcmp(e.item_id, vhdx_guid_page83, 16))
			k = 4;
		else if (!memcmp(e.item_id, vhdx_guid_parent, 16))
			k = 5;
		else
			k = -1;
		if (k < 0) {
			if ((e.flags & VHDX_META_IS_REQUIRED) &&
			    !(e.flags & VHDX_META_IS_USER)) {
				r = VMIE_ERR(err, VMIE_EUNSUPP, "vhdx: %s: "
					     "metadata item %s is marked "
					     "required but is unknown to vmie",
					     img->name, g);
				goto out;
			}
			continue;
		}
		if (seen[k]) {
			r = VMIE_CORRUPT(err, "vhdx: %s: metadata item %s "
					 "appears twice", img->name, g);
			goto out;
		}
		seen[k] = true;
		if (e.length > VHDX_META_ITEM_MAX ||
		    (e.length && e.offset < VHDX_META_TABLE_SIZE) ||
		    vmie_range_outside(e.offset, e.length, s->meta_len)) {
			r = VMIE_CORRUPT(err, "vhdx: %s: metadata item %s at "
					 "offset %u, length %u lies outside the "
					 "metadata region (%u bytes)", img->name,
					 g, e.offset, e.length, s->meta_len);
			goto out;
		}
		static const uint32_t need[6] = { 8, 8, 4, 4, 16, 20 };
		if (e.length < need[k]) {
			r = VMIE_CORRUPT(err, "vhdx: %s: metadata item %s is %u "
					 "bytes, expected %u", img->name, g,
					 e.length, need[k]);
			goto out;
		}
		r = vmie_src_pread(s->rs, item, e.length, s->meta_off + e.offset,
				   err);
		if (r)
			goto out;
		switch (k) {
		case 0:
			s->block_size = vmie_le32(item);
			s->params = vmie_le32(item + 4);
			break;
		case 1:
			disk_size = vmie_le64(item);
			break;
		case 2:
			s->lsec = vmie_le32(item);
			break;
		case 3:
			s->psec = vmie_le32(item);
			break;
		case 4:
			memcpy(s->page83, item, 16);
			break;
		case 5:
			vhdx_parse_parent(s, item, e.length);
			break;
		}
	}
	static const char *const names[5] = { "file parameters",
		"virtual disk size", "logical sector size",
		"physical sector size", "page 83 data" };
	for (int k = 0; k < 5; k++)
		if (!seen[k]) {
			r = VMIE_CORRUPT(err, "vhdx: %s: required metadata item "
					 "\"%s\" is missing", img->name,
					 names[k]);
			goto out;
		}
	if (!vmie_is_pow2(s->block_size) || s->block_size < VHDX_MIN_BLOCK ||
	    s->block_size > VHDX_MAX_BLOCK) {
		r = VMIE_CORRUPT(err, "vhdx: %s: block size %u is not a power of "
				 "two between 1 MiB and 256 MiB", img->name,
				 s->block_size);
		goto out;
	}
	if (s->lsec != 512 && s->lsec != 4096) {
		r = VMIE_CORRUPT(err, "vhdx: %s: logical sector size %u is not "
				 "512 or 4096", img->name, s->lsec);
		goto out;
	}
	if (s->psec != 512 && s->psec != 4096) {
		r = VMIE_CORRUPT(err, "vhdx: %s: physical sector size %u is not "
				 "512 or 4096", img->name, s->psec);
		goto out;
	}
	if (disk_size > VHDX_MAX_SIZE || disk_size % s->lsec) {
		r = VMIE_CORRUPT(err, "vhdx: %s: virtual disk size %llu is not "
				 "a multiple of the %u-byte sector up to 64 TiB",
				 img->name, (unsigned long long)disk_size,
				 s->lsec);
		goto out;
	}
	if ((s->params & VHDX_PARAM_HAS_PARENT) && !seen[5])
		snprintf(s->note, sizeof s->note, "has-parent set but no parent "
			 "locator");
	img->size = disk_size;
out:
	free(item);
	free(t);
	return r;
}

static uint64_t vhdx_bat_index(const struct vhdx_state *s, uint64_t blk)
{
	return blk + blk / s->chunk_ratio;
}

static int vhdx_read_bat(struct vmie_image *img, struct vhdx_state *s,
			 struct vmie_err *err)
{
	uint64_t bytes;
	uint8_t *raw;
	int r;

	s->chunk_ratio = ((uint64_t)1 << 23) * s->lsec / s->block_size;
	s->n_blocks = vmie_div_round_up(img->size, s->block_size);
	if (s->params & VHDX_PARAM_HAS_PARENT)
		s->n_bat = vmie_div_round_up(s->n_blocks, s->chunk_ratio) *
			   (s->chunk_ratio + 1);
	else
		s->n_bat = s->n_blocks ? s->n_blocks +
			   (s->n_blocks - 1) / s->chunk_ratio : 0;
	bytes = s->n_bat * 8;
	if (bytes > s->bat_len || bytes > VMIE_MAX_TABLE_BYTES)
		return VMIE_CORRUPT(err, "vhdx: %s: the BAT needs %llu entries "
				    "(%llu bytes) but its region is %u bytes",
				    img->name, (unsigned long long)s->n_bat,
				    (unsigned long long)bytes, s->bat_len);
	raw = malloc(bytes ? bytes : 1);
	s->bat = malloc(bytes ? bytes : 1);
	if (!raw || !s->bat) {
		free(raw);
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory for a "
				"BAT of %llu entries",
				(unsigned long long)s->n_bat);
	}
	r = vmie_budget_read(img->budget, bytes, "vhdx: BAT", err);
	if (!r)
		r = vmie_budget_entries(img->budget, s->n_bat, "vhdx: BAT",
					err);
	if (!r && bytes)
		r = vmie_src_pread(s->rs, raw, bytes, s->bat_off, err);
	for (uint64_t i = 0; !r && i < s->n_bat; i++)
		s->bat[i] = vmie_le64(raw + 8 * i);
	free(raw);
	if (r)
		return r;
	for (uint64_t b = 0; b < s->n_blocks; b++) {
		uint64_t e = s->bat[vhdx_bat_index(s, b)];
		unsigned st = e & 7;
		uint64_t off = e >> 20 << 20;
		uint64_t used = vmie_min_u64(s->block_size,
					     img->size - b * s->block_size);
		switch (st) {
		case VHDX_PAYLOAD_NOT_PRESENT:
		case VHDX_PAYLOAD_UNDEFINED:
		case VHDX_PAYLOAD_ZERO:
		case VHDX_PAYLOAD_UNMAPPED:
			continue;
		case VHDX_PAYLOAD_PARTIALLY_PRESENT:
			if (!(s->params & VHDX_PARAM_HAS_PARENT))
				return VMIE_CORRUPT(err, "vhdx: %s: BAT entry "
						    "for block %llu is "
						    "\"partially present\", "
						    "which only a differencing "
						    "disk may use", img->name,
						    (unsigned long long)b);
			/* fall through */
		case VHDX_PAYLOAD_FULLY_PRESENT:
			if (off < VHDX_MiB)
				return VMIE_CORRUPT(err, "vhdx: %s: BAT entry "
						    "for block %llu points into "
						    "the header section "
						    "(offset 0x%llx)", img->name,
						    (unsigned long long)b,
						    (unsigned long long)off);
			if (vmie_range_outside(off, used, s->rs->size))
				return VMIE_CORRUPT(err, "vhdx: %s: BAT entry "
						    "for block %llu points past "
						    "end of file (offset 0x%llx,"
						    " file is %llu bytes)",
						    img->name,
						    (unsigned long long)b,
						    (unsigned long long)off,
						    (unsigned long long)
						    s->rs->size);
			continue;
		default:
			return VMIE_CORRUPT(err, "vhdx: %s: BAT entry for block "
					    "%llu has invalid state %u",
					    img->name, (unsigned long long)b,
					    st);
		}
	}
	return 0;
}

static int vhdx_open(struct vmie_image *img, const struct vmie_open_opts *o,
		     struct vmie_err *err)
{
	struct vhdx_state *s = calloc(1, sizeof *s);
	uint8_t id[8 + 512];
	int r;

	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
	img->priv = s;
	if (img->src->size < VHDX_REGION2_OFF + VHDX_REGION_SIZE) {
		r = VMIE_CORRUPT(err, "vhdx: %s: file of %llu bytes is too small "
				 "for a VHDX header section (truncated)",
				 img->name,
				 (unsigned long long)img->src->size);
		goto out;
	}
	r = vmie_src_pread(img->src, id, sizeof id, 0, err);
	if (r)
		goto out;
	if (memcmp(id, "vhdxfile", 8)) {
		r = VMIE_ERR(err, VMIE_EFORMAT, "vhdx: %s: no \"vhdxfile\" "
			     "signature: not a VHDX", img->name);
		goto out;
	}
	vmie_vhd_utf16_to_utf8(id + 8, 256, false, s->creator,
			       sizeof s->creator);
	r = vhdx_read_headers(img, s, err);
	if (r)
		goto out;

	s->log_present = memcmp(s->hdr.log_guid, vhdx_guid_zero, 16) != 0;
	if (s->log_present && o->no_log_replay) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "vhdx: %s has a log that must "
			     "be replayed before the disk can be read (the "
			     "image was not closed cleanly) and log replay is "
			     "turned off", img->name);
		goto out;
	}
	if (s->log_present) {
		r = vmie_vhdx_log_replay(img->src, img->name, s->hdr.log_guid,
					 s->hdr.log_offset, s->hdr.log_length,
					 &s->rs, &s->log, err);
		if (r)
			goto out;
	}
	if (!s->rs) {
		s->rs = img->src;
		vmie_src_ref(s->rs);
	}
	r = vhdx_read_regions(img, s, err);
	if (!r)
		r = vhdx_read_metadata(img, s, err);
	if (r)
		goto out;
	if ((s->params & VHDX_PARAM_HAS_PARENT) && !o->info_only) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-004", "vhdx: %s is a "
				  "differencing disk (parent \"%s\"): "
				  "differencing disks are not supported; merge "
				  "it into its parent first", img->name,
				  s->parent[0] ? s->parent : "unknown");
		goto out;
	}
	r = vhdx_read_bat(img, s, err);
	if (r)
		goto out;
	vmie_strlcpy(img->subformat,
		     s->params & VHDX_PARAM_HAS_PARENT ? "differencing" :
		     s->params & VHDX_PARAM_LEAVE_ALLOCATED ? "fixed" :
		     "dynamic", sizeof img->subformat);
out:
	if (r) {
		vmie_src_unref(s->rs);
		free(s->bat);
		free(s);
		img->priv = NULL;
	}
	return r;
}

static int vhdx_pread(struct vmie_image *img, void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	struct vhdx_state *s = img->priv;
	uint8_t *p = buf;
	while (len) {
		uint64_t blk = off / s->block_size, in = off % s->block_size;
		size_t n = (size_t)vmie_min_u64(len, s->block_size - in);
		uint64_t e = s->bat[vhdx_bat_index(s, blk)];
		unsigned st = e & 7;
		if (st == VHDX_PAYLOAD_FULLY_PRESENT ||
		    st == VHDX_PAYLOAD_PARTIALLY_PRESENT) {
			int r = vmie_src_pread(s->rs, p, n,
					       (e >> 20 << 20) + in, err);
			if (r)
				return r;
		} else {
			memset(p, 0, n);
		}
		p += n, off += n, len -= n;
	}
	return 0;
}

static bool vhdx_present(const struct vhdx_state *s, uint64_t blk)
{
	unsigned st = s->bat[vhdx_bat_index(s, blk)] & 7;
	return st == VHDX_PAYLOAD_FULLY_PRESENT ||
	       st == VHDX_PAYLOAD_PARTIALLY_PRESENT;
}

static int vhdx_block_status(struct vmie_image *img, uint64_t off,
			     uint64_t max_len, uint64_t *pnum, unsigned *status,
			     struct vmie_err *err)
{
	struct vhdx_state *s = img->priv;
	bool present = vhdx_present(s, off / s->block_size);
	uint64_t n = 0;
	(void)err;
	while (n < max_len) {
		uint64_t b = (off + n) / s->block_size;
		if (b >= s->n_blocks || vhdx_present(s, b) != present)
			break;
		n += s->block_size - (off + n) % s->block_size;
	}
	*pnum = vmie_min_u64(n, max_len);
	*status = present ? VMIE_BS_DATA : VMIE_BS_ZERO | VMIE_BS_HOLE;
	return 0;
}

static int vhdx_info(struct vmie_image *img, struct vmie_image_info *info,
		     struct vmie_err *err)
{
	struct vhdx_state *s = img->priv;
	uint64_t alloc = 0;
	char g[40];
	(void)err;
	vmie_strlcpy(info->creator, s->creator, sizeof info->creator);
	vmie_strlcpy(info->parent, s->parent, sizeof info->parent);
	info->cluster_size = s->block_size;
	for (uint64_t b = 0; b < s->n_blocks; b++)
		if (vhdx_present(s, b))
			alloc += vmie_min_u64(s->block_size,
					      img->size - b * s->block_size);
	info->allocated = alloc;
	vmie_info_add(info, "block size", "%u", s->block_size);
	vmie_info_add(info, "logical sector size", "%u", s->lsec);
	vmie_info_add(info, "physical sector size", "%u", s->psec);
	vmie_guid_ms(g, s->page83);
	vmie_info_add(info, "virtual disk id", "%s", g);
	vmie_info_add(info, "has parent", "%s",
		      s->params & VHDX_PARAM_HAS_PARENT ? "yes" : "no");
	vmie_info_add(info, "leave blocks allocated", "%s",
		      s->params & VHDX_PARAM_LEAVE_ALLOCATED ? "yes" : "no");
	vmie_info_add(info, "active header", "%u (sequence %llu; other "
		      "header %s, sequence %llu)", s->active,
		      (unsigned long long)s->hseq[s->active - 1],
		      s->hvalid[2 - s->active] ? "valid" : "INVALID",
		      (unsigned long long)s->hseq[2 - s->active]);
	vmie_guid_ms(g, s->hdr.data_write_guid);
	vmie_info_add(info, "data write guid", "%s", g);
	vmie_guid_ms(g, s->hdr.file_write_guid);
	vmie_info_add(info, "file write guid", "%s", g);
	if (!s->log_present) {
		vmie_info_add(info, "log", "empty");
	} else {
		vmie_guid_ms(g, s->hdr.log_guid);
		if (s->log.entries)
			vmie_info_add(info, "log", "replayed in memory: %u "
				      "entries (sequence %llu..%llu), %u "
				      "writes; log GUID %s", s->log.entries,
				      (unsigned long long)s->log.first_seq,
				      (unsigned long long)s->log.last_seq,
				      s->log.descriptors, g);
		else
			vmie_info_add(info, "log", "log GUID %s set but no "
				      "valid entry sequence: nothing to replay",
				      g);
		if (s->log.ignored)
			vmie_info_add(info, "log entries ignored", "%u (torn "
				      "or not part of the active sequence)",
				      s->log.ignored);
	}
	vmie_info_add(info, "BAT", "%llu entries at 0x%llx, chunk ratio %llu",
		      (unsigned long long)s->n_bat,
		      (unsigned long long)s->bat_off,
		      (unsigned long long)s->chunk_ratio);
	vmie_info_add(info, "metadata region", "0x%llx (%u bytes)",
		      (unsigned long long)s->meta_off, s->meta_len);
	if (s->note[0])
		vmie_info_add(info, "warning", "%s", s->note);
	return 0;
}

static int vhdx_check(struct vmie_image *img, struct vmie_check_result *res,
		      struct vmie_err *err)
{
	struct vhdx_state *s = img->priv;
	struct vhdx_span *sp;
	size_t n = 0;
	int r = 0;

	if (s->log.ignored)
		vmie_check_add(res, false, "log: %u entries ignored (torn or "
			       "not part of the active sequence)",
			       s->log.ignored);
	if (s->note[0])
		vmie_check_add(res, false, "%s", s->note);
	sp = calloc(s->n_blocks + 4, sizeof *sp);
	if (!sp)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
	sp[n++] = (struct vhdx_span){ 0, VHDX_MiB, "the header section", 0 };
	if (s->hdr.log_length)
		sp[n++] = (struct vhdx_span){ s->hdr.log_offset,
			s->hdr.log_offset + s->hdr.log_length, "the log", 0 };
	sp[n++] = (struct vhdx_span){ s->bat_off, s->bat_off + s->bat_len,
				      "the BAT region", 0 };
	sp[n++] = (struct vhdx_span){ s->meta_off, s->meta_off + s->meta_len,
				      "the metadata region", 0 };
	for (uint64_t i = 0; i < s->n_bat; i++) {
		uint64_t e = s->bat[i];
		unsigned st = e & 7;
		res->tables_checked++;
		if ((i + 1) % (s->chunk_ratio + 1) == 0) {
			/* a sector bitmap entry */
			if (st != VHDX_SB_NOT_PRESENT && st != VHDX_SB_PRESENT)
				vmie_check_add(res, true, "sector bitmap BAT "
					       "entry %llu has invalid state %u",
					       (unsigned long long)i, st);
			else if (st == VHDX_SB_PRESENT &&
				 !(s->params & VHDX_PARAM_HAS_PARENT))
				vmie_check_add(res, false, "sector bitmap BAT "
					       "entry %llu is present in a disk "
					       "without a parent",
					       (unsigned long long)i);
			continue;
		}
		uint64_t blk = i - i / (s->chunk_ratio + 1);
		if (blk >= s->n_blocks)
			continue;     /* padding of a differencing BAT */
		if (st != VHDX_PAYLOAD_FULLY_PRESENT &&
		    st != VHDX_PAYLOAD_PARTIALLY_PRESENT)
			continue;
		uint64_t off = e >> 20 << 20;
		uint64_t used = vmie_min_u64(s->block_size,
					     img->size - blk * s->block_size);
		sp[n++] = (struct vhdx_span){ off, off + used, "block", blk };
	}
	qsort(sp, n, sizeof *sp, vhdx_span_cmp);
	for (size_t i = 1; i < n; i++) {
		char a[48], b[48];
		if (sp[i].off >= sp[i - 1].end)
			continue;
		snprintf(a, sizeof a, "%s %llu", sp[i].what,
			 (unsigned long long)sp[i].idx);
		snprintf(b, sizeof b, "%s %llu", sp[i - 1].what,
			 (unsigned long long)sp[i - 1].idx);
		vmie_check_add(res, true, "%s (0x%llx..0x%llx) overlaps %s "
			       "(0x%llx..0x%llx)",
			       strcmp(sp[i].what, "block") ? sp[i].what : a,
			       (unsigned long long)sp[i].off,
			       (unsigned long long)sp[i].end,
			       strcmp(sp[i - 1].what, "block") ?
			       sp[i - 1].what : b,
			       (unsigned long long)sp[i - 1].off,
			       (unsigned long long)sp[i - 1].end);
		if (sp[i].end < sp[i - 1].end)
			sp[i].end = sp[i - 1].end;
	}
	free(sp);
	return r;
}

static void vhdx_close(struct vmie_image *img)
{
	struct vhdx_state *s = img->priv;
	if (!s)
		return;
	vmie_src_unref(s->rs);
	free(s->bat);
	free(s);
}

static const char *const vhdx_subformats[] = { "dynamic", "fixed", NULL };

const struct vmie_image_driver vmie_drv_vhdx = {
	.name = "vhdx",
	.description = "Microsoft VHDX (Hyper-V), fixed and dynamic",
	.probe = vhdx_probe,
	.open = vhdx_open,
	.pread = vhdx_pread,
	.block_status = vhdx_block_status,
	.info = vhdx_info,
	.check = vhdx_check,
	.close = vhdx_close,
	.writer = &vmie_vhdx_writer_ops,
	.write_subformats = vhdx_subformats,
};
