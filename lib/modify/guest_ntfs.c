/*
 * The "ntfs" guest backend (guest.h): NTFS read-write through libntfs-3g,
 * on a device that writes into the copy-on-write overlay of the import.
 *
 * libntfs-3g reaches the device through the ntfs_device_operations of
 * lib/fs/ntfs/ntfs.c (struct vmie_ntfs_dev), made writable here: reads
 * are vmie_image_pread, writes vmie_image_pwrite.  The reader keeps the
 * same operations read-only, so that inspection can never write.
 *
 * Open mounts the volume read-only first and refuses to go on (VMIE_EUNSUPP,
 * nothing written) when Windows left it hibernated or with fast startup
 * (hiberfil.sys holds a hibernation image: the changes would be lost, or
 * the volume corrupted, when Windows resumes from it) or dirty (the
 * $Volume dirty flag: not cleanly unmounted, or chkdsk scheduled); then
 * read-write, where libntfs-3g itself refuses a $LogFile that is not clean
 * or that says Windows keeps metadata cached.  Names are looked up
 * case-insensitively through the volume's $UpCase, as Windows and the
 * reader do.
 *
 * What is written, and how (as ntfs-3g's FUSE driver does it):
 *   replace a file   same MFT record, security descriptor, file
 *                    attributes and names: the unnamed $DATA truncated to
 *                    0 and written again from the start (a compressed one
 *                    compressed again: ntfs_attr_pclose); modification
 *                    and change times set to now
 *   create a file    ntfs_create in the directory (a POSIX-namespace
 *                    name, no DOS 8.3 alias), the default security
 *                    descriptor libntfs-3g gives (everyone: full access),
 *                    compressed when its directory is; mode, uid and gid
 *                    have no meaning on NTFS and are ignored
 *   copy             a new file with the content, security id (the same
 *                    descriptor in $Secure), file attributes (read-only,
 *                    hidden, system, archive...) and creation, modification
 *                    and access times of the original, copied 1 MiB at a
 *                    time (registry hives are tens of MiB)
 *   make a dir       ntfs_create of a directory, as a file is created
 *                    (nothing when the directory exists)
 *   rename           ntfs_link of the new name, ntfs_delete of the old
 *                    (and its DOS alias): same MFT record
 *   flush            ntfs_umount (every inode, $MFT, $MFTMirr and $Bitmap
 *                    written back: ntfsfix -n and ntfsinfo are content),
 *                    then mounted again for what follows
 * Each operation closes every inode it opened before it returns, so what
 * it changed is on the device then, but for the records of $MFT and
 * $Bitmap themselves: close() unmounts too, which writes those; a caller
 * that does not flush throws the overlay away.
 *
 * Refused: write, copy and rename through a reparse point that is a link
 * (symbolic link, junction, WSL link: VMIE_EPERM, at the path or on the
 * way) and of NTFS metadata ($MFT... and anything in $Extend: VMIE_EPERM);
 * encrypted (EFS) files and files behind other reparse points (WOF
 * compression, deduplication, cloud placeholders: their $DATA is not their
 * content), VMIE_EUNSUPP.  read, readdir and stat follow links inside the
 * volume (stat not at the last component), at most GNTFS_MAX_LINKS.
 *
 * Statics are prefixed "gntfs_".  One handle must not be used by two
 * threads at once.
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

#include "modify/guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/util.h"
#include "fs/ntfs/ntfs.h"
#include "image/image.h"

/* Files read, written or copied: refuse above (whatever max says). */
#define GNTFS_MAX_FILE   ((uint64_t)1 << 30)
#define GNTFS_MAX_PATH   4096
/* Links one path may go through (the kernel's limit). */
#define GNTFS_MAX_LINKS  40
/* Entries one readdir may list. */
#define GNTFS_MAX_DIRENTS (1u << 20)
/* Longest name: 255 UTF-16 units, at most 3 bytes of UTF-8 each. */
#define GNTFS_NAME_MAX   (255 * 3 + 1)
#define GNTFS_CHUNK      ((size_t)1 << 20)

/* File attributes a copy keeps (not those that describe the storage:
 * compressed, sparse, encrypted, reparse point). */
#define GNTFS_COPY_ATTRS (FILE_ATTR_READONLY | FILE_ATTR_HIDDEN | \
			  FILE_ATTR_SYSTEM | FILE_ATTR_ARCHIVE | \
			  FILE_ATTR_TEMPORARY | FILE_ATTR_OFFLINE | \
			  FILE_ATTR_NOT_CONTENT_INDEXED)

struct gntfs {
	struct vmie_ntfs_dev d;
	ntfs_volume *vol;
	bool changed;           /* something was written since the flush */
};

static ntfs_volume *gntfs_vol(struct vmie_guest *g)
{
	return ((struct gntfs *)g->priv)->vol;
}

/* Start of an operation: forget the device's previous failure. */
static void gntfs_begin(struct vmie_guest *g)
{
	vmie_err_clear(&((struct gntfs *)g->priv)->d.err);
}

/* A failed libntfs-3g call (errno e): the device, the path, what was
 * being done, and the image's own message when the device failed. */
