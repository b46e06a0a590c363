/*
 * Linux guest inspection: distribution, version, architecture, kernels and
 * the default one, boot loader, fstab, network configuration, initramfs
 * drivers, SSH, users with keys, hostname, DHCP client.
 *
 * Files are read through a small "guest view": the root file system plus
 * the file systems its fstab mounts (/boot, /boot/efi, /usr, /home, /var...),
 * so that "/boot/grub/grub.cfg" is found on a separate /boot partition; a
 * Btrfs entry mounts the subvolume its subvol= / subvolid= options name
 * (subvol.c), so that /home is read from Ubuntu's "@home" and /var from
 * openSUSE's "@/var".
 * Detection of the distribution is an ordered table of { file, parser },
 * most specific first (the libguestfs inspection approach); later files of
 * the same distribution refine the version (os-release says CentOS "7",
 * centos-release says "7.9").
 */
#include "inspect/insp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "fs/btrfs/btrfs.h"
#include "fs/fs.h"
#include "part/part.h"

#define LINUX_MAX_MOUNTS 24

struct linux_mnt {
	char guest[64];         /* "/", "/boot" */
	char base[64];          /* path inside the fs ("" or "/@") */
	struct vmie_fs *fs;
	int fsi;
	uint64_t subvol;        /* Btrfs: the subvolume mounted, else 0 */
};

struct linux_guest {
	struct insp_ctx *c;
	struct vmie_insp_os *os;
	struct linux_mnt m[LINUX_MAX_MOUNTS];
	unsigned nm;
	int esp;                /* fs index of the ESP, -1 */
};

/* Map a guest path to (fs, path inside it) by the longest mount prefix. */
static struct vmie_fs *lg_map(struct linux_guest *g, const char *path,
			      char *out, size_t size)
{
	const struct linux_mnt *best = &g->m[0];
	size_t bl = 0;

	for (unsigned i = 1; i < g->nm; i++) {
		size_t l = strlen(g->m[i].guest);
		if (!strncmp(path, g->m[i].guest, l) &&
		    (path[l] == '/' || !path[l]) && l > bl) {
			best = &g->m[i];
			bl = l;
		}
	}
	vmie_insp_fmt(out, size, "%s%s", best->base, path[bl] ? path + bl : "/");
	return best->fs;
}

static int lg_read(struct linux_guest *g, const char *path, size_t max,
		   char **buf, size_t *len)
{
	char p[512];
	struct vmie_err e = { 0 };
	struct vmie_fs *fs = lg_map(g, path, p, sizeof p);

	return vmie_fs_read_file(fs, p, max, buf, len, &e);
}

static bool lg_exists(struct linux_guest *g, const char *path)
{
	char p[512];
	struct vmie_fs *fs = lg_map(g, path, p, sizeof p);
	return vmie_fs_exists(fs, p);
}

static bool lg_is_dir(struct linux_guest *g, const char *path)
{
	char p[512];
	struct vmie_fs *fs = lg_map(g, path, p, sizeof p);
	return vmie_fs_is_dir(fs, p);
}

static int lg_pread(struct linux_guest *g, const char *path, void *buf,
		    size_t len, size_t *got)
{
	char p[512];
	struct vmie_err e = { 0 };
	struct vmie_fs *fs = lg_map(g, path, p, sizeof p);
	return vmie_fs_pread(fs, p, buf, len, 0, got, &e);
}

/* Directory listing: names (at most INSP_MAX_DIRENTS) into a malloc'd
 * array of fixed-size strings. */
struct lg_names {
	char (*v)[256];
	unsigned n, cap;
	bool regular_only;
};

static int lg_names_cb(void *ctx, const struct vmie_dirent *d)
{
	struct lg_names *l = ctx;

	if (l->n >= INSP_MAX_DIRENTS)
		return 1;
	if (l->n == l->cap) {
		unsigned nc = l->cap ? l->cap * 2 : 32;
		void *a = realloc(l->v, nc * sizeof *l->v);
		if (!a)
			return 1;
		l->v = a;
		l->cap = nc;
	}
	vmie_strlcpy(l->v[l->n++], d->name, sizeof l->v[0]);
	return 0;
}

static int lg_cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void lg_list(struct linux_guest *g, const char *path,
		    struct lg_names *l)
{
	char p[512];
	struct vmie_err e = { 0 };
	struct vmie_fs *fs = lg_map(g, path, p, sizeof p);

	memset(l, 0, sizeof *l);
	vmie_fs_readdir(fs, p, lg_names_cb, l, &e);
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, lg_cmp_names);
}

/* ---- root detection ---- */

bool vmie_insp_is_linux_root(struct vmie_fs *fs, const char *base)
{
	static const char *const markers[] = {
		"/etc/os-release", "/usr/lib/os-release", "/etc/fstab",
		"/etc/redhat-release", "/etc/SuSE-release",
		"/etc/debian_version", "/etc/system-release",
	};
	static const char *const bins[] = { "/bin", "/usr/bin", "/sbin" };
	char p[256];
	bool marker = false, bin = false;

	vmie_insp_fmt(p, sizeof p, "%s/etc", base);
	if (!vmie_fs_is_dir(fs, p))
		return false;
	for (size_t i = 0; i < sizeof markers / sizeof *markers && !marker;
	     i++) {
		vmie_insp_fmt(p, sizeof p, "%s%s", base, markers[i]);
		marker = vmie_fs_exists(fs, p);
	}
	for (size_t i = 0; i < sizeof bins / sizeof *bins && !bin; i++) {
		vmie_insp_fmt(p, sizeof p, "%s%s", base, bins[i]);
		bin = vmie_fs_is_dir(fs, p);
	}
	return marker && bin;
}

