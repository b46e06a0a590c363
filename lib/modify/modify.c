/*
 * The guest changes of an import: which files, which editor, where the
 * original is kept, the journal (modify.h).  The editors (edit_*.c) only
 * transform text; the backends (guest_*.c) only read and write files;
 * this file decides.  The Windows changes are registry values, not text:
 * windows.c makes them, through the helpers of modify_int.h (notes, the
 * diff, kept names, the journal).
 *
 * Paths of the guest are mapped to a file system by the guest's fstab as
 * inspection read it: a path under a mount point (/boot) is on the file
 * system mounted there, the rest on the root.  Files are found by fixed
 * names and by listing a few directories (interfaces.d, network-scripts,
 * system-connections, netplan, loader/entries), at most
 * MODIFY_MAX_DIR_FILES per directory and MODIFY_MAX_FILE bytes per file:
 * a guest with more is changed as far as those limits go and a note says
 * so.
 */
#include "modify/modify.h"
#include "modify/edit.h"
#include "modify/guest.h"
#include "modify/modify_int.h"
#include "core/err.h"
#include "core/util.h"
#include "inspect/inspect.h"
#include "inspect/insp_int.h"
#include "part/part.h"
#include "rules/policy.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODIFY_MAX_FILE       (4u << 20)
#define MODIFY_MAX_DIR_FILES  256
#define MODIFY_MAX_FS         8
#define MODIFY_MAX_DISKS      26      /* what the appliance is given */
#define MODIFY_MAX_MOUNTS     16
#define MODIFY_MAX_DRIVERS    16

struct mod_fs {
	unsigned fsi;               /* inspection fs index */
	char mount[160];            /* "/" or "/boot" */
	struct vmie_guest *g;       /* opened lazily; NULL when not writable */
	bool tried;
};

struct mod {
	const struct vmie_inspection *in;
	const struct vmie_insp_os *os;
	const struct vmie_modify_opts *o;
	struct vmie_modify_result *res;
	unsigned cap;
	struct mod_fs fs[MODIFY_MAX_FS];
	unsigned n_fs;
	int failed;                 /* the first error that must fail the task */
	struct vmie_err err;
	/* the libguestfs appliance (XFS, Btrfs, JFS, the initramfs): one
	 * for the whole run, started when first needed */
	struct vmie_gfs *gfs;
	bool gfs_tried;
	struct vmie_err gfs_err;
	/* PREP-015: the modules the default kernel's initramfs needs added
	 * (found while the root is open, added after it is closed) */
	char initrd_add[MODIFY_MAX_DRIVERS][48];
	unsigned n_initrd_add;
};

const struct vmie_modify_opts *vmie_mod_opts(struct mod *m)
{
	return m->o;
}

static void mod_vnote(struct mod *m, const char *fmt, va_list ap)
{
	if (m->res->n_notes >= VMIE_MODIFY_MAX_NOTES)
		return;
	vsnprintf(m->res->notes[m->res->n_notes++], sizeof m->res->notes[0],
		  fmt, ap);
}

static void mod_note(struct mod *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mod_note(struct mod *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mod_vnote(m, fmt, ap);
	va_end(ap);
}

void vmie_mod_note(struct mod *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mod_vnote(m, fmt, ap);
	va_end(ap);
}

void vmie_mod_diff(struct mod *m, const char *path, const char *a,
		   size_t alen, const char *b, size_t blen)
{
	if (m->o->diff)
		vmie_diff_append(&m->res->diff, &m->res->diff_len, path, a,
				 alen, b, blen);
}

static void sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		out[0] = 0;
		return;
	}
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- which file system a guest path is on ---- */

static int fs_index(const struct vmie_inspection *in, const char *device)
{
	for (unsigned i = 0; i < in->n_fs; i++)
		if (!strcmp(in->fs[i].device, device))
			return (int)i;
	return -1;
}

static void mod_add_fs(struct mod *m, const char *device, const char *mount)
{
	int i = fs_index(m->in, device);
	if (i < 0 || m->n_fs >= MODIFY_MAX_FS)
		return;
	for (unsigned k = 0; k < m->n_fs; k++)
		if (!strcmp(m->fs[k].mount, mount))
			return;
	m->fs[m->n_fs].fsi = (unsigned)i;
	vmie_strlcpy(m->fs[m->n_fs].mount, mount, sizeof m->fs[0].mount);
	m->n_fs++;
}

/* The whole disks for the appliance: the option's, else the top-level
 * image under the kept device of a file system of each disk (the
 * overlay the inspection read). */
static void mod_disks(struct mod *m, struct vmie_image **disks, unsigned n)
{
	if (m->o->disks) {
		for (unsigned d = 0; d < n && d < m->o->n_disks; d++)
			disks[d] = m->o->disks[d];
		return;
	}
	for (unsigned i = 0; i < m->in->n_fs; i++) {
		const struct vmie_insp_fs *f = &m->in->fs[i];
		struct vmie_image *dev = vmie_inspection_device(m->in, i);
		struct vmie_layout l = { 0 };
		struct vmie_err e = { 0 };
		if (f->disk < 0 || (unsigned)f->disk >= n || disks[f->disk] ||
		    !dev || vmie_image_layout(dev, &l, &e))
			continue;
		/* the layout names the image, read-only; it is the overlay
		 * the inspection was given, which takes writes */
		disks[f->disk] = (struct vmie_image *)l.start_disk;
		vmie_layout_free(&l);
	}
}

struct vmie_image *vmie_mod_disk(struct mod *m, int disk)
{
	struct vmie_image *disks[MODIFY_MAX_DISKS] = { 0 };
	unsigned n = m->in->n_disks;
	if (n > MODIFY_MAX_DISKS)
		n = MODIFY_MAX_DISKS;
	if (disk < 0 || (unsigned)disk >= n)
		return NULL;
	mod_disks(m, disks, n);
	return disks[disk];
}

/* The appliance, started on first use; NULL when it cannot start
 * (m->gfs_err says why). */
static struct vmie_gfs *mod_gfs(struct mod *m)
{
	struct vmie_image *disks[MODIFY_MAX_DISKS] = { 0 };
	unsigned n = m->in->n_disks;

	if (m->gfs_tried)
		return m->gfs;
	m->gfs_tried = true;
	if (n > MODIFY_MAX_DISKS)
		n = MODIFY_MAX_DISKS;
	mod_disks(m, disks, n);
	if (vmie_gfs_open(disks, n, &m->gfs, &m->gfs_err))
		m->gfs = NULL;
	return m->gfs;
}

