/* lib/modify guest_ntfs.c: changing NTFS volumes made by mkntfs and
 * populated by ntfs_fixture (tests/fs/ntfs, libntfs-3g without FUSE),
 * through a copy-on-write overlay over the image opened as raw.  After the
 * changes and a flush, the overlay is converted to a raw file that the
 * ntfs-3g tools check independently (ntfsfix -n, ntfsresize --check, which
 * compares $Bitmap with every MFT record, ntfs-3g.probe --readwrite,
 * ntfsls -R, ntfscat, ntfsinfo), and the source image must be
 * byte-identical to before.  Round trip: case-insensitive lookup, a hive
 * sized file kept under a new name and rewritten, a directory grown by 300
 * new names, rename, readdir, a copy keeping times and security id.
 * Hostile: hibernated and dirty volumes (refused, nothing written), links
 * and metadata files as targets, a full volume, a device that is not
 * NTFS, an image without an overlay.  A partition: an MBR disk whose NTFS
 * partition is changed through a window over the overlay, the bytes
 * outside it untouched.
 *
 * ntfs_fixture is found as $BUILDDIR/tests/fs/ntfs/ntfs_fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "image/image.h"
#include "modify/guest.h"
#include "part/part.h"

static char tmpdir[256];
static char fixture[512];

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : 128;
}

/* Output of a shell command (malloc'd, NUL-terminated). */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	assert_non_null(b);
	size_t k;
	while ((k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap + 1);
			assert_non_null(b);
		}
	}
	pclose(f);
	b[n] = 0;
	return b;
}

static bool has_tools(void)
{
	return fixture[0] && !access(fixture, X_OK) &&
	       !sh("command -v mkntfs >/dev/null && command -v ntfscat "
		   ">/dev/null && command -v ntfsfix >/dev/null && "
		   "command -v ntfsinfo >/dev/null 2>&1");
}

/* A host file of n bytes: random, or the text given. */
static void host_file(const char *name, size_t n, const char *text)
{
	if (text)
		assert_int_equal(sh("printf '%%s' '%s' > '%s/%s'", text, tmpdir,
				    name), 0);
	else
		assert_int_equal(sh("head -c %zu /dev/urandom > '%s/%s'", n,
				    tmpdir, name), 0);
}

/* Whole host file (malloc'd). */
static char *slurp(const char *name, size_t *len)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

/* An NTFS image of mib MiB at $tmpdir/<tag>.img, populated by the
 * fixture ops given (space-separated, shell-quoted by the caller). */
static void make_image(char *img, size_t size, const char *tag,
		       unsigned mib, const char *ops)
{
	snprintf(img, size, "%s/%s.img", tmpdir, tag);
	assert_int_equal(sh("rm -f '%s' && truncate -s %uM '%s' && "
			    "mkntfs -F -Q -L Win '%s' >/dev/null 2>&1", img,
			    mib, img, img), 0);
	if (ops && ops[0])
		assert_int_equal(sh("cd '%s' && '%s' '%s' %s", tmpdir,
				    fixture, img, ops), 0);
}

/* The Windows-like tree every test starts from. */
static const char tree_ops[] =
	"mkdir:/Windows mkdir:/Windows/System32 "
	"mkdir:/Windows/System32/config "
	"file:/Windows/System32/config/SYSTEM=system "
	"file:/Windows/win.ini=ini "
	"mkdir:/Boot file:/Boot/BCD=bcd "
	"mkdir:/Users mkdir:/Windows/many "
	"'junction:/Documents and Settings=C:\\Users' "
	"'junction:/WinJ=C:\\Windows' "
	"symlink:/Windows/sys32=System32";

static const char ini_text[] = "[fonts]\r\n[extensions]\r\n";

static void make_tree(void)
{
	host_file("system", (5u << 20) / 2, NULL);     /* 2.5 MiB */
	host_file("system2", 3u << 20, NULL);
	host_file("bcd", 28672, NULL);
	host_file("ini", 0, ini_text);
}

struct fix {
	char img[512];          /* the source image */
	char pristine[600];     /* a copy to compare it with */
	char out[600];          /* the overlay converted */
	struct vmie_image *raw, *ov;
	struct vmie_guest *g;
};

