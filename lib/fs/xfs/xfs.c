/*
 * XFS reader (v4 and v5, read-only): superblock, inodes, extent lists and
 * extent B-trees, every directory form (short-form, block, leaf, node,
 * B-tree), regular files (holes and unwritten extents read as zeros) and
 * symlinks (inline or remote).  Follows "XFS Algorithms & Data Structures"
 * (xfs-documentation); the layouts are summarised in xfs_disk.h.
 *
 * Metadata is read lazily: open reads the superblock and the root inode,
 * everything else is read when a path is looked up.  Directories are
 * listed by walking the data blocks below the 32 GiB leaf offset through
 * the inode's extent map, which covers the block, leaf, node and B-tree
 * forms alike; a name is looked up through the hash index (the leaf table
 * of a block directory, or the node and leaf blocks from the leaf offset
 * on), so one lookup reads a few blocks even in a directory of 10^5
 * entries.  Short-form and ASCII-CI directories are scanned.
 *
 * Inode handles are XFS inode numbers.
 */
#include "fs/fs.h"
#include "fs/xfs/xfs_disk.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XFS_MAX_INODE_SIZE 2048

struct xfs_fs {
	struct vmie_image *dev;
	uint32_t blocksize, sectsize, inodesize, agblocks, agcount;
	uint32_t dirblksize, dirblkfsbs;
	unsigned blocklog, inopblog, agblklog;
	uint64_t dblocks, rootino;
	bool v5, ftype, asciici;
};

struct xfs_inode {
	uint64_t ino;
	uint16_t mode;
	uint8_t version, format;
	uint32_t uid, gid, nlink;
	int64_t mtime;
	uint64_t size, nextents;
	const uint8_t *fork;          /* data fork inside raw */
	uint32_t forksize;
	uint8_t raw[XFS_MAX_INODE_SIZE];
};

/* One extent: logical block startoff maps to fs block startblock. */
struct xfs_irec {
	uint64_t startoff, startblock, count;
	bool unwritten;
};

/* ---- superblock ---- */

struct xfs_sb {
	uint32_t blocksize, agblocks, agcount;
	uint64_t dblocks, fdblocks, rootino;
	uint16_t versionnum, sectsize, inodesize, inopblock;
	uint8_t blocklog, sectlog, inodelog, inopblog, agblklog, dirblklog;
	uint32_t features2, incompat;
	uint8_t uuid[16];
	char label[13];
	unsigned version;
};

static void xfs_sb_decode(const uint8_t *b, struct xfs_sb *sb)
{
	sb->blocksize = vmie_be32(b + 0x04);
	sb->dblocks = vmie_be64(b + 0x08);
	memcpy(sb->uuid, b + 0x20, 16);
	sb->rootino = vmie_be64(b + 0x38);
	sb->agblocks = vmie_be32(b + 0x54);
	sb->agcount = vmie_be32(b + 0x58);
	sb->versionnum = vmie_be16(b + 0x64);
	sb->sectsize = vmie_be16(b + 0x66);
	sb->inodesize = vmie_be16(b + 0x68);
	sb->inopblock = vmie_be16(b + 0x6a);
	memcpy(sb->label, b + 0x6c, 12);
	sb->label[12] = 0;
	sb->blocklog = b[0x78];
	sb->sectlog = b[0x79];
	sb->inodelog = b[0x7a];
	sb->inopblog = b[0x7b];
	sb->agblklog = b[0x7c];
	sb->fdblocks = vmie_be64(b + 0x90);
	sb->dirblklog = b[0xc0];
	sb->features2 = vmie_be32(b + 0xc8);
	sb->incompat = vmie_be32(b + 0xd8);
	sb->version = sb->versionnum & XFS_SB_VERSION_NUMBITS;
}

/* Sanity of the geometry; returns a static reason or NULL when fine. */
static const char *xfs_sb_invalid(const struct xfs_sb *sb)
{
	if (sb->version != 4 && sb->version != 5)
		return "unknown version";
	if (sb->blocklog < 9 || sb->blocklog > 16 ||
	    sb->blocksize != 1u << sb->blocklog)
		return "bad block size";
	if (sb->sectlog < 9 || sb->sectlog > 15 ||
	    sb->sectsize != 1u << sb->sectlog || sb->sectsize > sb->blocksize)
		return "bad sector size";
	if (sb->inodelog < 8 || sb->inodelog > 11 ||
	    sb->inodesize != 1u << sb->inodelog ||
	    sb->inodesize > sb->blocksize ||
	    sb->inopblog != sb->blocklog - sb->inodelog ||
	    sb->inopblock != sb->blocksize / sb->inodesize)
		return "bad inode size";
	if (sb->agcount == 0 || sb->agblocks < 2 || sb->agblklog > 31 ||
	    ((uint64_t)1 << sb->agblklog) < sb->agblocks ||
	    ((uint64_t)1 << sb->agblklog) >= 2 * (uint64_t)sb->agblocks)
		return "bad allocation group geometry";
	if (sb->dblocks == 0 ||
	    sb->dblocks > (uint64_t)sb->agcount * sb->agblocks ||
	    sb->dblocks <= (uint64_t)(sb->agcount - 1) * sb->agblocks)
		return "data block count does not match the allocation groups";
	if (sb->blocklog + sb->dirblklog > 16)
		return "bad directory block size";
	return NULL;
}

static int xfs_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t b[XFS_SB_SIZE];
	struct xfs_sb sb;
	char num[8];

	if (dev->size < 4096 || vmie_image_pread(dev, b, sizeof b, 0, NULL))
		return 0;
	if (vmie_be32(b) != XFS_SB_MAGIC)
		return 0;
	xfs_sb_decode(b, &sb);
	vmie_strlcpy(p->type, "xfs", sizeof p->type);
	if (xfs_sb_invalid(&sb))
		return 30;     /* the magic alone */
	snprintf(num, sizeof num, "v%u", sb.version);
	vmie_strlcpy(p->version, num, sizeof p->version);
	vmie_uuid_be(p->uuid, sb.uuid);
	vmie_strlcpy(p->label, sb.label, sizeof p->label);
	p->size = sb.dblocks << sb.blocklog;
	p->free = sb.fdblocks <= sb.dblocks ? sb.fdblocks << sb.blocklog
					    : UINT64_MAX;
	p->readable = sb.version == 4 ||
		      !(sb.incompat & ~XFS_INCOMPAT_KNOWN);
	return 90;
}

