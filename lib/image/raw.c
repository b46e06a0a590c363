/*
 * raw: the disk image is the disk.  Reads go straight to the source; holes
 * in a sparse source file are reported as zero runs so conversion skips
 * them.  The writer produces a sparse file: zero 4 KiB pieces are never
 * written, and the file is extended to the virtual size at the end.  Its
 * writes are positional, so the convert engine runs them in its worker
 * threads (VMIE_WRITER_ANY_ORDER).
 */
#include "image.h"
#include "../core/checked.h"

#include <stdlib.h>

/* zero pieces of this size inside a chunk are left as holes */
#define RAW_PIECE 4096u

static int raw_probe(struct vmie_src *src, const uint8_t *head, size_t len)
{
	(void)src, (void)head, (void)len;
	return 1;   /* anything can be a raw disk: the lowest score */
}

static int raw_open(struct vmie_image *img, const struct vmie_open_opts *o,
		    struct vmie_err *err)
{
	(void)o, (void)err;
	img->size = img->src->size;
	img->subformat[0] = 0;
	return 0;
}

static int raw_pread(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	return vmie_src_pread(img->src, buf, len, off, err);
}

static int raw_block_status(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err)
{
	bool hole;
	int r = vmie_src_extent(img->src, off, max_len, pnum, &hole, err);
	if (r)
		return r;
	*status = hole ? VMIE_BS_ZERO | VMIE_BS_HOLE : VMIE_BS_DATA;
	return 0;
}

static int raw_info(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err)
{
	uint64_t off = 0, alloc = 0, n;
	unsigned st;
	while (off < img->size) {
		int r = raw_block_status(img, off, img->size - off, &n, &st, err);
		if (r)
			return r;
		if (st & VMIE_BS_DATA)
			alloc += n;
		off += n;
	}
	info->allocated = alloc;
	return 0;
}

/* ---- writer ---- */

static int raw_create(struct vmie_writer *w, const struct vmie_create_opts *o,
		      struct vmie_err *err)
{
	for (size_t i = 0; i < o->n_kv; i++)
		return VMIE_ERR(err, VMIE_EINVAL, "raw: unknown option '%s'",
				o->kv[i]);
	/* any sector: zero pieces are found at RAW_PIECE-aligned offsets of
	 * the file whatever the chunk (vmie_sink_pwrite_nonzero) */
	w->granule = 512;
	w->flags = VMIE_WRITER_ANY_ORDER;
	return 0;
}

/* Thread-safe: no state, positional writes. */
static int raw_write(struct vmie_writer *w, struct vmie_chunk *c,
		     struct vmie_err *err)
{
	return vmie_sink_pwrite_nonzero(w->sink, c->data, c->len, c->off,
					RAW_PIECE, err);
}

static int raw_finish(struct vmie_writer *w, struct vmie_err *err)
{
	return vmie_sink_truncate(w->sink, w->size, err);
}

static const struct vmie_writer_ops raw_writer = {
	.create = raw_create,
	.write = raw_write,
	.finish = raw_finish,
};

static const char *const raw_subformats[] = { "", NULL };

const struct vmie_image_driver vmie_drv_raw = {
	.name = "raw",
	.description = "raw disk image (sparse-aware)",
	.probe = raw_probe,
	.open = raw_open,
	.pread = raw_pread,
	.block_status = raw_block_status,
	.info = raw_info,
	.writer = &raw_writer,
	.write_subformats = raw_subformats,
};
