/*
 * The file system framework: probing (every driver in registry order, plus
 * the containers vmie recognises but cannot read: Linux swap, LUKS,
 * BitLocker, LVM2 physical volumes, Linux MD RAID members), opening, and
 * path resolution on top of the driver vtable (lib/fs/fs.h).
 *
 * Path resolution works on guest paths only: components are looked up one
 * at a time, "." is skipped, ".." goes up a stack of the directories walked
 * (never above the guest root), and symlinks are expanded inside the guest:
 * an absolute target restarts at the guest root, never at the host's.  Every
 * loop is bounded: VMIE_FS_MAX_LINKS symlinks per resolution, components of
 * at most VMIE_FS_NAME_MAX bytes, a working path of at most
 * VMIE_FS_PATH_MAX bytes and a directory stack of VMIE_FS_MAX_DEPTH.
 *
 * Signature offsets for the unreadable containers:
 *   swap       "SWAPSPACE2" / "SWAP-SPACE" at page size - 10 (page sizes
 *              4, 8, 16, 64 KiB); header at 1024: version le32 @0x400,
 *              last_page le32 @0x404, uuid[16] @0x40c, label[16] @0x41c
 *              (Linux include/linux/swap.h, union swap_header).
 *   LUKS       "LUKS\xba\xbe" @0, version be16 @6, LUKS2 label[48] @24,
 *              uuid[40] @168 (LUKS1 on-disk format spec 1.2.3 and LUKS2
 *              on-disk format, "binary header").
 *   BitLocker  "-FVE-FS-" @3 of the volume boot record.
 *   LVM2       "LABELONE" at the start of one of sectors 0-3, type
 *              "LVM2 001" @24, pv header offset le32 @20, pv uuid[32] at
 *              the pv header (LVM2 lib/format_text/layout.h).
 *   MD RAID    magic 0xa92b4efc le32; v1.x superblock at 0 (1.1), 4 KiB
 *              (1.2) or ((sectors - 16) & ~7) * 512 (1.0), set_uuid[16]
 *              @16, set_name[32] @32; v0.90 at the last 64 KiB boundary
 *              minus 64 KiB, uuid words 5, 13, 14, 15 (Linux md_p.h).
 */
#include "fs.h"
#include "../core/checked.h"
#include "../core/endian.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMIE_FS_MAX_LINKS   40
#define VMIE_FS_NAME_MAX    255
#define VMIE_FS_PATH_MAX    4096
#define VMIE_FS_MAX_DEPTH   256

extern const struct vmie_fs_driver *const vmie_fs_drivers[];

/* ---- probing ---- */

/* Read len bytes at off, false when outside the device or on error. */
static bool fs_read(struct vmie_image *dev, void *buf, size_t len,
		    uint64_t off)
{
	if (vmie_range_outside(off, len, dev->size))
		return false;
	return vmie_image_pread(dev, buf, len, off, NULL) == 0;
}

/* Copy a fixed-size on-disk string (NUL- or space-padded) into dst. */
static void fs_copy_label(char *dst, size_t dsz, const uint8_t *src,
			  size_t len)
{
	size_t n = 0;
	while (n < len && src[n])
		n++;
	if (n >= dsz)
		n = dsz - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	/* labels are shown, keep them printable */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

static int fs_probe_swap(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	static const uint32_t pages[] = { 4096, 8192, 16384, 65536 };
	uint8_t sig[10], hdr[48];
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		if (!fs_read(dev, sig, sizeof sig, pages[i] - 10))
			return 0;
		bool v2 = !memcmp(sig, "SWAPSPACE2", 10);
		bool v1 = !memcmp(sig, "SWAP-SPACE", 10);
		bool susp = !memcmp(sig, "S1SUSPEND", 9);
		if (!v1 && !v2 && !susp)
			continue;
		vmie_strlcpy(p->type, susp ? "swsuspend" : "swap",
			     sizeof p->type);
		vmie_strlcpy(p->version, v1 ? "1" : "2", sizeof p->version);
		if (v2 && fs_read(dev, hdr, sizeof hdr, 1024)) {
			uint64_t last = vmie_le32(hdr + 4), sz;
			if (!vmie_is_zero(hdr + 12, 16))
				vmie_uuid_be(p->uuid, hdr + 12);
			fs_copy_label(p->label, sizeof p->label, hdr + 28, 16);
			if (!vmie_mul_u64(last + 1, pages[i], &sz) &&
			    sz <= dev->size)
				p->size = sz;
		}
		return 90;
	}
	return 0;
}

