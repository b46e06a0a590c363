/*
 * Which block and network drivers an initramfs holds, read as a stream.
 *
 * An initramfs (Linux Documentation/driver-api/early-userspace/
 * buffer-format.rst) is one or more cpio archives, each optionally
 * compressed, concatenated, with zero padding between them.  Typical
 * layouts: an uncompressed early-microcode archive followed by a gzip, xz,
 * zstd or lz4 compressed main archive.  The cpio format is "newc" (magic
 * "070701") or "crc" ("070702"), see cpio(5):
 *
 *   0x00  6  magic            "070701" / "070702"
 *   0x06  8  c_ino            (all fields: 8 ASCII hex digits)
 *   0x0e  8  c_mode
 *   0x16  8  c_uid
 *   0x1e  8  c_gid
 *   0x26  8  c_nlink
 *   0x2e  8  c_mtime
 *   0x36  8  c_filesize
 *   0x3e  8  c_devmajor
 *   0x46  8  c_devminor
 *   0x4e  8  c_rdevmajor
 *   0x56  8  c_rdevminor
 *   0x5e  8  c_namesize       including the NUL
 *   0x66  8  c_check
 *   0x6e     name, padded so header + name is a multiple of 4; then the
 *            data, padded to a multiple of 4.  "TRAILER!!!" ends it.
 *
 * Compressed streams: gzip (RFC 1952, zlib), xz (liblzma), zstd frames
 * (RFC 8878), LZ4 frames (lz4 Frame Format) and the LZ4 "legacy" format
 * the kernel also accepts (magic 0x184C2102, then blocks of a LE32
 * compressed size and at most 8 MiB of output each).
 *
 * The scan never holds a whole file: 256 KiB of input and of output at a
 * time (8 MiB for legacy LZ4 blocks), module names matched as headers go
 * by, only modules.builtin captured (capped).
 */
#include "inspect/insp_int.h"

#include <lz4.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "inspect/insp_config.h"   /* INSP_HAVE_LZMA, from meson */
#if INSP_HAVE_LZMA
#include <lzma.h>
#define INITRD_HAVE_LZMA 1
#endif

#include "core/budget.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/util.h"

#define INITRD_CHUNK        ((size_t)256 << 10)
/* Uncompressed bytes one initramfs may inflate to: RATIO times its size,
 * at least MIN_OUT, at most MAX_OUT (a compression bomb of a few MB stops
 * at MIN_OUT); every byte is also drawn from the image's inflate budget. */
#define INITRD_MAX_OUT      ((uint64_t)1 << 30)
#define INITRD_MIN_OUT      ((uint64_t)256 << 20)
#define INITRD_RATIO        16u
#define INITRD_MAX_FILES    500000u    /* cpio members */
#define INITRD_MAX_STREAMS  4096u      /* compressed streams */
#define INITRD_MAX_NAME     4096u
#define INITRD_MAX_CAPTURE  ((size_t)4 << 20)     /* modules.builtin */
#define INITRD_LZ4L_MAGIC   0x184C2102u
#define INITRD_LZ4L_BLOCK   ((size_t)8 << 20)

static const char *const initrd_drivers[] = {
	"virtio_blk", "virtio_scsi", "virtio_net", "nvme", "xen-blkfront",
	"xen-netfront", "ena",
};

static bool initrd_same_name(const char *a, size_t alen, const char *b)
{
	if (alen != strlen(b))
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i] == '-' ? '_' : a[i];
		char y = b[i] == '-' ? '_' : b[i];
		if (x != y)
			return false;
	}
	return true;
}

const char *vmie_insp_driver_name(const char *base)
{
	static const char *const sfx[] = { ".ko", ".ko.xz", ".ko.zst",
					   ".ko.gz" };
	size_t bl = strlen(base);

	for (size_t s = 0; s < sizeof sfx / sizeof *sfx; s++) {
		size_t sl = strlen(sfx[s]);
		if (bl <= sl || strcmp(base + bl - sl, sfx[s]))
			continue;
		for (size_t i = 0; i < sizeof initrd_drivers /
		     sizeof *initrd_drivers; i++)
			if (initrd_same_name(base, bl - sl, initrd_drivers[i]))
				return initrd_drivers[i];
	}
	return NULL;
}

