#!/usr/bin/env python3
"""Issue 9, class 4: an OVA whose manifest repeats its lines.

usage: gen_ova-manifest-repeat.py OUT.ova DISK MODE COUNT

Writes by hand (tarfile, ustar) an OVA of three members: an OVF 1.0
descriptor naming DISK as its only disk, DISK itself, and a manifest.
MODE says what the manifest holds:
  repeat    the OVF's SHA256 line once, the disk's line COUNT times
            (a reader that digests per line reads the disk COUNT times)
  conflict  the disk's line COUNT times, then once more with another
            digest (which copy holds is ambiguous: must be refused
            before any disk byte is digested)
  refs      no repeats, but an OVF whose References list COUNT File
            elements all naming the disk's member (each resolves to the
            same member; ids differ)
"""
import hashlib
import io
import os
import sys
import tarfile

OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References>
{refs} </References>
 <DiskSection>
  <Info>disks</Info>
  <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="{cap}"
   ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
 </DiskSection>
 <VirtualSystem ovf:id="repeat">
  <Info>a VM</Info>
  <Name>repeat</Name>
  <VirtualHardwareSection>
   <Info>hw</Info>
   <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>6</rasd:ResourceType><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:Address>0</rasd:Address></Item>
   <Item><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType><rasd:Parent>3</rasd:Parent><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:ElementName>Hard disk 1</rasd:ElementName></Item>
  </VirtualHardwareSection>
 </VirtualSystem>
</Envelope>
"""


def add(tar, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 0
    tar.addfile(ti, io.BytesIO(data))


def main():
    out, disk, mode, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    data = open(disk, "rb").read()
    dname = "disk1.vmdk"
    refs = ' <File ovf:id="file1" ovf:href="%s"/>\n' % dname
    if mode == "refs":
        refs += "".join(' <File ovf:id="f%d" ovf:href="%s"/>\n' % (i, dname)
                        for i in range(count))
    ovf = OVF.format(refs=refs, cap=8 << 20).encode()
    dsum = hashlib.sha256(data).hexdigest()
    line = "SHA256(%s)= %s\n" % (dname, dsum)
    mf = "SHA256(vm.ovf)= %s\n" % hashlib.sha256(ovf).hexdigest()
    if mode == "repeat":
        mf += line * count
    elif mode == "conflict":
        mf += line * count
        mf += "SHA256(%s)= %s\n" % (dname, "0" * 64)
    elif mode == "refs":
        mf += line
    else:
        sys.exit("unknown mode " + mode)
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        add(tar, "vm.ovf", ovf)
        add(tar, dname, data)
        add(tar, "vm.mf", mf.encode())
    os.chmod(out, 0o644)


if __name__ == "__main__":
    main()
