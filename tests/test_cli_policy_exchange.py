"""``hoister policy import``, ``export`` and ``edit``: MSR's files both ways, and edits.

The round trip MSR users depend on runs through the real ``hoister`` command against a
real registry: their export, with UUID ids, Go's zero time, nanoseconds and a ``sw``
rule with two values, imports twice into the same two policies, exports back equal,
and the two-value rule promotes either prefix in ``policy test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[1]

MSR_FILE = [
    {
        "id": "0f8e7d6c-5b4a-4392-8170-6a5b4c3d2e1f",
        "sourceRepository": "dev/website",
        "targetRepository": "qa/website",
        "tagTemplate": "%Y%m%d-%H%M%S",
        "enabled": True,
        "rules": [{"field": "tag", "operator": "ew", "values": ["stable"]}],
        "lastPromotedAt": "0001-01-01T00:00:00Z",
    },
    {
        "id": "7c2d9a4e-1b3f-4e5a-8d6c-9f0e1a2b3c4d",
        "sourceRepository": "dev/website",
        "targetRepository": "staging/website",
        "tagTemplate": "%n",
        "enabled": True,
        "rules": [
            {"field": "tag", "operator": "sw", "values": ["rc-", "release-"]},
            {"field": "vulnerability_critical", "operator": "lte", "values": ["0"]},
        ],
        "lastPromotedAt": "2026-11-02T10:11:12.123456789Z",
    },
]


def _hoister(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, as a user's shell runs it."""
    env = {
        "HOISTER_HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "app"),
        "DOCKER_CONFIG": str(home / "docker"),
    }
    return subprocess.run(
        [sys.executable, "-m", "hoister", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_an_msr_export_imports_twice_into_the_same_policies_and_exports_back_equal(
    registry: RegistryServer, hoister_home: Path, tmp_path: Path
) -> None:
    for n, tag in enumerate(("rc-1", "release-2.0", "1.0-stable", "nightly")):
        push_image(registry.url, "dev/website", tag, build_image(seed=300 + n))
    path = tmp_path / "website-policies.json"
    path.write_text(json.dumps(MSR_FILE))
    assert _hoister(hoister_home, "profile", "add", "msr", "--url", registry.url).returncode == 0

    first = _hoister(hoister_home, "policy", "import", str(path), "--profile", "msr")
    assert (first.returncode, first.stdout.strip()) == (0, "imported 2 policies: ids 1, 2")
    assert "Traceback" not in first.stderr
    again = _hoister(hoister_home, "policy", "import", str(path), "--profile", "msr")
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "imported 2 policies: 0 new, 0 updated, 2 unchanged (ids 1, 2)",
    )
    listed = json.loads(_hoister(hoister_home, "policy", "list", "--json").stdout)
    assert [p["msrId"] for p in listed] == [p["id"] for p in MSR_FILE]
    shown = _hoister(hoister_home, "policy", "show", "2").stdout
    assert f"msr id         {MSR_FILE[1]['id']}" in shown

    exported = _hoister(hoister_home, "policy", "export", "--format", "msr", "--strict")
    assert (exported.returncode, exported.stderr) == (0, "")
    assert json.loads(exported.stdout) == MSR_FILE
    for original in MSR_FILE:  # the fields MSR's tools read, character for character
        assert f'"id": "{original["id"]}"' in exported.stdout
        assert f'"lastPromotedAt": "{original["lastPromotedAt"]}"' in exported.stdout

    tested = _hoister(hoister_home, "policy", "test", "2", "--json")
    assert tested.returncode == 0, tested.stderr
    rows = {row["tag"]: row for row in json.loads(tested.stdout)}
    prefix = {tag: row["rules"][0]["verdict"] for tag, row in rows.items()}
    assert prefix == {
        "rc-1": "held",
        "release-2.0": "held",
        "1.0-stable": "failed",
        "nightly": "failed",
    }
    assert rows["nightly"]["rules"][0]["reason"] == (
        "Tag name: 'nightly', which does not start with 'rc-' or 'release-'"
    )


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """The suite's ``cli`` with two saved connections, as policies name them."""
    for name, port in (("local", 5000), ("other", 5001)):
        url = f"http://127.0.0.1:{port}"
        assert cli("profile", "add", name, "--url", url, "--no-verify")[0] == 0
    return cli


def _import(cli, tmp_path: Path, objects: list[dict[str, object]]) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "msr.json"
    path.write_text(json.dumps(objects))
    return cli("policy", "import", str(path), "--profile", "local")  # type: ignore[no-any-return]


def test_a_reimport_updates_what_msr_says_and_keeps_what_hoister_added(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert _import(cli, tmp_path, MSR_FILE)[0] == 0
    assert cli("policy", "edit", "1", "--name", "stable to QA", "--overwrite", "backup")[0] == 0
    changed = [dict(MSR_FILE[0], tagTemplate="%n-qa", enabled=False), MSR_FILE[1]]
    code, out, err = _import(cli, tmp_path, changed)
    assert (code, out.strip()) == (
        0,
        "imported 2 policies: 0 new, 1 updated (id 1), 1 unchanged (id 2)",
    ), err
    first = json.loads(cli("policy", "show", "1", "--json")[1])
    assert (first["tagTemplate"], first["enabled"]) == ("%n-qa", False)
    assert (first["name"], first["overwrite"]) == ("stable to QA", "backup")
    new = dict(MSR_FILE[0], id="b3a2c1d0-0000-4000-8000-000000000001", targetRepository="qa/x")
    code, out, _ = _import(cli, tmp_path, [*changed, new])
    assert out.strip() == "imported 3 policies: 1 new (id 3), 0 updated, 2 unchanged (ids 1, 2)"
    assert len(json.loads(cli("policy", "list", "--json")[1])) == 3


def test_a_hoister_export_imported_back_changes_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    add = ["policy", "add", "--profile", "local", "--template", "%n"]
    assert cli(*add, "--source", "dev/a", "--target", "qa/a", "--name", "a")[0] == 0
    document = cli("policy", "export")[1]
    code, out, err = cli("policy", "import", "-", stdin=document)
    assert (code, out.strip()) == (0, "imported 1 policy: 0 new, 0 updated, 1 unchanged (id 1)"), (
        err
    )
    code, out, _ = cli("policy", "import", "-", stdin=document.replace('"%n"', '"%n-b"'))
    assert out.strip() == "imported 1 policy: 0 new, 1 updated (id 1)"
    assert json.loads(cli("policy", "show", "1", "--json")[1])["tagTemplate"] == "%n-b"


def test_export_filters_by_profile_and_repository(cli) -> None:  # type: ignore[no-untyped-def]
    add = ["policy", "add", "--template", "%n"]
    assert cli(*add, "--profile", "local", "--source", "dev/a", "--target", "qa/a")[0] == 0
    assert cli(*add, "--profile", "local", "--source", "dev/b", "--target", "qa/b")[0] == 0
    assert cli(*add, "--profile", "other", "--source", "dev/a", "--target", "qa/a")[0] == 0

    def exported(*flags: str) -> list[tuple[str, str]]:
        code, out, err = cli("policy", "export", *flags)
        assert code == 0, err
        return [(p["sourceProfile"], p["sourceRepository"]) for p in json.loads(out)["policies"]]

    assert exported("--profile", "local") == [("local", "dev/a"), ("local", "dev/b")]
    assert exported("--repository", "dev/a") == [("local", "dev/a"), ("other", "dev/a")]
    assert exported("--profile", "other", "--repository", "dev/a") == [("other", "dev/a")]
    code, out, _ = cli(
        "policy", "export", "--format", "msr", "--profile", "local", "--repository", "dev/b"
    )
    assert [o["sourceRepository"] for o in json.loads(out)] == ["dev/b"]
    code, out, err = cli("policy", "export", "--format", "msr", "--repository", "dev/zzz")
    assert (code, json.loads(out), err) == (0, [], "hoister: note: no policy watching dev/zzz\n")
    code, _, err = cli("policy", "export", "--profile", "nope")
    assert (code, "no profile named 'nope'" in err) == (2, True)
    code, _, err = cli("policy", "export", "--repository", "Not A/Repo")
    assert code == 2 and err.startswith("hoister: --repository: ")


def test_msr_export_warns_once_per_thing_and_strict_refuses(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(
        "policy", "add", "--profile", "local", "--source", "dev/a", "--target", "qa/a",
        "--rule", "tag matches (?P<maj>\\d+)\\..*", "--template", "%{maj}-%n",
        "--local-time", "--name", "majors",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = cli("policy", "export", "--format", "msr")
    assert code == 0 and json.loads(out)[0]["tagTemplate"] == "%{maj}-%n"
    lines = err.splitlines()
    assert len(lines) == 3 and all(line.startswith("hoister: warning: ") for line in lines)
    assert "rule 1 (tag matches): only later MSR versions have 'matches'" in lines[0]
    assert "uses %{maj}, which MSR's templates do not have" in lines[1]
    assert "local time; MSR renders UTC only" in lines[2]
    code, out, err = cli("policy", "export", "--format", "msr", "--strict")
    assert (code, out) == (1, "")
    assert err.startswith("hoister: nothing was exported: MSR cannot express 3 things")
    assert len(err.splitlines()) == 1
    code, _, err = cli("policy", "export", "--strict")
    assert (code, "--strict is for --format msr" in err) == (2, True)


def test_edit_changes_the_fields_named_and_keeps_the_rest(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, _ = cli(
        "policy", "add", "--profile", "local", "--source", "dev/a", "--target", "qa/a",
        "--rule", "tag ew stable", "--template", "%n", "--name", "a", "--description", "d",
        "--webhook", "https://hooks.example.com/a", "--no-referrers",
    )  # fmt: skip
    assert code == 0
    before = json.loads(cli("policy", "show", "1", "--json")[1])
    code, out, err = cli(
        "policy", "edit", "1", "--rule", "tag sw rc-,release-", "--rule",
        "vulnerability_critical lte 0", "--template", "%n-qa", "--disabled", "--local-time",
    )  # fmt: skip
    assert (code, out.strip()) == (
        0,
        "updated policy 1: tag template, enabled, rules, time zone",
    ), err
    after = json.loads(cli("policy", "show", "1", "--json")[1])
    assert after["rules"] == [
        {"field": "tag", "operator": "sw", "values": ["rc-", "release-"]},
        {"field": "vulnerability_critical", "operator": "lte", "values": ["0"]},
    ]
    assert (after["enabled"], after["timeZone"], after["tagTemplate"]) == (False, "local", "%n-qa")
    unchanged = ("name", "description", "webhookUrl", "copyReferrers", "sourceRepository")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after["msrId"] == before["msrId"] and after["createdAt"] == before["createdAt"]
    code, out, _ = cli(
        "policy", "edit", "1", "--enabled", "--utc", "--no-webhook", "--no-rules",
        "--referrers", "--target-profile", "other", "--name", "b",
    )  # fmt: skip
    assert (
        out.strip()
        == "updated policy 1: name, target, enabled, rules, time zone, copy referrers, webhook"
    )
    shown = json.loads(cli("policy", "show", "1", "--json")[1])
    assert (shown["webhookUrl"], shown["rules"], shown["targetProfile"]) == (None, [], "other")
    assert (
        cli("policy", "edit", "1", "--target-profile", "")[1].strip() == "updated policy 1: target"
    )
    code, out, _ = cli("policy", "edit", "1", "--name", "b")
    assert (code, out.strip()) == (0, "policy 1 already has those values; nothing was changed")


@pytest.mark.parametrize(
    ("flags", "status", "message"),
    [
        ([], 2, "nothing to change: give the fields to change"),
        (["--rule", "tag gt 1"], 2, "Tag name (tag) cannot use 'is more than' (gt)"),
        (["--template", "%Y:%m"], 2, "':' at position 3"),
        (["--profile", "nope"], 2, "no profile named 'nope'"),
        (["--target-profile", "nope"], 2, "no profile named 'nope'"),
        (["--source", "qa/a", "--target", "dev/a"], 2, "would make promotions loop: qa/a"),
        (["--webhook", "ftp://x"], 2, "is not an http(s) URL"),
    ],
)
def test_edit_refuses_what_add_refuses_and_saves_nothing(  # type: ignore[no-untyped-def]
    cli, flags: list[str], status: int, message: str
) -> None:
    add = ["policy", "add", "--profile", "local", "--template", "%n"]
    assert cli(*add, "--source", "dev/a", "--target", "qa/a", "--name", "one")[0] == 0
    assert cli(*add, "--source", "qa/a", "--target", "prod/a", "--name", "two")[0] == 0
    before = cli("policy", "list", "--json")[1]
    code, _, err = cli("policy", "edit", "2", *flags)
    assert (code, message in err) == (status, True), err
    assert cli("policy", "list", "--json")[1] == before


def test_edit_of_an_unknown_policy_or_with_opposite_flags(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("policy", "edit", "42", "--name", "x")
    assert (code, "no policy with id 42" in err) == (1, True)
    for opposite in (["--enabled", "--disabled"], ["--rule", "tag eq x", "--no-rules"]):
        with pytest.raises(SystemExit) as exited:
            cli("policy", "edit", "1", *opposite)
        assert exited.value.code == 2
