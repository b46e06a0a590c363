/*
 * vhdx writer, following [MS-VHDX] (layouts in vhdx_disk.h).
 *
 * File layout, as Hyper-V lays it out:
 *   0        file type identifier, creator "vmie"
 *   64 KiB   header 1, 128 KiB header 2 (identical but for the sequence
 *            number; log GUID zero: nothing to replay)
 *   192 KiB  region table, 256 KiB its copy: BAT and metadata, required
 *   1 MiB    log (1 MiB, empty)
 *   2 MiB    metadata region (1 MiB): table, then at 64 KiB the file
 *            parameters, virtual disk size, logical and physical sector
 *            sizes and page 83 data
 *   3 MiB    BAT (whole MiB)
 *   then     payload blocks
 *
 * dynamic (default; 32 MiB blocks unless -o block_size=): blocks are
 * appended in the order their first non-zero data arrives and marked fully
 * present; blocks never written stay "not present" (read as zeros).
 * fixed: every block is present, block i at data start + i * block size
 * (2 MiB blocks unless block_size=), with "leave blocks allocated" set, as
 * Hyper-V writes fixed disks; zero ranges are holes in a sparse file.
 * Zero 4 KiB pieces inside a chunk are never written.  The size is exact: it
 * must be a multiple of the logical sector size (512 unless
 * logical_sector_size=4096), at most 64 TiB.
 */
#include "../image.h"
#include "core/checked.h"
#include "core/util.h"
#include "vhd_common.h"
#include "vhd_int.h"
#include "vhdx_disk.h"
#include "vhdx_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VHDXW_LOG_OFF    VHDX_MiB
#define VHDXW_LOG_LEN    VHDX_MiB
#define VHDXW_META_OFF   (2u * VHDX_MiB)
#define VHDXW_META_LEN   VHDX_MiB
#define VHDXW_BAT_OFF    (3u * VHDX_MiB)
#define VHDXW_DYN_BLOCK  (32u << 20)
#define VHDXW_FIX_BLOCK  (2u << 20)

struct vhdxw_state {
	bool fixed;
	uint32_t block_size, lsec, psec;
	uint64_t size;
	uint64_t n_blocks, n_bat, chunk_ratio;
	uint64_t *bat;             /* host order */
	uint64_t bat_len;          /* region length */
	uint64_t data_start;
	uint64_t next;             /* dynamic: next block offset */
};

static void vhdxw_free(struct vmie_writer *w)
{
	struct vhdxw_state *s = w->priv;
	if (!s)
		return;
	free(s->bat);
	free(s);
	w->priv = NULL;
}

static int vhdxw_opt_u32(const char *key, const char *val, uint32_t *out,
			 struct vmie_err *err)
{
	uint64_t v;
	if (vmie_parse_size(val, &v) || v > UINT32_MAX)
		return VMIE_ERR(err, VMIE_EINVAL, "vhdx: %s=%s is not a size",
				key, val);
	*out = (uint32_t)v;
	return 0;
}

static int vhdxw_create(struct vmie_writer *w, const struct vmie_create_opts *o,
			struct vmie_err *err)
{
	struct vhdxw_state *s;
	uint32_t bs = 0, lsec = 512, psec = 4096;
	bool fixed = o->subformat && !strcasecmp(o->subformat, "fixed");
	int r;