static int fs_probe_luks(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t h[208];
	if (!fs_read(dev, h, sizeof h, 0) || memcmp(h, "LUKS\xba\xbe", 6))
		return 0;
	unsigned ver = vmie_be16(h + 6);
	vmie_strlcpy(p->type, "crypto_LUKS", sizeof p->type);
	snprintf(p->version, sizeof p->version, "%u", ver);
	fs_copy_label(p->uuid, sizeof p->uuid, h + 168, 40);
	if (ver == 2)
		fs_copy_label(p->label, sizeof p->label, h + 24, 48);
	p->size = dev->size;
	p->encrypted = true;
	return 100;
}

static int fs_probe_bitlocker(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t h[16];
	if (!fs_read(dev, h, sizeof h, 0) || memcmp(h + 3, "-FVE-FS-", 8))
		return 0;
	vmie_strlcpy(p->type, "BitLocker", sizeof p->type);
	p->size = dev->size;
	p->encrypted = true;
	return 100;
}

static int fs_probe_lvm(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t s[512], u[32];
	for (unsigned sec = 0; sec < 4; sec++) {
		if (!fs_read(dev, s, sizeof s, (uint64_t)sec * 512))
			return 0;
		if (memcmp(s, "LABELONE", 8) || memcmp(s + 24, "LVM2 001", 8))
			continue;
		vmie_strlcpy(p->type, "LVM2_member", sizeof p->type);
		vmie_strlcpy(p->version, "LVM2 001", sizeof p->version);
		uint32_t off = vmie_le32(s + 20);
		/* the pv header sits inside the label sector */
		if (off <= sizeof s - sizeof u) {
			memcpy(u, s + off, sizeof u);
			/* blkid groups the 32 characters 6-4-4-4-4-4-6 */
			static const int grp[] = { 6, 4, 4, 4, 4, 4, 6 };
			char *o = p->uuid;
			int k = 0;
			for (int g = 0; g < 7; g++) {
				if (g)
					*o++ = '-';
				for (int j = 0; j < grp[g]; j++, k++)
					*o++ = (u[k] >= 0x20 && u[k] < 0x7f) ?
						(char)u[k] : '?';
			}
			*o = 0;
		}
		p->size = dev->size;
		return 100;
	}
	return 0;
}

static int fs_probe_md(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t s[64];
	uint64_t sectors = dev->size / 512;
	uint64_t offs[3] = { 4096, 0, UINT64_MAX };
	if (sectors >= 24)
		offs[2] = ((sectors - 16) & ~(uint64_t)7) * 512;
	for (int i = 0; i < 3; i++) {
		if (offs[i] == UINT64_MAX || !fs_read(dev, s, sizeof s, offs[i]))
			continue;
		if (vmie_le32(s) != 0xa92b4efc || vmie_le32(s + 4) != 1)
			continue;
		vmie_strlcpy(p->type, "linux_raid_member", sizeof p->type);
		snprintf(p->version, sizeof p->version, "1.%d",
			 i == 0 ? 2 : i == 1 ? 1 : 0);
		vmie_uuid_be(p->uuid, s + 16);
		fs_copy_label(p->label, sizeof p->label, s + 32, 32);
		p->size = dev->size;
		return 95;
	}
	/* 0.90: 64 KiB aligned, in the last 64..128 KiB */
	if (dev->size >= 128 * 1024) {
		uint64_t off = (dev->size & ~(uint64_t)0xffff) - 0x10000;
		uint8_t u[16];
		if (fs_read(dev, s, sizeof s, off) &&
		    vmie_le32(s) == 0xa92b4efc && vmie_le32(s + 4) == 0) {
			vmie_strlcpy(p->type, "linux_raid_member",
				     sizeof p->type);
			vmie_strlcpy(p->version, "0.90.0", sizeof p->version);
			/* words 5, 13, 14, 15 hold the uuid */
			memcpy(u, s + 5 * 4, 4);
			memcpy(u + 4, s + 13 * 4, 12);
			vmie_uuid_be(p->uuid, u);
			p->size = dev->size;
			return 95;
		}
	}
	return 0;
}

