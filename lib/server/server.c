/*
 * `vmie serve` over libmicrohttpd (server.h): the daemons, one request
 * from its raw request line to its answer, /metrics and /healthz, the
 * drain.
 *
 * SigV4 signs the path and query string as the client sent them, so the
 * request is taken from MHD's URI log callback (MHD_OPTION_URI_LOG_
 * CALLBACK), which sees the request-target before MHD decodes it; the
 * access handler's url argument (decoded) is not used for the API.
 *
 * The EC2 Query protocol (Amazon EC2 API Reference, "Query requests"):
 * POST with an application/x-www-form-urlencoded body, or GET with the
 * parameters in the query string (presigned URLs).  Answers are XML
 * (xml.h) with text/xml, the request id in x-amzn-RequestId and in the
 * body, the status EC2 gives each error code (vmie_api_http_status).
 */
#include "server/server.h"
#include "server/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/query.h"
#include "api/xml.h"
#include "core/err.h"
#include "core/util.h"
#include "io/bucket.h"
#include "task/store.h"
#include "task/volstore.h"

/* ---- per-thread task envs ---- */

/* The image store and the buckets: local directories, or the S3 store
 * of the configuration's "s3" (docs/s3.md). */
static int srv_env_open_objects(const struct vmie_srvcfg *c,
				struct vmie_task_env *env,
				struct vmie_err *err)
{
	int r = c->s3 && c->s3_volumes ?
		vmie_volstore_open_s3(c->store, c->s3_volumes, c->s3,
				      &env->vols, err) :
		vmie_volstore_open_dir(c->store, &env->vols, err);
	if (r)
		return r;
	if (c->s3 && c->s3_buckets)
		return vmie_buckets_open_s3(c->s3, getenv("VMIE_S3_SPOOL"),
					    &env->buckets, err);
	if (c->bucket_root)
		return vmie_buckets_open_dir(c->bucket_root, &env->buckets,
					     err);
	return 0;
}

int srv_env_open(const struct vmie_server *s, struct vmie_task_env *env,
		 struct vmie_err *err)
{
	const struct vmie_srvcfg *c = s->cfg;
	int r;
	memset(env, 0, sizeof *env);
	/* records: the configured PostgreSQL (one connection per thread)
	 * or the SQLite file of the store */
	if ((r = c->records ?
		 vmie_store_open_pg(c->records, &env->store, err) :
		 vmie_store_open_sqlite(c->store, &env->store, err)) ||
	    (r = srv_env_open_objects(c, env, err)))
		return r;
	env->allow_local_files = false;
	env->owner_id = c->account;
	env->queue = true;
	const char *tm = getenv("VMIE_TEST_THROTTLE_MS");
	env->throttle_ms = tm ? (unsigned)atoi(tm) : 0;
	const char *th = getenv("VMIE_THREADS");
	env->threads = th ? (unsigned)atoi(th) : 0;
	return 0;
}

void srv_env_close(struct vmie_task_env *env)
{
	vmie_buckets_close(env->buckets);
	vmie_volstore_close(env->vols);
	vmie_store_close(env->store);
	memset(env, 0, sizeof *env);
}

static void env_destroy(void *p)
{
	struct vmie_task_env *env = p;
	srv_env_close(env);
	free(env);
}

/* this thread's env, opened at its first request */
static struct vmie_task_env *thread_env(struct vmie_server *s,
					struct vmie_err *err)
{
	struct vmie_task_env *env = pthread_getspecific(s->env_key);
	if (env)
		return env;
	if (!(env = calloc(1, sizeof *env))) {
		VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		return NULL;
	}
	if (srv_env_open(s, env, err)) {
		srv_env_close(env);
		free(env);
		return NULL;
	}
	pthread_setspecific(s->env_key, env);
	return env;
}

/* ---- one request ---- */

