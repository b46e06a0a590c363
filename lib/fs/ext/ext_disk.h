/*
 * The parts of the ext2/3/4 superblock that vmie decodes itself, for
 * probing (reading goes through libext2fs).  Source: the Linux kernel's
 * Documentation/filesystems/ext4/super.rst ("The Super Block"), and
 * fs/ext4/ext4.h struct ext4_super_block.  All fields little-endian.
 *
 *   offset  size  field
 *   0x000   4     s_inodes_count
 *   0x004   4     s_blocks_count_lo
 *   0x00C   4     s_free_blocks_count_lo
 *   0x018   4     s_log_block_size       block size = 1024 << this
 *   0x038   2     s_magic                0xEF53
 *   0x03E   2     s_minor_rev_level
 *   0x04C   4     s_rev_level
 *   0x05C   4     s_feature_compat       0x4 has_journal
 *   0x060   4     s_feature_incompat     see EXT_INCOMPAT_*
 *   0x064   4     s_feature_ro_compat
 *   0x068   16    s_uuid
 *   0x078   16    s_volume_name
 *   0x150   4     s_blocks_count_hi      (64bit feature)
 *   0x158   4     s_free_blocks_hi       (64bit feature)
 *
 * The superblock sits at byte 1024 of the file system whatever the block
 * size.
 */
#ifndef VMIE_FS_EXT_DISK_H
#define VMIE_FS_EXT_DISK_H

#define EXT_SB_OFFSET           1024
#define EXT_SB_SIZE             1024

#define EXT_SB_INODES_COUNT     0x000
#define EXT_SB_BLOCKS_LO        0x004
#define EXT_SB_FREE_BLOCKS_LO   0x00C
#define EXT_SB_LOG_BLOCK_SIZE   0x018
#define EXT_SB_MAGIC            0x038
#define EXT_SB_MINOR_REV        0x03E
#define EXT_SB_REV_LEVEL        0x04C
#define EXT_SB_COMPAT           0x05C
#define EXT_SB_INCOMPAT         0x060
#define EXT_SB_RO_COMPAT        0x064
#define EXT_SB_UUID             0x068
#define EXT_SB_VOLUME_NAME      0x078
#define EXT_SB_BLOCKS_HI        0x150
#define EXT_SB_FREE_BLOCKS_HI   0x158

#define EXT_MAGIC               0xEF53

#define EXT_COMPAT_HAS_JOURNAL          0x0004
#define EXT_INCOMPAT_FILETYPE           0x0002
#define EXT_INCOMPAT_RECOVER            0x0004
#define EXT_INCOMPAT_JOURNAL_DEV        0x0008
#define EXT_INCOMPAT_META_BG            0x0010
#define EXT_INCOMPAT_64BIT              0x0080
#define EXT_RO_COMPAT_SPARSE_SUPER      0x0001
#define EXT_RO_COMPAT_LARGE_FILE        0x0002
#define EXT_RO_COMPAT_BTREE_DIR         0x0004

/* What ext2 and ext3 (the old drivers) understand: anything else makes the
 * file system ext4, as blkid decides. */
#define EXT2_KNOWN_INCOMPAT  (EXT_INCOMPAT_FILETYPE | EXT_INCOMPAT_META_BG)
#define EXT3_KNOWN_INCOMPAT  (EXT2_KNOWN_INCOMPAT | EXT_INCOMPAT_RECOVER)
#define EXT23_KNOWN_RO_COMPAT (EXT_RO_COMPAT_SPARSE_SUPER | \
			       EXT_RO_COMPAT_LARGE_FILE | \
			       EXT_RO_COMPAT_BTREE_DIR)

/* Block size limit (64 KiB: log 6). */
#define EXT_MAX_LOG_BLOCK_SIZE  6

#endif
