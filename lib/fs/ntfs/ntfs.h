/*
 * NTFS specifics beyond the lib/fs/fs.h interface: the state Windows left
 * the volume in, recorded when vmie_fs_open() opens it (read-only, which
 * libntfs-3g allows even for the states below), so that inspection and the
 * rules can warn: a dirty or hibernated volume may hold changes that are
 * not on disk yet, and Windows may not boot cleanly after conversion.
 */
#ifndef VMIE_FS_NTFS_NTFS_H
#define VMIE_FS_NTFS_NTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "fs/fs.h"

struct vmie_ntfs_state {
	uint16_t volume_flags;  /* $VOLUME_INFORMATION flags, as found */
	bool dirty;             /* VOLUME_IS_DIRTY (0x0001): not cleanly
				   unmounted, or chkdsk scheduled */
	bool hiberfile;         /* /hiberfil.sys exists */
	bool hibernated;        /* its header holds a hibernation image
				   ("hibr"/"HIBR", or shorter than 4 KiB):
				   hibernated or fast startup */
	char hiber_sig[5];      /* its first 4 bytes when printable
				   ("HIBR", "wake", "RSTR"), else "" */
};

/* Fill *out for an open NTFS file system; VMIE_EINVAL when fs is not one. */
int vmie_ntfs_state(const struct vmie_fs *fs, struct vmie_ntfs_state *out);

/*
 * For code that mounts a volume through libntfs-3g itself (the NTFS guest
 * backend, lib/modify/guest_ntfs.c): the device operations of ntfs.c over
 * a struct vmie_image, and the helpers the reader uses.  The libntfs-3g
 * types are named by their struct tags so that this header does not need
 * libntfs-3g's (ntfs_volume is struct _ntfs_volume, ntfs_inode is struct
 * _ntfs_inode).
 */
struct ntfs_device;
struct _ntfs_volume;
struct _ntfs_inode;

/* The state behind one device: embedded in its user, which must outlive
 * the device (until ntfs_umount, or ntfs_device_free after a failed
 * mount). */
struct vmie_ntfs_dev {
	struct vmie_image *img;
	int64_t pos;
	/* false: opening for writing and every write fail with EROFS (the
	 * reader); true: writes go to vmie_image_pwrite, inside the image
	 * only (img must accept it: an overlay, or a window over one) */
	bool writable;
	/* the image's last I/O failure (its message), for error reports */
	struct vmie_err err;
};

/* A libntfs-3g device over d->img, for ntfs_device_mount(); NULL (errno
 * set) when out of memory.  Also switches libntfs-3g's logging off for
 * the process (once). */
struct ntfs_device *vmie_ntfs_device(struct vmie_ntfs_dev *d,
				     const char *name);

/* The state of a mounted volume, as vmie_ntfs_state reports it. */
void vmie_ntfs_volume_state(struct _ntfs_volume *vol,
			    struct vmie_ntfs_state *out);

/* The reparse tag of an inode, 0 when it has none. */
uint32_t vmie_ntfs_reparse_tag(struct _ntfs_inode *ni);
/* Symbolic links, junctions and WSL symlinks: the tags the reader
 * reports as links. */
bool vmie_ntfs_is_link_tag(uint32_t tag);
/* The target of a link inode as a guest path ("C:\x\y" -> "/x/y",
 * relative targets with '/' separators), NUL-terminated in buf (size >
 * 0); *tag the reparse tag.  0, or -1 when ni is no link vmie can read. */
int vmie_ntfs_link_target(struct _ntfs_inode *ni, char *buf, size_t size,
			  uint32_t *tag);

#endif
