/* vmie convert [-f FMT] -O FMT[,SUB] [-o k=v[,k=v]] [-p] [-t N] [--force]
 *              SRC DST
 * and vmie compare [-f FMT] [-F FMT] [-s] A B */
#include "cli.h"
#include "core/util.h"
#include "image/image.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void convert_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmie convert [OPTION]... -O FMT[,SUBFORMAT] SRC DST\n"
		"Convert a disk image (or an OVA's disk) to another format, "
		"streaming,\nmulti-threaded and sparse (docs/cmd-convert.md).\n\n"
		"Output formats (-O FMT[,SUBFORMAT]):\n");
	for (size_t i = 0; vmie_image_drivers[i]; i++) {
		const struct vmie_image_driver *d = vmie_image_drivers[i];
		if (!d->writer)
			continue;
		fprintf(f, "  %s", d->name);
		for (size_t k = 0; d->write_subformats && d->write_subformats[k]; k++)
			if (d->write_subformats[k][0])
				fprintf(f, "%s%s", k ? ", " : " (",
					d->write_subformats[k]);
		fprintf(f, "%s\n", d->write_subformats && d->write_subformats[0] &&
			d->write_subformats[0][0] ? ")" : "");
	}
	fprintf(f, "\nOptions:\n"
		   "  -f FMT        the source's format (default: probed)\n"
		   "  -O FMT[,SUB]  the output format and subformat\n"
		   "  -o KEY=VAL,...  output options (docs/cmd-convert.md)\n"
		   "  -p            show progress\n"
		   "  -t N          worker threads\n"
		   "  --force       replace DST if it exists\n"
		   "  --disk N      the Nth disk of an OVA source (0 = first)\n"
		   "  --no-sync     do not flush DST to disk before renaming it "
		   "into place\n\n"
		   "The output is written under a temporary name and renamed "
		   "when complete.\n\n"
		   "Exit status:\n"
		   "  0    converted\n"
		   "  1    an error or a bad command line (nothing is left at "
		   "DST)\n"
		   "  130  interrupted (nothing is left at DST)\n");
}

struct progress {
	bool on;
	struct timespec start;
};

static double now_s(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (!p->on)
		return;
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;
	double el = now_s(&p->start);
	int bars = (int)(pct / 2.5);
	fprintf(stderr, "\r    (%6.2f/100%%) [%-40.*s] %6.1f MB/s", pct, bars,
		"########################################",
		el > 0 ? (double)done / el / 1e6 : 0.0);
	fflush(stderr);
}

#define MAX_KV 32

int cmd_convert(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "threads", required_argument, NULL, 't' },
		{ "disk", required_argument, NULL, 'D' },
		{ "no-sync", no_argument, NULL, 'N' },
		{ "ova-disk", required_argument, NULL, 'D' },
		{ 0 },
	};
	struct vmie_open_opts oo = { .budget = cli_budget };
	struct vmie_convert_opts co = { 0 };
	struct vmie_err err = { 0 };
	const char *out_spec = NULL;
	const char *kv[MAX_KV];
	char *kv_store[MAX_KV];
	size_t n_kv = 0, n_store = 0;
	struct progress prog = { 0 };
	bool quiet = false;
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "f:O:o:pqt:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': oo.format = optarg; break;
		case 'O': out_spec = optarg; break;
		case 'o': {
			char *dup = strdup(optarg), *save = NULL;
			if (!dup || n_store == MAX_KV)
				goto bad;
			kv_store[n_store++] = dup;
			for (char *t = strtok_r(dup, ",", &save); t;
			     t = strtok_r(NULL, ",", &save)) {
				if (n_kv == MAX_KV || !strchr(t, '=')) {
					cli_errorf("convert: option '%s' is not "
						   "KEY=VALUE", t);
					goto out;
				}
				kv[n_kv++] = t;
			}
			break;
		}
		case 'p': prog.on = isatty(2); break;
		case 'q': quiet = true; break;
		case 't': co.threads = (unsigned)atoi(optarg); break;
		case 'F': co.sink_flags |= VMIE_SINK_OVERWRITE; break;
		case 'D': oo.ova_disk = (unsigned)atoi(optarg); break;
		case 'N': co.sink_flags |= VMIE_SINK_NOSYNC; break;
		case 'h': convert_usage(stdout); status = 0; goto out;
		default: goto bad;
		}
	}
	if (!out_spec || optind != argc - 2)
		goto bad;
	const struct vmie_image_driver *od;
	char sub[48];
	if (vmie_parse_output_format(out_spec, &od, sub, sizeof sub, &err)) {
		cli_error(&err);
		goto out;
	}
	struct vmie_image *img;
	if (vmie_image_open(argv[optind], &oo, &img, &err)) {
		cli_error(&err);
		goto out;
	}
	co.format = od->name;
	co.subformat = sub;
	co.kv = kv;
	co.n_kv = n_kv;
	co.progress = show_progress;
	co.progress_ctx = &prog;
	co.cancel = &cli_interrupted;
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	struct vmie_convert_stats st;
	int r = vmie_convert(img, argv[optind + 1], &co, &st, &err);
	if (prog.on)
		fputc('\n', stderr);
	vmie_image_close(img);
	if (r) {
		cli_error(&err);
		status = r == VMIE_EINTR ? 130 : 1;
		goto out;
	}
	if (prog.on && !quiet) {
		char a[32], b[32];
		fprintf(stderr, "%s of data, %s of zeros skipped, %.2f s\n",
			vmie_human_size(a, sizeof a, st.bytes_read),
			vmie_human_size(b, sizeof b, st.bytes_skipped),
			now_s(&prog.start));
	}
	status = 0;
	goto out;
