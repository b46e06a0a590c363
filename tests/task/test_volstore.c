/* lib/task/volstore_dir.c: the image store in a directory.  Volumes are
 * published on commit, an abort leaves nothing, sweep removes only the
 * temporaries of snapshots that are not live, strays finds everything
 * else, and snapshot ids are checked before a name is made of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "io/io.h"
#include "task/volstore.h"

#define SNAP_A "snap-0123456789abcdef0"
#define SNAP_B "snap-0123456789abcdef1"
#define SNAP_OLD "snap-0123abcd"          /* the 8-digit form */

static char dir[256], vols[300];
static struct vmie_volstore *vs;

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

static int setup(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	snprintf(dir, sizeof dir, "/tmp/vmie-volstore-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(vols, sizeof vols, "%s/volumes", dir);
	fds_at_setup = count_fds();
	return vmie_volstore_open_dir(dir, &vs, &e);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	vmie_volstore_close(vs);
	vs = NULL;
	int leaked = count_fds() - fds_at_setup;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	int r = system(cmd);
	if (leaked) {
		print_error("%d file descriptors leaked\n", leaked);
		return -1;
	}
	return r;
}

/* Entries of the volumes directory; the first one starting with prefix
 * in found (if any). */
static int count_vols(const char *prefix, char *found)
{
	DIR *D = opendir(vols);
	struct dirent *e;
	int n = 0;
	if (found)
		found[0] = 0;
	assert_non_null(D);
	while ((e = readdir(D))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (found && prefix && !found[0] &&
		    !strncmp(e->d_name, prefix, strlen(prefix)))
			snprintf(found, 256, "%s", e->d_name);
	}
	closedir(D);
	return n;
}

static void put_vol_file(const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", vols, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static bool live_a(const char *snap_id, void *ctx)
{
	(*(int *)ctx)++;
	return !strcmp(snap_id, SNAP_A);
}

static bool live_all(const char *snap_id, void *ctx)
{
	(void)snap_id;
	(void)ctx;
	return true;
}

static void test_create_open_remove(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *k, *k2;
	struct vmie_src *s;
	char fmt[8], name[256], buf[4];
	unsigned n;

	assert_string_equal(vs->ops->kind, "dir");
	assert_non_null(strstr(vs->where, "/volumes"));
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "raw", &k, &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "vol", 3, 1 << 20, &e), 0);
	/* being written: a temporary carrying the snapshot id */
	assert_int_equal(count_vols(".", name), 1);
	assert_int_equal(strncmp(name, "." SNAP_A ".raw.vmie-",
				 strlen("." SNAP_A ".raw.vmie-")), 0);
	assert_int_equal(vmie_volstore_open(vs, SNAP_A, &s, fmt, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, SNAP_A));
	/* a live temporary is not a stray, a dead one is */
	assert_int_equal(vmie_volstore_strays(vs, live_all, NULL, &n, name, &e),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(vmie_volstore_strays(vs, NULL, NULL, &n, name, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(name[0], '.');
	/* one volume per snapshot, whatever its format */
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "qcow2", &k2, &e), 0);
	vmie_sink_free(k2);
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "raw", &k2, &e),
			 VMIE_EEXIST);
	assert_non_null(strstr(e.msg, SNAP_A));
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "qcow2", &k2, &e),
			 VMIE_EEXIST);
	assert_int_equal(count_vols(NULL, NULL), 1);

	memset(fmt, 'x', sizeof fmt);
	assert_int_equal(vmie_volstore_open(vs, SNAP_A, &s, fmt, &e), 0);
	assert_string_equal(fmt, "raw");
	assert_int_equal(s->size, (1 << 20) + 3);
	assert_int_equal(vmie_src_pread(s, buf, 3, 1 << 20, &e), 0);
	assert_memory_equal(buf, "vol", 3);
	vmie_src_unref(s);
	assert_int_equal(vmie_volstore_strays(vs, NULL, NULL, &n, name, &e), 0);
	assert_int_equal(n, 0);
	assert_string_equal(name, "");

	/* qcow2, and the 8-digit id */
	assert_int_equal(vmie_volstore_create(vs, SNAP_OLD, "qcow2", &k, &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "QFI", 3, 0, &e), 0);
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	assert_int_equal(vmie_volstore_open(vs, SNAP_OLD, &s, fmt, &e), 0);
	assert_string_equal(fmt, "qcow2");
	vmie_src_unref(s);

	/* remove: published and temporaries; none is fine */
	assert_int_equal(vmie_volstore_create(vs, SNAP_B, "raw", &k, &e), 0);
	assert_int_equal(count_vols(NULL, NULL), 3);
	assert_int_equal(vmie_volstore_remove(vs, SNAP_A, &e), 0);
	assert_int_equal(vmie_volstore_open(vs, SNAP_A, &s, fmt, &e),
			 VMIE_ENOENT);
	assert_int_equal(vmie_volstore_remove(vs, SNAP_A, &e), 0);
	assert_int_equal(vmie_volstore_remove(vs, SNAP_B, &e), 0);
	assert_int_equal(count_vols(NULL, NULL), 1);
	vmie_sink_free(k);              /* its temporary is gone already */
	assert_int_equal(vmie_volstore_remove(vs, SNAP_OLD, &e), 0);
	assert_int_equal(count_vols(NULL, NULL), 0);
}

