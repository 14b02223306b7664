"""The malloc arenas a process of many copy threads keeps: glibc's ``malloc_info``
lists them, counted in a fresh interpreter whose threads each allocate as a copy does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Eight threads, each holding 64 KiB reads for a while, as the copies across registries
#: do; then the arenas glibc made, from ``malloc_info``'s XML (one ``<heap nr=`` each).
PROBE = """
import ctypes, sys, threading
if sys.argv[1] == "capped":
    import hoister.engine.transfer  # noqa: F401  (caps the arenas at import)
barrier = threading.Barrier(8)
def work():
    held = [bytes(64 * 1024) for _ in range(8)]
    barrier.wait()
    del held
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
stream = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
"""


def _arenas(mode: str, out: Path) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "app"), *sys.path])
    subprocess.run([sys.executable, "-c", PROBE, mode, str(out)], env=env, check=True)
    return out.read_text().count("<heap nr=")


@pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"),
    reason="malloc arenas are glibc's",
)
def test_the_engine_keeps_two_malloc_arenas_however_many_threads_copy(tmp_path: Path) -> None:
    from hoister.engine.arenas import MALLOC_ARENAS

    assert _arenas("plain", tmp_path / "plain.xml") > MALLOC_ARENAS  # glibc on its own
    assert _arenas("capped", tmp_path / "capped.xml") == MALLOC_ARENAS
