/*
 * vhd writer: fixed and dynamic VHDs following Microsoft's "Virtual Hard
 * Disk Image Format Specification" v1.0 (layouts in vhd_disk.h).
 *
 * The size is never changed: the footer's current_size and original_size
 * are the exact virtual size, the geometry is computed from it with the
 * specification's algorithm (it rounds down), and the creator application
 * is "qem2", the value qemu defines for "the size is current_size, not the
 * geometry" (qemu reads the geometry for unknown creators, e.g. 4 GiB would
 * read back as 4,294,950,912 bytes).  Hyper-V, Azure, Windows and
 * VirtualBox always read current_size.  A size that is not a multiple of
 * 512 cannot be stored in a VHD and is an error; so is more than 2040 GiB.
 *
 * dynamic: [footer copy][dynamic header][BAT][blocks...][footer].  Blocks
 * are 2 MiB and are appended in the order their first non-zero data
 * arrives (the convert engine hands chunks over in increasing offset
 * order); each starts with an all-ones sector bitmap, placed so that the
 * block's data is 4 KiB aligned (as Windows writes them; the gap is a
 * hole).  BAT, header and the
 * two footers are written by finish().  The header's data offset is all
 * ones, as Microsoft tools expect.
 *
 * fixed: the data at its own offset, zero 4 KiB pieces left as holes, and
 * the footer after it.  Option azure=on requires a whole number of MiB (an
 * error otherwise), azure=round pads the disk with zeros up to the next MiB
 * (the only case where the size changes, on request).
 */
#include "../image.h"
#include "core/checked.h"
#include "core/util.h"
#include "vhd_common.h"
#include "vhd_disk.h"
#include "vhd_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define VHDW_PIECE 4096u

struct vhdw_state {
	bool dynamic;
	uint64_t size;            /* virtual size written in the footer */
	uint32_t n_bat;
	uint32_t *bat;            /* host order; VHD_BAT_UNUSED = free */
	uint64_t bat_off;
	uint64_t next;            /* dynamic: where the next block goes */
	uint32_t bitmap_size;
	uint8_t *bitmap;          /* all ones */
};

int vmie_vhd_write_nonzero(struct vmie_sink *k, const uint8_t *data,
			   size_t len, uint64_t at, struct vmie_err *err)
{
	return vmie_sink_pwrite_nonzero(k, data, len, at, VHDW_PIECE, err);
}

static void vhdw_free(struct vmie_writer *w)
{
	struct vhdw_state *s = w->priv;
	if (!s)
		return;
	free(s->bat);
	free(s->bitmap);
	free(s);
	w->priv = NULL;
}

static int vhdw_create(struct vmie_writer *w, const struct vmie_create_opts *o,
		       struct vmie_err *err)
{
	struct vhdw_state *s;
	const char *azure = NULL;
	uint64_t size = o->size;

