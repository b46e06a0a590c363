/*
 * VMDK writers: stream-optimized (the default, what ESXi, AWS and qemu-img
 * accept) and monolithicSparse.
 *
 * Spec: VMware "Virtual Disk Format 5.0", "Stream-Optimized Compressed
 * Sparse Extents", "Hosted Sparse Extents" and "The Descriptor File";
 * layouts in vmdk_disk.h.  Where the spec leaves a choice, the stream
 * output follows what VMware's own writers produce (a VMware-written
 * stream VMDK, VMware's open-vmdk, ESXi and Workstation descriptors) and
 * what the strictest readers require (VirtualBox, ovftool); every field
 * and its source is in docs/format-vmdk.md.
 *
 * streamOptimized, written append-only from offset 0 to the end:
 *   sector 0        header, version 3, flags NL|compressed|markers
 *                   (0x30001), grain 128 sectors, 512 GTEs per GT,
 *                   gdOffset = all ones (the footer has the real one)
 *   sector 1..      embedded descriptor, NUL-terminated inside
 *                   descriptorSize; overHead 128: grains start at 64 KiB
 *   grains          {LBA, size, zlib stream} padded to 512 bytes, LBAs
 *                   ascending; zero grains are not stored (their table
 *                   entry stays 0); the last grain of a disk whose size is
 *                   not a multiple of 64 KiB is padded to a whole grain
 *   after the grains of each grain table: GT marker + the table (4 sectors);
 *                   tables without grains are not written (GD entry 0)
 *   at the end      GD marker + directory, footer marker + footer (header
 *                   copy with gdOffset set), end-of-stream marker as the
 *                   very last sector
 * Grains are compressed by encode() in the convert engine's worker threads
 * with ISA-L level 1 (zlib framing); a grain that does not shrink is stored
 * as a zlib stream made of deflate "stored" blocks, which costs a copy and
 * an Adler-32 instead of a second compression attempt, and keeps every
 * grain record within the 129 sectors VirtualBox's reader buffers.
 *
 * monolithicSparse (header version 1, like VMware Workstation and qemu-img):
 *   header, descriptor (20 sectors), redundant GD, redundant GTs, GD, GTs
 *   (all tables preallocated, written when complete), then grains from the
 *   first 64 KiB boundary; only non-zero grains are stored.
 */
#include "vmdk_int.h"
#include "../../core/checked.h"
#include "../../core/util.h"

#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define VMDK_W_GRAIN_SECTORS    128u
#define VMDK_W_GRAIN            (VMDK_W_GRAIN_SECTORS * VMDK_SECTOR)
#define VMDK_W_GTES             512u
#define VMDK_W_GT_SECTORS       (VMDK_W_GTES * 4 / VMDK_SECTOR)
/* a grain record: marker, zlib header, two stored blocks, Adler-32 */
#define VMDK_W_STORED_LEN       (2 + 5 + 65535 + 5 + 1 + 4)
#define VMDK_W_MAX_RECORD       \
	((VMDK_MARKER_HDR + VMDK_W_STORED_LEN + VMDK_SECTOR - 1) & \
	 ~(VMDK_SECTOR - 1))
/* the largest disk written: 64 TiB (VMFS allows 62 TB) */
#define VMDK_W_MAX_BYTES        ((uint64_t)64 << 40)
#define VMDK_W_NONE             UINT32_MAX
#define VMDK_W_SPARSE_DESC_SECTORS 20u

_Static_assert(VMDK_W_GRAIN == 65536, "stored-block layout assumes 64 KiB");
/* VirtualBox reads a compressed grain with its marker into a buffer of
 * align(grain + 24, 512) bytes and refuses larger records */
_Static_assert(VMDK_W_MAX_RECORD <= ((VMDK_W_GRAIN + 24 + VMDK_SECTOR - 1) &
				     ~(VMDK_SECTOR - 1)),
	       "a grain record must fit VirtualBox's buffer");

struct vmdk_comp {
	struct vmdk_comp *next;
	struct isal_zstream zs;
	uint8_t *level_buf;
	uint8_t *tail;              /* one zero-padded last grain */
};

/* encode()'s output for one chunk. */
struct vmdk_enc {
	size_t len;                 /* bytes of records in data */
	uint32_t n;                 /* grains in the chunk */
	uint8_t *data;
	uint32_t rec[];             /* byte offset of grain i's record in
				       data, or VMDK_W_NONE for zero grains */
};

