/* vmie error reporting: see err.h. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void vmie_strlcpy_err(char *d, const char *s, size_t size)
{
	size_t n = strnlen(s, size - 1);
	memcpy(d, s, n);
	d[n] = 0;
}

int vmie_err_setv(struct vmie_err *e, int code, const char *rule,
		  const char *file, int line, const char *fmt, va_list ap)
{
	if (!e)
		return code;
	e->code = code;
	e->sys_errno = 0;
	e->file = file;
	e->line = line;
	snprintf(e->rule, sizeof e->rule, "%s", rule ? rule : "");
	e->api[0] = 0;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	return code;
}

void vmie_err_api(struct vmie_err *e, const char *api)
{
	if (e)
		vmie_strlcpy_err(e->api, api ? api : "", sizeof e->api);
}

int vmie_err_set(struct vmie_err *e, int code, const char *rule,
		 const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmie_err_setv(e, code, rule, file, line, fmt, ap);
	va_end(ap);
	return code;
}

int vmie_err_sys(struct vmie_err *e, const char *file, int line,
		 const char *fmt, ...)
{
	int saved = errno;
	int code = saved == ENOSPC || saved == EDQUOT ? VMIE_ENOSPC :
		   saved == ENOENT ? VMIE_ENOENT :
		   saved == ENOMEM ? VMIE_ENOMEM :
		   saved == EEXIST ? VMIE_EEXIST :
		   saved == EINTR ? VMIE_EINTR : VMIE_EIO;
	va_list ap;
	if (!e)
		return code;
	va_start(ap, fmt);
	vmie_err_setv(e, code, NULL, file, line, fmt, ap);
	va_end(ap);
	size_t n = strlen(e->msg);
	if (n + 3 < sizeof e->msg) {
		e->msg[n++] = ':';
		e->msg[n++] = ' ';
		vmie_strlcpy_err(e->msg + n, strerror(saved), sizeof e->msg - n);
	}
	e->sys_errno = saved;
	errno = saved;
	return code;
}

void vmie_err_prefix(struct vmie_err *e, const char *fmt, ...)
{
	char pre[VMIE_ERR_MSG_MAX / 2], old[VMIE_ERR_MSG_MAX];
	va_list ap;
	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	size_t n = strlen(pre);
	memcpy(e->msg, pre, n);
	e->msg[n++] = ':';
	e->msg[n++] = ' ';
	vmie_strlcpy_err(e->msg + n, old, sizeof e->msg - n);
}

void vmie_err_clear(struct vmie_err *e)
{
	if (e)
		memset(e, 0, sizeof *e);
}

const char *vmie_strerror(int code)
{
	switch (code) {
	case VMIE_OK: return "success";
	case VMIE_EIO: return "I/O error";
	case VMIE_ECORRUPT: return "corrupt image";
	case VMIE_EUNSUPP: return "not supported";
	case VMIE_EINVAL: return "invalid argument";
	case VMIE_ENOMEM: return "out of memory or over a size limit";
	case VMIE_ERANGE: return "value out of range";
	case VMIE_ENOENT: return "not found";
	case VMIE_EFORMAT: return "unknown format";
	case VMIE_EINTR: return "interrupted";
	case VMIE_EEXIST: return "already exists";
	case VMIE_EPERM: return "refused for safety";
	case VMIE_ENOSPC: return "no space left on device";
	case VMIE_ELIMIT: return "resource limit exceeded";
	}
	return "unknown error";
}
