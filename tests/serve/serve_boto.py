"""vmie serve with boto3 and botocore's own signers (tests/serve/serve-boto.sh).

The server runs with no worker and a queue of 8, so the tasks submitted here
stay queued: paging, ClientToken, cancel and the full queue are tested on
them.  Every negative is a request signed by botocore (SigV4Auth,
SigV4QueryAuth) and then changed, or signed with a shifted clock.

usage: serve_boto.py ENDPOINT ADMIN_SECRET OTHER_SECRET
"""
import datetime
import http.client
import re
import socket
import sys
import urllib.parse
from unittest import mock

import boto3
import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

EP, ADMIN_SECRET, OTHER_SECRET = sys.argv[1:4]
HOSTPORT = urllib.parse.urlsplit(EP).netloc
ADMIN = ("AKIAVMIETESTADMIN001", ADMIN_SECRET)
READER = ("AKIAVMIETESTREADER01", OTHER_SECRET)
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)


def client(who=ADMIN, region="us-east-1"):
    return boto3.client(
        "ec2", endpoint_url=EP, region_name=region,
        aws_access_key_id=who[0], aws_secret_access_key=who[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def expect_error(code, fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        err = e.response["Error"]
        rid = e.response["ResponseMetadata"].get("RequestId")
        check(err["Code"] == code, "%s: got %s (%s), want %s" % (
            fn.__name__, err["Code"], err.get("Message"), code))
        check(bool(err.get("Message")), "%s: empty message" % code)
        check(bool(rid), "%s: no request id" % code)
        return e
    check(False, "%s: succeeded, want %s" % (fn.__name__, code))
    return None


def raw(params, who=ADMIN, region="us-east-1", service="ec2", shift=None,
        tamper_body=None, method="POST", sign=True, extra_body=None):
    """One request signed by botocore's SigV4Auth; returns (status,
    headers, body)."""
    body = urllib.parse.urlencode(params).encode()
    if extra_body is not None:
        body = extra_body
    req = AWSRequest(method=method, url=EP + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if sign:
        creds = Credentials(*who)
        if shift is not None:
            now = datetime.datetime.now(datetime.timezone.utc).replace(
                tzinfo=None) + shift
            with mock.patch.object(botocore.auth, "get_current_datetime",
                                   lambda *a, **k: now):
                SigV4Auth(creds, service, region).add_auth(req)
        else:
            SigV4Auth(creds, service, region).add_auth(req)
    prepared = req.prepare()
    data = prepared.body
    if tamper_body is not None:
        data = tamper_body
    c = http.client.HTTPConnection(HOSTPORT, timeout=30)
    hdrs = dict(prepared.headers.items())
    hdrs["Content-Length"] = str(len(data or b""))
    c.request(method, "/", body=data, headers=hdrs)
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    c.close()
    return out


def get(path_query):
    c = http.client.HTTPConnection(HOSTPORT, timeout=30)
    c.request("GET", path_query)
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    c.close()
    return out


def expect_raw(code, status, resp, what):
    st, h, body = resp
    text = body.decode("utf-8", "replace")
    m = re.search(r"<Code>([^<]*)</Code>", text)
    if status:
        check(st == status, "%s: HTTP %s, want %s: %s" % (what, st, status, text[:300]))
    else:
        check(400 <= st < 500, "%s: HTTP %s, want 4xx: %s" % (what, st, text[:300]))
    check(m and m.group(1) == code, "%s: code %s, want %s" % (
        what, m.group(1) if m else None, code))
    rid = h.get("x-amzn-requestid", "")
    check(rid and ("<RequestID>%s</RequestID>" % rid) in text,
          "%s: x-amzn-RequestId %r not the body's RequestID" % (what, rid))
    check(re.search(r"<Message>[^<]+</Message>", text) is not None,
          "%s: empty message" % what)


ec2 = client()
VMDK = {"Format": "VMDK", "UserBucket": {"S3Bucket": "imports", "S3Key": "c7.vmdk"}}

# --- DryRun: allowed and not ---
expect_error("DryRunOperation", ec2.import_image, DryRun=True, DiskContainers=[VMDK])
expect_error("UnauthorizedOperation", client(READER).import_image, DryRun=True,
             DiskContainers=[VMDK])
expect_error("DryRunOperation", client(READER).describe_images, DryRun=True)

# --- tasks stay queued (no worker): ClientToken, paging, cancel ---
ids = []
for i in range(7):
    r = ec2.import_snapshot(DiskContainer=VMDK, Description="q%d" % i,
                            ClientToken="tok-%d" % i)
    ids.append(r["ImportTaskId"])
    check(r["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid") ==
          r["ResponseMetadata"]["RequestId"], "request id header != body")
again = ec2.import_snapshot(DiskContainer=VMDK, Description="q0", ClientToken="tok-0")
check(again["ImportTaskId"] == ids[0], "ClientToken: a second task was made")
first = ec2.describe_import_snapshot_tasks(MaxResults=5)
check(len(first["ImportSnapshotTasks"]) == 5, "MaxResults=5: %d tasks" %
      len(first["ImportSnapshotTasks"]))
check(bool(first.get("NextToken")), "MaxResults=5 of 7: no NextToken")
seen = []
for page in ec2.get_paginator("describe_import_snapshot_tasks").paginate(
        PaginationConfig={"PageSize": 5}):
    seen += [t["ImportTaskId"] for t in page["ImportSnapshotTasks"]]
check(sorted(seen) == sorted(ids), "paging: %s != %s" % (seen, ids))
states = {t["SnapshotTaskDetail"]["Status"] for t in
          ec2.describe_import_snapshot_tasks(ImportTaskIds=ids)["ImportSnapshotTasks"]}
check(states == {"active"}, "queued tasks not active: %s" % states)
# the 8th fills the queue (length 8), the 9th is refused with 503
ec2.import_image(DiskContainers=[VMDK])
e = expect_error("RequestLimitExceeded", ec2.import_image, DiskContainers=[VMDK])
if e:
    check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 503,
          "queue full: HTTP %s" % e.response["ResponseMetadata"]["HTTPStatusCode"])
c = ec2.cancel_import_task(ImportTaskId=ids[6], CancelReason="test")
check(c["ImportTaskId"] == ids[6], "cancel: ImportTaskId")
check(c.get("PreviousState") == "active", "cancel: PreviousState %s" % c.get("PreviousState"))
t = ec2.describe_import_snapshot_tasks(ImportTaskIds=[ids[6]])["ImportSnapshotTasks"][0]
check(t["SnapshotTaskDetail"]["Status"] in ("deleting", "deleted"),
      "cancelled task: %s" % t["SnapshotTaskDetail"]["Status"])
try:
    ec2.cancel_import_task(ImportTaskId="import-snap-0123456789abcdef0")
    check(False, "cancel of an unknown task succeeded")
except ClientError as e:
    check(e.response["Error"]["Code"] in ("InvalidImportTaskId.NotFound",
                                          "InvalidConversionTaskId"),
          "cancel of an unknown task: %s" % e.response["Error"]["Code"])
# tags through TagSpecifications and DescribeTags
ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "k", "Value": "v"}])
tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [ids[0]]}])["Tags"]
check([(t["Key"], t["Value"]) for t in tags] == [("k", "v")], "tags: %s" % tags)

