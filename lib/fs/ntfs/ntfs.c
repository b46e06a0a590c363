/*
 * NTFS through libntfs-3g, read-only.
 *
 * libntfs-3g reads its volume through struct ntfs_device_operations; this
 * file provides a set over a struct vmie_image and mounts with
 * ntfs_device_mount(..., NTFS_MNT_RDONLY), so nothing touches the host.
 * The device is read-only for the reader (every write entry point refuses
 * with EROFS); the NTFS guest backend (lib/modify/guest_ntfs.c) makes the
 * same device writable (struct vmie_ntfs_dev.writable: writes go to
 * vmie_image_pwrite, the import's copy-on-write overlay) and shares the
 * volume state and link helpers declared in ntfs.h.  The library's log
 * output is switched off once for the process: the library never prints.
 *
 * Probing decodes the boot sector and the $Volume record itself
 * (ntfs_disk.h): serial number as blkid prints it (16 upper-case hex
 * digits), label, NTFS version, size.  Free space needs the whole $Bitmap,
 * so it is read on open only for volumes whose bitmap is at most
 * NTFSD_MAX_BITMAP bytes; otherwise it stays unknown.
 *
 * Lookup is case-insensitive as on Windows: the volume is switched to
 * case-insensitive collation through its $UpCase table, so the directory
 * index finds "/windows/system32" and DOS 8.3 names in one descent.
 * readdir leaves out DOS names (the long name is listed) and, like
 * ntfs-3g's default (show_sys_files off), the metadata files: MFT records
 * 0 to 15 ($MFT, $MFTMirr, $LogFile, $Volume, $AttrDef, $Bitmap, $Boot,
 * $BadClus, $Secure, $UpCase, $Extend and the reserved ones, all in the
 * root) and everything in $Extend ($ObjId, $Quota, $Reparse, $UsnJrnl...).
 * They stay reachable by explicit path ("/$MFT", "/$Extend/$UsnJrnl").
 *
 * Open also records the volume's state for inspection (ntfs.h): the dirty
 * flag of $Volume and whether hiberfil.sys holds a hibernation image
 * (Windows hibernated, or shut down with fast startup).  libntfs-3g refuses
 * such volumes read-write only; they open read-only here.
 * Reparse points that are symlinks, junctions and WSL symlinks are
 * VMIE_FT_LNK; "C:\x\y" targets become "/x/y" (the guest root is the volume
 * the link is on), relative targets keep their shape with '/' separators.
 *
 * Statics are prefixed "ntfsd_" (not "ntfs_", which is libntfs-3g's).
 * One struct vmie_fs must not be used by two threads at once.
 */
#define HAVE_STDINT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDIO_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_ENDIAN_H 1
#define HAVE_BYTESWAP_H 1
#define HAVE_TIME_H 1

#include "fs/fs.h"
#include "fs/ntfs/ntfs.h"
#include "fs/ntfs/ntfs_disk.h"
#include "core/budget.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/reparse.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#define NTFSD_MAX_BITMAP   (4u << 20)    /* read $Bitmap for free space */
#define NTFSD_MAX_REPARSE  (16u << 10)

/* ---- the device over a struct vmie_image ---- */

/* An I/O failure of the image: errno for libntfs-3g, the message kept in
 * d->err for whoever reports the failure. */
static int ntfsd_dev_errno(const struct vmie_ntfs_dev *d)
{
	switch (d->err.code) {
	case VMIE_ENOMEM: return ENOMEM;
	case VMIE_ENOSPC: return ENOSPC;
	case VMIE_EUNSUPP: return EROFS;        /* an image without writer */
	default: return EIO;
	}
}

static int ntfsd_dev_open(struct ntfs_device *dev, int flags)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	bool rw = (flags & O_ACCMODE) != O_RDONLY;
	if (rw && !d->writable) {
		errno = EROFS;
		return -1;
	}
	NDevSetOpen(dev);
	if (!rw)
		NDevSetReadOnly(dev);
	return 0;
}

static int ntfsd_dev_close(struct ntfs_device *dev)
{
	NDevClearOpen(dev);
	return 0;
}

