/*
 * VHDX on-disk structures, following [MS-VHDX] "Virtual Hard Disk v2 (VHDX)
 * File Format" (Microsoft Open Specifications, v20160714 and later):
 * section 2.1 (layout), 2.2 (header section: file type identifier, headers,
 * region table), 2.3 (log), 2.4 (BAT), 2.6 (metadata region and the known
 * metadata items).  Every integer is little-endian; GUIDs are stored in
 * Microsoft byte order (first three fields little-endian).
 *
 * The structs mirror the on-disk layout (offsets in the comments) but hold
 * host-order values filled by the decode functions, byte by byte; never
 * cast an I/O buffer to them.
 *
 *   0        64K       128K      192K        256K       1 MiB
 *   [file id][header 1][header 2][region tbl][region tbl 2][... log, BAT,
 *    metadata, payload blocks: anywhere, in 1 MiB units ...]
 *
 * File type identifier (at 0): "vhdxfile", then the creator as 256 UTF-16LE
 * units.
 *
 * Header (4 KiB, at 64 KiB and 128 KiB)
 *   off  size  field
 *   0x00    4  signature "head"
 *   0x04    4  checksum: CRC-32C of the 4 KiB with this field zero
 *   0x08    8  sequence number (the valid header with the higher wins)
 *   0x10   16  file write GUID
 *   0x20   16  data write GUID
 *   0x30   16  log GUID: zero = no log to replay
 *   0x40    2  log version (0)
 *   0x42    2  version (1)
 *   0x44    4  log length (multiple of 1 MiB)
 *   0x48    8  log offset (multiple of 1 MiB, >= 1 MiB)
 *   0x50 4016  reserved
 *
 * Region table (64 KiB, at 192 KiB and 256 KiB)
 *   0x00    4  signature "regi"
 *   0x04    4  checksum: CRC-32C of the 64 KiB with this field zero
 *   0x08    4  entry count (<= 2047)
 *   0x0c    4  reserved
 *   0x10 32*n  entries: GUID (16), file offset (8, 1 MiB multiple),
 *              length (4, 1 MiB multiple), bit 0 of (4) = required
 *
 * Metadata region: a 64 KiB table then the items
 *   0x00    8  signature "metadata"
 *   0x08    2  reserved
 *   0x0a    2  entry count (<= 2047)
 *   0x0c   20  reserved
 *   0x20 32*n  entries: item GUID (16), offset from the region start (4,
 *              >= 64 KiB), length (4, <= 1 MiB), flags (4: bit 0 is user,
 *              bit 1 is virtual disk, bit 2 is required), reserved (4)
 *
 * BAT entry (8 bytes): bits 0-2 state, bits 20-63 file offset in MiB.
 * Payload block i is entry i + i / chunk_ratio; after every chunk_ratio
 * payload entries comes one sector-bitmap entry, with chunk_ratio =
 * 2^23 * logical sector size / block size.
 *
 * Log entry (a multiple of 4 KiB inside the circular log)
 *   header (64 bytes): "loge", checksum (CRC-32C of the whole entry with
 *   this field zero), entry length, tail (offset of the first entry of its
 *   sequence), sequence number (8), descriptor count, reserved, log GUID
 *   (16), flushed file offset (8), last file offset (8).  Descriptors (32
 *   bytes) follow in the same 4 KiB sectors; then one 4 KiB data sector per
 *   data descriptor.
 *   zero descriptor: "zero", reserved (4), zero length (8), file offset
 *   (8), sequence number (8).
 *   data descriptor: "desc", trailing bytes (4), leading bytes (8), file
 *   offset (8), sequence number (8).
 *   data sector: "data", sequence high (4), 4084 bytes, sequence low (4);
 *   the 4 KiB written is leading bytes + the 4084 bytes + trailing bytes.
 */
#ifndef VMIE_IMAGE_VHDX_DISK_H
#define VMIE_IMAGE_VHDX_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/endian.h"
#include "core/util.h"

#define VHDX_MiB                 (1u << 20)
#define VHDX_FILE_ID_OFF         0u
#define VHDX_HEADER1_OFF         (64u << 10)
#define VHDX_HEADER2_OFF         (128u << 10)
#define VHDX_REGION1_OFF         (192u << 10)
#define VHDX_REGION2_OFF         (256u << 10)
#define VHDX_HEADER_SIZE         4096u
#define VHDX_REGION_SIZE         (64u << 10)
#define VHDX_REGION_MAX_ENTRIES  2047u
#define VHDX_META_TABLE_SIZE     (64u << 10)
#define VHDX_META_MAX_ENTRIES    2047u
#define VHDX_META_ITEM_MAX       VHDX_MiB
#define VHDX_LOG_SECTOR          4096u
#define VHDX_MAX_SIZE            ((uint64_t)64 << 40)   /* 64 TiB */
#define VHDX_MIN_BLOCK           VHDX_MiB
#define VHDX_MAX_BLOCK           (256u << 20)

