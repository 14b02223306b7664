"""MSR's promotion-policy objects, both ways, and what MSR cannot say of a Hoister policy.

The shape is the one MSR's API lists (``GET /api/v0/repositories/{ns}/{repo}/
promotionPolicies``): ``id`` (a UUID string), ``sourceRepository``, ``targetRepository``,
``tagTemplate``, ``enabled``, ``rules`` (``values`` always a list of strings) and
``lastPromotedAt`` (RFC 3339 with nanoseconds, Go's zero time when never promoted).
What an MSR file says comes back unchanged: the id is kept (a re-import updates the
policy by it), and ``lastPromotedAt`` is written back as MSR wrote it while Hoister has
not promoted since.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final

from hoister.policies import rfc3339
from hoister.policies.errors import PolicyError
from hoister.policies.fields import describe_field_operator, is_msr_expressible
from hoister.policies.model import Policy, Rule, TimeZoneMode
from hoister.policies.reading import expect, precise_time_in, rules_in
from hoister.policies.template import Token, parse_template

#: Names the UUIDs derived for policies made in Hoister (:func:`exchange_id`).
_NAMESPACE: Final = uuid.UUID("6f1d2b7e-4a53-4c8e-9a71-3e0c5d9b2a44")
#: MSR's tag template tokens; Hoister's others (``%D``, ``%R``, ``%{NAME}``) are its own.
MSR_TOKENS: Final = frozenset(
    {"%n", "%A", "%a", "%w", "%d", "%B", "%b", "%m", "%Y", "%y"}
    | {"%H", "%I", "%p", "%M", "%S", "%f", "%Z", "%j", "%W"}
)
#: An MSR id is a UUID; older versions' are short strings. Anything longer is not an id.
MAX_ID = 200


def exchange_id(policy: Policy) -> str | None:
    """The policy's id in MSR's form: MSR's own, or one derived from the store's id.

    A policy made here has no MSR id; its export carries a UUID derived from its id and
    creation time, the same on every export from this store, so importing that export
    back updates the policy instead of adding a copy. None for a policy never stored.
    """
    if policy.msr_id:
        return policy.msr_id
    if policy.id is None:
        return None
    created = policy.created_at.isoformat() if policy.created_at else ""
    return str(uuid.uuid5(_NAMESPACE, f"hoister policy {policy.id} {created}"))


def last_promoted_text(policy: Policy) -> str | None:
    """``lastPromotedAt`` as MSR writes it: the imported text while it still holds."""
    moment = policy.last_promoted_at
    if moment is None:
        return None
    return rfc3339.exact_for(policy.last_promoted_exact, moment) or rfc3339.go_format(moment)


def to_msr(policy: Policy) -> dict[str, Any]:
    return {
        "id": exchange_id(policy) or "",
        "sourceRepository": policy.source_repository,
        "targetRepository": policy.target_repository,
        "tagTemplate": policy.tag_template,
        "enabled": policy.enabled,
        "rules": [r.to_json() for r in policy.rules],
        "lastPromotedAt": last_promoted_text(policy) or rfc3339.GO_ZERO_TIME,
    }


def msr_gaps(policy: Policy) -> list[str]:
    """What MSR would not do as this policy does, one sentence per thing."""
    gaps = []
    for index, rule in enumerate(policy.rules, start=1):
        gap = _rule_gap(rule)
        if gap:
            gaps.append(f"{policy.label}, rule {index} ({_code(rule)}): {gap}")
    try:
        tokens = [p.text for p in parse_template(policy.tag_template) if isinstance(p, Token)]
    except PolicyError:
        tokens = []
    for token in dict.fromkeys(t for t in tokens if t not in MSR_TOKENS):
        gaps.append(
            f"{policy.label}: the tag template '{policy.tag_template}' uses {token}, "
            "which MSR's templates do not have"
        )
    if policy.time_zone is TimeZoneMode.LOCAL:
        gaps.append(f"{policy.label}: renders its tag in local time; MSR renders UTC only")
    if policy.target_profile and policy.target_profile != policy.source_profile:
        gaps.append(
            f"{policy.label} promotes to another registry ({policy.target_profile}), "
            "which MSR cannot express"
        )
    return gaps


def _code(rule: Rule) -> str:
    return f"{rule.field} {rule.operator}"


def _rule_gap(rule: Rule) -> str | None:
    if rule.field == "tag" and rule.operator == "matches":
        return (
            "only later MSR versions have 'matches', and they read the expression in Go's "
            "syntax; Hoister's must match the whole tag"
        )
    if is_msr_expressible(rule.field, rule.operator):
        return None
    return f"MSR has no rule '{describe_field_operator(rule.field, rule.operator)}'"


def export_msr(policies: Iterable[Policy]) -> tuple[list[dict[str, Any]], list[str]]:
    """MSR API objects, and a warning for each thing MSR would do otherwise."""
    out, warnings = [], []
    for policy in policies:
        out.append(to_msr(policy))
        warnings.extend(msr_gaps(policy))
    return out, warnings


def msr_id_in(obj: dict[str, Any], where: str, key: str = "id") -> str | None:
    """The object's MSR id: a non-empty string, kept as it is; empty or absent: None."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PolicyError(f"{where}: '{key}' must be a string such as a UUID, not {value!r:.40}")
    if len(value) > MAX_ID or not value.isprintable():
        raise PolicyError(
            f"{where}: '{key}' is not an MSR id (printable text, at most {MAX_ID} characters)"
        )
    return value


def from_msr(obj: dict[str, Any], where: str, profile: str) -> Policy:
    """A policy from one MSR object; ``profile`` is the registry MSR's names are on."""
    last, exact = precise_time_in(obj.get("lastPromotedAt"), where)
    return Policy(
        source_profile=profile,
        source_repository=expect(obj, "sourceRepository", str, where),
        target_repository=expect(obj, "targetRepository", str, where),
        tag_template=expect(obj, "tagTemplate", str, where),
        enabled=expect(obj, "enabled", bool, where, True),
        rules=rules_in(obj.get("rules", []), where),
        last_promoted_at=last,
        last_promoted_exact=exact,
        msr_id=msr_id_in(obj, where),
    )
