"""Waking the engine's loop, from any thread and from a signal handler.

``threading.Event.set`` takes a lock; called from a signal handler while the same thread
waits on that event (the agent's main thread, asleep until the next poll), it deadlocks
— a SIGTERM that never stops the agent. A pipe needs no lock: ``set`` writes a byte,
``wait`` selects on the read end, so a signal handler may call ``set`` at any moment.
"""

from __future__ import annotations

import contextlib
import os
import select
import weakref


class Waker:
    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        weakref.finalize(self, _close, self._read, self._write)

    def set(self) -> None:
        """Wake the waiter (safe in a signal handler: one write, no lock)."""
        # A full pipe holds wake-ups already: the waiter will wake.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"\0")

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True if woken. Wake-ups are consumed."""
        ready, _, _ = select.select([self._read], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass
        return True


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
