/*
 * Btrfs-specific queries beyond the lib/fs vtable.
 */
#ifndef VMIE_FS_BTRFS_BTRFS_H
#define VMIE_FS_BTRFS_BTRFS_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fs.h"

/* Subvolumes and snapshots of an open Btrfs file system (ROOT_ITEMs with
 * ids >= 256 in the root tree; the top-level subvolume 5 is not counted).
 * *count = how many there are; the first max names (their path relative to
 * the parent subvolume, from ROOT_BACKREF, "" if unknown) go to names.
 * Rule FS-002 uses the count.  fs must be a Btrfs vmie_fs
 * (VMIE_EINVAL otherwise). */
int vmie_btrfs_subvolumes(struct vmie_fs *fs, unsigned *count,
			  char names[][256], unsigned max);

/* ---- subvolumes as roots (inspection of installers' layouts) ---- */

#define VMIE_BTRFS_PATH_MAX     512     /* a subvolume's path, with NUL */
#define VMIE_BTRFS_MAX_SUBVOLS  4096    /* listed at most (FMT limit) */
#define VMIE_BTRFS_TOP_LEVEL    5       /* id of the top-level subvolume */

/* One subvolume or snapshot of a Btrfs file system. */
struct vmie_btrfs_subvol {
	uint64_t id;            /* >= 256 */
	uint64_t parent;        /* the subvolume it is linked in (5: the top
				   level); 0 when not linked (ROOT_BACKREF
				   missing: being deleted, or orphaned) */
	uint64_t dirid;         /* the directory of parent that holds it */
	/* path from the top level as `btrfs subvolume list` prints it, no
	 * leading '/': "@", "root", "@/.snapshots/1/snapshot", "@/var";
	 * "" when it cannot be told (not linked, or a parent unknown) */
	char path[VMIE_BTRFS_PATH_MAX];
	bool snapshot;          /* made by snapshotting (parent_uuid set) */
	bool readonly;          /* the ROOT_SUBVOL_RDONLY flag */
	bool is_default;        /* the default subvolume (set-default) */
};

/* List the subvolumes and snapshots of fs (ROOT_ITEMs with ids >= 256, in
 * id order; the top level 5 is not listed) with their full paths, into a
 * malloc'd array (*out NULL and *n 0 when there are none; free() it).
 * At most VMIE_BTRFS_MAX_SUBVOLS are listed (VMIE_ENOMEM past that);
 * a path that cannot be built (an INODE_REF chain longer than 64 or
 * missing) is left "" rather than failing the list. */
int vmie_btrfs_list_subvols(struct vmie_fs *fs, struct vmie_btrfs_subvol **out,
			    unsigned *n, struct vmie_err *err);

/* The id of the default subvolume (5 unless set-default chose another). */
int vmie_btrfs_default_subvol(struct vmie_fs *fs, uint64_t *id);

/* The id of the subvolume currently used as fs's root directory (the
 * default one after vmie_fs_open, or the one vmie_btrfs_set_root chose);
 * 0 when fs is not a Btrfs vmie_fs. */
uint64_t vmie_btrfs_root_subvol(const struct vmie_fs *fs);

/* Make subvolume id (5 for the top level, 0 for the default one) the root
 * directory of fs, as `mount -o subvolid=` does: every path given to the
 * lib/fs path functions afterwards starts there, and absolute symlinks
 * restart there.  VMIE_ENOENT when there is no such subvolume. */
int vmie_btrfs_set_root(struct vmie_fs *fs, uint64_t id, struct vmie_err *err);

/* The id of the subvolume at path, as `mount -o subvol=` resolves it:
 * relative to the top level whatever the current root, leading, repeated
 * and trailing '/' ignored ("" and "/" are the top level 5).
 * VMIE_ENOENT when no subvolume has that path. */
int vmie_btrfs_subvol_by_path(struct vmie_fs *fs, const char *path,
			      uint64_t *id, struct vmie_err *err);

#endif
