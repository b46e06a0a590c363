/*
 * Buckets as local directories (see bucket.h): bucket "b" is "<root>/b",
 * key "p/x.vmdk" is "<root>/b/p/x.vmdk".
 *
 * A key never leaves its bucket.  Keys are checked as text first
 * (vmie_bucket_check_key), then every object is opened relative to a
 * directory fd of its bucket with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS): a symbolic link on the way (a directory or the
 * object itself) is followed only while it stays below the bucket, an
 * absolute link or a /proc magic link is refused.  Where the kernel has
 * no openat2 (ENOSYS: before Linux 5.6, or a seccomp filter; EPERM: a
 * container's seccomp profile older than openat2) bdir_walk does the
 * same one component at a time: each component opened with
 * O_NOFOLLOW, each link read with readlinkat and its target walked in turn
 * (an absolute target, or a ".." above the bucket, is refused), so the
 * kernel never follows a link itself.
 *
 * Only regular files are objects: the key is first opened with O_PATH
 * (which opens nothing: a FIFO is not waited on, a device not touched)
 * and checked with fstat, then opened for reading and checked to be the
 * same inode.  The bucket directory itself may be a symbolic link under
 * root (the administrator's choice: a bucket on another disk).
 *
 * Writing: put() creates the key's directories with mkdirat, refusing a
 * component that is a symbolic link (objects are written only through the
 * bucket's own directories), and writes "<dir>/.<base>.vmie-XXXXXX" through
 * the fd of the key's directory (vmie_sink_open_at), renamed to the key on
 * commit.  An aborted put removes its temporary file and the directories
 * it created (when still empty); remove_temps() removes the temporary
 * files of puts whose process died.
 *
 * Objects are named "s3://<bucket>/<key>" in messages, as requests name
 * them.
 */
#include "bucket.h"
#include "io.h"
#include "../core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define BUCKET_KEY_MAX 1024      /* bytes, as S3 */
#define WALK_MAX_LINKS 40        /* as the kernel's MAXSYMLINKS */

struct bdir {
	int root_fd;                 /* O_PATH directory */
};

/* ---- names ---- */

/* s for a message: printable ASCII as is, other bytes as \xNN, cut after
 * about 120 bytes. */