static void fix_open(struct fix *x, const char *img)
{
	struct vmie_err e = { 0 };
	struct vmie_open_opts o = { .format = "raw" };
	memset(x, 0, sizeof *x);
	snprintf(x->img, sizeof x->img, "%s", img);
	snprintf(x->pristine, sizeof x->pristine, "%s.pristine", img);
	snprintf(x->out, sizeof x->out, "%s.out", img);
	assert_int_equal(sh("cp --sparse=always '%s' '%s'", x->img,
			    x->pristine), 0);
	assert_int_equal(vmie_image_open(x->img, &o, &x->raw, &e), 0);
	assert_int_equal(vmie_overlay_open(x->raw, &x->ov, &e), 0);
}

static void fix_guest(struct fix *x)
{
	struct vmie_err e = { 0 };
	int r = vmie_guest_open_ntfs(x->ov, "disk0p2", &x->g, &e);
	if (r)
		fail_msg("open: %s", e.msg);
}

/* The ntfs-3g tools on an image: all content. */
static void ntfs_checks(const char *img)
{
	int rc = sh("ntfsfix -n '%s' > '%s.fix' 2>&1", img, img);
	if (rc) {
		char *s = sh_out("cat '%s.fix'", img);
		fail_msg("ntfsfix -n exit %d:\n%s", rc, s);
	}
	rc = sh("ntfsresize --check --no-progress-bar '%s' > '%s.rs' 2>&1",
		img, img);
	if (rc) {
		char *s = sh_out("cat '%s.rs'", img);
		fail_msg("ntfsresize --check exit %d:\n%s", rc, s);
	}
	if (!sh("command -v ntfs-3g.probe >/dev/null 2>&1"))
		assert_int_equal(sh("ntfs-3g.probe --readwrite '%s' "
				    ">/dev/null 2>&1", img), 0);
	assert_int_equal(sh("ntfsls -R -a '%s' >/dev/null 2>&1", img), 0);
	assert_int_equal(sh("ntfsinfo -m '%s' >/dev/null 2>&1", img), 0);
}

/* Flush, close, convert the overlay to x->out; the ntfs-3g tools must
 * be content and the source unchanged. */
static void fix_finish(struct fix *x)
{
	struct vmie_err e = { 0 };
	struct vmie_convert_opts co = { .format = "raw", .threads = 1 };
	if (x->g) {
		if (vmie_guest_flush(x->g, &e))
			fail_msg("flush: %s", e.msg);
		vmie_guest_close(x->g);
		x->g = NULL;
	}
	if (vmie_convert(x->ov, x->out, &co, NULL, &e))
		fail_msg("convert: %s", e.msg);
	vmie_image_close(x->ov);
	vmie_image_close(x->raw);
	x->ov = x->raw = NULL;
	ntfs_checks(x->out);
	assert_int_equal(sh("cmp -s '%s' '%s'", x->img, x->pristine), 0);
}

static void fix_free(struct fix *x)
{
	vmie_guest_close(x->g);
	vmie_image_close(x->ov);
	vmie_image_close(x->raw);
	memset(x, 0, sizeof *x);
}

/* ntfscat of path in img equals host file name. */
static void same_as(const char *img, const char *path, const char *name)
{
	assert_int_equal(sh("ntfscat '%s' '%s' 2>/dev/null | cmp -s - '%s/%s'",
			    img, path, tmpdir, name), 0);
}

/* A line of `ntfsinfo -F path` ("File Creation Time:"...), the first. */
static char *info_line(const char *img, const char *path, const char *key)
{
	return sh_out("ntfsinfo -F '%s' '%s' 2>/dev/null | grep -m1 '%s'",
		      path, img, key);
}

#define OK(call) do { struct vmie_err e_ = { 0 }; \
	int r_ = (call); \
	if (r_) fail_msg("%s: %d %s", #call, r_, e_.msg); } while (0)
#define ERR(code, call, ...) do { struct vmie_err e_ = { 0 }; \
	int r_ = (call); \
	if (r_ != (code)) fail_msg("%s: %d, not %d: %s", #call, r_, \
				   (code), e_.msg); \
	const char *w_[] = { __VA_ARGS__ }; \
	for (size_t i_ = 0; i_ < sizeof w_ / sizeof *w_; i_++) \
		if (!strstr(e_.msg, w_[i_])) \
			fail_msg("%s: message '%s' lacks '%s'", #call, \
				 e_.msg, w_[i_]); } while (0)

