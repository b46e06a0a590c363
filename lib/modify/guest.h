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
 *   guestfs   XFS, Btrfs, JFS     libguestfs (when vmie was built with
 *                                 it): one appliance over the whole
 *                                 disks, served to it by lib/io's NBD
 *                                 server from the overlays (guest_gfs.c)
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
	/* A directory whose parent exists (0 when it exists already, as a
	 * directory); NULL in backends that do not make directories. */
	int (*mkdir)(struct vmie_guest *g, const char *path,
		     struct vmie_err *err);
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

/* ---- libguestfs (guest_gfs.c) ---- */

/* One libguestfs appliance over the whole disks of a guest: each disk (an
 * image that accepts vmie_image_pwrite: the overlay) is served to it by an
 * NBD server (lib/io/nbd_server.h), so the appliance's writes land in the
 * overlays and the appliance never sees a file of the host.  Nothing is
 * mounted in the host kernel. */
struct vmie_gfs;

/* Whether this build has libguestfs. */
bool vmie_gfs_built(void);
/* The Debian packages the appliance needs, for messages. */
#define VMIE_GFS_PACKAGES "libguestfs0, libguestfs-xfs (for XFS), " \
	"linux-image-amd64 and qemu-system-x86"
/* Start the appliance over disks[0..n) (NULL entries are skipped; disk i
 * is then not reachable).  VMIE_EUNSUPP naming the packages when this
 * build has no libguestfs or the appliance cannot start.  Slow: seconds
 * (tens of seconds without KVM). */
int vmie_gfs_open(struct vmie_image *const *disks, unsigned n,
		  struct vmie_gfs **out, struct vmie_err *err);
/* The appliance's name of a vmie device: disk d (of the disks given),
 * partition part (0: the whole disk), or the LVM volume lv ("vg/lv", or
 * NULL): "/dev/sda2", "/dev/vg/lv".  0, or VMIE_ENOENT. */
int vmie_gfs_device(struct vmie_gfs *s, int disk, int part, const char *lv,
		    char *out, size_t size, struct vmie_err *err);
/* A guest handle (guest.h operations, kind "guestfs") on the file system
 * on the appliance device dev, mounted read-write in the appliance at a
 * mount point of its own (Btrfs: the subvolume subvol, when not NULL or
 * "").  Several may be open at once.  name is for messages. */
int vmie_guest_open_gfs(struct vmie_gfs *s, const char *dev,
			const char *subvol, const char *name,
			struct vmie_guest **out, struct vmie_err *err);

/* The guest's own layout, to run its tools: the file systems mounted as
 * the guest mounts them.  vmie_gfs_layout_begin unmounts what the guest
 * handles mounted (close them first), drops the appliance's caches (the
 * ext and NTFS backends may have written the same disks), and mounts the
 * n entries in order (the first must be "/"); entries other than / and
 * /boot that fail to mount are skipped.  *root is then a guest handle on
 * the whole tree (paths as the guest sees them; close it before
 * vmie_gfs_layout_end, which unmounts everything). */
struct vmie_gfs_mount {
	const char *dev;            /* appliance device */
	const char *mountpoint;     /* "/", "/boot" */
	const char *subvol;         /* Btrfs subvolume, or NULL */
};
int vmie_gfs_layout_begin(struct vmie_gfs *s, const struct vmie_gfs_mount *m,
			  unsigned n, struct vmie_guest **root,
			  struct vmie_err *err);
int vmie_gfs_layout_end(struct vmie_gfs *s, struct vmie_err *err);
/* Run a shell command line in the guest (between layout_begin and
 * layout_end: /dev, /proc and /sys are bound into it), with the guest's
 * /bin/sh.  *out (malloc'd, may be NULL) is its output, at most 64 KiB
 * kept.  VMIE_EIO with the command's error output when it fails. */
int vmie_gfs_sh(struct vmie_gfs *s, const char *cmd, char **out,
		struct vmie_err *err);
/* SHA-256 of a file of the layout, in hex (65 bytes). */
int vmie_gfs_sha256(struct vmie_gfs *s, const char *path, char out[65],
		    struct vmie_err *err);
/* Flush everything to the disks and stop the appliance: 0, or an error
 * when the appliance did not shut down cleanly (its writes may then be
 * incomplete: the overlays are to be thrown away).  NULL is fine. */
int vmie_gfs_close(struct vmie_gfs *s, struct vmie_err *err);

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
int vmie_guest_mkdir(struct vmie_guest *g, const char *path,
		     struct vmie_err *err);
int vmie_guest_flush(struct vmie_guest *g, struct vmie_err *err);
void vmie_guest_close(struct vmie_guest *g);

#endif