typedef int (*fs_probe_fn)(struct vmie_image *, struct vmie_fs_probe *);

static void fs_probe_init(struct vmie_fs_probe *p)
{
	memset(p, 0, sizeof *p);
	p->free = UINT64_MAX;
}

/* Best driver (or NULL if an unreadable container won), its probe in p. */
static const struct vmie_fs_driver *fs_best(struct vmie_image *dev,
					    struct vmie_fs_probe *p)
{
	static const fs_probe_fn others[] = {
		fs_probe_luks, fs_probe_bitlocker, fs_probe_lvm, fs_probe_md,
		fs_probe_swap,
	};
	const struct vmie_fs_driver *best = NULL;
	int best_score = 0;
	struct vmie_fs_probe cur;

	fs_probe_init(p);
	for (size_t i = 0; vmie_fs_drivers[i]; i++) {
		const struct vmie_fs_driver *d = vmie_fs_drivers[i];
		if (!d->probe)
			continue;
		fs_probe_init(&cur);
		int s = d->probe(dev, &cur);
		if (s > best_score) {
			best_score = s;
			best = d;
			*p = cur;
			p->readable = d->open != NULL;
		}
	}
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		fs_probe_init(&cur);
		int s = others[i](dev, &cur);
		if (s > best_score) {
			best_score = s;
			best = NULL;
			*p = cur;
			p->readable = false;
		}
	}
	if (!best_score)
		fs_probe_init(p);
	return best;
}

void vmie_fs_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	fs_best(dev, p);
}

int vmie_fs_open(struct vmie_image *dev, struct vmie_fs **out,
		 struct vmie_err *err)
{
	struct vmie_fs_probe p;
	const struct vmie_fs_driver *d = fs_best(dev, &p);
	struct vmie_fs *fs;
	int r;

	*out = NULL;
	if (!p.type[0])
		return VMIE_ERR(err, VMIE_EFORMAT,
				"%s: no known file system", dev->name);
	if (!d || !d->open)
		return VMIE_ERR(err, VMIE_EUNSUPP,
				"%s: %s%s is recognised but cannot be read",
				dev->name, p.type,
				p.encrypted ? " (encrypted)" : "");
	fs = calloc(1, sizeof *fs);
	if (!fs)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	fs->drv = d;
	fs->dev = dev;
	fs->info = p;
	r = d->open(fs, err);
	if (r) {
		free(fs);
		return r;
	}
	*out = fs;
	return 0;
}

void vmie_fs_close(struct vmie_fs *fs)
{
	if (!fs)
		return;
	if (fs->drv->close)
		fs->drv->close(fs);
	free(fs);
}

/* ---- path resolution ---- */

/*
 * Resolve path from the guest root.  The unresolved rest of the path lives
 * in a buffer that symlink targets are spliced into; stack[] holds the
 * directories above the current one so that ".." never needs the driver.
 */
