/*
 * Kernels and boot loader configuration of a Linux guest, from text:
 * kernel image names (/boot/vmlinuz-VERSION), the custom-kernel heuristic,
 * GRUB 2 grub.cfg as grub-mkconfig writes it (menuentry / submenu blocks,
 * "set default", "set timeout", blscfg), GRUB legacy menu.lst / grub.conf,
 * and Boot Loader Specification entries (/boot/loader/entries/ *.conf,
 * "The Boot Loader Specification", Type #1 entry keys title, version,
 * linux).
 *
 * GRUB 2's default (grub manual, "default" variable): a number counts
 * top-level entries from 0, "N>M" enters submenu N, and a title or an
 * --id (also in "A>B" form) names an entry; "${saved_entry}" takes the
 * value from grubenv.
 */
#include "inspect/insp_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void vmie_insp_kernel_version(const char *path, char *ver, size_t size)
{
	static const char *const prefixes[] = {
		"vmlinuz-", "vmlinux-", "kernel-", "bzImage-", "Image-",
	};
	static const char *const skip_suffixes[] = {
		".hmac", ".sig", ".sign", ".old", ".bak", ".dpkg-bak",
	};
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	ver[0] = '\0';
	if (base[0] == '.')
		return;
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		size_t l = strlen(prefixes[i]);
		if (strncmp(base, prefixes[i], l) || !base[l])
			continue;
		const char *v = base + l;
		size_t vl = strlen(v);
		for (size_t j = 0;
		     j < sizeof skip_suffixes / sizeof *skip_suffixes; j++) {
			size_t sl = strlen(skip_suffixes[j]);
			if (vl > sl && !strcmp(v + vl - sl, skip_suffixes[j]))
				return;
		}
		/* the RHEL rescue image is a copy, not a kernel of its own */
		if (strstr(v, "-rescue-") || !isdigit((unsigned char)v[0]))
			return;
		vmie_strlcpy(ver, v, size);
		return;
	}
}

/* Flavour suffixes of Debian and Ubuntu kernel packages. */
static const char *const boot_deb_flavours[] = {
	"amd64", "686", "686-pae", "486", "arm64", "armmp", "armmp-lpae",
	"cloud-amd64", "cloud-arm64", "rt-amd64", "rt-686-pae", "rt-arm64",
	"powerpc64le", "s390x", "bigmem", "k7", "xen-amd64", "xen-686",
	"openvz-amd64", "vserver-amd64", "generic", "generic-pae",
	"generic-lpae", "virtual", "server", "lowlatency", "aws", "kvm",
	"gcp", "gke", "azure", "oracle", "ibm", "oem", "hwe",
	"lowlatency-hwe", "generic-hwe", "ec2",
};
/* Flavour suffixes of SUSE kernel packages. */
static const char *const boot_suse_flavours[] = {
	"default", "xen", "pae", "ec2", "trace", "bigsmp", "azure", "vmi",
	"desktop", "ppc64", "rt", "kvmsmall", "preempt",
};

static bool boot_ends_with_flavour(const char *kver,
				   const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(list[i]), kl = strlen(kver);
		if (kl > fl + 1 && kver[kl - fl - 1] == '-' &&
		    !strcmp(kver + kl - fl, list[i]))
			return true;
	}
	return false;
}

/*
 * The heuristic: a distribution kernel's version string carries the
 * packaging marks of its distribution.  Debian/Ubuntu: "X.Y[.Z]-ABI-flavour"
 * with a numeric ABI and a known flavour ("5.10.0-28-amd64",
 * "5.15.0-91-generic").  Red Hat family (rhel, centos, ol, scientific,
 * rocky, almalinux): ".elN" ("4.18.0-372.el8.x86_64", "2.6.18-398.el5",
 * Oracle UEK "4.14.35-1902.el7uek.x86_64").  Fedora: ".fcN".  Amazon
 * Linux: ".amznN".  SUSE: "-flavour" ("4.12.14-122.37-default").  Any
 * version with "+" (a tree build) is custom.  Unknown distributions are
 * never called custom (no basis to judge).
 */