/* BAT entry states (2.5.1.1, 2.5.1.2) */
#define VHDX_PAYLOAD_NOT_PRESENT       0u
#define VHDX_PAYLOAD_UNDEFINED         1u
#define VHDX_PAYLOAD_ZERO              2u
#define VHDX_PAYLOAD_UNMAPPED          3u
#define VHDX_PAYLOAD_FULLY_PRESENT     6u
#define VHDX_PAYLOAD_PARTIALLY_PRESENT 7u
#define VHDX_SB_NOT_PRESENT            0u
#define VHDX_SB_PRESENT                6u

/* Metadata entry flags */
#define VHDX_META_IS_USER        1u
#define VHDX_META_IS_VIRTUAL     2u
#define VHDX_META_IS_REQUIRED    4u

/* File parameters flags */
#define VHDX_PARAM_LEAVE_ALLOCATED 1u
#define VHDX_PARAM_HAS_PARENT      2u

/* GUIDs in on-disk (Microsoft) byte order. */
#define VHDX_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) { \
	(uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16), \
	(uint8_t)((uint32_t)(a) >> 24), (uint8_t)(b), (uint8_t)((b) >> 8), \
	(uint8_t)(c), (uint8_t)((c) >> 8), d0, d1, d2, d3, d4, d5, d6, d7 }

/* Region GUIDs (2.2.3.2) */
#define VHDX_GUID_BAT VHDX_GUID(0x2DC27766, 0xF623, 0x4200, \
	0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08)
#define VHDX_GUID_METADATA VHDX_GUID(0x8B7CA206, 0x4790, 0x4B9A, \
	0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E)
/* Metadata item GUIDs (2.6.2) */
#define VHDX_GUID_FILE_PARAMS VHDX_GUID(0xCAA16737, 0xFA36, 0x4D43, \
	0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B)
#define VHDX_GUID_DISK_SIZE VHDX_GUID(0x2FA54224, 0xCD1B, 0x4876, \
	0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8)
#define VHDX_GUID_PAGE83 VHDX_GUID(0xBECA12AB, 0xB2E6, 0x4523, \
	0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46)
#define VHDX_GUID_LOGICAL_SECTOR VHDX_GUID(0x8141BF1D, 0xA96F, 0x4709, \
	0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F)
#define VHDX_GUID_PHYSICAL_SECTOR VHDX_GUID(0xCDA348C7, 0x445D, 0x4471, \
	0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56)
#define VHDX_GUID_PARENT_LOCATOR VHDX_GUID(0xA8D35F2D, 0xB30B, 0x454D, \
	0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C)

struct vhdx_header_disk {
/*0x00*/ char     signature[4];
/*0x04*/ uint32_t checksum;
/*0x08*/ uint64_t sequence;
/*0x10*/ uint8_t  file_write_guid[16];
/*0x20*/ uint8_t  data_write_guid[16];
/*0x30*/ uint8_t  log_guid[16];
/*0x40*/ uint16_t log_version;
/*0x42*/ uint16_t version;
/*0x44*/ uint32_t log_length;
/*0x48*/ uint64_t log_offset;
/*0x50   reserved up to 4 KiB */
};
_Static_assert(sizeof(struct vhdx_header_disk) == 0x50, "VHDX header fields");

struct vhdx_region_entry_disk {
/*0x00*/ uint8_t  guid[16];
/*0x10*/ uint64_t file_offset;
/*0x18*/ uint32_t length;
/*0x1c*/ uint32_t flags;           /* bit 0: required */
};
_Static_assert(sizeof(struct vhdx_region_entry_disk) == 32, "region entry");

struct vhdx_meta_entry_disk {
/*0x00*/ uint8_t  item_id[16];
/*0x10*/ uint32_t offset;
/*0x14*/ uint32_t length;
/*0x18*/ uint32_t flags;
/*0x1c*/ uint32_t reserved;
};
_Static_assert(sizeof(struct vhdx_meta_entry_disk) == 32, "metadata entry");

struct vhdx_log_header_disk {
/*0x00*/ char     signature[4];
/*0x04*/ uint32_t checksum;
/*0x08*/ uint32_t entry_length;
/*0x0c*/ uint32_t tail;
/*0x10*/ uint64_t sequence;
/*0x18*/ uint32_t descriptor_count;
/*0x1c*/ uint32_t reserved;
/*0x20*/ uint8_t  log_guid[16];
/*0x30*/ uint64_t flushed_file_offset;
/*0x38*/ uint64_t last_file_offset;
};
_Static_assert(sizeof(struct vhdx_log_header_disk) == 64, "log entry header");

struct vhdx_log_desc_disk {
/*0x00*/ char     signature[4];    /* "zero" or "desc" */
/*0x04*/ uint32_t trailing_bytes;  /* desc: last 4 bytes of the sector */
/*0x08*/ uint64_t leading_bytes;   /* desc: first 8 bytes; zero: length */
/*0x10*/ uint64_t file_offset;
/*0x18*/ uint64_t sequence;
};
_Static_assert(sizeof(struct vhdx_log_desc_disk) == 32, "log descriptor");

