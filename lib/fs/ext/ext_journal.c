/*
 * Read-only replay of the ext3/ext4 jbd2 journal (layout: jbd2_disk.h,
 * after the kernel's Documentation/filesystems/ext4/journal.rst).
 *
 * libext2fs reads the journal superblock but has no replay API, and vmie
 * never writes to its source, so replay here builds an overlay instead of
 * writing: for every file system block that a committed transaction logs,
 * the image block inside the journal that holds its newest copy.  The
 * io_manager in ext.c then serves those blocks from the journal.  The
 * result is what the kernel's recovery (or e2fsck) would write:
 *
 *  - the log starts at s_start with tid s_sequence and wraps from the end
 *    of the log area back to s_first; it ends at the first block without
 *    the magic or with another tid, at an unknown block type, or at a
 *    transaction whose descriptor, revoke or commit block fails its
 *    checksum (CSUM_V2/V3, or the v1 COMPAT_CHECKSUM crc32 in the commit);
 *    only transactions with a commit block count;
 *  - a block copy whose tag checksum fails is skipped (the previous copy,
 *    or the disk, stays), as the kernel does;
 *  - a block revoked by transaction R is not replayed from any transaction
 *    up to R (tids compare modulo 2^32); so only the newest copy of each
 *    block matters, and it is dropped when a revoke is at least as new;
 *  - an ESCAPE tag gets the magic back in its first four bytes.
 *
 * Everything read from the journal is checked before use: journal size
 * against the journal inode and a limit, s_first/s_start inside the log,
 * tags inside the descriptor, target blocks inside the file system, revoke
 * counts inside the block; the scan reads at most one pass over the log, so
 * a cycle of tids cannot loop.  Damage never fails the open: nothing (or
 * only the good transactions before it) is replayed, and the reason is kept
 * in vmie_ext_journal.problem.
 *
 * Not replayed: ext4 fast commits (said in problem) and external journals.
 */
#include "fs/ext/ext_journal.h"
#include "fs/ext/jbd2_disk.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* mke2fs makes journals of at most 10,240,000 blocks; more is absurd. */
#define EXTJ_MAX_JOURNAL_BLOCKS  16777216u
/* Distinct blocks and revoke records tracked during a scan, and in one
 * transaction: bounds memory (about 100 MiB at worst) whatever the journal
 * holds; a 1 GiB journal of 4 KiB blocks logs at most 262144 blocks. */
#define EXTJ_MAX_ENTRIES         (1u << 20)

#define EXTJ_F_USED    0x01
#define EXTJ_F_WRITE   0x02
#define EXTJ_F_REVOKE  0x04
#define EXTJ_F_ESCAPE  0x08
#define EXTJ_F_BAD     0x10     /* pending copy: tag checksum failed */

#define EXTJ_ESCAPE_BIT ((uint64_t)1 << 63)

/* Scan-time table entry, keyed by file system block. */
struct extj_ent {
	uint64_t target;
	uint64_t phys;          /* image block of the newest copy */
	uint32_t wseq, rseq;    /* tid of that copy, newest revoke */
	uint32_t flags;
};

struct extj_map {
	struct extj_ent *v;
	size_t cap, n;
};

/* A block copy or revoke record of the transaction being read. */
struct extj_pend {
	uint64_t target, phys;
	uint32_t flags;         /* EXTJ_F_REVOKE, _ESCAPE, _BAD */
};

struct extj_ovent {
	uint64_t target;
	uint64_t phys;          /* | EXTJ_ESCAPE_BIT */
};

struct extj_overlay {
	uint32_t bs;
	size_t n;
	struct extj_ovent *v;   /* sorted by target */
};

