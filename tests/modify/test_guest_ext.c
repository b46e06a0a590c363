/* lib/modify guest_ext.c: changing ext2/3/4 file systems made by mke2fs -d
 * from a small tree, through a copy-on-write overlay over the image
 * opened as raw.  After the changes and a flush, the overlay is converted
 * to a raw file that e2fsprogs checks independently (e2fsck -fn clean,
 * debugfs shows the content, mode, owner, times and attributes), and the
 * source image must be byte-identical to before.  Variants: ext2 with
 * 128-byte inodes, ext3, ext4 with and without metadata_csum, 1 KiB and
 * 4 KiB blocks, inline data, hash-indexed directories, bigalloc; a
 * directory grown by 300 new files.  Hostile: symbolic links at or on the
 * way to the path written, needs_recovery, quota, files too big, a full
 * file system.
 *
 * With GUEST_EXT_DISK=<partitioned raw disk> and GUEST_EXT_OUT=<file>
 * (tests/modify/guest-ext.sh) only the partition test runs: the first
 * partition through a window over the overlay, the disk converted to
 * GUEST_EXT_OUT for the script to check. */
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
#include <unistd.h>

#include "core/err.h"
#include "image/image.h"
#include "modify/guest.h"
#include "part/part.h"

static char tmpdir[256];

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
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
	char cmd[4096];
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
	return !sh("command -v mke2fs >/dev/null && command -v debugfs "
		   ">/dev/null && "
		   "command -v e2fsck >/dev/null 2>&1") ? true : false;
}

static const char fstab_orig[] =
	"# /etc/fstab: static file system information.\n"
	"/dev/sda1  /      ext4  errors=remount-ro  0 1\n"
	"proc /proc proc defaults 0 0\n";
static const char hostname_orig[] = "old-host\n";
static const char shadow_orig[] = "root:*:19000:0:99999:7:::\n";

/* The tree mke2fs -d copies: $tmpdir/tree-<tag>. */
static void make_tree(const char *tag, bool fstab_link)
{
	char t[512];
	snprintf(t, sizeof t, "%s/tree-%s", tmpdir, tag);
	assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s/etc/many' '%s/boot' "
			    "'%s/home/u'", t, t, t, t), 0);
	FILE *f;
	char p[600];
	snprintf(p, sizeof p, "%s/etc/hostname", t);
	assert_non_null(f = fopen(p, "w"));
	fputs(hostname_orig, f);
	fclose(f);
	snprintf(p, sizeof p, "%s/etc/shadow", t);
	assert_non_null(f = fopen(p, "w"));
	fputs(shadow_orig, f);
	fclose(f);
	chmod(p, 0600);
	if (fstab_link) {
		assert_int_equal(sh("ln -s shadow '%s/etc/fstab' && "
				    "ln -s etc '%s/etc2' && "
				    "ln -s ../../../../etc/shadow "
				    "'%s/home/u/up'", t, t, t), 0);
	} else {
		snprintf(p, sizeof p, "%s/etc/fstab", t);
		assert_non_null(f = fopen(p, "w"));
		fputs(fstab_orig, f);
		fclose(f);
		chmod(p, 0640);
		assert_int_equal(sh("ln -s /etc '%s/etc2'", t), 0);
	}
	for (int i = 0; i < 20; i++)
		assert_int_equal(sh("echo old %d > '%s/etc/many/old-%02d'", i,
				    t, i), 0);
}

/* An image of size MiB made by mke2fs opts from tree tag: its path. */
static void make_image(char *img, size_t size, const char *tag,
		       const char *opts, unsigned mib)
{
	snprintf(img, size, "%s/%s.img", tmpdir, tag);
	assert_int_equal(sh("rm -f '%s' && mke2fs -q -F %s -d '%s/tree-%s' "
			    "'%s' %uM >/dev/null", img, opts, tmpdir, tag, img,
			    mib), 0);
}

/* debugfs -R 'cmd' on img: its output. */
static char *debugfs(const char *img, const char *cmd)
{
	return sh_out("debugfs -R '%s' '%s' 2>/dev/null", cmd, img);
}

static unsigned inode_of(const char *img, const char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "stat %s", path);
	char *s = debugfs(img, cmd);
	unsigned ino = 0;
	const char *p = strstr(s, "Inode: ");
	if (p)
		ino = (unsigned)strtoul(p + 7, NULL, 10);
	free(s);
	return ino;
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
	int r = vmie_guest_open_ext(x->ov, "disk0p1", &x->g, &e);
	if (r)
		fail_msg("open: %s", e.msg);
}

