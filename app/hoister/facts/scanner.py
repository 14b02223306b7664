"""Vulnerability counts from a scanner the admin configures, or from Harbor's own scans.

The scanner is a command line per registry profile, such as
``trivy image --format json {ref}``. It is split with :mod:`shlex` *before* ``{ref}`` is
put in, and run without a shell, so an image reference can never become shell syntax.
Its pipes are read in the calling thread with a selector (no reader threads to leak):
stdout up to a cap, beyond which the scanner is stopped, and only the tail of stderr, so
memory stays bounded whatever it prints. A scanner that hangs is killed with its whole
process group (scanners start helpers), and so are helpers a finished scanner left
behind: nothing outlives the call.
"""

from __future__ import annotations

import base64
import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hoister import jsonlimits
from hoister.errors import InvalidInput
from hoister.facts.model import Vulnerabilities
from hoister.facts.reports import MAX_REPORT_BYTES, ScanReport, report_from_document
from hoister.facts.sbom import FactError, WrongKind, human_size, load_json, parse_time
from hoister.registry import NotFound, ProtocolError, RegistryClient, RegistryError

PLACEHOLDER = "{ref}"
DEFAULT_TIMEOUT = 300.0
#: How much of stderr a failure message quotes: the end is where scanners say why.
STDERR_TAIL = 1500
_POLL = 0.05
_CHUNK = 65536
_GRACE = 2.0
#: Harbor's summary words, mapped like MSR's: Critical and High are both "critical".
HARBOR_BUCKETS = {"critical": "critical", "high": "critical", "medium": "major", "low": "minor"}


def scanner_arguments(command_template: str, reference: str) -> list[str]:
    """The argument vector for ``reference``; :class:`InvalidInput` for a bad template."""
    try:
        words = shlex.split(command_template)
    except ValueError as exc:
        raise InvalidInput(f"the scanner command cannot be split into words: {exc}") from exc
    if not words:
        raise InvalidInput("the scanner command is empty")
    if not any(PLACEHOLDER in word for word in words):
        raise InvalidInput(f"the scanner command must contain {PLACEHOLDER}, the image reference")
    return [word.replace(PLACEHOLDER, reference) for word in words]


def run_scanner(
    command_template: str,
    reference: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    max_output: int = MAX_REPORT_BYTES,
) -> ScanReport:
    """Run the scanner on ``reference`` (``host/repo@sha256:...``) and parse its report.

    Every failure is a :class:`FactError` with a sentence: not found, timed out, output
    too large, non-zero exit (with the end of stderr), output that is no report.
    """
    try:
        args = scanner_arguments(command_template, reference)
    except InvalidInput as exc:
        raise FactError(str(exc)) from exc
    try:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise FactError(f"the scanner {args[0]!r} was not found") from exc
    except (OSError, ValueError) as exc:
        raise FactError(f"the scanner {args[0]!r} could not be started: {exc}") from exc
    with process:
        try:
            data, problem = _collect(process, timeout, max_output)
        finally:
            _kill_group(process)  # on every path: helpers it left running die with it
    if problem is None and process.returncode != 0:
        problem = f"the scanner exited with status {process.returncode}"
    if problem is not None:
        raise FactError(problem)
    try:
        return report_from_document(load_json(data, max_output, "scanner output"))
    except WrongKind as exc:
        raise FactError(f"the scanner printed JSON that is no known report ({exc})") from exc
    except FactError as exc:
        raise FactError(f"the scanner's output is not a report: {exc}") from exc


