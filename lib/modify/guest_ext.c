/*
 * The "ext" guest backend (guest.h): ext2, ext3 and ext4 read-write
 * through libext2fs, on a device that writes into the copy-on-write
 * overlay of the import.
 *
 * libext2fs reaches the device through an io_manager of this file
 * ("vmie-guest"), read-write, over the struct vmie_image: reads are
 * vmie_image_pread, writes vmie_image_pwrite.  It is a separate manager
 * from lib/fs/ext/ext.c's, which stays read-only so that inspection can
 * never write.  The image is handed to the manager's open() in a
 * thread-local pointer set only while ext2fs_open2() runs.  Small reads
 * go through a 256 KiB read-ahead window (a compressed source would
 * otherwise inflate a grain per block); writes update the window.
 *
 * What is written, and how (as debugfs "write" and fuse2fs do it):
 *   replace a file   same inode, owner, mode, xattrs: truncated with
 *                    ext2fs_file_set_size2(0), written with
 *                    ext2fs_file_write (extents, block maps and inline
 *                    data alike), mtime and ctime set to now
 *   create a file    ext2fs_new_inode + ext2fs_link (the directory grown
 *                    by ext2fs_expand_dir when full, unless it is
 *                    hash-indexed: then libext2fs grows the index itself)
 *                    + ext2fs_inode_alloc_stats2; extents or inline data
 *                    as the file system's features say; uid and gid 0
 *   copy             a new file with the content, mode, uid, gid, atime,
 *                    mtime and extended attributes (SELinux labels) of
 *                    the original
 *   rename           link the new name, unlink the old: same inode
 *   flush            ext2fs_flush: bitmaps, group descriptors and
 *                    superblocks with their checksums (metadata_csum)
 * Nothing is written before the first change, and close() writes nothing:
 * a caller that does not flush leaves the overlay to be thrown away.
 *
 * Refused: a file system that needs journal recovery (writing past an
 * unreplayed journal corrupts it), one with quota or shared_blocks
 * (libext2fs would not keep their accounting), an external journal
 * device; files that are encrypted, verity-protected, immutable,
 * append-only or compressed, and directories that are encrypted or
 * case-folded.  Paths: write, copy and rename follow no symbolic link at
 * all (VMIE_EPERM); read, readdir and stat follow links inside the file
 * system (stat not at the last component), at most GEXT_MAX_LINKS.
 *
 * One handle must not be used by two threads at once.
 */
#include "modify/guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ext2fs/ext2fs.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/util.h"
#include "fs/ext/ext.h"
#include "image/image.h"

/* Files read, written or copied: refuse above (whatever max says). */
#define GEXT_MAX_FILE   ((uint64_t)1 << 30)
#define GEXT_MAX_PATH   4096
/* Symbolic links one read may follow (the kernel's limit). */
#define GEXT_MAX_LINKS  40
/* Entries one readdir may list. */
#define GEXT_MAX_DIRENTS (1u << 20)
#define GEXT_RA_SIZE    ((uint64_t)256 * 1024)

/* Inode flags that make a file's bytes something else than its content,
 * or forbid changing them. */
#define GEXT_FILE_REFUSED (EXT4_ENCRYPT_FL | EXT4_VERITY_FL | \
			   EXT2_IMMUTABLE_FL | EXT2_APPEND_FL | \
			   EXT2_COMPR_FL | EXT2_COMPRBLK_FL | \
			   EXT4_EA_INODE_FL | EXT4_SNAPFILE_FL)
/* Directories whose names are not plain bytes. */
#define GEXT_DIR_REFUSED  (EXT4_ENCRYPT_FL | EXT4_CASEFOLD_FL | \
			   EXT2_IMMUTABLE_FL | EXT2_APPEND_FL)

/* ---- the io manager over a struct vmie_image, read-write ---- */

struct gio {
	struct vmie_image *img;
	uint8_t *ra;                    /* GEXT_RA_SIZE bytes, or NULL */
	uint64_t ra_off, ra_len;
	struct vmie_err err;            /* the image's last failure */
};

static _Thread_local struct vmie_image *gio_opening;
static struct struct_io_manager gio_manager;

static errcode_t gio_open(const char *name, int flags, io_channel *channel)
{
	struct vmie_image *img = gio_opening;
	io_channel ch;
	struct gio *p;

	(void)flags;
	if (!img || !name || strcmp(name, "vmie-guest"))
		return EXT2_ET_BAD_DEVICE_NAME;
	ch = calloc(1, sizeof *ch);
	p = calloc(1, sizeof *p);
	if (!ch || !p || !(ch->name = strdup(name))) {
		free(ch);
		free(p);
		return EXT2_ET_NO_MEMORY;
	}
	p->img = img;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &gio_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = p;
	*channel = ch;
	return 0;
}

static errcode_t gio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	struct gio *p = ch->private_data;
	if (p)
		free(p->ra);
	free(p);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t gio_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0 || blksize > (1 << 16))
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

/* Byte range of count blocks (count < 0: -count bytes) at block. */
static bool gio_range(io_channel ch, unsigned long long block, int count,
		      uint64_t *off, uint64_t *len)
{
	struct gio *p = ch->private_data;
	*len = count < 0 ? (uint64_t)-(int64_t)count :
			   (uint64_t)count * (uint64_t)ch->block_size;
	return !vmie_mul_u64(block, (uint64_t)ch->block_size, off) &&
	       !vmie_range_outside(*off, *len, p->img->size) &&
	       *len <= SIZE_MAX;
}

static errcode_t gio_read(struct gio *p, void *data, uint64_t len,
			  uint64_t off)
{
	if (len <= GEXT_RA_SIZE / 4) {
		if (!(off >= p->ra_off && off + len <= p->ra_off + p->ra_len) &&
		    (p->ra || (p->ra = malloc(GEXT_RA_SIZE)))) {
			uint64_t n = vmie_min_u64(GEXT_RA_SIZE,
						  p->img->size - off);
			p->ra_len = 0;
			if (vmie_image_pread(p->img, p->ra, (size_t)n, off,
					     &p->err))
				return EIO;
			p->ra_off = off;
			p->ra_len = n;
		}
		if (p->ra && off >= p->ra_off &&
		    off + len <= p->ra_off + p->ra_len) {
			memcpy(data, p->ra + (off - p->ra_off), (size_t)len);
			return 0;
		}
	}
	if (vmie_image_pread(p->img, data, (size_t)len, off, &p->err))
		return EIO;
	return 0;
}

