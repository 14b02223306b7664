"""``hoister policy apply`` and ``export --format yaml``: policies kept in a file, as code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_cli_policies import SEED


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """The suite's ``cli``, with a saved connection to name in policies."""
    assert cli("profile", "add", "local", "--url", "http://127.0.0.1:5000", "--no-verify")[0] == 0
    return cli


def policy(name: str, source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "sourceProfile": "local",
        "sourceRepository": source,
        "targetRepository": target,
        "tagTemplate": "%n",
        "rules": [{"field": "tag", "operator": "ew", "values": ["stable"]}],
        **extra,
    }


def document(*policies: dict[str, Any]) -> dict[str, Any]:
    return {"format": "hoister.policies", "version": 1, "policies": list(policies)}


def write(path: Path, data: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def listing(cli) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return json.loads(cli("policy", "list", "--json")[1])


TWO = (
    policy("stable to qa", "dev/website", "qa/website"),
    policy("nightly", "dev/api", "qa/api", tagTemplate="nightly-%Y%m%d"),
)


def test_apply_twice_changes_nothing_the_second_time(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "p.yaml", document(*TWO))
    code, out, err = cli("policy", "apply", path)
    assert code == 0, err
    assert out.splitlines() == [
        'created  policy 1 "stable to qa" (local:dev/website -> qa/website)',
        'created  policy 2 "nightly" (local:dev/api -> qa/api)',
        "2 created, 0 updated, 0 removed, 0 unchanged",
    ]
    before = listing(cli)
    code, out, _ = cli("policy", "apply", path)
    assert (code, out.strip()) == (0, "nothing to change: 2 policies match the file")
    assert listing(cli) == before  # not even updatedAt moved


def test_prune_removes_what_the_file_no_longer_names(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED)[0] == 0  # id 1, "stable to QA": not in the file
    path = write(tmp_path / "p.yaml", document(*TWO))
    code, out, _ = cli("policy", "apply", path)
    assert code == 0
    assert out.splitlines()[-1] == (
        "2 created, 0 updated, 0 removed, 0 unchanged; "
        "1 policy not in the file left alone (--prune removes them)"
    )
    write(tmp_path / "p.yaml", document(TWO[0]))
    code, out, _ = cli("policy", "apply", path, "--prune")
    assert code == 0
    assert out.splitlines() == [
        'removed  policy 1 "stable to QA"',
        'removed  policy 3 "nightly"',
        "0 created, 0 updated, 2 removed, 1 unchanged",
    ]
    assert [p["name"] for p in listing(cli)] == ["stable to qa"]


def test_dry_run_changes_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED)[0] == 0
    before = listing(cli)
    changed = policy("stable to QA", "dev/website", "qa/website", tagTemplate="%n-qa")
    path = write(tmp_path / "p.yaml", document(changed, TWO[1]))
    code, out, _ = cli("policy", "apply", path, "--dry-run", "--prune")
    assert code == 0
    assert out.splitlines() == [
        'would create policy "nightly" (local:dev/api -> qa/api)',
        'would update policy 1 "stable to QA": tag template',
        "1 to create, 1 to update, 0 to remove, 0 unchanged (dry run: nothing was written)",
    ]
    assert listing(cli) == before
    code, out, _ = cli("policy", "apply", path, "--dry-run", "--json")
    assert json.loads(out) == {
        "dryRun": True,
        "created": [{"id": None, "name": "nightly"}],
        "updated": [{"id": 1, "name": "stable to QA", "fields": ["tagTemplate"]}],
        "removed": [],
        "unchanged": [],
        "kept": [],
    }
    assert listing(cli) == before


def test_export_yaml_then_apply_is_a_no_op(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED, "--webhook", "https://hooks.example.com/ü", "--local-time")[0] == 0
    assert cli(*TWO_ADD)[0] == 0
    code, out, _ = cli("policy", "export", "--format", "yaml")
    assert code == 0
    assert out.startswith("format: hoister.policies\nversion: 1\npolicies:\n- id: 1\n  name:")
    assert "hooks.example.com/ü" in out  # unicode as it is, not escaped
    assert yaml.safe_load(out) == json.loads(cli("policy", "export", "--format", "json")[1])
    assert json.loads(cli("policy", "export")[1]) == yaml.safe_load(out)  # json is the default
    before = listing(cli)
    code, text, _ = cli("policy", "apply", "-", "--prune", stdin=out)
    assert (code, text.strip()) == (0, "nothing to change: 2 policies match the file")
    assert listing(cli) == before


TWO_ADD = [
    "policy",
    "add",
    "--profile",
    "local",
    "--source",
    "qa/website",
    "--target",
    "prod/website",
    "--template",
    "%n",
    "--name",
    "to prod",
    "--rule",
    "vulnerability_critical lte 0",
]


def test_update_changes_only_the_named_fields_and_keeps_the_id(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED)[0] == 0
    [stored] = listing(cli)
    exported = yaml.safe_load(cli("policy", "export", "--format", "yaml")[1])
    exported["policies"][0]["id"] = 99  # ignored: the name says which policy it is
    exported["policies"][0]["tagTemplate"] = "%n-qa"
    exported["policies"][0]["rules"].append(
        {"field": "vulnerability_critical", "operator": "lte", "values": ["0"]}
    )
    code, out, _ = cli("policy", "apply", write(tmp_path / "p.yaml", exported))
    assert code == 0
    assert out.splitlines() == [
        'updated  policy 1 "stable to QA": tag template, rules',
        "0 created, 1 updated, 0 removed, 0 unchanged",
    ]
    [after] = listing(cli)
    assert after["id"] == 1 and after["createdAt"] == stored["createdAt"]
    assert after["updatedAt"] != stored["updatedAt"]
    same = {"tagTemplate", "rules", "updatedAt"}
    assert {k: v for k, v in after.items() if k not in same} == {
        k: v for k, v in stored.items() if k not in same
    }
    assert (after["tagTemplate"], len(after["rules"])) == ("%n-qa", 2)


