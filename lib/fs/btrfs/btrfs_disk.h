/*
 * Btrfs on-disk layout, as far as a read-only reader needs it.
 *
 * Source: the Btrfs documentation, "On-disk Format" (btrfs.readthedocs.io,
 * formerly the btrfs wiki), sections Superblock, Header, Key, Item, Chunk
 * tree, Root tree, FS tree, EXTENT_DATA.  All integers are little-endian;
 * decode with vmie_le16/32/64.
 *
 * Superblock (4096 bytes at 64 KiB; mirrors at 64 MiB and 256 GiB):
 *   0x00 csum[32]            0x20 fsid[16]          0x30 bytenr u64
 *   0x40 magic "_BHRfS_M"    0x48 generation u64    0x50 root u64
 *   0x58 chunk_root u64      0x60 log_root u64      0x70 total_bytes u64
 *   0x78 bytes_used u64      0x80 root_dir_objectid u64 (6)
 *   0x88 num_devices u64     0x90 sectorsize u32    0x94 nodesize u32
 *   0xa0 sys_chunk_array_size u32                   0xac compat_flags u64
 *   0xb4 compat_ro_flags u64 0xbc incompat_flags u64
 *   0xc4 csum_type u16       0xc6 root_level u8     0xc7 chunk_root_level u8
 *   0xc9 dev_item (98 bytes; devid u64 first)      0x12b label[256]
 *   0x32b sys_chunk_array[2048]: (key, chunk item) pairs
 *
 * Tree block header (101 bytes):
 *   0x00 csum[32]  0x20 fsid[16]  0x30 bytenr u64  0x38 flags u64
 *   0x40 chunk_tree_uuid[16]      0x50 generation u64  0x58 owner u64
 *   0x60 nritems u32              0x64 level u8
 * Key (17 bytes): objectid u64, type u8, offset u64.
 * Leaf item (25 bytes): key, data offset u32 (from the end of the header),
 *   data size u32.  Node pointer (33 bytes): key, blockptr u64, gen u64.
 *
 * Chunk item (48 bytes + 32 per stripe): length u64, owner u64,
 *   stripe_len u64, type u64, io_align u32, io_width u32, sector_size u32,
 *   num_stripes u16, sub_stripes u16; stripe: devid u64, offset u64,
 *   dev_uuid[16].
 * Root item: inode item (160), generation 160, root_dirid 168, bytenr 176,
 *   ..., flags u64 208 (bit 0: read-only subvolume), refs u32 216, ...,
 *   level u8 238; newer root items go on: generation_v2 u64 239,
 *   uuid[16] 247, parent_uuid[16] 263 (set on a snapshot), ...
 * Root ref / backref: dirid u64, sequence u64, name_len u16, name.
 * Inode ref (key: inode, INODE_REF, parent directory): index u64,
 *   name_len u16, name; several may be packed in one item (hard links).
 * Inode item (160): size 16, nbytes 24, nlink u32 40, uid 44, gid 48,
 *   mode 52, flags u64 64, atime 112, ctime 124, mtime 136 (sec u64,
 *   nsec u32), otime 148.
 * Dir item (30 + name + data): location key 0, transid 17, data_len u16 25,
 *   name_len u16 27, type u8 29; one DIR_ITEM may pack several entries
 *   whose names hash alike.  Its key offset is crc32c(~1, name) without
 *   the final inversion.
 * File extent item: generation 0, ram_bytes 8, compression u8 16,
 *   encryption u8 17, other_encoding u16 18, type u8 20; inline data at 21;
 *   regular/prealloc: disk_bytenr 21, disk_num_bytes 29, offset 37,
 *   num_bytes 45 (53 bytes).
 * LZO extents: le32 total length, then segments (le32 length, LZO1X data
 *   of at most one sector decompressed); a segment header never straddles
 *   a sector boundary (padding instead).
 */
#ifndef VMIE_FS_BTRFS_DISK_H
#define VMIE_FS_BTRFS_DISK_H

#include <stdint.h>

#define BTRFS_SUPER_OFFSET      0x10000
#define BTRFS_SUPER_SIZE        4096
#define BTRFS_MAGIC             "_BHRfS_M"
#define BTRFS_SYS_ARRAY_OFF     0x32b
#define BTRFS_SYS_ARRAY_MAX     2048
#define BTRFS_CSUM_SIZE         32
#define BTRFS_CSUM_CRC32C       0