/* Flush, close, convert the overlay to x->out; e2fsck -fn must pass and
 * the source must be unchanged. */
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
	int rc = sh("e2fsck -fn '%s' > '%s.fsck' 2>&1", x->out, x->out);
	if (rc) {
		char *s = sh_out("cat '%s.fsck'", x->out);
		fail_msg("e2fsck -fn exit %d:\n%s", rc, s);
	}
	assert_int_equal(sh("cmp -s '%s' '%s'", x->img, x->pristine), 0);
}

static void fix_free(struct fix *x)
{
	vmie_guest_close(x->g);
	vmie_image_close(x->ov);
	vmie_image_close(x->raw);
	memset(x, 0, sizeof *x);
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
	bool fstab, orig, hostname, hostname_orig, newconf, many_dir;
};

static int names_cb(void *ctx, const char *name, bool is_dir)
{
	struct names *s = ctx;
	s->n++;
	if (!strcmp(name, "fstab")) s->fstab = !is_dir;
	if (!strcmp(name, "fstab.vmie-orig")) s->orig = !is_dir;
	if (!strcmp(name, "hostname")) s->hostname = true;
	if (!strcmp(name, "hostname.vmie-orig")) s->hostname_orig = !is_dir;
	if (!strcmp(name, "new.conf")) s->newconf = true;
	if (!strcmp(name, "many")) s->many_dir = is_dir;
	if (!strncmp(name, "file-", 5)) s->many++;
	return 0;
}

/* ---- the round trip, one file system type at a time ---- */

struct variant {
	const char *tag;
	const char *opts;       /* mke2fs options */
	unsigned mib;
	bool htree;             /* index /etc/many (e2fsck -fyD) first */
};

