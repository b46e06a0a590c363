/*
 * OVF manifest (.mf) and certificate (.cert), DMTF DSP0243 section 5.1:
 * one line per file, "SHA1(name)= hex", "SHA256(name)= hex" (and SHA512
 * in OVF 2.x; some writers put a space before the '=').  Verification
 * streams each member through OpenSSL EVP, in place inside the OVA.
 *
 * The certificate holds a signature line over the manifest,
 * "SHA256(name.mf)= hex", followed by an X.509 certificate in PEM.  vmie
 * checks that signature with the certificate's public key; it does not
 * decide whether the certificate itself is trusted (no trust store).
 */
#include "ova.h"
#include "tar.h"
#include "../core/budget.h"
#include "../core/util.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MF_CHUNK ((size_t)1 << 20)

static const struct {
	const char *alg;
	unsigned hexlen;
} mf_algs[] = {
	{ "SHA1", 40 }, { "SHA256", 64 }, { "SHA512", 128 },
};

void vmie_mf_free(struct vmie_mf *mf)
{
	if (!mf)
		return;
	for (size_t i = 0; i < mf->n; i++)
		free(mf->e[i].file);
	free(mf->e);
	free(mf);
}

/* Parse one "ALG(file)= hex" line (len bytes, no newline). */
static int mf_parse_line(const char *l, size_t len, struct vmie_mf_entry *e,
			 const char *name, unsigned lineno,
			 struct vmie_err *err)
{
	const char *open = memchr(l, '(', len);
	const char *eq = NULL;
	for (size_t i = len; i > 0; i--)
		if (l[i - 1] == '=') {
			eq = l + i - 1;
			break;
		}
	if (!open || !eq || eq < open)
		goto bad;
	const char *close = eq;
	while (close > open && close[-1] == ' ')
		close--;
	if (close == open || close[-1] != ')')
		goto bad;
	close--;
	size_t alen = (size_t)(open - l);
	unsigned hexlen = 0;
	for (size_t i = 0; i < sizeof mf_algs / sizeof *mf_algs; i++)
		if (alen == strlen(mf_algs[i].alg) &&
		    !strncasecmp(l, mf_algs[i].alg, alen)) {
			snprintf(e->alg, sizeof e->alg, "%s", mf_algs[i].alg);
			hexlen = mf_algs[i].hexlen;
		}
	if (!hexlen)
		return VMIE_CORRUPT(err, "%s: line %u: unknown digest "
				    "algorithm '%.*s' (SHA1, SHA256, SHA512 "
				    "are known)", name, lineno,
				    (int)(alen > 16 ? 16 : alen), l);
	size_t flen = (size_t)(close - open - 1);
	if (!flen || memchr(open + 1, 0, flen))
		goto bad;
	const char *h = eq + 1, *end = l + len;
	while (h < end && *h == ' ')
		h++;
	while (end > h && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - h) != hexlen)
		return VMIE_CORRUPT(err, "%s: line %u: %s digest of '%.*s' has "
				    "%zu hex digits, expected %u", name,
				    lineno, e->alg, (int)(flen > 100 ? 100 :
							  flen), open + 1,
				    (size_t)(end - h), hexlen);
	for (unsigned i = 0; i < hexlen; i++) {
		if (!isxdigit((unsigned char)h[i]))
			goto bad;
		e->hex[i] = (char)tolower((unsigned char)h[i]);
	}
	e->hex[hexlen] = 0;
	e->file = strndup(open + 1, flen);
	if (!e->file)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	return 0;
bad:
	return VMIE_CORRUPT(err, "%s: line %u is not of the form "
			    "\"SHA256(file)= hex\"", name, lineno);
}