/* ---- distribution ---- */

typedef int (*linux_release_fn)(const char *, struct vmie_insp_release *);

static const struct {
	const char *path;
	linux_release_fn parse;
} linux_release_files[] = {
	{ "/etc/os-release", vmie_insp_parse_os_release },
	{ "/usr/lib/os-release", vmie_insp_parse_os_release },
	/* Red Hat derivatives also ship redhat-release: check theirs first */
	{ "/etc/oracle-release", vmie_insp_parse_redhat_release },
	{ "/etc/enterprise-release", vmie_insp_parse_redhat_release },
	{ "/etc/centos-release", vmie_insp_parse_redhat_release },
	{ "/etc/fedora-release", vmie_insp_parse_redhat_release },
	{ "/etc/system-release", vmie_insp_parse_redhat_release },
	{ "/etc/redhat-release", vmie_insp_parse_redhat_release },
	{ "/etc/SuSE-release", vmie_insp_parse_suse_release },
	{ "/etc/lsb-release", vmie_insp_parse_lsb_release },
	{ "/etc/debian_version", vmie_insp_parse_debian_version },
};

static void linux_distro(struct linux_guest *g)
{
	struct vmie_insp_os *os = g->os;
	struct vmie_insp_release base, r;
	const char *base_file = NULL;

	memset(&base, 0, sizeof base);
	for (size_t i = 0; i < sizeof linux_release_files /
	     sizeof *linux_release_files; i++) {
		char *t = NULL;
		size_t l;
		if (lg_read(g, linux_release_files[i].path, 65536, &t, &l))
			continue;
		int ok = linux_release_files[i].parse(t, &r);
		free(t);
		if (ok)
			continue;
		if (!base_file) {
			base = r;
			base_file = linux_release_files[i].path;
			vmie_insp_evidence(os, "distro", base_file, "%s%s%s",
					   r.distro, r.version[0] ? " " : "",
					   r.version);
			continue;
		}
		/* refine: same distribution, more precise version */
		if (strcmp(r.distro, base.distro) || !r.version[0])
			continue;
		if ((base.minor < 0 && r.minor >= 0 && r.major == base.major) ||
		    !base.version[0] ||
		    (r.service_pack[0] && !base.service_pack[0] &&
		     r.major == base.major)) {
			vmie_strlcpy(base.version, r.version,
				     sizeof base.version);
			base.major = r.major;
			base.minor = r.minor;
			if (r.service_pack[0])
				vmie_strlcpy(base.service_pack,
					     r.service_pack,
					     sizeof base.service_pack);
			vmie_insp_evidence(os, "version",
					   linux_release_files[i].path,
					   "%s", r.product[0] ? r.product :
					   r.version);
		}
	}
	if (!base_file) {
		vmie_strlcpy(os->distro, "unknown", sizeof os->distro);
		return;
	}
	vmie_strlcpy(os->distro, base.distro, sizeof os->distro);
	vmie_strlcpy(os->product_name, base.product, sizeof os->product_name);
	vmie_strlcpy(os->version, base.version, sizeof os->version);
	vmie_strlcpy(os->service_pack, base.service_pack,
		     sizeof os->service_pack);
	os->major = base.major;
	os->minor = base.minor;
	if (!vmie_insp_find_evidence(os, "version"))
		vmie_insp_evidence(os, "version", base_file, "%s",
				   base.version);
}

/* ---- architecture, hostname ---- */

static void linux_arch(struct linux_guest *g)
{
	static const char *const bins[] = {
		"/bin/sh", "/bin/ls", "/sbin/init", "/usr/bin/bash",
		"/bin/bash", "/usr/bin/ls", "/bin/busybox",
		"/lib/systemd/systemd", "/usr/lib/systemd/systemd",
	};
	uint8_t h[64];

	for (size_t i = 0; i < sizeof bins / sizeof *bins; i++) {
		size_t got = 0;
		if (lg_pread(g, bins[i], h, sizeof h, &got) || got < 20)
			continue;
		if (vmie_insp_elf_arch(h, got, g->os->arch,
				       sizeof g->os->arch))
			continue;
		vmie_insp_evidence(g->os, "arch", bins[i],
				   "ELF%s e_machine=%u", h[4] == 2 ? "64" : "32",
				   h[5] == 1 ? (unsigned)(h[18] | h[19] << 8) :
				   (unsigned)(h[18] << 8 | h[19]));
		return;
	}
}

static void linux_hostname(struct linux_guest *g)
{
	static const char *const files[] = { "/etc/hostname", "/etc/HOSTNAME" };
	char *t = NULL;
	size_t l;

	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		if (lg_read(g, files[i], 4096, &t, &l))
			continue;
		char *nl = strchr(t, '\n');
		if (nl)
			*nl = '\0';
		char *h = vmie_insp_trim(t);
		if (h[0] && h[0] != '#') {
			vmie_strlcpy(g->os->hostname, h,
				     sizeof g->os->hostname);
			vmie_insp_evidence(g->os, "hostname", files[i], "%s", h);
			free(t);
			return;
		}
		free(t);
	}
	if (!lg_read(g, "/etc/sysconfig/network", 65536, &t, &l)) {
		if (vmie_insp_shvar(t, "HOSTNAME", g->os->hostname,
				    sizeof g->os->hostname) &&
		    g->os->hostname[0])
			vmie_insp_evidence(g->os, "hostname",
					   "/etc/sysconfig/network",
					   "HOSTNAME=%s", g->os->hostname);
		free(t);
	}
}

