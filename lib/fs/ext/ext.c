/*
 * ext2/3/4 through libext2fs (e2fsprogs), read-only.
 *
 * libext2fs reads its device through an io_manager; this file provides one
 * ("vmie") that reads a struct vmie_image, so no temporary file and no host
 * device is involved.  The image is handed to the manager's open() through
 * a small table keyed by a numeric token in the channel name
 * ("vmie-ext:<token>"): the entry lives only while ext2fs_open2() runs, the
 * channel keeps its own pointer, so a stale name never reaches a freed
 * image.  Nothing is read eagerly beyond what ext2fs_open2() needs (the
 * superblock and group descriptors): no bitmaps, free space comes from the
 * superblock.
 *
 * A file system that needs recovery (a guest exported running or after a
 * crash) has its committed jbd2 transactions replayed in memory on open
 * (ext_journal.c): the io manager serves the blocks the log holds from the
 * log, so reads see what a kernel mount or e2fsck would, and the image is
 * never written.  vmie_ext_journal_info() (ext.h) tells what was done.
 *
 * Probing decodes the superblock itself (ext_disk.h) and names the file
 * system the way blkid does: ext4 when it uses a feature that the ext3
 * driver did not know, ext3 with a journal, ext2 otherwise.
 *
 * One struct vmie_fs must not be used by two threads at once (libext2fs
 * handles are not thread-safe); separate handles are independent.
 */
#include "fs/fs.h"
#include "fs/ext/ext.h"
#include "fs/ext/ext_disk.h"
#include "fs/ext/ext_journal.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <et/com_err.h>
#include <ext2fs/ext2fs.h>

extern const struct vmie_fs_driver vmie_fsdrv_ext;

/* ---- the io manager over a struct vmie_image ---- */

#define EXTIO_SLOTS 64

static pthread_mutex_t extio_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned long token;
	struct vmie_image *img;
	const struct extj_overlay *ov;
} extio_slots[EXTIO_SLOTS];
static unsigned long extio_next_token;

/* Read-ahead window: libext2fs reads files one block at a time; each read
 * through a compressed image would inflate a whole grain or cluster, so
 * small reads are served from a 256 KiB window read at once.  A channel is
 * used by one thread at a time (as the vmie_fs handle is). */
#define EXTIO_RA_SIZE ((uint64_t)256 * 1024)

struct extio_priv {
	struct vmie_image *img;
	const struct extj_overlay *ov;  /* replayed journal blocks, or NULL */
	uint8_t *ra;            /* EXTIO_RA_SIZE bytes, or NULL */
	uint64_t ra_off, ra_len;
};

/* Publish img (and the journal overlay its reads go through) under a
 * fresh token; 0 when the table is full. */
static unsigned long extio_register(struct vmie_image *img,
				    const struct extj_overlay *ov)
{
	unsigned long token = 0;
	pthread_mutex_lock(&extio_lock);
	for (int i = 0; i < EXTIO_SLOTS; i++) {
		if (!extio_slots[i].img) {
			token = ++extio_next_token;
			extio_slots[i].token = token;
			extio_slots[i].img = img;
			extio_slots[i].ov = ov;
			break;
		}
	}
	pthread_mutex_unlock(&extio_lock);
	return token;
}

static void extio_unregister(unsigned long token)
{
	pthread_mutex_lock(&extio_lock);
	for (int i = 0; i < EXTIO_SLOTS; i++)
		if (extio_slots[i].img && extio_slots[i].token == token)
			extio_slots[i].img = NULL;
	pthread_mutex_unlock(&extio_lock);
}

static struct vmie_image *extio_find(const char *name,
				     const struct extj_overlay **ov)
{
	struct vmie_image *img = NULL;
	char *end;
	if (strncmp(name, "vmie-ext:", 9))
		return NULL;
	unsigned long token = strtoul(name + 9, &end, 10);
	if (*end || !token)
		return NULL;
	pthread_mutex_lock(&extio_lock);
	for (int i = 0; i < EXTIO_SLOTS; i++)
		if (extio_slots[i].img && extio_slots[i].token == token) {
			img = extio_slots[i].img;
			*ov = extio_slots[i].ov;
		}
	pthread_mutex_unlock(&extio_lock);
	return img;
}

static struct struct_io_manager extio_manager;

