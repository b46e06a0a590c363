/*
 * fsread: a small test tool over the file system framework (lib/fs/fs.h),
 * used by the shell tests of every file system driver.  Keep the interface
 * stable: other tests depend on it.
 *
 *   fsread [-f FORMAT] IMAGE probe           KEY=value lines (like blkid -o
 *                                            export): TYPE UUID LABEL VERSION
 *                                            SIZE FREE READABLE ENCRYPTED
 *   fsread [-f FORMAT] IMAGE ls PATH         "<t> <name>" sorted by name,
 *                                            t one of f d l c b p s ?
 *   fsread [-f FORMAT] IMAGE cat PATH        file contents to stdout
 *   fsread [-f FORMAT] IMAGE stat PATH       key=value lines (follows links)
 *   fsread [-f FORMAT] IMAGE lstat PATH      same without following
 *   fsread [-f FORMAT] IMAGE readlink PATH   the link target and a newline
 *   fsread [-f FORMAT] IMAGE find [PATH]     recursive "<t> <size> <path>"
 *                                            sorted, links not followed
 *   fsread [-f FORMAT] IMAGE exists PATH     exit 0 if it exists, else 1
 *   fsread [-f FORMAT] IMAGE chunks PATH N   file contents to stdout, read
 *                                            with vmie_fs_pread N bytes at
 *                                            a time (exercises offsets)
 *
 * FORMAT is an image driver name ("raw" by default, "auto" to probe).
 * Errors: "fsread: <message>" on stderr and exit status 1.
 */
#include "fs/fs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FSREAD_MAX_FILE ((size_t)1 << 30)
#define FSREAD_MAX_DEPTH 64

static char fsread_tchar(enum vmie_ftype t)
{
	switch (t) {
	case VMIE_FT_REG: return 'f';
	case VMIE_FT_DIR: return 'd';
	case VMIE_FT_LNK: return 'l';
	case VMIE_FT_CHR: return 'c';
	case VMIE_FT_BLK: return 'b';
	case VMIE_FT_FIFO: return 'p';
	case VMIE_FT_SOCK: return 's';
	default: return '?';
	}
}

struct fsread_list {
	struct vmie_dirent *v;
	size_t n, cap;
};

static int fsread_collect(void *ctx, const struct vmie_dirent *d)
{
	struct fsread_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct vmie_dirent *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
	return 0;
}

static int fsread_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vmie_dirent *)a)->name,
		      ((const struct vmie_dirent *)b)->name);
}

static int fsread_list_dir(struct vmie_fs *fs, const char *path,
			   struct fsread_list *l, struct vmie_err *err)
{
	memset(l, 0, sizeof *l);
	int r = vmie_fs_readdir(fs, path, fsread_collect, l, err);
	if (r > 0)
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	if (r) {
		free(l->v);
		l->v = NULL;
		l->n = 0;
	} else if (l->n) {
		qsort(l->v, l->n, sizeof *l->v, fsread_cmp);
	}
	return r;
}

static int fsread_find(struct vmie_fs *fs, const char *path, int depth,
		       struct vmie_err *err)
{
	struct fsread_list l;
	int r;
	if (depth > FSREAD_MAX_DEPTH)
		return VMIE_ERR(err, VMIE_ERANGE, "%s: too deep", path);
	r = fsread_list_dir(fs, path, &l, err);
	if (r)
		return r;
	for (size_t i = 0; i < l.n && !r; i++) {
		char sub[4096];
		struct vmie_stat st;
		snprintf(sub, sizeof sub, "%s%s%s", path,
			 path[strlen(path) - 1] == '/' ? "" : "/", l.v[i].name);
		r = vmie_fs_lstat(fs, sub, &st, err);
		if (r)
			break;
		printf("%c %" PRIu64 " %s\n", fsread_tchar(st.type),
		       st.type == VMIE_FT_DIR ? 0 : st.size, sub);
		if (st.type == VMIE_FT_DIR)
			r = fsread_find(fs, sub, depth + 1, err);
	}
	free(l.v);
	return r;
}

static void fsread_print_stat(const struct vmie_stat *st)
{
	printf("type=%c\nsize=%" PRIu64 "\nmode=%04o\nuid=%u\ngid=%u\n"
	       "mtime=%" PRId64 "\nnlink=%u\nino=%" PRIu64 "\n",
	       fsread_tchar(st->type), st->size, st->mode, st->uid, st->gid,
	       st->mtime, st->nlink, st->ino);
}