static s64 ntfsd_dev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? d->pos :
		       whence == SEEK_END ? (int64_t)d->img->size : -1;
	if (base < 0 || (offset < 0 && -offset > base) ||
	    (offset > 0 && offset > INT64_MAX - base)) {
		errno = EINVAL;
		return -1;
	}
	d->pos = base + offset;
	return d->pos;
}

static s64 ntfsd_dev_pread(struct ntfs_device *dev, void *buf, s64 count,
			   s64 offset)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	uint64_t size = d->img->size;
	if (count < 0 || offset < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)offset >= size || !count)
		return 0;
	uint64_t n = vmie_min_u64((uint64_t)count, size - (uint64_t)offset);
	if (n > SIZE_MAX ||
	    vmie_image_pread(d->img, buf, (size_t)n, (uint64_t)offset,
			     &d->err)) {
		errno = n > SIZE_MAX ? EINVAL : ntfsd_dev_errno(d);
		return -1;
	}
	return (s64)n;
}

static s64 ntfsd_dev_read(struct ntfs_device *dev, void *buf, s64 count)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	s64 n = ntfsd_dev_pread(dev, buf, count, d->pos);
	if (n > 0)
		d->pos += n;
	return n;
}

/* Writes go to vmie_image_pwrite (the import's copy-on-write overlay, or
 * a partition window over it) when the device was made writable, and
 * only inside the image: a write past its end is ENOSPC, nothing of it
 * written. */
static s64 ntfsd_dev_pwrite(struct ntfs_device *dev, const void *buf,
			    s64 count, s64 offset)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	if (!d->writable || NDevReadOnly(dev)) {
		errno = EROFS;
		return -1;
	}
	if (count < 0 || offset < 0 || (uint64_t)count > SIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!count)
		return 0;
	if (vmie_range_outside((uint64_t)offset, (uint64_t)count,
			       d->img->size)) {
		errno = ENOSPC;
		return -1;
	}
	if (vmie_image_pwrite(d->img, buf, (size_t)count, (uint64_t)offset,
			      &d->err)) {
		errno = ntfsd_dev_errno(d);
		return -1;
	}
	return count;
}

static s64 ntfsd_dev_write(struct ntfs_device *dev, const void *buf,
			   s64 count)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	s64 n = ntfsd_dev_pwrite(dev, buf, count, d->pos);
	if (n > 0)
		d->pos += n;
	return n;
}

static int ntfsd_dev_sync(struct ntfs_device *dev)
{
	(void)dev;
	return 0;
}

static int ntfsd_dev_stat(struct ntfs_device *dev, struct stat *st)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFREG | (d->writable ? 0644 : 0444);
	st->st_size = (off_t)d->img->size;
	st->st_blksize = 512;
	return 0;
}

static int ntfsd_dev_ioctl(struct ntfs_device *dev, unsigned long request,
			   void *argp)
{
	struct vmie_ntfs_dev *d = dev->d_private;
	if (request == BLKGETSIZE64) {
		*(uint64_t *)argp = d->img->size;
		return 0;
	}
	if (request == BLKSSZGET) {
		*(int *)argp = 512;
		return 0;
	}
	errno = EOPNOTSUPP;
	return -1;
}

static struct ntfs_device_operations ntfsd_dev_ops = {
	.open = ntfsd_dev_open,
	.close = ntfsd_dev_close,
	.seek = ntfsd_dev_seek,
	.read = ntfsd_dev_read,
	.write = ntfsd_dev_write,
	.pread = ntfsd_dev_pread,
	.pwrite = ntfsd_dev_pwrite,
	.sync = ntfsd_dev_sync,
	.stat = ntfsd_dev_stat,
	.ioctl = ntfsd_dev_ioctl,
};

static pthread_once_t ntfsd_log_once = PTHREAD_ONCE_INIT;

static void ntfsd_silence(void)
{
	ntfs_log_set_handler(ntfs_log_handler_null);
	ntfs_log_clear_levels(UINT32_MAX);
}

/* ---- probe ---- */

struct ntfsd_geom {
	uint32_t bps;
	uint64_t cluster, total_bytes, mft_off;
	uint32_t rec_size;
};

