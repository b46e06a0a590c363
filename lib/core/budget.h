/*
 * The resource budget of one opened image.
 *
 * Every image is written by an attacker until proven otherwise: a few MB of
 * tables can name the same gigabytes of bytes over and over, point a table
 * at itself, or inflate to terabytes.  Instead of a cap in each parser,
 * each opened image carries one budget that every parser draws on, and
 * that every derived device (partition window, logical volume, overlay, the
 * file system readers on top) shares with it:
 *
 *   counter   what it counts                                  default limit
 *   read      metadata bytes read (tables, file system           1 GiB
 *             structures and files inspection reads)
 *   entries   table entries and structures visited              256 Mi
 *             (grain/L2/BAT entries, extents, records)
 *   mem       bytes allocated for metadata and held at once     192 MiB
 *             (tables, caches; live, with the peak kept)
 *   inflate   bytes decompressed outside the data path          1 GiB
 *             (initramfs members, Btrfs extents, NTFS
 *             compression units, grains walked by check)
 *
 * The limits are chosen so that `vmie info`, `inspect` and `check` finish
 * in a second or two and stay under 256 MiB for any input; a legitimate
 * giant raises them with `--limit NAME=VALUE` (vmie_budget_set_limit).
 * Exceeding one is VMIE_ELIMIT with rule FMT-005 and a message that names
 * the counter, the limit, where it was hit and how to raise it.
 *
 * Data that the convert engine copies is not counted: its cost is
 * proportional to the virtual size by construction.  Counters are atomic:
 * several threads may draw on one budget.  Every function accepts a NULL
 * budget (then nothing is counted and nothing is refused).
 */
#ifndef VMIE_CORE_BUDGET_H
#define VMIE_CORE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmie_err;

enum vmie_budget_kind {
	VMIE_BUDGET_READ = 0,
	VMIE_BUDGET_ENTRIES,
	VMIE_BUDGET_MEM,
	VMIE_BUDGET_INFLATE,
	VMIE_BUDGET_N
};

struct vmie_budget {
	uint64_t limit[VMIE_BUDGET_N];
	uint64_t used[VMIE_BUDGET_N];   /* mem: live bytes; others: totals */
	uint64_t mem_peak;
	uint64_t phase_max[VMIE_BUDGET_N];  /* largest total of a past phase */
	int refs;
};

/* Phases: a command that reads an image twice for different ends (`vmie
 * check`: the table walk and data verification, then inspection) gives
 * each pass the full limits, so that a large but legitimate image whose
 * verification spends most of the inflate budget still gets inspected.
 * vmie_budget_new_phase() ends a phase: the totals (read, entries,
 * inflate) start again from zero, the largest total of any phase is kept
 * for the report; live memory is not touched.  The work of a command is
 * then bounded by (number of phases) x the limits. */
void vmie_budget_new_phase(struct vmie_budget *b);

/* Default limits (see the table above). */
#define VMIE_BUDGET_DEF_READ     ((uint64_t)1 << 30)
#define VMIE_BUDGET_DEF_ENTRIES  ((uint64_t)256 << 20)
#define VMIE_BUDGET_DEF_MEM      ((uint64_t)192 << 20)
#define VMIE_BUDGET_DEF_INFLATE  ((uint64_t)1 << 30)

/* A new budget with the default limits and one reference; NULL when out
 * of memory. */
struct vmie_budget *vmie_budget_new(void);
void vmie_budget_ref(struct vmie_budget *b);
/* Drop a reference; frees at zero.  NULL is fine. */
void vmie_budget_unref(struct vmie_budget *b);

/* The counter's short name ("read", "entries", "mem", "inflate"). */
const char *vmie_budget_name(enum vmie_budget_kind k);
/* Parse "NAME=VALUE" (VALUE a size like "4G" or a count; "unlimited" or
 * 0 = no limit) and set that limit.  VMIE_EINVAL naming what is wrong. */
int vmie_budget_set_limit(struct vmie_budget *b, const char *spec,
			  struct vmie_err *err);

/* Draw n from counter k; where names the structure being read ("qcow2:
 * L2 table at 0x50000").  0, or VMIE_ELIMIT (rule FMT-005) with a message
 * that names the counter, its limit, where, and the option that raises it;
 * the amount is counted either way (so a report shows how far it went). */
int vmie_budget_draw(struct vmie_budget *b, enum vmie_budget_kind k,
		     uint64_t n, const char *where, struct vmie_err *err);
/* Shorthands. */
static inline int vmie_budget_read(struct vmie_budget *b, uint64_t n,
				   const char *where, struct vmie_err *err)
{
	return vmie_budget_draw(b, VMIE_BUDGET_READ, n, where, err);
}
static inline int vmie_budget_entries(struct vmie_budget *b, uint64_t n,
				      const char *where, struct vmie_err *err)
{
	return vmie_budget_draw(b, VMIE_BUDGET_ENTRIES, n, where, err);
}
static inline int vmie_budget_inflate(struct vmie_budget *b, uint64_t n,
				      const char *where, struct vmie_err *err)
{
	return vmie_budget_draw(b, VMIE_BUDGET_INFLATE, n, where, err);
}
/* Metadata memory: charge before allocating, release after freeing what
 * was charged (live bytes; the peak is kept). */
int vmie_budget_alloc(struct vmie_budget *b, uint64_t n, const char *where,
		      struct vmie_err *err);
void vmie_budget_release(struct vmie_budget *b, uint64_t n);
/* malloc/calloc that charge the budget first; free with vmie_budget_free
 * passing the same size.  NULL with err set (VMIE_ELIMIT or
 * VMIE_ENOMEM). */
void *vmie_budget_malloc(struct vmie_budget *b, size_t n, const char *where,
			 struct vmie_err *err);
void *vmie_budget_calloc(struct vmie_budget *b, size_t nmemb, size_t size,
			 const char *where, struct vmie_err *err);
void vmie_budget_free(struct vmie_budget *b, void *p, size_t n);

/* Current value of counter k (mem: live bytes). */
uint64_t vmie_budget_used(const struct vmie_budget *b,
			  enum vmie_budget_kind k);
/* One line for the debug report (VMIE_BUDGET_REPORT=1 in the CLI):
 * "budget: read=N/LIMIT entries=N/LIMIT mem=PEAK/LIMIT inflate=N/LIMIT". */
void vmie_budget_format(const struct vmie_budget *b, char *buf, size_t size);

#endif