struct extj_scan {
	ext2_filsys efs;
	struct vmie_image *img;
	struct vmie_ext_journal *info;
	const char *name;
	uint32_t bs;
	uint64_t fs_blocks;
	ext2_ino_t inum;
	struct ext2_inode_large ino;
	ext2_extent_handle_t eh;
	uint64_t c_lblk, c_pblk, c_len;         /* cached extent */
	uint32_t first, last;                   /* log area [first, last) */
	uint32_t seed;
	unsigned tag_bytes;
	bool csum, v3, b64, v1csum;
	uint8_t *buf, *dbuf;
	struct extj_map map;
	struct extj_pend *pend;
	size_t npend, cappend;
};

/* ---- checksums ---- */

/* The kernel's crc32c(seed, ...): a raw update without final inversion. */
static uint32_t extj_crc32c(uint32_t seed, const void *p, size_t n)
{
	return ~vmie_crc32c(~seed, p, n);
}

/* The kernel's crc32_be (MSB first, poly 0x04C11DB7, no inversion), used
 * only by the old COMPAT_CHECKSUM commit checksum. */
static uint32_t extj_crc32_be(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= (uint32_t)*p++ << 24;
		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? (crc << 1) ^ 0x04C11DB7u :
						  crc << 1;
	}
	return crc;
}

/* Checksum of a block with the 4 bytes at off counted as zero. */
static uint32_t extj_block_csum(const struct extj_scan *s, uint8_t *b,
				uint32_t off)
{
	uint8_t save[4];
	memcpy(save, b + off, 4);
	memset(b + off, 0, 4);
	uint32_t c = extj_crc32c(s->seed, b, s->bs);
	memcpy(b + off, save, 4);
	return c;
}

static bool extj_tail_ok(const struct extj_scan *s, uint8_t *b)
{
	uint32_t off = s->bs - JBD2_TAIL_SIZE;
	return extj_block_csum(s, b, off) == vmie_be32(b + off);
}

/* tids compare modulo 2^32, as the kernel's tid_gt(). */
static bool extj_tid_gt(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) > 0;
}

/* ---- the table of blocks ---- */

static uint64_t extj_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int extj_map_grow(struct extj_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct extj_ent *v = calloc(cap, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!(m->v[i].flags & EXTJ_F_USED))
			continue;
		size_t h = (size_t)extj_hash(m->v[i].target) & (cap - 1);
		while (v[h].flags & EXTJ_F_USED)
			h = (h + 1) & (cap - 1);
		v[h] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
	return 0;
}

/* The entry of block target, created empty if absent; NULL when out of
 * memory (the caller keeps the count under EXTJ_MAX_ENTRIES). */
static struct extj_ent *extj_map_get(struct extj_map *m, uint64_t target)
{
	if ((m->n + 1) * 2 > m->cap && extj_map_grow(m))
		return NULL;
	size_t h = (size_t)extj_hash(target) & (m->cap - 1);
	while (m->v[h].flags & EXTJ_F_USED) {
		if (m->v[h].target == target)
			return &m->v[h];
		h = (h + 1) & (m->cap - 1);
	}
	m->v[h].flags = EXTJ_F_USED;
	m->v[h].target = target;
	m->n++;
	return &m->v[h];
}

/* ---- reading the journal ---- */

/* Image block of journal block lblk, through the journal inode's map
 * (extents or block map), with the last extent cached. */