static const char *bdir_show(char *buf, size_t size, const char *s)
{
	size_t o = 0;
	if (!s)
		s = "";
	for (; *s && o + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (o >= 120) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = 0;
	return buf;
}

int vmie_bucket_check_name(const char *bucket, struct vmie_err *err)
{
	char sh[160];
	size_t n = bucket ? strlen(bucket) : 0;
	if (n < 3 || n > 63)
		return VMIE_ERR(err, VMIE_EPERM, "bucket name '%s' is %zu "
				"characters long; bucket names have 3 to 63",
				bdir_show(sh, sizeof sh, bucket), n);
	for (size_t i = 0; i < n; i++) {
		char c = bucket[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return VMIE_ERR(err, VMIE_EPERM, "bucket name '%s' has a "
					"character other than a-z, 0-9, '.' and "
					"'-'", bdir_show(sh, sizeof sh, bucket));
	}
	const char *ends = bucket + n - 1;
	if (*bucket == '.' || *bucket == '-' || *ends == '.' || *ends == '-')
		return VMIE_ERR(err, VMIE_EPERM, "bucket name '%s' must start "
				"and end with a letter or a digit", bucket);
	if (strstr(bucket, ".."))
		return VMIE_ERR(err, VMIE_EPERM, "bucket name '%s' has two "
				"periods in a row", bucket);
	return 0;
}

int vmie_bucket_check_key(const char *key, struct vmie_err *err)
{
	char sh[160];
	if (!key || !*key)
		return VMIE_ERR(err, VMIE_EPERM, "empty key: a key names an "
				"object inside the bucket");
	size_t n = strlen(key);
	if (n > BUCKET_KEY_MAX)
		return VMIE_ERR(err, VMIE_EPERM, "key '%s' is %zu bytes long; "
				"keys have at most %d", bdir_show(sh, sizeof sh, key),
				n, BUCKET_KEY_MAX);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (*p == '\\')
			return VMIE_ERR(err, VMIE_EPERM, "key '%s' contains a "
					"backslash; keys never leave their "
					"bucket", bdir_show(sh, sizeof sh, key));
		if (*p < 0x20 || *p == 0x7f)
			return VMIE_ERR(err, VMIE_EPERM, "key '%s' contains a "
					"control character",
					bdir_show(sh, sizeof sh, key));
	}
	if (key[0] == '/')
		return VMIE_ERR(err, VMIE_EPERM, "key '%s' is an absolute path; "
				"keys never leave their bucket",
				bdir_show(sh, sizeof sh, key));
	for (const char *c = key;;) {
		size_t len = strcspn(c, "/");
		if (!len)
			return VMIE_ERR(err, VMIE_EPERM, "key '%s' has an empty "
					"component ('//', or a '/' at the end)",
					bdir_show(sh, sizeof sh, key));
		if ((len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return VMIE_ERR(err, VMIE_EPERM, "key '%s' has a '%.*s' "
					"component; keys never leave their "
					"bucket", bdir_show(sh, sizeof sh, key),
					(int)len, c);
		if (len > NAME_MAX)
			return VMIE_ERR(err, VMIE_EPERM, "key '%s' has a "
					"component of %zu bytes (at most %d)",
					bdir_show(sh, sizeof sh, key), len,
					NAME_MAX);
		if (!c[len])
			break;
		c += len + 1;
	}
	return 0;
}

/* ---- resolution below a directory ---- */

static int openat2_missing;      /* ENOSYS seen: walk from now on */

/* Open the directories of rel (components joined by '/', no links, no
 * dots: what bdir_walk entered) from root again: an fd, or -errno. */
static int walk_reopen(int root, const char *rel)
{
	int cur = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	while (cur >= 0 && *rel) {
		char name[NAME_MAX + 1];
		size_t n = strcspn(rel, "/");
		memcpy(name, rel, n);
		name[n] = 0;
		int next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
				  O_CLOEXEC);
		int e = errno;
		close(cur);
		errno = e;
		cur = next;
		rel += n;
		if (*rel == '/')
			rel++;
	}
	return cur < 0 ? -errno : cur;
}

/*
 * openat2(root, path, flags, RESOLVE_BENEATH) done by hand: an fd or
 * -errno (-EXDEV: the path leads outside root).  res holds the
 * directories entered so far from root, so that ".." goes back by
 * opening them again from root (never by opening the ".." of a directory
 * that might have been moved elsewhere meanwhile).
 */
static int bdir_walk(int root, const char *path, int flags)
{
	char res[PATH_MAX], link[PATH_MAX];
	size_t rlen = 0, p = 0;
	int links = 0, fd, cur = -1;
	char *todo = strdup(path);

	res[0] = 0;
	if (!todo)
		return -ENOMEM;
	if (todo[0] == '/') {
		fd = -EXDEV;
		goto out;
	}
	cur = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		fd = -errno;
		goto out;
	}
	for (;;) {
		while (todo[p] == '/')
			p++;
		size_t n = strcspn(todo + p, "/"), next = p + n;
		while (todo[next] == '/')
			next++;
		bool last = !todo[next];
		char name[NAME_MAX + 1];
		if (n > NAME_MAX) {
			fd = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, todo + p, n);
		name[n] = 0;
		p = next;
		if (!n || !strcmp(name, ".") || !strcmp(name, "..")) {
			if (!strcmp(name, "..")) {
				if (!rlen) {
					fd = -EXDEV;     /* above root */
					goto out;
				}
				char *slash = strrchr(res, '/');
				rlen = slash ? (size_t)(slash - res) : 0;
				res[rlen] = 0;
				int up = walk_reopen(root, res);
				if (up < 0) {
					fd = up;
					goto out;
				}
				close(cur);
				cur = up;
			}
			if (last) {
				fd = openat(cur, ".", flags | O_CLOEXEC);
				if (fd < 0)
					fd = -errno;
				goto out;
			}
			continue;
		}
		ssize_t ln = readlinkat(cur, name, link, sizeof link);
		if (ln >= 0) {
			if (++links > WALK_MAX_LINKS) {
				fd = -ELOOP;
				goto out;
			}
			if ((size_t)ln >= sizeof link) {
				fd = -ENAMETOOLONG;
				goto out;
			}
			link[ln] = 0;
			if (!ln || link[0] == '/') {
				fd = ln ? -EXDEV : -ENOENT;
				goto out;
			}
			/* go on with the link's target, then what followed */
			size_t tl = strlen(todo + p);
			char *t = malloc((size_t)ln + tl + 2);
			if (!t) {
				fd = -ENOMEM;
				goto out;
			}
			snprintf(t, (size_t)ln + tl + 2, "%s%s%s", link,
				 tl ? "/" : "", todo + p);
			free(todo);
			todo = t;
			p = 0;
			continue;
		}
		if (errno != EINVAL) {       /* EINVAL: not a link */
			fd = -errno;
			goto out;
		}
		if (last) {
			/* swapped for a link since readlinkat: O_NOFOLLOW
			 * fails (ELOOP) or, with O_PATH, opens the link itself,
			 * which the caller refuses as not a regular file */
			fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				fd = -errno;
			goto out;
		}
		int nfd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
				 O_CLOEXEC);
		if (nfd < 0) {
			fd = -errno;
			goto out;
		}
		if (rlen + n + 2 > sizeof res) {
			close(nfd);
			fd = -ENAMETOOLONG;
			goto out;
		}
		if (rlen)
			res[rlen++] = '/';
		memcpy(res + rlen, name, n + 1);
		rlen += n;
		close(cur);
		cur = nfd;
	}
out:
	if (cur >= 0)
		close(cur);
	free(todo);
	return fd;
}