struct vmie_gfs *vmie_mod_gfs(struct mod *m, struct vmie_err *why)
{
	struct vmie_gfs *s = mod_gfs(m);
	if (!s && why)
		*why = m->gfs_err;
	return s;
}

static void mod_fail(struct mod *m, const struct vmie_err *e)
{
	if (!m->failed) {
		m->failed = e->code ? e->code : VMIE_EIO;
		m->err = *e;
	}
}

/* The Btrfs subvolume the guest mounts at mount, or "". */
static const char *mod_subvol(struct mod *m, const char *mount)
{
	if (!strcmp(mount, "/"))
		return m->os->root_subvolume;
	for (unsigned k = 0; k < m->os->n_fstab; k++)
		if (!strcmp(m->os->fstab[k].mountpoint, mount))
			return m->os->fstab[k].subvolume;
	return "";
}

/* The appliance's device of inspection fs entry i. */
static int mod_gfs_dev(struct mod *m, unsigned i, char *out, size_t size,
		       struct vmie_err *e)
{
	const struct vmie_insp_fs *f = &m->in->fs[i];
	if (f->alias_of[0]) {
		int a = fs_index(m->in, f->alias_of);
		if (a >= 0)
			f = &m->in->fs[a];
	}
	return vmie_gfs_device(m->gfs, f->disk, f->partition,
			       f->lv[0] ? f->lv : NULL, out, size, e);
}

/* XFS, Btrfs, JFS: through the appliance; failing the task when there
 * is none (the guest would boot unchanged otherwise). */
static void mod_open_gfs(struct mod *m, struct mod_fs *fs)
{
	const struct vmie_insp_fs *f = &m->in->fs[fs->fsi];
	struct vmie_err e = { 0 };
	char dev[64];

	if (!mod_gfs(m)) {
		e = m->gfs_err;
		vmie_err_prefix(&e, "%s (%s, %s): cannot be changed", f->device,
				fs->mount, f->probe.type);
		mod_fail(m, &e);
		return;
	}
	if (mod_gfs_dev(m, fs->fsi, dev, sizeof dev, &e) ||
	    vmie_guest_open_gfs(m->gfs, dev, mod_subvol(m, fs->mount),
				f->device, &fs->g, &e)) {
		vmie_err_prefix(&e, "%s (%s)", f->device, fs->mount);
		mod_fail(m, &e);
	}
}

/* The file system whose mount point holds path, opened or not. */
static struct mod_fs *mod_match(struct mod *m, const char *path,
				size_t *mlen)
{
	struct mod_fs *best = NULL;
	size_t blen = 0;
	for (unsigned k = 0; k < m->n_fs; k++) {
		const char *mp = m->fs[k].mount;
		size_t n = strlen(mp);
		if (!strcmp(mp, "/"))
			n = 0;
		else if (strncmp(path, mp, n) || (path[n] && path[n] != '/'))
			continue;
		if (!best || n > blen) {
			best = &m->fs[k];
			blen = n;
		}
	}
	*mlen = blen;
	return best;
}

/* The file system holding path, and the path inside it (rel, 256). */
static struct mod_fs *mod_where(struct mod *m, const char *path, char *rel,
				size_t size)
{
	size_t blen = 0;
	struct mod_fs *best = mod_match(m, path, &blen);
	if (!best)
		return NULL;
	snprintf(rel, size, "%s", path[blen] ? path + blen : "/");
	if (!best->tried) {
		struct vmie_err e = { 0 };
		const struct vmie_insp_fs *f = &m->in->fs[best->fsi];
		struct vmie_image *dev = vmie_inspection_device(m->in,
								best->fsi);
		best->tried = true;
		const char *t = f->probe.type;
		if (!dev) {
			mod_note(m, "%s: no device to write through", f->device);
		} else if (!strcmp(t, "ext2") || !strcmp(t, "ext3") ||
			   !strcmp(t, "ext4")) {
			if (vmie_guest_open_ext(dev, f->device, &best->g, &e)) {
				if (!m->failed) {
					m->failed = e.code ? e.code : VMIE_EIO;
					m->err = e;
				}
			}
		} else if (!strcmp(t, "xfs") || !strcmp(t, "btrfs") ||
			   !strcmp(t, "jfs")) {
			mod_open_gfs(m, best);
		} else {
			mod_note(m, "%s (%s, %s): not changed: vmie changes "
				 "ext2/3/4 itself and XFS, Btrfs and JFS "
				 "through libguestfs", f->device, best->mount,
				 t);
		}
	}
	return best->g ? best : NULL;
}

/* ---- one change ---- */

static struct vmie_change *mod_new_change(struct mod *m)
{
	struct vmie_modify_result *r = m->res;
	if (r->n == m->cap) {
		unsigned nc = m->cap ? m->cap * 2 : 16;
		void *a = realloc(r->changes, nc * sizeof *r->changes);
		if (!a)
			return NULL;
		r->changes = a;
		m->cap = nc;
	}
	struct vmie_change *c = &r->changes[r->n++];
	memset(c, 0, sizeof *c);
	return c;
}

/* A free kept name for rel: "<rel>.vmie-orig", then ".vmie-orig.2"... */
int vmie_mod_kept_name(struct vmie_guest *g, const char *rel, char *out,
		       size_t size)
{
	for (int k = 1; k <= 99; k++) {
		struct vmie_guest_stat st;
		struct vmie_err e = { 0 };
		if (k == 1)
			snprintf(out, size, "%s.vmie-orig", rel);
		else
			snprintf(out, size, "%s.vmie-orig.%d", rel, k);
		if (strlen(out) + 1 >= size)
			return -1;
		if (!vmie_guest_stat(g, out, &st, &e) && !st.exists)
			return 0;
	}
	return -1;
}

/* The guest path of name, a path inside the file system that holds
 * path (whose path inside it is rel): the mount point + name. */
static void join_path(char *out, size_t size, const char *path,
		      const char *rel, const char *name)
{
	size_t mp = strlen(path) - strlen(rel);
	if (mp >= size)
		mp = size - 1;
	memcpy(out, path, mp);
	vmie_strlcpy(out + mp, name, size - mp);
}

static void join_notes(const struct vmie_edit *ed, char *out, size_t size)
{
	size_t n = 0;
	out[0] = 0;
	for (unsigned i = 0; i < ed->n_notes && n + 4 < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "; " : "",
				      ed->notes[i].what);
	if (ed->n_changes > ed->n_notes && n + 32 < size)
		snprintf(out + n, size - n, "; and %u more",
			 ed->n_changes - ed->n_notes);
}

