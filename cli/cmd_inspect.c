/* vmie inspect (placeholder until lib/inspect lands). */
#include "cli.h"

int cmd_inspect(int argc, char **argv)
{
	(void)argc, (void)argv;
	cli_errorf("inspect: not built yet");
	return 2;
}
