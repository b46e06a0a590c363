"""Kernel file-system calls shared by the fixture fillers of the tests that
build Btrfs and XFS images through a loop mount (tests/fs/btrfs/kfill.py,
tests/fs/xfs/kfill.py): fallocate(2), FICLONERANGE (reflink a range) and
fragmented files."""

import ctypes
import fcntl
import mmap
import os

FICLONERANGE = 0x4020940D
FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE = 1, 2
_libc = None


def fallocate(fd, mode, off, length):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int,
                                    ctypes.c_longlong, ctypes.c_longlong]
    if _libc.fallocate(fd, mode, off, length) != 0:
        raise OSError(ctypes.get_errno(), "fallocate")


def clone_range(src, dst, src_off, length, dst_off):
    s = os.open(src, os.O_RDONLY)
    d = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    arg = (s.to_bytes(8, "little", signed=True) + src_off.to_bytes(8, "little")
           + length.to_bytes(8, "little") + dst_off.to_bytes(8, "little"))
    fcntl.ioctl(d, FICLONERANGE, arg)
    os.close(s)
    os.close(d)


def fragmented(paths, blocks, rnd):
    """Alternate O_DIRECT 4 KiB writes of random bytes (from rnd) between
    files: one extent each."""
    fds = [os.open(x, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
           for x in paths]
    buf = mmap.mmap(-1, 4096)
    for i in range(blocks):
        for fd in fds:
            buf[:] = rnd.randbytes(4096)
            os.pwrite(fd, buf, i * 4096)
    for fd in fds:
        os.close(fd)