int vmie_mf_parse(const void *buf, size_t len, const char *name,
		  struct vmie_mf **out, struct vmie_err *err)
{
	const char *p = buf, *end = p + len;
	unsigned lineno = 0;
	struct vmie_mf *mf = calloc(1, sizeof *mf);
	size_t cap = 0;
	int r = 0;
	if (!mf)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - p);
		lineno++;
		while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' '))
			ll--;
		while (ll && (*p == ' ' || *p == '\t'))
			p++, ll--;
		if (ll) {
			if (mf->n == cap) {
				size_t nc = cap ? cap * 2 : 8;
				void *ne;
				if (nc > VMIE_OVA_MAX_MEMBERS ||
				    !(ne = realloc(mf->e, nc * sizeof *mf->e))) {
					r = VMIE_CORRUPT(err, "%s: more than "
							 "%d lines (a manifest "
							 "has one per file and "
							 "algorithm)", name,
							 VMIE_OVA_MAX_MEMBERS);
					goto out;
				}
				mf->e = ne;
				cap = nc;
			}
			memset(&mf->e[mf->n], 0, sizeof *mf->e);
			r = mf_parse_line(p, ll, &mf->e[mf->n], name, lineno,
					  err);
			if (r)
				goto out;
			mf->n++;
		}
		p = nl ? nl + 1 : end;
	}
out:
	if (r) {
		vmie_mf_free(mf);
		return r;
	}
	*out = mf;
	return 0;
}

static const EVP_MD *mf_md(const char *alg)
{
	if (!strcmp(alg, "SHA1"))
		return EVP_sha1();
	if (!strcmp(alg, "SHA256"))
		return EVP_sha256();
	return EVP_sha512();
}

