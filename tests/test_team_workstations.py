"""Must show: two workstations on one team database see one truth and promote once.

Two ``HOISTER_HOME``s (two machines: their own files, logs and settings) and one
``HOISTER_DATABASE_URL``, a real registry and a real PostgreSQL. What one saves the
other lists; one push, polled by both at once, is promoted once and both histories
show it; a save over someone else's newer edit is refused with who made it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hoister.policies.errors import PolicyConflict
from hoister.registry import RegistryClient
from hoister.store import Database, PolicyStore
from hoister.store.location import ENV_URL
from tests.support.images import build_image, skopeo_copy_layout, skopeo_inspect, write_oci_layout
from tests.support.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[1]

Cli = Callable[..., tuple[int, str, str]]


class Workstation:
    """One machine: its own HOISTER_HOME, the team's database."""

    def __init__(self, name: str, root: Path, url: str, cli: Cli, mp: pytest.MonkeyPatch) -> None:
        self.name, self.home, self.url = name, root / name, url
        self._cli, self._mp = cli, mp

    def __call__(self, *argv: str) -> str:
        """Run ``hoister ARGV`` in process as this workstation; it must succeed."""
        self._mp.setenv("HOISTER_HOME", str(self.home))
        code, out, err = self._cli(*argv)
        assert code == 0, f"{self.name}: hoister {' '.join(argv)}: {err}"
        return out

    def start(self, *argv: str) -> subprocess.Popen[str]:
        """``hoister ARGV`` as a process of its own, as an agent would run."""
        env = {
            "HOISTER_HOME": str(self.home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT / "app"),
            "DOCKER_CONFIG": str(self.home / "docker"),
            ENV_URL: self.url,
        }
        return subprocess.Popen(
            [sys.executable, "-m", "hoister", *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def workstations(
    cli: Cli, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Workstation, Workstation]:
    monkeypatch.setenv(ENV_URL, postgres_url)
    return (
        Workstation("ws1", tmp_path, postgres_url, cli, monkeypatch),
        Workstation("ws2", tmp_path, postgres_url, cli, monkeypatch),
    )


def _push(tmp_path: Path, registry: RegistryServer, tag: str, seed: int) -> str:
    """Push a new image into dev/website with skopeo, as a build would."""
    image = build_image(seed=seed)
    layout = write_oci_layout(tmp_path / f"layout-{seed}", image, tag)
    skopeo_copy_layout(layout, tag, registry.host, "dev/website", tag)
    return image.digest


def test_two_workstations_share_one_truth(
    workstations: tuple[Workstation, Workstation],
    registry: RegistryServer,
    tmp_path: Path,
) -> None:
    ws1, ws2 = workstations
    ws1("profile", "add", "local", "--url", registry.url)
    ws1(
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        "dev/website",
        "--target",
        "qa/website",
        "--rule",
        "tag ew stable",
        "--template",
        "%n-qa",
        "--name",
        "stable to QA",
    )

    # Saved on one, listed on the other; nothing of it in either machine's own files.
    assert [p["name"] for p in json.loads(ws2("profile", "list", "--json"))] == ["local"]
    policies = json.loads(ws2("policy", "list", "--json"))
    assert [p["name"] for p in policies] == ["stable to QA"]
    for ws in (ws1, ws2):
        assert not (ws.home / "config" / "profiles.json").exists()
        info = json.loads(ws("store", "info", "--json"))
        assert (info["origin"], info["backend"], info["policies"]) == (ENV_URL, "postgresql", 1)

    ws1("run", "--once")  # the first look at dev/website: a baseline, for both
    digest = _push(tmp_path, registry, "1.1-stable", seed=80)

    # Both workstations poll at the same time.
    agents = [ws.start("run", "--once") for ws in (ws1, ws2)]
    outputs = [agent.communicate(timeout=300) for agent in agents]
    for agent, (_, err) in zip(agents, outputs, strict=True):
        assert agent.returncode == 0, err
    logs = [err for _, err in outputs]
    assert (
        sum("promoted dev/website:1.1-stable -> qa/website:1.1-stable-qa" in e for e in logs) == 1
    )

    with RegistryClient(registry.url) as client:
        tags = list(client.tags("qa/website"))
    # One target tag, and one provenance record (kept under the referrers tag scheme).
    assert [t for t in tags if not t.startswith("sha256-")] == ["1.1-stable-qa"]
    assert [t for t in tags if t.startswith("sha256-")] == [digest.replace(":", "-")]
    info = skopeo_inspect(registry.host, "qa/website", "1.1-stable-qa")
    assert isinstance(info, dict) and info["Digest"] == digest

    histories = [json.loads(ws("history", "--json")) for ws in (ws1, ws2)]
    assert histories[0] == histories[1]
    assert [r["outcome"] for r in histories[0]] == ["promoted", "matched"]
    assert histories[0][0]["source_digest"] == digest
    assert "dev/website:1.1-stable -> qa/website:1.1-stable-qa" in ws2("history")

    # Running again on both promotes nothing more.
    ws2("run", "--once")
    ws1("run", "--once")
    assert len(json.loads(ws1("history", "--json"))) == 2


def test_a_concurrent_edit_is_refused_with_who_made_it(
    workstations: tuple[Workstation, Workstation], postgres_url: str
) -> None:
    # No command line path saves from a stale read: `policy enable|disable|apply` read and
    # write in one transaction under the policies lock. A stale save happens between two
    # editors (the app's, one per workstation), so it is shown with two PolicyStores.
    ws1, ws2 = workstations
    ws1("profile", "add", "local", "--url", "localhost:5000", "--no-verify")
    ws1(
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        "dev/a",
        "--target",
        "qa/a",
        "--template",
        "%n",
    )
    with (
        Database.open(postgres_url) as database,
        PolicyStore(database, author="ann@ws1") as ann,
        PolicyStore(database, author="bob@ws2") as bob,
    ):
        mine, theirs = ann.get(1), bob.get(1)  # both open the editor on version 1
        ann.update(mine.with_changes(description="ann's"))
        with pytest.raises(PolicyConflict, match="changed by ann@ws1") as refused:
            bob.update(theirs.with_changes(description="bob's"))
        assert (refused.value.updated_by, refused.value.version) == ("ann@ws1", 2)
    shown = json.loads(ws2("policy", "show", "1", "--json"))
    assert shown["description"] == "ann's"  # bob's save did not undo ann's