static int gntfs_fail(struct vmie_guest *g, struct vmie_err *err, int e,
		      const char *path, const char *what)
{
	struct gntfs *x = g->priv;
	const struct vmie_err *io = &x->d.err;
	if (io->code && (e == EIO || e == ENOMEM || e == EROFS ||
			 e == ENOSPC))
		return VMIE_ERR(err, io->code == VMIE_EUNSUPP ? VMIE_EUNSUPP :
				io->code, "ntfs: %s: %s: %s: %s (%s)", g->name,
				path, what, strerror(e), io->msg);
	int code;
	switch (e) {
	case ENOENT: code = VMIE_ENOENT; break;
	case ENOMEM: code = VMIE_ENOMEM; break;
	case ENOSPC: code = VMIE_ENOSPC; break;
	case EEXIST: code = VMIE_EEXIST; break;
	case EROFS: case EOPNOTSUPP: case EPERM: case EACCES:
		code = VMIE_EUNSUPP; break;
	case EINVAL: case ENAMETOOLONG: code = VMIE_EINVAL; break;
	default: code = VMIE_EIO; break;
	}
	return VMIE_ERR(err, code, "ntfs: %s: %s: %s: %s", g->name, path, what,
			strerror(e));
}

static int gntfs_errno(void)
{
	return errno ? errno : EIO;
}

static ntfs_inode *gntfs_iget(struct vmie_guest *g, u64 mft, const char *path,
			      struct vmie_err *err)
{
	errno = 0;
	ntfs_inode *ni = ntfs_inode_open(gntfs_vol(g), (MFT_REF)mft);
	if (!ni) {
		char what[48];
		snprintf(what, sizeof what, "MFT record %llu",
			 (unsigned long long)mft);
		int e = gntfs_errno();
		gntfs_fail(g, err, e == ENOENT ? EIO : e, path, what);
	}
	return ni;
}

/* Close an inode that was changed: its record written back. */
static int gntfs_iput(struct vmie_guest *g, ntfs_inode *ni, const char *path,
		      struct vmie_err *err)
{
	errno = 0;
	if (ni && ntfs_inode_close(ni))
		return gntfs_fail(g, err, gntfs_errno(), path,
				  "MFT record write");
	return 0;
}

static bool gntfs_is_dir(const ntfs_inode *ni)
{
	return ni->mrec->flags & MFT_RECORD_IS_DIRECTORY;
}

/* A name as libntfs-3g wants it; *ulen in UTF-16 units. */
static int gntfs_uname(struct vmie_guest *g, const char *path,
		       const char *name, size_t n, ntfschar **u, int *ulen,
		       struct vmie_err *err)
{
	char buf[GNTFS_NAME_MAX];
	*u = NULL;
	if (n >= sizeof buf)
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: a name of more "
				"than 255 characters", g->name, path);
	memcpy(buf, name, n);
	buf[n] = 0;
	*ulen = ntfs_mbstoucs(buf, u);
	if (*ulen < 0) {
		*u = NULL;
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: '%s' is not a "
				"valid name (UTF-8)", g->name, path, buf);
	}
	if (*ulen > 255 || !*ulen) {
		free(*u);
		*u = NULL;
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: a name of more "
				"than 255 characters", g->name, path);
	}
	return 0;
}

/* ---- paths ---- */

enum gntfs_follow {
	GNTFS_NOFOLLOW,         /* write, copy, rename: no link anywhere */
	GNTFS_FOLLOW_DIRS,      /* stat: links before the last component */
	GNTFS_FOLLOW_ALL,       /* read, readdir */
};

struct gntfs_where {
	u64 dir;                /* the directory holding the last component */
	u64 ino;                /* the last component (when found) */
	bool found;
	bool meta;              /* a metadata file on the way or at the end */
	char leaf[GNTFS_NAME_MAX];      /* "" for "/" or "." */
};

/* What an inode is, for the walk. */
struct gntfs_kind {
	bool dir, link;
	uint32_t tag;
};

static int gntfs_kind(struct vmie_guest *g, u64 mft, const char *path,
		      struct gntfs_kind *k, char *target, size_t tsize,
		      struct vmie_err *err)
{
	ntfs_inode *ni = gntfs_iget(g, mft, path, err);
	if (!ni)
		return err ? err->code : VMIE_EIO;
	memset(k, 0, sizeof *k);
	k->dir = gntfs_is_dir(ni);
	k->tag = vmie_ntfs_reparse_tag(ni);
	k->link = vmie_ntfs_is_link_tag(k->tag);
	int r = 0;
	if (k->link && target &&
	    vmie_ntfs_link_target(ni, target, tsize, NULL))
		r = VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: %s: MFT record "
			     "%llu: a link whose target vmie cannot read "
			     "(reparse tag 0x%08x)", g->name, path,
			     (unsigned long long)mft, k->tag);
	ntfs_inode_close(ni);
	return r;
}

/*
 * Walk path from the root.  Components "." and "" are skipped, ".." goes
 * back to the directory the walk came from (the root's is the root:
 * nothing leaves the volume).  A missing last component is not an error
 * (w->found false); a missing or non-directory middle one is
 * VMIE_ENOENT.  Links are followed as follow says, each target walked
 * from the root (absolute) or from the link's directory; with
 * GNTFS_NOFOLLOW a link in the middle is VMIE_EPERM, one at the end is
 * returned as itself.
 */
static int gntfs_resolve(struct vmie_guest *g, const char *path,
			 enum gntfs_follow follow, struct gntfs_where *w,
			 struct vmie_err *err)
{
	/* what is left to walk: a link's target, then the rest */
	char *rem = malloc(2 * GNTFS_MAX_PATH + 2);
	char *tgt = malloc(GNTFS_MAX_PATH + 1);
	char *tmp = malloc(2 * GNTFS_MAX_PATH + 2);
	/* the directories walked through, for ".." */
	u64 *up = malloc((GNTFS_MAX_PATH / 2 + 2) * sizeof *up);
	size_t depth = 1;
	unsigned links = 0;
	ntfschar *u = NULL;
	int r = 0;

