/*
 * The boot check (bootcheck.h): QEMU started with fork + execve on an
 * argument vector built here, its serial console read from a pipe,
 * written to the log and watched for a login prompt.
 *
 * The command line, for a BIOS guest with two disks on the default
 * devices:
 *
 *   qemu-system-x86_64 -nodefaults -no-user-config
 *     -machine pc,accel=tcg -m 1024 -smp 1 -display none -vga std
 *     -chardev stdio,id=ser0,signal=off -serial chardev:ser0
 *     -monitor none -name import-ami-... -no-reboot
 *     -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,
 *              resourcecontrol=deny
 *     -nic user,model=virtio-net-pci,restrict=on
 *     -add-fd fd=3,set=1,opaque=vmie-disk0
 *     -drive if=none,id=d0,file=/dev/fdset/1,format=raw,snapshot=on
 *     -device virtio-blk-pci,drive=d0,bootindex=1
 *     -add-fd fd=4,set=2,opaque=vmie-disk1  ... (the same, no bootindex)
 *
 * and for UEFI two pflash drives before the disks: OVMF's code
 * (readonly=on) and a private copy of its variables in a temporary
 * directory, removed afterwards.  The disks' descriptors are read-only
 * ones: a set of -add-fd holds only descriptors of the access mode they
 * were opened with, so QEMU could not open a volume for writing even if
 * it wanted to; snapshot=on puts the guest's writes in a temporary
 * overlay (in TMPDIR).
 */
#include "task/bootcheck.h"
#include "core/err.h"
#include "core/util.h"
#include "rules/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;


#define BC_OVMF_CODE "/usr/share/OVMF/OVMF_CODE.fd"
#define BC_OVMF_VARS "/usr/share/OVMF/OVMF_VARS.fd"
#define BC_VARS_MAX (64u << 20)      /* bytes of an OVMF variable store */
#define BC_FD_BASE 3                 /* the disks' descriptors in QEMU */
#define BC_QUIET 0.5                 /* seconds a prompt must stay last */

static double bc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bc_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static bool bc_one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

/* ---- the argument vector ---- */

struct bc_argv {
	char *argv[160];
	unsigned n;
	char arena[16384];
	size_t used;
	bool full;
};