static bool ntfsd_parse_boot(const uint8_t *bs, struct ntfsd_geom *g)
{
	if (memcmp(bs + NTFS_BS_OEM, "NTFS    ", 8))
		return false;
	if (bs[NTFS_BS_SIGNATURE] != 0x55 || bs[NTFS_BS_SIGNATURE + 1] != 0xAA)
		return false;
	g->bps = vmie_le16(bs + NTFS_BS_BPS);
	if (g->bps < 256 || g->bps > 4096 || !vmie_is_pow2(g->bps))
		return false;
	uint8_t spc = bs[NTFS_BS_SPC];
	uint64_t sectors;
	if (spc >= 0xF4)
		sectors = (uint64_t)1 << (256 - spc);
	else if (spc && spc <= 0x80 && vmie_is_pow2(spc))
		sectors = spc;
	else
		return false;
	g->cluster = sectors * g->bps;
	if (g->cluster > (2u << 20))
		return false;
	/* the FAT fields must be zero */
	if (vmie_le16(bs + NTFS_BS_RESERVED) || bs[NTFS_BS_FATS] ||
	    vmie_le16(bs + NTFS_BS_ROOT_ENTRIES) ||
	    vmie_le16(bs + NTFS_BS_SECTORS16) ||
	    vmie_le16(bs + NTFS_BS_FATSZ16) || vmie_le32(bs + NTFS_BS_SECTORS32))
		return false;
	uint64_t total = vmie_le64(bs + NTFS_BS_TOTAL_SECTORS);
	if (!total || vmie_mul_u64(total, g->bps, &g->total_bytes))
		return false;
	int8_t cpmr = (int8_t)bs[NTFS_BS_CPMR];
	uint64_t rec;
	if (cpmr > 0)
		rec = (uint64_t)cpmr * g->cluster;
	else if (cpmr >= -31)
		rec = (uint64_t)1 << -cpmr;
	else
		return false;
	if (rec < 256 || rec > 65536 || !vmie_is_pow2(rec))
		return false;
	g->rec_size = (uint32_t)rec;
	if (vmie_mul_u64(vmie_le64(bs + NTFS_BS_MFT_LCN), g->cluster,
			 &g->mft_off) || g->mft_off >= g->total_bytes)
		return false;
	return true;
}

/* Apply the update sequence fixups of a record in place. */
static bool ntfsd_fixup(uint8_t *rec, uint32_t size)
{
	uint32_t ofs = vmie_le16(rec + NTFS_REC_USA_OFS);
	uint32_t cnt = vmie_le16(rec + NTFS_REC_USA_COUNT);
	if (cnt != size / NTFS_FIXUP_BLOCK + 1 || ofs < 0x28 ||
	    ofs + 2 * cnt > size)
		return false;
	for (uint32_t i = 1; i < cnt; i++) {
		uint8_t *end = rec + i * NTFS_FIXUP_BLOCK - 2;
		if (memcmp(end, rec + ofs, 2))
			return false;
		memcpy(end, rec + ofs + 2 * i, 2);
	}
	return true;
}