static int extj_bmap(struct extj_scan *s, uint32_t lblk, uint64_t *pblk)
{
	if (s->c_len && lblk >= s->c_lblk && lblk - s->c_lblk < s->c_len) {
		*pblk = s->c_pblk + (lblk - s->c_lblk);
	} else if (s->ino.i_flags & EXT4_EXTENTS_FL) {
		struct ext2fs_extent ex;
		if (!s->eh && ext2fs_extent_open2(s->efs, s->inum,
						  (struct ext2_inode *)&s->ino,
						  &s->eh))
			return -1;
		if (ext2fs_extent_goto(s->eh, lblk) ||
		    ext2fs_extent_get(s->eh, EXT2_EXTENT_CURRENT, &ex) ||
		    (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ||
		    lblk < ex.e_lblk || lblk - ex.e_lblk >= ex.e_len)
			return -1;
		s->c_lblk = ex.e_lblk;
		s->c_pblk = ex.e_pblk;
		s->c_len = ex.e_len;
		*pblk = ex.e_pblk + (lblk - ex.e_lblk);
	} else {
		blk64_t p = 0;
		if (ext2fs_bmap2(s->efs, s->inum, (struct ext2_inode *)&s->ino,
				 NULL, 0, lblk, NULL, &p))
			return -1;
		*pblk = p;
	}
	return *pblk && *pblk < s->fs_blocks ? 0 : -1;
}

/* Read journal block lblk into b (when b) and give its image block. */
static int extj_read(struct extj_scan *s, uint32_t lblk, uint8_t *b,
		     uint64_t *phys)
{
	uint64_t p = 0;
	if (extj_bmap(s, lblk, &p)) {
		VMIE_CORRUPT(&s->info->problem, "ext journal: %s: journal "
			     "block %u is not mapped to a block of the file "
			     "system", s->name, lblk);
		return -1;
	}
	if (b && vmie_image_pread(s->img, b, s->bs, p * s->bs, NULL)) {
		VMIE_ERR(&s->info->problem, VMIE_EIO, "ext journal: %s: "
			 "cannot read journal block %u (block %llu)", s->name,
			 lblk, (unsigned long long)p);
		return -1;
	}
	if (phys)
		*phys = p;
	return 0;
}

static uint32_t extj_next(const struct extj_scan *s, uint32_t pos)
{
	pos++;
	return pos >= s->last ? s->first : pos;
}

enum { EXTJ_GO = 0, EXTJ_END = 1, EXTJ_NOMEM = -1 };

/* Record a copy or revoke of the transaction being read: EXTJ_GO,
 * EXTJ_NOMEM, or EXTJ_END (with the problem set) past the entry limit. */
static int extj_push(struct extj_scan *s, uint32_t tid, uint64_t target,
		     uint64_t phys, uint32_t flags)
{
	if (s->npend >= EXTJ_MAX_ENTRIES) {
		VMIE_ERR(&s->info->problem, VMIE_ENOMEM, "ext journal: %s: "
			 "transaction %u: more than %u blocks and revoke "
			 "records: it and later transactions are not replayed",
			 s->name, tid, EXTJ_MAX_ENTRIES);
		return EXTJ_END;
	}
	if (s->npend == s->cappend) {
		size_t cap = s->cappend ? s->cappend * 2 : 256;
		struct extj_pend *v = realloc(s->pend, cap * sizeof *v);
		if (!v)
			return EXTJ_NOMEM;
		s->pend = v;
		s->cappend = cap;
	}
	s->pend[s->npend++] = (struct extj_pend){ target, phys, flags };
	return EXTJ_GO;
}

/* ---- superblock ---- */

static int extj_superblock(struct extj_scan *s, uint32_t *start,
			   uint32_t *tid)
{
	struct vmie_err *pr = &s->info->problem;
	ext2_filsys efs = s->efs;
	uint8_t *b = s->buf;
	uint64_t jblocks;

	s->inum = efs->super->s_journal_inum;
	if (s->inum > efs->super->s_inodes_count)
		return VMIE_CORRUPT(pr, "ext journal: %s: superblock "
				    "s_journal_inum %u out of range (%u "
				    "inodes)", s->name, s->inum,
				    efs->super->s_inodes_count);
	if (ext2fs_read_inode_full(efs, s->inum, (struct ext2_inode *)&s->ino,
				   sizeof s->ino))
		return VMIE_CORRUPT(pr, "ext journal: %s: cannot read journal "
				    "inode %u", s->name, s->inum);
	if (!s->ino.i_links_count || !LINUX_S_ISREG(s->ino.i_mode))
		return VMIE_CORRUPT(pr, "ext journal: %s: journal inode %u is "
				    "not a regular file in use", s->name,
				    s->inum);
	jblocks = EXT2_I_SIZE(&s->ino) / s->bs;
	if (jblocks < 2 || jblocks > s->fs_blocks ||
	    jblocks > EXTJ_MAX_JOURNAL_BLOCKS)
		return VMIE_CORRUPT(pr, "ext journal: %s: journal inode %u "
				    "holds %llu blocks (limit %u, file system "
				    "%llu)", s->name, s->inum,
				    (unsigned long long)jblocks,
				    EXTJ_MAX_JOURNAL_BLOCKS,
				    (unsigned long long)s->fs_blocks);
	if (extj_read(s, 0, b, NULL))
		return pr->code;

	uint32_t magic = vmie_be32(b + JBD2_H_MAGIC);
	uint32_t type = vmie_be32(b + JBD2_H_BLOCKTYPE);
	if (magic != JBD2_MAGIC ||
	    (type != JBD2_SUPERBLOCK_V1 && type != JBD2_SUPERBLOCK_V2))
		return VMIE_CORRUPT(pr, "ext journal: %s: bad journal "
				    "superblock (magic 0x%08x, type %u)",
				    s->name, magic, type);
	if (vmie_be32(b + JBD2_SB_BLOCKSIZE) != s->bs)
		return VMIE_CORRUPT(pr, "ext journal: %s: journal block size "
				    "%u differs from the file system's %u",
				    s->name, vmie_be32(b + JBD2_SB_BLOCKSIZE),
				    s->bs);
	uint32_t maxlen = vmie_be32(b + JBD2_SB_MAXLEN);
	uint32_t first = vmie_be32(b + JBD2_SB_FIRST);
	if (maxlen > jblocks || maxlen < 2)
		return VMIE_CORRUPT(pr, "ext journal: %s: journal s_maxlen "
				    "%u but the journal inode holds %llu "
				    "blocks", s->name, maxlen,
				    (unsigned long long)jblocks);
	if (!first || first >= maxlen)
		return VMIE_CORRUPT(pr, "ext journal: %s: journal s_first %u "
				    "outside the journal (%u blocks)", s->name,
				    first, maxlen);

	uint32_t compat = 0, incompat = 0;
	if (type == JBD2_SUPERBLOCK_V2) {
		compat = vmie_be32(b + JBD2_SB_COMPAT);
		incompat = vmie_be32(b + JBD2_SB_INCOMPAT);
	}
	if (incompat & ~JBD2_KNOWN_INCOMPAT)
		return VMIE_ERR(pr, VMIE_EUNSUPP, "ext journal: %s: unknown "
				"journal incompatible features 0x%x", s->name,
				incompat & ~JBD2_KNOWN_INCOMPAT);
	s->v3 = incompat & JBD2_INCOMPAT_CSUM_V3;
	s->csum = s->v3 || (incompat & JBD2_INCOMPAT_CSUM_V2);
	s->b64 = incompat & JBD2_INCOMPAT_64BIT;
	s->v1csum = !s->csum && (compat & JBD2_COMPAT_CHECKSUM);
	if (s->v3 && (incompat & JBD2_INCOMPAT_CSUM_V2))
		return VMIE_CORRUPT(pr, "ext journal: %s: journal has both "
				    "checksum v2 and v3", s->name);
	if (s->csum) {
		if (b[JBD2_SB_CSUM_TYPE] != JBD2_CSUM_TYPE_CRC32C)
			return VMIE_ERR(pr, VMIE_EUNSUPP, "ext journal: %s: "
					"journal checksum type %u", s->name,
					b[JBD2_SB_CSUM_TYPE]);
		uint8_t save[4];
		memcpy(save, b + JBD2_SB_CHECKSUM, 4);
		memset(b + JBD2_SB_CHECKSUM, 0, 4);
		uint32_t c = extj_crc32c(~0u, b, JBD2_SB_SIZE);
		memcpy(b + JBD2_SB_CHECKSUM, save, 4);
		if (c != vmie_be32(save))
			return VMIE_CORRUPT(pr, "ext journal: %s: journal "
					    "superblock checksum mismatch "
					    "(stored 0x%08x, computed 0x%08x)",
					    s->name, vmie_be32(save), c);
		s->seed = extj_crc32c(~0u, b + JBD2_SB_UUID, 16);
	}
	if (s->v3) {
		s->tag_bytes = JBD2_TAG3_SIZE;
	} else {
		s->tag_bytes = 12 + (s->csum ? 2 : 0) - (s->b64 ? 0 : 4);
	}
	s->first = first;
	s->last = maxlen;
	if (incompat & JBD2_INCOMPAT_FAST_COMMIT) {
		uint32_t fc = vmie_be32(b + JBD2_SB_NUM_FC_BLKS);
		if (!fc)
			fc = JBD2_DEFAULT_FC_BLOCKS;
		if (fc >= maxlen - first)
			return VMIE_CORRUPT(pr, "ext journal: %s: %u fast "
					    "commit blocks leave no log in a "
					    "journal of %u blocks", s->name,
					    fc, maxlen);
		s->last = maxlen - fc;
		VMIE_ERR(pr, VMIE_EUNSUPP, "ext journal: %s: ext4 fast "
			 "commits are not replayed (only full commits)",
			 s->name);
	}
	*tid = vmie_be32(b + JBD2_SB_SEQUENCE);
	*start = vmie_be32(b + JBD2_SB_START);
	if (*start && (*start < s->first || *start >= s->last))
		return VMIE_CORRUPT(pr, "ext journal: %s: journal s_start %u "
				    "outside the log (blocks %u to %u)",
				    s->name, *start, s->first, s->last - 1);
	return 0;
}

/* ---- one pass over the log ---- */

/* A descriptor block and the copies it describes. */
static int extj_descriptor(struct extj_scan *s, uint32_t tid, uint32_t at,
			   uint32_t *pos, uint64_t *used, uint64_t budget,
			   uint32_t *crc)
{
	struct vmie_err *pr = &s->info->problem;
	uint8_t *b = s->buf;
	size_t end = s->bs - (s->csum ? JBD2_TAIL_SIZE : 0);

	if (s->csum && !extj_tail_ok(s, b)) {
		VMIE_CORRUPT(pr, "ext journal: %s: transaction %u: descriptor "
			     "at journal block %u fails its checksum: it and "
			     "later transactions are not replayed", s->name,
			     tid, at);
		return EXTJ_END;
	}
	if (s->v1csum)
		*crc = extj_crc32_be(*crc, b, s->bs);
	for (size_t off = JBD2_HEADER_SIZE; off + s->tag_bytes <= end;) {
		const uint8_t *t = b + off;
		uint16_t flags = vmie_be16(t + JBD2_TAG_FLAGS16);
		uint64_t target = vmie_be32(t + JBD2_TAG_BLOCKNR);
		uint64_t phys = 0;
		uint32_t pf = 0;
		if (s->b64)
			target |= (uint64_t)vmie_be32(t + JBD2_TAG_BLOCKNR_HIGH)
				  << 32;
		if ((*used)++ >= budget) {
			VMIE_CORRUPT(pr, "ext journal: %s: transaction %u "
				     "runs past the whole log", s->name, tid);
			return EXTJ_END;
		}
		uint32_t data_at = *pos;
		*pos = extj_next(s, *pos);
		if (target >= s->fs_blocks) {
			VMIE_CORRUPT(pr, "ext journal: %s: transaction %u: "
				     "descriptor at journal block %u logs "
				     "block %llu, past the end of the file "
				     "system (%llu blocks): it and later "
				     "transactions are not replayed", s->name,
				     tid, at, (unsigned long long)target,
				     (unsigned long long)s->fs_blocks);
			return EXTJ_END;
		}
		bool need = s->csum || s->v1csum;
		if (extj_read(s, data_at, need ? s->dbuf : NULL, &phys))
			return EXTJ_END;
		if (s->csum) {
			uint8_t seq[4];
			vmie_put_be32(seq, tid);
			uint32_t c = extj_crc32c(s->seed, seq, 4);
			c = extj_crc32c(c, s->dbuf, s->bs);
			bool ok = s->v3 ? vmie_be32(t + JBD2_TAG3_CSUM32) == c :
				  vmie_be16(t + JBD2_TAG_CSUM16) ==
					  (uint16_t)c;
			if (!ok)
				pf |= EXTJ_F_BAD;
		}
		if (s->v1csum)
			*crc = extj_crc32_be(*crc, s->dbuf, s->bs);
		if (flags & JBD2_FLAG_ESCAPE)
			pf |= EXTJ_F_ESCAPE;
		int r = extj_push(s, tid, target, phys, pf);
		if (r)
			return r;
		off += s->tag_bytes;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += JBD2_TAG_UUID_SIZE;
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return EXTJ_GO;
}

static int extj_revoke(struct extj_scan *s, uint32_t tid, uint32_t at)
{
	struct vmie_err *pr = &s->info->problem;
	uint8_t *b = s->buf;
	uint32_t rcount = vmie_be32(b + JBD2_REVOKE_COUNT);
	unsigned rec = s->b64 ? 8 : 4;

	if (s->csum && !extj_tail_ok(s, b)) {
		VMIE_CORRUPT(pr, "ext journal: %s: transaction %u: revoke "
			     "block at journal block %u fails its checksum: it "
			     "and later transactions are not replayed",
			     s->name, tid, at);
		return EXTJ_END;
	}
	if (rcount > s->bs - (s->csum ? JBD2_TAIL_SIZE : 0)) {
		VMIE_CORRUPT(pr, "ext journal: %s: transaction %u: revoke "
			     "block at journal block %u counts %u bytes in a "
			     "block of %u", s->name, tid, at, rcount, s->bs);
		return EXTJ_END;
	}
	for (uint32_t off = JBD2_REVOKE_HEADER_SIZE; off + rec <= rcount;
	     off += rec) {
		uint64_t blk = s->b64 ? vmie_be64(b + off) : vmie_be32(b + off);
		/* a revoke of a block outside the fs changes nothing */
		int r = blk < s->fs_blocks ?
			extj_push(s, tid, blk, 0, EXTJ_F_REVOKE) : EXTJ_GO;
		if (r)
			return r;
	}
	return EXTJ_GO;
}

/* A commit block: check it and fold the pending transaction in. */
static int extj_commit(struct extj_scan *s, uint32_t tid, uint32_t at,
		       uint32_t *crc)
{
	struct vmie_err *pr = &s->info->problem;
	struct vmie_ext_journal *info = s->info;
	uint8_t *b = s->buf;

	if (s->csum) {
		uint32_t c = extj_block_csum(s, b, JBD2_COMMIT_CSUM);
		if (c != vmie_be32(b + JBD2_COMMIT_CSUM)) {
			VMIE_CORRUPT(pr, "ext journal: %s: transaction %u: "
				     "commit block at journal block %u fails "
				     "its checksum (stored 0x%08x, computed "
				     "0x%08x): it and later transactions are "
				     "not replayed", s->name, tid, at,
				     vmie_be32(b + JBD2_COMMIT_CSUM), c);
			return EXTJ_END;
		}
	} else if (s->v1csum) {
		uint8_t type = b[JBD2_COMMIT_CSUM_TYPE];
		uint8_t size = b[JBD2_COMMIT_CSUM_SIZE];
		uint32_t found = vmie_be32(b + JBD2_COMMIT_CSUM);
		if (!((found == *crc && type == JBD2_CSUM_TYPE_CRC32 &&
		       size == 4) || (!type && !size && !found))) {
			VMIE_CORRUPT(pr, "ext journal: %s: transaction %u: "
				     "commit block at journal block %u: crc32 "
				     "of the transaction does not match: it "
				     "and later transactions are not "
				     "replayed", s->name, tid, at);
			return EXTJ_END;
		}
		*crc = ~0u;
	}
	if (s->map.n + s->npend > EXTJ_MAX_ENTRIES) {
		VMIE_ERR(pr, VMIE_ENOMEM, "ext journal: %s: transaction %u: "
			 "more than %u blocks in the log: it and later "
			 "transactions are not replayed", s->name, tid,
			 EXTJ_MAX_ENTRIES);
		return EXTJ_END;
	}
	for (size_t i = 0; i < s->npend; i++) {
		const struct extj_pend *p = &s->pend[i];
		struct extj_ent *e = extj_map_get(&s->map, p->target);
		if (!e)
			return EXTJ_NOMEM;
		if (p->flags & EXTJ_F_REVOKE) {
			if (!(e->flags & EXTJ_F_REVOKE) ||
			    extj_tid_gt(tid, e->rseq))
				e->rseq = tid;
			e->flags |= EXTJ_F_REVOKE;
			continue;
		}
		info->logged++;
		if (p->flags & EXTJ_F_BAD) {
			info->bad_blocks++;
			continue;
		}
		e->phys = p->phys;
		e->wseq = tid;
		e->flags = (e->flags & ~EXTJ_F_ESCAPE) | EXTJ_F_WRITE |
			   (p->flags & EXTJ_F_ESCAPE);
	}
	s->npend = 0;
	if (!info->transactions)
		info->first_tid = tid;
	info->last_tid = tid;
	info->transactions++;
	return EXTJ_GO;
}

static int extj_scan_log(struct extj_scan *s, uint32_t pos, uint32_t tid)
{
	uint64_t budget = s->last - s->first, used = 0;
	uint32_t crc = ~0u;
	int r = EXTJ_GO;

	while (r == EXTJ_GO) {
		if (used++ >= budget) {
			VMIE_CORRUPT(&s->info->problem, "ext journal: %s: the "
				     "log goes round the whole journal without "
				     "ending (transaction %u)", s->name, tid);
			break;
		}
		uint32_t at = pos;
		if (extj_read(s, pos, s->buf, NULL))
			break;
		pos = extj_next(s, pos);
		if (vmie_be32(s->buf + JBD2_H_MAGIC) != JBD2_MAGIC ||
		    vmie_be32(s->buf + JBD2_H_SEQUENCE) != tid)
			break;          /* the end of the log */
		switch (vmie_be32(s->buf + JBD2_H_BLOCKTYPE)) {
		case JBD2_DESCRIPTOR_BLOCK:
			r = extj_descriptor(s, tid, at, &pos, &used, budget,
					    &crc);
			break;
		case JBD2_REVOKE_BLOCK:
			r = extj_revoke(s, tid, at);
			break;
		case JBD2_COMMIT_BLOCK:
			r = extj_commit(s, tid, at, &crc);
			tid++;
			break;
		default:
			r = EXTJ_END;
			break;
		}
	}
	return r == EXTJ_NOMEM ? -1 : 0;
}

/* ---- the overlay ---- */

static int extj_ovent_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct extj_ovent *)a)->target;
	uint64_t y = ((const struct extj_ovent *)b)->target;
	return x < y ? -1 : x > y;
}