static errcode_t gio_write(struct gio *p, const void *data, uint64_t len,
			   uint64_t off)
{
	if (vmie_image_pwrite(p->img, data, (size_t)len, off, &p->err))
		return p->err.code == VMIE_ENOMEM ? EXT2_ET_NO_MEMORY : EIO;
	/* keep the read-ahead window what the device holds */
	if (p->ra_len && off < p->ra_off + p->ra_len &&
	    p->ra_off < off + len) {
		uint64_t a = vmie_max_u64(off, p->ra_off);
		uint64_t b = vmie_min_u64(off + len, p->ra_off + p->ra_len);
		memcpy(p->ra + (a - p->ra_off),
		       (const uint8_t *)data + (a - off), (size_t)(b - a));
	}
	return 0;
}

static errcode_t gio_read_blk64(io_channel ch, unsigned long long block,
				int count, void *data)
{
	uint64_t off, len;
	if (!gio_range(ch, block, count, &off, &len))
		return EXT2_ET_SHORT_READ;
	return gio_read(ch->private_data, data, len, off);
}

static errcode_t gio_read_blk(io_channel ch, unsigned long block, int count,
			      void *data)
{
	return gio_read_blk64(ch, block, count, data);
}

static errcode_t gio_write_blk64(io_channel ch, unsigned long long block,
				 int count, const void *data)
{
	uint64_t off, len;
	if (!gio_range(ch, block, count, &off, &len))
		return EXT2_ET_SHORT_WRITE;
	return gio_write(ch->private_data, data, len, off);
}

static errcode_t gio_write_blk(io_channel ch, unsigned long block, int count,
			       const void *data)
{
	return gio_write_blk64(ch, block, count, data);
}

static errcode_t gio_write_byte(io_channel ch, unsigned long offset,
				int count, const void *data)
{
	struct gio *p = ch->private_data;
	if (count < 0 || vmie_range_outside(offset, (uint64_t)count,
					    p->img->size))
		return EXT2_ET_SHORT_WRITE;
	return gio_write(p, data, (uint64_t)count, offset);
}

static errcode_t gio_flush(io_channel ch)
{
	(void)ch;
	return 0;
}

static errcode_t gio_set_option(io_channel ch, const char *option,
				const char *arg)
{
	(void)ch, (void)option, (void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager gio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "vmie guest I/O manager",
	.open = gio_open,
	.close = gio_close,
	.set_blksize = gio_set_blksize,
	.read_blk = gio_read_blk,
	.write_blk = gio_write_blk,
	.flush = gio_flush,
	.write_byte = gio_write_byte,
	.set_option = gio_set_option,
	.read_blk64 = gio_read_blk64,
	.write_blk64 = gio_write_blk64,
};

/* ---- the handle ---- */

struct gext {
	ext2_filsys efs;
	struct gio *io;
	bool changed;           /* something was written since the flush */
};

static ext2_filsys gext_efs(struct vmie_guest *g)
{
	return ((struct gext *)g->priv)->efs;
}

/* Every error names the device, the path and libext2fs's message; an I/O
 * error of the device below adds the device's own message. */
static int gext_fail(struct vmie_guest *g, struct vmie_err *err,
		     errcode_t e, const char *path, const char *what)
{
	struct gext *x = g->priv;
	struct vmie_err *io = x && x->io ? &x->io->err : NULL;
	int code = vmie_ext_errcode(e);
	if (io && io->code && (e == EIO || e == EXT2_ET_NO_MEMORY)) {
		code = io->code;
		return VMIE_ERR(err, code, "ext: %s: %s: %s: %s (%s)", g->name,
				path, what, vmie_ext_strerror(e), io->msg);
	}
	if (code == VMIE_ECORRUPT)
		return VMIE_CORRUPT(err, "ext: %s: %s: %s: %s", g->name, path,
				    what, vmie_ext_strerror(e));
	return VMIE_ERR(err, code, "ext: %s: %s: %s: %s", g->name, path, what,
			vmie_ext_strerror(e));
}

/* Start of an operation: forget the device's previous failure. */
static void gext_begin(struct vmie_guest *g)
{
	struct gext *x = g->priv;
	vmie_err_clear(&x->io->err);
}

static int gext_read_inode(struct vmie_guest *g, ext2_ino_t ino,
			   struct ext2_inode_large *in, const char *path,
			   struct vmie_err *err)
{
	memset(in, 0, sizeof *in);
	errcode_t e = ext2fs_read_inode_full(gext_efs(g), ino,
					     (struct ext2_inode *)in,
					     sizeof *in);
	return e ? gext_fail(g, err, e, path, "inode") : 0;
}

static int gext_write_inode(struct vmie_guest *g, ext2_ino_t ino,
			    struct ext2_inode_large *in, const char *path,
			    struct vmie_err *err)
{
	errcode_t e = ext2fs_write_inode_full(gext_efs(g), ino,
					      (struct ext2_inode *)in,
					      sizeof *in);
	return e ? gext_fail(g, err, e, path, "inode write") : 0;
}

/* ---- times ---- */

enum { GEXT_ATIME = 1, GEXT_MTIME = 2, GEXT_CTIME = 4 };

/* The extra field of a timestamp: nanoseconds << 2 | epoch bits. */
static uint32_t gext_time_extra(int64_t sec)
{
	return (uint32_t)(((sec - (int32_t)sec) >> 32) & EXT4_EPOCH_MASK);
}

/* Set the timestamps in which to sec (seconds since 1970, nanoseconds
 * 0); the extra fields only when the inode has room for them (past
 * i_extra_isize lie extended attributes). */
static void gext_set_times(ext2_filsys efs, struct ext2_inode_large *in,
			   unsigned which, int64_t sec)
{
	size_t have = EXT2_GOOD_OLD_INODE_SIZE;
	if (EXT2_INODE_SIZE(efs->super) > EXT2_GOOD_OLD_INODE_SIZE)
		have += in->i_extra_isize;
	if (which & GEXT_ATIME) {
		in->i_atime = (uint32_t)sec;
		if (inode_includes(have, i_atime_extra))
			in->i_atime_extra = gext_time_extra(sec);
	}
	if (which & GEXT_MTIME) {
		in->i_mtime = (uint32_t)sec;
		if (inode_includes(have, i_mtime_extra))
			in->i_mtime_extra = gext_time_extra(sec);
	}
	if (which & GEXT_CTIME) {
		in->i_ctime = (uint32_t)sec;
		if (inode_includes(have, i_ctime_extra))
			in->i_ctime_extra = gext_time_extra(sec);
	}
}

static int gext_touch(struct vmie_guest *g, ext2_ino_t ino, unsigned which,
		      const char *path, struct vmie_err *err)
{
	struct ext2_inode_large in;
	int r = gext_read_inode(g, ino, &in, path, err);
	if (r)
		return r;
	gext_set_times(gext_efs(g), &in, which, (int64_t)time(NULL));
	return gext_write_inode(g, ino, &in, path, err);
}

/* ---- paths ---- */

enum gext_follow {
	GEXT_NOFOLLOW,          /* write, copy, rename: no link anywhere */
	GEXT_FOLLOW_DIRS,       /* stat: links before the last component */
	GEXT_FOLLOW_ALL,        /* read, readdir */
};

struct gext_where {
	ext2_ino_t dir;         /* the directory holding the last component */
	ext2_ino_t ino;         /* 0: the last component does not exist */
	char leaf[EXT2_NAME_LEN + 1];   /* "" for "/" */
};

/* The target of symbolic link ino into buf (size > GEXT_MAX_PATH). */
static int gext_readlink(struct vmie_guest *g, ext2_ino_t ino,
			 const char *path, char *buf, size_t size,
			 struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct ext2_inode_large in;
	int r = gext_read_inode(g, ino, &in, path, err);
	if (r)
		return r;
	uint64_t sz = EXT2_I_SIZE(&in);
	if (!sz || sz >= size || sz >= GEXT_MAX_PATH ||
	    sz > (uint64_t)efs->blocksize)
		return VMIE_CORRUPT(err, "ext: %s: %s: symbolic link inode %u "
				    "with a target of %llu bytes", g->name,
				    path, ino, (unsigned long long)sz);
	if (in.i_flags & EXT4_ENCRYPT_FL)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: %s: encrypted "
				"symbolic link", g->name, path);
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&in)) {
		/* the target is in i_block (also for short inline links) */
		memcpy(buf, in.i_block, (size_t)sz);
	} else {
		ext2_file_t f = NULL;
		unsigned got = 0;
		errcode_t e = ext2fs_file_open2(efs, ino,
						(struct ext2_inode *)&in, 0,
						&f);
		if (!e)
			e = ext2fs_file_read(f, buf, (unsigned)sz, &got);
		if (f)
			ext2fs_file_close(f);
		if (e)
			return gext_fail(g, err, e, path, "symbolic link");
		if (got != sz)
			return VMIE_CORRUPT(err, "ext: %s: %s: symbolic link "
					    "inode %u shorter than its size",
					    g->name, path, ino);
	}
	buf[sz] = 0;
	if (memchr(buf, 0, (size_t)sz))
		return VMIE_CORRUPT(err, "ext: %s: %s: symbolic link inode %u "
				    "holds a NUL byte", g->name, path, ino);
	return 0;
}

