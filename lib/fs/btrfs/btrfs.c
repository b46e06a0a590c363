/*
 * Btrfs reader (single device, read-only): superblock, chunk tree (SINGLE
 * and DUP profiles), root tree, subvolumes (the default subvolume is the
 * root; a directory entry pointing at a ROOT_ITEM crosses into that
 * subvolume when a matching ROOT_REF links it there, and is otherwise the
 * empty placeholder Linux shows for a nested subvolume inside a snapshot),
 * directories (DIR_ITEM by name hash, DIR_INDEX to list), files (inline,
 * regular, prealloc, holes; zlib, LZO and zstd compression, inline or in
 * extents referenced in part) and symlinks.  Follows the Btrfs "On-disk
 * Format" documentation and, where it is silent (LZO framing, streams that
 * stop at EOF rather than at ram_bytes), what Linux writes; layouts in
 * btrfs_disk.h.  A compressed stream that gives more than ram_bytes, or
 * less than the file reads from it, is corrupt (FMT-005).
 *
 * Inode handles: subvolume id << 48 | objectid (placeholders: objectid
 * BTRFS_EMPTY_SUBVOL_DIR in the parent's subvolume).
 *
 * Every tree block is checked (CRC-32C when the checksum type is crc32c,
 * its own address, its level, its item table) before use; a DUP block
 * whose first copy fails is read from the second.  Tree walks check that
 * keys increase, so a corrupt tree cannot make a walk loop.
 */
#include "fs/fs.h"
#include "fs/btrfs/btrfs.h"
#include "fs/btrfs/btrfs_disk.h"
#include "core/budget.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/util.h"

#include <lzo/lzo1x.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define BTRFS_MAX_CHUNKS        65536
#define BTRFS_CACHE_NODES       64
#define BTRFS_MAX_SUBVOL_CACHE  16
#define BTRFS_MAX_EXTENT_RAM    ((uint64_t)1 << 20)   /* compressed: 128K */
#define BTRFS_MAX_COMPRESSED    ((size_t)128 << 10)
#define BTRFS_INO_BITS          48
#define BTRFS_INO_MASK          (((uint64_t)1 << BTRFS_INO_BITS) - 1)

extern const struct vmie_fs_driver vmie_fsdrv_btrfs;

struct btrfs_key {
	uint64_t objectid;
	uint8_t type;
	uint64_t offset;
};

struct btrfs_chunk {
	uint64_t logical, length, type;
	unsigned nstripes;        /* copies to try: 1, or 2 for DUP */
	uint64_t physical[2];
};

struct btrfs_cached {
	uint64_t logical;         /* 0 = empty */
	uint8_t *buf;
};

struct btrfs_subvol {
	uint64_t id, bytenr;
	uint64_t dirid;           /* its top directory (256) */
	uint8_t level;
};

struct btrfs_fs {
	struct vmie_image *dev;
	uint32_t nodesize, sectorsize;
	uint16_t csum_type;
	uint64_t devid, root_dirid, default_subvol;
	uint64_t root_bytenr, chunk_bytenr;
	uint8_t root_level, chunk_level;
	struct btrfs_chunk *chunks;
	size_t nchunks, chunks_cap;
	struct btrfs_cached cache[BTRFS_CACHE_NODES];
	struct btrfs_subvol subvols[BTRFS_MAX_SUBVOL_CACHE];
	unsigned nsubvols;
	/* the compressed extent decompressed last, so that reading a file
	 * in small pieces decompresses each extent once */
	struct {
		uint64_t bytenr, dnum, ram;
		unsigned comp;
		size_t got;
		uint8_t *buf;
	} zc;
};

/* A position in a tree: a copy of each node on the way down. */
struct btrfs_path {
	struct btrfs_fs *fs;
	uint8_t *node[BTRFS_MAX_LEVEL];
	int slot[BTRFS_MAX_LEVEL];
	int top;                  /* level of the root */
	struct btrfs_key last;    /* last key returned, to check ordering */
	bool have_last;
};

static void btrfs_key_decode(const uint8_t *p, struct btrfs_key *k)
{
	k->objectid = vmie_le64(p);
	k->type = p[8];
	k->offset = vmie_le64(p + 9);
}

static int btrfs_key_cmp(const struct btrfs_key *a, const struct btrfs_key *b)
{
	if (a->objectid != b->objectid)
		return a->objectid < b->objectid ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* ---- superblock and probe ---- */

static bool btrfs_sb_csum_ok(const uint8_t *sb)
{
	if (vmie_le16(sb + 0xc4) != BTRFS_CSUM_CRC32C)
		return true;   /* other checksums are not verified */
	return vmie_crc32c(0, sb + BTRFS_CSUM_SIZE,
			   BTRFS_SUPER_SIZE - BTRFS_CSUM_SIZE) == vmie_le32(sb);
}

static int btrfs_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t sb[BTRFS_SUPER_SIZE];
	uint64_t total, used;

	if (dev->size < BTRFS_SUPER_OFFSET + BTRFS_SUPER_SIZE ||
	    vmie_image_pread(dev, sb, sizeof sb, BTRFS_SUPER_OFFSET, NULL))
		return 0;
	if (memcmp(sb + 0x40, BTRFS_MAGIC, 8))
		return 0;
	vmie_strlcpy(p->type, "btrfs", sizeof p->type);
	vmie_uuid_be(p->uuid, sb + 0x20);
	memcpy(p->label, sb + 0x12b, sizeof p->label - 1);
	p->label[sizeof p->label - 1] = 0;
	total = vmie_le64(sb + 0x70);
	used = vmie_le64(sb + 0x78);
	p->size = total;
	p->free = used <= total ? total - used : UINT64_MAX;
	p->readable = vmie_le64(sb + 0x88) == 1 &&
		      !(vmie_le64(sb + 0xbc) & ~BTRFS_INCOMPAT_KNOWN);
	return btrfs_sb_csum_ok(sb) ? 95 : 40;
}

/* ---- chunks: logical to physical ---- */

static int btrfs_add_chunk(struct btrfs_fs *fs, uint64_t logical,
			   const uint8_t *c, size_t avail, size_t *used,
			   struct vmie_err *err)
{
	struct btrfs_chunk ch = { .logical = logical };
	unsigned nstripes;
	size_t need;

	if (avail < BTRFS_CHUNK_ITEM_SIZE)
		goto bad;
	ch.length = vmie_le64(c);
	ch.type = vmie_le64(c + 24);
	nstripes = vmie_le16(c + 44);
	need = BTRFS_CHUNK_ITEM_SIZE + (size_t)nstripes * BTRFS_STRIPE_SIZE;
	if (nstripes == 0 || need > avail || ch.length == 0 ||
	    logical + ch.length < logical)
		goto bad;
	*used = need;
	if (ch.type & BTRFS_BLOCK_GROUP_PROFILES)
		return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: chunk at logical "
				"0x%llx uses a RAID profile (type 0x%llx): only "
				"SINGLE and DUP are supported",
				(unsigned long long)logical,
				(unsigned long long)ch.type);
	ch.nstripes = nstripes > 2 ? 2 : nstripes;
	for (unsigned i = 0; i < ch.nstripes; i++) {
		const uint8_t *s = c + BTRFS_CHUNK_ITEM_SIZE +
				   i * BTRFS_STRIPE_SIZE;
		if (vmie_le64(s) != fs->devid)
			return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: chunk at "
					"logical 0x%llx lives on device %llu: "
					"multi-device file systems are not "
					"supported", (unsigned long long)logical,
					(unsigned long long)vmie_le64(s));
		ch.physical[i] = vmie_le64(s + 8);
		if (vmie_range_outside(ch.physical[i], ch.length,
				       fs->dev->size))
			return VMIE_CORRUPT(err, "btrfs: chunk at logical "
					    "0x%llx (%llu bytes at 0x%llx) is "
					    "past the end of the device",
					    (unsigned long long)logical,
					    (unsigned long long)ch.length,
					    (unsigned long long)ch.physical[i]);
	}
	/* keep the table sorted; the chunk tree repeats the system chunks */
	size_t i = fs->nchunks;
	while (i > 0 && fs->chunks[i - 1].logical >= logical)
		i--;
	if (i < fs->nchunks && fs->chunks[i].logical == logical)
		return 0;
	if (fs->nchunks == BTRFS_MAX_CHUNKS)
		return VMIE_CORRUPT(err, "btrfs: more than %d chunks",
				    BTRFS_MAX_CHUNKS);
	if (fs->nchunks == fs->chunks_cap) {
		size_t cap = fs->chunks_cap ? 2 * fs->chunks_cap : 16;
		void *n = realloc(fs->chunks, cap * sizeof *fs->chunks);
		if (!n)
			return VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of memory");
		fs->chunks = n;
		fs->chunks_cap = cap;
	}
	memmove(fs->chunks + i + 1, fs->chunks + i,
		(fs->nchunks - i) * sizeof *fs->chunks);
	fs->chunks[i] = ch;
	fs->nchunks++;
	return 0;
bad:
	return VMIE_CORRUPT(err, "btrfs: bad chunk item for logical 0x%llx",
			    (unsigned long long)logical);
}

static const struct btrfs_chunk *btrfs_find_chunk(struct btrfs_fs *fs,
						  uint64_t logical,
						  uint64_t len)
{
	size_t lo = 0, hi = fs->nchunks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (fs->chunks[mid].logical <= logical)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct btrfs_chunk *c = &fs->chunks[lo - 1];
	if (logical - c->logical >= c->length ||
	    len > c->length - (logical - c->logical))
		return NULL;
	return c;
}

/* Read len bytes at a logical address (inside one chunk), copy 0. */
static int btrfs_read_logical(struct btrfs_fs *fs, void *buf, size_t len,
			      uint64_t logical, unsigned copy,
			      struct vmie_err *err)
{
	const struct btrfs_chunk *c = btrfs_find_chunk(fs, logical, len);
	int r;
	if (!c)
		return VMIE_CORRUPT(err, "btrfs: logical range 0x%llx+%zu is "
				    "not mapped by any chunk",
				    (unsigned long long)logical, len);
	if (copy >= c->nstripes)
		copy = 0;
	r = vmie_image_pread(fs->dev, buf, len,
			     c->physical[copy] + (logical - c->logical), err);
	if (r)
		vmie_err_prefix(err, "btrfs");
	return r;
}

