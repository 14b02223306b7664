"""Rules compiled once and evaluated against image facts, with reasons in words.

Compiling turns the strings of MSR's rule shape into typed values (a compiled regex, a
version range, a byte count, a duration) and fails with a message that names the rule;
evaluating never raises: each rule *holds*, *fails* or is *unknown* (the facts do not
tell), with a sentence a dry run can show.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from hoister.facts import ImageFacts
from hoister.policies import values as parse
from hoister.policies.errors import PolicyError
from hoister.policies.fields import (
    ANY_OF_OPERATORS,
    LIST_OPERATORS,
    NEGATED_WORDS,
    NEGATIVE_OPERATORS,
    OPERATOR_WORDS,
    FieldSpec,
    ValueType,
    check_operator,
    field_label,
    lookup_field,
    takes_several_values,
)
from hoister.policies.model import Rule
from hoister.policies.semver import parse_range, parse_version


class Outcome(StrEnum):
    HELD = "held"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    outcome: Outcome
    reason: str
    source: str | None = None


def describe_rule(rule: Rule) -> str:
    """The rule in words: ``Tag name ends with 'stable'``."""
    words = OPERATOR_WORDS.get(rule.operator, rule.operator)
    return f"{_label(rule)} {words} {_values_text(rule)}"


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    spec: FieldSpec
    key: str | None
    test: Callable[[Any], bool] = field(repr=False)
    pattern: re.Pattern[str] | None = None

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(self.pattern.groupindex) if self.pattern is not None else ()

    def evaluate(self, facts: ImageFacts, now: datetime) -> Verdict:
        rule, spec = self.rule, self.spec
        fact = getattr(facts, spec.fact)
        source = facts.sources.get(spec.fact)
        if fact is None:
            why = facts.missing.get(spec.fact) or f"nothing tells the {spec.fact} of this image"
            return Verdict(rule, Outcome.UNKNOWN, f"unknown: {why}", None)
        subject = _subject(self, fact, now)
        if subject is _MISSING:
            holds = rule.operator in NEGATIVE_OPERATORS
            reason = f"the image has no {spec.label.lower()} '{self.key}'"
            return Verdict(rule, Outcome.HELD if holds else Outcome.FAILED, reason, source)
        if spec.multi:
            return self._evaluate_many(list(subject), source)
        holds = bool(self.test(subject))
        words = OPERATOR_WORDS[rule.operator] if holds else NEGATED_WORDS[rule.operator]
        if spec.code == "updated_at_duration":
            words = {"bf": "more than", "af": "less than"}[rule.operator]
            words = words if holds else f"not {words}"
            reason = f"updated {_show(subject, spec)}, {words} {rule.values[0]} ago"
        else:
            reason = f"{_label(rule)}: {_show(subject, spec)}, which {words} {_values_text(rule)}"
        return Verdict(rule, Outcome.HELD if holds else Outcome.FAILED, reason, source)

    def _evaluate_many(self, items: list[str], source: str | None) -> Verdict:
        """Positive operators need one matching element; negative ones need none."""
        rule, noun = self.rule, self.spec.fact.removesuffix("s")
        wanted = _values_text(rule)
        if rule.operator in NEGATIVE_OPERATORS:
            positive = OPERATOR_WORDS["eq" if rule.operator == "neq" else "oo"]
            offenders = [item for item in items if not self.test(item)]
            if offenders:
                return Verdict(
                    rule, Outcome.FAILED, f"'{offenders[0]}' {positive} {wanted}", source
                )
            return Verdict(
                rule, Outcome.HELD, f"no {noun} {positive} {wanted} ({len(items)} checked)", source
            )
        words = OPERATOR_WORDS[rule.operator]
        hits = [item for item in items if self.test(item)]
        if hits:
            return Verdict(rule, Outcome.HELD, f"'{hits[0]}' {words} {wanted}", source)
        return Verdict(
            rule, Outcome.FAILED, f"no {noun} {words} {wanted} ({len(items)} checked)", source
        )


_MISSING = object()


def _values_text(rule: Rule) -> str:
    try:
        quoted = lookup_field(rule.field)[0].value_type is ValueType.TEXT
    except PolicyError:
        quoted = True
    shown = [f"'{v}'" if quoted else v for v in rule.values]
    if rule.operator in LIST_OPERATORS:
        return f"[{', '.join(shown)}]"
    if len(shown) > 1:  # any of them: "starts with 'rc-' or 'beta-'"
        return f"{', '.join(shown[:-1])} or {shown[-1]}"
    return ", ".join(shown)


def _subject(compiled: CompiledRule, fact: Any, now: datetime) -> Any:
    spec = compiled.spec
    if compiled.key is not None:
        return fact.get(compiled.key, _MISSING)
    if spec.fact == "vulnerabilities":
        bucket = spec.code.removeprefix("vulnerability_")
        return fact.all if bucket == "all" else getattr(fact, bucket)
    if spec.value_type is ValueType.DURATION:
        return now - fact  # age of the image, or time since its update
    return fact


def _label(rule: Rule) -> str:
    try:
        return field_label(rule.field)
    except PolicyError:  # pragma: no cover - compiled rules always have a known field
        return rule.field


def _show(subject: Any, spec: FieldSpec) -> str:
    if spec.value_type is ValueType.DURATION:
        text = parse.format_duration(subject)
        return f"{text} ago" if spec.code == "updated_at_duration" else text
    if spec.value_type is ValueType.SIZE:
        return parse.format_size(subject)
    if isinstance(subject, datetime):
        return subject.isoformat()
    return f"'{subject}'" if isinstance(subject, str) else str(subject)


def _text_test(
    operator: str, values: Sequence[str]
) -> tuple[Callable[[str], bool], re.Pattern[str] | None]:
    value = values[0] if values else ""
    if operator == "matches":
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression '{value}': {exc}") from None
        return (lambda s: pattern.fullmatch(s) is not None), pattern
    if operator == "glob":
        pattern = re.compile(fnmatch.translate(value))
        return (lambda s: pattern.fullmatch(s) is not None), None
    if operator == "semver":
        version_range = parse_range(value)

        def in_range(s: str) -> bool:
            version = parse_version(s)
            return version is not None and version_range.allows(version)

        return in_range, None
    if operator in ANY_OF_OPERATORS and len(values) > 1:
        return _any_of(operator, tuple(values)), None
    tests: dict[str, Callable[[str], bool]] = {
        "eq": lambda s: s == value,
        "neq": lambda s: s != value,
        "sw": lambda s: s.startswith(value),
        "ew": lambda s: s.endswith(value),
        "c": lambda s: value in s,
        "oo": lambda s: s in values,
        "noo": lambda s: s not in values,
    }
    return tests[operator], None


def _any_of(operator: str, values: tuple[str, ...]) -> Callable[[str], bool]:
    """Several values of ``eq``/``sw``/``ew``/``c``: the rule holds when one of them does."""
    if operator == "eq":
        wanted = frozenset(values)
        return lambda s: s in wanted
    if operator == "sw":
        return lambda s: s.startswith(values)
    if operator == "ew":
        return lambda s: s.endswith(values)
    return lambda s: any(value in s for value in values)


def _ordered_test(operator: str, bound: Any) -> Callable[[Any], bool]:
    return {
        "eq": lambda v: v == bound,
        "neq": lambda v: v != bound,
        "gt": lambda v: v > bound,
        "gte": lambda v: v >= bound,
        "lt": lambda v: v < bound,
        "lte": lambda v: v <= bound,
        "bf": lambda v: v < bound,
        "af": lambda v: v > bound,
    }[operator]


def compile_rule(rule: Rule, where: str = "") -> CompiledRule:
    """Check and compile one rule; ``where`` prefixes messages (``policy 'x', rule 2: ``)."""
    try:
        spec = check_operator(rule.field, rule.operator)
        _, key = lookup_field(rule.field)
        values = [v.strip() if spec.value_type is not ValueType.TEXT else v for v in rule.values]
        # In the editor's words ("Tag name equals"), not MSR's codes ("tag eq"): the
        # editor shows these under the row, and a CLI user reads them as well.
        words = f"{field_label(rule.field)} {OPERATOR_WORDS[rule.operator]}"
        if not values:
            raise PolicyError(f"{words} needs a value")
        if len(values) > 1 and not takes_several_values(rule.field, rule.operator):
            raise PolicyError(
                f"{words} takes one value, got {len(values)}; "
                f"use '{OPERATOR_WORDS['oo']}' (oo) for several"
            )
        pattern = None
        try:
            if spec.value_type is ValueType.TEXT:
                test, pattern = _text_test(rule.operator, values)
            elif spec.value_type is ValueType.COUNT:
                test = _ordered_test(rule.operator, parse.parse_count(values[0]))
            elif spec.value_type is ValueType.SIZE:
                test = _ordered_test(rule.operator, parse.parse_size(values[0]))
            elif spec.value_type is ValueType.TIME:
                test = _ordered_test(rule.operator, parse.parse_time(values[0]))
            elif spec.value_type is ValueType.DURATION:
                test = _duration_test(rule.operator, parse.parse_duration(values[0]))
            else:
                wanted = parse.parse_bool(values[0])
                test = (lambda v: v == wanted) if rule.operator == "eq" else (lambda v: v != wanted)
        except ValueError as exc:
            raise PolicyError(str(exc)) from None
    except PolicyError as exc:
        raise PolicyError(f"{where}{exc}") from None
    return CompiledRule(rule, spec, key, test, pattern)


def _duration_test(operator: str, bound: timedelta) -> Callable[[timedelta], bool]:
    # ``updated_at_duration bf 12h``: the update lies before (now - 12h), i.e. longer ago.
    translated = {"bf": "gt", "af": "lt"}.get(operator, operator)
    return _ordered_test(translated, bound)
