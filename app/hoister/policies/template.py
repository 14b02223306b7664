"""Tag templates: how a promotion names the target tag (``%Y%m%d-%H%M%S``, ``%n-qa``).

The tokens follow C ``strftime`` so people coming from MSR or ``date`` recognise them,
with three deliberate differences: ``%n`` is the promoted tag (not a newline); names
of days and months come from fixed English tables, never from ``strftime``, so a tag
does not change with the locale of the machine that happens to run the promotion; and
``%Z`` of a zone whose name a tag cannot hold (``+0530``) is written from its offset
(:func:`zone_name`).

Errors carry a 1-based ``position`` (in the template, or in the rendered tag when
``rendered=True``) so the policy editor can put the cursor on the offending text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeAlias

from hoister.policies.errors import TemplateError
from hoister.registry.reference import TAG_RE

TOKENS: dict[str, str] = {
    "%n": "the tag being promoted",
    "%A": "day of the week",
    "%a": "day of the week, abbreviated",
    "%w": "day of the week as a number (Sunday = 0)",
    "%d": "day of the month",
    "%B": "month",
    "%b": "month, abbreviated",
    "%m": "month as a number",
    "%Y": "year",
    "%y": "year, two digits",
    "%H": "hour, 24-hour clock",
    "%I": "hour, 12-hour clock",
    "%p": "period of the day",
    "%M": "minute",
    "%S": "second",
    "%f": "microsecond",
    "%Z": "time zone name (UTC, CET...; a zone known only by its offset gives UTCp0530 / UTCm03)",
    "%j": "day of the year",
    "%W": "week of the year (Monday first)",
    "%D": "first 12 hex characters of the source digest (after sha256:)",
    "%R": "last path component of the source repository (website for dev/website)",
    "%{NAME}": "named group NAME of the policy's matches rule on the tag",
    # Parsed so the message can point at it, but '%' is not a tag character: a template
    # using it never passes validate_template and always fails at render.
    "%%": "a literal percent sign (not allowed in a tag; a template using it is rejected)",
}

MAX_TAG_LENGTH = 128
_FIRST_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_TAG_CHARS = _FIRST_CHARS | {".", "-"}
_ALLOWED = "tags may contain only letters, digits, '_', '.' and '-'"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Token:
    """One ``%`` token as written in the template, e.g. ``%Y`` or ``%{ver}``."""

    text: str

    @property
    def group(self) -> str | None:
        """The group name of a ``%{NAME}`` token, else None."""
        return self.text[2:-1] if self.text.startswith("%{") else None


Part: TypeAlias = str | Token  # a literal run of text, or a token


@dataclass(frozen=True)
class TemplateContext:
    """What a template may read; ``when`` is already in the zone the policy chose."""

    tag: str
    when: datetime
    digest: str | None = None
    repository: str | None = None
    groups: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A naive time would make %Z empty and hide whether UTC or local time was meant.
        if self.when.utcoffset() is None:
            raise ValueError("TemplateContext.when must be timezone-aware")


_ZONE_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


def zone_name(when: datetime) -> str:
    """``%Z``: a zone name a tag can hold, wherever ``%Z`` stands in the template.

    A name made of letters, digits and '_' (UTC, CET, EST) is kept. Any other name —
    numeric zones such as ``+0530`` or ``-03`` (``TZ=UTC-05``, many tzdata zones), or
    Python's ``UTC+05:30`` — is written from the offset instead: ``UTC``, then ``p``
    (east of Greenwich) or ``m`` (west) and the offset's hours and minutes (seconds too,
    when there are any): ``UTCp0530``, ``UTCm0300``. The sign is a letter because '+'
    is not a tag character, and '-' would make ``m`` and ``p`` zones read differently.
    """
    name = when.tzname() or ""
    offset = when.utcoffset()
    assert offset is not None  # TemplateContext refuses naive times
    seconds = int(offset.total_seconds())
    # POSIX TZ=UTC-05 names its zone "UTC" five hours east of it: the offset says more.
    misleading = name.upper() in ("UTC", "GMT", "Z") and seconds != 0
    if _ZONE_NAME_RE.fullmatch(name) and not misleading:
        return name
    if seconds == 0:
        return "UTC"
    sign, seconds = ("p", seconds) if seconds > 0 else ("m", -seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"UTC{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _day_of_year(when: datetime) -> int:
    return when.toordinal() - date(when.year, 1, 1).toordinal() + 1


_TIME_TOKENS: dict[str, Callable[[datetime], str]] = {
    "%A": lambda t: _WEEKDAYS[t.weekday()],
    "%a": lambda t: _WEEKDAYS[t.weekday()][:3],
    "%w": lambda t: str((t.weekday() + 1) % 7),
    "%d": lambda t: f"{t.day:02d}",
    "%B": lambda t: _MONTHS[t.month - 1],
    "%b": lambda t: _MONTHS[t.month - 1][:3],
    "%m": lambda t: f"{t.month:02d}",
    "%Y": lambda t: f"{t.year:04d}",
    "%y": lambda t: f"{t.year % 100:02d}",
    "%H": lambda t: f"{t.hour:02d}",
    "%I": lambda t: f"{t.hour % 12 or 12:02d}",
    "%p": lambda t: "AM" if t.hour < 12 else "PM",
    "%M": lambda t: f"{t.minute:02d}",
    "%S": lambda t: f"{t.second:02d}",
    "%f": lambda t: f"{t.microsecond:06d}",
    "%Z": lambda t: zone_name(t),
    "%j": lambda t: f"{_day_of_year(t):03d}",
    # C: (yday + 7 - days since Monday) / 7 with a 0-based yday; days before the
    # year's first Monday fall in week 00.
    "%W": lambda t: f"{(_day_of_year(t) - 1 + 7 - t.weekday()) // 7:02d}",
}


# A token is '%' and one character, or '%{' up to the next '}' (or the end, if unclosed).
_TOKEN_RE = re.compile(r"%(?:\{[^}]*\}?|.?)", re.DOTALL)


def _check_token(token: str, position: int) -> None:
    """Raise unless ``token`` (as matched by ``_TOKEN_RE``) is a token Hoister knows."""
    at = f"at position {position}"
    if token == "%":
        problem = f"a lone '%' {at} ends the template; write a token such as %n or %Y after it"
    elif token.startswith("%{") and not token.endswith("}"):
        problem = f"unterminated '%{{' {at}; write %{{NAME}} with a closing '}}'"
    elif token == "%{}":
        problem = f"empty group name '%{{}}' {at}; write %{{NAME}}"
    elif token.startswith("%{") and not token[2:-1].isidentifier():
        problem = (
            f"'{token}' {at}: '{token[2:-1]}' is not a group name "
            "(letters, digits and '_', not starting with a digit)"
        )
    elif not token.startswith("%{") and token not in TOKENS:
        problem = f"unknown token {token!r} {at}; known tokens: {', '.join(TOKENS)}"
    else:
        return
    raise TemplateError(problem, position)


def parse_template(text: str) -> list[Part]:
    """Split ``text`` into literals and tokens, rejecting anything that is not a token."""
    if not text:
        raise TemplateError("a tag template cannot be empty (for example %n or %Y%m%d)")
    parts: list[Part] = []
    last = 0
    for match in _TOKEN_RE.finditer(text):
        _check_token(match.group(), match.start() + 1)
        if match.start() > last:
            parts.append(text[last : match.start()])
        parts.append(Token(match.group()))
        last = match.end()
    if last < len(text):
        parts.append(text[last:])
    return parts


def _positioned(parts: Sequence[Part]) -> list[tuple[int, Part]]:
    """Pair each part with its 1-based template position (recomputed: parts may be built)."""
    out, position = [], 1
    for part in parts:
        out.append((position, part))
        position += len(part) if isinstance(part, str) else len(part.text)
    return out


def _render_token(token: Token, position: int, ctx: TemplateContext) -> str:
    where = f"'{token.text}' at position {position}"
    if token.text in _TIME_TOKENS:
        return _TIME_TOKENS[token.text](ctx.when)
    if token.text == "%n":
        return ctx.tag
    if token.text == "%%":
        return "%"
    if token.text == "%D":
        if not ctx.digest:
            raise TemplateError(f"{where} needs the source digest, which is not known", position)
        return (ctx.digest.partition(":")[2] or ctx.digest)[:12]
    if token.text == "%R":
        component = (ctx.repository or "").rstrip("/").rpartition("/")[2]
        if not component:
            raise TemplateError(
                f"{where} needs the source repository, which is not known", position
            )
        return component
    name = token.group
    if name is None:
        raise TemplateError(f"unknown token {where}", position)
    value = ctx.groups.get(name)
    if value is None:
        available = ", ".join(ctx.groups) or "none"
        raise TemplateError(
            f"{where}: the matches rule gave no group '{name}' for tag '{ctx.tag}' "
            f"(groups: {available})",
            position,
        )
    return value


def _shown(tag: str) -> str:
    return tag if len(tag) <= 40 else tag[:37] + "..."


def _check_rendered(tag: str, pieces: list[tuple[str, Part]]) -> None:
    """Raise unless ``tag`` is an OCI tag, saying which part produced the bad character."""
    if TAG_RE.fullmatch(tag):
        return
    if not tag:
        raise TemplateError(
            "the template renders an empty tag; every part was empty", rendered=True
        )
    offset = 0
    for text, part in pieces:
        for index, char in enumerate(text):
            position = offset + index + 1
            if char in (_FIRST_CHARS if position == 1 else _TAG_CHARS):
                continue
            source = f"the literal text {part!r}" if isinstance(part, str) else f"'{part.text}'"
            rule = "a tag must start with a letter, digit or '_'" if position == 1 else _ALLOWED
            raise TemplateError(
                f"the rendered tag '{_shown(tag)}' has {char!r} at position {position} "
                f"(from {source}); {rule}",
                position,
                rendered=True,
            )
        offset += len(text)
    raise TemplateError(
        f"the rendered tag '{_shown(tag)}' is {len(tag)} characters; the limit is {MAX_TAG_LENGTH}",
        MAX_TAG_LENGTH + 1,
        rendered=True,
    )


def render(template: str | Sequence[Part], ctx: TemplateContext) -> str:
    """Render ``template`` for one promotion and prove the result is a valid tag."""
    parts = parse_template(template) if isinstance(template, str) else list(template)
    pieces = [
        (part if isinstance(part, str) else _render_token(part, position, ctx), part)
        for position, part in _positioned(parts)
    ]
    tag = "".join(text for text, _ in pieces)
    _check_rendered(tag, pieces)
    return tag


# The longest English names (Wednesday, September) so the length check is not optimistic.
_SAMPLE_TIME = datetime(2026, 9, 30, 9, 5, 3, 123456, tzinfo=UTC)


def validate_template(text: str, *, has_matches_groups: Collection[str] = ()) -> list[Part]:
    """Check a template when a policy is saved, so mistakes surface before a promotion."""
    parts = parse_template(text)
    for position, part in _positioned(parts):
        if isinstance(part, Token):
            if part.text == "%%":
                raise TemplateError(
                    f"'%%' at position {position} renders '%', which is not allowed in a tag",
                    position,
                )
            if part.group is not None and part.group not in has_matches_groups:
                available = ", ".join(sorted(has_matches_groups)) or "none"
                raise TemplateError(
                    f"unknown group '{part.group}' in '{part.text}' at position {position}; "
                    f"the matches rule has groups: {available}",
                    position,
                )
            continue
        if position == 1 and part[0] in ".-":
            raise TemplateError(
                f"the template starts with '{part[0]}'; a tag must start with a letter, "
                "digit, '_' or a token",
                1,
            )
        for index, char in enumerate(part):
            if char not in _TAG_CHARS:
                at = position + index
                raise TemplateError(
                    f"{char!r} at position {at} is not allowed in a tag; {_ALLOWED}", at
                )
    groups = dict.fromkeys(has_matches_groups, "x")
    render(parts, TemplateContext("1.0", _SAMPLE_TIME, "sha256:" + "a" * 64, "dev/website", groups))
    return parts