/* ---- tree blocks ---- */

static const char *btrfs_node_invalid(struct btrfs_fs *fs, const uint8_t *b,
				      uint64_t logical, int level)
{
	uint32_t nritems = vmie_le32(b + 0x60);
	size_t room = fs->nodesize - BTRFS_HEADER_SIZE;

	if (fs->csum_type == BTRFS_CSUM_CRC32C &&
	    vmie_crc32c(0, b + BTRFS_CSUM_SIZE,
			fs->nodesize - BTRFS_CSUM_SIZE) != vmie_le32(b))
		return "checksum mismatch";
	if (vmie_le64(b + 0x30) != logical)
		return "block records another address";
	if (level >= 0 && b[0x64] != level)
		return "unexpected level";
	if (b[0x64] >= BTRFS_MAX_LEVEL)
		return "bad level";
	if (b[0x64] == 0) {
		if (nritems > room / BTRFS_ITEM_SIZE)
			return "too many items";
		for (uint32_t i = 0; i < nritems; i++) {
			const uint8_t *it = b + BTRFS_HEADER_SIZE +
					    i * BTRFS_ITEM_SIZE;
			uint64_t off = vmie_le32(it + 17);
			uint64_t sz = vmie_le32(it + 21);
			if (off + sz > room ||
			    off < (uint64_t)nritems * BTRFS_ITEM_SIZE)
				return "item data outside the leaf";
		}
	} else if (nritems == 0 || nritems > room / BTRFS_KEY_PTR_SIZE) {
		return "bad number of pointers";
	}
	return NULL;
}

/* Read the tree block at logical into out (nodesize bytes), through the
 * cache.  level: the expected level, or -1 for a root of unknown level. */
static int btrfs_read_node(struct btrfs_fs *fs, uint64_t logical, int level,
			   uint8_t *out, struct vmie_err *err)
{
	struct btrfs_cached *c =
		&fs->cache[(logical / fs->nodesize) % BTRFS_CACHE_NODES];
	const struct btrfs_chunk *ch;
	const char *why = NULL;
	int r;

	if (c->logical == logical && c->buf &&
	    (level < 0 || c->buf[0x64] == level)) {
		memcpy(out, c->buf, fs->nodesize);
		return 0;
	}
	if (logical == 0 || logical % fs->sectorsize)
		return VMIE_CORRUPT(err, "btrfs: bad tree block address 0x%llx",
				    (unsigned long long)logical);
	ch = btrfs_find_chunk(fs, logical, fs->nodesize);
	unsigned copies = ch ? ch->nstripes : 1;
	for (unsigned i = 0; i < copies; i++) {
		r = btrfs_read_logical(fs, out, fs->nodesize, logical, i, err);
		if (r)
			return r;
		why = btrfs_node_invalid(fs, out, logical, level);
		if (!why)
			break;
	}
	if (why)
		return VMIE_CORRUPT(err, "btrfs: tree block 0x%llx: %s",
				    (unsigned long long)logical, why);
	if (!c->buf)
		c->buf = malloc(fs->nodesize);
	if (c->buf) {
		memcpy(c->buf, out, fs->nodesize);
		c->logical = logical;
	}
	return 0;
}

static int btrfs_path_init(struct btrfs_fs *fs, struct btrfs_path *p,
			   struct vmie_err *err)
{
	memset(p, 0, sizeof *p);
	p->fs = fs;
	for (int i = 0; i < BTRFS_MAX_LEVEL; i++) {
		p->node[i] = malloc(fs->nodesize);
		if (!p->node[i]) {
			for (int j = 0; j < i; j++)
				free(p->node[j]);
			return VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of memory");
		}
	}
	return 0;
}

static void btrfs_path_free(struct btrfs_path *p)
{
	for (int i = 0; i < BTRFS_MAX_LEVEL; i++)
		free(p->node[i]);
}

static uint32_t btrfs_nritems(const uint8_t *b)
{
	return vmie_le32(b + 0x60);
}

static void btrfs_node_key(const uint8_t *b, int slot, struct btrfs_key *k)
{
	int lvl = b[0x64];
	size_t sz = lvl ? BTRFS_KEY_PTR_SIZE : BTRFS_ITEM_SIZE;
	btrfs_key_decode(b + BTRFS_HEADER_SIZE + slot * sz, k);
}

/* Descend from the node at level lvl (already in p->node[lvl], slot set)
 * to a leaf, taking the leftmost child below. */
static int btrfs_descend_left(struct btrfs_path *p, int lvl,
			      struct vmie_err *err)
{
	while (lvl > 0) {
		const uint8_t *ptr = p->node[lvl] + BTRFS_HEADER_SIZE +
				     p->slot[lvl] * BTRFS_KEY_PTR_SIZE;
		int r = btrfs_read_node(p->fs, vmie_le64(ptr + 17), lvl - 1,
					p->node[lvl - 1], err);
		if (r)
			return r;
		lvl--;
		p->slot[lvl] = 0;
	}
	return 0;
}

/* Position p at the first item >= key in the tree rooted at (bytenr,
 * level); the slot may equal nritems (then call btrfs_settle).  With le,
 * at the last item <= key instead, or return 1 when there is none. */
static int btrfs_search_mode(struct btrfs_path *p, uint64_t bytenr,
			     int level, const struct btrfs_key *key, bool le,
			     struct vmie_err *err)
{
	struct btrfs_key k;
	int r;

	if (level < 0 || level >= BTRFS_MAX_LEVEL)
		return VMIE_CORRUPT(err, "btrfs: tree root 0x%llx has bad "
				    "level %d", (unsigned long long)bytenr,
				    level);
	p->top = level;
	p->have_last = false;
	r = btrfs_read_node(p->fs, bytenr, level, p->node[level], err);
	if (r)
		return r;
	for (int lvl = level; lvl > 0; lvl--) {
		uint8_t *b = p->node[lvl];
		int n = (int)btrfs_nritems(b), s = 0;
		while (s + 1 < n) {
			btrfs_node_key(b, s + 1, &k);
			if (btrfs_key_cmp(&k, key) > 0)
				break;
			s++;
		}
		p->slot[lvl] = s;
		const uint8_t *ptr = b + BTRFS_HEADER_SIZE +
				     s * BTRFS_KEY_PTR_SIZE;
		r = btrfs_read_node(p->fs, vmie_le64(ptr + 17), lvl - 1,
				    p->node[lvl - 1], err);
		if (r)
			return r;
	}
	uint8_t *leaf = p->node[0];
	int n = (int)btrfs_nritems(leaf), s = 0;
	while (s < n) {
		btrfs_node_key(leaf, s, &k);
		int c = btrfs_key_cmp(&k, key);
		if (c > 0 || (c == 0 && !le))
			break;
		s++;
	}
	if (le) {
		/* s = first item > key: the one before it is <= key */
		if (s == 0)
			return 1;
		s--;
	}
	p->slot[0] = s;
	return 0;
}

static int btrfs_search(struct btrfs_path *p, uint64_t bytenr, int level,
			const struct btrfs_key *key, struct vmie_err *err)
{
	return btrfs_search_mode(p, bytenr, level, key, false, err);
}

/* Make p point at a valid item: move to the next leaf while the slot is
 * past the end.  Returns 1 at the end of the tree. */
static int btrfs_settle(struct btrfs_path *p, struct vmie_err *err)
{
	while ((uint32_t)p->slot[0] >= btrfs_nritems(p->node[0])) {
		int lvl = 1;
		while (lvl <= p->top &&
		       (uint32_t)p->slot[lvl] + 1 >= btrfs_nritems(p->node[lvl]))
			lvl++;
		if (lvl > p->top)
			return 1;
		p->slot[lvl]++;
		int r = btrfs_descend_left(p, lvl, err);
		if (r)
			return r;
	}
	return 0;
}

/* Current item (after btrfs_settle returned 0); checks key order. */
static int btrfs_item(struct btrfs_path *p, struct btrfs_key *k,
		      const uint8_t **data, uint32_t *size,
		      struct vmie_err *err)
{
	const uint8_t *leaf = p->node[0];
	const uint8_t *it = leaf + BTRFS_HEADER_SIZE +
			    p->slot[0] * BTRFS_ITEM_SIZE;
	btrfs_key_decode(it, k);
	if (p->have_last && btrfs_key_cmp(k, &p->last) <= 0)
		return VMIE_CORRUPT(err, "btrfs: tree block 0x%llx: keys out of "
				    "order", (unsigned long long)
				    vmie_le64(leaf + 0x30));
	p->last = *k;
	p->have_last = true;
	*data = leaf + BTRFS_HEADER_SIZE + vmie_le32(it + 17);
	*size = vmie_le32(it + 21);
	return 0;
}

/* Iterate items from the first >= min up to max (inclusive); fn returns
 * non-zero to stop (returned). */
typedef int (*btrfs_item_fn)(void *ctx, const struct btrfs_key *k,
			     const uint8_t *data, uint32_t size,
			     struct vmie_err *err);

static int btrfs_iterate(struct btrfs_fs *fs, uint64_t bytenr, int level,
			 const struct btrfs_key *min,
			 const struct btrfs_key *max, btrfs_item_fn fn,
			 void *ctx, struct vmie_err *err)
{
	struct btrfs_path p;
	struct btrfs_key k;
	const uint8_t *data;
	uint32_t size;
	int r = btrfs_path_init(fs, &p, err);
	if (r)
		return r;
	r = btrfs_search(&p, bytenr, level, min, err);
	while (!r) {
		r = btrfs_settle(&p, err);
		if (r) {
			if (r == 1)
				r = 0;
			break;
		}
		r = btrfs_item(&p, &k, &data, &size, err);
		if (r || btrfs_key_cmp(&k, max) > 0)
			break;
		r = fn(ctx, &k, data, size, err);
		p.slot[0]++;
	}
	btrfs_path_free(&p);
	return r;
}