static errcode_t extio_open(const char *name, int flags, io_channel *channel)
{
	const struct extj_overlay *ov = NULL;
	struct vmie_image *img = extio_find(name ? name : "", &ov);
	io_channel ch;
	struct extio_priv *p;

	if (!img)
		return EXT2_ET_BAD_DEVICE_NAME;
	if (flags & IO_FLAG_RW)
		return EXT2_ET_RO_FILSYS;
	ch = calloc(1, sizeof *ch);
	p = calloc(1, sizeof *p);
	if (!ch || !p || !(ch->name = strdup(name))) {
		free(ch);
		free(p);
		return EXT2_ET_NO_MEMORY;
	}
	p->img = img;
	p->ov = ov;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &extio_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = p;
	*channel = ch;
	return 0;
}

static errcode_t extio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	struct extio_priv *p = ch->private_data;
	if (p)
		free(p->ra);
	free(ch->private_data);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t extio_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0 || blksize > (1 << 16))
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t extio_read_blk64(io_channel ch, unsigned long long block,
				  int count, void *data)
{
	struct extio_priv *p = ch->private_data;
	uint64_t off, len;

	len = count < 0 ? (uint64_t)-(int64_t)count :
			  (uint64_t)count * (uint64_t)ch->block_size;
	if (vmie_mul_u64(block, (uint64_t)ch->block_size, &off) ||
	    vmie_range_outside(off, len, p->img->size) || len > SIZE_MAX)
		return EXT2_ET_SHORT_READ;
	if (len <= EXTIO_RA_SIZE / 4) {
		if (!(off >= p->ra_off && off + len <= p->ra_off + p->ra_len) &&
		    (p->ra || (p->ra = malloc(EXTIO_RA_SIZE)))) {
			uint64_t n = vmie_min_u64(EXTIO_RA_SIZE, p->img->size - off);
			p->ra_len = 0;
			if (vmie_image_pread(p->img, p->ra, (size_t)n, off, NULL))
				return EIO;
			p->ra_off = off;
			p->ra_len = n;
		}
		if (p->ra && off >= p->ra_off && off + len <= p->ra_off + p->ra_len) {
			memcpy(data, p->ra + (off - p->ra_off), (size_t)len);
			goto journal;
		}
	}
	if (vmie_image_pread(p->img, data, (size_t)len, off, NULL))
		return EIO;
journal:
	if (extj_overlay_apply(p->ov, p->img, off, data, len))
		return EIO;
	return 0;
}

static errcode_t extio_read_blk(io_channel ch, unsigned long block,
				int count, void *data)
{
	return extio_read_blk64(ch, block, count, data);
}

static errcode_t extio_write_blk(io_channel ch, unsigned long block,
				 int count, const void *data)
{
	(void)ch, (void)block, (void)count, (void)data;
	return EXT2_ET_RO_FILSYS;
}

static errcode_t extio_write_blk64(io_channel ch, unsigned long long block,
				   int count, const void *data)
{
	(void)ch, (void)block, (void)count, (void)data;
	return EXT2_ET_RO_FILSYS;
}

static errcode_t extio_write_byte(io_channel ch, unsigned long offset,
				  int count, const void *data)
{
	(void)ch, (void)offset, (void)count, (void)data;
	return EXT2_ET_RO_FILSYS;
}

static errcode_t extio_flush(io_channel ch)
{
	(void)ch;
	return 0;
}

