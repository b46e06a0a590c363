#!/usr/bin/env python3
"""SigV4 cross-check: requests signed here by botocore's own signers
(SigV4Auth, SigV4QueryAuth) must verify with lib/api/sigv4.c (through
api_tool) and with the independent checker ../shared/protocol/sigv4_verify.py;
each one tampered with must fail with both.

Exit 77 (skipped) without botocore.
"""
import os
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

try:
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print('botocore is not installed: skipped')
    sys.exit(77)

TOOL = os.environ['API_TOOL']
SHARED = os.environ.get('SHARED', '../shared')
CHECKER = os.path.join(SHARED, 'protocol', 'sigv4_verify.py')
AKID, SECRET = 'AKIDCROSSCHECK', 'c2VjcmV0/+EXAMPLE+secret0123456789abcd'
TOKEN = 'FQoGZXIvYXdzEXAMPLE//token+with/odd=chars'
BASE = 'http://127.0.0.1:18090'
FORM = {'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'}

# (name, method, path, params, body, extra headers, region, token,
#  presigned, simple: the independent checker handles it)
CASES = [
    ('form-post', 'POST', '/', None,
     'Action=ImportImage&Version=2016-11-15&DiskContainer.1.Format=vmdk'
     '&DiskContainer.1.UserBucket.S3Bucket=b&DiskContainer.1.UserBucket.'
     'S3Key=dir+a%2F%C3%BC%2B%26%3D.vhdx', FORM, 'us-east-1', None,
     False, True),
    ('empty-body', 'POST', '/', None, '', FORM, 'us-east-1', None, False,
     True),
    ('get-query', 'GET', '/', [('Action', 'DescribeImages'),
                               ('Version', '2016-11-15'),
                               ('Owner.1', 'self'),
                               ('Filter.1.Name', 'name'),
                               ('Filter.1.Value.1', 'a b*c'),
                               ('Filter.1.Value.2', 'ü~_.-!\'()')],
     None, {}, 'us-east-1', None, False, True),
    ('repeated-keys', 'GET', '/', [('b', '2'), ('a', 'z'), ('a', 'y'),
                                   ('a', ''), ('c', '')],
     None, {}, 'eu-west-1', None, False, True),
    ('header-blanks', 'POST', '/', None, 'Action=DescribeTags&Version='
     '2016-11-15', {'Content-Type': 'application/x-www-form-urlencoded',
                    'X-Amz-Meta-Odd': '  a   b \t c  '},
     'us-east-1', None, False, False),
    ('session-token', 'POST', '/', None, 'Action=DescribeImportImageTasks'
     '&Version=2016-11-15', FORM, 'eu-west-1', TOKEN, False, True),
    ('odd-path', 'POST', '/a%20b/./c/../d%2Fe/', None, 'Action=X', FORM,
     'us-east-1', None, False, False),
    ('double-slash', 'GET', '//x//y', [('k', 'v')], None, {}, 'us-east-1',
     None, False, False),
    ('presigned', 'GET', '/', [('Action', 'DescribeImportImageTasks'),
                               ('Version', '2016-11-15'),
                               ('ImportTaskId.1', 'import-ami-1')],
     None, {}, 'us-east-1', None, True, False),
    ('presigned-token', 'GET', '/', [('Action', 'DescribeSnapshots'),
                                     ('Version', '2016-11-15')],
     None, {}, 'eu-west-1', TOKEN, True, False),
]


def sign(case):
    (_name, method, path, params, body, headers, region, token, presigned,
     _simple) = case
    creds = Credentials(AKID, SECRET, token)
    req = AWSRequest(method=method, url=BASE + path, data=body,
                     headers=dict(headers), params=params or {})
    if presigned:
        SigV4QueryAuth(creds, 'ec2', region, expires=300).add_auth(req)
    else:
        SigV4Auth(creds, 'ec2', region).add_auth(req)
    p = req.prepare()
    u = urlsplit(p.url)
    target = u.path + ('?' + u.query if u.query else '')
    body = p.body or b''
    if isinstance(body, str):
        body = body.encode()
    lines = ['%s %s HTTP/1.1' % (method, target), 'Host: ' + u.netloc]
    for k, v in p.headers.items():
        if isinstance(v, bytes):
            v = v.decode()
        lines.append('%s: %s' % (k, v))
    lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def tamper(raw):
    """The same request with one signed thing changed."""
    head, _, body = raw.partition(b'\r\n\r\n')
    if body:
        return head + b'\r\n\r\n' + body[:-1] + bytes([body[-1] ^ 1])
    first, _, rest = head.partition(b'\r\n')
    if b'?' in first:
        first = first.replace(b'?', b'?zz=1&', 1)
    else:
        first = first.replace(b' / ', b' /x ', 1)
    return first + b'\r\n' + rest + b'\r\n\r\n'


def run_tool(files):
    out = []
    for f, c in zip(files, CASES * 2):
        key = '%s=%s=%s' % (AKID, SECRET, TOKEN) if c[7] else \
            '%s=%s' % (AKID, SECRET)
        r = subprocess.run([TOOL, 'verify', str(int(time.time())), key,
                            '--', f], capture_output=True, text=True,
                           check=True)
        out.append(r.stdout.strip())
    return out


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        good, bad = [], []
        for i, c in enumerate(CASES):
            raw = sign(c)
            for lst, data, tag in ((good, raw, 'good'),
                                   (bad, tamper(raw), 'bad')):
                f = os.path.join(d, 'req-%02d-%s-%s.txt' % (i, tag, c[0]))
                with open(f, 'wb') as fh:
                    fh.write(data)
                lst.append(f)
        results = run_tool(good + bad)
        for f, c, r in zip(good, CASES, results[:len(CASES)]):
            ok = r.startswith('OK %s %s' % (AKID, c[6]))
            ok = ok and (' presigned' in r) == c[8]
            print('%-20s good  vmie: %s' % (c[0], r))
            failures += not ok
        for f, c, r in zip(bad, CASES, results[len(CASES):]):
            ok = r.startswith('ERR SignatureDoesNotMatch')
            print('%-20s tampered  vmie: %s' % (c[0], r))
            failures += not ok
        # a presigned URL past its X-Amz-Expires (300 s), a header-form
        # request replayed 16 minutes later
        for i, when in ((8, 400), (0, 960)):
            r = subprocess.run([TOOL, 'verify', str(int(time.time()) + when),
                                '%s=%s' % (AKID, SECRET), '--', good[i]],
                               capture_output=True, text=True, check=True)
            print('%-20s +%ds vmie: %s' % (CASES[i][0], when,
                                           r.stdout.strip()))
            failures += not r.stdout.startswith('ERR RequestExpired')
        # the independent checker on the header-form requests it handles
        simple = [i for i, c in enumerate(CASES) if c[9]]
        for lst, want in ((good, 'OK'), (bad, 'MISMATCH')):
            files = [lst[i] for i in simple]
            r = subprocess.run([sys.executable, CHECKER, SECRET] + files,
                               capture_output=True, text=True, check=True)
            lines = r.stdout.strip().splitlines()
            for line in lines:
                print('checker: ' + line)
                failures += not line.rstrip().endswith(want)
            failures += len(lines) != len(files)
    print('%d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
