/*
 * /etc/fstab for the target (fstab(5); rule PREP-013).
 *
 * Per entry, like virt-v2v's fstab conversion and AWS's importer:
 *  - the spec (field 1) is a kernel or hypervisor-dependent device name
 *    (/dev/sda1, /dev/xvda1, /dev/vdb1, /dev/hda1, /dev/nvme0n1p2,
 *    /dev/disk/by-id/..., /dev/disk/by-path/..., /dev/sr0...): the
 *    resolver's stable spec ("UUID=...") replaces it; when it names no
 *    imported file system the entry gets "nofail" (once; never for "/"
 *    and not for noauto entries, which are not mounted at boot);
 *  - other /dev/ names (/dev/mapper/vg-lv, /dev/vg/lv, /dev/md0,
 *    /dev/disk/by-id/{dm,md,lvm}-...) are stable across hypervisors:
 *    replaced only when the resolver knows them, otherwise left as they
 *    are;
 *  - the resolver is asked with the octal escapes of fstab(5) decoded;
 *  - UUID=, LABEL=, PARTUUID=, PARTLABEL= and /dev/disk/by-{uuid,label,
 *    partuuid,partlabel}/ are left as they are;
 *  - shares of the old hypervisor or of a network that the target may
 *    not reach (cifs, smbfs, smb3, vboxsf, vmhgfs, fuse.vmhgfs-fuse,
 *    prl_fs, virtiofs, 9p, sshfs, fuse.sshfs, and the old "fuse" form
 *    with a "sshfs#" or "vmhgfs-fuse#" spec) are commented out; NFS stays.
 * Only the field that changes is rewritten: the spacing, the other fields
 * and every other line stay byte for byte.
 */
#include "modify/edit_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

#define FSTAB_RULE "PREP-013"

struct fstab_field {
	size_t off, len;
};

static bool fstab_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Up to 6 fields of the line s; returns how many were found. */
static unsigned fstab_split(const char *s, struct fstab_field *f)
{
	unsigned n = 0;
	size_t i = 0;

	while (n < 6) {
		while (s[i] && fstab_ws(s[i]))
			i++;
		if (!s[i])
			break;
		f[n].off = i;
		while (s[i] && !fstab_ws(s[i]))
			i++;
		f[n].len = i - f[n].off;
		n++;
	}
	return n;
}

static bool fstab_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* "sd", then letters, then digits or nothing: the kernel names. */
static bool fstab_kname(const char *n, const char *pfx)
{
	size_t l = strlen(pfx);

	if (strncmp(n, pfx, l))
		return false;
	n += l;
	if (!islower((unsigned char)*n))
		return false;
	while (islower((unsigned char)*n))
		n++;
	while (isdigit((unsigned char)*n))
		n++;
	return !*n;
}

enum fstab_kind {
	FSTAB_OTHER,            /* not a device: proc, tmpfs, host:/x, ... */
	FSTAB_STABLE,           /* UUID=, LABEL=, by-uuid... */
	FSTAB_VOLATILE,         /* a name that changes with the hypervisor */
	FSTAB_DEVICE,           /* another /dev/ name (LVM, md...) */
};

static enum fstab_kind fstab_kind(const char *spec)
{
	static const char *const stable[] = {
		"UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=",
		"/dev/disk/by-uuid/", "/dev/disk/by-label/",
		"/dev/disk/by-partuuid/", "/dev/disk/by-partlabel/", NULL,
	};
	static const char *const volatile_pfx[] = {
		"/dev/disk/by-id/", "/dev/disk/by-path/", "/dev/nvme",
		"/dev/cciss/", "/dev/mmcblk", "/dev/sr", "/dev/scd",
		"/dev/cdrom", "/dev/dvd", "/dev/fd", NULL,
	};
	static const char *const knames[] = {
		"/dev/sd", "/dev/hd", "/dev/vd", "/dev/xvd", NULL,
	};

	for (const char *const *p = stable; *p; p++)
		if (!strncasecmp(spec, *p, strlen(*p)))
			return FSTAB_STABLE;
	if (!fstab_prefix(spec, "/dev/"))
		return FSTAB_OTHER;
	/* device-mapper, md and LVM ids do not depend on the hypervisor */
	if (fstab_prefix(spec, "/dev/disk/by-id/dm-") ||
	    fstab_prefix(spec, "/dev/disk/by-id/md-") ||
	    fstab_prefix(spec, "/dev/disk/by-id/lvm-"))
		return FSTAB_DEVICE;
	for (const char *const *p = knames; *p; p++)
		if (fstab_kname(spec, *p))
			return FSTAB_VOLATILE;
	for (const char *const *p = volatile_pfx; *p; p++)
		if (fstab_prefix(spec, *p))
			return FSTAB_VOLATILE;
	return FSTAB_DEVICE;
}