/*
 * Walk path from the root.  Components "." and "" are skipped, ".." is
 * looked up like any name (the root's ".." is the root: nothing leaves
 * the file system).  A missing last component is not an error (w->ino 0);
 * a missing or non-directory middle one is VMIE_ENOENT.  Symbolic links
 * are followed as follow says, each target walked from the root (absolute)
 * or from the link's directory; with GEXT_NOFOLLOW a link in the middle is
 * VMIE_EPERM, one at the end is returned as itself.
 */
static int gext_resolve(struct vmie_guest *g, const char *path,
			enum gext_follow follow, struct gext_where *w,
			struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	/* what is left to walk: a link's target, then the rest */
	char *rem = malloc(2 * GEXT_MAX_PATH + 2);
	char *tgt = malloc(GEXT_MAX_PATH + 1);
	char *tmp = malloc(2 * GEXT_MAX_PATH + 2);
	ext2_ino_t cur = EXT2_ROOT_INO;
	unsigned links = 0;
	int r = 0;

	memset(w, 0, sizeof *w);
	if (!rem || !tgt || !tmp) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(path) >= GEXT_MAX_PATH) {
		r = VMIE_ERR(err, VMIE_EINVAL, "ext: %s: path of more than "
			     "%d bytes", g->name, GEXT_MAX_PATH - 1);
		goto out;
	}
	strcpy(rem, path);
	w->dir = EXT2_ROOT_INO;
	w->ino = EXT2_ROOT_INO;
	size_t at = 0;
	for (;;) {
		while (rem[at] == '/')
			at++;
		if (!rem[at])
			break;
		size_t n = strcspn(rem + at, "/");
		const char *name = rem + at;
		size_t next = at + n;
		while (rem[next] == '/')
			next++;
		bool last = !rem[next];
		at = next;
		if (n == 1 && name[0] == '.') {
			if (last) {
				/* "/etc/." is /etc itself */
				w->ino = cur;
				w->leaf[0] = 0;
			}
			continue;
		}
		if (n > EXT2_NAME_LEN) {
			if (!last) {
				r = VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: "
					     "a component of more than %d "
					     "bytes", g->name, path,
					     EXT2_NAME_LEN);
				goto out;
			}
			r = VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: a name "
				     "of more than %d bytes", g->name, path,
				     EXT2_NAME_LEN);
			goto out;
		}
		ext2_ino_t ino = 0;
		errcode_t e = ext2fs_lookup(efs, cur, name, (int)n, NULL, &ino);
		if (e && e != EXT2_ET_FILE_NOT_FOUND) {
			r = gext_fail(g, err, e, path, "directory lookup");
			goto out;
		}
		if (e) {
			if (!last) {
				r = VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: "
					     "'%.*s' not found", g->name, path,
					     (int)n, name);
				goto out;
			}
			w->dir = cur;
			w->ino = 0;
			memcpy(w->leaf, name, n);
			w->leaf[n] = 0;
			break;
		}
		struct ext2_inode_large in;
		r = gext_read_inode(g, ino, &in, path, err);
		if (r)
			goto out;
		if (LINUX_S_ISLNK(in.i_mode) &&
		    (follow == GEXT_FOLLOW_ALL ||
		     (follow == GEXT_FOLLOW_DIRS && !last))) {
			if (++links > GEXT_MAX_LINKS) {
				r = VMIE_ERR(err, VMIE_ELIMIT, "ext: %s: %s: "
					     "more than %d symbolic links",
					     g->name, path, GEXT_MAX_LINKS);
				goto out;
			}
			r = gext_readlink(g, ino, path, tgt, GEXT_MAX_PATH + 1,
					  err);
			if (r)
				goto out;
			/* target, then what was left after the link */
			int k = snprintf(tmp, 2 * GEXT_MAX_PATH + 2, "%s/%s",
					 tgt, rem + at);
			if (k < 0 || k >= GEXT_MAX_PATH) {
				r = VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: "
					     "path through symbolic links is "
					     "longer than %d bytes", g->name,
					     path, GEXT_MAX_PATH - 1);
				goto out;
			}
			if (tgt[0] == '/')
				cur = EXT2_ROOT_INO;
			memcpy(rem, tmp, (size_t)k + 1);
			at = 0;
			w->dir = cur;
			w->ino = cur;
			w->leaf[0] = 0;
			continue;
		}
		if (LINUX_S_ISLNK(in.i_mode) && !last) {
			r = VMIE_ERR(err, VMIE_EPERM, "ext: %s: %s: '%.*s' is "
				     "a symbolic link: not followed when "
				     "writing", g->name, path, (int)n, name);
			goto out;
		}
		if (last) {
			w->dir = cur;
			w->ino = ino;
			memcpy(w->leaf, name, n);
			w->leaf[n] = 0;
			break;
		}
		if (!LINUX_S_ISDIR(in.i_mode)) {
			r = VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: '%.*s' is "
				     "not a directory", g->name, path, (int)n,
				     name);
			goto out;
		}
		cur = ino;
		w->dir = cur;
		w->ino = cur;
		w->leaf[0] = 0;
	}
