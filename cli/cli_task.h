/* The task commands of the CLI (cmd_task.c) and their parameter parsing
 * (shorthand.c). */
#ifndef VMIE_CLI_TASK_H
#define VMIE_CLI_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* A parameter value as the AWS CLI takes it: JSON, file://PATH or
 * shorthand (see shorthand.c).  With list, a single structure becomes a
 * one-element list.  NULL with the reason in why. */
json_t *cli_param_value(const char *text, bool list, char *why,
			size_t wsize);

/* `vmie <aws-command> ...`: the EC2 import/export commands.  Returns -1
 * when name is not one of them. */
int cmd_task(const char *name, int argc, char **argv);
/* Their names and help, for the usage text. */
void cli_task_usage(FILE *f);

#endif
