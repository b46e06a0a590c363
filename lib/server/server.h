/*
 * `vmie serve`: the EC2 VM Import/Export API over HTTP(S)
 * (docs/serve.md).
 *
 * One libmicrohttpd daemon per listen address, each with a pool of HTTP
 * threads; every request goes
 *
 *   raw request line, headers, body (bounded)
 *     -> sigv4.h   who signed it (keys from the configuration)
 *     -> query.h   the action and its JSON input
 *     -> service.h may they (IAM), then the lib/task call
 *     -> xml.h     the XML answer or the EC2 error envelope
 *
 * with a request id in every answer (x-amzn-RequestId and the body) and
 * one log line.  Each HTTP thread and each worker has its own
 * vmie_task_env (its own SQLite connection).  A bounded pool of workers
 * runs the queued tasks (vmie_task_take, vmie_task_run), woken when a
 * task is submitted and every poll interval, so that tasks queued by
 * another process are run too.  GET /metrics (Prometheus text format)
 * and GET /healthz answer without a signature when the configuration
 * allows it.
 *
 * Draining (vmie_server_drain, on SIGTERM): no new task is accepted, the
 * listening sockets close, running tasks stop and go back to the queue
 * (resumable by the next start), the workers end, requests in flight are
 * answered.
 */
#ifndef VMIE_SERVER_SERVER_H
#define VMIE_SERVER_SERVER_H

#include <stddef.h>

struct vmie_err;
struct vmie_srvcfg;
struct vmie_server;

/* Open the store, recover the tasks of dead processes, start the
 * workers and listen.  cfg must outlive the server.  The addresses
 * actually bound (a port 0 in the configuration is any free port) are
 * logged, and given by vmie_server_address(). */
int vmie_server_start(const struct vmie_srvcfg *cfg,
		      struct vmie_server **out, struct vmie_err *err);

/* The i-th bound address as "HOST:PORT" ("[V6]:PORT"), NULL past the
 * last. */
const char *vmie_server_address(const struct vmie_server *s, size_t i);

/* Stop taking new work, suspend the running tasks back into the queue,
 * wait for the workers and for the requests in flight (at most
 * grace_seconds), stop listening.  Idempotent. */
void vmie_server_drain(struct vmie_server *s, unsigned grace_seconds);

/* Drain (if not done) and free. */
void vmie_server_free(struct vmie_server *s);

/* A log line from outside the server (the command), in the configured
 * format: event and message. */
void vmie_server_log(const struct vmie_server *s, const char *event,
		     const char *msg);

#endif