out:
	free(rem);
	free(tgt);
	free(tmp);
	return r;
}

/* A path whose last component may be created or replaced: resolved
 * without links, a real name at the end. */
static int gext_resolve_target(struct vmie_guest *g, const char *path,
			       struct gext_where *w, struct vmie_err *err)
{
	int r = gext_resolve(g, path, GEXT_NOFOLLOW, w, err);
	if (r)
		return r;
	if (!w->leaf[0] || !strcmp(w->leaf, ".."))
		return VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: not a file "
				"name", g->name, path);
	return 0;
}

/* An existing regular file that may be changed or copied. */
static int gext_check_file(struct vmie_guest *g, const char *path,
			   const struct ext2_inode_large *in, bool changing,
			   struct vmie_err *err)
{
	if (LINUX_S_ISLNK(in->i_mode))
		return VMIE_ERR(err, VMIE_EPERM, "ext: %s: %s: a symbolic "
				"link: not followed when %s", g->name, path,
				changing ? "writing" : "copying");
	if (!LINUX_S_ISREG(in->i_mode))
		return VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: not a regular "
				"file (mode 0%o)", g->name, path,
				(unsigned)in->i_mode);
	if (!in->i_links_count || in->i_dtime)
		return VMIE_CORRUPT(err, "ext: %s: %s: the directory entry "
				    "names a deleted inode", g->name, path);
	uint32_t bad = in->i_flags & GEXT_FILE_REFUSED;
	if (!changing)
		bad &= ~(uint32_t)(EXT4_VERITY_FL | EXT2_IMMUTABLE_FL |
				   EXT2_APPEND_FL);
	if (bad)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: %s: the file is "
				"%s (inode flags 0x%x): vmie does not %s it",
				g->name, path,
				bad & EXT4_ENCRYPT_FL ? "encrypted" :
				bad & EXT4_VERITY_FL ? "protected by fs-verity" :
				bad & EXT2_IMMUTABLE_FL ? "immutable" :
				bad & EXT2_APPEND_FL ? "append-only" :
				bad & (EXT2_COMPR_FL | EXT2_COMPRBLK_FL) ?
				"compressed" : "not a plain file",
				(unsigned)in->i_flags,
				changing ? "change" : "copy");
	return 0;
}

/* A directory a name may be added to or removed from. */
static int gext_check_dir(struct vmie_guest *g, ext2_ino_t dir,
			  const char *path, struct ext2_inode_large *in,
			  struct vmie_err *err)
{
	int r = gext_read_inode(g, dir, in, path, err);
	if (r)
		return r;
	if (!LINUX_S_ISDIR(in->i_mode))
		return VMIE_CORRUPT(err, "ext: %s: %s: parent inode %u is not "
				    "a directory", g->name, path, dir);
	uint32_t bad = in->i_flags & GEXT_DIR_REFUSED;
	if (bad)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: %s: the directory "
				"is %s (inode flags 0x%x): vmie does not change "
				"it", g->name, path,
				bad & EXT4_ENCRYPT_FL ? "encrypted" :
				bad & EXT4_CASEFOLD_FL ? "case-insensitive" :
				bad & EXT2_IMMUTABLE_FL ? "immutable" :
				"append-only", (unsigned)in->i_flags);
	return 0;
}

/* ---- content ---- */

/* Write len bytes as the whole content of regular file ino (truncated
 * first when trunc).  In pieces of one block: libext2fs copies a write
 * to an inline-data file into a buffer of three blocks. */
static errcode_t gext_fill(ext2_filsys efs, ext2_ino_t ino, const void *buf,
			   size_t len, bool trunc)
{
	ext2_file_t f = NULL;
	const uint8_t *p = buf;
	errcode_t e, e2;

	e = ext2fs_file_open(efs, ino, EXT2_FILE_WRITE, &f);
	if (e)
		return e;
	if (trunc) {
		e = ext2fs_file_set_size2(f, 0);
		/* truncating an inline file drops its system.data
		 * attribute; e2fsck wants one, even empty */
		if (!e && (ext2fs_file_get_inode(f)->i_flags &
			   EXT4_INLINE_DATA_FL))
			e = ext2fs_inline_data_init(efs, ino);
	}
	while (!e && len) {
		unsigned n = (unsigned)vmie_min_u64(len, efs->blocksize), w = 0;
		e = ext2fs_file_write(f, p, n, &w);
		if (!e && !w)
			e = EXT2_ET_SHORT_WRITE;
		p += w;
		len -= w;
	}
	e2 = ext2fs_file_close(f);
	return e ? e : e2;
}

