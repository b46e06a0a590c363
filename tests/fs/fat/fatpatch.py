#!/usr/bin/env python3
"""Break FAT images on purpose (test fixture helper).

  fatpatch.py IMG chain PATH           print the cluster chain of PATH
  fatpatch.py IMG setclus PATH N       set the first cluster of PATH's entry
  fatpatch.py IMG setfat N VALUE       set FAT entry N (every FAT copy)
  fatpatch.py IMG root                 print the root cluster (0 if fixed)
  fatpatch.py IMG clusoff N            print the byte offset of cluster N

PATH components are 8.3 names as stored (upper case), e.g. /A/B/F.BIN.
"""
import struct
import sys


class Fat:
    def __init__(self, path):
        self.f = open(path, 'r+b')
        bs = self.read(0, 512)
        (self.bps, self.spc, self.res, self.nfats, self.rootent, tot16,
         _media, fsz16) = struct.unpack_from('<HBHBHHBH', bs, 11)
        tot = tot16 or struct.unpack_from('<I', bs, 32)[0]
        self.fsz = fsz16 or struct.unpack_from('<I', bs, 36)[0]
        rds = (self.rootent * 32 + self.bps - 1) // self.bps
        meta = self.res + self.nfats * self.fsz + rds
        count = (tot - meta) // self.spc
        self.bits = 12 if count < 4085 else 16 if count < 65525 else 32
        self.clsize = self.bps * self.spc
        self.root_off = (self.res + self.nfats * self.fsz) * self.bps
        self.data_off = meta * self.bps
        self.root_clus = struct.unpack_from('<I', bs, 44)[0] \
            if self.bits == 32 else 0

    def read(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    def write(self, off, data):
        self.f.seek(off)
        self.f.write(data)

    def fat_get(self, n):
        off = self.res * self.bps
        if self.bits == 12:
            v = struct.unpack('<H', self.read(off + n + n // 2, 2))[0]
            return v >> 4 if n & 1 else v & 0xFFF
        if self.bits == 16:
            return struct.unpack('<H', self.read(off + 2 * n, 2))[0]
        return struct.unpack('<I', self.read(off + 4 * n, 4))[0] & 0x0FFFFFFF

    def fat_set(self, n, val):
        val &= {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}[self.bits]
        for i in range(self.nfats):
            off = (self.res + i * self.fsz) * self.bps
            if self.bits == 12:
                o = off + n + n // 2
                v = struct.unpack('<H', self.read(o, 2))[0]
                v = (v & 0x000F) | (val << 4) if n & 1 else \
                    (v & 0xF000) | val
                self.write(o, struct.pack('<H', v & 0xFFFF))
            elif self.bits == 16:
                self.write(off + 2 * n, struct.pack('<H', val))
            else:
                self.write(off + 4 * n, struct.pack('<I', val))

    def chain(self, c):
        out = []
        while 2 <= c < 0x0FFFFFF0 and len(out) < 100000:
            out.append(c)
            c = self.fat_get(c)
            if (self.bits == 12 and c >= 0xFF8) or \
               (self.bits == 16 and c >= 0xFFF8):
                break
        return out

    def dir_regions(self, clus):
        if clus == 0:
            return [(self.root_off, self.rootent * 32)]
        return [(self.data_off + (c - 2) * self.clsize, self.clsize)
                for c in self.chain(clus)]

    def find(self, path):
        """(entry offset, first cluster) of an 8.3 path."""
        clus = self.root_clus
        ent = None
        for comp in [p for p in path.split('/') if p]:
            base, _, ext = comp.partition('.')
            want = base.ljust(8).encode() + ext.ljust(3).encode()
            ent = None
            for off, size in self.dir_regions(clus):
                data = self.read(off, size)
                for i in range(0, size, 32):
                    e = data[i:i + 32]
                    if e[0] == 0:
                        break
                    if e[11] != 0x0F and e[:11] == want:
                        ent = off + i
                        clus = struct.unpack_from('<H', e, 26)[0] | \
                            (struct.unpack_from('<H', e, 20)[0] << 16
                             if self.bits == 32 else 0)
                        break
                if ent is not None:
                    break
            if ent is None:
                sys.exit('not found: ' + comp)
        return ent, clus


def main():
    fat = Fat(sys.argv[1])
    cmd = sys.argv[2]
    if cmd == 'chain':
        print(' '.join(map(str, fat.chain(fat.find(sys.argv[3])[1]))))
    elif cmd == 'setclus':
        off, _ = fat.find(sys.argv[3])
        n = int(sys.argv[4], 0)
        fat.write(off + 26, struct.pack('<H', n & 0xFFFF))
        if fat.bits == 32:
            fat.write(off + 20, struct.pack('<H', n >> 16))
    elif cmd == 'setfat':
        fat.fat_set(int(sys.argv[3]), int(sys.argv[4], 0))
    elif cmd == 'clusoff':
        print(fat.data_off + (int(sys.argv[3]) - 2) * fat.clsize)
    elif cmd == 'root':
        print(fat.root_clus)
    else:
        sys.exit('unknown command')


main()
