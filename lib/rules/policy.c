/* Policy files: parser and lookups.  See policy.h and the syntax comment at
 * the top of policies/aws-current. */
#include "rules/policy.h"
#include "core/util.h"
#include "core/vmie_build.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_MAX_BYTES (4u << 20)
#define POLICY_MAX_ROWS 4096

struct pline {
	const char *path;
	unsigned line;
	unsigned n;
	char *w[VMIE_POLICY_MAX_WORDS];
};

static int perr(struct vmie_err *err, const struct pline *l, unsigned field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int perr(struct vmie_err *err, const struct pline *l, unsigned field,
		const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (field)
		return VMIE_ERR(err, VMIE_EINVAL, "policy %s:%u: field %u ('%s'): %s",
				l->path, l->line, field + 1,
				field < l->n ? l->w[field] : "", msg);
	return VMIE_ERR(err, VMIE_EINVAL, "policy %s:%u: %s", l->path, l->line, msg);
}

/* Split a line in place into words; quotes group words. */
static int split(char *s, struct pline *l, struct vmie_err *err)
{
	l->n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			break;
		if (l->n == VMIE_POLICY_MAX_WORDS)
			return perr(err, l, 0, "too many words (max %d)",
				    VMIE_POLICY_MAX_WORDS);
		if (*s == '"') {
			char *end = strchr(s + 1, '"');
			if (!end)
				return perr(err, l, 0, "unterminated quoted string");
			*end = 0;
			l->w[l->n++] = s + 1;
			s = end + 1;
			continue;
		}
		l->w[l->n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		if (*s)
			*s++ = 0;
	}
	return 0;
}

static bool is_rule_id(const char *s)
{
	/* FMT-001, BOOT-006, PREP-018 ... */
	const char *dash = strchr(s, '-');
	if (!dash || dash == s || dash - s > 6 || strlen(dash + 1) != 3)
		return false;
	for (const char *p = s; p < dash; p++)
		if (!isupper((unsigned char)*p))
			return false;
	for (const char *p = dash + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static bool is_version(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

static void *grow(void *arr, unsigned n, size_t elem)
{
	if (n >= POLICY_MAX_ROWS)
		return NULL;
	void *p = realloc(arr, (n + 1) * elem);
	if (p)
		memset((char *)p + n * elem, 0, elem);
	return p;
}

static int parse_linux(struct vmie_policy *p, struct pline *l,
		       struct vmie_err *err)
{
	if (l->n < 4)
		return perr(err, l, 0, "expected: linux DISTRO VERSIONS [sp N] "
			    "kernel K... | kernel-suffix S...");
	void *g = grow(p->linux_rows, p->n_linux, sizeof *p->linux_rows);
	if (!g)
		return perr(err, l, 0, "too many rows or out of memory");
	p->linux_rows = g;
	struct vmie_policy_linux *r = &p->linux_rows[p->n_linux];
	r->line = l->line;
	vmie_strlcpy(r->distro, l->w[1], sizeof r->distro);
	const char *v = l->w[2];
	if (strcmp(v, "-") && strcmp(v, "any")) {
		char lo[24] = "", hi[24] = "";
		const char *dash = strchr(v, '-');
		if (dash) {
			size_t n = (size_t)(dash - v);
			if (n >= sizeof lo || strlen(dash + 1) >= sizeof hi)
				return perr(err, l, 2, "version too long");
			memcpy(lo, v, n);
			strcpy(hi, dash + 1);
		} else {
			if (strlen(v) >= sizeof lo)
				return perr(err, l, 2, "version too long");
			strcpy(lo, v);
			strcpy(hi, v);
			r->ver_prefix = true;
		}
		if (!is_version(lo) || !is_version(hi))
			return perr(err, l, 2, "not a version or range (e.g. 7, 7.0-7.9)");
		if (vmie_version_cmp(lo, hi) > 0)
			return perr(err, l, 2, "range is backwards");
		strcpy(r->ver_lo, lo);
		strcpy(r->ver_hi, hi);
	}
	unsigned i = 3;
	if (i < l->n && !strcmp(l->w[i], "sp")) {
		if (i + 1 >= l->n)
			return perr(err, l, i, "sp needs a list of numbers");
		char *save = NULL, buf[64];
		vmie_strlcpy(buf, l->w[i + 1], sizeof buf);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *end;
			long n = strtol(t, &end, 10);
			if (*end || n < 0 || n > 99 || r->n_sp == 8)
				return perr(err, l, i + 1, "service packs are numbers 0-99, comma separated");
			r->sp[r->n_sp++] = (int)n;
		}
		i += 2;
	}
	if (i >= l->n || (strcmp(l->w[i], "kernel") && strcmp(l->w[i], "kernel-suffix")))
		return perr(err, l, i, "expected 'kernel' or 'kernel-suffix'");
	r->kernel_suffix = !strcmp(l->w[i], "kernel-suffix");
	i++;
	if (i >= l->n)
		return perr(err, l, i - 1, "needs at least one kernel (or 'any')");
	for (; i < l->n; i++) {
		if (!strcmp(l->w[i], "any")) {
			r->kernel_any = true;
			continue;
		}
		if (r->n_kernels == 16 || strlen(l->w[i]) >= sizeof r->kernels[0])
			return perr(err, l, i, "too many or too long kernels");
		if (!r->kernel_suffix && !isdigit((unsigned char)l->w[i][0]))
			return perr(err, l, i, "a kernel series starts with a digit");
		strcpy(r->kernels[r->n_kernels++], l->w[i]);
	}
	p->n_linux++;
	return 0;
}

static const char *const known_products[] = {
	"server-2003", "server-2003-r2", "server-2008", "server-2008-r2",
	"server-2012", "server-2012-r2", "server-2016", "server-1709",
	"server-1803", "server-2019", "server-2022", "server-2025",
	"xp", "vista", "7", "8", "8.1", "10", "11", NULL,
};
static const char *const known_editions[] = {
	"standard", "datacenter", "enterprise", "web", "home", "professional",
	"ultimate", "education", "foundation", "essentials", NULL,
};

/* The keys the rules read (REQUIREMENTS.md rule in brackets).  A key that
 * is not here is refused: a misspelt key would otherwise leave its rule
 * on a built-in default without a word. */
static const char *const known_limits[] = {
	"max_disk_size",        /* DSK-001 */
	"manifest_threshold",   /* DSK-002 */
	"max_volumes",          /* DSK-003 */
	"boot_volume_max",      /* DSK-006 */
	"linux_min_free",       /* PREP-001 */
	"windows_min_free",     /* PREP-002 */
	NULL,
};
static const char *const known_sets[] = {
	"input_formats",        /* FMT-001 */
	"linux_filesystems",    /* FS-001 */
	"linux_partition_tables", /* FS-003 */
	"windows_partition_tables", /* FS-004 */
	"windows_gpt_formats",  /* FS-004 */
	"linux_bootloaders",    /* BOOT-005 */
	"linux_initrd_drivers", /* PREP-015 */
	"windows_boot_drivers", /* PREP-015, the Windows side */
	"linux_instance_types", /* information (seed 001) */
	"p2v_mbr_types",        /* OS-010 */
	"p2v_gpt_types",        /* OS-010 */
	"p2v_labels",           /* OS-010 */
	"target_disk_bus",      /* the boot check's disk bus (one value) */
	"target_nic",           /* the boot check's NIC model (one value) */
	NULL,
};

const char *const vmie_policy_disk_buses[] = { "virtio", "scsi", "nvme",
					       "sata", "ide", NULL };
const char *const vmie_policy_nics[] = { "virtio-net-pci", "e1000", "e1000e",
					 "rtl8139", "vmxnet3", "none", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcasecmp(*list, s))
			return true;
	return false;
}

static int parse_windows(struct vmie_policy *p, struct pline *l,
			 struct vmie_err *err)
{
	if (l->n < 2)
		return perr(err, l, 0, "expected: windows PRODUCT editions E... bits B...");
	if (!in_list(known_products, l->w[1]))
		return perr(err, l, 1, "unknown Windows product (known: server-2003 "
			    "... server-2019, 7, 8, 8.1, 10, 11)");
	void *g = grow(p->windows_rows, p->n_windows, sizeof *p->windows_rows);
	if (!g)
		return perr(err, l, 0, "too many rows or out of memory");
	p->windows_rows = g;
	struct vmie_policy_windows *r = &p->windows_rows[p->n_windows];
	r->line = l->line;
	vmie_strlcpy(r->product, l->w[1], sizeof r->product);
	enum { NONE, ED, BITS } mode = NONE;
	for (unsigned i = 2; i < l->n; i++) {
		const char *w = l->w[i];
		if (!strcmp(w, "editions")) {
			mode = ED;
		} else if (!strcmp(w, "bits")) {
			mode = BITS;
		} else if (!strncmp(w, "sp>=", 4)) {
			char *end;
			long n = strtol(w + 4, &end, 10);
			if (*end || n < 1 || n > 9)
				return perr(err, l, i, "sp>=N with N 1-9");
			r->min_sp = (int)n;
			mode = NONE;
		} else if (!strcmp(w, "us-english")) {
			r->us_english = true;
			mode = NONE;
		} else if (!strcmp(w, "uefi")) {
			r->uefi_required = true;
			mode = NONE;
		} else if (!strcmp(w, "default-regions-only")) {
			r->default_regions_only = true;
			mode = NONE;
		} else if (!strcmp(w, "32bit-default-regions-only")) {
			r->bit32_default_regions_only = true;
			mode = NONE;
		} else if (mode == ED) {
			if (!in_list(known_editions, w))
				return perr(err, l, i, "unknown edition");
			if (r->n_editions == 8)
				return perr(err, l, i, "too many editions");
			vmie_strlcpy(r->editions[r->n_editions++], w, sizeof r->editions[0]);
			for (char *c = r->editions[r->n_editions - 1]; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		} else if (mode == BITS) {
			if (!strcmp(w, "32"))
				r->bits32 = true;
			else if (!strcmp(w, "64"))
				r->bits64 = true;
			else
				return perr(err, l, i, "bits are 32 or 64");
		} else {
			return perr(err, l, i, "unknown word (expected editions, bits, "
				    "sp>=N, us-english, uefi, default-regions-only, "
				    "32bit-default-regions-only)");
		}
	}
	if (!r->n_editions)
		return perr(err, l, 0, "no editions listed");
	if (!r->bits32 && !r->bits64)
		return perr(err, l, 0, "no bits listed (32 and/or 64)");
	p->n_windows++;
	return 0;
}

static int parse_line(struct vmie_policy *p, struct pline *l,
		      struct vmie_err *err)
{
	const char *kw = l->w[0];
	if (!strcmp(kw, "name") || !strcmp(kw, "description")) {
		if (l->n != 2)
			return perr(err, l, 0, "%s takes one value (quote blanks)", kw);
		if (*kw == 'n')
			vmie_strlcpy(p->name, l->w[1], sizeof p->name);
		else
			vmie_strlcpy(p->description, l->w[1], sizeof p->description);
		return 0;
	}
	if (!strcmp(kw, "limit")) {
		uint64_t v;
		if (l->n != 3)
			return perr(err, l, 0, "expected: limit KEY VALUE");
		if (!in_list(known_limits, l->w[1]))
			return perr(err, l, 1, "unknown limit (known: max_disk_size, "
				    "manifest_threshold, max_volumes, boot_volume_max, "
				    "linux_min_free, windows_min_free)");
		if (vmie_parse_size(l->w[2], &v))
			return perr(err, l, 2, "not a size or count (e.g. 21, 250MiB, 16TiB)");
		for (unsigned i = 0; i < p->n_limits; i++)
			if (!strcmp(p->limits[i].key, l->w[1]))
				return perr(err, l, 1, "limit set twice");
		void *g = grow(p->limits, p->n_limits, sizeof *p->limits);
		if (!g)
			return perr(err, l, 0, "too many limits");
		p->limits = g;
		vmie_strlcpy(p->limits[p->n_limits].key, l->w[1], sizeof p->limits[0].key);
		p->limits[p->n_limits++].value = v;
		return 0;
	}
	if (!strcmp(kw, "allow")) {
		if (l->n < 3)
			return perr(err, l, 0, "expected: allow KEY VALUE...");
		if (!in_list(known_sets, l->w[1]))
			return perr(err, l, 1, "unknown set (known: input_formats, "
				    "linux_filesystems, linux_partition_tables, "
				    "windows_partition_tables, windows_gpt_formats, "
				    "linux_bootloaders, linux_initrd_drivers, "
				    "windows_boot_drivers, "
				    "linux_instance_types, p2v_mbr_types, p2v_gpt_types, "
				    "p2v_labels, target_disk_bus, target_nic)");
		for (unsigned i = 0; i < p->n_sets; i++)
			if (!strcmp(p->sets[i].key, l->w[1]))
				return perr(err, l, 1, "set twice (list every value "
					    "on one line)");
		bool bus = !strcmp(l->w[1], "target_disk_bus");
		if (bus || !strcmp(l->w[1], "target_nic")) {
			if (l->n != 3)
				return perr(err, l, 0, "%s takes one value",
					    l->w[1]);
			if (!in_list(bus ? vmie_policy_disk_buses :
				     vmie_policy_nics, l->w[2]))
				return perr(err, l, 2, bus ? "not a disk bus "
					    "(virtio, scsi, nvme, sata, ide)" :
					    "not a NIC model (virtio-net-pci, "
					    "e1000, e1000e, rtl8139, vmxnet3, "
					    "none)");
		}
		for (unsigned i = 2; i < l->n; i++)
			if (strlen(l->w[i]) >= sizeof p->sets[0].values[0])
				return perr(err, l, i, "value too long (max %zu "
					    "characters)",
					    sizeof p->sets[0].values[0] - 1);
		void *g = grow(p->sets, p->n_sets, sizeof *p->sets);
		if (!g)
			return perr(err, l, 0, "too many sets");
		p->sets = g;
		struct vmie_policy_set *s = &p->sets[p->n_sets];
		vmie_strlcpy(s->key, l->w[1], sizeof s->key);
		s->values = calloc(l->n - 2, sizeof *s->values);
		if (!s->values)
			return perr(err, l, 0, "out of memory");
		for (unsigned i = 2; i < l->n; i++)
			vmie_strlcpy(s->values[s->n++], l->w[i], sizeof s->values[0]);
		p->n_sets++;
		return 0;
	}
	if (!strcmp(kw, "rule")) {
		if (l->n != 3)
			return perr(err, l, 0, "expected: rule RULE-ID on|off");
		if (!is_rule_id(l->w[1]))
			return perr(err, l, 1, "not a rule id like BOOT-003");
		if (!vmie_rule_known(l->w[1]))
			return perr(err, l, 1, "no such rule in REQUIREMENTS.md");
		for (unsigned i = 0; i < p->n_switches; i++)
			if (!strcmp(p->switches[i].rule, l->w[1]))
				return perr(err, l, 1, "rule switched twice");
		if (strcmp(l->w[2], "on") && strcmp(l->w[2], "off"))
			return perr(err, l, 2, "expected on or off");
		void *g = grow(p->switches, p->n_switches, sizeof *p->switches);
		if (!g)
			return perr(err, l, 0, "too many rules");
		p->switches = g;
		vmie_strlcpy(p->switches[p->n_switches].rule, l->w[1], sizeof p->switches[0].rule);
		p->switches[p->n_switches++].on = !strcmp(l->w[2], "on");
		return 0;
	}
	if (!strcmp(kw, "linux"))
		return parse_linux(p, l, err);
	if (!strcmp(kw, "windows"))
		return parse_windows(p, l, err);
	if (!strcmp(kw, "dotnet")) {
		if (l->n != 3)
			return perr(err, l, 0, "expected: dotnet PRODUCT MIN-VERSION");
		if (!in_list(known_products, l->w[1]))
			return perr(err, l, 1, "unknown Windows product");
		if (!is_version(l->w[2]))
			return perr(err, l, 2, "not a version");
		void *g = grow(p->dotnet_rows, p->n_dotnet, sizeof *p->dotnet_rows);
		if (!g)
			return perr(err, l, 0, "too many rows");
		p->dotnet_rows = g;
		vmie_strlcpy(p->dotnet_rows[p->n_dotnet].product, l->w[1], sizeof p->dotnet_rows[0].product);
		vmie_strlcpy(p->dotnet_rows[p->n_dotnet++].min_version, l->w[2], sizeof p->dotnet_rows[0].min_version);
		return 0;
	}
	return perr(err, l, 0, "unknown statement '%s' (expected name, description, "
		    "limit, allow, rule, linux, windows, dotnet)", kw);
}

int vmie_policy_parse(const char *text, const char *path,
		      struct vmie_policy **out, struct vmie_err *err)
{
	struct vmie_policy *p = calloc(1, sizeof *p);
	char *copy = strdup(text);
	int r = 0;
	if (!p || !copy) {
		free(p);
		free(copy);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	vmie_strlcpy(p->path, path, sizeof p->path);
	struct pline l = { .path = path };
	char *save = NULL;
	unsigned lineno = 0;
	/* strtok_r would skip empty lines and lose line numbers: walk by hand */
	for (char *s = copy, *nl; s && *s; s = nl) {
		nl = strchr(s, '\n');
		if (nl)
			*nl++ = 0;
		l.line = ++lineno;
		if ((r = split(s, &l, err)))
			goto out;
		if (!l.n)
			continue;
		if ((r = parse_line(p, &l, err)))
			goto out;
	}
	(void)save;
	if (!p->name[0]) {
		r = VMIE_ERR(err, VMIE_EINVAL, "policy %s: no 'name' statement", path);
		goto out;
	}
	if (!p->n_linux && !p->n_windows) {
		r = VMIE_ERR(err, VMIE_EINVAL, "policy %s: lists no operating "
			     "systems (linux/windows rows)", path);
		goto out;
	}
out:
	free(copy);
	if (r) {
		vmie_policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static char *read_text(const char *path, struct vmie_err *err, int *rc)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *buf = NULL;
	if (!f) {
		*rc = VMIE_ERR_SYS(err, "policy %s", path);
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > POLICY_MAX_BYTES) {
		*rc = VMIE_ERR(err, VMIE_EINVAL, "policy %s: not a regular file "
			       "under 4 MiB", path);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		*rc = VMIE_ERR_SYS(err, "policy %s: read", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[st.st_size] = 0;
	if (memchr(buf, 0, (size_t)st.st_size)) {
		*rc = VMIE_ERR(err, VMIE_EINVAL, "policy %s: binary file", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The directories a policy name is looked up in, in order:
 *   $VMIE_POLICY_DIR;
 *   when this binary runs from inside its build directory, the source
 *   tree's policies/ (a developer's build never reads an older installed
 *   copy);
 *   the installed directory relative to the binary (bin/../share/vmie/
 *   policies: a tree staged under DESTDIR, or moved as a whole);
 *   the installed directory, $prefix/share/vmie/policies.
 * Never the current directory: `vmie check` run in a directory someone
 * else wrote must not judge images by their policy. */
#define POLICY_DIRS 4
static size_t policy_dirs(char dirs[POLICY_DIRS][PATH_MAX])
{
	size_t n = 0;
	char exe[PATH_MAX];
	const char *env = getenv("VMIE_POLICY_DIR");
	if (env && env[0])
		vmie_strlcpy(dirs[n++], env, PATH_MAX);
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		size_t blen = strlen(VMIE_BUILD_DIR);
		if (!strncmp(exe, VMIE_BUILD_DIR, blen) &&
		    (exe[blen] == '/' || exe[blen] == 0))
			vmie_strlcpy(dirs[n++], VMIE_SOURCE_POLICY_DIR, PATH_MAX);
		if (VMIE_POLICY_EXE_REL[0] && slash &&
		    snprintf(dirs[n], PATH_MAX, "%s/%s", exe,
			     VMIE_POLICY_EXE_REL) < PATH_MAX)
			n++;
	}
	vmie_strlcpy(dirs[n++], VMIE_POLICY_INSTALL_DIR, PATH_MAX);
	return n;
}

int vmie_policy_load(const char *name, struct vmie_policy **out,
		     struct vmie_err *err)
{
	char path[512];
	int rc = 0;
	if (strchr(name, '/')) {
		vmie_strlcpy(path, name, sizeof path);
	} else {
		char dirs[POLICY_DIRS][PATH_MAX];
		size_t n = policy_dirs(dirs);
		path[0] = 0;
		for (size_t i = 0; i < n; i++) {
			struct stat st;
			char cand[sizeof path];
			int w = snprintf(cand, sizeof cand, "%s/%s", dirs[i],
					 name);
			if (w > 0 && (size_t)w < sizeof cand &&
			    stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
				vmie_strlcpy(path, cand, sizeof path);
				break;
			}
		}
		if (!path[0])
			return VMIE_ERR(err, VMIE_ENOENT, "policy '%s' not found "
					"(built in: aws-current, aws-legacy, in "
					"%s; or give a file path)", name,
					dirs[n - 1]);
	}
	char *text = read_text(path, err, &rc);
	if (!text)
		return rc;
	rc = vmie_policy_parse(text, path, out, err);
	free(text);
	return rc;
}

void vmie_policy_free(struct vmie_policy *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_sets; i++)
		free(p->sets[i].values);
	free(p->sets);
	free(p->limits);
	free(p->switches);
	free(p->linux_rows);
	free(p->windows_rows);
	free(p->dotnet_rows);
	free(p);
}

uint64_t vmie_policy_limit(const struct vmie_policy *p, const char *key,
			   uint64_t def)
{
	for (unsigned i = 0; i < p->n_limits; i++)
		if (!strcmp(p->limits[i].key, key))
			return p->limits[i].value;
	return def;
}

static const struct vmie_policy_set *find_set(const struct vmie_policy *p,
					      const char *key)
{
	for (unsigned i = 0; i < p->n_sets; i++)
		if (!strcmp(p->sets[i].key, key))
			return &p->sets[i];
	return NULL;
}

const struct vmie_policy_set *vmie_policy_get_set(const struct vmie_policy *p,
						  const char *key)
{
	return find_set(p, key);
}

bool vmie_policy_has_set(const struct vmie_policy *p, const char *key)
{
	return find_set(p, key) != NULL;
}

bool vmie_policy_allows(const struct vmie_policy *p, const char *key,
			const char *value)
{
	const struct vmie_policy_set *s = find_set(p, key);
	if (!s)
		return true;
	for (unsigned i = 0; i < s->n; i++)
		if (!strcasecmp(s->values[i], value) || !strcmp(s->values[i], "any"))
			return true;
	return false;
}

bool vmie_policy_rule_on(const struct vmie_policy *p, const char *rule)
{
	for (unsigned i = 0; i < p->n_switches; i++)
		if (!strcmp(p->switches[i].rule, rule))
			return p->switches[i].on;
	return true;
}

/* Next numeric component of a version string; *s advances past it and one
 * separator.  Returns -1 when there is none. */
static long next_num(const char **s)
{
	const char *p = *s;
	if (!isdigit((unsigned char)*p))
		return -1;
	long v = 0;
	while (isdigit((unsigned char)*p) && v < 100000000)
		v = v * 10 + (*p++ - '0');
	if (*p == '.')
		p++;
	*s = p;
	return v;
}

int vmie_version_cmp(const char *a, const char *b)
{
	for (;;) {
		long x = next_num(&a), y = next_num(&b);
		if (x < 0 && y < 0)
			return 0;
		if (x < 0)
			x = 0;
		if (y < 0)
			y = 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
}

bool vmie_kernel_matches(const char *series, const char *kernel)
{
	/* Each component of the series must equal the kernel's component at
	 * the same position; the kernel's next character must then end the
	 * component ('.', '-', '_' or end). Components may be like "0-27". */
	size_t n = strlen(series);
	if (strncmp(series, kernel, n))
		return false;
	char c = kernel[n];
	return c == 0 || c == '.' || c == '-' || c == '_' || c == '+';
}

static bool is_version_prefix_ok(const char *s)
{
	return isdigit((unsigned char)*s);
}

bool vmie_policy_linux_version_ok(const struct vmie_policy_linux *row,
				  const char *version)
{
	if (!row->ver_lo[0])
		return true;
	if (!version || !is_version_prefix_ok(version))
		return false;
	if (row->ver_prefix) {
		/* "10" matches 10, 10.13; "12.04" matches 12.04.5 */
		size_t n = strlen(row->ver_lo);
		return !strncmp(row->ver_lo, version, n) &&
		       (version[n] == 0 || version[n] == '.');
	}
	return vmie_version_cmp(version, row->ver_lo) >= 0 &&
	       vmie_version_cmp(version, row->ver_hi) <= 0;
}
