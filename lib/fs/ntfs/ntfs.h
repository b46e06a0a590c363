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

#endif