/* ---- addresses ---- */

/* Byte offset of count blocks starting at fs block fsb; false when they are
 * not inside one allocation group and inside the device. */
static bool xfs_fsb_to_off(struct xfs_fs *fs, uint64_t fsb, uint64_t count,
			   uint64_t *off)
{
	uint64_t agno = fsb >> fs->agblklog;
	uint64_t agbno = fsb & (((uint64_t)1 << fs->agblklog) - 1);
	uint64_t blk;

	if (agno >= fs->agcount || agbno >= fs->agblocks ||
	    count > fs->agblocks - agbno)
		return false;
	blk = agno * fs->agblocks + agbno;
	if (blk + count > fs->dblocks)
		return false;
	*off = blk << fs->blocklog;
	return !vmie_range_outside(*off, count << fs->blocklog, fs->dev->size);
}

static int xfs_pread(struct xfs_fs *fs, void *buf, size_t len, uint64_t off,
		     struct vmie_err *err)
{
	int r = vmie_image_pread(fs->dev, buf, len, off, err);
	if (r)
		vmie_err_prefix(err, "xfs");
	return r;
}

/* ---- inodes ---- */

static int xfs_read_inode(struct xfs_fs *fs, uint64_t ino,
			  struct xfs_inode *ip, struct vmie_err *err)
{
	unsigned agino_bits = fs->agblklog + fs->inopblog;
	uint64_t agno = ino >> agino_bits;
	uint64_t agbno = (ino >> fs->inopblog) &
			 (((uint64_t)1 << fs->agblklog) - 1);
	uint64_t idx = ino & (((uint64_t)1 << fs->inopblog) - 1);
	uint64_t off, core, forkoff, lit;
	uint8_t *b = ip->raw;
	int r;

	if (agino_bits >= 64 || agno >= fs->agcount || agbno >= fs->agblocks ||
	    !xfs_fsb_to_off(fs, agno << fs->agblklog | agbno, 1, &off))
		return VMIE_CORRUPT(err, "xfs: inode %llu is outside the "
				    "file system", (unsigned long long)ino);
	off += idx * fs->inodesize;
	r = xfs_pread(fs, b, fs->inodesize, off, err);
	if (r)
		return r;
	if (vmie_be16(b) != XFS_DINODE_MAGIC)
		return VMIE_CORRUPT(err, "xfs: inode %llu (offset 0x%llx): bad "
				    "magic", (unsigned long long)ino,
				    (unsigned long long)off);
	memset(ip, 0, offsetof(struct xfs_inode, raw));
	ip->ino = ino;
	ip->version = b[4];
	ip->format = b[5];
	ip->mode = vmie_be16(b + 2);
	ip->uid = vmie_be32(b + 0x08);
	ip->gid = vmie_be32(b + 0x0c);
	ip->nlink = ip->version == 1 ? vmie_be16(b + 6) : vmie_be32(b + 0x10);
	ip->size = vmie_be64(b + 0x38);
	if (ip->version == 3) {
		if (!fs->v5)
			goto bad_version;
		/* CRC-32C of the inode with the CRC field taken as zero */
		uint32_t crc = vmie_le32(b + XFS_DINODE_CRC_OFF);
		static const uint8_t zero[4];
		uint32_t c = vmie_crc32c(0, b, XFS_DINODE_CRC_OFF);
		c = vmie_crc32c(c, zero, 4);
		c = vmie_crc32c(c, b + XFS_DINODE_CRC_OFF + 4,
				fs->inodesize - XFS_DINODE_CRC_OFF - 4);
		if (c != crc)
			return VMIE_CORRUPT(err, "xfs: inode %llu (offset 0x%llx)"
					    ": CRC mismatch",
					    (unsigned long long)ino,
					    (unsigned long long)off);
		if (vmie_be64(b + 0x98) != ino)
			return VMIE_CORRUPT(err, "xfs: inode %llu (offset 0x%llx)"
					    ": records inode number %llu",
					    (unsigned long long)ino,
					    (unsigned long long)off,
					    (unsigned long long)vmie_be64(b + 0x98));
		core = XFS_DINODE_CORE_V3;
	} else if (ip->version == 1 || ip->version == 2) {
		if (fs->v5)
			goto bad_version;
		core = XFS_DINODE_CORE_V2;
	} else {
		goto bad_version;
	}
	uint64_t flags2 = ip->version == 3 ? vmie_be64(b + 0x78) : 0;
	if (flags2 & XFS_DIFLAG2_BIGTIME) {
		uint64_t ns = vmie_be64(b + 0x28);
		ip->mtime = (int64_t)(ns / 1000000000u) -
			    XFS_BIGTIME_EPOCH_OFFSET;
	} else {
		ip->mtime = (int32_t)vmie_be32(b + 0x28);
	}
	ip->nextents = flags2 & XFS_DIFLAG2_NREXT64 ? vmie_be64(b + 0x18)
						    : vmie_be32(b + 0x4c);
	lit = fs->inodesize - core;
	forkoff = (uint64_t)b[0x52] * 8;
	if (forkoff > lit)
		return VMIE_CORRUPT(err, "xfs: inode %llu: attribute fork "
				    "offset %llu past the inode",
				    (unsigned long long)ino,
				    (unsigned long long)forkoff);
	ip->fork = b + core;
	ip->forksize = (uint32_t)(forkoff ? forkoff : lit);
	if (ip->format > XFS_DINODE_FMT_BTREE)
		return VMIE_CORRUPT(err, "xfs: inode %llu: unknown data fork "
				    "format %u", (unsigned long long)ino,
				    ip->format);
	if (ip->format == XFS_DINODE_FMT_EXTENTS &&
	    ip->nextents > ip->forksize / XFS_BMBT_REC_LEN)
		return VMIE_CORRUPT(err, "xfs: inode %llu: %llu extents do not "
				    "fit in the inode", (unsigned long long)ino,
				    (unsigned long long)ip->nextents);
	if (ip->format == XFS_DINODE_FMT_LOCAL && ip->size > ip->forksize)
		return VMIE_CORRUPT(err, "xfs: inode %llu: inline data of %llu "
				    "bytes larger than the fork",
				    (unsigned long long)ino,
				    (unsigned long long)ip->size);
	if (ip->size > (uint64_t)INT64_MAX)
		return VMIE_CORRUPT(err, "xfs: inode %llu: bad size",
				    (unsigned long long)ino);
	return 0;
bad_version:
	return VMIE_CORRUPT(err, "xfs: inode %llu (offset 0x%llx): bad inode "
			    "version %u", (unsigned long long)ino,
			    (unsigned long long)off, ip->version);
}