static void test_abort(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *k;
	struct vmie_src *s;
	char fmt[8];

	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "qcow2", &k, &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "data", 4, 0, &e), 0);
	assert_int_equal(count_vols(NULL, NULL), 1);
	vmie_sink_free(k);             /* no commit: abort */
	assert_int_equal(count_vols(NULL, NULL), 0);
	assert_int_equal(vmie_volstore_open(vs, SNAP_A, &s, fmt, &e),
			 VMIE_ENOENT);
	/* and again, explicitly */
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "raw", &k, &e), 0);
	vmie_sink_abort(k);
	assert_int_equal(count_vols(NULL, NULL), 0);
	vmie_sink_free(k);
}

static void test_bad_ids(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *k;
	struct vmie_src *s;
	char fmt[8];
	const char *bad[] = {
		"", "snap-", "snap-0123456789ABCDEF0", "snap-0123456789abcdef",
		"snap-0123456789abcdef01", "snap-0123abc", "ami-0123456789abcdef0",
		"snap-../../../etc/x", "../snap-0123456789abcdef0",
		"snap-0123456789abcdef0/x", "snap-0123456789abcdef0.raw",
		"snap-0123456789abcdeg0", "snap-0123456789abcdef0\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(vmie_volstore_create(vs, bad[i], "raw", &k, &e),
				 VMIE_EINVAL);
		assert_non_null(strstr(e.msg, "not a snapshot id"));
		assert_int_equal(vmie_volstore_open(vs, bad[i], &s, fmt, &e),
				 VMIE_EINVAL);
		assert_int_equal(vmie_volstore_remove(vs, bad[i], &e),
				 VMIE_EINVAL);
	}
	assert_int_equal(vmie_volstore_create(vs, NULL, "raw", &k, &e),
			 VMIE_EINVAL);
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "vmdk", &k, &e),
			 VMIE_EINVAL);
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "../raw", &k, &e),
			 VMIE_EINVAL);
	assert_int_equal(count_vols(NULL, NULL), 0);
}

