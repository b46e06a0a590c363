/*
 * Btrfs-specific queries beyond the lib/fs vtable.
 */
#ifndef VMIE_FS_BTRFS_BTRFS_H
#define VMIE_FS_BTRFS_BTRFS_H

#include "fs/fs.h"

/* Subvolumes and snapshots of an open Btrfs file system (ROOT_ITEMs with
 * ids >= 256 in the root tree; the top-level subvolume 5 is not counted).
 * *count = how many there are; the first max names (their path relative to
 * the parent subvolume, from ROOT_BACKREF, "" if unknown) go to names.
 * Rule FS-002 uses the count.  fs must be a Btrfs vmie_fs
 * (VMIE_EINVAL otherwise). */
int vmie_btrfs_subvolumes(struct vmie_fs *fs, unsigned *count,
			  char names[][256], unsigned max);

#endif