static void bc_arg(struct bc_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bc_arg(struct bc_argv *a, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof a->arena - a->used;
	if (a->full || a->n + 1 >= sizeof a->argv / sizeof *a->argv) {
		a->full = true;
		return;
	}
	va_start(ap, fmt);
	int k = vsnprintf(a->arena + a->used, room, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= room) {
		a->full = true;
		return;
	}
	a->argv[a->n++] = a->arena + a->used;
	a->argv[a->n] = NULL;
	a->used += (size_t)k + 1;
}

/* A path as a value of a QEMU option: commas doubled.  NULL when it does
 * not fit. */
static const char *bc_qemu_escape(const char *s, char *out, size_t size)
{
	size_t o = 0;
	for (; *s; s++) {
		if (o + 3 > size)
			return NULL;
		out[o++] = *s;
		if (*s == ',')
			out[o++] = ',';
	}
	out[o] = 0;
	return out;
}

/* The program: a path as given, or the first executable of PATH. */
static int bc_find_program(const char *name, char *out, size_t size,
			   struct vmie_err *err)
{
	if (strchr(name, '/')) {
		if (access(name, X_OK))
			return VMIE_ERR(err, VMIE_ENOENT, "boot check: %s: not "
					"an executable: %s", name,
					strerror(errno));
		vmie_strlcpy(out, name, size);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *c = strchr(path, ':');
		size_t len = c ? (size_t)(c - path) : strlen(path);
		if (len && len + strlen(name) + 2 <= size) {
			snprintf(out, size, "%.*s/%s", (int)len, path, name);
			struct stat st;
			if (!stat(out, &st) && S_ISREG(st.st_mode) &&
			    !access(out, X_OK))
				return 0;
		}
		path += len + (c ? 1 : 0);
	}
	return VMIE_ERR(err, VMIE_ENOENT, "boot check: %s not found in PATH "
			"(install qemu-system-x86)", name);
}

/* Copy OVMF's variable store into dir (the guest may write it). */
static int bc_copy_vars(const char *from, const char *to,
			struct vmie_err *err)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, r = 0;
	char buf[65536];
	uint64_t total = 0;
	if (in < 0)
		return VMIE_ERR(err, VMIE_ENOENT, "boot check: %s: %s (install "
				"ovmf)", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		   0600);
	if (out < 0) {
		r = VMIE_ERR_SYS(err, "boot check: %s: cannot create", to);
		goto out;
	}
	for (;;) {
		ssize_t k = read(in, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = VMIE_ERR_SYS(err, "boot check: %s: read", from);
			goto out;
		}
		if (!k)
			break;
		total += (uint64_t)k;
		if (total > BC_VARS_MAX) {
			r = VMIE_ERR(err, VMIE_ELIMIT, "boot check: %s: larger "
				     "than %u MiB", from, BC_VARS_MAX >> 20);
			goto out;
		}
		if (bc_write_full(out, buf, (size_t)k)) {
			r = VMIE_ERR_SYS(err, "boot check: %s: write", to);
			goto out;
		}
	}
out:
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

static int bc_build_argv(const struct vmie_bootcheck_opts *o,
			 const char *qemu, const char *vars_copy,
			 struct bc_argv *a, struct vmie_err *err)
{
	const char *bus = o->disk_bus ? o->disk_bus : "virtio";
	const char *nic = o->nic ? o->nic : "virtio-net-pci";
	char e1[PATH_MAX * 2 + 8], e2[PATH_MAX * 2 + 8];

	bc_arg(a, "%s", qemu);
	bc_arg(a, "-nodefaults");
	bc_arg(a, "-no-user-config");
	bc_arg(a, "-machine");
	bc_arg(a, "pc,accel=tcg");
	bc_arg(a, "-m");
	bc_arg(a, "%u", o->memory_mib ? o->memory_mib : 1024);
	bc_arg(a, "-smp");
	bc_arg(a, "1");
	bc_arg(a, "-display");
	bc_arg(a, "none");
	bc_arg(a, "-vga");
	bc_arg(a, "std");
	bc_arg(a, "-chardev");
	bc_arg(a, "stdio,id=ser0,signal=off");
	bc_arg(a, "-serial");
	bc_arg(a, "chardev:ser0");
	bc_arg(a, "-monitor");
	bc_arg(a, "none");
	if (o->name) {
		bc_arg(a, "-name");
		bc_arg(a, "%s", o->name);
	}
	bc_arg(a, "-no-reboot");
	bc_arg(a, "-sandbox");
	bc_arg(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
	       "resourcecontrol=deny");
	if (strcmp(nic, "none")) {
		bc_arg(a, "-nic");
		bc_arg(a, "user,model=%s,restrict=on", nic);
	}
	if (o->uefi) {
		const char *code = o->ovmf_code ? o->ovmf_code : BC_OVMF_CODE;
		if (!bc_qemu_escape(code, e1, sizeof e1) ||
		    !bc_qemu_escape(vars_copy, e2, sizeof e2))
			return VMIE_ERR(err, VMIE_EINVAL, "boot check: the "
					"firmware paths are too long");
		bc_arg(a, "-drive");
		bc_arg(a, "if=pflash,unit=0,format=raw,readonly=on,file=%s",
		       e1);
		bc_arg(a, "-drive");
		bc_arg(a, "if=pflash,unit=1,format=raw,file=%s", e2);
	}
	if (!strcmp(bus, "sata")) {
		bc_arg(a, "-device");
		bc_arg(a, "ahci,id=ahci0");
	} else if (!strcmp(bus, "scsi")) {
		bc_arg(a, "-device");
		bc_arg(a, "virtio-scsi-pci,id=scsi0");
	}
	for (unsigned i = 0; i < o->n_disks; i++) {
		const char *boot = i ? "" : ",bootindex=1";
		bc_arg(a, "-add-fd");
		bc_arg(a, "fd=%u,set=%u,opaque=vmie-disk%u", BC_FD_BASE + i,
		       i + 1, i);
		bc_arg(a, "-drive");
		bc_arg(a, "if=none,id=d%u,file=/dev/fdset/%u,format=%s,"
		       "snapshot=on", i, i + 1, o->disks[i].format);
		bc_arg(a, "-device");
		if (!strcmp(bus, "virtio"))
			bc_arg(a, "virtio-blk-pci,drive=d%u%s", i, boot);
		else if (!strcmp(bus, "scsi"))
			bc_arg(a, "scsi-hd,bus=scsi0.0,drive=d%u%s", i, boot);
		else if (!strcmp(bus, "nvme"))
			bc_arg(a, "nvme,serial=vmie%u,drive=d%u%s", i, i, boot);
		else if (!strcmp(bus, "sata"))
			bc_arg(a, "ide-hd,bus=ahci0.%u,drive=d%u%s", i, i, boot);
		else
			bc_arg(a, "ide-hd,bus=ide.%u,unit=%u,drive=d%u%s", i / 2,
			       i % 2, i, boot);
	}
	if (a->full)
		return VMIE_ERR(err, VMIE_EINVAL, "boot check: the QEMU "
				"command line is too long");
	return 0;
}

/* ---- the child ---- */

/* After fork, in the child: async-signal-safe calls only.  Never
 * returns. */
static void bc_child(const struct bc_argv *a, const char *prog,
		     const int *disk_fds, unsigned n, int in, int out,
		     int errfd, pid_t parent)
{
	sigset_t none;

	setpgid(0, 0);
	/* QEMU dies with the thread that started it (a killed vmie) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	for (unsigned i = 0; i < n; i++)
		if (dup2(disk_fds[i], BC_FD_BASE + (int)i) < 0)
			_exit(127);
	/* nothing else of this process reaches QEMU */
	for (int fd = BC_FD_BASE + (int)n; fd < 4096; fd++)
		close(fd);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(prog, a->argv, environ);
	_exit(127);
}

/* ---- watching the console ---- */

struct bc_watch {
	char line[256];          /* the current line, printable bytes */
	size_t len;
	int esc;                 /* 0, 1 after ESC, 2 inside CSI */
	bool matched;            /* a finished line was a prompt */
	bool cand;               /* the unfinished line is a prompt */
	double cand_t;
	char ring[4096];         /* the last bytes of the console */
	uint64_t total;
	char prompt[128];
};

static bool bc_is_prompt(const char *s, size_t len)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len >= 6 && !strncasecmp(s + len - 6, "login:", 6);
}