/* ---- extent maps ---- */

static void xfs_rec_decode(const uint8_t *p, struct xfs_irec *r)
{
	uint64_t l0 = vmie_be64(p), l1 = vmie_be64(p + 8);
	r->unwritten = l0 >> 63;
	r->startoff = (l0 & ~((uint64_t)1 << 63)) >> 9;
	r->startblock = (l0 & 0x1ff) << 43 | l1 >> 21;
	r->count = l1 & 0x1fffff;
}

/* First extent in recs[0..n) that ends after lblk. */
static bool xfs_recs_find(const uint8_t *recs, uint64_t n, uint64_t lblk,
			  struct xfs_irec *out)
{
	for (uint64_t i = 0; i < n; i++) {
		xfs_rec_decode(recs + i * XFS_BMBT_REC_LEN, out);
		if (out->startoff + out->count > lblk && out->count)
			return true;
	}
	return false;
}

/* Find the extent holding logical block lblk, or else the next one after
 * it (*found = false when there is none). */
static int xfs_bmap(struct xfs_fs *fs, const struct xfs_inode *ip,
		    uint64_t lblk, struct xfs_irec *rec, bool *found,
		    struct vmie_err *err)
{
	unsigned hdr = fs->v5 ? XFS_BTREE_LBLOCK_CRC_LEN : XFS_BTREE_LBLOCK_LEN;
	uint32_t magic = fs->v5 ? XFS_BMAP_CRC_MAGIC : XFS_BMAP_MAGIC;
	const uint8_t *keys, *ptrs;
	unsigned level, numrecs, maxrecs;
	uint8_t *blk = NULL;
	uint64_t fsb, off;
	int r = 0;

	*found = false;
	if (ip->format == XFS_DINODE_FMT_EXTENTS) {
		*found = xfs_recs_find(ip->fork, ip->nextents, lblk, rec);
		goto check;
	}
	if (ip->format != XFS_DINODE_FMT_BTREE)
		return VMIE_CORRUPT(err, "xfs: inode %llu has no extent map "
				    "(format %u)", (unsigned long long)ip->ino,
				    ip->format);
	/* the root, in the inode */
	if (ip->forksize < 4 + 16)
		goto bad_root;
	level = vmie_be16(ip->fork);
	numrecs = vmie_be16(ip->fork + 2);
	maxrecs = (ip->forksize - 4) / 16;
	if (level == 0 || level >= XFS_BMBT_MAX_LEVELS || numrecs == 0 ||
	    numrecs > maxrecs)
		goto bad_root;
	keys = ip->fork + 4;
	ptrs = keys + (size_t)maxrecs * 8;
	blk = malloc(fs->blocksize);
	if (!blk)
		return VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
	for (;;) {
		unsigned i = 0;
		while (i + 1 < numrecs && vmie_be64(keys + (i + 1) * 8) <= lblk)
			i++;
		fsb = vmie_be64(ptrs + (size_t)i * 8);
		unsigned hops = 0;
next_leaf:
		if (!xfs_fsb_to_off(fs, fsb, 1, &off)) {
			r = VMIE_CORRUPT(err, "xfs: inode %llu: extent B-tree "
					 "block %llu is outside the file system",
					 (unsigned long long)ip->ino,
					 (unsigned long long)fsb);
			goto out;
		}
		r = xfs_pread(fs, blk, fs->blocksize, off, err);
		if (r)
			goto out;
		unsigned want = level - 1;
		if (vmie_be32(blk) != magic || vmie_be16(blk + 4) != want) {
			r = VMIE_CORRUPT(err, "xfs: inode %llu: bad extent B-tree "
					 "block %llu (offset 0x%llx): magic "
					 "0x%08x level %u, expected level %u",
					 (unsigned long long)ip->ino,
					 (unsigned long long)fsb,
					 (unsigned long long)off, vmie_be32(blk),
					 vmie_be16(blk + 4), want);
			goto out;
		}
		numrecs = vmie_be16(blk + 6);
		maxrecs = (fs->blocksize - hdr) / 16;
		if (numrecs == 0 || numrecs > maxrecs) {
			r = VMIE_CORRUPT(err, "xfs: inode %llu: extent B-tree "
					 "block %llu holds %u records (max %u)",
					 (unsigned long long)ip->ino,
					 (unsigned long long)fsb, numrecs,
					 maxrecs);
			goto out;
		}
		if (want == 0) {
			*found = xfs_recs_find(blk + hdr, numrecs, lblk, rec);
			uint64_t right = vmie_be64(blk + 16);
			/* the next extent may open the right sibling */
			if (!*found && right == fsb) {
				r = VMIE_CORRUPT(err, "xfs: inode %llu: extent "
						 "B-tree block %llu is its own "
						 "right sibling",
						 (unsigned long long)ip->ino,
						 (unsigned long long)fsb);
				goto out;
			}
			if (!*found && right != UINT64_MAX && ++hops <= 2) {
				fsb = right;
				level = 1;
				goto next_leaf;
			}
			break;
		}
		level = want;
		keys = blk + hdr;
		ptrs = keys + (size_t)maxrecs * 8;
		/* keys and ptrs point into blk, which the next read
		 * overwrites: the choice is made before that above */
	}
check:
	if (*found && rec->startoff + rec->count < rec->startoff) {
		r = VMIE_CORRUPT(err, "xfs: inode %llu: extent at %llu wraps",
				 (unsigned long long)ip->ino,
				 (unsigned long long)rec->startoff);
		*found = false;
	}
out:
	free(blk);
	return r;
bad_root:
	return VMIE_CORRUPT(err, "xfs: inode %llu: bad extent B-tree root",
			    (unsigned long long)ip->ino);
}

/* Device offset of the extent piece holding logical block lblk, with the
 * number of blocks mapped there from lblk on; checks the whole extent. */