struct names {
	unsigned n, many;
	bool system, orig, newtxt, meta, dos;
};

static int names_cb(void *ctx, const char *name, bool is_dir)
{
	struct names *s = ctx;
	s->n++;
	if (!strcmp(name, "SYSTEM")) s->system = !is_dir;
	if (!strcmp(name, "SYSTEM.vmie-orig")) s->orig = !is_dir;
	if (!strcmp(name, "new.txt")) s->newtxt = true;
	if (name[0] == '$') s->meta = true;
	if (strchr(name, '~')) s->dos = true;
	if (!strncmp(name, "file-", 5)) s->many++;
	return 0;
}

/* ---- the round trip ---- */

static void test_round_trip(void **state)
{
	(void)state;
	char img[512];
	struct fix x;
	struct vmie_guest_stat st;
	char *b = NULL;
	size_t n = 0, sl, s2l;

	if (!has_tools())
		skip();
	make_tree();
	make_image(img, sizeof img, "rt", 48, tree_ops);
	char *sys = slurp("system", &sl);
	char *sys2 = slurp("system2", &s2l);
	/* the copy's times must be the original's, not now */
	usleep(1100 * 1000);

	fix_open(&x, img);
	fix_guest(&x);
	assert_string_equal(x.g->ops->kind, "ntfs");

	/* lookups ignore case, as on Windows */
	OK(vmie_guest_stat(x.g, "/windows/SYSTEM32/config/system", &st, &e_));
	assert_true(st.exists && st.is_reg && !st.is_dir && !st.is_lnk);
	assert_int_equal(st.size, sl);
	assert_int_equal(st.mode, 0644);
	OK(vmie_guest_stat(x.g, "/Windows/System32", &st, &e_));
	assert_true(st.exists && st.is_dir);
	OK(vmie_guest_stat(x.g, "/Windows/System32/config/nothing", &st, &e_));
	assert_false(st.exists);
	OK(vmie_guest_stat(x.g, "/nodir/nothing", &st, &e_));
	assert_false(st.exists);
	OK(vmie_guest_stat(x.g, "/WinJ", &st, &e_));
	assert_true(st.exists && st.is_lnk && !st.is_reg);

	OK(vmie_guest_read(x.g, "/WINDOWS/win.ini", 1 << 20, &b, &n, &e_));
	assert_int_equal(n, strlen(ini_text));
	assert_string_equal(b, ini_text);
	free(b);
	OK(vmie_guest_read(x.g, "/Windows/System32/config/SYSTEM", 8u << 20,
			   &b, &n, &e_));
	assert_int_equal(n, sl);
	assert_memory_equal(b, sys, sl);
	free(b);
	/* read follows a junction and a relative symbolic link */
	OK(vmie_guest_read(x.g, "/WinJ/System32/config/SYSTEM", 8u << 20, &b,
			   &n, &e_));
	assert_int_equal(n, sl);
	free(b);
	OK(vmie_guest_read(x.g, "/Windows/sys32/config/SYSTEM", 8u << 20, &b,
			   &n, &e_));
	assert_int_equal(n, sl);
	free(b);
	OK(vmie_guest_read(x.g, "/Windows/../Windows/./win.ini", 4096, &b, &n,
			   &e_));
	free(b);
	ERR(VMIE_ENOMEM, vmie_guest_read(x.g, "/Windows/System32/config/SYSTEM",
					 1000, &b, &n, &e_), "disk0p2",
	    "SYSTEM");
	assert_null(b);
	ERR(VMIE_ENOENT, vmie_guest_read(x.g, "/Windows/none", 100, &b, &n,
					 &e_), "disk0p2", "/Windows/none");
	ERR(VMIE_EINVAL, vmie_guest_read(x.g, "/Windows", 100, &b, &n, &e_),
	    "not a regular file");

	/* keep the original, then rewrite it in place */
	OK(vmie_guest_copy(x.g, "/Windows/System32/config/SYSTEM",
			   "/Windows/System32/config/SYSTEM.vmie-orig", &e_));
	ERR(VMIE_EEXIST, vmie_guest_copy(x.g, "/Windows/System32/config/SYSTEM",
					 "/windows/system32/config/"
					 "system.VMIE-ORIG", &e_),
	    "system.VMIE-ORIG");
	OK(vmie_guest_write(x.g, "/Windows/System32/config/SYSTEM", sys2, s2l,
			    0644, &e_));
	OK(vmie_guest_stat(x.g, "/Windows/System32/config/SYSTEM", &st, &e_));
	assert_int_equal(st.size, s2l);
	/* shrink the BCD, grow win.ini from resident to not */
	OK(vmie_guest_write(x.g, "/Boot/BCD", "regf", 4, 0644, &e_));
	OK(vmie_guest_write(x.g, "/Windows/win.ini", sys2, 200000, 0644, &e_));
	OK(vmie_guest_write(x.g, "/Windows/System32/config/new.txt", "new\n",
			    4, 0600, &e_));
	OK(vmie_guest_write(x.g, "/Windows/empty", "", 0, 0644, &e_));
	ERR(VMIE_ENOENT, vmie_guest_write(x.g, "/nodir/x", "x", 1, 0644, &e_),
	    "/nodir/x");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "/Windows", "x", 1, 0644, &e_),
	    "/Windows");
	/* rename within a directory; not across, not onto a name */
	OK(vmie_guest_write(x.g, "/Boot/BCD.LOG", "log", 3, 0644, &e_));
	OK(vmie_guest_rename(x.g, "/boot/bcd.log", "/Boot/BCD.LOG.vmie-orig",
			     &e_));
	ERR(VMIE_ENOENT, vmie_guest_rename(x.g, "/Boot/BCD.LOG", "/Boot/x",
					   &e_), "/Boot/BCD.LOG");
	ERR(VMIE_EINVAL, vmie_guest_rename(x.g, "/Boot/BCD", "/Windows/BCD",
					   &e_), "one directory");
	ERR(VMIE_EEXIST, vmie_guest_rename(x.g, "/Windows/win.ini",
					   "/Windows/EMPTY", &e_), "EMPTY");

	/* 300 new names in one directory: its index has to grow */
	for (int i = 0; i < 300; i++) {
		char p[96], c[32];
		snprintf(p, sizeof p, "/Windows/many/file-%03d-with-a-name-"
			 "long-enough-to-fill-index-blocks", i);
		int cl = snprintf(c, sizeof c, "file %d\n", i);
		OK(vmie_guest_write(x.g, p, c, (size_t)cl, 0644, &e_));
	}
	struct names nm = { 0 };
	OK(vmie_guest_readdir(x.g, "/Windows/System32/CONFIG", names_cb, &nm,
			      &e_));
	assert_true(nm.system && nm.orig && nm.newtxt);
	assert_int_equal(nm.n, 3);
	memset(&nm, 0, sizeof nm);
	OK(vmie_guest_readdir(x.g, "/WinJ/many", names_cb, &nm, &e_));
	assert_int_equal(nm.many, 300);
	assert_false(nm.dos);
	memset(&nm, 0, sizeof nm);
	OK(vmie_guest_readdir(x.g, "/", names_cb, &nm, &e_));
	assert_false(nm.meta);
	ERR(VMIE_EINVAL, vmie_guest_readdir(x.g, "/Windows/win.ini", names_cb,
					    &nm, &e_), "not a directory");

	/* the handle reads what it wrote, before and after the flush */
	OK(vmie_guest_read(x.g, "/Windows/System32/config/SYSTEM", 8u << 20,
			   &b, &n, &e_));
	assert_int_equal(n, s2l);
	assert_memory_equal(b, sys2, s2l);
	free(b);
	OK(vmie_guest_flush(x.g, &e_));
	OK(vmie_guest_read(x.g, "/Windows/System32/config/SYSTEM.vmie-orig",
			   8u << 20, &b, &n, &e_));
	assert_int_equal(n, sl);
	assert_memory_equal(b, sys, sl);
	free(b);
	/* and writes again after it */
	OK(vmie_guest_write(x.g, "/Windows/after-flush", "late\n", 5, 0644,
			    &e_));
	fix_finish(&x);

	/* what the ntfs-3g tools see */
	same_as(x.out, "/Windows/System32/config/SYSTEM", "system2");
	same_as(x.out, "/Windows/System32/config/SYSTEM.vmie-orig", "system");
	same_as(x.out, "/Boot/BCD.LOG.vmie-orig", "ini-log");
	char *s = sh_out("ntfscat '%s' /Boot/BCD", x.out);
	assert_string_equal(s, "regf");
	free(s);
	s = sh_out("ntfscat '%s' /Windows/after-flush", x.out);
	assert_string_equal(s, "late\n");
	free(s);
	s = sh_out("ntfscat '%s' /Windows/many/file-299-with-a-name-long-"
		   "enough-to-fill-index-blocks", x.out);
	assert_string_equal(s, "file 299\n");
	free(s);
	s = sh_out("ntfsls '%s' -p /Windows/many | grep -c '^file-'", x.out);
	assert_int_equal(atoi(s), 300);
	free(s);
	s = sh_out("ntfsls '%s' -p /Boot", x.out);
	if (!strstr(s, "BCD.LOG.vmie-orig") || strstr(s, "BCD.LOG\n"))
		fail_msg("rename: /Boot holds:\n%s", s);
	free(s);
	/* the copy kept the original's times and security descriptor; the
	 * rewritten file kept its record */
	const char *keys[] = { "File Creation Time", "File Altered Time",
			       "Owner SID", "Discretionary ACL" };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		char *a = info_line(x.pristine,
				    "/Windows/System32/config/SYSTEM", keys[i]);
		char *c = info_line(x.out, "/Windows/System32/config/"
				    "SYSTEM.vmie-orig", keys[i]);
		if (!a[0] || strcmp(a, c))
			fail_msg("%s: original '%s', copy '%s'", keys[i], a, c);
		free(a);
		free(c);
	}
	char *a = info_line(x.pristine, "/Windows/System32/config/SYSTEM",
			    "Dumping Inode");
	char *c = info_line(x.out, "/Windows/System32/config/SYSTEM",
			    "Dumping Inode");
	assert_string_equal(a, c);
	free(a);
	free(c);
	free(sys);
	free(sys2);
	fix_free(&x);
}