/* Exactly the item with key k; VMIE_ENOENT when absent.  The data is
 * copied into a malloc'd buffer. */
static int btrfs_get_item(struct btrfs_fs *fs, uint64_t bytenr, int level,
			  const struct btrfs_key *k, uint8_t **data,
			  uint32_t *size, struct vmie_err *err)
{
	struct btrfs_path p;
	struct btrfs_key found;
	const uint8_t *d;
	int r = btrfs_path_init(fs, &p, err);
	if (r)
		return r;
	r = btrfs_search(&p, bytenr, level, k, err);
	if (!r)
		r = btrfs_settle(&p, err);
	if (!r)
		r = btrfs_item(&p, &found, &d, size, err);
	if (r == 1 || (!r && btrfs_key_cmp(&found, k)))
		r = VMIE_ENOENT;
	if (!r) {
		*data = malloc(*size ? *size : 1);
		if (!*data)
			r = VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of memory");
		else
			memcpy(*data, d, *size);
	}
	btrfs_path_free(&p);
	return r;
}

/* ---- chunk tree, root tree, subvolumes ---- */

static int btrfs_chunk_cb(void *ctx, const struct btrfs_key *k,
			  const uint8_t *data, uint32_t size,
			  struct vmie_err *err)
{
	size_t used;
	if (k->type != BTRFS_CHUNK_ITEM_KEY)
		return 0;
	return btrfs_add_chunk(ctx, k->offset, data, size, &used, err);
}

static int btrfs_load_chunks(struct btrfs_fs *fs, const uint8_t *sb,
			     struct vmie_err *err)
{
	uint32_t n = vmie_le32(sb + 0xa0);
	const uint8_t *a = sb + BTRFS_SYS_ARRAY_OFF;
	size_t pos = 0;
	int r;

	if (n > BTRFS_SYS_ARRAY_MAX)
		return VMIE_CORRUPT(err, "btrfs: system chunk array size %u "
				    "too big", n);
	while (pos < n) {
		struct btrfs_key k;
		size_t used;
		if (n - pos < BTRFS_KEY_SIZE)
			goto bad;
		btrfs_key_decode(a + pos, &k);
		pos += BTRFS_KEY_SIZE;
		if (k.type != BTRFS_CHUNK_ITEM_KEY)
			goto bad;
		r = btrfs_add_chunk(fs, k.offset, a + pos, n - pos, &used, err);
		if (r)
			return r;
		pos += used;
	}
	struct btrfs_key min = { BTRFS_FIRST_CHUNK_TREE_OBJECTID,
				 BTRFS_CHUNK_ITEM_KEY, 0 };
	struct btrfs_key max = { BTRFS_FIRST_CHUNK_TREE_OBJECTID,
				 BTRFS_CHUNK_ITEM_KEY, UINT64_MAX };
	r = btrfs_iterate(fs, fs->chunk_bytenr, fs->chunk_level, &min, &max,
			  btrfs_chunk_cb, fs, err);
	if (r)
		vmie_err_prefix(err, "chunk tree");
	return r;
bad:
	return VMIE_CORRUPT(err, "btrfs: bad system chunk array at byte %zu",
			    pos);
}

/* Root of subvolume (tree) id: its block and level. */
static int btrfs_subvol_root(struct btrfs_fs *fs, uint64_t id,
			     struct btrfs_subvol *out, struct vmie_err *err)
{
	struct btrfs_path p;
	struct btrfs_key k = { id, BTRFS_ROOT_ITEM_KEY, 0 }, found;
	const uint8_t *d;
	uint32_t size;
	int r;

	for (unsigned i = 0; i < fs->nsubvols; i++)
		if (fs->subvols[i].id == id) {
			*out = fs->subvols[i];
			return 0;
		}
	r = btrfs_path_init(fs, &p, err);
	if (r)
		return r;
	r = btrfs_search(&p, fs->root_bytenr, fs->root_level, &k, err);
	if (!r)
		r = btrfs_settle(&p, err);
	if (!r)
		r = btrfs_item(&p, &found, &d, &size, err);
	if (r == 1 || (!r && (found.objectid != id ||
			      found.type != BTRFS_ROOT_ITEM_KEY)))
		r = VMIE_ERR(err, VMIE_ENOENT, "btrfs: subvolume %llu not found",
			     (unsigned long long)id);
	else if (!r && size < BTRFS_ROOT_ITEM_MIN)
		r = VMIE_CORRUPT(err, "btrfs: root item of subvolume %llu too "
				 "short", (unsigned long long)id);
	if (!r) {
		out->id = id;
		out->bytenr = vmie_le64(d + 176);
		out->dirid = vmie_le64(d + 168);
		out->level = d[238];
		if (out->dirid < BTRFS_FIRST_FREE_OBJECTID ||
		    out->dirid > BTRFS_INO_MASK)
			r = VMIE_CORRUPT(err, "btrfs: subvolume %llu: bad root "
					 "directory %llu", (unsigned long long)id,
					 (unsigned long long)out->dirid);
		else if (out->level >= BTRFS_MAX_LEVEL)
			r = VMIE_CORRUPT(err, "btrfs: subvolume %llu: bad root "
					 "level %u", (unsigned long long)id,
					 out->level);
		else if (fs->nsubvols < BTRFS_MAX_SUBVOL_CACHE)
			fs->subvols[fs->nsubvols++] = *out;
	}
	btrfs_path_free(&p);
	return r;
}

static uint32_t btrfs_name_hash(const char *name, size_t len)
{
	/* crc32c seeded with ~1 and not inverted at the end, which is the
	 * complement of the usual CRC-32C seeded with 1 */
	return ~vmie_crc32c(1, name, len);
}

/* ---- inodes ---- */

struct btrfs_inode {
	uint64_t subvol, objectid;
	struct btrfs_subvol root;
	uint64_t size;
	uint32_t nlink, uid, gid, mode;
	int64_t mtime;
	bool placeholder;         /* BTRFS_EMPTY_SUBVOL_DIR: no inode item */
};

static int btrfs_split(struct btrfs_fs *fs, vmie_ino_t h, struct btrfs_inode *ip,
		       struct vmie_err *err)
{
	ip->subvol = h >> BTRFS_INO_BITS;
	ip->objectid = h & BTRFS_INO_MASK;
	return btrfs_subvol_root(fs, ip->subvol, &ip->root, err);
}

static int btrfs_read_inode(struct btrfs_fs *fs, vmie_ino_t h,
			    struct btrfs_inode *ip, struct vmie_err *err)
{
	uint8_t *d = NULL;
	uint32_t size;
	int r = btrfs_split(fs, h, ip, err);
	if (r)
		return r;
	if (ip->objectid == BTRFS_EMPTY_SUBVOL_DIR) {
		/* a nested subvolume's placeholder: as Linux shows it */
		ip->size = 0;
		ip->nlink = 1;
		ip->uid = ip->gid = 0;
		ip->mode = 040755;
		ip->mtime = 0;
		ip->placeholder = true;
		return 0;
	}
	ip->placeholder = false;
	struct btrfs_key k = { ip->objectid, BTRFS_INODE_ITEM_KEY, 0 };
	r = btrfs_get_item(fs, ip->root.bytenr, ip->root.level, &k, &d, &size,
			   err);
	if (r == VMIE_ENOENT)
		return VMIE_ERR(err, VMIE_ENOENT, "btrfs: inode %llu not found "
				"in subvolume %llu",
				(unsigned long long)ip->objectid,
				(unsigned long long)ip->subvol);
	if (r)
		return r;
	if (size < BTRFS_INODE_ITEM_SIZE) {
		free(d);
		return VMIE_CORRUPT(err, "btrfs: inode %llu item too short",
				    (unsigned long long)ip->objectid);
	}
	ip->size = vmie_le64(d + 16);
	ip->nlink = vmie_le32(d + 40);
	ip->uid = vmie_le32(d + 44);
	ip->gid = vmie_le32(d + 48);
	ip->mode = vmie_le32(d + 52);
	ip->mtime = (int64_t)vmie_le64(d + 136);
	free(d);
	if (ip->size > (uint64_t)INT64_MAX)
		return VMIE_CORRUPT(err, "btrfs: inode %llu: bad size",
				    (unsigned long long)ip->objectid);
	return 0;
}

static enum vmie_ftype btrfs_dir_ftype(unsigned t)
{
	static const enum vmie_ftype map[] = {
		[BTRFS_FT_REG_FILE] = VMIE_FT_REG,
		[BTRFS_FT_DIR] = VMIE_FT_DIR,
		[BTRFS_FT_CHRDEV] = VMIE_FT_CHR,
		[BTRFS_FT_BLKDEV] = VMIE_FT_BLK,
		[BTRFS_FT_FIFO] = VMIE_FT_FIFO,
		[BTRFS_FT_SOCK] = VMIE_FT_SOCK,
		[BTRFS_FT_SYMLINK] = VMIE_FT_LNK,
	};
	return t < sizeof map / sizeof map[0] ? map[t] : VMIE_FT_UNKNOWN;
}

/* Handle for the directory entry name (nlen bytes) in directory dir of
 * subvolume sv, whose location key is at loc.  An entry for a subvolume
 * crosses into it only when the root tree holds the matching ROOT_REF
 * (sv, child, same directory and name), as the kernel requires; otherwise
 * (the copy of a nested subvolume inside a snapshot) it is an empty
 * placeholder directory, BTRFS_EMPTY_SUBVOL_DIR_OBJECTID in sv. */