	if (o->subformat && o->subformat[0] && !fixed &&
	    strcasecmp(o->subformat, "dynamic"))
		return VMIE_ERR(err, VMIE_EINVAL, "vhdx: unknown subformat '%s' "
				"(known: dynamic, fixed)", o->subformat);
	for (size_t i = 0; i < o->n_kv; i++) {
		const char *kv = o->kv[i], *eq = strchr(kv, '=');
		size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
		const char *val = eq ? eq + 1 : "";
		if (kl == 10 && !strncmp(kv, "block_size", kl))
			r = vhdxw_opt_u32("block_size", val, &bs, err);
		else if (kl == 19 && !strncmp(kv, "logical_sector_size", kl))
			r = vhdxw_opt_u32("logical_sector_size", val, &lsec,
					  err);
		else if (kl == 20 && !strncmp(kv, "physical_sector_size", kl))
			r = vhdxw_opt_u32("physical_sector_size", val, &psec,
					  err);
		else
			r = VMIE_ERR(err, VMIE_EINVAL, "vhdx: unknown option "
				     "'%s' (known: block_size, "
				     "logical_sector_size, "
				     "physical_sector_size)", kv);
		if (r)
			return r;
	}
	if (!bs)
		bs = fixed ? VHDXW_FIX_BLOCK : VHDXW_DYN_BLOCK;
	if (!vmie_is_pow2(bs) || bs < VHDX_MIN_BLOCK || bs > VHDX_MAX_BLOCK)
		return VMIE_ERR(err, VMIE_EINVAL, "vhdx: block_size %u is not a "
				"power of two between 1 MiB and 256 MiB", bs);
	if ((lsec != 512 && lsec != 4096) || (psec != 512 && psec != 4096))
		return VMIE_ERR(err, VMIE_EINVAL, "vhdx: sector sizes must be "
				"512 or 4096 (logical %u, physical %u)", lsec,
				psec);
	if (o->size % lsec)
		return VMIE_ERR(err, VMIE_EINVAL, "vhdx: the disk is %llu bytes, "
				"not a multiple of the %u-byte logical sector; "
				"vmie does not change a disk's size (pad the "
				"source to %llu bytes first)",
				(unsigned long long)o->size, lsec,
				(unsigned long long)((o->size / lsec + 1) *
						     lsec));
	if (o->size > VHDX_MAX_SIZE)
		return VMIE_ERR(err, VMIE_EINVAL, "vhdx: the disk is %llu bytes; "
				"a VHDX holds at most 64 TiB",
				(unsigned long long)o->size);
	s = calloc(1, sizeof *s);
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
	w->priv = s;
	s->fixed = fixed;
	s->block_size = bs;
	s->lsec = lsec;
	s->psec = psec;
	s->size = o->size;
	s->chunk_ratio = ((uint64_t)1 << 23) * lsec / bs;
	s->n_blocks = vmie_div_round_up(o->size, bs);
	s->n_bat = s->n_blocks ? s->n_blocks + (s->n_blocks - 1) /
		   s->chunk_ratio : 0;
	vmie_align_up_u64(s->n_bat ? s->n_bat * 8 : 1, VHDX_MiB,
			  &s->bat_len);
	s->bat = calloc(s->n_bat ? s->n_bat : 1, sizeof *s->bat);
	if (!s->bat) {
		vhdxw_free(w);
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory for a "
				"BAT of %llu entries",
				(unsigned long long)s->n_bat);
	}
	s->data_start = VHDXW_BAT_OFF + s->bat_len;
	s->next = s->data_start;
	if (fixed)
		for (uint64_t b = 0; b < s->n_blocks; b++)
			s->bat[b + b / s->chunk_ratio] =
				(s->data_start + b * bs) |
				VHDX_PAYLOAD_FULLY_PRESENT;
	w->granule = 4096;
	/* fixed: positional writes; dynamic: blocks placed in order */
	w->flags = fixed ? VMIE_WRITER_ANY_ORDER : VMIE_WRITER_DEFER_DATA;
	return 0;
}

static int vhdxw_write(struct vmie_writer *w, struct vmie_chunk *c,
		       struct vmie_err *err)
{
	struct vhdxw_state *s = w->priv;
	uint64_t off = c->off;
	const uint8_t *p = c->data;
	size_t len = c->len;

	if (s->fixed)
		return vmie_vhd_write_nonzero(w->sink, p, len,
					      s->data_start + off, err);
	while (len) {
		uint64_t blk = off / s->block_size, in = off % s->block_size;
		size_t n = (size_t)vmie_min_u64(len, s->block_size - in);
		uint64_t *e;
		if (blk >= s->n_blocks)
			return VMIE_ERR(err, VMIE_ERANGE, "vhdx: write at %llu "
					"past the end of the disk",
					(unsigned long long)off);
		e = &s->bat[blk + blk / s->chunk_ratio];
		if (!*e) {
			if (vmie_is_zero(p, n))
				goto next;
			*e = s->next | VHDX_PAYLOAD_FULLY_PRESENT;
			s->next += s->block_size;
		}
		int r = vmie_vhd_write_nonzero(w->sink, p, n,
					       (*e >> 20 << 20) + in, err);
		if (r)
			return r;
next:
		p += n, off += n, len -= n;
	}
	return 0;
}