/* ---- fstab and the guest view ---- */

static void linux_fstab(struct linux_guest *g)
{
	struct insp_ctx *c = g->c;
	struct vmie_insp_os *os = g->os;
	char *t = NULL;
	size_t l;

	if (lg_read(g, "/etc/fstab", INSP_MAX_TEXT, &t, &l)) {
		vmie_insp_evidence(os, "fstab", "/etc/fstab", "absent or "
				   "unreadable");
		return;
	}
	if (vmie_insp_parse_fstab(t, INSP_MAX_FSTAB_ENTRIES, &os->fstab,
				  &os->n_fstab)) {
		free(t);
		return;
	}
	free(t);
	/* the guest's number for the root's disk: what its "/" entry says
	 * when that is a kernel name, else its first disk */
	int root_guest = 0, gd, gp;
	for (unsigned i = 0; i < os->n_fstab; i++)
		if (!strcmp(os->fstab[i].mountpoint, "/") &&
		    vmie_insp_parse_devname(os->fstab[i].spec, &gd, &gp)) {
			root_guest = gd;
			break;
		}
	for (unsigned i = 0; i < os->n_fstab; i++) {
		struct vmie_insp_fstab *f = &os->fstab[i];
		int k;
		if (f->spec_kind == VMIE_SPEC_OTHER)
			continue;
		k = insp_resolve_spec(c, f->spec, os->root_disk, root_guest);
		if (k < 0)
			continue;
		vmie_strlcpy(f->resolves_to, c->in->fs[k].device,
			     sizeof f->resolves_to);
		if (!c->in->fs[k].mountpoint[0] &&
		    strcmp(f->mountpoint, "none"))
			vmie_strlcpy(c->in->fs[k].mountpoint, f->mountpoint,
				     sizeof c->in->fs[k].mountpoint);
		struct vmie_fs *mfs = insp_fs(c, (unsigned)k);
		uint64_t sv = 0;
		if (mfs && !strcmp(c->in->fs[k].probe.type, "btrfs")) {
			if (insp_btrfs_fstab_subvol(c, (unsigned)k, f->options,
						    &sv, f->subvolume,
						    sizeof f->subvolume)) {
				f->subvolume_missing = true;
				vmie_insp_evidence(os, "fstab", "/etc/fstab",
						   "%s: no subvolume %s on %s",
						   f->mountpoint, f->subvolume,
						   f->resolves_to);
				mfs = NULL;
			} else {
				mfs = insp_subvol_fs(c, (unsigned)k, sv);
			}
		}
		/* the guest view: every mount of a file system vmie reads
		 * but the root itself (same file system and subvolume) */
		if (mfs && f->mountpoint[0] == '/' && f->mountpoint[1] &&
		    strlen(f->mountpoint) < sizeof g->m[0].guest &&
		    g->nm < LINUX_MAX_MOUNTS &&
		    !(k == g->m[0].fsi && sv == g->m[0].subvol)) {
			struct linux_mnt *m = &g->m[g->nm++];
			vmie_strlcpy(m->guest, f->mountpoint, sizeof m->guest);
			/* "/var/" mounts at "/var" */
			size_t ml = strlen(m->guest);
			while (ml > 1 && m->guest[ml - 1] == '/')
				m->guest[--ml] = '\0';
			m->base[0] = '\0';
			m->fs = mfs;
			m->fsi = k;
			m->subvol = sv;
		}
	}
}

/* ---- kernels and boot configuration ---- */

static struct vmie_insp_kernel *linux_add_kernel(struct vmie_insp_os *os,
						 const char *ver)
{
	struct vmie_insp_kernel *k;

	for (unsigned i = 0; i < os->n_kernels; i++)
		if (!strcmp(os->kernels[i].version, ver))
			return &os->kernels[i];
	if (os->n_kernels >= INSP_MAX_KERNELS)
		return NULL;
	k = realloc(os->kernels, (os->n_kernels + 1) * sizeof *k);
	if (!k)
		return NULL;
	os->kernels = k;
	k = &k[os->n_kernels++];
	memset(k, 0, sizeof *k);
	vmie_strlcpy(k->version, ver, sizeof k->version);
	return k;
}

static void linux_kernels(struct linux_guest *g)
{
	struct vmie_insp_os *os = g->os;
	struct lg_names l;
	char p[512];

	lg_list(g, "/boot", &l);
	for (unsigned i = 0; i < l.n; i++) {
		char ver[96];
		vmie_insp_kernel_version(l.v[i], ver, sizeof ver);
		if (!ver[0] || strncmp(l.v[i], "vmlinu", 6))
			continue;
		struct vmie_insp_kernel *k = linux_add_kernel(os, ver);
		if (!k)
			break;
		vmie_insp_fmt(k->path, sizeof k->path, "/boot/%s", l.v[i]);
	}
	free(l.v);
	for (unsigned i = 0; i < os->n_kernels; i++) {
		struct vmie_insp_kernel *k = &os->kernels[i];
		const char *fmts[] = { "/boot/initrd.img-%s",
			"/boot/initramfs-%s.img", "/boot/initrd-%s",
			"/boot/initrd-%s.img", "/boot/initramfs-%s" };
		for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
			vmie_insp_fmt(p, sizeof p, fmts[f], k->version);
			if (lg_exists(g, p)) {
				vmie_strlcpy(k->initrd, p, sizeof k->initrd);
				break;
			}
		}
		vmie_insp_fmt(p, sizeof p, "/lib/modules/%s", k->version);
		k->has_modules = lg_is_dir(g, p);
		if (!k->has_modules) {
			vmie_insp_fmt(p, sizeof p, "/usr/lib/modules/%s",
				 k->version);
			k->has_modules = lg_is_dir(g, p);
		}
		k->custom = vmie_insp_kernel_is_custom(os->distro, k->version);
	}
	if (!os->n_kernels) {
		/* no image in /boot: list module trees, without a path */
		lg_list(g, "/lib/modules", &l);
		for (unsigned i = 0; i < l.n; i++) {
			struct vmie_insp_kernel *k;
			if (l.v[i][0] < '0' || l.v[i][0] > '9')
				continue;
			k = linux_add_kernel(os, l.v[i]);
			if (!k)
				break;
			k->has_modules = true;
			k->custom = vmie_insp_kernel_is_custom(os->distro,
							       k->version);
		}
		free(l.v);
	}
}

