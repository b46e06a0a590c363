/*
 * ext2/3/4 specifics beyond the lib/fs/fs.h interface: what vmie did with
 * the jbd2 journal when it opened the file system.
 *
 * A guest exported while running or after a crash often has an ext3/ext4
 * file system with needs_recovery set and committed transactions in the
 * journal that never reached their home blocks.  vmie_fs_open() replays
 * them in memory (the image is never written): every read of a block the
 * log holds gets the newest committed copy, as after a kernel mount or
 * e2fsck.  This getter tells the caller (inspection, rules) whether that
 * happened and how much, or why it could not (external journal, corrupt
 * or unsupported journal: then the file system is read as it is on disk,
 * which may be stale).
 */
#ifndef VMIE_FS_EXT_EXT_H
#define VMIE_FS_EXT_EXT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "fs/fs.h"

enum vmie_ext_journal_state {
	VMIE_EXT_JOURNAL_NONE = 0,    /* no journal (ext2) */
	VMIE_EXT_JOURNAL_CLEAN,       /* journal, needs_recovery not set */
	VMIE_EXT_JOURNAL_REPLAYED,    /* needs_recovery: log replayed in
					 memory (transactions may be 0
					 when the log was empty) */
	VMIE_EXT_JOURNAL_SKIPPED,     /* needs_recovery, but not replayed:
					 see problem; metadata may be stale */
};

struct vmie_ext_journal {
	enum vmie_ext_journal_state state;
	bool needs_recovery;          /* the superblock's flag, as found */
	bool external;                /* journal on another device */
	uint32_t transactions;        /* committed transactions replayed */
	uint32_t first_tid, last_tid; /* their ids (when transactions > 0) */
	uint64_t blocks;              /* distinct file system blocks that
					 read from the journal */
	uint64_t logged;              /* block copies found in the log */
	uint64_t revoked;             /* blocks left on disk: their newest
					 copy was revoked */
	uint64_t bad_blocks;          /* copies skipped: bad tag checksum */
	bool untrusted;               /* SKIPPED because the replayed view
					 did not hold together (group
					 descriptors, root directory) */
	/* Set when something in the journal was wrong or unsupported: for
	 * SKIPPED the reason nothing was replayed, for REPLAYED why the log
	 * stopped early or some blocks were skipped.  problem.code is 0 when
	 * there is nothing to report; corruption carries rule FMT-005. */
	struct vmie_err problem;
};

/* Fill *out for an open ext2/3/4 file system.  VMIE_EINVAL when fs is not
 * one. */
int vmie_ext_journal_info(const struct vmie_fs *fs,
			  struct vmie_ext_journal *out);

/* "none", "clean", "replayed", "skipped" */
const char *vmie_ext_journal_state_name(enum vmie_ext_journal_state s);

/* What a libext2fs error (an errcode_t, which may also be an errno
 * value) means as a VMIE_E* code: not found, out of memory, I/O,
 * unsupported features, no space left (the write errors of the guest
 * backend, lib/modify/guest_ext.c), and VMIE_ECORRUPT for the rest (a
 * caller reports that with VMIE_CORRUPT, rule FMT-005). */
int vmie_ext_errcode(long e);
/* libext2fs's message for e (error_message), its error table registered
 * once for the process. */
const char *vmie_ext_strerror(long e);

#endif
