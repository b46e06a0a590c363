/* lib/io/bucket_dir.c: buckets as directories.  A key never leaves its
 * bucket (hostile keys, symbolic links out of it, FIFOs), objects are read
 * as file sources with siblings beside them, and puts publish on commit
 * and leave nothing on abort.  Everything runs twice: with openat2, then
 * with openat2 made to fail with ENOSYS by a seccomp filter, so that the
 * component-by-component walk is tested too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "io/bucket.h"
#include "io/io.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static char root[256];
static struct vmie_buckets *bk;

static int fds_at_setup;

/* Open file descriptors of this process: none may leak from a test. */
static int count_fds(void)
{
	DIR *D = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	if (!D)
		return -1;
	while ((e = readdir(D)))
		n += e->d_name[0] != '.';
	closedir(D);
	return n;
}

static void put_file(const char *rel, const char *data)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void ln(const char *target, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static int tree_n;
static int count_one(const char *p, const struct stat *st, int flag,
		     struct FTW *f)
{
	(void)p, (void)st, (void)flag, (void)f;
	tree_n++;
	return 0;
}

/* Entries under root, recursively (links not followed). */
static int count_tree(void)
{
	tree_n = 0;
	assert_int_equal(nftw(root, count_one, 16, FTW_PHYS), 0);
	return tree_n;
}

/*
 * root/
 *   bkt/p/disk.vmdk        "descriptor"
 *   bkt/p/disk-flat.vmdk   "extent data"
 *   bkt/q/obj              "other object"
 *   bkt/sparse             8 MiB + 1, one byte of data at the end
 *   outside/secret         "secret" (another bucket: outside bkt)
 */
static int setup(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	snprintf(root, sizeof root, "/tmp/vmie-buckets-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mk("bkt");
	mk("bkt/p");
	mk("bkt/q");
	mk("outside");
	put_file("bkt/p/disk.vmdk", "descriptor");
	put_file("bkt/p/disk-flat.vmdk", "extent data");
	put_file("bkt/q/obj", "other object");
	put_file("outside/secret", "secret");
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/bkt/sparse", root);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, "x", 1, 8 << 20) != 1)
		return -1;
	close(fd);
	fds_at_setup = count_fds();
	return vmie_buckets_open_dir(root, &bk, &e);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	vmie_buckets_close(bk);
	bk = NULL;
	int leaked = count_fds() - fds_at_setup;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	int r = system(cmd);
	if (leaked) {
		print_error("%d file descriptors leaked\n", leaked);
		return -1;
	}
	return r;
}

static void read_all(struct vmie_src *s, const char *want)
{
	struct vmie_err e = { 0 };
	char buf[64] = { 0 };
	assert_int_equal(s->size, strlen(want));
	assert_int_equal(vmie_src_pread(s, buf, s->size, 0, &e), 0);
	assert_string_equal(buf, want);
}

static void test_read(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	uint64_t size, dev, ino, pnum;
	bool hole;

	assert_string_equal(bk->ops->kind, "dir");
	assert_int_equal(vmie_buckets_open(bk, "bkt", "p/disk.vmdk", &s, &e), 0);
	read_all(s, "descriptor");
	assert_string_equal(s->name, "s3://bkt/p/disk.vmdk");
	assert_true(vmie_src_file_id(s, &dev, &ino));
	assert_non_null(vmie_src_map(s));
	assert_int_equal(vmie_src_check_size(s, &e), 0);
	vmie_src_unref(s);
	assert_int_equal(vmie_buckets_head(bk, "bkt", "q/obj", &size, &e), 0);
	assert_int_equal(size, 12);

	/* holes are seen through the source (SEEK_DATA / SEEK_HOLE) */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "sparse", &s, &e), 0);
	assert_int_equal(s->size, (8 << 20) + 1);
	assert_int_equal(vmie_src_extent(s, 0, s->size, &pnum, &hole, &e), 0);
	assert_true(hole);
	assert_true(pnum >= 4096 && pnum <= 8 << 20);
	vmie_src_unref(s);

	/* absent keys name the bucket and the key */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "p/nothing", &s, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "s3://bkt/p/nothing"));
	assert_int_equal(vmie_buckets_head(bk, "bkt", "nothing/x", &size, &e),
			 VMIE_ENOENT);
	/* a key below an object */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "q/obj/x", &s, &e),
			 VMIE_ENOENT);
}