static void bc_take_prompt(struct bc_watch *w)
{
	size_t n = w->len < sizeof w->prompt - 1 ? w->len :
		   sizeof w->prompt - 1;
	memcpy(w->prompt, w->line + w->len - n, n);
	while (n && w->prompt[n - 1] == ' ')
		n--;
	w->prompt[n] = 0;
}

static void bc_feed(struct bc_watch *w, const char *buf, size_t len,
		    double now)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		w->ring[w->total++ % sizeof w->ring] = (char)c;
		if (w->esc == 1) {
			w->esc = c == '[' ? 2 : 0;
			continue;
		}
		if (w->esc == 2) {
			if (c >= 0x40 && c <= 0x7e)
				w->esc = 0;
			continue;
		}
		if (c == 0x1b) {
			w->esc = 1;
			continue;
		}
		if (c == '\n') {
			if (!w->matched && bc_is_prompt(w->line, w->len)) {
				bc_take_prompt(w);
				w->matched = true;
			}
			w->len = 0;
			continue;
		}
		if (c < 0x20 || c >= 0x7f)
			continue;       /* \r, other controls, non-ASCII */
		if (w->len == sizeof w->line - 1) {
			/* keep the end of a long line */
			memmove(w->line, w->line + 128, w->len - 128);
			w->len -= 128;
		}
		w->line[w->len++] = (char)c;
	}
	/* a prompt waits at the end of its line: it must stay the last
	 * thing written for a moment (a chunk may end inside a line that
	 * only happens to hold "login:") */
	bool cand = bc_is_prompt(w->line, w->len);
	if (cand && !w->cand)
		w->cand_t = now;
	w->cand = cand;
}