struct vmdk_wstate {
	bool stream;
	struct vmdk_header_disk h;
	uint64_t capacity;          /* sectors */
	uint64_t n_grains, n_gd;
	uint32_t *gd;               /* host order */
	uint32_t gt[VMDK_W_GTES];
	uint64_t cur_gt;            /* UINT64_MAX: none */
	uint64_t pos;               /* next byte to append */
	uint64_t stored;            /* grains stored (table entries set) */
	/* monolithicSparse: preallocated tables */
	uint64_t gt0_sec, rgt0_sec;
	uint8_t *zero_tail;         /* last partial grain, padded */
	pthread_mutex_t lock;
	struct vmdk_comp *pool;
};

/* ---- options and descriptor ---- */

static const char *const vmdk_adapters[] = {
	"ide", "buslogic", "lsilogic", "pvscsi", "legacyESX", NULL
};

/* Values from -o, with vmie's defaults (docs/format-vmdk.md says why). */
struct vmdk_wopts {
	const char *adapter;        /* ddb.adapterType */
	const char *hw;             /* ddb.virtualHWVersion */
	const char *tools;          /* ddb.toolsVersion, NULL = not written */
};

/* A decimal number of 1..max_digits digits, no leading zero unless it is
 * "0" itself and zero_ok, not above max. */
static bool vmdk_w_number(const char *v, size_t max_digits, uint64_t max,
			  bool zero_ok)
{
	size_t n = strlen(v);
	uint64_t x = 0;
	if (n < 1 || n > max_digits || (v[0] == '0' && (n > 1 || !zero_ok)))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	return x <= max;
}

static int vmdk_w_options(const struct vmie_create_opts *o,
			  struct vmdk_wopts *wo, struct vmie_err *err)
{
	static const char *const keys[] = {
		"adapter_type", "hwversion", "toolsversion", NULL
	};
	wo->adapter = "lsilogic";
	wo->hw = "4";
	wo->tools = "2147483647";
	for (size_t i = 0; i < o->n_kv; i++) {
		const char *kv = o->kv[i], *eq = strchr(kv, '=');
		size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
		bool known = false;
		for (size_t k = 0; keys[k]; k++)
			known |= kl == strlen(keys[k]) &&
				 !strncmp(kv, keys[k], kl);
		if (!known)
			return VMIE_ERR(err, VMIE_EINVAL, "vmdk: unknown option "
					"'%.*s' (known: adapter_type, hwversion, "
					"toolsversion)", (int)kl, kv);
	}
	const char *a = vmie_create_opt(o, "adapter_type");
	if (a) {
		bool ok = false;
		for (size_t i = 0; vmdk_adapters[i]; i++)
			if (!strcasecmp(a, vmdk_adapters[i])) {
				wo->adapter = vmdk_adapters[i];
				ok = true;
			}
		if (!ok)
			return VMIE_ERR(err, VMIE_EINVAL, "vmdk: adapter_type "
					"'%s' is not one of ide, buslogic, "
					"lsilogic, pvscsi, legacyESX", a);
	}
	const char *h = vmie_create_opt(o, "hwversion");
	if (h) {
		if (!vmdk_w_number(h, 2, 99, false))
			return VMIE_ERR(err, VMIE_EINVAL, "vmdk: hwversion '%s' "
					"is not a number from 1 to 99", h);
		wo->hw = h;
	}
	const char *t = vmie_create_opt(o, "toolsversion");
	if (t) {
		if (!strcasecmp(t, "none"))
			wo->tools = NULL;
		else if (vmdk_w_number(t, 10, 2147483647u, true))
			wo->tools = t;
		else
			return VMIE_ERR(err, VMIE_EINVAL, "vmdk: toolsversion "
					"'%s' is not 'none' or a number from 0 "
					"to 2147483647", t);
	}
	return 0;
}

static void vmdk_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len) {   /* no entropy source: still unique enough */
		uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)buf;
		for (size_t i = got; i < len; i++) {
			t = t * 6364136223846793005ull + 1442695040888963407ull;
			p[i] = (uint8_t)(t >> 56);
		}
	}
}

