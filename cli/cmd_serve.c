/*
 * vmie serve: the EC2 VM Import/Export API over HTTP(S) (lib/server,
 * docs/serve.md).  Reads the configuration (creating it at a first run),
 * applies the flags over it, starts the server and waits for SIGTERM or
 * SIGINT, then drains: no new task, running tasks back to the queue,
 * requests in flight answered, exit 0.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include <sys/socket.h>
#include "server/config.h"
#include "server/server.h"

static void serve_usage(FILE *f)
{
	fprintf(f,
"usage: vmie serve [--config FILE] [--listen ADDR:PORT]... [--store DIR]\n"
"                  [--bucket-root DIR] [--workers N] [--region REGION]...\n"
"                  [--policy NAME|FILE] [--log-format kv|json]\n"
"       vmie serve --init-config FILE [--listen ADDR:PORT] [--store DIR]\n"
"                  [--bucket-root DIR]\n"
"\n"
"Serve the EC2 VM Import/Export API (ImportImage, ExportImage, Describe*,\n"
"CancelImportTask, tags...) to the AWS CLI, boto3 and Terraform, with\n"
"Signature V4 and IAM policies, and run the tasks on a pool of workers.\n"
"\n"
"  --config FILE         the configuration (JSON, docs/serve.md); default\n"
"                        /etc/vmie/serve.json for root, else\n"
"                        $XDG_CONFIG_HOME/vmie/serve.json\n"
"                        (~/.config/vmie/serve.json); created with a new\n"
"                        account, user and access key when it does not exist\n"
"  --init-config FILE    only create a configuration (mode 0600), print its\n"
"                        access key and secret, and exit\n"
"  --listen ADDR:PORT    where to listen (repeatable; replaces the file's\n"
"                        \"listen\"); default 127.0.0.1:8773; port 0: any\n"
"  --store DIR           task records and imported volumes (\"store\")\n"
"  --bucket-root DIR     buckets are its directories (\"bucket_root\")\n"
"  --workers N           tasks run at once (\"workers\", default 2; 0: the\n"
"                        server only queues)\n"
"  --region REGION       a region requests may be signed for (repeatable;\n"
"                        replaces \"regions\"; default us-east-1)\n"
"  --policy NAME|FILE    the vmie rules policy imports are judged by, as\n"
"                        `vmie check --policy` (\"policy\")\n"
"  --log-format kv|json  log lines on stderr (\"log_format\", default kv)\n"
"\n"
"Signals: SIGTERM or SIGINT drains (no new task, running tasks stopped and\n"
"left queued for the next start, requests in flight answered) and exits 0;\n"
"a second one exits at once (the next start recovers the tasks).\n"
"GET /metrics (Prometheus text) and GET /healthz are served too.\n");
}

static int set_str(char **dst, const char *v)
{
	char *n = strdup(v);
	if (!n)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static void print_first_run(const char *path, const struct vmie_srvcfg_created *m)
{
	char url[160];
	const char *l = m->listen;
	if (!strncmp(l, "0.0.0.0:", 8) || l[0] == ':')
		snprintf(url, sizeof url, "http://127.0.0.1:%s",
			 strrchr(l, ':') + 1);
	else
		snprintf(url, sizeof url, "http://%s", l);
	printf("vmie serve: created %s (mode 0600) with a new account %s,\n"
	       "a user \"%s\" allowed everything and a role \"vmimport\" that may"
	       " read and\nwrite every bucket.  Its access key (shown only this "
	       "once; it is in the file):\n\n"
	       "  access key id:     %s\n"
	       "  secret access key: %s\n\n"
	       "Use it with the AWS CLI:\n\n"
	       "  aws configure set aws_access_key_id %s --profile vmie\n"
	       "  aws configure set aws_secret_access_key %s --profile vmie\n"
	       "  aws configure set region %s --profile vmie\n"
	       "  aws --profile vmie --endpoint-url %s ec2 "
	       "describe-import-image-tasks\n\n",
	       path, m->account, m->user, m->key_id, m->secret, m->key_id,
	       m->secret, m->region, url);
	fflush(stdout);
}

int cmd_serve(int argc, char **argv)
{
	const char *config = NULL, *init = NULL, *store = NULL, *broot = NULL;
	const char *policy = NULL, *logfmt = NULL;
	const char *listen[VMIE_SRV_MAX_LISTEN], *regions[VMIE_SRV_MAX_REGIONS];
	size_t n_listen = 0, n_regions = 0;
	long workers = -1;
	char defpath[PATH_MAX];
	struct vmie_err err = { 0 };
	struct vmie_srvcfg *cfg = NULL;
	struct vmie_server *srv = NULL;
	int status = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char *eq = strchr(a, '=');
		char name[32];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			serve_usage(stdout);
			return 0;
		}
		if (strncmp(a, "--", 2)) {
			cli_errorf("serve: unexpected argument '%s'", a);
			serve_usage(stderr);
			return 2;
		}
		if (eq && (size_t)(eq - a) < sizeof name) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = 0;
			a = name;
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[i + 1];
		}
		bool known = true;
		if (!strcmp(a, "--config"))
			config = v;
		else if (!strcmp(a, "--init-config"))
			init = v;
		else if (!strcmp(a, "--store"))
			store = v;
		else if (!strcmp(a, "--bucket-root"))
			broot = v;
		else if (!strcmp(a, "--policy"))
			policy = v;
		else if (!strcmp(a, "--log-format"))
			logfmt = v;
		else if (!strcmp(a, "--listen")) {
			if (v && n_listen < VMIE_SRV_MAX_LISTEN)
				listen[n_listen++] = v;
			else if (v) {
				cli_errorf("serve: at most %d --listen",
					   VMIE_SRV_MAX_LISTEN);
				return 2;
			}
		} else if (!strcmp(a, "--region")) {
			if (v && n_regions < VMIE_SRV_MAX_REGIONS)
				regions[n_regions++] = v;
		} else if (!strcmp(a, "--workers")) {
			char *end;
			workers = v ? strtol(v, &end, 10) : -1;
			if (!v || *end || workers < 0 ||
			    workers > VMIE_SRV_MAX_WORKERS) {
				cli_errorf("serve: --workers needs a number "
					   "from 0 to %d", VMIE_SRV_MAX_WORKERS);
				return 2;
			}
		} else
			known = false;
		if (!known) {
			cli_errorf("serve: unknown option '%s'", argv[i]);
			serve_usage(stderr);
			return 2;
		}
		if (!v || !*v) {
			cli_errorf("serve: %s needs a value", a);
			return 2;
		}
		if (!eq)
			i++;
	}
	if (logfmt && strcmp(logfmt, "kv") && strcmp(logfmt, "json")) {
		cli_errorf("serve: --log-format is kv or json");
		return 2;
	}

	if (init) {
		struct vmie_srvcfg_created made;
		if (vmie_srvcfg_generate(init, store, broot,
					 n_listen ? listen[0] : NULL, &made,
					 &err)) {
			cli_error(&err);
			return 1;
		}
		print_first_run(init, &made);
		memset(&made, 0, sizeof made);
		return 0;
	}
	if (!config) {
		vmie_srvcfg_default_path(defpath, sizeof defpath);
		config = defpath;
	}
	if (access(config, F_OK) && errno == ENOENT) {
		struct vmie_srvcfg_created made;
		if (vmie_srvcfg_generate(config, store, broot,
					 n_listen ? listen[0] : NULL, &made,
					 &err)) {
			cli_error(&err);
			cli_errorf("serve: create a configuration with 'vmie "
				   "serve --init-config FILE' where you may "
				   "write (docs/serve.md)");
			return 1;
		}
		print_first_run(config, &made);
		memset(&made, 0, sizeof made);
	}
	if (vmie_srvcfg_load(config, &cfg, &err)) {
		cli_error(&err);
		return 1;
	}
	/* the flags over the file */
	if ((store && set_str(&cfg->store, store)) ||
	    (broot && set_str(&cfg->bucket_root, broot)) ||
	    (policy && set_str(&cfg->policy, policy))) {
		cli_errorf("out of memory");
		goto out;
	}
	if (n_listen) {
		for (size_t i = 0; i < cfg->n_listen; i++)
			free(cfg->listen[i]);
		cfg->n_listen = 0;
		for (size_t i = 0; i < n_listen; i++) {
			struct sockaddr_storage ss;
			unsigned sl;
			if (vmie_srv_parse_addr(listen[i], &ss, &sl, &err)) {
				cli_error(&err);
				goto out;
			}
			cfg->listen[cfg->n_listen++] = strdup(listen[i]);
		}
	}
	if (n_regions) {
		for (size_t i = 0; i < cfg->n_regions; i++)
			free(cfg->regions[i]);
		cfg->n_regions = 0;
		for (size_t i = 0; i < n_regions; i++)
			cfg->regions[cfg->n_regions++] = strdup(regions[i]);
	}
	if (workers >= 0)
		cfg->workers = (unsigned)workers;
	if (logfmt)
		cfg->log_format = !strcmp(logfmt, "json") ? VMIE_SRV_LOG_JSON :
				  VMIE_SRV_LOG_KV;

	/* every thread started from here on inherits the blocked signals:
	 * only this one takes them, with sigwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (vmie_server_start(cfg, &srv, &err)) {
		cli_error(&err);
		vmie_server_free(srv);
		srv = NULL;
		goto out;
	}
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGHUP) {
			vmie_server_log(srv, "signal", "SIGHUP ignored (restart "
					"to read the configuration again)");
			continue;
		}
		char m[64];
		snprintf(m, sizeof m, "%s: draining", sig == SIGTERM ?
			 "SIGTERM" : "SIGINT");
		vmie_server_log(srv, "signal", m);
		break;
	}
	/* a second signal ends the process at once */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigdelset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	vmie_server_drain(srv, 30);
	status = 0;
out:
	vmie_server_free(srv);
	vmie_srvcfg_free(cfg);
	return status;
}