static errcode_t extio_set_option(io_channel ch, const char *option,
				  const char *arg)
{
	(void)ch, (void)option, (void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager extio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "vmie image I/O manager",
	.open = extio_open,
	.close = extio_close,
	.set_blksize = extio_set_blksize,
	.read_blk = extio_read_blk,
	.write_blk = extio_write_blk,
	.flush = extio_flush,
	.write_byte = extio_write_byte,
	.set_option = extio_set_option,
	.read_blk64 = extio_read_blk64,
	.write_blk64 = extio_write_blk64,
};

/* ---- probe ---- */

static int ext_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t sb[EXT_SB_SIZE];

	if (vmie_range_outside(EXT_SB_OFFSET, EXT_SB_SIZE, dev->size) ||
	    vmie_image_pread(dev, sb, sizeof sb, EXT_SB_OFFSET, NULL))
		return 0;
	if (vmie_le16(sb + EXT_SB_MAGIC) != EXT_MAGIC)
		return 0;
	uint32_t log_bs = vmie_le32(sb + EXT_SB_LOG_BLOCK_SIZE);
	if (log_bs > EXT_MAX_LOG_BLOCK_SIZE)
		return 0;
	uint64_t bs = 1024u << log_bs;
	uint32_t compat = vmie_le32(sb + EXT_SB_COMPAT);
	uint32_t incompat = vmie_le32(sb + EXT_SB_INCOMPAT);
	uint32_t ro_compat = vmie_le32(sb + EXT_SB_RO_COMPAT);
	uint64_t blocks = vmie_le32(sb + EXT_SB_BLOCKS_LO);
	uint64_t free_blocks = vmie_le32(sb + EXT_SB_FREE_BLOCKS_LO);
	if (incompat & EXT_INCOMPAT_64BIT) {
		blocks |= (uint64_t)vmie_le32(sb + EXT_SB_BLOCKS_HI) << 32;
		free_blocks |=
			(uint64_t)vmie_le32(sb + EXT_SB_FREE_BLOCKS_HI) << 32;
	}
	if (!blocks || !vmie_le32(sb + EXT_SB_INODES_COUNT))
		return 0;

	if (incompat & EXT_INCOMPAT_JOURNAL_DEV)
		vmie_strlcpy(p->type, "jbd", sizeof p->type);
	else if (!(compat & EXT_COMPAT_HAS_JOURNAL) &&
		 !(incompat & ~EXT2_KNOWN_INCOMPAT) &&
		 !(ro_compat & ~EXT23_KNOWN_RO_COMPAT))
		vmie_strlcpy(p->type, "ext2", sizeof p->type);
	else if ((compat & EXT_COMPAT_HAS_JOURNAL) &&
		 !(incompat & ~EXT3_KNOWN_INCOMPAT) &&
		 !(ro_compat & ~EXT23_KNOWN_RO_COMPAT))
		vmie_strlcpy(p->type, "ext3", sizeof p->type);
	else
		vmie_strlcpy(p->type, "ext4", sizeof p->type);
	snprintf(p->version, sizeof p->version, "%u.%u",
		 vmie_le32(sb + EXT_SB_REV_LEVEL) % 1000u,
		 vmie_le16(sb + EXT_SB_MINOR_REV) % 1000u);
	if (!vmie_is_zero(sb + EXT_SB_UUID, 16))
		vmie_uuid_be(p->uuid, sb + EXT_SB_UUID);
	size_t n = 0;
	while (n < 16 && sb[EXT_SB_VOLUME_NAME + n])
		n++;
	memcpy(p->label, sb + EXT_SB_VOLUME_NAME, n);
	p->label[n] = 0;
	uint64_t sz, fr;
	if (!vmie_mul_u64(blocks, bs, &sz))
		p->size = sz;
	if (free_blocks <= blocks && !vmie_mul_u64(free_blocks, bs, &fr))
		p->free = fr;
	/* magic, block size and non-zero counts verified */
	return 70;
}

/* ---- open / close ---- */

static pthread_once_t ext_et_once = PTHREAD_ONCE_INIT;

static void ext_init_error_table(void)
{
	initialize_ext2_error_table();
}

int vmie_ext_errcode(long e)
{
	switch (e) {
	case EXT2_ET_FILE_NOT_FOUND:
		return VMIE_ENOENT;
	case EXT2_ET_NO_MEMORY:
	case ENOMEM:
		return VMIE_ENOMEM;
	case EIO:
		return VMIE_EIO;
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
		return VMIE_EUNSUPP;
	/* only when writing (lib/modify/guest_ext.c) */
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_EA_NO_SPACE:
	case ENOSPC:
		return VMIE_ENOSPC;
	case EXT2_ET_RO_FILSYS:
		return VMIE_EPERM;
	case EXT2_ET_FILE_TOO_BIG:
		return VMIE_ERANGE;
	default:
		return VMIE_ECORRUPT;
	}
}

const char *vmie_ext_strerror(long e)
{
	pthread_once(&ext_et_once, ext_init_error_table);
	return error_message(e);
}

static int ext_err(struct vmie_fs *fs, struct vmie_err *err, errcode_t e,
		   const char *what)
{
	int code = vmie_ext_errcode(e);
	if (code == VMIE_ECORRUPT)
		return VMIE_CORRUPT(err, "%s: %s: %s: %s", fs->info.type,
				    fs->dev->name, what, error_message(e));
	return VMIE_ERR(err, code, "%s: %s: %s: %s", fs->info.type,
			fs->dev->name, what, error_message(e));
}

