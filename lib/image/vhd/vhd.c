/*
 * vhd: the VHD driver (reader), following Microsoft's "Virtual Hard Disk
 * Image Format Specification" v1.0; layouts are in vhd_disk.h, the writer
 * is in vhd_write.c.
 *
 * Reads fixed and dynamic VHDs; differencing VHDs (disk type 4) are refused
 * with FMT-004 unless the caller only wants info.  Checksums of the footer
 * and of the dynamic header are verified.  A footer with a bad checksum is
 * refused (FMT-005) unless the other copy (the one at offset 0 of a dynamic
 * disk) is valid, in which case that copy is used and info() carries a
 * warning.
 *
 * Virtual size, as qemu 7.2 computes it (so that both tools agree on every
 * existing image): the footer's current_size when the creator application
 * is one that means it ("win ", "qem2", "d2v ", "d2v\0", "CTXS", "tap\0"),
 * or when the geometry is the maximum 65535/16/255; otherwise cylinders x
 * heads x sectors x 512, the size Virtual PC shows its guests.  Two cases
 * where qemu would give an absurd answer follow current_size instead: a
 * zero geometry, and a geometry larger than current_size.
 */
#include "../image.h"
#include "core/checked.h"
#include "core/util.h"
#include "vhd_common.h"
#include "vhd_disk.h"
#include "vhd_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vhd_state {
	struct vhd_footer_disk footer;
	struct vhd_dyn_header_disk dyn;
	uint32_t disk_type;
	bool sparse;               /* dynamic or differencing: has a BAT */
	uint64_t footer_off;       /* where the footer we use lives */
	uint64_t data_end;         /* fixed: bytes of data before the footer */
	uint64_t chs_size;
	bool size_from_chs;
	uint32_t block_size;
	uint32_t bitmap_size;
	uint32_t n_bat;            /* entries read (max_table_entries) */
	uint32_t n_blocks;         /* entries the virtual size needs */
	uint32_t *bat;
	char parent[256];
	char warning[200];
};

/* Creator applications whose footer current_size is the disk size. */
static const char vhd_size_creators[][4] = {
	{ 'w', 'i', 'n', ' ' }, { 'q', 'e', 'm', '2' }, { 'd', '2', 'v', ' ' },
	{ 'd', '2', 'v', 0 }, { 'C', 'T', 'X', 'S' }, { 't', 'a', 'p', 0 },
};

static bool vhd_footer_cookie(const uint8_t *b)
{
	return !memcmp(b, "conectix", 8);
}

static bool vhd_footer_sum_ok(const uint8_t *b)
{
	return vhd_checksum(b, VHD_FOOTER_SIZE, 0x40) == vmie_be32(b + 0x40);
}

/* Read the trailing footer: the last 512 bytes, or the last 511 bytes that
 * Virtual PC versions before 2004 wrote.  *off = where it starts. */
static int vhd_read_tail(struct vmie_src *src, uint8_t *b, uint64_t *off,
			 struct vmie_err *err)
{
	int r;
	*off = 0;
	if (src->size < VHD_FOOTER_SIZE)
		return 1;
	r = vmie_src_pread(src, b, VHD_FOOTER_SIZE,
			   src->size - VHD_FOOTER_SIZE, err);
	if (r)
		return r;
	if (vhd_footer_cookie(b)) {
		*off = src->size - VHD_FOOTER_SIZE;
		return 0;
	}
	memmove(b, b + 1, VHD_FOOTER_SIZE - 1);
	b[VHD_FOOTER_SIZE - 1] = 0;
	if (vhd_footer_cookie(b)) {
		*off = src->size - (VHD_FOOTER_SIZE - 1);
		return 0;
	}
	return 1;
}

static int vhd_probe(struct vmie_src *src, const uint8_t *head, size_t len)
{
	uint8_t b[VHD_FOOTER_SIZE];
	uint64_t off;
	if (len >= VHD_FOOTER_SIZE && vhd_footer_cookie(head))
		return vhd_footer_sum_ok(head) ? 100 : 60;
	if (vhd_read_tail(src, b, &off, NULL))
		return 0;
	return vhd_footer_sum_ok(b) ? 95 : 50;
}

