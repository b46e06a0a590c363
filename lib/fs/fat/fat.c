/*
 * FAT12/16/32 with VFAT long names, read-only, written from the Microsoft
 * specification (fatgen103; layout in fat_disk.h).
 *
 * Every BPB field is checked before use; the FAT type comes from the count
 * of data clusters (the Microsoft rule), never from the "FAT32   " string.
 * A FAT has no inodes: a file's handle (vmie_ino_t) is the byte offset of
 * its 32-byte directory entry on the device, the root is FAT_ROOT_INO.
 * Cluster chains are followed with Brent's cycle detection and a bound on
 * their length, directories are capped at 65536 entries, so loops and
 * cross-links give errors, not hangs.  Names: a long name is used when its
 * entries are complete, in order and carry the checksum of the 8.3 name
 * that follows; otherwise the 8.3 name (with the NT lower-case flags, OEM
 * code page 437).  Lookup is case-insensitive (ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic folding) on the long or the short name,
 * as Windows does.
 *
 * A struct vmie_fs holds small caches (a FAT window, the last chain
 * position): one handle must not be used by two threads at once.
 */
#include "fs/fs.h"
#include "fs/fat/fat_disk.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAT_ROOT_INO    1
#define FAT_WIN         (64u * 1024u)     /* FAT cache window */
#define FAT_EOC         0xFFFFFFFFu       /* end of chain (internal) */
#define FAT_NAME_MAX    (255 * 3 + 1)     /* UTF-8 of 255 UTF-16 units */
#define FAT_PROBE_ROOT  (64u * 1024u)     /* root bytes scanned by probe */

struct fat_vol {
	struct vmie_image *dev;
	const char *name;
	unsigned bits;          /* 12, 16 or 32 */
	uint32_t bps, clsize;
	uint64_t fat_off, fat_bytes;
	uint64_t root_off, root_bytes;  /* FAT12/16 fixed root directory */
	uint32_t root_clus;             /* FAT32 */
	uint64_t data_off;
	uint32_t nclus;         /* data clusters: valid numbers 2..nclus+1 */
	uint64_t vol_bytes;
	uint8_t media;
	uint32_t vol_id;
	bool has_id;
	uint8_t bpb_label[11];
	bool has_label;
	uint32_t fsinfo_sec;
	bool sig55aa;
	/* caches */
	uint8_t *win;
	uint64_t win_off;
	size_t win_len;
	uint8_t *clbuf;
	struct {
		uint32_t start, clus, saved, power, lam;
		uint64_t idx;
	} pos;
};

/* ---- BPB ---- */

static bool fat_parse_bpb(const uint8_t *bs, struct fat_vol *v)
{
	uint32_t bps = vmie_le16(bs + FAT_BS_BYTES_PER_SEC);
	uint32_t spc = bs[FAT_BS_SEC_PER_CLUS];
	uint32_t reserved = vmie_le16(bs + FAT_BS_RESERVED);
	uint32_t nfats = bs[FAT_BS_NUM_FATS];
	uint32_t root_ent = vmie_le16(bs + FAT_BS_ROOT_ENTRIES);
	uint64_t total = vmie_le16(bs + FAT_BS_TOTAL16);
	uint32_t fatsz16 = vmie_le16(bs + FAT_BS_FATSZ16);
	uint64_t fatsz = fatsz16;
	uint8_t media = bs[FAT_BS_MEDIA];

	if (bs[FAT_BS_JUMP] != 0xEB && bs[FAT_BS_JUMP] != 0xE9)
		return false;
	if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096)
		return false;
	if (!vmie_is_pow2(spc) || !reserved || nfats < 1 || nfats > 4)
		return false;
	if (media != 0xF0 && media < 0xF8)
		return false;
	if (!total)
		total = vmie_le32(bs + FAT_BS_TOTAL32);
	if (!fatsz)
		fatsz = vmie_le32(bs + FAT_BS32_FATSZ32);
	if (!total || !fatsz)
		return false;
	uint64_t rds = ((uint64_t)root_ent * 32 + bps - 1) / bps;
	uint64_t meta = reserved + nfats * fatsz + rds;
	if (meta >= total)
		return false;
	uint64_t count = (total - meta) / spc;
	if (!count || count > FAT32_MAX_CLUSTERS)
		return false;
	v->bits = count <= FAT12_MAX_CLUSTERS ? 12 :
		  count <= FAT16_MAX_CLUSTERS ? 16 : 32;
	if (v->bits == 32) {
		if (root_ent || fatsz16)
			return false;
		v->root_clus = vmie_le32(bs + FAT_BS32_ROOT_CLUS);
		if (v->root_clus < 2 || v->root_clus > count + 1)
			return false;
	} else if (!root_ent || !fatsz16) {
		return false;
	}
	/* the FAT must have an entry for every cluster */
	if (fatsz * bps < ((count + 2) * v->bits + 7) / 8)
		return false;

	v->bps = bps;
	v->clsize = bps * spc;
	v->nclus = (uint32_t)count;
	v->media = media;
	unsigned active = 0;
	if (v->bits == 32) {
		uint16_t fl = vmie_le16(bs + FAT_BS32_EXT_FLAGS);
		if ((fl & 0x80) && (fl & 0x0F) < nfats)
			active = fl & 0x0F;
		v->fsinfo_sec = vmie_le16(bs + FAT_BS32_FSINFO);
	}
	v->fat_off = ((uint64_t)reserved + active * fatsz) * bps;
	v->fat_bytes = fatsz * bps;
	v->root_off = ((uint64_t)reserved + nfats * fatsz) * bps;
	v->root_bytes = v->bits == 32 ? 0 : (uint64_t)root_ent * 32;
	v->data_off = meta * bps;
	v->vol_bytes = total * bps;
	unsigned sig = v->bits == 32 ? FAT_BS32_BOOT_SIG : FAT_BS16_BOOT_SIG;
	if (bs[sig] == 0x29 || bs[sig] == 0x28) {
		v->has_id = true;
		v->vol_id = vmie_le32(bs + sig + 1);
	}
	if (bs[sig] == 0x29) {
		memcpy(v->bpb_label, bs + sig + 5, 11);
		v->has_label = memcmp(v->bpb_label, "NO NAME    ", 11) != 0;
	}
	v->sig55aa = bs[FAT_BS_SIGNATURE] == 0x55 &&
		     bs[FAT_BS_SIGNATURE + 1] == 0xAA;
	return true;
}

