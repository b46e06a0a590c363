"""N concurrent signed DescribeImportImageTasks calls against vmie serve
(bench/serve/run.sh): one thread per call, all released at once by a
barrier, each signed by botocore's SigV4Auth and sent on its own
connection.  Prints one line: calls, errors, p50, p99 and max latency in
milliseconds, the wall time.

Before the barrier opens, it submits IMPORTS import-snapshot tasks of
bucket imports, key disk.raw, and waits (at most 60 s) until the server
runs them all (vmie_tasks_running of /metrics), so that the calls land
while they run; their ids go to IDS_FILE.

usage: load.py ENDPOINT KEY SECRET N IMPORTS IDS_FILE
"""
import http.client
import sys
import threading
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EP, KEY, SECRET, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
IMPORTS, IDS_FILE = int(sys.argv[5]), sys.argv[6]
HOST = urllib.parse.urlsplit(EP).netloc
CREDS = Credentials(KEY, SECRET)
BODY = b"Action=DescribeImportImageTasks&Version=2016-11-15"
lat = [None] * N
errs = []
barrier = threading.Barrier(N + 1)


def call(i):
    req = AWSRequest(method="POST", url=EP + "/", data=BODY, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(CREDS, "ec2", "us-east-1").add_auth(req)
    p = req.prepare()
    barrier.wait()
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(HOST, timeout=60)
        c.request("POST", "/", body=p.body, headers=dict(p.headers.items()))
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200 or b"<DescribeImportImageTasksResponse" not in body:
            errs.append("HTTP %d %s" % (r.status, body[:120]))
    except Exception as e:  # every failure counts
        errs.append(repr(e))
    lat[i] = time.monotonic() - t0


def running():
    c = http.client.HTTPConnection(HOST, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    for line in text.splitlines():
        if line.startswith("vmie_tasks_running "):
            return int(line.split()[1])
    return -1


threads = [threading.Thread(target=call, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
import botocore.session  # noqa: E402
ec2 = botocore.session.get_session().create_client(
    "ec2", endpoint_url=EP, region_name="us-east-1", aws_access_key_id=KEY,
    aws_secret_access_key=SECRET)
with open(IDS_FILE, "w") as f:
    for i in range(IMPORTS):
        f.write(ec2.import_snapshot(DiskContainer={"Format": "RAW", "UserBucket": {
            "S3Bucket": "imports", "S3Key": "disk.raw"}})["ImportTaskId"] + "\n")
deadline = time.time() + 60
while running() < IMPORTS and time.time() < deadline:
    time.sleep(0.05)
run_before = running()
barrier.wait()
t0 = time.monotonic()
for t in threads:
    t.join()
wall = time.monotonic() - t0
run_after = running()
done = sorted(x for x in lat if x is not None)


def pct(p):
    return done[min(len(done) - 1, int(p * len(done)))] * 1000 if done else 0


print("calls=%d errors=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f wall_s=%.2f "
      "imports_running_before=%d after=%d"
      % (N, len(errs), pct(0.50), pct(0.99), pct(1.0), wall, run_before, run_after))
for e in errs[:5]:
    print("  error:", e)