static void linux_saved_entry(struct linux_guest *g, char *saved,
			      size_t size)
{
	static const char *const envs[] = { "/boot/grub/grubenv",
					    "/boot/grub2/grubenv" };
	char *t = NULL;
	size_t l;

	saved[0] = '\0';
	for (size_t i = 0; i < sizeof envs / sizeof *envs; i++) {
		if (lg_read(g, envs[i], 65536, &t, &l))
			continue;
		/* grubenv lines are "name=value" up to the end of the line,
		 * no shell quoting (titles have spaces) */
		for (char *ln = t; ln && *ln;) {
			char *nl = strchr(ln, '\n');
			if (nl)
				*nl = '\0';
			if (!strncmp(ln, "saved_entry=", 12))
				vmie_strlcpy(saved, ln + 12, size);
			ln = nl ? nl + 1 : NULL;
		}
		free(t);
		if (saved[0])
			return;
	}
}

static void linux_bls(struct linux_guest *g, struct vmie_insp_bootcfg *bc,
		      const char *saved)
{
	struct lg_names l;

	lg_list(g, "/boot/loader/entries", &l);
	bc->n = 0;
	for (unsigned i = 0; i < l.n && bc->n < 32; i++) {
		char p[512], id[256], *t = NULL;
		size_t len = strlen(l.v[i]);
		if (len < 6 || strcmp(l.v[i] + len - 5, ".conf"))
			continue;
		vmie_insp_fmt(p, sizeof p, "/boot/loader/entries/%s", l.v[i]);
		if (lg_read(g, p, 65536, &t, &len))
			continue;
		vmie_strlcpy(id, l.v[i], sizeof id);
		id[strlen(id) - 5] = '\0';
		if (!vmie_insp_parse_bls_entry(t, id, &bc->ents[bc->n])) {
			bc->ents[bc->n].top = (int)bc->n;
			bc->n++;
		}
		free(t);
	}
	free(l.v);
	vmie_insp_bls_default(bc, saved);
}

static void linux_default_kernel(struct linux_guest *g)
{
	static const char *const cfgs[] = {
		"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
		"/boot/efi/EFI/redhat/grub.cfg", "/boot/efi/EFI/centos/grub.cfg",
		"/boot/efi/EFI/fedora/grub.cfg",
	};
	static const char *const legacy[] = {
		"/boot/grub/menu.lst", "/boot/grub/grub.conf",
		"/etc/grub.conf",
	};
	struct vmie_insp_os *os = g->os;
	struct vmie_insp_bootcfg *bc = calloc(1, sizeof *bc);
	const char *src = NULL;
	char saved[160], *t = NULL;
	size_t l;

	if (!bc)
		return;
	linux_saved_entry(g, saved, sizeof saved);
	for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs && !src; i++) {
		if (lg_read(g, cfgs[i], INSP_MAX_TEXT, &t, &l))
			continue;
		if (!vmie_insp_parse_grub_cfg(t, saved, bc)) {
			src = cfgs[i];
			vmie_strlcpy(os->grub_default, bc->saved ? saved :
				     bc->default_spec, sizeof os->grub_default);
			os->grub_timeout = bc->timeout;
			if (bc->uses_bls) {
				struct vmie_insp_bootcfg keep = *bc;
				linux_bls(g, bc, saved);
				if (bc->n)
					src = "/boot/loader/entries";
				else
					*bc = keep;
			}
		}
		free(t);
		t = NULL;
	}
	for (size_t i = 0; i < sizeof legacy / sizeof *legacy && !src; i++) {
		char dflt[32] = "";
		if (lg_read(g, legacy[i], INSP_MAX_TEXT, &t, &l))
			continue;
		char *d = NULL;
		size_t dl;
		if (!lg_read(g, "/boot/grub/default", 4096, &d, &dl)) {
			vmie_strlcpy(dflt, d, sizeof dflt);
			vmie_insp_trim(dflt);
			free(d);
		}
		if (!vmie_insp_parse_menu_lst(t, dflt, bc)) {
			src = legacy[i];
			vmie_strlcpy(os->grub_default, bc->default_spec,
				     sizeof os->grub_default);
			os->grub_timeout = bc->timeout;
		}
		free(t);
		t = NULL;
	}
	const char *ver = NULL;
	if (src && bc->default_index >= 0 &&
	    (unsigned)bc->default_index < bc->n) {
		const struct vmie_insp_bootent *e = &bc->ents[bc->default_index];
		ver = e->version;
		vmie_insp_evidence(os, "kernel", src, "default entry '%s': %s",
				   e->title[0] ? e->title : e->id, e->kernel);
	}
	if (!ver || !ver[0]) {
		/* no usable entry: the newest installed kernel */
		for (unsigned i = 0; i < os->n_kernels; i++)
			if (!ver || !ver[0] ||
			    vmie_insp_vercmp(os->kernels[i].version, ver) > 0)
				ver = os->kernels[i].version;
		if (ver && ver[0])
			vmie_insp_evidence(os, "kernel", "/boot",
					   "newest installed kernel %s (no boot "
					   "loader entry)", ver);
	}
	if (ver && ver[0]) {
		vmie_strlcpy(os->default_kernel, ver,
			     sizeof os->default_kernel);
		for (unsigned i = 0; i < os->n_kernels; i++)
			if (!strcmp(os->kernels[i].version, ver))
				os->kernels[i].is_default = true;
	}
	free(bc);
}