static int xfs_extent_off(struct xfs_fs *fs, const struct xfs_inode *ip,
			  const struct xfs_irec *rec, uint64_t lblk,
			  uint64_t *off, struct vmie_err *err)
{
	uint64_t base;
	if (!xfs_fsb_to_off(fs, rec->startblock, rec->count, &base))
		return VMIE_CORRUPT(err, "xfs: inode %llu: extent at file "
				    "block %llu (fs block %llu, %llu blocks) is "
				    "past the end of the device",
				    (unsigned long long)ip->ino,
				    (unsigned long long)rec->startoff,
				    (unsigned long long)rec->startblock,
				    (unsigned long long)rec->count);
	*off = base + ((lblk - rec->startoff) << fs->blocklog);
	return 0;
}

/* Read len bytes at byte offset pos of the inode's data (extents, holes as
 * zeros); the caller keeps pos + len within what it wants. */
static int xfs_read_data(struct xfs_fs *fs, const struct xfs_inode *ip,
			 uint8_t *buf, size_t len, uint64_t pos,
			 struct vmie_err *err)
{
	while (len) {
		uint64_t lblk = pos >> fs->blocklog;
		uint64_t inblk = pos & (fs->blocksize - 1);
		struct xfs_irec rec;
		bool found;
		size_t n;
		int r = xfs_bmap(fs, ip, lblk, &rec, &found, err);
		if (r)
			return r;
		if (!found || rec.startoff > lblk) {
			/* a hole up to the next extent */
			uint64_t hole = UINT64_MAX;
			if (found && rec.startoff - lblk < ((uint64_t)1 << 40))
				hole = ((rec.startoff - lblk) << fs->blocklog) -
				       inblk;
			n = (size_t)vmie_min_u64(len, hole);
			memset(buf, 0, n);
		} else {
			uint64_t blocks = vmie_min_u64(rec.startoff +
						       rec.count - lblk,
						       (uint64_t)1 << 30);
			uint64_t avail = (blocks << fs->blocklog) - inblk;
			uint64_t off = 0;
			n = (size_t)vmie_min_u64(len, avail);
			r = xfs_extent_off(fs, ip, &rec, lblk, &off, err);
			if (r)
				return r;
			if (rec.unwritten)
				memset(buf, 0, n);
			else if ((r = xfs_pread(fs, buf, n, off + inblk, err)))
				return r;
		}
		buf += n, pos += n, len -= n;
	}
	return 0;
}

/* ---- directories ---- */

struct xfs_dent {
	const uint8_t *name;
	unsigned namelen;
	uint64_t ino;
	unsigned ftype;
};
typedef int (*xfs_dent_fn)(void *ctx, const struct xfs_dent *d);

static int xfs_dir_sf(struct xfs_fs *fs, const struct xfs_inode *ip,
		      xfs_dent_fn fn, void *ctx, struct vmie_err *err)
{
	const uint8_t *p = ip->fork, *end = ip->fork + ip->size;
	unsigned count, i8, isz;

	if (ip->size < 6)
		goto bad;
	count = p[0];
	i8 = p[1];
	isz = i8 ? 8 : 4;
	p += 2 + isz;
	for (unsigned i = 0; i < count; i++) {
		struct xfs_dent d;
		if (end - p < 3)
			goto bad;
		d.namelen = p[0];
		if (d.namelen == 0 ||
		    (size_t)(end - p) < 3u + d.namelen + fs->ftype + isz)
			goto bad;
		d.name = p + 3;
		p += 3 + d.namelen;
		d.ftype = fs->ftype ? *p++ : 0;
		d.ino = isz == 8 ? vmie_be64(p) : vmie_be32(p);
		p += isz;
		int r = fn(ctx, &d);
		if (r)
			return r;
	}
	return 0;
bad:
	return VMIE_CORRUPT(err, "xfs: directory inode %llu: bad short-form "
			    "directory", (unsigned long long)ip->ino);
}

/* Walk the entries of one directory data block (blk, dirblksize bytes). */
static int xfs_dir_block(struct xfs_fs *fs, const struct xfs_inode *ip,
			 const uint8_t *blk, uint64_t lblk, xfs_dent_fn fn,
			 void *ctx, struct vmie_err *err)
{
	uint32_t magic = vmie_be32(blk);
	size_t hdr = fs->v5 ? XFS_DIR3_DATA_HDR_LEN : XFS_DIR2_DATA_HDR_LEN;
	size_t end = fs->dirblksize, pos = hdr;

	if (magic == (fs->v5 ? XFS_DIR3_BLOCK_MAGIC : XFS_DIR2_BLOCK_MAGIC)) {
		uint32_t count = vmie_be32(blk + end - XFS_DIR2_BLOCK_TAIL_LEN);
		uint64_t leaf = (uint64_t)count * XFS_DIR2_LEAF_ENTRY_LEN +
				XFS_DIR2_BLOCK_TAIL_LEN;
		if (leaf > end - hdr)
			return VMIE_CORRUPT(err, "xfs: directory inode %llu: "
					    "block %llu: leaf count %u too big",
					    (unsigned long long)ip->ino,
					    (unsigned long long)lblk, count);
		end -= (size_t)leaf;
	} else if (magic != (fs->v5 ? XFS_DIR3_DATA_MAGIC
				    : XFS_DIR2_DATA_MAGIC)) {
		return VMIE_CORRUPT(err, "xfs: directory inode %llu: block %llu "
				    "has bad magic 0x%08x",
				    (unsigned long long)ip->ino,
				    (unsigned long long)lblk, magic);
	}
	while (pos < end) {
		if (end - pos < 8)
			goto bad;
		if (vmie_be16(blk + pos) == XFS_DIR2_FREE_TAG) {
			size_t len = vmie_be16(blk + pos + 2);
			if (len < 8 || len % 8 || len > end - pos)
				goto bad;
			pos += len;
			continue;
		}
		struct xfs_dent d;
		d.ino = vmie_be64(blk + pos);
		d.namelen = blk[pos + 8];
		size_t len = 8 + 1 + d.namelen + fs->ftype + 2;
		len = (len + 7) & ~(size_t)7;
		if (d.namelen == 0 || len > end - pos)
			goto bad;
		d.name = blk + pos + 9;
		d.ftype = fs->ftype ? blk[pos + 9 + d.namelen] : 0;
		int r = fn(ctx, &d);
		if (r)
			return r;
		pos += len;
	}
	return 0;
bad:
	return VMIE_CORRUPT(err, "xfs: directory inode %llu: block %llu: bad "
			    "entry at byte %zu", (unsigned long long)ip->ino,
			    (unsigned long long)lblk, pos);
}