static void round_trip(const struct variant *v)
{
	char img[512], *s;
	struct fix x;
	struct vmie_guest_stat st;

	if (!has_tools())
		skip();
	make_tree(v->tag, false);
	make_image(img, sizeof img, v->tag, v->opts, v->mib);
	/* an owner, a time and a label the copy must keep */
	assert_int_equal(sh("{ debugfs -w -R 'sif /etc/fstab uid 1234' '%s' && "
			    "debugfs -w -R 'sif /etc/fstab gid 4321' '%s' && "
			    "debugfs -w -R 'sif /etc/fstab mtime 20200101000000' "
			    "'%s' && debugfs -w -R 'ea_set /etc/fstab "
			    "security.selinux system_u:object_r:etc_t:s0' '%s';"
			    " } >/dev/null 2>&1", img, img, img, img), 0);
	if (v->htree) {
		/* enough names for an index, then e2fsck builds it */
		for (int i = 0; i < 150; i++)
			assert_int_equal(sh("debugfs -w -R 'write /dev/null "
					    "/etc/many/pre-%03d-with-a-longer-"
					    "name' '%s' >/dev/null 2>&1", i,
					    img), 0);
		sh("e2fsck -fyD '%s' >/dev/null 2>&1", img);
		s = debugfs(img, "stat /etc/many");
		const char *fl = strstr(s, "Flags: ");
		assert_non_null(fl);
		assert_true(strtoul(fl + 7, NULL, 16) & 0x1000);  /* INDEX_FL */
		free(s);
	}
	unsigned host_ino = inode_of(img, "/etc/hostname");
	unsigned fstab_ino = inode_of(img, "/etc/fstab");
	assert_true(host_ino && fstab_ino);

	fix_open(&x, img);
	fix_guest(&x);
	assert_string_equal(x.g->ops->kind, "ext");

	OK(vmie_guest_stat(x.g, "/etc/fstab", &st, &e_));
	assert_true(st.exists && st.is_reg && !st.is_lnk && !st.is_dir);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.uid, 1234);
	assert_int_equal(st.gid, 4321);
	assert_int_equal(st.size, strlen(fstab_orig));
	OK(vmie_guest_stat(x.g, "/etc/nothing", &st, &e_));
	assert_false(st.exists);
	OK(vmie_guest_stat(x.g, "/nodir/nothing", &st, &e_));
	assert_false(st.exists);
	OK(vmie_guest_stat(x.g, "/etc2", &st, &e_));
	assert_true(st.exists && st.is_lnk);

	char *b = NULL;
	size_t n = 0;
	OK(vmie_guest_read(x.g, "/etc/fstab", 1 << 20, &b, &n, &e_));
	assert_int_equal(n, strlen(fstab_orig));
	assert_string_equal(b, fstab_orig);
	free(b);
	/* read follows a link inside the file system */
	OK(vmie_guest_read(x.g, "/etc2/hostname", 1 << 20, &b, &n, &e_));
	assert_string_equal(b, hostname_orig);
	free(b);
	ERR(VMIE_ENOMEM, vmie_guest_read(x.g, "/etc/fstab", 10, &b, &n, &e_),
	    "disk0p1", "/etc/fstab");
	assert_null(b);
	ERR(VMIE_ENOENT, vmie_guest_read(x.g, "/etc/none", 100, &b, &n, &e_),
	    "disk0p1", "/etc/none");

	/* keep the original, then rewrite it in place */
	OK(vmie_guest_copy(x.g, "/etc/fstab", "/etc/fstab.vmie-orig", &e_));
	ERR(VMIE_EEXIST, vmie_guest_copy(x.g, "/etc/fstab",
					 "/etc/fstab.vmie-orig", &e_),
	    "/etc/fstab.vmie-orig");
	char big[6000];
	size_t bl = 0;
	for (int i = 0; bl + 80 < sizeof big; i++)
		bl += (size_t)snprintf(big + bl, sizeof big - bl,
				       "UUID=%08x-0000-0000-0000-%012d  /d%d  "
				       "ext4  defaults,nofail 0 2\n", i, i, i);
	OK(vmie_guest_write(x.g, "/etc/fstab", big, bl, 0644, &e_));
	OK(vmie_guest_stat(x.g, "/etc/fstab", &st, &e_));
	assert_int_equal(st.mode, 0640);        /* kept, not 0644 */
	assert_int_equal(st.uid, 1234);
	assert_int_equal(st.size, bl);
	/* shrink it again: the truncation frees blocks */
	const char small[] = "UUID=abcd / ext4 defaults 0 1\n";
	OK(vmie_guest_write(x.g, "/etc/fstab", small, strlen(small), 0644,
			    &e_));
	OK(vmie_guest_write(x.g, "/etc/new.conf", "new\n", 4, 0600, &e_));
	OK(vmie_guest_write(x.g, "/etc/empty", "", 0, 0644, &e_));
	OK(vmie_guest_write(x.g, "/etc/big.conf", big, bl, 0644, &e_));
	ERR(VMIE_ENOENT, vmie_guest_write(x.g, "/nodir/x", "x", 1, 0644, &e_),
	    "/nodir/x");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "/etc", "x", 1, 0644, &e_),
	    "/etc");
	OK(vmie_guest_rename(x.g, "/etc/hostname", "/etc/hostname.vmie-orig",
			     &e_));
	ERR(VMIE_ENOENT, vmie_guest_rename(x.g, "/etc/hostname", "/etc/h2",
					   &e_), "/etc/hostname");
	ERR(VMIE_EINVAL, vmie_guest_rename(x.g, "/etc/shadow", "/boot/shadow",
					   &e_), "one directory");
	ERR(VMIE_EEXIST, vmie_guest_rename(x.g, "/etc/shadow", "/etc/fstab",
					   &e_), "/etc/fstab");

	/* 300 new names in one directory: it has to grow */
	for (int i = 0; i < 300; i++) {
		char p[96], c[32];
		snprintf(p, sizeof p, "/etc/many/file-%03d-with-a-name-long-"
			 "enough-to-fill-blocks", i);
		int cl = snprintf(c, sizeof c, "file %d\n", i);
		OK(vmie_guest_write(x.g, p, c, (size_t)cl, 0644, &e_));
	}
	struct names nm = { 0 };
	OK(vmie_guest_readdir(x.g, "/etc", names_cb, &nm, &e_));
	assert_true(nm.fstab && nm.orig && nm.hostname_orig && nm.newconf &&
		    nm.many_dir);
	assert_false(nm.hostname);
	memset(&nm, 0, sizeof nm);
	OK(vmie_guest_readdir(x.g, "/etc2/many", names_cb, &nm, &e_));
	assert_int_equal(nm.many, 300);
	ERR(VMIE_EINVAL, vmie_guest_readdir(x.g, "/etc/fstab", names_cb, &nm,
					    &e_), "not a directory");

	/* the handle reads what it wrote, before and after the flush */
	OK(vmie_guest_read(x.g, "/etc/fstab", 1 << 20, &b, &n, &e_));
	assert_string_equal(b, small);
	free(b);
	OK(vmie_guest_flush(x.g, &e_));
	OK(vmie_guest_read(x.g, "/etc/big.conf", 1 << 20, &b, &n, &e_));
	assert_int_equal(n, bl);
	assert_memory_equal(b, big, bl);
	free(b);
	OK(vmie_guest_read(x.g, "/etc/fstab.vmie-orig", 1 << 20, &b, &n, &e_));
	assert_string_equal(b, fstab_orig);
	free(b);
	fix_finish(&x);

	/* what e2fsprogs sees */
	s = debugfs(x.out, "cat /etc/fstab");
	assert_string_equal(s, small);
	free(s);
	s = debugfs(x.out, "cat /etc/big.conf");
	assert_int_equal(strlen(s), bl);
	assert_memory_equal(s, big, bl);
	free(s);
	s = debugfs(x.out, "cat /etc/fstab.vmie-orig");
	assert_string_equal(s, fstab_orig);
	free(s);
	s = debugfs(x.out, "cat /etc/new.conf");
	assert_string_equal(s, "new\n");
	free(s);
	s = debugfs(x.out, "cat /etc/hostname.vmie-orig");
	assert_string_equal(s, hostname_orig);
	free(s);
	s = debugfs(x.out, "cat /etc/many/file-299-with-a-name-long-enough-"
		    "to-fill-blocks");
	assert_string_equal(s, "file 299\n");
	free(s);
	/* same inodes: rewritten in place, renamed */
	assert_int_equal(inode_of(x.out, "/etc/fstab"), fstab_ino);
	assert_int_equal(inode_of(x.out, "/etc/hostname.vmie-orig"), host_ino);
	assert_int_equal(inode_of(x.out, "/etc/hostname"), 0);
	s = debugfs(x.out, "stat /etc/fstab.vmie-orig");
	if (!strstr(s, "Mode:  0640") || !strstr(s, "User:  1234") ||
	    !strstr(s, "Group:  4321") || !strstr(s, "mtime: 0x5e0be100"))
		fail_msg("copy lost mode, owner or time:\n%s", s);
	free(s);
	s = debugfs(x.out, "ea_get /etc/fstab.vmie-orig security.selinux");
	if (!strstr(s, "system_u:object_r:etc_t:s0"))
		fail_msg("copy lost its SELinux label: %s", s);
	free(s);
	s = debugfs(x.out, "stat /etc/new.conf");
	if (!strstr(s, "Mode:  0600") || !strstr(s, "User:     0"))
		fail_msg("new file mode or owner:\n%s", s);
	free(s);
	fix_free(&x);
}