/* ddb.geometry the way VMware derives it from the adapter and capacity:
 * IDE 16 heads x 63 sectors per track; SCSI adapters (VMware KB 1026266)
 * 64 x 32 below 1 GiB, 128 x 32 below 2 GiB, 255 x 63 from 2 GiB.
 * Cylinders are rounded down (VMware's own descriptors: 16 GiB gives 2088),
 * at least 1, and capped at the ATA / BIOS limits (16383 for IDE, 65535
 * for SCSI) that VirtualBox and VMware's open-vmdk apply. */
static void vmdk_w_geometry(const char *adapter, uint64_t sectors,
			    uint64_t *cyl, unsigned *heads, unsigned *secs)
{
	uint64_t cap = 65535;
	if (!strcmp(adapter, "ide")) {
		*heads = 16;
		*secs = 63;
		cap = 16383;
	} else if (sectors < ((uint64_t)1 << 30) / VMDK_SECTOR) {
		*heads = 64;
		*secs = 32;
	} else if (sectors < ((uint64_t)2 << 30) / VMDK_SECTOR) {
		*heads = 128;
		*secs = 32;
	} else {
		*heads = 255;
		*secs = 63;
	}
	*cyl = sectors / ((uint64_t)*heads * *secs);
	if (*cyl < 1)
		*cyl = 1;
	if (*cyl > cap)
		*cyl = cap;
}

/* Build the embedded descriptor (malloc'd, NUL-terminated).  Field by
 * field what VMware's exports carry; docs/format-vmdk.md gives the source
 * of each. */
static char *vmdk_w_descriptor(const struct vmie_writer *w, bool stream,
			       uint64_t capacity, const struct vmdk_wopts *wo)
{
	uint8_t rnd[4 + 12 + 13];
	char lcid[25], uuid[48], name[128], tools[64] = "";
	const char *base = w->sink && w->sink->name ? w->sink->name : "";
	const char *slash = strrchr(base, '/');
	uint64_t cyl;
	unsigned heads, secs;
	uint32_t cid;

	vmdk_random(rnd, sizeof rnd);
	/* CID: random; ffffffff means "no parent" and fffffffe is the
	 * "never written" value of a freshly created disk */
	cid = vmie_le32(rnd);
	if (cid >= 0xfffffffeu)
		cid = 0x12345678u;
	/* longContentID: 32 hex digits whose last 8 are the CID, as ESXi,
	 * Workstation and open-vmdk write it */
	vmie_hex(lcid, rnd + 4, 12);
	/* ddb.uuid: 16 bytes in VMware's "xx xx xx xx xx xx xx xx-xx ..."
	 * form, starting 60 00 C2 like every disk VMware creates (the guest
	 * sees it as naa.6000c29... when disk.EnableUUID is set) */
	int p = snprintf(uuid, sizeof uuid, "60 00 C2");
	for (int i = 3; i < 16; i++)
		p += snprintf(uuid + p, sizeof uuid - (size_t)p, "%s%02x",
			      i == 8 ? "-" : " ", rnd[16 + i - 3]);
	vmie_strlcpy(name, slash ? slash + 1 : base, sizeof name);
	for (char *c = name; *c; c++)
		if (*c == '"' || (unsigned char)*c < 0x20 ||
		    (unsigned char)*c >= 0x7f)
			*c = '_';
	if (!name[0])
		vmie_strlcpy(name, "disk.vmdk", sizeof name);
	if (wo->tools)
		snprintf(tools, sizeof tools, "ddb.toolsVersion = \"%s\"\n",
			 wo->tools);
	vmdk_w_geometry(wo->adapter, capacity, &cyl, &heads, &secs);

	char *d = NULL;
	int n = asprintf(&d,
		"# Disk DescriptorFile\n"
		"version=1\n"
		"encoding=\"UTF-8\"\n"
		"CID=%08x\n"
		"parentCID=ffffffff\n"
		"createType=\"%s\"\n"
		"\n"
		"# Extent description\n"
		"%s %llu SPARSE \"%s\"\n"
		"\n"
		"# The Disk Data Base\n"
		"#DDB\n"
		"\n"
		"ddb.adapterType = \"%s\"\n"
		"ddb.geometry.cylinders = \"%llu\"\n"
		"ddb.geometry.heads = \"%u\"\n"
		"ddb.geometry.sectors = \"%u\"\n"
		"ddb.longContentID = \"%s%08x\"\n"
		"%s"
		"ddb.uuid = \"%s\"\n"
		"ddb.virtualHWVersion = \"%s\"\n",
		cid, stream ? "streamOptimized" : "monolithicSparse",
		/* a stream extent cannot be written in place: VMware's
		 * exports mark it RDONLY */
		stream ? "RDONLY" : "RW",
		(unsigned long long)capacity, name, wo->adapter,
		(unsigned long long)cyl, heads, secs, lcid, cid, tools, uuid,
		wo->hw);
	return n < 0 ? NULL : d;
}