/* Label and version from record 3 ($Volume), best effort. */
static void ntfsd_probe_volume(struct vmie_image *dev,
			       const struct ntfsd_geom *g,
			       struct vmie_fs_probe *p)
{
	uint8_t rec[NTFS_MAX_RECORD];
	uint64_t off = g->mft_off + (uint64_t)NTFS_FILE_VOLUME * g->rec_size;
	if (g->rec_size > sizeof rec ||
	    vmie_range_outside(off, g->rec_size, dev->size) ||
	    vmie_image_pread(dev, rec, g->rec_size, off, NULL) ||
	    memcmp(rec, "FILE", 4) || !ntfsd_fixup(rec, g->rec_size))
		return;
	uint32_t used = vmie_le32(rec + NTFS_REC_BYTES_IN_USE);
	uint32_t a = vmie_le16(rec + NTFS_REC_ATTRS_OFS);
	if (used > g->rec_size)
		used = g->rec_size;
	while (a + 0x18 <= used) {
		uint32_t type = vmie_le32(rec + a + NTFS_ATTR_TYPE);
		uint32_t len = vmie_le32(rec + a + NTFS_ATTR_LEN);
		if (type == NTFS_AT_END || len < 0x18 || len > used - a)
			break;
		if (!rec[a + NTFS_ATTR_NONRES]) {
			uint32_t vl = vmie_le32(rec + a + NTFS_ATTR_VALUE_LEN);
			uint32_t vo = vmie_le16(rec + a + NTFS_ATTR_VALUE_OFS);
			const uint8_t *v = rec + a + vo;
			if ((uint64_t)vo + vl > len)
				break;
			if (type == NTFS_AT_VOLUME_NAME) {
				char *out = NULL;
				if (ntfs_ucstombs((const ntfschar *)v,
						  (int)(vl / 2), &out, 0) >= 0
				    && out) {
					vmie_strlcpy(p->label, out,
						     sizeof p->label);
					free(out);
				}
			} else if (type == NTFS_AT_VOLUME_INFO && vl >= 10) {
				snprintf(p->version, sizeof p->version,
					 "%u.%u", v[8], v[9]);
			}
		}
		a += len;
	}
}

static int ntfsd_probe(struct vmie_image *dev, struct vmie_fs_probe *p)
{
	uint8_t bs[512];
	struct ntfsd_geom g;
	if (dev->size < sizeof bs ||
	    vmie_image_pread(dev, bs, sizeof bs, 0, NULL) ||
	    !ntfsd_parse_boot(bs, &g))
		return 0;
	pthread_once(&ntfsd_log_once, ntfsd_silence);
	vmie_strlcpy(p->type, "ntfs", sizeof p->type);
	snprintf(p->uuid, sizeof p->uuid, "%016llX",
		 (unsigned long long)vmie_le64(bs + NTFS_BS_SERIAL));
	p->size = g.total_bytes;
	ntfsd_probe_volume(dev, &g, p);
	return 80;
}

/* ---- open / close ---- */

struct ntfsd {
	struct vmie_ntfs_dev d;
	ntfs_volume *vol;
	struct vmie_ntfs_state st;
};

extern const struct vmie_fs_driver vmie_fsdrv_ntfs;

struct ntfs_device *vmie_ntfs_device(struct vmie_ntfs_dev *d,
				     const char *name)
{
	pthread_once(&ntfsd_log_once, ntfsd_silence);
	d->pos = 0;
	return ntfs_device_alloc(name && name[0] ? name : "vmie", 0,
				 &ntfsd_dev_ops, d);
}

/* hiberfil.sys at the root: present?  Its header as libntfs-3g judges it
 * (ntfs_volume_check_hiberfile): hibernated when the first 4 bytes are
 * "hibr" or "HIBR", or when the file is shorter than the header. */
static void ntfsd_check_hiberfile(ntfs_volume *vol, struct vmie_ntfs_state *st)
{
	ntfschar *uname = NULL;
	ntfs_inode *root, *ni = NULL;
	ntfs_attr *na = NULL;
	uint8_t *hdr = NULL;
	int ulen;

	root = ntfs_inode_open(vol, FILE_root);
	ulen = ntfs_mbstoucs(NTFS_HIBERFILE, &uname);
	if (!root || ulen < 0)
		goto out;
	u64 m = ntfs_inode_lookup_by_name(root, uname, ulen);
	if (m == (u64)-1 || !(ni = ntfs_inode_open(vol, MREF(m))))
		goto out;
	st->hiberfile = true;
	if (!(na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0)) ||
	    !(hdr = calloc(1, NTFS_HIBERFILE_HDR)))
		goto out;
	s64 got = ntfs_attr_pread(na, 0, NTFS_HIBERFILE_HDR, hdr);
	if (got >= 4) {
		bool print = true;
		for (int i = 0; i < 4; i++)
			print = print && hdr[i] >= 0x20 && hdr[i] < 0x7f;
		if (print)
			memcpy(st->hiber_sig, hdr, 4);
	}
	st->hibernated = got >= 0 && (got < NTFS_HIBERFILE_HDR ||
				      !memcmp(hdr, "hibr", 4) ||
				      !memcmp(hdr, "HIBR", 4));
