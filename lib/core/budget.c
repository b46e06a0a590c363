/* The resource budget of one opened image: see budget.h. */
#include "budget.h"
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const budget_names[VMIE_BUDGET_N] = {
	[VMIE_BUDGET_READ] = "read",
	[VMIE_BUDGET_ENTRIES] = "entries",
	[VMIE_BUDGET_MEM] = "mem",
	[VMIE_BUDGET_INFLATE] = "inflate",
};

static const char *const budget_what[VMIE_BUDGET_N] = {
	[VMIE_BUDGET_READ] = "metadata bytes read",
	[VMIE_BUDGET_ENTRIES] = "table entries visited",
	[VMIE_BUDGET_MEM] = "metadata memory",
	[VMIE_BUDGET_INFLATE] = "bytes decompressed",
};

struct vmie_budget *vmie_budget_new(void)
{
	struct vmie_budget *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->limit[VMIE_BUDGET_READ] = VMIE_BUDGET_DEF_READ;
	b->limit[VMIE_BUDGET_ENTRIES] = VMIE_BUDGET_DEF_ENTRIES;
	b->limit[VMIE_BUDGET_MEM] = VMIE_BUDGET_DEF_MEM;
	b->limit[VMIE_BUDGET_INFLATE] = VMIE_BUDGET_DEF_INFLATE;
	b->refs = 1;
	return b;
}

