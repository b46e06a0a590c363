/*
 * /etc/fstab (fstab(5)): six whitespace-separated fields, octal escapes
 * ("\040" for a space) in the first two, '#' comments.  Also the device
 * name forms that fstab specs use, so that an entry can be matched against
 * the file systems vmie found: UUID=, LABEL=, PARTUUID=, PARTLABEL=,
 * /dev/disk/by-{uuid,label,partuuid,partlabel}/, kernel names (/dev/sda1,
 * /dev/vda1, /dev/xvda1, /dev/hda1, /dev/nvme0n1p1, /dev/mmcblk0p1) and
 * LVM names (/dev/mapper/vg-lv with "--" for a '-', /dev/vg/lv).
 */
#include "inspect/insp_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Next field of an fstab line into out, octal escapes decoded. */
static const char *fstab_field(const char *p, char *out, size_t size)
{
	size_t o = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
		char c = *p++;
		if (c == '\\' && p[0] >= '0' && p[0] <= '7' &&
		    p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
			c = (char)(((p[0] - '0') << 6) | ((p[1] - '0') << 3) |
				   (p[2] - '0'));
			p += 3;
		}
		if (o + 1 < size)
			out[o++] = c;
	}
	if (size)
		out[o] = '\0';
	return p;
}

static bool fstab_has_opt(const char *opts, const char *opt)
{
	size_t l = strlen(opt);
	const char *p = opts;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n == l && !strncmp(p, opt, l))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

enum vmie_fstab_spec vmie_insp_spec_kind(const char *spec, bool *stable)
{
	static const struct {
		const char *prefix;
		enum vmie_fstab_spec kind;
	} kinds[] = {
		{ "UUID=", VMIE_SPEC_UUID },
		{ "LABEL=", VMIE_SPEC_LABEL },
		{ "PARTUUID=", VMIE_SPEC_PARTUUID },
		{ "PARTLABEL=", VMIE_SPEC_PARTLABEL },
		{ "/dev/disk/by-uuid/", VMIE_SPEC_UUID },
		{ "/dev/disk/by-label/", VMIE_SPEC_LABEL },
		{ "/dev/disk/by-partuuid/", VMIE_SPEC_PARTUUID },
		{ "/dev/disk/by-partlabel/", VMIE_SPEC_PARTLABEL },
	};
	char vg[128], lv[128];

	*stable = false;
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (!strncmp(spec, kinds[i].prefix, strlen(kinds[i].prefix))) {
			*stable = true;
			return kinds[i].kind;
		}
	if (strncmp(spec, "/dev/", 5))
		return VMIE_SPEC_OTHER;
	if (vmie_insp_parse_lvname(spec, vg, sizeof vg, lv, sizeof lv))
		*stable = true;
	return VMIE_SPEC_DEVICE;
}

int vmie_insp_parse_fstab(const char *text, unsigned max,
			  struct vmie_insp_fstab **out, unsigned *n)
{
	struct vmie_insp_fstab *v = NULL;
	unsigned cnt = 0, cap = 0;
	const char *p = text;

	*out = NULL;
	*n = 0;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		char spec[200], mp[200], type[32], opts[200];
		const char *q = p;

		p = e ? e + 1 : NULL;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '#' || *q == '\n' || *q == '\r' || !*q)
			continue;
		q = fstab_field(q, spec, sizeof spec);
		q = fstab_field(q, mp, sizeof mp);
		q = fstab_field(q, type, sizeof type);
		fstab_field(q, opts, sizeof opts);
		if (!spec[0] || !mp[0])
			continue;
		if (cnt >= max)
			break;
		if (cnt == cap) {
			unsigned nc = cap ? cap * 2 : 16;
			struct vmie_insp_fstab *t = realloc(v, nc * sizeof *v);
			if (!t) {
				free(v);
				return VMIE_ENOMEM;
			}
			v = t;
			cap = nc;
		}
		struct vmie_insp_fstab *f = &v[cnt++];
		memset(f, 0, sizeof *f);
		vmie_strlcpy(f->spec, spec, sizeof f->spec);
		vmie_strlcpy(f->mountpoint, mp, sizeof f->mountpoint);
		vmie_strlcpy(f->type, type[0] ? type : "auto", sizeof f->type);
		vmie_strlcpy(f->options, opts[0] ? opts : "defaults",
			     sizeof f->options);
		f->spec_kind = vmie_insp_spec_kind(spec, &f->stable_name);
		f->nofail = fstab_has_opt(f->options, "nofail") ||
			    fstab_has_opt(f->options, "noauto");
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* "a" -> 0, "z" -> 25, "aa" -> 26 (the sd naming scheme). */
static bool fstab_letters(const char **pp, int *idx)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (*p >= 'a' && *p <= 'z' && n < 3) {
		v = v * 26 + (*p - 'a' + 1);
		p++;
		n++;
	}
	if (!n)
		return false;
	*idx = v - 1;
	*pp = p;
	return true;
}

