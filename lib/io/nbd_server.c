/*
 * The NBD server of nbd_server.h.  Wire format (proto.md, all integers
 * big-endian):
 *
 *   handshake, server -> client
 *     0  8  "NBDMAGIC"
 *     8  8  "IHAVEOPT"
 *    16  2  handshake flags: FIXED_NEWSTYLE | NO_ZEROES
 *   client -> server: 4 bytes of client flags, then options:
 *     0  8  "IHAVEOPT"   8  4  option   12  4  length   16  data
 *   option reply, server -> client:
 *     0  8  0x0003e889045565a9   8  4  option   12  4  reply type
 *    16  4  length   20  data
 *   NBD_OPT_EXPORT_NAME has no reply header: size (8), transmission
 *   flags (2), then 124 zero bytes unless the client said NO_ZEROES.
 *
 *   request, client -> server (28 bytes, then the data of a WRITE)
 *     0  4  0x25609513   4  2  command flags   6  2  type
 *     8  8  cookie      16  8  offset         24  4  length
 *   simple reply, server -> client (16 bytes, then the data of a READ)
 *     0  4  0x67446698   4  4  error (an errno of the protocol's list)
 *     8  8  cookie
 *
 * A connection that breaks the protocol (bad magic, an option or a
 * request over the limits) is closed: the client, qemu, only ever sends
 * what it negotiated.
 */
#include "io/nbd_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "image/image.h"

#define NBD_MAGIC               0x4e42444d41474943ull   /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC          0x49484156454f5054ull   /* "IHAVEOPT" */
#define NBD_REP_MAGIC           0x0003e889045565a9ull
#define NBD_REQUEST_MAGIC       0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC  0x67446698u

#define NBD_FLAG_FIXED_NEWSTYLE 1u
#define NBD_FLAG_NO_ZEROES      2u

#define NBD_OPT_EXPORT_NAME     1u
#define NBD_OPT_ABORT           2u
#define NBD_OPT_LIST            3u
#define NBD_OPT_INFO            6u
#define NBD_OPT_GO              7u

#define NBD_REP_ACK             1u
#define NBD_REP_SERVER          2u
#define NBD_REP_INFO            3u
#define NBD_REP_ERR_UNSUP       (0x80000000u | 1)
#define NBD_REP_ERR_INVALID     (0x80000000u | 3)
#define NBD_REP_ERR_UNKNOWN     (0x80000000u | 6)

#define NBD_INFO_EXPORT         0u
#define NBD_INFO_BLOCK_SIZE     3u

#define NBD_TFLAG_HAS_FLAGS     (1u << 0)
#define NBD_TFLAG_READ_ONLY     (1u << 1)
#define NBD_TFLAG_SEND_FLUSH    (1u << 2)
#define NBD_TFLAG_SEND_FUA      (1u << 3)
#define NBD_TFLAG_SEND_TRIM     (1u << 5)
#define NBD_TFLAG_SEND_WZEROES  (1u << 6)
#define NBD_TFLAG_MULTI_CONN    (1u << 8)

#define NBD_CMD_READ            0u
#define NBD_CMD_WRITE           1u
#define NBD_CMD_DISC            2u
#define NBD_CMD_FLUSH           3u
#define NBD_CMD_TRIM            4u
#define NBD_CMD_WRITE_ZEROES    6u

#define NBD_EPERM               1u
#define NBD_EIO                 5u
#define NBD_ENOMEM              12u
#define NBD_EINVAL              22u
#define NBD_ENOSPC              28u

#define NBD_MAX_OPTION          4096u
#define NBD_MAX_OPTIONS         64      /* options before giving up */
#define NBD_ZERO_CHUNK          (1u << 20)

struct nbd_conn {
	struct vmie_nbd_server *s;
	int fd;
	pthread_t thread;
	bool done;                  /* the thread has returned */
	struct nbd_conn *next;
};

struct nbd_export {
	char name[256];
	struct vmie_image *img;
	bool readonly;
};

struct vmie_nbd_server {
	char dir[64];
	char path[108];
	int lfd;
	int stop_pipe[2];
	pthread_t accept_thread;
	bool accepting;
	pthread_mutex_t lock;       /* conns */
	struct nbd_conn *conns;
	unsigned n_exports;
	struct nbd_export *exports;
};

/* ---- bytes on the socket ---- */

static int nbd_read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int nbd_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- the handshake ---- */

