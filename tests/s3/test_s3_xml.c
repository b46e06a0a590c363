/* lib/io/s3_xml.c: S3 replies as AWS documents them (Amazon S3 API
 * Reference: InitiateMultipartUploadResult, ListMultipartUploadsResult,
 * ListBucketResult, Error), and hostile bodies: DTDs and entities, deep
 * nesting, truncation, 2 MiB and 16 MiB bodies, undeclared namespace
 * prefixes, not XML at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "io/s3_xml.h"

#define S3NS "http://s3.amazonaws.com/doc/2006-03-01/"

static struct vmie_s3_xml *parse_ok(const char *body)
{
	struct vmie_s3_xml *x = NULL;
	struct vmie_err e = { 0 };
	int r = vmie_s3_xml_parse(body, strlen(body), "test", &x, &e);
	if (r)
		fprintf(stderr, "unexpected error: %s\n", e.msg);
	assert_int_equal(r, 0);
	assert_non_null(x);
	return x;
}

/* The error of a refused body: its code, and msg must contain want. */
static void parse_bad(const char *body, size_t len, int code,
		      const char *want)
{
	struct vmie_s3_xml *x = (struct vmie_s3_xml *)1;
	struct vmie_err e = { 0 };
	int r = vmie_s3_xml_parse(body, len, "s3: GET s3://b", &x, &e);
	if (!r || !strstr(e.msg, want))
		fprintf(stderr, "r=%d msg=\"%s\", wanted \"%s\"\n", r, e.msg,
			want);
	assert_int_equal(r, code);
	assert_null(x);
	assert_non_null(strstr(e.msg, "s3: GET s3://b: "));
	assert_non_null(strstr(e.msg, want));
}