/* ---- the FAT ---- */

static int fat_read(struct fat_vol *v, void *buf, size_t len, uint64_t off,
		    const char *what, struct vmie_err *err)
{
	if (vmie_range_outside(off, len, v->dev->size))
		return VMIE_CORRUPT(err, "vfat: %s: %s at offset 0x%llx is "
				    "past the end of the device", v->name, what,
				    (unsigned long long)off);
	return vmie_image_pread(v->dev, buf, len, off, err);
}

static int fat_byte(struct fat_vol *v, uint64_t off, uint8_t *b,
		    struct vmie_err *err)
{
	if (off >= v->fat_bytes)
		return VMIE_CORRUPT(err, "vfat: %s: FAT offset %llu past the "
				    "FAT", v->name, (unsigned long long)off);
	if (!v->win_len || off < v->win_off || off >= v->win_off + v->win_len) {
		uint64_t start = off - off % FAT_WIN;
		size_t len = (size_t)vmie_min_u64(FAT_WIN, v->fat_bytes - start);
		v->win_len = 0;
		int r = fat_read(v, v->win, len, v->fat_off + start, "FAT", err);
		if (r)
			return r;
		v->win_off = start;
		v->win_len = len;
	}
	*b = v->win[off - v->win_off];
	return 0;
}

/* Raw FAT entry of cluster cl (any cluster number the FAT has room for). */
static int fat_entry(struct fat_vol *v, uint32_t cl, uint32_t *val,
		     struct vmie_err *err)
{
	uint64_t off = v->bits == 12 ? cl + cl / 2 : (uint64_t)cl * v->bits / 8;
	uint8_t b[4] = { 0 };
	int r = 0;
	for (unsigned i = 0; i < (v->bits == 12 ? 2u : v->bits / 8u) && !r;
	     i++)
		r = fat_byte(v, off + i, &b[i], err);
	if (r)
		return r;
	if (v->bits == 12) {
		uint32_t x = vmie_le16(b);
		*val = cl & 1 ? x >> 4 : x & 0xFFF;
	} else if (v->bits == 16) {
		*val = vmie_le16(b);
	} else {
		*val = vmie_le32(b) & 0x0FFFFFFF;
	}
	return 0;
}

/* Next cluster after cl, or FAT_EOC; anything else is corruption. */
static int fat_next(struct fat_vol *v, uint32_t cl, uint32_t *next,
		    struct vmie_err *err)
{
	uint32_t val, bad = v->bits == 12 ? 0xFF7 : v->bits == 16 ? 0xFFF7 :
						    0x0FFFFFF7;
	int r = fat_entry(v, cl, &val, err);
	if (r)
		return r;
	if (val > bad) {
		*next = FAT_EOC;
		return 0;
	}
	if (val == bad)
		return VMIE_CORRUPT(err, "vfat: %s: cluster %u in a chain is "
				    "marked bad", v->name, cl);
	if (val < 2 || val > v->nclus + 1)
		return VMIE_CORRUPT(err, "vfat: %s: FAT entry of cluster %u "
				    "is 0x%x, not a cluster of the volume",
				    v->name, cl, val);
	*next = val;
	return 0;
}

