"""Every field with every operator, including unknown facts, and the messages for bad rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hoister.facts import ImageFacts, Vulnerabilities
from hoister.policies import Outcome, PolicyError, Rule, compile_rule, describe_rule
from hoister.policies.fields import FIELDS

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

FACTS = ImageFacts(
    repository="dev/website",
    tag="1.4-stable",
    digest="sha256:" + "ab" * 32,
    components=("busybox", "openssl", "zlib"),
    licenses=("MIT", "Apache-2.0"),
    vulnerabilities=Vulnerabilities(critical=0, major=2, minor=5),
    updated_at=NOW - timedelta(hours=3),
    created=NOW - timedelta(days=2),
    labels={"org.opencontainers.image.version": "1.4.0", "team": "web"},
    annotations={"org.opencontainers.image.source": "https://git.example.com/website"},
    platforms=("linux/amd64", "linux/arm64"),
    size=250 * 1024 * 1024,
    signed=True,
    sources={"vulnerabilities": "Trivy report"},
)
UNKNOWN = ImageFacts(repository="dev/website", tag="1.4-stable")


def outcome(field: str, op: str, *values: str, facts: ImageFacts = FACTS) -> Outcome:
    return compile_rule(Rule(field, op, values)).evaluate(facts, NOW).outcome


HELD, FAILED = Outcome.HELD, Outcome.FAILED

CASES = [
    # tag: every string operator plus Hoister's additions
    ("tag", "eq", ["1.4-stable"], HELD),
    ("tag", "eq", ["1.4"], FAILED),
    ("tag", "neq", ["1.4"], HELD),
    ("tag", "neq", ["1.4-stable"], FAILED),
    ("tag", "sw", ["1."], HELD),
    ("tag", "sw", ["2."], FAILED),
    ("tag", "ew", ["stable"], HELD),
    ("tag", "ew", ["beta"], FAILED),
    ("tag", "c", ["4-s"], HELD),
    ("tag", "c", ["rc"], FAILED),
    ("tag", "oo", ["latest", "1.4-stable"], HELD),
    ("tag", "oo", ["latest"], FAILED),
    ("tag", "noo", ["latest", "dev"], HELD),
    ("tag", "noo", ["1.4-stable"], FAILED),
    ("tag", "matches", [r"\d+\.\d+-stable"], HELD),
    ("tag", "matches", ["stable"], FAILED),
    ("tag", "glob", ["1.*-stable"], HELD),
    ("tag", "glob", ["2.*"], FAILED),
    ("tag", "semver", [">=1.2,<2"], HELD),
    ("tag", "semver", ["^2"], FAILED),
    # multi-valued facts: positive operators need one element, negative ones none
    ("component.name", "eq", ["openssl"], HELD),
    ("component.name", "eq", ["bash"], FAILED),
    ("component.name", "neq", ["bash"], HELD),
    ("component.name", "neq", ["zlib"], FAILED),
    ("component.name", "sw", ["b"], HELD),
    ("component.name", "sw", ["x"], FAILED),
    ("component.name", "ew", ["ssl"], HELD),
    ("component.name", "ew", ["xyz"], FAILED),
    ("component.name", "c", ["usy"], HELD),
    ("component.name", "c", ["q"], FAILED),
    ("component.name", "oo", ["bash", "zlib"], HELD),
    ("component.name", "oo", ["bash"], FAILED),
    ("component.name", "noo", ["bash", "curl"], HELD),
    ("component.name", "noo", ["openssl"], FAILED),
    ("component.name", "matches", ["open.*"], HELD),
    ("component.name", "matches", ["open"], FAILED),
    ("component.name", "glob", ["z*"], HELD),
    ("component.name", "glob", ["q*"], FAILED),
    ("license.name", "eq", ["MIT"], HELD),
    ("license.name", "eq", ["GPL-3.0"], FAILED),
    ("license.name", "oo", ["MIT", "BSD-3-Clause"], HELD),
    ("license.name", "oo", ["GPL-3.0"], FAILED),
    ("license.name", "noo", ["GPL-3.0", "AGPL-3.0"], HELD),
    ("license.name", "noo", ["MIT"], FAILED),
    ("license.name", "sw", ["Apache"], HELD),
    ("license.name", "c", ["GPL"], FAILED),
    ("license.name", "ew", ["2.0"], HELD),
    ("license.name", "neq", ["MIT"], FAILED),
    # vulnerability counts: critical 0, major 2, minor 5, all 7
    ("vulnerability_critical", "lte", ["0"], HELD),
    ("vulnerability_critical", "gt", ["0"], FAILED),
    ("vulnerability_critical", "eq", ["0"], HELD),
    ("vulnerability_critical", "neq", ["0"], FAILED),
    ("vulnerability_major", "gte", ["2"], HELD),
    ("vulnerability_major", "lt", ["2"], FAILED),
    ("vulnerability_major", "gt", ["1"], HELD),
    ("vulnerability_major", "lte", ["1"], FAILED),
    ("vulnerability_minor", "lt", ["6"], HELD),
    ("vulnerability_minor", "gte", ["6"], FAILED),
    ("vulnerability_minor", "neq", ["4"], HELD),
    ("vulnerability_minor", "eq", ["4"], FAILED),
    ("vulnerability_all", "eq", ["7"], HELD),
    ("vulnerability_all", "lt", ["7"], FAILED),
    ("vulnerability_critical", "gte", ["1"], FAILED),
    ("vulnerability_critical", "lt", ["1"], HELD),
    ("vulnerability_major", "eq", ["2"], HELD),
    ("vulnerability_major", "neq", ["2"], FAILED),
    ("vulnerability_minor", "gt", ["5"], FAILED),
    ("vulnerability_minor", "lte", ["5"], HELD),
    ("vulnerability_all", "gt", ["6"], HELD),
    ("vulnerability_all", "gte", ["8"], FAILED),
    ("vulnerability_all", "lte", ["6"], FAILED),
    ("vulnerability_all", "neq", ["0"], HELD),
    ("license.name", "glob", ["Apache-*"], HELD),
    ("license.name", "matches", ["GPL.*"], FAILED),
    # times: updated 3 hours ago, created 2 days ago
    ("updated_at", "af", ["2026-11-30"], HELD),
    ("updated_at", "bf", ["2026-11-30T00:00:00Z"], FAILED),
    ("updated_at", "bf", ["2026-12-01"], HELD),
    ("updated_at", "af", ["2026-12-01T00:00:00+01:00"], FAILED),
    ("updated_at_duration", "af", ["12h"], HELD),
    ("updated_at_duration", "bf", ["12h"], FAILED),
    ("updated_at_duration", "bf", ["1h30m"], HELD),
    ("updated_at_duration", "af", ["2h"], FAILED),
    ("created", "bf", ["2026-11-29"], HELD),
    ("created", "af", ["2026-11-29"], FAILED),
    ("age", "gt", ["1d"], HELD),
    ("age", "lt", ["24h"], FAILED),
    ("age", "gte", ["2d"], HELD),
    ("age", "lte", ["47h"], FAILED),
    # labels and annotations, by key
    ("label.team", "eq", ["web"], HELD),
    ("label.team", "eq", ["qa"], FAILED),
    ("label.org.opencontainers.image.version", "semver", ["~1.4"], HELD),
    ("label.missing", "neq", ["x"], HELD),
    ("label.missing", "eq", ["x"], FAILED),
    ("annotation.org.opencontainers.image.source", "sw", ["https://git.example.com"], HELD),
    ("annotation.org.opencontainers.image.source", "c", ["github"], FAILED),
    # platform, size, signed
    ("platform", "eq", ["linux/arm64"], HELD),
    ("platform", "oo", ["windows/amd64"], FAILED),
    ("platform", "noo", ["linux/s390x"], HELD),
    ("platform", "glob", ["linux/*"], HELD),
    ("platform", "neq", ["linux/amd64"], FAILED),
    ("platform", "sw", ["windows"], FAILED),
    ("platform", "ew", ["arm64"], HELD),
    ("platform", "c", ["/"], HELD),
    ("platform", "matches", ["linux/(amd|arm)64"], HELD),
    ("size", "lt", ["1GiB"], HELD),
    ("size", "gt", ["300MB"], FAILED),
    ("size", "gte", ["250MiB"], HELD),
    ("size", "lte", ["262144000"], HELD),
    ("size", "eq", ["1MB"], FAILED),
    ("size", "neq", ["1MB"], HELD),
    ("signed", "eq", ["true"], HELD),
    ("signed", "neq", ["true"], FAILED),
    ("signed", "eq", ["no"], FAILED),
]


@pytest.mark.parametrize(("field", "op", "values", "expected"), CASES)
def test_field_and_operator(field: str, op: str, values: list[str], expected: Outcome) -> None:
    assert outcome(field, op, *values) is expected


def test_cases_cover_every_operator_of_every_field() -> None:
    covered = {
        (f.split(".")[0] if f.startswith(("label.", "annotation.")) else f, op)
        for f, op, _, _ in CASES
    }
    wanted = {(code, op) for code, spec in FIELDS.items() for op in spec.operators}
    # label and annotation share the text operators: spot-checked above, same code path as tag
    wanted -= {(c, op) for c in ("label", "annotation") for op in FIELDS[c].operators}
    assert wanted - covered == set()


@pytest.mark.parametrize(("field", "op", "value"), [(f, o, v) for f, o, v, _ in CASES])
def test_unknown_facts_give_unknown(field: str, op: str, value: list[str]) -> None:
    verdict = compile_rule(Rule(field, op, value)).evaluate(UNKNOWN, NOW)
    if field == "tag":
        assert verdict.outcome is not Outcome.UNKNOWN
    else:
        assert verdict.outcome is Outcome.UNKNOWN
        assert verdict.reason.startswith("unknown: ")


def test_reason_names_the_source_and_the_missing_fact() -> None:
    rule = compile_rule(Rule("vulnerability_critical", "lte", ["0"]))
    verdict = rule.evaluate(FACTS, NOW)
    assert verdict.source == "Trivy report"
    assert verdict.reason == "Vulnerabilities: critical: 0, which is at most 0"
    missing = ImageFacts(
        "dev/website", "1", missing={"vulnerabilities": "no scan report is attached"}
    )
    assert rule.evaluate(missing, NOW).reason == "unknown: no scan report is attached"


def test_reasons_in_words() -> None:
    def reason(field: str, op: str, *values: str) -> str:
        return compile_rule(Rule(field, op, values)).evaluate(FACTS, NOW).reason

    assert reason("tag", "ew", "stable") == "Tag name: '1.4-stable', which ends with 'stable'"
    assert reason("component.name", "sw", "b") == "'busybox' starts with 'b'"
    assert reason("component.name", "noo", "zlib") == "'zlib' is one of ['zlib']"
    assert reason("component.name", "sw", "x") == "no component starts with 'x' (3 checked)"
    assert reason("updated_at_duration", "bf", "12h") == "updated 3h ago, not more than 12h ago"
    assert reason("label.nope", "eq", "x") == "the image has no label 'nope'"
    assert (
        describe_rule(Rule("license.name", "oo", ["MIT", "BSD"]))
        == "License is one of ['MIT', 'BSD']"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            Rule("tag", "gt", ["1"]),
            "Tag name (tag) cannot use 'is more than' (gt); use one of: equals (eq), "
            "does not equal (neq), starts with (sw), ends with (ew), contains (c), "
            "is one of (oo), is not one of (noo), matches the regular expression (matches), "
            "matches the pattern (glob), is a version in (semver)",
        ),
        (Rule("tag", "matches", ["(unclosed"]), "invalid regular expression '(unclosed'"),
        (
            Rule("tag", "semver", [">=2,<1"]),
            "no version can satisfy '>=2,<1'; the range is impossible",
        ),
        (Rule("tag", "semver", ["banana"]), "not a version range"),
        (Rule("vulnerability_critical", "lte", ["none"]), "'none' is not a count"),
        (Rule("vulnerability_all", "eq", ["-1"]), "'-1' is not a count"),
        (Rule("colour", "eq", ["red"]), "unknown field 'colour'; known fields: tag,"),
        (Rule("label", "eq", ["x"]), "Label needs a key, such as org.opencontainers"),
        (Rule("size", "lt", ["big"]), "'big' is not a size"),
        (Rule("size", "lt", ["10XB"]), "is not a size"),
        (Rule("age", "gt", ["1 fortnight"]), "is not a duration"),
        (Rule("updated_at", "bf", ["yesterday"]), "'yesterday' is not a date"),
        (Rule("signed", "eq", ["maybe"]), "'maybe' is not true or false"),
        (
            Rule("tag", "neq", ["a", "b"]),
            "Tag name does not equal takes one value, got 2; use 'is one of' (oo) for several",
        ),
        (
            Rule("tag", "matches", ["a", "b"]),
            "Tag name matches the regular expression takes one value, got 2",
        ),
        (
            Rule("vulnerability_all", "eq", ["0", "1"]),
            "Vulnerabilities: all equals takes one value, got 2",
        ),
        (Rule("tag", "eq", []), "Tag name equals needs a value"),
        (
            Rule("vulnerability_critical", "lte", []),
            "Vulnerabilities: critical is at most needs a value",
        ),
    ],
)
def test_bad_rules_have_precise_messages(rule: Rule, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        compile_rule(rule, "policy 'seed', rule 1: ")
    assert str(caught.value).startswith("policy 'seed', rule 1: ")
    assert message in str(caught.value)


#: MSR stores ``values`` as a list for every operator: several values of the text
#: operators eq, sw, ew and c mean "any of them".
ANY_OF_CASES = [
    ("tag", "sw", ["rc-", "1."], HELD),
    ("tag", "sw", ["rc-", "beta-"], FAILED),
    ("tag", "ew", ["beta", "stable"], HELD),
    ("tag", "ew", ["beta", "rc"], FAILED),
    ("tag", "eq", ["1.3-stable", "1.4-stable"], HELD),
    ("tag", "eq", ["1.3-stable", "1.4"], FAILED),
    ("tag", "c", ["rc", "-s"], HELD),
    ("tag", "c", ["rc", "beta"], FAILED),
    ("component.name", "sw", ["lib", "open"], HELD),
    ("component.name", "sw", ["lib", "glib"], FAILED),
    ("license.name", "eq", ["GPL-3.0", "MIT"], HELD),
    ("label.team", "ew", ["ops", "eb"], HELD),
    ("label.team", "ew", ["ops", "dev"], FAILED),
    ("platform", "c", ["s390x", "arm64"], HELD),
]


@pytest.mark.parametrize(("field", "op", "values", "expected"), ANY_OF_CASES)
def test_several_values_of_a_text_operator_mean_any_of_them(
    field: str, op: str, values: list[str], expected: Outcome
) -> None:
    assert outcome(field, op, *values) is expected
    # Any of them: the same as one rule per value, of which one must hold.
    alone = [outcome(field, op, value) for value in values]
    assert (HELD in alone) is (expected is HELD)


def test_any_of_in_words() -> None:
    rule = Rule("tag", "sw", ["rc-", "beta-", "1."])
    assert describe_rule(rule) == "Tag name starts with 'rc-', 'beta-' or '1.'"
    verdict = compile_rule(rule).evaluate(FACTS, NOW)
    assert verdict.reason == "Tag name: '1.4-stable', which starts with 'rc-', 'beta-' or '1.'"
    failed = compile_rule(Rule("tag", "ew", ["rc", "beta"])).evaluate(FACTS, NOW)
    assert failed.reason == "Tag name: '1.4-stable', which does not end with 'rc' or 'beta'"
