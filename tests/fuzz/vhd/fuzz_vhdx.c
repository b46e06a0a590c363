/* libFuzzer target for the VHDX driver: open the input (raw bytes, or the
 * sparse form described in fuzz_common.h) with -f vhdx, read a few ranges,
 * ask block status, info and check, close.  Built as a real fuzzer with
 * -Dfuzz=true (clang), and always as a replay of corpus-vhdx/. */
#include <stdbool.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_image(data, size, "vhdx");
	return 0;
}