/* Brent's cycle detection over a chain walk. */
struct fat_walk {
	uint32_t saved, power, lam;
};

static int fat_walk_step(struct fat_vol *v, struct fat_walk *w, uint32_t cl,
			 struct vmie_err *err)
{
	if (cl == w->saved)
		return VMIE_CORRUPT(err, "vfat: %s: cluster chain loops "
				    "(cluster %u comes back)", v->name, cl);
	if (++w->lam == w->power) {
		w->saved = cl;
		w->power = w->power < (1u << 30) ? w->power * 2 : w->power;
		w->lam = 0;
	}
	return 0;
}

static int fat_check_clus(struct fat_vol *v, uint32_t cl, struct vmie_err *err)
{
	if (cl < 2 || cl > v->nclus + 1)
		return VMIE_CORRUPT(err, "vfat: %s: cluster %u out of range "
				    "(volume has %u)", v->name, cl, v->nclus);
	return 0;
}

static uint64_t fat_clus_off(const struct fat_vol *v, uint32_t cl)
{
	return v->data_off + (uint64_t)(cl - 2) * v->clsize;
}

/* ---- names ---- */

static const uint16_t fat_cp437[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

/* Append code point c as UTF-8; returns the new length (capped). */
static size_t fat_put_utf8(char *out, size_t n, size_t cap, uint32_t c)
{
	char t[4];
	size_t k;
	if (c < 0x80) {
		t[0] = (char)c; k = 1;
	} else if (c < 0x800) {
		t[0] = (char)(0xC0 | c >> 6);
		t[1] = (char)(0x80 | (c & 0x3F)); k = 2;
	} else if (c < 0x10000) {
		t[0] = (char)(0xE0 | c >> 12);
		t[1] = (char)(0x80 | (c >> 6 & 0x3F));
		t[2] = (char)(0x80 | (c & 0x3F)); k = 3;
	} else {
		t[0] = (char)(0xF0 | c >> 18);
		t[1] = (char)(0x80 | (c >> 12 & 0x3F));
		t[2] = (char)(0x80 | (c >> 6 & 0x3F));
		t[3] = (char)(0x80 | (c & 0x3F)); k = 4;
	}
	if (n + k >= cap)
		return n;
	memcpy(out + n, t, k);
	out[n + k] = 0;
	return n + k;
}

/* Decode one UTF-8 sequence; invalid bytes decode as themselves. */
static uint32_t fat_get_utf8(const char **sp)
{
	const uint8_t *s = (const uint8_t *)*sp;
	uint32_t c = s[0];
	int k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
	for (int i = 1; i <= k; i++)
		if ((s[i] & 0xC0) != 0x80)
			k = 0;
	if (k) {
		c &= 0x3F >> k;
		for (int i = 1; i <= k; i++)
			c = c << 6 | (s[i] & 0x3F);
	}
	*sp += 1 + k;
	return c;
}

static uint32_t fat_fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0x80)
		return c;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c + 1 : c;
	if (c == 0x178)
		return 0xFF;
	if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)
		return c + 32;
	if (c >= 0x410 && c <= 0x42F)
		return c + 32;
	if (c >= 0x400 && c <= 0x40F)
		return c + 80;
	return c;
}

static bool fat_name_eq(const char *a, const char *b)
{
	while (*a && *b)
		if (fat_fold(fat_get_utf8(&a)) != fat_fold(fat_get_utf8(&b)))
			return false;
	return !*a && !*b;
}

static uint8_t fat_lfn_checksum(const uint8_t *name)
{
	uint8_t s = 0;
	for (int i = 0; i < 11; i++)
		s = (uint8_t)(((s & 1) << 7) + (s >> 1) + name[i]);
	return s;
}