/* ---- boot loader ---- */

/* GRUB 2 for BIOS on disk d: its MBR code, or a BIOS boot partition. */
static bool linux_grub_bios_disk(const struct vmie_insp_disk *disk,
				 bool *bios_part)
{
	*bios_part = false;
	for (unsigned k = 0; k < disk->pt.n_parts; k++)
		if (!strcmp(disk->pt.parts[k].kind, "bios-boot"))
			*bios_part = true;
	return !strcmp(disk->pt.boot_code, "grub2") || *bios_part;
}

/* The disk BIOS loads GRUB from: one that holds /boot (a separate file
 * system, else the root; an LV may be on several disks) and has GRUB 2
 * boot code, else any disk of the VM with it.  -1 when none has. */
static uint64_t linux_boot_mask(struct linux_guest *g)
{
	int fsi = g->m[0].fsi;

	for (unsigned i = 1; i < g->nm; i++)
		if (!strcmp(g->m[i].guest, "/boot"))
			fsi = g->m[i].fsi;
	return g->c->in->fs[fsi].disk_mask;
}

static int linux_boot_disk(struct linux_guest *g)
{
	struct insp_ctx *c = g->c;
	uint64_t mask = linux_boot_mask(g);
	bool bp;

	for (unsigned d = 0; d < c->in->n_disks && d < 64; d++)
		if ((mask & (uint64_t)1 << d) &&
		    linux_grub_bios_disk(&c->in->disks[d], &bp))
			return (int)d;
	for (unsigned d = 0; d < c->in->n_disks; d++)
		if (linux_grub_bios_disk(&c->in->disks[d], &bp))
			return (int)d;
	return -1;
}

static void linux_bootloader(struct linux_guest *g)
{
	struct insp_ctx *c = g->c;
	struct vmie_insp_os *os = g->os;
	int bd = linux_boot_disk(g);
	const struct vmie_insp_disk *disk = bd >= 0 ? &c->in->disks[bd] :
		os->root_disk >= 0 ? &c->in->disks[os->root_disk] : NULL;
	bool i386_pc = lg_is_dir(g, "/boot/grub/i386-pc") ||
		       lg_is_dir(g, "/boot/grub2/i386-pc");
	bool x64_efi = lg_is_dir(g, "/boot/grub/x86_64-efi") ||
		       lg_is_dir(g, "/boot/grub2/x86_64-efi");
	bool grub_cfg = lg_exists(g, "/boot/grub/grub.cfg") ||
			lg_exists(g, "/boot/grub2/grub.cfg");
	bool bios_part = false, boot_code_grub2 = false;

	if (disk) {
		linux_grub_bios_disk(disk, &bios_part);
		boot_code_grub2 = !strcmp(disk->pt.boot_code, "grub2");
		if (disk->pt.boot_code[0])
			vmie_insp_evidence(os, "boot_code", disk->path,
					   "MBR boot code: %s",
					   disk->pt.boot_code);
	}
	os->grub2_bios = i386_pc && (boot_code_grub2 || bios_part);
	if (i386_pc)
		vmie_insp_evidence(os, "grub2_bios", "/boot/grub*/i386-pc",
				   "present; boot code %s%s",
				   boot_code_grub2 ? "grub2" : "not grub2",
				   bios_part ? ", BIOS boot partition" : "");
	os->grub_legacy = lg_exists(g, "/boot/grub/stage2") ||
		(!grub_cfg && (lg_exists(g, "/boot/grub/menu.lst") ||
			       lg_exists(g, "/boot/grub/grub.conf")));
	if (os->grub_legacy)
		vmie_insp_evidence(os, "grub_legacy", "/boot/grub",
				   "stage2 or menu.lst");

	/* the ESP: the one mounted at /boot/efi, else one on a disk of
	 * /boot, else on the root's disk, else any */
	int esp = -1;
	for (unsigned i = 1; i < g->nm; i++)
		if (!strcmp(g->m[i].guest, "/boot/efi") ||
		    !strcmp(g->m[i].guest, "/efi"))
			esp = g->m[i].fsi;
	uint64_t bmask = linux_boot_mask(g);
	for (int d = 0; esp < 0 && d < 64 && (unsigned)d < c->in->n_disks;
	     d++) {
		int e = (bmask & (uint64_t)1 << d) ? insp_find_esp(c, d) : -1;
		if (e >= 0 && c->in->fs[e].disk == d)
			esp = e;
	}
	if (esp < 0)
		esp = insp_find_esp(c, os->root_disk);
	g->esp = esp;
	if (esp >= 0 && insp_fs(c, (unsigned)esp)) {
		struct vmie_fs *efs = insp_fs(c, (unsigned)esp);
		struct lg_names l = { 0 };
		struct vmie_err e = { 0 };
		char found[300] = "";
		vmie_strlcpy(os->esp_device, c->in->fs[esp].device,
			     sizeof os->esp_device);
		os->efi_fallback = insp_exists_ci(efs, "/EFI/BOOT/BOOTX64.EFI") ?
				   1 : 0;
		vmie_insp_evidence(os, "efi_fallback", os->esp_device,
				   "/EFI/BOOT/BOOTX64.EFI %s",
				   os->efi_fallback ? "present" : "missing");
		vmie_fs_readdir(efs, "/EFI", lg_names_cb, &l, &e);
		if (!l.n) {
			vmie_err_clear(&e);
			vmie_fs_readdir(efs, "/efi", lg_names_cb, &l, &e);
		}
		for (unsigned i = 0; i < l.n && !found[0]; i++) {
			static const char *const bins[] = { "grubx64.efi",
				"shimx64.efi", "grubaa64.efi", "shimaa64.efi" };
			for (size_t b = 0; b < 4 && !found[0]; b++) {
				char p[300];
				vmie_insp_fmt(p, sizeof p, "/EFI/%s/%s", l.v[i],
					 bins[b]);
				if (insp_exists_ci(efs, p))
					vmie_strlcpy(found, p, sizeof found);
			}
			char p[300];
			vmie_insp_fmt(p, sizeof p, "/EFI/%s/systemd-bootx64.efi",
				 l.v[i]);
			if (!strcasecmp(l.v[i], "systemd") &&
			    insp_exists_ci(efs, p))
				vmie_strlcpy(os->bootloader, "systemd-boot",
					     sizeof os->bootloader);
		}
		free(l.v);
		os->grub2_efi = found[0] || (x64_efi && os->efi_fallback == 1);
		if (os->grub2_efi)
			vmie_insp_evidence(os, "grub2_efi", os->esp_device, "%s",
					   found[0] ? found :
					   "x86_64-efi + BOOTX64.EFI");
	}
	if (os->bootloader[0])
		return;
	if (os->grub2_bios || os->grub2_efi || grub_cfg)
		vmie_strlcpy(os->bootloader, "grub2", sizeof os->bootloader);
	else if (os->grub_legacy)
		vmie_strlcpy(os->bootloader, "grub-legacy",
			     sizeof os->bootloader);
	else if (lg_exists(g, "/boot/extlinux/extlinux.conf") ||
		 lg_exists(g, "/boot/extlinux.conf"))
		vmie_strlcpy(os->bootloader, "extlinux", sizeof os->bootloader);
	else if (lg_exists(g, "/boot/syslinux/syslinux.cfg"))
		vmie_strlcpy(os->bootloader, "syslinux", sizeof os->bootloader);
	if (os->bootloader[0])
		vmie_insp_evidence(os, "bootloader", "/boot", "%s",
				   os->bootloader);
}