void vmie_insp_builtin_drivers(const char *text, size_t len, char *list,
			       size_t size)
{
	size_t i = 0;

	while (i < len) {
		size_t s = i;
		while (i < len && text[i] != '\n')
			i++;
		char line[512];
		size_t l = i - s;
		i++;
		if (!l || l >= sizeof line)
			continue;
		memcpy(line, text + s, l);
		line[l] = '\0';
		vmie_insp_trim(line);
		const char *b = strrchr(line, '/');
		const char *d = vmie_insp_driver_name(b ? b + 1 : line);
		if (d)
			vmie_insp_list_add(list, size, d);
	}
}

/* ---- the cpio push parser ---- */

enum initrd_state { CP_BETWEEN, CP_HDR, CP_NAME, CP_NAMEPAD, CP_DATA,
		    CP_DATAPAD };

struct initrd_cpio {
	enum initrd_state st;
	uint8_t hdr[110];
	size_t have;
	char name[INITRD_MAX_NAME];
	uint32_t namesize, mode;
	uint64_t filesize, left;
	size_t pad;
	bool capture;
	char *cap;
	size_t cap_len;
	bool foreign;           /* stopped at a byte that is not cpio */
	uint64_t in_off;        /* bytes fed so far (for messages) */
	struct vmie_insp_initrd *res;
	struct vmie_budget *budget;
};

static bool initrd_hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t r = 0;
	for (int i = 0; i < 8; i++) {
		unsigned c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		r = r << 4 | d;
	}
	*v = r;
	return true;
}

static void initrd_entry(struct initrd_cpio *c)
{
	const char *b = strrchr(c->name, '/');
	const char *d;

	b = b ? b + 1 : c->name;
	c->res->n_files++;
	if ((c->mode & 0170000) != 0100000)
		return;
	d = vmie_insp_driver_name(b);
	if (d)
		vmie_insp_list_add(c->res->drivers, sizeof c->res->drivers, d);
	if (!strcmp(b, "modules.builtin") && !c->cap && c->filesize &&
	    c->filesize <= INITRD_MAX_CAPTURE) {
		c->cap = malloc((size_t)c->filesize);
		c->cap_len = 0;
		c->capture = c->cap != NULL;
	}
}

static void initrd_entry_done(struct initrd_cpio *c)
{
	if (c->capture) {
		char tmp[256] = "";
		vmie_insp_builtin_drivers(c->cap, c->cap_len, tmp, sizeof tmp);
		for (size_t i = 0; i < sizeof initrd_drivers /
		     sizeof *initrd_drivers; i++)
			if (vmie_insp_list_has(tmp, initrd_drivers[i])) {
				vmie_insp_list_add(c->res->drivers,
					sizeof c->res->drivers,
					initrd_drivers[i]);
				vmie_insp_list_add(c->res->builtin,
					sizeof c->res->builtin,
					initrd_drivers[i]);
			}
		free(c->cap);
		c->cap = NULL;
		c->capture = false;
	}
}

/* Feed n bytes; returns bytes consumed (< n only when c->foreign is set
 * or on error, *rc then negative). */
