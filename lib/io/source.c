/* Byte sources: local file, memory buffer, window onto another source.
 * See io.h for the contract. */
#include "io.h"
#include "../core/err.h"
#include "../core/checked.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void vmie_src_ref(struct vmie_src *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void vmie_src_unref(struct vmie_src *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (s->ops->close)
		s->ops->close(s);
	vmie_budget_unref(s->budget);
	free(s->name);
	free(s);
}

int vmie_check_member_name(const char *name, const char *what,
			   struct vmie_err *err)
{
	if (!name || !*name)
		return VMIE_ERR(err, VMIE_EPERM, "%s: empty file name", what);
	if (!strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
	    strchr(name, '\\'))
		return VMIE_ERR(err, VMIE_EPERM,
				"%s: file name '%s' is a path; only names in "
				"the same directory are followed", what, name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return VMIE_ERR(err, VMIE_EPERM,
					"%s: file name contains control "
					"characters", what);
	return 0;
}

int vmie_src_open_sibling(struct vmie_src *s, const char *name,
			  struct vmie_src **out, struct vmie_err *err)
{
	int r = vmie_check_member_name(name, s->name, err);
	if (r)
		return r;
	if (!s->ops->open_sibling)
		return VMIE_ERR(err, VMIE_EUNSUPP,
				"%s: cannot open '%s' beside a %s source",
				s->name, name, s->ops->kind);
	int rs = s->ops->open_sibling(s, name, out, err);
	if (!rs && !(*out)->budget && s->budget) {
		(*out)->budget = s->budget;
		vmie_budget_ref(s->budget);
	}
	return rs;
}

int vmie_src_extent(struct vmie_src *s, uint64_t off, uint64_t max_len,
		    uint64_t *pnum, bool *hole, struct vmie_err *err)
{
	if (off >= s->size || !max_len) {
		*pnum = 0;
		*hole = false;
		return 0;
	}
	if (max_len > s->size - off)
		max_len = s->size - off;
	if (!s->ops->extent) {
		*pnum = max_len;
		*hole = false;
		return 0;
	}
	int r = s->ops->extent(s, off, max_len, pnum, hole, err);
	if (!r && (*pnum == 0 || *pnum > max_len))
		*pnum = max_len;
	return r;
}

uint8_t *vmie_src_map(struct vmie_src *s)
{
	return s->ops->map ? s->ops->map(s) : NULL;
}

int vmie_src_check_size(struct vmie_src *s, struct vmie_err *err)
{
	return s->ops->check_size ? s->ops->check_size(s, err) : 0;
}

static struct vmie_src *src_alloc(const struct vmie_src_ops *ops,
				  const char *name, uint64_t size)
{
	struct vmie_src *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->name = strdup(name ? name : "?");
	if (!s->name) {
		free(s);
		return NULL;
	}
	s->ops = ops;
	s->size = size;
	s->refs = 1;
	return s;
}

/* ---- file ---- */

#define FILE_RUNS 4

struct file_src {
	int fd;
	char *dir;   /* directory of the file, for siblings (or NULL) */
	struct vmie_src_sibling sib;   /* siblings by the opener's rules */
	bool regular;
	uint64_t dev, ino;   /* identity, for callers that share files */
	pthread_mutex_t map_lock;
	uint8_t *map;        /* whole-file mapping, once asked for */
	bool map_tried;
	int guard;           /* its slot in the SIGBUS guard */
	/* the last runs of the file found by SEEK_HOLE/SEEK_DATA (one per
	 * reading thread, roughly) */
	struct { uint64_t lo, hi; bool hole; } run[FILE_RUNS];
	unsigned run_next;
};

/* ---- mappings that lose their file (SIGBUS guard) ----
 *
 * A mapped file cut short by someone else raises SIGBUS on the next
 * touch of a page past its new end, however recently its size was
 * checked.  The handler below turns that into an error instead of a
 * dead process: when the faulting address lies in one of our file
 * mappings, the page is replaced by a zero page (so the access that
 * faulted completes), the mapping is marked lost, and the reader's
 * next size check (vmie_src_check_size, and every capture read) fails
 * with "the file shrank".  Other SIGBUS go to the previous handler. */

#define GUARD_SLOTS 64

static struct {
	_Atomic(uintptr_t) lo, hi;     /* [lo, hi) of a live mapping */
	atomic_bool lost;
} guard[GUARD_SLOTS];
static atomic_ulong guard_lost_count;
static struct sigaction guard_prev;
static uintptr_t guard_pg = 4096;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t lo = atomic_load(&guard[i].lo);
		if (lo && a >= lo && a < atomic_load(&guard[i].hi)) {
			uintptr_t pg = a & ~(guard_pg - 1);
			/* mmap is a plain system call: safe in a handler */
			if (mmap((void *)pg, guard_pg, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0) == MAP_FAILED)
				break;
			atomic_store(&guard[i].lost, true);
			atomic_fetch_add(&guard_lost_count, 1);
			return;
		}
	}
	/* not ours: what would have happened without us */
	if (guard_prev.sa_flags & SA_SIGINFO && guard_prev.sa_sigaction) {
		guard_prev.sa_sigaction(sig, si, uc);
		return;
	}
	if (guard_prev.sa_handler != SIG_DFL &&
	    guard_prev.sa_handler != SIG_IGN) {
		guard_prev.sa_handler(sig);
		return;
	}
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void guard_install(void)
{
	struct sigaction sa;
	long pg = sysconf(_SC_PAGESIZE);
	if (pg > 0)
		guard_pg = (uintptr_t)pg;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &guard_prev);
}

