/*
 * OVA writer: a tar (POSIX ustar, pax headers where needed) holding
 *
 *   <vm>.ovf           OVF 1.0 descriptor (ovf_write.c), first
 *   <vm>-disk<N>.vmdk  one stream-optimized VMDK per disk
 *   <vm>.mf            SHA256 manifest of the two above (DSP0243 5.1)
 *
 * then two zero blocks.  The descriptor must come first but names the
 * VMDK sizes, known only at the end, so room for it is reserved up front
 * (its largest possible length) and the final text is padded with
 * trailing white space, which XML allows after the root element (VMware
 * does the same).  Each VMDK is produced by the VMDK driver's writer on a
 * window sink placed after its tar header; the header (size, checksum) is
 * written once the VMDK is finished.  The manifest digests are computed by
 * reading the members back from the sink.
 *
 * Two entry points: the "ova" driver's writer ops (one disk, driven by the
 * convert engine: each call forwards to the inner VMDK writer) and
 * vmie_ova_write() (several disks, each through vmie_convert_to_sink).
 */
#include "ova.h"
#include "ova_priv.h"
#include "tar.h"
#include "../core/checked.h"
#include "../core/util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define OVAW_HASH_CHUNK ((size_t)1 << 20)

struct ovaw_member {
	char *name;
	uint64_t hdr_off;
	size_t hdr_len;
	uint64_t data_off;
	uint64_t size;
	uint64_t capacity;        /* disks: virtual size */
	uint64_t populated;
};

/* Name a disk's window "<archive>/<member>": messages say where in the OVA
 * the error is, and the VMDK writer names its extent after the member
 * ("web-disk1.vmdk"), as VMware writes it, not after the archive. */
static int ovaw_name_window(struct vmie_sink *win, const struct vmie_sink *ova,
			    const struct ovaw_member *d, struct vmie_err *err)
{
	size_t n = strlen(ova->name ? ova->name : "") + strlen(d->name) + 2;
	char *name = malloc(n);
	if (!name)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	snprintf(name, n, "%s/%s", ova->name ? ova->name : "", d->name);
	free(win->name);
	win->name = name;
	return 0;
}

/* The archive being written. */
struct ovaw {
	struct vmie_sink *sink;
	uint64_t mtime;
	char *vm_name;
	struct ovfw meta;         /* descriptor facts (disks filled at end) */
	struct ovaw_member ovf;
	struct ovaw_member *disks;
	size_t n_disks;
	size_t next_disk;
	uint64_t pos;             /* next free offset */
};

static void ovaw_free(struct ovaw *a)
{
	free(a->vm_name);
	free(a->ovf.name);
	for (size_t i = 0; a->disks && i < a->n_disks; i++)
		free(a->disks[i].name);
	free(a->disks);
	memset(a, 0, sizeof *a);
}

/* VM name from the output file name: "/x/web01.ova" -> "web01". */
static char *ovaw_name_from_path(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (n > 4 && !strcasecmp(b + n - 4, ".ova"))
		n -= 4;
	if (!n)
		return strdup("vm");
	return strndup(b, n);
}

