/*
 * XFS on-disk layout, as far as a read-only reader needs it.
 *
 * Source: "XFS Algorithms & Data Structures" (xfs-documentation, 3rd ed.),
 * chapters "Superblocks", "On-disk Inode", "Data Extents", "Directories",
 * "Symbolic Links".  Every multi-byte field is BIG-endian; decode with
 * vmie_be16/32/64, never by casting.  Offsets below are byte offsets inside
 * the structure named in the heading.
 *
 * Superblock (sector 0 of AG 0; other AGs hold copies):
 *   0x00 magicnum "XFSB"        0x04 blocksize u32    0x08 dblocks u64
 *   0x20 uuid[16]               0x38 rootino u64      0x54 agblocks u32
 *   0x58 agcount u32            0x64 versionnum u16   0x66 sectsize u16
 *   0x68 inodesize u16          0x6a inopblock u16    0x6c fname[12]
 *   0x78 blocklog u8            0x79 sectlog u8       0x7a inodelog u8
 *   0x7b inopblog u8            0x7c agblklog u8      0x7e inprogress u8
 *   0x90 fdblocks u64           0xc0 dirblklog u8     0xc8 features2 u32
 *   0xd0 features_compat u32    0xd4 features_ro_compat u32
 *   0xd8 features_incompat u32  0xe0 crc u32 (v5, CRC-32C, field zeroed)
 *   0xf8 meta_uuid[16]
 *
 * Inode numbers: agno << (agblklog + inopblog) | agbno << inopblog | index.
 * File system block numbers (extents): agno << agblklog | agbno; the byte
 * address is (agno * agblocks + agbno) << blocklog.
 *
 * Inode core (xfs_dinode), magic "IN":
 *   0x00 magic u16   0x02 mode u16    0x04 version u8  0x05 format u8
 *   0x06 onlink u16 (v1)              0x08 uid u32     0x0c gid u32
 *   0x10 nlink u32 (v2+)              0x18 big_nextents u64 (NREXT64)
 *   0x20 atime      0x28 mtime        0x30 ctime (each 8 bytes: sec, nsec
 *        or, with BIGTIME, one u64 of ns since 1901-12-13T20:45:52Z)
 *   0x38 size u64    0x40 nblocks u64 0x48 extsize u32
 *   0x4c nextents u32 (without NREXT64)                0x52 forkoff u8
 *   0x53 aformat u8  0x5a flags u16   0x64 crc u32 (v3)
 *   0x78 flags2 u64 (v3)              0x98 ino u64 (v3)
 *   Literal area (data fork, then attribute fork at forkoff * 8) at 100
 *   (v1/v2) or 176 (v3).
 *
 * Extent record (bmbt_rec, 16 bytes, two big-endian u64 l0 l1):
 *   flag = l0 bit 63 (unwritten), startoff = l0 bits 62..9,
 *   startblock = l0 bits 8..0 : l1 bits 63..21, blockcount = l1 bits 20..0.
 *
 * Extent B-tree: root in the data fork (bmdr: level u16, numrecs u16,
 * keys u64[maxrecs], ptrs u64[maxrecs] with maxrecs = (forksize-4)/16);
 * blocks "BMAP" (v4, 24-byte header) / "BMA3" (v5, 72-byte header):
 *   0x00 magic u32  0x04 level u16  0x06 numrecs u16  0x08 leftsib u64
 *   0x10 rightsib u64  (v5: 0x18 blkno, 0x20 lsn, 0x28 uuid, 0x38 owner,
 *   0x40 crc, 0x44 pad).  Leaves hold records, nodes keys then pointers at
 *   header + maxrecs * 8, maxrecs = (blocksize - header) / 16.
 *
 * Directories (v2/v3): short-form in the inode (count u8, i8count u8,
 * parent u32/u64, then entries namelen u8, offset u16, name, [ftype u8],
 * ino u32/u64).  Otherwise data blocks of 2^dirblklog fs blocks at logical
 * byte offsets below 32 GiB: "XD2B"/"XDB3" (single block, with a leaf table
 * and an 8-byte tail count u32, stale u32 at the end) or "XD2D"/"XDD3";
 * data headers are 16 (v4) or 64 (v5) bytes.  Entries: ino u64, namelen u8,
 * name, [ftype u8], padding to 8, tag u16; free space: 0xffff, length u16.
 *
 * Hash index (leaf, node and B-tree forms), in directory blocks from the
 * 32 GiB leaf offset on; every such block starts with a blkinfo:
 *   0x00 forw u32  0x04 back u32  0x08 magic u16  0x0a pad u16
 *   (v5 adds 0x0c crc u32, 0x10 blkno u64, 0x18 lsn u64, 0x20 uuid[16],
 *   0x30 owner u64: 56 bytes).
 * Leaf (LEAF1 single leaf / LEAFN under a node): blkinfo, count u16,
 *   stale u16 (v5: pad u32): 16 (v4) or 64 (v5) bytes, then count entries
 *   (hashval u32, address u32); address = byte offset in the data space
 *   >> 3, 0 for a stale entry.  Entries are sorted by hashval.
 * Node: blkinfo, count u16, level u16 (v5: pad u32), then count entries
 *   (hashval u32 = largest hash below, before u32 = directory block).
 * A block-form directory keeps the same entries at the end of its single
 * block, before the tail (count u32, stale u32).
 * Name hash (xfs_da_hashname): for each 4 bytes c0..c3,
 *   h = c0 << 21 ^ c1 << 14 ^ c2 << 7 ^ c3 ^ rol32(h, 28); a tail of 3, 2
 *   or 1 bytes: c0 << 14 ^ c1 << 7 ^ c2 ^ rol32(h, 21), c0 << 7 ^ c1 ^
 *   rol32(h, 14), c0 ^ rol32(h, 7).
 *
 * Remote symlink blocks on v5 start with a 56-byte "XSLM" header.
 */