static const struct variant variants[] = {
	{ "ext2", "-t ext2 -b 1024 -I 128", 16, false },
	{ "ext3", "-t ext3 -b 1024", 16, false },
	{ "ext4", "-t ext4 -b 4096", 32, false },
	{ "ext4-1k", "-t ext4 -b 1024", 16, false },
	{ "ext4-nocsum", "-t ext4 -b 4096 -O ^metadata_csum", 32, false },
	{ "ext4-1k-nocsum", "-t ext4 -b 1024 -O ^metadata_csum,^64bit", 16,
	  false },
	{ "ext4-inline", "-t ext4 -b 4096 -O inline_data", 32, false },
	{ "ext4-htree", "-t ext4 -b 1024", 16, true },
	{ "ext3-htree", "-t ext3 -b 1024 -O ^metadata_csum", 16, true },
	{ "ext4-bigalloc", "-t ext4 -O bigalloc -C 16384", 64, false },
};

static void test_ext2(void **state) { (void)state; round_trip(&variants[0]); }
static void test_ext3(void **state) { (void)state; round_trip(&variants[1]); }
static void test_ext4(void **state) { (void)state; round_trip(&variants[2]); }
static void test_ext4_1k(void **state) { (void)state; round_trip(&variants[3]); }
static void test_ext4_nocsum(void **state) { (void)state; round_trip(&variants[4]); }
static void test_ext4_1k_nocsum(void **state) { (void)state; round_trip(&variants[5]); }
static void test_ext4_inline(void **state) { (void)state; round_trip(&variants[6]); }
static void test_ext4_htree(void **state) { (void)state; round_trip(&variants[7]); }
static void test_ext3_htree(void **state) { (void)state; round_trip(&variants[8]); }
static void test_ext4_bigalloc(void **state) { (void)state; round_trip(&variants[9]); }