static int nbd_opt_reply(int fd, uint32_t opt, uint32_t type,
			 const void *data, uint32_t len)
{
	uint8_t h[20];
	put64(h, NBD_REP_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	if (nbd_write_all(fd, h, sizeof h))
		return -1;
	return len ? nbd_write_all(fd, data, len) : 0;
}

static const struct nbd_export *nbd_find(const struct vmie_nbd_server *s,
					 const char *name)
{
	if (s->n_exports == 1)
		return &s->exports[0];
	for (unsigned i = 0; i < s->n_exports; i++)
		if (!strcmp(s->exports[i].name, name))
			return &s->exports[i];
	return NULL;
}

static uint16_t nbd_tflags(const struct nbd_export *x)
{
	uint16_t f = NBD_TFLAG_HAS_FLAGS | NBD_TFLAG_SEND_FLUSH |
		     NBD_TFLAG_SEND_FUA | NBD_TFLAG_MULTI_CONN;
	if (x->readonly)
		f |= NBD_TFLAG_READ_ONLY;
	else
		f |= NBD_TFLAG_SEND_TRIM | NBD_TFLAG_SEND_WZEROES;
	return f;
}

/* NBD_OPT_INFO / NBD_OPT_GO: data is name length (4), name, the number
 * of information requests (2) and the requests (2 each), which we may
 * ignore: NBD_INFO_EXPORT is always sent, and a block size too. */
static int nbd_opt_go(struct vmie_nbd_server *s, int fd, uint32_t opt,
		      const uint8_t *d, uint32_t len,
		      const struct nbd_export **chosen)
{
	char name[256];
	uint8_t info[18];
	*chosen = NULL;
	if (len < 6)
		return nbd_opt_reply(fd, opt, NBD_REP_ERR_INVALID, NULL, 0);
	uint32_t nl = get32(d);
	if (nl > len - 6 || nl >= sizeof name)
		return nbd_opt_reply(fd, opt, NBD_REP_ERR_INVALID, NULL, 0);
	uint16_t nreq = get16(d + 4 + nl);
	if (6 + nl + 2ull * nreq != len)
		return nbd_opt_reply(fd, opt, NBD_REP_ERR_INVALID, NULL, 0);
	memcpy(name, d + 4, nl);
	name[nl] = 0;
	const struct nbd_export *x = nbd_find(s, name);
	if (!x)
		return nbd_opt_reply(fd, opt, NBD_REP_ERR_UNKNOWN, NULL, 0);
	put16(info, NBD_INFO_EXPORT);
	put64(info + 2, x->img->size);
	put16(info + 10, nbd_tflags(x));
	if (nbd_opt_reply(fd, opt, NBD_REP_INFO, info, 12))
		return -1;
	/* any alignment works (vmie_image_pread takes bytes); 4 KiB is
	 * what file systems prefer */
	put16(info, NBD_INFO_BLOCK_SIZE);
	put32(info + 2, 1);
	put32(info + 6, 4096);
	put32(info + 10, VMIE_NBD_MAX_REQUEST);
	if (nbd_opt_reply(fd, opt, NBD_REP_INFO, info, 14) ||
	    nbd_opt_reply(fd, opt, NBD_REP_ACK, NULL, 0))
		return -1;
	if (opt == NBD_OPT_GO)
		*chosen = x;
	return 0;
}

/* The handshake: the export the client chose, or NULL (disconnect). */
static const struct nbd_export *nbd_handshake(struct vmie_nbd_server *s,
					      int fd)
{
	uint8_t h[18], cf[4], oh[16];
	uint8_t *data = malloc(NBD_MAX_OPTION + 1);
	const struct nbd_export *x = NULL;

	if (!data)
		return NULL;
	put64(h, NBD_MAGIC);
	put64(h + 8, NBD_OPTS_MAGIC);
	put16(h + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (nbd_write_all(fd, h, sizeof h) || nbd_read_all(fd, cf, 4))
		goto out;
	bool no_zeroes = get32(cf) & NBD_FLAG_NO_ZEROES;
	for (int k = 0; k < NBD_MAX_OPTIONS; k++) {
		if (nbd_read_all(fd, oh, sizeof oh) ||
		    get64(oh) != NBD_OPTS_MAGIC)
			goto out;
		uint32_t opt = get32(oh + 8), len = get32(oh + 12);
		if (len > NBD_MAX_OPTION || nbd_read_all(fd, data, len))
			goto out;
		data[len] = 0;
		switch (opt) {
		case NBD_OPT_EXPORT_NAME: {
			uint8_t r[10 + 124] = { 0 };
			if (memchr(data, 0, len) || !(x = nbd_find(s,
							(char *)data)))
				goto out;
			put64(r, x->img->size);
			put16(r + 8, nbd_tflags(x));
			if (nbd_write_all(fd, r, no_zeroes ? 10 : sizeof r))
				x = NULL;
			goto out;
		}
		case NBD_OPT_ABORT:
			nbd_opt_reply(fd, opt, NBD_REP_ACK, NULL, 0);
			goto out;
		case NBD_OPT_LIST:
			for (unsigned i = 0; i < s->n_exports; i++) {
				uint8_t r[4 + 256];
				uint32_t nl = (uint32_t)strlen(
					s->exports[i].name);
				put32(r, nl);
				memcpy(r + 4, s->exports[i].name, nl);
				if (nbd_opt_reply(fd, opt, NBD_REP_SERVER, r,
						  4 + nl))
					goto out;
			}
			if (nbd_opt_reply(fd, opt, NBD_REP_ACK, NULL, 0))
				goto out;
			break;
		case NBD_OPT_INFO:
		case NBD_OPT_GO:
			if (nbd_opt_go(s, fd, opt, data, len, &x))
				goto out;
			if (x)
				goto out;
			break;
		default:
			if (nbd_opt_reply(fd, opt, NBD_REP_ERR_UNSUP, NULL, 0))
				goto out;
		}
	}
out:
	free(data);
	return x;
}

/* ---- transmission ---- */

static uint32_t nbd_errno(int code)
{
	switch (code) {
	case VMIE_ENOMEM: return NBD_ENOMEM;
	case VMIE_ERANGE:
	case VMIE_EINVAL: return NBD_EINVAL;
	case VMIE_ELIMIT: return NBD_ENOSPC;
	default: return NBD_EIO;
	}
}

static int nbd_zero(struct vmie_image *img, uint64_t off, uint32_t len,
		    struct vmie_err *e)
{
	static const uint8_t zeros[NBD_ZERO_CHUNK];
	while (len) {
		uint32_t n = len < NBD_ZERO_CHUNK ? len : NBD_ZERO_CHUNK;
		int r = vmie_image_pwrite(img, zeros, n, off, e);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static void nbd_transmission(int fd, const struct nbd_export *x)
{
	uint8_t q[28], r[16];
	uint8_t *buf = malloc(VMIE_NBD_MAX_REQUEST);

	if (!buf)
		return;
	for (;;) {
		struct vmie_err e = { 0 };
		uint32_t error = 0;
		size_t out_len = 0;

		if (nbd_read_all(fd, q, sizeof q) ||
		    get32(q) != NBD_REQUEST_MAGIC)
			break;
		uint16_t type = get16(q + 6);
		uint64_t off = get64(q + 16);
		uint32_t len = get32(q + 24);
		bool inside = off <= x->img->size &&
			      len <= x->img->size - off;

		if (type == NBD_CMD_DISC)
			break;
		if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) &&
		    len > VMIE_NBD_MAX_REQUEST)
			break;  /* cannot even skip a write's data safely */
		if (type == NBD_CMD_WRITE && nbd_read_all(fd, buf, len))
			break;
		switch (type) {
		case NBD_CMD_READ:
			if (!inside)
				error = NBD_EINVAL;
			else if (vmie_image_pread(x->img, buf, len, off, &e))
				error = nbd_errno(e.code);
			else
				out_len = len;
			break;
		case NBD_CMD_WRITE:
		case NBD_CMD_TRIM:
		case NBD_CMD_WRITE_ZEROES:
			if (x->readonly)
				error = NBD_EPERM;
			else if (!inside)
				error = NBD_ENOSPC;
			else if (type == NBD_CMD_WRITE ?
				 vmie_image_pwrite(x->img, buf, len, off, &e) :
				 nbd_zero(x->img, off, len, &e))
				error = nbd_errno(e.code);
			break;
		case NBD_CMD_FLUSH:
			break;  /* writes are in the overlay already */
		default:
			error = NBD_EINVAL;
		}
		put32(r, NBD_SIMPLE_REPLY_MAGIC);
		put32(r + 4, error);
		memcpy(r + 8, q + 8, 8);
		if (nbd_write_all(fd, r, sizeof r) ||
		    (out_len && nbd_write_all(fd, buf, out_len)))
			break;
	}
	free(buf);
}

static void *nbd_conn_main(void *arg)
{
	struct nbd_conn *c = arg;
	const struct nbd_export *x = nbd_handshake(c->s, c->fd);
	if (x)
		nbd_transmission(c->fd, x);
	shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_lock(&c->s->lock);
	c->done = true;
	pthread_mutex_unlock(&c->s->lock);
	return NULL;
}

/* Join and free the connections that have ended (lock held). */
static void nbd_reap(struct vmie_nbd_server *s, bool all)
{
	struct nbd_conn **pp = &s->conns;
	while (*pp) {
		struct nbd_conn *c = *pp;
		if (!c->done && !all) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		if (!c->done)
			shutdown(c->fd, SHUT_RDWR);
		pthread_mutex_unlock(&s->lock);
		pthread_join(c->thread, NULL);
		pthread_mutex_lock(&s->lock);
		close(c->fd);
		free(c);
	}
}

static void *nbd_accept_main(void *arg)
{
	struct vmie_nbd_server *s = arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->lfd, .events = POLLIN },
				       { .fd = s->stop_pipe[0],
					 .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct nbd_conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->lock);
		nbd_reap(s, false);
		if (pthread_create(&c->thread, NULL, nbd_conn_main, c)) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		s->conns = c;
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int vmie_nbd_start(const struct vmie_nbd_export *ex, unsigned n,
		   struct vmie_nbd_server **out, struct vmie_err *err)
{
	struct vmie_nbd_server *s;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");
	int r;

	*out = NULL;
	if (!n)
		return VMIE_ERR(err, VMIE_EINVAL, "nbd: nothing to serve");
	if (!tmp || !tmp[0] || strlen(tmp) > 40)
		tmp = "/tmp";   /* a socket path has at most 107 bytes */
	if (!(s = calloc(1, sizeof *s)) ||
	    !(s->exports = calloc(n, sizeof *s->exports))) {
		free(s);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	s->lfd = -1;
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->n_exports = n;
	for (unsigned i = 0; i < n; i++) {
		vmie_strlcpy(s->exports[i].name, ex[i].name ? ex[i].name : "",
			     sizeof s->exports[0].name);
		s->exports[i].img = ex[i].img;
		s->exports[i].readonly = ex[i].readonly;
	}
	snprintf(s->dir, sizeof s->dir, "%s/vmie-nbd.XXXXXX", tmp);
	if (!mkdtemp(s->dir)) {
		r = VMIE_ERR_SYS(err, "nbd: cannot make a directory in %s",
				 tmp);
		s->dir[0] = 0;
		goto fail;
	}
	snprintf(s->path, sizeof s->path, "%s/sock", s->dir);
	vmie_strlcpy(sa.sun_path, s->path, sizeof sa.sun_path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) ||
	    listen(s->lfd, 16)) {
		r = VMIE_ERR_SYS(err, "nbd: cannot listen on %s", s->path);
		goto fail;
	}
	if (pipe2(s->stop_pipe, O_CLOEXEC)) {
		r = VMIE_ERR_SYS(err, "nbd: pipe");
		goto fail;
	}
	if (pthread_create(&s->accept_thread, NULL, nbd_accept_main, s)) {
		r = VMIE_ERR(err, VMIE_EIO, "nbd: cannot start a thread");
		goto fail;
	}
	s->accepting = true;
	*out = s;
	return 0;
fail:
	vmie_nbd_stop(s);
	return r;
}

const char *vmie_nbd_socket(const struct vmie_nbd_server *s)
{
	return s ? s->path : NULL;
}

void vmie_nbd_stop(struct vmie_nbd_server *s)
{
	if (!s)
		return;
	if (s->accepting) {
		ssize_t w;
		do
			w = write(s->stop_pipe[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(s->accept_thread, NULL);
	}
	pthread_mutex_lock(&s->lock);
	nbd_reap(s, true);
	pthread_mutex_unlock(&s->lock);
	if (s->lfd >= 0)
		close(s->lfd);
	for (int i = 0; i < 2; i++)
		if (s->stop_pipe[i] >= 0)
			close(s->stop_pipe[i]);
	if (s->path[0])
		unlink(s->path);
	if (s->dir[0])
		rmdir(s->dir);
	pthread_mutex_destroy(&s->lock);
	free(s->exports);
	free(s);
}
