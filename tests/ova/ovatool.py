#!/usr/bin/env python3
"""Build OVA test fixtures (good and hostile) for the ova suite.

  ovatool.py ovf OUT.ovf [--name VM] [--disk HREF:CAPACITY]...
             [--gzip] [--chunk N] [--missing HREF] [--doctype]
      write a small VMware-style OVF 1.0 descriptor.
  ovatool.py tar OUT.ova [--format ustar|gnu|pax] MEMBER...
      MEMBER is NAME=PATH (content of PATH), NAME@SIZE (a sparse member of
      SIZE zero bytes: header written, file extended, nothing copied), or
      NAME=- (empty).  Names are stored as given ("../x", "/abs" too).
  ovatool.py mf OUT.mf ALG[:SPACE] NAME=PATH...
      a manifest line per file; ALG sha1 or sha256; ":space" writes
      "SHA1(x) = hex" instead of "SHA1(x)= hex".
"""
import hashlib
import os
import sys
import tarfile


def ovf(out, args):
    name, disks, gz, chunk, doctype = "testvm", [], False, 0, False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--name":
            name = args[i + 1]; i += 1
        elif a == "--disk":
            disks.append(args[i + 1].rsplit(":", 1)); i += 1
        elif a == "--gzip":
            gz = True
        elif a == "--chunk":
            chunk = int(args[i + 1]); i += 1
        elif a == "--doctype":
            doctype = True
        else:
            sys.exit("ovf: unknown option " + a)
        i += 1
    x = ['<?xml version="1.0" encoding="UTF-8"?>']
    if doctype:
        x.append('<!DOCTYPE Envelope [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>')
    x.append('<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
             'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" '
             'xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" '
             'xmlns:vmw="http://www.vmware.com/schema/ovf" '
             'xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">')
    x.append('  <References>')
    for n, d in enumerate(disks):
        extra = ''
        if gz:
            extra += ' ovf:compression="gzip"'
        if chunk:
            extra += ' ovf:chunkSize="%d"' % chunk
        x.append('    <File ovf:href="%s" ovf:id="file%d"%s/>' % (d[0], n + 1, extra))
    x.append('  </References>')
    x.append('  <DiskSection><Info>Virtual disk information</Info>')
    for n, d in enumerate(disks):
        x.append('    <Disk ovf:capacity="%s" ovf:capacityAllocationUnits="byte" '
                 'ovf:diskId="vmdisk%d" ovf:fileRef="file%d" ovf:format='
                 '"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>'
                 % (d[1], n + 1, n + 1))
    x.append('  </DiskSection>')
    x.append('  <VirtualSystem ovf:id="%s"><Info>A virtual machine</Info>' % name)
    x.append('    <Name>%s%s</Name>' % (name, '&xxe;' if doctype else ''))
    x.append('    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest">'
             '<Info>os</Info><Description>Linux 64</Description></OperatingSystemSection>')
    x.append('    <VirtualHardwareSection><Info>hw</Info>')
    x.append('      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>'
             '<rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>')
    x.append('      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID>'
             '<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>')
    x.append('      <Item><rasd:Address>0</rasd:Address><rasd:InstanceID>3</rasd:InstanceID>'
             '<rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>')
    x.append('      <Item><rasd:Address>0</rasd:Address><rasd:InstanceID>4</rasd:InstanceID>'
             '<rasd:ResourceType>5</rasd:ResourceType></Item>')
    for n, d in enumerate(disks):
        x.append('      <Item><rasd:AddressOnParent>%d</rasd:AddressOnParent>'
                 '<rasd:HostResource>ovf:/disk/vmdisk%d</rasd:HostResource>'
                 '<rasd:InstanceID>%d</rasd:InstanceID><rasd:Parent>3</rasd:Parent>'
                 '<rasd:ResourceType>17</rasd:ResourceType></Item>' % (n, n + 1, 10 + n))
    x.append('      <Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:InstanceID>30</rasd:InstanceID>'
             '<rasd:Parent>4</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>')
    x.append('      <Item><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>31</rasd:InstanceID>'
             '<rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>')
    x.append('      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>')
    x.append('    </VirtualHardwareSection>')
    x.append('  </VirtualSystem>')
    x.append('</Envelope>')
    with open(out, "w") as f:
        f.write("\n".join(x) + "\n")


def tar(out, args):
    fmt = tarfile.USTAR_FORMAT
    if args and args[0] == "--format":
        fmt = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT,
               "pax": tarfile.PAX_FORMAT}[args[1]]
        args = args[2:]
    with open(out, "wb") as f:
        for spec in args:
            if "@" in spec and "=" not in spec:
                name, size = spec.rsplit("@", 1)
                ti = tarfile.TarInfo(name)
                ti.size = int(size)
                ti.mode = 0o644
                f.write(ti.tobuf(fmt, "utf-8", "surrogateescape"))
                pos = f.tell() + (ti.size + 511) // 512 * 512
                f.truncate(pos)
                f.seek(pos)
                continue
            name, path = spec.split("=", 1)
            data = b"" if path == "-" else open(path, "rb").read()
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            f.write(ti.tobuf(fmt, "utf-8", "surrogateescape"))
            f.write(data)
            f.write(b"\0" * ((512 - len(data) % 512) % 512))
        f.write(b"\0" * 1024)


def mf(out, args):
    alg, space = args[0].split(":")[0], args[0].endswith(":space")
    lines = []
    for spec in args[1:]:
        name, path = spec.split("=", 1)
        h = hashlib.new(alg)
        with open(path, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
        lines.append("%s(%s)%s= %s\n" % (alg.upper(), name, " " if space else "",
                                         h.hexdigest()))
    with open(out, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    cmd, out, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    {"ovf": ovf, "tar": tar, "mf": mf}[cmd](out, rest)