/* ---- hostile ---- */

/* /etc/fstab -> shadow, /etc2 -> etc, /home/u/up -> ../../../../etc/shadow:
 * nothing is written through a link; reads follow them inside. */
static void test_symlinks(void **state)
{
	(void)state;
	char img[512];
	struct fix x;
	struct vmie_guest_stat st;
	char *b = NULL;
	size_t n;

	if (!has_tools())
		skip();
	make_tree("links", true);
	make_image(img, sizeof img, "links", "-t ext4", 16);
	fix_open(&x, img);
	fix_guest(&x);
	OK(vmie_guest_stat(x.g, "/etc/fstab", &st, &e_));
	assert_true(st.exists && st.is_lnk && !st.is_reg);
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/etc/fstab", "pwned\n", 6, 0644,
					 &e_), "disk0p1", "/etc/fstab",
	    "symbolic link");
	ERR(VMIE_EPERM, vmie_guest_copy(x.g, "/etc/fstab", "/etc/fstab.o",
					&e_), "/etc/fstab");
	ERR(VMIE_EPERM, vmie_guest_rename(x.g, "/etc/fstab", "/etc/fstab.o",
					  &e_), "/etc/fstab");
	/* a link on the way */
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/etc2/shadow", "x", 1, 0644,
					 &e_), "/etc2/shadow", "etc2");
	ERR(VMIE_EPERM, vmie_guest_write(x.g, "/etc2/newfile", "x", 1, 0644,
					 &e_), "etc2");
	ERR(VMIE_EPERM, vmie_guest_copy(x.g, "/etc/shadow", "/etc2/copy",
					&e_), "etc2");
	/* reads follow links, and never leave the file system */
	OK(vmie_guest_read(x.g, "/etc/fstab", 4096, &b, &n, &e_));
	assert_string_equal(b, shadow_orig);
	free(b);
	OK(vmie_guest_read(x.g, "/home/u/up", 4096, &b, &n, &e_));
	assert_string_equal(b, shadow_orig);
	free(b);
	OK(vmie_guest_read(x.g, "/etc/../../../etc/shadow", 4096, &b, &n, &e_));
	assert_string_equal(b, shadow_orig);
	free(b);
	/* names that are not file names */
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "/etc/..", "x", 1, 0644, &e_),
	    "not a file name");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "/", "x", 1, 0644, &e_),
	    "not a file name");
	ERR(VMIE_EINVAL, vmie_guest_write(x.g, "etc/fstab", "x", 1, 0644,
					  &e_), "absolute");
	fix_finish(&x);
	char *s = debugfs(x.out, "cat /etc/shadow");
	assert_string_equal(s, shadow_orig);
	free(s);
	fix_free(&x);
}

/* A link loop is cut after 40 links. */
static void test_symlink_loop(void **state)
{
	(void)state;
	char img[512];
	struct fix x;
	char *b = NULL;
	size_t n;

	if (!has_tools())
		skip();
	make_tree("loop", false);
	assert_int_equal(sh("ln -s b '%s/tree-loop/a' && ln -s a "
			    "'%s/tree-loop/b'", tmpdir, tmpdir), 0);
	make_image(img, sizeof img, "loop", "-t ext4", 16);
	fix_open(&x, img);
	fix_guest(&x);
	ERR(VMIE_ELIMIT, vmie_guest_read(x.g, "/a", 4096, &b, &n, &e_),
	    "symbolic links");
	assert_null(b);
	fix_free(&x);
}