static void test_siblings(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s, *sib, *sib2;

	ln("../../outside/secret", "bkt/p/escape");
	ln("../q/obj", "bkt/p/alias");
	ln("/etc/passwd", "bkt/p/abs");
	assert_int_equal(vmie_buckets_open(bk, "bkt", "p/disk.vmdk", &s, &e), 0);
	/* siblings outlive the bucket handle */
	struct vmie_buckets *b2;
	assert_int_equal(vmie_buckets_open_dir(root, &b2, &e), 0);
	assert_int_equal(vmie_buckets_open(b2, "bkt", "p/disk.vmdk", &sib2, &e),
			 0);
	vmie_buckets_close(b2);
	assert_int_equal(vmie_src_open_sibling(sib2, "disk-flat.vmdk", &sib, &e),
			 0);
	read_all(sib, "extent data");
	vmie_src_unref(sib);
	vmie_src_unref(sib2);

	assert_int_equal(vmie_src_open_sibling(s, "disk-flat.vmdk", &sib, &e),
			 0);
	assert_string_equal(sib->name, "s3://bkt/p/disk-flat.vmdk");
	read_all(sib, "extent data");
	/* and a sibling's sibling */
	assert_int_equal(vmie_src_open_sibling(sib, "disk.vmdk", &sib2, &e), 0);
	read_all(sib2, "descriptor");
	vmie_src_unref(sib2);
	vmie_src_unref(sib);

	assert_int_equal(vmie_src_open_sibling(s, "missing.vmdk", &sib, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "s3://bkt/p/missing.vmdk"));
	assert_int_equal(vmie_src_open_sibling(s, "../q/obj", &sib, &e),
			 VMIE_EPERM);
	assert_int_equal(vmie_src_open_sibling(s, "..", &sib, &e), VMIE_EPERM);
	assert_int_equal(vmie_src_open_sibling(s, "escape", &sib, &e),
			 VMIE_EPERM);
	assert_non_null(strstr(e.msg, "outside the bucket"));
	assert_int_equal(vmie_src_open_sibling(s, "abs", &sib, &e), VMIE_EPERM);
	/* a link to another object of the bucket is that object */
	assert_int_equal(vmie_src_open_sibling(s, "alias", &sib, &e), 0);
	read_all(sib, "other object");
	vmie_src_unref(sib);
	vmie_src_unref(s);
}

static void test_hostile_keys(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s = NULL;
	struct vmie_sink *k = NULL;
	uint64_t size;
	char longkey[1100], longpart[300];
	memset(longkey, 'a', 1025);
	longkey[1025] = 0;
	memset(longpart, 'b', 256);
	longpart[256] = 0;
	const char *keys[] = {
		"", "..", "../outside/secret", "p/../../outside/secret",
		"p/../disk.vmdk", "/etc/passwd", "/", "a//b", "p//disk.vmdk",
		"./x", "p/./disk.vmdk", "p/", ".", "p\\disk.vmdk",
		"..\\outside\\secret", "p/disk\x01.vmdk", "p/\x1b[31m", "a\x7f",
		"a\nb", longkey, longpart,
	};
	int before = count_tree();
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *key = keys[i];
		assert_int_equal(vmie_bucket_check_key(key, &e), VMIE_EPERM);
		assert_true(strlen(e.msg) > 0);
		assert_null(strchr(e.msg, '\x1b'));   /* shown escaped */
		assert_int_equal(vmie_buckets_open(bk, "bkt", key, &s, &e),
				 VMIE_EPERM);
		assert_int_equal(vmie_buckets_head(bk, "bkt", key, &size, &e),
				 VMIE_EPERM);
		assert_int_equal(vmie_buckets_put(bk, "bkt", key, true, &k, &e),
				 VMIE_EPERM);
		assert_int_equal(vmie_buckets_remove(bk, "bkt", key, &e),
				 VMIE_EPERM);
		/* the implementation checks too, called directly */
		assert_int_equal(bk->ops->open(bk, "bkt", key, &s, &e),
				 VMIE_EPERM);
		assert_int_equal(bk->ops->put(bk, "bkt", key, true, &k, &e),
				 VMIE_EPERM);
	}
	assert_int_equal(vmie_bucket_check_key(NULL, &e), VMIE_EPERM);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "/etc/passwd", &s, &e),
			 VMIE_EPERM);
	assert_non_null(strstr(e.msg, "/etc/passwd"));
	assert_int_equal(count_tree(), before);   /* nothing created */
	/* fine keys */
	assert_int_equal(vmie_bucket_check_key("a", &e), 0);
	assert_int_equal(vmie_bucket_check_key("a/b.c/..d/.e", &e), 0);
	assert_int_equal(vmie_bucket_check_key("images/vm 1/disk (1).vmdk",
					       &e), 0);
	longkey[1024] = 0;
	for (size_t i = 200; i < 1024; i += 200)
		longkey[i] = '/';
	assert_int_equal(vmie_bucket_check_key(longkey, &e), 0);
}