out:
	free(hdr);
	free(uname);
	if (na)
		ntfs_attr_close(na);
	if (ni)
		ntfs_inode_close(ni);
	if (root)
		ntfs_inode_close(root);
}

void vmie_ntfs_volume_state(ntfs_volume *vol, struct vmie_ntfs_state *out)
{
	memset(out, 0, sizeof *out);
	out->volume_flags = le16_to_cpu(vol->flags);
	out->dirty = vol->flags & VOLUME_IS_DIRTY;
	ntfsd_check_hiberfile(vol, out);
}

int vmie_ntfs_state(const struct vmie_fs *fs, struct vmie_ntfs_state *out)
{
	if (!fs || fs->drv != &vmie_fsdrv_ntfs || !fs->priv)
		return VMIE_EINVAL;
	*out = ((const struct ntfsd *)fs->priv)->st;
	return 0;
}

static int ntfsd_errno(struct vmie_fs *fs, struct vmie_err *err, int e,
		       const char *what)
{
	const char *n = fs->dev->name;
	switch (e) {
	case ENOENT:
		return VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: not found", n,
				what);
	case ENOMEM:
		return VMIE_ERR(err, VMIE_ENOMEM, "ntfs: %s: %s: out of memory",
				n, what);
	case EOPNOTSUPP:
	case EACCES:
		return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: %s: %s", n, what,
				strerror(e));
	default:
		return VMIE_CORRUPT(err, "ntfs: %s: %s: %s", n, what,
				    strerror(e));
	}
}