/* ---- initramfs ---- */

struct linux_rd {
	struct vmie_fs *fs;
	vmie_ino_t ino;
};

static int linux_rd_read(void *ctx, void *buf, size_t len, uint64_t off,
			 size_t *got, struct vmie_err *err)
{
	struct linux_rd *r = ctx;
	size_t done = 0;

	*got = 0;
	while (done < len) {
		size_t n = 0;
		int rc = r->fs->drv->read(r->fs, r->ino, (uint8_t *)buf + done,
					  len - done, off + done, &n, err);
		if (rc)
			return rc;
		if (!n)
			break;
		done += n;
	}
	*got = done;
	return 0;
}

static void linux_initrd(struct linux_guest *g)
{
	struct vmie_insp_os *os = g->os;
	const struct vmie_insp_kernel *k = NULL;
	char p[512];
	struct vmie_err e = { 0 };

	for (unsigned i = 0; i < os->n_kernels; i++)
		if (os->kernels[i].is_default)
			k = &os->kernels[i];
	if (!k)
		return;
	/* drivers built into the kernel (modules.builtin in the root) */
	char builtin[256] = "";
	const char *mdirs[] = { "/lib/modules", "/usr/lib/modules" };
	for (size_t i = 0; i < 2; i++) {
		char *t = NULL;
		size_t l;
		vmie_insp_fmt(p, sizeof p, "%s/%s/modules.builtin", mdirs[i],
			 k->version);
		if (lg_read(g, p, INSP_MAX_TEXT, &t, &l))
			continue;
		vmie_insp_builtin_drivers(t, l, builtin, sizeof builtin);
		free(t);
		if (builtin[0])
			vmie_insp_evidence(os, "initrd_builtin", p, "%s",
					   builtin);
		break;
	}
	if (g->c->o->skip_initrd || !k->initrd[0]) {
		if (!k->initrd[0]) {
			os->initrd_read = 0;
			vmie_insp_fmt(os->initrd_error, sizeof os->initrd_error,
				 "no initramfs found for %s", k->version);
		}
		vmie_strlcpy(os->initrd_drivers, builtin,
			     sizeof os->initrd_drivers);
		return;
	}
	struct linux_rd rd;
	struct vmie_stat st;
	rd.fs = lg_map(g, k->initrd, p, sizeof p);
	if (vmie_fs_resolve(rd.fs, p, true, &rd.ino, &e) ||
	    rd.fs->drv->stat(rd.fs, rd.ino, &st, &e)) {
		os->initrd_read = 0;
		vmie_insp_fmt(os->initrd_error, sizeof os->initrd_error, "%s",
			 e.msg);
		return;
	}
	struct vmie_insp_initrd res;
	int rc = vmie_insp_initrd_scan_budget(linux_rd_read, &rd, st.size,
					      rd.fs->dev ? rd.fs->dev->budget :
					      NULL, &res, &e);
	vmie_strlcpy(os->initrd_compression, res.compression,
		     sizeof os->initrd_compression);
	vmie_strlcpy(os->initrd_drivers, res.drivers,
		     sizeof os->initrd_drivers);
	for (const char *b = builtin; *b;) {
		char one[32];
		size_t n = strcspn(b, ",");
		if (n < sizeof one) {
			memcpy(one, b, n);
			one[n] = '\0';
			vmie_insp_list_add(os->initrd_drivers,
					   sizeof os->initrd_drivers, one);
		}
		b += n;
		if (*b)
			b++;
	}
	if (rc) {
		os->initrd_read = 0;
		vmie_insp_fmt(os->initrd_error, sizeof os->initrd_error, "%s",
			 e.msg);
		vmie_insp_evidence(os, "initrd", k->initrd, "unreadable: %s",
				   e.msg);
		return;
	}
	os->initrd_read = 1;
	vmie_insp_evidence(os, "initrd", k->initrd, "%s, %llu files%s, "
			   "drivers: %s", res.compression,
			   (unsigned long long)res.n_files,
			   res.stopped_early ? " (scan stopped once every "
			   "driver was found)" : "",
			   os->initrd_drivers[0] ? os->initrd_drivers : "none");
}

