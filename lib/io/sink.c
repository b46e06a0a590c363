/* Byte sinks: a file published atomically on commit, a memory buffer and a
 * window onto another sink.  See io.h for the contract. */
#include "io.h"
#include "../core/err.h"
#include "../core/checked.h"
#include "../core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int vmie_sink_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	uint64_t end;
	if (vmie_add_u64(off, len, &end))
		return VMIE_ERR(err, VMIE_ERANGE, "%s: write offset overflow",
				k->name);
	int r = k->ops->pwrite(k, buf, len, off, err);
	if (r)
		return r;
	/* atomic maximum: worker threads may write at once */
	uint64_t cur = __atomic_load_n(&k->written_end, __ATOMIC_RELAXED);
	while (end > cur &&
	       !__atomic_compare_exchange_n(&k->written_end, &cur, end, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return 0;
}

bool vmie_sink_parallel(struct vmie_sink *k)
{
	return k->ops->parallel && k->ops->parallel(k);
}

int vmie_sink_pwrite_nonzero(struct vmie_sink *k, const void *data,
			     size_t len, uint64_t off, size_t piece,
			     struct vmie_err *err)
{
	const uint8_t *p = data;
	size_t i = 0;
	/* pieces are aligned to the sink's offsets: the first one ends on
	 * the first multiple of piece after off */
	size_t first = piece - (size_t)(off & (piece - 1));
	while (i < len) {
		size_t n = i ? (len - i < piece ? len - i : piece) :
			   (len < first ? len : first);
		if (vmie_is_zero(p + i, n)) {
			i += n;
			continue;
		}
		size_t start = i;
		for (i += n; i < len; i += n) {
			n = len - i < piece ? len - i : piece;
			if (vmie_is_zero(p + i, n))
				break;
		}
		int r = vmie_sink_pwrite(k, p + start, i - start, off + start,
					 err);
		if (r)
			return r;
	}
	return 0;
}

int vmie_sink_truncate(struct vmie_sink *k, uint64_t len, struct vmie_err *err)
{
	int r = k->ops->truncate(k, len, err);
	if (!r)
		k->written_end = len;
	return r;
}

int vmie_sink_pread(struct vmie_sink *k, void *buf, size_t len, uint64_t off,
		    struct vmie_err *err)
{
	if (!k->ops->pread)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: sink cannot be read back",
				k->name);
	return k->ops->pread(k, buf, len, off, err);
}

int vmie_sink_commit(struct vmie_sink *k, struct vmie_err *err)
{
	int r = k->ops->commit ? k->ops->commit(k, err) : 0;
	if (!r)
		k->committed = true;
	return r;
}

void vmie_sink_abort(struct vmie_sink *k)
{
	if (k && k->ops->abort)
		k->ops->abort(k);
}

void vmie_sink_free(struct vmie_sink *k)
{
	if (!k)
		return;
	if (!k->committed)
		vmie_sink_abort(k);
	if (k->ops->free)
		k->ops->free(k);
	free(k->name);
	free(k);
}

/* ---- file ---- */

#define MAX_TEMPS 64
/* Temp names of open file sinks, for vmie_sink_cleanup_all() from a signal
 * handler.  Fixed array of fixed strings: no allocation in the handler.
 * Each name is relative to its directory fd (AT_FDCWD for a path). */
static char temp_names[MAX_TEMPS][4096];
static int temp_dirs[MAX_TEMPS];
static volatile int temp_used[MAX_TEMPS];
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;

struct file_sink {
	int fd;
	int dfd;             /* directory of tmp and path: AT_FDCWD, or owned */
	int slot;            /* index in temp_names, or -1 */
	char *tmp;           /* temporary path (relative to dfd) */
	char *path;          /* final path (relative to dfd) */
	unsigned flags;
	bool aborted;
};