/* Open path below the directory dfd, never leaving it: an fd, or -errno
 * (-EXDEV when a link or ".." leads outside, -ELOOP for a magic link or
 * too many links).  flags for the last component (O_PATH, O_RDONLY...). */
static int bdir_open_beneath(int dfd, const char *path, int flags)
{
	if (!__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		/* EAGAIN: a rename raced with a ".."; the kernel asks to
		 * retry */
		for (int i = 0; i < 16; i++) {
			long fd = syscall(SYS_openat2, dfd, path, &how,
					  sizeof how);
			if (fd >= 0)
				return (int)fd;
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* EPERM: perhaps a container's seccomp profile that
			 * predates openat2; the walk is as strict */
			if (errno == EPERM)
				return bdir_walk(dfd, path, flags);
			if (errno != ENOSYS)
				return -errno;
			__atomic_store_n(&openat2_missing, 1,
					 __ATOMIC_RELAXED);
			break;
		}
		if (!__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED))
			return -EAGAIN;
	}
	return bdir_walk(dfd, path, flags);
}

/* The error for a failed bdir_open_beneath (-errno in r) of an object. */
static int bdir_resolve_err(int r, const char *bucket, const char *key,
			    struct vmie_err *err)
{
	switch (-r) {
	case ENOENT:
	case ENOTDIR:
		return VMIE_ERR(err, VMIE_ENOENT, "s3://%s/%s: no such object",
				bucket, key);
	case EXDEV:
		return VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s: a symbolic link on "
				"the way leads outside the bucket; keys never "
				"leave their bucket", bucket, key);
	case ELOOP:
		return VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s: too many symbolic "
				"links on the way, or a link that is not "
				"followed (/proc magic link)", bucket, key);
	case ENAMETOOLONG:
		return VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s: the path it "
				"resolves to is too long", bucket, key);
	default:
		errno = -r;
		return VMIE_ERR_SYS(err, "s3://%s/%s: cannot open", bucket, key);
	}
}

/* What a file that is not a regular file is, for messages. */
static const char *bdir_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO (named pipe)";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

/* The directory of bucket (O_PATH fd in *bfd). */
static int bdir_bucket(struct vmie_buckets *b, const char *bucket, int *bfd,
		       struct vmie_err *err)
{
	struct bdir *d = b->priv;
	int r = vmie_bucket_check_name(bucket, err);
	if (r)
		return r;
	*bfd = openat(d->root_fd, bucket, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*bfd >= 0)
		return 0;
	if (errno == ENOENT)
		return VMIE_ERR(err, VMIE_ENOENT, "bucket %s does not exist (no "
				"directory %s/%s)", bucket, b->where, bucket);
	if (errno == ENOTDIR)
		return VMIE_ERR(err, VMIE_ENOENT, "bucket %s does not exist "
				"(%s/%s is not a directory)", bucket, b->where,
				bucket);
	return VMIE_ERR_SYS(err, "bucket %s: cannot open %s/%s", bucket,
			    b->where, bucket);
}