static int btrfs_entry_handle(struct btrfs_fs *fs, uint64_t sv, uint64_t dir,
			      const uint8_t *loc, const uint8_t *name,
			      size_t nlen, vmie_ino_t *out,
			      struct vmie_err *err)
{
	struct btrfs_key k;
	btrfs_key_decode(loc, &k);
	if (k.type == BTRFS_ROOT_ITEM_KEY) {
		struct btrfs_key rk = { sv, BTRFS_ROOT_REF_KEY, k.objectid };
		struct btrfs_subvol child;
		uint8_t *ref = NULL;
		uint32_t size;
		int r;
		if (k.objectid >> (64 - BTRFS_INO_BITS))
			return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: subvolume id "
					"%llu too large for vmie's handles",
					(unsigned long long)k.objectid);
		r = btrfs_get_item(fs, fs->root_bytenr, fs->root_level, &rk,
				   &ref, &size, err);
		if (r && r != VMIE_ENOENT)
			return r;
		bool linked = !r && size >= BTRFS_ROOT_REF_HDR &&
			      vmie_le64(ref) == dir &&
			      vmie_le16(ref + 16) == nlen &&
			      size - BTRFS_ROOT_REF_HDR >= nlen &&
			      !memcmp(ref + BTRFS_ROOT_REF_HDR, name, nlen);
		free(ref);
		if (!linked) {
			*out = sv << BTRFS_INO_BITS | BTRFS_EMPTY_SUBVOL_DIR;
			return 0;
		}
		r = btrfs_subvol_root(fs, k.objectid, &child, err);
		if (r)
			return r;
		*out = k.objectid << BTRFS_INO_BITS | child.dirid;
		return 0;
	}
	if (k.type != BTRFS_INODE_ITEM_KEY || k.objectid > BTRFS_INO_MASK ||
	    k.objectid < BTRFS_FIRST_FREE_OBJECTID)
		return VMIE_CORRUPT(err, "btrfs: directory entry with bad "
				    "location (%llu %u %llu)",
				    (unsigned long long)k.objectid, k.type,
				    (unsigned long long)k.offset);
	*out = sv << BTRFS_INO_BITS | k.objectid;
	return 0;
}

/* ---- directories ---- */

struct btrfs_lookup_ctx {
	struct btrfs_fs *fs;
	const char *name;
	size_t len;
	uint64_t subvol;
	vmie_ino_t ino;
	bool found;
};

static int btrfs_lookup_cb(void *vctx, const struct btrfs_key *k,
			   const uint8_t *d, uint32_t size,
			   struct vmie_err *err)
{
	struct btrfs_lookup_ctx *c = vctx;
	uint32_t pos = 0;
	while (pos < size) {
		if (size - pos < BTRFS_DIR_ITEM_HDR)
			goto bad;
		const uint8_t *e = d + pos;
		uint32_t dlen = vmie_le16(e + 25), nlen = vmie_le16(e + 27);
		uint32_t len = BTRFS_DIR_ITEM_HDR + nlen + dlen;
		if (len > size - pos)
			goto bad;
		if (nlen == c->len && !memcmp(e + BTRFS_DIR_ITEM_HDR, c->name,
					      nlen)) {
			int r = btrfs_entry_handle(c->fs, c->subvol,
						   k->objectid, e,
						   e + BTRFS_DIR_ITEM_HDR,
						   nlen, &c->ino, err);
			if (r)
				return r;
			c->found = true;
			return 1;
		}
		pos += len;
	}
	return 0;
bad:
	return VMIE_CORRUPT(err, "btrfs: directory %llu: bad DIR_ITEM",
			    (unsigned long long)k->objectid);
}

static int btrfs_lookup(struct vmie_fs *vfs, vmie_ino_t dir, const char *name,
			vmie_ino_t *out, struct vmie_err *err)
{
	struct btrfs_fs *fs = vfs->priv;
	struct btrfs_inode ip;
	size_t len = strlen(name);
	int r;

	if (len == 0 || len > 255)
		return VMIE_ERR(err, VMIE_ENOENT, "btrfs: no entry '%s'", name);
	r = btrfs_read_inode(fs, dir, &ip, err);
	if (r)
		return r;
	if (vmie_ftype_from_mode(ip.mode) != VMIE_FT_DIR)
		return VMIE_ERR(err, VMIE_EINVAL, "btrfs: inode %llu is not a "
				"directory", (unsigned long long)ip.objectid);
	if (!strcmp(name, ".")) {
		*out = dir;
		return 0;
	}
	if (ip.placeholder)
		return VMIE_ERR(err, VMIE_ENOENT, "btrfs: no entry '%s' in the "
				"empty placeholder of a nested subvolume (its "
				"parent is not recorded)", name);
	if (!strcmp(name, "..")) {
		uint32_t size;
		struct btrfs_key k;
		if (dir == vfs->root) {
			*out = dir;
			return 0;
		}
		if (ip.objectid == ip.root.dirid) {
			/* the root of a subvolume: its parent directory is
			 * in another tree (ROOT_BACKREF) */
			struct btrfs_key min = { ip.subvol,
						 BTRFS_ROOT_BACKREF_KEY, 0 };
			struct btrfs_path p;
			const uint8_t *bd;
			r = btrfs_path_init(fs, &p, err);
			if (r)
				return r;
			r = btrfs_search(&p, fs->root_bytenr, fs->root_level,
					 &min, err);
			if (!r)
				r = btrfs_settle(&p, err);
			if (!r)
				r = btrfs_item(&p, &k, &bd, &size, err);
			if (!r && k.objectid == ip.subvol &&
			    k.type == BTRFS_ROOT_BACKREF_KEY && size >= 8 &&
			    k.offset <= 0xffff)
				*out = k.offset << BTRFS_INO_BITS |
				       (vmie_le64(bd) & BTRFS_INO_MASK);
			else if (r >= 0)
				*out = vfs->root;   /* no parent: the top */
			btrfs_path_free(&p);
			return r < 0 ? r : 0;
		}
		struct btrfs_key min = { ip.objectid, BTRFS_INODE_REF_KEY, 0 };
		struct btrfs_path p;
		const uint8_t *rd;
		r = btrfs_path_init(fs, &p, err);
		if (r)
			return r;
		r = btrfs_search(&p, ip.root.bytenr, ip.root.level, &min, err);
		if (!r)
			r = btrfs_settle(&p, err);
		if (!r)
			r = btrfs_item(&p, &k, &rd, &size, err);
		if (r == 1 || (!r && (k.objectid != ip.objectid ||
				      k.type != BTRFS_INODE_REF_KEY ||
				      k.offset > BTRFS_INO_MASK)))
			r = VMIE_CORRUPT(err, "btrfs: directory %llu has no "
					 "parent reference",
					 (unsigned long long)ip.objectid);
		else if (!r)
			*out = ip.subvol << BTRFS_INO_BITS | k.offset;
		btrfs_path_free(&p);
		return r;
	}
	struct btrfs_lookup_ctx c = { fs, name, len, ip.subvol, 0, false };
	uint32_t h = btrfs_name_hash(name, len);
	struct btrfs_key k = { ip.objectid, BTRFS_DIR_ITEM_KEY, h };
	r = btrfs_iterate(fs, ip.root.bytenr, ip.root.level, &k, &k,
			  btrfs_lookup_cb, &c, err);
	if (r < 0)
		return r;
	if (!c.found)
		return VMIE_ERR(err, VMIE_ENOENT, "btrfs: no entry '%s' in "
				"directory %llu", name,
				(unsigned long long)ip.objectid);
	*out = c.ino;
	return 0;
}

struct btrfs_readdir_ctx {
	struct btrfs_fs *fs;
	vmie_dirent_cb cb;
	void *ctx;
	uint64_t subvol;
};

static int btrfs_readdir_cb(void *vctx, const struct btrfs_key *k,
			    const uint8_t *d, uint32_t size,
			    struct vmie_err *err)
{
	struct btrfs_readdir_ctx *c = vctx;
	struct vmie_dirent de;
	if (size < BTRFS_DIR_ITEM_HDR)
		goto bad;
	uint32_t nlen = vmie_le16(d + 27);
	if (nlen == 0 || nlen > 255 || BTRFS_DIR_ITEM_HDR + nlen > size)
		goto bad;
	memcpy(de.name, d + BTRFS_DIR_ITEM_HDR, nlen);
	de.name[nlen] = 0;
	de.type = btrfs_dir_ftype(d[29]);
	int r = btrfs_entry_handle(c->fs, c->subvol, k->objectid, d,
				   d + BTRFS_DIR_ITEM_HDR, nlen, &de.ino, err);
	if (r)
		return r;
	return c->cb(c->ctx, &de);
bad:
	return VMIE_CORRUPT(err, "btrfs: directory %llu: bad DIR_INDEX %llu",
			    (unsigned long long)k->objectid,
			    (unsigned long long)k->offset);
}

static int btrfs_readdir(struct vmie_fs *vfs, vmie_ino_t dir,
			 vmie_dirent_cb cb, void *ctx, struct vmie_err *err)
{
	struct btrfs_fs *fs = vfs->priv;
	struct btrfs_inode ip;
	int r = btrfs_read_inode(fs, dir, &ip, err);
	if (r)
		return r;
	if (vmie_ftype_from_mode(ip.mode) != VMIE_FT_DIR)
		return VMIE_ERR(err, VMIE_EINVAL, "btrfs: inode %llu is not a "
				"directory", (unsigned long long)ip.objectid);
	if (ip.placeholder)
		return 0;
	struct btrfs_readdir_ctx c = { fs, cb, ctx, ip.subvol };
	struct btrfs_key min = { ip.objectid, BTRFS_DIR_INDEX_KEY, 0 };
	struct btrfs_key max = { ip.objectid, BTRFS_DIR_INDEX_KEY, UINT64_MAX };
	return btrfs_iterate(fs, ip.root.bytenr, ip.root.level, &min, &max,
			     btrfs_readdir_cb, &c, err);
}

/* ---- file data ---- */

/* Why a compressed extent does not decompress: a static string or one
 * formatted into buf. */
struct btrfs_zwhy {
	char msg[160];
};

/* LZO as Btrfs stores it: le32 total length (header included), then
 * segments of le32 length + LZO1X data that decompress to at most one
 * sector each; a segment header never straddles a sector boundary (zero
 * padding up to it instead).  Limits as the kernel's: total at most
 * min(inlen, 128 KiB), a segment at most lzo1x_worst_compress(sector). */
static int btrfs_lzo_decompress(const uint8_t *in, size_t inlen, uint8_t *out,
				size_t outlen, uint32_t sector, size_t *got,
				struct btrfs_zwhy *why)
{
	size_t pos = 4, o = 0, total, maxseg = sector + sector / 16 + 64 + 3;
	uint8_t *scratch = NULL;
	int r = -1;