static int temp_register(int dfd, const char *tmp)
{
	int slot = -1;
	pthread_mutex_lock(&temp_lock);
	for (int i = 0; i < MAX_TEMPS; i++)
		if (!temp_used[i] && strlen(tmp) < sizeof temp_names[i]) {
			strcpy(temp_names[i], tmp);
			temp_dirs[i] = dfd;
			temp_used[i] = 1;
			slot = i;
			break;
		}
	pthread_mutex_unlock(&temp_lock);
	return slot;
}

static void temp_unregister(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&temp_lock);
	temp_used[slot] = 0;
	pthread_mutex_unlock(&temp_lock);
}

void vmie_sink_cleanup_all(void)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temp_used[i])
			unlinkat(temp_dirs[i], temp_names[i], 0);
}

static int file_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		       uint64_t off, struct vmie_err *err)
{
	struct file_sink *f = k->priv;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* the data came from a mapped input file that was
			 * cut short after its size was checked */
			if (errno == EFAULT)
				return VMIE_CORRUPT(err, "%s: write at offset "
						    "%llu: an input file shrank "
						    "while it was being read",
						    k->name,
						    (unsigned long long)off);
			return VMIE_ERR_SYS(err, "%s: write at offset %llu",
					    k->name, (unsigned long long)off);
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int file_sink_pread(struct vmie_sink *k, void *buf, size_t len,
			   uint64_t off, struct vmie_err *err)
{
	struct file_sink *f = k->priv;
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return VMIE_ERR_SYS(err, "%s: read back at offset %llu",
					    k->name, (unsigned long long)off);
		}
		if (n == 0) {     /* past the end: zeros */
			memset(p, 0, len);
			break;
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int file_truncate(struct vmie_sink *k, uint64_t len, struct vmie_err *err)
{
	struct file_sink *f = k->priv;
	if (ftruncate(f->fd, (off_t)len) < 0)
		return VMIE_ERR_SYS(err, "%s: set length to %llu", k->name,
				    (unsigned long long)len);
	return 0;
}

static int file_commit(struct vmie_sink *k, struct vmie_err *err)
{
	struct file_sink *f = k->priv;
	if (!(f->flags & VMIE_SINK_NOSYNC) && fdatasync(f->fd) < 0)
		return VMIE_ERR_SYS(err, "%s: flush to disk", k->name);
	if (!(f->flags & VMIE_SINK_OVERWRITE)) {
		/* link() fails if the destination appeared meanwhile */
		if (linkat(f->dfd, f->tmp, f->dfd, f->path, 0) < 0)
			return VMIE_ERR_SYS(err, "%s: publish", k->name);
		unlinkat(f->dfd, f->tmp, 0);
	} else if (renameat(f->dfd, f->tmp, f->dfd, f->path) < 0) {
		return VMIE_ERR_SYS(err, "%s: rename into place", k->name);
	}
	temp_unregister(f->slot);
	f->slot = -1;
	return 0;
}

static void file_abort(struct vmie_sink *k)
{
	struct file_sink *f = k->priv;
	if (f->aborted || k->committed)
		return;
	unlinkat(f->dfd, f->tmp, 0);
	temp_unregister(f->slot);
	f->slot = -1;
	f->aborted = true;
}

static void file_free(struct vmie_sink *k)
{
	struct file_sink *f = k->priv;
	if (f->fd >= 0)
		close(f->fd);
	if (f->dfd >= 0)
		close(f->dfd);
	free(f->tmp);
	free(f->path);
	free(f);
}

static bool file_parallel(struct vmie_sink *k)
{
	(void)k;
	return true;     /* pwrite(2) at disjoint offsets */
}

static const struct vmie_sink_ops file_sink_ops = {
	.parallel = file_parallel,
	.pwrite = file_pwrite,
	.truncate = file_truncate,
	.pread = file_sink_pread,
	.commit = file_commit,
	.abort = file_abort,
	.free = file_free,
};

int vmie_sink_open_file(const char *path, unsigned flags,
			struct vmie_sink **out, struct vmie_err *err)
{
	struct stat st;
	if (!(flags & VMIE_SINK_OVERWRITE) && lstat(path, &st) == 0)
		return VMIE_ERR(err, VMIE_EEXIST,
				"%s: already exists (use --force to replace it)",
				path);
	char *c1 = strdup(path), *c2 = strdup(path);
	struct vmie_sink *k = calloc(1, sizeof *k);
	struct file_sink *f = calloc(1, sizeof *f);
	int r;
	if (!c1 || !c2 || !k || !f)
		goto nomem;
	const char *dir = dirname(c1), *base = basename(c2);
	size_t n = strlen(dir) + strlen(base) + 32;
	f->tmp = malloc(n);
	f->path = strdup(path);
	k->name = strdup(path);
	if (!f->tmp || !f->path || !k->name)
		goto nomem;
	snprintf(f->tmp, n, "%s/.%s.vmie-XXXXXX", dir, base);
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot create a temporary file in %s",
				 path, dir);
		goto fail;
	}
	fchmod(f->fd, 0644);
	f->dfd = AT_FDCWD;
	f->slot = temp_register(f->dfd, f->tmp);
	f->flags = flags;
	k->ops = &file_sink_ops;
	k->priv = f;
	free(c1);
	free(c2);
	*out = k;
	return 0;
nomem:
	r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
fail:
	free(c1);
	free(c2);
	if (f) {
		free(f->tmp);
		free(f->path);
	}
	free(f);
	if (k)
		free(k->name);
	free(k);
	return r;
}