	for (size_t i = 0; i < o->n_kv; i++) {
		if (!strncmp(o->kv[i], "azure=", 6)) {
			azure = o->kv[i] + 6;
			continue;
		}
		return VMIE_ERR(err, VMIE_EINVAL, "vhd: unknown option '%s' "
				"(known: azure=on|off|round)", o->kv[i]);
	}
	bool dynamic = !o->subformat || !o->subformat[0] ||
		       !strcasecmp(o->subformat, "dynamic");
	if (!dynamic && strcasecmp(o->subformat, "fixed"))
		return VMIE_ERR(err, VMIE_EINVAL, "vhd: unknown subformat '%s' "
				"(known: dynamic, fixed)", o->subformat);
	if (azure && strcasecmp(azure, "off")) {
		bool round = !strcasecmp(azure, "round");
		if (!round && strcasecmp(azure, "on"))
			return VMIE_ERR(err, VMIE_EINVAL, "vhd: azure=%s: "
					"expected on, off or round", azure);
		if (dynamic)
			return VMIE_ERR(err, VMIE_EINVAL, "vhd: azure=%s needs "
					"the fixed subformat (-O vhd,fixed): "
					"Azure accepts only fixed VHDs", azure);
		if (size % (1u << 20)) {
			uint64_t up;
			if (vmie_align_up_u64(size, 1u << 20, &up))
				return VMIE_ERR(err, VMIE_ERANGE, "vhd: size "
						"overflow");
			if (!round)
				return VMIE_ERR(err, VMIE_EINVAL, "vhd: the "
						"disk is %llu bytes, not a "
						"whole number of MiB, which "
						"Azure requires; use -o "
						"azure=round to pad it with "
						"zeros to %llu bytes",
						(unsigned long long)size,
						(unsigned long long)up);
			size = up;
		}
	}
	if (size % VHD_SECTOR)
		return VMIE_ERR(err, VMIE_EINVAL, "vhd: the disk is %llu bytes, "
				"not a multiple of 512: a VHD stores whole "
				"sectors, and vmie does not change a disk's "
				"size (pad the source to %llu bytes first)",
				(unsigned long long)size,
				(unsigned long long)((size | 511) + 1));
	if (size > VHD_MAX_SIZE)
		return VMIE_ERR(err, VMIE_EINVAL, "vhd: the disk is %llu bytes; "
				"a VHD holds at most 2040 GiB (%llu bytes): use "
				"VHDX", (unsigned long long)size,
				(unsigned long long)VHD_MAX_SIZE);
	s = calloc(1, sizeof *s);
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhd: out of memory");
	w->priv = s;
	s->dynamic = dynamic;
	s->size = size;
	w->granule = VHD_SECTOR;
	if (!dynamic) {
		w->flags = VMIE_WRITER_ANY_ORDER;     /* positional */
		return 0;
	}
	w->flags = VMIE_WRITER_DEFER_DATA;
	s->n_bat = (uint32_t)vmie_div_round_up(size, VHD_WRITE_BLOCK);
	s->bat = malloc(((size_t)s->n_bat ? s->n_bat : 1) * 4);
	s->bitmap_size = vhd_bitmap_size(VHD_WRITE_BLOCK);
	s->bitmap = malloc(s->bitmap_size);
	if (!s->bat || !s->bitmap) {
		vhdw_free(w);
		return VMIE_ERR(err, VMIE_ENOMEM, "vhd: out of memory for the "
				"BAT");
	}
	memset(s->bat, 0xff, (size_t)s->n_bat * 4);
	memset(s->bitmap, 0xff, s->bitmap_size);
	s->bat_off = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE;
	s->next = s->bat_off + (((uint64_t)s->n_bat * 4 + VHD_SECTOR - 1) &
				~(uint64_t)(VHD_SECTOR - 1));
	return 0;
}

static int vhdw_write(struct vmie_writer *w, struct vmie_chunk *c,
		      struct vmie_err *err)
{
	struct vhdw_state *s = w->priv;
	uint64_t off = c->off;
	const uint8_t *p = c->data;
	size_t len = c->len;
	int r;

	if (!s->dynamic)
		return vmie_vhd_write_nonzero(w->sink, p, len, off, err);
	while (len) {
		uint64_t blk = off / VHD_WRITE_BLOCK, in = off % VHD_WRITE_BLOCK;
		size_t n = (size_t)vmie_min_u64(len, VHD_WRITE_BLOCK - in);
		if (blk >= s->n_bat)
			return VMIE_ERR(err, VMIE_ERANGE, "vhd: write at %llu "
					"past the end of the disk",
					(unsigned long long)off);
		if (s->bat[blk] == VHD_BAT_UNUSED) {
			if (vmie_is_zero(p, n))
				goto next;
			/* data 4 KiB aligned, as Windows lays blocks out */
			s->next = ((s->next + s->bitmap_size + VHDW_PIECE - 1) &
				   ~(uint64_t)(VHDW_PIECE - 1)) - s->bitmap_size;
			if (s->next / VHD_SECTOR >= VHD_BAT_UNUSED)
				return VMIE_ERR(err, VMIE_ERANGE, "vhd: file "
						"too large for a VHD BAT");
			s->bat[blk] = (uint32_t)(s->next / VHD_SECTOR);
			r = vmie_sink_pwrite(w->sink, s->bitmap, s->bitmap_size,
					     s->next, err);
			if (r)
				return r;
			s->next += s->bitmap_size + VHD_WRITE_BLOCK;
		}
		r = vmie_vhd_write_nonzero(w->sink, p, n,
					   (uint64_t)s->bat[blk] * VHD_SECTOR +
					   s->bitmap_size + in, err);
		if (r)
			return r;
next:
		p += n, off += n, len -= n;
	}
	return 0;
}

