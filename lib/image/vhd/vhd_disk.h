/*
 * VHD on-disk structures, following Microsoft's "Virtual Hard Disk Image
 * Format Specification" version 1.0 (October 2006): "Hard Disk Footer
 * Format", "Dynamic Disk Header Format", "Block Allocation Table and Data
 * Blocks" and Appendix "CHS Calculation".  Every integer is big-endian.
 *
 * The structs below mirror the on-disk layout (the offsets in the comments
 * are the on-disk offsets) but hold host-order values: they are filled by
 * vhd_footer_decode() / vhd_dyn_decode() byte by byte and written back by
 * the matching encode functions.  Never cast an I/O buffer to them.
 *
 *   fixed disk:    [ data ...................... ][ footer 512 ]
 *   dynamic disk:  [ footer copy 512 ][ dynamic header 1024 ][ BAT ]
 *                  [ bitmap | block ] [ bitmap | block ] ... [ footer 512 ]
 *
 * Footer (512 bytes)
 *   off  size  field
 *   0x00    8  cookie "conectix"
 *   0x08    4  features (bit 1 "reserved" must be set)
 *   0x0c    4  file format version 0x00010000
 *   0x10    8  data offset: dynamic header offset, all ones when fixed
 *   0x18    4  timestamp: seconds since 2000-01-01 00:00 UTC
 *   0x1c    4  creator application ("vpc ", "win ", "qemu", "d2v\0"...)
 *   0x20    4  creator version
 *   0x24    4  creator host OS ("Wi2k", "Mac ")
 *   0x28    8  original size (bytes)
 *   0x30    8  current size (bytes)
 *   0x38    4  geometry: cylinders (2), heads (1), sectors per track (1)
 *   0x3c    4  disk type: 2 fixed, 3 dynamic, 4 differencing
 *   0x40    4  checksum: one's complement of the byte sum, this field 0
 *   0x44   16  unique id
 *   0x54    1  saved state
 *   0x55  427  reserved (zeros)
 *
 * Dynamic disk header (1024 bytes)
 *   0x000   8  cookie "cxsparse"
 *   0x008   8  data offset (unused: all ones, as Microsoft tools write)
 *   0x010   8  table offset: file offset of the BAT
 *   0x018   4  header version 0x00010000
 *   0x01c   4  max table entries (BAT entries)
 *   0x020   4  block size (default 2 MiB; excludes the sector bitmap)
 *   0x024   4  checksum (as for the footer, over 1024 bytes)
 *   0x028  16  parent unique id
 *   0x038   4  parent timestamp
 *   0x03c   4  reserved
 *   0x040 512  parent unicode name (UTF-16 big-endian)
 *   0x240 192  8 parent locator entries of 24 bytes:
 *              platform code, data space, data length, reserved (4 each),
 *              platform data offset (8)
 *   0x300 256  reserved
 *
 * BAT: max_table_entries big-endian 32-bit sector numbers; 0xFFFFFFFF means
 * the block is not allocated (reads as zeros).  An allocated block starts
 * with its sector bitmap (one bit per sector, padded to 512 bytes; bit set =
 * sector in use), followed by block-size bytes of data.
 */
#ifndef VMIE_IMAGE_VHD_DISK_H
#define VMIE_IMAGE_VHD_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/endian.h"

#define VHD_FOOTER_SIZE        512
#define VHD_DYN_HEADER_SIZE    1024
#define VHD_SECTOR             512u
#define VHD_BAT_UNUSED         0xFFFFFFFFu
#define VHD_VERSION            0x00010000u
#define VHD_FEATURES_RESERVED  0x00000002u

#define VHD_TYPE_FIXED         2u
#define VHD_TYPE_DYNAMIC       3u
#define VHD_TYPE_DIFFERENCING  4u

/* The specification's maximum: 2040 GiB (qemu's VHD_MAX_SECTORS). */
#define VHD_MAX_SIZE           ((uint64_t)2040 << 30)
/* Seconds from 1970-01-01 to 2000-01-01, the VHD epoch. */
#define VHD_EPOCH_OFFSET       946684800u