/* The last lines of the console, printable, " | " between them. */
static void bc_tail(const struct bc_watch *w, char *out, size_t size)
{
	size_t have = w->total < sizeof w->ring ? (size_t)w->total :
		      sizeof w->ring;
	char *text = malloc(have + 1), *lines[3] = { NULL };
	size_t n = 0;
	out[0] = 0;
	if (!text)
		return;
	for (size_t i = 0; i < have; i++) {
		unsigned char c = (unsigned char)
			w->ring[(w->total - have + i) % sizeof w->ring];
		if (c == '\n' || (c >= 0x20 && c < 0x7f))
			text[n++] = (char)c;
	}
	text[n] = 0;
	/* the last three lines that are not blank */
	unsigned k = 0;
	for (char *s = text + n; s > text && k < 3;) {
		char *e = s;
		while (s > text && s[-1] != '\n')
			s--;
		char *b = s;
		while (b < e && *b == ' ')
			b++;
		if (b < e) {
			*e = 0;
			lines[2 - k++] = b;
		}
		if (s > text)
			s--;
	}
	size_t o = 0;
	for (unsigned i = 3 - k; i < 3; i++) {
		int m = snprintf(out + o, size - o, "%s%s", o ? " | " : "",
				 lines[i]);
		if (m < 0 || (size_t)m >= size - o)
			break;
		o += (size_t)m;
	}
	free(text);
}

/* ---- the run ---- */

/* End QEMU and reap it: SIGTERM to its group (term) and two seconds to
 * go, then SIGKILL.  The group is signalled only while its leader is
 * unreaped, so the id cannot name another group. */
