#!/usr/bin/env python3
"""awsshape.py OPERATION SHAPE_KIND < JSON: check that vmie's JSON output
has the shape botocore's ec2 service model gives the operation (the model
the AWS CLI itself uses): every member a member of its structure, lists
lists, strings strings, numbers of the right kind (Double as a float),
booleans booleans, timestamps as the AWS CLI prints them.  SHAPE_KIND is
"output" (the operation's output shape) or a shape name
("ImportImageTask").  Exit 0, or 1 listing every mismatch."""
import json
import re
import sys

import botocore.session

ISO = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$')


def check(shape, v, path, errs):
    t = shape.type_name
    if t == 'structure':
        if not isinstance(v, dict):
            errs.append('%s: want a structure, got %r' % (path, v))
            return
        for k, x in v.items():
            if k not in shape.members:
                errs.append('%s.%s: not a member of %s' % (path, k, shape.name))
                continue
            check(shape.members[k], x, path + '.' + k, errs)
    elif t == 'list':
        if not isinstance(v, list):
            errs.append('%s: want a list, got %r' % (path, v))
            return
        for i, x in enumerate(v):
            check(shape.member, x, '%s[%d]' % (path, i), errs)
    elif t == 'string':
        if not isinstance(v, str):
            errs.append('%s: want a string, got %r' % (path, v))
        elif shape.enum and v not in shape.enum:
            errs.append('%s: %r not one of %s' % (path, v, shape.enum))
    elif t in ('integer', 'long'):
        if not isinstance(v, int) or isinstance(v, bool):
            errs.append('%s: want an integer, got %r' % (path, v))
    elif t in ('double', 'float'):
        if not isinstance(v, float):
            errs.append('%s: want a float, got %r' % (path, v))
    elif t == 'boolean':
        if not isinstance(v, bool):
            errs.append('%s: want a boolean, got %r' % (path, v))
    elif t == 'timestamp':
        if not isinstance(v, str) or not ISO.match(v):
            errs.append('%s: want an ISO 8601 timestamp, got %r' % (path, v))


def main():
    op, kind = sys.argv[1], sys.argv[2]
    model = botocore.session.get_session().get_service_model('ec2')
    if kind == 'output':
        shape = model.operation_model(op).output_shape
    else:
        shape = model.shape_for(kind)
    data = json.load(sys.stdin)
    errs = []
    check(shape, data, op, errs)
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)


main()
