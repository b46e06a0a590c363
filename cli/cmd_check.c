/* vmie check (placeholder until lib/rules lands). */
#include "cli.h"

int cmd_check(int argc, char **argv)
{
	(void)argc, (void)argv;
	cli_errorf("check: not built yet");
	return 2;
}