/* Register [p, p+len); the slot, or -1 when all are taken (the caller
 * then does without the mapping). */
static int guard_add(void *p, size_t len)
{
	pthread_once(&guard_once, guard_install);
	for (int i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t zero = 0;
		if (atomic_compare_exchange_strong(&guard[i].lo, &zero,
						   (uintptr_t)1)) {
			atomic_store(&guard[i].lost, false);
			atomic_store(&guard[i].hi, (uintptr_t)p + len);
			atomic_store(&guard[i].lo, (uintptr_t)p);
			return i;
		}
	}
	return -1;
}

static void guard_remove(int i)
{
	if (i < 0)
		return;
	atomic_store(&guard[i].hi, (uintptr_t)0);
	atomic_store(&guard[i].lo, (uintptr_t)0);
}

unsigned long vmie_src_mappings_lost(void)
{
	return atomic_load(&guard_lost_count);
}

/* ---- zero-copy capture (see io.h) ---- */

/* madvise(MADV_POPULATE_READ): named here for older C libraries */
#define CAPTURE_POPULATE_READ 22

static __thread struct vmie_src_capture *capture_cur;

static int file_pread_copy(struct vmie_src *s, uint8_t *p, size_t len,
			   uint64_t off, struct vmie_err *err);

void vmie_src_capture_begin(struct vmie_src_capture *c, uint8_t *buf,
			    size_t len)
{
	c->buf = buf;
	c->len = len;
	c->src = NULL;
	c->n = 0;
	c->broken = false;
	capture_cur = c;
}

/* Do the recorded reads for real; read for real from now on. */
static int capture_flush(struct vmie_src_capture *c, struct vmie_err *err)
{
	int r = 0;
	for (size_t i = 0; i < c->n && !r; i++) {
		struct vmie_src_piece *q = &c->rec[i];
		if (q->data)
			r = file_pread_copy(c->src, c->buf + q->at, q->len,
					    q->foff, err);
		else
			memset(c->buf + q->at, 0, q->len);
	}
	c->n = 0;
	c->broken = true;
	return r;
}

/* Map the pages of [p, p+len) in one call rather than fault by fault
 * (MADV_POPULATE_READ, Linux 5.14; an older kernel refuses it and the
 * pages fault in as usual). */
static void capture_populate(const uint8_t *p, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(pg > 0 ? pg - 1 : 4095);
	madvise((void *)a, (uintptr_t)p + len - a, CAPTURE_POPULATE_READ);
}

uint8_t *vmie_src_capture_end(struct vmie_src_capture *c,
			      struct vmie_err *err)
{
	capture_cur = NULL;
	if (!c->broken && c->n == 1 && c->rec[0].at == 0 &&
	    c->rec[0].len == c->len && c->rec[0].data) {
		capture_populate(c->rec[0].data, c->len);
		return (uint8_t *)c->rec[0].data;
	}
	if (capture_flush(c, err))
		return NULL;
	return c->buf;
}

