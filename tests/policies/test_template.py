"""Tag templates: every token at awkward times, every error, and two properties.

The properties pin the two promises the promotion engine relies on: time tokens mean
exactly what C ``strftime`` means (so MSR templates keep their tags), and a template that
passed ``validate_template`` can only ever fail at promotion time by being too long.
"""

from __future__ import annotations

import ast
import locale
import re
import shutil
import string
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from hoister.errors import InvalidInput
from hoister.policies import template as template_module
from hoister.policies.errors import TemplateError
from hoister.policies.template import (
    TOKENS,
    Part,
    TemplateContext,
    Token,
    parse_template,
    render,
    validate_template,
)
from hoister.registry.reference import REPOSITORY_RE, TAG_RE

# Written out here, not taken from the module or from calendar (which follows the locale).
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
NON_ENGLISH_LOCALES = (
    "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "es_ES.UTF-8", "es_ES.utf8",
    "ru_RU.UTF-8", "ru_RU.utf8", "ja_JP.UTF-8", "ja_JP.utf8", "de_DE", "fr_FR",
)  # fmt: skip
NUMERIC = ["%w", "%d", "%m", "%Y", "%y", "%H", "%I", "%p", "%M", "%S", "%f", "%j", "%W"]
EST = timezone(timedelta(hours=-5), "EST")
# The autouse fixtures (home folder, memory keyring, thread check) are safe to share.
PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def at(template: str, when: datetime, **context: object) -> str:
    """Render ``template`` for tag ``1.4`` at ``when``."""
    return render(template, TemplateContext(tag="1.4", when=when, **context))  # type: ignore[arg-type]


@contextmanager
def time_locale(name: str) -> Iterator[None]:
    previous = locale.setlocale(locale.LC_TIME)
    locale.setlocale(locale.LC_TIME, name)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_TIME, previous)


def error(call: object, *args: object, **kwargs: object) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


# --- tokens at fixed times ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "token", "expected"),
    [
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%j", "060"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%d", "29"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%m", "02"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%A", "Thursday"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%a", "Thu"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%w", "4"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%B", "February"),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), "%b", "Feb"),
        (datetime(2024, 12, 31, tzinfo=UTC), "%j", "366"),
        (datetime(2024, 12, 31, tzinfo=UTC), "%W", "53"),
        (datetime(2024, 12, 30, tzinfo=UTC), "%W", "53"),
        (datetime(2024, 1, 1, tzinfo=UTC), "%W", "01"),
        (datetime(2024, 1, 1, tzinfo=UTC), "%A", "Monday"),
        (datetime(2024, 1, 1, tzinfo=UTC), "%w", "1"),
        (datetime(2024, 1, 1, tzinfo=UTC), "%j", "001"),
        (datetime(2023, 1, 1, tzinfo=UTC), "%W", "00"),
        (datetime(2023, 1, 1, tzinfo=UTC), "%w", "0"),
        (datetime(2023, 1, 1, tzinfo=UTC), "%A", "Sunday"),
        (datetime(2023, 1, 2, tzinfo=UTC), "%W", "01"),
        (datetime(2023, 12, 31, tzinfo=UTC), "%j", "365"),
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), "%H", "00"),
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), "%I", "12"),
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), "%p", "AM"),
        (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "%I", "12"),
        (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "%p", "PM"),
        (datetime(2026, 11, 30, 13, 5, tzinfo=UTC), "%I", "01"),
        (datetime(2026, 11, 30, 13, 5, tzinfo=UTC), "%H", "13"),
        (datetime(2026, 11, 30, 13, 5, tzinfo=UTC), "%M", "05"),
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), "%I", "11"),
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), "%S", "59"),
        (datetime(2026, 11, 30, 9, 5, 3, 42, tzinfo=UTC), "%f", "000042"),
        (datetime(2026, 11, 30, 9, 5, 3, 999999, tzinfo=UTC), "%f", "999999"),
        (datetime(2026, 11, 30, tzinfo=UTC), "%Y", "2026"),
        (datetime(2026, 11, 30, tzinfo=UTC), "%y", "26"),
        (datetime(2000, 6, 1, tzinfo=UTC), "%y", "00"),
        (datetime(1999, 6, 1, tzinfo=UTC), "%y", "99"),
        (datetime(999, 6, 1, tzinfo=UTC), "%Y", "0999"),  # our choice: always four digits
        (datetime(2026, 9, 1, tzinfo=UTC), "%b", "Sep"),
        (datetime(2026, 11, 30, tzinfo=UTC), "%Z", "UTC"),
        (datetime(2026, 11, 30, tzinfo=EST), "%Z", "EST"),
    ],
)
def test_token_at_fixed_time(when: datetime, token: str, expected: str) -> None:
    assert at(token, when) == expected


