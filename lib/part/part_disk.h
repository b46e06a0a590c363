/*
 * On-disk layouts read by lib/part: the MBR (and EBR), the GPT header and
 * entry, the LVM2 label, PV header and metadata-area header.  Every field
 * is decoded byte by byte with lib/core/endian.h at the offsets below; no
 * buffer is ever cast to a struct.
 *
 * Sources (facts only):
 *  - MBR / EBR: the IBM PC partition table as described in the UEFI
 *    specification 2.10, section 5.2.1 "Legacy Master Boot Record", and
 *    the extended-partition chaining convention of MS-DOS (each EBR holds
 *    one logical partition, relative to the EBR, and a link to the next
 *    EBR, relative to the start of the extended partition).
 *  - GPT: UEFI specification 2.10, section 5.3 "GUID Partition Table
 *    (GPT) Disk Layout", tables 5-5 (header) and 5-6 (entry), 5-7
 *    (attributes), 5-4 (protective MBR).
 *  - LVM2: the lvm2 on-disk format (lib/format_text/layout.h and
 *    lib/label/label.h in the LVM2 sources): label in one of the first 4
 *    512-byte sectors, PV header, metadata area with a circular text
 *    buffer.  Checksums are LVM's CRC-32 (reflected 0xEDB88320, initial
 *    value 0xf597a6cf, no final inversion).
 */
#ifndef VMIE_PART_PART_DISK_H
#define VMIE_PART_PART_DISK_H

#include <stdint.h>

/*
 * MBR / EBR sector (512 bytes):
 *   offset size  meaning
 *   0x000  440   boot code
 *   0x1B8  4     disk signature (LE)            (MBR only)
 *   0x1BC  2     usually 0
 *   0x1BE  16*4  partition entries
 *   0x1FE  2     0x55 0xAA
 *
 * Partition entry (16 bytes):
 *   0x00  1  status: 0x80 active (bootable), 0x00 inactive, other invalid
 *   0x01  3  CHS of the first sector (ignored)
 *   0x04  1  partition type
 *   0x05  3  CHS of the last sector (ignored)
 *   0x08  4  first LBA (LE): absolute in the MBR, relative in an EBR
 *   0x0C  4  number of sectors (LE)
 */
#define MBR_BOOT_CODE_LEN   440
#define MBR_DISK_ID_OFF     0x1B8
#define MBR_ENTRIES_OFF     0x1BE
#define MBR_ENTRY_LEN       16
#define MBR_SIG_OFF         0x1FE
#define MBR_E_STATUS        0x00
#define MBR_E_TYPE          0x04
#define MBR_E_LBA           0x08
#define MBR_E_NSECT         0x0C

#define MBR_TYPE_EMPTY      0x00
#define MBR_TYPE_LDM        0x42
#define MBR_TYPE_GPT_PMBR   0xEE

/*
 * GPT header (at LBA 1, backup at the last LBA), little endian:
 *   0x00  8   signature "EFI PART"
 *   0x08  4   revision (0x00010000)
 *   0x0C  4   header size (92 .. logical block size)
 *   0x10  4   header CRC-32 (computed with this field zero)
 *   0x14  4   reserved, 0
 *   0x18  8   MyLBA (this header)
 *   0x20  8   AlternateLBA (the other header)
 *   0x28  8   FirstUsableLBA
 *   0x30  8   LastUsableLBA
 *   0x38  16  disk GUID (mixed endian)
 *   0x48  8   PartitionEntryLBA
 *   0x50  4   NumberOfPartitionEntries
 *   0x54  4   SizeOfPartitionEntry (128 * 2^n)
 *   0x58  4   PartitionEntryArrayCRC32
 */
#define GPT_SIGNATURE       "EFI PART"
#define GPT_H_SIG           0x00
#define GPT_H_REVISION      0x08
#define GPT_H_SIZE          0x0C
#define GPT_H_CRC           0x10
#define GPT_H_MY_LBA        0x18
#define GPT_H_ALT_LBA       0x20
#define GPT_H_FIRST_USABLE  0x28
#define GPT_H_LAST_USABLE   0x30
#define GPT_H_DISK_GUID     0x38
#define GPT_H_ENTRIES_LBA   0x48
#define GPT_H_N_ENTRIES     0x50
#define GPT_H_ENTRY_SIZE    0x54
#define GPT_H_ENTRIES_CRC   0x58
#define GPT_HEADER_MIN      92

