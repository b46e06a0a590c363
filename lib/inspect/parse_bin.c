/*
 * The architecture of a guest from the headers of its own binaries.
 *
 * ELF (System V ABI, "ELF Header"):
 *   0x00  4  magic 7f 'E' 'L' 'F'
 *   0x04  1  EI_CLASS   1 = 32-bit, 2 = 64-bit
 *   0x05  1  EI_DATA    1 = little-endian, 2 = big-endian
 *   0x12  2  e_machine  (in EI_DATA byte order)
 * PE/COFF (Microsoft "PE Format"):
 *   0x00  2  "MZ"
 *   0x3c  4  e_lfanew: offset of the "PE\0\0" signature (LE)
 *   +4    2  COFF Machine (LE): 0x14c i386, 0x8664 AMD64, 0xaa64 ARM64
 */
#include "inspect/insp_int.h"

#include <string.h>

#include "core/endian.h"
#include "core/util.h"

int vmie_insp_elf_arch(const uint8_t *buf, size_t len, char *arch,
		       size_t size)
{
	const char *a = NULL;
	unsigned cls, data, mach;

	if (len < 20 || memcmp(buf, "\x7f" "ELF", 4))
		return -1;
	cls = buf[4];
	data = buf[5];
	if ((cls != 1 && cls != 2) || (data != 1 && data != 2))
		return -1;
	mach = data == 1 ? vmie_le16(buf + 0x12) : vmie_be16(buf + 0x12);
	switch (mach) {
	case 3:    a = "i386"; break;
	case 62:   a = cls == 2 ? "x86_64" : "x32"; break;
	case 183:  a = "aarch64"; break;
	case 40:   a = "arm"; break;
	case 8:    a = cls == 2 ? "mips64" : "mips"; break;
	case 20:   a = "ppc"; break;
	case 21:   a = data == 1 ? "ppc64le" : "ppc64"; break;
	case 22:   a = cls == 2 ? "s390x" : "s390"; break;
	case 243:  a = cls == 2 ? "riscv64" : "riscv32"; break;
	case 2:    a = cls == 2 ? "sparc64" : "sparc"; break;
	case 43:   a = "sparc64"; break;
	case 50:   a = "ia64"; break;
	default:   return -1;
	}
	vmie_strlcpy(arch, a, size);
	return 0;
}

int vmie_insp_pe_arch(const uint8_t *buf, size_t len, char *arch,
		      size_t size)
{
	uint32_t pe;
	const char *a;

	if (len < 0x40 || buf[0] != 'M' || buf[1] != 'Z')
		return -1;
	pe = vmie_le32(buf + 0x3c);
	if (pe > len || len - pe < 6 || memcmp(buf + pe, "PE\0\0", 4))
		return -1;
	switch (vmie_le16(buf + pe + 4)) {
	case 0x14c:  a = "i386"; break;
	case 0x8664: a = "x86_64"; break;
	case 0xaa64: a = "aarch64"; break;
	case 0x1c4:  a = "arm"; break;
	case 0x200:  a = "ia64"; break;
	default:     return -1;
	}
	vmie_strlcpy(arch, a, size);
	return 0;
}