static struct extj_overlay *extj_build(struct extj_scan *s)
{
	struct extj_overlay *ov = calloc(1, sizeof *ov);
	size_t n = 0;
	if (!ov)
		return NULL;
	ov->bs = s->bs;
	for (size_t i = 0; i < s->map.cap; i++)
		if (s->map.v[i].flags & EXTJ_F_WRITE)
			n++;
	ov->v = calloc(n ? n : 1, sizeof *ov->v);
	if (!ov->v) {
		free(ov);
		return NULL;
	}
	for (size_t i = 0; i < s->map.cap; i++) {
		const struct extj_ent *e = &s->map.v[i];
		if (!(e->flags & EXTJ_F_WRITE))
			continue;
		if ((e->flags & EXTJ_F_REVOKE) &&
		    !extj_tid_gt(e->wseq, e->rseq)) {
			s->info->revoked++;
			continue;
		}
		ov->v[ov->n].target = e->target;
		ov->v[ov->n].phys = e->phys |
				    (e->flags & EXTJ_F_ESCAPE ?
				     EXTJ_ESCAPE_BIT : 0);
		ov->n++;
	}
	qsort(ov->v, ov->n, sizeof *ov->v, extj_ovent_cmp);
	s->info->blocks = ov->n;
	return ov;
}