/* A share of the old hypervisor or network: commented out. */
static bool fstab_is_share(const char *spec, const char *type)
{
	static const char *const types[] = {
		"cifs", "smbfs", "smb3", "vboxsf", "vmhgfs",
		"fuse.vmhgfs-fuse", "prl_fs", "virtiofs", "9p", "sshfs",
		"fuse.sshfs", NULL,
	};
	char t[64];
	size_t i;

	for (i = 0; type[i] && i + 1 < sizeof t; i++)
		t[i] = (char)tolower((unsigned char)type[i]);
	t[i] = '\0';
	if (edit_word_in(t, types))
		return true;
	return !strcmp(t, "fuse") && (fstab_prefix(spec, "sshfs#") ||
				      fstab_prefix(spec, "vmhgfs-fuse"));
}

/* opt is one of the comma-separated options of opts[0..n). */
static bool fstab_has_opt(const char *opts, size_t n, const char *opt)
{
	size_t l = strlen(opt), i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && opts[j] != ',')
			j++;
		if (j - i == l && !memcmp(opts + i, opt, l))
			return true;
		i = j + 1;
	}
	return false;
}

/* The field with its octal escapes ("\040" for a space) decoded, as
 * the resolver knows the names (inspection decodes them the same way). */
static void fstab_unescape(char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			dst[o++] = (char)(((s[i + 1] - '0') << 6) |
					  ((s[i + 2] - '0') << 3) |
					  (s[i + 3] - '0'));
			i += 3;
			continue;
		}
		dst[o++] = s[i];
	}
	dst[o] = '\0';
}

/* The resolver's answer is used only when it is one plain field. */
static bool fstab_spec_ok(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (!n || n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '#')
			return false;
	}
	return true;
}

int vmie_edit_fstab(const char *text, size_t len, vmie_edit_resolve_fn res,
		    void *ctx, struct vmie_edit *out)
{
	struct edit_buf b = { 0 };
	struct edit_line l = { 0 };
	size_t pos = 0;
	char *s = NULL;
	char show[96], show2[96];

	memset(out, 0, sizeof *out);
	s = malloc(EDIT_MAX_LINE + 1);
	if (!s)
		return VMIE_ENOMEM;
	while (edit_next_line(text, len, &pos, &l)) {
		struct fstab_field f[6];
		char spec[EDIT_MAX_LINE + 1], type[EDIT_MAX_LINE + 1];
		char stable[256];
		unsigned nf;

		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1)) {
			edit_buf_line(&b, &l);
			continue;
		}
		nf = fstab_split(s, f);
		if (nf < 3 || s[f[0].off] == '#') {
			edit_buf_line(&b, &l);
			continue;
		}
		fstab_unescape(spec, s + f[0].off, f[0].len);
		memcpy(type, s + f[2].off, f[2].len);
		type[f[2].len] = '\0';
		edit_show(show, sizeof show, spec, f[0].len);
		edit_show(show2, sizeof show2, s + f[1].off, f[1].len);

		if (fstab_is_share(spec, type)) {
			edit_buf_comment(&b, &l);
			edit_change(out, FSTAB_RULE, "line %u: %.16s share %.80s "
				    "on %.80s commented out", l.no, type, show,
				    show2);
			continue;
		}
		enum fstab_kind kind = fstab_kind(spec);
		if (kind == FSTAB_OTHER || kind == FSTAB_STABLE) {
			edit_buf_line(&b, &l);
			continue;
		}
		stable[0] = '\0';
		bool ok = res && res(ctx, spec, stable, sizeof stable) &&
			  fstab_spec_ok(stable, sizeof stable);
		if (ok) {
			edit_buf_add(&b, s, f[0].off);
			edit_buf_str(&b, stable);
			edit_buf_add(&b, l.p + f[0].off + f[0].len,
				     l.len - f[0].off - f[0].len +
				     (l.nl ? 1 : 0));
			edit_change(out, FSTAB_RULE, "line %u: %.80s -> %.80s "
				    "(%.60s)", l.no, show, stable, show2);
			continue;
		}
		bool is_root = f[1].len == 1 && s[f[1].off] == '/';
		const char *opts = nf >= 4 ? s + f[3].off : "";
		size_t olen = nf >= 4 ? f[3].len : 0;
		if (kind == FSTAB_DEVICE || fstab_has_opt(opts, olen, "nofail") ||
		    fstab_has_opt(opts, olen, "noauto")) {
			edit_buf_line(&b, &l);
			continue;
		}
		if (is_root) {
			edit_buf_line(&b, &l);
			edit_note(out, FSTAB_RULE, "line %u: the root file system"
				  " %.80s names no imported file system: left "
				  "as it is", l.no, show);
			continue;
		}
		if (nf >= 4) {
			size_t end = f[3].off + f[3].len;
			edit_buf_add(&b, s, end);
			edit_buf_str(&b, ",nofail");
			edit_buf_add(&b, l.p + end, l.len - end + (l.nl ? 1 : 0));
		} else {
			size_t end = f[2].off + f[2].len;
			edit_buf_add(&b, s, end);
			edit_buf_str(&b, " defaults,nofail");
			edit_buf_add(&b, l.p + end, l.len - end + (l.nl ? 1 : 0));
		}
		edit_change(out, FSTAB_RULE, "line %u: %.80s (%.60s) matches no "
			    "imported file system: nofail added", l.no, show,
			    show2);
	}
	free(s);
	return edit_finish(out, &b);
}
