#!/usr/bin/env python3
"""Write the fuzz corpora corpus-vhd/ and corpus-vhdx/: small valid images
and broken variants (one problem each, checksums fixed so that the problem
is what the parser meets).  Big images are stored in the sparse form that
fuzz_common.h expands.  Run from this directory:
    mkcorpus.py VMIE SAMPLES_DIR
(VMIE writes the VHDX bases; SAMPLES_DIR/qemu-iotests gives the dirty-log
image).  Output is deterministic except for GUIDs and timestamps."""
import bz2
import os
import random
import struct
import subprocess
import sys
import tempfile

VMIE, SAMPLES = sys.argv[1], sys.argv[2]
MiB = 1 << 20
rnd = random.Random(3)


def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc = CRC_T[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff


CRC_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    CRC_T.append(c)


def sparse(data):
    out = [b'VMIEFZ1\n', struct.pack('<I', len(data))]
    i, n = 0, len(data)
    while i < n:
        if not data[i:i + 512].strip(b'\0'):
            i += 512
            continue
        j = i
        while j < n and data[j:j + 512].strip(b'\0') and j - i < 60000:
            j += 512
        out.append(struct.pack('<IH', i, j - i) + bytes(data[i:j]))
        i = j
    return b''.join(out)


def put(name, data, raw=False):
    with open(name, 'wb') as f:
        f.write(bytes(data) if raw else sparse(data))


# ---- VHD ----
def vhd_sum(b):
    return struct.pack('>I', ~sum(b) & 0xffffffff)


def footer(size, dtype, data_off, creator=b'win ', geom=(4, 4, 17)):
    f = bytearray(512)
    f[0:8] = b'conectix'
    struct.pack_into('>IIQI4sII', f, 8, 2, 0x10000, data_off, 0, creator,
                     0x000a0000, 0x5769326b)
    struct.pack_into('>QQHBBI', f, 0x28, size, size, *geom, dtype)
    f[0x44:0x54] = bytes(range(16))
    f[0x40:0x44] = vhd_sum(f)
    return f


def dyn_vhd(size=8 * 1024, bs=512, blocks=(0, 2, 5), dtype=3):
    n = (size + bs - 1) // bs
    bat_off = 1536
    bat_len = (n * 4 + 511) & ~511
    h = bytearray(1024)
    h[0:8] = b'cxsparse'
    struct.pack_into('>QQIII', h, 8, 2**64 - 1, bat_off, 0x10000, n, bs)
    if dtype == 4:
        name = 'parent.vhd'.encode('utf-16-be')
        h[0x40:0x40 + len(name)] = name
    h[0x24:0x28] = vhd_sum(h)
    bat = bytearray(b'\xff' * bat_len)
    body = bytearray()
    off = bat_off + bat_len
    for b in blocks:
        struct.pack_into('>I', bat, 4 * b, (off + len(body)) // 512)
        body += b'\x80' + bytes(511) + bytes([b + 1]) * 100 + bytes(bs - 100)
    f = footer(size, dtype, 512)
    return bytearray(f + h + bat + body + f)


def vhd_refoot(img):
    for base in (0, len(img) - 512):
        f = img[base:base + 512]
        f[0x40:0x44] = b'\0' * 4
        f[0x40:0x44] = vhd_sum(f)
        img[base:base + 512] = f


os.makedirs('corpus-vhd', exist_ok=True)
os.chdir('corpus-vhd')
d = dyn_vhd()
put('dynamic-512-byte-blocks.vhd', d, raw=True)
fx = bytearray(rnd.randbytes(300)) + bytes(4096 - 300)
put('fixed.vhd', fx + footer(4096, 2, 2**64 - 1), raw=True)
put('fixed-511-byte-footer.vhd', fx + footer(4096, 2, 2**64 - 1)[:511], raw=True)
x = bytearray(d); x[0x30] ^= 1; x[-512 + 0x30] ^= 1
put('bad-footer-checksums.vhd', x, raw=True)
x = bytearray(d); x[-512 + 0x50] ^= 1
put('bad-trailing-footer-only.vhd', x, raw=True)
x = bytearray(d); x[512 + 0x30] ^= 1
put('bad-dyn-header-checksum.vhd', x, raw=True)
x = bytearray(d); struct.pack_into('>I', x, 1536 + 4, 0x7fffffff)
put('bat-past-eof.vhd', x, raw=True)
x = bytearray(d); struct.pack_into('>I', x, 1536 + 8, struct.unpack_from('>I', x, 1536)[0] + 1)
put('overlapping-blocks.vhd', x, raw=True)
x = bytearray(d); struct.pack_into('>I', x, 512 + 0x20, 3000)
x[512 + 0x24:512 + 0x28] = b'\0' * 4; x[512 + 0x24:512 + 0x28] = vhd_sum(x[512:1536])
put('block-size-not-pow2.vhd', x, raw=True)
x = bytearray(d); struct.pack_into('>I', x, 512 + 0x1c, 0xffffffff)
x[512 + 0x24:512 + 0x28] = b'\0' * 4; x[512 + 0x24:512 + 0x28] = vhd_sum(x[512:1536])
put('huge-bat.vhd', x, raw=True)
x = bytearray(d)
for base in (0, len(x) - 512):
    struct.pack_into('>Q', x, base + 0x30, 1 << 62)
vhd_refoot(x)
put('absurd-size.vhd', x, raw=True)
put('differencing.vhd', dyn_vhd(dtype=4), raw=True)
put('truncated.vhd', d[:len(d) - 1000], raw=True)
os.chdir('..')

# ---- VHDX ----
tmp = tempfile.mkdtemp()
raw = os.path.join(tmp, 'src.raw')
with open(raw, 'wb') as f:
    f.truncate(4 * MiB)
    f.seek(0); f.write(b'\xa1' * 300)
    f.seek(2 * MiB + 512); f.write(b'\xb2' * 300)
    f.seek(4 * MiB - 300); f.write(b'\xc3' * 300)


def vmie_write(sub):
    out = os.path.join(tmp, sub + '.vhdx')
    subprocess.check_call([VMIE, 'convert', '-O', 'vhdx,' + sub, '-o',
                           'block_size=1M', raw, out])
    return bytearray(open(out, 'rb').read())


def fix_header(img):
    for base in (64 << 10, 128 << 10):
        img[base + 4:base + 8] = b'\0' * 4
        struct.pack_into('<I', img, base + 4, crc32c(img[base:base + 4096]))


def fix_region(img, base=192 << 10):
    img[base + 4:base + 8] = b'\0' * 4
    struct.pack_into('<I', img, base + 4, crc32c(img[base:base + 65536]))


def log_entry(seq, tail, guid, writes, fsize):
    """writes: (file_offset, 4 KiB bytes) or (file_offset, zero_length)"""
    nd = sum(1 for w in writes if isinstance(w[1], (bytes, bytearray)))
    dsec = (len(writes) + 2 + 127) // 128
    ent = bytearray((dsec + nd) * 4096)
    ent[0:4] = b'loge'
    struct.pack_into('<IIQII16sQQ', ent, 8, len(ent), tail, seq, len(writes),
                     0, guid, fsize, fsize)
    k = 0
    for i, (off, w) in enumerate(writes):
        p = 64 + 32 * i
        if isinstance(w, int):
            struct.pack_into('<4sIQQQ', ent, p, b'zero', 0, w, off, seq)
            continue
        struct.pack_into('<4s4s8sQQ', ent, p, b'desc', w[4092:], w[:8], off, seq)
        s = (dsec + k) * 4096
        k += 1
        ent[s:s + 4] = b'data'
        struct.pack_into('<I', ent, s + 4, seq >> 32)
        ent[s + 8:s + 4092] = w[8:4092]
        struct.pack_into('<I', ent, s + 4092, seq & 0xffffffff)
    struct.pack_into('<I', ent, 4, crc32c(ent))
    return ent


os.makedirs('corpus-vhdx', exist_ok=True)
dyn = vmie_write('dynamic')
fix = vmie_write('fixed')
os.chdir('corpus-vhdx')
put('dynamic-1m-blocks.vhdx', dyn)
put('fixed.vhdx', fix)
x = bytearray(dyn); struct.pack_into('<I', x, (192 << 10) + 8, 5000); fix_region(x)
put('region-table-5000-entries.vhdx', x)
x = bytearray(dyn); struct.pack_into('<I', x, 2 * MiB + 65536, 3 * MiB)
put('block-size-not-pow2.vhdx', x)
x = bytearray(dyn); struct.pack_into('<Q', x, 3 * MiB, (1 << 40) | 6)
put('bat-past-eof.vhdx', x)
x = bytearray(dyn); struct.pack_into('<Q', x, 3 * MiB + 8, struct.unpack_from('<Q', x, 3 * MiB)[0])
put('overlapping-blocks.vhdx', x)
x = bytearray(dyn); x[(64 << 10) + 100] ^= 1; x[(128 << 10) + 100] ^= 1
put('bad-header-crcs.vhdx', x)
x = bytearray(dyn); struct.pack_into('<Q', x, (192 << 10) + 48 + 16, 3 * MiB); fix_region(x)
put('overlapping-regions.vhdx', x)
x = bytearray(dyn); struct.pack_into('<I', x, 2 * MiB + 65536 + 4, 2)
put('has-parent.vhdx', x)
put('truncated.vhdx', dyn[:len(dyn) - MiB - 4096])
# a log: entry 1 (wrapping the end of the log) points block 1 at new data,
# entry 2 zeroes part of block 0; entry 3 is torn
guid = bytes(range(16, 32))


def with_log(flushed):
    x = bytearray(dyn) + bytearray(b'\xd4' * 4096) + bytearray(MiB - 4096)
    bat = bytearray(x[3 * MiB:3 * MiB + 4096])
    struct.pack_into('<Q', bat, 8, (len(dyn)) | 6)
    e1 = log_entry(41, MiB - 4096, guid, [(3 * MiB, bytes(bat))], flushed)
    e2 = log_entry(42, MiB - 4096, guid, [(4 * MiB, 8192)], flushed)
    logr = bytearray(MiB)
    for i, b in enumerate(e1):
        logr[(MiB - 4096 + i) % MiB] = b
    p2 = (MiB - 4096 + len(e1)) % MiB
    logr[p2:p2 + len(e2)] = e2
    x[MiB:2 * MiB] = logr
    for base in (64 << 10, 128 << 10):
        x[base + 0x30:base + 0x40] = guid
    fix_header(x)
    return x, p2


x, p2 = with_log(len(dyn) + MiB)
put('log-replay.vhdx', x)
y = bytearray(x); y[MiB + p2 + 4096 - 8] ^= 1
put('log-entry-bad-crc.vhdx', y)
put('log-truncated-file.vhdx', with_log(1 << 40)[0])
# the qemu dirty-log sample, data blocks dropped (metadata, BAT and log
# kept; entries from older logs zeroed)
src = os.path.join(SAMPLES, 'qemu-iotests', 'iotest-dirtylog-10G-4M.vhdx.bz2')
if os.path.exists(src):
    z = bytearray(bz2.open(src).read())
    z[6 * MiB:] = bytes(len(z) - 6 * MiB)
    z[MiB:MiB + 49152] = bytes(49152)
    put('qemu-dirtylog.vhdx', z)
