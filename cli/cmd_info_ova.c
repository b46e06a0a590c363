/* OVA section of `vmie info` (placeholder until lib/ova lands). */
#include "cli.h"

int cli_info_ova(const char *path, bool json, bool check)
{
	(void)path, (void)json, (void)check;
	return -1;
}
