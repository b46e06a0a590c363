/*
 * libFuzzer target for the btrfs reader: the input is a raw file system
 * image; probe it, open it, list the root directory and read (a little of)
 * every entry in it, list the subvolumes and use each as the root.
 * Built with -Dfuzz=true; the corpus is always replayed by the fs suite.
 */
#include "fuzz_fs_driver.h"

#include <stdlib.h>
#include "fs/btrfs/btrfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const struct vmie_fs_driver vmie_fsdrv_btrfs;

static void btrfs_extra(struct vmie_fs *fs)
{
	unsigned cnt;
	char sv[4][256];
	struct vmie_btrfs_subvol *l = NULL;
	unsigned n = 0;
	uint64_t id = 0;
	struct vmie_err e = { 0 };

	vmie_btrfs_subvolumes(fs, &cnt, sv, 4);
	vmie_btrfs_default_subvol(fs, &id);
	/* every subvolume as the root, as inspection tries them; then the
	 * lookups of fstab's subvol= */
	if (!vmie_btrfs_list_subvols(fs, &l, &n, &e)) {
		for (unsigned i = 0; i < n && i < 8; i++) {
			struct vmie_stat st;
			if (!vmie_btrfs_set_root(fs, l[i].id, &e))
				vmie_fs_stat(fs, "/etc/os-release", &st, &e);
		}
		free(l);
	}
	vmie_btrfs_subvol_by_path(fs, "/@/var", &id, &e);
	vmie_btrfs_subvol_by_path(fs, "root", &id, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_fs_driver(&vmie_fsdrv_btrfs, data, size, btrfs_extra);
}