/* Blocks a file of len bytes may need, index blocks included (a bound,
 * not an estimate: refusing early beats failing half-way). */
static uint64_t gext_blocks_for(ext2_filsys efs, uint64_t len)
{
	uint64_t b = vmie_div_round_up(len, efs->blocksize);
	return b + b / (efs->blocksize / 4) + 4;
}

static int gext_check_space(struct vmie_guest *g, const char *path,
			    uint64_t len, uint64_t freed, struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	uint64_t avail = ext2fs_free_blocks_count(efs->super) + freed;
	uint64_t need = gext_blocks_for(efs, len);
	if (need > avail)
		return VMIE_ERR(err, VMIE_ENOSPC, "ext: %s: %s: %llu bytes do "
				"not fit: %llu blocks free of %u bytes",
				g->name, path, (unsigned long long)len,
				(unsigned long long)avail, efs->blocksize);
	return 0;
}

/* ---- creating and linking ---- */

/* Add name -> ino to dir; a full directory is grown by one block and the
 * link tried again (a hash-indexed one grows its index itself: its
 * "no space" is final). */
static errcode_t gext_link(ext2_filsys efs, ext2_ino_t dir, const char *name,
			   ext2_ino_t ino, int ftype, bool indexed)
{
	errcode_t e = ext2fs_link(efs, dir, name, ino, ftype);
	if (e == EXT2_ET_DIR_NO_SPACE && !indexed) {
		e = ext2fs_expand_dir(efs, dir);
		if (!e)
			e = ext2fs_link(efs, dir, name, ino, ftype);
	}
	return e;
}

static int gext_ftype(unsigned mode)
{
	if (LINUX_S_ISREG(mode)) return EXT2_FT_REG_FILE;
	if (LINUX_S_ISDIR(mode)) return EXT2_FT_DIR;
	if (LINUX_S_ISLNK(mode)) return EXT2_FT_SYMLINK;
	if (LINUX_S_ISCHR(mode)) return EXT2_FT_CHRDEV;
	if (LINUX_S_ISBLK(mode)) return EXT2_FT_BLKDEV;
	if (LINUX_S_ISFIFO(mode)) return EXT2_FT_FIFO;
	if (LINUX_S_ISSOCK(mode)) return EXT2_FT_SOCK;
	return EXT2_FT_UNKNOWN;
}

/* A new empty regular file w->leaf in w->dir (mode, uid, gid), linked;
 * its inode number in *out. */
static int gext_create(struct vmie_guest *g, const char *path,
		       const struct gext_where *w, unsigned mode,
		       unsigned uid, unsigned gid, ext2_ino_t *out,
		       struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct ext2_inode_large dir, in;
	ext2_ino_t ino = 0;
	errcode_t e;
	int r = gext_check_dir(g, w->dir, path, &dir, err);
	if (r)
		return r;
	if (strlen(w->leaf) > EXT2_NAME_LEN)
		return VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: name too long",
				g->name, path);
	e = ext2fs_new_inode(efs, w->dir, LINUX_S_IFREG | (mode & 07777), NULL,
			     &ino);
	if (e)
		return gext_fail(g, err, e, path, "new inode");
	((struct gext *)g->priv)->changed = true;
	e = gext_link(efs, w->dir, w->leaf, ino, EXT2_FT_REG_FILE,
		      dir.i_flags & EXT2_INDEX_FL);
	if (e)
		return gext_fail(g, err, e, path, "directory entry");
	ext2fs_inode_alloc_stats2(efs, ino, +1, 0);

	memset(&in, 0, sizeof in);
	in.i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
	in.i_uid = (uint16_t)uid;
	ext2fs_set_i_uid_high(in, uid >> 16);
	in.i_gid = (uint16_t)gid;
	ext2fs_set_i_gid_high(in, gid >> 16);
	in.i_links_count = 1;
	uint32_t now = (uint32_t)time(NULL);
	in.i_atime = in.i_ctime = in.i_mtime = now;
	if (ext2fs_has_feature_inline_data(efs->super)) {
		in.i_flags |= EXT4_INLINE_DATA_FL;
	} else if (ext2fs_has_feature_extents(efs->super)) {
		ext2_extent_handle_t h;
		e = ext2fs_extent_open2(efs, ino, (struct ext2_inode *)&in, &h);
		if (e)
			return gext_fail(g, err, e, path, "extent tree");
		ext2fs_extent_free(h);
	}
	e = ext2fs_write_new_inode(efs, ino, (struct ext2_inode *)&in);
	if (!e && (in.i_flags & EXT4_INLINE_DATA_FL))
		e = ext2fs_inline_data_init(efs, ino);
	if (e)
		return gext_fail(g, err, e, path, "new inode");
	r = gext_touch(g, w->dir, GEXT_MTIME | GEXT_CTIME, path, err);
	if (r)
		return r;
	*out = ino;
	return 0;
}

/* ---- operations ---- */

static int gext_op_stat(struct vmie_guest *g, const char *path,
			struct vmie_guest_stat *st, struct vmie_err *err)
{
	struct gext_where w;
	struct ext2_inode_large in;
	int r;

	memset(st, 0, sizeof *st);
	gext_begin(g);
	r = gext_resolve(g, path, GEXT_FOLLOW_DIRS, &w, err);
	if (r == VMIE_ENOENT) {
		vmie_err_clear(err);    /* a missing directory on the way */
		return 0;
	}
	if (r || !w.ino)
		return r;
	r = gext_read_inode(g, w.ino, &in, path, err);
	if (r)
		return r;
	st->exists = true;
	st->is_dir = LINUX_S_ISDIR(in.i_mode);
	st->is_reg = LINUX_S_ISREG(in.i_mode);
	st->is_lnk = LINUX_S_ISLNK(in.i_mode);
	st->size = EXT2_I_SIZE(&in);
	st->mode = in.i_mode & 07777;
	st->uid = inode_uid(in);
	st->gid = inode_gid(in);
	return 0;
}

