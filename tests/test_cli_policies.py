"""``hoister policy`` and ``hoister template``: the contract of the policy commands."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """The suite's ``cli``, with a saved connection to name in policies."""
    assert cli("profile", "add", "local", "--url", "http://127.0.0.1:5000", "--no-verify")[0] == 0
    return cli


SEED = [
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
    "%Y%m%d-%H%M%S",
    "--name",
    "stable to QA",
]


def test_seed_policy_round_trip(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(*SEED)
    assert (code, out.strip()) == (0, "added policy 1: local:dev/website -> qa/website")
    code, out, _ = cli("policy", "list", "--json")
    [policy] = json.loads(out)
    assert policy["rules"] == [{"field": "tag", "operator": "ew", "values": ["stable"]}]
    assert policy["tagTemplate"] == "%Y%m%d-%H%M%S"
    assert policy["enabled"] is True
    code, out, _ = cli("policy", "list")
    assert "Tag name ends with 'stable'" in out
    code, out, _ = cli("policy", "show", "1")
    assert "route          local:dev/website -> qa/website" in out
    assert cli("policy", "disable", "1")[0] == 0
    assert json.loads(cli("policy", "show", "1", "--json")[1])["enabled"] is False
    assert cli("policy", "enable", "1")[0] == 0
    assert cli("policy", "remove", "1")[1].startswith("removed policy 1")
    assert json.loads(cli("policy", "list", "--json")[1]) == []


def test_list_values_and_several_rules(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        "qa/website",
        "--target",
        "prod/website",
        "--rule",
        "vulnerability_critical lte 0",
        "--rule",
        "license.name noo GPL-3.0, AGPL-3.0",
        "--rule",
        "tag matches ^v\\d{1,3}\\.\\d+$",
        "--template",
        "%n",
        "--overwrite",
        "backup",
    )
    assert code == 0, err
    [policy] = json.loads(cli("policy", "list", "--json")[1])
    assert policy["rules"][1]["values"] == ["GPL-3.0", "AGPL-3.0"]
    assert policy["rules"][2]["values"] == ["^v\\d{1,3}\\.\\d+$"]  # commas kept inside a regex
    assert policy["overwrite"] == "backup"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rule", "tag gt 1"], "Tag name (tag) cannot use 'is more than' (gt)"),
        (["--rule", "tag matches ("], "invalid regular expression"),
        (["--rule", "vulnerability_all lte many"], "'many' is not a count"),
        (["--rule", "colour eq red"], "unknown field 'colour'"),
        (["--rule", "tag semver >=2,<1"], "impossible"),
        (["--rule", "tag"], "needs a field, an operator and a value"),
    ],
)
def test_invalid_rules_exit_2_and_save_nothing(cli, extra: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(*SEED, *extra)
    assert code == 2
    assert message in err
    assert json.loads(cli("policy", "list", "--json")[1]) == []


def test_cycle_is_refused_with_the_chain(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED)[0] == 0
    code, _, err = cli(
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        "qa/website",
        "--target",
        "dev/website",
        "--template",
        "%n",
    )
    assert code == 2
    assert "qa/website -> dev/website -> qa/website" in err


def test_a_loop_through_another_profile_of_the_same_registry_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    # 'local' is http://127.0.0.1:5000: the same registry, spelt another way.
    assert cli("profile", "add", "alias", "--url", "localhost:5000/", "--no-verify")[0] == 0
    assert cli(*SEED)[0] == 0
    back = ["policy", "add", "--source", "qa/website", "--target", "dev/website"]
    code, _, err = cli(*back, "--profile", "alias", "--template", "%n")
    assert code == 2
    assert (
        "qa/website on alias -> dev/website on alias -> qa/website on local "
        "(the same registry as alias)"
    ) in err
    same = ["policy", "add", "--source", "dev/a", "--target", "dev/a", "--template", "%n"]
    code, _, err = cli(*same, "--profile", "local", "--target-profile", "alias")
    assert code == 2
    assert "dev/a on local -> dev/a on alias (the same registry as local)" in err
    assert cli("policy", "disable", "1")[0] == 0
    assert cli(*back, "--profile", "alias", "--template", "%n")[0] == 0
    code, _, err = cli("policy", "enable", "1")
    assert code == 2 and "the same registry as" in err


def test_unknown_profile_and_policy(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(
        "policy",
        "add",
        "--profile",
        "nope",
        "--source",
        "a/b",
        "--target",
        "c/d",
        "--template",
        "%n",
    )
    assert (code, "no profile named 'nope'" in err) == (2, True)
    code, _, err = cli("policy", "show", "42")
    assert (code, "no policy with id 42" in err) == (1, True)
    with pytest.raises(SystemExit) as exited:
        cli("policy", "show", "x")
    assert exited.value.code == 2


def test_export_msr_and_import_it_back(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED)[0] == 0
    code, out, _ = cli("policy", "export", "--format", "msr")
    exported = json.loads(out)
    [policy_id] = [exported[0].pop("id")]
    assert str(uuid.UUID(policy_id)) == policy_id  # a UUID, as MSR's ids are
    assert exported == [
        {
            "sourceRepository": "dev/website",
            "targetRepository": "qa/website",
            "tagTemplate": "%Y%m%d-%H%M%S",
            "enabled": True,
            "rules": [{"field": "tag", "operator": "ew", "values": ["stable"]}],
            "lastPromotedAt": "0001-01-01T00:00:00Z",
        }
    ]
    exported[0]["sourceRepository"], exported[0]["targetRepository"] = "team/app", "qa/app"
    path = tmp_path / "msr.json"
    path.write_text(json.dumps(exported))  # no id: a new policy
    code, out, err = cli("policy", "import", str(path), "--profile", "local")
    assert (code, out.strip()) == (0, "imported 1 policy: ids 2"), err
    path.write_text(json.dumps([dict(exported[0], id=policy_id)]))  # policy 1's id
    code, out, err = cli("policy", "import", str(path), "--profile", "local")
    assert (code, out.strip()) == (0, "imported 1 policy: 0 new, 1 updated (id 1)"), err
    [one, two] = json.loads(cli("policy", "list", "--json")[1])
    assert (one["sourceRepository"], one["name"], one["msrId"]) == (
        "team/app",
        "stable to QA",
        policy_id,
    )
    assert two["sourceRepository"] == "team/app" and two["msrId"] != policy_id
    assert cli("policy", "import", str(path))[0] == 2  # MSR objects need --profile


def test_hoister_export_imports_on_a_fresh_home(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli(*SEED, "--apply-existing", "--local-time", "--webhook", "https://hooks.example.com/p")[
            0
        ]
        == 0
    )
    document = cli("policy", "export")[1]
    monkeypatch.setenv("HOISTER_HOME", str(tmp_path / "other"))
    assert cli("profile", "add", "local", "--url", "http://127.0.0.1:5000", "--no-verify")[0] == 0
    code, _, err = cli("policy", "import", "-", stdin=document)
    assert code == 0, err
    [policy] = json.loads(cli("policy", "list", "--json")[1])
    assert (policy["applyExisting"], policy["timeZone"], policy["webhookUrl"]) == (
        True,
        "local",
        "https://hooks.example.com/p",
    )


def test_half_valid_import_saves_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = {
        "sourceRepository": "dev/a",
        "targetRepository": "qa/a",
        "tagTemplate": "%n",
        "enabled": True,
        "rules": [],
    }
    bad = {**good, "rules": [{"field": "tag", "operator": "zz", "values": ["x"]}]}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([good, good | {"sourceRepository": "dev/b"}, bad]))
    code, _, err = cli("policy", "import", str(path), "--profile", "local")
    assert code == 2
    assert "nothing was imported" in err and "policy 3" in err
    assert json.loads(cli("policy", "list", "--json")[1]) == []
    path.write_text("{truncated")
    code, _, err = cli("policy", "import", str(path), "--profile", "local")
    assert (code, "not valid JSON" in err) == (2, True)
    assert cli("policy", "import", str(tmp_path / "missing.json"), "--profile", "local")[0] == 2


def test_template_command(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(
        "template", "%Y%m%d-%H%M%S", "--tag", "1.4-stable", "--at", "2026-11-30T09:05:03Z"
    )
    assert (code, out.strip()) == (0, "20261130-090503")
    code, out, _ = cli("template", "%n-%a-%p", "--tag", "1.4", "--at", "2026-11-29T23:00:00Z")
    assert out.strip() == "1.4-Sun-PM"
    code, _, err = cli("template", "%Y:%m", "--tag", "1.4")
    assert code == 2 and "':' at position 5" in err
    code, _, err = cli("template", "%q", "--tag", "1.4")
    assert code == 2 and "unknown token '%q'" in err
    code, _, err = cli("template", "%n", "--tag", "1.4", "--at", "yesterday")
    assert code == 2 and "not a date" in err
