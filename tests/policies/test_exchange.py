"""Import and export: MSR's API objects and Hoister's JSON, both directions, all or nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoister.policies import Policy, PolicyError, Rule
from hoister.policies.exchange import (
    Imported,
    export_hoister,
    export_msr,
    parse_import,
    plan_import,
    read_import,
)
from hoister.policies.model import OverwriteMode, TimeZoneMode
from hoister.policies.msr import exchange_id, msr_gaps

#: As MSR's API lists policies: UUID ids, Go's zero time for "never", nanoseconds, and
#: ``values`` a list for every operator (two prefixes for one ``sw``).
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
            {"field": "tag", "operator": "sw", "values": ["rc-", "release-"]},
        ],
        "lastPromotedAt": "2026-11-02T10:11:12.123456789Z",
    },
]


def test_msr_export_imports_as_it_is() -> None:
    policies = parse_import(json.dumps(MSR_EXPORT), profile="msr")
    assert [(p.source_repository, p.target_repository, p.enabled) for p in policies] == [
        ("dev/website", "qa/website", True),
        ("qa/website", "prod/website", False),
    ]
    assert policies[0].last_promoted_at is None
    assert policies[1].last_promoted_at == datetime(2026, 11, 2, 10, 11, 12, 123456, tzinfo=UTC)
    assert policies[1].last_promoted_exact == "2026-11-02T10:11:12.123456789Z"
    assert policies[1].rules[1] == Rule("license.name", "noo", ["GPL-3.0", "AGPL-3.0"])
    assert policies[1].rules[2] == Rule("tag", "sw", ["rc-", "release-"])
    assert [p.msr_id for p in policies] == ["4b1c0d7a-2c3e-4f0a-9c9c-1a2b3c4d5e6f", "9"]
    assert {p.source_profile for p in policies} == {"msr"}


def test_msr_export_exports_back_byte_for_byte() -> None:
    objects, warnings = export_msr(parse_import(json.dumps(MSR_EXPORT), profile="msr"))
    assert (objects, warnings) == (MSR_EXPORT, [])
    assert json.dumps(objects) == json.dumps(MSR_EXPORT)


def test_msr_needs_a_profile() -> None:
    with pytest.raises(PolicyError, match="give --profile"):
        parse_import(json.dumps(MSR_EXPORT), profile=None)


def test_export_warns_about_what_msr_cannot_express() -> None:
    policy = Policy(
        source_profile="a",
        source_repository="dev/x",
        target_profile="b",
        target_repository="qa/x",
        tag_template="%{maj}-%D",
        rules=(
            Rule("label.team", "eq", ["web"]),
            Rule("tag", "matches", [r"(?P<maj>\d+)\..*"]),
            Rule("tag", "ew", ["stable"]),
            Rule("license.name", "sw", ["GPL"]),
        ),
        name="odd",
        time_zone=TimeZoneMode.LOCAL,
    )
    objects, warnings = export_msr([policy])
    assert objects[0]["rules"][0] == {"field": "label.team", "operator": "eq", "values": ["web"]}
    assert warnings == msr_gaps(policy)
    assert warnings == [
        "policy 'odd', rule 1 (label.team eq): MSR has no rule 'Label 'team' equals'",
        "policy 'odd', rule 2 (tag matches): only later MSR versions have 'matches', and "
        "they read the expression in Go's syntax; Hoister's must match the whole tag",
        "policy 'odd', rule 4 (license.name sw): MSR has no rule 'License starts with'",
        "policy 'odd': the tag template '%{maj}-%D' uses %{maj}, which MSR's templates do not have",
        "policy 'odd': the tag template '%{maj}-%D' uses %D, which MSR's templates do not have",
        "policy 'odd': renders its tag in local time; MSR renders UTC only",
        "policy 'odd' promotes to another registry (b), which MSR cannot express",
    ]


def test_a_policy_made_here_exports_a_stable_uuid() -> None:
    made = Policy("local", "dev/x", "qa/x", "%n", id=3, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    [first], _ = export_msr([made])
    [again], _ = export_msr([made])
    assert first["id"] == again["id"] == exchange_id(made)
    assert uuid.UUID(first["id"]).version == 5
    other_store = made.with_changes(created_at=datetime(2026, 1, 2, tzinfo=UTC))
    assert exchange_id(other_store) != first["id"]
    assert exchange_id(made.with_changes(msr_id="kept")) == "kept"
    assert first["lastPromotedAt"] == "0001-01-01T00:00:00Z"


def test_hoister_times_are_written_as_go_writes_them() -> None:
    made = Policy("local", "dev/x", "qa/x", "%n")
    cases = {
        datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC): "2026-12-02T10:00:00Z",
        datetime(2026, 12, 2, 10, 0, 0, 120000, tzinfo=UTC): "2026-12-02T10:00:00.12Z",
        datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=UTC): "2026-12-02T10:00:00.123456Z",
    }
    for moment, text in cases.items():
        [exported], _ = export_msr([made.with_changes(last_promoted_at=moment)])
        assert exported["lastPromotedAt"] == text
    # An exact text that no longer names the time (Hoister promoted since) is not used.
    stale = made.with_changes(
        last_promoted_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
        last_promoted_exact="2026-11-02T10:11:12.123456789Z",
    )
    assert export_msr([stale])[0][0]["lastPromotedAt"] == "2026-12-02T10:00:00Z"


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
        (
            '[{"id": 7, "sourceRepository": "dev/x", "targetRepository": "qa/x",'
            ' "tagTemplate": "%n"}]',
            "policy 1: 'id' must be a string such as a UUID, not 7",
        ),
        (
            '{"policies": [{"msrId": ["x"], "sourceProfile": "p", "sourceRepository": "dev/x",'
            ' "targetRepository": "qa/x", "tagTemplate": "%n"}]}',
            "policy 1: 'msrId' must be a string such as a UUID, not ['x']",
        ),
        (
            '[{"id": "' + "x" * 201 + '", "sourceRepository": "dev/x", "targetRepository":'
            ' "qa/x", "tagTemplate": "%n"}]',
            "policy 1: 'id' is not an MSR id (printable text, at most 200 characters)",
        ),
        (
            '[{"sourceRepository": "dev/x", "targetRepository": "qa/x", "tagTemplate": "%n",'
            ' "lastPromotedAt": "yesterday"}]',
            "policy 1: 'yesterday' is not an ISO 8601 time",
        ),
        (
            '[{"id": "a", "sourceRepository": "dev/x", "targetRepository": "qa/x",'
            ' "tagTemplate": "%n"}, {"id": "a", "sourceRepository": "dev/y",'
            ' "targetRepository": "qa/y", "tagTemplate": "%n"}]',
            "policies 1 and 2 have the same id 'a'",
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
    assert again == [
        p.with_changes(id=None, msr_id=o["id"] or None)
        for p, o in zip(policies, objects, strict=True)
    ]
    assert export_msr(again) == (objects, [])


def _go_time() -> st.SearchStrategy[str]:
    """Times as Go's RFC3339Nano writes them: 0 to 9 fraction digits, no trailing zero."""
    moment = st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
    nanos = st.integers(0, 999_999_999).map(lambda n: f".{n:09d}".rstrip("0").rstrip("."))
    return st.builds(
        lambda m, f: m.replace(tzinfo=None, microsecond=0).isoformat() + f + "Z", moment, nanos
    )