static int gext_op_read(struct vmie_guest *g, const char *path, size_t max,
			char **buf, size_t *len, struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct gext_where w;
	struct ext2_inode_large in;
	ext2_file_t f = NULL;
	char *p = NULL;
	errcode_t e = 0;
	int r;

	*buf = NULL;
	*len = 0;
	gext_begin(g);
	r = gext_resolve(g, path, GEXT_FOLLOW_ALL, &w, err);
	if (r)
		return r;
	if (!w.ino)
		return VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: not found",
				g->name, path);
	r = gext_read_inode(g, w.ino, &in, path, err);
	if (r)
		return r;
	if (!LINUX_S_ISREG(in.i_mode))
		return VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: not a regular "
				"file (mode 0%o)", g->name, path,
				(unsigned)in.i_mode);
	if (in.i_flags & EXT4_ENCRYPT_FL)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: %s: the file is "
				"encrypted", g->name, path);
	uint64_t size = EXT2_I_SIZE(&in);
	uint64_t cap = vmie_min_u64(max, GEXT_MAX_FILE);
	if (size > cap)
		return VMIE_ERR(err, VMIE_ENOMEM, "ext: %s: %s: %llu bytes, "
				"more than the %llu this read allows", g->name,
				path, (unsigned long long)size,
				(unsigned long long)cap);
	p = malloc((size_t)size + 1);
	if (!p)
		return VMIE_ERR(err, VMIE_ENOMEM, "ext: %s: %s: out of memory "
				"for %llu bytes", g->name, path,
				(unsigned long long)size);
	e = ext2fs_file_open2(efs, w.ino, (struct ext2_inode *)&in, 0, &f);
	size_t got = 0;
	while (!e && got < size) {
		unsigned n = 0;
		unsigned want = (unsigned)vmie_min_u64(size - got, 1u << 24);
		e = ext2fs_file_read(f, p + got, want, &n);
		if (!e && !n)
			break;
		got += n;
	}
	if (f) {
		errcode_t e2 = ext2fs_file_close(f);
		if (!e)
			e = e2;
	}
	if (e) {
		free(p);
		return gext_fail(g, err, e, path, "read");
	}
	/* a file shorter than its size reads as zeros up to it */
	memset(p + got, 0, (size_t)(size - got));
	p[size] = 0;
	*buf = p;
	*len = (size_t)size;
	return 0;
}

static int gext_op_write(struct vmie_guest *g, const char *path,
			 const void *buf, size_t len, unsigned mode,
			 struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct gext_where w;
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t e;
	int r;

	gext_begin(g);
	if ((uint64_t)len > GEXT_MAX_FILE)
		return VMIE_ERR(err, VMIE_ENOMEM, "ext: %s: %s: %zu bytes to "
				"write, more than %llu", g->name, path, len,
				(unsigned long long)GEXT_MAX_FILE);
	r = gext_resolve_target(g, path, &w, err);
	if (r)
		return r;
	if (w.ino) {
		ino = w.ino;
		r = gext_read_inode(g, ino, &in, path, err);
		if (!r)
			r = gext_check_file(g, path, &in, true, err);
		if (!r)
			r = gext_check_space(g, path, len,
					     ext2fs_get_stat_i_blocks(efs,
						(struct ext2_inode *)&in) * 512 /
					     efs->blocksize, err);
		if (r)
			return r;
		((struct gext *)g->priv)->changed = true;
		e = gext_fill(efs, ino, buf, len, true);
	} else {
		r = gext_check_space(g, path, len, 0, err);
		if (!r)
			r = gext_create(g, path, &w, mode, 0, 0, &ino, err);
		if (r)
			return r;
		e = gext_fill(efs, ino, buf, len, false);
	}
	if (e)
		return gext_fail(g, err, e, path, "write");
	return gext_touch(g, ino, GEXT_MTIME | GEXT_CTIME, path, err);
}

struct gext_xcopy {
	struct ext2_xattr_handle *dst;
	errcode_t e;
};

static int gext_xattr_cb(char *name, char *value, size_t value_len,
			 void *data)
{
	struct gext_xcopy *c = data;
	/* inline data travels with the content, not as an attribute */
	if (!strcmp(name, "system.data"))
		return 0;
	c->e = ext2fs_xattr_set(c->dst, name, value, value_len);
	return c->e ? XATTR_ABORT : 0;
}

/* The extended attributes of src onto dst (a new inode). */
static errcode_t gext_copy_xattrs(ext2_filsys efs, ext2_ino_t src,
				  ext2_ino_t dst)
{
	struct ext2_xattr_handle *hs = NULL, *hd = NULL;
	struct gext_xcopy c = { 0 };
	errcode_t e;

	if (!ext2fs_has_feature_xattr(efs->super))
		return 0;
	e = ext2fs_xattrs_open(efs, src, &hs);
	if (!e)
		e = ext2fs_xattrs_read(hs);
	if (!e)
		e = ext2fs_xattrs_open(efs, dst, &hd);
	if (!e)
		e = ext2fs_xattrs_read(hd);
	if (!e) {
		c.dst = hd;
		e = ext2fs_xattrs_iterate(hs, gext_xattr_cb, &c);
		if (!e)
			e = c.e;
	}
	if (hd) {
		errcode_t e2 = ext2fs_xattrs_close(&hd);
		if (!e)
			e = e2;
	}
	if (hs)
		ext2fs_xattrs_close(&hs);
	return e;
}

/* Content of src into dst (new, empty), a block at a time. */
static errcode_t gext_copy_data(ext2_filsys efs, ext2_ino_t src,
				ext2_ino_t dst, uint64_t size)
{
	ext2_file_t fs_ = NULL, fd = NULL;
	char *b = malloc(efs->blocksize);
	errcode_t e, e2;

	if (!b)
		return EXT2_ET_NO_MEMORY;
	e = ext2fs_file_open(efs, src, 0, &fs_);
	if (!e)
		e = ext2fs_file_open(efs, dst, EXT2_FILE_WRITE, &fd);
	uint64_t done = 0;
	while (!e && done < size) {
		unsigned n = 0, w = 0;
		unsigned want = (unsigned)vmie_min_u64(size - done,
						       efs->blocksize);
		e = ext2fs_file_read(fs_, b, want, &n);
		if (!e && !n) {
			/* shorter than its size: the rest reads as zeros */
			memset(b, 0, want);
			n = want;
		}
		for (unsigned k = 0; !e && k < n; k += w) {
			e = ext2fs_file_write(fd, b + k, n - k, &w);
			if (!e && !w)
				e = EXT2_ET_SHORT_WRITE;
		}
		done += n;
	}
	if (fd) {
		e2 = ext2fs_file_close(fd);
		if (!e)
			e = e2;
	}
	if (fs_)
		ext2fs_file_close(fs_);
	free(b);
	return e;
}

