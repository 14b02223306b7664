"""The catalogue of rule fields and operators: codes, human words, value types.

MSR's API codes are kept as they are (``tag``, ``vulnerability_critical``, ``ew``...) so
MSR exports import unchanged; Hoister's additions use the same style. Each field says
which operators apply, what type its values are and which image fact answers it, so
the editor, the validator and the evaluator read one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hoister.policies.errors import PolicyError


class ValueType(StrEnum):
    TEXT = "text"
    COUNT = "count"
    SIZE = "size"
    TIME = "time"
    DURATION = "duration"
    BOOL = "bool"


OPERATOR_WORDS: dict[str, str] = {
    "eq": "equals",
    "neq": "does not equal",
    "sw": "starts with",
    "ew": "ends with",
    "c": "contains",
    "oo": "is one of",
    "noo": "is not one of",
    "matches": "matches the regular expression",
    "glob": "matches the pattern",
    "semver": "is a version in",
    "gte": "is at least",
    "gt": "is more than",
    "lte": "is at most",
    "lt": "is less than",
    "bf": "is before",
    "af": "is after",
}
#: The same operators when they do not hold, for reasons in words.
NEGATED_WORDS: dict[str, str] = {
    "eq": "does not equal",
    "neq": "equals",
    "sw": "does not start with",
    "ew": "does not end with",
    "c": "does not contain",
    "oo": "is not one of",
    "noo": "is one of",
    "matches": "does not match the regular expression",
    "glob": "does not match the pattern",
    "semver": "is not a version in",
    "gte": "is less than",
    "gt": "is not more than",
    "lte": "is more than",
    "lt": "is not less than",
    "bf": "is not before",
    "af": "is not after",
}
#: Operators that take a list of values; every other operator takes exactly one, but
#: for the :data:`ANY_OF_OPERATORS` on text.
LIST_OPERATORS = frozenset({"oo", "noo"})
#: On text, these take several values too and hold when any one does: MSR stores every
#: rule's ``values`` as a list, and ``tag sw ["rc-", "beta-"]`` means either prefix.
ANY_OF_OPERATORS = frozenset({"eq", "sw", "ew", "c"})
#: Operators that hold when no element of a multi-valued fact matches.
NEGATIVE_OPERATORS = frozenset({"neq", "noo"})

TEXT_OPS = ("eq", "neq", "sw", "ew", "c", "oo", "noo", "matches", "glob")
TAG_OPS = (*TEXT_OPS, "semver")
COUNT_OPS = ("gte", "gt", "eq", "neq", "lte", "lt")
TIME_OPS = ("bf", "af")
#: MSR's string operators (``matches`` came in later MSR versions, with Go's syntax: an
#: export warns about it).
MSR_TEXT_OPS = ("eq", "sw", "ew", "c", "oo", "noo")


@dataclass(frozen=True)
class FieldSpec:
    code: str
    label: str
    value_type: ValueType
    operators: tuple[str, ...]
    fact: str  # the ImageFacts attribute that answers it
    multi: bool = False  # the fact is a collection: positive operators need any element
    keyed: bool = False  # code is a prefix: label.KEY, annotation.KEY
    msr_operators: tuple[str, ...] = ()  # what MSR itself accepts (empty: not an MSR field)


_SPECS = [
    FieldSpec("tag", "Tag name", ValueType.TEXT, TAG_OPS, "tag", msr_operators=MSR_TEXT_OPS),
    FieldSpec(
        "component.name",
        "Component name",
        ValueType.TEXT,
        TEXT_OPS,
        "components",
        multi=True,
        msr_operators=MSR_TEXT_OPS,
    ),
    FieldSpec(
        "license.name",
        "License",
        ValueType.TEXT,
        TEXT_OPS,
        "licenses",
        multi=True,
        msr_operators=("oo", "noo"),
    ),
    FieldSpec(
        "vulnerability_critical",
        "Vulnerabilities: critical",
        ValueType.COUNT,
        COUNT_OPS,
        "vulnerabilities",
        msr_operators=COUNT_OPS,
    ),
    FieldSpec(
        "vulnerability_major",
        "Vulnerabilities: major",
        ValueType.COUNT,
        COUNT_OPS,
        "vulnerabilities",
        msr_operators=COUNT_OPS,
    ),
    FieldSpec(
        "vulnerability_minor",
        "Vulnerabilities: minor",
        ValueType.COUNT,
        COUNT_OPS,
        "vulnerabilities",
        msr_operators=COUNT_OPS,
    ),
    FieldSpec(
        "vulnerability_all",
        "Vulnerabilities: all",
        ValueType.COUNT,
        COUNT_OPS,
        "vulnerabilities",
        msr_operators=COUNT_OPS,
    ),
    FieldSpec(
        "updated_at", "Updated", ValueType.TIME, TIME_OPS, "updated_at", msr_operators=TIME_OPS
    ),
    FieldSpec(
        "updated_at_duration",
        "Updated (relative)",
        ValueType.DURATION,
        TIME_OPS,
        "updated_at",
        msr_operators=TIME_OPS,
    ),
    FieldSpec("label", "Label", ValueType.TEXT, TAG_OPS, "labels", keyed=True),
    FieldSpec("annotation", "Annotation", ValueType.TEXT, TAG_OPS, "annotations", keyed=True),
    FieldSpec("platform", "Platform", ValueType.TEXT, TEXT_OPS, "platforms", multi=True),
    FieldSpec("size", "Size", ValueType.SIZE, COUNT_OPS, "size"),
    FieldSpec("created", "Created", ValueType.TIME, TIME_OPS, "created"),
    FieldSpec("age", "Age", ValueType.DURATION, ("gt", "gte", "lt", "lte"), "created"),
    FieldSpec("signed", "Signed", ValueType.BOOL, ("eq", "neq"), "signed"),
]
FIELDS: dict[str, FieldSpec] = {spec.code: spec for spec in _SPECS}


def lookup_field(code: str) -> tuple[FieldSpec, str | None]:
    """The spec of a field code and, for ``label.KEY``/``annotation.KEY``, the key."""
    spec = FIELDS.get(code)
    if spec is not None and not spec.keyed:
        return spec, None
    prefix, dot, key = code.partition(".")
    keyed = FIELDS.get(prefix)
    if keyed is not None and keyed.keyed:
        if not dot or not key:
            raise PolicyError(
                f"{keyed.label} needs a key, such as org.opencontainers.image.version "
                f"(written {prefix}.KEY)"
            )
        return keyed, key
    known = ", ".join(s.code + (".KEY" if s.keyed else "") for s in _SPECS)
    raise PolicyError(f"unknown field '{code}'; known fields: {known}")


def field_label(code: str) -> str:
    spec, key = lookup_field(code)
    return f"{spec.label} '{key}'" if key else spec.label


def describe_field_operator(code: str, operator: str) -> str:
    """``Label 'team' equals``; an unknown field or operator as it is written."""
    try:
        label = field_label(code)
    except PolicyError:
        label = code
    return f"{label} {OPERATOR_WORDS.get(operator, operator)}"


def check_operator(code: str, operator: str) -> FieldSpec:
    spec, _ = lookup_field(code)
    if operator not in spec.operators:
        # Words first (as the editor names them), codes in parentheses for the CLI.
        said = (
            f"'{OPERATOR_WORDS[operator]}' ({operator})"
            if operator in OPERATOR_WORDS
            else (f"'{operator}'")
        )
        offered = ", ".join(f"{OPERATOR_WORDS[o]} ({o})" for o in spec.operators)
        raise PolicyError(f"{spec.label} ({code}) cannot use {said}; use one of: {offered}")
    return spec


def takes_several_values(code: str, operator: str) -> bool:
    """Whether a rule may hold several values (written comma-separated by people)."""
    if operator in LIST_OPERATORS:
        return True
    spec = FIELDS.get(code) or FIELDS.get(code.partition(".")[0])  # label, label.KEY
    return operator in ANY_OF_OPERATORS and spec is not None and spec.value_type is ValueType.TEXT


def is_msr_expressible(code: str, operator: str) -> bool:
    """Whether MSR itself could store this rule (for export warnings)."""
    spec = FIELDS.get(code)
    return spec is not None and operator in spec.msr_operators
