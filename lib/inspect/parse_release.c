/*
 * Parsers of the files that name a Linux distribution and its version:
 * os-release(5) (/etc/os-release, /usr/lib/os-release), lsb-release
 * (DISTRIB_ID, DISTRIB_RELEASE), the one-line release files of Red Hat-like
 * distributions (redhat-release, centos-release, oracle-release,
 * enterprise-release, system-release), SLES 11's SuSE-release (VERSION and
 * PATCHLEVEL, the service pack) and debian_version.
 *
 * Which file is consulted first is decided by the table in linux.c; these
 * functions only turn one file's text into a struct vmie_insp_release.
 */
#include "inspect/insp_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

static const struct {
	const char *id;         /* os-release ID or vendor spelling */
	const char *distro;     /* vmie's name */
} release_ids[] = {
	{ "rhel", "rhel" }, { "redhat", "rhel" }, { "centos", "centos" },
	{ "fedora", "fedora" }, { "ol", "ol" }, { "oracle", "ol" },
	{ "amzn", "amzn" }, { "amazon", "amzn" }, { "sles", "sles" },
	{ "sled", "sled" }, { "sles_sap", "sles" }, { "suse", "sles" },
	{ "opensuse", "opensuse" }, { "opensuse-leap", "opensuse" },
	{ "opensuse-tumbleweed", "opensuse" }, { "debian", "debian" },
	{ "ubuntu", "ubuntu" }, { "rocky", "rocky" },
	{ "almalinux", "almalinux" }, { "scientific", "scientific" },
	{ "linuxmint", "linuxmint" }, { "arch", "archlinux" },
	{ "alpine", "alpine" }, { "gentoo", "gentoo" },
};

const char *vmie_insp_distro_id(const char *id)
{
	for (size_t i = 0; i < sizeof release_ids / sizeof *release_ids; i++)
		if (!strcasecmp(id, release_ids[i].id))
			return release_ids[i].distro;
	return NULL;
}

static void release_init(struct vmie_insp_release *r)
{
	memset(r, 0, sizeof *r);
	r->major = r->minor = -1;
}