struct vhd_footer_disk {
/*0x00*/ char     cookie[8];
/*0x08*/ uint32_t features;
/*0x0c*/ uint32_t version;
/*0x10*/ uint64_t data_offset;
/*0x18*/ uint32_t timestamp;
/*0x1c*/ char     creator_app[4];
/*0x20*/ uint32_t creator_version;
/*0x24*/ uint32_t creator_os;
/*0x28*/ uint64_t original_size;
/*0x30*/ uint64_t current_size;
/*0x38*/ uint16_t cylinders;
/*0x3a*/ uint8_t  heads;
/*0x3b*/ uint8_t  sectors;
/*0x3c*/ uint32_t disk_type;
/*0x40*/ uint32_t checksum;
/*0x44*/ uint8_t  unique_id[16];
/*0x54*/ uint8_t  saved_state;
/*0x55*/ uint8_t  reserved[427];
};
_Static_assert(sizeof(struct vhd_footer_disk) == VHD_FOOTER_SIZE,
	       "VHD footer is 512 bytes");

struct vhd_locator_disk {
/*0x00*/ uint32_t platform_code;
/*0x04*/ uint32_t data_space;
/*0x08*/ uint32_t data_length;
/*0x0c*/ uint32_t reserved;
/*0x10*/ uint64_t data_offset;
};
_Static_assert(sizeof(struct vhd_locator_disk) == 24, "VHD locator");

struct vhd_dyn_header_disk {
/*0x000*/ char     cookie[8];
/*0x008*/ uint64_t data_offset;
/*0x010*/ uint64_t table_offset;
/*0x018*/ uint32_t version;
/*0x01c*/ uint32_t max_table_entries;
/*0x020*/ uint32_t block_size;
/*0x024*/ uint32_t checksum;
/*0x028*/ uint8_t  parent_uuid[16];
/*0x038*/ uint32_t parent_timestamp;
/*0x03c*/ uint32_t reserved1;
/*0x040*/ uint8_t  parent_name[512];   /* UTF-16BE, kept as bytes */
/*0x240*/ struct vhd_locator_disk locators[8];
/*0x300*/ uint8_t  reserved2[256];
};
_Static_assert(sizeof(struct vhd_dyn_header_disk) == VHD_DYN_HEADER_SIZE,
	       "VHD dynamic header is 1024 bytes");

/* One's complement of the byte sum of len bytes, skipping the 4-byte
 * checksum field at csum_off (it counts as zero). */
static inline uint32_t vhd_checksum(const uint8_t *b, size_t len,
				    size_t csum_off)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++)
		if (i < csum_off || i >= csum_off + 4)
			sum += b[i];
	return ~sum;
}

static inline void vhd_footer_decode(struct vhd_footer_disk *f,
				     const uint8_t *b)
{
	memcpy(f->cookie, b, 8);
	f->features = vmie_be32(b + 0x08);
	f->version = vmie_be32(b + 0x0c);
	f->data_offset = vmie_be64(b + 0x10);
	f->timestamp = vmie_be32(b + 0x18);
	memcpy(f->creator_app, b + 0x1c, 4);
	f->creator_version = vmie_be32(b + 0x20);
	f->creator_os = vmie_be32(b + 0x24);
	f->original_size = vmie_be64(b + 0x28);
	f->current_size = vmie_be64(b + 0x30);
	f->cylinders = vmie_be16(b + 0x38);
	f->heads = b[0x3a];
	f->sectors = b[0x3b];
	f->disk_type = vmie_be32(b + 0x3c);
	f->checksum = vmie_be32(b + 0x40);
	memcpy(f->unique_id, b + 0x44, 16);
	f->saved_state = b[0x54];
	memcpy(f->reserved, b + 0x55, sizeof f->reserved);
}