static int vhdxw_finish(struct vmie_writer *w, struct vmie_err *err)
{
	struct vhdxw_state *s = w->priv;
	static const uint8_t g_bat[16] = VHDX_GUID_BAT;
	static const uint8_t g_meta[16] = VHDX_GUID_METADATA;
	static const uint8_t g_params[16] = VHDX_GUID_FILE_PARAMS;
	static const uint8_t g_size[16] = VHDX_GUID_DISK_SIZE;
	static const uint8_t g_lsec[16] = VHDX_GUID_LOGICAL_SECTOR;
	static const uint8_t g_psec[16] = VHDX_GUID_PHYSICAL_SECTOR;
	static const uint8_t g_page83[16] = VHDX_GUID_PAGE83;
	uint8_t *buf = calloc(1, VHDX_MiB);
	uint64_t end;
	int r;

	if (!buf)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");

	/* file type identifier */
	memcpy(buf, "vhdxfile", 8);
	vmie_vhd_ascii_to_utf16le("vmie", buf + 8, 256);
	r = vmie_sink_pwrite(w->sink, buf, VHDX_HEADER1_OFF, 0, err);
	if (r)
		goto out;

	/* headers */
	struct vhdx_header_disk h;
	memset(&h, 0, sizeof h);
	vmie_vhd_new_guid(h.file_write_guid);
	vmie_vhd_new_guid(h.data_write_guid);
	h.log_version = 0;
	h.version = 1;
	h.log_length = VHDXW_LOG_LEN;
	h.log_offset = VHDXW_LOG_OFF;
	for (int i = 0; i < 2; i++) {
		h.sequence = (uint64_t)i + 1;
		memset(buf, 0, VHDX_REGION_SIZE);
		vhdx_header_encode(&h, buf);
		vmie_put_le32(buf + 4, vhdx_crc(buf, VHDX_HEADER_SIZE, 4));
		r = vmie_sink_pwrite(w->sink, buf, VHDX_REGION_SIZE,
				     i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF,
				     err);
		if (r)
			goto out;
	}

	/* region table, twice */
	memset(buf, 0, VHDX_REGION_SIZE);
	memcpy(buf, "regi", 4);
	vmie_put_le32(buf + 8, 2);
	struct vhdx_region_entry_disk re = { .file_offset = VHDXW_BAT_OFF,
		.length = (uint32_t)s->bat_len, .flags = 1 };
	memcpy(re.guid, g_bat, 16);
	vhdx_region_entry_encode(&re, buf + 16);
	re.file_offset = VHDXW_META_OFF;
	re.length = VHDXW_META_LEN;
	memcpy(re.guid, g_meta, 16);
	vhdx_region_entry_encode(&re, buf + 48);
	vmie_put_le32(buf + 4, vhdx_crc(buf, VHDX_REGION_SIZE, 4));
	r = vmie_sink_pwrite(w->sink, buf, VHDX_REGION_SIZE, VHDX_REGION1_OFF,
			     err);
	if (!r)
		r = vmie_sink_pwrite(w->sink, buf, VHDX_REGION_SIZE,
				     VHDX_REGION2_OFF, err);
	if (r)
		goto out;

	/* metadata region */
	memset(buf, 0, VHDX_MiB);
	memcpy(buf, "metadata", 8);
	vmie_put_le16(buf + 10, 5);
	const struct {
		const uint8_t *id;
		uint32_t len, flags;
	} items[5] = {
		{ g_params, 8, VHDX_META_IS_REQUIRED },
		{ g_size, 8, VHDX_META_IS_VIRTUAL | VHDX_META_IS_REQUIRED },
		{ g_lsec, 4, VHDX_META_IS_VIRTUAL | VHDX_META_IS_REQUIRED },
		{ g_psec, 4, VHDX_META_IS_VIRTUAL | VHDX_META_IS_REQUIRED },
		{ g_page83, 16, VHDX_META_IS_VIRTUAL | VHDX_META_IS_REQUIRED },
	};
	uint32_t at = VHDX_META_TABLE_SIZE;
	for (int i = 0; i < 5; i++) {
		struct vhdx_meta_entry_disk me = { .offset = at,
			.length = items[i].len, .flags = items[i].flags };
		memcpy(me.item_id, items[i].id, 16);
		vhdx_meta_entry_encode(&me, buf + 32 + 32 * i);
		uint8_t *v = buf + at;
		switch (i) {
		case 0:
			vmie_put_le32(v, s->block_size);
			vmie_put_le32(v + 4, s->fixed ?
				      VHDX_PARAM_LEAVE_ALLOCATED : 0);
			break;
		case 1:
			vmie_put_le64(v, s->size);
			break;
		case 2:
			vmie_put_le32(v, s->lsec);
			break;
		case 3:
			vmie_put_le32(v, s->psec);
			break;
		case 4:
			vmie_vhd_new_guid(v);
			break;
		}
		at += items[i].len;
	}
	r = vmie_sink_pwrite(w->sink, buf, VHDX_MiB, VHDXW_META_OFF, err);
	if (r)
		goto out;

	/* BAT, a MiB at a time */
	for (uint64_t done = 0; done < s->bat_len; done += VHDX_MiB) {
		uint64_t first = done / 8, n = VHDX_MiB / 8;
		memset(buf, 0, VHDX_MiB);
		for (uint64_t i = 0; i < n && first + i < s->n_bat; i++)
			vmie_put_le64(buf + 8 * i, s->bat[first + i]);
		if (vmie_is_zero(buf, VHDX_MiB))
			continue;
		r = vmie_sink_pwrite(w->sink, buf, VHDX_MiB,
				     VHDXW_BAT_OFF + done, err);
		if (r)
			goto out;
	}

	end = s->fixed ? s->data_start + s->n_blocks * s->block_size : s->next;
	r = vmie_sink_truncate(w->sink, end, err);
out:
	free(buf);
	return r;
}

const struct vmie_writer_ops vmie_vhdx_writer_ops = {
	.create = vhdxw_create,
	.write = vhdxw_write,
	.finish = vhdxw_finish,
	.free = vhdxw_free,
};