static void release_set_version(struct vmie_insp_release *r, const char *v)
{
	vmie_strlcpy(r->version, v, sizeof r->version);
	vmie_insp_split_version(v, &r->major, &r->minor);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int vmie_insp_parse_os_release(const char *text, struct vmie_insp_release *r)
{
	char id[64], v[64];

	release_init(r);
	if (!vmie_insp_shvar(text, "ID", id, sizeof id) || !id[0])
		return -1;
	lower(id);
	const char *d = vmie_insp_distro_id(id);
	vmie_strlcpy(r->distro, d ? d : id, sizeof r->distro);
	if (!vmie_insp_shvar(text, "PRETTY_NAME", r->product,
			     sizeof r->product) || !r->product[0])
		vmie_insp_shvar(text, "NAME", r->product, sizeof r->product);
	vmie_insp_shvar(text, "VERSION_CODENAME", r->codename,
			sizeof r->codename);
	if (vmie_insp_shvar(text, "VERSION_ID", v, sizeof v) && v[0])
		release_set_version(r, v);
	/* SLES 12 and 15 write the service pack as the minor version. */
	if (!strcmp(r->distro, "sles") || !strcmp(r->distro, "sled")) {
		if (r->minor > 0)
			snprintf(r->service_pack, sizeof r->service_pack,
				 "SP%d", r->minor);
	}
	return 0;
}

int vmie_insp_parse_lsb_release(const char *text,
				struct vmie_insp_release *r)
{
	char id[64], v[64];

	release_init(r);
	if (!vmie_insp_shvar(text, "DISTRIB_ID", id, sizeof id) || !id[0])
		return -1;
	lower(id);
	const char *d = vmie_insp_distro_id(id);
	vmie_strlcpy(r->distro, d ? d : id, sizeof r->distro);
	vmie_insp_shvar(text, "DISTRIB_DESCRIPTION", r->product,
			sizeof r->product);
	vmie_insp_shvar(text, "DISTRIB_CODENAME", r->codename,
			sizeof r->codename);
	if (vmie_insp_shvar(text, "DISTRIB_RELEASE", v, sizeof v) && v[0])
		release_set_version(r, v);
	return 0;
}

/* Vendors of the Red Hat-style one-line files, most specific first. */
static const struct {
	const char *prefix;
	const char *distro;
} release_vendors[] = {
	{ "Red Hat Enterprise Linux", "rhel" },
	{ "Red Hat Linux", "redhat-based" },
	{ "CentOS", "centos" },
	{ "Fedora", "fedora" },
	{ "Oracle Linux", "ol" },
	{ "Enterprise Linux Enterprise Linux", "ol" },
	{ "Amazon Linux", "amzn" },
	{ "Scientific Linux", "scientific" },
	{ "Rocky Linux", "rocky" },
	{ "AlmaLinux", "almalinux" },
};

int vmie_insp_parse_redhat_release(const char *text,
				   struct vmie_insp_release *r)
{
	char line[200], v[32];
	const char *nl, *rel;
	size_t n, o = 0;

	release_init(r);
	while (*text == '\n' || *text == ' ')
		text++;
	nl = strchr(text, '\n');
	n = nl ? (size_t)(nl - text) : strlen(text);
	if (n >= sizeof line)
		n = sizeof line - 1;
	memcpy(line, text, n);
	line[n] = '\0';
	vmie_insp_trim(line);
	for (size_t i = 0; i < sizeof release_vendors / sizeof *release_vendors;
	     i++) {
		size_t l = strlen(release_vendors[i].prefix);
		if (!strncmp(line, release_vendors[i].prefix, l)) {
			vmie_strlcpy(r->distro, release_vendors[i].distro,
				     sizeof r->distro);
			break;
		}
	}
	if (!r->distro[0])
		return -1;
	vmie_strlcpy(r->product, line, sizeof r->product);
	rel = strstr(line, " release ");
	if (!rel)
		return 0;
	rel += 9;
	/* Keep major.minor: "7.9.2009" is CentOS 7.9 (the third number is
	 * the build date of the media). */
	int dots = 0;
	while (o + 1 < sizeof v && (isdigit((unsigned char)rel[o]) ||
				    rel[o] == '.')) {
		if (rel[o] == '.' && ++dots == 2)
			break;
		v[o] = rel[o];
		o++;
	}
	v[o] = '\0';
	if (o && v[o - 1] == '.')
		v[o - 1] = '\0';
	if (v[0])
		release_set_version(r, v);
	return 0;
}

int vmie_insp_parse_suse_release(const char *text,
				 struct vmie_insp_release *r)
{
	char v[32], pl[32], line[160];
	const char *nl = strchr(text, '\n');
	size_t n = nl ? (size_t)(nl - text) : strlen(text);

	release_init(r);
	if (n >= sizeof line)
		n = sizeof line - 1;
	memcpy(line, text, n);
	line[n] = '\0';
	vmie_insp_trim(line);
	if (strstr(line, "openSUSE"))
		vmie_strlcpy(r->distro, "opensuse", sizeof r->distro);
	else if (strstr(line, "Desktop"))
		vmie_strlcpy(r->distro, "sled", sizeof r->distro);
	else if (strstr(line, "SUSE"))
		vmie_strlcpy(r->distro, "sles", sizeof r->distro);
	else
		return -1;
	vmie_strlcpy(r->product, line, sizeof r->product);
	/* "VERSION = 11": spaces around '=' are the SuSE-release style. */
	v[0] = pl[0] = '\0';
	for (const char *p = text, *e; p && *p; p = e ? e + 1 : NULL) {
		char buf[160];
		size_t l;
		e = strchr(p, '\n');
		l = e ? (size_t)(e - p) : strlen(p);
		if (l >= sizeof buf)
			continue;
		memcpy(buf, p, l);
		buf[l] = '\0';
		char *eq = strchr(buf, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *k = vmie_insp_trim(buf), *val = vmie_insp_trim(eq + 1);
		if (!strcmp(k, "VERSION"))
			vmie_strlcpy(v, val, sizeof v);
		else if (!strcmp(k, "PATCHLEVEL"))
			vmie_strlcpy(pl, val, sizeof pl);
	}
	if (v[0]) {
		char full[48];
		if (pl[0] && strcmp(pl, "0")) {
			vmie_insp_fmt(full, sizeof full, "%s.%s", v, pl);
			vmie_insp_fmt(r->service_pack, sizeof r->service_pack,
				      "SP%s", pl);
		} else {
			snprintf(full, sizeof full, "%s", v);
		}
		release_set_version(r, full);
		if (pl[0] && !strcmp(pl, "0"))
			r->minor = 0;
	}
	return 0;
}

int vmie_insp_parse_debian_version(const char *text,
				   struct vmie_insp_release *r)
{
	char line[64];
	const char *nl = strchr(text, '\n');
	size_t n = nl ? (size_t)(nl - text) : strlen(text);

	release_init(r);
	if (n >= sizeof line)
		n = sizeof line - 1;
	memcpy(line, text, n);
	line[n] = '\0';
	vmie_insp_trim(line);
	if (!line[0])
		return -1;
	vmie_strlcpy(r->distro, "debian", sizeof r->distro);
	if (isdigit((unsigned char)line[0]))
		release_set_version(r, line);
	else    /* "bookworm/sid": testing, no number */
		vmie_strlcpy(r->codename, line, sizeof r->codename);
	snprintf(r->product, sizeof r->product, "Debian GNU/Linux %s", line);
	return 0;
}