static size_t initrd_feed(struct initrd_cpio *c, const uint8_t *b, size_t n,
			  int *rc, struct vmie_err *err)
{
	size_t i = 0;

	*rc = 0;
	while (i < n) {
		switch (c->st) {
		case CP_BETWEEN:
			while (i < n && b[i] == 0)
				i++;
			if (i == n)
				break;
			if (b[i] != '0') {
				c->foreign = true;
				c->in_off += i;
				return i;
			}
			c->st = CP_HDR;
			c->have = 0;
			break;
		case CP_HDR: {
			size_t k = vmie_min_u64(sizeof c->hdr - c->have, n - i);
			memcpy(c->hdr + c->have, b + i, k);
			c->have += k;
			i += k;
			if (c->have >= 6 && memcmp(c->hdr, "070701", 6) &&
			    memcmp(c->hdr, "070702", 6)) {
				*rc = VMIE_CORRUPT(err, "initramfs: bad cpio "
					"header magic near uncompressed offset "
					"%llu", (unsigned long long)
					(c->in_off + i));
				return i;
			}
			if (c->have < sizeof c->hdr)
				break;
			uint32_t fsz, nsz;
			if (!initrd_hex8(c->hdr + 0x0e, &c->mode) ||
			    !initrd_hex8(c->hdr + 0x36, &fsz) ||
			    !initrd_hex8(c->hdr + 0x5e, &nsz)) {
				*rc = VMIE_CORRUPT(err, "initramfs: cpio header "
					"with non-hex field near uncompressed "
					"offset %llu",
					(unsigned long long)(c->in_off + i));
				return i;
			}
			if (nsz < 2 || nsz > INITRD_MAX_NAME) {
				*rc = VMIE_CORRUPT(err, "initramfs: cpio name "
					"size %u out of range near uncompressed "
					"offset %llu", nsz,
					(unsigned long long)(c->in_off + i));
				return i;
			}
			c->filesize = fsz;
			c->namesize = nsz;
			c->have = 0;
			c->st = CP_NAME;
			break;
		}
		case CP_NAME: {
			size_t k = vmie_min_u64(c->namesize - c->have, n - i);
			memcpy(c->name + c->have, b + i, k);
			c->have += k;
			i += k;
			if (c->have < c->namesize)
				break;
			c->name[c->namesize - 1] = '\0';
			c->pad = (4 - ((110 + c->namesize) & 3)) & 3;
			c->left = c->filesize;
			c->st = CP_NAMEPAD;
			if (!strcmp(c->name, "TRAILER!!!")) {
				c->res->n_archives++;
			} else {
				if (c->res->n_files >= INITRD_MAX_FILES) {
					*rc = VMIE_CORRUPT(err, "initramfs: "
						"more than %u cpio members "
						"(near uncompressed offset "
						"%llu): scan stopped",
						INITRD_MAX_FILES,
						(unsigned long long)
						(c->in_off + i));
					return i;
				}
				*rc = vmie_budget_entries(c->budget, 1,
					"initramfs: cpio member", err);
				if (*rc)
					return i;
				initrd_entry(c);
			}
			break;
		}
		case CP_NAMEPAD: {
			size_t k = vmie_min_u64(c->pad, n - i);
			c->pad -= k;
			i += k;
			if (c->pad)
				break;
			if (!strcmp(c->name, "TRAILER!!!")) {
				c->st = CP_BETWEEN;
				break;
			}
			c->st = CP_DATA;
			break;
		}
		case CP_DATA: {
			size_t k = vmie_min_u64(c->left, n - i);
			if (c->capture && c->cap_len + k <= c->filesize) {
				memcpy(c->cap + c->cap_len, b + i, k);
				c->cap_len += k;
			}
			c->left -= k;
			i += k;
			if (c->left)
				break;
			initrd_entry_done(c);
			c->pad = (4 - (c->filesize & 3)) & 3;
			c->st = CP_DATAPAD;
			break;
		}
		case CP_DATAPAD: {
			size_t k = vmie_min_u64(c->pad, n - i);
			c->pad -= k;
			i += k;
			if (!c->pad) {
				c->st = CP_HDR;
				c->have = 0;
			}
			break;
		}
		}
	}
	c->in_off += n;
	return n;
}

/* ---- the scan ---- */

struct initrd_scan {
	vmie_insp_read_fn rd;
	void *ctx;
	uint64_t size;
	uint64_t max_out;       /* this initramfs may inflate to */
	unsigned streams;
	struct vmie_budget *budget;
	/* the last chunk read from the file: a stream that ends inside it
	 * and what follows are served from here, not read again */
	uint8_t *win;
	uint64_t win_off;
	size_t win_len;
	uint8_t *in, *out;
	struct initrd_cpio cpio;
	struct vmie_insp_initrd *res;
	bool stop;              /* all drivers found: nothing more to learn */
};

static bool initrd_all_found(const struct vmie_insp_initrd *res)
{
	for (size_t i = 0; i < sizeof initrd_drivers / sizeof *initrd_drivers; i++)
		if (!vmie_insp_list_has(res->drivers, initrd_drivers[i]))
			return false;
	return true;
}

