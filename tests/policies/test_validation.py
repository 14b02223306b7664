"""Whole policies: problems tied to their field, cycles spelled out, the seed evaluated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hoister.facts import ImageFacts
from hoister.policies import (
    CycleError,
    Outcome,
    Policy,
    PolicyError,
    Rule,
    check_no_cycle,
    compile_policy,
    evaluate,
    find_cycle,
    needed_facts,
    policy_problems,
    target_tag,
)
from hoister.policies.model import TimeZoneMode

SEED = Policy(
    source_profile="local",
    source_repository="dev/website",
    target_repository="qa/website",
    tag_template="%Y%m%d-%H%M%S",
    rules=(Rule("tag", "ew", ["stable"]),),
    name="stable to QA",
)
NOW = datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)


def test_seed_policy_promotes_stable_tags_with_the_promotion_time() -> None:
    compiled = compile_policy(SEED)
    stable = ImageFacts("dev/website", "1.4-stable", digest="sha256:" + "a" * 64)
    evaluation = evaluate(compiled, stable, NOW)
    assert evaluation.matched
    assert target_tag(compiled, stable, evaluation, NOW) == "20261130-090503"
    plain = evaluate(compiled, ImageFacts("dev/website", "1.0"), NOW)
    assert plain.outcome is Outcome.FAILED
    assert plain.summary() == "Tag name: '1.0', which does not end with 'stable'"
    assert needed_facts(compiled) == {"tag"}


def test_unknown_rule_blocks_promotion() -> None:
    policy = SEED.with_changes(rules=(*SEED.rules, Rule("vulnerability_critical", "eq", ["0"])))
    evaluation = evaluate(compile_policy(policy), ImageFacts("dev/website", "1.4-stable"), NOW)
    assert evaluation.outcome is Outcome.UNKNOWN
    assert not evaluation.matched


def test_named_groups_feed_the_template() -> None:
    policy = SEED.with_changes(
        rules=(Rule("tag", "matches", [r"(?P<version>\d+\.\d+)-stable"]),),
        tag_template="%{version}-qa",
    )
    compiled = compile_policy(policy)
    facts = ImageFacts("dev/website", "1.4-stable")
    assert target_tag(compiled, facts, evaluate(compiled, facts, NOW), NOW) == "1.4-qa"


def test_local_time_option() -> None:
    compiled = compile_policy(SEED.with_changes(time_zone=TimeZoneMode.LOCAL))
    facts = ImageFacts("dev/website", "1-stable")
    local = NOW.astimezone()
    assert target_tag(compiled, facts, evaluate(compiled, facts, NOW), NOW) == local.strftime(
        "%Y%m%d-%H%M%S"
    )


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"source_repository": "Dev/Website"}, "source", "lower case"),
        ({"target_repository": ""}, "target", "repository name is required"),
        ({"tag_template": "%Y:%m"}, "template", "':'"),
        ({"tag_template": "%q"}, "template", "unknown token '%q'"),
        ({"tag_template": "%{ver}"}, "template", "ver"),
        ({"rules": (Rule("tag", "matches", ["("]),)}, "rules[0]", "invalid regular expression"),
        ({"webhook_url": "ftp://x"}, "webhook", "not an http(s) URL"),
        ({"name": "x" * 201}, "name", "longer than 200"),
    ],
)
def test_each_problem_is_tied_to_its_field(changes: dict, where: str, message: str) -> None:  # type: ignore[type-arg]
    problems = policy_problems(SEED.with_changes(**changes))
    assert [p.where for p in problems] == [where]
    assert message in problems[0].message
    with pytest.raises(PolicyError) as caught:
        compile_policy(SEED.with_changes(**changes))
    assert str(caught.value).startswith("policy '")


def _p(
    src: str,
    dst: str,
    pid: int,
    profile: str = "local",
    target_profile: str | None = None,
    enabled: bool = True,
) -> Policy:
    return Policy(
        source_profile=profile,
        source_repository=src,
        target_profile=target_profile,
        target_repository=dst,
        tag_template="%n",
        id=pid,
        enabled=enabled,
    )


def test_cycle_is_refused_with_the_chain() -> None:
    existing = [_p("dev/website", "qa/website", 1), _p("qa/website", "prod/website", 2)]
    closing = _p("prod/website", "dev/website", None)  # type: ignore[arg-type]
    with pytest.raises(CycleError) as caught:
        check_no_cycle(closing, existing)
    assert caught.value.chain == ["prod/website", "dev/website", "qa/website", "prod/website"]
    assert "prod/website -> dev/website -> qa/website -> prod/website" in str(caught.value)


def test_chains_without_loops_and_disabled_links_are_fine() -> None:
    existing = [
        _p("dev/website", "qa/website", 1),
        _p("qa/website", "prod/website", 2, enabled=False),
    ]
    assert find_cycle(_p("prod/website", "dev/website", None), existing) is None  # type: ignore[arg-type]
    assert find_cycle(_p("qa/website", "stage/website", None), existing) is None  # type: ignore[arg-type]


def test_self_loop_and_update_of_the_same_policy() -> None:
    assert find_cycle(_p("dev/a", "dev/a", None), []) is not None  # type: ignore[arg-type]
    existing = [_p("dev/a", "qa/a", 1)]
    # editing policy 1 itself to point back is judged without its old version
    assert find_cycle(_p("qa/a", "dev/a", 1), existing) is None


def test_cycle_across_registries_names_the_profiles() -> None:
    existing = [_p("dev/a", "dev/a", 1, profile="build", target_profile="mirror")]
    with pytest.raises(CycleError, match="dev/a on mirror -> dev/a on build -> dev/a on mirror;"):
        check_no_cycle(
            _p("dev/a", "dev/a", None, profile="mirror", target_profile="build"), existing
        )  # type: ignore[arg-type]
