/* lib/io: sources (file, memory, window, holes, siblings) and sinks
 * (atomic publish, abort leaves nothing, no overwrite without the flag). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "io/io.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/vmie-io-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static int count_entries(const char *d)
{
	DIR *D = opendir(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(D)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(D);
	return n;
}

static void test_mem_and_window(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *m, *w;
	const char data[] = "0123456789abcdef";
	char buf[8];
	assert_int_equal(vmie_src_open_mem(data, 16, false, "mem", &m, &e), 0);
	assert_int_equal(vmie_src_pread(m, buf, 4, 12, &e), 0);
	assert_memory_equal(buf, "cdef", 4);
	assert_int_equal(vmie_src_pread(m, buf, 4, 13, &e), VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "truncated"));
	assert_int_equal(vmie_src_open_window(m, 4, 8, "mem:win", &w, &e), 0);
	vmie_src_unref(m);   /* the window keeps the parent alive */
	assert_int_equal(vmie_src_pread(w, buf, 8, 0, &e), 0);
	assert_memory_equal(buf, "456789ab", 8);
	assert_int_equal(vmie_src_pread(w, buf, 1, 8, &e), VMIE_ECORRUPT);
	/* a window past the parent's end is refused */
	struct vmie_src *w2;
	assert_int_equal(vmie_src_open_window(w, 4, 5, "bad", &w2, &e), VMIE_ECORRUPT);
	vmie_src_unref(w);
}

static void test_file_holes_and_siblings(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	char p[300], q[300];
	snprintf(p, sizeof p, "%s/sparse", dir);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "x", 1, 8 << 20), 1);
	close(fd);
	snprintf(q, sizeof q, "%s/sib", dir);
	fd = open(q, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);

	struct vmie_src *s, *sib;
	assert_int_equal(vmie_src_open_file(p, &s, &e), 0);
	assert_true(s->size == (8u << 20) + 1);
	uint64_t n;
	bool hole;
	assert_int_equal(vmie_src_extent(s, 0, s->size, &n, &hole, &e), 0);
	assert_true(hole);            /* tmpfs and ext4 both report the hole */
	assert_true(n >= (4u << 20) && n <= (8u << 20));
	assert_int_equal(vmie_src_open_sibling(s, "sib", &sib, &e), 0);
	char b[5];
	assert_int_equal(vmie_src_pread(sib, b, 5, 0, &e), 0);
	assert_memory_equal(b, "hello", 5);
	vmie_src_unref(sib);
	/* names that are paths are refused before any lookup */
	assert_int_equal(vmie_src_open_sibling(s, "../etc/passwd", &sib, &e), VMIE_EPERM);
	assert_int_equal(vmie_src_open_sibling(s, "/etc/passwd", &sib, &e), VMIE_EPERM);
	assert_int_equal(vmie_src_open_sibling(s, "..", &sib, &e), VMIE_EPERM);
	vmie_src_unref(s);
	unlink(p);
	unlink(q);
}

static void test_sink_atomic(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *k;
	char p[300];
	snprintf(p, sizeof p, "%s/out.img", dir);
	assert_int_equal(vmie_sink_open_file(p, VMIE_SINK_NOSYNC, &k, &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "abc", 3, 100, &e), 0);
	assert_true(access(p, F_OK) != 0);     /* not visible before commit */
	assert_int_equal(count_entries(dir), 1);  /* the temp file */
	char rb[3];
	assert_int_equal(vmie_sink_pread(k, rb, 3, 100, &e), 0);
	assert_memory_equal(rb, "abc", 3);
	assert_int_equal(vmie_sink_commit(k, &e), 0);
	vmie_sink_free(k);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 103);
	assert_int_equal(count_entries(dir), 1);

	/* no overwrite without the flag, and nothing created */
	assert_int_equal(vmie_sink_open_file(p, 0, &k, &e), VMIE_EEXIST);
	assert_non_null(strstr(e.msg, "already exists"));

	/* an aborted sink leaves nothing behind */
	assert_int_equal(vmie_sink_open_file(p, VMIE_SINK_OVERWRITE, &k, &e), 0);
	assert_int_equal(vmie_sink_pwrite(k, "zz", 2, 0, &e), 0);
	vmie_sink_free(k);                  /* free without commit = abort */
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 103);   /* old file untouched */
	unlink(p);
}

static void test_sink_mem_window(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_sink *m, *w;
	size_t len;
	assert_int_equal(vmie_sink_open_mem(&m, &e), 0);
	assert_int_equal(vmie_sink_open_window(m, 512, &w, &e), 0);
	assert_int_equal(vmie_sink_pwrite(w, "data", 4, 10, &e), 0);
	const uint8_t *d = vmie_sink_mem_data(m, &len);
	assert_int_equal(len, 526);
	assert_memory_equal(d + 522, "data", 4);
	assert_int_equal(m->written_end, 526);
	vmie_sink_free(w);
	vmie_sink_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_and_window),
		cmocka_unit_test(test_file_holes_and_siblings),
		cmocka_unit_test(test_sink_atomic),
		cmocka_unit_test(test_sink_mem_window),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
