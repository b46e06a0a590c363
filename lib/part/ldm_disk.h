/*
 * On-disk layout of the Windows Logical Disk Manager database (dynamic
 * disks), as read by lib/part/ldm.c.  Every field is decoded byte by byte
 * with lib/core/endian.h at the offsets below (all numbers BIG endian);
 * no buffer is ever cast to a struct.
 *
 * Sources (facts only, no code taken):
 *  - Linux Documentation/admin-guide/ldm.rst and block/partitions/ldm.h
 *    (R. Russon, A. Altaparmakov: the Linux-NTFS project's LDM
 *    documentation): PRIVHEAD, TOCBLOCK, VMDB and VBLK offsets, the
 *    database copies at fixed sector offsets, the fragment rules.
 *  - libldm (src/ldm.c, M. Booth): LDM on GPT disks (PRIVHEAD in the last
 *    sector of the "LDM metadata" partition), the record layouts of
 *    volumes, components, partitions, disks and disk groups, and how
 *    simple, spanned, striped, mirrored and RAID-5 volumes map onto
 *    their partitions.
 *  - Databases written by Windows Server 2003 R2 and 2008 R2 (libldm's
 *    test images), looked at with a hex dump to confirm the above.
 *
 * Where things are.  Units are sectors of the disk (512 bytes on MBR
 * disks; the logical sector size of a GPT disk).
 *
 *   MBR disk: one or more partitions of type 0x42; PRIVHEAD in sector 6.
 *   GPT disk: an "LDM metadata" partition (5808c8aa-7e8f-42e0-85d2-
 *             e1e90434cfb3) whose last sector is a PRIVHEAD, and an
 *             "LDM data" partition (af9b60a0-1431-4f62-bc68-3311714a69ad).
 *
 *   The database ("config") is config_size sectors (normally 2048 = 1 MiB)
 *   at config_start, both from the PRIVHEAD, absolute on the disk:
 *     +1, +2             TOCBLOCKs (Windows 2000-2003: both; 2008: +2)
 *     +toc.config.start  VMDB, followed by the VBLK slots
 *     +1856              PRIVHEAD (copy)
 *     +size-3, +size-2   TOCBLOCKs (copies; 2008: only +size-3)
 *     +size-1            PRIVHEAD (copy; the primary one on GPT disks)
 *   The data area ("logical disk") is logical_disk_size sectors at
 *   logical_disk_start; partition records give their start relative to it.
 *
 * PRIVHEAD (one sector):
 *   0x000  8   "PRIVHEAD"
 *   0x008  4   unknown (a sequence number)
 *   0x00C  2   version major: 2
 *   0x00E  2   version minor: 11 (Windows 2000/XP/2003), 12 (Vista and later)
 *   0x010  8   timestamp (FILETIME)
 *   0x018  8   unknown
 *   0x020  8   unknown (2047 seen)
 *   0x028  8   unknown (1856 seen)
 *   0x030  64  disk GUID, ASCII "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", NUL
 *              padded
 *   0x070  64  host GUID, ASCII
 *   0x0B0  64  disk group GUID, ASCII
 *   0x0F0  32  disk group name, ASCII (Vista and later; older: zeros)
 *   0x110  11  unknown
 *   0x11B  8   logical disk start (sectors)
 *   0x123  8   logical disk size (sectors)
 *   0x12B  8   config start (sectors)
 *   0x133  8   config size (sectors)
 *   0x13B  8   number of TOCBLOCKs
 *   0x143  8   TOCBLOCK size
 *   0x14B  4   number of configs
 *   0x14F  4   number of logs
 *   0x153  8   config size (of the "config" bitmap)
 *   0x15B  8   log size
 *   0x163  4   disk signature (the MBR's, at 440)
 */
#ifndef VMIE_PART_LDM_DISK_H
#define VMIE_PART_LDM_DISK_H