# --- signatures: the negatives ---
ok = raw({"Action": "DescribeImages", "Version": "2016-11-15"})
check(ok[0] == 200 and b"<DescribeImagesResponse" in ok[2], "a signed raw request: %s" % ok[0])
expect_raw("RequestExpired", None, raw({"Action": "DescribeImages", "Version": "2016-11-15"},
           shift=datetime.timedelta(minutes=-20)), "20 minutes old")
expect_raw("RequestExpired", None, raw({"Action": "DescribeImages", "Version": "2016-11-15"},
           shift=datetime.timedelta(minutes=20)), "20 minutes ahead")
ok = raw({"Action": "DescribeImages", "Version": "2016-11-15"},
         shift=datetime.timedelta(minutes=-10))
check(ok[0] == 200, "10 minutes of skew refused: %s" % ok[0])
expect_raw("SignatureDoesNotMatch", None, raw(
    {"Action": "DescribeImages", "Version": "2016-11-15"},
    tamper_body=b"Action=DescribeSnapshots&Version=2016-11-15"), "tampered body")
expect_raw("SignatureDoesNotMatch", None, raw(
    {"Action": "DescribeImages", "Version": "2016-11-15"}, service="s3"),
    "signed for s3")
expect_raw("SignatureDoesNotMatch", None, raw(
    {"Action": "DescribeImages", "Version": "2016-11-15"}, region="us-west-2"),
    "signed for another region")