/* Encode f into 512 bytes and fill in the checksum (f->checksum ignored). */
static inline void vhd_footer_encode(const struct vhd_footer_disk *f,
				     uint8_t *b)
{
	memset(b, 0, VHD_FOOTER_SIZE);
	memcpy(b, f->cookie, 8);
	vmie_put_be32(b + 0x08, f->features);
	vmie_put_be32(b + 0x0c, f->version);
	vmie_put_be64(b + 0x10, f->data_offset);
	vmie_put_be32(b + 0x18, f->timestamp);
	memcpy(b + 0x1c, f->creator_app, 4);
	vmie_put_be32(b + 0x20, f->creator_version);
	vmie_put_be32(b + 0x24, f->creator_os);
	vmie_put_be64(b + 0x28, f->original_size);
	vmie_put_be64(b + 0x30, f->current_size);
	vmie_put_be16(b + 0x38, f->cylinders);
	b[0x3a] = f->heads;
	b[0x3b] = f->sectors;
	vmie_put_be32(b + 0x3c, f->disk_type);
	memcpy(b + 0x44, f->unique_id, 16);
	b[0x54] = f->saved_state;
	vmie_put_be32(b + 0x40, vhd_checksum(b, VHD_FOOTER_SIZE, 0x40));
}

static inline void vhd_dyn_decode(struct vhd_dyn_header_disk *h,
				  const uint8_t *b)
{
	memcpy(h->cookie, b, 8);
	h->data_offset = vmie_be64(b + 0x008);
	h->table_offset = vmie_be64(b + 0x010);
	h->version = vmie_be32(b + 0x018);
	h->max_table_entries = vmie_be32(b + 0x01c);
	h->block_size = vmie_be32(b + 0x020);
	h->checksum = vmie_be32(b + 0x024);
	memcpy(h->parent_uuid, b + 0x028, 16);
	h->parent_timestamp = vmie_be32(b + 0x038);
	h->reserved1 = vmie_be32(b + 0x03c);
	memcpy(h->parent_name, b + 0x040, 512);
	for (int i = 0; i < 8; i++) {
		const uint8_t *l = b + 0x240 + 24 * i;
		h->locators[i].platform_code = vmie_be32(l);
		h->locators[i].data_space = vmie_be32(l + 4);
		h->locators[i].data_length = vmie_be32(l + 8);
		h->locators[i].reserved = vmie_be32(l + 12);
		h->locators[i].data_offset = vmie_be64(l + 16);
	}
	memcpy(h->reserved2, b + 0x300, sizeof h->reserved2);
}

/* Encode the fields a writer sets (no parent) and the checksum. */
static inline void vhd_dyn_encode(const struct vhd_dyn_header_disk *h,
				  uint8_t *b)
{
	memset(b, 0, VHD_DYN_HEADER_SIZE);
	memcpy(b, h->cookie, 8);
	vmie_put_be64(b + 0x008, h->data_offset);
	vmie_put_be64(b + 0x010, h->table_offset);
	vmie_put_be32(b + 0x018, h->version);
	vmie_put_be32(b + 0x01c, h->max_table_entries);
	vmie_put_be32(b + 0x020, h->block_size);
	vmie_put_be32(b + 0x024, vhd_checksum(b, VHD_DYN_HEADER_SIZE, 0x24));
}

/* Sector bitmap bytes in front of each block, padded to 512. */
static inline uint32_t vhd_bitmap_size(uint32_t block_size)
{
	uint32_t bits = block_size / VHD_SECTOR;
	return ((bits + 7) / 8 + VHD_SECTOR - 1) & ~(VHD_SECTOR - 1);
}

/*
 * CHS geometry from a sector count, as in the specification's appendix
 * "CHS Calculation".  The product cylinders * heads * sectors can be less
 * than total_sectors: the geometry rounds down.
 */
static inline void vhd_geometry(uint64_t total_sectors, uint16_t *cyl,
				uint8_t *heads, uint8_t *spt)
{
	uint64_t cth;
	uint32_t h, s;
	if (total_sectors > 65535ull * 16 * 255)
		total_sectors = 65535ull * 16 * 255;
	if (total_sectors >= 65535ull * 16 * 63) {
		s = 255;
		h = 16;
		cth = total_sectors / s;
	} else {
		s = 17;
		cth = total_sectors / s;
		h = (uint32_t)((cth + 1023) / 1024);
		if (h < 4)
			h = 4;
		if (cth >= h * 1024ull || h > 16) {
			s = 31;
			h = 16;
			cth = total_sectors / s;
		}
		if (cth >= h * 1024ull) {
			s = 63;
			h = 16;
			cth = total_sectors / s;
		}
	}
	*cyl = (uint16_t)(cth / h);
	*heads = (uint8_t)h;
	*spt = (uint8_t)s;
}

#endif