struct req {
	struct vmie_server *s;
	char id[40];
	char *uri;                 /* raw request-target */
	struct timespec t0;
	char peer[64];
	bool started;              /* the headers were seen */
	bool answered;             /* a response was queued */
	char *body;
	size_t len, cap;
	size_t out_len;
	/* for the log line */
	char action[64];
	char user[72];
	char code[48];
	int status;
};

static void request_id(char out[40])
{
	uint8_t b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(b, &ts, sizeof b < sizeof ts ? sizeof b : sizeof ts);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
		 b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

static void peer_of(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = 0;
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  out, (socklen_t)size);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;
		/* a v4-mapped peer is its IPv4 address (aws:SourceIp) */
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out,
				  (socklen_t)size);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)size);
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *rq = calloc(1, sizeof *rq);
	if (!rq)
		return NULL;
	rq->s = cls;
	rq->uri = strdup(uri ? uri : "/");
	clock_gettime(CLOCK_MONOTONIC, &rq->t0);
	request_id(rq->id);
	peer_of(c, rq->peer, sizeof rq->peer);
	vmie_strlcpy(rq->action, "-", sizeof rq->action);
	vmie_strlcpy(rq->user, "-", sizeof rq->user);
	atomic_fetch_add(&rq->s->inflight, 1);
	return rq;
}

static double elapsed(const struct req *rq)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - rq->t0.tv_sec) +
	       (double)(t.tv_nsec - rq->t0.tv_nsec) / 1e9;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct vmie_server *s = cls;
	struct req *rq = *con_cls;
	struct srv_log l;
	(void)c;
	if (!rq)
		return;
	double secs = elapsed(rq);
	if (!rq->answered) {
		/* closed before an answer: a timeout, a client gone, a body
		 * past the limit without a Content-Length */
		vmie_strlcpy(rq->code, toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED
			     ? "ConnectionTimeout" : toe ==
			     MHD_REQUEST_TERMINATED_CLIENT_ABORT ?
			     "ClientAbort" : rq->code[0] ? rq->code :
			     "ConnectionClosed", sizeof rq->code);
	}
	if (rq->started || rq->answered) {
		srv_log_begin(&l, s->cfg->log_format, "request");
		srv_log_str(&l, "request_id", rq->id);
		srv_log_str(&l, "peer", rq->peer);
		srv_log_str(&l, "user", rq->user);
		srv_log_str(&l, "action", rq->action);
		srv_log_str(&l, "code", rq->code[0] ? rq->code : "OK");
		srv_log_int(&l, "status", rq->status);
		srv_log_num(&l, "ms", secs * 1000.0);
		srv_log_int(&l, "bytes_in", (long long)rq->len);
		srv_log_int(&l, "bytes_out", (long long)rq->out_len);
		srv_log_end(&l);
		if (strcmp(rq->action, "metrics") && strcmp(rq->action, "healthz"))
			srv_metrics_request(&s->metrics, rq->action,
					    rq->code[0] ? rq->code : "OK", secs,
					    rq->len, rq->out_len);
	}
	atomic_fetch_sub(&s->inflight, 1);
	free(rq->uri);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static enum MHD_Result send_answer(struct MHD_Connection *c, struct req *rq,
				   int status, const char *type, char *body,
				   size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body,
		MHD_RESPMEM_MUST_FREE);
	enum MHD_Result r;
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "x-amzn-RequestId", rq->id);
	MHD_add_response_header(resp, "Server", "vmie");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store");
	r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	rq->answered = true;
	rq->status = status;
	rq->out_len = len;
	return r;
}

