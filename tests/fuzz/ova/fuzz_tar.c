/* libFuzzer target: an OVA from memory through the whole read path: the
 * tar walk (tar.c), member name checks, the OVF descriptor (ovf.c), the
 * manifest and certificate (manifest.c), and every disk opened in place
 * and read a little (ova.c, inner image probing). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"
#include "ova/ova.h"
#include "ova/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_src *src;
	struct vmie_tar *t;
	struct vmie_ova *ova;
	struct vmie_err err = { 0 };
	bool first;
	if (vmie_src_open_mem(data, size, false, "fuzz.ova", &src, &err))
		return 0;
	(void)vmie_ova_probe(src, &first);
	if (!vmie_tar_open(src, 64, &t, &err))
		vmie_tar_free(t);
	if (!vmie_ova_open_src(src, &ova, &err)) {
		struct vmie_ova_verify v;
		(void)vmie_ova_verify_manifest(ova, &v, NULL, &err);
		for (size_t i = 0; i < ova->ovf->n_disks && i < 4; i++) {
			struct vmie_image *img;
			uint8_t buf[4096];
			if (vmie_ova_open_disk(ova, i, NULL, &img, &err))
				continue;
			size_t n = img->size < sizeof buf ? (size_t)img->size
							  : sizeof buf;
			(void)vmie_image_pread(img, buf, n, 0, &err);
			vmie_image_close(img);
		}
		vmie_ova_close(ova);
	}
	vmie_src_unref(src);
	return 0;
}