void vmie_budget_ref(struct vmie_budget *b)
{
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void vmie_budget_unref(struct vmie_budget *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

const char *vmie_budget_name(enum vmie_budget_kind k)
{
	return (unsigned)k < VMIE_BUDGET_N ? budget_names[k] : "?";
}

int vmie_budget_set_limit(struct vmie_budget *b, const char *spec,
			  struct vmie_err *err)
{
	const char *eq = spec ? strchr(spec, '=') : NULL;
	if (!eq)
		return VMIE_ERR(err, VMIE_EINVAL, "limit '%s': expected NAME=VALUE "
				"(NAME one of read, entries, mem, inflate)",
				spec ? spec : "");
	size_t nl = (size_t)(eq - spec);
	int k = -1;
	for (int i = 0; i < VMIE_BUDGET_N; i++)
		if (strlen(budget_names[i]) == nl &&
		    !strncmp(spec, budget_names[i], nl))
			k = i;
	if (k < 0)
		return VMIE_ERR(err, VMIE_EINVAL, "limit '%s': unknown name "
				"'%.*s' (one of read, entries, mem, inflate)",
				spec, (int)nl, spec);
	uint64_t v;
	if (!strcasecmp(eq + 1, "unlimited") || !strcasecmp(eq + 1, "none"))
		v = 0;
	else if (vmie_parse_size(eq + 1, &v))
		return VMIE_ERR(err, VMIE_EINVAL, "limit '%s': '%s' is not a "
				"size or count (e.g. 4G, 1000000, unlimited)",
				spec, eq + 1);
	if (b)
		b->limit[k] = v;
	return 0;
}

static int budget_exceeded(struct vmie_budget *b, enum vmie_budget_kind k,
			   uint64_t now, const char *where,
			   struct vmie_err *err)
{
	char lim[32], val[32];
	if (k == VMIE_BUDGET_ENTRIES) {
		snprintf(lim, sizeof lim, "%llu",
			 (unsigned long long)b->limit[k]);
		snprintf(val, sizeof val, "%llu", (unsigned long long)now);
	} else {
		vmie_human_size(lim, sizeof lim, b->limit[k]);
		vmie_human_size(val, sizeof val, now);
	}
	return VMIE_ERR_RULE(err, VMIE_ELIMIT, "FMT-005",
			     "%s: the image needs more than its budget of %s "
			     "(%s would reach %s, limit %s): the image is "
			     "hostile or unusually large; if it is legitimate, "
			     "raise the limit with --limit %s=VALUE",
			     where ? where : "image", budget_what[k],
			     budget_names[k], val, lim, budget_names[k]);
}

int vmie_budget_draw(struct vmie_budget *b, enum vmie_budget_kind k,
		     uint64_t n, const char *where, struct vmie_err *err)
{
	if (!b || (unsigned)k >= VMIE_BUDGET_N)
		return 0;
	uint64_t now = __atomic_add_fetch(&b->used[k], n, __ATOMIC_RELAXED);
	if (now < n)   /* wrapped: saturate */
		__atomic_store_n(&b->used[k], now = UINT64_MAX,
				 __ATOMIC_RELAXED);
	if (k == VMIE_BUDGET_MEM) {
		uint64_t peak = __atomic_load_n(&b->mem_peak, __ATOMIC_RELAXED);
		while (now > peak &&
		       !__atomic_compare_exchange_n(&b->mem_peak, &peak, now,
						    true, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED))
			;
	}
	if (b->limit[k] && now > b->limit[k]) {
		if (k == VMIE_BUDGET_MEM)  /* not held: refused */
			__atomic_sub_fetch(&b->used[k], n, __ATOMIC_RELAXED);
		return budget_exceeded(b, k, now, where, err);
	}
	return 0;
}

int vmie_budget_alloc(struct vmie_budget *b, uint64_t n, const char *where,
		      struct vmie_err *err)
{
	return vmie_budget_draw(b, VMIE_BUDGET_MEM, n, where, err);
}

void vmie_budget_release(struct vmie_budget *b, uint64_t n)
{
	if (!b || !n)
		return;
	uint64_t cur = __atomic_load_n(&b->used[VMIE_BUDGET_MEM],
				       __ATOMIC_RELAXED);
	uint64_t next;
	do
		next = cur > n ? cur - n : 0;
	while (!__atomic_compare_exchange_n(&b->used[VMIE_BUDGET_MEM], &cur,
					    next, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED));
}

void *vmie_budget_malloc(struct vmie_budget *b, size_t n, const char *where,
			 struct vmie_err *err)
{
	if (vmie_budget_alloc(b, n, where, err))
		return NULL;
	void *p = malloc(n ? n : 1);
	if (!p) {
		vmie_budget_release(b, n);
		VMIE_ERR(err, VMIE_ENOMEM, "%s: out of memory (%zu bytes)",
			 where ? where : "image", n);
	}
	return p;
}

void *vmie_budget_calloc(struct vmie_budget *b, size_t nmemb, size_t size,
			 const char *where, struct vmie_err *err)
{
	if (size && nmemb > SIZE_MAX / size) {
		VMIE_ERR_RULE(err, VMIE_ELIMIT, "FMT-005",
			      "%s: %zu entries of %zu bytes overflow",
			      where ? where : "image", nmemb, size);
		return NULL;
	}
	size_t n = nmemb * size;
	if (vmie_budget_alloc(b, n, where, err))
		return NULL;
	void *p = calloc(n ? nmemb : 1, n ? size : 1);
	if (!p) {
		vmie_budget_release(b, n);
		VMIE_ERR(err, VMIE_ENOMEM, "%s: out of memory (%zu bytes)",
			 where ? where : "image", n);
	}
	return p;
}

void vmie_budget_free(struct vmie_budget *b, void *p, size_t n)
{
	if (!p)
		return;
	free(p);
	vmie_budget_release(b, n);
}

void vmie_budget_new_phase(struct vmie_budget *b)
{
	if (!b)
		return;
	for (int k = 0; k < VMIE_BUDGET_N; k++) {
		if (k == VMIE_BUDGET_MEM)
			continue;
		uint64_t u = __atomic_exchange_n(&b->used[k], 0,
						 __ATOMIC_RELAXED);
		if (u > b->phase_max[k])
			b->phase_max[k] = u;
	}
}

/* The report's figure: the largest total of any phase. */
static uint64_t budget_reported(const struct vmie_budget *b,
				enum vmie_budget_kind k)
{
	uint64_t u = vmie_budget_used(b, k);
	return u > b->phase_max[k] ? u : b->phase_max[k];
}

uint64_t vmie_budget_used(const struct vmie_budget *b,
			  enum vmie_budget_kind k)
{
	if (!b || (unsigned)k >= VMIE_BUDGET_N)
		return 0;
	return __atomic_load_n(&b->used[k], __ATOMIC_RELAXED);
}

void vmie_budget_format(const struct vmie_budget *b, char *buf, size_t size)
{
	if (!b) {
		snprintf(buf, size, "budget: none");
		return;
	}
	snprintf(buf, size,
		 "budget: read=%llu/%llu entries=%llu/%llu mem_peak=%llu/%llu "
		 "inflate=%llu/%llu",
		 (unsigned long long)budget_reported(b, VMIE_BUDGET_READ),
		 (unsigned long long)b->limit[VMIE_BUDGET_READ],
		 (unsigned long long)budget_reported(b, VMIE_BUDGET_ENTRIES),
		 (unsigned long long)b->limit[VMIE_BUDGET_ENTRIES],
		 (unsigned long long)__atomic_load_n(&b->mem_peak,
						     __ATOMIC_RELAXED),
		 (unsigned long long)b->limit[VMIE_BUDGET_MEM],
		 (unsigned long long)budget_reported(b, VMIE_BUDGET_INFLATE),
		 (unsigned long long)b->limit[VMIE_BUDGET_INFLATE]);
}