/* The EC2 error envelope; status 0: EC2's for the code. */
static enum MHD_Result send_error(struct MHD_Connection *c, struct req *rq,
				  int status, const char *code,
				  const char *msg)
{
	char *xml = NULL;
	size_t len = 0;
	vmie_strlcpy(rq->code, code, sizeof rq->code);
	if (!status)
		status = vmie_api_http_status(code);
	if (vmie_xml_error(code, msg, rq->id, &xml, &len, NULL)) {
		static const char fb[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			"\n<Response><Errors><Error><Code>InternalError</Code>"
			"<Message>An internal error has occurred.</Message>"
			"</Error></Errors><RequestID></RequestID></Response>\n";
		xml = strdup(fb);
		len = xml ? strlen(xml) : 0;
		if (!xml)
			return MHD_NO;
	}
	return send_answer(c, rq, status, "text/xml;charset=UTF-8", xml, len);
}

/* the headers, as sent, for SigV4 */
struct hdrs {
	struct vmie_sigv4_header h[VMIE_SIGV4_MAX_HEADERS + 1];
	size_t n;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
				      const char *key, const char *value)
{
	struct hdrs *hs = cls;
	(void)kind;
	if (hs->n == sizeof hs->h / sizeof *hs->h)
		return MHD_NO;
	hs->h[hs->n].name = key;
	hs->h[hs->n].value = value ? value : "";
	hs->n++;
	return MHD_YES;
}

/* the actions that store a task */
static bool submits(const char *op)
{
	static const char *const ops[] = { "ImportImage", "ImportSnapshot",
		"ExportImage", "CreateInstanceExportTask", "ImportInstance",
		"ImportVolume", NULL };
	for (size_t i = 0; ops[i]; i++)
		if (!strcmp(op, ops[i]))
			return true;
	return false;
}

static json_t *iam_context(const struct vmie_server *s, const struct req *rq,
			   const struct vmie_srv_user *u,
			   const struct vmie_sigv4_result *who)
{
	char t[40];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *ctx = json_object();
	if (!ctx)
		return NULL;
	json_object_set_new(ctx, "aws:SourceIp", json_string(rq->peer));
	json_object_set_new(ctx, "aws:SecureTransport",
			    json_string(s->tls ? "true" : "false"));
	json_object_set_new(ctx, "aws:username", json_string(u->p.name));
	json_object_set_new(ctx, "aws:userid", json_string(u->userid));
	json_object_set_new(ctx, "aws:PrincipalArn", json_string(u->p.arn));
	json_object_set_new(ctx, "aws:PrincipalAccount",
			    json_string(s->cfg->account));
	json_object_set_new(ctx, "aws:PrincipalType", json_string("User"));
	json_object_set_new(ctx, "aws:CurrentTime", json_string(t));
	snprintf(t, sizeof t, "%lld", (long long)now);
	json_object_set_new(ctx, "aws:EpochTime", json_string(t));
	json_object_set_new(ctx, "aws:RequestedRegion",
			    json_string(who->region));
	json_object_set_new(ctx, "aws:MultiFactorAuthPresent",
			    json_string("false"));
	return ctx;
}

static enum MHD_Result answer_api(struct MHD_Connection *c, struct req *rq,
				  const char *method, const char *path,
				  const char *query)
{
	struct vmie_server *s = rq->s;
	struct vmie_err err = { 0 };
	struct vmie_sigv4_result who = { 0 };
	struct vmie_query q = { 0 };
	struct hdrs hs = { .n = 0 };
	json_t *ctx = NULL, *out = NULL;
	char *xml = NULL;
	size_t xlen = 0;
	enum MHD_Result mr;

	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hs);
	struct vmie_sigv4_request sr = {
		.method = method, .path = path, .query = query,
		.headers = hs.h, .nheaders = hs.n,
		.body = rq->body, .body_len = rq->len, .now = time(NULL),
	};
	if (vmie_sigv4_verify(&s->sigv4, &sr, &who, &err))
		return send_error(c, rq, 0, err.api[0] ? err.api :
				  "AuthFailure", err.msg);
	const struct vmie_srv_user *u = vmie_srvcfg_user_of(s->cfg,
							    who.access_key);
	if (!u)
		return send_error(c, rq, 0, "AuthFailure", "AWS was not able to "
				  "validate the provided access credentials");
	vmie_strlcpy(rq->user, u->p.name, sizeof rq->user);
	if (vmie_query_decode(query, query ? strlen(query) : 0, rq->body,
			      rq->len, &q, &err))
		return send_error(c, rq, 0, err.api[0] ? err.api :
				  "InvalidParameterValue", err.msg);
	vmie_strlcpy(rq->action, q.op->name, sizeof rq->action);
	if (submits(q.op->name) &&
	    !json_is_true(json_object_get(q.params, "DryRun"))) {
		if (atomic_load(&s->draining)) {
			pthread_mutex_lock(&s->metrics.lock);
			s->metrics.refused_queue_full++;
			pthread_mutex_unlock(&s->metrics.lock);
			mr = send_error(c, rq, 503, "RequestLimitExceeded",
					"The server is shutting down and "
					"accepts no new task; retry in a "
					"moment.");
			goto out;
		}
		/* the queue as the store has it: tasks waiting from every
		 * process and node, and from before a restart */
		struct vmie_task_env *qe = thread_env(s, &err);
		unsigned nq = 0;
		if (qe && !vmie_task_queued(qe, &nq, NULL) &&
		    nq >= s->cfg->limits.queue_length) {
			char m[160];
			pthread_mutex_lock(&s->metrics.lock);
			s->metrics.refused_queue_full++;
			pthread_mutex_unlock(&s->metrics.lock);
			snprintf(m, sizeof m, "Request limit exceeded: %u tasks "
				 "are waiting for a worker; retry later.",
				 s->cfg->limits.queue_length);
			mr = send_error(c, rq, 503, "RequestLimitExceeded", m);
			goto out;
		}
	}
	struct vmie_task_env *env = thread_env(s, &err);
	if (!env) {
		struct srv_log l;
		srv_log_begin(&l, s->cfg->log_format, "error");
		srv_log_str(&l, "request_id", rq->id);
		srv_log_str(&l, "error", err.msg);
		srv_log_end(&l);
		mr = send_error(c, rq, 500, "InternalError", "An internal error "
				"has occurred.");
		goto out;
	}
	if (!(ctx = iam_context(s, rq, u, &who))) {
		mr = send_error(c, rq, 500, "InternalError", "out of memory");
		goto out;
	}
	struct vmie_api_caller caller = { .user = &u->p, .context = ctx };
	if (vmie_api_call(&s->svc, env, &caller, q.op, q.params, &out, &err)) {
		if (!err.api[0]) {
			/* not an answer for the client: the details go to
			 * the log, the client gets EC2's InternalError */
			struct srv_log l;
			srv_log_begin(&l, s->cfg->log_format, "error");
			srv_log_str(&l, "request_id", rq->id);
			srv_log_str(&l, "action", q.op->name);
			srv_log_str(&l, "error", err.msg);
			srv_log_end(&l);
			mr = send_error(c, rq, 500, "InternalError", "An internal "
					"error has occurred.");
		} else {
			mr = send_error(c, rq, 0, err.api, err.msg);
		}
		goto out;
	}
	if (vmie_xml_response(q.op, out, rq->id, q.version[0] ? q.version :
			      NULL, &xml, &xlen, &err)) {
		struct srv_log l;
		srv_log_begin(&l, s->cfg->log_format, "error");
		srv_log_str(&l, "request_id", rq->id);
		srv_log_str(&l, "action", q.op->name);
		srv_log_str(&l, "error", err.msg);
		srv_log_end(&l);
		mr = send_error(c, rq, 500, "InternalError", "An internal error "
				"has occurred.");
		goto out;
	}
	mr = send_answer(c, rq, 200, "text/xml;charset=UTF-8", xml, xlen);
out:
	json_decref(out);
	json_decref(ctx);
	vmie_query_clear(&q);
	return mr;
}