def _msr_objects() -> st.SearchStrategy[dict[str, object]]:
    component = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
    repository = st.builds(lambda a, b: f"{a}/{b}", component, component)
    word = st.from_regex(r"[A-Za-z0-9._-]{1,10}", fullmatch=True)
    rule = st.one_of(
        st.builds(
            lambda f, op, vs: {"field": f, "operator": op, "values": vs},
            st.sampled_from(["tag", "component.name"]),
            st.sampled_from(["eq", "sw", "ew", "c", "oo", "noo"]),
            st.lists(word, min_size=1, max_size=3),
        ),
        st.builds(
            lambda op, n: {"field": "vulnerability_all", "operator": op, "values": [str(n)]},
            st.sampled_from(["gte", "gt", "eq", "neq", "lte", "lt"]),
            st.integers(0, 999),
        ),
    )
    return st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "sourceRepository": repository,
            "targetRepository": repository,
            "tagTemplate": st.sampled_from(["%n", "%Y%m%d-%H%M%S", "%n-qa", "stable-%j"]),
            "enabled": st.booleans(),
            "rules": st.lists(rule, max_size=4),
            "lastPromotedAt": st.just("0001-01-01T00:00:00Z") | _go_time(),
        }
    )


@settings(max_examples=80, deadline=None)
@given(st.lists(_msr_objects(), min_size=1, max_size=4, unique_by=lambda o: o["id"]))
def test_an_msr_file_exports_back_as_it_was(objects: list[dict[str, object]]) -> None:
    assert export_msr(parse_import(json.dumps(objects), profile="msr")) == (objects, [])


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
    assert parse_import(document, profile=None) == [
        p.with_changes(id=None, msr_id=exchange_id(p)) for p in rich
    ]