/* needs_recovery and quota: refused at open, nothing written. */
static void test_refused(void **state)
{
	(void)state;
	char img[512];
	struct fix x;

	if (!has_tools())
		skip();
	make_tree("recov", false);
	make_image(img, sizeof img, "recov", "-t ext4", 16);
	assert_int_equal(sh("debugfs -w -R 'feature needs_recovery' '%s' "
			    ">/dev/null 2>&1", img), 0);
	fix_open(&x, img);
	ERR(VMIE_EUNSUPP, vmie_guest_open_ext(x.ov, "disk0p1", &x.g, &e_),
	    "disk0p1", "journal recovery");
	assert_null(x.g);
	assert_int_equal(vmie_overlay_bytes(x.ov), 0);
	fix_free(&x);

	make_image(img, sizeof img, "recov", "-t ext4 -O quota", 16);
	fix_open(&x, img);
	ERR(VMIE_EUNSUPP, vmie_guest_open_ext(x.ov, "disk0p1", &x.g, &e_),
	    "quota");
	assert_int_equal(vmie_overlay_bytes(x.ov), 0);
	fix_free(&x);

	/* not an ext file system */
	assert_int_equal(sh("truncate -s 4M '%s/zero.img'", tmpdir), 0);
	snprintf(img, sizeof img, "%s/zero.img", tmpdir);
	fix_open(&x, img);
	ERR(VMIE_ECORRUPT, vmie_guest_open_ext(x.ov, "disk9", &x.g, &e_),
	    "disk9", "superblock");
	fix_free(&x);

	/* a raw image without an overlay: the first write fails, naming
	 * the device, the path and why */
	make_image(img, sizeof img, "recov", "-t ext4", 16);
	struct vmie_err e = { 0 };
	struct vmie_open_opts o = { .format = "raw" };
	struct vmie_image *raw = NULL;
	struct vmie_guest *g = NULL;
	assert_int_equal(vmie_image_open(img, &o, &raw, &e), 0);
	assert_int_equal(vmie_guest_open_ext(raw, NULL, &g, &e), 0);
	ERR(VMIE_EUNSUPP, vmie_guest_write(g, "/etc/new", "x", 1, 0644, &e_),
	    "/etc/new", "read-only");
	vmie_guest_close(g);
	vmie_image_close(raw);
}

/* Files that do not fit, and limits. */
static void test_space(void **state)
{
	(void)state;
	char img[512];
	struct fix x;
	struct vmie_guest_stat st;

	if (!has_tools())
		skip();
	make_tree("space", false);
	make_image(img, sizeof img, "space", "-t ext4 -b 1024", 8);
	fix_open(&x, img);
	fix_guest(&x);
	size_t len = 16u << 20;
	char *big = calloc(1, len);
	assert_non_null(big);
	ERR(VMIE_ENOSPC, vmie_guest_write(x.g, "/etc/huge", big, len, 0644,
					  &e_), "disk0p1", "/etc/huge");
	ERR(VMIE_ENOSPC, vmie_guest_write(x.g, "/etc/fstab", big, len, 0644,
					  &e_), "/etc/fstab");
	free(big);
	/* refused before anything changed */
	OK(vmie_guest_stat(x.g, "/etc/huge", &st, &e_));
	assert_false(st.exists);
	OK(vmie_guest_stat(x.g, "/etc/fstab", &st, &e_));
	assert_int_equal(st.size, strlen(fstab_orig));
	ERR(VMIE_ENOMEM, vmie_guest_write(x.g, "/etc/x", "", (size_t)3 << 30,
					  0644, &e_), "/etc/x");
	fix_finish(&x);
	fix_free(&x);
}

/* A window's writes stay inside it and land in the overlay. */
static void test_window_pwrite(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_open_opts o = { .format = "raw" };
	struct vmie_image *raw, *ov, *w, *wr;
	char img[512];
	uint8_t buf[4096], got[4096];

	snprintf(img, sizeof img, "%s/win.img", tmpdir);
	assert_int_equal(sh("truncate -s 4M '%s'", img), 0);
	assert_int_equal(vmie_image_open(img, &o, &raw, &e), 0);
	assert_int_equal(vmie_overlay_open(raw, &ov, &e), 0);
	assert_int_equal(vmie_image_window(ov, 1 << 20, 1 << 20, "win", &w,
					   &e), 0);
	memset(buf, 0xab, sizeof buf);
	assert_int_equal(vmie_image_pwrite(w, buf, sizeof buf, 4096, &e), 0);
	assert_int_equal(vmie_image_pread(ov, got, sizeof got,
					  (1 << 20) + 4096, &e), 0);
	assert_memory_equal(got, buf, sizeof buf);
	assert_int_equal(vmie_image_pwrite(w, buf, sizeof buf,
					   (1 << 20) - sizeof buf, &e), 0);
	/* past the end of the window: refused, the neighbour untouched */
	assert_int_equal(vmie_image_pwrite(w, buf, sizeof buf,
					   (1 << 20) - 1024, &e), VMIE_ERANGE);
	assert_int_equal(vmie_image_pwrite(w, buf, 1, 1 << 20, &e),
			 VMIE_ERANGE);
	assert_int_equal(vmie_image_pwrite(w, buf, 1, UINT64_MAX, &e),
			 VMIE_ERANGE);
	assert_int_equal(vmie_image_pread(ov, got, sizeof got, 2 << 20, &e), 0);
	for (size_t i = 0; i < sizeof got; i++)
		assert_int_equal(got[i], 0);
	/* a window over a read-only image is read-only */
	assert_int_equal(vmie_image_window(raw, 0, 1 << 20, "ro", &wr, &e), 0);
	assert_int_equal(vmie_image_pwrite(wr, buf, 1, 0, &e), VMIE_EUNSUPP);
	vmie_image_close(wr);
	vmie_image_close(w);
	vmie_image_close(ov);
	vmie_image_close(raw);
	assert_int_equal(sh("cmp -s '%s' /dev/zero -n 4194304", img), 0);
}