	if (inlen < 8) {
		snprintf(why->msg, sizeof why->msg, "lzo: %zu bytes are too "
			 "short for a header", inlen);
		return -1;
	}
	total = vmie_le32(in);
	if (total > inlen || total > BTRFS_MAX_COMPRESSED || total < 8) {
		snprintf(why->msg, sizeof why->msg, "lzo: total length %zu is "
			 "not within 8..%zu", total,
			 (size_t)vmie_min_u64(inlen, BTRFS_MAX_COMPRESSED));
		return -1;
	}
	scratch = malloc(sector);
	if (!scratch) {
		snprintf(why->msg, sizeof why->msg, "out of memory");
		return -1;
	}
	while (pos < total) {
		/* a segment header never crosses a sector boundary */
		if (sector - pos % sector < 4)
			pos += sector - pos % sector;
		if (pos >= total)
			break;
		if (total - pos < 4) {
			snprintf(why->msg, sizeof why->msg, "lzo: segment "
				 "header at byte %zu runs past the total length "
				 "%zu", pos, total);
			goto out;
		}
		size_t seg = vmie_le32(in + pos);
		pos += 4;
		if (seg == 0 || seg > maxseg || seg > total - pos) {
			snprintf(why->msg, sizeof why->msg, "lzo: segment at "
				 "byte %zu has length %zu (at most %zu, %zu "
				 "left)", pos - 4, seg, maxseg, total - pos);
			goto out;
		}
		lzo_uint n = sector;
		int lr = lzo1x_decompress_safe(in + pos, (lzo_uint)seg, scratch,
					       &n, NULL);
		if (lr != LZO_E_OK) {
			snprintf(why->msg, sizeof why->msg, "lzo: segment at "
				 "byte %zu is corrupt (lzo error %d)", pos - 4,
				 lr);
			goto out;
		}
		if (n > outlen - o) {
			snprintf(why->msg, sizeof why->msg, "lzo: decompresses "
				 "to more than the extent's %zu bytes", outlen);
			goto out;
		}
		memcpy(out + o, scratch, n);
		o += n;
		pos += seg;
	}
	*got = o;
	r = 0;
out:
	free(scratch);
	return r;
}

/* Decompress in (inlen bytes) into out (outlen = the extent's ram_bytes);
 * *got = bytes the stream gives, which may be fewer than outlen (the kernel
 * compresses only up to EOF, not to the end of the sector): the caller
 * checks that what it copies is covered.  A stream that gives more than
 * outlen, ends early or is damaged is an error (-1, reason in why). */
static int btrfs_decompress(struct btrfs_fs *fs, unsigned type,
			    const uint8_t *in, size_t inlen, uint8_t *out,
			    size_t outlen, size_t *got, struct btrfs_zwhy *why)
{
	uint8_t extra;

	*got = 0;
	switch (type) {
	case BTRFS_COMPRESS_ZLIB: {
		z_stream z = { 0 };
		int zr;
		if (inflateInit(&z) != Z_OK) {
			snprintf(why->msg, sizeof why->msg, "zlib: cannot "
				 "initialise");
			return -1;
		}
		z.next_in = (Bytef *)in;
		z.avail_in = (uInt)inlen;
		z.next_out = out;
		z.avail_out = (uInt)outlen;
		zr = inflate(&z, Z_FINISH);
		*got = outlen - z.avail_out;
		if ((zr == Z_OK || zr == Z_BUF_ERROR) && z.avail_out == 0) {
			/* full: anything more is a lie about the size */
			z.next_out = &extra;
			z.avail_out = 1;
			zr = inflate(&z, Z_FINISH);
			if (z.avail_out == 0) {
				inflateEnd(&z);
				snprintf(why->msg, sizeof why->msg, "zlib: "
					 "decompresses to more than the "
					 "extent's %zu bytes", outlen);
				return -1;
			}
		}
		inflateEnd(&z);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK || zr == Z_BUF_ERROR)
			snprintf(why->msg, sizeof why->msg, "zlib: the stream "
				 "has no end within its %zu bytes (%zu bytes "
				 "out)", inlen, *got);
		else
			snprintf(why->msg, sizeof why->msg, "zlib: corrupt "
				 "data after %zu bytes out (%s)", *got,
				 z.msg ? z.msg : "error");
		return -1;
	}
	case BTRFS_COMPRESS_ZSTD: {
		ZSTD_DStream *zs = ZSTD_createDStream();
		ZSTD_inBuffer ib = { in, inlen, 0 };
		ZSTD_outBuffer ob = { out, outlen, 0 };
		size_t zr = 1;
		if (!zs) {
			snprintf(why->msg, sizeof why->msg, "out of memory");
			return -1;
		}
		/* one frame; the rest of the last sector is zero padding */
		while (zr != 0) {
			size_t before_in = ib.pos, before_out = ob.pos;
			if (ob.pos == ob.size) {
				/* full: one more byte would be a lie */
				ZSTD_outBuffer one = { &extra, 1, 0 };
				zr = ZSTD_decompressStream(zs, &one, &ib);
				if (!ZSTD_isError(zr) && one.pos) {
					snprintf(why->msg, sizeof why->msg,
						 "zstd: decompresses to more "
						 "than the extent's %zu bytes",
						 outlen);
					zr = (size_t)-1;
					break;
				}
			} else {
				zr = ZSTD_decompressStream(zs, &ob, &ib);
			}
			if (ZSTD_isError(zr)) {
				snprintf(why->msg, sizeof why->msg, "zstd: "
					 "corrupt data after %zu bytes out "
					 "(%s)", ob.pos, ZSTD_getErrorName(zr));
				break;
			}
			if (zr != 0 && ib.pos == before_in &&
			    ob.pos == before_out) {
				snprintf(why->msg, sizeof why->msg, "zstd: the "
					 "frame has no end within its %zu "
					 "bytes (%zu bytes out)", inlen,
					 ob.pos);
				zr = (size_t)-1;
				break;
			}
		}
		*got = ob.pos;
		ZSTD_freeDStream(zs);
		if (zr != 0)
			return -1;
		break;
	}
	case BTRFS_COMPRESS_LZO:
		if (lzo_init() != LZO_E_OK) {
			snprintf(why->msg, sizeof why->msg, "lzo: cannot "
				 "initialise");
			return -1;
		}
		return btrfs_lzo_decompress(in, inlen, out, outlen,
					    fs->sectorsize, got, why);
	default:
		snprintf(why->msg, sizeof why->msg, "unknown compression %u",
			 type);
		return -1;
	}
	return 0;
}

struct btrfs_read_ctx {
	struct btrfs_fs *fs;
	uint64_t objectid;
	uint8_t *buf;
	uint64_t start, end;      /* file range being read */
	uint64_t next;            /* extents must not go backwards */
};

static const char *const btrfs_comp_names[] = { "none", "zlib", "lzo",
						  "zstd" };

/* Decompress an extent (file offset fo, on disk at dbytenr or inline when
 * 0) into out (ram bytes); *got = what the stream gives, the rest of out is
 * zeroed. */
static int btrfs_unpack(struct btrfs_read_ctx *c, uint64_t fo, uint64_t dbytenr,
			unsigned comp, const uint8_t *in, size_t inlen,
			uint8_t *out, uint64_t ram, size_t *got,
			struct vmie_err *err)
{
	struct btrfs_zwhy why = { "" };
	char where[48] = "inline";

	if (dbytenr)
		snprintf(where, sizeof where, "disk 0x%llx",
			 (unsigned long long)dbytenr);
	/* one extent is bounded by ram_bytes (checked by the caller); all
	 * of them together by the image's decompression budget */
	int r = vmie_budget_inflate(c->fs->dev->budget, ram,
				    "btrfs compressed extent", err);
	if (r)
		return r;
	if (btrfs_decompress(c->fs, comp, in, inlen, out, (size_t)ram, got,
			     &why))
		return VMIE_CORRUPT(err, "btrfs: inode %llu: %s extent at file "
				    "offset %llu (%s, %zu bytes, ram_bytes "
				    "%llu): %s", (unsigned long long)c->objectid,
				    btrfs_comp_names[comp],
				    (unsigned long long)fo, where, inlen,
				    (unsigned long long)ram, why.msg);
	memset(out + *got, 0, (size_t)ram - *got);
	return 0;
}

/* The reader copies the first need bytes of a decompressed extent: the
 * stream must have given them (the kernel compresses up to EOF only, so
 * fewer than ram_bytes is fine past what the file reads). */
static int btrfs_unpacked_enough(struct btrfs_read_ctx *c, uint64_t fo,
				 unsigned comp, size_t got, uint64_t need,
				 uint64_t ram, struct vmie_err *err)
{
	if (got >= need)
		return 0;
	return VMIE_CORRUPT(err, "btrfs: inode %llu: %s extent at file offset "
			    "%llu decompresses to %zu bytes, but the file "
			    "needs %llu of its ram_bytes %llu",
			    (unsigned long long)c->objectid,
			    btrfs_comp_names[comp], (unsigned long long)fo, got,
			    (unsigned long long)need, (unsigned long long)ram);
}

/* Copy [from, to) of an extent whose bytes at file offset fo are src. */
static int btrfs_extent_cb(void *vctx, const struct btrfs_key *k,
			   const uint8_t *d, uint32_t size,
			   struct vmie_err *err)
{
	struct btrfs_read_ctx *c = vctx;
	struct btrfs_fs *fs = c->fs;
	uint64_t fo = k->offset, len, from, to, ram;
	uint8_t *tmp = NULL, *ztmp = NULL;
	const char *why = "too short";
	unsigned comp, type;
	int r = 0;