@pytest.mark.parametrize("year", [1900, 2000, 2023, 2024, 2100])
def test_day_and_week_of_year_match_strftime_every_day(year: int) -> None:
    day = date(year, 1, 1)
    with time_locale("C"):
        while day.year == year:
            when = datetime(day.year, day.month, day.day, tzinfo=UTC)
            assert at("%j-%W-%w", when) == when.strftime("%j-%W-%w")
            day += timedelta(days=1)


def test_time_is_read_in_the_zone_of_when() -> None:
    """The caller picks UTC or local time by converting; the template never converts."""
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert at("%Y%m%d-%H%M-%Z", instant) == "20261130-2330-UTC"
    cet = timezone(timedelta(hours=1), "CET")
    assert at("%Y%m%d-%H%M-%Z", instant.astimezone(cet)) == "20261201-0030-CET"


def test_zone_without_a_tag_friendly_name_renders_its_offset() -> None:
    when = datetime(2026, 11, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert at("v%Z", when) == "vUTCp0530"


# --- names are English whatever the locale -----------------------------------------------


def test_names_come_from_english_tables() -> None:
    for offset in range(7):
        when = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=offset)
        assert at("%A-%a", when) == f"{DAYS[offset]}-{DAYS[offset][:3]}"
    for month in range(1, 13):
        when = datetime(2024, month, 1, tzinfo=UTC)
        assert at("%B-%b", when) == f"{MONTHS[month - 1]}-{MONTHS[month - 1][:3]}"


def test_module_never_asks_the_locale_for_names() -> None:
    """strftime, time, calendar and locale all follow LC_TIME; the module must use none."""
    tree = ast.parse(Path(template_module.__file__).read_text(encoding="utf-8"))
    calls = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not calls & {"strftime", "setlocale", "day_name", "month_name", "day_abbr"}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"time", "calendar", "locale"}


def _compiled_locale(folder: Path) -> str | None:
    """Build de_DE.UTF-8 into ``folder`` with localedef (Debian's ``locales`` sources)."""
    localedef = shutil.which("localedef")
    if localedef is None or not Path("/usr/share/i18n/locales/de_DE").exists():
        return None
    result = subprocess.run(
        [localedef, "-i", "de_DE", "-f", "UTF-8", str(folder / "de_DE.UTF-8")],
        capture_output=True,
        timeout=120,
    )
    return "de_DE.UTF-8" if (folder / "de_DE.UTF-8").exists() or result.returncode == 0 else None


