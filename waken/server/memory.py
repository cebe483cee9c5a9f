"""glibc's malloc in a worker: two arenas at most, and free pages handed back after a burst.

Other C libraries (musl) lack mallopt and malloc_trim: there, both calls do nothing.
"""
import ctypes

M_ARENA_MAX = -8   # mallopt's parameter number in glibc's malloc.h

try:
    # The symbols the process already has, the C library's among them: no library search
    # (ctypes.util.find_library runs ldconfig, ~15 ms at every start).
    _libc = ctypes.CDLL(None)
except (OSError, TypeError):
    _libc = None


def cap_arenas(count):
    """Keep the process's threads to `count` malloc arenas."""
    try:
        _libc.mallopt(M_ARENA_MAX, count)
    except AttributeError:
        pass


def trim():
    """Hand the heap's free pages back to the system (malloc_trim(0), ~1 ms on a busy worker)."""
    try:
        _libc.malloc_trim(0)
    except AttributeError:
        pass