/* ---- create ---- */

static void vmdk_w_free(struct vmie_writer *w)
{
	struct vmdk_wstate *s = w->priv;
	if (!s)
		return;
	while (s->pool) {
		struct vmdk_comp *c = s->pool;
		s->pool = c->next;
		free(c->level_buf);
		free(c->tail);
		free(c);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->gd);
	free(s->zero_tail);
	free(s);
	w->priv = NULL;
}

static int vmdk_w_create(struct vmie_writer *w, const struct vmie_create_opts *o,
			 struct vmie_err *err)
{
	struct vmdk_wopts wo;
	struct vmdk_wstate *s;
	uint8_t *buf = NULL;
	char *desc = NULL;
	int r;

	r = vmdk_w_options(o, &wo, err);
	if (r)
		return r;
	bool stream = !o->subformat || !o->subformat[0] ||
		      !strcasecmp(o->subformat, "streamOptimized");
	if (!stream && strcasecmp(o->subformat, "monolithicSparse"))
		return VMIE_ERR(err, VMIE_EINVAL, "vmdk: cannot write "
				"subformat '%s' (streamOptimized, "
				"monolithicSparse)", o->subformat);
	if (o->size > VMDK_W_MAX_BYTES)
		return VMIE_ERR(err, VMIE_EINVAL, "vmdk: a %llu-byte disk is "
				"larger than the %llu bytes vmie writes as VMDK",
				(unsigned long long)o->size,
				(unsigned long long)VMDK_W_MAX_BYTES);
	s = calloc(1, sizeof *s);
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	w->priv = s;
	w->granule = VMDK_W_GRAIN;
	s->stream = stream;
	s->cur_gt = UINT64_MAX;
	s->capacity = vmie_div_round_up(o->size, VMDK_SECTOR);
	s->n_grains = vmie_div_round_up(s->capacity, VMDK_W_GRAIN_SECTORS);
	s->n_gd = vmie_div_round_up(s->n_grains, VMDK_W_GTES);
	s->gd = calloc(s->n_gd ? s->n_gd : 1, 4);
	if (!s->gd) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	desc = vmdk_w_descriptor(w, stream, s->capacity, &wo);
	if (!desc) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	uint64_t desc_len = strlen(desc);
	/* room for a NUL after the text: readers take it as a C string */
	uint64_t desc_sec = vmie_div_round_up(desc_len + 1, VMDK_SECTOR);
	uint64_t gd_sec = vmie_div_round_up(s->n_gd * 4, VMDK_SECTOR);

	struct vmdk_header_disk *h = &s->h;
	h->capacity = s->capacity;
	h->grain_size = VMDK_W_GRAIN_SECTORS;
	h->desc_offset = 1;
	h->num_gtes = VMDK_W_GTES;
	if (stream) {
		h->version = 3;
		h->flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_COMPRESSED |
			   VMDK_FLAG_MARKERS;
		h->compress = VMDK_COMPRESS_DEFLATE;
		h->desc_size = desc_sec;
		h->gd_offset = VMDK_GD_AT_END;
		h->overhead = vmie_div_round_up(1 + desc_sec,
						VMDK_W_GRAIN_SECTORS) *
			      VMDK_W_GRAIN_SECTORS;
	} else {
		h->version = 1;
		h->flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD;
		h->desc_size = vmie_max_u64(desc_sec,
					    VMDK_W_SPARSE_DESC_SECTORS);
		h->rgd_offset = 1 + h->desc_size;
		s->rgt0_sec = h->rgd_offset + gd_sec;
		h->gd_offset = s->rgt0_sec + s->n_gd * VMDK_W_GT_SECTORS;
		s->gt0_sec = h->gd_offset + gd_sec;
		h->overhead = vmie_div_round_up(s->gt0_sec +
						s->n_gd * VMDK_W_GT_SECTORS,
						VMDK_W_GRAIN_SECTORS) *
			      VMDK_W_GRAIN_SECTORS;
	}
	s->pos = h->overhead * VMDK_SECTOR;

