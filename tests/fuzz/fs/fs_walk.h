/* Shared by the fs fuzz targets: open a memory image and walk a file
 * system through the framework with small bounds (depth, entries, bytes),
 * so every input runs in milliseconds. */
#ifndef VMIE_FUZZ_FS_WALK_H
#define VMIE_FUZZ_FS_WALK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "io/io.h"

#define FUZZ_FS_MAX_DEPTH   4
#define FUZZ_FS_MAX_ENTRIES 64
#define FUZZ_FS_MAX_READ    (64 * 1024)

static struct vmie_image *fuzz_fs_image(const uint8_t *data, size_t size)
{
	struct vmie_src *src = NULL;
	struct vmie_image *img = NULL;
	if (vmie_src_open_mem(data, size, false, "fuzz", &src, NULL))
		return NULL;
	vmie_image_open_src(src, &(struct vmie_open_opts){ .format = "raw" },
			    &img, NULL);
	vmie_src_unref(src);
	return img;
}

struct fuzz_fs_names {
	char name[FUZZ_FS_MAX_ENTRIES][256];
	unsigned n;
};

static int fuzz_fs_collect(void *ctx, const struct vmie_dirent *d)
{
	struct fuzz_fs_names *l = ctx;
	if (l->n == FUZZ_FS_MAX_ENTRIES)
		return 1;
	memcpy(l->name[l->n++], d->name, sizeof d->name);
	return 0;
}

static void fuzz_fs_walk(struct vmie_fs *fs, const char *dir, int depth)
{
	struct fuzz_fs_names *l = calloc(1, sizeof *l);
	if (!l)
		return;
	vmie_fs_readdir(fs, dir, fuzz_fs_collect, l, NULL);
	for (unsigned i = 0; i < l->n; i++) {
		char path[1024], *buf = NULL, link[256];
		struct vmie_stat st;
		size_t len;
		snprintf(path, sizeof path, "%s/%s", dir, l->name[i]);
		if (vmie_fs_lstat(fs, path, &st, NULL))
			continue;
		if (st.type == VMIE_FT_DIR && depth < FUZZ_FS_MAX_DEPTH)
			fuzz_fs_walk(fs, path, depth + 1);
		else if (st.type == VMIE_FT_LNK)
			vmie_fs_readlink(fs, path, link, sizeof link, NULL);
		if (!vmie_fs_read_file(fs, path, FUZZ_FS_MAX_READ, &buf, &len,
				       NULL))
			free(buf);
	}
	free(l);
}

#endif