/* ---- hostile ---- */

/* Links and metadata: nothing written through them or to them. */
static void test_links_meta(void **state)
{
	(void)state;
	char img[512];
	struct fix x;
	struct vmie_guest_stat st;

	if (!has_tools())
		skip();
	make_tree();
	make_image(img, sizeof img, "links", 32, tree_ops);
	fix_open(&x, img);
	fix_guest(&x);
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/WinJ/win.ini", "x", 1, 0644,
					 &e_), "disk0p2", "WinJ", "link");
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/Windows/sys32", "x", 1, 0644,
					 &e_), "/Windows/sys32", "link");
	ERR(VMIE_EPERM, vmie_guest_copy(x.g, "/Windows/sys32",
					"/Windows/s.o", &e_), "link");
	ERR(VMIE_EPERM, vmie_guest_copy(x.g, "/Windows/win.ini",
					"/WinJ/copy", &e_), "WinJ");
	ERR(VMIE_EPERM, vmie_guest_rename(x.g, "/WinJ", "/WinK", &e_),
	    "link");
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/$MFT", "x", 1, 0644, &e_),
	    "metadata");
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/$Extend/new", "x", 1, 0644,
					 &e_), "metadata");
	ERR(VMIE_EPERM, vmie_guest_rename(x.g, "/$Bitmap", "/bm", &e_),
	    "metadata");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "/Windows/..", "x", 1, 0644,
					  &e_), "not a file name");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "/", "x", 1, 0644, &e_),
	    "not a file name");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "Windows/x", "x", 1, 0644,
					  &e_), "absolute");
	char longname[400];
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "/Windows/", 9);
	longname[sizeof longname - 1] = 0;
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, longname, "x", 1, 0644, &e_),
	    "255");
	/* reads of metadata by name are fine */
	OK(vmie_guest_stat(x.g, "/$MFT", &st, &e_));
	assert_true(st.exists && st.is_reg);
	fix_finish(&x);
	same_as(x.out, "/Windows/win.ini", "ini");
	fix_free(&x);
}