void vmie_src_capture_end_pieces(struct vmie_src_capture *c,
				 struct vmie_src_piece *out, size_t *n)
{
	size_t k = 0, at = 0;
	capture_cur = NULL;
	for (size_t i = 0; i < c->n; i++) {
		struct vmie_src_piece *q = &c->rec[i];
		if (q->at > at)        /* filled by the reader itself */
			out[k++] = (struct vmie_src_piece){ at, q->at - at,
							    c->buf + at, 0 };
		out[k++] = *q;
		if (q->data)
			capture_populate(q->data, q->len);
		at = q->at + q->len;
	}
	if (at < c->len || !k)
		out[k++] = (struct vmie_src_piece){ at, c->len - at,
						    c->buf + at, 0 };
	c->n = 0;
	*n = k;
}

/* Is the file at off a hole or data, and up to where?  Reading a hole
 * through a mapping allocates zeroed pages (tmpfs) where pread copies a
 * shared zero page, so holes are recorded as zeros, never mapped.
 * Returns the end of the run (> off); on an error, data up to the end. */
static uint64_t file_run(struct vmie_src *s, uint64_t off, bool *hole)
{
	struct file_src *f = s->priv;
	uint64_t end;
	unsigned i;
	/* SEEK_HOLE can walk the whole data run (tmpfs): remember the last
	 * runs found and ask again only outside them */
	pthread_mutex_lock(&f->map_lock);
	for (i = 0; i < FILE_RUNS; i++)
		if (off >= f->run[i].lo && off < f->run[i].hi)
			break;
	if (i == FILE_RUNS) {
		off_t h = lseek(f->fd, (off_t)off, SEEK_HOLE);
		bool is_hole = false;
		if (h < 0 || (uint64_t)h > s->size) {
			h = (off_t)s->size;
		} else if ((uint64_t)h == off) {
			off_t d = lseek(f->fd, (off_t)off, SEEK_DATA);
			struct stat st;
			is_hole = true;
			if (d < 0 || (uint64_t)d > s->size)
				h = (off_t)s->size;   /* ENXIO: hole to EOF */
			else
				h = d;
			/* a file cut short is not a hole: read it as data,
			 * and the read says it shrank */
			if (d < 0 && !fstat(f->fd, &st) &&
			    (uint64_t)st.st_size < s->size)
				is_hole = false;
		}
		if ((uint64_t)h <= off) {     /* changed under us: data */
			h = (off_t)s->size;
			is_hole = false;
		}
		i = f->run_next++ % FILE_RUNS;
		f->run[i].lo = off;
		f->run[i].hi = (uint64_t)h;
		f->run[i].hole = is_hole;
	}
	*hole = f->run[i].hole;
	end = f->run[i].hi;
	pthread_mutex_unlock(&f->map_lock);
	return end;
}

/* A pread of [p, p+len) inside the capture range: record it as pieces
 * (data / hole runs of the file), or read for real when it does not
 * follow the recorded ones in buf or there are too many. */
static int capture_read(struct vmie_src_capture *c, struct vmie_src *s,
			uint8_t *p, size_t len, uint64_t off,
			const uint8_t *map, struct vmie_err *err)
{
	size_t at = (size_t)(p - c->buf);
	struct vmie_src_piece *l = c->n ? &c->rec[c->n - 1] : NULL;
	if (l && (c->src != s || at < l->at + l->len)) {
		int r = capture_flush(c, err);
		return r ? r : file_pread_copy(s, p, len, off, err);
	}
	c->src = s;
	while (len) {
		bool hole;
		uint64_t end = file_run(s, off, &hole);
		size_t n = end - off < len ? (size_t)(end - off) : len;
		const uint8_t *d = hole ? NULL : map + off;
		l = c->n ? &c->rec[c->n - 1] : NULL;
		if (l && l->at + l->len == at && !d == !l->data &&
		    (!d || l->data + l->len == d)) {
			l->len += n;            /* continues the last piece */
		} else if (c->n == VMIE_CAPTURE_MAX) {
			int r = capture_flush(c, err);
			return r ? r : file_pread_copy(s, c->buf + at, len,
						       off, err);
		} else {
			c->rec[c->n++] = (struct vmie_src_piece){ at, n, d,
								  off };
		}
		at += n;
		off += n;
		len -= n;
	}
	return 0;
}