/* Read through the window; partial: stop at the end of what the window
 * holds once something was copied (a peek that does not move the window
 * forward, so that the stream that starts there is not read again). */
static int initrd_read_w(struct initrd_scan *s, void *buf, size_t len,
			 uint64_t off, bool partial, size_t *got,
			 struct vmie_err *err)
{
	*got = 0;
	if (off >= s->size)
		return 0;
	len = vmie_min_u64(len, s->size - off);
	while (*got < len) {
		uint64_t at = off + *got;
		if (!(s->win_len && at >= s->win_off &&
		      at < s->win_off + s->win_len)) {
			size_t n = 0;
			int rc = s->rd(s->ctx, s->win, (size_t)vmie_min_u64(
					INITRD_CHUNK, s->size - at), at, &n,
				       err);
			if (rc)
				return rc;
			s->win_off = at;
			s->win_len = n;
			if (!n)
				break;
		}
		size_t k = (size_t)vmie_min_u64(len - *got,
				s->win_off + s->win_len - at);
		memcpy((uint8_t *)buf + *got, s->win + (at - s->win_off), k);
		*got += k;
		if (partial)
			break;
	}
	return 0;
}

/* A partial read (at most to the end of the window); callers loop. */
static int initrd_read(struct initrd_scan *s, void *buf, size_t len,
		       uint64_t off, size_t *got, struct vmie_err *err)
{
	return initrd_read_w(s, buf, len, off, true, got, err);
}

static int initrd_out(struct initrd_scan *s, const uint8_t *b, size_t n,
		      const char *what, struct vmie_err *err)
{
	int rc;

	if (!n)
		return 0;
	if (vmie_add_u64(s->res->bytes_out, n, &s->res->bytes_out) ||
	    s->res->bytes_out > s->max_out)
		return VMIE_CORRUPT(err, "initramfs: %s data inflates past "
				    "%llu MiB (%u times the file's size, at "
				    "least %llu MiB): a compression bomb; "
				    "scan stopped", what,
				    (unsigned long long)(s->max_out >> 20),
				    INITRD_RATIO, (unsigned long long)
				    (INITRD_MIN_OUT >> 20));
	if (what && (rc = vmie_budget_inflate(s->budget, n,
					      "initramfs", err)))
		return rc;
	s->cpio.foreign = false;
	initrd_feed(&s->cpio, b, n, &rc, err);
	if (rc)
		return rc;
	if (s->cpio.foreign)
		return VMIE_CORRUPT(err, "initramfs: %s data is not a cpio "
				    "archive", what);
	if (!s->cpio.capture && initrd_all_found(s->res)) {
		s->stop = true;
		s->res->stopped_early = true;
	}
	return 0;
}

/* A stream codec: decode from in, into out; *end at the end of the
 * stream (a gzip member, an xz stream, a zstd or LZ4 frame). */
struct initrd_codec {
	const char *name;
	int (*init)(void **st);
	int (*step)(void *st, const uint8_t *in, size_t inlen, size_t *used,
		    uint8_t *out, size_t outcap, size_t *made, bool *end);
	void (*fini)(void *st);
};

static int gz_init(void **st)
{
	z_stream *z = calloc(1, sizeof *z);
	if (!z)
		return VMIE_ENOMEM;
	if (inflateInit2(z, 16 + MAX_WBITS) != Z_OK) {
		free(z);
		return VMIE_ENOMEM;
	}
	*st = z;
	return 0;
}
static int gz_step(void *st, const uint8_t *in, size_t inlen, size_t *used,
		   uint8_t *out, size_t outcap, size_t *made, bool *end)
{
	z_stream *z = st;
	int r;

	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)inlen;
	z->next_out = out;
	z->avail_out = (uInt)outcap;
	r = inflate(z, Z_NO_FLUSH);
	*used = inlen - z->avail_in;
	*made = outcap - z->avail_out;
	*end = r == Z_STREAM_END;
	return r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR ? 0 : -1;
}
static void gz_fini(void *st)
{
	inflateEnd(st);
	free(st);
}

