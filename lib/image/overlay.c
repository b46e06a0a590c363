/*
 * Copy-on-write overlay: an image driver that stacks on any open image.
 * Reads come from written clusters when present, else from the base; writes
 * copy the base cluster in (read-modify-write) and keep it in memory.  The
 * base is never written.  Used to replay a VHDX log and to apply guest
 * changes before conversion.
 */
#include "image.h"
#include "../core/checked.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define OV_CLUSTER ((uint64_t)64 * 1024)
#define OV_BUCKETS 4096

struct ov_cluster {
	uint64_t idx;
	struct ov_cluster *next;
	uint8_t data[];
};

struct overlay {
	struct vmie_image *base;
	pthread_rwlock_t lock;
	struct ov_cluster *buckets[OV_BUCKETS];
	uint64_t n_clusters;
};

static struct ov_cluster *ov_find(struct overlay *ov, uint64_t idx)
{
	struct ov_cluster *c = ov->buckets[idx % OV_BUCKETS];
	while (c && c->idx != idx)
		c = c->next;
	return c;
}

static int ov_pread(struct vmie_image *img, void *buf, size_t len,
		    uint64_t off, struct vmie_err *err)
{
	struct overlay *ov = img->priv;
	uint8_t *p = buf;
	int r = 0;
	pthread_rwlock_rdlock(&ov->lock);
	while (len && !r) {
		uint64_t idx = off / OV_CLUSTER, in = off % OV_CLUSTER;
		size_t n = (size_t)vmie_min_u64(len, OV_CLUSTER - in);
		struct ov_cluster *c = ov_find(ov, idx);
		if (c) {
			memcpy(p, c->data + in, n);
		} else {
			/* merge consecutive base reads */
			while (n < len && !ov_find(ov, (off + n) / OV_CLUSTER))
				n = (size_t)vmie_min_u64(len, n + OV_CLUSTER);
			r = vmie_image_pread(ov->base, p, n, off, err);
		}
		p += n, off += n, len -= n;
	}
	pthread_rwlock_unlock(&ov->lock);
	return r;
}

static int ov_pwrite(struct vmie_image *img, const void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	struct overlay *ov = img->priv;
	const uint8_t *p = buf;
	int r = 0;
	pthread_rwlock_wrlock(&ov->lock);
	while (len && !r) {
		uint64_t idx = off / OV_CLUSTER, in = off % OV_CLUSTER;
		size_t n = (size_t)vmie_min_u64(len, OV_CLUSTER - in);
		struct ov_cluster *c = ov_find(ov, idx);
		if (!c) {
			uint64_t start = idx * OV_CLUSTER;
			size_t clen = (size_t)vmie_min_u64(OV_CLUSTER, img->size - start);
			c = calloc(1, sizeof *c + OV_CLUSTER);
			if (!c) {
				r = VMIE_ERR(err, VMIE_ENOMEM, "overlay: out of memory");
				break;
			}
			if (n < clen &&
			    (r = vmie_image_pread(ov->base, c->data, clen, start, err))) {
				free(c);
				break;
			}
			c->idx = idx;
			c->next = ov->buckets[idx % OV_BUCKETS];
			ov->buckets[idx % OV_BUCKETS] = c;
			ov->n_clusters++;
		}
		memcpy(c->data + in, p, n);
		p += n, off += n, len -= n;
	}
	pthread_rwlock_unlock(&ov->lock);
	return r;
}

static int ov_block_status(struct vmie_image *img, uint64_t off,
			   uint64_t max_len, uint64_t *pnum, unsigned *status,
			   struct vmie_err *err)
{
	struct overlay *ov = img->priv;
	pthread_rwlock_rdlock(&ov->lock);
	uint64_t idx = off / OV_CLUSTER;
	if (ov_find(ov, idx)) {
		uint64_t n = OV_CLUSTER - off % OV_CLUSTER;
		while (n < max_len && ov_find(ov, (off + n) / OV_CLUSTER))
			n += OV_CLUSTER;
		pthread_rwlock_unlock(&ov->lock);
		*pnum = vmie_min_u64(n, max_len);
		*status = VMIE_BS_DATA;
		return 0;
	}
	/* base status, cut at the next overlay cluster */
	uint64_t limit = OV_CLUSTER - off % OV_CLUSTER;
	while (limit < max_len && !ov_find(ov, (off + limit) / OV_CLUSTER) &&
	       limit < ((uint64_t)1 << 30))
		limit += OV_CLUSTER;
	pthread_rwlock_unlock(&ov->lock);
	return vmie_image_block_status(ov->base, off, vmie_min_u64(limit, max_len),
				       pnum, status, err);
}

static int ov_info(struct vmie_image *img, struct vmie_image_info *info,
		   struct vmie_err *err)
{
	struct overlay *ov = img->priv;
	int r = vmie_image_info(ov->base, info, err);
	vmie_info_add(info, "overlay_bytes", "%llu",
		      (unsigned long long)(ov->n_clusters * OV_CLUSTER));
	return r;
}

static void ov_close(struct vmie_image *img)
{
	struct overlay *ov = img->priv;
	for (size_t i = 0; i < OV_BUCKETS; i++)
		for (struct ov_cluster *c = ov->buckets[i], *n; c; c = n) {
			n = c->next;
			free(c);
		}
	pthread_rwlock_destroy(&ov->lock);
	free(ov);
}

static const struct vmie_image_driver overlay_driver = {
	.name = "overlay",
	.description = "copy-on-write overlay in memory",
	.pread = ov_pread,
	.pwrite = ov_pwrite,
	.block_status = ov_block_status,
	.info = ov_info,
	.close = ov_close,
};

int vmie_overlay_open(struct vmie_image *base, struct vmie_image **out,
		      struct vmie_err *err)
{
	struct vmie_image *img = calloc(1, sizeof *img);
	struct overlay *ov = calloc(1, sizeof *ov);
	if (!img || !ov || !(img->name = strdup(base->name))) {
		free(img);
		free(ov);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	pthread_rwlock_init(&ov->lock, NULL);
	ov->base = base;
	img->drv = &overlay_driver;
	img->src = base->src;
	vmie_src_ref(base->src);
	img->size = base->size;
	memcpy(img->subformat, base->subformat, sizeof img->subformat);
	vmie_image_share_budget(img, base, false);
	img->priv = ov;
	*out = img;
	return 0;
}

uint64_t vmie_overlay_bytes(struct vmie_image *img)
{
	struct overlay *ov = img->priv;
	return ov->n_clusters * OV_CLUSTER;
}

struct vmie_image *vmie_overlay_base(struct vmie_image *img)
{
	if (!img || !img->drv || strcmp(img->drv->name, "overlay"))
		return NULL;
	return ((struct overlay *)img->priv)->base;
}
