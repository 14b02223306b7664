"""How many malloc arenas the process keeps: the streaming copies' share of peak RSS.

glibc gives every thread that allocates an arena of its own (up to 8 per core) and each
arena keeps the high-water mark of what its thread held. The copies across registries
hold a few 64 KiB reads each, on 16 threads at once (4 promotions of 4 blobs), so the
arenas, not the reads, were most of what streaming added to peak RSS.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

#: Arenas shared by all threads. glibc fixes its limit when a second thread first
#: allocates, so this is set before the engine starts any.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter
_capped = False


def cap_malloc_arenas() -> None:
    """Let glibc keep at most ``MALLOC_ARENAS`` arenas for all threads (once).

    Measured on ``hoister run --once`` of 50 images across registries: peak RSS 81 MiB
    with glibc's default, 72 MiB with two arenas, no more CPU (the reads are few and
    large, so threads rarely meet on an arena's lock). A ``MALLOC_ARENA_MAX`` in the
    environment (glibc's own setting) is left as it is; other C libraries are not
    touched.
    """
    global _capped
    if _capped:
        return
    _capped = True
    if "MALLOC_ARENA_MAX" in os.environ or not _glibc():
        return
    import ctypes  # only where there is a glibc to ask

    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError) as exc:  # pragma: no cover - a glibc without it
        log.debug("malloc arenas left as they are: %s", exc)


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):
        return False