static void vhd_creator_str(const struct vhd_footer_disk *f, char *out,
			    size_t size)
{
	char app[5];
	for (int i = 0; i < 4; i++) {
		char c = f->creator_app[i];
		app[i] = c >= 0x20 && c < 0x7f ? c : c ? '?' : ' ';
	}
	app[4] = 0;
	snprintf(out, size, "%s", app);
}

/* Choose the footer to trust.  tail/tail_off: the trailing footer (if
 * have_tail); the copy at offset 0 is read here for dynamic disks. */
static int vhd_pick_footer(struct vmie_image *img, struct vhd_state *s,
			   struct vmie_err *err)
{
	struct vmie_src *src = img->src;
	uint8_t tail[VHD_FOOTER_SIZE], head[VHD_FOOTER_SIZE];
	uint64_t tail_off;
	bool have_tail, have_head = false;
	int r;

	if (src->size < VHD_FOOTER_SIZE)
		return VMIE_ERR(err, VMIE_EFORMAT, "vhd: %s: file of %llu bytes "
				"is too small to be a VHD (the footer alone is "
				"512 bytes)", img->name,
				(unsigned long long)src->size);
	r = vhd_read_tail(src, tail, &tail_off, err);
	if (r < 0)
		return r;
	have_tail = r == 0;
	r = vmie_src_pread(src, head, VHD_FOOTER_SIZE, 0, err);
	if (r)
		return r;
	have_head = vhd_footer_cookie(head);

	if (have_tail && vhd_footer_sum_ok(tail)) {
		vhd_footer_decode(&s->footer, tail);
		s->footer_off = tail_off;
		return 0;
	}
	if (have_head && vhd_footer_sum_ok(head) &&
	    vmie_be32(head + 0x3c) != VHD_TYPE_FIXED) {
		vhd_footer_decode(&s->footer, head);
		s->footer_off = 0;
		if (have_tail)
			snprintf(s->warning, sizeof s->warning,
				 "footer at offset %llu has a bad checksum "
				 "(stored 0x%08x, computed 0x%08x); used the "
				 "valid copy at offset 0",
				 (unsigned long long)tail_off,
				 vmie_be32(tail + 0x40),
				 vhd_checksum(tail, VHD_FOOTER_SIZE, 0x40));
		else
			snprintf(s->warning, sizeof s->warning,
				 "no footer at the end of the file (truncated?);"
				 " used the copy at offset 0");
		return 0;
	}
	if (have_tail)
		return VMIE_CORRUPT(err, "vhd: %s: footer at offset %llu has a "
				    "bad checksum: stored 0x%08x, expected "
				    "0x%08x%s", img->name,
				    (unsigned long long)tail_off,
				    vmie_be32(tail + 0x40),
				    vhd_checksum(tail, VHD_FOOTER_SIZE, 0x40),
				    have_head ? " (the copy at offset 0 is bad "
				    "too)" : " (no valid copy at offset 0)");
	if (have_head)
		return VMIE_CORRUPT(err, "vhd: %s: footer copy at offset 0 has "
				    "a bad checksum (stored 0x%08x, expected "
				    "0x%08x) and there is no footer at the end",
				    img->name, vmie_be32(head + 0x40),
				    vhd_checksum(head, VHD_FOOTER_SIZE, 0x40));
	return VMIE_ERR(err, VMIE_EFORMAT, "vhd: %s: no \"conectix\" footer at "
			"the end of the file: not a VHD", img->name);
}

static int vhd_pick_size(struct vmie_image *img, struct vhd_state *s,
			 struct vmie_err *err)
{
	const struct vhd_footer_disk *f = &s->footer;
	bool current = false;
	s->chs_size = (uint64_t)f->cylinders * f->heads * f->sectors *
		      VHD_SECTOR;
	for (size_t i = 0; i < sizeof vhd_size_creators / 4; i++)
		if (!memcmp(f->creator_app, vhd_size_creators[i], 4))
			current = true;
	if (f->cylinders == 65535 && f->heads == 16 && f->sectors == 255)
		current = true;
	if (!s->chs_size || s->chs_size > f->current_size)
		current = true;
	s->size_from_chs = !current;
	img->size = current ? f->current_size & ~(uint64_t)(VHD_SECTOR - 1)
			    : s->chs_size;
	if (img->size > VMIE_MAX_VIRTUAL_SIZE)
		return VMIE_CORRUPT(err, "vhd: %s: footer current size %llu "
				    "bytes is absurd", img->name,
				    (unsigned long long)f->current_size);
	return 0;
}

