/*
 * The parts of NTFS that vmie decodes itself, for probing (reading goes
 * through libntfs-3g).  Sources: the Linux-NTFS project's "NTFS
 * Documentation" (Richard Russon, Yuval Fledel), chapters "Boot sector",
 * "MFT file record", "Attributes: $VOLUME_NAME, $VOLUME_INFORMATION",
 * "Fixup"; and Microsoft's reparse point formats ([MS-FSCC] 2.1.2.4
 * Symbolic Link, 2.1.2.5 Mount Point).  All fields little-endian.
 *
 * Boot sector:
 *   0x003  8  "NTFS    "
 *   0x00B  2  bytes per sector         256..4096, power of two
 *   0x00D  1  sectors per cluster      power of two; >= 0xF4: 2^(256-x)
 *   0x00E  2  reserved sectors         0
 *   0x010  3  (FAT fields)             0
 *   0x013  2  (FAT fields)             0
 *   0x016  2  (FAT fields)             0
 *   0x020  4  (FAT fields)             0
 *   0x028  8  total sectors
 *   0x030  8  $MFT cluster number
 *   0x040  1  clusters per MFT record  signed; < 0: 2^-x bytes
 *   0x048  8  volume serial number     (blkid prints it as 16 hex digits)
 *   0x1FE  2  0x55 0xAA
 *
 * MFT record ("FILE"): 0x04 update sequence offset, 0x06 its count (in
 * entries, one per 512-byte block plus one), 0x14 first attribute offset,
 * 0x18 bytes in use.  Attribute: 0x00 type, 0x04 length, 0x08 non-resident,
 * resident value length @0x10 (4), value offset @0x14 (2).  Record 3 is
 * $Volume: $VOLUME_NAME (0x60, UTF-16LE) and $VOLUME_INFORMATION (0x70:
 * major version @8, minor @9).
 *
 * Reparse data (after the 8-byte header tag/length/reserved):
 *   symlink (0xA000000C):   sub name off @0, len @2, print name off @4,
 *                           len @6, flags @8 (1 = relative), names @12
 *   mount point (0xA0000003): the same without flags, names @8
 *   WSL symlink (0xA000001D): version @0 (2), UTF-8 target @4
 */
#ifndef VMIE_FS_NTFS_DISK_H
#define VMIE_FS_NTFS_DISK_H

#define NTFS_BS_OEM             0x003
#define NTFS_BS_BPS             0x00B
#define NTFS_BS_SPC             0x00D
#define NTFS_BS_RESERVED        0x00E
#define NTFS_BS_FATS            0x010
#define NTFS_BS_ROOT_ENTRIES    0x011
#define NTFS_BS_SECTORS16       0x013
#define NTFS_BS_FATSZ16         0x016
#define NTFS_BS_SECTORS32       0x020
#define NTFS_BS_TOTAL_SECTORS   0x028
#define NTFS_BS_MFT_LCN         0x030
#define NTFS_BS_CPMR            0x040
#define NTFS_BS_SERIAL          0x048
#define NTFS_BS_SIGNATURE       0x1FE

#define NTFS_REC_USA_OFS        0x04
#define NTFS_REC_USA_COUNT      0x06
#define NTFS_REC_ATTRS_OFS      0x14
#define NTFS_REC_BYTES_IN_USE   0x18
#define NTFS_FIXUP_BLOCK        512

#define NTFS_ATTR_TYPE          0x00
#define NTFS_ATTR_LEN           0x04
#define NTFS_ATTR_NONRES        0x08
#define NTFS_ATTR_VALUE_LEN     0x10
#define NTFS_ATTR_VALUE_OFS     0x14
#define NTFS_AT_VOLUME_NAME     0x60
#define NTFS_AT_VOLUME_INFO     0x70
#define NTFS_AT_END             0xFFFFFFFFu

#define NTFS_FILE_VOLUME        3
#define NTFS_MAX_RECORD         4096    /* probe reads records this big */

#define NTFS_TAG_MOUNT_POINT    0xA0000003u
#define NTFS_TAG_SYMLINK        0xA000000Cu
#define NTFS_TAG_LX_SYMLINK     0xA000001Du
#define NTFS_SYMLINK_RELATIVE   1

/* hiberfil.sys: its first 4 KiB are the header libntfs-3g checks. */
#define NTFS_HIBERFILE          "hiberfil.sys"
#define NTFS_HIBERFILE_HDR      4096

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define NTFS_EPOCH_DELTA        116444736000000000LL

#endif