static void fat_short_name(const uint8_t *e, char *out, size_t cap)
{
	uint8_t nt = e[FAT_DE_NTRES];
	size_t n = 0;
	int bl = 8, el = 3;
	out[0] = 0;
	while (bl > 0 && e[bl - 1] == ' ')
		bl--;
	while (el > 0 && e[8 + el - 1] == ' ')
		el--;
	for (int i = 0; i < bl + (el ? el + 1 : 0); i++) {
		uint32_t c;
		bool lower;
		if (i == bl) {
			n = fat_put_utf8(out, n, cap, '.');
			continue;
		}
		c = i < bl ? e[i] : e[8 + i - bl - 1];
		lower = i < bl ? nt & FAT_NTRES_LOWER_BASE :
				 nt & FAT_NTRES_LOWER_EXT;
		if (i == 0 && c == 0x05)
			c = 0xE5;
		if (c >= 0x80)
			c = fat_cp437[c - 0x80];
		else if (lower && c >= 'A' && c <= 'Z')
			c += 32;
		else if (c < 0x20)
			c = '?';
		n = fat_put_utf8(out, n, cap, c);
	}
}

/* ---- directories ---- */

struct fat_dent {
	char name[FAT_NAME_MAX];
	char sname[40];
	uint8_t attr;
	uint32_t clus;
	uint32_t size;
	uint16_t wtime, wdate;
	uint64_t off;           /* the handle */
};

/* A directory to walk: the fixed FAT12/16 root or a cluster chain. */
struct fat_dir {
	bool fixed_root;
	uint32_t clus;
};

/* Return 0 to go on, 1 to stop, < 0 on error. */
typedef int (*fat_dent_cb)(struct fat_vol *v, const struct fat_dent *d,
			   void *ctx, struct vmie_err *err);

struct fat_lfn {
	uint16_t u[FAT_LFN_MAX_ORD * 13];
	int total;      /* entries in the set, 0 when none */
	int expect;     /* next ordinal expected; 0 when complete */
	uint8_t sum;
};

static const uint8_t fat_lfn_pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22,
					 24, 28, 30 };

static void fat_lfn_add(struct fat_lfn *l, const uint8_t *e)
{
	int ord = e[FAT_LFN_ORD] & 0x3F;
	if (e[FAT_LFN_ORD] & FAT_LFN_LAST) {
		l->total = 0;
		if (ord < 1 || ord > FAT_LFN_MAX_ORD)
			return;
		l->total = ord;
		l->sum = e[FAT_LFN_CHKSUM];
		memset(l->u, 0xFF, sizeof l->u);
	} else if (!l->total || ord != l->expect ||
		   e[FAT_LFN_CHKSUM] != l->sum) {
		l->total = 0;
		return;
	}
	for (int i = 0; i < 13; i++)
		l->u[(ord - 1) * 13 + i] = vmie_le16(e + fat_lfn_pos[i]);
	l->expect = ord - 1;
}

/* The long name for the 8.3 entry e, or false. */
static bool fat_lfn_take(struct fat_lfn *l, const uint8_t *e, char *out,
			 size_t cap)
{
	bool ok = l->total && !l->expect && fat_lfn_checksum(e) == l->sum;
	size_t n = 0;
	int max = l->total * 13;
	l->total = 0;
	if (!ok)
		return false;
	out[0] = 0;
	for (int i = 0; i < max && l->u[i] && l->u[i] != 0xFFFF; i++) {
		uint32_t c = l->u[i];
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < max &&
		    l->u[i + 1] >= 0xDC00 && l->u[i + 1] < 0xE000) {
			c = 0x10000 + ((c - 0xD800) << 10) +
			    (l->u[i + 1] - 0xDC00);
			i++;
		} else if (c >= 0xD800 && c < 0xE000) {
			c = 0xFFFD;
		} else if (c < 0x20 || c == '/') {
			c = 0xFFFD;
		}
		n = fat_put_utf8(out, n, cap, c);
	}
	return n > 0;
}

/* Decode a block of directory entries; *end set at the end marker. */
static int fat_dir_block(struct fat_vol *v, const uint8_t *buf, size_t len,
			 uint64_t off, struct fat_lfn *l, fat_dent_cb cb,
			 void *ctx, bool *end, bool labels,
			 struct vmie_err *err)
{
	struct fat_dent d;
	for (size_t i = 0; i + FAT_DE_SIZE <= len; i += FAT_DE_SIZE) {
		const uint8_t *e = buf + i;
		uint8_t attr = e[FAT_DE_ATTR];
		if (e[0] == 0) {
			*end = true;
			return 0;
		}
		if (e[0] == 0xE5) {
			l->total = 0;
			continue;
		}
		if ((attr & 0x3F) == FAT_ATTR_LFN) {
			fat_lfn_add(l, e);
			continue;
		}
		if ((attr & FAT_ATTR_VOLUME) != labels) {
			l->total = 0;
			continue;
		}
		if (e[0] == '.' && (e[1] == ' ' || (e[1] == '.' &&
						    e[2] == ' '))) {
			l->total = 0;
			continue;
		}
		memset(&d, 0, sizeof d);
		fat_short_name(e, d.sname, sizeof d.sname);
		if (!fat_lfn_take(l, e, d.name, sizeof d.name))
			memcpy(d.name, d.sname, sizeof d.sname);
		d.attr = attr;
		d.clus = vmie_le16(e + FAT_DE_CLUS_LO);
		if (v->bits == 32)
			d.clus |= (uint32_t)vmie_le16(e + FAT_DE_CLUS_HI) << 16;
		d.size = vmie_le32(e + FAT_DE_SIZE_OFF);
		d.wtime = vmie_le16(e + FAT_DE_WTIME);
		d.wdate = vmie_le16(e + FAT_DE_WDATE);
		d.off = off + i;
		int r = cb(v, &d, ctx, err);
		if (r)
			return r;
	}
	return 0;
}