static int zst_init(void **st)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	if (!d)
		return VMIE_ENOMEM;
	ZSTD_initDStream(d);
	*st = d;
	return 0;
}
static int zst_step(void *st, const uint8_t *in, size_t inlen, size_t *used,
		    uint8_t *out, size_t outcap, size_t *made, bool *end)
{
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outcap, 0 };
	size_t r = ZSTD_decompressStream(st, &ob, &ib);

	*used = ib.pos;
	*made = ob.pos;
	if (ZSTD_isError(r))
		return -1;
	*end = r == 0;
	return 0;
}
static void zst_fini(void *st)
{
	ZSTD_freeDStream(st);
}

static int lz4f_init(void **st)
{
	LZ4F_dctx *d;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return VMIE_ENOMEM;
	*st = d;
	return 0;
}
static int lz4f_step(void *st, const uint8_t *in, size_t inlen, size_t *used,
		     uint8_t *out, size_t outcap, size_t *made, bool *end)
{
	size_t o = outcap, i = inlen;
	size_t r = LZ4F_decompress(st, out, &o, in, &i, NULL);

	*used = i;
	*made = o;
	if (LZ4F_isError(r))
		return -1;
	*end = r == 0;
	return 0;
}
static void lz4f_fini(void *st)
{
	LZ4F_freeDecompressionContext(st);
}

#ifdef INITRD_HAVE_LZMA
static int xz_init(void **st)
{
	lzma_stream *x = calloc(1, sizeof *x);
	lzma_stream init = LZMA_STREAM_INIT;
	if (!x)
		return VMIE_ENOMEM;
	*x = init;
	if (lzma_stream_decoder(x, (uint64_t)256 << 20, 0) != LZMA_OK) {
		free(x);
		return VMIE_ENOMEM;
	}
	*st = x;
	return 0;
}
static int xz_step(void *st, const uint8_t *in, size_t inlen, size_t *used,
		   uint8_t *out, size_t outcap, size_t *made, bool *end)
{
	lzma_stream *x = st;
	lzma_ret r;

	x->next_in = in;
	x->avail_in = inlen;
	x->next_out = out;
	x->avail_out = outcap;
	r = lzma_code(x, LZMA_RUN);
	*used = inlen - x->avail_in;
	*made = outcap - x->avail_out;
	*end = r == LZMA_STREAM_END;
	return r == LZMA_OK || r == LZMA_STREAM_END || r == LZMA_BUF_ERROR ?
	       0 : -1;
}
static void xz_fini(void *st)
{
	lzma_end(st);
	free(st);
}
#endif

static const struct initrd_codec initrd_gzip = { "gzip", gz_init, gz_step,
						 gz_fini };
static const struct initrd_codec initrd_zstd = { "zstd", zst_init, zst_step,
						 zst_fini };
static const struct initrd_codec initrd_lz4 = { "lz4", lz4f_init, lz4f_step,
						lz4f_fini };
#ifdef INITRD_HAVE_LZMA
static const struct initrd_codec initrd_xz = { "xz", xz_init, xz_step,
					       xz_fini };
#endif

/* Decode one compressed stream starting at *pos; *pos ends after it. */
static int initrd_stream(struct initrd_scan *s, const struct initrd_codec *cd,
			 uint64_t *pos, struct vmie_err *err)
{
	void *st = NULL;
	uint64_t start = *pos, off = *pos;
	size_t ipos = 0, ilen = 0;
	bool eof = false, end = false, stalled = false;
	int rc;

	if (++s->streams > INITRD_MAX_STREAMS)
		return VMIE_CORRUPT(err, "initramfs: more than %u compressed "
				    "streams (at offset %llu): scan stopped",
				    INITRD_MAX_STREAMS,
				    (unsigned long long)start);
	rc = vmie_budget_entries(s->budget, 1, "initramfs: compressed stream",
				 err);
	if (rc)
		return rc;
	rc = cd->init(&st);
	if (rc)
		return VMIE_ERR(err, rc, "initramfs: cannot start %s decoder",
				cd->name);
	while (!end && !s->stop) {
		if (ipos == ilen || stalled) {
			size_t got;
			if (ipos) {
				memmove(s->in, s->in + ipos, ilen - ipos);
				ilen -= ipos;
				ipos = 0;
			}
			if (ilen == INITRD_CHUNK || eof) {
				rc = VMIE_CORRUPT(err, "initramfs: %s stream "
					"at offset %llu is truncated or "
					"corrupt", cd->name,
					(unsigned long long)start);
				goto out;
			}
			rc = initrd_read(s, s->in + ilen, INITRD_CHUNK - ilen,
					 off, &got, err);
			if (rc)
				goto out;
			if (!got)
				eof = true;
			ilen += got;
			off += got;
		}
		size_t used = 0, made = 0;
		if (cd->step(st, s->in + ipos, ilen - ipos, &used, s->out,
			     INITRD_CHUNK, &made, &end)) {
			rc = VMIE_CORRUPT(err, "initramfs: %s data corrupt in "
					  "the stream at offset %llu", cd->name,
					  (unsigned long long)start);
			goto out;
		}
		ipos += used;
		stalled = !used && !made;
		rc = initrd_out(s, s->out, made, cd->name, err);
		if (rc)
			goto out;
	}
	*pos = off - (ilen - ipos);
out:
	cd->fini(st);
	return rc;
}