static uint8_t *file_map(struct vmie_src *s);
static int file_check_size(struct vmie_src *s, struct vmie_err *err);

static int file_pread(struct vmie_src *s, void *buf, size_t len, uint64_t off,
		      struct vmie_err *err)
{
	struct vmie_src_capture *c = capture_cur;
	uint8_t *p = buf;
	if (vmie_range_outside(off, len, s->size))
		return VMIE_CORRUPT(err, "%s: read of %zu bytes at offset %llu "
				    "is past the end of the file (%llu bytes): "
				    "truncated", s->name, len,
				    (unsigned long long)off,
				    (unsigned long long)s->size);
	uintptr_t at = (uintptr_t)p, lo = c ? (uintptr_t)c->buf : 0;
	if (c && !c->broken && len && at >= lo && at - lo <= c->len &&
	    len <= c->len - (at - lo)) {
		uint8_t *m = file_map(s);
		if (m) {
			int r = file_check_size(s, err);
			return r ? r : capture_read(c, s, p, len, off, m, err);
		}
	}
	return file_pread_copy(s, p, len, off, err);
}

static int file_pread_copy(struct vmie_src *s, uint8_t *p, size_t len,
			   uint64_t off, struct vmie_err *err)
{
	struct file_src *f = s->priv;
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return VMIE_ERR_SYS(err, "%s: read at offset %llu",
					    s->name, (unsigned long long)off);
		}
		if (n == 0)
			return VMIE_CORRUPT(err, "%s: unexpected end of file at "
					    "offset %llu (file shrank?)",
					    s->name, (unsigned long long)off);
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int file_extent(struct vmie_src *s, uint64_t off, uint64_t max_len,
		       uint64_t *pnum, bool *hole, struct vmie_err *err)
{
	struct file_src *f = s->priv;
	off_t d = lseek(f->fd, (off_t)off, SEEK_DATA);
	if (d < 0) {
		/* ENXIO: no data after off, or a file cut short since it
		 * was opened (its lost tail must not read as a hole);
		 * other errors: assume data */
		struct stat st;
		if (errno == ENXIO && !fstat(f->fd, &st) &&
		    (uint64_t)st.st_size < s->size)
			return VMIE_ERR(err, VMIE_ECORRUPT, "%s: the file "
					"shrank from %llu to %llu bytes while "
					"it was being read", s->name,
					(unsigned long long)s->size,
					(unsigned long long)st.st_size);
		*hole = errno == ENXIO;
		*pnum = max_len;
		return 0;
	}
	if ((uint64_t)d > off) {
		*hole = true;
		*pnum = vmie_min_u64((uint64_t)d - off, max_len);
		return 0;
	}
	off_t h = lseek(f->fd, (off_t)off, SEEK_HOLE);
	*hole = false;
	*pnum = h < 0 || (uint64_t)h <= off ? max_len
					    : vmie_min_u64((uint64_t)h - off, max_len);
	return 0;
}

/* Map a regular file once: private writable pages, no swap reservation
 * (nothing is written to them in practice), sequential read-ahead. */
static uint8_t *file_map(struct vmie_src *s)
{
	struct file_src *f = s->priv;
	pthread_mutex_lock(&f->map_lock);
	if (!f->map_tried && f->regular && s->size &&
	    s->size <= (uint64_t)SIZE_MAX) {
		void *p = mmap(NULL, (size_t)s->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_NORESERVE, f->fd, 0);
		if (p != MAP_FAILED) {
			f->guard = guard_add(p, (size_t)s->size);
			if (f->guard < 0) {
				munmap(p, (size_t)s->size);
			} else {
				madvise(p, (size_t)s->size, MADV_SEQUENTIAL);
				f->map = p;
			}
		}
	}
	f->map_tried = true;
	pthread_mutex_unlock(&f->map_lock);
	return f->map;
}