int extj_overlay_apply(const struct extj_overlay *ov, struct vmie_image *img,
		       uint64_t off, uint8_t *data, uint64_t len)
{
	if (!ov || !ov->n || !len)
		return 0;
	uint64_t bs = ov->bs, first = off / bs, last = (off + len - 1) / bs;
	size_t lo = 0, hi = ov->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ov->v[mid].target < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < ov->n && ov->v[i].target <= last; i++) {
		uint64_t bstart = ov->v[i].target * bs;
		uint64_t a = vmie_max_u64(bstart, off);
		uint64_t z = vmie_min_u64(bstart + bs, off + len);
		uint64_t phys = ov->v[i].phys & ~EXTJ_ESCAPE_BIT;
		if (vmie_image_pread(img, data + (a - off), (size_t)(z - a),
				     phys * bs + (a - bstart), NULL))
			return -1;
		if (ov->v[i].phys & EXTJ_ESCAPE_BIT) {
			uint8_t magic[4];
			vmie_put_be32(magic, JBD2_MAGIC);
			for (uint64_t k = 0; k < 4; k++)
				if (bstart + k >= a && bstart + k < z)
					data[bstart + k - off] = magic[k];
		}
	}
	return 0;
}

void extj_overlay_free(struct extj_overlay *ov)
{
	if (!ov)
		return;
	free(ov->v);
	free(ov);
}