/* Hibernated, dirty, not NTFS, no overlay. */
static void test_refused(void **state)
{
	(void)state;
	char img[512];
	struct fix x;

	if (!has_tools())
		skip();
	make_tree();
	/* fast startup: hiberfil.sys holds a "HIBR" image */
	assert_int_equal(sh("{ printf HIBR; head -c 16380 /dev/zero; } > "
			    "'%s/hiber'", tmpdir), 0);
	make_image(img, sizeof img, "hib", 32,
		   "mkdir:/Windows file:/Windows/win.ini=ini "
		   "file:/hiberfil.sys=hiber");
	fix_open(&x, img);
	ERR(VMIE_EUNSUPP, vmie_guest_open_ntfs(x.ov, "disk0p2", &x.g, &e_),
	    "disk0p2", "hibernat", "fast startup", "HIBR");
	assert_null(x.g);
	assert_int_equal(vmie_overlay_bytes(x.ov), 0);
	fix_free(&x);

	/* a hiberfil.sys that holds no image ("wake", zeros) is fine */
	assert_int_equal(sh("{ printf wake; head -c 8188 /dev/zero; } > "
			    "'%s/hiber'", tmpdir), 0);
	make_image(img, sizeof img, "wake", 32,
		   "mkdir:/Windows file:/Windows/win.ini=ini "
		   "file:/hiberfil.sys=hiber");
	fix_open(&x, img);
	fix_guest(&x);
	OK(vmie_guest_write(x.g, "/Windows/win.ini", "x\r\n", 3, 0644, &e_));
	fix_finish(&x);
	fix_free(&x);

	make_image(img, sizeof img, "dirty", 32,
		   "mkdir:/Windows file:/Windows/win.ini=ini dirty:");
	fix_open(&x, img);
	ERR(VMIE_EUNSUPP, vmie_guest_open_ntfs(x.ov, "disk0p2", &x.g, &e_),
	    "disk0p2", "dirty", "chkdsk");
	assert_null(x.g);
	assert_int_equal(vmie_overlay_bytes(x.ov), 0);
	fix_free(&x);

	/* not an NTFS volume */
	snprintf(img, sizeof img, "%s/zero.img", tmpdir);
	assert_int_equal(sh("truncate -s 4M '%s'", img), 0);
	fix_open(&x, img);
	ERR(VMIE_ECORRUPT, vmie_guest_open_ntfs(x.ov, "disk9", &x.g, &e_),
	    "disk9", "mount");
	assert_null(x.g);
	fix_free(&x);

	/* a raw image without an overlay: the first write fails, naming
	 * the device, the path and why; the image is not written */
	make_image(img, sizeof img, "ro", 32,
		   "mkdir:/Windows file:/Windows/win.ini=ini");
	assert_int_equal(sh("cp '%s' '%s.before'", img, img), 0);
	struct vmie_err e = { 0 };
	struct vmie_open_opts o = { .format = "raw" };
	struct vmie_image *raw = NULL;
	struct vmie_guest *g = NULL;
	assert_int_equal(vmie_image_open(img, &o, &raw, &e), 0);
	assert_int_equal(vmie_guest_open_ntfs(raw, NULL, &g, &e), 0);
	ERR(VMIE_EUNSUPP, vmie_guest_write(g, "/Windows/new", "x", 1, 0644,
					   &e_), "/Windows/new");
	vmie_guest_close(g);
	vmie_image_close(raw);
	assert_int_equal(sh("cmp -s '%s' '%s.before'", img, img), 0);
}