static int xfs_dir_iterate(struct xfs_fs *fs, const struct xfs_inode *ip,
			   xfs_dent_fn fn, void *ctx, struct vmie_err *err)
{
	uint64_t limit = XFS_DIR2_LEAF_OFFSET >> fs->blocklog, lblk = 0;
	uint8_t *blk;
	int r = 0;

	if ((ip->mode & 0170000) != 0040000)
		return VMIE_ERR(err, VMIE_EINVAL, "xfs: inode %llu is not a "
				"directory", (unsigned long long)ip->ino);
	if (ip->format == XFS_DINODE_FMT_LOCAL)
		return xfs_dir_sf(fs, ip, fn, ctx, err);
	blk = malloc(fs->dirblksize);
	if (!blk)
		return VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
	while (lblk < limit) {
		struct xfs_irec rec;
		bool found;
		r = xfs_bmap(fs, ip, lblk, &rec, &found, err);
		if (r || !found || rec.startoff >= limit)
			break;
		if (rec.startoff > lblk)
			lblk = rec.startoff & ~(uint64_t)(fs->dirblkfsbs - 1);
		/* assemble one directory block (it may span extents) */
		r = xfs_read_data(fs, ip, blk, fs->dirblksize,
				  lblk << fs->blocklog, err);
		if (r)
			break;
		r = xfs_dir_block(fs, ip, blk, lblk, fn, ctx, err);
		if (r)
			break;
		lblk += fs->dirblkfsbs;
	}
	free(blk);
	return r;
}

/* ---- hashed lookup (block, leaf, node and B-tree forms) ---- */

static uint32_t xfs_rol32(uint32_t v, unsigned n)
{
	return v << n | v >> (32 - n);
}

/* xfs_da_hashname: the hash of a directory entry name. */
static uint32_t xfs_da_hashname(const uint8_t *name, size_t len)
{
	uint32_t h = 0;

	for (; len >= 4; len -= 4, name += 4)
		h = (uint32_t)name[0] << 21 ^ (uint32_t)name[1] << 14 ^
		    (uint32_t)name[2] << 7 ^ name[3] ^ xfs_rol32(h, 28);
	switch (len) {
	case 3:
		return (uint32_t)name[0] << 14 ^ (uint32_t)name[1] << 7 ^
		       name[2] ^ xfs_rol32(h, 21);
	case 2:
		return (uint32_t)name[0] << 7 ^ name[1] ^ xfs_rol32(h, 14);
	case 1:
		return name[0] ^ xfs_rol32(h, 7);
	}
	return h;
}

struct xfs_hlookup {
	struct xfs_fs *fs;
	const struct xfs_inode *ip;
	const uint8_t *name;
	size_t len;
	uint32_t hash;
	uint8_t *data;            /* the data block last read */
	uint64_t data_off;        /* its byte offset, UINT64_MAX for none */
	uint64_t ino;
};

/* Does the data entry at address (a leaf entry's) hold the name?  0 no,
 * 1 yes (h->ino set), or an error. */
static int xfs_hl_check(struct xfs_hlookup *h, uint32_t address,
			struct vmie_err *err)
{
	struct xfs_fs *fs = h->fs;
	uint64_t byte = (uint64_t)address << XFS_DIR2_DATA_ALIGN_LOG;
	uint64_t boff = byte & ~(uint64_t)(fs->dirblksize - 1);
	size_t off = (size_t)(byte & (fs->dirblksize - 1));
	size_t hdr = fs->v5 ? XFS_DIR3_DATA_HDR_LEN : XFS_DIR2_DATA_HDR_LEN;
	int r;

	if (byte >= XFS_DIR2_LEAF_OFFSET || off < hdr ||
	    fs->dirblksize - off < 8 + 1 + 2)
		goto bad;
	if (h->data_off != boff) {
		h->data_off = UINT64_MAX;
		r = xfs_read_data(fs, h->ip, h->data, fs->dirblksize, boff,
				  err);
		if (r)
			return r;
		uint32_t magic = vmie_be32(h->data);
		if (magic != (fs->v5 ? XFS_DIR3_BLOCK_MAGIC
				     : XFS_DIR2_BLOCK_MAGIC) &&
		    magic != (fs->v5 ? XFS_DIR3_DATA_MAGIC
				     : XFS_DIR2_DATA_MAGIC))
			return VMIE_CORRUPT(err, "xfs: directory inode %llu: "
					    "data block at byte %llu has bad "
					    "magic 0x%08x",
					    (unsigned long long)h->ip->ino,
					    (unsigned long long)boff, magic);
		h->data_off = boff;
	}
	const uint8_t *e = h->data + off;
	if (vmie_be16(e) == XFS_DIR2_FREE_TAG)
		goto bad;
	unsigned namelen = e[8];
	if (namelen == 0 || 9 + namelen + fs->ftype + 2 > fs->dirblksize - off)
		goto bad;
	if (namelen != h->len || memcmp(e + 9, h->name, h->len))
		return 0;
	h->ino = vmie_be64(e);
	return 1;
bad:
	return VMIE_CORRUPT(err, "xfs: directory inode %llu: hash entry points "
			    "to no entry (address 0x%x)",
			    (unsigned long long)h->ip->ino, address);
}

/* Search count leaf entries at ents for the hash; 0 not here, 1 found,
 * or an error.  *more: every entry from the first match on had the hash,
 * so matches may go on in the next leaf. */
static int xfs_hl_leaf(struct xfs_hlookup *h, const uint8_t *ents,
		       uint32_t count, bool *more, struct vmie_err *err)
{
	uint32_t lo = 0, hi = count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (vmie_be32(ents + (size_t)mid * 8) < h->hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < count && vmie_be32(ents + (size_t)lo * 8) == h->hash;
	     lo++) {
		uint32_t address = vmie_be32(ents + (size_t)lo * 8 + 4);
		if (address == 0)
			continue;          /* stale */
		int r = xfs_hl_check(h, address, err);
		if (r)
			return r;
	}
	*more = lo == count;
	return 0;
}

/* Look name up through the directory's hash index: 0 found (*ino), 1 not
 * there, or an error. */