static void test_initiate(void **state)
{
	(void)state;
	const char *body =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<InitiateMultipartUploadResult xmlns=\"" S3NS "\">"
		"<Bucket>imports</Bucket>"
		"<Key>vm/a&amp;b &lt;1&gt;.vmdk</Key>"
		"<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVw"
		"bG9hZA</UploadId>"
		"</InitiateMultipartUploadResult>";
	struct vmie_s3_xml *x = parse_ok(body);
	char out[512];
	assert_string_equal(vmie_s3_xml_root_name(x),
			    "InitiateMultipartUploadResult");
	assert_int_equal(vmie_s3_xml_find(x, "UploadId", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5"
			    "tMnRzIHVwbG9hZA");
	assert_int_equal(vmie_s3_xml_find(x, "Key", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "vm/a&b <1>.vmdk");
	/* the root is an element like the others */
	assert_int_equal(vmie_s3_xml_find(x, "Nope", out, sizeof(out)),
			 VMIE_S3_XML_ABSENT);
	assert_string_equal(out, "");
	/* too small: the beginning, and LONG */
	char small[5];
	assert_int_equal(vmie_s3_xml_find(x, "Bucket", small, sizeof(small)),
			 VMIE_S3_XML_LONG);
	assert_string_equal(small, "impo");
	char exact[8];
	assert_int_equal(vmie_s3_xml_find(x, "Bucket", exact, sizeof(exact)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(exact, "imports");
	vmie_s3_xml_free(x);
}

static void test_list_uploads(void **state)
{
	(void)state;
	const char *body =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListMultipartUploadsResult xmlns=\"" S3NS "\">\n"
		"  <Bucket>store</Bucket>\n"
		"  <KeyMarker></KeyMarker>\n"
		"  <UploadIdMarker></UploadIdMarker>\n"
		"  <NextKeyMarker>vol/3</NextKeyMarker>\n"
		"  <NextUploadIdMarker>id-3</NextUploadIdMarker>\n"
		"  <Prefix>vol/</Prefix>\n"
		"  <MaxUploads>3</MaxUploads>\n"
		"  <IsTruncated>true</IsTruncated>\n"
		"  <Upload>\n"
		"    <Key>vol/1</Key>\n"
		"    <UploadId>id-1</UploadId>\n"
		"    <Initiator><ID>arn:aws:iam::1:user/u</ID>"
		"<DisplayName>u</DisplayName></Initiator>\n"
		"    <Owner><ID>75aa57f09aa0c8ca</ID>"
		"<DisplayName>owner</DisplayName></Owner>\n"
		"    <StorageClass>STANDARD</StorageClass>\n"
		"    <Initiated>2010-11-10T20:48:33.000Z</Initiated>\n"
		"  </Upload>\n"
		"  <Upload>\n"
		"    <Key>vol/2</Key>\n"
		"    <UploadId>id-2</UploadId>\n"
		"    <Initiated>2010-11-10T20:49:33.000Z</Initiated>\n"
		"  </Upload>\n"
		"  <!-- a comment between entries -->\n"
		"  <Upload>\n"
		"    <Initiated>2010-11-10T20:50:33.000Z</Initiated>\n"
		"    <UploadId><![CDATA[id-<3>]]></UploadId>\n"
		"    <Key>vol/&#x33;</Key>\n"
		"  </Upload>\n"
		"</ListMultipartUploadsResult>\n";
	static const char *const keys[] = { "vol/1", "vol/2", "vol/3" };
	static const char *const ids[] = { "id-1", "id-2", "id-<3>" };
	static const char *const when[] = {
		"2010-11-10T20:48:33.000Z", "2010-11-10T20:49:33.000Z",
		"2010-11-10T20:50:33.000Z" };
	struct vmie_s3_xml *x = parse_ok(body);
	char out[1100];
	unsigned n = 0;

	assert_string_equal(vmie_s3_xml_root_name(x),
			    "ListMultipartUploadsResult");
	for (const struct _xmlNode *u = NULL;
	     (u = vmie_s3_xml_each(x, u, "Upload"));) {
		assert_true(n < 3);
		assert_int_equal(vmie_s3_xml_child(u, "Key", out, sizeof(out)),
				 VMIE_S3_XML_FOUND);
		assert_string_equal(out, keys[n]);
		assert_int_equal(vmie_s3_xml_child(u, "UploadId", out,
						   sizeof(out)),
				 VMIE_S3_XML_FOUND);
		assert_string_equal(out, ids[n]);
		assert_int_equal(vmie_s3_xml_child(u, "Initiated", out,
						   sizeof(out)),
				 VMIE_S3_XML_FOUND);
		assert_string_equal(out, when[n]);
		/* ID is a grandchild, not a child */
		assert_int_equal(vmie_s3_xml_child(u, "ID", out, sizeof(out)),
				 VMIE_S3_XML_ABSENT);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(vmie_s3_xml_find(x, "IsTruncated", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "true");
	assert_int_equal(vmie_s3_xml_find(x, "NextKeyMarker", out,
					  sizeof(out)), VMIE_S3_XML_FOUND);
	assert_string_equal(out, "vol/3");
	assert_int_equal(vmie_s3_xml_find(x, "NextUploadIdMarker", out,
					  sizeof(out)), VMIE_S3_XML_FOUND);
	assert_string_equal(out, "id-3");
	/* an empty element is found, with "" */
	strcpy(out, "x");
	assert_int_equal(vmie_s3_xml_find(x, "KeyMarker", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "");
	/* document order, nested elements included */
	assert_int_equal(vmie_s3_xml_find(x, "ID", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "arn:aws:iam::1:user/u");
	assert_int_equal(vmie_s3_xml_find(x, "Key", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "vol/1");
	assert_null(vmie_s3_xml_each(x, NULL, "Contents"));
	vmie_s3_xml_free(x);
}

static void test_list_objects(void **state)
{
	(void)state;
	const char *body =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult xmlns=\"" S3NS "\">"
		"<Name>imports</Name><Prefix>vm/</Prefix><KeyCount>2</KeyCount>"
		"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
		"<Contents><Key>vm/disk1.vmdk</Key>"
		"<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
		"<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>"
		"<Size>434234</Size><StorageClass>STANDARD</StorageClass>"
		"</Contents>"
		"<Contents><Key>vm/big.ova</Key><Size>18446744073709551615</Size>"
		"</Contents>"
		"</ListBucketResult>";
	struct vmie_s3_xml *x = parse_ok(body);
	char out[64];
	const struct _xmlNode *c = vmie_s3_xml_each(x, NULL, "Contents");
	assert_non_null(c);
	assert_int_equal(vmie_s3_xml_child(c, "ETag", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "\"fba9dede5f27731c9771645a39863328\"");
	assert_int_equal(vmie_s3_xml_child(c, "Size", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "434234");
	c = vmie_s3_xml_each(x, c, "Contents");
	assert_non_null(c);
	assert_int_equal(vmie_s3_xml_child(c, "Key", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "vm/big.ova");
	assert_int_equal(vmie_s3_xml_child(c, "Size", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "18446744073709551615");
	assert_null(vmie_s3_xml_each(x, c, "Contents"));
	assert_int_equal(vmie_s3_xml_find(x, "IsTruncated", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "false");
	vmie_s3_xml_free(x);
}

static void test_error_body(void **state)
{
	(void)state;
	/* S3's Error body has no namespace; CompleteMultipartUpload sends
	 * white space first while it works */
	const char *body =
		" \r\n  \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error>\n"
		"  <Code>NoSuchKey</Code>\n"
		"  <Message>The resource you requested does not exist</Message>\n"
		"  <Resource>/mybucket/myfoto.jpg</Resource>\n"
		"  <RequestId>4442587FB7D0A2F9</RequestId>\n"
		"</Error>";
	struct vmie_s3_xml *x = parse_ok(body);
	char code[64], msg[256];
	assert_string_equal(vmie_s3_xml_root_name(x), "Error");
	assert_int_equal(vmie_s3_xml_find(x, "Code", code, sizeof(code)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(code, "NoSuchKey");
	assert_int_equal(vmie_s3_xml_find(x, "Message", msg, sizeof(msg)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(msg, "The resource you requested does not exist");
	vmie_s3_xml_free(x);
}

static void test_namespaces(void **state)
{
	(void)state;
	char out[64];
	/* another namespace, or a declared prefix: names match all the same */
	struct vmie_s3_xml *x = parse_ok(
		"<r xmlns=\"urn:not-s3\"><UploadId>u1</UploadId></r>");
	assert_int_equal(vmie_s3_xml_find(x, "UploadId", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "u1");
	vmie_s3_xml_free(x);
	x = parse_ok("<s3:InitiateMultipartUploadResult xmlns:s3=\"" S3NS "\">"
		     "<s3:UploadId>u2</s3:UploadId>"
		     "</s3:InitiateMultipartUploadResult>");
	assert_string_equal(vmie_s3_xml_root_name(x),
			    "InitiateMultipartUploadResult");
	assert_int_equal(vmie_s3_xml_find(x, "UploadId", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "u2");
	vmie_s3_xml_free(x);
	/* a prefix never declared */
	const char *b = "<x:Error><x:Code>NoSuchKey</x:Code></x:Error>";
	parse_bad(b, strlen(b), VMIE_EIO, "namespace prefix");
}

static void test_doctype(void **state)
{
	(void)state;
	const char *laughs =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<Error><Code>&lol9;</Code></Error>";
	parse_bad(laughs, strlen(laughs), VMIE_EPERM,
		  "DOCTYPE or entity declaration at byte 22");
	const char *xxe =
		"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<InitiateMultipartUploadResult><UploadId>&x;</UploadId>"
		"</InitiateMultipartUploadResult>";
	parse_bad(xxe, strlen(xxe), VMIE_EPERM, "DOCTYPE");
	const char *ext = "<!DOCTYPE Error SYSTEM \"http://127.0.0.1:1/e.dtd\">"
			  "<Error/>";
	parse_bad(ext, strlen(ext), VMIE_EPERM, "refused");
	/* an entity used without any declaration */
	const char *undeclared = "<Error><Code>&lol9;</Code></Error>";
	parse_bad(undeclared, strlen(undeclared), VMIE_EIO,
		  "not valid XML (line 1): Entity 'lol9' not defined");
}

static char *repeat(const char *head, const char *unit, size_t n,
		    const char *tail, size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *b = malloc(hl + ul * n + tl + 1);
	assert_non_null(b);
	memcpy(b, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(b + hl + i * ul, unit, ul);
	memcpy(b + hl + n * ul, tail, tl + 1);
	*len = hl + ul * n + tl;
	return b;
}

static void test_deep(void **state)
{
	(void)state;
	size_t len;
	char *open = repeat("", "<a>", 10000, "", &len);
	char *b = malloc(len + 10000 * 4 + 1);
	assert_non_null(b);
	memcpy(b, open, len);
	for (size_t i = 0; i < 10000; i++)
		memcpy(b + len + i * 4, "</a>", 4);
	b[len + 40000] = '\0';
	parse_bad(b, len + 40000, VMIE_EIO,
		  "nests elements more than 32 deep (at byte 96)");
	free(b);
	free(open);
	/* 32 is fine (31 a and c), self-closing tags do not nest */
	b = repeat("", "<a>", 31, "<b/><b/><c>x</c>", &len);
	char *full = malloc(len + 31 * 4 + 1);
	assert_non_null(full);
	memcpy(full, b, len);
	for (size_t i = 0; i < 31; i++)
		memcpy(full + len + i * 4, "</a>", 4);
	full[len + 124] = '\0';
	struct vmie_s3_xml *x = parse_ok(full);
	char out[8];
	assert_int_equal(vmie_s3_xml_find(x, "c", out, sizeof(out)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(out, "x");
	vmie_s3_xml_free(x);
	free(full);
	free(b);
}

static void test_truncated_and_not_xml(void **state)
{
	(void)state;
	const char *cut = "<?xml version=\"1.0\"?>\n<InitiateMultipartUploadResult"
			  " xmlns=\"" S3NS "\"><Bucket>b</Bucket><UploadId>ab";
	parse_bad(cut, strlen(cut), VMIE_EIO, "the reply is not valid XML");
	const char *cut_tag = "<Error><Code>NoSuchKey</Code><Mess";
	parse_bad(cut_tag, strlen(cut_tag), VMIE_EIO,
		  "the reply is not valid XML");
	const char *cut_comment = "<Error><!-- and then nothing";
	parse_bad(cut_comment, strlen(cut_comment), VMIE_EIO,
		  "the reply is not valid XML");
	const char *html = "<html><body><h1>502 Bad Gateway</h1><hr></body>"
			   "</html>";
	parse_bad(html, strlen(html), VMIE_EIO, "the reply is not valid XML");
	const char *text = "Service Unavailable";
	parse_bad(text, strlen(text), VMIE_EIO,
		  "the reply is not valid XML (line 1)");
	parse_bad("", 0, VMIE_EIO, "the reply is empty");
	parse_bad(" \n\t", 3, VMIE_EIO, "the reply is empty");
	parse_bad(NULL, 10, VMIE_EIO, "the reply is empty");
	parse_bad("<a>x\0y</a>", 10, VMIE_EIO, "NUL byte");
	const char *two = "<Error/><Error/>";
	parse_bad(two, strlen(two), VMIE_EIO, "not valid XML");
	const char *attrs = "<Error a0='1' a1='1' a2='1' a3='1' a4='1' a5='1' "
			    "a6='1' a7='1' a8='1' a9='1' b0='1' b1='1' b2='1' "
			    "b3='1' b4='1' b5='1' b6='x>=y'/>";
	parse_bad(attrs, strlen(attrs), VMIE_EIO,
		  "a tag with 17 attributes at byte 0");
}

static void test_big(void **state)
{
	(void)state;
	size_t len;
	/* 2 MiB of tiny elements: refused before libxml2 builds a tree */
	char *b = repeat("<ListBucketResult>", "<a/>", 512 * 1024,
			 "</ListBucketResult>", &len);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	parse_bad(b, len, VMIE_EIO, "more than 100000 XML tags");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	free(b);
	/* 2 MiB of text in one Message: read, the caller's buffer bounds it */
	b = repeat("<Error><Code>SlowDown</Code><Message>", "m", 2u << 20,
		   "</Message></Error>", &len);
	struct vmie_s3_xml *x = parse_ok(b);
	char msg[256];
	assert_int_equal(vmie_s3_xml_find(x, "Message", msg, sizeof(msg)),
			 VMIE_S3_XML_LONG);
	assert_int_equal(strlen(msg), 255);
	assert_int_equal(strspn(msg, "m"), 255);
	assert_int_equal(vmie_s3_xml_find(x, "Code", msg, sizeof(msg)),
			 VMIE_S3_XML_FOUND);
	assert_string_equal(msg, "SlowDown");
	vmie_s3_xml_free(x);
	free(b);
	/* a page of 1000 uploads is well inside the limits */
	b = repeat("<ListMultipartUploadsResult>",
		   "<Upload><Key>k</Key><UploadId>i</UploadId>"
		   "<Initiator><ID>a</ID><DisplayName>d</DisplayName>"
		   "</Initiator><Owner><ID>a</ID><DisplayName>d</DisplayName>"
		   "</Owner><StorageClass>STANDARD</StorageClass>"
		   "<Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>",
		   1000, "</ListMultipartUploadsResult>", &len);
	x = parse_ok(b);
	unsigned n = 0;
	for (const struct _xmlNode *u = NULL;
	     (u = vmie_s3_xml_each(x, u, "Upload"));)
		n++;
	assert_int_equal(n, 1000);
	vmie_s3_xml_free(x);
	free(b);
	/* more than the client keeps of a body */
	len = VMIE_S3_XML_MAX_BYTES + 1;
	b = malloc(len);
	assert_non_null(b);
	memset(b, ' ', len);
	parse_bad(b, len, VMIE_EIO, "is 16777217 bytes, more than the 16 MiB");
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiate),
		cmocka_unit_test(test_list_uploads),
		cmocka_unit_test(test_list_objects),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_doctype),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_truncated_and_not_xml),
		cmocka_unit_test(test_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