	if (k->objectid != c->objectid || k->type != BTRFS_EXTENT_DATA_KEY)
		return 1;
	if (fo >= c->end)
		return 1;
	if (size < BTRFS_FILE_EXTENT_INLINE_OFF)
		goto bad;
	ram = vmie_le64(d + 8);
	comp = d[16];
	type = d[20];
	if (d[17] || vmie_le16(d + 18))
		return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: inode %llu: "
				"encrypted or encoded extent at %llu",
				(unsigned long long)c->objectid,
				(unsigned long long)fo);
	if (comp > BTRFS_COMPRESS_ZSTD)
		return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: inode %llu: unknown "
				"compression %u in extent at %llu",
				(unsigned long long)c->objectid, comp,
				(unsigned long long)fo);
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		uint32_t ilen = size - BTRFS_FILE_EXTENT_INLINE_OFF;
		const uint8_t *src = d + BTRFS_FILE_EXTENT_INLINE_OFF;
		len = comp ? ram : ilen;
		if (comp) {
			size_t got;
			if (ram == 0 || ram > BTRFS_MAX_EXTENT_RAM) {
				why = "ram_bytes out of range";
				goto bad;
			}
			tmp = malloc(ram);
			if (!tmp)
				return VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of "
						"memory");
			r = btrfs_unpack(c, fo, 0, comp, src, ilen, tmp, ram,
					 &got, err);
			if (!r)
				r = btrfs_unpacked_enough(c, fo, comp, got,
						vmie_min_u64(ram, c->end - fo),
						ram, err);
			if (r)
				goto out;
			src = tmp;
		}
		from = vmie_max_u64(fo, c->start);
		to = fo + len < fo ? c->end : vmie_min_u64(fo + len, c->end);
		if (from < to)
			memcpy(c->buf + (from - c->start), src + (from - fo),
			       to - from);
		goto out;
	}
	if (type != BTRFS_FILE_EXTENT_REG && type != BTRFS_FILE_EXTENT_PREALLOC) {
		why = "unknown type";
		goto bad;
	}
	if (size < BTRFS_FILE_EXTENT_REG_SIZE)
		goto bad;
	uint64_t dbytenr = vmie_le64(d + 21), dnum = vmie_le64(d + 29);
	uint64_t eoff = vmie_le64(d + 37);
	len = vmie_le64(d + 45);
	if (fo + len < fo) {
		why = "num_bytes wraps";
		goto bad;
	}
	from = vmie_max_u64(fo, c->start);
	to = vmie_min_u64(fo + len, c->end);
	if (from >= to || dbytenr == 0 || type == BTRFS_FILE_EXTENT_PREALLOC)
		goto out;    /* hole or preallocated: zeros (already there) */
	if (!comp) {
		uint64_t at;
		if (vmie_add_u64(dbytenr, eoff, &at) ||
		    vmie_add_u64(at, from - fo, &at)) {
			why = "disk address wraps";
			goto bad;
		}
		r = btrfs_read_logical(fs, c->buf + (from - c->start),
				       (size_t)(to - from), at, 0, err);
		if (r)
			vmie_err_prefix(err, "btrfs: inode %llu: extent at "
					"file offset %llu",
					(unsigned long long)c->objectid,
					(unsigned long long)fo);
		goto out;
	}
	if (dnum == 0 || dnum > BTRFS_MAX_EXTENT_RAM) {
		why = "disk_num_bytes out of range";
		goto bad;
	}
	if (ram == 0 || ram > BTRFS_MAX_EXTENT_RAM) {
		why = "ram_bytes out of range";
		goto bad;
	}
	if (eoff > ram || len > ram - eoff) {
		why = "offset + num_bytes past ram_bytes";
		goto bad;
	}
	if (fs->zc.buf && fs->zc.bytenr == dbytenr && fs->zc.dnum == dnum &&
	    fs->zc.ram == ram && fs->zc.comp == comp) {
		r = btrfs_unpacked_enough(c, fo, comp, fs->zc.got,
					  eoff + (to - fo), ram, err);
		if (!r)
			memcpy(c->buf + (from - c->start),
			       fs->zc.buf + eoff + (from - fo), to - from);
		goto out;
	}
	fs->zc.bytenr = 0;        /* invalid until decompressed */
	uint8_t *zbuf = realloc(fs->zc.buf, ram);
	if (zbuf)
		fs->zc.buf = zbuf;
	ztmp = malloc(dnum);
	if (!zbuf || !ztmp) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of memory");
		goto out;
	}
	r = btrfs_read_logical(fs, ztmp, (size_t)dnum, dbytenr, 0, err);
	if (r) {
		vmie_err_prefix(err, "btrfs: inode %llu: extent at file "
				"offset %llu", (unsigned long long)c->objectid,
				(unsigned long long)fo);
		goto out;
	}
	r = btrfs_unpack(c, fo, dbytenr, comp, ztmp, dnum, fs->zc.buf, ram,
			 &fs->zc.got, err);
	if (r)
		goto out;
	fs->zc.bytenr = dbytenr;
	fs->zc.dnum = dnum;
	fs->zc.ram = ram;
	fs->zc.comp = comp;
	r = btrfs_unpacked_enough(c, fo, comp, fs->zc.got, eoff + (to - fo),
				  ram, err);
	if (r)
		goto out;
	memcpy(c->buf + (from - c->start), fs->zc.buf + eoff + (from - fo),
	       to - from);
out:
	free(tmp);
	free(ztmp);
	return r;
bad:
	free(tmp);
	free(ztmp);
	return VMIE_CORRUPT(err, "btrfs: inode %llu: bad extent item at file "
			    "offset %llu: %s", (unsigned long long)c->objectid,
			    (unsigned long long)fo, why);
}

static int btrfs_read_range(struct btrfs_fs *fs, const struct btrfs_inode *ip,
			    uint8_t *buf, uint64_t start, uint64_t end,
			    struct vmie_err *err)
{
	struct btrfs_read_ctx c = { fs, ip->objectid, buf, start, end, 0 };
	struct btrfs_path p;
	struct btrfs_key k = { ip->objectid, BTRFS_EXTENT_DATA_KEY, start };
	struct btrfs_key found;
	int r;

	memset(buf, 0, end - start);
	r = btrfs_path_init(fs, &p, err);
	if (r)
		return r;
	/* the extent holding start begins at or before it: start from the
	 * last EXTENT_DATA key <= (ino, EXTENT_DATA, start) */
	r = btrfs_search_mode(&p, ip->root.bytenr, ip->root.level, &k, true,
			      err);
	k.offset = 0;
	if (r == 0) {
		btrfs_node_key(p.node[0], p.slot[0], &found);
		if (found.objectid == ip->objectid &&
		    found.type == BTRFS_EXTENT_DATA_KEY)
			k.offset = found.offset;
	}
	btrfs_path_free(&p);
	if (r < 0)
		return r;
	struct btrfs_key max = { ip->objectid, BTRFS_EXTENT_DATA_KEY,
				 UINT64_MAX };
	r = btrfs_iterate(fs, ip->root.bytenr, ip->root.level, &k, &max,
			  btrfs_extent_cb, &c, err);
	return r < 0 ? r : 0;
}

static int btrfs_read(struct vmie_fs *vfs, vmie_ino_t ino, void *buf,
		      size_t len, uint64_t off, size_t *got,
		      struct vmie_err *err)
{
	struct btrfs_fs *fs = vfs->priv;
	struct btrfs_inode ip;
	int r;

	*got = 0;
	r = btrfs_read_inode(fs, ino, &ip, err);
	if (r)
		return r;
	if (vmie_ftype_from_mode(ip.mode) == VMIE_FT_DIR)
		return VMIE_ERR(err, VMIE_EINVAL, "btrfs: inode %llu is a "
				"directory", (unsigned long long)ip.objectid);
	if (off >= ip.size || len == 0)
		return 0;
	len = (size_t)vmie_min_u64(len, ip.size - off);
	r = btrfs_read_range(fs, &ip, buf, off, off + len, err);
	if (!r)
		*got = len;
	return r;
}

static int btrfs_stat(struct vmie_fs *vfs, vmie_ino_t ino, struct vmie_stat *st,
		      struct vmie_err *err)
{
	struct btrfs_inode ip;
	int r = btrfs_read_inode(vfs->priv, ino, &ip, err);
	if (r)
		return r;
	memset(st, 0, sizeof *st);
	st->type = vmie_ftype_from_mode(ip.mode);
	st->size = ip.size;
	st->mode = ip.mode & 07777;
	st->uid = ip.uid;
	st->gid = ip.gid;
	st->mtime = ip.mtime;
	st->nlink = ip.nlink;
	st->ino = ino;
	return 0;
}

static int btrfs_readlink(struct vmie_fs *vfs, vmie_ino_t ino, char *buf,
			  size_t size, struct vmie_err *err)
{
	struct btrfs_fs *fs = vfs->priv;
	struct btrfs_inode ip;
	char target[4097];
	int r = btrfs_read_inode(fs, ino, &ip, err);
	if (r)
		return r;
	if (vmie_ftype_from_mode(ip.mode) != VMIE_FT_LNK)
		return VMIE_ERR(err, VMIE_EINVAL, "btrfs: inode %llu is not a "
				"symlink", (unsigned long long)ip.objectid);
	if (ip.size == 0 || ip.size >= sizeof target)
		return VMIE_CORRUPT(err, "btrfs: symlink %llu: bad length %llu",
				    (unsigned long long)ip.objectid,
				    (unsigned long long)ip.size);
	r = btrfs_read_range(fs, &ip, (uint8_t *)target, 0, ip.size, err);
	if (r)
		return r;
	target[ip.size] = 0;
	if (size)
		vmie_strlcpy(buf, target, size);
	return 0;
}

static void btrfs_free(struct btrfs_fs *fs)
{
	if (!fs)
		return;
	for (int i = 0; i < BTRFS_CACHE_NODES; i++)
		free(fs->cache[i].buf);
	free(fs->zc.buf);
	free(fs->chunks);
	free(fs);
}

static void btrfs_close(struct vmie_fs *vfs)
{
	btrfs_free(vfs->priv);
	vfs->priv = NULL;
}