static int fat_dir_walk(struct fat_vol *v, const struct fat_dir *dir,
			uint64_t max_bytes, bool labels, fat_dent_cb cb,
			void *ctx, struct vmie_err *err)
{
	struct fat_lfn l = { .total = 0 };
	bool end = false;
	int r = 0;

	if (dir->fixed_root) {
		uint64_t todo = vmie_min_u64(v->root_bytes, max_bytes);
		for (uint64_t o = 0; o < todo && !end && !r; o += v->clsize) {
			size_t n = (size_t)vmie_min_u64(v->clsize, todo - o);
			r = fat_read(v, v->clbuf, n, v->root_off + o,
				     "root directory", err);
			if (!r)
				r = fat_dir_block(v, v->clbuf, n,
						  v->root_off + o, &l, cb, ctx,
						  &end, labels, err);
		}
		return r < 0 ? r : 0;
	}
	struct fat_walk w = { .saved = 0, .power = 1 };
	uint32_t cl = dir->clus;
	uint64_t done = 0;
	r = fat_check_clus(v, cl, err);
	while (!r && !end && cl != FAT_EOC) {
		if (done >= max_bytes) {
			if (max_bytes < FAT_MAX_DIR_BYTES)
				break;
			return VMIE_CORRUPT(err, "vfat: %s: directory at "
					    "cluster %u is larger than %u "
					    "bytes", v->name, dir->clus,
					    FAT_MAX_DIR_BYTES);
		}
		r = fat_walk_step(v, &w, cl, err);
		if (!r)
			r = fat_read(v, v->clbuf, v->clsize,
				     fat_clus_off(v, cl), "directory cluster",
				     err);
		if (!r)
			r = fat_dir_block(v, v->clbuf, v->clsize,
					  fat_clus_off(v, cl), &l, cb, ctx,
					  &end, labels, err);
		done += v->clsize;
		if (!r && !end)
			r = fat_next(v, cl, &cl, err);
	}
	return r < 0 ? r : 0;
}

/* Read the directory entry behind a handle. */
static int fat_get(struct fat_vol *v, vmie_ino_t ino, uint8_t e[FAT_DE_SIZE],
		   struct vmie_err *err)
{
	if (ino % FAT_DE_SIZE || ino < v->root_off ||
	    vmie_range_outside(ino, FAT_DE_SIZE, v->vol_bytes))
		return VMIE_CORRUPT(err, "vfat: %s: bad handle %llu", v->name,
				    (unsigned long long)ino);
	return fat_read(v, e, FAT_DE_SIZE, ino, "directory entry", err);
}

static uint32_t fat_de_clus(const struct fat_vol *v, const uint8_t *e)
{
	uint32_t c = vmie_le16(e + FAT_DE_CLUS_LO);
	if (v->bits == 32)
		c |= (uint32_t)vmie_le16(e + FAT_DE_CLUS_HI) << 16;
	return c;
}

static int fat_dir_of(struct fat_vol *v, vmie_ino_t ino, struct fat_dir *d,
		      struct vmie_err *err)
{
	uint8_t e[FAT_DE_SIZE];
	memset(d, 0, sizeof *d);
	if (ino == FAT_ROOT_INO) {
		d->fixed_root = v->bits != 32;
		d->clus = v->root_clus;
		return 0;
	}
	int r = fat_get(v, ino, e, err);
	if (r)
		return r;
	if (!(e[FAT_DE_ATTR] & FAT_ATTR_DIR))
		return VMIE_ERR(err, VMIE_EINVAL, "vfat: %s: not a directory",
				v->name);
	d->clus = fat_de_clus(v, e);
	return fat_check_clus(v, d->clus, err);
}

/* ---- probe ---- */

