"""Fuzzing what people hand Hoister: policy import files, tag templates and rule strings.

Whatever the input, the answer is a result or a typed error (exit 2 on the command line),
never "internal error" and never a hang.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from hoister.errors import InvalidInput
from hoister.facts.model import ImageFacts
from hoister.policies import PolicyError, compile_rule
from hoister.policies.template import TemplateContext, render, validate_template
from hoister.registry.reference import TAG_RE
from tests.conftest import CliResult
from tests.fuzz.support import (
    FIELDS,
    FUZZ,
    OPERATORS,
    deep,
    dumps,
    fuzz_timeout,
    json_values,
    tricky_text,
)
from tests.support.fakeregistry import FakeRegistry

Cli = Callable[..., CliResult]


@pytest.fixture
def profile(cli: Cli) -> Iterator[str]:
    """A saved profile ("fake") for imports that name one; the registry only answers /v2/."""
    with FakeRegistry() as server:
        code, _, err = cli("profile", "add", "fake", "--url", server.url)
        assert code == 0, err
        yield "fake"


# -- (a) policy import files ---------------------------------------------------------------

maybe = st.one_of(json_values, tricky_text)
rules = (
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "field": st.sampled_from(FIELDS) | st.text(max_size=20),
                "operator": st.sampled_from(OPERATORS) | st.text(max_size=8),
                "values": st.lists(st.text(max_size=30) | st.integers() | st.floats(), max_size=4)
                | json_values,
            },
        ),
        max_size=4,
    )
    | json_values
)
msr_policy = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe,
        "sourceRepository": st.sampled_from(["dev/app", "Dev/App", ""]) | maybe,
        "targetRepository": st.sampled_from(["qa/app", "dev/app"]) | maybe,
        "tagTemplate": st.sampled_from(["%n", "%n-%Y%m%d", "stable", "%{x}"]) | maybe,
        "enabled": st.booleans() | maybe,
        "rules": rules,
        "lastPromotedAt": tricky_text | maybe,
    },
)
hoister_policy = st.fixed_dictionaries(
    {},
    optional={
        "sourceProfile": st.sampled_from(["fake", "other"]) | maybe,
        "targetProfile": st.sampled_from(["fake", None]) | maybe,
        "sourceRepository": st.sampled_from(["dev/app", "dev/other"]) | maybe,
        "targetRepository": st.sampled_from(["qa/app", "prod/app"]) | maybe,
        "tagTemplate": st.sampled_from(["%n", "%n-%H%M", "v%{ver}"]) | maybe,
        "name": maybe,
        "rules": rules,
        "overwrite": st.sampled_from(["skip", "overwrite", "backup", "x"]) | maybe,
        "timeZone": st.sampled_from(["utc", "local", "mars"]) | maybe,
        "applyExisting": st.booleans() | maybe,
        "webhookUrl": tricky_text | maybe,
        "createdAt": tricky_text,
        "updatedAt": tricky_text,
        "lastPromotedAt": tricky_text,
    },
)
hoister_file = st.fixed_dictionaries(
    {"policies": st.lists(hoister_policy | json_values, max_size=4) | json_values},
    optional={
        "format": st.sampled_from(["hoister.policies", "other"]) | maybe,
        "version": st.sampled_from([1, 2, 0]) | maybe,
    },
)
documents = st.one_of(
    hoister_file.map(lambda v: ("hoister", v)),
    st.lists(msr_policy, max_size=4).map(lambda v: ("msr", v)),
    msr_policy.map(lambda v: ("msr-single", v)),
    json_values.map(lambda v: ("random", v)),
)


def _texts() -> st.SearchStrategy[tuple[str, bytes]]:
    encoded = st.tuples(documents, st.booleans()).map(
        lambda pair: (pair[0][0], dumps(pair[0][1], pair[1]).encode("utf-8", "surrogatepass"))
    )
    nested = st.tuples(st.integers(1, 5000), st.sampled_from(["[]", "{}"])).map(
        lambda pair: (
            "deep",
            (
                '{"policies": ' + deep(pair[0]) + "}"
                if pair[1] == "[]"
                else '{"a": ' * pair[0] + "1" + "}" * pair[0]
            ).encode(),
        )
    )
    odd = st.sampled_from(
        [b"9" * 5000, b"NaN", b'[{"name": "\\ud800"}]', b"\xff\xfe", b"", b"   "]
    ).map(lambda b: ("odd", b))
    raw = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode))
    return st.one_of(encoded, nested, odd, raw.map(lambda b: ("raw", b)))


@fuzz_timeout
@FUZZ
@given(case=_texts(), with_profile=st.booleans())
def test_import_never_fails_internally(
    cli: Cli, profile: str, tmp_path: Path, case: tuple[str, bytes], with_profile: bool
) -> None:
    kind, data = case
    path = tmp_path / "import.json"
    path.write_bytes(data)
    argv = ["policy", "import", str(path)] + (["--profile", profile] if with_profile else [])
    code, _, err = cli(*argv)
    event(f"{kind}: exit {code}")
    assert "internal error" not in err
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("hoister: ")


# -- (b) tag templates ------------------------------------------------------------------------

template_text = st.lists(
    st.one_of(
        st.sampled_from(
            ["%Y", "%m", "%d", "%H", "%M", "%S", "%f", "%j", "%W", "%A", "%a", "%B", "%b", "%p",
             "%I", "%y", "%w", "%Z", "%n", "%%", "%{ver}", "%{", "%", "%q", "-", ".", "_"]
        ),
        st.text(max_size=6),
    ),
    max_size=12,
).map("".join)  # fmt: skip
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


@fuzz_timeout
@FUZZ
@given(
    template=template_text,
    when=moments,
    tag=st.text(max_size=140),
    groups=st.dictionaries(st.sampled_from(["ver", "x"]), st.text(max_size=20), max_size=2),
)
def test_templates_validate_and_render_or_say_why(
    template: str, when: datetime, tag: str, groups: dict[str, str]
) -> None:
    try:
        validate_template(template, has_matches_groups=groups)
        event("valid")
    except PolicyError:
        event("invalid")
    try:
        rendered = render(
            template, TemplateContext(tag, when, "sha256:" + "a" * 64, "dev/a", groups)
        )
    except PolicyError:
        return
    assert TAG_RE.fullmatch(rendered), rendered


# -- (c) rule strings as the command line takes them ----------------------------------------

rule_text = st.one_of(
    st.tuples(
        st.sampled_from(FIELDS) | st.text(max_size=12),
        st.sampled_from(OPERATORS) | st.text(max_size=6),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                ["1", "-1", "1e400", "nan", "10GB", "1.5 MiB", "12h", "3d", "2026-05-01", "true",
                 "^(a+)+$", "[", "a,b,,c", "*?[", "~1.2", ">=1.0 <2", "9" * 5000, "P1D"]
            ),
        ),
    ).map(" ".join),
    st.text(max_size=60),
)  # fmt: skip
facts = st.builds(
    ImageFacts,
    repository=st.just("dev/app"),
    tag=st.text(max_size=30),
    digest=st.just("sha256:" + "a" * 64),
    size=st.none() | st.integers(0, 2**63),
    created=st.none() | moments,
    updated_at=st.none() | moments,
)


@fuzz_timeout
@FUZZ
@given(
    text=rule_text,
    facts=facts,
    now=st.datetimes(datetime(1970, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_rule_strings_compile_and_evaluate_or_say_why(
    text: str, facts: ImageFacts, now: datetime
) -> None:
    from hoister.cli.policies import parse_rule_text

    try:
        rule = parse_rule_text(text)
        compiled = compile_rule(rule)
    except InvalidInput:
        event("refused")
        return
    event("compiled")
    compiled.evaluate(facts, now)


@fuzz_timeout
@FUZZ
@given(text=rule_text)
def test_rule_strings_on_the_command_line(cli: Cli, profile: str, text: str) -> None:
    code, _, err = cli(
        "policy", "add", "--profile", profile, "--source", "dev/app", "--target", "qa/app",
        "--template", "%n", f"--rule={text}", "--disabled",
    )  # fmt: skip
    event(f"exit {code}")
    assert "internal error" not in err
    assert code in (0, 2), err