#ifndef VMIE_FS_XFS_DISK_H
#define VMIE_FS_XFS_DISK_H

#include <stdint.h>

#define XFS_SB_MAGIC            0x58465342u     /* "XFSB" */
#define XFS_SB_SIZE             0x108           /* bytes the reader decodes */

#define XFS_SB_VERSION_NUMBITS  0x000f
#define XFS_SB_VERSION_MOREBITS 0x8000
#define XFS_SB_VERSION_DIRV2    0x2000
#define XFS_SB_VERSION2_FTYPE   0x00000200u     /* features2, v4 */
#define XFS_SB_CRC_OFF          0xe0

/* v5 incompatible features a reader may meet (xfs_format.h numbering) */
#define XFS_INCOMPAT_FTYPE      0x01u
#define XFS_INCOMPAT_SPINODES   0x02u
#define XFS_INCOMPAT_META_UUID  0x04u
#define XFS_INCOMPAT_BIGTIME    0x08u
#define XFS_INCOMPAT_NEEDSREPAIR 0x10u
#define XFS_INCOMPAT_NREXT64    0x20u
#define XFS_INCOMPAT_EXCHRANGE  0x40u           /* log-only, data unchanged */
#define XFS_INCOMPAT_PARENT     0x80u           /* parent pointer xattrs */
#define XFS_INCOMPAT_KNOWN      0xffu

#define XFS_DINODE_MAGIC        0x494eu         /* "IN" */
#define XFS_DINODE_CORE_V2      100
#define XFS_DINODE_CORE_V3      176
#define XFS_DINODE_CRC_OFF      0x64
#define XFS_DIFLAG2_BIGTIME     (1u << 3)
#define XFS_DIFLAG2_NREXT64     (1u << 4)
#define XFS_BIGTIME_EPOCH_OFFSET 2147483648LL   /* -(INT32_MIN) seconds */

enum xfs_dinode_fmt {
	XFS_DINODE_FMT_DEV = 0, XFS_DINODE_FMT_LOCAL, XFS_DINODE_FMT_EXTENTS,
	XFS_DINODE_FMT_BTREE, XFS_DINODE_FMT_UUID,
};

#define XFS_BMAP_MAGIC          0x424d4150u     /* "BMAP" */
#define XFS_BMAP_CRC_MAGIC      0x424d4133u     /* "BMA3" */
#define XFS_BTREE_LBLOCK_LEN    24
#define XFS_BTREE_LBLOCK_CRC_LEN 72
#define XFS_BMBT_REC_LEN        16
#define XFS_BMBT_MAX_LEVELS     10              /* generous; 2^64 extents */

#define XFS_DIR2_BLOCK_MAGIC    0x58443242u     /* "XD2B" */
#define XFS_DIR2_DATA_MAGIC     0x58443244u     /* "XD2D" */
#define XFS_DIR3_BLOCK_MAGIC    0x58444233u     /* "XDB3" */
#define XFS_DIR3_DATA_MAGIC     0x58444433u     /* "XDD3" */
#define XFS_DIR2_DATA_HDR_LEN   16
#define XFS_DIR3_DATA_HDR_LEN   64
#define XFS_DIR2_LEAF_OFFSET    ((uint64_t)32 << 30)  /* data space end */
#define XFS_DIR2_FREE_TAG       0xffffu
#define XFS_DIR2_BLOCK_TAIL_LEN 8
#define XFS_DIR2_LEAF_ENTRY_LEN 8

#define XFS_DA_NODE_MAGIC       0xfebeu
#define XFS_DA3_NODE_MAGIC      0x3ebeu
#define XFS_DIR2_LEAF1_MAGIC    0xd2f1u
#define XFS_DIR2_LEAFN_MAGIC    0xd2ffu
#define XFS_DIR3_LEAF1_MAGIC    0x3df1u
#define XFS_DIR3_LEAFN_MAGIC    0x3dffu
#define XFS_DA_HDR_LEN          16              /* node and leaf, v4 */
#define XFS_DA3_HDR_LEN         64              /* node and leaf, v5 */
#define XFS_DA_NODE_MAXDEPTH    5
#define XFS_DIR2_DATA_ALIGN_LOG 3

#define XFS_SYMLINK_MAGIC       0x58534c4du     /* "XSLM" */
#define XFS_SYMLINK_HDR_LEN     56
#define XFS_SYMLINK_MAXLEN      1024

/* Directory entry file types (ftype feature) */
enum xfs_dir3_ft {
	XFS_DIR3_FT_UNKNOWN = 0, XFS_DIR3_FT_REG_FILE, XFS_DIR3_FT_DIR,
	XFS_DIR3_FT_CHRDEV, XFS_DIR3_FT_BLKDEV, XFS_DIR3_FT_FIFO,
	XFS_DIR3_FT_SOCK, XFS_DIR3_FT_SYMLINK, XFS_DIR3_FT_WHT,
};

#endif