/* The regular file under key below bfd: an O_PATH fd (read false) or one
 * open for reading, and its stat. */
static int bdir_object(int bfd, const char *bucket, const char *key,
		       bool read, int *out, struct stat *st,
		       struct vmie_err *err)
{
	int pfd = bdir_open_beneath(bfd, key, O_PATH), fd = -1, r;
	if (pfd < 0)
		return bdir_resolve_err(pfd, bucket, key, err);
	if (fstat(pfd, st) < 0) {
		r = VMIE_ERR_SYS(err, "s3://%s/%s: stat", bucket, key);
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		r = VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s is %s, not a regular "
			     "file; only regular files are objects", bucket,
			     key, bdir_kind(st->st_mode));
		goto out;
	}
	if (!read) {
		*out = pfd;
		return 0;
	}
	fd = bdir_open_beneath(bfd, key, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = bdir_resolve_err(fd, bucket, key, err);
		goto out;
	}
	struct stat fst;
	if (fstat(fd, &fst) < 0) {
		r = VMIE_ERR_SYS(err, "s3://%s/%s: stat", bucket, key);
		goto out;
	}
	if (!S_ISREG(fst.st_mode) || fst.st_dev != st->st_dev ||
	    fst.st_ino != st->st_ino) {
		r = VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s changed while it was "
			     "being opened", bucket, key);
		goto out;
	}
	*st = fst;
	*out = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return r;
}

/* ---- read ---- */

/* How an object's siblings are found: other keys of its "directory". */
struct bdir_sib {
	int bfd;          /* the bucket (O_PATH), owned */
	char *bucket;
	char *prefix;     /* the key up to its last '/' included, or "" */
};

static int bdir_open_src(int bfd, const char *bucket, const char *key,
			 struct vmie_src **out, struct vmie_err *err);

static int bdir_sib_open(void *ctx, const char *name, struct vmie_src **out,
			 struct vmie_err *err)
{
	struct bdir_sib *c = ctx;
	int r = vmie_check_member_name(name, "bucket object", err);
	if (r)
		return r;
	size_t n = strlen(c->prefix) + strlen(name) + 1;
	char *key = malloc(n);
	if (!key)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	snprintf(key, n, "%s%s", c->prefix, name);
	r = vmie_bucket_check_key(key, err);
	if (!r)
		r = bdir_open_src(c->bfd, c->bucket, key, out, err);
	free(key);
	return r;
}

static void bdir_sib_free(void *ctx)
{
	struct bdir_sib *c = ctx;
	if (!c)
		return;
	if (c->bfd >= 0)
		close(c->bfd);
	free(c->bucket);
	free(c->prefix);
	free(c);
}

/* key (checked) of the bucket directory bfd as a file source whose
 * siblings are the keys beside it. */
static int bdir_open_src(int bfd, const char *bucket, const char *key,
			 struct vmie_src **out, struct vmie_err *err)
{
	struct stat st;
	int fd, r = bdir_object(bfd, bucket, key, true, &fd, &st, err);
	if (r)
		return r;
	const char *slash = strrchr(key, '/');
	size_t plen = slash ? (size_t)(slash - key) + 1 : 0;
	size_t nlen = strlen(bucket) + strlen(key) + 8;
	struct bdir_sib *c = calloc(1, sizeof *c);
	char *name = malloc(nlen);
	if (c) {
		c->bfd = fcntl(bfd, F_DUPFD_CLOEXEC, 0);
		c->bucket = strdup(bucket);
		c->prefix = strndup(key, plen);
	}
	if (!c || c->bfd < 0 || !c->bucket || !c->prefix || !name) {
		r = c && c->bfd < 0 ?
		    VMIE_ERR_SYS(err, "s3://%s/%s: dup", bucket, key) :
		    VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		bdir_sib_free(c);
		free(name);
		close(fd);
		return r;
	}
	snprintf(name, nlen, "s3://%s/%s", bucket, key);
	struct vmie_src_sibling sib = {
		.open = bdir_sib_open, .free = bdir_sib_free, .ctx = c,
	};
	r = vmie_src_open_fd(fd, name, &sib, out, err);
	free(name);
	return r;
}