static int xfs_dir_hashed(struct xfs_fs *fs, const struct xfs_inode *ip,
			  const char *name, size_t len, uint64_t *ino,
			  struct vmie_err *err)
{
	struct xfs_hlookup h = {
		.fs = fs, .ip = ip, .name = (const uint8_t *)name,
		.len = len, .data_off = UINT64_MAX,
	};
	uint64_t leafblk = XFS_DIR2_LEAF_OFFSET >> fs->blocklog;
	uint64_t freeblk = 2 * XFS_DIR2_LEAF_OFFSET >> fs->blocklog;
	size_t hdr = fs->v5 ? XFS_DA3_HDR_LEN : XFS_DA_HDR_LEN;
	size_t cnt_at = fs->v5 ? 56 : 12;
	uint8_t *blk = NULL;
	struct xfs_irec rec;
	bool found, more = false;
	int r;

	h.hash = xfs_da_hashname(h.name, len);
	blk = malloc(fs->dirblksize);
	h.data = malloc(fs->dirblksize);
	if (!blk || !h.data) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
		goto out;
	}
	r = xfs_bmap(fs, ip, leafblk, &rec, &found, err);
	if (r)
		goto out;
	if (!found || rec.startoff > leafblk) {
		/* no leaf: block form, the table at the end of block 0 */
		r = xfs_read_data(fs, ip, blk, fs->dirblksize, 0, err);
		if (r)
			goto out;
		uint32_t magic = vmie_be32(blk);
		uint32_t count = vmie_be32(blk + fs->dirblksize -
					   XFS_DIR2_BLOCK_TAIL_LEN);
		size_t dhdr = fs->v5 ? XFS_DIR3_DATA_HDR_LEN
				     : XFS_DIR2_DATA_HDR_LEN;
		if (magic != (fs->v5 ? XFS_DIR3_BLOCK_MAGIC
				     : XFS_DIR2_BLOCK_MAGIC) ||
		    count > (fs->dirblksize - dhdr - XFS_DIR2_BLOCK_TAIL_LEN) /
			    XFS_DIR2_LEAF_ENTRY_LEN) {
			r = VMIE_CORRUPT(err, "xfs: directory inode %llu has "
					 "neither a leaf block nor a valid "
					 "single block (magic 0x%08x, %u "
					 "entries)", (unsigned long long)ip->ino,
					 magic, count);
			goto out;
		}
		memcpy(h.data, blk, fs->dirblksize);
		h.data_off = 0;
		r = xfs_hl_leaf(&h, blk + fs->dirblksize -
				XFS_DIR2_BLOCK_TAIL_LEN -
				(size_t)count * XFS_DIR2_LEAF_ENTRY_LEN, count,
				&more, err);
		goto done;
	}
	/* the root of the hash tree is the first leaf-space block; descend
	 * nodes, then walk leaves to the right while the hash goes on */
	uint64_t dablk = leafblk;
	unsigned level = XFS_DA_NODE_MAXDEPTH, hops = 0;
	bool leaf_seen = false;
	for (;;) {
		if (dablk < leafblk || dablk >= freeblk ||
		    dablk % fs->dirblkfsbs) {
			r = VMIE_CORRUPT(err, "xfs: directory inode %llu: hash "
					 "tree points at block %llu, outside "
					 "the leaf space",
					 (unsigned long long)ip->ino,
					 (unsigned long long)dablk);
			goto out;
		}
		r = xfs_read_data(fs, ip, blk, fs->dirblksize,
				  dablk << fs->blocklog, err);
		if (r)
			goto out;
		unsigned magic = vmie_be16(blk + 8);
		uint32_t count = vmie_be16(blk + cnt_at);
		if (count > (fs->dirblksize - hdr) / 8)
			goto bad_block;
		if (magic == (fs->v5 ? XFS_DA3_NODE_MAGIC : XFS_DA_NODE_MAGIC)) {
			unsigned lvl = vmie_be16(blk + cnt_at + 2);
			if (leaf_seen || count == 0 || lvl == 0 || lvl >= level)
				goto bad_block;
			level = lvl;
			uint32_t i = 0;
			while (i + 1 < count &&
			       vmie_be32(blk + hdr + (size_t)i * 8) < h.hash)
				i++;
			dablk = vmie_be32(blk + hdr + (size_t)i * 8 + 4);
			continue;
		}
		bool leaf1 = magic == (fs->v5 ? XFS_DIR3_LEAF1_MAGIC
					      : XFS_DIR2_LEAF1_MAGIC);
		bool leafn = magic == (fs->v5 ? XFS_DIR3_LEAFN_MAGIC
					      : XFS_DIR2_LEAFN_MAGIC);
		if ((!leaf1 && !leafn) || (leaf1 && dablk != leafblk))
			goto bad_block;
		leaf_seen = true;
		r = xfs_hl_leaf(&h, blk + hdr, count, &more, err);
		if (r || !more || leaf1)
			break;
		uint32_t forw = vmie_be32(blk);
		if (forw == 0)
			break;
		/* siblings follow hash order, not block order: only the
		 * number of hops bounds a loop */
		if (++hops > 64 || forw == dablk) {
			r = VMIE_CORRUPT(err, "xfs: directory inode %llu: leaf "
					 "block %llu: bad right sibling %u",
					 (unsigned long long)ip->ino,
					 (unsigned long long)dablk, forw);
			goto out;
		}
		dablk = forw;
	}
done:
	if (r == 1) {
		*ino = h.ino;
		r = 0;
	} else if (r == 0) {
		r = 1;
	}
	goto out;
bad_block:
	r = VMIE_CORRUPT(err, "xfs: directory inode %llu: bad hash tree block "
			 "%llu (magic 0x%04x, %u entries)",
			 (unsigned long long)ip->ino, (unsigned long long)dablk,
			 vmie_be16(blk + 8), vmie_be16(blk + cnt_at));
out:
	free(blk);
	free(h.data);
	return r;
}

/* ---- the driver ---- */

static enum vmie_ftype xfs_dir_ftype(unsigned ft)
{
	static const enum vmie_ftype map[] = {
		[XFS_DIR3_FT_REG_FILE] = VMIE_FT_REG,
		[XFS_DIR3_FT_DIR] = VMIE_FT_DIR,
		[XFS_DIR3_FT_CHRDEV] = VMIE_FT_CHR,
		[XFS_DIR3_FT_BLKDEV] = VMIE_FT_BLK,
		[XFS_DIR3_FT_FIFO] = VMIE_FT_FIFO,
		[XFS_DIR3_FT_SOCK] = VMIE_FT_SOCK,
		[XFS_DIR3_FT_SYMLINK] = VMIE_FT_LNK,
	};
	return ft < sizeof map / sizeof map[0] ? map[ft] : VMIE_FT_UNKNOWN;
}

