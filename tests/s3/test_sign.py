#!/usr/bin/env python3
# The S3 signer of lib/io/s3.c against botocore's S3SigV4Auth: the same
# request (method, URL as vmie sends it, body, time, credentials) must get
# the same Authorization header, and the URL must encode the key as
# botocore does (RFC 3986, '/' kept).  Run by tests/s3/meson.build with
# S3SIGN_TOOL set.
import datetime
import os
import subprocess
import sys
import types
import urllib.parse

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TOOL = os.environ["S3SIGN_TOOL"]
EPOCH = 1796526245  # 2026-12-06T03:04:05Z
NOW = datetime.datetime.fromtimestamp(EPOCH, datetime.timezone.utc).replace(
    tzinfo=None)
# the signing time: botocore >= 1.31 asks get_current_datetime(), older
# ones (Debian 12's 1.29) datetime.datetime.utcnow()
botocore.auth.get_current_datetime = lambda: NOW


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return NOW


botocore.auth.datetime = types.SimpleNamespace(
    **{k: getattr(datetime, k) for k in dir(datetime) if not k.startswith("__")})
botocore.auth.datetime.datetime = _FixedDatetime

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CASES = [
    # endpoint, region, token, style, method, bucket, key, body, params
    ("http://127.0.0.1:7480", "us-east-1", None, "path", "GET", "imports",
     "web01.vmdk", None, []),
    ("http://127.0.0.1:7480", "us-east-1", None, "path", "HEAD", "imports",
     "dir/with space/ünï+çødé~(1).vmdk", None, []),
    ("https://s3.eu-west-3.amazonaws.com", "eu-west-3", None, "virtual",
     "POST", "my-bucket", "exports/x.ova", None, ["uploads"]),
    ("https://s3.eu-west-3.amazonaws.com", "eu-west-3", "FwoGZXIvYXdzE//tok=",
     "virtual", "PUT", "my-bucket", "exports/x.ova", "part body bytes",
     ["partNumber=7", "uploadId=2~abc/DEF+ghi=="]),
    ("http://minio.local:9000/base", "ap-south-1", None, "path", "GET",
     "bk", None, None, ["list-type=2", "prefix=v/snap-", "continuation-token=a b&c"]),
    ("http://127.0.0.1:7480", "us-east-1", None, "path", "DELETE", "imports",
     "a=b&c.vmdk", None, ["uploadId=xyz"]),
    ("http://127.0.0.1:7480", "us-east-1", None, "path", "HEAD", "imports",
     None, None, []),
    ("http://127.0.0.1:7480", "us-east-1", None, "path", "POST", "imports",
     "big.raw", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
     "<ETag>\"e\"</ETag></Part></CompleteMultipartUpload>", ["uploadId=u1"]),
]

fails = 0
for (ep, region, token, style, method, bucket, key, body, params) in CASES:
    args = [TOOL, ep, region, AK, SK, token or "-", style, str(EPOCH), method,
            bucket or "-", key or "-", body if body is not None else "-"]
    out = subprocess.run(args + params, check=True, capture_output=True,
                         text=True).stdout.split("\n")
    url, host, amz_date, payload, auth = out[:5]
    # the key as botocore would put it in the path
    if key:
        enc = urllib.parse.quote(key, safe="/~")
        if not urllib.parse.urlsplit(url).path.endswith("/" + enc):
            print(f"FAIL {method} {key}: url {url} does not end in /{enc}")
            fails += 1
    req = AWSRequest(method=method, url=url,
                     data=body.encode() if body is not None else b"",
                     headers={})
    auth_obj = botocore.auth.S3SigV4Auth(Credentials(AK, SK, token), "s3",
                                         region)
    auth_obj.add_auth(req)
    want = req.headers["Authorization"]
    checks = [("Authorization", auth, want),
              ("x-amz-date", amz_date, req.headers["X-Amz-Date"]),
              ("x-amz-content-sha256", payload,
               req.headers["X-Amz-Content-SHA256"]),
              ("Host", host, urllib.parse.urlsplit(url).netloc)]
    for name, got, exp in checks:
        if got != exp:
            print(f"FAIL {method} {url}: {name}\n  vmie     {got}\n"
                  f"  botocore {exp}")
            fails += 1
    if not fails:
        print(f"ok {method} {url}")
sys.exit(1 if fails else 0)