static int fsread_usage(void)
{
	fprintf(stderr, "usage: fsread [-f FORMAT] IMAGE "
		"probe|ls|cat|stat|lstat|readlink|find|exists|chunks [PATH [N]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	struct vmie_image *img = NULL;
	struct vmie_fs *fs = NULL;
	const char *format = "raw";
	int r = 0, rc = 1;

	if (argc > 2 && !strcmp(argv[1], "-f")) {
		format = strcmp(argv[2], "auto") ? argv[2] : NULL;
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		return fsread_usage();
	const char *cmd = argv[2];
	const char *path = argc > 3 ? argv[3] : "/";
	if (argc < 4 && strcmp(cmd, "probe") && strcmp(cmd, "find"))
		return fsread_usage();

	r = vmie_image_open(argv[1], &(struct vmie_open_opts){
				    .format = format }, &img, &err);
	if (r)
		goto out;
	if (!strcmp(cmd, "probe")) {
		struct vmie_fs_probe p;
		vmie_fs_probe(img, &p);
		if (!p.type[0]) {
			r = VMIE_ERR(&err, VMIE_EFORMAT, "%s: no file system",
				     argv[1]);
			goto out;
		}
		printf("TYPE=%s\nUUID=%s\nLABEL=%s\nVERSION=%s\n"
		       "SIZE=%" PRIu64 "\n", p.type, p.uuid, p.label,
		       p.version, p.size);
		if (p.free == UINT64_MAX)
			printf("FREE=\n");
		else
			printf("FREE=%" PRIu64 "\n", p.free);
		printf("READABLE=%d\nENCRYPTED=%d\n", p.readable, p.encrypted);
		rc = 0;
		goto out;
	}
	r = vmie_fs_open(img, &fs, &err);
	if (r)
		goto out;
	if (!strcmp(cmd, "ls")) {
		struct fsread_list l;
		r = fsread_list_dir(fs, path, &l, &err);
		if (r)
			goto out;
		for (size_t i = 0; i < l.n; i++)
			printf("%c %s\n", fsread_tchar(l.v[i].type),
			       l.v[i].name);
		free(l.v);
	} else if (!strcmp(cmd, "cat")) {
		char *buf;
		size_t len;
		r = vmie_fs_read_file(fs, path, FSREAD_MAX_FILE, &buf, &len,
				      &err);
		if (r)
			goto out;
		fwrite(buf, 1, len, stdout);
		free(buf);
	} else if (!strcmp(cmd, "stat") || !strcmp(cmd, "lstat")) {
		struct vmie_stat st;
		r = cmd[0] == 's' ? vmie_fs_stat(fs, path, &st, &err) :
				    vmie_fs_lstat(fs, path, &st, &err);
		if (r)
			goto out;
		fsread_print_stat(&st);
	} else if (!strcmp(cmd, "readlink")) {
		char buf[4096];
		r = vmie_fs_readlink(fs, path, buf, sizeof buf, &err);
		if (r)
			goto out;
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "find")) {
		r = fsread_find(fs, path, 0, &err);
		if (r)
			goto out;
	} else if (!strcmp(cmd, "chunks")) {
		size_t n = argc > 4 ? strtoul(argv[4], NULL, 0) : 0, got;
		char *buf = n ? malloc(n) : NULL;
		uint64_t off = 0;
		if (!buf) {
			r = VMIE_ERR(&err, VMIE_EINVAL, "chunks: bad size");
			goto out;
		}
		do {
			r = vmie_fs_pread(fs, path, buf, n, off, &got, &err);
			if (!r)
				fwrite(buf, 1, got, stdout);
			off += got;
		} while (!r && got);
		free(buf);
		if (r)
			goto out;
	} else if (!strcmp(cmd, "exists")) {
		rc = vmie_fs_exists(fs, path) ? 0 : 1;
		goto out;
	} else {
		rc = fsread_usage();
		goto out;
	}
	rc = 0;
out:
	if (r) {
		fprintf(stderr, "fsread: %s (%s)\n", err.msg,
			vmie_strerror(r));
		rc = 1;
	}
	vmie_fs_close(fs);
	vmie_image_close(img);
	if (fflush(stdout))
		rc = 1;
	return rc;
}