def _collect(
    process: subprocess.Popen[bytes], timeout: float, cap: int
) -> tuple[bytes, str | None]:
    """Read stdout (up to ``cap``) and the tail of stderr until both close or time runs out.

    Returns the output and what went wrong, if anything; a failure message ends with the
    tail of stderr, where scanners say why (or, when stopped, how far they got).
    """
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    problem: str | None = None
    exited = False
    with selectors.DefaultSelector() as selector:
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map() and problem is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                problem = f"the scanner did not finish within {timeout:g} s"
                break
            for key, _ in selector.select(min(remaining, 0.5)):
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is process.stdout:
                    out += chunk
                    if len(out) > cap:
                        problem = f"the scanner's output is too large (over {human_size(cap)})"
                else:
                    err += chunk
                    del err[:-STDERR_TAIL]
            if not exited and process.poll() is not None:
                exited = True
                _kill_group(process)  # helpers may hold the pipes open after it exited
    if problem is None:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problem = f"the scanner did not finish within {timeout:g} s"
    tail = " ".join(err.decode("utf-8", errors="replace").split())
    if problem is None and process.returncode != 0 and tail:
        problem = f"the scanner exited with status {process.returncode}: {tail}"
    elif problem is not None and tail:
        problem += f"; it last said: {tail[-300:]}"
    return bytes(out), problem


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the scanner's process group, KILL what is left after a grace period, reap."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.wait()  # the group is empty: everything has already exited
        return
    deadline = time.monotonic() + _GRACE
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or its zombie keeps the group "alive"
        if not _group_alive(process.pid):
            break
        time.sleep(_POLL)
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs; zombies do not count.

    In a container whose PID 1 does not reap orphans, killed helpers stay zombies, and
    ``killpg(pgid, 0)`` would call the group alive until the grace period ran out.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


# -- Harbor ----------------------------------------------------------------------------


def harbor_path(repository: str, digest: str) -> str | None:
    """Harbor's artifact URL for ``project/rest``; None for a name Harbor cannot have.

    Harbor wants the repository name without its project, with ``/`` encoded twice
    (``a/b`` -> ``a%252Fb``), because its router decodes once before matching.
    """
    project, _, rest = repository.partition("/")
    if not project or not rest:
        return None
    encoded = quote(quote(rest, safe=""), safe="")
    return (
        f"/api/v2.0/projects/{quote(project, safe='')}/repositories/{encoded}"
        f"/artifacts/{digest}?with_scan_overview=true"
    )


def harbor_overview(client: RegistryClient, repository: str, digest: str) -> ScanReport | None:
    """Harbor's scan summary of an image; None when the registry is not Harbor.

    Raises :class:`FactError` when it is Harbor but there is no finished scan, or Harbor
    refused the credentials, so the fact is unknown with that reason.
    """
    path = harbor_path(repository, digest)
    if path is None:
        return None
    headers = {"Accept": "application/json"}
    credential = client.session.auth.credential
    if credential is not None and credential.kind == "password":
        # Harbor's API takes the registry's credentials as basic auth. Caveat: once the
        # session has learnt a bearer challenge from /v2/, it puts a token in place of this.
        pair = f"{credential.username}:{credential.secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    what = f"reading Harbor's scan overview of {repository}@{digest}"
    try:
        response = client.session.send("GET", path, scopes=[], what=what, headers=headers)
    except (NotFound, ProtocolError):
        return None
    except RegistryError as exc:
        if exc.status in (401, 403):
            raise FactError(f"Harbor refused to show its scan of the image: {exc}") from exc
        return None
    try:
        body = jsonlimits.loads(response.content, what="Harbor's scan overview")
    except jsonlimits.InvalidJSON:
        return None
    if not isinstance(body, dict) or "digest" not in body:
        return None
    return _harbor_report(body.get("scan_overview"))


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _harbor_report(overview: Any) -> ScanReport:
    """Harbor's summary in MSR's buckets; the first finished report when it has several."""
    reports = [r for r in _mapping(overview).values() if isinstance(r, dict)]
    if not reports:
        raise FactError("Harbor has not scanned this image")
    finished = [r for r in reports if str(r.get("scan_status", "")).lower() == "success"]
    if not finished:
        status = str(reports[0].get("scan_status") or "unknown")
        raise FactError(f"Harbor has no finished scan of the image (status: {status})")
    report = finished[0]
    summary = _mapping(report.get("summary"))
    counts = {str(w).lower(): c for w, c in _mapping(summary.get("summary")).items()}
    buckets = {"critical": 0, "major": 0, "minor": 0}
    for word, count in counts.items():
        bucket = HARBOR_BUCKETS.get(word)
        if bucket is not None and _is_count(count):
            buckets[bucket] += count
    total: int = summary["total"] if _is_count(summary.get("total")) else 0
    total = total or sum(c for c in counts.values() if _is_count(c))
    name = str(_mapping(report.get("scanner")).get("name") or "Harbor")
    created = parse_time(report.get("end_time"))
    return ScanReport(f"Harbor ({name})", Vulnerabilities(**buckets, total=total), total, created)