/* What fs->priv points to. */
struct extd {
	ext2_filsys efs;
	struct extj_overlay *ov;        /* replayed journal, or NULL */
	struct vmie_ext_journal jnl;
};

static ext2_filsys ext_efs(struct vmie_fs *fs)
{
	return ((struct extd *)fs->priv)->efs;
}

/* ext2fs_open2 on fs->dev, reading through the journal overlay ov. */
static int ext_open_efs(struct vmie_fs *fs, const struct extj_overlay *ov,
			ext2_filsys *out, struct vmie_err *err)
{
	char name[40];
	unsigned long token;
	errcode_t e;

	*out = NULL;
	token = extio_register(fs->dev, ov);
	if (!token)
		return VMIE_ERR(err, VMIE_ENOMEM,
				"ext: more than %d file systems opening at once",
				EXTIO_SLOTS);
	snprintf(name, sizeof name, "vmie-ext:%lu", token);
	e = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP,
			 0, 0, &extio_manager, out);
	extio_unregister(token);
	if (e == EXT2_ET_UNSUPP_FEATURE || e == EXT2_ET_RO_UNSUPP_FEATURE) {
		uint8_t sb[EXT_SB_SIZE];
		uint32_t inc = 0, ro = 0;
		if (!vmie_image_pread(fs->dev, sb, sizeof sb, EXT_SB_OFFSET,
				      NULL)) {
			inc = vmie_le32(sb + EXT_SB_INCOMPAT) &
			      ~(uint32_t)EXT2_LIB_FEATURE_INCOMPAT_SUPP;
			ro = vmie_le32(sb + EXT_SB_RO_COMPAT) &
			     ~(uint32_t)EXT2_LIB_FEATURE_RO_COMPAT_SUPP;
		}
		return VMIE_ERR(err, VMIE_EUNSUPP,
				"%s: %s: unknown incompatible features "
				"(incompat 0x%x, ro_compat 0x%x) that libext2fs "
				"cannot read", fs->info.type, fs->dev->name,
				inc, ro);
	}
	if (e)
		return ext_err(fs, err, e, "superblock");
	return 0;
}

/* Whether the file system's own metadata holds together: group
 * descriptors inside their groups and not overlapping (ext2fs_check_desc),
 * and a root directory whose "." and ".." lead back to it.  Run on the
 * replayed view: a journal written to overwrite those blocks must not
 * become the view that inspection trusts.  Returns 0, or an errcode with
 * what failed in why. */
static errcode_t ext_consistent(ext2_filsys efs, char *why, size_t n)
{
	struct ext2_inode ino;
	ext2_ino_t found;
	errcode_t e;

	e = ext2fs_check_desc(efs);
	if (e) {
		snprintf(why, n, "group descriptors: %s", error_message(e));
		return e;
	}
	e = ext2fs_read_inode(efs, EXT2_ROOT_INO, &ino);
	if (e) {
		snprintf(why, n, "root directory inode: %s", error_message(e));
		return e;
	}
	if (!LINUX_S_ISDIR(ino.i_mode) || ino.i_links_count < 2 ||
	    ino.i_dtime) {
		snprintf(why, n, "root inode is not a live directory (mode "
			 "0%o, %u links%s)", (unsigned)ino.i_mode,
			 (unsigned)ino.i_links_count,
			 ino.i_dtime ? ", deleted" : "");
		return EXT2_ET_NO_DIRECTORY;
	}
	for (int dots = 1; dots <= 2; dots++) {
		e = ext2fs_lookup(efs, EXT2_ROOT_INO, "..", dots, NULL,
				  &found);
		if (!e && found != EXT2_ROOT_INO)
			e = EXT2_ET_DIR_CORRUPTED;
		if (e) {
			snprintf(why, n, "root directory entry \"%.*s\": %s",
				 dots, "..", error_message(e));
			return e;
		}
	}
	return 0;
}

/* Replay the journal in memory when the file system needs recovery, and
 * reopen through it (the superblock and group descriptors may be in the
 * log).  When the replayed metadata cannot be opened, or opens but does
 * not hold together (ext_consistent), the journal is not trusted: the
 * disk is read as it is and the reason kept in d->jnl.problem. */