	/* header + descriptor (+ both directories for monolithicSparse) */
	uint64_t head_len = (1 + h->desc_size) * VMDK_SECTOR;
	buf = calloc(1, (size_t)head_len);
	if (!buf) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	vmdk_header_encode(buf, h);
	memcpy(buf + VMDK_SECTOR, desc, (size_t)desc_len);
	r = vmie_sink_pwrite(w->sink, buf, (size_t)head_len, 0, err);
	if (r)
		goto out;
	if (!stream && s->n_gd) {
		uint8_t *gd = calloc(1, (size_t)(gd_sec * VMDK_SECTOR));
		if (!gd) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			goto out;
		}
		for (uint64_t i = 0; i < s->n_gd; i++)
			vmie_put_le32(gd + 4 * i, (uint32_t)(s->rgt0_sec +
					       i * VMDK_W_GT_SECTORS));
		r = vmie_sink_pwrite(w->sink, gd, (size_t)(gd_sec * VMDK_SECTOR),
				     h->rgd_offset * VMDK_SECTOR, err);
		for (uint64_t i = 0; !r && i < s->n_gd; i++)
			vmie_put_le32(gd + 4 * i, (uint32_t)(s->gt0_sec +
					       i * VMDK_W_GT_SECTORS));
		if (!r)
			r = vmie_sink_pwrite(w->sink, gd,
					     (size_t)(gd_sec * VMDK_SECTOR),
					     h->gd_offset * VMDK_SECTOR, err);
		free(gd);
		if (r)
			goto out;
		if (s->gt0_sec + s->n_gd * VMDK_W_GT_SECTORS > UINT32_MAX) {
			r = VMIE_ERR(err, VMIE_EINVAL, "vmdk: grain tables of a "
				     "%llu-byte monolithicSparse disk do not "
				     "fit 32-bit sector offsets",
				     (unsigned long long)o->size);
			goto out;
		}
	}
	r = 0;
out:
	free(buf);
	free(desc);
	return r;
}

/* ---- encode (worker threads) ---- */

static struct vmdk_comp *vmdk_comp_get(struct vmdk_wstate *s,
				       struct vmie_err *err)
{
	struct vmdk_comp *c;
	pthread_mutex_lock(&s->lock);
	c = s->pool;
	if (c)
		s->pool = c->next;
	pthread_mutex_unlock(&s->lock);
	if (c)
		return c;
	c = calloc(1, sizeof *c);
	if (c) {
		c->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
		c->tail = malloc(VMDK_W_GRAIN);
	}
	if (!c || !c->level_buf || !c->tail) {
		if (c) {
			free(c->level_buf);
			free(c->tail);
		}
		free(c);
		VMIE_ERR(err, VMIE_ENOMEM, "out of memory for a compressor");
		return NULL;
	}
	return c;
}

static void vmdk_comp_put(struct vmdk_wstate *s, struct vmdk_comp *c)
{
	pthread_mutex_lock(&s->lock);
	c->next = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->lock);
}

/* A zlib stream of deflate stored blocks holding src (65536 bytes). */
static size_t vmdk_stored(uint8_t *out, const uint8_t *src, size_t len)
{
	uint8_t *p = out;
	*p++ = 0x78;          /* CM 8, 32 KiB window */
	*p++ = 0x01;          /* FLEVEL 0, FCHECK: 0x7801 % 31 == 0 */
	size_t left = len;
	const uint8_t *q = src;
	do {
		uint16_t n = (uint16_t)(left > 65535 ? 65535 : left);
		*p++ = left == n ? 1 : 0;   /* BFINAL, BTYPE 00 */
		vmie_put_le16(p, n);
		vmie_put_le16(p + 2, (uint16_t)~n);
		p += 4;
		memcpy(p, q, n);
		p += n;
		q += n;
		left -= n;
	} while (left);
	vmie_put_be32(p, isal_adler32(1, src, len));
	p += 4;
	return (size_t)(p - out);
}