bad:
	convert_usage(stderr);
out:
	for (size_t i = 0; i < n_store; i++)
		free(kv_store[i]);
	return status;
}

static void compare_usage(FILE *f)
{
	fprintf(f, "Usage: vmie compare [-f FMT] [-F FMT] [-d N] [-e N] [-s] "
		"[-q] A B\n"
		"Compare the contents (the guest's view) of two images of any "
		"formats; the\nfirst difference is reported by its offset "
		"(docs/cmd-info.md).\n\n"
		"Options:\n"
		"  -f FMT   the format of A (default: probed)\n"
		"  -F FMT   the format of B (default: probed)\n"
		"  -d N     the Nth disk of an OVA A (0 = first)\n"
		"  -e N     the Nth disk of an OVA B (0 = first)\n"
		"  -s       strict: the virtual sizes must match too (else the "
		"longer\n"
		"           image must be zero beyond the shorter one)\n"
		"  -q       quiet: say nothing, only the exit status tells\n\n"
		"Exit status:\n"
		"  0  identical\n"
		"  1  different\n"
		"  2  an error\n");
}

int cmd_compare(int argc, char **argv)
{
	struct vmie_open_opts oa = { .budget = cli_budget }, ob = { .budget = cli_budget };
	struct vmie_err err = { 0 };
	bool strict = false, quiet = false;
	int c;
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		compare_usage(stdout);
		return 0;
	}
	while ((c = getopt(argc, argv, "f:F:sqhd:e:")) != -1) {
		switch (c) {
		case 'd': oa.ova_disk = (unsigned)atoi(optarg); break;
		case 'e': ob.ova_disk = (unsigned)atoi(optarg); break;
		case 'f': oa.format = optarg; break;
		case 'F': ob.format = optarg; break;
		case 's': strict = true; break;
		case 'q': quiet = true; break;
		case 'h':
		default:
			compare_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 2) {
		cli_errorf("compare: needs two images");
		return 2;
	}
	struct vmie_image *a, *b;
	if (vmie_image_open(argv[optind], &oa, &a, &err)) {
		cli_error(&err);
		return 2;
	}
	if (vmie_image_open(argv[optind + 1], &ob, &b, &err)) {
		cli_error(&err);
		vmie_image_close(a);
		return 2;
	}
	uint64_t at;
	int r = vmie_compare(a, b, strict, &at, &err), status;
	if (r) {
		cli_error(&err);
		status = 2;
	} else if (at == UINT64_MAX) {
		if (!quiet)
			printf("Images are identical.\n");
		status = 0;
	} else {
		if (!quiet) {
			if (strict && a->size != b->size)
				printf("Image size mismatch: %llu != %llu\n",
				       (unsigned long long)a->size,
				       (unsigned long long)b->size);
			else
				printf("Content mismatch at offset %llu!\n",
				       (unsigned long long)at);
		}
		status = 1;
	}
	vmie_image_close(a);
	vmie_image_close(b);
	return status;
}