static int ext_open_journal(struct vmie_fs *fs, struct extd *d,
			    struct vmie_err *err)
{
	struct ext2_super_block *sb = d->efs->super;
	struct extj_overlay *ov = NULL;
	ext2_filsys efs2 = NULL;
	struct vmie_err e2 = { 0 };
	int r;

	if (!ext2fs_has_feature_journal(sb)) {
		d->jnl.state = VMIE_EXT_JOURNAL_NONE;
		return 0;
	}
	d->jnl.state = VMIE_EXT_JOURNAL_CLEAN;
	d->jnl.external = !sb->s_journal_inum;
	if (!ext2fs_has_feature_journal_needs_recovery(sb))
		return 0;
	r = extj_replay(d->efs, fs->dev, &ov, &d->jnl, err);
	if (r || !ov)
		return r;
	r = ext_open_efs(fs, ov, &efs2, &e2);
	if (r == VMIE_ENOMEM) {
		extj_overlay_free(ov);
		if (err)
			*err = e2;
		return r;
	}
	if (r) {
		extj_overlay_free(ov);
		d->jnl.state = VMIE_EXT_JOURNAL_SKIPPED;
		VMIE_CORRUPT(&d->jnl.problem, "ext journal: %s: the file "
			     "system does not open after replaying %u "
			     "transactions (%s): read as it is on disk",
			     fs->dev->name, d->jnl.transactions, e2.msg);
		return 0;
	}
	char why[160];
	if (ext_consistent(efs2, why, sizeof why)) {
		ext2fs_close_free(&efs2);
		extj_overlay_free(ov);
		d->jnl.state = VMIE_EXT_JOURNAL_SKIPPED;
		VMIE_CORRUPT(&d->jnl.problem, "ext journal: %s: journal not "
			     "trusted: replaying %u transaction(s), %llu "
			     "block(s), breaks the file system (%s); read as "
			     "on disk",
			     fs->dev->name, d->jnl.transactions,
			     (unsigned long long)d->jnl.blocks, why);
		d->jnl.transactions = 0;
		d->jnl.blocks = 0;
		d->jnl.untrusted = true;
		return 0;
	}
	ext2fs_close_free(&d->efs);
	d->efs = efs2;
	d->ov = ov;
	return 0;
}

static int ext_open(struct vmie_fs *fs, struct vmie_err *err)
{
	struct extd *d;
	int r;

	if (!strcmp(fs->info.type, "jbd"))
		return VMIE_ERR(err, VMIE_EUNSUPP,
				"%s: an external ext3/4 journal holds no files",
				fs->dev->name);
	pthread_once(&ext_et_once, ext_init_error_table);
	d = calloc(1, sizeof *d);
	if (!d)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	r = ext_open_efs(fs, NULL, &d->efs, err);
	if (!r)
		r = ext_open_journal(fs, d, err);
	if (r) {
		if (d->efs)
			ext2fs_close_free(&d->efs);
		free(d);
		return r;
	}
	fs->priv = d;
	fs->root = EXT2_ROOT_INO;
	/* the superblock is authoritative once libext2fs accepted it (and
	 * may come from the journal) */
	struct ext2_super_block *sb = d->efs->super;
	uint64_t fr;
	if (!vmie_mul_u64(ext2fs_free_blocks_count(sb),
			  (uint64_t)d->efs->blocksize, &fr))
		fs->info.free = fr;
	if (d->ov) {
		size_t n = 0;
		while (n < sizeof sb->s_volume_name && sb->s_volume_name[n])
			n++;
		memcpy(fs->info.label, sb->s_volume_name, n);
		fs->info.label[n] = 0;
	}
	return 0;
}

static void ext_close(struct vmie_fs *fs)
{
	struct extd *d = fs->priv;
	if (!d)
		return;
	if (d->efs)
		ext2fs_close_free(&d->efs);
	extj_overlay_free(d->ov);
	free(d);
	fs->priv = NULL;
}

int vmie_ext_journal_info(const struct vmie_fs *fs,
			  struct vmie_ext_journal *out)
{
	if (!fs || fs->drv != &vmie_fsdrv_ext || !fs->priv)
		return VMIE_EINVAL;
	*out = ((const struct extd *)fs->priv)->jnl;
	return 0;
}