static void vhdw_footer(const struct vhdw_state *s, uint8_t *b)
{
	struct vhd_footer_disk f;
	memset(&f, 0, sizeof f);
	memcpy(f.cookie, "conectix", 8);
	f.features = VHD_FEATURES_RESERVED;
	f.version = VHD_VERSION;
	f.data_offset = s->dynamic ? VHD_FOOTER_SIZE : UINT64_MAX;
	time_t now = time(NULL);
	f.timestamp = now > (time_t)VHD_EPOCH_OFFSET ?
		      (uint32_t)(now - VHD_EPOCH_OFFSET) : 0;
	memcpy(f.creator_app, "qem2", 4);
	f.creator_version = 0x00000001;        /* vmie 0.1 */
	f.creator_os = 0x5769326b;             /* "Wi2k" */
	f.original_size = s->size;
	f.current_size = s->size;
	vhd_geometry(s->size / VHD_SECTOR, &f.cylinders, &f.heads, &f.sectors);
	f.disk_type = s->dynamic ? VHD_TYPE_DYNAMIC : VHD_TYPE_FIXED;
	vmie_vhd_random(f.unique_id, sizeof f.unique_id);
	vhd_footer_encode(&f, b);
}

static int vhdw_finish(struct vmie_writer *w, struct vmie_err *err)
{
	struct vhdw_state *s = w->priv;
	uint8_t foot[VHD_FOOTER_SIZE], hdr[VHD_DYN_HEADER_SIZE];
	int r;

	vhdw_footer(s, foot);
	if (!s->dynamic)
		return vmie_sink_pwrite(w->sink, foot, sizeof foot, s->size,
					err);

	struct vhd_dyn_header_disk h;
	memset(&h, 0, sizeof h);
	memcpy(h.cookie, "cxsparse", 8);
	h.data_offset = UINT64_MAX;
	h.table_offset = s->bat_off;
	h.version = VHD_VERSION;
	h.max_table_entries = s->n_bat;
	h.block_size = VHD_WRITE_BLOCK;
	vhd_dyn_encode(&h, hdr);

	size_t bat_bytes = ((size_t)s->n_bat * 4 + VHD_SECTOR - 1) &
			   ~(size_t)(VHD_SECTOR - 1);
	uint8_t *bat = malloc(bat_bytes ? bat_bytes : 1);
	if (!bat)
		return VMIE_ERR(err, VMIE_ENOMEM, "vhd: out of memory");
	memset(bat, 0xff, bat_bytes);
	for (uint32_t i = 0; i < s->n_bat; i++)
		vmie_put_be32(bat + 4 * (size_t)i, s->bat[i]);
	r = vmie_sink_pwrite(w->sink, foot, sizeof foot, 0, err);
	if (!r)
		r = vmie_sink_pwrite(w->sink, hdr, sizeof hdr, VHD_FOOTER_SIZE,
				     err);
	if (!r && bat_bytes)
		r = vmie_sink_pwrite(w->sink, bat, bat_bytes, s->bat_off, err);
	if (!r)
		r = vmie_sink_pwrite(w->sink, foot, sizeof foot, s->next, err);
	free(bat);
	return r;
}

const struct vmie_writer_ops vmie_vhd_writer_ops = {
	.create = vhdw_create,
	.write = vhdw_write,
	.finish = vhdw_finish,
	.free = vhdw_free,
};