int vmie_fs_resolve(struct vmie_fs *fs, const char *path, bool follow_last,
		    vmie_ino_t *out, struct vmie_err *err)
{
	char *rest = NULL, *tmp = NULL;
	vmie_ino_t *stack = NULL;
	size_t depth = 0, pos = 0;
	unsigned links = 0;
	vmie_ino_t cur = fs->root;
	int r = 0;

	if (!path)
		return VMIE_ERR(err, VMIE_EINVAL, "fs: NULL path");
	size_t plen = strlen(path);
	if (plen >= VMIE_FS_PATH_MAX)
		return VMIE_ERR(err, VMIE_ERANGE,
				"fs: path longer than %d bytes",
				VMIE_FS_PATH_MAX);
	rest = malloc(VMIE_FS_PATH_MAX);
	tmp = malloc(VMIE_FS_PATH_MAX);
	stack = malloc(VMIE_FS_MAX_DEPTH * sizeof *stack);
	if (!rest || !tmp || !stack) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(rest, path, plen + 1);

	for (;;) {
		char name[VMIE_FS_NAME_MAX + 1];
		while (rest[pos] == '/')
			pos++;
		if (!rest[pos])
			break;
		size_t n = strcspn(rest + pos, "/");
		if (n > VMIE_FS_NAME_MAX) {
			r = VMIE_ERR(err, VMIE_ERANGE,
				     "fs: path component of %zu bytes in '%s' "
				     "(limit %d)", n, path, VMIE_FS_NAME_MAX);
			goto out;
		}
		memcpy(name, rest + pos, n);
		name[n] = 0;
		pos += n;
		while (rest[pos] == '/')
			pos++;
		bool last = !rest[pos];

		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (depth)
				cur = stack[--depth];
			continue;
		}
		vmie_ino_t next;
		struct vmie_stat st;
		r = fs->drv->lookup(fs, cur, name, &next, err);
		if (r) {
			if (r == VMIE_ENOENT)
				VMIE_ERR(err, VMIE_ENOENT,
					 "%s: '%s' not found (component '%s')",
					 fs->info.type, path, name);
			goto out;
		}
		r = fs->drv->stat(fs, next, &st, err);
		if (r)
			goto out;
		if (st.type == VMIE_FT_LNK && (!last || follow_last)) {
			if (++links > VMIE_FS_MAX_LINKS) {
				r = VMIE_ERR(err, VMIE_ERANGE,
					     "%s: '%s': more than %d symbolic "
					     "links (a loop?)", fs->info.type,
					     path, VMIE_FS_MAX_LINKS);
				goto out;
			}
			r = fs->drv->readlink(fs, next, tmp, VMIE_FS_PATH_MAX,
					      err);
			if (r)
				goto out;
			size_t tl = strlen(tmp), rl = strlen(rest + pos);
			if (!tl) {
				r = VMIE_ERR(err, VMIE_ENOENT,
					     "%s: '%s': empty symlink '%s'",
					     fs->info.type, path, name);
				goto out;
			}
			if (tl + 1 + rl >= VMIE_FS_PATH_MAX) {
				r = VMIE_ERR(err, VMIE_ERANGE,
					     "%s: '%s': path longer than %d "
					     "bytes after following links",
					     fs->info.type, path,
					     VMIE_FS_PATH_MAX);
				goto out;
			}
			/* new rest = target "/" old rest */
			memmove(rest + tl + 1, rest + pos, rl + 1);
			memcpy(rest, tmp, tl);
			rest[tl] = '/';
			pos = 0;
			if (tmp[0] == '/') {
				cur = fs->root;
				depth = 0;
			}
			continue;
		}
		if (!last && st.type != VMIE_FT_DIR) {
			r = VMIE_ERR(err, VMIE_ENOENT,
				     "%s: '%s': '%s' is not a directory",
				     fs->info.type, path, name);
			goto out;
		}
		if (depth >= VMIE_FS_MAX_DEPTH) {
			r = VMIE_ERR(err, VMIE_ERANGE,
				     "%s: '%s': deeper than %d directories",
				     fs->info.type, path, VMIE_FS_MAX_DEPTH);
			goto out;
		}
		stack[depth++] = cur;
		cur = next;
	}
	*out = cur;
out:
	free(rest);
	free(tmp);
	free(stack);
	return r;
}

static int fs_stat_path(struct vmie_fs *fs, const char *path, bool follow,
			struct vmie_stat *st, vmie_ino_t *ino,
			struct vmie_err *err)
{
	vmie_ino_t i;
	int r = vmie_fs_resolve(fs, path, follow, &i, err);
	if (r)
		return r;
	if (ino)
		*ino = i;
	return fs->drv->stat(fs, i, st, err);
}

int vmie_fs_stat(struct vmie_fs *fs, const char *path, struct vmie_stat *st,
		 struct vmie_err *err)
{
	return fs_stat_path(fs, path, true, st, NULL, err);
}

int vmie_fs_lstat(struct vmie_fs *fs, const char *path, struct vmie_stat *st,
		  struct vmie_err *err)
{
	return fs_stat_path(fs, path, false, st, NULL, err);
}

bool vmie_fs_exists(struct vmie_fs *fs, const char *path)
{
	struct vmie_stat st;
	return fs_stat_path(fs, path, false, &st, NULL, NULL) == 0;
}

bool vmie_fs_is_dir(struct vmie_fs *fs, const char *path)
{
	struct vmie_stat st;
	return fs_stat_path(fs, path, true, &st, NULL, NULL) == 0 &&
	       st.type == VMIE_FT_DIR;
}