def _stored(policy: Policy, n: int) -> Policy:
    """As the store hands it back: an id, times and a version."""
    when = datetime(2026, 11, 1, n, tzinfo=UTC)
    return policy.with_changes(id=n, created_at=when, updated_at=when, version=1)


def test_a_second_import_updates_by_msr_id_and_keeps_what_hoister_added() -> None:
    first = read_import(json.dumps(MSR_EXPORT), profile="msr")
    plan = plan_import(first, [])
    assert (len(plan.creates), plan.updates, plan.unchanged) == (2, (), ())
    stored = [
        _stored(p, n).with_changes(name=f"named {n}", overwrite=OverwriteMode.BACKUP)
        for n, p in enumerate(plan.creates, start=1)
    ]
    again = plan_import(read_import(json.dumps(MSR_EXPORT), profile="msr"), stored)
    assert (again.creates, again.updates, again.unchanged) == ((), (), tuple(stored))
    changed = [dict(MSR_EXPORT[0], tagTemplate="%n-qa"), MSR_EXPORT[1]]
    plan = plan_import(read_import(json.dumps(changed), profile="msr"), stored)
    [(before, after)] = plan.updates
    assert before == stored[0]
    assert after == stored[0].with_changes(tag_template="%n-qa")  # name, overwrite kept
    assert plan.unchanged == (stored[1],)


def test_a_reimport_never_moves_the_last_promotion_back() -> None:
    [item] = read_import(json.dumps([MSR_EXPORT[1]]), profile="msr")
    later = datetime(2026, 12, 1, tzinfo=UTC)
    stored = _stored(item.policy, 1).with_changes(last_promoted_at=later, last_promoted_exact=None)
    assert plan_import([item], [stored]).unchanged == (stored,)
    earlier = stored.with_changes(last_promoted_at=None)
    [(_, after)] = plan_import([item], [earlier]).updates
    assert after.last_promoted_exact == "2026-11-02T10:11:12.123456789Z"


def test_a_hoister_export_imported_back_updates_the_policies_it_came_from() -> None:
    made = _stored(Policy("local", "dev/x", "qa/x", "%n", name="mine"), 4)
    items = read_import(
        json.dumps(export_hoister([made.with_changes(tag_template="%n-1")])), profile=None
    )
    [(before, after)] = plan_import(items, [made]).updates
    assert (before, after) == (made, made.with_changes(tag_template="%n-1"))
    assert after.msr_id is None  # still derived from the id, as before


def test_an_id_two_stored_policies_share_is_refused() -> None:
    [item] = read_import(json.dumps([MSR_EXPORT[0]]), profile="msr")
    twins = [_stored(item.policy, 1), _stored(item.policy, 2)]
    with pytest.raises(
        PolicyError, match=r"several stored policies have the id '4b1c.*' \(policies 1, 2\)"
    ):
        plan_import([item], twins)
    assert plan_import([Imported(item.policy.with_changes(msr_id=None), True)], twins).creates
