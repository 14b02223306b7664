"""The admin's scanner command, run for real with fake scanners; Harbor's overview, mocked."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoister.credentials import Credential
from hoister.errors import InvalidInput
from hoister.facts import scanner
from hoister.facts.model import Vulnerabilities
from hoister.facts.sbom import FactError
from hoister.facts.scanner import harbor_overview, harbor_path, run_scanner, scanner_arguments
from hoister.registry import RegistryClient

REF = "registry.example:5000/dev/website@sha256:" + "ab" * 32
DIGEST = "sha256:" + "cd" * 32

GOOD = """
import json, sys
ref = sys.argv[1]
open(sys.argv[2], "w").write(ref)
vulns = [
    {"VulnerabilityID": "CVE-1", "PkgName": "openssl", "Severity": "HIGH",
     "CVSS": {"nvd": {"V3Score": 9.8}}},
    {"VulnerabilityID": "CVE-2", "PkgName": "zlib", "Severity": "MEDIUM"},
]
print(json.dumps({"ArtifactName": ref, "Results": [{"Target": ref, "Vulnerabilities": vulns}]}))
print("progress messages go to stderr", file=sys.stderr)
"""

HANG = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a stubborn scanner: only KILL stops it
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[2], "w").write(f"{os.getpid()} {helper.pid}")
time.sleep(600)
"""

GARBAGE = "print('Scanning... 100%\\n\\x00\\x01 not json at all')"
NOT_A_REPORT = "import json; print(json.dumps({'hello': 'world'}))"
FAILS = """
import sys
print("2026-11-30T10:00:00Z INFO downloading DB", file=sys.stderr)
print("FATAL: image scan error: unauthorized: authentication required", file=sys.stderr)
sys.exit(3)
"""
LEAVES_HELPER = """
import json, subprocess, sys
# A helper that inherits stdout and outlives the scanner keeps the pipe open.
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[2], "w").write(str(helper.pid))
print(json.dumps({"ArtifactName": sys.argv[1], "Results": []}), flush=True)
"""
FLOOD = """
import sys
chunk = b"x" * 65536
while True:
    sys.stdout.buffer.write(chunk)
"""


def command(tmp_path: Path, source: str, name: str = "scanner.py") -> str:
    script = tmp_path / name
    script.write_text(source)
    marker = tmp_path / "marker.txt"
    return " ".join(shlex.quote(p) for p in (sys.executable, str(script))) + (
        f" {{ref}} {shlex.quote(str(marker))}"
    )


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for a reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def test_a_scanner_report_is_parsed(tmp_path: Path) -> None:
    report = run_scanner(command(tmp_path, GOOD), REF, timeout=60)
    assert (tmp_path / "marker.txt").read_text() == REF
    assert report.scanner == "Trivy"
    assert report.vulnerabilities == Vulnerabilities(critical=1, major=1, minor=0, total=2)


def test_a_hanging_scanner_is_killed_with_its_helpers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner, "_GRACE", 0.3)
    started = time.monotonic()
    with pytest.raises(FactError, match="did not finish within 1 s"):
        run_scanner(command(tmp_path, HANG), REF, timeout=1)
    assert time.monotonic() - started < 10
    pids = [int(p) for p in (tmp_path / "marker.txt").read_text().split()]
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (GARBAGE, "output is not a report: the scanner output is not valid JSON"),
        (NOT_A_REPORT, "printed JSON that is no known report"),
        ("pass", "not valid JSON"),
    ],
)
def test_garbage_output_is_a_fact_error(tmp_path: Path, source: str, reason: str) -> None:
    with pytest.raises(FactError, match=reason):
        run_scanner(command(tmp_path, source), REF, timeout=60)


def test_a_failing_scanner_is_reported_with_the_end_of_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(FactError) as caught:
        run_scanner(command(tmp_path, FAILS), REF, timeout=60)
    message = str(caught.value)
    assert message.startswith("the scanner exited with status 3: ")
    assert message.endswith("FATAL: image scan error: unauthorized: authentication required")


def test_helpers_a_finished_scanner_left_behind_are_stopped(tmp_path: Path) -> None:
    started = time.monotonic()
    report = run_scanner(command(tmp_path, LEAVES_HELPER), REF, timeout=60)
    assert report.vulnerabilities.all == 0
    assert time.monotonic() - started < 10
    helper = int((tmp_path / "marker.txt").read_text())
    deadline = time.monotonic() + 5
    while alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(helper)


