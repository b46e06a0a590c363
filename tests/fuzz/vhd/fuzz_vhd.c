/* libFuzzer target for the VHD driver: open the input (raw bytes, or the
 * sparse form described in fuzz_common.h) with -f vhd, read a few ranges,
 * ask block status, info and check, close.  Built as a real fuzzer with
 * -Dfuzz=true (clang), and always as a replay of corpus-vhd/. */
#include <stdbool.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_image(data, size, "vhd");
	return 0;
}
