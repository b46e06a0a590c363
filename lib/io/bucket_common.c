/* Bucket calls that every implementation shares (bucket.h). */
#include "io/bucket.h"
#include "core/err.h"

#include <stddef.h>

int vmie_buckets_remove_temps(struct vmie_buckets *b, const char *bucket,
			      const char *key, struct vmie_err *err)
{
	if (!b || !b->ops->remove_temps)
		return 0;
	return b->ops->remove_temps(b, bucket, key, err);
}
