/*
 * The body shared by the file system fuzz targets (fuzz_xfs.c,
 * fuzz_btrfs.c): a raw image in memory, one driver's vtable exercised.
 */
#ifndef VMIE_FUZZ_FS_DRIVER_H
#define VMIE_FUZZ_FS_DRIVER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fs/fs.h"
#include "image/image.h"
#include "io/io.h"

struct fuzz_names {
	vmie_ino_t ino[16];
	unsigned n;
};

static int fuzz_collect(void *ctx, const struct vmie_dirent *d)
{
	struct fuzz_names *n = ctx;
	if (n->n == 16)
		return 1;
	n->ino[n->n++] = d->ino;
	return 0;
}

/* Probe and open data as drv's file system, list the root, read a little of
 * every entry, look up "etc", then call extra (if any) on the open fs. */
static inline int fuzz_fs_driver(const struct vmie_fs_driver *drv,
				 const uint8_t *data, size_t size,
				 void (*extra)(struct vmie_fs *fs))
{
	struct vmie_err e = { 0 };
	struct vmie_src *src;
	struct vmie_image *img;
	struct vmie_fs fs = { 0 };
	struct fuzz_names names = { .n = 0 };
	static uint8_t buf[65536];

	if (vmie_src_open_mem(data, size, false, "fuzz", &src, &e))
		return 0;
	if (vmie_image_open_src(src, &(struct vmie_open_opts){ .format = "raw" },
				&img, &e)) {
		vmie_src_unref(src);
		return 0;
	}
	vmie_src_unref(src);
	fs.drv = drv;
	fs.dev = img;
	if (drv->probe(img, &fs.info) > 0 && drv->open(&fs, &e) == 0) {
		drv->readdir(&fs, fs.root, fuzz_collect, &names, &e);
		for (unsigned i = 0; i < names.n; i++) {
			struct vmie_stat st;
			size_t got;
			char link[256];
			if (drv->stat(&fs, names.ino[i], &st, &e))
				continue;
			if (st.type == VMIE_FT_REG)
				drv->read(&fs, names.ino[i], buf, sizeof buf, 0,
					  &got, &e);
			else if (st.type == VMIE_FT_LNK)
				drv->readlink(&fs, names.ino[i], link,
					      sizeof link, &e);
			else if (st.type == VMIE_FT_DIR)
				drv->readdir(&fs, names.ino[i], fuzz_collect,
					     &names, &e);
		}
		vmie_ino_t ino;
		drv->lookup(&fs, fs.root, "etc", &ino, &e);
		if (extra)
			extra(&fs);
		drv->close(&fs);
	}
	vmie_image_close(img);
	return 0;
}

#endif
