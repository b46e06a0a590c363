/*
 * libFuzzer target for the xfs reader: the input is a raw file system
 * image; probe it, open it, list the root directory and read (a little of)
 * every entry in it.
 * Built with -Dfuzz=true; the corpus is always replayed by the fs suite.
 */
#include "fuzz_fs_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const struct vmie_fs_driver vmie_fsdrv_xfs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_fs_driver(&vmie_fsdrv_xfs, data, size, NULL);
}