/* LZ4 legacy: blocks until EOF, a zero size, or a size too big for a
 * block (the start of whatever follows). */
static int initrd_lz4_legacy(struct initrd_scan *s, uint64_t *pos,
			     struct vmie_err *err)
{
	uint64_t off = *pos + 4;
	uint8_t *cin = NULL, *cout = NULL;
	size_t bound = (size_t)LZ4_compressBound((int)INITRD_LZ4L_BLOCK);
	int rc = 0;

	cin = malloc(bound);
	cout = malloc(INITRD_LZ4L_BLOCK);
	if (!cin || !cout) {
		rc = VMIE_ERR(err, VMIE_ENOMEM, "initramfs: out of memory");
		goto out;
	}
	for (;;) {
		uint8_t h[4];
		size_t got;
		rc = initrd_read_w(s, h, 4, off, false, &got, err);
		if (rc)
			goto out;
		if (got < 4)
			break;
		uint32_t csz = vmie_le32(h);
		if (csz == INITRD_LZ4L_MAGIC) {
			off += 4;
			continue;
		}
		if (!csz || csz > bound)
			break;
		rc = initrd_read_w(s, cin, csz, off + 4, false, &got,
				   err);
		if (rc)
			goto out;
		if (got < csz) {
			rc = VMIE_CORRUPT(err, "initramfs: lz4 block at "
					  "offset %llu is truncated",
					  (unsigned long long)off);
			goto out;
		}
		int n = LZ4_decompress_safe((const char *)cin, (char *)cout,
					    (int)csz, (int)INITRD_LZ4L_BLOCK);
		if (n < 0) {
			rc = VMIE_CORRUPT(err, "initramfs: lz4 block at "
					  "offset %llu is corrupt",
					  (unsigned long long)off);
			goto out;
		}
		rc = initrd_out(s, cout, (size_t)n, "lz4", err);
		if (rc)
			goto out;
		off += 4 + (uint64_t)csz;
	}
	*pos = off;
out:
	free(cin);
	free(cout);
	return rc;
}

static void initrd_note(struct vmie_insp_initrd *res, const char *c)
{
	size_t l = strlen(res->compression);
	const char *last = strrchr(res->compression, '+');

	last = last ? last + 1 : res->compression;
	if (l && !strcmp(last, c))
		return;
	if (l + strlen(c) + 2 > sizeof res->compression)
		return;
	if (l)
		res->compression[l++] = '+';
	strcpy(res->compression + l, c);
}

int vmie_insp_initrd_scan(vmie_insp_read_fn rd, void *ctx, uint64_t size,
			  struct vmie_insp_initrd *res, struct vmie_err *err)
{
	return vmie_insp_initrd_scan_budget(rd, ctx, size, NULL, res, err);
}

int vmie_insp_initrd_scan_budget(vmie_insp_read_fn rd, void *ctx,
				 uint64_t size, struct vmie_budget *budget,
				 struct vmie_insp_initrd *res,
				 struct vmie_err *err)
{
	struct initrd_scan s = { .rd = rd, .ctx = ctx, .size = size,
				 .res = res, .budget = budget };
	uint64_t pos = 0;
	int rc = 0;