/* Read into buf until len bytes or end of file. */
static int fs_read_full(struct vmie_fs *fs, vmie_ino_t ino, void *buf,
			size_t len, uint64_t off, size_t *got,
			struct vmie_err *err)
{
	size_t done = 0;
	while (done < len) {
		size_t n = 0;
		uint64_t o;
		if (vmie_add_u64(off, done, &o))
			break;
		int r = fs->drv->read(fs, ino, (char *)buf + done, len - done,
				      o, &n, err);
		if (r)
			return r;
		if (!n)
			break;
		if (n > len - done)
			return VMIE_ERR(err, VMIE_ERANGE,
					"%s: driver read overran", fs->drv->name);
		done += n;
	}
	*got = done;
	return 0;
}

int vmie_fs_read_file(struct vmie_fs *fs, const char *path, size_t max,
		      char **buf, size_t *len, struct vmie_err *err)
{
	struct vmie_stat st;
	vmie_ino_t ino;
	char *b;
	size_t got;
	int r;

	*buf = NULL;
	*len = 0;
	r = fs_stat_path(fs, path, true, &st, &ino, err);
	if (r)
		return r;
	if (st.type == VMIE_FT_DIR)
		return VMIE_ERR(err, VMIE_EINVAL, "%s: '%s' is a directory",
				fs->info.type, path);
	if (st.type != VMIE_FT_REG)
		return VMIE_ERR(err, VMIE_EINVAL,
				"%s: '%s' is not a regular file",
				fs->info.type, path);
	if (st.size > max)
		return VMIE_ERR(err, VMIE_ENOMEM,
				"%s: '%s' is %llu bytes, more than the limit "
				"of %zu", fs->info.type, path,
				(unsigned long long)st.size, max);
	b = malloc((size_t)st.size + 1);
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	r = fs_read_full(fs, ino, b, (size_t)st.size, 0, &got, err);
	if (r) {
		free(b);
		return r;
	}
	b[got] = 0;
	*buf = b;
	*len = got;
	return 0;
}

int vmie_fs_pread(struct vmie_fs *fs, const char *path, void *buf,
		  size_t len, uint64_t off, size_t *got, struct vmie_err *err)
{
	struct vmie_stat st;
	vmie_ino_t ino;
	int r;

	*got = 0;
	r = fs_stat_path(fs, path, true, &st, &ino, err);
	if (r)
		return r;
	if (st.type != VMIE_FT_REG)
		return VMIE_ERR(err, VMIE_EINVAL,
				"%s: '%s' is not a regular file",
				fs->info.type, path);
	return fs_read_full(fs, ino, buf, len, off, got, err);
}

int vmie_fs_readdir(struct vmie_fs *fs, const char *path, vmie_dirent_cb cb,
		    void *ctx, struct vmie_err *err)
{
	struct vmie_stat st;
	vmie_ino_t ino;
	int r = fs_stat_path(fs, path, true, &st, &ino, err);
	if (r)
		return r;
	if (st.type != VMIE_FT_DIR)
		return VMIE_ERR(err, VMIE_EINVAL,
				"%s: '%s' is not a directory",
				fs->info.type, path);
	return fs->drv->readdir(fs, ino, cb, ctx, err);
}

int vmie_fs_readlink(struct vmie_fs *fs, const char *path, char *buf,
		     size_t size, struct vmie_err *err)
{
	struct vmie_stat st;
	vmie_ino_t ino;
	int r;

	if (!size)
		return VMIE_ERR(err, VMIE_EINVAL, "fs: readlink buffer of 0");
	buf[0] = 0;
	r = fs_stat_path(fs, path, false, &st, &ino, err);
	if (r)
		return r;
	if (st.type != VMIE_FT_LNK)
		return VMIE_ERR(err, VMIE_EINVAL,
				"%s: '%s' is not a symbolic link",
				fs->info.type, path);
	return fs->drv->readlink(fs, ino, buf, size, err);
}

enum vmie_ftype vmie_ftype_from_mode(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0100000: return VMIE_FT_REG;
	case 0040000: return VMIE_FT_DIR;
	case 0120000: return VMIE_FT_LNK;
	case 0020000: return VMIE_FT_CHR;
	case 0060000: return VMIE_FT_BLK;
	case 0010000: return VMIE_FT_FIFO;
	case 0140000: return VMIE_FT_SOCK;
	default: return VMIE_FT_UNKNOWN;
	}
}
