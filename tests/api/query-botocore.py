#!/usr/bin/env python3
"""EC2 Query decoding cross-check: for every operation vmie serves, an
input filled from its botocore shape (every member, lists of two
elements) is serialized by botocore's own EC2 serializer, form-encoded as
the AWS CLI sends it, decoded by lib/api/query.c (through api_tool) and
must come back as the same JSON input.

Exit 77 (skipped) without botocore.
"""
import json
import os
import subprocess
import sys
from urllib.parse import urlencode

try:
    import botocore.session
    from botocore.serialize import create_serializer
except ImportError:
    print('botocore is not installed: skipped')
    sys.exit(77)

TOOL = os.environ['API_TOOL']
OPS = """ImportImage ImportSnapshot DescribeImportImageTasks
DescribeImportSnapshotTasks CancelImportTask ExportImage
DescribeExportImageTasks CreateInstanceExportTask DescribeExportTasks
CancelExportTask DescribeImages DeregisterImage DescribeSnapshots
DeleteSnapshot CreateTags DeleteTags DescribeTags ImportInstance
ImportVolume DescribeConversionTasks CancelConversionTask""".split()
TS = '2024-01-02T03:04:05Z'


def sample(shape, path, depth=0):
    t = shape.type_name
    if t == 'structure':
        return {k: sample(m, path + '.' + k, depth + 1)
                for k, m in shape.members.items()}
    if t == 'list':
        return [sample(shape.member, path + '.%d' % i, depth + 1)
                for i in (1, 2)]
    if t == 'string':
        # odd characters that must survive the round trip
        return 'v%s &=+%%/ü' % path[-12:]
    if t == 'integer':
        return 7 + depth
    if t == 'long':
        return 1234567890123 + depth
    if t == 'boolean':
        return depth % 2 == 0
    if t in ('double', 'float'):
        return 1.5 + depth
    if t == 'timestamp':
        return TS
    raise ValueError('%s: type %s' % (path, t))


def decode(body):
    r = subprocess.run([TOOL, 'decode'], input=body.encode(),
                       capture_output=True, check=True)
    return json.loads(r.stdout)


def main():
    model = botocore.session.get_session().get_service_model('ec2')
    ser = create_serializer('ec2')
    failures = 0
    for op in OPS:
        om = model.operation_model(op)
        params = sample(om.input_shape, op)
        req = ser.serialize_to_request(params, om)
        body = urlencode(req['body'])
        got = decode(body)
        if got.get('Action') != op or got.get('Params') != params:
            failures += 1
            print('%s: MISMATCH\n sent %s\n got  %s' % (
                op, json.dumps(params, sort_keys=True)[:2000],
                json.dumps(got, sort_keys=True)[:2000]))
        else:
            print('%s: %d parameters OK' % (op, len(req['body']) - 2))
        # the same with an unknown parameter added: refused
        bad = decode(body + '&NoSuchParameter.1=x')
        if bad.get('Error') != 'UnknownParameter':
            failures += 1
            print('%s: unknown parameter not refused: %s' % (op, bad))
    print('%d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