static int fat_label_cb(struct fat_vol *v, const struct fat_dent *d,
			void *ctx, struct vmie_err *err)
{
	(void)v, (void)err;
	if ((d->attr & (FAT_ATTR_VOLUME | FAT_ATTR_DIR)) != FAT_ATTR_VOLUME)
		return 0;
	memcpy(ctx, d->sname, sizeof d->sname);
	return 1;
}

static void fat_label(struct fat_vol *v, char *out, size_t cap)
{
	char root[40] = "";
	struct fat_dir dir = { .fixed_root = v->bits != 32,
			       .clus = v->root_clus };
	size_t n = 0;

	out[0] = 0;
	fat_dir_walk(v, &dir, FAT_PROBE_ROOT, true, fat_label_cb, root, NULL);
	if (root[0]) {
		/* the 11 raw bytes were formatted as 8.3: undo the dot */
		vmie_strlcpy(out, root, cap);
		char *dot = strchr(out, '.');
		if (dot && strlen(out) > 8 && dot - out == 8)
			memmove(dot, dot + 1, strlen(dot));
	} else if (v->has_label) {
		for (int i = 0; i < 11; i++) {
			uint32_t c = v->bpb_label[i];
			if (c >= 0x80)
				c = fat_cp437[c - 0x80];
			else if (c < 0x20)
				c = '?';
			n = fat_put_utf8(out, n, cap, c);
		}
	}
	n = strlen(out);
	while (n && out[n - 1] == ' ')
		out[--n] = 0;
}

/* Probe state shared by probe and open. */
static int fat_setup(struct vmie_image *dev, struct fat_vol *v)
{
	uint8_t bs[512];

	memset(v, 0, sizeof *v);
	v->dev = dev;
	v->name = dev->name ? dev->name : "device";
	if (dev->size < sizeof bs ||
	    vmie_image_pread(dev, bs, sizeof bs, 0, NULL) ||
	    !fat_parse_bpb(bs, v))
		return 0;
	if (!v->sig55aa) {
		/* no boot signature: require the media byte in FAT[0] */
		uint8_t f[4];
		if (fat_read(v, f, sizeof f, v->fat_off, "FAT", NULL) ||
		    f[0] != v->media || f[1] != 0xFF ||
		    (v->bits > 12 && f[2] != 0xFF))
			return 0;
	}
	v->win = malloc(FAT_WIN);
	v->clbuf = malloc(v->clsize);
	if (!v->win || !v->clbuf) {
		free(v->win);
		free(v->clbuf);
		return 0;
	}
	return 1;
}

static void fat_free_vol(struct fat_vol *v)
{
	free(v->win);
	free(v->clbuf);
	v->win = v->clbuf = NULL;
}

static uint64_t fat_free_space(struct fat_vol *v)
{
	uint64_t nfree = 0;
	if (v->bits == 32) {
		uint8_t s[512];
		uint64_t off = (uint64_t)v->fsinfo_sec * v->bps;
		if (!v->fsinfo_sec || v->fsinfo_sec == 0xFFFF ||
		    fat_read(v, s, sizeof s, off, "FSInfo", NULL) ||
		    vmie_le32(s) != FAT_FSI_LEAD_SIG ||
		    vmie_le32(s + FAT_FSI_STRUC_OFF) != FAT_FSI_STRUC_SIG)
			return UINT64_MAX;
		nfree = vmie_le32(s + FAT_FSI_FREE_OFF);
		if (nfree > v->nclus)
			return UINT64_MAX;
	} else {
		/* at most 65525 entries (128 KiB): cheap enough to count */
		for (uint32_t c = 2; c < v->nclus + 2; c++) {
			uint32_t val;
			if (fat_entry(v, c, &val, NULL))
				return UINT64_MAX;
			nfree += val == 0;
		}
	}
	return nfree * v->clsize;
}

static int fat_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	struct fat_vol v;
	uint8_t bs[0x5A];
	if (!fat_setup(dev, &v))
		return 0;
	vmie_strlcpy(p->type, "vfat", sizeof p->type);
	snprintf(p->version, sizeof p->version, "FAT%u", v.bits);
	if (v.has_id)
		snprintf(p->uuid, sizeof p->uuid, "%04X-%04X",
			 v.vol_id >> 16, v.vol_id & 0xFFFF);
	fat_label(&v, p->label, sizeof p->label);
	p->size = v.vol_bytes;
	p->free = fat_free_space(&v);
	int score = 60;
	if (!vmie_image_pread(dev, bs, sizeof bs, 0, NULL) &&
	    (!memcmp(bs + (v.bits == 32 ? 0x52 : 0x36), "FAT", 3)))
		score += 10;
	fat_free_vol(&v);
	return score;
}

