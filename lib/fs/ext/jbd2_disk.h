/*
 * The jbd2 journal of ext3/ext4, on disk.  Source: the Linux kernel's
 * Documentation/filesystems/ext4/journal.rst ("Journal (jbd2)": block
 * header, super block, descriptor block, tags, revocation block, commit
 * block) and the behaviour of fs/jbd2/recovery.c (facts only: tag sizes,
 * checksum inputs, when a transaction counts as committed).
 * All jbd2 fields are BIG-endian, unlike ext4's.
 *
 * Every journal block starts with a 12-byte header:
 *   0x00  4  h_magic       0xC03B3998
 *   0x04  4  h_blocktype   1 descriptor, 2 commit, 3 superblock v1,
 *                          4 superblock v2, 5 revoke
 *   0x08  4  h_sequence    transaction id (tid) the block belongs to
 *
 * Journal superblock (journal block 0, 1024 bytes):
 *   0x0C  4  s_blocksize   must equal the file system block size
 *   0x10  4  s_maxlen      blocks in the journal
 *   0x14  4  s_first       first block of the log area
 *   0x18  4  s_sequence    tid of the first transaction to replay
 *   0x1C  4  s_start       journal block of that transaction; 0 = clean
 *   0x20  4  s_errno
 *   --- v2 only ---
 *   0x24  4  s_feature_compat     0x1 COMPAT_CHECKSUM (v1 crc32 in commits)
 *   0x28  4  s_feature_incompat   see JBD2_INCOMPAT_*
 *   0x2C  4  s_feature_ro_compat
 *   0x30 16  s_uuid               checksum seed (crc32c of it)
 *   0x50  1  s_checksum_type      4 = crc32c (CSUM_V2/V3 need it)
 *   0x54  4  s_num_fc_blks        fast-commit blocks (0: 256)
 *   0xFC  4  s_checksum           crc32c of the 1024 bytes, field zeroed
 *
 * Descriptor block: header, then tags until one has LAST_TAG or the next
 * would not fit (the last 4 bytes are a checksum tail with CSUM_V2/V3).
 * Each tag is followed by a 16-byte UUID unless it has SAME_UUID; the
 * logged blocks follow the descriptor in the log, one per tag.
 *   tag3 (CSUM_V3), 16 bytes:   0 blocknr, 4 flags (32), 8 blocknr_high,
 *                               12 checksum (32)
 *   tag (otherwise):            0 blocknr, 4 checksum (16), 6 flags (16),
 *                               8 blocknr_high (64BIT only)
 *     size: 8, +4 with 64BIT, +2 with CSUM_V2 (kept for compatibility)
 *   Either way the low 16 flag bits are at offset 6.
 *   Tag checksum: crc32c(seed, be32 tid, logged block); CSUM_V2 keeps
 *   the low 16 bits.
 *
 * Revoke block: header, 0x0C r_count (bytes used including the 16-byte
 * header), then block numbers (8 bytes with 64BIT, else 4).
 * Commit block: header, 0x0C h_chksum_type, 0x0D h_chksum_size,
 * 0x10 h_chksum[0] (CSUM_V2/V3: crc32c(seed, block with this zeroed);
 * COMPAT_CHECKSUM: crc32_be of the descriptor and logged blocks),
 * 0x30 h_commit_sec (8).
 *
 * "crc32c(seed, ...)" is the raw CRC update of the kernel (no final
 * inversion); seed = crc32c(~0, s_uuid).
 */
#ifndef VMIE_FS_EXT_JBD2_DISK_H
#define VMIE_FS_EXT_JBD2_DISK_H

#define JBD2_MAGIC              0xC03B3998u

#define JBD2_H_MAGIC            0x00
#define JBD2_H_BLOCKTYPE        0x04
#define JBD2_H_SEQUENCE         0x08
#define JBD2_HEADER_SIZE        12

#define JBD2_DESCRIPTOR_BLOCK   1
#define JBD2_COMMIT_BLOCK       2
#define JBD2_SUPERBLOCK_V1      3
#define JBD2_SUPERBLOCK_V2      4
#define JBD2_REVOKE_BLOCK       5

#define JBD2_SB_SIZE            1024
#define JBD2_SB_BLOCKSIZE       0x0C
#define JBD2_SB_MAXLEN          0x10
#define JBD2_SB_FIRST           0x14
#define JBD2_SB_SEQUENCE        0x18
#define JBD2_SB_START           0x1C
#define JBD2_SB_ERRNO           0x20
#define JBD2_SB_COMPAT          0x24
#define JBD2_SB_INCOMPAT        0x28
#define JBD2_SB_RO_COMPAT       0x2C
#define JBD2_SB_UUID            0x30
#define JBD2_SB_CSUM_TYPE       0x50
#define JBD2_SB_NUM_FC_BLKS     0x54
#define JBD2_SB_CHECKSUM        0xFC

#define JBD2_COMPAT_CHECKSUM            0x1
#define JBD2_INCOMPAT_REVOKE            0x1
#define JBD2_INCOMPAT_64BIT             0x2
#define JBD2_INCOMPAT_ASYNC_COMMIT      0x4
#define JBD2_INCOMPAT_CSUM_V2           0x8
#define JBD2_INCOMPAT_CSUM_V3           0x10
#define JBD2_INCOMPAT_FAST_COMMIT       0x20
#define JBD2_KNOWN_INCOMPAT  (JBD2_INCOMPAT_REVOKE | JBD2_INCOMPAT_64BIT | \
			      JBD2_INCOMPAT_ASYNC_COMMIT | \
			      JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3 | \
			      JBD2_INCOMPAT_FAST_COMMIT)

#define JBD2_CSUM_TYPE_CRC32    1
#define JBD2_CSUM_TYPE_CRC32C   4
#define JBD2_DEFAULT_FC_BLOCKS  256

#define JBD2_TAG_BLOCKNR        0x00
#define JBD2_TAG_CSUM16         0x04
#define JBD2_TAG_FLAGS16        0x06    /* low 16 flag bits, both layouts */
#define JBD2_TAG_BLOCKNR_HIGH   0x08
#define JBD2_TAG3_CSUM32        0x0C
#define JBD2_TAG3_SIZE          16
#define JBD2_TAG_UUID_SIZE      16
#define JBD2_TAIL_SIZE          4

#define JBD2_FLAG_ESCAPE        0x1
#define JBD2_FLAG_SAME_UUID     0x2
#define JBD2_FLAG_DELETED       0x4
#define JBD2_FLAG_LAST_TAG      0x8

#define JBD2_REVOKE_COUNT       0x0C
#define JBD2_REVOKE_HEADER_SIZE 16

#define JBD2_COMMIT_CSUM_TYPE   0x0C
#define JBD2_COMMIT_CSUM_SIZE   0x0D
#define JBD2_COMMIT_CSUM        0x10

#endif
