/*
 * Between the orchestrator of the guest changes (modify.c) and the
 * Windows changes (windows.c): what windows.c needs of one run of
 * vmie_modify_guest(), without the run's state, which stays in modify.c.
 */
#ifndef VMIE_MODIFY_MODIFY_INT_H
#define VMIE_MODIFY_MODIFY_INT_H

#include <stddef.h>

struct mod;                     /* one run of vmie_modify_guest */
struct vmie_modify_opts;
struct vmie_err;
struct vmie_guest;
struct vmie_inspection;
struct vmie_insp_os;
struct vmie_image;
struct vmie_gfs;

/* A note of what was not done, and why (vmie_modify_result.notes;
 * dropped when they are full). */
void vmie_mod_note(struct mod *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* With the run's diff option (the dry run): a unified diff of a and b
 * as the change of path; nothing otherwise. */
void vmie_mod_diff(struct mod *m, const char *path, const char *a,
		   size_t alen, const char *b, size_t blen);

/* A free name to keep rel under on g: "<rel>.vmie-orig", then
 * ".vmie-orig.2"... (PREP-018); 0, or -1 when there is none. */
int vmie_mod_kept_name(struct vmie_guest *g, const char *rel, char *out,
		       size_t size);

/* A change in the journal: the file path on device, the rule that asked
 * for it, what changed, where the original is kept ("" when it was
 * created), and the SHA-256 of its content before and after (before
 * NULL: the file was created; after NULL: the file was set aside).  Text
 * and binary files alike.  0, or VMIE_ENOMEM. */
int vmie_mod_record(struct mod *m, const char *device, const char *path,
		    const char *rule, const char *what, const char *kept_as,
		    const void *before, size_t blen, const void *after,
		    size_t alen);

/* The whole disk d of the inspection (the overlay it read, which takes
 * writes), or NULL. */
struct vmie_image *vmie_mod_disk(struct mod *m, int disk);

/* The run's libguestfs appliance over the whole disks (guest.h), started
 * on first use and stopped, its writes flushed to the overlays, at the
 * end of the run; NULL when this build or this host has none (*why, if
 * not NULL, says why and names the packages). */
struct vmie_gfs *vmie_mod_gfs(struct mod *m, struct vmie_err *why);

/* The options of the run. */
const struct vmie_modify_opts *vmie_mod_opts(struct mod *m);

/* The changes of a Windows OS of the inspection (windows.c): 0, or an
 * error that must fail the task (err filled; the overlays are then to be
 * thrown away).  What cannot be changed is a note. */
int vmie_modify_windows(struct mod *m, const struct vmie_inspection *in,
			const struct vmie_insp_os *os, struct vmie_err *err);

#endif
