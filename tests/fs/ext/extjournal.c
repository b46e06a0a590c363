/*
 * extjournal: open an ext image through lib/fs and print what was done
 * with its journal (vmie_ext_journal_info, lib/fs/ext/ext.h), as KEY=value
 * lines for the journal tests:
 *
 *   STATE=none|clean|replayed|skipped   NEEDS_RECOVERY=0|1  EXTERNAL=0|1
 *   TRANSACTIONS= FIRST_TID= LAST_TID= BLOCKS= LOGGED= REVOKED= BAD_BLOCKS=
 *   PROBLEM_RULE=  PROBLEM=   (empty when nothing was wrong)
 *
 *   extjournal IMAGE [LOOPS]   LOOPS > 1: open and close that many times
 *                              (timing in the shell, not asserted)
 *   extjournal IMAGE walk      every path below / except lost+found, sorted,
 *                              one process: "d PATH", "f SIZE PATH FNV64"
 *                              (hash of the content), "l PATH -> TARGET"
 * Errors: "extjournal: <message>" on stderr, exit 1.
 */
#include "fs/fs.h"
#include "fs/ext/ext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXTJ_MAX_FILE ((size_t)64 << 20)

struct names {
	char (*v)[256];
	size_t n, cap;
};

static int collect(void *ctx, const struct vmie_dirent *d)
{
	struct names *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char (*v)[256] = realloc(l->v, cap * sizeof *v);
		if (!v)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], d->name, 256);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int walk(struct vmie_fs *fs, const char *dir, int depth,
		struct vmie_err *err)
{
	struct names l = { 0 };
	int r = depth > 32 ? VMIE_ERR(err, VMIE_ERANGE, "too deep") :
		vmie_fs_readdir(fs, dir, collect, &l, err);
	if (r > 0)
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_name);
	for (size_t i = 0; i < l.n && !r; i++) {
		char path[4096], link[4096];
		struct vmie_stat st;
		if (!strcmp(dir, "/") && !strcmp(l.v[i], "lost+found"))
			continue;
		snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "",
			 l.v[i]);
		r = vmie_fs_lstat(fs, path, &st, err);
		if (r)
			break;
		if (st.type == VMIE_FT_DIR) {
			printf("d %s\n", path);
			r = walk(fs, path, depth + 1, err);
		} else if (st.type == VMIE_FT_LNK) {
			r = vmie_fs_readlink(fs, path, link, sizeof link, err);
			if (!r)
				printf("l %s -> %s\n", path, link);
		} else if (st.type == VMIE_FT_REG) {
			char *buf = NULL;
			size_t len = 0;
			uint64_t h = 0xcbf29ce484222325ULL;
			r = vmie_fs_read_file(fs, path, EXTJ_MAX_FILE, &buf,
					      &len, err);
			for (size_t k = 0; !r && k < len; k++)
				h = (h ^ (uint8_t)buf[k]) * 0x100000001b3ULL;
			if (!r)
				printf("f %" PRIu64 " %s %016" PRIx64 "\n",
				       st.size, path, h);
			free(buf);
		} else {
			printf("? %s\n", path);
		}
	}
	free(l.v);
	return r;
}

int main(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	struct vmie_image *img = NULL;
	struct vmie_fs *fs = NULL;
	struct vmie_ext_journal j;
	bool do_walk = argc > 2 && !strcmp(argv[2], "walk");
	int r, loops = argc > 2 && !do_walk ? atoi(argv[2]) : 1;

	if (argc < 2) {
		fprintf(stderr, "usage: extjournal IMAGE [LOOPS]\n");
		return 2;
	}
	r = vmie_image_open(argv[1], &(struct vmie_open_opts){ .format = "raw" },
			    &img, &err);
	for (int i = 0; !r && i < loops; i++) {
		if (fs)
			vmie_fs_close(fs);
		fs = NULL;
		r = vmie_fs_open(img, &fs, &err);
	}
	if (!r && do_walk)
		r = walk(fs, "/", 0, &err);
	else if (!r)
		r = vmie_ext_journal_info(fs, &j);
	if (r) {
		fprintf(stderr, "extjournal: %s\n", err.msg[0] ? err.msg :
			vmie_strerror(r));
		vmie_fs_close(fs);
		vmie_image_close(img);
		return 1;
	}
	if (do_walk)
		goto out;
	printf("STATE=%s\nNEEDS_RECOVERY=%d\nEXTERNAL=%d\nTRANSACTIONS=%u\n"
	       "FIRST_TID=%u\nLAST_TID=%u\nBLOCKS=%llu\nLOGGED=%llu\n"
	       "REVOKED=%llu\nBAD_BLOCKS=%llu\nPROBLEM_RULE=%s\nPROBLEM=%s\n",
	       vmie_ext_journal_state_name(j.state), j.needs_recovery,
	       j.external, j.transactions, j.first_tid, j.last_tid,
	       (unsigned long long)j.blocks, (unsigned long long)j.logged,
	       (unsigned long long)j.revoked,
	       (unsigned long long)j.bad_blocks, j.problem.rule,
	       j.problem.msg);
out:
	vmie_fs_close(fs);
	vmie_image_close(img);
	return 0;
}