bool vmie_insp_kernel_is_custom(const char *distro, const char *kver)
{
	if (!kver[0] || !distro[0])
		return false;
	if (!strcmp(distro, "debian") || !strcmp(distro, "ubuntu") ||
	    !strcmp(distro, "linuxmint")) {
		const char *dash = strchr(kver, '-');
		if (strchr(kver, '+') && !strstr(kver, "+deb") &&
		    !strstr(kver, "+bpo"))
			return true;
		if (!dash || !isdigit((unsigned char)dash[1]))
			return true;
		return !boot_ends_with_flavour(kver, boot_deb_flavours,
			sizeof boot_deb_flavours / sizeof *boot_deb_flavours);
	}
	if (strchr(kver, '+'))
		return true;
	if (!strcmp(distro, "rhel") || !strcmp(distro, "centos") ||
	    !strcmp(distro, "ol") || !strcmp(distro, "scientific") ||
	    !strcmp(distro, "rocky") || !strcmp(distro, "almalinux")) {
		const char *e = strstr(kver, ".el");
		return !(e && isdigit((unsigned char)e[3]));
	}
	if (!strcmp(distro, "fedora")) {
		const char *e = strstr(kver, ".fc");
		return !(e && isdigit((unsigned char)e[3]));
	}
	if (!strcmp(distro, "amzn"))
		return !strstr(kver, ".amzn");
	if (!strcmp(distro, "sles") || !strcmp(distro, "sled") ||
	    !strcmp(distro, "opensuse"))
		return !boot_ends_with_flavour(kver, boot_suse_flavours,
			sizeof boot_suse_flavours / sizeof *boot_suse_flavours);
	return false;
}

/* Copy the next shell-like word of a grub.cfg line (quotes removed). */
static const char *boot_word(const char *p, char *out, size_t size)
{
	size_t o = 0;
	char q = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p; p++) {
		if (!q && (*p == '\'' || *p == '"')) {
			q = *p;
			continue;
		}
		if (q && *p == q) {
			q = 0;
			continue;
		}
		if (!q && (*p == ' ' || *p == '\t'))
			break;
		if (*p == '\\' && q != '\'' && p[1])
			p++;
		if (o + 1 < size)
			out[o++] = *p;
	}
	if (size)
		out[o] = '\0';
	return p;
}

static void boot_set_assign(const char *val, char *out, size_t size)
{
	char w[160];
	boot_word(val, w, sizeof w);
	vmie_strlcpy(out, w, size);
}

static bool boot_match(const struct vmie_insp_bootent *e, const char *spec)
{
	char buf[340];

	if (e->sub < 0) {
		snprintf(buf, sizeof buf, "%d", e->top);
		if (!strcmp(spec, buf) || !strcmp(spec, e->title) ||
		    (e->id[0] && !strcmp(spec, e->id)))
			return true;
		return false;
	}
	const char *gt = strchr(spec, '>');
	if (!gt) {      /* a submenu named alone: its first entry */
		if (e->sub != 0)
			return false;
		snprintf(buf, sizeof buf, "%d", e->top);
		return !strcmp(spec, buf) || !strcmp(spec, e->ptitle) ||
		       (e->pid[0] && !strcmp(spec, e->pid));
	}
	char head[170];
	size_t hl = (size_t)(gt - spec);
	if (hl >= sizeof head)
		return false;
	memcpy(head, spec, hl);
	head[hl] = '\0';
	const char *tail = gt + 1;
	bool head_ok, tail_ok;
	snprintf(buf, sizeof buf, "%d", e->top);
	head_ok = !strcmp(head, buf) || !strcmp(head, e->ptitle) ||
		  (e->pid[0] && !strcmp(head, e->pid));
	snprintf(buf, sizeof buf, "%d", e->sub);
	tail_ok = !strcmp(tail, buf) || !strcmp(tail, e->title) ||
		  (e->id[0] && !strcmp(tail, e->id));
	return head_ok && tail_ok;
}

static void boot_pick_default(struct vmie_insp_bootcfg *c, const char *spec)
{
	c->default_index = -1;
	if (!c->n)
		return;
	if (!spec || !spec[0]) {
		c->default_index = 0;
		return;
	}
	for (unsigned i = 0; i < c->n; i++)
		if (boot_match(&c->ents[i], spec)) {
			c->default_index = (int)i;
			return;
		}
	/* GRUB falls back to entry 0 when default names nothing. */
	c->default_index = 0;
}

static bool boot_is_kw(const char *s, const char *kw)
{
	size_t l = strlen(kw);
	return !strncmp(s, kw, l) && (s[l] == ' ' || s[l] == '\t');
}

int vmie_insp_parse_grub_cfg(const char *text, const char *saved_entry,
			     struct vmie_insp_bootcfg *c)
{
	/* frames: 'm' menuentry, 's' submenu, 'f' function or other */
	char frames[16];
	int depth = 0, top = -1, sub = -1;
	char ptitle[160] = "", pid[160] = "";
	struct vmie_insp_bootent *cur = NULL;
	const char *p = text;