	memset(w, 0, sizeof *w);
	if (!rem || !tgt || !tmp || !up) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(path) >= GNTFS_MAX_PATH) {
		r = VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: path of more than %d "
			     "bytes", g->name, GNTFS_MAX_PATH - 1);
		goto out;
	}
	strcpy(rem, path);
	up[0] = FILE_root;
	w->dir = w->ino = FILE_root;
	w->found = true;
	size_t at = 0;
	for (;;) {
		u64 cur = up[depth - 1];
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
				w->dir = w->ino = cur;
				w->found = true;
				w->leaf[0] = 0;
			}
			continue;
		}
		if (n == 2 && name[0] == '.' && name[1] == '.') {
			if (depth > 1)
				depth--;
			if (last) {
				w->dir = w->ino = up[depth - 1];
				w->found = true;
				memcpy(w->leaf, "..", 3);
			}
			continue;
		}
		int ulen = 0;
		r = gntfs_uname(g, path, name, n, &u, &ulen, err);
		if (r) {
			if (!last)
				r = VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: "
					     "'%.*s' is not a valid name",
					     g->name, path, (int)n, name);
			goto out;
		}
		ntfs_inode *dni = gntfs_iget(g, cur, path, err);
		if (!dni) {
			r = err ? err->code : VMIE_EIO;
			goto out;
		}
		if (!gntfs_is_dir(dni)) {
			ntfs_inode_close(dni);
			r = VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: MFT record "
				     "%llu is not a directory", g->name, path,
				     (unsigned long long)cur);
			goto out;
		}
		errno = 0;
		u64 m = ntfs_inode_lookup_by_name(dni, u, ulen);
		int e = errno;
		ntfs_inode_close(dni);
		free(u);
		u = NULL;
		if (m == (u64)-1) {
			if (e && e != ENOENT) {
				r = gntfs_fail(g, err, e, path,
					       "directory index");
				goto out;
			}
			if (!last) {
				r = VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: "
					     "'%.*s' not found", g->name, path,
					     (int)n, name);
				goto out;
			}
			w->dir = cur;
			w->found = false;
			memcpy(w->leaf, name, n);
			w->leaf[n] = 0;
			break;
		}
		m = MREF(m);
		if (m < FILE_first_user || cur == FILE_Extend)
			w->meta = true;
		struct gntfs_kind k;
		r = gntfs_kind(g, m, path, &k,
			       follow == GNTFS_FOLLOW_ALL ||
			       (follow == GNTFS_FOLLOW_DIRS && !last) ? tgt :
			       NULL, GNTFS_MAX_PATH + 1, err);
		if (r)
			goto out;
		if (k.link && (follow == GNTFS_FOLLOW_ALL ||
			       (follow == GNTFS_FOLLOW_DIRS && !last))) {
			if (++links > GNTFS_MAX_LINKS) {
				r = VMIE_ERR(err, VMIE_ELIMIT, "ntfs: %s: %s: "
					     "more than %d links", g->name,
					     path, GNTFS_MAX_LINKS);
				goto out;
			}
			/* target, then what was left after the link */
			int kk = snprintf(tmp, 2 * GNTFS_MAX_PATH + 2, "%s/%s",
					  tgt, rem + at);
			if (kk < 0 || kk >= GNTFS_MAX_PATH) {
				r = VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: "
					     "path through links is longer "
					     "than %d bytes", g->name, path,
					     GNTFS_MAX_PATH - 1);
				goto out;
			}
			if (tgt[0] == '/')
				depth = 1;
			memcpy(rem, tmp, (size_t)kk + 1);
			at = 0;
			w->dir = w->ino = up[depth - 1];
			w->found = true;
			w->leaf[0] = 0;
			continue;
		}
		if (k.link && !last) {
			r = VMIE_ERR(err, VMIE_EPERM, "ntfs: %s: %s: '%.*s' is a "
				     "link (reparse tag 0x%08x): not followed "
				     "when writing", g->name, path, (int)n,
				     name, k.tag);
			goto out;
		}
		if (last) {
			w->dir = cur;
			w->ino = m;
			w->found = true;
			memcpy(w->leaf, name, n);
			w->leaf[n] = 0;
			break;
		}
		if (!k.dir) {
			r = VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: '%.*s' is "
				     "not a directory", g->name, path, (int)n,
				     name);
			goto out;
		}
		if (depth >= GNTFS_MAX_PATH / 2 + 2) {
			r = VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: too deep",
				     g->name, path);
			goto out;
		}
		up[depth++] = m;
		w->dir = w->ino = m;
		w->found = true;
		w->leaf[0] = 0;
	}
out:
	free(u);
	free(rem);
	free(tgt);
	free(tmp);
	free(up);
	return r;
}

/* A path whose last component may be created or replaced: resolved
 * without links, a real name at the end, no metadata on the way. */
static int gntfs_resolve_target(struct vmie_guest *g, const char *path,
				struct gntfs_where *w, struct vmie_err *err)
{
	int r = gntfs_resolve(g, path, GNTFS_NOFOLLOW, w, err);
	if (r)
		return r;
	if (!w->leaf[0] || !strcmp(w->leaf, ".."))
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: not a file "
				"name", g->name, path);
	if (w->meta || (w->found && w->ino < FILE_first_user) ||
	    w->dir == FILE_Extend)
		return VMIE_ERR(err, VMIE_EPERM, "ntfs: %s: %s: NTFS metadata: "
				"not changed", g->name, path);
	return 0;
}

