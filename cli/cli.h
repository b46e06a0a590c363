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
int cmd_serve(int argc, char **argv);

/* Print "vmie: <msg> [rule]" to stderr. */
void cli_error(const struct vmie_err *e);
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* OVA section of `vmie info` (cmd_info_ova.c): if path is an OVA, print its
 * OVF summary and disks (JSON when json) and return an exit status >= 0;
 * return -1 if path is not an OVA so the generic image info runs. */
int cli_info_ova(const char *path, bool json, bool check);

/* The resource budget every image of this command draws on (one per
 * invocation, shared by the disks of a VM; lib/core/budget.h), with the
 * limits of --limit NAME=VALUE (any position after the command, repeated)
 * and of VMIE_LIMITS="NAME=VALUE,...".  With VMIE_BUDGET_REPORT=1 in the
 * environment, its counters and the peak RSS are printed to stderr at exit
 * ("vmie: budget: read=N/LIMIT ... maxrss_kib=N"). */
struct vmie_budget;
struct vmie_src;
extern struct vmie_budget *cli_budget;
/* Open a local file as a source drawing on cli_budget. */
int cli_open_src(const char *path, struct vmie_src **out,
		 struct vmie_err *err);

/* Guest text for a terminal: control characters (C0, DEL, C1, and
 * invalid UTF-8) become "\xHH", so that a name read from a guest cannot
 * move the cursor or rewrite the terminal.  Returns s itself when it is
 * clean, else a static buffer (one of 16 in rotation; truncated to
 * 4 KiB).  NULL prints as "". */
const char *cli_safe(const char *s);

/* stdout and stderr are filtered (installed by main()): every control
 * character but newline (and tab; carriage return on stderr, for progress
 * lines), DEL, C1 controls and bytes that are not UTF-8 are written as
 * "\\xHH", whoever printed them, so no text from a guest reaches the
 * terminal raw.  vmie's own terminal colours go around the filter with
 * cli_sgr() (flushes stdout, then writes the SGR sequence as it is). */
void cli_sgr(const char *seq);
/* Print a jansson value (json_t *) to stdout, indented, in order, then a
 * newline: every character outside printable ASCII is a JSON escape
 * (\\uXXXX, DEL included), so the output filter never has to touch it. */
void cli_print_json(void *json);
/* True when the real stdout (before the filter) is a terminal. */
bool cli_stdout_tty(void);

/* Installed by main(): set to 1 on SIGINT/SIGTERM. */
extern volatile int cli_interrupted;

#endif