static int bdir_open(struct vmie_buckets *b, const char *bucket,
		     const char *key, struct vmie_src **out,
		     struct vmie_err *err)
{
	int bfd = -1, r = vmie_bucket_check_key(key, err);
	if (!r)
		r = bdir_bucket(b, bucket, &bfd, err);
	if (!r)
		r = bdir_open_src(bfd, bucket, key, out, err);
	if (bfd >= 0)
		close(bfd);
	return r;
}

static int bdir_head(struct vmie_buckets *b, const char *bucket,
		     const char *key, uint64_t *size, struct vmie_err *err)
{
	struct stat st;
	int bfd = -1, fd = -1, r = vmie_bucket_check_key(key, err);
	if (!r)
		r = bdir_bucket(b, bucket, &bfd, err);
	if (!r)
		r = bdir_object(bfd, bucket, key, false, &fd, &st, err);
	if (!r)
		*size = (uint64_t)st.st_size;
	if (fd >= 0)
		close(fd);
	if (bfd >= 0)
		close(bfd);
	return r;
}

/* ---- write ---- */

/* The number of directory components of key (its '/'s). */
static unsigned key_dirs(const char *key)
{
	unsigned n = 0;
	for (; *key; key++)
		n += *key == '/';
	return n;
}

/* The first n components of key, '/'-joined, in buf (PATH_MAX). */
static void key_prefix(const char *key, unsigned n, char *buf)
{
	const char *p = key;
	for (unsigned i = 0; i < n; i++)
		p = strchr(p, '/') + 1;
	size_t len = n ? (size_t)(p - key) - 1 : 0;
	memcpy(buf, key, len);
	buf[len] = 0;
}

/* The directory of key (checked) below bfd, its missing components made
 * (mkdirat), none of them a symbolic link: an O_PATH fd in *dfd, and in
 * *first_new the index of the first component this call created (the
 * number of components if none). */
static int bdir_make_dirs(int bfd, const char *bucket, const char *key,
			  int *dfd, unsigned *first_new, struct vmie_err *err)
{
	unsigned n = key_dirs(key);
	int cur = fcntl(bfd, F_DUPFD_CLOEXEC, 0);
	const char *c = key;
	char prefix[PATH_MAX];

	*first_new = n;
	if (cur < 0)
		return VMIE_ERR_SYS(err, "bucket %s: dup", bucket);
	for (unsigned i = 0; i < n; i++) {
		char name[NAME_MAX + 1];
		size_t len = strcspn(c, "/");
		int next = -1;
		memcpy(name, c, len);
		name[len] = 0;
		c += len + 1;
		/* a directory removed between mkdirat and openat (an aborted
		 * put beside this one) is made again */
		for (int attempt = 0; attempt < 3 && next < 0; attempt++) {
			if (mkdirat(cur, name, 0755) == 0) {
				if (*first_new == n)
					*first_new = i;
			} else if (errno != EEXIST) {
				break;
			}
			next = openat(cur, name, O_PATH | O_DIRECTORY |
				      O_NOFOLLOW | O_CLOEXEC);
			if (next < 0 && errno != ENOENT)
				break;
		}
		if (next < 0) {
			int e = errno;
			struct stat st;
			key_prefix(key, i + 1, prefix);
			bool lnk = fstatat(cur, name, &st,
					   AT_SYMLINK_NOFOLLOW) == 0;
			close(cur);
			if (lnk && S_ISLNK(st.st_mode))
				return VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s: "
						"%s is a symbolic link; objects "
						"are written only through the "
						"bucket's own directories",
						bucket, key, prefix);
			if (lnk && !S_ISDIR(st.st_mode))
				return VMIE_ERR(err, VMIE_EEXIST, "s3://%s/%s: "
						"%s exists and is %s, not a "
						"directory", bucket, key, prefix,
						bdir_kind(st.st_mode));
			errno = e;
			return VMIE_ERR_SYS(err, "s3://%s/%s: cannot make the "
					    "directory %s", bucket, key, prefix);
		}
		close(cur);
		cur = next;
	}
	*dfd = cur;
	return 0;
}