/* An existing regular file that may be changed (changing) or copied. */
static int gntfs_check_file(struct vmie_guest *g, const char *path,
			    ntfs_inode *ni, bool changing,
			    struct vmie_err *err)
{
	uint32_t tag = vmie_ntfs_reparse_tag(ni);
	if (vmie_ntfs_is_link_tag(tag))
		return VMIE_ERR(err, VMIE_EPERM, "ntfs: %s: %s: a link "
				"(reparse tag 0x%08x): not followed when %s",
				g->name, path, tag,
				changing ? "writing" : "copying");
	if (gntfs_is_dir(ni))
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: not a regular "
				"file (a directory)", g->name, path);
	if (ni->flags & FILE_ATTR_ENCRYPTED)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: %s: the file is "
				"encrypted (EFS): vmie does not %s it", g->name,
				path, changing ? "change" : "copy");
	if (tag || (ni->flags & FILE_ATTR_REPARSE_POINT))
		return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: %s: the file is "
				"a reparse point (tag 0x%08x: WOF-compressed, "
				"deduplicated or a placeholder?): its $DATA is "
				"not its content; vmie does not %s it", g->name,
				path, tag, changing ? "change" : "copy");
	return 0;
}

/* Clusters a file of len bytes may need (a bound: refusing early beats
 * failing half-way), against the free ones plus those freed. */
static int gntfs_check_space(struct vmie_guest *g, const char *path,
			     uint64_t len, uint64_t freed,
			     struct vmie_err *err)
{
	ntfs_volume *vol = gntfs_vol(g);
	uint64_t cs = vol->cluster_size;
	uint64_t need = vmie_div_round_up(len, cs);
	need += need / 256 + 8;
	uint64_t avail = (vol->free_clusters > 0 ?
			  (uint64_t)vol->free_clusters : 0) + freed;
	if (need > avail)
		return VMIE_ERR(err, VMIE_ENOSPC, "ntfs: %s: %s: %llu bytes do "
				"not fit: %llu clusters of %llu bytes free",
				g->name, path, (unsigned long long)len,
				(unsigned long long)avail,
				(unsigned long long)cs);
	return 0;
}

/* ---- content ---- */

/* len bytes of buf at 0 of the unnamed $DATA of ni, which is empty. */
static int gntfs_fill(struct vmie_guest *g, ntfs_attr *na, const void *buf,
		      size_t len, const char *path, struct vmie_err *err)
{
	const uint8_t *p = buf;
	s64 off = 0;
	while ((size_t)off < len) {
		size_t want = (size_t)vmie_min_u64(len - (size_t)off,
						   GNTFS_CHUNK);
		errno = 0;
		s64 n = ntfs_attr_pwrite(na, off, (s64)want, p + off);
		if (n <= 0)
			return gntfs_fail(g, err, n < 0 ? gntfs_errno() : EIO,
					  path, "write");
		off += n;
	}
	return 0;
}

/* After writing a compressed attribute: its last compression unit. */
static int gntfs_attr_done(struct vmie_guest *g, ntfs_attr *na,
			   const char *path, struct vmie_err *err)
{
	int r = 0;
	errno = 0;
	if ((na->data_flags & ATTR_COMPRESSION_MASK) && ntfs_attr_pclose(na))
		r = gntfs_fail(g, err, gntfs_errno(), path,
			       "compressed data");
	ntfs_attr_close(na);
	return r;
}

/* A new empty file w->leaf in w->dir with security id securid (0: the
 * default descriptor); returned open in *out. */
static int gntfs_create(struct vmie_guest *g, const char *path,
			const struct gntfs_where *w, le32 securid,
			mode_t type, ntfs_inode **out, struct vmie_err *err)
{
	ntfschar *u = NULL;
	int ulen = 0;
	int r = gntfs_uname(g, path, w->leaf, strlen(w->leaf), &u, &ulen, err);
	if (r)
		return r;
	ntfs_inode *dni = gntfs_iget(g, w->dir, path, err);
	if (!dni) {
		free(u);
		return err ? err->code : VMIE_EIO;
	}
	if (!gntfs_is_dir(dni)) {
		ntfs_inode_close(dni);
		free(u);
		return VMIE_ERR(err, VMIE_EIO, "ntfs: %s: %s: parent MFT record "
				"%llu is not a directory", g->name, path,
				(unsigned long long)w->dir);
	}
	((struct gntfs *)g->priv)->changed = true;
	errno = 0;
	ntfs_inode *ni = ntfs_create(dni, securid, u, (u8)ulen, type);
	int e = gntfs_errno();
	free(u);
	if (!ni) {
		ntfs_inode_close(dni);
		return gntfs_fail(g, err, e, path, "create");
	}
	r = gntfs_iput(g, dni, path, err);
	if (r) {
		ntfs_inode_close(ni);
		return r;
	}
	*out = ni;
	return 0;
}

/* ---- operations ---- */

static int gntfs_op_stat(struct vmie_guest *g, const char *path,
			 struct vmie_guest_stat *st, struct vmie_err *err)
{
	struct gntfs_where w;
	memset(st, 0, sizeof *st);
	gntfs_begin(g);
	int r = gntfs_resolve(g, path, GNTFS_FOLLOW_DIRS, &w, err);
	if (r == VMIE_ENOENT)
		return 0;       /* a missing directory on the way */
	if (r || !w.found)
		return r;
	ntfs_inode *ni = gntfs_iget(g, w.ino, path, err);
	if (!ni)
		return err ? err->code : VMIE_EIO;
	st->exists = true;
	st->is_dir = gntfs_is_dir(ni);
	st->is_lnk = vmie_ntfs_is_link_tag(vmie_ntfs_reparse_tag(ni));
	if (st->is_lnk)
		st->is_dir = false;
	st->is_reg = !st->is_dir && !st->is_lnk;
	if (st->is_reg) {
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		if (na) {
			st->size = (uint64_t)na->data_size;
			ntfs_attr_close(na);
		}
	}
	st->mode = st->is_dir ? 0755 : 0644;
	if (ni->flags & FILE_ATTR_READONLY)
		st->mode &= ~0222u;
	ntfs_inode_close(ni);
	return 0;
}