def test_duplicate_names_are_refused_and_nothing_is_written(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    again = policy("nightly", "dev/other", "qa/other")
    path = write(tmp_path / "p.yaml", document(*TWO, again, policy("", "a/b", "c/d")))
    code, _, err = cli("policy", "apply", path)
    assert code == 2
    assert "policies 2 and 3 are all named 'nightly'" in err
    assert "policy 4 (a/b -> c/d) has no name" in err
    assert listing(cli) == []


def test_store_with_two_policies_of_one_name_is_an_error_naming_the_ids(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assert cli(*SEED)[0] == 0
    assert cli(*SEED[:5], "dev/other", *SEED[6:])[0] == 0
    path = write(tmp_path / "p.yaml", document(policy("stable to QA", "dev/website", "qa/x")))
    code, _, err = cli("policy", "apply", path)
    assert code == 1
    assert "several policies named 'stable to QA' (ids 1, 2)" in err
    assert len(listing(cli)) == 2


def test_a_bad_rule_writes_nothing_and_names_the_policy(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = policy(
        "broken", "dev/b", "qa/b", rules=[{"field": "tag", "operator": "gt", "values": ["1"]}]
    )
    unknown = policy("typo", "dev/c", "qa/c", enabeld=False)
    elsewhere = policy("elsewhere", "dev/d", "qa/d", targetProfile="nope")
    path = write(tmp_path / "p.yaml", document(TWO[0], bad, unknown, elsewhere))
    code, _, err = cli("policy", "apply", path)
    assert code == 2
    assert "nothing was applied" in err
    assert "policy 2 (policy 'broken', rule 1: Tag name (tag) cannot use" in err
    assert "policy 3: unknown key 'enabeld'" in err
    assert "policy 4 (policy 'elsewhere'): no profile named 'nope'" in err
    numeric = write(tmp_path / "n.yaml", document(policy(2026, "dev/n", "qa/n")))  # type: ignore[arg-type]
    code, _, err = cli("policy", "apply", numeric)
    assert (code, "policy 1: 'name' must be text, not int" in err) == (2, True)
    assert listing(cli) == []


def test_a_loop_in_the_file_writes_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    there = policy("there", "dev/a", "qa/a")
    back = policy("back", "qa/a", "dev/a")
    code, _, err = cli("policy", "apply", write(tmp_path / "p.yaml", document(there, back)))
    assert code == 2 and "would make promotions loop" in err
    assert cli("policy", "apply", str(tmp_path / "p.yaml"), "--dry-run")[0] == 2
    assert listing(cli) == []


def test_swapping_two_routes_is_not_a_loop(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Updated one at a time, the first update would close a loop with the second's old
    # route; checked against the store as it ends up, there is none.
    first = write(
        tmp_path / "p.yaml", document(policy("a", "p/x", "q/x"), policy("b", "r/x", "s/x"))
    )
    assert cli("policy", "apply", first)[0] == 0
    swapped = document(policy("b", "q/x", "p/x"), policy("a", "s/x", "r/x"))
    code, out, err = cli("policy", "apply", write(tmp_path / "p.yaml", swapped))
    assert code == 0, err
    assert out.splitlines()[-1] == "0 created, 2 updated, 0 removed, 0 unchanged"


def test_yaml_syntax_error_names_the_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.yaml"
    path.write_text("format: hoister.policies\npolicies:\n  - name: x\n   sourceRepository: a\n")
    code, _, err = cli("policy", "apply", str(path))
    assert code == 2
    assert "the file is not valid YAML" in err and "line 4" in err
    assert cli("policy", "apply", str(tmp_path / "missing.yaml"))[0] == 2
    code, _, err = cli("policy", "apply", "-", stdin="")
    assert code == 2 and "the file is empty" in err
    code, _, err = cli("policy", "apply", "-", stdin=json.dumps([TWO[0]]))
    assert code == 2 and "policy import --profile" in err  # an MSR list is not a policy file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policies: " + "[" * 80 + "]" * 80, "nested too deeply (more than 64 levels)"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
            "policies: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            "more than 1,000,000 values",
        ),
        ("policies: &p [*p]", "alias *p inside its own anchor"),
        ('{"policies": ' + "[" * 80 + "]" * 80 + "}", "nested too deeply"),
        ("format: hoister.policies\nformat: other\npolicies: []", "'format' is given twice"),
    ],
)
def test_hostile_files_are_refused_in_words(cli, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("policy", "apply", "-", stdin=text)
    assert code == 2
    assert message in err
    assert listing(cli) == []


def test_json_input_works_too(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.json"
    # A tab before a value is JSON whitespace (YAML would read it as text).
    path.write_text(json.dumps(document(*TWO), indent="\t"))
    code, out, _ = cli("policy", "apply", str(path))
    assert code == 0
    assert out.splitlines()[-1] == "2 created, 0 updated, 0 removed, 0 unchanged"
    assert cli("policy", "apply", str(path))[1].startswith("nothing to change")
    exported = cli("policy", "export", "--format", "json")[1]
    assert cli("policy", "apply", "-", stdin=exported)[1].startswith("nothing to change")
    path.write_text('{"policies": [')
    code, _, err = cli("policy", "apply", str(path))
    assert code == 2 and "is not valid JSON" in err and "line 1" in err