static int file_check_size(struct vmie_src *s, struct vmie_err *err)
{
	struct file_src *f = s->priv;
	struct stat st;
	if (!f->regular)
		return 0;
	if (f->map && atomic_load(&guard[f->guard].lost))
		return VMIE_CORRUPT(err, "%s: the file shrank while it was "
				    "being read (pages of it vanished)",
				    s->name);
	if (fstat(f->fd, &st) < 0)
		return VMIE_ERR_SYS(err, "%s: stat", s->name);
	if ((uint64_t)st.st_size < s->size)
		return VMIE_CORRUPT(err, "%s: the file shrank from %llu to %llu "
				    "bytes while it was being read", s->name,
				    (unsigned long long)s->size,
				    (unsigned long long)st.st_size);
	return 0;
}

static void file_close(struct vmie_src *s)
{
	struct file_src *f = s->priv;
	if (f) {
		if (f->map) {
			guard_remove(f->guard);
			munmap(f->map, (size_t)s->size);
		}
		pthread_mutex_destroy(&f->map_lock);
		close(f->fd);
		if (f->sib.free)
			f->sib.free(f->sib.ctx);
		free(f->dir);
		free(f);
	}
}

static int file_src_new(int fd, const struct stat *st, const char *path,
			const char *dir, const struct vmie_src_sibling *sib,
			struct vmie_src **out, struct vmie_err *err);

/* What a file that is not a regular file is, for messages. */
static const char *file_kind(mode_t m)
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

/* Is the resolved path p inside the resolved directory d? */
static bool path_inside(const char *p, const char *d)
{
	size_t n = strlen(d);
	if (n == 1 && d[0] == '/')
		return p[0] == '/';
	return !strncmp(p, d, n) && p[n] == '/';
}

/*
 * A file named inside an image (a VMDK extent): only a regular file in the
 * same directory, or a symbolic link there that resolves to a regular file
 * still inside that directory, is opened.  FIFOs, sockets, devices and
 * directories are refused before they are opened (opening a FIFO blocks
 * until a writer comes, opening a device can act on it), and the file is
 * opened without following a link and checked again after the open.
 */
static int file_open_sibling(struct vmie_src *s, const char *name,
			     struct vmie_src **out, struct vmie_err *err)
{
	struct file_src *f = s->priv;
	const int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
			   O_NOFOLLOW;
	struct stat lst, st;
	char *path = NULL, *rdir = NULL, *rpath = NULL;
	int dfd = -1, fd = -1, r;

	if (f->sib.open)
		return f->sib.open(f->sib.ctx, name, out, err);
	if (!f->dir)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: cannot open '%s' beside "
				"it: no directory to look in", s->name, name);
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strchr(name, '/'))
		return VMIE_ERR(err, VMIE_EPERM, "%s: '%s' is not a plain file "
				"name", s->name, name);
	size_t n = strlen(f->dir) + strlen(name) + 2;
	path = malloc(n);
	if (!path)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	snprintf(path, n, "%s/%s", f->dir, name);
	dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot open the directory", f->dir);
		goto out;
	}
	if (fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot open", path);
		goto out;
	}
	if (S_ISLNK(lst.st_mode)) {
		rdir = realpath(f->dir, NULL);
		rpath = realpath(path, NULL);
		if (!rdir || !rpath) {
			r = VMIE_ERR_SYS(err, "%s: cannot resolve the symbolic "
					 "link", path);
			goto out;
		}
		if (!path_inside(rpath, rdir)) {
			r = VMIE_ERR(err, VMIE_EPERM, "'%s' is a symbolic link "
				     "that leads outside the directory %s; only "
				     "files inside the image's directory are "
				     "read", name, f->dir);
			goto out;
		}
		if (stat(rpath, &st) < 0) {
			r = VMIE_ERR_SYS(err, "%s: cannot open", path);
			goto out;
		}
	} else {
		st = lst;
	}
	if (!S_ISREG(st.st_mode)) {
		r = VMIE_ERR(err, VMIE_EPERM, "'%s' is %s, not a regular "
			     "file; only regular files are read through names "
			     "found inside an image", name,
			     file_kind(st.st_mode));
		goto out;
	}
	/* the resolved path has no link left: O_NOFOLLOW catches a swap */
	fd = rpath ? open(rpath, oflags) : openat(dfd, name, oflags);
	if (fd < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot open", path);
		goto out;
	}
	struct stat fst;
	if (fstat(fd, &fst) < 0) {
		r = VMIE_ERR_SYS(err, "%s: stat", path);
		goto out;
	}
	if (!S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev ||
	    fst.st_ino != st.st_ino) {
		r = VMIE_ERR(err, VMIE_EPERM, "'%s' changed while it was "
			     "being opened", name);
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	r = file_src_new(fd, &fst, path, f->dir, NULL, out, err);
	fd = -1;      /* taken, or closed on failure */
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(path);
	free(rdir);
	free(rpath);
	return r;
}