/* ---- guest-ext.sh: a partitioned disk ---- */

static void test_partition(void **state)
{
	(void)state;
	const char *disk = getenv("GUEST_EXT_DISK");
	const char *out = getenv("GUEST_EXT_OUT");
	struct vmie_err e = { 0 };
	struct vmie_open_opts o = { .format = "raw" };
	struct vmie_convert_opts co = { .format = "raw", .threads = 2 };
	struct vmie_image *raw, *ov, *part;
	struct vmie_ptable pt;
	struct vmie_guest *g;

	if (!disk || !out)
		skip();
	assert_int_equal(vmie_image_open(disk, &o, &raw, &e), 0);
	assert_int_equal(vmie_overlay_open(raw, &ov, &e), 0);
	assert_int_equal(vmie_ptable_read(ov, &pt, &e), 0);
	assert_int_equal(pt.type, VMIE_PT_MBR);
	assert_true(pt.n_parts >= 1);
	assert_int_equal(pt.parts[0].start, 1 << 20);
	assert_int_equal(vmie_image_window(ov, pt.parts[0].start,
					   pt.parts[0].size, "disk0p1", &part,
					   &e), 0);
	vmie_ptable_free(&pt);
	if (vmie_guest_open_ext(part, "disk0p1", &g, &e))
		fail_msg("open: %s", e.msg);
	const char fstab[] = "UUID=0b0e5f1c-1111-2222-3333-444455556666 / "
			     "ext4 defaults 0 1\n";
	OK(vmie_guest_copy(g, "/etc/fstab", "/etc/fstab.vmie-orig", &e_));
	OK(vmie_guest_write(g, "/etc/fstab", fstab, strlen(fstab), 0644, &e_));
	OK(vmie_guest_rename(g, "/etc/hostname", "/etc/hostname.vmie-orig",
			     &e_));
	for (int i = 0; i < 300; i++) {
		char p[64];
		snprintf(p, sizeof p, "/etc/many/new-%03d", i);
		OK(vmie_guest_write(g, p, p, strlen(p), 0644, &e_));
	}
	OK(vmie_guest_flush(g, &e_));
	vmie_guest_close(g);
	vmie_image_close(part);
	if (vmie_convert(ov, out, &co, NULL, &e))
		fail_msg("convert: %s", e.msg);
	vmie_image_close(ov);
	vmie_image_close(raw);
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/vmie-guest-ext.XXXXXX",
		 t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (tmpdir[0] && !getenv("GUEST_EXT_KEEP"))
		sh("rm -rf '%s'", tmpdir);
	return 0;
}

int main(void)
{
	if (getenv("GUEST_EXT_DISK")) {
		const struct CMUnitTest part[] = {
			cmocka_unit_test(test_partition),
		};
		return cmocka_run_group_tests(part, setup, teardown);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext2),
		cmocka_unit_test(test_ext3),
		cmocka_unit_test(test_ext4),
		cmocka_unit_test(test_ext4_1k),
		cmocka_unit_test(test_ext4_nocsum),
		cmocka_unit_test(test_ext4_1k_nocsum),
		cmocka_unit_test(test_ext4_inline),
		cmocka_unit_test(test_ext4_htree),
		cmocka_unit_test(test_ext3_htree),
		cmocka_unit_test(test_ext4_bigalloc),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_symlink_loop),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_space),
		cmocka_unit_test(test_window_pwrite),
		cmocka_unit_test(test_partition),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
