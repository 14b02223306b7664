"""Version ranges over tags: ``>=1.2,<2``, ``^1.4``, ``~1.4.2``, ``1.x``, ``a || b``.

Tags are rarely strict SemVer (``1.4``, ``v1.4.2``, ``1.4-stable``), so a version is read
leniently: an optional ``v``, one to three numbers, and an optional pre-release suffix
after ``-``. A tag that is not a version at all simply does not satisfy a range.
Ranges that no version can satisfy are refused when the policy is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")
_COMPARATOR = re.compile(r"(>=|<=|!=|==|>|<|=|\^|~)?\s*(v?[0-9xX*][0-9A-Za-z.*+-]*)")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its pre-releases; numeric identifiers before text ones.
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{'.'.join(self.pre)}" if self.pre else text


def parse_version(text: str) -> Version | None:
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return Version(
        int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ()
    )


@dataclass(frozen=True)
class Bound:
    op: str  # one of > >= < <= = !=
    version: Version

    def allows(self, version: Version) -> bool:
        return {
            ">": version > self.version,
            ">=": version >= self.version,
            "<": version < self.version,
            "<=": version <= self.version,
            "=": version == self.version,
            "!=": version != self.version,
        }[self.op]


@dataclass(frozen=True)
class VersionRange:
    """OR of AND-clauses of bounds."""

    text: str
    clauses: tuple[tuple[Bound, ...], ...]

    def allows(self, version: Version) -> bool:
        return any(all(b.allows(version) for b in clause) for clause in self.clauses)


def _expand(op: str, raw: str) -> list[Bound]:
    """One comparator to plain bounds (``^1.4`` -> ``>=1.4.0, <2.0.0``)."""
    parts = re.split(r"[.]", raw.lstrip("vV").split("-")[0].split("+")[0])
    wild = [p in ("x", "X", "*") for p in parts]
    if any(wild):
        fixed = parts[: wild.index(True)]
        if not all(p.isdigit() for p in fixed):
            raise ValueError(f"'{raw}' is not a version")
        nums = [int(p) for p in fixed]
        if not nums:
            return [Bound(">=", Version(0, 0, 0, ("0",)))]  # '*': anything
        low = Version(*([*nums, 0, 0])[:3])
        high = Version(nums[0] + 1, 0, 0) if len(nums) == 1 else Version(nums[0], nums[1] + 1, 0)
        return [Bound(">=", low), Bound("<", high)]
    version = parse_version(raw)
    if version is None:
        raise ValueError(f"'{raw}' is not a version")
    given = len(parts)
    if op == "^":
        if version.major > 0 or given == 1:
            high = Version(version.major + 1, 0, 0)
        elif version.minor > 0 or given == 2:
            high = Version(0, version.minor + 1, 0)
        else:
            high = Version(0, 0, version.patch + 1)
        return [Bound(">=", version), Bound("<", high)]
    if op == "~":
        high = (
            Version(version.major + 1, 0, 0)
            if given == 1
            else Version(version.major, version.minor + 1, 0)
        )
        return [Bound(">=", version), Bound("<", high)]
    return [Bound({"": "=", "==": "="}.get(op, op), version)]


def _satisfiable(clause: tuple[Bound, ...]) -> bool:
    low: Bound | None = None
    high: Bound | None = None
    for bound in clause:
        if bound.op in (">", ">=", "=") and (
            low is None
            or bound.version > low.version
            or (bound.version == low.version and bound.op == ">")
        ):
            low = Bound(">" if bound.op == ">" else ">=", bound.version)
        if bound.op in ("<", "<=", "=") and (
            high is None
            or bound.version < high.version
            or (bound.version == high.version and bound.op == "<")
        ):
            high = Bound("<" if bound.op == "<" else "<=", bound.version)
    if low is None or high is None:
        return True
    if low.version < high.version:
        return True
    return low.version == high.version and low.op == ">=" and high.op == "<="


def parse_range(text: str) -> VersionRange:
    """Parse a range; ``ValueError`` says what is wrong, including impossible ranges."""
    if not text.strip():
        raise ValueError("a version range is required, such as >=1.2,<2")
    clauses = []
    for alternative in text.split("||"):
        bounds: list[Bound] = []
        rest = alternative.replace(",", " ").strip()
        if not rest:
            raise ValueError(f"'{text}' has an empty alternative around '||'")
        position = 0
        while position < len(rest):
            if rest[position].isspace():
                position += 1
                continue
            match = _COMPARATOR.match(rest, position)
            if match is None:
                raise ValueError(
                    f"'{text}' is not a version range: cannot read '{rest[position:]}'"
                )
            bounds.extend(_expand(match.group(1) or "", match.group(2)))
            position = match.end()
        clause = tuple(bounds)
        if not _satisfiable(clause):
            raise ValueError(
                f"no version can satisfy '{alternative.strip()}'; the range is impossible"
            )
        clauses.append(clause)
    return VersionRange(text, tuple(clauses))
