"""Import and export: MSR's API objects and Hoister's JSON, both directions, all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoister.policies import Policy, PolicyError, Rule
from hoister.policies.exchange import export_hoister, export_msr, parse_import
from hoister.policies.model import OverwriteMode, TimeZoneMode

MSR_EXPORT = [
    {
        "id": "4b1c0d7a-2c3e-4f0a-9c9c-1a2b3c4d5e6f",
        "sourceRepository": "dev/website",
        "targetRepository": "qa/website",
        "tagTemplate": "%Y%m%d-%H%M%S",
        "enabled": True,
        "rules": [{"field": "tag", "operator": "ew", "values": ["stable"]}],
        "lastPromotedAt": "0001-01-01T00:00:00Z",
    },
    {
        "id": "9",
        "sourceRepository": "qa/website",
        "targetRepository": "prod/website",
        "tagTemplate": "%n",
        "enabled": False,
        "rules": [
            {"field": "vulnerability_critical", "operator": "lte", "values": ["0"]},
            {"field": "license.name", "operator": "noo", "values": ["GPL-3.0", "AGPL-3.0"]},
        ],
        "lastPromotedAt": "2026-11-02T10:11:12Z",
    },
]


def test_msr_export_imports_as_it_is() -> None:
    policies = parse_import(json.dumps(MSR_EXPORT), profile="msr")
    assert [(p.source_repository, p.target_repository, p.enabled) for p in policies] == [
        ("dev/website", "qa/website", True),
        ("qa/website", "prod/website", False),
    ]
    assert policies[0].last_promoted_at is None
    assert policies[1].last_promoted_at == datetime(2026, 11, 2, 10, 11, 12, tzinfo=UTC)
    assert policies[1].rules[1] == Rule("license.name", "noo", ["GPL-3.0", "AGPL-3.0"])
    assert {p.source_profile for p in policies} == {"msr"}


def test_msr_needs_a_profile() -> None:
    with pytest.raises(PolicyError, match="give --profile"):
        parse_import(json.dumps(MSR_EXPORT), profile=None)


def test_export_warns_about_what_msr_cannot_express() -> None:
    policy = Policy(
        source_profile="a",
        source_repository="dev/x",
        target_profile="b",
        target_repository="qa/x",
        tag_template="%n",
        rules=(Rule("label.team", "eq", ["web"]),),
    )
    objects, warnings = export_msr([policy])
    assert objects[0]["rules"] == [{"field": "label.team", "operator": "eq", "values": ["web"]}]
    assert len(warnings) == 2
    assert "label.team eq" in warnings[0]
    assert "another registry" in warnings[1]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ('{"hello": 1}', "neither Hoister policies"),
        ('{"format": "hoister.policies", "version": 99, "policies": []}', "format version 99"),
        ('{"format": "other", "policies": []}', "format is 'other'"),
        ("[1]", "policy 1: must be an object"),
        (
            '[{"sourceRepository": "dev/x", "tagTemplate": "%n"}]',
            "policy 1: 'targetRepository' is missing",
        ),
        (
            '[{"sourceRepository": "dev/x", "targetRepository": "qa/x", "tagTemplate": "%n",'
            ' "rules": "tag"}]',
            "'rules' must be a list",
        ),
        (
            '[{"sourceRepository": "dev/x", "targetRepository": "qa/x", "tagTemplate": "%n",'
            ' "rules": [{"field": "tag", "operator": "ew", "values": [true]}]}]',
            "policy 1, rule 1: 'values' must be a list of strings",
        ),
        (
            '[{"sourceRepository": "dev/x", "targetRepository": "qa/x", "tagTemplate": "%n",'
            ' "enabled": "yes"}]',
            "'enabled' must be a bool",
        ),
    ],
)
def test_malformed_files_are_refused_with_the_place(document: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_import(document, profile="local")
    assert message in str(caught.value)


def test_half_valid_file_imports_nothing_and_lists_every_problem() -> None:
    good = MSR_EXPORT[0]
    bad_rule = {
        **good,
        "rules": [{"field": "vulnerability_all", "operator": "lte", "values": ["lots"]}],
    }
    bad_template = {**good, "tagTemplate": "%Y:%m"}
    with pytest.raises(PolicyError) as caught:
        parse_import(json.dumps([good, bad_rule, bad_template]), profile="local")
    message = str(caught.value)
    assert message.startswith("nothing was imported: ")
    assert "policy 2" in message and "rule 1: 'lots' is not a count" in message
    assert "policy 3" in message and "tag template" in message
    assert "policy 1" not in message


def _policies() -> st.SearchStrategy[Policy]:
    component = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
    repository = st.builds(lambda a, b: f"{a}/{b}", component, component)
    text_value = st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
    )
    rule = st.one_of(
        st.builds(
            lambda op, v: Rule("tag", op, [v]), st.sampled_from(["eq", "sw", "ew", "c"]), text_value
        ),
        st.builds(
            lambda op, vs: Rule("component.name", op, vs),
            st.sampled_from(["oo", "noo"]),
            st.lists(text_value, min_size=1, max_size=3),
        ),
        st.builds(
            lambda op, n: Rule("vulnerability_critical", op, [str(n)]),
            st.sampled_from(["gte", "gt", "eq", "neq", "lte", "lt"]),
            st.integers(0, 999),
        ),
        st.builds(
            lambda op, d: Rule("updated_at_duration", op, [d]),
            st.sampled_from(["bf", "af"]),
            st.sampled_from(["12h", "30m", "7d"]),
        ),
    )
    moment = st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0))
    return st.builds(
        Policy,
        source_profile=st.just("msr"),
        source_repository=repository,
        target_repository=repository,
        tag_template=st.sampled_from(["%n", "%Y%m%d-%H%M%S", "%n-qa", "stable-%j"]),
        rules=st.lists(rule, max_size=4).map(tuple),
        enabled=st.booleans(),
        last_promoted_at=st.none() | moment,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(_policies(), min_size=1, max_size=4))
def test_msr_round_trip(policies: list[Policy]) -> None:
    objects, warnings = export_msr(policies)
    assert warnings == []
    again = parse_import(json.dumps(objects), profile="msr")
    assert again == [p.with_changes(id=None) for p in policies]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_policies(), min_size=1, max_size=4),
    st.sampled_from(list(OverwriteMode)),
    st.sampled_from(list(TimeZoneMode)),
)
def test_hoister_round_trip_keeps_every_field(
    policies: list[Policy], overwrite: OverwriteMode, zone: TimeZoneMode
) -> None:
    rich = [
        p.with_changes(
            name=f"policy {i}",
            description="promotes ✓",
            target_profile="other",
            overwrite=overwrite,
            time_zone=zone,
            apply_existing=True,
            copy_referrers=False,
            record_provenance=False,
            webhook_url="https://hooks.example.com/x",
            id=i + 1,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            updated_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
        for i, p in enumerate(policies)
    ]
    document = json.dumps(export_hoister(rich))
    assert parse_import(document, profile=None) == [p.with_changes(id=None) for p in rich]