static bool fstab_number(const char **pp, int *v)
{
	const char *p = *pp;
	long n = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p) && n < 100000)
		n = n * 10 + (*p++ - '0');
	*v = (int)n;
	*pp = p;
	return true;
}

bool vmie_insp_parse_devname(const char *dev, int *disk, int *part)
{
	static const char *const letter_kinds[] = { "sd", "vd", "xvd", "hd" };
	const char *p;

	if (strncmp(dev, "/dev/", 5))
		return false;
	p = dev + 5;
	*part = 0;
	for (size_t i = 0; i < sizeof letter_kinds / sizeof *letter_kinds;
	     i++) {
		size_t l = strlen(letter_kinds[i]);
		if (strncmp(p, letter_kinds[i], l))
			continue;
		p += l;
		if (!fstab_letters(&p, disk))
			return false;
		if (*p && !fstab_number(&p, part))
			return false;
		return !*p;
	}
	if (!strncmp(p, "nvme", 4) || !strncmp(p, "mmcblk", 6)) {
		int ns;
		p += p[0] == 'n' ? 4 : 6;
		if (!fstab_number(&p, disk))
			return false;
		if (!strncmp(dev + 5, "nvme", 4)) {
			if (*p++ != 'n' || !fstab_number(&p, &ns))
				return false;
		}
		if (!*p)
			return true;
		if (*p++ != 'p' || !fstab_number(&p, part))
			return false;
		return !*p;
	}
	return false;
}

bool vmie_insp_parse_lvname(const char *dev, char *vg, size_t vgsize,
			    char *lv, size_t lvsize)
{
	static const char *const not_vgs[] = {
		"disk", "md", "cciss", "block", "char", "bus", "input", "pts",
		"shm", "mqueue", "hugepages", "net", "snd", "dri", "fd",
		"cdrom", "loop",
	};
	size_t o;

	if (!strncmp(dev, "/dev/mapper/", 12)) {
		const char *p = dev + 12;
		o = 0;
		/* a single '-' separates VG and LV; "--" is a literal '-' */
		while (*p) {
			if (p[0] == '-' && p[1] == '-') {
				if (o + 1 < vgsize)
					vg[o++] = '-';
				p += 2;
				continue;
			}
			if (*p == '-')
				break;
			if (o + 1 < vgsize)
				vg[o++] = *p;
			p++;
		}
		vg[o] = '\0';
		if (*p != '-' || !o)
			return false;
		p++;
		o = 0;
		while (*p) {
			if (p[0] == '-' && p[1] == '-')
				p++;
			if (o + 1 < lvsize)
				lv[o++] = *p;
			p++;
		}
		lv[o] = '\0';
		return o > 0;
	}
	if (strncmp(dev, "/dev/", 5))
		return false;
	const char *a = dev + 5, *slash = strchr(a, '/');
	if (!slash || slash == a || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (size_t i = 0; i < sizeof not_vgs / sizeof *not_vgs; i++)
		if ((size_t)(slash - a) == strlen(not_vgs[i]) &&
		    !strncmp(a, not_vgs[i], strlen(not_vgs[i])))
			return false;
	o = (size_t)(slash - a);
	if (o >= vgsize)
		o = vgsize - 1;
	memcpy(vg, a, o);
	vg[o] = '\0';
	vmie_strlcpy(lv, slash + 1, lvsize);
	return true;
}