	memset(c, 0, sizeof *c);
	c->timeout = -1;
	c->default_index = -1;
	char line[512];
	while (vmie_insp_next_line(&p, line, sizeof line)) {
		char *s = vmie_insp_trim(line);
		if (!s[0] || s[0] == '#')
			continue;
		size_t sl = strlen(s);
		bool opens = s[sl - 1] == '{';

		if (boot_is_kw(s, "menuentry") && opens) {
			char w[160];
			const char *q = boot_word(s + 9, w, sizeof w);
			if (depth < (int)sizeof frames)
				frames[depth] = 'm';
			depth++;
			cur = NULL;
			if (c->n >= sizeof c->ents / sizeof *c->ents)
				continue;
			cur = &c->ents[c->n++];
			memset(cur, 0, sizeof *cur);
			vmie_strlcpy(cur->title, w, sizeof cur->title);
			if (depth >= 2 && depth - 2 < (int)sizeof frames &&
			    frames[depth - 2] == 's') {
				cur->top = top;
				cur->sub = ++sub;
				vmie_strlcpy(cur->ptitle, ptitle,
					     sizeof cur->ptitle);
				vmie_strlcpy(cur->pid, pid, sizeof cur->pid);
			} else {
				cur->top = ++top;
				cur->sub = -1;
			}
			/* $menuentry_id_option 'id' or --id id */
			while (*q) {
				q = boot_word(q, w, sizeof w);
				if (!strcmp(w, "$menuentry_id_option") ||
				    !strcmp(w, "--id")) {
					boot_word(q, cur->id, sizeof cur->id);
					break;
				}
				while (*q == ' ' || *q == '\t')
					q++;
			}
			continue;
		}
		if (boot_is_kw(s, "submenu") && opens) {
			char w[160];
			const char *q = boot_word(s + 7, ptitle, sizeof ptitle);
			pid[0] = '\0';
			while (*q) {
				q = boot_word(q, w, sizeof w);
				if (!strcmp(w, "$menuentry_id_option") ||
				    !strcmp(w, "--id")) {
					boot_word(q, pid, sizeof pid);
					break;
				}
				while (*q == ' ' || *q == '\t')
					q++;
			}
			if (depth < (int)sizeof frames)
				frames[depth] = 's';
			depth++;
			top++;
			sub = -1;
			continue;
		}
		if (opens) {
			if (depth < (int)sizeof frames)
				frames[depth] = 'f';
			depth++;
			continue;
		}
		if (!strcmp(s, "}")) {
			if (depth > 0) {
				depth--;
				if (depth < (int)sizeof frames &&
				    frames[depth] == 'm')
					cur = NULL;
			}
			continue;
		}
		if (cur && (boot_is_kw(s, "linux") || boot_is_kw(s, "linux16") ||
			    boot_is_kw(s, "linuxefi") ||
			    boot_is_kw(s, "kernel"))) {
			if (!cur->kernel[0]) {
				const char *a = s;
				while (*a && *a != ' ' && *a != '\t')
					a++;
				boot_word(a, cur->kernel, sizeof cur->kernel);
				vmie_insp_kernel_version(cur->kernel,
					cur->version, sizeof cur->version);
			}
			continue;
		}
		if (!strcmp(s, "blscfg") || boot_is_kw(s, "blscfg")) {
			c->uses_bls = true;
			continue;
		}
		if (!strncmp(s, "set default=", 12)) {
			char v[96];
			boot_set_assign(s + 12, v, sizeof v);
			if (strstr(v, "next_entry"))
				continue;
			if (strstr(v, "saved_entry")) {
				c->saved = true;
				vmie_strlcpy(c->default_spec, v,
					     sizeof c->default_spec);
			} else {
				c->saved = false;
				vmie_strlcpy(c->default_spec, v,
					     sizeof c->default_spec);
			}
			continue;
		}
		if (!strncmp(s, "set timeout=", 12)) {
			char v[32];
			boot_set_assign(s + 12, v, sizeof v);
			if (isdigit((unsigned char)v[0]) ||
			    (v[0] == '-' && isdigit((unsigned char)v[1])))
				c->timeout = atoi(v);
			continue;
		}
		if (!strcmp(s, "load_env") || boot_is_kw(s, "load_env"))
			continue;
	}
	if (!c->n && !c->uses_bls)
		return -1;
	boot_pick_default(c, c->saved ? saved_entry : c->default_spec);
	return 0;
}