/* Compress one 64 KiB grain into out (room for VMDK_W_STORED_LEN). */
static int vmdk_compress_grain(struct vmdk_comp *c, const uint8_t *src,
			       uint8_t *out, size_t *olen, struct vmie_err *err)
{
	struct isal_zstream *zs = &c->zs;
	isal_deflate_stateless_init(zs);
	zs->level = 1;
	zs->level_buf = c->level_buf;
	zs->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	zs->gzip_flag = IGZIP_ZLIB;
	zs->end_of_stream = 1;
	zs->flush = NO_FLUSH;
	zs->next_in = (uint8_t *)src;
	zs->avail_in = VMDK_W_GRAIN;
	zs->next_out = out;
	zs->avail_out = VMDK_W_GRAIN;   /* no gain: store instead */
	int r = isal_deflate_stateless(zs);
	if (r == COMP_OK) {
		*olen = zs->total_out;
		return 0;
	}
	if (r != STATELESS_OVERFLOW)
		return VMIE_ERR(err, VMIE_EIO, "vmdk: ISA-L deflate failed "
				"(%d)", r);
	*olen = vmdk_stored(out, src, VMDK_W_GRAIN);
	return 0;
}

static int vmdk_w_encode(struct vmie_writer *w, struct vmie_chunk *ch,
			 struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	struct vmdk_comp *c = NULL;
	struct vmdk_enc *e;
	uint32_t n = (uint32_t)vmie_div_round_up(ch->len, VMDK_W_GRAIN);
	size_t hdr = (sizeof *e + (size_t)n * 4 + 63) & ~(size_t)63;
	int r = 0;

	if (!s->stream)
		return 0;
	e = malloc(hdr + (size_t)n * VMDK_W_MAX_RECORD);
	if (!e)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	e->n = n;
	e->len = 0;
	e->data = (uint8_t *)e + hdr;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *src = ch->data + (size_t)i * VMDK_W_GRAIN;
		size_t glen = vmie_min_u64(VMDK_W_GRAIN,
					   ch->len - (size_t)i * VMDK_W_GRAIN);
		e->rec[i] = VMDK_W_NONE;
		if (vmie_is_zero(src, glen))
			continue;
		if (!c && !(c = vmdk_comp_get(s, err))) {
			r = VMIE_ENOMEM;
			goto out;
		}
		if (glen < VMDK_W_GRAIN) {
			memcpy(c->tail, src, glen);
			memset(c->tail + glen, 0, VMDK_W_GRAIN - glen);
			src = c->tail;
		}
		uint8_t *rec = e->data + e->len;
		size_t clen = 0;
		r = vmdk_compress_grain(c, src, rec + VMDK_MARKER_HDR, &clen,
					err);
		if (r)
			goto out;
		vmie_put_le64(rec, (ch->off + (uint64_t)i * VMDK_W_GRAIN) /
			      VMDK_SECTOR);
		vmie_put_le32(rec + 8, (uint32_t)clen);
		size_t used = VMDK_MARKER_HDR + clen;
		size_t padded = (used + VMDK_SECTOR - 1) & ~(size_t)(VMDK_SECTOR - 1);
		memset(rec + used, 0, padded - used);
		e->rec[i] = (uint32_t)e->len;
		e->len += padded;
	}
out:
	if (c)
		vmdk_comp_put(s, c);
	if (r) {
		free(e);
		return r;
	}
	ch->enc = e;
	ch->enc_len = e->len;
	return 0;
}

static void vmdk_w_discard(struct vmie_writer *w, struct vmie_chunk *ch)
{
	(void)w;
	free(ch->enc);
	ch->enc = NULL;
}

/* ---- write (in order, main thread) ---- */

static int vmdk_sector_of(uint64_t pos, uint32_t *sec, struct vmie_err *err)
{
	if (pos / VMDK_SECTOR > UINT32_MAX - 8)
		return VMIE_ERR(err, VMIE_ENOSPC, "vmdk: the output passed "
				"2 TiB, the limit of 32-bit grain offsets in a "
				"sparse VMDK");
	*sec = (uint32_t)(pos / VMDK_SECTOR);
	return 0;
}