def test_a_silent_failure_still_says_its_status(tmp_path: Path) -> None:
    with pytest.raises(FactError, match=r"^the scanner exited with status 2$"):
        run_scanner(command(tmp_path, "raise SystemExit(2)"), REF, timeout=60)


def test_a_flood_of_output_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(FactError, match=r"too large \(over 1 MiB\)"):
        run_scanner(command(tmp_path, FLOOD), REF, timeout=60, max_output=1024 * 1024)


def test_a_missing_scanner_or_a_bad_template(tmp_path: Path) -> None:
    with pytest.raises(FactError, match="'no-such-scanner-here' was not found"):
        run_scanner("no-such-scanner-here image {ref}", REF)
    with pytest.raises(FactError, match="must contain"):
        run_scanner("trivy image", REF)
    with pytest.raises(InvalidInput, match="cannot be split"):
        scanner_arguments("trivy 'unbalanced {ref}", REF)


def test_the_reference_never_becomes_shell_syntax() -> None:
    args = scanner_arguments("trivy image --format json --output '/tmp/a b' {ref}", "x; rm -rf ~")
    assert args == ["trivy", "image", "--format", "json", "--output", "/tmp/a b", "x; rm -rf ~"]
    assert scanner_arguments("grype registry:{ref} -o json", REF)[1] == f"registry:{REF}"


# -- Harbor ----------------------------------------------------------------------------


def overview(status: str = "Success", summary: dict[str, int] | None = None) -> dict[str, Any]:
    counts = summary or {"Critical": 1, "High": 3, "Medium": 4, "Low": 2, "Unknown": 2}
    return {
        "application/vnd.security.vulnerability.report; version=1.1": {
            "report_id": "r-1",
            "scan_status": status,
            "severity": "High",
            "summary": {"total": 12, "fixable": 5, "summary": counts},
            "start_time": "2026-11-30T10:00:00Z",
            "end_time": "2026-11-30T10:00:10Z",
            "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.57.0"},
        }
    }


def harbor_client(handler: Any, user: str | None = "robot$ci") -> RegistryClient:
    credential = Credential(user, "s3cret") if user else None
    return RegistryClient(
        "https://harbor.example", credential, transport=httpx.MockTransport(handler)
    )


def test_harbor_path_double_encodes_the_repository() -> None:
    assert harbor_path("library/team/website", DIGEST) == (
        "/api/v2.0/projects/library/repositories/team%252Fwebsite/artifacts/"
        f"{DIGEST}?with_scan_overview=true"
    )
    assert harbor_path("website", DIGEST) is None


def test_harbor_scan_overview_in_msr_buckets() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"digest": DIGEST, "scan_overview": overview()})

    with harbor_client(handler) as client:
        report = harbor_overview(client, "library/team/website", DIGEST)
    assert report is not None
    assert report.vulnerabilities == Vulnerabilities(critical=4, major=4, minor=2, total=12)
    assert report.scanner == "Harbor (Trivy)"
    assert report.created == datetime(2026, 11, 30, 10, 0, 10, tzinfo=UTC)
    (request,) = seen
    assert request.url.raw_path == (
        b"/api/v2.0/projects/library/repositories/team%252Fwebsite/artifacts/"
        + DIGEST.encode()
        + b"?with_scan_overview=true"
    )
    assert request.headers["authorization"] == "Basic cm9ib3QkY2k6czNjcmV0"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": "no such"}]}),
        httpx.Response(200, text="<html>welcome</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, json={"repositories": []}),
    ],
)
def test_not_harbor_is_none(response: httpx.Response) -> None:
    with harbor_client(lambda request: response, user=None) as client:
        assert harbor_overview(client, "library/website", DIGEST) is None


def test_a_repository_without_project_asks_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    with harbor_client(handler) as client:
        assert harbor_overview(client, "website", DIGEST) is None


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"digest": DIGEST, "scan_overview": overview("Running")}, 200, "status: Running"),
        ({"digest": DIGEST}, 200, "has not scanned"),
        ({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}, 401, "refused"),
        ({"errors": [{"code": "FORBIDDEN", "message": "forbidden"}]}, 403, "refused"),
    ],
)
def test_harbor_without_a_usable_scan_is_a_fact_error(
    body: dict[str, Any], status: int, reason: str
) -> None:
    with (
        harbor_client(lambda request: httpx.Response(status, json=body)) as client,
        pytest.raises(FactError, match=reason),
    ):
        harbor_overview(client, "library/website", DIGEST)