#define BTRFS_HEADER_SIZE       101
#define BTRFS_KEY_SIZE          17
#define BTRFS_ITEM_SIZE         25
#define BTRFS_KEY_PTR_SIZE      33
#define BTRFS_MAX_LEVEL         8

#define BTRFS_CHUNK_ITEM_SIZE   48
#define BTRFS_STRIPE_SIZE       32
#define BTRFS_ROOT_ITEM_MIN     239
#define BTRFS_ROOT_ITEM_FLAGS_OFF   208
#define BTRFS_ROOT_ITEM_PUUID_OFF   263     /* parent_uuid[16] */
#define BTRFS_ROOT_SUBVOL_RDONLY    1ull
#define BTRFS_ROOT_REF_HDR      18      /* dirid, sequence, name_len */
#define BTRFS_INODE_REF_HDR     10      /* index, name_len */
#define BTRFS_INODE_ITEM_SIZE   160
#define BTRFS_DIR_ITEM_HDR      30
#define BTRFS_FILE_EXTENT_INLINE_OFF 21
#define BTRFS_FILE_EXTENT_REG_SIZE   53

/* item types */
#define BTRFS_INODE_ITEM_KEY    1
#define BTRFS_INODE_REF_KEY     12
#define BTRFS_DIR_ITEM_KEY      84
#define BTRFS_DIR_INDEX_KEY     96
#define BTRFS_EXTENT_DATA_KEY   108
#define BTRFS_ROOT_ITEM_KEY     132
#define BTRFS_ROOT_BACKREF_KEY  144
#define BTRFS_ROOT_REF_KEY      156
#define BTRFS_CHUNK_ITEM_KEY    228

/* object ids */
#define BTRFS_FS_TREE_OBJECTID      5
/* the inode number Linux gives the empty directory standing for a nested
 * subvolume inside a snapshot; never an inode item */
#define BTRFS_EMPTY_SUBVOL_DIR      2
#define BTRFS_FIRST_FREE_OBJECTID   256
#define BTRFS_LAST_FREE_OBJECTID    ((uint64_t)-256)
#define BTRFS_FIRST_CHUNK_TREE_OBJECTID 256

/* block group / chunk type bits */
#define BTRFS_BLOCK_GROUP_RAID0     (1u << 3)
#define BTRFS_BLOCK_GROUP_RAID1     (1u << 4)
#define BTRFS_BLOCK_GROUP_DUP       (1u << 5)
#define BTRFS_BLOCK_GROUP_RAID10    (1u << 6)
#define BTRFS_BLOCK_GROUP_RAID5     (1u << 7)
#define BTRFS_BLOCK_GROUP_RAID6     (1u << 8)
#define BTRFS_BLOCK_GROUP_RAID1C3   (1u << 9)
#define BTRFS_BLOCK_GROUP_RAID1C4   (1u << 10)
#define BTRFS_BLOCK_GROUP_PROFILES  0x7d8u   /* every profile but DUP */

/* incompat features the reader handles: MIXED_BACKREF, DEFAULT_SUBVOL,
 * MIXED_GROUPS, COMPRESS_LZO, COMPRESS_ZSTD, BIG_METADATA, EXTENDED_IREF,
 * RAID56 (refused per chunk), SKINNY_METADATA, NO_HOLES, METADATA_UUID,
 * RAID1C34 (refused per chunk), ZONED, SIMPLE_QUOTA (0x10000).  Not:
 * EXTENT_TREE_V2 (0x2000), RAID_STRIPE_TREE (0x4000). */
#define BTRFS_INCOMPAT_KNOWN    0x11fffull

/* file extent types and compression */
#define BTRFS_FILE_EXTENT_INLINE    0
#define BTRFS_FILE_EXTENT_REG       1
#define BTRFS_FILE_EXTENT_PREALLOC  2
#define BTRFS_COMPRESS_NONE     0
#define BTRFS_COMPRESS_ZLIB     1
#define BTRFS_COMPRESS_LZO      2
#define BTRFS_COMPRESS_ZSTD     3

/* dir entry types */
enum btrfs_ft {
	BTRFS_FT_UNKNOWN = 0, BTRFS_FT_REG_FILE, BTRFS_FT_DIR,
	BTRFS_FT_CHRDEV, BTRFS_FT_BLKDEV, BTRFS_FT_FIFO, BTRFS_FT_SOCK,
	BTRFS_FT_SYMLINK, BTRFS_FT_XATTR,
};

#endif
