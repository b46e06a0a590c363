/* vmie: the command-line entry point, dispatching to sub-commands. */
#include "cli.h"
#include "io/io.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile int cli_interrupted;

void cli_error(const struct vmie_err *e)
{
	if (e->rule[0])
		fprintf(stderr, "vmie: %s [%s]\n", e->msg, e->rule);
	else
		fprintf(stderr, "vmie: %s\n", e->msg[0] ? e->msg :
			vmie_strerror(e->code));
}

void cli_errorf(const char *fmt, ...)
{
	va_list ap;
	fputs("vmie: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_signal(int sig)
{
	(void)sig;
	if (cli_interrupted) {
		/* second Ctrl-C: remove temp outputs and leave now */
		vmie_sink_cleanup_all();
		_exit(130);
	}
	cli_interrupted = 1;
}

/* SIGBUS: a mapped input file was cut short after its size was checked
 * (another process truncated it mid-conversion).  Say so, remove every
 * temporary output so nothing partial is left, and die by the signal. */
static void on_sigbus(int sig)
{
	static const char msg[] = "vmie: an input file shrank while it was "
		"being read (SIGBUS); no output was written\n";
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	vmie_sink_cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "info", cmd_info, "show format, sizes and integrity of an image or OVA" },
	{ "convert", cmd_convert, "convert between disk image formats" },
	{ "compare", cmd_compare, "compare the contents of two images" },
	{ "inspect", cmd_inspect, "find partitions, file systems and operating systems" },
	{ "check", cmd_check, "preflight an import: every rule, with evidence and fixes" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmie COMMAND [OPTIONS] ...\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'vmie COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGBUS, on_sigbus);
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("vmie 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	cli_errorf("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