int vmie_mod_record(struct mod *m, const char *device, const char *path,
		    const char *rule, const char *what, const char *kept_as,
		    const void *before, size_t blen, const void *after,
		    size_t alen)
{
	struct vmie_change *c = mod_new_change(m);
	if (!c)
		return VMIE_ENOMEM;
	vmie_strlcpy(c->device, device, sizeof c->device);
	vmie_strlcpy(c->path, path, sizeof c->path);
	vmie_strlcpy(c->rule, rule, sizeof c->rule);
	vmie_strlcpy(c->what, what, sizeof c->what);
	vmie_strlcpy(c->kept_as, kept_as ? kept_as : "", sizeof c->kept_as);
	if (before)             /* NULL: the file was created */
		sha256_hex(before, blen, c->sha256_before);
	if (after)
		sha256_hex(after, alen, c->sha256_after);
	return 0;
}

/* Apply an edit of path (whose old content is old/olen): keep the
 * original, write the new text, journal it (and diff it). */
static void mod_apply(struct mod *m, struct mod_fs *f, const char *path,
		      const char *rel, const char *old, size_t olen,
		      const struct vmie_edit *ed, const char *rule,
		      const char *new_rel)
{
	struct vmie_err e = { 0 };
	char kept[300], where[256], kept_as[256], what[480];

	if (!ed->text || m->failed)
		return;
	if (m->o->diff)
		vmie_diff_append(&m->res->diff, &m->res->diff_len, path, old,
				 olen, ed->text, ed->len);
	if (vmie_mod_kept_name(f->g, rel, kept, sizeof kept)) {
		m->failed = VMIE_EEXIST;
		VMIE_ERR(&m->err, VMIE_EEXIST, "%s: %s: no free name to keep "
			 "the original under", m->in->fs[f->fsi].device, path);
		return;
	}
	bool moves = new_rel && strcmp(new_rel, rel);
	/* in place: the original copied to its kept name, the file
	 * rewritten (same inode, owner, mode); a file that moves
	 * (ifcfg-ens192 -> ifcfg-eth0): the new one written, the old one
	 * renamed to its kept name */
	if (moves ? vmie_guest_write(f->g, new_rel, ed->text, ed->len, 0644,
				     &e) ||
		    vmie_guest_rename(f->g, rel, kept, &e)
		  : vmie_guest_copy(f->g, rel, kept, &e) ||
		    vmie_guest_write(f->g, rel, ed->text, ed->len, 0644, &e)) {
		m->failed = e.code ? e.code : VMIE_EIO;
		m->err = e;
		return;
	}
	if (moves)
		join_path(where, sizeof where, path, rel, new_rel);
	else
		vmie_strlcpy(where, path, sizeof where);
	join_notes(ed, what, sizeof what);
	join_path(kept_as, sizeof kept_as, path, rel, kept);
	if (vmie_mod_record(m, m->in->fs[f->fsi].device, where, rule, what,
			    kept_as, old, olen, ed->text, ed->len)) {
		m->failed = VMIE_ENOMEM;
		VMIE_ERR(&m->err, VMIE_ENOMEM, "out of memory");
	}
}

/* Read a guest file; 0 and *buf (NULL when absent or not regular). */
static int mod_read(struct mod *m, const char *path, struct mod_fs **fout,
		    char *rel, size_t rsize, char **buf, size_t *len)
{
	struct vmie_guest_stat st;
	struct vmie_err e = { 0 };
	struct mod_fs *f = mod_where(m, path, rel, rsize);

	*buf = NULL;
	*len = 0;
	*fout = f;
	if (!f)
		return 0;
	if (vmie_guest_stat(f->g, rel, &st, &e) || !st.exists || !st.is_reg)
		return 0;
	if (st.size > MODIFY_MAX_FILE) {
		mod_note(m, "%s: %llu bytes, over the %u vmie edits: left "
			 "as it is", path, (unsigned long long)st.size,
			 MODIFY_MAX_FILE);
		return 0;
	}
	if (vmie_guest_read(f->g, rel, MODIFY_MAX_FILE, buf, len, &e)) {
		mod_note(m, "%s: cannot be read: %s", path, e.msg);
		*buf = NULL;
		return 0;
	}
	return 0;
}

/* ---- the resolver: a device name of the guest -> UUID= ---- */

static bool mod_resolve(void *ctx, const char *spec, char *out, size_t size)
{
	struct mod *m = ctx;
	const struct vmie_insp_os *os = m->os;
	bool stable = false;

	if (vmie_insp_spec_kind(spec, &stable) != VMIE_SPEC_DEVICE || stable)
		return false;
	/* the guest's own fstab, as inspection resolved it */
	for (unsigned k = 0; k < os->n_fstab; k++) {
		const struct vmie_insp_fstab *t = &os->fstab[k];
		int i;
		if (strcmp(t->spec, spec) || !t->resolves_to[0])
			continue;
		i = fs_index(m->in, t->resolves_to);
		if (i >= 0 && m->in->fs[i].probe.uuid[0]) {
			snprintf(out, size, "UUID=%s", m->in->fs[i].probe.uuid);
			return true;
		}
	}
	/* a kernel name not in fstab (root= of GRUB): by disk and partition,
	 * the guest's first disk being the root's */
	int disk, part;
	if (!vmie_insp_parse_devname(spec, &disk, &part))
		return false;
	int root = fs_index(m->in, os->root_device);
	int rdisk = root >= 0 ? m->in->fs[root].disk : 0;
	int want = disk == 0 ? rdisk : disk <= rdisk ? disk - 1 : disk;
	for (unsigned i = 0; i < m->in->n_fs; i++) {
		const struct vmie_insp_fs *f = &m->in->fs[i];
		if (f->disk == want && f->partition == part && f->probe.uuid[0]) {
			snprintf(out, size, "UUID=%s", f->probe.uuid);
			return true;
		}
	}
	return false;
}

/* ---- the files ---- */

static void mod_fstab(struct mod *m)
{
	struct mod_fs *f;
	char rel[300], *buf;
	size_t len;
	struct vmie_edit ed = { 0 };

	mod_read(m, "/etc/fstab", &f, rel, sizeof rel, &buf, &len);
	if (!buf)
		return;
	if (vmie_edit_fstab(buf, len, mod_resolve, m, &ed) == 0)
		mod_apply(m, f, "/etc/fstab", rel, buf, len, &ed, "PREP-013",
			  NULL);
	vmie_edit_free(&ed);
	free(buf);
}

struct dir_list {
	char names[MODIFY_MAX_DIR_FILES][128];
	unsigned n;
	bool more;
};