/* Files that do not fit. */
static void test_space(void **state)
{
	(void)state;
	char img[512];
	struct fix x;
	struct vmie_guest_stat st;

	if (!has_tools())
		skip();
	make_tree();
	make_image(img, sizeof img, "space", 16, tree_ops);
	fix_open(&x, img);
	fix_guest(&x);
	size_t len = 32u << 20;
	char *big = calloc(1, len);
	assert_non_null(big);
	ERR(VMIE_ENOSPC, vmie_guest_write(x.g, "/Windows/huge", big, len, 0644,
					  &e_), "disk0p2", "/Windows/huge");
	ERR(VMIE_ENOSPC, vmie_guest_write(x.g, "/Boot/BCD", big, len, 0644,
					  &e_), "/Boot/BCD");
	free(big);
	/* refused before anything changed */
	OK(vmie_guest_stat(x.g, "/Windows/huge", &st, &e_));
	assert_false(st.exists);
	OK(vmie_guest_stat(x.g, "/Boot/BCD", &st, &e_));
	assert_int_equal(st.size, 28672);
	ERR(VMIE_ENOMEM, vmie_guest_write(x.g, "/Windows/x", "", (size_t)3 << 30,
					  0644, &e_), "/Windows/x");
	fix_finish(&x);
	same_as(x.out, "/Boot/BCD", "bcd");
	fix_free(&x);
}

