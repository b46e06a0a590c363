/* vmie: the command-line entry point, dispatching to sub-commands. */
#include "cli.h"
#include "core/budget.h"
#include "io/io.h"

#include <stdlib.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile int cli_interrupted;
struct vmie_budget *cli_budget;

int cli_open_src(const char *path, struct vmie_src **out,
		 struct vmie_err *err)
{
	int r = vmie_src_open_file(path, out, err);
	if (!r && cli_budget && !(*out)->budget) {
		(*out)->budget = cli_budget;
		vmie_budget_ref(cli_budget);
	}
	return r;
}

const char *cli_safe(const char *s)
{
	static _Thread_local char bufs[4][4096];
	static _Thread_local unsigned next;
	const unsigned char *p;
	if (!s)
		return "";
	/* clean: printable ASCII and well-formed UTF-8 without C1 */
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			break;
		if (*p >= 0x80) {
			size_t n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
				   (*p & 0xf8) == 0xf0 ? 4 : 0;
			size_t i;
			if (!n || (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
				break;
			for (i = 1; i < n && (p[i] & 0xc0) == 0x80; i++)
				;
			if (i < n)
				break;
			p += n - 1;
		}
	}
	if (!*p)
		return s;
	char *out = bufs[next++ % 4];
	size_t o = 0, cap = sizeof bufs[0] - 5;
	for (p = (const unsigned char *)s; *p && o < cap; p++) {
		size_t n = 0, i = 1;
		if (*p >= 0x80) {
			n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			    (*p & 0xf8) == 0xf0 ? 4 : 0;
			for (i = 1; n && i < n && (p[i] & 0xc0) == 0x80; i++)
				;
			if (n && (i < n || (*p == 0xc2 && p[1] < 0xa0)))
				n = 0;
		}
		if (n && o + n <= cap) {
			memcpy(out + o, p, n);
			o += n;
			p += n - 1;
		} else if (*p < 0x20 || *p >= 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
	return out;
}

static void budget_report(void)
{
	char line[512];
	struct rusage ru;
	if (!cli_budget || !getenv("VMIE_BUDGET_REPORT"))
		return;
	vmie_budget_format(cli_budget, line, sizeof line);
	if (getrusage(RUSAGE_SELF, &ru))
		ru.ru_maxrss = 0;
	fprintf(stderr, "vmie: %s maxrss_kib=%ld\n", line, ru.ru_maxrss);
}

/* Take --limit NAME=VALUE / --limit=NAME=VALUE out of argv (so that each
 * command's own option parser never sees them) and VMIE_LIMITS from the
 * environment; -1 with a message on a bad one. */
static int take_limits(int *argc, char **argv)
{
	struct vmie_err err = { 0 };
	const char *env = getenv("VMIE_LIMITS");
	if (env && *env) {
		char *copy = strdup(env), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t;
		     t = strtok_r(NULL, ", ", &save))
			if (vmie_budget_set_limit(cli_budget, t, &err)) {
				free(copy);
				cli_errorf("VMIE_LIMITS: %s", err.msg);
				return -1;
			}
		free(copy);
	}
	int o = 1;
	for (int i = 1; i < *argc; i++) {
		const char *spec = NULL;
		if (!strcmp(argv[i], "--"))  {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--limit")) {
			if (i + 1 >= *argc) {
				cli_errorf("--limit needs NAME=VALUE");
				return -1;
			}
			spec = argv[++i];
		} else if (!strncmp(argv[i], "--limit=", 8)) {
			spec = argv[i] + 8;
		}
		if (!spec) {
			argv[o++] = argv[i];
			continue;
		}
		if (vmie_budget_set_limit(cli_budget, spec, &err)) {
			cli_error(&err);
			return -1;
		}
	}
	argv[o] = NULL;
	*argc = o;
	return 0;
}

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
	if (!(cli_budget = vmie_budget_new())) {
		cli_errorf("out of memory");
		return 2;
	}
	if (take_limits(&argc, argv))
		return 2;
	atexit(budget_report);
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	cli_errorf("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