static int gntfs_op_read(struct vmie_guest *g, const char *path, size_t max,
			 char **buf, size_t *len, struct vmie_err *err)
{
	struct gntfs_where w;
	ntfs_attr *na = NULL;
	char *p = NULL;
	int r;

	*buf = NULL;
	*len = 0;
	gntfs_begin(g);
	r = gntfs_resolve(g, path, GNTFS_FOLLOW_ALL, &w, err);
	if (r)
		return r;
	if (!w.found)
		return VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: not found",
				g->name, path);
	ntfs_inode *ni = gntfs_iget(g, w.ino, path, err);
	if (!ni)
		return err ? err->code : VMIE_EIO;
	if (gntfs_is_dir(ni)) {
		r = VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: not a regular "
			     "file (a directory)", g->name, path);
		goto out;
	}
	r = gntfs_check_file(g, path, ni, false, err);
	if (r)
		goto out;
	errno = 0;
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		r = gntfs_fail(g, err, gntfs_errno(), path, "$DATA");
		goto out;
	}
	uint64_t size = (uint64_t)na->data_size;
	uint64_t cap = vmie_min_u64(max, GNTFS_MAX_FILE);
	if (size > cap) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "ntfs: %s: %s: %llu bytes, more "
			     "than the %llu this read allows", g->name, path,
			     (unsigned long long)size,
			     (unsigned long long)cap);
		goto out;
	}
	p = malloc((size_t)size + 1);
	if (!p) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "ntfs: %s: %s: out of memory for "
			     "%llu bytes", g->name, path,
			     (unsigned long long)size);
		goto out;
	}
	uint64_t got = 0;
	while (got < size) {
		size_t want = (size_t)vmie_min_u64(size - got, GNTFS_CHUNK);
		errno = 0;
		s64 n = ntfs_attr_pread(na, (s64)got, (s64)want, p + got);
		if (n < 0) {
			r = gntfs_fail(g, err, gntfs_errno(), path, "read");
			goto out;
		}
		if (!n)
			break;
		got += (uint64_t)n;
	}
	/* shorter than its size: the rest reads as zeros */
	memset(p + got, 0, (size_t)(size - got));
	p[size] = 0;
	*buf = p;
	*len = (size_t)size;
	p = NULL;
out:
	free(p);
	if (na)
		ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return r;
}

static int gntfs_op_write(struct vmie_guest *g, const char *path,
			  const void *buf, size_t len, unsigned mode,
			  struct vmie_err *err)
{
	struct gntfs_where w;
	ntfs_inode *ni = NULL;
	ntfs_attr *na = NULL;
	int r;

	(void)mode;             /* NTFS has no mode: see the top */
	gntfs_begin(g);
	if ((uint64_t)len > GNTFS_MAX_FILE)
		return VMIE_ERR(err, VMIE_ENOMEM, "ntfs: %s: %s: %zu bytes to "
				"write, more than %llu", g->name, path, len,
				(unsigned long long)GNTFS_MAX_FILE);
	r = gntfs_resolve_target(g, path, &w, err);
	if (r)
		return r;
	if (w.found) {
		if (!(ni = gntfs_iget(g, w.ino, path, err)))
			return err ? err->code : VMIE_EIO;
		r = gntfs_check_file(g, path, ni, true, err);
		if (r)
			goto out;
		errno = 0;
		if (!(na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0))) {
			r = gntfs_fail(g, err, gntfs_errno(), path, "$DATA");
			goto out;
		}
		uint64_t freed = NAttrNonResident(na) ?
				 (uint64_t)na->allocated_size /
				 gntfs_vol(g)->cluster_size : 0;
		r = gntfs_check_space(g, path, len, freed, err);
		if (r)
			goto out;
		((struct gntfs *)g->priv)->changed = true;
		errno = 0;
		if (ntfs_attr_truncate(na, 0)) {
			r = gntfs_fail(g, err, gntfs_errno(), path, "truncate");
			goto out;
		}
	} else {
		r = gntfs_check_space(g, path, len, 0, err);
		if (!r)
			r = gntfs_create(g, path, &w, const_cpu_to_le32(0),
					 S_IFREG, &ni, err);
		if (r)
			goto out;
		errno = 0;
		if (!(na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0))) {
			r = gntfs_fail(g, err, gntfs_errno(), path, "$DATA");
			goto out;
		}
	}
	r = gntfs_fill(g, na, buf, len, path, err);
	int r2 = gntfs_attr_done(g, na, path, err);
	na = NULL;
	if (!r)
		r = r2;
	if (!r)
		ntfs_inode_update_times(ni, NTFS_UPDATE_MCTIME);
out:
	if (na)
		ntfs_attr_close(na);
	if (ni) {
		int r3 = gntfs_iput(g, ni, path, r ? NULL : err);
		if (!r)
			r = r3;
	}
	return r;
}

/* The content of the unnamed $DATA of src into dst's (empty), a chunk at
 * a time. */