/* Digest len bytes of src at off, streaming. */
static int mf_digest(struct vmie_src *src, uint64_t off, uint64_t len,
		     const EVP_MD *md, uint8_t *out, unsigned *out_len,
		     volatile int *cancel, struct vmie_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(MF_CHUNK);
	int r = 0;
	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, md, NULL)) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "cannot start a digest");
		goto out;
	}
	while (len) {
		size_t n = len < MF_CHUNK ? (size_t)len : MF_CHUNK;
		if (cancel && *cancel) {
			r = VMIE_ERR(err, VMIE_EINTR, "interrupted");
			goto out;
		}
		r = vmie_src_pread(src, buf, n, off, err);
		if (r)
			goto out;
		EVP_DigestUpdate(ctx, buf, n);
		off += n;
		len -= n;
	}
	EVP_DigestFinal_ex(ctx, out, out_len);
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Verify the certificate's signature over the manifest bytes. */
static int mf_check_cert(struct vmie_ova *ova, const uint8_t *mf,
			 size_t mf_len, struct vmie_ova_verify *v,
			 struct vmie_err *err)
{
	uint8_t *buf = NULL, *sig = NULL;
	size_t len, sig_len;
	struct vmie_mf_entry e = { 0 };
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_MD_CTX *ctx = NULL;
	int r = vmie_tar_read_member(ova->tar, ova->cert, 1 << 20, &buf, &len,
				     err);
	if (r)
		return r;
	const char *nl = memchr(buf, '\n', len);
	size_t ll = nl ? (size_t)(nl - (const char *)buf) : len;
	while (ll && (buf[ll - 1] == '\r' || buf[ll - 1] == ' '))
		ll--;
	/* The signature line: like a manifest line, but the hex is as long
	 * as the key's signature. */
	const char *eq = memchr(buf, '=', ll);
	const char *op = memchr(buf, '(', ll);
	if (!eq || !op || op > eq) {
		r = VMIE_CORRUPT(err, "%s: first line is not a signature "
				 "line \"SHA256(file.mf)= hex\"",
				 ova->cert->name);
		goto out;
	}
	size_t alen = (size_t)(op - (const char *)buf);
	const char *close = memchr(op, ')', (size_t)(eq - op));
	if (!close || alen >= sizeof e.alg) {
		r = VMIE_CORRUPT(err, "%s: malformed signature line",
				 ova->cert->name);
		goto out;
	}
	memcpy(e.alg, buf, alen);
	for (size_t i = 0; i < alen; i++)
		e.alg[i] = (char)toupper((unsigned char)e.alg[i]);
	if (strcmp(e.alg, "SHA1") && strcmp(e.alg, "SHA256") &&
	    strcmp(e.alg, "SHA512")) {
		r = VMIE_CORRUPT(err, "%s: unknown signature digest '%s'",
				 ova->cert->name, e.alg);
		goto out;
	}
	const char *h = eq + 1, *hend = (const char *)buf + ll;
	while (h < hend && *h == ' ')
		h++;
	sig_len = (size_t)(hend - h) / 2;
	sig = malloc(sig_len ? sig_len : 1);
	if (!sig) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sig_len; i++) {
		unsigned b;
		if (!isxdigit((unsigned char)h[2 * i]) ||
		    !isxdigit((unsigned char)h[2 * i + 1]) ||
		    sscanf(h + 2 * i, "%2x", &b) != 1) {
			r = VMIE_CORRUPT(err, "%s: signature is not hex",
					 ova->cert->name);
			goto out;
		}
		sig[i] = (uint8_t)b;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (!x) {
		r = VMIE_CORRUPT(err, "%s: no PEM certificate after the "
				 "signature line", ova->cert->name);
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (!ctx || !pk ||
	    EVP_DigestVerifyInit(ctx, NULL, mf_md(e.alg), NULL, pk) != 1 ||
	    EVP_DigestVerifyUpdate(ctx, mf, mf_len) != 1 ||
	    EVP_DigestVerifyFinal(ctx, sig, sig_len) != 1) {
		r = VMIE_ERR_RULE(err, VMIE_ECORRUPT, "FMT-005",
				  "%s: the signature over the manifest does "
				  "not verify with the certificate's key "
				  "(the manifest or the certificate was "
				  "changed)", ova->cert->name);
		goto out;
	}
	char subj[96] = "";
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
	snprintf(v->cert_status, sizeof v->cert_status,
		 "%s signature over the manifest verified (subject %.70s); "
		 "trust not checked", e.alg, subj);
out:
	EVP_MD_CTX_free(ctx);
	X509_free(x);
	BIO_free(bio);
	free(sig);
	free(buf);
	return r;
}

/* One distinct (member, algorithm) a manifest asks to digest: the line
 * that first listed it and the member's index in the sorted name table. */
struct mf_job {
	const struct vmie_mf_entry *e;
	const struct vmie_tar_member *m;
	unsigned line;            /* entry number (1-based) for messages */
};

static int mf_job_cmp(const void *a, const void *b)
{
	const struct mf_job *x = a, *y = b;
	if (x->m != y->m)
		return x->m < y->m ? -1 : 1;
	int c = strcmp(x->e->alg, y->e->alg);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Each member is digested at most once per algorithm, whatever the
 * manifest repeats: the lines are resolved to members first (no data
 * read), sorted by (member, algorithm), and a repeated line is dropped
 * when it expects the same digest or refused when it expects another.
 * Only then are the distinct (member, algorithm) pairs digested, so the
 * bytes read are at most the OVA's size times the algorithms used.
 */
int vmie_ova_verify_manifest(struct vmie_ova *ova, struct vmie_ova_verify *v,
			     volatile int *cancel, struct vmie_err *err)
{
	uint8_t *buf = NULL;
	size_t len;
	struct vmie_mf *mf = NULL;
	struct mf_job *jobs = NULL;
	size_t n_jobs = 0;
	struct vmie_budget *bud = ova->src->budget;
	int r;
	memset(v, 0, sizeof *v);
	if (ova->cert) {
		v->cert_present = true;
		vmie_strlcpy(v->cert, ova->cert->name, sizeof v->cert);
		vmie_strlcpy(v->cert_status, "not checked (no manifest)",
			     sizeof v->cert_status);
	}
	if (!ova->mf)
		return 0;
	v->present = true;
	vmie_strlcpy(v->manifest, ova->mf->name, sizeof v->manifest);
	r = vmie_tar_read_member(ova->tar, ova->mf, VMIE_OVA_MAX_MANIFEST,
				 &buf, &len, err);
	if (!r)
		r = vmie_budget_read(bud, len, ova->mf->name, err);
	if (r)
		goto out;
	r = vmie_mf_parse(buf, len, ova->mf->name, &mf, err);
	if (r)
		goto out;
	/* every line is a structure visited */
	r = vmie_budget_entries(bud, mf->n, ova->mf->name, err);
	if (r)
		goto out;
	v->n_entries = (unsigned)mf->n;
	if (mf->n)
		vmie_strlcpy(v->alg, mf->e[0].alg, sizeof v->alg);
	jobs = calloc(mf->n ? mf->n : 1, sizeof *jobs);
	if (!jobs) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < mf->n; i++) {
		const struct vmie_mf_entry *e = &mf->e[i];
		const struct vmie_tar_member *m = vmie_ova_find(ova, e->file);
		if (!m) {
			r = VMIE_CORRUPT(err, "%s: the manifest lists '%s', "
					 "which is not in the OVA",
					 ova->mf->name, e->file);
			goto out;
		}
		jobs[n_jobs++] = (struct mf_job){ e, m, (unsigned)i + 1 };
	}
	qsort(jobs, n_jobs, sizeof *jobs, mf_job_cmp);
	/* drop repeats of the same (member, algorithm); refuse conflicts */
	size_t k = 0;
	for (size_t i = 0; i < n_jobs; i++) {
		if (k && jobs[k - 1].m == jobs[i].m &&
		    !strcmp(jobs[k - 1].e->alg, jobs[i].e->alg)) {
			if (strcmp(jobs[k - 1].e->hex, jobs[i].e->hex)) {
				r = VMIE_CORRUPT(err, "%s: the manifest lists "
						 "the %s digest of '%s' twice "
						 "with different values "
						 "(entries %u and %u): "
						 "refused, which one holds is "
						 "ambiguous", ova->mf->name,
						 jobs[i].e->alg,
						 jobs[i].e->file,
						 jobs[k - 1].line,
						 jobs[i].line);
				goto out;
			}
			v->n_duplicates++;
			continue;
		}
		jobs[k++] = jobs[i];
	}
	n_jobs = k;
	for (size_t i = 0; i < n_jobs; i++) {
		const struct vmie_mf_entry *e = jobs[i].e;
		const struct vmie_tar_member *m = jobs[i].m;
		uint8_t dig[EVP_MAX_MD_SIZE];
		unsigned dl = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		r = mf_digest(ova->src, m->data_off, m->size, mf_md(e->alg),
			      dig, &dl, cancel, err);
		if (r)
			goto out;
		v->n_digested++;
		v->bytes_digested += m->size;
		vmie_hex(hex, dig, dl);
		if (strcmp(hex, e->hex)) {
			r = VMIE_CORRUPT(err, "%s: %s digest of '%s' does not "
					 "match: the manifest says %s, the "
					 "file has %s", ova->mf->name, e->alg,
					 e->file, e->hex, hex);
			goto out;
		}
	}
	/* every line matched (its distinct digest did) */
	v->n_ok = v->n_entries;
	/* members the manifest does not cover: jobs are sorted by member
	 * pointer, and tar members are one array, so a merge finds them */
	k = 0;
	for (size_t i = 0; i < ova->tar->n; i++) {
		const struct vmie_tar_member *m = &ova->tar->m[i];
		bool listed = false;
		while (k < n_jobs && jobs[k].m < m)
			k++;
		listed = k < n_jobs && jobs[k].m == m;
		if (m == ova->mf || m == ova->cert ||
		    (m->type != '0' && m->type != 'S'))
			continue;
		if (!listed && !v->n_unlisted++)
			vmie_strlcpy(v->unlisted, m->name, sizeof v->unlisted);
	}
	if (ova->cert)
		r = mf_check_cert(ova, buf, len, v, err);
out:
	free(jobs);
	vmie_mf_free(mf);
	free(buf);
	return r;
}