static int dir_cb(void *ctx, const char *name, bool is_dir)
{
	struct dir_list *l = ctx;
	if (is_dir || name[0] == '.' || strlen(name) >= sizeof l->names[0])
		return 0;
	if (strstr(name, ".vmie-orig"))
		return 0;       /* our own kept originals */
	if (l->n >= MODIFY_MAX_DIR_FILES) {
		l->more = true;
		return 1;
	}
	vmie_strlcpy(l->names[l->n++], name, sizeof l->names[0]);
	return 0;
}

static struct dir_list *mod_list(struct mod *m, const char *dir)
{
	char rel[300];
	struct vmie_err e = { 0 };
	struct mod_fs *f = mod_where(m, dir, rel, sizeof rel);
	struct vmie_guest_stat st;
	struct dir_list *l;

	if (!f || vmie_guest_stat(f->g, rel, &st, &e) || !st.exists ||
	    !st.is_dir)
		return NULL;
	if (!(l = calloc(1, sizeof *l)))
		return NULL;
	vmie_guest_readdir(f->g, rel, dir_cb, l, &e);
	if (l->more)
		mod_note(m, "%s: more than %d files: only the first ones "
			 "were looked at", dir, MODIFY_MAX_DIR_FILES);
	return l;
}

enum net_kind { NET_IFUPDOWN, NET_IFCFG, NET_IFCFG_SUSE, NET_NM, NET_NETPLAN };

static void mod_net_file(struct mod *m, const char *path, enum net_kind k)
{
	struct mod_fs *f;
	char rel[300], *buf, new_name[64] = "";
	size_t len;
	struct vmie_edit ed = { 0 };
	int r = -1;

	mod_read(m, path, &f, rel, sizeof rel, &buf, &len);
	if (!buf)
		return;
	switch (k) {
	case NET_IFUPDOWN: r = vmie_edit_interfaces(buf, len, &ed); break;
	case NET_IFCFG: r = vmie_edit_ifcfg(buf, len, false, &ed, new_name); break;
	case NET_IFCFG_SUSE: r = vmie_edit_ifcfg(buf, len, true, &ed, new_name); break;
	case NET_NM: r = vmie_edit_nmconnection(buf, len, &ed); break;
	case NET_NETPLAN: r = vmie_edit_netplan(buf, len, &ed); break;
	}
	if (!r) {
		char new_rel[300] = "";
		const char *slash = strrchr(rel, '/');
		if (new_name[0] && slash && strcmp(slash + 1, new_name)) {
			struct vmie_guest_stat st;
			struct vmie_err e = { 0 };
			snprintf(new_rel, sizeof new_rel, "%.*s%s",
				 (int)(slash + 1 - rel), rel, new_name);
			/* do not overwrite an ifcfg-eth0 that exists */
			if (vmie_guest_stat(f->g, new_rel, &st, &e) ||
			    st.exists)
				new_rel[0] = 0;
		}
		mod_apply(m, f, path, rel, buf, len, &ed, "PREP-003",
			  new_rel[0] ? new_rel : NULL);
	}
	vmie_edit_free(&ed);
	free(buf);
}