const char *vmie_ext_journal_state_name(enum vmie_ext_journal_state s)
{
	switch (s) {
	case VMIE_EXT_JOURNAL_NONE: return "none";
	case VMIE_EXT_JOURNAL_CLEAN: return "clean";
	case VMIE_EXT_JOURNAL_REPLAYED: return "replayed";
	case VMIE_EXT_JOURNAL_SKIPPED: return "skipped";
	}
	return "?";
}

/* ---- inode operations ---- */

static int ext_ino(struct vmie_fs *fs, vmie_ino_t ino, ext2_ino_t *out,
		   struct vmie_err *err)
{
	ext2_filsys efs = ext_efs(fs);
	if (!ino || ino > efs->super->s_inodes_count)
		return VMIE_CORRUPT(err, "%s: %s: inode %llu out of range",
				    fs->info.type, fs->dev->name,
				    (unsigned long long)ino);
	*out = (ext2_ino_t)ino;
	return 0;
}

static int ext_lookup(struct vmie_fs *fs, vmie_ino_t dir, const char *name,
		      vmie_ino_t *out, struct vmie_err *err)
{
	ext2_filsys efs = ext_efs(fs);
	ext2_ino_t d = 0, ino = 0;
	int r = ext_ino(fs, dir, &d, err);
	if (r)
		return r;
	errcode_t e = ext2fs_lookup(efs, d, name, (int)strlen(name), NULL,
				    &ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return VMIE_ERR(err, VMIE_ENOENT, "%s: '%s' not found",
				fs->info.type, name);
	if (e)
		return ext_err(fs, err, e, "directory lookup");
	*out = ino;
	return 0;
}

static int ext_read_inode(struct vmie_fs *fs, ext2_ino_t ino,
			  struct ext2_inode_large *in, struct vmie_err *err)
{
	memset(in, 0, sizeof *in);
	errcode_t e = ext2fs_read_inode_full(ext_efs(fs), ino,
					     (struct ext2_inode *)in,
					     sizeof *in);
	if (e)
		return ext_err(fs, err, e, "inode");
	return 0;
}

static int ext_stat(struct vmie_fs *fs, vmie_ino_t ino, struct vmie_stat *st,
		    struct vmie_err *err)
{
	ext2_filsys efs = ext_efs(fs);
	struct ext2_inode_large in;
	ext2_ino_t i = 0;
	int r = ext_ino(fs, ino, &i, err);
	if (!r)
		r = ext_read_inode(fs, i, &in, err);
	if (r)
		return r;
	memset(st, 0, sizeof *st);
	st->type = vmie_ftype_from_mode(in.i_mode);
	st->size = EXT2_I_SIZE(&in);
	st->mode = in.i_mode & 07777;
	st->uid = inode_uid(in);
	st->gid = inode_gid(in);
	st->mtime = (int32_t)in.i_mtime;
	/* i_mtime_extra (offset 0x88) carries two more bits of seconds */
	if (EXT2_INODE_SIZE(efs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	    in.i_extra_isize >= 12)
		st->mtime += (int64_t)(in.i_mtime_extra & 3) << 32;
	st->nlink = in.i_links_count;
	st->ino = ino;
	return 0;
}

static int ext_read(struct vmie_fs *fs, vmie_ino_t ino, void *buf, size_t len,
		    uint64_t off, size_t *got, struct vmie_err *err)
{
	ext2_file_t f = NULL;
	ext2_ino_t i = 0;
	unsigned int n = 0;
	errcode_t e;
	int r = ext_ino(fs, ino, &i, err);

	*got = 0;
	if (r)
		return r;
	if (len > (1u << 30))
		len = 1u << 30;
	e = ext2fs_file_open(ext_efs(fs), i, 0, &f);
	if (e)
		return ext_err(fs, err, e, "file open");
	e = ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL);
	if (!e)
		e = ext2fs_file_read(f, buf, (unsigned int)len, &n);
	ext2fs_file_close(f);
	if (e)
		return ext_err(fs, err, e, "file read");
	*got = n;
	return 0;
}

struct ext_dir_ctx {
	vmie_dirent_cb cb;
	void *ctx;
	int ret;
	bool filetype;
};

static int ext_dir_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *de,
		      int offset, int blocksize, char *buf, void *priv)
{
	(void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
	struct ext_dir_ctx *c = priv;
	struct vmie_dirent d;
	int n = ext2fs_dirent_name_len(de);

	if (!de->inode || n <= 0)
		return 0;
	if ((n == 1 && de->name[0] == '.') ||
	    (n == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	memset(&d, 0, sizeof d);
	memcpy(d.name, de->name, (size_t)n < sizeof d.name ? (size_t)n :
	       sizeof d.name - 1);
	d.ino = de->inode;
	d.type = VMIE_FT_UNKNOWN;
	if (c->filetype) {
		switch (ext2fs_dirent_file_type(de)) {
		case EXT2_FT_REG_FILE: d.type = VMIE_FT_REG; break;
		case EXT2_FT_DIR: d.type = VMIE_FT_DIR; break;
		case EXT2_FT_SYMLINK: d.type = VMIE_FT_LNK; break;
		case EXT2_FT_CHRDEV: d.type = VMIE_FT_CHR; break;
		case EXT2_FT_BLKDEV: d.type = VMIE_FT_BLK; break;
		case EXT2_FT_FIFO: d.type = VMIE_FT_FIFO; break;
		case EXT2_FT_SOCK: d.type = VMIE_FT_SOCK; break;
		default: break;
		}
	}
	c->ret = c->cb(c->ctx, &d);
	return c->ret ? DIRENT_ABORT : 0;
}

static int ext_readdir(struct vmie_fs *fs, vmie_ino_t dir, vmie_dirent_cb cb,
		       void *ctx, struct vmie_err *err)
{
	ext2_filsys efs = ext_efs(fs);
	struct ext_dir_ctx c = { .cb = cb, .ctx = ctx };
	ext2_ino_t d = 0;
	int r = ext_ino(fs, dir, &d, err);
	if (r)
		return r;
	c.filetype = ext2fs_has_feature_filetype(efs->super);
	errcode_t e = ext2fs_dir_iterate2(efs, d, 0, NULL, ext_dir_cb, &c);
	if (c.ret)
		return c.ret;
	if (e)
		return ext_err(fs, err, e, "directory");
	return 0;
}

static int ext_readlink(struct vmie_fs *fs, vmie_ino_t ino, char *buf,
			size_t size, struct vmie_err *err)
{
	ext2_filsys efs = ext_efs(fs);
	struct ext2_inode_large in;
	ext2_ino_t i = 0;
	int r = ext_ino(fs, ino, &i, err);
	if (!r)
		r = ext_read_inode(fs, i, &in, err);
	if (r)
		return r;
	if (!LINUX_S_ISLNK(in.i_mode))
		return VMIE_ERR(err, VMIE_EINVAL,
				"%s: inode %u is not a symlink",
				fs->info.type, i);
	uint64_t sz = EXT2_I_SIZE(&in);
	if (sz >= size || sz >= (uint64_t)efs->blocksize)
		return VMIE_ERR(err, VMIE_ERANGE,
				"%s: symlink inode %u target of %llu bytes is "
				"too long", fs->info.type, i,
				(unsigned long long)sz);
	if (in.i_flags & EXT4_INLINE_DATA_FL) {
		size_t isz = 0;
		char *tmp = malloc(efs->blocksize + 64u);
		errcode_t e;
		if (!tmp)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		e = ext2fs_inline_data_size(efs, i, &isz);
		if (!e && isz > (size_t)efs->blocksize + 64u)
			e = EXT2_ET_INLINE_DATA_NO_SPACE;
		if (!e)
			e = ext2fs_inline_data_get(efs, i,
						   (struct ext2_inode *)&in,
						   tmp, NULL);
		if (!e)
			memcpy(buf, tmp, (size_t)sz < isz ? (size_t)sz : isz);
		free(tmp);
		if (e)
			return ext_err(fs, err, e, "inline symlink");
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)&in)) {
		memcpy(buf, in.i_block, (size_t)sz);
	} else {
		size_t got;
		r = ext_read(fs, ino, buf, (size_t)sz, 0, &got, err);
		if (r)
			return r;
		sz = got;
	}
	buf[sz] = 0;
	return 0;
}

const struct vmie_fs_driver vmie_fsdrv_ext = {
	.name = "ext",
	.probe = ext_probe,
	.open = ext_open,
	.lookup = ext_lookup,
	.stat = ext_stat,
	.read = ext_read,
	.readdir = ext_readdir,
	.readlink = ext_readlink,
	.close = ext_close,
};