/* An MBR disk: the NTFS partition changed through a window over the
 * overlay; the table and the bytes after the partition untouched. */
static void test_partition(void **state)
{
	(void)state;
	char img[512], disk[600], out[600];
	struct vmie_err e = { 0 };
	struct vmie_open_opts o = { .format = "raw" };
	struct vmie_convert_opts co = { .format = "raw", .threads = 2 };
	struct vmie_image *raw, *ov, *part;
	struct vmie_ptable pt;
	struct vmie_guest *g;

	if (!has_tools() || sh("command -v sfdisk >/dev/null 2>&1"))
		skip();
	make_tree();
	make_image(img, sizeof img, "p", 32, tree_ops);
	snprintf(disk, sizeof disk, "%s/disk.raw", tmpdir);
	snprintf(out, sizeof out, "%s/disk.out", tmpdir);
	assert_int_equal(sh("truncate -s 34M '%s' && printf 'label: dos\\n"
			    "start=2048, size=65536, type=7, bootable\\n' | "
			    "sfdisk -q '%s' && printf TAIL-MARKER | dd of='%s' "
			    "bs=1 seek=%u conv=notrunc status=none && dd "
			    "if='%s' of='%s' bs=1M seek=1 conv=notrunc,sparse "
			    "status=none && cp --sparse=always '%s' '%s.orig'",
			    disk, disk, disk, 33u << 20, img, disk, disk, disk),
			 0);
	assert_int_equal(vmie_image_open(disk, &o, &raw, &e), 0);
	assert_int_equal(vmie_overlay_open(raw, &ov, &e), 0);
	assert_int_equal(vmie_ptable_read(ov, &pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_MBR);
	assert_int_equal(pt.parts[0].start, 1 << 20);
	assert_int_equal(vmie_image_window(ov, pt.parts[0].start,
					   pt.parts[0].size, "disk0p1", &part,
					   &e), 0);
	vmie_ptable_free(&pt);
	if (vmie_guest_open_ntfs(part, "disk0p1", &g, &e))
		fail_msg("open: %s", e.msg);
	OK(vmie_guest_copy(g, "/Boot/BCD", "/Boot/BCD.vmie-orig", &e_));
	OK(vmie_guest_write(g, "/Boot/BCD", "changed", 7, 0644, &e_));
	OK(vmie_guest_flush(g, &e_));
	vmie_guest_close(g);
	vmie_image_close(part);
	if (vmie_convert(ov, out, &co, NULL, &e))
		fail_msg("convert: %s", e.msg);
	vmie_image_close(ov);
	vmie_image_close(raw);

	assert_int_equal(sh("cmp -s '%s' '%s.orig'", disk, disk), 0);
	assert_int_equal(sh("cmp -s -n %u '%s' '%s'", 1u << 20, out, disk), 0);
	assert_int_equal(sh("cmp -s -i %u '%s' '%s'", 33u << 20, out, disk),
			 0);
	char p1[600];
	snprintf(p1, sizeof p1, "%s/p1.img", tmpdir);
	assert_int_equal(sh("dd if='%s' of='%s' bs=1M skip=1 count=32 "
			    "status=none", out, p1), 0);
	ntfs_checks(p1);
	char *s = sh_out("ntfscat '%s' /Boot/BCD", p1);
	assert_string_equal(s, "changed");
	free(s);
	same_as(p1, "/Boot/BCD.vmie-orig", "bcd");
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	const char *bd = getenv("BUILDDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/vmie-guest-ntfs.XXXXXX",
		 t && *t ? t : "/tmp");
	if (bd && *bd)
		snprintf(fixture, sizeof fixture,
			 "%s/tests/fs/ntfs/ntfs_fixture", bd);
	if (!mkdtemp(tmpdir))
		return -1;
	/* the renamed BCD.LOG of the round trip holds "log" */
	return sh("printf log > '%s/ini-log'", tmpdir) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	if (tmpdir[0] && !getenv("GUEST_NTFS_KEEP"))
		sh("rm -rf '%s'", tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_links_meta),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_space),
		cmocka_unit_test(test_partition),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