static const struct vmie_src_ops file_ops = {
	.kind = "file",
	.pread = file_pread,
	.open_sibling = file_open_sibling,
	.extent = file_extent,
	.close = file_close,
	.map = file_map,
	.check_size = file_check_size,
};

/* The file source over fd (taken: closed on failure).  Siblings are
 * looked up by sib when given (dir unused; sib->open NULL: none; sib->ctx
 * is taken: freed on failure too), else in dir (NULL: path's
 * directory). */
static int file_src_new(int fd, const struct stat *st, const char *path,
			const char *dir, const struct vmie_src_sibling *sib,
			struct vmie_src **out, struct vmie_err *err)
{
	uint64_t size;
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			int r = VMIE_ERR_SYS(err, "%s: block device size", path);
			close(fd);
			if (sib && sib->free)
				sib->free(sib->ctx);
			return r;
		}
	} else if (S_ISREG(st->st_mode)) {
		size = (uint64_t)st->st_size;
	} else {
		close(fd);
		if (sib && sib->free)
			sib->free(sib->ctx);
		return VMIE_ERR(err, VMIE_EINVAL, "%s: %s, not a regular file "
				"or block device", path, file_kind(st->st_mode));
	}
	struct file_src *f = calloc(1, sizeof *f);
	struct vmie_src *s = src_alloc(&file_ops, path, size);
	char *d = NULL;
	bool need_dir = !sib;       /* else siblings by sib->open, or none */
	if (need_dir && dir) {
		d = strdup(dir);
	} else if (need_dir) {
		char *tmp = strdup(path);
		if (tmp)
			d = strdup(dirname(tmp));
		free(tmp);
	}
	if (!f || !s || (need_dir && !d)) {
		free(f);
		free(d);
		if (s) {
			free(s->name);
			free(s);
		}
		close(fd);
		if (sib && sib->free)
			sib->free(sib->ctx);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	f->fd = fd;
	f->dir = d;
	if (sib)
		f->sib = *sib;
	f->regular = S_ISREG(st->st_mode);
	f->dev = (uint64_t)st->st_dev;
	f->ino = (uint64_t)st->st_ino;
	pthread_mutex_init(&f->map_lock, NULL);
	s->priv = f;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*out = s;
	return 0;
}

/* A file the user named: a regular file or a block device.  Opened
 * without blocking (a FIFO is refused, not waited on). */