static void mod_net_dir(struct mod *m, const char *dir, const char *prefix,
			const char *suffix, enum net_kind k)
{
	struct dir_list *l = mod_list(m, dir);
	char path[400];
	if (!l)
		return;
	for (unsigned i = 0; i < l->n; i++) {
		const char *n = l->names[i];
		size_t nl = strlen(n), sl = suffix ? strlen(suffix) : 0;
		if (prefix && strncmp(n, prefix, strlen(prefix)))
			continue;
		if (suffix && (nl < sl || strcmp(n + nl - sl, suffix)))
			continue;
		if (prefix && !strcmp(n + strlen(prefix), "lo"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, n);
		mod_net_file(m, path, k);
	}
	free(l);
}

/* Persistent NIC naming rules tie the old MAC to a name: set aside. */
static void mod_udev(struct mod *m)
{
	static const char *const rules[] = {
		"/etc/udev/rules.d/70-persistent-net.rules",
		"/etc/udev/rules.d/75-persistent-net-generator.rules", NULL };
	for (const char *const *p = rules; *p; p++) {
		struct mod_fs *f;
		char rel[300], kept[300], kept_as[256], *buf;
		size_t len;
		struct vmie_err e = { 0 };
		mod_read(m, *p, &f, rel, sizeof rel, &buf, &len);
		if (!buf)
			continue;
		if (m->o->diff)
			vmie_diff_append(&m->res->diff, &m->res->diff_len, *p,
					 buf, len, "", 0);
		if (vmie_mod_kept_name(f->g, rel, kept, sizeof kept) ||
		    vmie_guest_rename(f->g, rel, kept, &e)) {
			mod_note(m, "%s: could not be set aside: %s", *p,
				 e.msg);
			free(buf);
			continue;
		}
		join_path(kept_as, sizeof kept_as, *p, rel, kept);
		vmie_mod_record(m, m->in->fs[f->fsi].device, *p, "PREP-003",
				"set aside: it binds NIC names to the old "
				"hypervisor's MAC addresses", kept_as, buf, len,
				NULL, 0);
		free(buf);
	}
}

static void mod_network(struct mod *m)
{
	mod_net_file(m, "/etc/network/interfaces", NET_IFUPDOWN);
	mod_net_dir(m, "/etc/network/interfaces.d", NULL, NULL, NET_IFUPDOWN);
	mod_net_dir(m, "/etc/sysconfig/network-scripts", "ifcfg-", NULL,
		    NET_IFCFG);
	mod_net_dir(m, "/etc/sysconfig/network", "ifcfg-", NULL,
		    NET_IFCFG_SUSE);
	mod_net_dir(m, "/etc/NetworkManager/system-connections", NULL,
		    ".nmconnection", NET_NM);
	mod_net_dir(m, "/etc/netplan", NULL, ".yaml", NET_NETPLAN);
	mod_udev(m);
}

/* The kernel whose entry becomes the default: the option, else the one
 * the boot loader already boots, else the newest one installed. */
static const char *grub_kernel(struct mod *m)
{
	const struct vmie_insp_os *os = m->os;
	const char *best = NULL;
	if (m->o->default_kernel)
		return m->o->default_kernel;
	if (os->default_kernel[0])
		return os->default_kernel;
	for (unsigned k = 0; k < os->n_kernels; k++)
		if (!best || vmie_insp_vercmp(os->kernels[k].version, best) > 0)
			best = os->kernels[k].version;
	return best;
}

/* Edit one GRUB file with fn (one of the grub editors, by pass). */
static void grub_one(struct mod *m, const char *path, int kind,
		     const struct vmie_grub_opts *go, const char *entry,
		     const char *saved)
{
	struct mod_fs *f;
	char rel[300], *buf;
	size_t len;
	struct vmie_edit ed = { 0 };
	int r = -1;

	mod_read(m, path, &f, rel, sizeof rel, &buf, &len);
	if (!buf)
		return;
	switch (kind) {
	case 0: r = vmie_edit_grub_cfg(buf, len, go, mod_resolve, m, &ed); break;
	case 1: r = vmie_edit_menu_lst(buf, len, go, mod_resolve, m, &ed); break;
	case 2: r = vmie_edit_grubenv(buf, len, saved, go, mod_resolve, m,
				      &ed); break;
	case 3: r = entry ? vmie_edit_default_grub_entry(buf, len, go, entry,
							 mod_resolve, m, &ed)
			  : vmie_edit_default_grub(buf, len, go, mod_resolve, m,
						   &ed); break;
	case 4: r = vmie_edit_bls_entry(buf, len, go, mod_resolve, m, &ed); break;
	}
	if (!r)
		mod_apply(m, f, path, rel, buf, len, &ed, "PREP-014", NULL);
	vmie_edit_free(&ed);
	free(buf);
}

static void mod_grub(struct mod *m)
{
	static const char *const cfgs[] = { "/boot/grub/grub.cfg",
					    "/boot/grub2/grub.cfg", NULL };
	static const char *const lsts[] = { "/boot/grub/menu.lst",
					    "/boot/grub/grub.conf", NULL };
	static const char *const envs[] = { "/boot/grub/grubenv",
					    "/boot/grub2/grubenv", NULL };
	const char *kver = grub_kernel(m);
	struct vmie_grub_opts go = {
		.default_kernel = kver,
		.timeout = m->o->timeout,
		.net_ifnames = m->o->net_ifnames,
		.serial_console = m->o->serial_console,
	};
	char entry[320] = "", saved[320] = "", path[400];
	bool from_env = false;

	/* the name GRUB gives the default kernel's entry: for "set
	 * default", GRUB_DEFAULT and (when grub.cfg defers to grubenv)
	 * saved_entry; a BLS guest's entry is its file name */
	for (const char *const *p = cfgs; *p && kver && !entry[0]; p++) {
		struct mod_fs *f;
		char rel[300], *buf;
		size_t len;
		mod_read(m, *p, &f, rel, sizeof rel, &buf, &len);
		if (buf && vmie_edit_grub_entry_spec(buf, len, kver, entry,
						     sizeof entry, &from_env) &&
		    from_env)
			vmie_strlcpy(saved, entry, sizeof saved);
		free(buf);
	}
	struct dir_list *l = mod_list(m, "/boot/loader/entries");
	for (unsigned i = 0; l && kver && i < l->n && !saved[0]; i++) {
		size_t nl = strlen(l->names[i]);
		if (nl > 5 && !strcmp(l->names[i] + nl - 5, ".conf") &&
		    strstr(l->names[i], kver)) {
			snprintf(saved, sizeof saved, "%.*s", (int)(nl - 5),
				 l->names[i]);
			vmie_strlcpy(entry, saved, sizeof entry);
		}
	}
	for (const char *const *p = cfgs; *p; p++)
		grub_one(m, *p, 0, &go, NULL, NULL);
	for (const char *const *p = lsts; *p; p++)
		grub_one(m, *p, 1, &go, NULL, NULL);
	for (const char *const *p = envs; *p; p++)
		grub_one(m, *p, 2, &go, NULL, saved[0] ? saved : NULL);
	grub_one(m, "/etc/default/grub", 3, &go, entry[0] ? entry : NULL,
		 NULL);
	for (unsigned i = 0; l && i < l->n; i++) {
		size_t nl = strlen(l->names[i]);
		if (nl < 5 || strcmp(l->names[i] + nl - 5, ".conf"))
			continue;
		snprintf(path, sizeof path, "/boot/loader/entries/%s",
			 l->names[i]);
		grub_one(m, path, 4, &go, NULL, NULL);
	}
	free(l);
}

/* ---- the initramfs (PREP-015) ---- */

/* A module's name as a file name says it: the base name before ".ko",
 * '-' and '_' alike (the kernel treats them so). */
static bool mod_name_eq(const char *a, size_t alen, const char *b)
{
	size_t i = 0;
	for (; i < alen && b[i]; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
		if (x != y)
			return false;
	}
	return i == alen && !b[i];
}

/* Does a modules.dep / modules.builtin text list module name? */
static bool mod_list_has(const char *t, size_t len, const char *name)
{
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && t[j] != '\n')
			j++;
		size_t e = i;
		while (e < j && t[e] != ':')
			e++;
		size_t b = e;
		while (b > i && t[b - 1] != '/')
			b--;
		for (size_t k = b; k + 3 <= e; k++)
			if (!memcmp(t + k, ".ko", 3)) {
				if (mod_name_eq(t + b, k - b, name))
					return true;
				break;
			}
		i = j + 1;
	}
	return false;
}

static const struct vmie_insp_kernel *mod_kernel(struct mod *m)
{
	const char *v = grub_kernel(m);
	for (unsigned k = 0; k < m->os->n_kernels; k++)
		if (m->os->kernels[k].is_default)
			return &m->os->kernels[k];
	for (unsigned k = 0; v && k < m->os->n_kernels; k++)
		if (!strcmp(m->os->kernels[k].version, v))
			return &m->os->kernels[k];
	return NULL;
}

/* Characters a name may have to be put in a shell command line. */
static bool mod_sane(const char *s, bool path)
{
	if (!s[0] || strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._+~-", *s) ||
		      (path && *s == '/')))
			return false;
	return true;
}

/* Which drivers of the policy the default initramfs lacks, and which of
 * those the kernel has as modules (m->initrd_add); built-in ones count
 * as present.  While the root is open. */