	memset(res, 0, sizeof *res);
	s.cpio.res = res;
	s.cpio.budget = budget;
	s.max_out = size > INITRD_MAX_OUT / INITRD_RATIO ? INITRD_MAX_OUT :
		    vmie_max_u64(INITRD_MIN_OUT, size * INITRD_RATIO);
	s.in = malloc(INITRD_CHUNK);
	s.out = malloc(INITRD_CHUNK);
	s.win = malloc(INITRD_CHUNK);
	if (!s.in || !s.out || !s.win) {
		rc = VMIE_ERR(err, VMIE_ENOMEM, "initramfs: out of memory");
		goto out;
	}
	while (pos < size && !s.stop) {
		size_t got, z = 0;
		rc = initrd_read_w(&s, s.in, INITRD_CHUNK, pos, true, &got,
				   err);
		if (rc)
			goto out;
		if (!got)
			break;
		while (z < got && !s.in[z])
			z++;
		if (z == got) {
			pos += got;
			continue;
		}
		pos += z;
		const uint8_t *m = s.in + z;
		size_t avail = got - z;
		if (avail < 6 && pos + 6 <= size) {
			/* re-read so that the magic is whole */
			rc = initrd_read(&s, s.in, INITRD_CHUNK, pos, &got,
					 err);
			if (rc)
				goto out;
			m = s.in;
			avail = got;
		}
		if (avail >= 6 && !memcmp(m, "0707", 4)) {
			/* uncompressed cpio: feed until something else */
			initrd_note(res, "none");
			s.cpio.foreign = false;
			for (;;) {
				size_t used;
				rc = initrd_read(&s, s.in, INITRD_CHUNK, pos,
						 &got, err);
				if (rc)
					goto out;
				if (!got)
					break;
				used = initrd_feed(&s.cpio, s.in, got, &rc,
						   err);
				if (rc)
					goto out;
				pos += used;
				if (s.cpio.foreign)
					break;
			}
			continue;
		}
		const struct initrd_codec *cd = NULL;
		if (avail >= 2 && m[0] == 0x1f && (m[1] == 0x8b || m[1] == 0x9e))
			cd = &initrd_gzip;
		else if (avail >= 4 && vmie_le32(m) == 0xFD2FB528u)
			cd = &initrd_zstd;
		else if (avail >= 4 && vmie_le32(m) == 0x184D2204u)
			cd = &initrd_lz4;
#ifdef INITRD_HAVE_LZMA
		else if (avail >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6))
			cd = &initrd_xz;
#endif
		if (cd) {
			initrd_note(res, cd->name);
			rc = initrd_stream(&s, cd, &pos, err);
			if (rc)
				goto out;
			continue;
		}
		if (avail >= 4 && vmie_le32(m) == INITRD_LZ4L_MAGIC) {
			initrd_note(res, "lz4");
			rc = initrd_lz4_legacy(&s, &pos, err);
			if (rc)
				goto out;
			continue;
		}
		const char *what = "unknown data";
		if (avail >= 3 && !memcmp(m, "BZh", 3))
			what = "bzip2 (not supported)";
		else if (avail >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6))
			what = "xz (vmie built without liblzma)";
		else if (avail >= 3 && m[0] == 0x5d && m[1] == 0 && m[2] == 0)
			what = "lzma (not supported)";
		else if (avail >= 4 && !memcmp(m, "\x89LZO", 4))
			what = "lzo (not supported)";
		rc = VMIE_ERR(err, res->n_archives ? VMIE_EUNSUPP :
			      VMIE_EFORMAT, "initramfs: %s at offset %llu",
			      what, (unsigned long long)pos);
		goto out;
	}
	if (s.stop)
		goto out;
	if (s.cpio.st != CP_BETWEEN) {
		rc = VMIE_CORRUPT(err, "initramfs: cpio archive truncated at "
				  "the end of the file");
		goto out;
	}
	if (!res->n_archives)
		rc = VMIE_ERR(err, VMIE_EFORMAT, "initramfs: no cpio archive "
			      "found");
out:
	free(s.cpio.cap);
	free(s.win);
	free(s.in);
	free(s.out);
	return rc;
}