static void test_symlinks(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_sink *k;
	char abs[PATH_MAX];

	ln("../outside/secret", "bkt/evil");
	snprintf(abs, sizeof abs, "%s/outside/secret", root);
	ln(abs, "bkt/abs");
	ln("/proc/self/root/etc/passwd", "bkt/proc");
	ln("evil", "bkt/chain");
	ln("p/../../outside/secret", "bkt/dotdot");
	ln("../outside", "bkt/outdir");
	ln("loop2", "bkt/loop1");
	ln("loop1", "bkt/loop2");
	ln("p/disk.vmdk", "bkt/good");
	ln("p", "bkt/indir");
	ln("q/../p/./disk.vmdk", "bkt/twisty");
	ln("../../bkt/p/disk.vmdk", "bkt/q/upandback");

	const char *out[] = { "evil", "abs", "proc", "chain", "dotdot",
			      "outdir/secret" };
	for (size_t i = 0; i < sizeof out / sizeof *out; i++) {
		assert_int_equal(vmie_buckets_open(bk, "bkt", out[i], &s, &e),
				 VMIE_EPERM);
		assert_non_null(strstr(e.msg, "outside the bucket"));
		assert_non_null(strstr(e.msg, "s3://bkt/"));
	}
	uint64_t size;
	assert_int_equal(vmie_buckets_head(bk, "bkt", "outdir/secret", &size,
					   &e), VMIE_EPERM);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "loop1", &s, &e),
			 VMIE_EPERM);

	/* links that stay inside are followed */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "good", &s, &e), 0);
	read_all(s, "descriptor");
	vmie_src_unref(s);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "indir/disk.vmdk", &s, &e),
			 0);
	read_all(s, "descriptor");
	vmie_src_unref(s);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "twisty", &s, &e), 0);
	read_all(s, "descriptor");
	vmie_src_unref(s);
	/* "../bkt" goes out of the bucket, even if it comes back */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "q/upandback", &s, &e),
			 VMIE_EPERM);

	/* puts go only through the bucket's own directories */
	int before = count_tree();
	assert_int_equal(vmie_buckets_put(bk, "bkt", "outdir/new", true, &k,
					  &e), VMIE_EPERM);
	assert_non_null(strstr(e.msg, "symbolic link"));
	assert_int_equal(vmie_buckets_put(bk, "bkt", "outdir/sub/new", true, &k,
					  &e), VMIE_EPERM);
	assert_int_equal(vmie_buckets_put(bk, "bkt", "indir/new", false, &k,
					  &e), VMIE_EPERM);
	assert_int_equal(count_tree(), before);
	assert_false(exists("outside/new"));
	assert_false(exists("outside/sub"));
	/* a put over a link replaces the link, not its target */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "evil", true, &k, &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "mine", 4, 0, &e), 0);
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "evil", &s, &e), 0);
	read_all(s, "mine");
	vmie_src_unref(s);
	assert_int_equal(vmie_buckets_open(bk, "outside", "secret", &s, &e), 0);
	read_all(s, "secret");
	vmie_src_unref(s);
	/* removing a link removes the link */
	assert_int_equal(vmie_buckets_remove(bk, "bkt", "good", &e), 0);
	assert_false(exists("bkt/good"));
	assert_true(exists("bkt/p/disk.vmdk"));
	assert_int_equal(vmie_buckets_remove(bk, "bkt", "outdir/secret", &e),
			 VMIE_EPERM);
	assert_true(exists("outside/secret"));
}

static void test_not_regular(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	uint64_t size;
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/bkt/fifo", root);
	assert_int_equal(mkfifo(p, 0644), 0);
	ln("fifo", "bkt/fifolink");
	alarm(20);        /* a FIFO opened for reading would block */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "fifo", &s, &e),
			 VMIE_EPERM);
	assert_non_null(strstr(e.msg, "FIFO"));
	assert_non_null(strstr(e.msg, "s3://bkt/fifo"));
	assert_int_equal(vmie_buckets_open(bk, "bkt", "fifolink", &s, &e),
			 VMIE_EPERM);
	assert_int_equal(vmie_buckets_head(bk, "bkt", "fifo", &size, &e),
			 VMIE_EPERM);
	alarm(0);

	/* a socket, a directory */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%.80s/bkt/sock", root);
	int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sfd >= 0);
	assert_int_equal(bind(sfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "sock", &s, &e),
			 VMIE_EPERM);
	assert_non_null(strstr(e.msg, "socket"));
	close(sfd);
	assert_int_equal(vmie_buckets_open(bk, "bkt", "p", &s, &e), VMIE_EPERM);
	assert_non_null(strstr(e.msg, "directory"));
	assert_int_equal(vmie_buckets_remove(bk, "bkt", "p", &e), VMIE_EPERM);
	assert_true(exists("bkt/p/disk.vmdk"));
}