/* mkostemp(3) in a directory fd: the last six X of tmp replaced by
 * random letters and digits until an unused name is created. */
static int temp_create_at(int dfd, char *tmp)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(tmp);
	char *x = tmp + n - 6;
	for (int attempt = 0; attempt < 100; attempt++) {
		uint8_t rnd[6];
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			return -1;
		for (int i = 0; i < 6; i++)
			x[i] = set[rnd[i] % (sizeof set - 1)];
		int fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL |
				O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int vmie_sink_open_at(int dirfd, const char *name, const char *display,
		      unsigned flags, struct vmie_sink **out,
		      struct vmie_err *err)
{
	struct stat st;
	const char *shown = display ? display : name;
	if (!*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return VMIE_ERR(err, VMIE_EINVAL, "%s: '%s' is not a plain file "
				"name", shown, name);
	if (!(flags & VMIE_SINK_OVERWRITE) &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return VMIE_ERR(err, VMIE_EEXIST, "%s: already exists", shown);
	struct vmie_sink *k = calloc(1, sizeof *k);
	struct file_sink *f = calloc(1, sizeof *f);
	int r;
	if (!k || !f)
		goto nomem;
	f->fd = -1;
	f->dfd = -1;
	size_t n = strlen(name) + 16;
	f->tmp = malloc(n);
	f->path = strdup(name);
	k->name = strdup(shown);
	if (!f->tmp || !f->path || !k->name)
		goto nomem;
	snprintf(f->tmp, n, ".%s.vmie-XXXXXX", name);
	f->dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (f->dfd < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot hold its directory", shown);
		goto fail;
	}
	f->fd = temp_create_at(f->dfd, f->tmp);
	if (f->fd < 0) {
		r = VMIE_ERR_SYS(err, "%s: cannot create a temporary file "
				 "beside it", shown);
		goto fail;
	}
	fchmod(f->fd, 0644);
	f->slot = temp_register(f->dfd, f->tmp);
	f->flags = flags;
	k->ops = &file_sink_ops;
	k->priv = f;
	*out = k;
	return 0;
nomem:
	r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
fail:
	if (f) {
		if (f->dfd >= 0)
			close(f->dfd);
		free(f->tmp);
		free(f->path);
	}
	free(f);
	if (k)
		free(k->name);
	free(k);
	return r;
}

/* ---- memory ---- */

struct mem_sink {
	uint8_t *buf;
	size_t len, cap;
};

static int mem_grow(struct vmie_sink *k, uint64_t need, struct vmie_err *err)
{
	struct mem_sink *m = k->priv;
	if (need > (uint64_t)1 << 34)
		return VMIE_ERR(err, VMIE_ENOMEM, "%s: memory sink over 16 GiB",
				k->name);
	if (need > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *b = realloc(m->buf, cap);
		if (!b)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		memset(b + m->cap, 0, cap - m->cap);
		m->buf = b;
		m->cap = cap;
	}
	return 0;
}

static int mem_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	struct mem_sink *m = k->priv;
	int r = mem_grow(k, off + len, err);
	if (r)
		return r;
	memcpy(m->buf + off, buf, len);
	if (off + len > m->len)
		m->len = off + len;
	return 0;
}

static int mem_truncate(struct vmie_sink *k, uint64_t len, struct vmie_err *err)
{
	struct mem_sink *m = k->priv;
	int r = mem_grow(k, len, err);
	if (r)
		return r;
	if (len < m->len)
		memset(m->buf + len, 0, m->len - len);
	m->len = len;
	return 0;
}

static int mem_sink_pread(struct vmie_sink *k, void *buf, size_t len,
			  uint64_t off, struct vmie_err *err)
{
	struct mem_sink *m = k->priv;
	(void)err;
	memset(buf, 0, len);
	if (off < m->len)
		memcpy(buf, m->buf + off, off + len <= m->len ? len : m->len - off);
	return 0;
}

static void mem_free(struct vmie_sink *k)
{
	struct mem_sink *m = k->priv;
	free(m->buf);
	free(m);
}

static const struct vmie_sink_ops mem_sink_ops = {
	.pwrite = mem_pwrite,
	.truncate = mem_truncate,
	.pread = mem_sink_pread,
	.free = mem_free,
};

int vmie_sink_open_mem(struct vmie_sink **out, struct vmie_err *err)
{
	struct vmie_sink *k = calloc(1, sizeof *k);
	struct mem_sink *m = calloc(1, sizeof *m);
	if (!k || !m || !(k->name = strdup("memory"))) {
		free(k);
		free(m);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	k->ops = &mem_sink_ops;
	k->priv = m;
	k->committed = true;  /* nothing to publish or remove */
	*out = k;
	return 0;
}

const uint8_t *vmie_sink_mem_data(struct vmie_sink *k, size_t *len)
{
	struct mem_sink *m = k->priv;
	*len = m->len;
	return m->buf;
}

/* ---- window ---- */

struct win_sink {
	struct vmie_sink *parent;
	uint64_t base;
};

static int win_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	struct win_sink *w = k->priv;
	return vmie_sink_pwrite(w->parent, buf, len, w->base + off, err);
}

static int win_truncate(struct vmie_sink *k, uint64_t len, struct vmie_err *err)
{
	/* Only growing is meaningful inside a parent; shrinking is ignored
	 * because later members may follow. */
	struct win_sink *w = k->priv;
	if (w->base + len > w->parent->written_end)
		return vmie_sink_truncate(w->parent, w->base + len, err);
	return 0;
}

static int win_sink_pread(struct vmie_sink *k, void *buf, size_t len,
			  uint64_t off, struct vmie_err *err)
{
	struct win_sink *w = k->priv;
	return vmie_sink_pread(w->parent, buf, len, w->base + off, err);
}

static bool win_parallel(struct vmie_sink *k)
{
	struct win_sink *w = k->priv;
	return vmie_sink_parallel(w->parent);
}

static void win_free(struct vmie_sink *k)
{
	free(k->priv);
}

static const struct vmie_sink_ops win_sink_ops = {
	.parallel = win_parallel,
	.pwrite = win_pwrite,
	.truncate = win_truncate,
	.pread = win_sink_pread,
	.free = win_free,
};

int vmie_sink_open_window(struct vmie_sink *parent, uint64_t base,
			  struct vmie_sink **out, struct vmie_err *err)
{
	struct vmie_sink *k = calloc(1, sizeof *k);
	struct win_sink *w = calloc(1, sizeof *w);
	if (!k || !w || !(k->name = strdup(parent->name))) {
		free(k);
		free(w);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	w->parent = parent;
	w->base = base;
	k->ops = &win_sink_ops;
	k->priv = w;
	k->committed = true;
	*out = k;
	return 0;
}
