/* vmie: the command-line entry point, dispatching to sub-commands. */
#include "cli.h"
#include "cli_task.h"
#include "core/budget.h"
#include "core/vmie_build.h"
#include "io/io.h"

#include <stdlib.h>
#include <sys/resource.h>

#include <errno.h>
#include <jansson.h>
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
	static _Thread_local char bufs[16][4096];
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
	char *out = bufs[next++ % 16];
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

/* ---- the output filter (see cli.h) ---- */

struct out_filter {
	int fd;
	bool allow_cr;
	unsigned char carry[4];   /* an incomplete UTF-8 sequence */
	size_t n_carry;
};

/* the filters of stdout and stderr, kept reachable: the streams live
 * until exit (no leak report) */
struct out_filter *filter_live[2];

static int out_fd = 1;
static bool out_tty;

static int filter_put(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Length of the UTF-8 sequence that starts at p (n bytes there): > 0 when
 * valid and not a C1 control, 0 when invalid, -1 when it may be valid but
 * is cut short. */
static int utf8_len(const unsigned char *p, size_t n)
{
	size_t want = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 :
		      (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!want || p[0] == 0xc0 || p[0] == 0xc1 || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < want; i++) {
		if (i >= n)
			return -1;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	if (p[0] == 0xc2 && p[1] < 0xa0)   /* U+0080..U+009F: C1 */
		return 0;
	return (int)want;
}

static ssize_t filter_write(void *cookie, const char *buf, size_t size)
{
	struct out_filter *f = cookie;
	char out[4096 + 64];
	size_t o = 0;
	unsigned char tmp[8];
	const unsigned char *p;
	size_t n, i = 0;
	/* finish a sequence cut by the previous write first */
	while (f->n_carry) {
		size_t k = f->n_carry, take = size < 4 - k ? size : 4 - k;
		memcpy(tmp, f->carry, k);
		memcpy(tmp + k, buf, take);
		int l = utf8_len(tmp, k + take);
		if (l < 0 && take == size && k + take < 4) {
			memcpy(f->carry + k, buf, take);
			f->n_carry += take;
			return (ssize_t)size;
		}
		f->n_carry = 0;
		if (l > 0) {
			memcpy(out + o, tmp, (size_t)l);
			o += (size_t)l;
			i = (size_t)l - k;
		} else {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", tmp[0]);
			/* re-scan the rest of the carry as new input */
			if (k > 1) {
				memmove(f->carry, f->carry + 1, k - 1);
				f->n_carry = k - 1;
			}
		}
	}
	p = (const unsigned char *)buf;
	n = size;
	while (i < n) {
		unsigned char c = p[i];
		if (o > 4096) {
			if (filter_put(f->fd, out, o))
				return -1;
			o = 0;
		}
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c == '\n' || c == '\t' || (c == '\r' && f->allow_cr)) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			int l = utf8_len(p + i, n - i);
			if (l < 0) {   /* cut short: keep for the next write */
				memcpy(f->carry, p + i, n - i);
				f->n_carry = n - i;
				break;
			}
			if (l > 0) {
				memcpy(out + o, p + i, (size_t)l);
				o += (size_t)l;
				i += (size_t)l;
				continue;
			}
		}
		o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		i++;
	}
	if (o && filter_put(f->fd, out, o))
		return -1;
	return (ssize_t)size;
}

static int filter_close(void *cookie)
{
	struct out_filter *f = cookie;
	char out[32];
	size_t o = 0;
	for (size_t i = 0; i < f->n_carry; i++)
		o += (size_t)snprintf(out + o, 5, "\\x%02x", f->carry[i]);
	if (o)
		filter_put(f->fd, out, o);
	free(f);
	return 0;
}

/* Replace *stream by a filtering stream on a duplicate of fd. */
static void filter_install(FILE **stream, int fd, bool allow_cr, int mode)
{
	static const cookie_io_functions_t fns = {
		.write = filter_write, .close = filter_close,
	};
	struct out_filter *f = calloc(1, sizeof *f);
	int dup_fd = dup(fd);
	FILE *s;
	if (!f || dup_fd < 0) {
		free(f);
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	f->fd = dup_fd;
	f->allow_cr = allow_cr;
	/* kept reachable: the streams live until exit (no leak report) */
	filter_live[fd == 1 ? 0 : 1] = f;
	if (!(s = fopencookie(f, "w", fns))) {
		close(dup_fd);
		free(f);
		return;
	}
	setvbuf(s, NULL, mode, mode == _IONBF ? 0 : BUFSIZ);
	fflush(*stream);
	*stream = s;
	if (fd == 1)
		out_fd = dup_fd;
}

void cli_sgr(const char *seq)
{
	fflush(stdout);
	filter_put(out_fd, seq, strlen(seq));
}

void cli_print_json(void *json)
{
	char *t = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			     JSON_ENSURE_ASCII);
	if (!t) {
		cli_errorf("out of memory");
		return;
	}
	for (const char *p = t; *p; p++) {
		if (*p == 0x7f)
			fputs("\\u007f", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
	free(t);
}

bool cli_stdout_tty(void)
{
	return out_tty;
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
	{ "serve", cmd_serve, "serve the EC2 VM Import/Export API (docs/serve.md)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmie COMMAND [OPTION]... [ARG]...\n"
		"Check, convert, import and export virtual machine disk "
		"images.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nImport and export (the commands of `aws ec2`, on a local "
		"store):\n");
	cli_task_usage(f);
	fprintf(f, "\n'vmie COMMAND --help' shows a command's options; "
		"'vmie --version' the version.\n");
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
		printf("vmie %s\n", VMIE_VERSION);
		return 0;
	}
	out_tty = isatty(1);
	filter_install(&stdout, 1, false, out_tty ? _IOLBF : _IOFBF);
	filter_install(&stderr, 2, true, _IONBF);
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
	int tr = cmd_task(argv[1], argc - 1, argv + 1);
	if (tr >= 0)
		return tr;
	cli_errorf("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