static void mod_initrd_plan(struct mod *m)
{
	const struct vmie_insp_os *os = m->os;
	const struct vmie_policy_set *ds = m->o->policy ?
		vmie_policy_get_set(m->o->policy, "linux_initrd_drivers") : NULL;
	const struct vmie_insp_kernel *k = mod_kernel(m);
	const char *miss[MODIFY_MAX_DRIVERS];
	unsigned n_miss = 0;

	m->n_initrd_add = 0;
	if (!ds || !ds->n)
		return;
	for (unsigned i = 0; i < ds->n && n_miss < MODIFY_MAX_DRIVERS; i++)
		if (!vmie_insp_list_has(os->initrd_drivers, ds->values[i]))
			miss[n_miss++] = ds->values[i];
	if (!n_miss)
		return;
	if (!k) {
		mod_note(m, "PREP-015: no default kernel found: the initramfs "
			 "is left as it is");
		return;
	}
	if (os->initrd_read != 1 || !k->initrd[0]) {
		mod_note(m, "PREP-015: the initramfs of %s could not be read "
			 "(%s): it is not rebuilt blindly", k->version,
			 os->initrd_error[0] ? os->initrd_error : "none found");
		return;
	}
	if (!mod_sane(k->version, false) || !mod_sane(k->initrd, true)) {
		mod_note(m, "PREP-015: kernel %s: odd name: the initramfs is "
			 "left as it is", k->version);
		return;
	}
	char *dep = NULL, *bi = NULL;
	size_t dlen = 0, blen = 0;
	static const char *const mdirs[] = { "/lib/modules", "/usr/lib/modules" };
	for (unsigned d = 0; d < 2 && !dep; d++) {
		struct mod_fs *f;
		char p[400], rel[300];
		snprintf(p, sizeof p, "%s/%s/modules.dep", mdirs[d], k->version);
		mod_read(m, p, &f, rel, sizeof rel, &dep, &dlen);
		if (!dep)
			continue;
		snprintf(p, sizeof p, "%s/%s/modules.builtin", mdirs[d],
			 k->version);
		mod_read(m, p, &f, rel, sizeof rel, &bi, &blen);
	}
	char absent[200] = "";
	for (unsigned i = 0; i < n_miss; i++) {
		if (bi && mod_list_has(bi, blen, miss[i]))
			continue;       /* built in: present */
		if (dep && mod_list_has(dep, dlen, miss[i]) &&
		    mod_sane(miss[i], false)) {
			vmie_strlcpy(m->initrd_add[m->n_initrd_add++], miss[i],
				     sizeof m->initrd_add[0]);
			continue;
		}
		size_t n = strlen(absent);
		snprintf(absent + n, sizeof absent - n, "%s%s", n ? ", " : "",
			 miss[i]);
	}
	if (absent[0])
		mod_note(m, "PREP-015: kernel %s has no module %s%s: the "
			 "initramfs cannot hold it; install a kernel that has "
			 "it", k->version, absent, dep ? "" :
			 " (no modules.dep)");
	free(dep);
	free(bi);
}

static void mod_record_hex(struct mod *m, const char *device,
			   const char *path, const char *what,
			   const char *kept_as, const char *before,
			   const char *after)
{
	struct vmie_change *c = mod_new_change(m);
	if (!c) {
		m->failed = VMIE_ENOMEM;
		VMIE_ERR(&m->err, VMIE_ENOMEM, "out of memory");
		return;
	}
	vmie_strlcpy(c->device, device, sizeof c->device);
	vmie_strlcpy(c->path, path, sizeof c->path);
	vmie_strlcpy(c->rule, "PREP-015", sizeof c->rule);
	vmie_strlcpy(c->what, what, sizeof c->what);
	vmie_strlcpy(c->kept_as, kept_as, sizeof c->kept_as);
	vmie_strlcpy(c->sha256_before, before, sizeof c->sha256_before);
	vmie_strlcpy(c->sha256_after, after, sizeof c->sha256_after);
}

static const char *mod_device_of(struct mod *m, const char *path)
{
	size_t ml;
	struct mod_fs *f = mod_match(m, path, &ml);
	return f ? m->in->fs[f->fsi].device : m->os->root_device;
}

/* Debian: the modules to add listed in /etc/initramfs-tools/modules
 * (kept and journalled like any edit). */
static int mod_initramfs_tools(struct mod *m, struct vmie_guest *rg,
			       struct vmie_err *e)
{
	static const char path[] = "/etc/initramfs-tools/modules";
	char *old = NULL, *nw, kept[300] = "", what[480];
	size_t olen = 0, nlen;
	struct vmie_guest_stat st;
	int r;

	if ((r = vmie_guest_stat(rg, path, &st, e)))
		return r;
	if (st.exists && (r = vmie_guest_read(rg, path, MODIFY_MAX_FILE, &old,
					      &olen, e)))
		return r;
	nlen = olen;
	if (!(nw = malloc(olen + 64 + MODIFY_MAX_DRIVERS * 50))) {
		free(old);
		return VMIE_ERR(e, VMIE_ENOMEM, "out of memory");
	}
	memcpy(nw, old ? old : "", olen);
	if (nlen && nw[nlen - 1] != '\n')
		nw[nlen++] = '\n';
	nlen += (size_t)sprintf(nw + nlen, "# added by vmie (PREP-015)\n");
	what[0] = 0;
	for (unsigned i = 0; i < m->n_initrd_add; i++) {
		nlen += (size_t)sprintf(nw + nlen, "%s\n", m->initrd_add[i]);
		size_t w = strlen(what);
		snprintf(what + w, sizeof what - w, "%s%s", w ? ", " : "added ",
			 m->initrd_add[i]);
	}
	vmie_mod_diff(m, path, old ? old : "", olen, nw, nlen);
	if (st.exists && (vmie_mod_kept_name(rg, path, kept, sizeof kept) ||
			  (r = vmie_guest_copy(rg, path, kept, e)))) {
		r = r ? r : VMIE_ERR(e, VMIE_EEXIST, "%s: no free name to keep "
				     "the original under", path);
		goto out;
	}
	if ((r = vmie_guest_write(rg, path, nw, nlen, 0644, e)))
		goto out;
	if (vmie_mod_record(m, mod_device_of(m, path), path, "PREP-015", what,
			    kept, old ? old : "", olen, nw, nlen))
		r = VMIE_ERR(e, VMIE_ENOMEM, "out of memory");
out:
	free(old);
	free(nw);
	return r;
}

/* Rebuild the initramfs with the guest's own tool, in the appliance,
 * the guest's file systems mounted as its fstab says.  After every
 * other backend is closed (their writes are in the overlays). */