static int gntfs_copy_data(struct vmie_guest *g, ntfs_attr *src,
			   ntfs_attr *dst, const char *path,
			   struct vmie_err *err)
{
	uint64_t size = (uint64_t)src->data_size, done = 0;
	uint8_t *b = malloc(GNTFS_CHUNK);
	int r = 0;
	if (!b)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	while (!r && done < size) {
		size_t want = (size_t)vmie_min_u64(size - done, GNTFS_CHUNK);
		errno = 0;
		s64 n = ntfs_attr_pread(src, (s64)done, (s64)want, b);
		if (n < 0) {
			r = gntfs_fail(g, err, gntfs_errno(), path,
				       "read of the original");
			break;
		}
		if (!n) {
			/* shorter than its size: the rest reads as zeros */
			memset(b, 0, want);
			n = (s64)want;
		}
		for (s64 k = 0; !r && k < n;) {
			errno = 0;
			s64 w = ntfs_attr_pwrite(dst, (s64)done + k, n - k,
						 b + k);
			if (w <= 0)
				r = gntfs_fail(g, err, w < 0 ? gntfs_errno() :
					       EIO, path, "write");
			else
				k += w;
		}
		done += (uint64_t)n;
	}
	free(b);
	return r;
}

static int gntfs_op_copy(struct vmie_guest *g, const char *path,
			 const char *new_path, struct vmie_err *err)
{
	struct gntfs_where ws, wd;
	ntfs_inode *src = NULL, *dst = NULL;
	ntfs_attr *sa = NULL, *da = NULL;
	int r;

	gntfs_begin(g);
	r = gntfs_resolve(g, path, GNTFS_NOFOLLOW, &ws, err);
	if (r)
		return r;
	if (!ws.found)
		return VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: not found",
				g->name, path);
	r = gntfs_resolve_target(g, new_path, &wd, err);
	if (r)
		return r;
	if (wd.found)
		return VMIE_ERR(err, VMIE_EEXIST, "ntfs: %s: %s: exists",
				g->name, new_path);
	if (!(src = gntfs_iget(g, ws.ino, path, err)))
		return err ? err->code : VMIE_EIO;
	r = gntfs_check_file(g, path, src, false, err);
	if (r)
		goto out;
	errno = 0;
	if (!(sa = ntfs_attr_open(src, AT_DATA, AT_UNNAMED, 0))) {
		r = gntfs_fail(g, err, gntfs_errno(), path, "$DATA");
		goto out;
	}
	uint64_t size = (uint64_t)sa->data_size;
	if (size > GNTFS_MAX_FILE) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "ntfs: %s: %s: %llu bytes, more "
			     "than the %llu vmie copies", g->name, path,
			     (unsigned long long)size,
			     (unsigned long long)GNTFS_MAX_FILE);
		goto out;
	}
	r = gntfs_check_space(g, new_path, size, 0, err);
	if (!r)
		r = gntfs_create(g, new_path, &wd, src->security_id, S_IFREG,
				 &dst, err);
	if (r)
		goto out;
	errno = 0;
	if (!(da = ntfs_attr_open(dst, AT_DATA, AT_UNNAMED, 0))) {
		r = gntfs_fail(g, err, gntfs_errno(), new_path, "$DATA");
		goto out;
	}
	r = gntfs_copy_data(g, sa, da, new_path, err);
	int r2 = gntfs_attr_done(g, da, new_path, err);
	da = NULL;
	if (!r)
		r = r2;
	if (r)
		goto out;
	/* the original's attributes and times */
	dst->flags = (dst->flags & ~GNTFS_COPY_ATTRS) |
		     (src->flags & GNTFS_COPY_ATTRS);
	NInoSetDirty(dst);
	NInoFileNameSetDirty(dst);
	uint64_t times[4];
	if (ntfs_inode_get_times(src, (char *)times, sizeof times) >= 24 &&
	    ntfs_inode_set_times(dst, (const char *)times, 24, 0)) {
		r = gntfs_fail(g, err, gntfs_errno(), new_path, "times");
		goto out;
	}
out:
	if (sa)
		ntfs_attr_close(sa);
	if (da)
		ntfs_attr_close(da);
	if (dst) {
		int r3 = gntfs_iput(g, dst, new_path, r ? NULL : err);
		if (!r)
			r = r3;
	}
	ntfs_inode_close(src);
	return r;
}

static int gntfs_op_rename(struct vmie_guest *g, const char *path,
			   const char *new_path, struct vmie_err *err)
{
	struct gntfs_where ws, wd;
	ntfschar *uo = NULL, *un = NULL;
	int lo = 0, ln = 0;
	int r;

	gntfs_begin(g);
	r = gntfs_resolve_target(g, path, &ws, err);
	if (r)
		return r;
	if (!ws.found)
		return VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: not found",
				g->name, path);
	r = gntfs_resolve_target(g, new_path, &wd, err);
	if (r)
		return r;
	if (wd.dir != ws.dir)
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s -> %s: rename "
				"only within one directory", g->name, path,
				new_path);
	if (wd.found)
		return VMIE_ERR(err, VMIE_EEXIST, "ntfs: %s: %s: exists",
				g->name, new_path);
	struct gntfs_kind k;
	r = gntfs_kind(g, ws.ino, path, &k, NULL, 0, err);
	if (r)
		return r;
	if (k.link)
		return VMIE_ERR(err, VMIE_EPERM, "ntfs: %s: %s: a link "
				"(reparse tag 0x%08x): not renamed", g->name,
				path, k.tag);
	if ((r = gntfs_uname(g, path, ws.leaf, strlen(ws.leaf), &uo, &lo,
			     err)) ||
	    (r = gntfs_uname(g, new_path, wd.leaf, strlen(wd.leaf), &un, &ln,
			     err)))
		goto out;
	ntfs_inode *dni = gntfs_iget(g, ws.dir, path, err);
	if (!dni) {
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	ntfs_inode *ni = gntfs_iget(g, ws.ino, path, err);
	if (!ni) {
		ntfs_inode_close(dni);
		r = err ? err->code : VMIE_EIO;
		goto out;
	}
	((struct gntfs *)g->priv)->changed = true;
	errno = 0;
	if (ntfs_link(ni, dni, un, (u8)ln)) {
		r = gntfs_fail(g, err, gntfs_errno(), new_path,
			       "directory entry");
		ntfs_inode_close(ni);
		ntfs_inode_close(dni);
		goto out;
	}
	/* closes ni and dni */
	errno = 0;
	if (ntfs_delete(gntfs_vol(g), NULL, ni, dni, uo, (u8)lo))
		r = gntfs_fail(g, err, gntfs_errno(), path,
			       "removing the old name");
out:
	free(uo);
	free(un);
	return r;
}