static enum MHD_Result answer_text(struct MHD_Connection *c, struct req *rq,
				   int status, const char *text)
{
	char *b = strdup(text);
	if (!b)
		return MHD_NO;
	return send_answer(c, rq, status, "text/plain; charset=utf-8", b,
			   strlen(b));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct vmie_server *s = cls;
	struct req *rq = *con_cls;
	const struct vmie_srv_limits *lim = &s->cfg->limits;
	(void)url;
	(void)version;

	if (!rq)
		return MHD_NO;          /* out of memory in on_uri */
	if (!rq->started) {
		rq->started = true;
		if (elapsed(rq) > lim->header_timeout) {
			vmie_strlcpy(rq->code, "RequestTimeout", sizeof rq->code);
			return send_error(c, rq, 408, "RequestTimeout", "The "
					  "request headers took too long.");
		}
		if (strcmp(method, "POST") && strcmp(method, "GET") &&
		    strcmp(method, "HEAD"))
			return send_error(c, rq, 405, "InvalidAction", "Only POST "
					  "and GET requests of the EC2 Query "
					  "protocol are served.");
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     "Content-Length");
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || n > lim->max_body) {
				char m[160];
				snprintf(m, sizeof m, "The request body is larger "
					 "than the limit of %zu bytes.",
					 lim->max_body);
				return send_error(c, rq, 413,
						  "InvalidParameterValue", m);
			}
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->answered) {
			*upload_size = 0;
			return MHD_YES;
		}
		if (rq->len + *upload_size > lim->max_body) {
			/* no Content-Length (chunked) and past the limit: an
			 * answer cannot be queued mid-body; close */
			vmie_strlcpy(rq->code, "BodyTooLarge", sizeof rq->code);
			rq->status = 413;
			return MHD_NO;
		}
		if (elapsed(rq) > lim->request_timeout) {
			vmie_strlcpy(rq->code, "RequestTimeout", sizeof rq->code);
			rq->status = 408;
			return MHD_NO;
		}
		if (rq->len + *upload_size + 1 > rq->cap) {
			size_t cap = rq->cap ? rq->cap : 4096;
			while (cap < rq->len + *upload_size + 1)
				cap *= 2;
			char *b = realloc(rq->body, cap);
			if (!b)
				return MHD_NO;
			rq->body = b;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload, *upload_size);
		rq->len += *upload_size;
		rq->body[rq->len] = 0;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;

	/* the whole request: split the raw target */
	char *path = rq->uri, *query = strchr(path, '?');
	if (query)
		*query++ = 0;
	if (!strcmp(method, "GET") && (!strcmp(path, "/metrics") ||
				       !strcmp(path, "/healthz"))) {
		bool metrics = !strcmp(path, "/metrics");
		vmie_strlcpy(rq->action, metrics ? "metrics" : "healthz",
			     sizeof rq->action);
		if (!metrics)
			return answer_text(c, rq, atomic_load(&s->draining) ?
					   503 : 200, atomic_load(&s->draining)
					   ? "draining\n" : "ok\n");
		if (!s->cfg->metrics_public)
			return send_error(c, rq, 403, "UnauthorizedOperation",
					  "/metrics is not public on this "
					  "server (metrics_public).");
		struct vmie_err err = { 0 };
		struct vmie_task_env *env = thread_env(s, &err);
		size_t len = 0;
		char *text = srv_metrics_render(&s->metrics, env, s, &len);
		if (!text)
			return send_error(c, rq, 500, "InternalError",
					  "out of memory");
		return send_answer(c, rq, 200, "text/plain; version=0.0.4; "
				   "charset=utf-8", text, len);
	}
	return answer_api(c, rq, method, path, query);
}

