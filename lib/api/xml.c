/*
 * JSON output shapes -> EC2 Query XML responses, and the error envelope
 * (xml.h).  Written with libxml2's xmlTextWriter into a memory buffer;
 * nothing here parses XML.
 */
#include "api/xml.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/xmlwriter.h>

#include "api/strbuf.h"
#include "core/err.h"

struct xml_out {
	xmlTextWriterPtr w;
	struct vmie_err *err;
	char path[256];          /* where we are, for errors */
	int rc;
};

/* The text with what XML 1.0 cannot hold (C0 controls but tab, LF and
 * CR; U+FFFE, U+FFFF; bytes that are not UTF-8) made U+FFFD. */
static char *xml_safe(const char *s, size_t len)
{
	struct vmie_strbuf b;
	const unsigned char *u = (const unsigned char *)s;

	vmie_strbuf_init(&b, len * 3 + 1);
	vmie_strbuf_put(&b, "", 0);
	for (size_t i = 0; i < len;) {
		size_t n = vmie_utf8_seq(u + i, len - i);
		bool bad = n == 0 ||
			(u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' &&
			 u[i] != '\r') ||
			(n == 3 && u[i] == 0xef && u[i + 1] == 0xbf &&
			 (u[i + 2] == 0xbe || u[i + 2] == 0xbf));
		if (bad)
			vmie_strbuf_puts(&b, "\xef\xbf\xbd");
		else
			vmie_strbuf_put(&b, u + i, n);
		i += n ? n : 1;
	}
	if (b.failed) {
		vmie_strbuf_free(&b, false);
		return NULL;
	}
	return b.p;
}

static void xml_fail(struct xml_out *x, const char *what)
{
	if (!x->rc)
		x->rc = VMIE_ERR(x->err, VMIE_EINVAL, "xml: %s: %s", x->path,
				 what);
}

static void xml_text_element(struct xml_out *x, const char *name,
			     const char *text, size_t len)
{
	char *safe = xml_safe(text, len);

	if (!safe) {
		if (!x->rc)
			x->rc = VMIE_ERR(x->err, VMIE_ENOMEM,
					 "xml: out of memory");
		return;
	}
	if (xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST safe) < 0)
		xml_fail(x, "cannot write");
	free(safe);
}

/* Shortest decimal that reads back as d. */
static void format_double(double d, char *buf, size_t size)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eEn"))
		strncat(buf, ".0", size - strlen(buf) - 1);
}

static void format_time(double t, char *buf, size_t size)
{
	time_t s = (time_t)floor(t);
	int ms = (int)((t - (double)s) * 1000.0 + 0.5);
	struct tm tm;

	gmtime_r(&s, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03dZ", ms < 0 ? 0 : ms > 999 ? 999 : ms);
}

/* An ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM))
 * as seconds since the epoch; false when s is not one. */
static bool parse_iso8601(const char *s, double *out)
{
	struct tm tm;
	const char *p;
	double frac = 0;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return false;
	if (*p == '.') {
		double scale = 0.1;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
		   p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0');
		int m = (p[4] - '0') * 10 + (p[5] - '0');
		if (h < 0 || h > 23 || m < 0 || m > 59)
			return false;
		off = (h * 60L + m) * 60L * (*p == '+' ? 1 : -1);
	} else {
		return false;
	}
	*out = (double)timegm(&tm) - (double)off + frac;
	return true;
}

static void xml_value(struct xml_out *x, const char *name,
		      const struct vmie_api_shape *sh, const json_t *v,
		      int depth);

static void xml_scalar(struct xml_out *x, const char *name,
		       const struct vmie_api_shape *sh, const json_t *v)
{
	char buf[64];

	if (json_is_string(v)) {
		double t;
		/* timestamps the way EC2 writes them (UTC, milliseconds,
		 * 'Z'), which the SDKs that parse strictly expect */
		if (sh->type == VMIE_API_TIMESTAMP &&
		    parse_iso8601(json_string_value(v), &t)) {
			format_time(t, buf, sizeof(buf));
			xml_text_element(x, name, buf, strlen(buf));
			return;
		}
		xml_text_element(x, name, json_string_value(v),
				 json_string_length(v));
		return;
	}
	switch (sh->type) {
	case VMIE_API_BOOLEAN:
	case VMIE_API_STRING:
		if (json_is_boolean(v)) {
			xml_text_element(x, name, json_is_true(v) ? "true" :
					 "false", json_is_true(v) ? 4 : 5);
			return;
		}
		break;
	default:
		break;
	}
	if (json_is_integer(v)) {
		if (sh->type == VMIE_API_TIMESTAMP)
			format_time((double)json_integer_value(v), buf,
				    sizeof(buf));
		else if (sh->type == VMIE_API_DOUBLE)
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT ".0",
				 json_integer_value(v));
		else
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
	} else if (json_is_real(v) && sh->type != VMIE_API_BOOLEAN) {
		double d = json_real_value(v);
		if (sh->type == VMIE_API_TIMESTAMP)
			format_time(d, buf, sizeof(buf));
		else if (sh->type == VMIE_API_INTEGER ||
			 sh->type == VMIE_API_LONG)
			snprintf(buf, sizeof(buf), "%lld", (long long)d);
		else
			format_double(d, buf, sizeof(buf));
	} else {
		xml_fail(x, "expected a scalar value");
		return;
	}
	xml_text_element(x, name, buf, strlen(buf));
}