/* Remove the directories of key that a put made (components first_new
 * and after), deepest first, while they are empty (a put that failed
 * half-way made only the first few: the missing ones are skipped). */
static void bdir_unmake_dirs(int bfd, const char *key, unsigned first_new)
{
	char prefix[PATH_MAX];
	for (unsigned i = key_dirs(key); i-- > first_new;) {
		key_prefix(key, i, prefix);
		int pfd = i ? bdir_open_beneath(bfd, prefix, O_PATH |
						O_DIRECTORY) :
			      fcntl(bfd, F_DUPFD_CLOEXEC, 0);
		if (pfd == -ENOENT)
			continue;
		if (pfd < 0)
			return;
		key_prefix(key, i + 1, prefix);
		const char *name = strrchr(prefix, '/');
		int r = unlinkat(pfd, name ? name + 1 : prefix, AT_REMOVEDIR);
		int e = errno;
		close(pfd);
		if (r < 0 && e != ENOENT)
			return;         /* not empty: someone else's now */
	}
}

/*
 * The sink of a put that made directories: the file sink of the object,
 * and on abort those directories removed too.
 */
struct bdir_put {
	struct vmie_sink *file;
	int bfd;                 /* the bucket (O_PATH), owned */
	char *key;
	unsigned first_new;      /* see bdir_make_dirs */
};

static int bput_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		       uint64_t off, struct vmie_err *err)
{
	struct bdir_put *p = k->priv;
	return vmie_sink_pwrite(p->file, buf, len, off, err);
}

static int bput_truncate(struct vmie_sink *k, uint64_t len,
			 struct vmie_err *err)
{
	struct bdir_put *p = k->priv;
	return vmie_sink_truncate(p->file, len, err);
}

static int bput_pread(struct vmie_sink *k, void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	struct bdir_put *p = k->priv;
	return vmie_sink_pread(p->file, buf, len, off, err);
}

static int bput_commit(struct vmie_sink *k, struct vmie_err *err)
{
	struct bdir_put *p = k->priv;
	return vmie_sink_commit(p->file, err);
}

static void bput_abort(struct vmie_sink *k)
{
	struct bdir_put *p = k->priv;
	if (k->committed || p->bfd < 0)
		return;
	vmie_sink_abort(p->file);
	bdir_unmake_dirs(p->bfd, p->key, p->first_new);
	close(p->bfd);
	p->bfd = -1;
}

static void bput_free(struct vmie_sink *k)
{
	struct bdir_put *p = k->priv;
	vmie_sink_free(p->file);
	if (p->bfd >= 0)
		close(p->bfd);
	free(p->key);
	free(p);
}

static bool bput_parallel(struct vmie_sink *k)
{
	struct bdir_put *p = k->priv;
	return vmie_sink_parallel(p->file);
}

static const struct vmie_sink_ops bput_ops = {
	.pwrite = bput_pwrite,
	.truncate = bput_truncate,
	.pread = bput_pread,
	.commit = bput_commit,
	.abort = bput_abort,
	.free = bput_free,
	.parallel = bput_parallel,
};

static int bdir_put(struct vmie_buckets *b, const char *bucket,
		    const char *key, bool overwrite, struct vmie_sink **out,
		    struct vmie_err *err)
{
	int bfd = -1, dfd = -1, r = vmie_bucket_check_key(key, err);
	unsigned first_new = 0;
	struct vmie_sink *file = NULL, *k = NULL;
	struct bdir_put *p = NULL;
	char *name = NULL;
	struct stat st;

	if (!r)
		r = bdir_bucket(b, bucket, &bfd, err);
	if (r)
		goto out;
	r = bdir_make_dirs(bfd, bucket, key, &dfd, &first_new, err);
	if (r)
		goto out;
	const char *slash = strrchr(key, '/'), *base = slash ? slash + 1 : key;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!overwrite) {
			r = VMIE_ERR(err, VMIE_EEXIST, "s3://%s/%s already "
				     "exists", bucket, key);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			r = VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s is a "
				     "directory, not an object", bucket, key);
			goto out;
		}
	}
	size_t nlen = strlen(bucket) + strlen(key) + 8;
	name = malloc(nlen);
	if (!name) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(name, nlen, "s3://%s/%s", bucket, key);
	r = vmie_sink_open_at(dfd, base, name,
			      overwrite ? VMIE_SINK_OVERWRITE : 0, &file, err);
	if (r)
		goto out;
	if (first_new == key_dirs(key)) {     /* no directory made */
		*out = file;
		file = NULL;
		goto out;
	}
	k = calloc(1, sizeof *k);
	p = calloc(1, sizeof *p);
	if (!k || !p || !(k->name = strdup(name)) ||
	    !(p->key = strdup(key))) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	p->bfd = bfd;
	bfd = -1;
	p->file = file;
	file = NULL;
	p->first_new = first_new;
	k->ops = &bput_ops;
	k->priv = p;
	*out = k;
	k = NULL;
	p = NULL;
