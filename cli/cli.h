/* Shared helpers of the vmie command-line front end. */
#ifndef VMIE_CLI_H
#define VMIE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"

/* Each sub-command: argc/argv start at the sub-command name.
 * Returns the process exit status. */
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Print "vmie: <msg> [rule]" to stderr. */
void cli_error(const struct vmie_err *e);
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* OVA section of `vmie info` (cmd_info_ova.c): if path is an OVA, print its
 * OVF summary and disks (JSON when json) and return an exit status >= 0;
 * return -1 if path is not an OVA so the generic image info runs. */
int cli_info_ova(const char *path, bool json, bool check);

/* Installed by main(): set to 1 on SIGINT/SIGTERM. */
extern volatile int cli_interrupted;

#endif