struct gntfs_dirent {
	char *name;
	bool is_dir;
};

struct gntfs_list {
	struct gntfs_dirent *d;
	size_t n, cap;
	bool in_extend;         /* listing $Extend: all of it is metadata */
	int r;                  /* VMIE_ENOMEM / VMIE_ELIMIT */
};

static int gntfs_list_cb(void *ctx, const ntfschar *name, const int name_len,
			 const int name_type, const s64 pos, const MFT_REF mref,
			 const unsigned dt_type)
{
	(void)pos;
	struct gntfs_list *l = ctx;
	char *u = NULL;

	if (name_type == FILE_NAME_DOS || l->in_extend ||
	    MREF(mref) < FILE_first_user)
		return 0;       /* DOS alias, or a metadata file */
	if (ntfs_ucstombs(name, name_len, &u, 0) < 0 || !u)
		return 0;
	if (!strcmp(u, ".") || !strcmp(u, "..")) {
		free(u);
		return 0;
	}
	if (l->n >= GNTFS_MAX_DIRENTS) {
		free(u);
		l->r = VMIE_ELIMIT;
		return 1;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		void *a = realloc(l->d, nc * sizeof *l->d);
		if (!a) {
			free(u);
			l->r = VMIE_ENOMEM;
			return 1;
		}
		l->d = a;
		l->cap = nc;
	}
	l->d[l->n].name = u;
	l->d[l->n++].is_dir = dt_type == NTFS_DT_DIR;
	return 0;
}

static int gntfs_op_readdir(struct vmie_guest *g, const char *path,
			    vmie_guest_dir_fn fn, void *ctx,
			    struct vmie_err *err)
{
	struct gntfs_where w;
	struct gntfs_list l = { 0 };
	int r;

	gntfs_begin(g);
	r = gntfs_resolve(g, path, GNTFS_FOLLOW_ALL, &w, err);
	if (r)
		return r;
	if (!w.found)
		return VMIE_ERR(err, VMIE_ENOENT, "ntfs: %s: %s: not found",
				g->name, path);
	ntfs_inode *ni = gntfs_iget(g, w.ino, path, err);
	if (!ni)
		return err ? err->code : VMIE_EIO;
	if (!gntfs_is_dir(ni)) {
		ntfs_inode_close(ni);
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: %s: %s: not a "
				"directory", g->name, path);
	}
	l.in_extend = w.ino == FILE_Extend;
	s64 pos = 0;
	errno = 0;
	if (ntfs_readdir(ni, &pos, &l, gntfs_list_cb) && !l.r)
		r = gntfs_fail(g, err, gntfs_errno(), path, "directory");
	ntfs_inode_close(ni);
	if (!r && l.r == VMIE_ENOMEM)
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	else if (!r && l.r)
		r = VMIE_ERR(err, VMIE_ELIMIT, "ntfs: %s: %s: more than %u "
			     "entries", g->name, path, GNTFS_MAX_DIRENTS);
	/* the callback runs after the walk: it may use the handle */
	for (size_t i = 0; i < l.n; i++) {
		if (!r)
			r = fn(ctx, l.d[i].name, l.d[i].is_dir);
		free(l.d[i].name);
	}
	free(l.d);
	return r;
}

/* ---- mount ---- */

/* Mount the volume of g's device (rw: read-write), case-insensitive;
 * read-write also counts the free clusters. */
static int gntfs_mount(struct vmie_guest *g, bool rw, struct vmie_err *err)
{
	struct gntfs *x = g->priv;
	struct ntfs_device *dev;

	x->d.writable = rw;
	vmie_err_clear(&x->d.err);
	if (!(dev = vmie_ntfs_device(&x->d, g->name)))
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	errno = 0;
	x->vol = ntfs_device_mount(dev, rw ? NTFS_MNT_NONE : NTFS_MNT_RDONLY);
	if (!x->vol) {
		int e = gntfs_errno();
		ntfs_device_free(dev);
		if (x->d.err.code)
			return VMIE_ERR(err, x->d.err.code == VMIE_ECORRUPT ?
					VMIE_ECORRUPT : VMIE_EIO, "ntfs: %s: "
					"cannot mount: %s", g->name,
					x->d.err.msg);
		if (rw && e == EPERM)
			return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: not "
					"changed: the NTFS log ($LogFile) says "
					"Windows keeps metadata of this volume "
					"cached (fast startup or hibernation): "
					"writing now would lose data; shut "
					"Windows down fully (shutdown /s /t 0, "
					"fast startup off) and import again",
					g->name);
		if (rw && e == EOPNOTSUPP)
			return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: not "
					"changed: the NTFS log ($LogFile) is "
					"not clean (Windows was not shut down "
					"cleanly): run chkdsk in Windows, shut "
					"it down and import again", g->name);
		if (e == EROFS)
			return VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: the "
					"device is read-only", g->name);
		return VMIE_CORRUPT(err, "ntfs: %s: cannot mount: %s",
				    g->name, strerror(e));
	}
	/* Windows semantics: names compare through $UpCase */
	NVolClearCaseSensitive(x->vol);
	if (rw) {
		errno = 0;
		if (ntfs_volume_get_free_space(x->vol) ||
		    x->vol->free_clusters < 0)
			return gntfs_fail(g, err, gntfs_errno(), "/",
					  "free space ($Bitmap)");
	}
	return 0;
}