/* MHD's own messages (bind errors, TLS handshakes...) as log lines */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct vmie_server *s = cls;
	char msg[512];
	struct srv_log l;
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	srv_log_begin(&l, s->cfg->log_format, "http");
	srv_log_str(&l, "message", msg);
	srv_log_end(&l);
}

static int read_pem(const char *path, char **out, struct vmie_err *err)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	if (!f)
		return VMIE_ERR(err, VMIE_EIO, "tls: cannot open %s: %s", path,
				strerror(errno));
	if (fstat(fileno(f), &st) || st.st_size <= 0 ||
	    st.st_size > 1024 * 1024) {
		fclose(f);
		return VMIE_ERR(err, VMIE_EINVAL, "tls: %s is empty or too "
				"large for a PEM file", path);
	}
	char *b = calloc(1, (size_t)st.st_size + 1);
	if (!b || fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(b);
		fclose(f);
		return VMIE_ERR(err, VMIE_EIO, "tls: cannot read %s", path);
	}
	fclose(f);
	*out = b;
	return 0;
}

static int mkdirs(const char *dir)
{
	char p[4096];
	vmie_strlcpy(p, dir, sizeof p);
	for (char *x = p + 1; *x; x++)
		if (*x == '/') {
			*x = 0;
			if (mkdir(p, 0700) && errno != EEXIST)
				return -1;
			*x = '/';
		}
	return mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
}