static void xml_struct_members(struct xml_out *x,
			       const struct vmie_api_shape *sh,
			       const json_t *v, int depth)
{
	size_t plen = strlen(x->path);

	for (size_t i = 0; i < sh->count && !x->rc; i++) {
		const struct vmie_api_member *m = &vmie_api_members[sh->first + i];
		const json_t *mv = json_object_get(v, m->name);
		if (!mv || json_is_null(mv))
			continue;
		snprintf(x->path + plen, sizeof(x->path) - plen, ".%s",
			 m->name);
		xml_value(x, m->xml, &vmie_api_shapes[m->shape], mv, depth + 1);
		x->path[plen] = '\0';
	}
}

static void xml_value(struct xml_out *x, const char *name,
		      const struct vmie_api_shape *sh, const json_t *v,
		      int depth)
{
	if (x->rc)
		return;
	if (depth > VMIE_XML_MAX_DEPTH) {
		xml_fail(x, "nested too deep");
		return;
	}
	switch (sh->type) {
	case VMIE_API_STRUCT:
		if (!json_is_object(v)) {
			xml_fail(x, "expected an object");
			return;
		}
		if (xmlTextWriterStartElement(x->w, BAD_CAST name) < 0) {
			xml_fail(x, "cannot write");
			return;
		}
		xml_struct_members(x, sh, v, depth);
		if (!x->rc && xmlTextWriterEndElement(x->w) < 0)
			xml_fail(x, "cannot write");
		return;
	case VMIE_API_LIST: {
		size_t i;
		const json_t *e;
		if (!json_is_array(v)) {
			xml_fail(x, "expected an array");
			return;
		}
		if (xmlTextWriterStartElement(x->w, BAD_CAST name) < 0) {
			xml_fail(x, "cannot write");
			return;
		}
		json_array_foreach(v, i, e) {
			if (json_is_null(e))
				continue;
			xml_value(x, sh->item, &vmie_api_shapes[sh->elem], e,
				  depth + 1);
		}
		if (!x->rc && xmlTextWriterEndElement(x->w) < 0)
			xml_fail(x, "cannot write");
		return;
	}
	default:
		xml_scalar(x, name, sh, v);
	}
}

static int xml_begin(struct xml_out *x, xmlBufferPtr *buf,
		     struct vmie_err *err)
{
	x->err = err;
	*buf = xmlBufferCreate();
	if (!*buf)
		return VMIE_ERR(err, VMIE_ENOMEM, "xml: out of memory");
	x->w = xmlNewTextWriterMemory(*buf, 0);
	if (!x->w) {
		xmlBufferFree(*buf);
		return VMIE_ERR(err, VMIE_ENOMEM, "xml: out of memory");
	}
	if (xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL) < 0)
		xml_fail(x, "cannot write");
	return 0;
}