/* ---- entry point ---- */

int extj_replay(ext2_filsys efs, struct vmie_image *img,
		struct extj_overlay **out, struct vmie_ext_journal *info,
		struct vmie_err *err)
{
	struct extj_scan s = { .efs = efs, .img = img, .info = info };
	uint32_t start = 0, tid = 0;
	int r = 0;

	*out = NULL;
	info->needs_recovery = true;
	info->state = VMIE_EXT_JOURNAL_SKIPPED;
	s.name = img->name ? img->name : "ext";
	s.bs = efs->blocksize;
	s.fs_blocks = ext2fs_blocks_count(efs->super);
	/* every image offset below is block * bs with block < fs_blocks */
	uint64_t fs_bytes;
	if (vmie_mul_u64(s.fs_blocks, s.bs, &fs_bytes)) {
		VMIE_CORRUPT(&info->problem, "ext journal: %s: superblock "
			     "block count %llu times block size %u overflows: "
			     "journal not replayed", s.name,
			     (unsigned long long)s.fs_blocks, s.bs);
		return 0;
	}
	if (!efs->super->s_journal_inum) {
		char uuid[40];
		info->external = true;
		vmie_uuid_be(uuid, efs->super->s_journal_uuid);
		VMIE_ERR(&info->problem, VMIE_EUNSUPP, "ext journal: %s: the "
			 "file system needs recovery from an external journal "
			 "(UUID %s) that vmie cannot read: its metadata may "
			 "be stale", s.name, uuid);
		return 0;
	}
	s.buf = malloc(s.bs);
	s.dbuf = malloc(s.bs);
	if (!s.buf || !s.dbuf) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (extj_superblock(&s, &start, &tid))
		goto out;       /* refused: read the disk as it is */
	info->state = VMIE_EXT_JOURNAL_REPLAYED;
	if (!start)
		goto out;       /* an empty log: nothing to replay */
	if (extj_scan_log(&s, start, tid)) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "ext journal: %s: out of "
			     "memory replaying the journal", s.name);
		goto out;
	}
	if (info->transactions) {
		*out = extj_build(&s);
		if (!*out)
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
out:
	if (s.eh)
		ext2fs_extent_free(s.eh);
	free(s.map.v);
	free(s.pend);
	free(s.buf);
	free(s.dbuf);
	return r;
}