/* Is a name safe as a member name (no path, no control characters)? */
static int ovaw_check_name(const char *what, const char *s,
			   struct vmie_err *err)
{
	if (!*s || strchr(s, '/') || strchr(s, '\\') || !strcmp(s, "..") ||
	    strlen(s) > 200)
		return VMIE_ERR(err, VMIE_EINVAL, "ova: %s '%s' cannot be "
				"used as a file name in the OVA", what, s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return VMIE_ERR(err, VMIE_EINVAL, "ova: %s has control "
					"characters", what);
	return 0;
}

/* Lay out the descriptor slot and name the disks.  sizes[i] = virtual
 * size of disk i, names[i] = member name or NULL. */
static int ovaw_begin(struct ovaw *a, struct vmie_sink *sink,
		      const struct ovfw *meta, const uint64_t *sizes,
		      const char *const *names, size_t n, struct vmie_err *err)
{
	int r;
	memset(a, 0, sizeof *a);
	a->sink = sink;
	a->mtime = (uint64_t)time(NULL);
	if (!n || n > OVFW_MAX_DISKS)
		return VMIE_ERR(err, VMIE_EINVAL, "ova: %zu disks (1 to %d "
				"can be written)", n, OVFW_MAX_DISKS);
	a->vm_name = meta->vm_name ? strdup(meta->vm_name)
				   : ovaw_name_from_path(sink->name);
	a->disks = calloc(n, sizeof *a->disks);
	if (!a->vm_name || !a->disks)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	a->n_disks = n;
	if ((r = ovaw_check_name("VM name", a->vm_name, err)))
		return r;
	a->meta = *meta;
	a->meta.vm_name = a->vm_name;
	if (asprintf(&a->ovf.name, "%s.ovf", a->vm_name) < 0) {
		a->ovf.name = NULL;
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct ovaw_member *d = &a->disks[i];
		if (names && names[i]) {
			if ((r = ovaw_check_name("disk file name", names[i],
						 err)))
				return r;
			d->name = strdup(names[i]);
		} else if (asprintf(&d->name, "%s-disk%zu.vmdk", a->vm_name,
				    i + 1) < 0) {
			d->name = NULL;
		}
		if (!d->name)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(a->disks[k].name, d->name))
				return VMIE_ERR(err, VMIE_EINVAL, "ova: two "
						"disks named '%s'", d->name);
		d->capacity = sizes[i];
		d->size = UINT64_MAX;          /* for the worst case below */
		d->populated = UINT64_MAX;
	}
	/* The longest the descriptor can get: every number at 20 digits. */
	struct ovfw_disk *fd = calloc(n, sizeof *fd);
	if (!fd)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		fd[i].href = a->disks[i].name;
		fd[i].file_size = UINT64_MAX;
		fd[i].capacity = (uint64_t)-1 >> 1 | 1;   /* odd: "byte" */
		fd[i].populated = UINT64_MAX;
	}
	struct ovfw worst = a->meta;
	worst.disks = fd;
	worst.n_disks = n;
	size_t len;
	char *x = vmie_ovfw_build(&worst, &len);
	free(fd);
	if (!x)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	free(x);
	a->ovf.size = vmie_tar_pad(len + 64);
	a->ovf.hdr_off = 0;
	a->ovf.hdr_len = vmie_tar_header_len(a->ovf.name, a->ovf.size);
	a->ovf.data_off = a->ovf.hdr_len;
	a->pos = a->ovf.data_off + a->ovf.size;
	return 0;
}

/* Place the next disk: its header room and where its data starts. */
static struct ovaw_member *ovaw_next_disk(struct ovaw *a)
{
	struct ovaw_member *d = &a->disks[a->next_disk++];
	/* A stream-optimized VMDK of incompressible data is at most about
	 * 1% larger than the disk: reserve a pax header when the member can
	 * reach the 8 GiB ustar limit. */
	uint64_t worst = d->capacity + d->capacity / 64 + (16u << 20);
	d->hdr_off = a->pos;
	d->hdr_len = worst > TAR_USTAR_MAX_SIZE || d->capacity > worst ||
		     strlen(d->name) > TAR_LEN_NAME ? 3 * TAR_BLOCK
						    : TAR_BLOCK;
	d->data_off = d->hdr_off + d->hdr_len;
	d->size = 0;
	d->populated = 0;
	return d;
}