static int gext_op_copy(struct vmie_guest *g, const char *path,
			const char *new_path, struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct gext_where ws, wd;
	struct ext2_inode_large in, out;
	ext2_ino_t ino = 0;
	errcode_t e;
	int r;

	gext_begin(g);
	r = gext_resolve_target(g, path, &ws, err);
	if (r)
		return r;
	if (!ws.ino)
		return VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: not found",
				g->name, path);
	r = gext_read_inode(g, ws.ino, &in, path, err);
	if (!r)
		r = gext_check_file(g, path, &in, false, err);
	if (r)
		return r;
	uint64_t size = EXT2_I_SIZE(&in);
	if (size > GEXT_MAX_FILE)
		return VMIE_ERR(err, VMIE_ENOMEM, "ext: %s: %s: %llu bytes, "
				"more than the %llu vmie copies", g->name, path,
				(unsigned long long)size,
				(unsigned long long)GEXT_MAX_FILE);
	r = gext_resolve_target(g, new_path, &wd, err);
	if (r)
		return r;
	if (wd.ino)
		return VMIE_ERR(err, VMIE_EEXIST, "ext: %s: %s: exists",
				g->name, new_path);
	r = gext_check_space(g, new_path, size, 0, err);
	if (!r)
		r = gext_create(g, new_path, &wd, in.i_mode & 07777,
				inode_uid(in), inode_gid(in), &ino, err);
	if (r)
		return r;
	e = gext_copy_data(efs, ws.ino, ino, size);
	if (e)
		return gext_fail(g, err, e, new_path, "copy");
	e = gext_copy_xattrs(efs, ws.ino, ino);
	if (e)
		return gext_fail(g, err, e, new_path, "extended attributes");
	/* the original's access and modification times */
	r = gext_read_inode(g, ino, &out, new_path, err);
	if (r)
		return r;
	size_t hs = EXT2_GOOD_OLD_INODE_SIZE, hd = EXT2_GOOD_OLD_INODE_SIZE;
	if (EXT2_INODE_SIZE(efs->super) > EXT2_GOOD_OLD_INODE_SIZE) {
		hs += in.i_extra_isize;
		hd += out.i_extra_isize;
	}
	out.i_atime = in.i_atime;
	out.i_mtime = in.i_mtime;
	if (inode_includes(hd, i_atime_extra))
		out.i_atime_extra = inode_includes(hs, i_atime_extra) ?
				    in.i_atime_extra : 0;
	if (inode_includes(hd, i_mtime_extra))
		out.i_mtime_extra = inode_includes(hs, i_mtime_extra) ?
				    in.i_mtime_extra : 0;
	return gext_write_inode(g, ino, &out, new_path, err);
}

static int gext_op_rename(struct vmie_guest *g, const char *path,
			  const char *new_path, struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct gext_where ws, wd;
	struct ext2_inode_large in, dir;
	errcode_t e;
	int r;

	gext_begin(g);
	r = gext_resolve_target(g, path, &ws, err);
	if (r)
		return r;
	if (!ws.ino)
		return VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: not found",
				g->name, path);
	r = gext_resolve_target(g, new_path, &wd, err);
	if (r)
		return r;
	if (wd.dir != ws.dir)
		return VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s -> %s: rename "
				"only within one directory", g->name, path,
				new_path);
	if (wd.ino)
		return VMIE_ERR(err, VMIE_EEXIST, "ext: %s: %s: exists",
				g->name, new_path);
	r = gext_read_inode(g, ws.ino, &in, path, err);
	if (r)
		return r;
	if (LINUX_S_ISLNK(in.i_mode))
		return VMIE_ERR(err, VMIE_EPERM, "ext: %s: %s: a symbolic "
				"link: not renamed", g->name, path);
	if (in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: %s: the file is "
				"immutable or append-only (inode flags 0x%x)",
				g->name, path, (unsigned)in.i_flags);
	r = gext_check_dir(g, ws.dir, path, &dir, err);
	if (r)
		return r;
	((struct gext *)g->priv)->changed = true;
	e = gext_link(efs, ws.dir, wd.leaf, ws.ino, gext_ftype(in.i_mode),
		      dir.i_flags & EXT2_INDEX_FL);
	if (e)
		return gext_fail(g, err, e, new_path, "directory entry");
	e = ext2fs_unlink(efs, ws.dir, ws.leaf, ws.ino, 0);
	if (e)
		return gext_fail(g, err, e, path, "unlink");
	r = gext_touch(g, ws.ino, GEXT_CTIME, new_path, err);
	if (!r)
		r = gext_touch(g, ws.dir, GEXT_MTIME | GEXT_CTIME, path, err);
	return r;
}

struct gext_dirent {
	char *name;
	bool is_dir;
};

struct gext_list {
	struct vmie_guest *g;
	struct gext_dirent *d;
	size_t n, cap;
	bool filetype;
	errcode_t e;
	int r;
	struct vmie_err *err;
	const char *path;
};

