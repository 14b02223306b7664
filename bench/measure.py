"""Run commands one after another in a small launcher; wall time and peak RSS of each.

Peak RSS is ``ru_maxrss`` from ``wait4`` of each child. It cannot be taken from a child
of the benchmark itself: Linux counts the high-water mark of the memory a child was
forked (or vforked) from into that child's ``ru_maxrss``, and the benchmark holds its
images in memory (hundreds of MB). The launcher is a fresh interpreter of about 10 MB,
below any measured tool's own size, so a child's figure is its own.
(``RUSAGE_CHILDREN`` would give only the largest child since the start, so per-child
figures come from ``os.wait4``.)

The launcher also times each command from its fork to its reaping, so a loop of many
``skopeo`` processes is timed without the benchmark's own start-up in between. It can
run inside a wrapper (``unshare ... sh -c``), which then applies to the whole loop.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import REPO_ROOT

#: argv: spec.json out.json. The spec holds commands, an environment and a log path;
#: the output one record per command.
LAUNCHER = """
import json, os, sys, time
spec = json.load(open(sys.argv[1]))
log = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
env = spec["env"] if spec["env"] is not None else dict(os.environ)
records = []
for command in spec["commands"]:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.execvpe(command[0], command, env)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    records.append({"seconds": time.perf_counter() - started,
                    "status": os.waitstatus_to_exitcode(status),
                    "maxrss_kib": usage.ru_maxrss})
    if records[-1]["status"] != 0 and spec["stop_on_failure"]:
        break
json.dump(records, open(sys.argv[2], "w"))
"""


@dataclass(frozen=True)
class Record:
    """One command: wall seconds, exit status, peak RSS in KiB."""

    seconds: float
    status: int
    maxrss_kib: int


@dataclass(frozen=True)
class Measured:
    """A whole run of commands."""

    records: tuple[Record, ...]
    log: str  # what the commands printed, for an error message

    @property
    def seconds(self) -> float:
        """The sum of the commands' times (first fork to last reaping, less the
        launcher's few microseconds between commands)."""
        return sum(record.seconds for record in self.records)

    @property
    def peak_kib(self) -> int:
        """The largest ``ru_maxrss`` of any one command (0 for none)."""
        return max((record.maxrss_kib for record in self.records), default=0)

    @property
    def failed(self) -> list[int]:
        """Indexes of the commands that did not exit 0."""
        return [index for index, record in enumerate(self.records) if record.status != 0]


def records_from(data: Sequence[Mapping[str, object]]) -> tuple[Record, ...]:
    """The launcher's JSON records as :class:`Record` values (a missing field is an error)."""
    return tuple(
        Record(float(str(item["seconds"])), int(str(item["status"])), int(str(item["maxrss_kib"])))
        for item in data
    )


def run(
    commands: Sequence[Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    wrapper: Sequence[str] = (),
    timeout: float = 1800.0,
) -> Measured:
    """Run ``commands`` in order in one launcher; raise if one of them failed."""
    with tempfile.TemporaryDirectory(prefix="hoister-bench-measure-") as scratch:
        spec_path, out_path = Path(scratch) / "spec.json", Path(scratch) / "out.json"
        log_path = Path(scratch) / "output.log"
        spec = {
            "commands": [list(command) for command in commands],
            "env": dict(env) if env is not None else None,
            "log": str(log_path),
            "stop_on_failure": True,
        }
        spec_path.write_text(json.dumps(spec))
        launcher = [sys.executable, "-c", LAUNCHER, str(spec_path), str(out_path)]
        done = subprocess.run(
            [*wrapper, *launcher],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        output = log_path.read_text(errors="replace") if log_path.exists() else ""
        if done.returncode != 0 or not out_path.exists():
            raise RuntimeError(
                f"the launcher failed (exit {done.returncode}): {done.stderr.strip()}\n{output}"
            )
        measured = Measured(records_from(json.loads(out_path.read_text())), output)
    if measured.failed or len(measured.records) != len(commands):
        first = commands[len(measured.records) - 1] if measured.records else commands[0]
        tail = "\n".join(measured.log.splitlines()[-20:])
        raise RuntimeError(f"{' '.join(first[:4])} ... failed:\n{tail}")
    return measured