/* Write out the current grain table (and its marker or redundant copy). */
static int vmdk_flush_gt(struct vmie_writer *w, struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	uint8_t b[VMDK_SECTOR + VMDK_W_GTES * 4];
	int r;

	if (s->cur_gt == UINT64_MAX)
		return 0;
	for (uint32_t i = 0; i < VMDK_W_GTES; i++)
		vmie_put_le32(b + VMDK_SECTOR + 4 * i, s->gt[i]);
	if (s->stream) {
		uint32_t sec = 0;
		vmdk_marker_encode_meta(b, VMDK_W_GT_SECTORS, VMDK_MARKER_GT);
		r = vmdk_sector_of(s->pos + VMDK_SECTOR, &sec, err);
		if (!r)
			r = vmie_sink_pwrite(w->sink, b, sizeof b, s->pos, err);
		if (r)
			return r;
		s->gd[s->cur_gt] = sec;
		s->pos += sizeof b;
	} else {
		uint64_t at = (s->gt0_sec + s->cur_gt * VMDK_W_GT_SECTORS) *
			      VMDK_SECTOR;
		uint64_t rat = (s->rgt0_sec + s->cur_gt * VMDK_W_GT_SECTORS) *
			       VMDK_SECTOR;
		r = vmie_sink_pwrite(w->sink, b + VMDK_SECTOR, VMDK_W_GTES * 4,
				     at, err);
		if (!r)
			r = vmie_sink_pwrite(w->sink, b + VMDK_SECTOR,
					     VMDK_W_GTES * 4, rat, err);
		if (r)
			return r;
	}
	memset(s->gt, 0, sizeof s->gt);
	s->cur_gt = UINT64_MAX;
	return 0;
}

/* Set the table entry of grain gi, flushing the previous table first. */
static int vmdk_set_gte(struct vmie_writer *w, uint64_t gi, uint64_t pos,
			struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	uint64_t gt = gi / VMDK_W_GTES;
	uint32_t sec = 0;
	int r = vmdk_sector_of(pos, &sec, err);
	if (r)
		return r;
	if (gt != s->cur_gt) {
		/* the caller wrote pending grains before calling us when the
		 * table changes (stream), so the table follows its grains */
		r = vmdk_flush_gt(w, err);
		if (r)
			return r;
		s->cur_gt = gt;
	}
	s->gt[gi % VMDK_W_GTES] = sec;
	s->stored++;
	return 0;
}

static int vmdk_w_write_stream(struct vmie_writer *w, struct vmie_chunk *ch,
			       struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	struct vmdk_enc *e = ch->enc;
	size_t done = 0;     /* bytes of e->data already written */
	int r = 0;

	if (!e)
		return VMIE_ERR(err, VMIE_EINVAL, "vmdk: chunk at %llu was "
				"not encoded", (unsigned long long)ch->off);
	uint64_t gi0 = ch->off / VMDK_W_GRAIN;
	for (uint32_t i = 0; i < e->n; i++) {
		if (e->rec[i] == VMDK_W_NONE)
			continue;
		uint64_t gi = gi0 + i;
		if (gi / VMDK_W_GTES != s->cur_gt && e->rec[i] > done) {
			/* grains of the previous table go out first */
			r = vmie_sink_pwrite(w->sink, e->data + done,
					     e->rec[i] - done, s->pos, err);
			if (r)
				goto out;
			s->pos += e->rec[i] - done;
			done = e->rec[i];
		}
		if (gi / VMDK_W_GTES != s->cur_gt) {
			r = vmdk_flush_gt(w, err);
			if (r)
				goto out;
		}
		r = vmdk_set_gte(w, gi, s->pos + (e->rec[i] - done), err);
		if (r)
			goto out;
	}
	if (e->len > done) {
		r = vmie_sink_pwrite(w->sink, e->data + done, e->len - done,
				     s->pos, err);
		if (!r)
			s->pos += e->len - done;
	}
out:
	free(e);
	ch->enc = NULL;
	return r;
}

