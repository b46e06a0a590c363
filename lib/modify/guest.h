/*
 * Guest backends: writing into a guest's file system, never the source.
 *
 * A backend opens one file system of the guest on a device that reads
 * and writes through the copy-on-write overlay of the import (lib/image
 * overlay.c; partitions are windows over it, lib/part window.c), so every
 * change lands in the overlay and the source image is never written.
 * Nothing is mounted in the host kernel and nothing of the guest is
 * written to a host file.
 *
 *   backend   file systems        how
 *   ext       ext2, ext3, ext4    libext2fs, read-write, through an
 *                                 io_manager over the vmie_image
 *   guestfs   XFS, Btrfs, JFS     libguestfs when installed (later)
 *   ntfs      NTFS                libntfs-3g read-write, through the
 *                                 device operations of lib/fs/ntfs
 *                                 made writable (vmie_image_pwrite)
 *
 * Paths are absolute paths of the guest ("/etc/fstab"); symbolic links
 * are not followed by write/copy/rename (a link at the path is an error:
 * VMIE_EPERM) so a guest cannot turn an edit of /etc/fstab into a write
 * elsewhere in the guest; read follows links inside the file system.
 */
#ifndef VMIE_MODIFY_GUEST_H
#define VMIE_MODIFY_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmie_err;
struct vmie_image;
struct vmie_guest;

struct vmie_guest_stat {
	bool exists;
	bool is_dir, is_reg, is_lnk;
	uint64_t size;
	unsigned mode;              /* permission bits */
	unsigned uid, gid;
};

/* readdir callback: 0 to go on, non-zero to stop (returned). */
typedef int (*vmie_guest_dir_fn)(void *ctx, const char *name, bool is_dir);

struct vmie_guest_ops {
	const char *kind;               /* "ext", "guestfs", "ntfs" */
	/* Whole content of a regular file (malloc'd, NUL added after len);
	 * VMIE_ENOENT when absent, VMIE_ENOMEM over max bytes. */
	int (*read)(struct vmie_guest *g, const char *path, size_t max,
		    char **buf, size_t *len, struct vmie_err *err);
	/* st->exists false (and 0) when the path does not exist; lstat
	 * semantics (a link is reported as a link). */
	int (*stat)(struct vmie_guest *g, const char *path,
		    struct vmie_guest_stat *st, struct vmie_err *err);
	/* Replace the content of a regular file, keeping its inode, owner
	 * and mode; or create it (mode, uid 0, gid 0) when it does not exist
	 * and its directory does. */
	int (*write)(struct vmie_guest *g, const char *path, const void *buf,
		     size_t len, unsigned mode, struct vmie_err *err);
	/* A copy of regular file path as new_path (a new file: VMIE_EEXIST
	 * if it exists), same mode, owner and times: how originals are kept
	 * (PREP-018). */
	int (*copy)(struct vmie_guest *g, const char *path,
		    const char *new_path, struct vmie_err *err);
	/* Rename within one directory (new_path must not exist). */
	int (*rename)(struct vmie_guest *g, const char *path,
		      const char *new_path, struct vmie_err *err);
	int (*readdir)(struct vmie_guest *g, const char *dir,
		       vmie_guest_dir_fn fn, void *ctx, struct vmie_err *err);
	/* Write back everything (bitmaps, group descriptors, superblock) so
	 * that the file system is consistent on the device (e2fsck -fn
	 * clean); the handle stays usable for reads. */
	int (*flush)(struct vmie_guest *g, struct vmie_err *err);
	void (*close)(struct vmie_guest *g);
};

struct vmie_guest {
	const struct vmie_guest_ops *ops;
	struct vmie_image *dev;         /* not owned */
	char name[160];                 /* for messages: the device name */
	void *priv;
};

/* ext2/3/4 read-write on dev (which must accept vmie_image_pwrite).  A
 * file system that needs journal recovery is refused (VMIE_EUNSUPP,
 * naming it): writing past an unreplayed journal would corrupt it. */
int vmie_guest_open_ext(struct vmie_image *dev, const char *name,
			struct vmie_guest **out, struct vmie_err *err);

/* NTFS read-write on dev (which must accept vmie_image_pwrite), names
 * looked up case-insensitively as Windows does.  A volume Windows left
 * hibernated (or shut down with fast startup), marked dirty, or with a
 * $LogFile that is not clean is refused (VMIE_EUNSUPP, naming it, nothing
 * written): writing to it would lose data.  On NTFS, write's mode is
 * ignored and stat reports uid 0, gid 0 and 0644/0755 (0444/0555 for
 * read-only files); see guest_ntfs.c for what each operation keeps. */
int vmie_guest_open_ntfs(struct vmie_image *dev, const char *name,
			 struct vmie_guest **out, struct vmie_err *err);

int vmie_guest_read(struct vmie_guest *g, const char *path, size_t max,
		    char **buf, size_t *len, struct vmie_err *err);
int vmie_guest_stat(struct vmie_guest *g, const char *path,
		    struct vmie_guest_stat *st, struct vmie_err *err);
int vmie_guest_write(struct vmie_guest *g, const char *path, const void *buf,
		     size_t len, unsigned mode, struct vmie_err *err);
int vmie_guest_copy(struct vmie_guest *g, const char *path,
		    const char *new_path, struct vmie_err *err);
int vmie_guest_rename(struct vmie_guest *g, const char *path,
		      const char *new_path, struct vmie_err *err);
int vmie_guest_readdir(struct vmie_guest *g, const char *dir,
		       vmie_guest_dir_fn fn, void *ctx, struct vmie_err *err);
int vmie_guest_flush(struct vmie_guest *g, struct vmie_err *err);
void vmie_guest_close(struct vmie_guest *g);

#endif
