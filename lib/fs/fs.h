/*
 * Read-only file system access with one interface over ext2/3/4
 * (libext2fs), NTFS (libntfs-3g), XFS, Btrfs, FAT12/16/32 and JFS.
 *
 * A file system sits on a block device, which is any struct vmie_image (a
 * partition window, an LVM volume, a whole disk).  Nothing here ever
 * touches the host's file system or kernel: every byte comes through
 * vmie_image_pread.
 *
 * Drivers implement the small vtable below on inode handles; the framework
 * (fs.c) resolves paths on top of it: components, "." and "..", symlinks
 * inside the guest (an absolute link is relative to the guest root), with a
 * loop limit.  Drivers are listed in registry order in fs.c.
 */
#ifndef VMIE_FS_FS_H
#define VMIE_FS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* Opaque inode handle; its meaning is the driver's (ext4 inode number,
 * NTFS MFT record, XFS inode, Btrfs (subvolume << 48 | objectid)...). */
typedef uint64_t vmie_ino_t;

struct vmie_fs_probe {
	/* "ext2", "ext3", "ext4", "xfs", "btrfs", "ntfs", "vfat", "jfs",
	 * "swap", "crypto_LUKS", "BitLocker", "LVM2_member", "linux_raid_member",
	 * or "" when unknown */
	char type[24];
	char version[16];       /* "FAT32", "v5", "1.2" ... or "" */
	char uuid[40];          /* as blkid prints it */
	char label[64];
	uint64_t size;          /* file system size in bytes, 0 if unknown */
	uint64_t free;          /* free bytes, UINT64_MAX if unknown */
	bool readable;          /* vmie has a reader for it */
	bool encrypted;         /* LUKS, BitLocker... */
};

enum vmie_ftype {
	VMIE_FT_UNKNOWN = 0, VMIE_FT_REG, VMIE_FT_DIR, VMIE_FT_LNK,
	VMIE_FT_CHR, VMIE_FT_BLK, VMIE_FT_FIFO, VMIE_FT_SOCK,
};

struct vmie_stat {
	enum vmie_ftype type;
	uint64_t size;
	uint32_t mode;          /* permission bits (0 if the fs has none) */
	uint32_t uid, gid;
	int64_t mtime;          /* seconds since the epoch */
	uint32_t nlink;
	vmie_ino_t ino;
};

struct vmie_dirent {
	char name[256];         /* UTF-8 */
	enum vmie_ftype type;   /* VMIE_FT_UNKNOWN if the directory omits it */
	vmie_ino_t ino;
};
/* readdir callback: return 0 to go on, non-zero to stop (returned). */
typedef int (*vmie_dirent_cb)(void *ctx, const struct vmie_dirent *d);

struct vmie_fs;

struct vmie_fs_driver {
	const char *name;      /* "ext", "ntfs", "xfs", "btrfs", "fat", "jfs" */
	/* Score 0..100 how sure dev holds this file system, and fill p
	 * (type, uuid, label, size, free when cheap).  Never fails. */
	int (*probe)(struct vmie_image *dev, struct vmie_fs_probe *p);
	/* Open: read the superblock(s), set fs->root and fs->priv.  NULL
	 * when only probing is supported (then the fs is not readable). */
	int (*open)(struct vmie_fs *fs, struct vmie_err *err);
	/* Find name in directory dir (one component, no '/').  VMIE_ENOENT
	 * if absent.  Case-insensitive file systems match as their OS does. */
	int (*lookup)(struct vmie_fs *fs, vmie_ino_t dir, const char *name,
		      vmie_ino_t *out, struct vmie_err *err);
	int (*stat)(struct vmie_fs *fs, vmie_ino_t ino, struct vmie_stat *st,
		    struct vmie_err *err);
	/* Read up to len bytes at off; *got = bytes read (0 at EOF). */
	int (*read)(struct vmie_fs *fs, vmie_ino_t ino, void *buf, size_t len,
		    uint64_t off, size_t *got, struct vmie_err *err);
	/* Call cb for each entry except "." and "..". */
	int (*readdir)(struct vmie_fs *fs, vmie_ino_t dir, vmie_dirent_cb cb,
		       void *ctx, struct vmie_err *err);
	/* Target of a symlink, NUL-terminated, truncated to size. */
	int (*readlink)(struct vmie_fs *fs, vmie_ino_t ino, char *buf,
			size_t size, struct vmie_err *err);
	void (*close)(struct vmie_fs *fs);
};

struct vmie_fs {
	const struct vmie_fs_driver *drv;
	struct vmie_image *dev;     /* not owned */
	struct vmie_fs_probe info;
	vmie_ino_t root;
	void *priv;
};

/* The file type of a POSIX st_mode (S_IFMT bits), as ext4, XFS and Btrfs
 * store it. */
enum vmie_ftype vmie_ftype_from_mode(uint32_t mode);

/* Probe dev with every driver; fills p (type "" when unknown). */
void vmie_fs_probe(struct vmie_image *dev, struct vmie_fs_probe *p);
/* Open the file system on dev (probing).  VMIE_EUNSUPP when it is known but
 * has no reader (swap, LUKS), VMIE_EFORMAT when unknown. */
int vmie_fs_open(struct vmie_image *dev, struct vmie_fs **out,
		 struct vmie_err *err);
void vmie_fs_close(struct vmie_fs *fs);

/* Path operations: paths are absolute inside the guest ("/etc/fstab").
 * Symlinks are followed inside the guest (limit 40) except the last
 * component for vmie_fs_lstat / vmie_fs_readlink. */
int vmie_fs_resolve(struct vmie_fs *fs, const char *path, bool follow_last,
		    vmie_ino_t *out, struct vmie_err *err);
int vmie_fs_stat(struct vmie_fs *fs, const char *path, struct vmie_stat *st,
		 struct vmie_err *err);
int vmie_fs_lstat(struct vmie_fs *fs, const char *path, struct vmie_stat *st,
		  struct vmie_err *err);
bool vmie_fs_exists(struct vmie_fs *fs, const char *path);
bool vmie_fs_is_dir(struct vmie_fs *fs, const char *path);
/* Read a whole regular file (following symlinks) into a malloc'd,
 * NUL-terminated buffer; files larger than max are VMIE_ENOMEM. */
int vmie_fs_read_file(struct vmie_fs *fs, const char *path, size_t max,
		      char **buf, size_t *len, struct vmie_err *err);
/* Read part of a file. */
int vmie_fs_pread(struct vmie_fs *fs, const char *path, void *buf,
		  size_t len, uint64_t off, size_t *got, struct vmie_err *err);
int vmie_fs_readdir(struct vmie_fs *fs, const char *path, vmie_dirent_cb cb,
		    void *ctx, struct vmie_err *err);
int vmie_fs_readlink(struct vmie_fs *fs, const char *path, char *buf,
		     size_t size, struct vmie_err *err);

#endif