static int gext_list_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *de,
			int offset, int blocksize, char *buf, void *priv)
{
	(void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
	struct gext_list *l = priv;
	int n = ext2fs_dirent_name_len(de);
	bool is_dir = false;

	if (!de->inode || n <= 0)
		return 0;
	if ((n == 1 && de->name[0] == '.') ||
	    (n == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	/* names a caller could not use as a path component */
	if (memchr(de->name, 0, (size_t)n) || memchr(de->name, '/', (size_t)n))
		return 0;
	if (l->n >= GEXT_MAX_DIRENTS) {
		l->r = VMIE_ERR(l->err, VMIE_ELIMIT, "ext: %s: %s: more than "
				"%u entries", l->g->name, l->path,
				GEXT_MAX_DIRENTS);
		return DIRENT_ABORT;
	}
	int ft = l->filetype ? ext2fs_dirent_file_type(de) : EXT2_FT_UNKNOWN;
	if (ft == EXT2_FT_UNKNOWN) {
		struct ext2_inode_large in;
		l->r = gext_read_inode(l->g, de->inode, &in, l->path, l->err);
		if (l->r)
			return DIRENT_ABORT;
		is_dir = LINUX_S_ISDIR(in.i_mode);
	} else {
		is_dir = ft == EXT2_FT_DIR;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		void *a = realloc(l->d, nc * sizeof *l->d);
		if (!a)
			goto oom;
		l->d = a;
		l->cap = nc;
	}
	char *s = malloc((size_t)n + 1);
	if (!s)
		goto oom;
	memcpy(s, de->name, (size_t)n);
	s[n] = 0;
	l->d[l->n].name = s;
	l->d[l->n].is_dir = is_dir;
	l->n++;
	return 0;
oom:
	l->r = VMIE_ERR(l->err, VMIE_ENOMEM, "out of memory");
	return DIRENT_ABORT;
}

/* The entries are listed first and handed to fn afterwards, so fn may
 * change the directory (rename what it finds). */
static int gext_op_readdir(struct vmie_guest *g, const char *path,
			   vmie_guest_dir_fn fn, void *ctx,
			   struct vmie_err *err)
{
	ext2_filsys efs = gext_efs(g);
	struct gext_where w;
	struct ext2_inode_large in;
	struct gext_list l = { .g = g, .err = err, .path = path };
	int r;

	gext_begin(g);
	r = gext_resolve(g, path, GEXT_FOLLOW_ALL, &w, err);
	if (r)
		return r;
	if (!w.ino)
		return VMIE_ERR(err, VMIE_ENOENT, "ext: %s: %s: not found",
				g->name, path);
	r = gext_read_inode(g, w.ino, &in, path, err);
	if (r)
		return r;
	if (!LINUX_S_ISDIR(in.i_mode))
		return VMIE_ERR(err, VMIE_EINVAL, "ext: %s: %s: not a "
				"directory", g->name, path);
	if (in.i_flags & EXT4_ENCRYPT_FL)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: %s: the directory "
				"is encrypted", g->name, path);
	l.filetype = ext2fs_has_feature_filetype(efs->super);
	errcode_t e = ext2fs_dir_iterate2(efs, w.ino, 0, NULL, gext_list_cb,
					  &l);
	if (!l.r && e)
		l.r = gext_fail(g, err, e, path, "directory");
	for (size_t i = 0; i < l.n; i++) {
		if (!l.r)
			l.r = fn(ctx, l.d[i].name, l.d[i].is_dir);
		free(l.d[i].name);
	}
	free(l.d);
	return l.r;
}

static int gext_op_flush(struct vmie_guest *g, struct vmie_err *err)
{
	struct gext *x = g->priv;
	if (!x->changed)
		return 0;
	gext_begin(g);
	errcode_t e = ext2fs_flush(x->efs);
	if (e)
		return gext_fail(g, err, e, "/", "flush");
	x->changed = false;
	return 0;
}

static void gext_op_close(struct vmie_guest *g)
{
	struct gext *x = g->priv;
	if (x && x->efs)
		ext2fs_free(x->efs);       /* writes nothing */
	free(x);
	free(g);
}

static const struct vmie_guest_ops gext_ops = {
	.kind = "ext",
	.read = gext_op_read,
	.stat = gext_op_stat,
	.write = gext_op_write,
	.copy = gext_op_copy,
	.rename = gext_op_rename,
	.readdir = gext_op_readdir,
	.flush = gext_op_flush,
	.close = gext_op_close,
};

/* ---- open ---- */

/* Why this file system must not be written, or NULL. */
static const char *gext_refusal(ext2_filsys efs)
{
	struct ext2_super_block *sb = efs->super;
	if (ext2fs_has_feature_journal_dev(sb))
		return "is an external journal, not a file system";
	if (ext2fs_has_feature_journal_needs_recovery(sb))
		return "needs journal recovery (the guest was not shut down "
		       "cleanly): writing past an unreplayed journal would "
		       "corrupt it; boot the guest once or run e2fsck on it, "
		       "then import it again";
	if (ext2fs_has_feature_quota(sb))
		return "tracks quotas, which libext2fs does not update when "
		       "it writes files";
	if (ext2fs_has_feature_shared_blocks(sb))
		return "shares blocks between files (shared_blocks), which "
		       "libext2fs cannot write safely";
	return NULL;
}

int vmie_guest_open_ext(struct vmie_image *dev, const char *name,
			struct vmie_guest **out, struct vmie_err *err)
{
	struct vmie_guest *g = NULL;
	struct gext *x = NULL;
	ext2_filsys efs = NULL;
	const char *why;
	errcode_t e;
	int r = 0;

	*out = NULL;
	if (!dev)
		return VMIE_ERR(err, VMIE_EINVAL, "ext: no device");
	if (!name)
		name = dev->name;
	vmie_ext_strerror(0);   /* register libext2fs's messages */
	g = calloc(1, sizeof *g);
	x = calloc(1, sizeof *x);
	if (!g || !x) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	g->ops = &gext_ops;
	g->dev = dev;
	g->priv = x;
	vmie_strlcpy(g->name, name, sizeof g->name);

	gio_opening = dev;
	e = ext2fs_open2("vmie-guest", NULL,
			 EXT2_FLAG_RW | EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP,
			 0, 0, &gio_manager, &efs);
	gio_opening = NULL;
	if (e == EXT2_ET_UNSUPP_FEATURE || e == EXT2_ET_RO_UNSUPP_FEATURE) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: uses features that "
			     "libext2fs cannot write (%s)", g->name,
			     vmie_ext_strerror(e));
		goto out;
	}
	if (e) {
		/* the channel is gone with the failed open: no io->err */
		r = vmie_ext_errcode(e) == VMIE_ECORRUPT ?
		    VMIE_CORRUPT(err, "ext: %s: /: superblock: %s", g->name,
				 vmie_ext_strerror(e)) :
		    VMIE_ERR(err, vmie_ext_errcode(e), "ext: %s: /: "
			     "superblock: %s", g->name, vmie_ext_strerror(e));
		goto out;
	}
	x->efs = efs;
	x->io = efs->io->private_data;
	if ((why = gext_refusal(efs))) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "ext: %s: not changed: the "
			     "file system %s", g->name, why);
		goto out;
	}
	e = ext2fs_check_desc(efs);
	if (e) {
		r = gext_fail(g, err, e, "/", "group descriptors");
		goto out;
	}
	e = ext2fs_read_bitmaps(efs);
	if (e) {
		r = gext_fail(g, err, e, "/", "bitmaps");
		goto out;
	}
	*out = g;
	return 0;
out:
	if (x && x->efs)
		ext2fs_free(x->efs);
	free(x);
	free(g);
	return r;
}