@pytest.fixture
def foreign_time_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Switch LC_TIME to a non-English locale: an installed one, else one built for the test."""
    for name in NON_ENGLISH_LOCALES:
        try:
            with time_locale(name):
                yield name
                return
        except locale.Error:
            continue
    built = _compiled_locale(tmp_path)
    if built is not None:
        monkeypatch.setenv("LOCPATH", str(tmp_path))  # glibc reads it at each setlocale
        with time_locale(built):
            yield built
            return
    pytest.skip("no non-English locale is installed and localedef cannot build one")


def test_names_stay_english_under_a_foreign_locale(foreign_time_locale: str) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday in January
    assert when.strftime("%A %B") != "Monday January", "the locale did not take effect"
    assert at("%A-%a-%B-%b-%p", when) == "Monday-Mon-January-Jan-AM"


# --- examples from the seed data and the manual ------------------------------------------


def test_seed_template() -> None:
    assert at("%Y%m%d-%H%M%S", datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)) == "20261130-090503"


def test_n_is_the_tag_not_a_newline() -> None:
    when = datetime(2026, 11, 30, tzinfo=UTC)
    for tag in ("1", "4.5", "latest", "1.4.2_rc-1"):
        assert render("%n", TemplateContext(tag=tag, when=when)) == tag
    assert at("%n-qa", when) == "1.4-qa"


def test_repository_and_digest() -> None:
    ctx = TemplateContext(
        tag="1.4",
        when=datetime(2026, 11, 30, tzinfo=UTC),
        digest="sha256:0123456789abcdef" + "0" * 48,
        repository="dev/website",
    )
    assert render("%n-%R-%D", ctx) == "1.4-website-0123456789ab"
    assert render("%R", TemplateContext("x", ctx.when, repository="website")) == "website"


def test_named_groups() -> None:
    ctx = TemplateContext("v1.4-rc", datetime(2026, 11, 30, tzinfo=UTC), groups={"ver": "1.4"})
    assert render("%{ver}-qa", ctx) == "1.4-qa"
    assert validate_template("%{ver}-qa", has_matches_groups={"ver"}) == [Token("%{ver}"), "-qa"]


def test_parse_splits_literals_and_tokens() -> None:
    parts: list[Part] = ["v", Token("%n"), "-", Token("%{ver}"), "x", Token("%%")]
    assert parse_template("v%n-%{ver}x%%") == parts
    assert Token("%{ver}").group == "ver"
    assert Token("%n").group is None
    assert render(parse_template("%n_%y"), TemplateContext("a", datetime(2026, 1, 1, tzinfo=UTC)))


def test_token_list_is_complete() -> None:
    expected = [f"%{c}" for c in "nAawdBbmYyHIpMSfZjWDR"] + ["%{NAME}", "%%"]
    assert list(TOKENS) == expected
    assert TOKENS["%W"] == "week of the year (Monday first)"
    assert all(meaning for meaning in TOKENS.values())


def test_context_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TemplateContext("1.4", datetime(2026, 11, 30))


# --- errors ------------------------------------------------------------------------------


def test_unknown_token_names_it_and_lists_the_known_ones() -> None:
    problem = error(parse_template, "abcd%q")
    assert problem.position == 5
    assert not problem.rendered
    assert isinstance(problem, InvalidInput)
    assert str(problem).startswith("unknown token '%q' at position 5; known tokens: %n, %A, %a,")
    assert "%{NAME}" in str(problem)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("v%", 2, "lone '%' at position 2"),
        ("%{ver", 1, "unterminated '%{' at position 1"),
        ("a%{", 2, "unterminated '%{' at position 2"),
        ("ab%{}", 3, "empty group name '%{}' at position 3"),
        ("%{1a}", 1, "'1a' is not a group name"),
        ("x%{a-b}", 2, "'a-b' is not a group name"),
    ],
)
def test_malformed_tokens(text: str, position: int, fragment: str) -> None:
    problem = error(parse_template, text)
    assert problem.position == position
    assert fragment in str(problem)


def test_empty_template() -> None:
    assert "cannot be empty" in str(error(parse_template, ""))
    assert "cannot be empty" in str(error(validate_template, ""))


def test_group_unknown_to_the_matches_rule() -> None:
    problem = error(validate_template, "x%{ver}-qa", has_matches_groups=["major", "minor"])
    assert problem.position == 2
    assert "unknown group 'ver'" in str(problem)
    assert "groups: major, minor" in str(problem)
    assert "groups: none" in str(error(validate_template, "%{ver}"))


def test_missing_context_at_render() -> None:
    when = datetime(2026, 11, 30, tzinfo=UTC)
    missing_group = error(at, "%n-%{ver}", when, groups={"major": "1"})
    assert missing_group.position == 4
    assert not missing_group.rendered
    assert "no group 'ver'" in str(missing_group)
    assert "source digest" in str(error(at, "%D", when))
    assert "source repository" in str(error(at, "x%R", when))


def test_invalid_literal_character_is_found_before_any_promotion() -> None:
    problem = error(validate_template, "%Y:%m")
    assert problem.position == 3
    assert str(problem).startswith("':' at position 3 is not allowed in a tag")
    assert error(validate_template, "%n/%R").position == 3
    for start in (".%n", "-%n"):
        assert "starts with" in str(error(validate_template, start))


def test_invalid_character_in_the_rendered_tag_names_its_source() -> None:
    when = datetime(2026, 11, 30, tzinfo=UTC)
    problem = error(at, "%n/x", when)
    assert problem.rendered
    assert problem.position == 4
    assert str(problem) == (
        "the rendered tag '1.4/x' has '/' at position 4 (from the literal text '/x'); "
        "tags may contain only letters, digits, '_', '.' and '-'"
    )
    from_group = error(at, "v%{ver}", when, groups={"ver": "a b"})
    assert from_group.position == 3
    assert "(from '%{ver}')" in str(from_group)
    first = error(at, "%{ver}", when, groups={"ver": "-x"})
    assert first.position == 1
    assert "must start with a letter, digit or '_'" in str(first)


def test_too_long_and_empty_results() -> None:
    when = datetime(2026, 11, 30, tzinfo=UTC)
    problem = error(render, "%n%n", TemplateContext("a" * 70, when))
    assert problem.rendered
    assert problem.position == 129
    assert "is 140 characters; the limit is 128" in str(problem)
    assert "the limit is 128" in str(error(validate_template, "a" * 129))
    assert validate_template("a" * 128) == ["a" * 128]
    assert "empty tag" in str(error(at, "%{ver}", when, groups={"ver": ""}))


def test_percent_sign_is_parsed_but_never_a_valid_tag() -> None:
    assert parse_template("a%%b") == ["a", Token("%%"), "b"]
    problem = error(validate_template, "a%%b")
    assert problem.position == 2
    assert str(problem) == "'%%' at position 2 renders '%', which is not allowed in a tag"
    rendered = error(at, "a%%b", datetime(2026, 11, 30, tzinfo=UTC))
    assert rendered.rendered
    assert rendered.position == 2
    assert "has '%' at position 2 (from '%%')" in str(rendered)


# --- properties ----------------------------------------------------------------------------

NAMED_ZONES = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
    st.text(string.ascii_uppercase, min_size=3, max_size=5),
).filter(
    # The one deliberate difference from strftime: a zone named UTC or GMT away from
    # Greenwich (POSIX TZ=UTC-05) renders its offset instead (test_template_zones.py).
    lambda zone: zone.tzname(None) not in ("UTC", "GMT") or not zone.utcoffset(None)
)
ZONES = st.just(UTC) | NAMED_ZONES


def aware_datetimes(first_year: int = 1, last_year: int = 9999) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(first_year, 1, 1),
        max_value=datetime(last_year, 12, 31, 23, 59, 59, 999999),
        timezones=ZONES,
    )


@PROPERTY
@given(when=aware_datetimes(1000, 9999))
def test_time_tokens_match_c_strftime(when: datetime) -> None:
    template = "-".join([*NUMERIC, "%Z"])
    with time_locale("C"):
        assert at(template, when) == when.strftime(template)
    weekday = DAYS[(when.weekday() + 1) % 7]
    month = MONTHS[when.month - 1]
    assert at("%A-%a-%B-%b", when) == f"{weekday}-{weekday[:3]}-{month}-{month[:3]}"


GROUPS = ("ver", "major", "rc_1")
LITERALS = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=8)
TEMPLATE_TOKENS = [t for t in TOKENS if t not in ("%%", "%{NAME}")] + [f"%{{{g}}}" for g in GROUPS]
TEMPLATES = st.lists(
    st.one_of(LITERALS, st.sampled_from(TEMPLATE_TOKENS), st.just("%n")), min_size=1, max_size=8
)


# Built by hand from the grammars: hypothesis's from_regex is too slow for a 10 s budget.
def oci_tags(min_size: int = 1, max_size: int = 128) -> st.SearchStrategy[str]:
    """TAG_RE (``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``), limited to the sizes given."""
    first = st.sampled_from(string.ascii_letters + string.digits + "_")
    rest_chars = string.ascii_letters + string.digits + "._-"
    rest = st.text(rest_chars, min_size=min_size - 1, max_size=max_size - 1)
    return st.builds(str.__add__, first, rest)


ALNUM = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6)
SEPARATORS = st.sampled_from([".", "_", "__", "-", "--"])
COMPONENTS = st.builds(
    lambda head, tail: head + "".join(sep + run for sep, run in tail),
    ALNUM,
    st.lists(st.tuples(SEPARATORS, ALNUM), max_size=3),
)
REPOSITORIES = st.lists(COMPONENTS, min_size=1, max_size=4).map("/".join)


@PROPERTY
@given(
    pieces=TEMPLATES,
    tag=oci_tags() | oci_tags(min_size=70),  # long tags reach the 128 limit
    when=aware_datetimes(),
    digest=st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__),
    repository=REPOSITORIES,
    groups=st.fixed_dictionaries({g: oci_tags(max_size=16) for g in GROUPS}),
)
def test_validated_templates_render_valid_tags_or_are_too_long(
    pieces: list[str],
    tag: str,
    when: datetime,
    digest: str,
    repository: str,
    groups: dict[str, str],
) -> None:
    assert TAG_RE.fullmatch(tag)
    assert REPOSITORY_RE.fullmatch(repository)
    text = "".join(pieces)
    try:
        parts = validate_template(text, has_matches_groups=GROUPS)
    except TemplateError:
        assume(False)
    ctx = TemplateContext(tag, when, digest, repository, groups)
    # Each token renders a valid tag on its own, so the length is known without render().
    length = sum(len(p) if isinstance(p, str) else len(render([p], ctx)) for p in parts)
    try:
        rendered = render(parts, ctx)
    except TemplateError as problem:
        event("too long")
        assert length > 128, str(problem)
        assert problem.rendered
        assert problem.position == 129
        assert re.search(rf"is {length} characters; the limit is 128$", str(problem))
    else:
        event("valid tag")
        assert length <= 128
        assert TAG_RE.fullmatch(rendered)
        assert len(rendered) == length