static inline void vhdx_header_decode(struct vhdx_header_disk *h,
				      const uint8_t *b)
{
	memcpy(h->signature, b, 4);
	h->checksum = vmie_le32(b + 0x04);
	h->sequence = vmie_le64(b + 0x08);
	memcpy(h->file_write_guid, b + 0x10, 16);
	memcpy(h->data_write_guid, b + 0x20, 16);
	memcpy(h->log_guid, b + 0x30, 16);
	h->log_version = vmie_le16(b + 0x40);
	h->version = vmie_le16(b + 0x42);
	h->log_length = vmie_le32(b + 0x44);
	h->log_offset = vmie_le64(b + 0x48);
}

static inline void vhdx_header_encode(const struct vhdx_header_disk *h,
				      uint8_t *b)
{
	memset(b, 0, VHDX_HEADER_SIZE);
	memcpy(b, "head", 4);
	vmie_put_le64(b + 0x08, h->sequence);
	memcpy(b + 0x10, h->file_write_guid, 16);
	memcpy(b + 0x20, h->data_write_guid, 16);
	memcpy(b + 0x30, h->log_guid, 16);
	vmie_put_le16(b + 0x40, h->log_version);
	vmie_put_le16(b + 0x42, h->version);
	vmie_put_le32(b + 0x44, h->log_length);
	vmie_put_le64(b + 0x48, h->log_offset);
}

static inline void vhdx_region_entry_decode(struct vhdx_region_entry_disk *e,
					    const uint8_t *b)
{
	memcpy(e->guid, b, 16);
	e->file_offset = vmie_le64(b + 0x10);
	e->length = vmie_le32(b + 0x18);
	e->flags = vmie_le32(b + 0x1c);
}

static inline void vhdx_region_entry_encode(
	const struct vhdx_region_entry_disk *e, uint8_t *b)
{
	memcpy(b, e->guid, 16);
	vmie_put_le64(b + 0x10, e->file_offset);
	vmie_put_le32(b + 0x18, e->length);
	vmie_put_le32(b + 0x1c, e->flags);
}

static inline void vhdx_meta_entry_decode(struct vhdx_meta_entry_disk *e,
					  const uint8_t *b)
{
	memcpy(e->item_id, b, 16);
	e->offset = vmie_le32(b + 0x10);
	e->length = vmie_le32(b + 0x14);
	e->flags = vmie_le32(b + 0x18);
	e->reserved = vmie_le32(b + 0x1c);
}

static inline void vhdx_meta_entry_encode(const struct vhdx_meta_entry_disk *e,
					  uint8_t *b)
{
	memcpy(b, e->item_id, 16);
	vmie_put_le32(b + 0x10, e->offset);
	vmie_put_le32(b + 0x14, e->length);
	vmie_put_le32(b + 0x18, e->flags);
	vmie_put_le32(b + 0x1c, e->reserved);
}

static inline void vhdx_log_header_decode(struct vhdx_log_header_disk *h,
					  const uint8_t *b)
{
	memcpy(h->signature, b, 4);
	h->checksum = vmie_le32(b + 0x04);
	h->entry_length = vmie_le32(b + 0x08);
	h->tail = vmie_le32(b + 0x0c);
	h->sequence = vmie_le64(b + 0x10);
	h->descriptor_count = vmie_le32(b + 0x18);
	h->reserved = vmie_le32(b + 0x1c);
	memcpy(h->log_guid, b + 0x20, 16);
	h->flushed_file_offset = vmie_le64(b + 0x30);
	h->last_file_offset = vmie_le64(b + 0x38);
}

static inline void vhdx_log_desc_decode(struct vhdx_log_desc_disk *d,
					const uint8_t *b)
{
	memcpy(d->signature, b, 4);
	d->trailing_bytes = vmie_le32(b + 0x04);
	d->leading_bytes = vmie_le64(b + 0x08);
	d->file_offset = vmie_le64(b + 0x10);
	d->sequence = vmie_le64(b + 0x18);
}

/* CRC-32C of len bytes with the 4-byte checksum field at csum_off taken
 * as zero (headers, region tables and log entries use this). */
static inline uint32_t vhdx_crc(const uint8_t *b, size_t len, size_t csum_off)
{
	static const uint8_t zero[4];
	uint32_t c = vmie_crc32c(0, b, csum_off);
	c = vmie_crc32c(c, zero, 4);
	return vmie_crc32c(c, b + csum_off + 4, len - csum_off - 4);
}

/* Sectors (4 KiB) holding a log entry header and n descriptors: the first
 * holds the header and 126 descriptors, each further one 128. */
static inline uint64_t vhdx_log_desc_sectors(uint64_t n)
{
	return (n + 2 + 127) / 128;
}

#endif