static int start_daemon(struct vmie_server *s, size_t i, struct vmie_err *err)
{
	const struct vmie_srvcfg *c = s->cfg;
	struct sockaddr_storage ss;
	unsigned sl;
	int r;
	if ((r = vmie_srv_parse_addr(c->listen[i], &ss, &sl, err)))
		return r;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_OptionItem no_opts[] = { { MHD_OPTION_END, 0, NULL } };
	unsigned per_daemon = c->limits.max_connections / (unsigned)c->n_listen;
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL,
		on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->http_threads,
		MHD_OPTION_CONNECTION_LIMIT, per_daemon ? per_daemon : 1,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->limits.max_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, c->limits.idle_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->limits.connection_memory,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		MHD_OPTION_ARRAY, s->tls ? tls_opts : no_opts,
		MHD_OPTION_END);
	if (!d)
		return VMIE_ERR(err, VMIE_EIO, "cannot listen on %s%s%s",
				c->listen[i], errno ? ": " : "",
				errno ? strerror(errno) : "");
	s->daemons[i] = d;
	s->n_daemons = i + 1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d,
		MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : 0;
	char host[INET6_ADDRSTRLEN] = "0.0.0.0";
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  host, sizeof host);
		snprintf(s->bound[i], sizeof s->bound[i], "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
			  sizeof host);
		snprintf(s->bound[i], sizeof s->bound[i], "%s:%u", host, port);
	}
	return 0;
}

int vmie_server_start(const struct vmie_srvcfg *cfg, struct vmie_server **out,
		      struct vmie_err *err)
{
	struct vmie_server *s = calloc(1, sizeof *s);
	struct vmie_task_env env = { 0 };
	struct srv_log l;
	unsigned ended = 0;
	int r;