int vmie_insp_parse_menu_lst(const char *text, const char *saved_default,
			     struct vmie_insp_bootcfg *c)
{
	struct vmie_insp_bootent *cur = NULL;
	const char *p = text;

	memset(c, 0, sizeof *c);
	c->timeout = -1;
	c->default_index = -1;
	char line[512];
	while (vmie_insp_next_line(&p, line, sizeof line)) {
		char *s = vmie_insp_trim(line);
		if (!s[0] || s[0] == '#')
			continue;
		/* "keyword value" or "keyword=value" */
		char *v = s;
		while (*v && *v != ' ' && *v != '\t' && *v != '=')
			v++;
		if (*v)
			*v++ = '\0';
		v = vmie_insp_trim(v);
		if (!strcmp(s, "title")) {
			cur = NULL;
			if (c->n >= sizeof c->ents / sizeof *c->ents)
				continue;
			cur = &c->ents[c->n];
			memset(cur, 0, sizeof *cur);
			cur->top = (int)c->n++;
			cur->sub = -1;
			vmie_strlcpy(cur->title, v, sizeof cur->title);
		} else if (!strcmp(s, "kernel") && cur && !cur->kernel[0]) {
			boot_word(v, cur->kernel, sizeof cur->kernel);
			vmie_insp_kernel_version(cur->kernel, cur->version,
						 sizeof cur->version);
		} else if (!strcmp(s, "default") && !cur) {
			vmie_strlcpy(c->default_spec, v,
				     sizeof c->default_spec);
		} else if (!strcmp(s, "timeout") && !cur) {
			if (isdigit((unsigned char)v[0]))
				c->timeout = atoi(v);
		}
	}
	if (!c->n)
		return -1;
	if (!strcmp(c->default_spec, "saved")) {
		c->saved = true;
		boot_pick_default(c, saved_default);
	} else {
		boot_pick_default(c, c->default_spec);
	}
	return 0;
}

int vmie_insp_parse_bls_entry(const char *text, const char *id,
			      struct vmie_insp_bootent *e)
{
	const char *p = text;

	memset(e, 0, sizeof *e);
	e->sub = -1;
	vmie_strlcpy(e->id, id, sizeof e->id);
	while (p && *p) {
		char line[512];
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		if (l >= sizeof line)
			l = sizeof line - 1;
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl ? nl + 1 : NULL;
		char *s = vmie_insp_trim(line);
		char *v = s;
		while (*v && *v != ' ' && *v != '\t')
			v++;
		if (*v)
			*v++ = '\0';
		v = vmie_insp_trim(v);
		if (!strcmp(s, "title"))
			vmie_strlcpy(e->title, v, sizeof e->title);
		else if (!strcmp(s, "version"))
			vmie_strlcpy(e->version, v, sizeof e->version);
		else if (!strcmp(s, "linux") && !e->kernel[0])
			boot_word(v, e->kernel, sizeof e->kernel);
	}
	if (!e->kernel[0])
		return -1;
	if (!e->version[0])
		vmie_insp_kernel_version(e->kernel, e->version,
					 sizeof e->version);
	return 0;
}

void vmie_insp_bls_default(struct vmie_insp_bootcfg *c,
			   const char *saved_entry)
{
	c->default_index = -1;
	if (saved_entry && saved_entry[0]) {
		for (unsigned i = 0; i < c->n; i++)
			if (!strcmp(c->ents[i].id, saved_entry) ||
			    !strcmp(c->ents[i].title, saved_entry)) {
				c->default_index = (int)i;
				return;
			}
		if (isdigit((unsigned char)saved_entry[0])) {
			/* an index into the entries sorted newest first */
			unsigned want = (unsigned)atoi(saved_entry);
			unsigned order[32], n = 0;
			for (unsigned i = 0; i < c->n && n < 32; i++)
				order[n++] = i;
			for (unsigned i = 1; i < n; i++)
				for (unsigned j = i; j > 0 &&
				     vmie_insp_vercmp(c->ents[order[j]].version,
					c->ents[order[j - 1]].version) > 0; j--) {
					unsigned t = order[j];
					order[j] = order[j - 1];
					order[j - 1] = t;
				}
			if (want < n) {
				c->default_index = (int)order[want];
				return;
			}
		}
	}
	for (unsigned i = 0; i < c->n; i++)
		if (c->default_index < 0 ||
		    vmie_insp_vercmp(c->ents[i].version,
			c->ents[c->default_index].version) > 0)
			c->default_index = (int)i;
}