static void bc_reap(pid_t pid, bool term, int *status)
{
	if (term)
		kill(-pid, SIGTERM);
	for (int i = 0; i < 40; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static void bc_log_trailer(int logfd, const char *reason,
			   const char *qemu_err, size_t qemu_len)
{
	char head[600];
	int m = snprintf(head, sizeof head, "\n--- vmie boot check: %s ---\n",
			 reason);
	if (m > 0)
		(void)bc_write_full(logfd, head, (size_t)m < sizeof head ?
				      (size_t)m : sizeof head - 1);
	if (qemu_len) {
		static const char q[] = "--- QEMU's messages ---\n";
		(void)bc_write_full(logfd, q, sizeof q - 1);
		(void)bc_write_full(logfd, qemu_err, qemu_len);
	}
}

int vmie_boot_check(const struct vmie_bootcheck_opts *o,
		    struct vmie_bootcheck_result *res, struct vmie_err *err)
{
	char prog[PATH_MAX], tmpdir[PATH_MAX] = "", vars[PATH_MAX + 32] = "";
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int dfds[VMIE_BOOTCHECK_MAX_DISKS], logfd = -1, status = 0, r = 0;
	struct bc_argv *a = NULL;
	struct bc_watch *w = NULL;
	char qerr[2048];
	size_t qlen = 0;
	pid_t pid = -1;
	unsigned timeout = o->timeout ? o->timeout : VMIE_BOOTCHECK_TIMEOUT;
	uint64_t log_max = o->log_max ? o->log_max : VMIE_BOOTCHECK_LOG_MAX;

	memset(res, 0, sizeof *res);
	for (unsigned i = 0; i < VMIE_BOOTCHECK_MAX_DISKS; i++)
		dfds[i] = -1;
	if (!o->n_disks || o->n_disks > VMIE_BOOTCHECK_MAX_DISKS)
		return VMIE_ERR(err, VMIE_EINVAL, "boot check: %u disks (1 to "
				"%d)", o->n_disks, VMIE_BOOTCHECK_MAX_DISKS);
	if (o->disk_bus && !bc_one_of(o->disk_bus, vmie_policy_disk_buses))
		return VMIE_ERR(err, VMIE_EINVAL, "boot check: unknown disk "
				"bus '%.32s'", o->disk_bus);
	if (o->nic && !bc_one_of(o->nic, vmie_policy_nics))
		return VMIE_ERR(err, VMIE_EINVAL, "boot check: unknown NIC "
				"model '%.32s'", o->nic);
	if (o->disk_bus && ((!strcmp(o->disk_bus, "ide") && o->n_disks > 4) ||
			    (!strcmp(o->disk_bus, "sata") && o->n_disks > 6)))
		return VMIE_ERR(err, VMIE_EINVAL, "boot check: %u disks do not "
				"fit on the %s bus", o->n_disks, o->disk_bus);
	for (unsigned i = 0; i < o->n_disks; i++)
		if (strcmp(o->disks[i].format, "raw") &&
		    strcmp(o->disks[i].format, "qcow2"))
			return VMIE_ERR(err, VMIE_EINVAL, "boot check: disk %u: "
					"format '%.16s'", i, o->disks[i].format);
	for (const char *c = o->name; c && *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-') ||
		    c - o->name > 64)
			return VMIE_ERR(err, VMIE_EINVAL, "boot check: the VM "
					"name is letters, digits and '-'");
	if (!o->log_path)
		return VMIE_ERR(err, VMIE_EINVAL, "boot check: no log path");
	if ((r = bc_find_program(o->qemu ? o->qemu : "qemu-system-x86_64",
				 prog, sizeof prog, err)))
		return r;
	if (o->uefi) {
		const char *code = o->ovmf_code ? o->ovmf_code : BC_OVMF_CODE;
		if (access(code, R_OK))
			return VMIE_ERR(err, VMIE_ENOENT, "boot check: UEFI "
					"firmware %s: %s (install ovmf)", code,
					strerror(errno));
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/vmie-boot-XXXXXX",
			 t && t[0] == '/' ? t : "/tmp");
		if (!mkdtemp(tmpdir)) {
			r = VMIE_ERR_SYS(err, "boot check: %s: cannot create",
					 tmpdir);
			tmpdir[0] = 0;
			goto out;
		}
		snprintf(vars, sizeof vars, "%s/OVMF_VARS.fd", tmpdir);
		if ((r = bc_copy_vars(o->ovmf_vars ? o->ovmf_vars :
				      BC_OVMF_VARS, vars, err)))
			goto out;
	}
	a = calloc(1, sizeof *a);
	w = calloc(1, sizeof *w);
	if (!a || !w) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = bc_build_argv(o, prog, vars, a, err)))
		goto out;
	/* the disks' descriptors above the numbers they get in QEMU */
	for (unsigned i = 0; i < o->n_disks; i++) {
		int acc = fcntl(o->disks[i].fd, F_GETFL);
		if (acc < 0 || (acc & O_ACCMODE) != O_RDONLY) {
			r = VMIE_ERR(err, VMIE_EINVAL, "boot check: disk %u is "
				     "not open read-only", i);
			goto out;
		}
		dfds[i] = fcntl(o->disks[i].fd, F_DUPFD_CLOEXEC, 64);
		if (dfds[i] < 0) {
			r = VMIE_ERR_SYS(err, "boot check: dup");
			goto out;
		}
	}
	logfd = open(o->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		     O_NOFOLLOW, 0644);
	if (logfd < 0) {
		r = VMIE_ERR_SYS(err, "boot check: %s: cannot create the log",
				 o->log_path);
		goto out;
	}
	if (pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
		r = VMIE_ERR_SYS(err, "boot check: pipe");
		goto out;
	}
	/* stdin: /dev/null (the console is only watched) */
	pin[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (pin[0] < 0) {
		r = VMIE_ERR_SYS(err, "boot check: /dev/null");
		goto out;
	}
	pid_t parent = getpid();
	double t0 = bc_now();
	pid = fork();
	if (pid < 0) {
		r = VMIE_ERR_SYS(err, "boot check: fork");
		goto out;
	}
	if (!pid)
		bc_child(a, prog, dfds, o->n_disks, pin[0], pout[1], perr[1],
			 parent);
	setpgid(pid, pid);      /* either side may win the race */
	close(pout[1]);
	close(perr[1]);
	pout[1] = perr[1] = -1;
	fcntl(pout[0], F_SETFL, O_NONBLOCK);
	fcntl(perr[0], F_SETFL, O_NONBLOCK);

	bool out_eof = false, err_eof = false, ended = false, cancel = false;
	char buf[65536];
	for (;;) {
		double now = bc_now();
		if (o->cancel && *o->cancel) {
			cancel = true;
			break;
		}
		if (w->matched || (w->cand && now - w->cand_t >= BC_QUIET)) {
			if (!w->matched) {
				bc_take_prompt(w);
				w->matched = true;
			}
			res->passed = true;
			snprintf(res->reason, sizeof res->reason, "a login "
				 "prompt after %.1f s", now - t0);
			break;
		}
		if (now - t0 >= (double)timeout) {
			snprintf(res->reason, sizeof res->reason, "no login "
				 "prompt on the serial console within %u s",
				 timeout);
			break;
		}
		if (out_eof && err_eof) {
			ended = true;
			break;
		}
		struct pollfd pf[2] = {
			{ .fd = out_eof ? -1 : pout[0], .events = POLLIN },
			{ .fd = err_eof ? -1 : perr[0], .events = POLLIN },
		};
		int pr = poll(pf, 2, 100);
		if (pr < 0 && errno != EINTR) {
			r = VMIE_ERR_SYS(err, "boot check: poll");
			break;
		}
		if (pr <= 0)
			continue;
		if (pf[0].revents) {
			ssize_t k = read(pout[0], buf, sizeof buf);
			if (k > 0) {
				uint64_t room = log_max - res->log_bytes;
				size_t put = (uint64_t)k < room ? (size_t)k :
					     (size_t)room;
				if (put && bc_write_full(logfd, buf, put)) {
					r = VMIE_ERR_SYS(err, "boot check: %s: "
							 "write", o->log_path);
					break;
				}
				res->log_bytes += put;
				bc_feed(w, buf, (size_t)k, bc_now());
				if (!w->matched && res->log_bytes >= log_max) {
					snprintf(res->reason, sizeof res->reason,
						 "the serial console wrote more "
						 "than %llu bytes without a "
						 "login prompt",
						 (unsigned long long)log_max);
					break;
				}
			} else if (!k || (errno != EAGAIN && errno != EINTR)) {
				out_eof = true;
			}
		}
		if (pf[1].revents) {
			ssize_t k = read(perr[0], buf, sizeof buf);
			if (k > 0) {
				/* keep the last bytes of QEMU's messages */
				size_t n = (size_t)k;
				if (n >= sizeof qerr) {
					memcpy(qerr, buf + n - sizeof qerr,
					       sizeof qerr);
					qlen = sizeof qerr;
				} else {
					if (qlen + n > sizeof qerr) {
						size_t drop = qlen + n - sizeof qerr;
						memmove(qerr, qerr + drop,
							qlen - drop);
						qlen -= drop;
					}
					memcpy(qerr + qlen, buf, n);
					qlen += n;
				}
			} else if (!k || (errno != EAGAIN && errno != EINTR)) {
				err_eof = true;
			}
		}
	}
	res->seconds = bc_now() - t0;
	if (ended) {
		/* QEMU closed its output: it has ended or is ending */
		bc_reap(pid, false, &status);
		pid = -1;
		/* QEMU's last message line, printable */
		char last[200] = "";
		size_t e = qlen;
		while (e && (qerr[e - 1] == '\n' || qerr[e - 1] == '\r'))
			e--;
		size_t s = e;
		while (s && qerr[s - 1] != '\n')
			s--;
		size_t k = 0;
		for (; s < e && k < sizeof last - 1; s++)
			last[k++] = qerr[s] >= 0x20 && qerr[s] < 0x7f ?
				    qerr[s] : '?';
		last[k] = 0;
		if (WIFEXITED(status))
			snprintf(res->reason, sizeof res->reason, "QEMU ended "
				 "(exit status %d) before a login prompt%s%s",
				 WEXITSTATUS(status), last[0] ? ": " : "",
				 last);
		else
			snprintf(res->reason, sizeof res->reason, "QEMU ended "
				 "(signal %d) before a login prompt%s%s",
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0,
				 last[0] ? ": " : "", last);
	} else {
		bc_reap(pid, true, &status);
		pid = -1;
	}
	if (!r && cancel) {
		snprintf(res->reason, sizeof res->reason, "cancelled");
		r = VMIE_ERR(err, VMIE_EINTR, "boot check: cancelled");
	}
	vmie_strlcpy(res->prompt, w->prompt, sizeof res->prompt);
	bc_tail(w, res->tail, sizeof res->tail);
	if (logfd >= 0)
		bc_log_trailer(logfd, res->reason[0] ? res->reason :
			       "stopped by an error", qerr, qlen);
out:
	if (pid > 0)
		bc_reap(pid, true, &status);
	for (unsigned i = 0; i < VMIE_BOOTCHECK_MAX_DISKS; i++)
		if (dfds[i] >= 0)
			close(dfds[i]);
	int fds[] = { pin[0], pout[0], pout[1], perr[0], perr[1], logfd };
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (tmpdir[0]) {
		unlink(vars);
		rmdir(tmpdir);
	}
	free(a);
	free(w);
	return r;
}
