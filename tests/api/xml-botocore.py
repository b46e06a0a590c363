#!/usr/bin/env python3
"""EC2 XML responses cross-check: what lib/api/xml.c writes (through
api_tool) is parsed by botocore's own EC2QueryParser, with the operation
models of botocore's ec2 service, and must give back the JSON result it
was written from:

  - for every operation vmie serves, a result filled from its output
    shape (every member, lists of two elements, odd characters);
  - realistic results: the canned responses of ../shared/protocol/*.xml
    (which the AWS CLI parsed into cli-json-outputs.txt) read by botocore,
    written again by vmie, read again; and hand-written ones for the
    describe calls of images, snapshots, tags, conversion and export tasks;
  - the JSON lib/task itself produces (the vmie commands, when $VMIE
    is set): an import-snapshot of a small raw disk, an import-image that
    fails inspection, and the describe calls after them;
  - the error envelope, as botocore reads errors (code, message, request
    id), with an empty message replaced;
  - members that are not in the shape (vmie's "Vmie" object) never written.

Exit 77 (skipped) without botocore.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

try:
    import botocore.session
    from botocore.parsers import EC2QueryParser
    from botocore.utils import parse_timestamp
except ImportError:
    print('botocore is not installed: skipped')
    sys.exit(77)

TOOL = os.environ['API_TOOL']
SHARED = os.environ.get('SHARED', '../shared')
OPS = """ImportImage ImportSnapshot DescribeImportImageTasks
DescribeImportSnapshotTasks CancelImportTask ExportImage
DescribeExportImageTasks CreateInstanceExportTask DescribeExportTasks
CancelExportTask DescribeImages DeregisterImage DescribeSnapshots
DeleteSnapshot CreateTags DeleteTags DescribeTags ImportInstance
ImportVolume DescribeConversionTasks CancelConversionTask""".split()
ISO = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?'
                 r'(Z|[+-]\d\d:\d\d)$')
RID = '5f2c6a0e-0000-4000-8000-000000000001'
MODEL = botocore.session.get_session().get_service_model('ec2')


def sample(shape, path, depth=0):
    t = shape.type_name
    if t == 'structure':
        return {k: sample(m, path + '.' + k, depth + 1)
                for k, m in shape.members.items()}
    if t == 'list':
        return [sample(shape.member, path + '.%d' % i, depth + 1)
                for i in (1, 2)]
    if t == 'string':
        return 'v%s <&>"\' ü\u00e9' % path[-16:]
    if t == 'integer':
        return 3 + depth
    if t == 'long':
        return 8589934592 + depth
    if t == 'boolean':
        return depth % 2 == 1
    if t in ('double', 'float'):
        return 0.25 + depth
    if t == 'timestamp':
        return '2026-11-22T09:%02d:12.000Z' % depth
    raise ValueError('%s: type %s' % (path, t))


def normal(v):
    """JSON-comparable form of what botocore parsed (timestamps, which
    vmie writes in UTC with milliseconds, as datetimes)."""
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items()
                if k != 'ResponseMetadata'}
    if isinstance(v, list):
        return [normal(x) for x in v]
    if isinstance(v, str) and ISO.match(v):
        v = parse_timestamp(v)
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (v.microsecond // 1000)
    return v


def encode(op, result):
    r = subprocess.run([TOOL, 'encode', op, RID],
                       input=json.dumps(result).encode(),
                       capture_output=True)
    if r.returncode:
        raise RuntimeError('%s: encode failed: %s' % (op, r.stderr))
    return r.stdout


def parse(op, xml, status=200):
    om = MODEL.operation_model(op)
    return EC2QueryParser().parse({'body': xml, 'headers': {},
                                   'status_code': status},
                                  om.output_shape)


def check(name, op, result, want=None):
    xml = encode(op, result)
    parsed = parse(op, xml)
    ok = parsed['ResponseMetadata']['RequestId'] == RID
    # timestamps as EC2 writes them: UTC with a 'Z'
    ok = ok and b'+00:00<' not in xml
    got = normal(parsed)
    want = normal(result if want is None else want)
    if MODEL.operation_model(op).output_shape is None:
        want = {}
    if got != want or not ok:
        print('%s %s: MISMATCH\n xml  %s\n want %s\n got  %s' % (
            name, op, xml[:3000], json.dumps(want, sort_keys=True)[:3000],
            json.dumps(got, sort_keys=True)[:3000]))
        return 1
    print('%s %s: OK (%d bytes)' % (name, op, len(xml)))
    return 0


REALISTIC = {
    'DescribeImages': {'Images': [{
        'Architecture': 'x86_64', 'CreationDate': '2026-11-22T09:50:01.000Z',
        'ImageId': 'ami-0abcdef1234567890', 'ImageLocation': 'vmie/import',
        'ImageType': 'machine', 'Public': False, 'OwnerId': '000000000000',
        'PlatformDetails': 'Linux/UNIX', 'UsageOperation': 'RunInstances',
        'State': 'available', 'BlockDeviceMappings': [{
            'DeviceName': '/dev/sda1', 'Ebs': {
                'DeleteOnTermination': True,
                'SnapshotId': 'snap-0123456789abcdef0', 'VolumeSize': 8,
                'VolumeType': 'gp2', 'Encrypted': False}}],
        'Description': 'AWS-VMImport service: Linux - Debian 12',
        'EnaSupport': True, 'Hypervisor': 'xen', 'Name': 'import-ami-0123',
        'RootDeviceName': '/dev/sda1', 'RootDeviceType': 'ebs',
        'SriovNetSupport': 'simple', 'VirtualizationType': 'hvm',
        'BootMode': 'uefi-preferred',
        'Tags': [{'Key': 'Name', 'Value': 'web'}]}],
        'NextToken': 'eyJvZmZzZXQiOiAxfQ=='},
    'DescribeSnapshots': {'Snapshots': [{
        'Description': 'Created by AWS-VMImport service for import-ami-0123',
        'Encrypted': False, 'OwnerId': '000000000000', 'Progress': '100%',
        'SnapshotId': 'snap-0123456789abcdef0',
        'StartTime': '2026-11-22T09:49:00.000Z', 'State': 'completed',
        'VolumeId': 'vol-ffffffff', 'VolumeSize': 8,
        'Tags': [{'Key': 'Owner', 'Value': 'ops'}]}]},
    'DescribeTags': {'Tags': [
        {'Key': 'Name', 'ResourceId': 'ami-0abcdef1234567890',
         'ResourceType': 'image', 'Value': 'web'},
        {'Key': 'Env', 'ResourceId': 'import-ami-0123456789abcdef0',
         'ResourceType': 'import-image-task', 'Value': ''}],
        'NextToken': 'abc'},
    'DescribeConversionTasks': {'ConversionTasks': [{
        'ConversionTaskId': 'import-i-fh95npoc',
        'ExpirationTime': '2026-11-29T09:42:12Z',
        'ImportVolume': {'AvailabilityZone': 'us-east-1a',
                         'BytesConverted': 1073741824,
                         'Image': {'Format': 'VMDK', 'Size': 8589934592,
                                   'ImportManifestUrl': 'vmie://b/k'},
                         'Volume': {'Id': 'vol-1', 'Size': 8}},
        'State': 'active', 'StatusMessage': 'Pending'}]},
    'ImportInstance': {'ConversionTask': {
        'ConversionTaskId': 'import-i-ffvko9js', 'State': 'active',
        'ImportInstance': {'Platform': 'Windows', 'Volumes': [{
            'AvailabilityZone': 'us-east-1a', 'BytesConverted': 0,
            'Image': {'Format': 'VMDK', 'Size': 1024},
            'Volume': {'Size': 1}, 'Status': 'active'}]}}},
    'CreateInstanceExportTask': {'ExportTask': {
        'Description': 'exported', 'ExportTaskId': 'export-i-fgelt0i7',
        'ExportToS3Task': {'ContainerFormat': 'ova', 'DiskImageFormat':
                           'VMDK', 'S3Bucket': 'my-export-bucket',
                           'S3Key': 'export-i-fgelt0i7.ova'},
        'InstanceExportDetails': {'InstanceId': 'ami-0abcdef1234567890',
                                  'TargetEnvironment': 'vmware'},
        'State': 'active'}},
    'DescribeExportTasks': {'ExportTasks': []},
    'DescribeImportImageTasks': {'ImportImageTasks': [], 'NextToken': 'x'},
}


def vmie_outputs():
    """(operation, JSON) pairs from the vmie commands over lib/task."""
    vmie = os.environ.get('VMIE')
    if not vmie:
        return []
    out = []
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, 'b', 'imports'))
        with open(os.path.join(d, 'b', 'imports', 'd.raw'), 'wb') as f:
            f.truncate(4 << 20)
        where = ['--store', os.path.join(d, 's'), '--bucket-root',
                 os.path.join(d, 'b')]
        disk = 'Format=RAW,UserBucket={S3Bucket=imports,S3Key=d.raw}'

        def run(op, *args):
            r = subprocess.run([vmie] + list(args) + where,
                               capture_output=True, text=True, check=True)
            out.append((op, json.loads(r.stdout)))
            return out[-1][1]
        run('ImportSnapshot', 'import-snapshot', '--disk-container', disk,
            '--description', 'small <raw> & disk')
        run('DescribeImportSnapshotTasks', 'describe-import-snapshot-tasks')
        run('DescribeSnapshots', 'describe-snapshots')
        run('ImportImage', 'import-image', '--no-wait', '--disk-containers',
            disk)
        for _ in range(100):
            tasks = run('DescribeImportImageTasks',
                        'describe-import-image-tasks')['ImportImageTasks']
            if all(t['Status'] in ('completed', 'deleted') for t in tasks):
                break
            time.sleep(0.2)
        run('DescribeImages', 'describe-images')
        run('DescribeTags', 'describe-tags')
    return out


def main():
    failures = 0
    for op, result in vmie_outputs():
        failures += check('lib/task', op, result)
    for op in OPS:
        out = MODEL.operation_model(op).output_shape
        result = sample(out, op) if out is not None else {}
        failures += check('filled', op, result)
    for op, result in REALISTIC.items():
        failures += check('realistic', op, result)
    for f in sorted(glob.glob(os.path.join(SHARED, 'protocol', '*.xml'))):
        op = os.path.basename(f)[:-4]
        if op not in OPS:
            continue
        with open(f, 'rb') as fh:
            canned = fh.read().replace(b'@RID@', RID.encode())
        first = normal(parse(op, canned))
        failures += check('canned', op, first)
    # vmie's own members are not written
    xml = encode('ImportImage', {'ImportTaskId': 'import-ami-1', 'Vmie': {
        'Owner': 'host:1:2', 'Policy': 'aws-current'}})
    if b'Vmie' in xml or b'Owner' in xml or b'aws-current' in xml:
        print('internal members leaked: %s' % xml)
        failures += 1
    # a result that does not fit the shape is refused, not written wrong
    r = subprocess.run([TOOL, 'encode', 'ImportImage', RID],
                       input=b'{"SnapshotDetails": "x"}', capture_output=True)
    if r.returncode == 0 or b'SnapshotDetails' not in r.stderr:
        print('a mis-shaped result was written: %s' % r.stdout)
        failures += 1
    # errors, as botocore reads them
    for code, msg, want in (
            ('InvalidParameterValue', 'Value (x<&>) for parameter y',
             'Value (x<&>) for parameter y'),
            ('AuthFailure', '', 'The request failed (AuthFailure).'),
            ('InvalidAMIID.NotFound', 'bad \x01 char \u00fc',
             'bad \ufffd char \u00fc')):
        xml = subprocess.run([TOOL, 'error', code, msg, RID],
                             capture_output=True, check=True).stdout
        parsed = EC2QueryParser().parse({'body': xml, 'headers': {},
                                         'status_code': 400}, None)
        e = parsed.get('Error', {})
        if (e.get('Code') != code or e.get('Message') != want or
                parsed['ResponseMetadata'].get('RequestId') != RID):
            print('error %s: MISMATCH %s / %s' % (code, xml, parsed))
            failures += 1
        else:
            print('error %s: OK' % code)
    print('%d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