/* ---- open and the vtable ---- */

static int fat_open(struct vmie_fs *fs, struct vmie_err *err)
{
	struct fat_vol *v = calloc(1, sizeof *v);
	if (!v)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	if (!fat_setup(fs->dev, v)) {
		free(v);
		return VMIE_CORRUPT(err, "vfat: %s: the boot sector is not a "
				    "valid FAT BPB", fs->dev->name);
	}
	fs->priv = v;
	fs->root = FAT_ROOT_INO;
	return 0;
}

static void fat_close(struct vmie_fs *fs)
{
	struct fat_vol *v = fs->priv;
	if (v) {
		fat_free_vol(v);
		free(v);
	}
}

struct fat_find {
	const char *name;
	uint64_t off;
	uint8_t attr;
	uint32_t clus;
	bool found;
};

static int fat_find_cb(struct fat_vol *v, const struct fat_dent *d, void *ctx,
		       struct vmie_err *err)
{
	(void)v, (void)err;
	struct fat_find *f = ctx;
	if (!fat_name_eq(d->name, f->name) && !fat_name_eq(d->sname, f->name))
		return 0;
	f->off = d->off;
	f->attr = d->attr;
	f->clus = d->clus;
	f->found = true;
	return 1;
}

static int fat_lookup(struct vmie_fs *fs, vmie_ino_t dir, const char *name,
		      vmie_ino_t *out, struct vmie_err *err)
{
	struct fat_vol *v = fs->priv;
	struct fat_find f = { .name = name };
	struct fat_dir d;
	int r = fat_dir_of(v, dir, &d, err);
	if (!r)
		r = fat_dir_walk(v, &d, FAT_MAX_DIR_BYTES, false, fat_find_cb,
				 &f, err);
	if (r)
		return r;
	if (!f.found)
		return VMIE_ERR(err, VMIE_ENOENT, "vfat: '%s' not found", name);
	if ((f.attr & FAT_ATTR_DIR) && !d.fixed_root && f.clus == d.clus)
		return VMIE_CORRUPT(err, "vfat: %s: directory '%s' is its own "
				    "parent (cluster %u): a cycle", v->name,
				    name, f.clus);
	*out = f.off;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t fat_days(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int fat_stat(struct vmie_fs *fs, vmie_ino_t ino, struct vmie_stat *st,
		    struct vmie_err *err)
{
	struct fat_vol *v = fs->priv;
	uint8_t e[FAT_DE_SIZE];
	memset(st, 0, sizeof *st);
	st->ino = ino;
	st->nlink = 1;
	if (ino == FAT_ROOT_INO) {
		st->type = VMIE_FT_DIR;
		st->mode = 0755;
		return 0;
	}
	int r = fat_get(v, ino, e, err);
	if (r)
		return r;
	bool dir = e[FAT_DE_ATTR] & FAT_ATTR_DIR;
	st->type = dir ? VMIE_FT_DIR : VMIE_FT_REG;
	st->size = dir ? 0 : vmie_le32(e + FAT_DE_SIZE_OFF);
	st->mode = dir ? 0755 : 0644;
	if (e[FAT_DE_ATTR] & FAT_ATTR_RO)
		st->mode &= ~0222u;
	uint16_t t = vmie_le16(e + FAT_DE_WTIME);
	uint16_t dt = vmie_le16(e + FAT_DE_WDATE);
	unsigned mon = dt >> 5 & 15, day = dt & 31;
	if (mon >= 1 && mon <= 12 && day >= 1)
		st->mtime = fat_days(1980 + (dt >> 9), mon, day) * 86400 +
			    (t >> 11) * 3600 + (t >> 5 & 63) * 60 +
			    (t & 31) * 2;
	return 0;
}

static int fat_read_file(struct vmie_fs *fs, vmie_ino_t ino, void *buf,
			 size_t len, uint64_t off, size_t *got,
			 struct vmie_err *err)
{
	struct fat_vol *v = fs->priv;
	uint8_t e[FAT_DE_SIZE];
	uint8_t *out = buf;
	int r;

	*got = 0;
	if (ino == FAT_ROOT_INO)
		return VMIE_ERR(err, VMIE_EINVAL, "vfat: root is a directory");
	r = fat_get(v, ino, e, err);
	if (r)
		return r;
	if (e[FAT_DE_ATTR] & FAT_ATTR_DIR)
		return VMIE_ERR(err, VMIE_EINVAL, "vfat: is a directory");
	uint64_t size = vmie_le32(e + FAT_DE_SIZE_OFF);
	uint32_t start = fat_de_clus(v, e);
	if (off >= size || !len)
		return 0;
	len = (size_t)vmie_min_u64(len, size - off);
	r = fat_check_clus(v, start, err);
	if (r)
		return r;

	/* resume from the cached position when it is not past off */
	uint64_t want = off / v->clsize;
	struct fat_walk w = { .saved = 0, .power = 1 };
	uint32_t cl = start;
	uint64_t idx = 0;
	bool stepped = false;   /* cl already went through fat_walk_step */
	if (v->pos.start == start && v->pos.idx <= want && v->pos.clus) {
		cl = v->pos.clus;
		idx = v->pos.idx;
		w.saved = v->pos.saved;
		w.power = v->pos.power;
		w.lam = v->pos.lam;
		stepped = true;
	}
	size_t done = 0;
	while (done < len) {
		if (cl == FAT_EOC)
			return VMIE_CORRUPT(err, "vfat: %s: cluster chain of "
					    "the file at cluster %u ends before "
					    "its size (%llu bytes)", v->name,
					    start, (unsigned long long)size);
		if (!stepped)
			r = fat_walk_step(v, &w, cl, err);
		stepped = false;
		if (r)
			return r;
		if (idx < want) {
			r = fat_next(v, cl, &cl, err);
			if (r)
				return r;
			idx++;
			continue;
		}
		/* coalesce physically contiguous clusters into one read */
		uint64_t pos = off + done;
		size_t in = (size_t)(pos % v->clsize);
		size_t n = (size_t)vmie_min_u64(v->clsize - in, len - done);
		uint32_t last = cl, nx = 0;
		while (done + n < len) {
			r = fat_next(v, last, &nx, err);
			if (r)
				return r;
			if (nx != last + 1)
				break;
			r = fat_walk_step(v, &w, nx, err);
			if (r)
				return r;
			last = nx;
			idx++;
			n += (size_t)vmie_min_u64(v->clsize, len - done - n);
		}
		r = fat_read(v, out + done, n, fat_clus_off(v, cl) + in,
			     "file data", err);
		if (r)
			return r;
		done += n;
		v->pos.start = start;
		v->pos.clus = last;
		v->pos.idx = idx;
		v->pos.saved = w.saved;
		v->pos.power = w.power;
		v->pos.lam = w.lam;
		if (done < len) {
			if (!nx || nx == last + 1)
				r = fat_next(v, last, &nx, err);
			if (r)
				return r;
			cl = nx;
			idx++;
			want = idx;
		}
	}
	*got = done;
	return 0;
}

struct fat_rd {
	vmie_dirent_cb cb;
	void *ctx;
	int ret;
};

static int fat_readdir_cb(struct fat_vol *v, const struct fat_dent *d,
			  void *ctx, struct vmie_err *err)
{
	(void)v, (void)err;
	struct fat_rd *c = ctx;
	struct vmie_dirent de;
	memset(&de, 0, sizeof de);
	size_t n = strlen(d->name);
	if (n >= sizeof de.name) {
		/* cut at a character boundary */
		n = sizeof de.name - 1;
		while (n && ((uint8_t)d->name[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(de.name, d->name, n);
	de.type = d->attr & FAT_ATTR_DIR ? VMIE_FT_DIR : VMIE_FT_REG;
	de.ino = d->off;
	c->ret = c->cb(c->ctx, &de);
	return c->ret ? 1 : 0;
}

static int fat_readdir(struct vmie_fs *fs, vmie_ino_t dir, vmie_dirent_cb cb,
		       void *ctx, struct vmie_err *err)
{
	struct fat_vol *v = fs->priv;
	struct fat_rd c = { .cb = cb, .ctx = ctx };
	struct fat_dir d;
	int r = fat_dir_of(v, dir, &d, err);
	if (!r)
		r = fat_dir_walk(v, &d, FAT_MAX_DIR_BYTES, false,
				 fat_readdir_cb, &c, err);
	if (r)
		return r;
	return c.ret;
}

static int fat_readlink(struct vmie_fs *fs, vmie_ino_t ino, char *buf,
			size_t size, struct vmie_err *err)
{
	(void)fs, (void)ino, (void)buf, (void)size;
	return VMIE_ERR(err, VMIE_EINVAL, "vfat: no symbolic links on FAT");
}

const struct vmie_fs_driver vmie_fsdrv_fat = {
	.name = "fat",
	.probe = fat_probe,
	.open = fat_open,
	.lookup = fat_lookup,
	.stat = fat_stat,
	.read = fat_read_file,
	.readdir = fat_readdir,
	.readlink = fat_readlink,
	.close = fat_close,
};
