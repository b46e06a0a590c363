/*
 * JFS: detection only (no file reader).  The aggregate superblock sits at
 * 32 KiB (IBM JFS "Layout of the file system", jfs_superblock.h):
 *   0x00 s_magic "JFS1"   0x04 s_version u32 (1 or 2)   0x08 s_size u64
 *   (aggregate size in physical blocks)   0x10 s_bsize u32
 *   0x14 s_l2bsize u16    0x18 s_pbsize u32   0x1c s_l2pbsize u16
 *   0x65 s_fpack[11] (volume label, version 1)
 *   0x88 s_uuid[16]       0x98 s_label[16] (volume label, version 2)
 * Little-endian.  The free space lives in the block map (an inode of the
 * aggregate inode table), which a probe does not read: free is unknown.
 */
#include "fs/fs.h"
#include "core/endian.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

#define JFS_SUPER_OFFSET 0x8000
#define JFS_SUPER_LEN    0xb8

static int jfs_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t sb[JFS_SUPER_LEN];
	uint32_t version, bsize, pbsize;
	unsigned l2bsize, l2pbsize;
	uint64_t size;

	if (dev->size < JFS_SUPER_OFFSET + 4096 ||
	    vmie_image_pread(dev, sb, sizeof sb, JFS_SUPER_OFFSET, NULL))
		return 0;
	if (memcmp(sb, "JFS1", 4))
		return 0;
	vmie_strlcpy(p->type, "jfs", sizeof p->type);
	version = vmie_le32(sb + 4);
	bsize = vmie_le32(sb + 0x10);
	l2bsize = vmie_le16(sb + 0x14);
	pbsize = vmie_le32(sb + 0x18);
	l2pbsize = vmie_le16(sb + 0x1c);
	if (version < 1 || version > 2 || l2bsize < 9 || l2bsize > 16 ||
	    bsize != 1u << l2bsize || l2pbsize < 9 || l2pbsize > 12 ||
	    pbsize != 1u << l2pbsize)
		return 20;      /* the magic alone */
	snprintf(p->version, sizeof p->version, "%u", version);
	vmie_uuid_be(p->uuid, sb + 0x88);
	if (sb[0x98]) {
		memcpy(p->label, sb + 0x98, 16);
		p->label[16] = 0;
	} else {
		memcpy(p->label, sb + 0x65, 11);
		p->label[11] = 0;
	}
	size = vmie_le64(sb + 8);
	p->size = size >> (64 - l2pbsize) ? 0 : size << l2pbsize;
	p->free = UINT64_MAX;
	p->readable = false;
	return 80;
}

const struct vmie_fs_driver vmie_fsdrv_jfs = {
	.name = "jfs",
	.probe = jfs_probe,
	/* no reader: open is NULL, so the framework reports it as known but
	 * not readable */
};
