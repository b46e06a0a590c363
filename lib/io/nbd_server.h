/*
 * A small NBD server (the protocol of
 * https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md):
 * serves in-process images (struct vmie_image, typically the
 * copy-on-write overlays of an import) over a Unix socket, so that a
 * program that speaks NBD (qemu, hence the libguestfs appliance) reads
 * and writes them instead of a file.  Writes go through
 * vmie_image_pwrite: into the overlay, never into the source.
 *
 * What it speaks: the fixed newstyle handshake (NBD_OPT_EXPORT_NAME,
 * NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_LIST, NBD_OPT_ABORT; every other
 * option is answered NBD_REP_ERR_UNSUP, so structured replies and
 * metadata contexts are off) and simple replies to NBD_CMD_READ, WRITE,
 * FLUSH (nothing to do: the overlay is memory), TRIM and WRITE_ZEROES
 * (both written as zeros, which TRIM allows), DISC.
 *
 * The socket lives in a private directory (mkdtemp, mode 0700) made for
 * the server and removed by vmie_nbd_stop: only this user can connect.
 * One thread accepts, one thread serves each connection; the images'
 * pread/pwrite are thread-safe (image.h), so connections run in parallel.
 * Requests are bounded (VMIE_NBD_MAX_REQUEST bytes of data, option
 * payloads of 4 KiB): a client asking for more is disconnected.
 */
#ifndef VMIE_IO_NBD_SERVER_H
#define VMIE_IO_NBD_SERVER_H

#include <stdbool.h>

struct vmie_err;
struct vmie_image;
struct vmie_nbd_server;

/* Largest READ or WRITE one request may carry (qemu asks for at most
 * 32 MiB). */
#define VMIE_NBD_MAX_REQUEST (32u << 20)

struct vmie_nbd_export {
	const char *name;           /* the export name ("disk0"); with one
				       export, any name a client asks for
				       is that export */
	struct vmie_image *img;     /* served; must outlive the server */
	bool readonly;              /* NBD_FLAG_READ_ONLY, writes refused */
};

/* Serve the n exports (names and images copied, images not owned) on a
 * new socket; the server runs in its own threads until vmie_nbd_stop. */
int vmie_nbd_start(const struct vmie_nbd_export *ex, unsigned n,
		   struct vmie_nbd_server **out, struct vmie_err *err);
/* The socket's path ("/tmp/vmie-nbd.XXXXXX/sock"). */
const char *vmie_nbd_socket(const struct vmie_nbd_server *s);
/* Stop accepting, disconnect every client, wait for the threads, remove
 * the socket and its directory, free s.  NULL is fine. */
void vmie_nbd_stop(struct vmie_nbd_server *s);

#endif