static int xfs_open(struct vmie_fs *vfs, struct vmie_err *err)
{
	uint8_t b[XFS_SB_SIZE];
	struct xfs_sb sb;
	struct xfs_fs *fs = NULL;
	struct xfs_inode *root = NULL;
	const char *why;
	uint64_t bytes;
	int r;

	if (vfs->dev->size < 4096)
		return VMIE_CORRUPT(err, "xfs: device too small");
	r = vmie_image_pread(vfs->dev, b, sizeof b, 0, err);
	if (r)
		return r;
	if (vmie_be32(b) != XFS_SB_MAGIC)
		return VMIE_ERR(err, VMIE_EFORMAT, "xfs: no superblock magic");
	xfs_sb_decode(b, &sb);
	if ((why = xfs_sb_invalid(&sb)))
		return VMIE_CORRUPT(err, "xfs: superblock: %s", why);
	if (sb.version == 5) {
		uint8_t *s = malloc(sb.sectsize);
		if (!s)
			return VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
		r = vmie_image_pread(vfs->dev, s, sb.sectsize, 0, err);
		if (!r) {
			uint32_t want = vmie_le32(s + XFS_SB_CRC_OFF);
			memset(s + XFS_SB_CRC_OFF, 0, 4);
			if (vmie_crc32c(0, s, sb.sectsize) != want)
				r = VMIE_CORRUPT(err, "xfs: superblock CRC "
						 "mismatch");
		}
		free(s);
		if (r)
			return r;
		if (sb.incompat & ~XFS_INCOMPAT_KNOWN)
			return VMIE_ERR(err, VMIE_EUNSUPP, "xfs: unknown "
					"incompatible feature bits 0x%x: this "
					"file system is newer than vmie's "
					"reader", sb.incompat &
					~XFS_INCOMPAT_KNOWN);
	} else if (!(sb.versionnum & XFS_SB_VERSION_DIRV2)) {
		return VMIE_ERR(err, VMIE_EUNSUPP, "xfs: version 1 directories "
				"(IRIX era) are not supported");
	}
	bytes = sb.dblocks << sb.blocklog;
	if (bytes > vfs->dev->size)
		return VMIE_CORRUPT(err, "xfs: the file system needs %llu bytes "
				    "but the device holds %llu (truncated)",
				    (unsigned long long)bytes,
				    (unsigned long long)vfs->dev->size);
	fs = calloc(1, sizeof *fs);
	root = malloc(sizeof *root);
	if (!fs || !root) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
		goto out;
	}
	fs->dev = vfs->dev;
	fs->blocksize = sb.blocksize;
	fs->blocklog = sb.blocklog;
	fs->sectsize = sb.sectsize;
	fs->inodesize = sb.inodesize;
	fs->inopblog = sb.inopblog;
	fs->agblocks = sb.agblocks;
	fs->agcount = sb.agcount;
	fs->agblklog = sb.agblklog;
	fs->dblocks = sb.dblocks;
	fs->dirblksize = sb.blocksize << sb.dirblklog;
	fs->dirblkfsbs = 1u << sb.dirblklog;
	fs->rootino = sb.rootino;
	fs->v5 = sb.version == 5;
	fs->ftype = fs->v5 ? !!(sb.incompat & XFS_INCOMPAT_FTYPE)
			   : (sb.versionnum & XFS_SB_VERSION_MOREBITS) &&
			     (sb.features2 & XFS_SB_VERSION2_FTYPE);
	fs->asciici = !!(sb.versionnum & 0x4000);   /* BORGBIT: ASCII CI */
	r = xfs_read_inode(fs, fs->rootino, root, err);
	if (r) {
		vmie_err_prefix(err, "root directory");
		goto out;
	}
	if (vmie_ftype_from_mode(root->mode) != VMIE_FT_DIR) {
		r = VMIE_CORRUPT(err, "xfs: root inode %llu is not a directory",
				 (unsigned long long)fs->rootino);
		goto out;
	}
	vfs->root = fs->rootino;
	vfs->priv = fs;
	fs = NULL;
out:
	free(root);
	free(fs);
	return r;
}

static void xfs_close(struct vmie_fs *vfs)
{
	free(vfs->priv);
	vfs->priv = NULL;
}

/* Inodes are about 2 KiB: allocate them rather than use the stack. */
static int xfs_get_inode(struct vmie_fs *vfs, vmie_ino_t ino,
			 struct xfs_inode **out, struct vmie_err *err)
{
	struct xfs_inode *ip = malloc(sizeof *ip);
	int r;
	if (!ip)
		return VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
	r = xfs_read_inode(vfs->priv, ino, ip, err);
	if (r) {
		free(ip);
		return r;
	}
	*out = ip;
	return 0;
}

struct xfs_lookup_ctx {
	struct xfs_fs *fs;
	const char *name;
	size_t len;
	uint64_t ino;
};

static int xfs_lookup_cb(void *vctx, const struct xfs_dent *d)
{
	struct xfs_lookup_ctx *c = vctx;
	if (d->namelen != c->len)
		return 0;
	if (c->fs->asciici ? strncasecmp((const char *)d->name, c->name, c->len)
			   : memcmp(d->name, c->name, c->len))
		return 0;
	c->ino = d->ino;
	return 1;
}

static int xfs_lookup(struct vmie_fs *vfs, vmie_ino_t dir, const char *name,
		      vmie_ino_t *out, struct vmie_err *err)
{
	struct xfs_fs *fs = vfs->priv;
	struct xfs_lookup_ctx c = { fs, name, strlen(name), 0 };
	struct xfs_inode *ip;
	int r;

	if (c.len == 0 || c.len > 255)
		return VMIE_ERR(err, VMIE_ENOENT, "xfs: no entry '%s'", name);
	r = xfs_get_inode(vfs, dir, &ip, err);
	if (r)
		return r;
	if (!strcmp(name, "..") && ip->format == XFS_DINODE_FMT_LOCAL &&
	    ip->size >= 6) {
		/* short-form directories keep ".." in their header */
		*out = ip->fork[1] ? vmie_be64(ip->fork + 2)
				   : vmie_be32(ip->fork + 2);
		goto out;
	}
	if (!strcmp(name, ".")) {
		*out = dir;
		goto out;
	}
	if (ip->format != XFS_DINODE_FMT_LOCAL && !fs->asciici &&
	    vmie_ftype_from_mode(ip->mode) == VMIE_FT_DIR)
		r = xfs_dir_hashed(fs, ip, name, c.len, &c.ino, err);
	else if ((r = xfs_dir_iterate(fs, ip, xfs_lookup_cb, &c, err)) >= 0)
		r = r == 1 ? 0 : 1;    /* found, or not there */
	if (r == 0) {
		*out = c.ino;
	} else if (r == 1) {
		r = VMIE_ERR(err, VMIE_ENOENT, "xfs: no entry '%s' in "
			     "directory inode %llu", name,
			     (unsigned long long)dir);
	}
out:
	free(ip);
	return r;
}

