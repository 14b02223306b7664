"""Command-line engines say who they are: ``hoister run`` as an agent, ``hoister promote``
as a one-off CLI run; both register, stop cleanly, and name themselves in every history
row they write."""

from __future__ import annotations

import json
import os
import socket

from hoister.paths import default_paths
from hoister.store import Database
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.test_cli_agent import _seed

ME = f"{socket.gethostname()}:{os.getpid()}"  # the cli fixture runs in this process


def _engines() -> list[tuple[str, bool, bool]]:
    """(kind, promoting, stopped) of every engine row, oldest first."""
    with Database(default_paths().database).connection() as conn:
        rows = conn.execute("SELECT kind, promoting, stopped_at FROM engines ORDER BY started_at")
        return [(r["kind"], bool(r["promoting"]), r["stopped_at"] is not None) for r in rows]


def test_run_and_promote_name_their_engine(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _seed(cli, registry)
    assert cli("run", "--once")[0] == 0  # the baseline
    push_image(registry.url, "dev/website", "2.0-stable", build_image(seed=130))
    code, _, err = cli("run", "--once")
    assert code == 0, err
    assert f"this agent is agent@{ME} on " in err
    push_image(registry.url, "dev/website", "2.1", build_image(seed=131))
    code, _, err = cli("promote", "dev/website:2.1", "qa/website:hand", "--profile", "local")
    assert code == 0, err

    rows = json.loads(cli("history", "--json")[1])
    by = [(r["outcome"], r["target_tag"], r["agent"]) for r in reversed(rows)]
    assert by == [
        ("matched", None, f"agent@{ME}"),
        ("promoted", "2.0-stable-qa", f"agent@{ME}"),
        ("promoted", "hand", f"cli@{ME}"),
    ]
    # two agent runs and one promote: each registered, each said it stopped
    assert _engines() == [("agent", True, True), ("agent", True, True), ("cli", True, True)]