static int file_open_at(const char *path, const char *dir, struct vmie_src **out,
			struct vmie_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return VMIE_ERR_SYS(err, "%s: cannot open", path);
	if (fstat(fd, &st) < 0) {
		int r = VMIE_ERR_SYS(err, "%s: stat", path);
		close(fd);
		return r;
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return file_src_new(fd, &st, path, dir, NULL, out, err);
}

int vmie_src_open_fd(int fd, const char *name,
		     const struct vmie_src_sibling *sib, struct vmie_src **out,
		     struct vmie_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = VMIE_ERR_SYS(err, "%s: stat", name);
		close(fd);
		if (sib && sib->free)
			sib->free(sib->ctx);
		return r;
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	/* no directory to look in without sib: open_sibling says so */
	static const struct vmie_src_sibling none;
	return file_src_new(fd, &st, name, NULL, sib ? sib : &none, out, err);
}

bool vmie_src_file_id(const struct vmie_src *s, uint64_t *dev, uint64_t *ino)
{
	if (s->ops != &file_ops)
		return false;
	const struct file_src *f = s->priv;
	*dev = f->dev;
	*ino = f->ino;
	return true;
}

int vmie_src_open_file(const char *path, struct vmie_src **out,
		       struct vmie_err *err)
{
	return file_open_at(path, NULL, out, err);
}

/* ---- memory ---- */

struct mem_src {
	const uint8_t *buf;
	bool owned;
};

static int mem_pread(struct vmie_src *s, void *buf, size_t len, uint64_t off,
		     struct vmie_err *err)
{
	struct mem_src *m = s->priv;
	if (vmie_range_outside(off, len, s->size))
		return VMIE_CORRUPT(err, "%s: read of %zu bytes at offset %llu "
				    "is past the end (%llu bytes): truncated",
				    s->name, len, (unsigned long long)off,
				    (unsigned long long)s->size);
	memcpy(buf, m->buf + off, len);
	return 0;
}

static void mem_close(struct vmie_src *s)
{
	struct mem_src *m = s->priv;
	if (m && m->owned)
		free((void *)m->buf);
	free(m);
}

static const struct vmie_src_ops mem_ops = {
	.kind = "memory",
	.pread = mem_pread,
	.close = mem_close,
};

int vmie_src_open_mem(const void *buf, size_t len, bool take, const char *name,
		      struct vmie_src **out, struct vmie_err *err)
{
	struct mem_src *m = calloc(1, sizeof *m);
	struct vmie_src *s = src_alloc(&mem_ops, name ? name : "memory", len);
	if (!m || !s) {
		free(m);
		if (s) {
			free(s->name);
			free(s);
		}
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	m->buf = buf;
	m->owned = take;
	s->priv = m;
	*out = s;
	return 0;
}

/* ---- window ---- */

struct win_src {
	struct vmie_src *parent;
	uint64_t base;
};

static int win_pread(struct vmie_src *s, void *buf, size_t len, uint64_t off,
		     struct vmie_err *err)
{
	struct win_src *w = s->priv;
	if (vmie_range_outside(off, len, s->size))
		return VMIE_CORRUPT(err, "%s: read of %zu bytes at offset %llu "
				    "is past the end of the member (%llu bytes)",
				    s->name, len, (unsigned long long)off,
				    (unsigned long long)s->size);
	return vmie_src_pread(w->parent, buf, len, w->base + off, err);
}

static void win_close(struct vmie_src *s)
{
	struct win_src *w = s->priv;
	if (w)
		vmie_src_unref(w->parent);
	free(w);
}

static int win_extent(struct vmie_src *s, uint64_t off, uint64_t max_len,
		      uint64_t *pnum, bool *hole, struct vmie_err *err)
{
	struct win_src *w = s->priv;
	return vmie_src_extent(w->parent, w->base + off, max_len, pnum, hole,
			       err);
}

static uint8_t *win_map(struct vmie_src *s)
{
	struct win_src *w = s->priv;
	uint8_t *p = vmie_src_map(w->parent);
	return p ? p + w->base : NULL;
}

static int win_check_size(struct vmie_src *s, struct vmie_err *err)
{
	struct win_src *w = s->priv;
	return vmie_src_check_size(w->parent, err);
}

static const struct vmie_src_ops win_ops = {
	.kind = "tar-member",
	.pread = win_pread,
	.extent = win_extent,
	.close = win_close,
	.map = win_map,
	.check_size = win_check_size,
};

int vmie_src_open_window(struct vmie_src *parent, uint64_t off, uint64_t len,
			 const char *name, struct vmie_src **out,
			 struct vmie_err *err)
{
	if (vmie_range_outside(off, len, parent->size))
		return VMIE_CORRUPT(err, "%s: member '%s' (%llu bytes at offset "
				    "%llu) extends past the end of the file",
				    parent->name, name ? name : "?",
				    (unsigned long long)len,
				    (unsigned long long)off);
	struct win_src *w = calloc(1, sizeof *w);
	struct vmie_src *s = src_alloc(&win_ops, name, len);
	if (!w || !s) {
		free(w);
		if (s) {
			free(s->name);
			free(s);
		}
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	vmie_src_ref(parent);
	w->parent = parent;
	w->base = off;
	s->budget = parent->budget;
	vmie_budget_ref(s->budget);
	s->priv = w;
	*out = s;
	return 0;
}