static int vhd_open_dynamic(struct vmie_image *img, struct vhd_state *s,
			    struct vmie_err *err)
{
	struct vmie_src *src = img->src;
	uint8_t b[VHD_DYN_HEADER_SIZE];
	uint64_t hoff = s->footer.data_offset, bat_bytes, need;
	int r;

	if (vmie_range_outside(hoff, VHD_DYN_HEADER_SIZE, src->size))
		return VMIE_CORRUPT(err, "vhd: %s: dynamic header offset 0x%llx "
				    "is outside the file (%llu bytes)", img->name,
				    (unsigned long long)hoff,
				    (unsigned long long)src->size);
	r = vmie_src_pread(src, b, sizeof b, hoff, err);
	if (r)
		return r;
	if (memcmp(b, "cxsparse", 8))
		return VMIE_CORRUPT(err, "vhd: %s: no \"cxsparse\" dynamic "
				    "header at offset 0x%llx", img->name,
				    (unsigned long long)hoff);
	vhd_dyn_decode(&s->dyn, b);
	if (vhd_checksum(b, sizeof b, 0x24) != s->dyn.checksum)
		return VMIE_CORRUPT(err, "vhd: %s: dynamic header at offset "
				    "0x%llx has a bad checksum: stored 0x%08x, "
				    "expected 0x%08x", img->name,
				    (unsigned long long)hoff, s->dyn.checksum,
				    vhd_checksum(b, sizeof b, 0x24));
	if (s->dyn.version >> 16 != 1)
		return VMIE_ERR(err, VMIE_EUNSUPP, "vhd: %s: dynamic header "
				"version 0x%08x is not 1.x", img->name,
				s->dyn.version);
	s->block_size = s->dyn.block_size;
	if (!vmie_is_pow2(s->block_size) || s->block_size < VHD_SECTOR ||
	    s->block_size > VHD_MAX_BLOCK)
		return VMIE_CORRUPT(err, "vhd: %s: block size %u in the dynamic "
				    "header is not a power of two between 512 "
				    "bytes and %u MiB", img->name, s->block_size,
				    VHD_MAX_BLOCK >> 20);
	s->bitmap_size = vhd_bitmap_size(s->block_size);
	need = vmie_div_round_up(img->size, s->block_size);
	if (need > s->dyn.max_table_entries)
		return VMIE_CORRUPT(err, "vhd: %s: BAT has %u entries but the "
				    "%llu-byte disk needs %llu blocks of %u bytes",
				    img->name, s->dyn.max_table_entries,
				    (unsigned long long)img->size,
				    (unsigned long long)need, s->block_size);
	s->n_blocks = (uint32_t)need;
	s->n_bat = s->dyn.max_table_entries;
	bat_bytes = (uint64_t)s->n_bat * 4;
	if (bat_bytes > VMIE_MAX_TABLE_BYTES ||
	    vmie_range_outside(s->dyn.table_offset, bat_bytes, src->size))
		return VMIE_CORRUPT(err, "vhd: %s: BAT of %u entries at offset "
				    "0x%llx does not fit in the file (%llu bytes)",
				    img->name, s->n_bat,
				    (unsigned long long)s->dyn.table_offset,
				    (unsigned long long)src->size);
	uint8_t *raw = malloc(bat_bytes ? bat_bytes : 1);
	s->bat = malloc(bat_bytes ? bat_bytes : 1);
	if (!raw || !s->bat) {
		free(raw);
		return VMIE_ERR(err, VMIE_ENOMEM, "vhd: out of memory for a "
				"BAT of %u entries", s->n_bat);
	}
	r = vmie_budget_read(img->budget, bat_bytes, "vhd: BAT", err);
	if (!r)
		r = vmie_budget_entries(img->budget, s->n_bat, "vhd: BAT",
					err);
	if (!r && bat_bytes)
		r = vmie_src_pread(src, raw, bat_bytes, s->dyn.table_offset,
				   err);
	for (uint32_t i = 0; !r && i < s->n_bat; i++)
		s->bat[i] = vmie_be32(raw + 4 * (size_t)i);
	free(raw);
	if (r)
		return r;
	/* Every block the disk uses must lie inside the file. */
	for (uint32_t i = 0; i < s->n_blocks; i++) {
		uint64_t used, boff;
		if (s->bat[i] == VHD_BAT_UNUSED)
			continue;
		used = vmie_min_u64(s->block_size,
				    img->size - (uint64_t)i * s->block_size);
		boff = (uint64_t)s->bat[i] * VHD_SECTOR;
		if (vmie_range_outside(boff, s->bitmap_size + used, src->size))
			return VMIE_CORRUPT(err, "vhd: %s: BAT entry %u points "
					    "past end of file (block at offset "
					    "0x%llx, file is %llu bytes)",
					    img->name, i,
					    (unsigned long long)boff,
					    (unsigned long long)src->size);
	}
	if (s->disk_type == VHD_TYPE_DIFFERENCING)
		vmie_vhd_utf16_to_utf8(s->dyn.parent_name, 256, true,
				       s->parent, sizeof s->parent);
	return 0;
}

