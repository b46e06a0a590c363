/*
 * libFuzzer target for the btrfs reader: the input is a raw file system
 * image; probe it, open it, list the root directory and read (a little of)
 * every entry in it, and list the subvolumes.
 * Built with -Dfuzz=true; the corpus is always replayed by the fs suite.
 */
#include "fuzz_fs_driver.h"
#include "fs/btrfs/btrfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const struct vmie_fs_driver vmie_fsdrv_btrfs;

static void btrfs_extra(struct vmie_fs *fs)
{
	unsigned cnt;
	char sv[4][256];
	vmie_btrfs_subvolumes(fs, &cnt, sv, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_fs_driver(&vmie_fsdrv_btrfs, data, size, btrfs_extra);
}