/* ---- network ---- */

static void linux_net_dir(struct linux_guest *g, const char *dir,
			  const char *prefix, const char *suffix,
			  int (*parse)(struct linux_guest *, const char *,
				       const char *, const char *))
{
	struct lg_names l;

	lg_list(g, dir, &l);
	for (unsigned i = 0; i < l.n; i++) {
		char p[512], *t = NULL;
		size_t n = strlen(l.v[i]), sl = suffix ? strlen(suffix) : 0;
		if (prefix && strncmp(l.v[i], prefix, strlen(prefix)))
			continue;
		if (suffix && (n <= sl || strcmp(l.v[i] + n - sl, suffix)))
			continue;
		/* backups and editor files */
		if (strchr(l.v[i], '~') || strstr(l.v[i], ".bak") ||
		    strstr(l.v[i], ".orig") || strstr(l.v[i], ".rpmsave") ||
		    strstr(l.v[i], ".dpkg-"))
			continue;
		vmie_insp_fmt(p, sizeof p, "%s/%s", dir, l.v[i]);
		if (lg_read(g, p, INSP_MAX_TEXT, &t, &n))
			continue;
		parse(g, l.v[i], t, p);
		free(t);
	}
	free(l.v);
}

static int linux_p_ifcfg(struct linux_guest *g, const char *name,
			 const char *t, const char *src)
{
	return vmie_insp_parse_ifcfg(g->os, name, t, src);
}
static int linux_p_ifaces(struct linux_guest *g, const char *name,
			  const char *t, const char *src)
{
	(void)name;
	return vmie_insp_parse_interfaces(g->os, t, src);
}
static int linux_p_netplan(struct linux_guest *g, const char *name,
			   const char *t, const char *src)
{
	(void)name;
	return vmie_insp_parse_netplan(g->os, t, src);
}
static int linux_p_nm(struct linux_guest *g, const char *name,
		      const char *t, const char *src)
{
	(void)name;
	return vmie_insp_parse_nmconnection(g->os, t, src);
}

static void linux_network(struct linux_guest *g)
{
	char *t = NULL;
	size_t l;

	linux_net_dir(g, "/etc/sysconfig/network-scripts", "ifcfg-", NULL,
		      linux_p_ifcfg);
	linux_net_dir(g, "/etc/sysconfig/network", "ifcfg-", NULL,
		      linux_p_ifcfg);
	if (!lg_read(g, "/etc/network/interfaces", INSP_MAX_TEXT, &t, &l)) {
		vmie_insp_parse_interfaces(g->os, t, "/etc/network/interfaces");
		free(t);
	}
	linux_net_dir(g, "/etc/network/interfaces.d", NULL, NULL,
		      linux_p_ifaces);
	linux_net_dir(g, "/etc/netplan", NULL, ".yaml", linux_p_netplan);
	linux_net_dir(g, "/etc/NetworkManager/system-connections", NULL, NULL,
		      linux_p_nm);
	for (unsigned i = 0; i < g->os->n_netifs; i++) {
		const struct vmie_insp_netif *n = &g->os->netifs[i];
		vmie_insp_evidence(g->os, "netif", n->source, "%s: %s%s%s",
				   n->name, n->dhcp == 1 ? "dhcp" :
				   n->dhcp == 0 ? "static" : "unknown",
				   n->address[0] ? " " : "", n->address);
	}
}

/* ---- services, users ---- */

static const char *linux_first(struct linux_guest *g,
			       const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lg_exists(g, paths[i]))
			return paths[i];
	return NULL;
}

static bool linux_rc_sshd(struct linux_guest *g, char *where, size_t size)
{
	static const char *const dirs[] = { "/etc/rc3.d", "/etc/rc.d/rc3.d",
					    "/etc/rc2.d", "/etc/init.d/rc3.d" };
	for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
		struct lg_names l;
		bool hit = false;
		lg_list(g, dirs[d], &l);
		for (unsigned i = 0; i < l.n && !hit; i++)
			if (l.v[i][0] == 'S' && strstr(l.v[i], "ssh")) {
				vmie_insp_fmt(where, size, "%s/%s", dirs[d], l.v[i]);
				hit = true;
			}
		free(l.v);
		if (hit)
			return true;
	}
	return false;
}