/*
 * GPT partition entry:
 *   0x00  16  partition type GUID (all zero: unused entry)
 *   0x10  16  unique partition GUID
 *   0x20  8   StartingLBA
 *   0x28  8   EndingLBA (inclusive)
 *   0x30  8   attributes (bit 0 required, 1 no block IO, 2 legacy BIOS
 *             bootable, 48..63 type specific)
 *   0x38  72  name, UTF-16LE, NUL padded
 */
#define GPT_E_TYPE          0x00
#define GPT_E_GUID          0x10
#define GPT_E_FIRST         0x20
#define GPT_E_LAST          0x28
#define GPT_E_ATTR          0x30
#define GPT_E_NAME          0x38
#define GPT_E_NAME_UNITS    36
#define GPT_ENTRY_MIN       128
#define GPT_ATTR_LEGACY_BOOT ((uint64_t)1 << 2)

/*
 * LVM2 label header (one 512-byte sector among sectors 0..3):
 *   0x00  8   "LABELONE"
 *   0x08  8   sector_xl: the sector holding this label
 *   0x10  4   crc_xl: CRC of bytes 0x14..0x1FF
 *   0x14  4   offset_xl: offset of the PV header from the label start
 *   0x18  8   type "LVM2 001"
 *
 * PV header (at offset_xl, normally 0x20):
 *   0x00  32  PV UUID (32 characters, no dashes)
 *   0x20  8   device size in bytes
 *   0x28  ..  data area list: { u64 offset, u64 size } until offset 0
 *         ..  metadata area list: same form, until offset 0
 *   then (version 2 PVs) an extension: u32 version, u32 flags, and a
 *   bootloader area list.
 */
#define LVM_LABEL_SCAN_SECTORS 4
#define LVM_SECTOR          512
#define LVM_L_ID            0x00
#define LVM_L_SECTOR        0x08
#define LVM_L_CRC           0x10
#define LVM_L_OFFSET        0x14
#define LVM_L_TYPE          0x18
#define LVM_LABEL_ID        "LABELONE"
#define LVM_LABEL_TYPE      "LVM2 001"
#define LVM_PVH_UUID        0x00
#define LVM_PVH_DEV_SIZE    0x20
#define LVM_PVH_AREAS       0x28
#define LVM_ID_LEN          32
#define LVM_DISK_LOCN_LEN   16

/*
 * Metadata area header (512 bytes at the start of each metadata area):
 *   0x00  4   checksum: CRC of bytes 0x04..0x1FF
 *   0x04  16  magic " LVM2 x[5A%r0N*>"
 *   0x14  4   version (1)
 *   0x18  8   start: absolute offset of this area on the PV
 *   0x20  8   size of the area in bytes (header included)
 *   0x28  ..  raw locations { u64 offset, u64 size, u32 checksum,
 *             u32 flags } until offset 0; the first one is the current
 *             metadata.  offset is relative to the area start; the text
 *             wraps around to offset 0x200 when it reaches the end of
 *             the area.  flags bit 0: ignored.  size includes a
 *             terminating NUL.
 */
#define LVM_MDA_HEADER_LEN  512
#define LVM_MDA_CRC         0x00
#define LVM_MDA_MAGIC       0x04
#define LVM_MDA_VERSION     0x14
#define LVM_MDA_START       0x18
#define LVM_MDA_SIZE        0x20
#define LVM_MDA_LOCNS       0x28
#define LVM_RAW_LOCN_LEN    24
#define LVM_MDA_MAGIC_STR   " LVM2 x[5A%r0N*>"
#define LVM_RLOCN_IGNORED   1u
#define LVM_INITIAL_CRC     0xf597a6cfu

#endif