static int vhd_open(struct vmie_image *img, const struct vmie_open_opts *o,
		    struct vmie_err *err)
{
	struct vhd_state *s = calloc(1, sizeof *s);
	int r;
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhd: out of memory");
	img->priv = s;
	r = vhd_pick_footer(img, s, err);
	if (r)
		goto out;
	s->disk_type = s->footer.disk_type;
	if (s->footer.version >> 16 != 1) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "vhd: %s: footer file format "
			     "version 0x%08x is not 1.x", img->name,
			     s->footer.version);
		goto out;
	}
	if (s->disk_type != VHD_TYPE_FIXED && s->disk_type != VHD_TYPE_DYNAMIC &&
	    s->disk_type != VHD_TYPE_DIFFERENCING) {
		r = VMIE_CORRUPT(err, "vhd: %s: unknown disk type %u in the "
				 "footer (2 fixed, 3 dynamic, 4 differencing)",
				 img->name, s->disk_type);
		goto out;
	}
	r = vhd_pick_size(img, s, err);
	if (r)
		goto out;
	if (s->disk_type == VHD_TYPE_FIXED) {
		/* The data is everything before the trailing footer. */
		if (s->footer_off == 0) {
			r = VMIE_CORRUPT(err, "vhd: %s: fixed VHD without a "
					 "trailing footer", img->name);
			goto out;
		}
		s->data_end = s->footer_off;
		if (img->size > s->data_end) {
			r = VMIE_CORRUPT(err, "vhd: %s: fixed VHD of %llu bytes "
					 "but only %llu bytes of data before "
					 "the footer (truncated?)", img->name,
					 (unsigned long long)img->size,
					 (unsigned long long)s->data_end);
			goto out;
		}
		vmie_strlcpy(img->subformat, "fixed", sizeof img->subformat);
	} else {
		s->sparse = true;
		r = vhd_open_dynamic(img, s, err);
		if (r)
			goto out;
		vmie_strlcpy(img->subformat, s->disk_type == VHD_TYPE_DYNAMIC ?
			     "dynamic" : "differencing", sizeof img->subformat);
	}
	if (s->disk_type == VHD_TYPE_DIFFERENCING && !o->info_only) {
		r = VMIE_ERR_RULE(err, VMIE_EUNSUPP, "FMT-004", "vhd: %s is a "
				  "differencing disk (parent \"%s\"): "
				  "differencing disks are not supported; merge "
				  "it into its parent first", img->name,
				  s->parent);
		goto out;
	}
out:
	if (r) {
		free(s->bat);
		free(s);
		img->priv = NULL;
	}
	return r;
}

static int vhd_pread(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	struct vhd_state *s = img->priv;
	uint8_t *p = buf;
	if (!s->sparse)
		return vmie_src_pread(img->src, buf, len, off, err);
	while (len) {
		uint64_t blk = off / s->block_size;
		uint64_t in = off % s->block_size;
		size_t n = (size_t)vmie_min_u64(len, s->block_size - in);
		uint32_t e = s->bat[blk];
		if (e == VHD_BAT_UNUSED) {
			memset(p, 0, n);
		} else {
			uint64_t at = (uint64_t)e * VHD_SECTOR + s->bitmap_size
				      + in;
			int r = vmie_src_pread(img->src, p, n, at, err);
			if (r)
				return r;
		}
		p += n, off += n, len -= n;
	}
	return 0;
}

