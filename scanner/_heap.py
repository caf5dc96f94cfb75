"""Keep large, short-lived buffers from pinning memory in a long-running process.

glibc serves an allocation from `mmap` (returned to the system on free) only
above a threshold that it raises, by default, to the size of the largest block
freed so far (up to 32 MiB). After one 20 MB upload, every later 20 MB package,
pickle or transport buffer then comes from the heap, which freed memory rarely
leaves: the server's resident size grows with the largest skills it has seen.
A fixed threshold keeps big buffers on `mmap`, so each one is returned when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 1024 * 1024
_M_MMAP_THRESHOLD = -3


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold; return False where glibc is not the allocator."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