	*out = NULL;
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	s->cfg = cfg;
	s->started = time(NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	srv_metrics_init(&s->metrics);
	for (size_t i = 0; i < cfg->n_regions; i++)
		s->regions[i] = cfg->regions[i];
	s->sigv4.regions = s->regions;
	s->sigv4.nregions = cfg->n_regions;
	s->sigv4.service = "ec2";
	s->sigv4.lookup = vmie_srvcfg_lookup;
	s->sigv4.lookup_ctx = (void *)cfg;
	s->sigv4.max_skew = cfg->clock_skew;
	s->svc.account = cfg->account;
	s->svc.region = cfg->regions[0];
	s->svc.roles = cfg->roles;
	s->svc.n_roles = cfg->n_roles;
	s->svc.policy = cfg->policy;
	s->svc.submitted = srv_task_submitted;
	s->svc.submitted_ctx = s;
	s->svc.accepting = true;
	if (pthread_key_create(&s->env_key, env_destroy)) {
		free(s);
		return VMIE_ERR(err, VMIE_ENOMEM, "pthread_key_create failed");
	}
	s->env_key_made = true;
	*out = s;

	if (cfg->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
			return VMIE_ERR(err, VMIE_EUNSUPP, "tls: this "
					"libmicrohttpd was built without TLS");
		if ((r = read_pem(cfg->tls_cert, &s->tls_cert_pem, err)) ||
		    (r = read_pem(cfg->tls_key, &s->tls_key_pem, err)))
			return r;
		s->tls = true;
	}
	if (mkdirs(cfg->store))
		return VMIE_ERR(err, VMIE_EIO, "cannot create the store %s: %s",
				cfg->store, strerror(errno));
	if (cfg->bucket_root && mkdirs(cfg->bucket_root))
		return VMIE_ERR(err, VMIE_EIO, "cannot create the bucket root "
				"%s: %s", cfg->bucket_root, strerror(errno));
	/* the tasks of dead processes: queued ones back to the queue */
	if ((r = srv_env_open(s, &env, err))) {
		srv_env_close(&env);
		return r;
	}
	r = vmie_task_recover(&env, &ended, err);
	srv_env_close(&env);
	if (r)
		return r;
	srv_log_begin(&l, cfg->log_format, "start");
	srv_log_str(&l, "config", cfg->path);
	srv_log_str(&l, "store", cfg->store);
	srv_log_str(&l, "bucket_root", cfg->bucket_root ? cfg->bucket_root : "");
	srv_log_str(&l, "account", cfg->account);
	srv_log_int(&l, "workers", cfg->workers);
	srv_log_int(&l, "recovered", ended);
	srv_log_end(&l);
	if ((r = srv_workers_start(s, err)))
		return r;
	for (size_t i = 0; i < cfg->n_listen; i++)
		if ((r = start_daemon(s, i, err)))
			return r;
	for (size_t i = 0; i < s->n_daemons; i++) {
		srv_log_begin(&l, cfg->log_format, "listening");
		srv_log_str(&l, "address", s->bound[i]);
		srv_log_str(&l, "tls", s->tls ? "true" : "false");
		srv_log_end(&l);
	}
	return 0;
}

const char *vmie_server_address(const struct vmie_server *s, size_t i)
{
	return s && i < s->n_daemons ? s->bound[i] : NULL;
}

void vmie_server_drain(struct vmie_server *s, unsigned grace_seconds)
{
	struct srv_log l;
	if (!s || s->drained)
		return;
	s->drained = true;
	srv_log_begin(&l, s->cfg->log_format, "drain");
	srv_log_int(&l, "running", atomic_load(&s->running));
	srv_log_end(&l);
	/* 1. no new task; new connections refused */
	atomic_store(&s->draining, true);
	__atomic_store_n(&s->svc.accepting, false, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < s->n_daemons; i++) {
		MHD_socket fd = MHD_quiesce_daemon(s->daemons[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	/* 2. running tasks back to the queue; workers end */
	srv_workers_stop(s);
	/* 3. requests in flight answered */
	for (unsigned w = 0; w < grace_seconds * 20 &&
	     atomic_load(&s->inflight) > 0; w++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < s->n_daemons; i++) {
		MHD_stop_daemon(s->daemons[i]);
		s->daemons[i] = NULL;
	}
	srv_log_begin(&l, s->cfg->log_format, "stopped");
	srv_log_int(&l, "in_flight", atomic_load(&s->inflight));
	srv_log_end(&l);
}

void vmie_server_free(struct vmie_server *s)
{
	if (!s)
		return;
	vmie_server_drain(s, 10);
	if (s->env_key_made) {
		/* this thread's env, if it opened one */
		struct vmie_task_env *env = pthread_getspecific(s->env_key);
		if (env)
			env_destroy(env);
		pthread_key_delete(s->env_key);
	}
	free(s->tls_cert_pem);
	free(s->tls_key_pem);
	pthread_mutex_destroy(&s->metrics.lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void vmie_server_log(const struct vmie_server *s, const char *event,
		     const char *msg)
{
	struct srv_log l;
	srv_log_begin(&l, s ? s->cfg->log_format : VMIE_SRV_LOG_KV, event);
	srv_log_str(&l, "message", msg);
	srv_log_end(&l);
}