#define LDM_PH_MAGIC            "PRIVHEAD"
#define LDM_PH_SECTOR_MBR       6
#define LDM_PH_VER_MAJOR        0x00C
#define LDM_PH_VER_MINOR        0x00E
#define LDM_PH_DISK_GUID        0x030
#define LDM_PH_HOST_GUID        0x070
#define LDM_PH_GROUP_GUID       0x0B0
#define LDM_PH_GROUP_NAME       0x0F0
#define LDM_PH_GUID_LEN         64
#define LDM_PH_NAME_LEN         32
#define LDM_PH_DATA_START       0x11B
#define LDM_PH_DATA_SIZE        0x123
#define LDM_PH_CONFIG_START     0x12B
#define LDM_PH_CONFIG_SIZE      0x133
#define LDM_PH_LEN              0x167
#define LDM_PH_COPY1            1856      /* sectors into the config */
#define LDM_DB_SIZE_USUAL       2048      /* sectors: 1 MiB */

/*
 * TOCBLOCK (one sector): where the "config" (VMDB + VBLKs) and "log"
 * areas are inside the database.
 *   0x00  8   "TOCBLOCK"
 *   0x08  4   sequence number
 *   0x10  4   sequence number
 *   0x24  46  bitmap entry 1 }  each: 0x00 8 name ("config", "log", NUL
 *   0x46  46  bitmap entry 2 }  padded), 0x08 2 flags, 0x0A 8 start
 *                                (sectors from the config start), 0x12 8
 *                                size (sectors), 0x1A 8 flags
 */
#define LDM_TOC_MAGIC           "TOCBLOCK"
#define LDM_TOC_BITMAP1         0x24
#define LDM_TOC_BITMAP2         0x46
#define LDM_TOC_B_NAME          0x00
#define LDM_TOC_B_START         0x0A
#define LDM_TOC_B_SIZE          0x12
#define LDM_TOC_NAME_LEN        8

/*
 * VMDB (the first 512 bytes of the config area): the database header.
 *   0x00  4   "VMDB"
 *   0x04  4   number of VBLK slots in the config area (the VMDB's own
 *             sector counted: slot k is at byte k * vblk_size)
 *   0x08  4   VBLK size (128)
 *   0x0C  4   offset of the first VBLK (512)
 *   0x10  2   update status: 1 = consistent (no transaction in progress)
 *   0x12  2   version major: 4
 *   0x14  2   version minor: 10
 *   0x16  31  disk group name, ASCII
 *   0x35  64  disk group GUID, ASCII
 *   0x75  8   committed sequence number (higher = newer database)
 *   0x7D  8   pending sequence number
 *   0x85  4   committed volume records
 *   0x89  4   committed component records
 *   0x8D  4   committed partition records
 *   0x91  4   committed disk records
 *   0xA1  16  pending counts (same order)
 *   0xBD  8   last accessed (FILETIME)
 */
#define LDM_VMDB_MAGIC          "VMDB"
#define LDM_VMDB_N_SLOTS        0x04
#define LDM_VMDB_VBLK_SIZE      0x08
#define LDM_VMDB_FIRST          0x0C
#define LDM_VMDB_STATUS         0x10
#define LDM_VMDB_VER_MAJOR      0x12
#define LDM_VMDB_VER_MINOR      0x14
#define LDM_VMDB_GROUP_NAME     0x16
#define LDM_VMDB_GROUP_GUID     0x35
#define LDM_VMDB_SEQ            0x75
#define LDM_VMDB_N_VOL          0x85
#define LDM_VMDB_N_COMP         0x89
#define LDM_VMDB_N_PART         0x8D
#define LDM_VMDB_N_DISK         0x91
#define LDM_VMDB_LEN            0xC5