static void test_sweep(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *ka, *kb;
	struct vmie_src *s;
	char fmt[8], found[256];
	unsigned removed = 99, n;
	int calls = 0;

	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "raw", &ka, &e), 0);
	assert_int_equal(vmie_volstore_create(vs, SNAP_B, "qcow2", &kb, &e), 0);
	assert_int_equal(vmie_sink_pwrite(ka, "a", 1, 0, &e), 0);
	assert_int_equal(vmie_sink_pwrite(kb, "b", 1, 0, &e), 0);
	/* left by a process that died, and files that are not temporaries */
	put_vol_file("." SNAP_OLD ".qcow2.vmie-Ab3dE9");
	put_vol_file(".foo.vmie-ABCDEF");
	put_vol_file("." SNAP_B ".vmdk.vmie-ABCDEF");
	put_vol_file("." SNAP_B ".raw.vmie-ABC");
	assert_int_equal(count_vols(NULL, NULL), 6);

	assert_int_equal(vmie_volstore_sweep(vs, live_a, &calls, &removed, &e),
			 0);
	assert_int_equal(removed, 2);                 /* kb's and SNAP_OLD's */
	assert_int_equal(calls, 3);
	assert_int_equal(count_vols(".", NULL), 4);
	assert_int_equal(count_vols("." SNAP_A ".raw.vmie-", found), 4);
	assert_true(found[0]);
	assert_int_equal(count_vols("." SNAP_B ".qcow2.vmie-", found), 4);
	assert_false(found[0]);
	assert_int_equal(count_vols("." SNAP_OLD, found), 4);
	assert_false(found[0]);
	/* the files that are not temporaries are strays */
	assert_int_equal(vmie_volstore_strays(vs, live_a, &calls, &n, found, &e),
			 0);
	assert_int_equal(n, 3);
	assert_true(!strcmp(found, ".foo.vmie-ABCDEF") ||
		    !strncmp(found, "." SNAP_B, strlen("." SNAP_B)));

	/* the live one is still published on commit */
	assert_int_equal(vmie_sink_commit(ka, &e), 0);
	vmie_sink_free(ka);
	vmie_sink_free(kb);
	assert_int_equal(vmie_volstore_open(vs, SNAP_A, &s, fmt, &e), 0);
	vmie_src_unref(s);
	/* nothing live: a sweep removes nothing else (no temporaries left) */
	assert_int_equal(vmie_volstore_sweep(vs, NULL, NULL, &removed, &e), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(vmie_volstore_sweep(vs, NULL, NULL, NULL, &e), 0);
	assert_int_equal(count_vols(NULL, NULL), 4);
}

static void test_strays(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *k;
	struct vmie_src *s;
	char fmt[8], found[256], p[PATH_MAX];
	unsigned n = 99;

	assert_int_equal(vmie_volstore_strays(vs, NULL, NULL, &n, found, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vmie_volstore_create(vs, SNAP_A, "raw", &k, &e), 0);
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	put_vol_file("junk.txt");
	assert_int_equal(vmie_volstore_strays(vs, NULL, NULL, &n, found, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(found, "junk.txt");
	assert_int_equal(vmie_volstore_strays(vs, NULL, NULL, &n, NULL, &e), 0);
	assert_int_equal(n, 1);

	/* a volume's name that is not a regular file: a stray, never opened */
	snprintf(p, sizeof p, "%s/%s.raw", vols, SNAP_B);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/" SNAP_OLD ".raw", vols);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof p, "%s/snap-00000000000000000.qcow2", vols);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_int_equal(vmie_volstore_strays(vs, NULL, NULL, &n, found, &e), 0);
	assert_int_equal(n, 4);
	assert_int_equal(vmie_volstore_open(vs, SNAP_B, &s, fmt, &e), VMIE_EPERM);
	assert_int_equal(vmie_volstore_open(vs, SNAP_OLD, &s, fmt, &e),
			 VMIE_EPERM);
	alarm(20);
	assert_int_equal(vmie_volstore_open(vs, "snap-00000000000000000", &s,
					    fmt, &e), VMIE_EPERM);
	alarm(0);
	/* sweep leaves strays alone */
	assert_int_equal(vmie_volstore_sweep(vs, NULL, NULL, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(count_vols(NULL, NULL), 5);
}

static void test_open_dir(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_volstore *v2;
	/* volumes/ exists already: opened as it is */
	assert_int_equal(vmie_volstore_open_dir(dir, &v2, &e), 0);
	vmie_volstore_close(v2);
	assert_int_equal(vmie_volstore_open_dir("/nonexistent/vmie", &v2, &e),
			 VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/vmie/volumes"));
	vmie_volstore_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_remove, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
	};
	return cmocka_run_group_tests_name("volstore", tests, NULL, NULL);
}