static void linux_services(struct linux_guest *g)
{
	static const char *const sshd[] = { "/usr/sbin/sshd", "/sbin/sshd" };
	static const char *const units[] = {
		"/etc/systemd/system/multi-user.target.wants/ssh.service",
		"/etc/systemd/system/multi-user.target.wants/sshd.service",
		"/etc/systemd/system/sshd.service",
		"/etc/systemd/system/sockets.target.wants/ssh.socket",
		"/etc/systemd/system/sockets.target.wants/sshd.socket",
	};
	static const char *const dhcp[] = {
		"/sbin/dhclient", "/usr/sbin/dhclient", "/sbin/dhcpcd",
		"/usr/sbin/dhcpcd", "/usr/sbin/NetworkManager",
		"/lib/systemd/systemd-networkd",
		"/usr/lib/systemd/systemd-networkd", "/sbin/udhcpc",
		"/usr/sbin/wicked", "/sbin/dhcpcd5",
	};
	struct vmie_insp_os *os = g->os;
	const char *w;
	char where[300];

	w = linux_first(g, sshd, sizeof sshd / sizeof *sshd);
	os->ssh_installed = w != NULL;
	vmie_insp_evidence(os, "ssh_installed", w ? w : "/usr/sbin/sshd",
			   "%s", w ? "present" : "absent");
	w = linux_first(g, units, sizeof units / sizeof *units);
	if (w) {
		os->ssh_enabled = 1;
		vmie_insp_evidence(os, "ssh_enabled", w, "systemd unit enabled");
	} else if (linux_rc_sshd(g, where, sizeof where)) {
		os->ssh_enabled = 1;
		vmie_insp_evidence(os, "ssh_enabled", where, "SysV start link");
	} else {
		os->ssh_enabled = 0;
	}
	w = linux_first(g, dhcp, sizeof dhcp / sizeof *dhcp);
	os->dhcp_client = w != NULL;
	vmie_insp_evidence(os, "dhcp_client", w ? w : "/sbin/dhclient", "%s",
			   w ? "present" : "no DHCP client found");
}

static void linux_users(struct linux_guest *g)
{
	struct vmie_insp_os *os = g->os;
	struct vmie_insp_user *u = NULL;
	unsigned n = 0, min_uid = 1000;
	char *t = NULL;
	size_t l;

	/* RHEL-family before 7 started regular users at 500 */
	if ((!strcmp(os->distro, "rhel") || !strcmp(os->distro, "centos") ||
	     !strcmp(os->distro, "ol") || !strcmp(os->distro, "scientific")) &&
	    os->major >= 0 && os->major < 7)
		min_uid = 500;
	if (lg_read(g, "/etc/passwd", INSP_MAX_TEXT, &t, &l))
		return;
	vmie_insp_parse_passwd(t, min_uid, &u, &n);
	free(t);
	for (unsigned i = 0; i < n; i++) {
		char p[512];
		vmie_insp_fmt(p, sizeof p, "%s/.ssh/authorized_keys", u[i].home);
		if (!lg_exists(g, p)) {
			vmie_insp_fmt(p, sizeof p, "%s/.ssh/authorized_keys2",
				 u[i].home);
			if (!lg_exists(g, p))
				continue;
		}
		vmie_insp_list_add(os->users_with_keys,
				   sizeof os->users_with_keys, u[i].name);
		vmie_insp_evidence(os, "user_key", p, "uid %u", u[i].uid);
	}
	free(u);
}

int vmie_insp_linux(struct insp_ctx *c, unsigned fsi, uint64_t subvol,
		    struct vmie_insp_os *os)
{
	struct linux_guest g = { .c = c, .os = os, .esp = -1 };
	struct vmie_insp_fs *f = &c->in->fs[fsi];
	struct vmie_fs *rfs = subvol ? insp_subvol_fs(c, fsi, subvol) :
				       insp_fs(c, fsi);

	vmie_strlcpy(os->type, "linux", sizeof os->type);
	vmie_strlcpy(os->root_device, f->device, sizeof os->root_device);
	os->root_disk = f->disk;
	os->root_free = f->probe.free;
	if (!rfs)
		return 0;
	if (!f->mountpoint[0])
		vmie_strlcpy(f->mountpoint, "/", sizeof f->mountpoint);
	g.m[0].fs = rfs;
	g.m[0].fsi = (int)fsi;
	g.m[0].subvol = vmie_btrfs_root_subvol(rfs);
	vmie_strlcpy(g.m[0].guest, "/", sizeof g.m[0].guest);
	g.m[0].base[0] = '\0';
	g.nm = 1;
	if (g.m[0].subvol) {
		uint64_t def = 0;
		vmie_btrfs_default_subvol(rfs, &def);
		os->root_subvolume_id = g.m[0].subvol;
		insp_btrfs_subvol_path(c, fsi, g.m[0].subvol,
				       os->root_subvolume,
				       sizeof os->root_subvolume);
		if (g.m[0].subvol != VMIE_BTRFS_TOP_LEVEL)
			vmie_insp_evidence(os, "root_subvolume", f->device,
					   "Btrfs subvolume %s (id %llu)%s",
					   os->root_subvolume[0] ?
					   os->root_subvolume : "?",
					   (unsigned long long)g.m[0].subvol,
					   g.m[0].subvol == def ?
					   ", the default subvolume" :
					   ", not the default subvolume");
	}

	linux_distro(&g);
	linux_fstab(&g);
	linux_arch(&g);
	linux_hostname(&g);
	linux_kernels(&g);
	linux_default_kernel(&g);
	linux_bootloader(&g);
	linux_initrd(&g);
	linux_network(&g);
	linux_services(&g);
	linux_users(&g);
	if (os->root_free != UINT64_MAX)
		vmie_insp_evidence(os, "root_free", os->root_device,
				   "%llu bytes free",
				   (unsigned long long)os->root_free);
	return 0;
}