/*
 * VBLK slot (vblk_size bytes):
 *   0x00  4   "VBLK"
 *   0x04  4   sequence number (= the slot number)
 *   0x08  4   record (group) id: the fragments of one record share it
 *   0x0C  2   fragment number, 0 .. total-1
 *   0x0E  2   fragments in the record; 0 = slot not in use
 *   0x10  ..  fragment payload (vblk_size - 16 bytes)
 * A record is the payloads of its fragments joined in fragment order.  It
 * starts with
 *   0x00  2   status
 *   0x02  1   flags (which optional fields follow, per type)
 *   0x03  1   type: revision << 4 | kind
 *   0x04  4   length of the body that follows
 *   0x08  ..  body
 * Body fields are fixed-width or variable: a "vnum" is a length byte (0-8)
 * and that many bytes of a big-endian number; a "vstr" a length byte and
 * that many bytes of text.
 */
#define LDM_VBLK_MAGIC          "VBLK"
#define LDM_VBLK_SEQ            0x04
#define LDM_VBLK_GROUP          0x08
#define LDM_VBLK_FRAG           0x0C
#define LDM_VBLK_NFRAGS         0x0E
#define LDM_VBLK_HEAD           16
#define LDM_REC_FLAGS           0x02
#define LDM_REC_TYPE            0x03
#define LDM_REC_LEN             0x04
#define LDM_REC_HEAD            8

/* kinds (low nibble of the type) and the revisions understood */
#define LDM_KIND_VOLUME         1         /* revision 5 */
#define LDM_KIND_COMPONENT      2         /* revision 3 */
#define LDM_KIND_PARTITION      3         /* revision 3 */
#define LDM_KIND_DISK           4         /* revision 3 (text GUID), 4 */
#define LDM_KIND_GROUP          5         /* revision 3, 4 */

/*
 * Volume body (revision 5):
 *   vnum object id, vstr name, vstr type ("gen", "raid5"), vstr unknown
 *   ("" or "8000000000000000"), 14 bytes state ("ACTIVE"...), 1 type
 *   (3 gen, 4 raid5), 1 unknown, 1 volume number, 3 zero, 1 flags,
 *   vnum number of components, 8 commit id, 8 id, vnum size (sectors),
 *   4 zero, 1 partition type (as in an MBR: 0x07 NTFS...), 16 volume GUID
 *   (binary, in text order), then if flags & 0x08 vstr id1, & 0x20 vstr
 *   id2, & 0x80 vnum size2, & 0x02 vstr drive hint ("C:").
 * Component body (revision 3):
 *   vnum id, vstr name, vstr state, 1 type (1 striped, 2 spanned/simple,
 *   3 RAID-5), 4 zero, vnum number of partitions, 8 commit id, 8 zero,
 *   vnum parent volume id, 1 zero, then if flags & 0x10 vnum stripe size
 *   (sectors) and vnum columns.
 * Partition body (revision 3):
 *   vnum id, vstr name, 4 zero, 8 commit id, 8 start (sectors, from the
 *   disk's logical disk start), 8 offset in the volume (sectors), vnum
 *   size (sectors), vnum parent component id, vnum disk id, then if
 *   flags & 0x08 vnum index (the column of a stripe or RAID-5 set).
 * Disk body: vnum id, vstr name, then revision 3: vstr disk GUID (text),
 *   revision 4: 16 bytes disk GUID (binary, in text order).
 * Disk group body: vnum id, vstr name, then revision 3: vstr GUID (text).
 */
#define LDM_VOL_STATE_LEN       14
#define LDM_VOL_TYPE_GEN        3
#define LDM_VOL_TYPE_RAID5      4
#define LDM_VOL_F_ID1           0x08
#define LDM_VOL_F_ID2           0x20
#define LDM_VOL_F_SIZE2         0x80
#define LDM_VOL_F_HINT          0x02
#define LDM_COMP_STRIPED        1
#define LDM_COMP_SPANNED        2
#define LDM_COMP_RAID5          3
#define LDM_COMP_F_STRIPE       0x10
#define LDM_PART_F_INDEX        0x08

#endif