static void test_bucket_names(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_sink *k;
	struct vmie_buckets *b2;
	char big[80];
	memset(big, 'a', 64);
	big[64] = 0;
	const char *bad[] = {
		"", "ab", big, "Bkt", "b_kt", "-bkt", "bkt-", ".bkt", "bkt.",
		"b..kt", "..", "...", "b/kt", "../bkt", "bk t", "bkt\n",
		"b\\kt", "bkt\x01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(vmie_bucket_check_name(bad[i], &e),
				 VMIE_EPERM);
		assert_int_equal(vmie_buckets_open(bk, bad[i], "p/disk.vmdk", &s,
						   &e), VMIE_EPERM);
		assert_int_equal(bk->ops->open(bk, bad[i], "p/disk.vmdk", &s,
					       &e), VMIE_EPERM);
	}
	assert_int_equal(vmie_bucket_check_name(NULL, &e), VMIE_EPERM);
	const char *good[] = { "bkt", "my.bucket-1", "123", "a-b.c-d" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(vmie_bucket_check_name(good[i], &e), 0);
	memset(big, 'a', 63);
	big[63] = 0;
	assert_int_equal(vmie_bucket_check_name(big, &e), 0);

	/* a bucket that does not exist, for reading and for writing */
	assert_int_equal(vmie_buckets_open(bk, "nosuch", "p/disk.vmdk", &s, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "bucket nosuch does not exist"));
	assert_int_equal(vmie_buckets_put(bk, "nosuch", "x", false, &k, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "bucket nosuch does not exist"));
	assert_false(exists("nosuch"));
	put_file("notdir", "");
	assert_int_equal(vmie_buckets_open(bk, "notdir", "x", &s, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "not a directory"));
	/* a root that does not exist */
	assert_int_equal(vmie_buckets_open_dir("/nonexistent/vmie-root", &b2,
					       &e), VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/vmie-root"));
	vmie_buckets_close(NULL);
}

static void test_put(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_sink *k;
	uint64_t size;

	/* published on commit only, directories made */
	int before = count_tree();
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/a/b.img", false, &k,
					  &e), 0);
	assert_string_equal(k->name, "s3://bkt/out/a/b.img");
	assert_int_equal(vmie_sink_pwrite(k, "data", 4, 0, &e), 0);
	assert_int_equal(vmie_buckets_head(bk, "bkt", "out/a/b.img", &size, &e),
			 VMIE_ENOENT);
	assert_int_equal(count_tree(), before + 3);  /* out, a, the temp */
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	assert_int_equal(count_tree(), before + 3);  /* out, a, b.img */
	assert_int_equal(vmie_buckets_open(bk, "bkt", "out/a/b.img", &s, &e), 0);
	read_all(s, "data");
	vmie_src_unref(s);

	/* abort: no temp left, no directory made left */
	before = count_tree();
	assert_int_equal(vmie_buckets_put(bk, "bkt", "new/dir/x.img", false, &k,
					  &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "zz", 2, 1000, &e), 0);
	assert_int_equal(count_tree(), before + 3);
	vmie_sink_free(k);                         /* no commit: abort */
	assert_int_equal(count_tree(), before);
	assert_false(exists("bkt/new"));
	/* in directories that existed: they stay */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/a/c.img", false, &k,
					  &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "zz", 2, 0, &e), 0);
	vmie_sink_abort(k);
	vmie_sink_abort(k);                        /* idempotent */
	vmie_sink_free(k);
	assert_int_equal(count_tree(), before);
	/* half made under a directory that existed */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/n1/n2/x", false, &k,
					  &e), 0);
	vmie_sink_free(k);
	assert_int_equal(count_tree(), before);
	assert_true(exists("bkt/out/a"));

	/* overwrite=false: EEXIST at once, nothing made */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/a/b.img", false, &k,
					  &e), VMIE_EEXIST);
	assert_non_null(strstr(e.msg, "s3://bkt/out/a/b.img"));
	assert_non_null(strstr(e.msg, "exists"));
	assert_int_equal(count_tree(), before);
	/* overwrite=true: the old object until commit */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/a/b.img", true, &k,
					  &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "new data", 8, 0, &e), 0);
	assert_int_equal(vmie_buckets_head(bk, "bkt", "out/a/b.img", &size, &e),
			 0);
	assert_int_equal(size, 4);
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	assert_int_equal(vmie_buckets_head(bk, "bkt", "out/a/b.img", &size, &e),
			 0);
	assert_int_equal(size, 8);
	assert_int_equal(count_tree(), before);

	/* a key under an object; a key that is a directory */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/a/b.img/x", true, &k,
					  &e), VMIE_EEXIST);
	assert_int_equal(vmie_buckets_put(bk, "bkt", "out/a", true, &k, &e),
			 VMIE_EPERM);
	assert_int_equal(count_tree(), before);

	/* remove */
	assert_int_equal(vmie_buckets_remove(bk, "bkt", "out/a/b.img", &e), 0);
	assert_int_equal(vmie_buckets_remove(bk, "bkt", "out/a/b.img", &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "s3://bkt/out/a/b.img"));
	assert_int_equal(vmie_buckets_remove(bk, "bkt", "zz/top", &e),
			 VMIE_ENOENT);
	assert_int_equal(count_tree(), before - 1);
}