/* Unmount: everything libntfs-3g still holds written back. */
static int gntfs_umount(struct vmie_guest *g, struct vmie_err *err)
{
	struct gntfs *x = g->priv;
	if (!x->vol)
		return 0;
	vmie_err_clear(&x->d.err);
	errno = 0;
	int rc = ntfs_umount(x->vol, FALSE);   /* frees the device */
	x->vol = NULL;
	if (rc)
		return gntfs_fail(g, err, gntfs_errno(), "/", "unmount");
	return 0;
}

/* A directory (its parent must exist); 0 when it exists already. */
static int gntfs_op_mkdir(struct vmie_guest *g, const char *path,
			  struct vmie_err *err)
{
	struct gntfs_where w;
	ntfs_inode *ni = NULL;
	int r;

	gntfs_begin(g);
	r = gntfs_resolve_target(g, path, &w, err);
	if (r)
		return r;
	if (w.found) {
		if (!(ni = gntfs_iget(g, w.ino, path, err)))
			return err ? err->code : VMIE_EIO;
		bool dir = gntfs_is_dir(ni) &&
			   !(ni->flags & FILE_ATTR_REPARSE_POINT);
		r = gntfs_iput(g, ni, path, err);
		if (!r && !dir)
			r = VMIE_ERR(err, VMIE_EEXIST, "ntfs: %s: %s: exists "
				     "and is not a directory", g->name, path);
		return r;
	}
	r = gntfs_check_space(g, path, 4096, 0, err);
	if (!r)
		r = gntfs_create(g, path, &w, const_cpu_to_le32(0), S_IFDIR,
				 &ni, err);
	if (r)
		return r;
	return gntfs_iput(g, ni, path, err);
}

static int gntfs_op_flush(struct vmie_guest *g, struct vmie_err *err)
{
	struct gntfs *x = g->priv;
	if (!x->changed)
		return 0;
	int r = gntfs_umount(g, err);
	if (!r)
		r = gntfs_mount(g, true, err);
	if (!r)
		x->changed = false;
	return r;
}

static void gntfs_op_close(struct vmie_guest *g)
{
	if (g->priv)
		gntfs_umount(g, NULL);
	free(g->priv);
	free(g);
}

static const struct vmie_guest_ops gntfs_ops = {
	.kind = "ntfs",
	.read = gntfs_op_read,
	.stat = gntfs_op_stat,
	.write = gntfs_op_write,
	.copy = gntfs_op_copy,
	.rename = gntfs_op_rename,
	.readdir = gntfs_op_readdir,
	.mkdir = gntfs_op_mkdir,
	.flush = gntfs_op_flush,
	.close = gntfs_op_close,
};

/* ---- open ---- */

int vmie_guest_open_ntfs(struct vmie_image *dev, const char *name,
			 struct vmie_guest **out, struct vmie_err *err)
{
	struct vmie_guest *g = NULL;
	struct gntfs *x = NULL;
	struct vmie_ntfs_state st;
	int r;

	*out = NULL;
	if (!dev)
		return VMIE_ERR(err, VMIE_EINVAL, "ntfs: no device");
	if (!name)
		name = dev->name ? dev->name : "ntfs";
	g = calloc(1, sizeof *g);
	x = calloc(1, sizeof *x);
	if (!g || !x) {
		free(g);
		free(x);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	g->ops = &gntfs_ops;
	g->dev = dev;
	g->priv = x;
	vmie_strlcpy(g->name, name, sizeof g->name);
	x->d.img = dev;

	/* the state Windows left the volume in, before anything is
	 * written: libntfs-3g writes at a read-write mount */
	r = gntfs_mount(g, false, err);
	if (r)
		goto fail;
	vmie_ntfs_volume_state(x->vol, &st);
	r = gntfs_umount(g, err);
	if (r)
		goto fail;
	if (st.hibernated) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: not changed: "
			     "Windows is hibernated or was shut down with fast "
			     "startup (hiberfil.sys holds a hibernation "
			     "image%s%s): whatever is written now is lost, or "
			     "corrupts the volume, when Windows resumes; shut "
			     "Windows down fully (shutdown /s /t 0, fast "
			     "startup off) and import again", g->name,
			     st.hiber_sig[0] ? ", " : "", st.hiber_sig);
		goto fail;
	}
	if (st.dirty) {
		r = VMIE_ERR(err, VMIE_EUNSUPP, "ntfs: %s: not changed: the "
			     "volume is marked dirty ($Volume flags 0x%04x: "
			     "not cleanly unmounted, or chkdsk is scheduled); "
			     "run chkdsk in Windows, shut it down and import "
			     "again", g->name, st.volume_flags);
		goto fail;
	}
	r = gntfs_mount(g, true, err);
	if (r)
		goto fail;
	*out = g;
	return 0;
fail:
	gntfs_umount(g, NULL);
	free(x);
	free(g);
	return r;
}