static int vhd_block_status(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err)
{
	struct vhd_state *s = img->priv;
	if (!s->sparse) {
		bool hole;
		int r = vmie_src_extent(img->src, off, max_len, pnum, &hole, err);
		if (r)
			return r;
		*status = hole ? VMIE_BS_ZERO | VMIE_BS_HOLE : VMIE_BS_DATA;
		return 0;
	}
	uint64_t blk = off / s->block_size, n = 0;
	bool alloc = s->bat[blk] != VHD_BAT_UNUSED;
	while (n < max_len) {
		uint64_t b = (off + n) / s->block_size;
		if (b >= s->n_blocks || (s->bat[b] != VHD_BAT_UNUSED) != alloc)
			break;
		n += s->block_size - (off + n) % s->block_size;
	}
	*pnum = vmie_min_u64(n, max_len);
	*status = alloc ? VMIE_BS_DATA : VMIE_BS_ZERO | VMIE_BS_HOLE;
	return 0;
}

static const char *vhd_type_name(uint32_t t)
{
	return t == VHD_TYPE_FIXED ? "fixed" : t == VHD_TYPE_DYNAMIC ?
	       "dynamic" : "differencing";
}

static int vhd_info(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err)
{
	struct vhd_state *s = img->priv;
	const struct vhd_footer_disk *f = &s->footer;
	char app[8], os[8], id[40];
	(void)err;
	vhd_creator_str(f, app, sizeof app);
	for (int i = 0; i < 4; i++) {
		char c = (char)(f->creator_os >> (24 - 8 * i));
		os[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	os[4] = 0;
	snprintf(info->creator, sizeof info->creator, "%s %u.%u (%s)", app,
		 f->creator_version >> 16, f->creator_version & 0xffff, os);
	vmie_strlcpy(info->parent, s->parent, sizeof info->parent);
	if (s->sparse) {
		uint64_t alloc = 0;
		for (uint32_t i = 0; i < s->n_blocks; i++)
			if (s->bat[i] != VHD_BAT_UNUSED)
				alloc += vmie_min_u64(s->block_size, img->size -
						      (uint64_t)i * s->block_size);
		info->allocated = alloc;
		info->cluster_size = s->block_size;
	} else {
		info->allocated = img->size;
	}
	vmie_info_add(info, "disk type", "%s (%u)", vhd_type_name(s->disk_type),
		      s->disk_type);
	vmie_info_add(info, "geometry", "%u/%u/%u (C/H/S, %llu bytes)",
		      f->cylinders, f->heads, f->sectors,
		      (unsigned long long)s->chs_size);
	vmie_info_add(info, "current size", "%llu",
		      (unsigned long long)f->current_size);
	vmie_info_add(info, "size from", "%s", s->size_from_chs ?
		      "CHS geometry (creator is not one that records the "
		      "exact size)" : "footer current size");
	vmie_uuid_be(id, f->unique_id);
	vmie_info_add(info, "unique id", "%s", id);
	time_t t = (time_t)f->timestamp + VHD_EPOCH_OFFSET;
	struct tm tm;
	char ts[32] = "?";
	if (gmtime_r(&t, &tm))
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	vmie_info_add(info, "timestamp", "%s", ts);
	if (f->saved_state)
		vmie_info_add(info, "saved state", "yes");
	if (s->sparse) {
		vmie_info_add(info, "block size", "%u", s->block_size);
		vmie_info_add(info, "BAT entries", "%u at offset 0x%llx",
			      s->n_bat,
			      (unsigned long long)s->dyn.table_offset);
	}
	if (s->disk_type == VHD_TYPE_DIFFERENCING) {
		vmie_uuid_be(id, s->dyn.parent_uuid);
		vmie_info_add(info, "parent unique id", "%s", id);
	}
	if (s->warning[0])
		vmie_info_add(info, "warning", "%s", s->warning);
	return 0;
}

struct vhd_span {
	uint64_t off, end;
	uint32_t idx;             /* BAT index, or UINT32_MAX for metadata */
};

static int vhd_span_cmp(const void *a, const void *b)
{
	const struct vhd_span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static const char *vhd_span_name(const struct vhd_span *sp, char *buf,
				 size_t size)
{
	if (sp->idx == UINT32_MAX)
		return "the footer copy";
	if (sp->idx == UINT32_MAX - 1)
		return "the dynamic header";
	if (sp->idx == UINT32_MAX - 2)
		return "the BAT";
	if (sp->idx == UINT32_MAX - 3)
		return "the footer";
	snprintf(buf, size, "block %u", sp->idx);
	return buf;
}

static int vhd_check(struct vmie_image *img, struct vmie_check_result *res,
		     struct vmie_err *err)
{
	struct vhd_state *s = img->priv;
	struct vhd_span *sp;
	size_t n = 0;
	uint8_t *bm;
	int r = 0;

	if (s->warning[0])
		vmie_check_add(res, false, "%s", s->warning);
	if (!s->sparse)
		return 0;
	sp = calloc((size_t)s->n_bat + 4, sizeof *sp);
	bm = malloc(s->bitmap_size);
	if (!sp || !bm) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhd: out of memory");
		goto out;
	}
	sp[n++] = (struct vhd_span){ 0, VHD_FOOTER_SIZE, UINT32_MAX };
	sp[n++] = (struct vhd_span){ s->footer.data_offset,
		s->footer.data_offset + VHD_DYN_HEADER_SIZE, UINT32_MAX - 1 };
	sp[n++] = (struct vhd_span){ s->dyn.table_offset, s->dyn.table_offset +
		(uint64_t)s->n_bat * 4, UINT32_MAX - 2 };
	if (s->footer_off)
		sp[n++] = (struct vhd_span){ s->footer_off, img->src->size,
					     UINT32_MAX - 3 };
	for (uint32_t i = 0; i < s->n_bat; i++) {
		uint64_t boff, used;
		res->tables_checked++;
		if (s->bat[i] == VHD_BAT_UNUSED)
			continue;
		boff = (uint64_t)s->bat[i] * VHD_SECTOR;
		if (i >= s->n_blocks) {
			vmie_check_add(res, false, "BAT entry %u is allocated "
				       "(offset 0x%llx) but lies past the end "
				       "of the disk", i,
				       (unsigned long long)boff);
			continue;
		}
		used = vmie_min_u64(s->block_size,
				    img->size - (uint64_t)i * s->block_size);
		sp[n++] = (struct vhd_span){ boff, boff + s->bitmap_size + used,
					     i };
		r = vmie_budget_read(img->budget, s->bitmap_size,
				     "vhd check: sector bitmaps", err);
		if (!r)
			r = vmie_src_pread(img->src, bm, s->bitmap_size, boff,
					   err);
		if (r)
			goto out;
		if (vmie_is_zero(bm, s->bitmap_size))
			vmie_check_add(res, false, "block %u (offset 0x%llx) is "
				       "allocated but its sector bitmap marks no "
				       "sector in use", i,
				       (unsigned long long)boff);
	}
	qsort(sp, n, sizeof *sp, vhd_span_cmp);
	for (size_t i = 1; i < n; i++) {
		char a[24], b[24];
		if (sp[i].off >= sp[i - 1].end)
			continue;
		vmie_check_add(res, true, "%s (0x%llx..0x%llx) overlaps %s "
			       "(0x%llx..0x%llx)",
			       vhd_span_name(&sp[i], a, sizeof a),
			       (unsigned long long)sp[i].off,
			       (unsigned long long)sp[i].end,
			       vhd_span_name(&sp[i - 1], b, sizeof b),
			       (unsigned long long)sp[i - 1].off,
			       (unsigned long long)sp[i - 1].end);
		if (sp[i].end < sp[i - 1].end)
			sp[i].end = sp[i - 1].end;
	}
out:
	free(sp);
	free(bm);
	return r;
}

static void vhd_close(struct vmie_image *img)
{
	struct vhd_state *s = img->priv;
	if (!s)
		return;
	free(s->bat);
	free(s);
}

static const char *const vhd_subformats[] = { "dynamic", "fixed", NULL };

const struct vmie_image_driver vmie_drv_vhd = {
	.name = "vhd",
	.description = "Microsoft VHD (Virtual PC / Hyper-V), fixed and dynamic",
	.probe = vhd_probe,
	.open = vhd_open,
	.pread = vhd_pread,
	.block_status = vhd_block_status,
	.info = vhd_info,
	.check = vhd_check,
	.close = vhd_close,
	.writer = &vmie_vhd_writer_ops,
	.write_subformats = vhd_subformats,
};