out:
	vmie_sink_free(file);
	if (p)
		free(p->key);
	free(p);
	if (k)
		free(k->name);
	free(k);
	if (r && bfd >= 0 && first_new < key_dirs(key))
		bdir_unmake_dirs(bfd, key, first_new);
	free(name);
	if (dfd >= 0)
		close(dfd);
	if (bfd >= 0)
		close(bfd);
	return r;
}

static int bdir_remove(struct vmie_buckets *b, const char *bucket,
		       const char *key, struct vmie_err *err)
{
	int bfd = -1, pfd = -1, r = vmie_bucket_check_key(key, err);
	char dir[PATH_MAX];
	struct stat st;

	if (!r)
		r = bdir_bucket(b, bucket, &bfd, err);
	if (r)
		goto out;
	unsigned n = key_dirs(key);
	key_prefix(key, n, dir);
	const char *slash = strrchr(key, '/'), *base = slash ? slash + 1 : key;
	pfd = n ? bdir_open_beneath(bfd, dir, O_PATH | O_DIRECTORY) :
		  fcntl(bfd, F_DUPFD_CLOEXEC, 0);
	if (pfd < 0) {
		r = bdir_resolve_err(pfd, bucket, key, err);
		goto out;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = errno == ENOENT ?
		    VMIE_ERR(err, VMIE_ENOENT, "s3://%s/%s: no such object",
			     bucket, key) :
		    VMIE_ERR_SYS(err, "s3://%s/%s: stat", bucket, key);
		goto out;
	}
	/* a link is an object's other name: the link goes, not its target */
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		r = VMIE_ERR(err, VMIE_EPERM, "s3://%s/%s is %s, not an object",
			     bucket, key, bdir_kind(st.st_mode));
		goto out;
	}
	if (unlinkat(pfd, base, 0) < 0)
		r = errno == ENOENT ?
		    VMIE_ERR(err, VMIE_ENOENT, "s3://%s/%s: no such object",
			     bucket, key) :
		    VMIE_ERR_SYS(err, "s3://%s/%s: remove", bucket, key);
out:
	if (pfd >= 0)
		close(pfd);
	if (bfd >= 0)
		close(bfd);
	return r;
}

/* Is name ".<base>.vmie-XXXXXX", the temporary of a put of base? */
static bool bdir_is_temp(const char *name, const char *base)
{
	size_t bl = strlen(base);
	if (name[0] != '.' || strncmp(name + 1, base, bl) ||
	    strncmp(name + 1 + bl, ".vmie-", 6) || strlen(name) != bl + 13)
		return false;
	for (const char *x = name + bl + 7; *x; x++)
		if (!((*x >= '0' && *x <= '9') || (*x >= 'a' && *x <= 'z') ||
		      (*x >= 'A' && *x <= 'Z')))
			return false;
	return true;
}

/* The temporaries of puts of key that died before commit or abort: every
 * regular file ".<base>.vmie-XXXXXX" beside the key.  The directories
 * such a put made stay (they may have been there before it). */