static void test_remove_temps(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *k;

	/* what puts of out/b.img and of top.img left when they died */
	mk("bkt/out");
	put_file("bkt/out/.b.img.vmie-AbC123", "dead");
	put_file("bkt/out/.b.img.vmie-zzzzzz", "dead");
	put_file("bkt/out/.b.img.vmie-ABC", "not a temporary");
	put_file("bkt/out/.b.img.x.vmie-ABCDEF", "another key's");
	put_file("bkt/out/b.img", "published");
	put_file("bkt/.top.img.vmie-Q1w2E3", "dead");
	ln("../../outside/secret", "bkt/out/.b.img.vmie-LINK00");
	int before = count_tree();
	assert_int_equal(vmie_buckets_remove_temps(bk, "bkt", "out/b.img", &e),
			 0);
	assert_int_equal(count_tree(), before - 2);
	assert_false(exists("bkt/out/.b.img.vmie-AbC123"));
	assert_true(exists("bkt/out/.b.img.vmie-ABC"));
	assert_true(exists("bkt/out/.b.img.x.vmie-ABCDEF"));
	assert_true(exists("bkt/out/b.img"));
	assert_true(exists("outside/secret"));
	assert_int_equal(vmie_buckets_remove_temps(bk, "bkt", "top.img", &e), 0);
	assert_false(exists("bkt/.top.img.vmie-Q1w2E3"));
	/* a put in progress is a temporary like any other */
	assert_int_equal(vmie_buckets_put(bk, "bkt", "new/x", false, &k, &e), 0);
	assert_int_equal(vmie_buckets_remove_temps(bk, "bkt", "new/x", &e), 0);
	vmie_sink_free(k);
	assert_false(exists("bkt/new"));
	/* nothing there, hostile keys, no bucket */
	assert_int_equal(vmie_buckets_remove_temps(bk, "bkt", "none/x", &e), 0);
	assert_int_equal(vmie_buckets_remove_temps(bk, "bkt", "../outside/x",
						   &e), VMIE_EPERM);
	assert_int_equal(bk->ops->remove_temps(bk, "bkt", "/x", &e),
			 VMIE_EPERM);
	assert_int_equal(vmie_buckets_remove_temps(bk, "nosuch", "x", &e),
			 VMIE_ENOENT);
	ln("../outside", "bkt/outdir");
	assert_int_equal(vmie_buckets_remove_temps(bk, "bkt", "outdir/secret",
						   &e), VMIE_EPERM);
}

/* Make openat2 fail with ENOSYS from now on (as on Linux < 5.6); false
 * when seccomp is not available here. */
static bool hide_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof *f, .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return false;
	errno = 0;
	return syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) < 0 &&
	       errno == ENOSYS;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_siblings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_keys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bucket_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_temps, setup,
						teardown),
	};
	int r = cmocka_run_group_tests_name("buckets", tests, NULL, NULL);
	if (!hide_openat2()) {
		printf("# seccomp unavailable: the walk without openat2 is "
		       "not tested\n");
		return r;
	}
	return r | cmocka_run_group_tests_name("buckets, no openat2", tests,
					       NULL, NULL);
}
