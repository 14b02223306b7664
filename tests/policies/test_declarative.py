"""Policies as code: any valid file applied twice changes nothing the second time."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hoister.policies import Policy, PolicyError, policy_check
from hoister.policies.declarative import (
    Plan,
    changed_fields,
    dump_yaml,
    make_plan,
    parse_document,
)
from hoister.policies.exchange import export_hoister, to_hoister
from hoister.policies.model import OverwriteMode, Rule, TimeZoneMode
from hoister.store import Database, PolicyStore

#: Any text a person could type: NUL is refused by validation (neither store keeps it).
TYPED = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
NAMES = st.text(TYPED, min_size=1, max_size=30).filter(lambda s: s.strip())
SEGMENT = st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)
RULES = st.sampled_from(
    [
        Rule("tag", "ew", ("stable",)),
        Rule("tag", "oo", ("1.0", "2.0")),
        Rule("vulnerability_critical", "lte", ("0",)),
        Rule("tag", "matches", (r"^v(?P<ver>\d+)$",)),
        Rule("label.team", "eq", ("web: ü",)),
    ]
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Sources under dev/, targets under qa/: valid, and no file can make a loop."""
    rules = tuple(draw(st.lists(RULES, max_size=2, unique=True)))
    return Policy(
        source_profile="local",
        source_repository=f"dev/{draw(SEGMENT)}",
        target_profile=draw(st.sampled_from([None, "local", "other"])),
        target_repository=f"qa/{draw(SEGMENT)}",
        tag_template=draw(st.sampled_from(["%n", "%n-%Y%m%d", "v%n", "%R-%D"])),
        rules=rules,
        description=draw(st.text(TYPED, max_size=60)),
        enabled=draw(st.booleans()),
        overwrite=draw(st.sampled_from(OverwriteMode)),
        time_zone=draw(st.sampled_from(TimeZoneMode)),
        apply_existing=draw(st.booleans()),
        webhook_url=draw(st.sampled_from([None, "https://hooks.example.com/p"])),
    )


FILES = st.lists(st.tuples(NAMES, policies()), max_size=6, unique_by=lambda t: t[0]).map(
    lambda pairs: [p.with_changes(name=name) for name, p in pairs]
)


def apply(store: PolicyStore, text: str, *, prune: bool) -> Plan:
    wanted = parse_document(text, profiles={"local", "other"})
    plans: list[Plan] = []

    def changes(stored: list[Policy]) -> tuple[list[Policy], list[Policy], list[Policy]]:
        plans.append(make_plan(wanted, stored, prune=prune))
        return plans[-1].changes()

    store.apply(changes, check=policy_check(None))
    return plans[-1]


def semantic(policy: Policy) -> Policy:
    return policy.with_changes(
        id=None,
        created_at=None,
        updated_at=None,
        last_promoted_at=None,
        version=0,
        updated_by="",
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=FILES, file=FILES, as_yaml=st.booleans())
def test_apply_is_idempotent_and_the_store_ends_as_the_file(
    before: list[Policy], file: list[Policy], as_yaml: bool
) -> None:
    document = export_hoister(file)
    text = dump_yaml(document) if as_yaml else json.dumps(document)
    with (
        tempfile.TemporaryDirectory() as home,
        PolicyStore(Database.open(Path(home) / "hoister.db")) as store,
    ):
        store.add_many(before)
        apply(store, text, prune=True)
        again = apply(store, text, prune=True)
        assert not again.changes_anything
        assert len(again.unchanged) == len(file)
        assert sorted(map(semantic, store.list()), key=lambda p: p.name) == sorted(
            map(semantic, file), key=lambda p: p.name
        )
        exported = dump_yaml(export_hoister(store.list()))
        assert not apply(store, exported, prune=True).changes_anything


def test_changed_fields_ignore_ids_and_times() -> None:
    policy = Policy("local", "dev/a", "qa/a", "%n", name="a")
    stored = policy.with_changes(id=4, last_promoted_at=None)
    assert changed_fields(stored, policy) == ()
    assert changed_fields(stored, policy.with_changes(target_profile="other")) == ("target",)
    assert make_plan([policy], [stored], prune=False).unchanged == (stored,)


def test_an_unnamed_stored_policy_is_only_removed_with_prune() -> None:
    unnamed = Policy("local", "dev/b", "qa/b", "%n", id=7)
    file = [Policy("local", "dev/a", "qa/a", "%n", name="a")]
    assert make_plan(file, [unnamed], prune=False).kept == (unnamed,)
    assert make_plan(file, [unnamed], prune=True).removes == (unnamed,)


def test_a_key_given_twice_in_one_policy_is_refused() -> None:
    text = (
        "policies:\n- name: a\n  sourceProfile: local\n  sourceRepository: dev/a\n"
        "  targetRepository: qa/a\n  tagTemplate: '%n'\n  tagTemplate: 'v%n'\n"
    )
    with pytest.raises(PolicyError, match="'tagTemplate' is given twice at line 7"):
        parse_document(text)


def test_hand_written_times_are_text_and_ignored() -> None:
    exported = to_hoister(Policy("local", "dev/a", "qa/a", "%n", name="a", id=3))
    text = dump_yaml({"policies": [exported]}).replace(
        "lastPromotedAt: null", "lastPromotedAt: 2026-11-30T09:00:00Z"
    )
    assert "lastPromotedAt: 2026-11-30T09:00:00Z" in text  # unquoted, as a person writes it
    [policy] = parse_document(text)
    assert (policy.id, policy.last_promoted_at) == (None, None)


def test_a_refused_apply_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    with PolicyStore(Database.open(tmp_path / "hoister.db")) as store:
        [old] = store.add_many([Policy("local", "dev/a", "qa/a", "%n", name="old")])
        there = Policy("local", "dev/b", "qa/b", "%n", name="there")
        back = Policy("local", "qa/b", "dev/b", "%n", name="back")
        with pytest.raises(PolicyError, match="would make promotions loop"):
            store.apply(lambda _: ([there, back], [], [old]), check=policy_check(None))
        assert store.list() == [old]


def test_anchors_and_merge_keys_share_settings_between_policies() -> None:
    text = """\
format: hoister.policies
version: 1
x-defaults: &defaults
  sourceProfile: local
  tagTemplate: '%n'
  rules: [{field: tag, operator: ew, values: [stable]}]
policies:
- <<: *defaults
  name: website
  sourceRepository: dev/website
  targetRepository: qa/website
- <<: *defaults
  name: api
  sourceRepository: dev/api
  targetRepository: qa/api
  tagTemplate: 'v%n'
"""
    website, api = parse_document(text)
    assert (website.tag_template, api.tag_template) == ("%n", "v%n")
    assert website.rules == api.rules == (Rule("tag", "ew", ("stable",)),)
    with pytest.raises(PolicyError, match="unknown keys: defaults"):
        parse_document(text.replace("x-defaults:", "defaults:"))