static int bdir_remove_temps(struct vmie_buckets *b, const char *bucket,
			     const char *key, struct vmie_err *err)
{
	int bfd = -1, pfd = -1, r = vmie_bucket_check_key(key, err);
	DIR *dir = NULL;
	char prefix[PATH_MAX];

	if (!r)
		r = bdir_bucket(b, bucket, &bfd, err);
	if (r)
		goto out;
	unsigned n = key_dirs(key);
	key_prefix(key, n, prefix);
	const char *slash = strrchr(key, '/'), *base = slash ? slash + 1 : key;
	pfd = n ? bdir_open_beneath(bfd, prefix, O_RDONLY | O_DIRECTORY) :
		  openat(bfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n && pfd < 0) {
		if (pfd == -ENOENT || pfd == -ENOTDIR)
			goto out;          /* no directory: no temporary */
		r = bdir_resolve_err(pfd, bucket, key, err);
		goto out;
	}
	if (pfd < 0 || !(dir = fdopendir(pfd))) {
		r = VMIE_ERR_SYS(err, "s3://%s/%s: cannot list its directory",
				 bucket, key);
		goto out;
	}
	int lfd = pfd;
	pfd = -1;                  /* the DIR has it */
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		struct stat st;
		if (!e) {
			if (errno)
				r = VMIE_ERR_SYS(err, "s3://%s/%s: cannot list "
						 "its directory", bucket, key);
			break;
		}
		if (!bdir_is_temp(e->d_name, base) ||
		    fstatat(lfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(lfd, e->d_name, 0) < 0 && errno != ENOENT &&
		    !r)
			r = VMIE_ERR_SYS(err, "s3://%s/%s: remove %s", bucket,
					 key, e->d_name);
	}
out:
	if (dir)
		closedir(dir);
	if (pfd >= 0)
		close(pfd);
	if (bfd >= 0)
		close(bfd);
	return r;
}

static void bdir_close(struct vmie_buckets *b)
{
	struct bdir *d = b->priv;
	if (d)
		close(d->root_fd);
	free(d);
}

static const struct vmie_buckets_ops bdir_ops = {
	.kind = "dir",
	.open = bdir_open,
	.head = bdir_head,
	.put = bdir_put,
	.remove = bdir_remove,
	.remove_temps = bdir_remove_temps,
	.close = bdir_close,
};

int vmie_buckets_open_dir(const char *root, struct vmie_buckets **out,
			  struct vmie_err *err)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return VMIE_ERR(err, VMIE_ENOENT, "bucket root %s: %s",
					root, errno == ENOENT ?
					"no such directory" :
					"not a directory");
		return VMIE_ERR_SYS(err, "bucket root %s: cannot open", root);
	}
	struct vmie_buckets *b = calloc(1, sizeof *b);
	struct bdir *d = calloc(1, sizeof *d);
	if (!b || !d || !(b->where = strdup(root))) {
		free(b);
		free(d);
		close(fd);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	d->root_fd = fd;
	b->ops = &bdir_ops;
	b->priv = d;
	*out = b;
	return 0;
}

/* ---- shorthands: the checks, then the implementation ---- */

int vmie_buckets_open(struct vmie_buckets *b, const char *bucket,
		      const char *key, struct vmie_src **out,
		      struct vmie_err *err)
{
	int r = vmie_bucket_check_name(bucket, err);
	if (!r)
		r = vmie_bucket_check_key(key, err);
	return r ? r : b->ops->open(b, bucket, key, out, err);
}

int vmie_buckets_head(struct vmie_buckets *b, const char *bucket,
		      const char *key, uint64_t *size, struct vmie_err *err)
{
	int r = vmie_bucket_check_name(bucket, err);
	if (!r)
		r = vmie_bucket_check_key(key, err);
	return r ? r : b->ops->head(b, bucket, key, size, err);
}

int vmie_buckets_put(struct vmie_buckets *b, const char *bucket,
		     const char *key, bool overwrite, struct vmie_sink **out,
		     struct vmie_err *err)
{
	int r = vmie_bucket_check_name(bucket, err);
	if (!r)
		r = vmie_bucket_check_key(key, err);
	return r ? r : b->ops->put(b, bucket, key, overwrite, out, err);
}

int vmie_buckets_remove(struct vmie_buckets *b, const char *bucket,
			const char *key, struct vmie_err *err)
{
	int r = vmie_bucket_check_name(bucket, err);
	if (!r)
		r = vmie_bucket_check_key(key, err);
	return r ? r : b->ops->remove(b, bucket, key, err);
}

void vmie_buckets_close(struct vmie_buckets *b)
{
	if (!b)
		return;
	if (b->ops->close)
		b->ops->close(b);
	free(b->where);
	free(b);
}