/* The default subvolume: DIR_ITEM "default" in the root tree directory. */
static int btrfs_default_cb(void *vctx, const struct btrfs_key *k,
			    const uint8_t *d, uint32_t size,
			    struct vmie_err *err)
{
	uint64_t *id = vctx;
	if (size >= BTRFS_DIR_ITEM_HDR + 7 && vmie_le16(d + 27) == 7 &&
	    !memcmp(d + BTRFS_DIR_ITEM_HDR, "default", 7) &&
	    d[8] == BTRFS_ROOT_ITEM_KEY) {
		*id = vmie_le64(d);
		return 1;
	}
	return 0;
}

static int btrfs_open(struct vmie_fs *vfs, struct vmie_err *err)
{
	uint8_t sb[BTRFS_SUPER_SIZE];
	struct btrfs_fs *fs = NULL;
	struct btrfs_subvol sv;
	uint64_t incompat, ndev;
	int r;

	if (vfs->dev->size < BTRFS_SUPER_OFFSET + BTRFS_SUPER_SIZE)
		return VMIE_CORRUPT(err, "btrfs: device too small");
	r = vmie_image_pread(vfs->dev, sb, sizeof sb, BTRFS_SUPER_OFFSET, err);
	if (r)
		return r;
	if (memcmp(sb + 0x40, BTRFS_MAGIC, 8))
		return VMIE_ERR(err, VMIE_EFORMAT, "btrfs: no superblock magic");
	if (!btrfs_sb_csum_ok(sb))
		return VMIE_CORRUPT(err, "btrfs: superblock checksum mismatch");
	ndev = vmie_le64(sb + 0x88);
	if (ndev != 1)
		return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: the file system spans "
				"%llu devices: multi-device file systems are "
				"not supported", (unsigned long long)ndev);
	incompat = vmie_le64(sb + 0xbc);
	if (incompat & ~BTRFS_INCOMPAT_KNOWN)
		return VMIE_ERR(err, VMIE_EUNSUPP, "btrfs: unknown incompatible "
				"feature bits 0x%llx",
				(unsigned long long)(incompat &
						     ~BTRFS_INCOMPAT_KNOWN));
	fs = calloc(1, sizeof *fs);
	if (!fs)
		return VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of memory");
	fs->dev = vfs->dev;
	fs->sectorsize = vmie_le32(sb + 0x90);
	fs->nodesize = vmie_le32(sb + 0x94);
	fs->csum_type = vmie_le16(sb + 0xc4);
	fs->root_bytenr = vmie_le64(sb + 0x50);
	fs->chunk_bytenr = vmie_le64(sb + 0x58);
	fs->root_level = sb[0xc6];
	fs->chunk_level = sb[0xc7];
	fs->root_dirid = vmie_le64(sb + 0x80);
	fs->devid = vmie_le64(sb + 0xc9);
	if (!vmie_is_pow2(fs->sectorsize) || fs->sectorsize < 4096 ||
	    fs->sectorsize > 65536 || !vmie_is_pow2(fs->nodesize) ||
	    fs->nodesize < fs->sectorsize || fs->nodesize > 65536) {
		r = VMIE_CORRUPT(err, "btrfs: bad sector size %u or node size "
				 "%u", fs->sectorsize, fs->nodesize);
		goto out;
	}
	if (vmie_le64(sb + 0x70) > vfs->dev->size) {
		r = VMIE_CORRUPT(err, "btrfs: the file system needs %llu bytes "
				 "but the device holds %llu (truncated)",
				 (unsigned long long)vmie_le64(sb + 0x70),
				 (unsigned long long)vfs->dev->size);
		goto out;
	}
	/* a log tree (sb 0x60) holds fsync'ed data not yet in the trees:
	 * it is ignored, as a read-only mount with nologreplay does */
	r = btrfs_load_chunks(fs, sb, err);
	if (r)
		goto out;
	/* the default subvolume */
	fs->default_subvol = BTRFS_FS_TREE_OBJECTID;
	struct btrfs_key dk = { fs->root_dirid, BTRFS_DIR_ITEM_KEY,
				btrfs_name_hash("default", 7) };
	r = btrfs_iterate(fs, fs->root_bytenr, fs->root_level, &dk, &dk,
			  btrfs_default_cb, &fs->default_subvol, err);
	if (r < 0) {
		vmie_err_prefix(err, "root tree");
		goto out;
	}
	if (fs->default_subvol != BTRFS_FS_TREE_OBJECTID &&
	    (fs->default_subvol < BTRFS_FIRST_FREE_OBJECTID ||
	     fs->default_subvol >> (64 - BTRFS_INO_BITS))) {
		r = VMIE_CORRUPT(err, "btrfs: bad default subvolume %llu",
				 (unsigned long long)fs->default_subvol);
		goto out;
	}
	r = btrfs_subvol_root(fs, fs->default_subvol, &sv, err);
	if (r)
		goto out;
	vfs->root = fs->default_subvol << BTRFS_INO_BITS | sv.dirid;
	vfs->priv = fs;
	struct vmie_stat st;
	r = btrfs_stat(vfs, vfs->root, &st, err);
	if (!r && st.type != VMIE_FT_DIR)
		r = VMIE_CORRUPT(err, "btrfs: root directory is not a "
				 "directory");
	if (r) {
		vfs->priv = NULL;
		vmie_err_prefix(err, "root directory");
		goto out;
	}
	fs = NULL;
out:
	btrfs_free(fs);
	return r;
}

struct btrfs_subvols_ctx {
	unsigned count, max;
	char (*names)[256];
	uint64_t cur;             /* id of the last ROOT_ITEM counted */
};

static int btrfs_subvols_cb(void *vctx, const struct btrfs_key *k,
			    const uint8_t *d, uint32_t size,
			    struct vmie_err *err)
{
	struct btrfs_subvols_ctx *c = vctx;
	if (k->type == BTRFS_ROOT_ITEM_KEY && k->objectid != c->cur) {
		if (size < BTRFS_ROOT_ITEM_MIN)
			return VMIE_CORRUPT(err, "btrfs: root item %llu too "
					    "short",
					    (unsigned long long)k->objectid);
		if (vmie_le32(d + 216) == 0)
			return 0;     /* deleted, not yet cleaned */
		c->cur = k->objectid;
		if (c->count < c->max)
			c->names[c->count][0] = 0;
		c->count++;
	} else if (k->type == BTRFS_ROOT_BACKREF_KEY && k->objectid == c->cur &&
		   c->count - 1 < c->max && size >= 18) {
		unsigned n = vmie_le16(d + 16);
		if (n > size - 18 || n > 255)
			return VMIE_CORRUPT(err, "btrfs: bad root backref of "
					    "subvolume %llu",
					    (unsigned long long)k->objectid);
		memcpy(c->names[c->count - 1], d + 18, n);
		c->names[c->count - 1][n] = 0;
	}
	return 0;
}

int vmie_btrfs_subvolumes(struct vmie_fs *vfs, unsigned *count,
			  char names[][256], unsigned max)
{
	struct btrfs_subvols_ctx c = { 0, max, names, 0 };
	struct btrfs_key min = { BTRFS_FIRST_FREE_OBJECTID, 0, 0 };
	struct btrfs_key mx = { BTRFS_LAST_FREE_OBJECTID - 1, UINT8_MAX,
				UINT64_MAX };
	struct btrfs_fs *fs;
	int r;

	*count = 0;
	if (!vfs || vfs->drv != &vmie_fsdrv_btrfs || !vfs->priv)
		return VMIE_EINVAL;
	fs = vfs->priv;
	r = btrfs_iterate(fs, fs->root_bytenr, fs->root_level, &min, &mx,
			  btrfs_subvols_cb, &c, NULL);
	*count = c.count;
	return r < 0 ? r : 0;
}

/* ---- subvolumes as roots ---- */

#define BTRFS_MAX_DIR_DEPTH     64      /* INODE_REF steps to a subvol root */

struct btrfs_list_ctx {
	struct vmie_btrfs_subvol *v;
	unsigned n, cap;
	uint64_t default_id;
	char (*rel)[VMIE_BTRFS_PATH_MAX];  /* name in the parent, per entry */
	bool overflow;
};

static int btrfs_list_cb(void *vctx, const struct btrfs_key *k,
			 const uint8_t *d, uint32_t size, struct vmie_err *err)
{
	struct btrfs_list_ctx *c = vctx;
	struct vmie_btrfs_subvol *sv;

	if (k->type == BTRFS_ROOT_ITEM_KEY &&
	    (!c->n || c->v[c->n - 1].id != k->objectid)) {
		if (size < BTRFS_ROOT_ITEM_MIN)
			return VMIE_CORRUPT(err, "btrfs: root item %llu too "
					    "short (%u bytes)",
					    (unsigned long long)k->objectid,
					    size);
		if (vmie_le32(d + 216) == 0)
			return 0;     /* deleted, not yet cleaned */
		if (c->n == VMIE_BTRFS_MAX_SUBVOLS) {
			c->overflow = true;
			return 1;
		}
		if (c->n == c->cap) {
			unsigned nc = c->cap ? 2 * c->cap : 16;
			void *a = realloc(c->v, nc * sizeof *c->v);
			if (!a)
				return VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out "
						"of memory");
			c->v = a;
			a = realloc(c->rel, nc * sizeof *c->rel);
			if (!a)
				return VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out "
						"of memory");
			c->rel = a;
			c->cap = nc;
		}
		sv = &c->v[c->n];
		memset(sv, 0, sizeof *sv);
		c->rel[c->n][0] = 0;
		sv->id = k->objectid;
		sv->readonly = vmie_le64(d + BTRFS_ROOT_ITEM_FLAGS_OFF) &
			       BTRFS_ROOT_SUBVOL_RDONLY;
		sv->snapshot = size >= BTRFS_ROOT_ITEM_PUUID_OFF + 16 &&
			       !vmie_is_zero(d + BTRFS_ROOT_ITEM_PUUID_OFF, 16);
		sv->is_default = sv->id == c->default_id;
		c->n++;
		return 0;
	}
	if (k->type != BTRFS_ROOT_BACKREF_KEY || !c->n ||
	    c->v[c->n - 1].id != k->objectid || c->v[c->n - 1].parent)
		return 0;
	if (size < BTRFS_ROOT_REF_HDR)
		goto bad;
	unsigned nl = vmie_le16(d + 16);
	if (nl == 0 || nl > 255 || nl > size - BTRFS_ROOT_REF_HDR ||
	    memchr(d + BTRFS_ROOT_REF_HDR, '/', nl) ||
	    memchr(d + BTRFS_ROOT_REF_HDR, 0, nl))
		goto bad;
	sv = &c->v[c->n - 1];
	sv->parent = k->offset;
	sv->dirid = vmie_le64(d);
	memcpy(c->rel[c->n - 1], d + BTRFS_ROOT_REF_HDR, nl);
	c->rel[c->n - 1][nl] = 0;
	return 0;
