/*
 * Overflow-checked arithmetic and bounds helpers for values read from
 * untrusted images.  Each returns true when the operation overflowed
 * (like __builtin_*_overflow), so the idiom is:
 *     if (vmie_mul_u64(n, 512, &bytes)) return VMIE_CORRUPT(err, "...");
 */
#ifndef VMIE_CORE_CHECKED_H
#define VMIE_CORE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool vmie_add_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}
static inline bool vmie_mul_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}
static inline bool vmie_sub_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_sub_overflow(a, b, r);
}
static inline bool vmie_mul_size(size_t a, size_t b, size_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}
static inline bool vmie_add_size(size_t a, size_t b, size_t *r)
{
	return __builtin_add_overflow(a, b, r);
}
/* True when [off, off+len) does not fit inside [0, limit). */
static inline bool vmie_range_outside(uint64_t off, uint64_t len, uint64_t limit)
{
	uint64_t end;
	return vmie_add_u64(off, len, &end) || end > limit;
}
/* Round up to a multiple of align (a power of two); true on overflow. */
static inline bool vmie_align_up_u64(uint64_t v, uint64_t align, uint64_t *r)
{
	uint64_t t;
	if (vmie_add_u64(v, align - 1, &t))
		return true;
	*r = t & ~(align - 1);
	return false;
}
static inline bool vmie_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}
static inline uint64_t vmie_div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}
static inline uint64_t vmie_min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t vmie_max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

#endif