expect_raw("IncompleteSignature", None, raw(
    {"Action": "DescribeImages", "Version": "2016-11-15"}, sign=False),
    "no signature")
# presigned GET: as signed it works, a changed parameter does not
req = AWSRequest(method="GET", url=EP + "/?Action=DescribeImages&Version=2016-11-15")
SigV4QueryAuth(Credentials(*ADMIN), "ec2", "us-east-1", expires=300).add_auth(req)
url = urllib.parse.urlsplit(req.prepare().url)
st = get(url.path + "?" + url.query)
check(st[0] == 200 and b"<DescribeImagesResponse" in st[2],
      "presigned GET: %s %s" % (st[0], st[2][:200]))
expect_raw("SignatureDoesNotMatch", None, get(url.path + "?" + url.query.replace(
    "DescribeImages", "DescribeSnapshots")), "tampered presigned query")

# --- malformed requests, signed ---
expect_raw("InvalidAction", 400, raw({"Action": "RunInstances", "Version": "2016-11-15"}),
           "an action not served")
expect_raw("UnknownParameter", 400, raw({"Action": "DescribeImages", "Version": "2016-11-15",
                                        "Bogus.1": "x"}), "unknown parameter")
expect_raw("InvalidParameterValue", 400, raw({"Action": "DescribeImportImageTasks",
                                             "Version": "2016-11-15", "MaxResults": "ten"}),
           "MaxResults not a number")
expect_raw("MissingParameter", 400, raw({"Action": "CancelImportTask",
                                        "Version": "2016-11-15"}), "missing ImportTaskId")
expect_raw("InvalidParameterValue", 400, raw({
    "Action": "ImportImage", "Version": "2016-11-15",
    "DiskContainer.1.Format": "VMDK", "DiskContainer.1.UserBucket.S3Bucket": "imports",
    "DiskContainer.1.UserBucket.S3Key": "a\x00b"}), "NUL in a key")
# a body over the limit (1 MiB): 413 before it is read
sock = socket.create_connection(("127.0.0.1", int(HOSTPORT.rsplit(":", 1)[1])), timeout=30)
sock.sendall(b"POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/"
             b"x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\nAction=Desc"
             % (HOSTPORT.encode(), 2 << 20))
resp = http.client.HTTPResponse(sock)
resp.begin()
expect_raw("InvalidParameterValue", 413, (resp.status, {k.lower(): v for k, v in
                                                        resp.getheaders()}, resp.read()),
           "2 MiB body")
sock.close()
c = http.client.HTTPConnection(HOSTPORT, timeout=30)
c.request("PUT", "/", body=b"x")
r = c.getresponse()
expect_raw("InvalidAction", 405, (r.status, {k.lower(): v for k, v in r.getheaders()},
                                  r.read()), "PUT")

# --- /healthz and /metrics ---
st = get("/healthz")
check(st[0] == 200 and st[2] == b"ok\n", "healthz: %s %r" % (st[0], st[2]))
st = get("/metrics")
m = st[2].decode()
check(st[0] == 200 and st[1].get("content-type", "").startswith("text/plain; version=0.0.4"),
      "metrics: %s %s" % (st[0], st[1].get("content-type")))
for want in ['vmie_requests_total{action="ImportSnapshot",code="OK"} 8',
             'vmie_requests_total{action="-",code="SignatureDoesNotMatch"}',
             'vmie_requests_total{action="ImportImage",code="RequestLimitExceeded"} 1',
             'vmie_requests_total{action="ImportImage",code="DryRunOperation"} 1',
             'vmie_tasks{kind="import-snapshot",state="queued"} 6',
             'vmie_tasks{kind="import-image",state="queued"} 1',
             'vmie_queue_refusals_total 1', 'vmie_workers 0',
             '# TYPE vmie_request_duration_seconds histogram',
             'vmie_request_duration_seconds_bucket{le="+Inf"}']:
    check(want in m, "metrics: no line %r" % want)
for line in m.splitlines():
    check(line.startswith("#") or re.match(
        r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$', line),
        "metrics: not the text format: %r" % line)
print("serve_boto: %d failures" % len(FAILS))
sys.exit(1 if FAILS else 0)