bad:
	return VMIE_CORRUPT(err, "btrfs: bad root backref of subvolume %llu "
			    "(%u bytes)", (unsigned long long)k->objectid,
			    size);
}

/* Path of directory dir inside subvolume svid, relative to its root
 * directory ("" for the root itself, else "a/b/"), from the INODE_REFs.
 * 1 when it cannot be told (missing refs, too deep, too long). */
static int btrfs_dir_path(struct btrfs_fs *fs, uint64_t svid, uint64_t dir,
			  char *out, size_t size, struct vmie_err *err)
{
	struct btrfs_subvol sv;
	struct btrfs_path p;
	size_t len = 0;
	int r;

	out[0] = 0;
	r = btrfs_subvol_root(fs, svid, &sv, err);
	if (r)
		return r == VMIE_ENOENT ? 1 : r;
	r = btrfs_path_init(fs, &p, err);
	if (r)
		return r;
	for (unsigned depth = 0; dir != sv.dirid; depth++) {
		struct btrfs_key k = { dir, BTRFS_INODE_REF_KEY, 0 }, found;
		const uint8_t *d;
		uint32_t isz;
		if (depth == BTRFS_MAX_DIR_DEPTH) {
			r = 1;
			break;
		}
		r = btrfs_search(&p, sv.bytenr, sv.level, &k, err);
		if (!r)
			r = btrfs_settle(&p, err);
		if (!r)
			r = btrfs_item(&p, &found, &d, &isz, err);
		if (r)
			break;
		if (found.objectid != dir || found.type != BTRFS_INODE_REF_KEY ||
		    found.offset == dir || isz < BTRFS_INODE_REF_HDR) {
			r = 1;
			break;
		}
		unsigned nl = vmie_le16(d + 8);
		if (nl == 0 || nl > isz - BTRFS_INODE_REF_HDR ||
		    len + nl + 1 >= size ||
		    memchr(d + BTRFS_INODE_REF_HDR, 0, nl) ||
		    memchr(d + BTRFS_INODE_REF_HDR, '/', nl)) {
			r = 1;
			break;
		}
		/* prepend "name/" */
		memmove(out + nl + 1, out, len + 1);
		memcpy(out, d + BTRFS_INODE_REF_HDR, nl);
		out[nl] = '/';
		len += nl + 1;
		dir = found.offset;
	}
	btrfs_path_free(&p);
	if (r)
		out[0] = 0;
	return r;
}

static struct vmie_btrfs_subvol *btrfs_list_find(struct vmie_btrfs_subvol *v,
						 unsigned n, uint64_t id)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (v[mid].id == id)
			return &v[mid];
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Fill v[i].path, its parents' first (state: 0 to do, 1 in progress,
 * 2 done); a loop of parents or a chain deeper than depth leaves "". */
static int btrfs_list_path(struct btrfs_fs *fs, struct btrfs_list_ctx *c,
			   unsigned i, uint8_t *state, unsigned depth,
			   struct vmie_err *err)
{
	struct vmie_btrfs_subvol *sv = &c->v[i];
	char dir[VMIE_BTRFS_PATH_MAX];
	const char *ppath = "";
	int r;

	if (state[i])
		return 0;
	state[i] = 1;
	if (!sv->parent || !c->rel[i][0] || depth > 64)
		goto done;
	if (sv->parent != BTRFS_FS_TREE_OBJECTID) {
		struct vmie_btrfs_subvol *pv = btrfs_list_find(c->v, c->n,
							       sv->parent);
		if (!pv)
			goto done;
		r = btrfs_list_path(fs, c, (unsigned)(pv - c->v), state,
				    depth + 1, err);
		if (r)
			return r;
		if (!pv->path[0])
			goto done;
		ppath = pv->path;
	}
	r = btrfs_dir_path(fs, sv->parent, sv->dirid, dir, sizeof dir, err);
	if (r < 0)
		return r;
	size_t pl = strlen(ppath), dl = strlen(dir), nl = strlen(c->rel[i]);
	if (r == 0 && pl + 1 + dl + nl < sizeof sv->path) {
		char *o = sv->path;
		memcpy(o, ppath, pl);
		o += pl;
		if (pl)
			*o++ = '/';
		memcpy(o, dir, dl);
		memcpy(o + dl, c->rel[i], nl + 1);
	}
done:
	state[i] = 2;
	return 0;
}

static bool btrfs_is_vfs(const struct vmie_fs *vfs)
{
	return vfs && vfs->drv == &vmie_fsdrv_btrfs && vfs->priv;
}

int vmie_btrfs_list_subvols(struct vmie_fs *vfs, struct vmie_btrfs_subvol **out,
			    unsigned *n, struct vmie_err *err)
{
	struct btrfs_key min = { BTRFS_FIRST_FREE_OBJECTID, 0, 0 };
	struct btrfs_key mx = { BTRFS_LAST_FREE_OBJECTID - 1, UINT8_MAX,
				UINT64_MAX };
	struct btrfs_list_ctx c = { 0 };
	uint8_t *state = NULL;
	struct btrfs_fs *fs;
	int r;

	*out = NULL;
	*n = 0;
	if (!btrfs_is_vfs(vfs))
		return VMIE_ERR(err, VMIE_EINVAL, "btrfs: not a Btrfs file "
				"system");
	fs = vfs->priv;
	c.default_id = fs->default_subvol;
	r = btrfs_iterate(fs, fs->root_bytenr, fs->root_level, &min, &mx,
			  btrfs_list_cb, &c, err);
	if (r < 0)
		goto out;
	if (c.overflow) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "btrfs: more than %d subvolumes",
			     VMIE_BTRFS_MAX_SUBVOLS);
		goto out;
	}
	r = 0;
	if (!c.n)
		goto out;
	state = calloc(c.n, 1);
	if (!state) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "btrfs: out of memory");
		goto out;
	}
	for (unsigned i = 0; i < c.n && !r; i++)
		r = btrfs_list_path(fs, &c, i, state, 0, err);
out:
	free(state);
	free(c.rel);
	if (r) {
		free(c.v);
		return r;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

int vmie_btrfs_default_subvol(struct vmie_fs *vfs, uint64_t *id)
{
	if (!btrfs_is_vfs(vfs))
		return VMIE_EINVAL;
	*id = ((struct btrfs_fs *)vfs->priv)->default_subvol;
	return 0;
}

uint64_t vmie_btrfs_root_subvol(const struct vmie_fs *vfs)
{
	return btrfs_is_vfs(vfs) ? vfs->root >> BTRFS_INO_BITS : 0;
}

int vmie_btrfs_set_root(struct vmie_fs *vfs, uint64_t id, struct vmie_err *err)
{
	struct btrfs_subvol sv;
	struct btrfs_inode ip;
	struct btrfs_fs *fs;
	int r;

	if (!btrfs_is_vfs(vfs))
		return VMIE_ERR(err, VMIE_EINVAL, "btrfs: not a Btrfs file "
				"system");
	fs = vfs->priv;
	if (id == 0)
		id = fs->default_subvol;
	if (id != BTRFS_FS_TREE_OBJECTID &&
	    (id < BTRFS_FIRST_FREE_OBJECTID ||
	     id >> (64 - BTRFS_INO_BITS)))
		return VMIE_ERR(err, VMIE_ENOENT, "btrfs: no subvolume %llu",
				(unsigned long long)id);
	r = btrfs_subvol_root(fs, id, &sv, err);
	if (r)
		return r;
	vmie_ino_t root = id << BTRFS_INO_BITS | sv.dirid;
	r = btrfs_read_inode(fs, root, &ip, err);
	if (r)
		return r;
	if (vmie_ftype_from_mode(ip.mode) != VMIE_FT_DIR)
		return VMIE_CORRUPT(err, "btrfs: the root of subvolume %llu is "
				    "not a directory", (unsigned long long)id);
	vfs->root = root;
	return 0;
}

int vmie_btrfs_subvol_by_path(struct vmie_fs *vfs, const char *path,
			      uint64_t *id, struct vmie_err *err)
{
	char want[VMIE_BTRFS_PATH_MAX];
	struct vmie_btrfs_subvol *v = NULL;
	size_t w = 0;
	unsigned n = 0;
	int r;

	/* normalise: no leading, trailing or repeated '/' */
	for (const char *p = path; *p; p++) {
		if (*p == '/' && (w == 0 || want[w - 1] == '/'))
			continue;
		if (w + 1 >= sizeof want)
			return VMIE_ERR(err, VMIE_ENOENT, "btrfs: subvolume "
					"path too long");
		want[w++] = *p;
	}
	if (w && want[w - 1] == '/')
		w--;
	want[w] = 0;
	if (!w) {
		*id = BTRFS_FS_TREE_OBJECTID;
		return 0;
	}
	r = vmie_btrfs_list_subvols(vfs, &v, &n, err);
	if (r)
		return r;
	r = VMIE_ENOENT;
	for (unsigned i = 0; i < n && r; i++)
		if (!strcmp(v[i].path, want)) {
			*id = v[i].id;
			r = 0;
		}
	free(v);
	if (r)
		return VMIE_ERR(err, VMIE_ENOENT, "btrfs: no subvolume '%s'",
				want);
	return 0;
}

const struct vmie_fs_driver vmie_fsdrv_btrfs = {
	.name = "btrfs",
	.probe = btrfs_probe,
	.open = btrfs_open,
	.lookup = btrfs_lookup,
	.stat = btrfs_stat,
	.read = btrfs_read,
	.readdir = btrfs_readdir,
	.readlink = btrfs_readlink,
	.close = btrfs_close,
};