static int ovaw_zero_fill(struct vmie_sink *k, uint64_t off, uint64_t len,
			  struct vmie_err *err)
{
	static const uint8_t zero[2 * TAR_BLOCK];
	while (len) {
		size_t n = len < sizeof zero ? (size_t)len : sizeof zero;
		int r = vmie_sink_pwrite(k, zero, n, off, err);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

/* The disk's data is complete (size bytes): write its header and pad. */
static int ovaw_end_disk(struct ovaw *a, struct ovaw_member *d, uint64_t size,
			 struct vmie_err *err)
{
	uint8_t hdr[3 * TAR_BLOCK];
	int r;
	if (d->hdr_len == TAR_BLOCK && size > TAR_USTAR_MAX_SIZE)
		return VMIE_ERR(err, VMIE_ERANGE, "ova: VMDK of %llu bytes "
				"outgrew its tar header", (unsigned long long)
				size);
	d->size = size;
	r = vmie_tar_encode_header(hdr, d->hdr_len, d->name, size, a->mtime,
				   err);
	if (!r)
		r = vmie_sink_pwrite(a->sink, hdr, d->hdr_len, d->hdr_off, err);
	if (!r)
		r = ovaw_zero_fill(a->sink, d->data_off + size,
				   vmie_tar_pad(size) - size, err);
	a->pos = d->data_off + vmie_tar_pad(size);
	return r;
}

/* Digest a member by reading it back from the sink. */
static int ovaw_sha256(struct vmie_sink *k, uint64_t off, uint64_t len,
		       char hex[65], volatile int *cancel, struct vmie_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(OVAW_HASH_CHUNK), dig[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	int r = 0;
	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "cannot start SHA-256");
		goto out;
	}
	while (len) {
		size_t n = len < OVAW_HASH_CHUNK ? (size_t)len
						 : OVAW_HASH_CHUNK;
		if (cancel && *cancel) {
			r = VMIE_ERR(err, VMIE_EINTR, "interrupted");
			goto out;
		}
		r = vmie_sink_pread(k, buf, n, off, err);
		if (r)
			goto out;
		EVP_DigestUpdate(ctx, buf, n);
		off += n;
		len -= n;
	}
	EVP_DigestFinal_ex(ctx, dig, &dl);
	vmie_hex(hex, dig, dl);
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* All disks are written: the descriptor, the manifest, the end blocks. */
static int ovaw_finish(struct ovaw *a, volatile int *cancel,
		       struct vmie_err *err)
{
	struct ovfw_disk *fd = calloc(a->n_disks, sizeof *fd);
	char *x = NULL, *mf = NULL;
	size_t len, mf_len = 0, mf_cap;
	uint8_t hdr[3 * TAR_BLOCK];
	char hex[65];
	int r;
	if (!fd)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (size_t i = 0; i < a->n_disks; i++) {
		fd[i].href = a->disks[i].name;
		fd[i].file_size = a->disks[i].size;
		fd[i].capacity = a->disks[i].capacity;
		fd[i].populated = a->disks[i].populated;
	}
	a->meta.disks = fd;
	a->meta.n_disks = a->n_disks;
	x = vmie_ovfw_build(&a->meta, &len);
	if (!x) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (len >= a->ovf.size) {
		r = VMIE_ERR(err, VMIE_ERANGE, "ova: descriptor of %zu bytes "
			     "outgrew its room (%llu)", len,
			     (unsigned long long)a->ovf.size);
		goto out;
	}
	/* pad with spaces after the root element, end with a newline */
	char *full = realloc(x, (size_t)a->ovf.size);
	if (!full) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	x = full;
	memset(x + len, ' ', (size_t)a->ovf.size - len);
	x[a->ovf.size - 1] = '\n';
	r = vmie_tar_encode_header(hdr, a->ovf.hdr_len, a->ovf.name,
				   a->ovf.size, a->mtime, err);
	if (!r)
		r = vmie_sink_pwrite(a->sink, hdr, a->ovf.hdr_len, 0, err);
	if (!r)
		r = vmie_sink_pwrite(a->sink, x, (size_t)a->ovf.size,
				     a->ovf.data_off, err);
	if (r)
		goto out;

	/* the manifest: one SHA256 line per member */
	mf_cap = (a->n_disks + 1) * (strlen(a->vm_name) + 300);
	mf = malloc(mf_cap);
	if (!mf) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	r = ovaw_sha256(a->sink, a->ovf.data_off, a->ovf.size, hex, cancel,
			err);
	if (r)
		goto out;
	mf_len += (size_t)snprintf(mf + mf_len, mf_cap - mf_len,
				   "SHA256(%s)= %s\n", a->ovf.name, hex);
	for (size_t i = 0; i < a->n_disks; i++) {
		const struct ovaw_member *d = &a->disks[i];
		r = ovaw_sha256(a->sink, d->data_off, d->size, hex, cancel,
				err);
		if (r)
			goto out;
		mf_len += (size_t)snprintf(mf + mf_len, mf_cap - mf_len,
					   "SHA256(%s)= %s\n", d->name, hex);
	}
	char mf_name[256];
	snprintf(mf_name, sizeof mf_name, "%s.mf", a->vm_name);
	size_t mh = vmie_tar_header_len(mf_name, mf_len);
	r = vmie_tar_encode_header(hdr, mh, mf_name, mf_len, a->mtime, err);
	if (!r)
		r = vmie_sink_pwrite(a->sink, hdr, mh, a->pos, err);
	if (!r)
		r = vmie_sink_pwrite(a->sink, mf, mf_len, a->pos + mh, err);
	if (r)
		goto out;
	a->pos += mh + mf_len;
	/* pad the manifest, then the two end-of-archive blocks */
	r = ovaw_zero_fill(a->sink, a->pos,
			   vmie_tar_pad(a->pos) - a->pos + 2 * TAR_BLOCK, err);
	if (!r)
		r = vmie_sink_truncate(a->sink, vmie_tar_pad(a->pos) +
				       2 * TAR_BLOCK, err);
out:
	a->meta.disks = NULL;
	free(fd);
	free(x);
	free(mf);
	return r;
}

/* ---- the driver's writer: one disk, driven by the convert engine ---- */

struct ova_wstate {
	struct ovaw a;
	struct ovaw_member *d;
	struct vmie_sink *win;
	struct vmie_writer inner;
	bool inner_created;
	const char **kv;          /* options forwarded to the VMDK writer */
	volatile int *cancel;     /* the convert engine's cancel flag */
};

static void ova_w_free(struct vmie_writer *w)
{
	struct ova_wstate *s = w->priv;
	if (!s)
		return;
	if (s->inner_created && s->inner.ops->free)
		s->inner.ops->free(&s->inner);
	vmie_sink_free(s->win);
	ovaw_free(&s->a);
	free(s->kv);
	free(s);
	w->priv = NULL;
}

static int ova_w_create(struct vmie_writer *w, const struct vmie_create_opts *o,
			struct vmie_err *err)
{
	const struct vmie_image_driver *vmdk = vmie_image_driver_find("vmdk");
	struct ova_wstate *s;
	struct ovfw meta = { 0 };
	struct vmie_create_opts io;
	size_t nkv = 0;
	int r;
	bool so = false;
	if (!vmdk || !vmdk->writer)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ova: writing an OVA needs "
				"the VMDK writer, which is not available");
	for (size_t i = 0; vmdk->write_subformats &&
			   vmdk->write_subformats[i]; i++)
		so |= !strcasecmp(vmdk->write_subformats[i],
				  "streamOptimized");
	if (!so)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ova: the VMDK writer "
				"cannot write streamOptimized");
	s = calloc(1, sizeof *s);
	if (!s || !(s->kv = calloc(o->n_kv + 1, sizeof *s->kv))) {
		free(s);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	w->priv = s;
	s->cancel = o->cancel;
	/* our own -o keys; the rest go to the VMDK writer */
	for (size_t i = 0; i < o->n_kv; i++) {
		const char *kv = o->kv[i];
		if (!strncmp(kv, "vm_name=", 8))
			meta.vm_name = kv + 8;
		else if (!strncmp(kv, "os_id=", 6))
			meta.os_id = kv + 6;
		else if (!strncmp(kv, "os_type=", 8))
			meta.os_type = kv + 8;
		else if (!strncmp(kv, "firmware=", 9))
			meta.firmware = kv + 9;
		else
			s->kv[nkv++] = kv;
	}
	r = ovaw_begin(&s->a, w->sink, &meta, &w->size, NULL, 1, err);
	if (r)
		goto out;
	s->d = ovaw_next_disk(&s->a);
	r = vmie_sink_open_window(w->sink, s->d->data_off, &s->win, err);
	if (!r)
		r = ovaw_name_window(s->win, w->sink, s->d, err);
	if (r)
		goto out;
	s->inner.drv = vmdk;
	s->inner.ops = vmdk->writer;
	s->inner.sink = s->win;
	s->inner.size = w->size;
	s->inner.source_name = w->source_name;
	vmie_strlcpy(s->inner.subformat, "streamOptimized",
		     sizeof s->inner.subformat);
	io = *o;
	io.subformat = s->inner.subformat;
	io.kv = s->kv;
	io.n_kv = nkv;
	r = s->inner.ops->create(&s->inner, &io, err);
	if (r)
		goto out;
	s->inner_created = true;
	w->granule = s->inner.granule;
out:
	if (r)
		ova_w_free(w);
	return r;
}

static int ova_w_encode(struct vmie_writer *w, struct vmie_chunk *c,
			struct vmie_err *err)
{
	struct ova_wstate *s = w->priv;
	if (!s->inner.ops->encode)
		return 0;
	return s->inner.ops->encode(&s->inner, c, err);
}

static int ova_w_write(struct vmie_writer *w, struct vmie_chunk *c,
		       struct vmie_err *err)
{
	struct ova_wstate *s = w->priv;
	s->d->populated += c->len;
	return s->inner.ops->write(&s->inner, c, err);
}

static void ova_w_discard(struct vmie_writer *w, struct vmie_chunk *c)
{
	struct ova_wstate *s = w->priv;
	if (s->inner.ops->discard)
		s->inner.ops->discard(&s->inner, c);
}

static int ova_w_finish(struct vmie_writer *w, struct vmie_err *err)
{
	struct ova_wstate *s = w->priv;
	int r = s->inner.ops->finish(&s->inner, err);
	if (!r && s->inner.populated)
		s->d->populated = s->inner.populated;
	if (!r)
		r = ovaw_end_disk(&s->a, s->d, s->win->written_end, err);
	if (!r)
		r = ovaw_finish(&s->a, s->cancel, err);
	return r;
}

const struct vmie_writer_ops vmie_ova_writer_ops = {
	.create = ova_w_create,
	.encode = ova_w_encode,
	.write = ova_w_write,
	.discard = ova_w_discard,
	.finish = ova_w_finish,
	.free = ova_w_free,
};

/* ---- a whole VM ---- */

int vmie_ova_write_to_sink(struct vmie_sink *sink,
			   const struct vmie_ova_write_opts *o,
			   struct vmie_err *err)
{
	const struct vmie_image_driver *vmdk = vmie_image_driver_find("vmdk");
	struct ovaw a = { 0 };
	struct ovfw meta = { 0 };
	uint64_t *sizes = NULL;
	const char **names = NULL;
	int r;
	if (!vmdk || !vmdk->writer)
		return VMIE_ERR(err, VMIE_EUNSUPP, "ova: writing an OVA needs "
				"the VMDK writer, which is not available");
	if (!o->n_disks || !o->disks)
		return VMIE_ERR(err, VMIE_EINVAL, "ova: no disks to write");
	sizes = calloc(o->n_disks, sizeof *sizes);
	names = calloc(o->n_disks, sizeof *names);
	if (!sizes || !names) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o->n_disks; i++) {
		sizes[i] = o->disks[i].img->size;
		names[i] = o->disks[i].file_name;
	}
	meta.vm_name = o->vm_name;
	meta.os_id = o->os_id;
	meta.os_type = o->os_type;
	meta.os_description = o->os_description;
	meta.firmware = o->firmware;
	meta.vcpus = o->vcpus;
	meta.memory = o->memory;
	meta.n_nics = o->n_nics;
	r = ovaw_begin(&a, sink, &meta, sizes, names, o->n_disks, err);
	if (r)
		goto out;
	for (size_t i = 0; i < o->n_disks; i++) {
		struct ovaw_member *d = ovaw_next_disk(&a);
		struct vmie_sink *win = NULL;
		struct vmie_convert_opts co = { 0 };
		struct vmie_convert_stats st;
		co.format = "vmdk";
		co.subformat = "streamOptimized";
		co.threads = o->threads;
		co.progress = o->progress;
		co.progress_ctx = o->progress_ctx;
		co.cancel = o->cancel;
		r = vmie_sink_open_window(sink, d->data_off, &win, err);
		if (!r)
			r = ovaw_name_window(win, sink, d, err);
		if (r) {
			vmie_sink_free(win);
			goto out;
		}
		r = vmie_convert_to_sink(o->disks[i].img, win, &co, &st, err);
		uint64_t size = win->written_end;
		vmie_sink_free(win);
		if (r) {
			vmie_err_prefix(err, "ova: disk %zu", i);
			goto out;
		}
		d->populated = st.populated ? st.populated : st.bytes_read;
		r = ovaw_end_disk(&a, d, size, err);
		if (r)
			goto out;
	}
	r = ovaw_finish(&a, o->cancel, err);
out:
	ovaw_free(&a);
	free(sizes);
	free(names);
	return r;
}

int vmie_ova_write(const char *path, const struct vmie_ova_write_opts *o,
		   struct vmie_err *err)
{
	struct vmie_sink *sink = NULL;
	int r = vmie_sink_open_file(path, o->sink_flags, &sink, err);
	if (!r)
		r = vmie_ova_write_to_sink(sink, o, err);
	if (!r)
		r = vmie_sink_commit(sink, err);
	vmie_sink_free(sink);
	return r;
}