static int ntfsd_open(struct vmie_fs *fs, struct vmie_err *err)
{
	struct ntfsd *n;
	struct ntfs_device *dev;

	pthread_once(&ntfsd_log_once, ntfsd_silence);
	if (fs->info.size > fs->dev->size)
		return VMIE_CORRUPT(err, "ntfs: %s: the volume is %llu bytes "
				    "but the device only %llu: truncated",
				    fs->dev->name,
				    (unsigned long long)fs->info.size,
				    (unsigned long long)fs->dev->size);
	n = calloc(1, sizeof *n);
	if (!n)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	n->d.img = fs->dev;
	dev = vmie_ntfs_device(&n->d, fs->dev->name);
	if (!dev) {
		free(n);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	errno = 0;
	n->vol = ntfs_device_mount(dev, NTFS_MNT_RDONLY);
	if (!n->vol) {
		int e = errno ? errno : EIO;
		ntfs_device_free(dev);
		free(n);
		if (e == EOPNOTSUPP || e == EPERM)
			return VMIE_ERR(err, VMIE_EUNSUPP,
					"ntfs: %s: the volume cannot be opened "
					"(%s): unclean or hibernated?",
					fs->dev->name, strerror(e));
		return VMIE_CORRUPT(err, "ntfs: %s: cannot mount: %s",
				    fs->dev->name, strerror(e));
	}
	/* Windows semantics: names compare through $UpCase */
	NVolClearCaseSensitive(n->vol);
	vmie_ntfs_volume_state(n->vol, &n->st);
	fs->priv = n;
	fs->root = FILE_root;
	if (n->vol->vol_name && n->vol->vol_name[0])
		vmie_strlcpy(fs->info.label, n->vol->vol_name,
			     sizeof fs->info.label);
	uint64_t bitmap = (uint64_t)n->vol->nr_clusters / 8;
	if (bitmap <= NTFSD_MAX_BITMAP && !ntfs_volume_get_free_space(n->vol) &&
	    n->vol->free_clusters >= 0)
		fs->info.free = (uint64_t)n->vol->free_clusters *
				n->vol->cluster_size;
	return 0;
}

static void ntfsd_close(struct vmie_fs *fs)
{
	struct ntfsd *n = fs->priv;
	if (!n)
		return;
	ntfs_umount(n->vol, FALSE);     /* closes and frees the device */
	free(n);
}

/* ---- inode operations ---- */

static ntfs_inode *ntfsd_iget(struct vmie_fs *fs, vmie_ino_t ino,
			      struct vmie_err *err)
{
	struct ntfsd *n = fs->priv;
	errno = 0;
	ntfs_inode *ni = ntfs_inode_open(n->vol, (MFT_REF)ino);
	if (!ni) {
		int e = errno ? errno : EIO;
		char what[40];
		snprintf(what, sizeof what, "MFT record %llu",
			 (unsigned long long)ino);
		ntfsd_errno(fs, err, e == ENOENT ? EIO : e, what);
	}
	return ni;
}

static int ntfsd_lookup(struct vmie_fs *fs, vmie_ino_t dir, const char *name,
			vmie_ino_t *out, struct vmie_err *err)
{
	ntfs_inode *ni = ntfsd_iget(fs, dir, err);
	int r = 0;
	if (!ni)
		return err ? err->code : VMIE_ECORRUPT;
	if (!(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
		r = VMIE_ERR(err, VMIE_EINVAL, "ntfs: record %llu is not a "
			     "directory", (unsigned long long)dir);
		goto out;
	}
	/* not ntfs_inode_lookup_by_mbsname: without ntfs_mount()'s lookup
	 * cache it leaks the converted name on every call */
	ntfschar *uname = NULL;
	int ulen = ntfs_mbstoucs(name, &uname);
	if (ulen < 0) {
		r = VMIE_ERR(err, VMIE_ENOENT, "ntfs: '%s': not a valid name",
			     name);
		goto out;
	}
	errno = 0;
	u64 m = ntfs_inode_lookup_by_name(ni, uname, ulen);
	free(uname);
	if (m != (u64)-1) {
		*out = MREF(m);
		goto out;
	}
	if (errno && errno != ENOENT)
		r = ntfsd_errno(fs, err, errno, "directory index");
	else
		r = VMIE_ERR(err, VMIE_ENOENT, "ntfs: '%s' not found", name);
out:
	ntfs_inode_close(ni);
	return r;
}

/* Reparse tag of ni (0 when none); *rp gets the data when wanted. */
static uint32_t ntfsd_reparse(ntfs_inode *ni, uint8_t **rp, size_t *rlen)
{
	if (rp)
		*rp = NULL;
	if (!(ni->flags & FILE_ATTR_REPARSE_POINT))
		return 0;
	s64 len = 0;
	u8 *data = ntfs_attr_readall(ni, AT_REPARSE_POINT, AT_UNNAMED, 0,
				     &len);
	if (!data || len < 8 || len > NTFSD_MAX_REPARSE) {
		free(data);
		return 0;
	}
	uint32_t tag = vmie_le32(data);
	if (rp) {
		*rp = data;
		*rlen = (size_t)len;
	} else {
		free(data);
	}
	return tag;
}

static bool ntfsd_is_link_tag(uint32_t tag)
{
	return tag == NTFS_TAG_SYMLINK || tag == NTFS_TAG_MOUNT_POINT ||
	       tag == NTFS_TAG_LX_SYMLINK;
}

static int ntfsd_stat(struct vmie_fs *fs, vmie_ino_t ino, struct vmie_stat *st,
		      struct vmie_err *err)
{
	ntfs_inode *ni = ntfsd_iget(fs, ino, err);
	if (!ni)
		return err ? err->code : VMIE_ECORRUPT;
	memset(st, 0, sizeof *st);
	bool dir = ni->mrec->flags & MFT_RECORD_IS_DIRECTORY;
	st->type = dir ? VMIE_FT_DIR : VMIE_FT_REG;
	if (ntfsd_is_link_tag(ntfsd_reparse(ni, NULL, NULL)))
		st->type = VMIE_FT_LNK;
	if (!dir) {
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		if (na) {
			st->size = (uint64_t)na->data_size;
			ntfs_attr_close(na);
		}
	}
	st->mode = dir ? 0755 : 0644;
	if (ni->flags & FILE_ATTR_READONLY)
		st->mode &= ~0222u;
	int64_t t = (int64_t)sle64_to_cpu(ni->last_data_change_time);
	st->mtime = (t - NTFS_EPOCH_DELTA) / 10000000;
	st->nlink = le16_to_cpu(ni->mrec->link_count);
	st->ino = ino;
	ntfs_inode_close(ni);
	return 0;
}

static int ntfsd_read(struct vmie_fs *fs, vmie_ino_t ino, void *buf,
		      size_t len, uint64_t off, size_t *got,
		      struct vmie_err *err)
{
	int r = 0;
	*got = 0;
	ntfs_inode *ni = ntfsd_iget(fs, ino, err);
	if (!ni)
		return err ? err->code : VMIE_ECORRUPT;
	errno = 0;
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		r = ntfsd_errno(fs, err, errno ? errno : EIO, "$DATA");
		goto out;
	}
	if (off < (uint64_t)na->data_size) {
		if (len > (1u << 30))
			len = 1u << 30;
		/* a compressed file decompresses whole compression units
		 * (libntfs-3g: at most 16 clusters each) for what is read:
		 * charged to the image's decompression budget */
		if (NAttrCompressed(na)) {
			uint64_t cu = na->compression_block_size ?
				      na->compression_block_size : 65536;
			uint64_t span = len + off % cu + cu;
			r = vmie_budget_inflate(fs->dev->budget, span,
						"NTFS compressed file", err);
			if (r)
				goto close;
		}
		errno = 0;
		s64 n = ntfs_attr_pread(na, (s64)off, (s64)len, buf);
		if (n < 0)
			r = ntfsd_errno(fs, err, errno ? errno : EIO,
					"file data");
		else
			*got = (size_t)n;
	}
close:
	ntfs_attr_close(na);
out:
	ntfs_inode_close(ni);
	return r;
}

struct ntfsd_rd {
	vmie_dirent_cb cb;
	void *ctx;
	int ret;
	bool in_extend;         /* listing $Extend: all of it is metadata */
};

static int ntfsd_fill(void *ctx, const ntfschar *name, const int name_len,
		      const int name_type, const s64 pos, const MFT_REF mref,
		      const unsigned dt_type)
{
	(void)pos;
	struct ntfsd_rd *c = ctx;
	struct vmie_dirent d;
	char *u = NULL;

	if (name_type == FILE_NAME_DOS || c->in_extend ||
	    MREF(mref) < FILE_first_user)
		return 0;       /* DOS alias, or a metadata file */
	if (ntfs_ucstombs(name, name_len, &u, 0) < 0 || !u)
		return 0;
	if (!strcmp(u, ".") || !strcmp(u, "..")) {
		free(u);
		return 0;
	}
	memset(&d, 0, sizeof d);
	vmie_strlcpy(d.name, u, sizeof d.name);
	free(u);
	d.ino = MREF(mref);
	switch (dt_type) {
	case NTFS_DT_DIR: d.type = VMIE_FT_DIR; break;
	case NTFS_DT_REG: d.type = VMIE_FT_REG; break;
	case NTFS_DT_LNK: d.type = VMIE_FT_LNK; break;
	default: d.type = VMIE_FT_UNKNOWN; break;
	}
	c->ret = c->cb(c->ctx, &d);
	return c->ret ? 1 : 0;
}

static int ntfsd_readdir(struct vmie_fs *fs, vmie_ino_t dir, vmie_dirent_cb cb,
			 void *ctx, struct vmie_err *err)
{
	struct ntfsd_rd c = { .cb = cb, .ctx = ctx,
			      .in_extend = dir == FILE_Extend };
	ntfs_inode *ni = ntfsd_iget(fs, dir, err);
	int r = 0;
	if (!ni)
		return err ? err->code : VMIE_ECORRUPT;
	s64 pos = 0;
	errno = 0;
	if (ntfs_readdir(ni, &pos, &c, ntfsd_fill) && !c.ret)
		r = ntfsd_errno(fs, err, errno ? errno : EIO, "directory");
	ntfs_inode_close(ni);
	return r ? r : c.ret;
}

/* UTF-16LE name at off/len (bytes) inside the path buffer, as UTF-8. */
static char *ntfsd_u16(const uint8_t *buf, size_t blen, uint32_t off,
		       uint32_t len)
{
	char *out = NULL;
	if ((uint64_t)off + len > blen || (len & 1))
		return NULL;
	ntfschar *tmp = malloc(len + 2);
	if (!tmp)
		return NULL;
	memcpy(tmp, buf + off, len);
	if (ntfs_ucstombs(tmp, (int)(len / 2), &out, 0) < 0)
		out = NULL;
	free(tmp);
	return out;
}

/* Turn a Windows link target into a guest path. */
static void ntfsd_guest_path(const char *t, bool relative, char *buf,
			     size_t size)
{
	if (!strncmp(t, "\\??\\", 4))
		t += 4;
	if (!relative && ((t[0] >= 'A' && t[0] <= 'Z') ||
			  (t[0] >= 'a' && t[0] <= 'z')) && t[1] == ':')
		t += 2;
	vmie_strlcpy(buf, t, size);
	for (char *p = buf; *p; p++)
		if (*p == '\\')
			*p = '/';
}

int vmie_ntfs_link_target(ntfs_inode *ni, char *buf, size_t size,
			  uint32_t *tag_out)
{
	uint8_t *rp = NULL;
	size_t rl = 0;
	char *t = NULL;
	uint32_t tag = ntfsd_reparse(ni, &rp, &rl);
	if (tag_out)
		*tag_out = tag;
	if (size)
		buf[0] = 0;
	const uint8_t *d = rp ? rp + 8 : NULL;
	size_t dl = rp ? rl - 8 : 0;
	if (!size) {
		/* nothing to fill */
	} else if (tag == NTFS_TAG_SYMLINK && dl >= 12) {
		bool rel = vmie_le32(d + 8) & NTFS_SYMLINK_RELATIVE;
		t = ntfsd_u16(d + 12, dl - 12, vmie_le16(d + 4),
			      vmie_le16(d + 6));
		if (!t || !t[0]) {
			free(t);
			t = ntfsd_u16(d + 12, dl - 12, vmie_le16(d),
				      vmie_le16(d + 2));
		}
		if (t)
			ntfsd_guest_path(t, rel, buf, size);
	} else if (tag == NTFS_TAG_MOUNT_POINT && dl >= 8) {
		t = ntfsd_u16(d + 8, dl - 8, vmie_le16(d + 4),
			      vmie_le16(d + 6));
		if (!t || !t[0]) {
			free(t);
			t = ntfsd_u16(d + 8, dl - 8, vmie_le16(d),
				      vmie_le16(d + 2));
		}
		if (t)
			ntfsd_guest_path(t, false, buf, size);
	} else if (tag == NTFS_TAG_LX_SYMLINK && dl >= 4) {
		size_t n = vmie_min_u64(dl - 4, size - 1);
		memcpy(buf, d + 4, n);
		buf[n] = 0;
		t = strdup("");
	}
	int r = t ? 0 : -1;
	free(t);
	free(rp);
	return r;
}

bool vmie_ntfs_is_link_tag(uint32_t tag)
{
	return ntfsd_is_link_tag(tag);
}

uint32_t vmie_ntfs_reparse_tag(ntfs_inode *ni)
{
	return ntfsd_reparse(ni, NULL, NULL);
}

static int ntfsd_readlink(struct vmie_fs *fs, vmie_ino_t ino, char *buf,
			  size_t size, struct vmie_err *err)
{
	uint32_t tag = 0;
	ntfs_inode *ni = ntfsd_iget(fs, ino, err);
	if (!ni)
		return err ? err->code : VMIE_ECORRUPT;
	int r = vmie_ntfs_link_target(ni, buf, size, &tag);
	ntfs_inode_close(ni);
	if (r)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: record %llu: "
				"reparse point 0x%08x is not a link vmie can "
				"read", fs->dev->name, (unsigned long long)ino,
				tag);
	return 0;
}

const struct vmie_fs_driver vmie_fsdrv_ntfs = {
	.name = "ntfs",
	.probe = ntfsd_probe,
	.open = ntfsd_open,
	.lookup = ntfsd_lookup,
	.stat = ntfsd_stat,
	.read = ntfsd_read,
	.readdir = ntfsd_readdir,
	.readlink = ntfsd_readlink,
	.close = ntfsd_close,
};