static int xml_finish(struct xml_out *x, xmlBufferPtr buf, char **out,
		      size_t *len)
{
	if (!x->rc && xmlTextWriterEndDocument(x->w) < 0)
		xml_fail(x, "cannot write");
	xmlFreeTextWriter(x->w);   /* flushes into buf */
	if (!x->rc) {
		size_t n = (size_t)xmlBufferLength(buf);
		*out = malloc(n + 1);
		if (!*out) {
			x->rc = VMIE_ERR(x->err, VMIE_ENOMEM,
					 "xml: out of memory");
		} else {
			memcpy(*out, xmlBufferContent(buf), n);
			(*out)[n] = '\0';
			if (len)
				*len = n;
		}
	}
	xmlBufferFree(buf);
	return x->rc;
}

int vmie_xml_response(const struct vmie_api_op *op, const json_t *result,
		      const char *request_id, const char *version,
		      char **out, size_t *len, struct vmie_err *err)
{
	struct xml_out x = { 0 };
	xmlBufferPtr buf;
	char root[96], ns[96];
	int rc;

	*out = NULL;
	if (!version || strlen(version) != 10)
		version = VMIE_XML_DEFAULT_VERSION;
	snprintf(root, sizeof(root), "%sResponse", op->name);
	snprintf(ns, sizeof(ns), VMIE_XML_NS_PREFIX "%s/", version);
	snprintf(x.path, sizeof(x.path), "%s", op->name);
	rc = xml_begin(&x, &buf, err);
	if (rc)
		return rc;
	if (xmlTextWriterStartElement(x.w, BAD_CAST root) < 0 ||
	    xmlTextWriterWriteAttribute(x.w, BAD_CAST "xmlns",
					BAD_CAST ns) < 0)
		xml_fail(&x, "cannot write");
	xml_text_element(&x, "requestId", request_id ? request_id : "",
			 request_id ? strlen(request_id) : 0);
	if (op->output == VMIE_API_NONE) {
		xml_text_element(&x, "return", "true", 4);
	} else if (result && !x.rc) {
		if (!json_is_object(result))
			xml_fail(&x, "expected an object");
		else
			xml_struct_members(&x, &vmie_api_shapes[op->output],
					   result, 0);
	}
	if (!x.rc && xmlTextWriterEndElement(x.w) < 0)
		xml_fail(&x, "cannot write");
	return xml_finish(&x, buf, out, len);
}

int vmie_xml_error(const char *code, const char *message,
		   const char *request_id, char **out, size_t *len,
		   struct vmie_err *err)
{
	struct xml_out x = { 0 };
	xmlBufferPtr buf;
	char fallback[128];
	int rc;

	*out = NULL;
	if (!code || !*code)
		code = "InternalError";
	if (!message || !*message) {
		snprintf(fallback, sizeof(fallback), "The request failed "
			 "(%.64s).", code);
		message = fallback;
	}
	snprintf(x.path, sizeof(x.path), "error");
	rc = xml_begin(&x, &buf, err);
	if (rc)
		return rc;
	if (xmlTextWriterStartElement(x.w, BAD_CAST "Response") < 0 ||
	    xmlTextWriterStartElement(x.w, BAD_CAST "Errors") < 0 ||
	    xmlTextWriterStartElement(x.w, BAD_CAST "Error") < 0)
		xml_fail(&x, "cannot write");
	xml_text_element(&x, "Code", code, strlen(code));
	xml_text_element(&x, "Message", message, strlen(message));
	if (!x.rc && (xmlTextWriterEndElement(x.w) < 0 ||
		      xmlTextWriterEndElement(x.w) < 0))
		xml_fail(&x, "cannot write");
	xml_text_element(&x, "RequestID", request_id ? request_id : "",
			 request_id ? strlen(request_id) : 0);
	if (!x.rc && xmlTextWriterEndElement(x.w) < 0)
		xml_fail(&x, "cannot write");
	return xml_finish(&x, buf, out, len);
}