static void mod_initrd_run(struct mod *m)
{
	const struct vmie_insp_os *os = m->os;
	const struct vmie_insp_kernel *k = mod_kernel(m);
	struct vmie_gfs_mount mt[MODIFY_MAX_MOUNTS];
	char devs[MODIFY_MAX_MOUNTS][64], mods[MODIFY_MAX_DRIVERS * 50] = "";
	struct vmie_guest *rg = NULL;
	struct vmie_err e = { 0 };
	unsigned n = 0;
	int r;

	if (!m->n_initrd_add || !k || m->failed)
		return;
	for (unsigned i = 0; i < m->n_initrd_add; i++) {
		size_t l = strlen(mods);
		snprintf(mods + l, sizeof mods - l, "%s%s", i ? " " : "",
			 m->initrd_add[i]);
	}
	if (m->o->diff) {
		/* the dry run: an appliance start and a rebuild that would be
		 * thrown away; say what the import will do */
		mod_note(m, "PREP-015: the import rebuilds the initramfs of "
			 "%s with the guest's own tool, adding %s", k->version,
			 mods);
		return;
	}
	if (!mod_gfs(m)) {
		VMIE_ERR_RULE(&m->err, m->gfs_err.code ? m->gfs_err.code :
			      VMIE_EUNSUPP, "PREP-015", "PREP-015: the "
			      "initramfs of %s lacks %s; rebuilding it needs "
			      "libguestfs: %s", k->version, mods,
			      m->gfs_err.msg);
		m->failed = m->err.code;
		return;
	}
	/* the root, then the fstab's local file systems, parents first */
	int ri = fs_index(m->in, os->root_device);
	if (ri < 0 || mod_gfs_dev(m, (unsigned)ri, devs[0], sizeof devs[0],
				  &e))
		goto fail;
	mt[n++] = (struct vmie_gfs_mount){ devs[0], "/", os->root_subvolume };
	for (size_t depth = 2; depth < 200; depth++)
		for (unsigned i = 0; i < os->n_fstab && n < MODIFY_MAX_MOUNTS;
		     i++) {
			const struct vmie_insp_fstab *t = &os->fstab[i];
			int fi = fs_index(m->in, t->resolves_to);
			if (fi < 0 || strlen(t->mountpoint) != depth ||
			    t->mountpoint[0] != '/' ||
			    strstr(t->mountpoint, "..") ||
			    !strcmp(t->type, "swap") ||
			    mod_gfs_dev(m, (unsigned)fi, devs[n],
					sizeof devs[0], &e))
				continue;
			mt[n] = (struct vmie_gfs_mount){ devs[n],
				t->mountpoint, t->subvolume };
			n++;
		}
	if ((r = vmie_gfs_layout_begin(m->gfs, mt, n, &rg, &e)))
		goto fail;

	struct vmie_guest_stat st;
	const char *tool = NULL;
	static const char *const tools[][2] = {
		{ "/usr/sbin/update-initramfs", "update-initramfs" },
		{ "/sbin/update-initramfs", "update-initramfs" },
		{ "/usr/bin/dracut", "dracut" }, { "/usr/sbin/dracut", "dracut" },
		{ "/sbin/dracut", "dracut" }, { "/sbin/mkinitrd", "mkinitrd" },
		{ "/usr/sbin/mkinitrd", "mkinitrd" } };
	for (size_t i = 0; !tool && i < sizeof tools / sizeof *tools; i++)
		if (!vmie_guest_stat(rg, tools[i][0], &st, &e) && st.exists)
			tool = tools[i][1];
	if (!tool) {
		VMIE_ERR(&e, VMIE_EUNSUPP, "the guest has no update-initramfs, "
			 "dracut or mkinitrd");
		goto fail;
	}
	char kept[300], before[65], after[65], cmd[1200], *out = NULL;
	if (vmie_mod_kept_name(rg, k->initrd, kept, sizeof kept)) {
		VMIE_ERR(&e, VMIE_EEXIST, "%s: no free name to keep the "
			 "original under", k->initrd);
		goto fail;
	}
	if (vmie_gfs_sha256(m->gfs, k->initrd, before, &e) ||
	    vmie_guest_copy(rg, k->initrd, kept, &e))
		goto fail;
	if (!strcmp(tool, "update-initramfs")) {
		if (mod_initramfs_tools(m, rg, &e))
			goto fail;
		snprintf(cmd, sizeof cmd, "update-initramfs -u -k '%s' 2>&1",
			 k->version);
	} else if (!strcmp(tool, "dracut")) {
		snprintf(cmd, sizeof cmd, "dracut -f --add-drivers '%s' '%s' "
			 "'%s' 2>&1", mods, k->initrd, k->version);
	} else {
		snprintf(cmd, sizeof cmd, "mkinitrd -k '%s' -i '%s' -m '%s' "
			 "2>&1", k->path, k->initrd, mods);
	}
	if (vmie_gfs_sh(m->gfs, cmd, &out, &e)) {
		vmie_err_prefix(&e, "%s", tool);
		goto fail;
	}
	free(out);
	if (vmie_gfs_sha256(m->gfs, k->initrd, after, &e))
		goto fail;
	char what[480], kept_as[256];
	snprintf(what, sizeof what, "rebuilt by %s with %s", tool, mods);
	vmie_strlcpy(kept_as, kept, sizeof kept_as);
	if (!strcmp(before, after))
		mod_note(m, "PREP-015: %s ran but %s did not change", tool,
			 k->initrd);
	mod_record_hex(m, mod_device_of(m, k->initrd), k->initrd, what,
		       kept_as, before, after);
	vmie_guest_close(rg);
	rg = NULL;
	if (vmie_gfs_layout_end(m->gfs, &e))
		goto fail;
	return;
fail:
	if (rg)
		vmie_guest_close(rg);
	vmie_gfs_layout_end(m->gfs, NULL);
	vmie_err_prefix(&e, "PREP-015: rebuilding the initramfs of %s",
			k->version);
	vmie_strlcpy(e.rule, "PREP-015", sizeof e.rule);
	mod_fail(m, &e);
}

static int mod_linux(struct mod *m)
{
	const struct vmie_insp_os *os = m->os;

	m->n_fs = 0;
	mod_add_fs(m, os->root_device, "/");
	for (unsigned k = 0; k < os->n_fstab; k++) {
		const struct vmie_insp_fstab *t = &os->fstab[k];
		if (t->resolves_to[0] && t->mountpoint[0] == '/' &&
		    t->mountpoint[1] &&
		    (!strcmp(t->mountpoint, "/boot") ||
		     !strncmp(t->mountpoint, "/etc", 4)))
			mod_add_fs(m, t->resolves_to, t->mountpoint);
	}
	mod_fstab(m);
	mod_network(m);
	mod_grub(m);
	mod_initrd_plan(m);
	for (unsigned k = 0; k < m->n_fs; k++) {
		struct vmie_err e = { 0 };
		if (!m->fs[k].g)
			continue;
		if (!m->failed && vmie_guest_flush(m->fs[k].g, &e)) {
			m->failed = e.code ? e.code : VMIE_EIO;
			m->err = e;
		}
		vmie_guest_close(m->fs[k].g);
		m->fs[k].g = NULL;
	}
	mod_initrd_run(m);
	return m->failed;
}

int vmie_modify_guest(const struct vmie_inspection *in,
		      const struct vmie_modify_opts *o,
		      struct vmie_modify_result *res, struct vmie_err *err)
{
	struct mod m = { .in = in, .o = o, .res = res };

