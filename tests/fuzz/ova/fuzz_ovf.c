/* libFuzzer target: the OVF descriptor parser (ovf.c) on any bytes, and
 * the manifest line parser (manifest.c) on the same bytes. */
#include <stddef.h>
#include <stdint.h>

#include "ova/ova.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_err err = { 0 };
	struct vmie_ovf *o;
	struct vmie_mf *mf;
	if (!vmie_ovf_parse(data, size, "fuzz.ovf", &o, &err))
		vmie_ovf_free(o);
	if (!vmie_mf_parse(data, size, "fuzz.mf", &mf, &err))
		vmie_mf_free(mf);
	return 0;
}