static int xfs_stat(struct vmie_fs *vfs, vmie_ino_t ino, struct vmie_stat *st,
		    struct vmie_err *err)
{
	struct xfs_inode *ip;
	int r = xfs_get_inode(vfs, ino, &ip, err);
	if (r)
		return r;
	memset(st, 0, sizeof *st);
	st->type = vmie_ftype_from_mode(ip->mode);
	st->size = ip->size;
	st->mode = ip->mode & 07777;
	st->uid = ip->uid;
	st->gid = ip->gid;
	st->mtime = ip->mtime;
	st->nlink = ip->nlink;
	st->ino = ino;
	free(ip);
	return 0;
}

static int xfs_read(struct vmie_fs *vfs, vmie_ino_t ino, void *buf,
		    size_t len, uint64_t off, size_t *got,
		    struct vmie_err *err)
{
	struct xfs_inode *ip;
	int r = xfs_get_inode(vfs, ino, &ip, err);
	*got = 0;
	if (r)
		return r;
	if (off >= ip->size || len == 0)
		goto out;
	len = (size_t)vmie_min_u64(len, ip->size - off);
	switch (ip->format) {
	case XFS_DINODE_FMT_LOCAL:
		memcpy(buf, ip->fork + off, len);
		break;
	case XFS_DINODE_FMT_EXTENTS:
	case XFS_DINODE_FMT_BTREE:
		r = xfs_read_data(vfs->priv, ip, buf, len, off, err);
		break;
	default:
		r = VMIE_ERR(err, VMIE_EINVAL, "xfs: inode %llu has no data",
			     (unsigned long long)ino);
	}
	if (!r)
		*got = len;
out:
	free(ip);
	return r;
}

struct xfs_readdir_ctx {
	vmie_dirent_cb cb;
	void *ctx;
};

static int xfs_readdir_cb(void *vctx, const struct xfs_dent *d)
{
	struct xfs_readdir_ctx *c = vctx;
	struct vmie_dirent de;
	if ((d->namelen == 1 && d->name[0] == '.') ||
	    (d->namelen == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	memcpy(de.name, d->name, d->namelen);
	de.name[d->namelen] = 0;
	de.type = xfs_dir_ftype(d->ftype);
	de.ino = d->ino;
	return c->cb(c->ctx, &de);
}

static int xfs_readdir(struct vmie_fs *vfs, vmie_ino_t dir, vmie_dirent_cb cb,
		       void *ctx, struct vmie_err *err)
{
	struct xfs_readdir_ctx c = { cb, ctx };
	struct xfs_inode *ip;
	int r = xfs_get_inode(vfs, dir, &ip, err);
	if (r)
		return r;
	r = xfs_dir_iterate(vfs->priv, ip, xfs_readdir_cb, &c, err);
	free(ip);
	return r;
}

static int xfs_readlink(struct vmie_fs *vfs, vmie_ino_t ino, char *buf,
			size_t size, struct vmie_err *err)
{
	struct xfs_fs *fs = vfs->priv;
	struct xfs_inode *ip;
	uint8_t *blk = NULL;
	char target[XFS_SYMLINK_MAXLEN + 1];
	int r = xfs_get_inode(vfs, ino, &ip, err);
	if (r)
		return r;
	if (vmie_ftype_from_mode(ip->mode) != VMIE_FT_LNK) {
		r = VMIE_ERR(err, VMIE_EINVAL, "xfs: inode %llu is not a "
			     "symlink", (unsigned long long)ino);
		goto out;
	}
	if (ip->size == 0 || ip->size > XFS_SYMLINK_MAXLEN) {
		r = VMIE_CORRUPT(err, "xfs: symlink inode %llu: bad length %llu",
				 (unsigned long long)ino,
				 (unsigned long long)ip->size);
		goto out;
	}
	size_t len = (size_t)ip->size;
	if (ip->format == XFS_DINODE_FMT_LOCAL) {
		memcpy(target, ip->fork, len);
	} else {
		/* v5 blocks start with a header, then up to blocksize - hdr
		 * bytes; mkfs.xfs -p (6.1) writes v5 remote symlinks without
		 * it, so a first block without the magic is read as v4 */
		size_t hdr = 0, done = 0;
		blk = malloc(fs->blocksize);
		if (!blk) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "xfs: out of memory");
			goto out;
		}
		for (uint64_t lb = 0; done < len; lb++) {
			r = xfs_read_data(fs, ip, blk, fs->blocksize,
					  lb << fs->blocklog, err);
			if (r)
				break;
			if (lb == 0 && fs->v5 &&
			    vmie_be32(blk) == XFS_SYMLINK_MAGIC)
				hdr = XFS_SYMLINK_HDR_LEN;
			size_t n = vmie_min_u64(fs->blocksize - hdr, len - done);
			if (hdr && (vmie_be32(blk) != XFS_SYMLINK_MAGIC ||
				    vmie_be32(blk + 4) != done ||
				    vmie_be32(blk + 8) != n)) {
				r = VMIE_CORRUPT(err, "xfs: symlink inode %llu: "
						 "bad remote block %llu",
						 (unsigned long long)ino,
						 (unsigned long long)lb);
				break;
			}
			memcpy(target + done, blk + hdr, n);
			done += n;
		}
	}
	if (r)
		goto out;
	target[len] = 0;
	if (size)
		vmie_strlcpy(buf, target, size);
out:
	free(blk);
	free(ip);
	return r;
}

const struct vmie_fs_driver vmie_fsdrv_xfs = {
	.name = "xfs",
	.probe = xfs_probe,
	.open = xfs_open,
	.lookup = xfs_lookup,
	.stat = xfs_stat,
	.read = xfs_read,
	.readdir = xfs_readdir,
	.readlink = xfs_readlink,
	.close = xfs_close,
};
