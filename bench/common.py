"""What every benchmark needs: cleanup that survives Ctrl-C, statistics, tables, machine.

A benchmark starts registries, listeners and engine threads; if any of them outlived an
interrupted run it would hold a port, a temp dir or a thread. Everything is therefore
registered with a :class:`Workspace` the moment it exists, and undone in reverse order.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.support.registry import RegistryServer, find_registry_binary

MB = 1_000_000


class Workspace:
    """Temp dirs, registries and callbacks to undo, closed last-in first-out.

    Registries get their own temp dir each (registered first, so the directory outlives
    the process that writes its log into it).
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Undo everything; safe to call twice."""
        self._stack.close()

    def callback(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` when the workspace closes (before earlier callbacks)."""
        self._stack.callback(function, *args)

    def tempdir(self, label: str) -> Path:
        """A fresh directory, removed when the workspace closes."""
        path = Path(tempfile.mkdtemp(prefix=f"hoister-bench-{label}-"))
        self._stack.callback(shutil.rmtree, path, ignore_errors=True)
        return path

    def registry(self, label: str, **options: Any) -> RegistryServer:
        """Start a ``docker-registry`` in its own temp dir; stopped when the workspace closes."""
        server = RegistryServer(self.tempdir(label), **options)
        self._stack.callback(server.stop)
        return server.start()


# -- statistics ------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """Median, the figure reported: one slow outlier (a GC, a page-cache miss) moves it least."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (numpy's default), defined for one value too."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def ratio(numerator: float, denominator: float) -> str:
    """``3.21x``, or a dash where the denominator is zero (nothing to compare against)."""
    return f"{numerator / denominator:.2f}x" if denominator > 0 else "-"


# -- output ----------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> str:
    """Plain-text table; the first ``left`` columns are labels, the rest right-aligned numbers."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if index < left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def say(text: str, width: int = 100) -> None:
    """A paragraph of a report, wrapped so a terminal or a pasted result stays readable."""
    print(textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False))


def heading(title: str) -> None:
    """Section title, flushed at once so a long run shows where it is."""
    print(f"\n== {title} ==", flush=True)


def progress(message: str) -> None:
    """A progress line on stderr, so the results on stdout stay a clean report."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


# -- the machine -----------------------------------------------------------------------


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else f"unavailable (exit {done.returncode})"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_lines() -> list[str]:
    """What the figures depend on, printed first so a pasted result carries its context."""
    import hoister

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = f"{os.cpu_count()} CPUs" + (f" ({usable} usable)" if usable is not None else "")
    skopeo = shutil.which("skopeo")
    return [
        f"machine   {cpus}, {_cpu_model()}",
        f"os        {platform.platform()}",
        f"python    {platform.python_implementation()} {platform.python_version()}",
        f"hoister   {hoister.__version__}",
        f"registry  {_first_line([find_registry_binary(), '--version'])}",
        f"skopeo    {_first_line([skopeo, '--version']) if skopeo else 'not found'}",
    ]
