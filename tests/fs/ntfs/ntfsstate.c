/*
 * ntfsstate: open an NTFS image through lib/fs and print the volume state
 * recorded by the driver (vmie_ntfs_state, lib/fs/ntfs/ntfs.h):
 *   VOLUME_FLAGS=0x....  DIRTY=0|1  HIBERFILE=0|1  HIBERNATED=0|1
 *   HIBER_SIG=...
 * Errors: "ntfsstate: <message>" on stderr, exit 1.
 */
#include "fs/fs.h"
#include "fs/ntfs/ntfs.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	struct vmie_image *img = NULL;
	struct vmie_fs *fs = NULL;
	struct vmie_ntfs_state st;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: ntfsstate IMAGE\n");
		return 2;
	}
	r = vmie_image_open(argv[1], &(struct vmie_open_opts){ .format = "raw" },
			    &img, &err);
	if (!r)
		r = vmie_fs_open(img, &fs, &err);
	if (!r)
		r = vmie_ntfs_state(fs, &st);
	if (r) {
		fprintf(stderr, "ntfsstate: %s\n", err.msg[0] ? err.msg :
			vmie_strerror(r));
	} else {
		printf("VOLUME_FLAGS=0x%04x\nDIRTY=%d\nHIBERFILE=%d\n"
		       "HIBERNATED=%d\nHIBER_SIG=%s\n", st.volume_flags,
		       st.dirty, st.hiberfile, st.hibernated, st.hiber_sig);
	}
	vmie_fs_close(fs);
	vmie_image_close(img);
	return r ? 1 : 0;
}