	memset(res, 0, sizeof *res);
	for (unsigned i = 0; i < in->n_os; i++) {
		m.os = &in->os[i];
		if (!strcmp(m.os->type, "linux")) {
			if (mod_linux(&m))
				break;
		} else if (!strcmp(m.os->type, "windows")) {
			struct vmie_err e = { 0 };
			int r = vmie_modify_windows(&m, in, m.os, &e);
			if (r) {
				m.failed = r;
				m.err = e;
				break;
			}
		}
	}
	/* the appliance's writes reach the overlays when it shuts down */
	if (m.gfs) {
		struct vmie_err e = { 0 };
		if (vmie_gfs_close(m.gfs, &e))
			mod_fail(&m, &e);
	}
	if (m.failed) {
		if (err)
			*err = m.err;
		return m.failed;
	}
	return 0;
}

void vmie_modify_result_free(struct vmie_modify_result *res)
{
	if (!res)
		return;
	free(res->changes);
	free(res->diff);
	memset(res, 0, sizeof *res);
}

/* ---- unified diff ---- */

struct lines {
	const char **p;
	size_t *n;
	size_t count;
};

static int split_lines(const char *t, size_t len, struct lines *l)
{
	size_t cap = 0;
	l->p = NULL;
	l->n = NULL;
	l->count = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && t[j] != '\n')
			j++;
		if (l->count == cap) {
			size_t nc = cap ? cap * 2 : 64;
			const char **a = realloc(l->p, nc * sizeof *a);
			if (!a)
				return -1;
			l->p = a;
			size_t *b = realloc(l->n, nc * sizeof *b);
			if (!b)
				return -1;
			l->n = b;
			cap = nc;
		}
		l->p[l->count] = t + i;
		l->n[l->count++] = j - i;
		i = j + 1;
	}
	return 0;
}

static bool line_eq(const struct lines *a, size_t i, const struct lines *b,
		    size_t j)
{
	return a->n[i] == b->n[j] && !memcmp(a->p[i], b->p[j], a->n[i]);
}

static int buf_add(char **buf, size_t *len, size_t *cap, const char *s,
		   size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *b = realloc(*buf, nc);
		if (!b)
			return -1;
		*buf = b;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

int vmie_diff_append(char **buf, size_t *len, const char *path,
		     const char *a, size_t alen, const char *b, size_t blen)
{
	struct lines A = { 0 }, B = { 0 };
	size_t cap = *buf ? *len + 1 : 0;
	char hdr[700];
	int r = -1;

	if (split_lines(a, alen, &A) || split_lines(b, blen, &B))
		goto out;
	snprintf(hdr, sizeof hdr, "--- a%s\n+++ b%s\n", path, path);
	if (buf_add(buf, len, &cap, hdr, strlen(hdr)))
		goto out;
	/* the common prefix and suffix; the middle as one hunk, refined by
	 * an LCS table when small enough (20000 x 20000 is too much: then
	 * the middle is replaced as a whole) */
	size_t pre = 0, suf = 0;
	while (pre < A.count && pre < B.count && line_eq(&A, pre, &B, pre))
		pre++;
	while (suf < A.count - pre && suf < B.count - pre &&
	       line_eq(&A, A.count - 1 - suf, &B, B.count - 1 - suf))
		suf++;
	size_t am = A.count - pre - suf, bm = B.count - pre - suf;
	size_t ctx0 = pre > 3 ? pre - 3 : 0;
	size_t ctx1 = suf > 3 ? 3 : suf;
	snprintf(hdr, sizeof hdr, "@@ -%zu,%zu +%zu,%zu @@\n", ctx0 + 1,
		 pre - ctx0 + am + ctx1, ctx0 + 1, pre - ctx0 + bm + ctx1);
	if (buf_add(buf, len, &cap, hdr, strlen(hdr)))
		goto out;
	for (size_t i = ctx0; i < pre; i++)
		if (buf_add(buf, len, &cap, " ", 1) ||
		    buf_add(buf, len, &cap, A.p[i], A.n[i]) ||
		    buf_add(buf, len, &cap, "\n", 1))
			goto out;
	unsigned short *t = NULL;
	if (am && bm && am <= 2000 && bm <= 2000)
		t = calloc((am + 1) * (bm + 1), sizeof *t);
	if (t) {
		/* t[i][j]: LCS length of A[pre+i..] and B[pre+j..] */
		for (size_t i = am; i-- > 0;)
			for (size_t j = bm; j-- > 0;)
				t[i * (bm + 1) + j] =
					line_eq(&A, pre + i, &B, pre + j) ?
					t[(i + 1) * (bm + 1) + j + 1] + 1 :
					t[(i + 1) * (bm + 1) + j] >
					t[i * (bm + 1) + j + 1] ?
					t[(i + 1) * (bm + 1) + j] :
					t[i * (bm + 1) + j + 1];
		size_t i = 0, j = 0;
		while (i < am || j < bm) {
			const char *mark;
			const char *s;
			size_t n;
			if (i < am && j < bm && line_eq(&A, pre + i, &B, pre + j)) {
				mark = " ", s = A.p[pre + i], n = A.n[pre + i];
				i++, j++;
			} else if (j < bm && (i == am ||
				   t[i * (bm + 1) + j + 1] >=
				   t[(i + 1) * (bm + 1) + j])) {
				mark = "+", s = B.p[pre + j], n = B.n[pre + j];
				j++;
			} else {
				mark = "-", s = A.p[pre + i], n = A.n[pre + i];
				i++;
			}
			if (buf_add(buf, len, &cap, mark, 1) ||
			    buf_add(buf, len, &cap, s, n) ||
			    buf_add(buf, len, &cap, "\n", 1)) {
				free(t);
				goto out;
			}
		}
		free(t);
	} else {
		for (size_t i = 0; i < am; i++)
			if (buf_add(buf, len, &cap, "-", 1) ||
			    buf_add(buf, len, &cap, A.p[pre + i], A.n[pre + i]) ||
			    buf_add(buf, len, &cap, "\n", 1))
				goto out;
		for (size_t j = 0; j < bm; j++)
			if (buf_add(buf, len, &cap, "+", 1) ||
			    buf_add(buf, len, &cap, B.p[pre + j], B.n[pre + j]) ||
			    buf_add(buf, len, &cap, "\n", 1))
				goto out;
	}
	for (size_t i = A.count - suf; i < A.count - suf + ctx1; i++)
		if (buf_add(buf, len, &cap, " ", 1) ||
		    buf_add(buf, len, &cap, A.p[i], A.n[i]) ||
		    buf_add(buf, len, &cap, "\n", 1))
			goto out;
	r = 0;
out:
	free(A.p);
	free(A.n);
	free(B.p);
	free(B.n);
	return r;
}
