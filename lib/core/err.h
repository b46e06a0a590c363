/*
 * vmie error reporting.
 *
 * Library functions return 0 on success or a negative VMIE_E* code, and fill
 * a caller-provided struct vmie_err with the code, the errno that caused it
 * (if any), the requirement rule id it violates (if any, e.g. "FMT-005"), a
 * message that names the thing that is wrong, and the file/line that found
 * it.  The library never prints and never aborts; callers decide how to show
 * an error.  Passing a NULL struct vmie_err is allowed (the details are lost).
 */
#ifndef VMIE_CORE_ERR_H
#define VMIE_CORE_ERR_H

#include <stdarg.h>

enum vmie_errcode {
	VMIE_OK          = 0,
	VMIE_EIO         = -1,  /* an I/O call failed (errno in sys_errno) */
	VMIE_ECORRUPT    = -2,  /* image/file structure invalid (FMT-005) */
	VMIE_EUNSUPP     = -3,  /* valid, but a feature vmie refuses or lacks */
	VMIE_EINVAL      = -4,  /* bad argument or option from the caller */
	VMIE_ENOMEM      = -5,  /* allocation failed or a size limit was hit */
	VMIE_ERANGE      = -6,  /* arithmetic overflow or out-of-range value */
	VMIE_ENOENT      = -7,  /* file, member, path or key not found */
	VMIE_EFORMAT     = -8,  /* not recognised as any known format */
	VMIE_EINTR       = -9,  /* cancelled (signal or user request) */
	VMIE_EEXIST      = -10, /* would overwrite something that exists */
	VMIE_EPERM       = -11, /* refused for safety (path traversal, DTD...) */
	VMIE_ENOSPC      = -12, /* output device full */
	VMIE_ELIMIT      = -13, /* a resource budget of the image was exceeded
	                           (lib/core/budget.h; rule FMT-005) */
};

#define VMIE_ERR_MSG_MAX 512

struct vmie_err {
	int code;                    /* one of enum vmie_errcode */
	int sys_errno;               /* errno at the failure, or 0 */
	char rule[16];               /* requirement rule id, e.g. "FMT-005", or "" */
	char msg[VMIE_ERR_MSG_MAX];  /* human readable; names what is wrong */
	/* When the error answers an API request (lib/task): EC2's error
	 * code, e.g. "InvalidAMIID.NotFound", "InvalidParameterValue";
	 * "" otherwise.  Set by vmie_err_api() after the message. */
	char api[48];
	const char *file;            /* source file that detected the error */
	int line;
};

/* Record an error.  Returns code so that "return VMIE_ERR(...)" works.
 * If the struct already holds an error, the new message is prefixed to the
 * old one ("context: old message") only by vmie_err_prefix(). */
int vmie_err_set(struct vmie_err *e, int code, const char *rule,
		 const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
int vmie_err_setv(struct vmie_err *e, int code, const char *rule,
		  const char *file, int line, const char *fmt, va_list ap);

/* Add context in front of an existing message: "vmdk: <old>" */
void vmie_err_prefix(struct vmie_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vmie_err_clear(struct vmie_err *e);

/* Name the API error code of an error already set (see api above). */
void vmie_err_api(struct vmie_err *e, const char *api);
#define VMIE_API_ERR(e, code, api, ...) \
	(vmie_err_set((e), (code), NULL, __FILE__, __LINE__, __VA_ARGS__), \
	 vmie_err_api((e), (api)), (code))

/* Name of a code, e.g. "corrupt image" */
const char *vmie_strerror(int code);

#define VMIE_ERR(e, code, ...) \
	vmie_err_set((e), (code), NULL, __FILE__, __LINE__, __VA_ARGS__)
#define VMIE_ERR_RULE(e, code, rule, ...) \
	vmie_err_set((e), (code), (rule), __FILE__, __LINE__, __VA_ARGS__)
/* A corrupt or truncated image: always rule FMT-005. */
#define VMIE_CORRUPT(e, ...) \
	vmie_err_set((e), VMIE_ECORRUPT, "FMT-005", __FILE__, __LINE__, __VA_ARGS__)
/* errno-based failure: message gets ": strerror(errno)" appended. */
#define VMIE_ERR_SYS(e, ...) \
	vmie_err_sys((e), __FILE__, __LINE__, __VA_ARGS__)
int vmie_err_sys(struct vmie_err *e, const char *file, int line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