static int vmdk_w_write_sparse(struct vmie_writer *w, struct vmie_chunk *ch,
			       struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	uint64_t gi0 = ch->off / VMDK_W_GRAIN;
	uint32_t n = (uint32_t)vmie_div_round_up(ch->len, VMDK_W_GRAIN);
	const uint8_t *run = NULL;
	size_t run_len = 0;
	int r;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *src = ch->data + (size_t)i * VMDK_W_GRAIN;
		size_t glen = vmie_min_u64(VMDK_W_GRAIN,
					   ch->len - (size_t)i * VMDK_W_GRAIN);
		bool zero = vmie_is_zero(src, glen);
		if (zero || glen < VMDK_W_GRAIN) {
			if (run_len) {
				r = vmie_sink_pwrite(w->sink, run, run_len,
						     s->pos, err);
				if (r)
					return r;
				s->pos += run_len;
				run_len = 0;
			}
			if (zero)
				continue;
		}
		r = vmdk_set_gte(w, gi0 + i, s->pos + run_len, err);
		if (r)
			return r;
		if (glen < VMDK_W_GRAIN) {
			/* the last grain of the disk, padded to a whole grain */
			if (!s->zero_tail &&
			    !(s->zero_tail = malloc(VMDK_W_GRAIN)))
				return VMIE_ERR(err, VMIE_ENOMEM,
						"out of memory");
			memcpy(s->zero_tail, src, glen);
			memset(s->zero_tail + glen, 0, VMDK_W_GRAIN - glen);
			r = vmie_sink_pwrite(w->sink, s->zero_tail, VMDK_W_GRAIN,
					     s->pos, err);
			if (r)
				return r;
			s->pos += VMDK_W_GRAIN;
			continue;
		}
		if (!run_len)
			run = src;
		run_len += VMDK_W_GRAIN;
	}
	if (run_len) {
		r = vmie_sink_pwrite(w->sink, run, run_len, s->pos, err);
		if (r)
			return r;
		s->pos += run_len;
	}
	return 0;
}

static int vmdk_w_write(struct vmie_writer *w, struct vmie_chunk *ch,
			struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	if (ch->off % VMDK_W_GRAIN) {
		vmdk_w_discard(w, ch);
		return VMIE_ERR(err, VMIE_EINVAL, "vmdk: chunk at %llu is not "
				"grain-aligned", (unsigned long long)ch->off);
	}
	return s->stream ? vmdk_w_write_stream(w, ch, err)
			 : vmdk_w_write_sparse(w, ch, err);
}

/* ---- finish ---- */

static int vmdk_w_finish(struct vmie_writer *w, struct vmie_err *err)
{
	struct vmdk_wstate *s = w->priv;
	int r = vmdk_flush_gt(w, err);
	if (r)
		return r;
	/* populatedSize in OVF: the data the disk holds, in whole grains
	 * (the last one clipped to the disk's size) */
	w->populated = vmie_min_u64(s->stored * VMDK_W_GRAIN, w->size);
	if (!s->stream)
		return vmie_sink_truncate(w->sink, s->pos, err);

	uint64_t gd_sec = vmie_div_round_up(s->n_gd * 4, VMDK_SECTOR);
	size_t len = (size_t)((1 + gd_sec + 3) * VMDK_SECTOR);
	uint8_t *b = calloc(1, len);
	uint32_t sec = 0;
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	r = vmdk_sector_of(s->pos + VMDK_SECTOR, &sec, err);
	if (r)
		goto out;
	vmdk_marker_encode_meta(b, gd_sec, VMDK_MARKER_GD);
	for (uint64_t i = 0; i < s->n_gd; i++)
		vmie_put_le32(b + VMDK_SECTOR + 4 * i, s->gd[i]);
	uint8_t *f = b + (1 + gd_sec) * VMDK_SECTOR;
	vmdk_marker_encode_meta(f, 1, VMDK_MARKER_FOOTER);
	struct vmdk_header_disk h = s->h;
	h.gd_offset = sec;
	vmdk_header_encode(f + VMDK_SECTOR, &h);
	vmdk_marker_encode_meta(f + 2 * VMDK_SECTOR, 0, VMDK_MARKER_EOS);
	r = vmie_sink_pwrite(w->sink, b, len, s->pos, err);
	if (!r)
		s->pos += len;
out:
	free(b);
	return r;
}

const struct vmie_writer_ops vmdk_writer_ops = {
	.create = vmdk_w_create,
	.encode = vmdk_w_encode,
	.write = vmdk_w_write,
	.discard = vmdk_w_discard,
	.finish = vmdk_w_finish,
	.free = vmdk_w_free,
};
