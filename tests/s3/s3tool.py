#!/usr/bin/env python3
# Small S3 operations for tests/s3 with botocore (credentials and endpoint
# from the environment: AWS_*, S3_ENDPOINT):
#   s3tool.py put-after SECONDS BUCKET KEY FILE   sleep, then put (the client
#                                                 is made first, so the put
#                                                 lands on time)
#   s3tool.py uploads BUCKET                      print the multipart uploads
#                                                 in progress, one key a line
#   s3tool.py mb BUCKET...                        create buckets
#   s3tool.py get BUCKET KEY FILE / put BUCKET KEY FILE
#   s3tool.py ls BUCKET PREFIX                    keys under PREFIX, a line each
# (the AWS CLI takes seconds to start here: it is used where the test is
# about it, this for the rest)
import os
import sys
import time

import botocore.session
from botocore.config import Config

s3 = botocore.session.get_session().create_client(
    "s3", endpoint_url=os.environ["S3_ENDPOINT"],
    config=Config(s3={"addressing_style": "path"},
                  retries={"max_attempts": 1}))
cmd = sys.argv[1]
if cmd == "put-after":
    time.sleep(float(sys.argv[2]))
    with open(sys.argv[5], "rb") as f:
        s3.put_object(Bucket=sys.argv[3], Key=sys.argv[4], Body=f.read())
elif cmd == "uploads":
    r = s3.list_multipart_uploads(Bucket=sys.argv[2])
    for u in r.get("Uploads", []):
        print(u["Key"])
elif cmd == "mb":
    for b in sys.argv[2:]:
        s3.create_bucket(Bucket=b)
elif cmd == "get":
    body = s3.get_object(Bucket=sys.argv[2], Key=sys.argv[3])["Body"]
    with open(sys.argv[4], "wb") as f:
        while True:
            chunk = body.read(1 << 20)
            if not chunk:
                break
            f.write(chunk)
elif cmd == "put":
    with open(sys.argv[4], "rb") as f:
        s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=f.read())
elif cmd == "ls":
    r = s3.list_objects_v2(Bucket=sys.argv[2], Prefix=sys.argv[3])
    for o in r.get("Contents", []):
        print(o["Key"])
else:
    sys.exit("s3tool.py: unknown command " + cmd)
