/*
 * FAT12/16/32 on-disk layout.  Source: Microsoft "FAT: General Overview of
 * On-Disk Format" (fatgen103, 2000), sections 3 (boot sector and BPB),
 * 3.5 (FAT type determination), 4 (FAT), 5 (FSInfo), 6 (directory
 * entries), 7 (long names).  All fields little-endian.
 *
 * Boot sector / BPB:
 *   0x000  3   jump (EB xx 90 or E9 xx xx)
 *   0x003  8   OEM name
 *   0x00B  2   bytes per sector      512, 1024, 2048, 4096
 *   0x00D  1   sectors per cluster   power of two, 1..128
 *   0x00E  2   reserved sectors      > 0
 *   0x010  1   number of FATs
 *   0x011  2   root entries          0 on FAT32
 *   0x013  2   total sectors (16)    0: use the 32-bit field
 *   0x015  1   media                 0xF0, 0xF8..0xFF
 *   0x016  2   FAT size (16)         0 on FAT32
 *   0x020  4   total sectors (32)
 * FAT12/16 extension:
 *   0x026  1   boot signature 0x29 (then the next two are valid)
 *   0x027  4   volume id
 *   0x02B  11  volume label
 *   0x036  8   "FAT12   " / "FAT16   " (a hint only)
 * FAT32 extension:
 *   0x024  4   FAT size (32)
 *   0x028  2   ext flags             bit 7: only FAT (bits 0-3) active
 *   0x02C  4   root cluster
 *   0x030  2   FSInfo sector
 *   0x042  1   boot signature 0x29
 *   0x043  4   volume id
 *   0x047  11  volume label
 *   0x052  8   "FAT32   " (a hint only)
 *   0x1FE  2   0x55 0xAA
 *
 * FSInfo sector: 0x000 lead signature 0x41615252, 0x1E4 struct signature
 * 0x61417272, 0x1E8 free cluster count (0xFFFFFFFF unknown).
 *
 * Directory entry (32 bytes):
 *   0x00  11  name (8 + 3, space padded; 0x00 end, 0xE5 deleted,
 *             0x05 = a first byte of 0xE5)
 *   0x0B  1   attributes: 01 RO 02 hidden 04 system 08 volume id
 *             10 directory 20 archive; 0F = long name entry
 *   0x0C  1   NT case flags: 08 base lower case, 10 extension lower case
 *   0x14  2   first cluster high (FAT32)
 *   0x16  2   write time  (h << 11 | m << 5 | s / 2)
 *   0x18  2   write date  ((y - 1980) << 9 | m << 5 | d)
 *   0x1A  2   first cluster low
 *   0x1C  4   file size
 * Long name entry: 0x00 ordinal (0x40 = last, 1..20), 0x01 5 UCS-2,
 *   0x0B attribute 0x0F, 0x0D checksum of the 8.3 name, 0x0E 6 UCS-2,
 *   0x1A cluster 0, 0x1C 2 UCS-2.
 */
#ifndef VMIE_FS_FAT_DISK_H
#define VMIE_FS_FAT_DISK_H

#define FAT_BS_JUMP             0x000
#define FAT_BS_OEM              0x003
#define FAT_BS_BYTES_PER_SEC    0x00B
#define FAT_BS_SEC_PER_CLUS     0x00D
#define FAT_BS_RESERVED         0x00E
#define FAT_BS_NUM_FATS         0x010
#define FAT_BS_ROOT_ENTRIES     0x011
#define FAT_BS_TOTAL16          0x013
#define FAT_BS_MEDIA            0x015
#define FAT_BS_FATSZ16          0x016
#define FAT_BS_TOTAL32          0x020
#define FAT_BS16_BOOT_SIG       0x026
#define FAT_BS16_VOL_ID         0x027
#define FAT_BS16_LABEL          0x02B
#define FAT_BS32_FATSZ32        0x024
#define FAT_BS32_EXT_FLAGS      0x028
#define FAT_BS32_ROOT_CLUS      0x02C
#define FAT_BS32_FSINFO         0x030
#define FAT_BS32_BOOT_SIG       0x042
#define FAT_BS32_VOL_ID         0x043
#define FAT_BS32_LABEL          0x047
#define FAT_BS_SIGNATURE        0x1FE

#define FAT_FSI_LEAD_SIG        0x41615252
#define FAT_FSI_STRUC_SIG       0x61417272
#define FAT_FSI_STRUC_OFF       0x1E4
#define FAT_FSI_FREE_OFF        0x1E8

#define FAT_DE_SIZE             32
#define FAT_DE_NAME             0x00
#define FAT_DE_ATTR             0x0B
#define FAT_DE_NTRES            0x0C
#define FAT_DE_CLUS_HI          0x14
#define FAT_DE_WTIME            0x16
#define FAT_DE_WDATE            0x18
#define FAT_DE_CLUS_LO          0x1A
#define FAT_DE_SIZE_OFF         0x1C

#define FAT_ATTR_RO             0x01
#define FAT_ATTR_VOLUME         0x08
#define FAT_ATTR_DIR            0x10
#define FAT_ATTR_LFN            0x0F
#define FAT_NTRES_LOWER_BASE    0x08
#define FAT_NTRES_LOWER_EXT     0x10

#define FAT_LFN_ORD             0x00
#define FAT_LFN_CHKSUM          0x0D
#define FAT_LFN_LAST            0x40
#define FAT_LFN_MAX_ORD         20      /* 20 * 13 = 260 >= 255 units */

/* Cluster count thresholds (fatgen103 section 3.5). */
#define FAT12_MAX_CLUSTERS      4084    /* < 4085 */
#define FAT16_MAX_CLUSTERS      65524   /* < 65525 */
#define FAT32_MAX_CLUSTERS      0x0FFFFFF5

/* A directory holds at most 65536 entries (fatgen103 section 6). */
#define FAT_MAX_DIR_BYTES       (65536u * 32u)

#endif
