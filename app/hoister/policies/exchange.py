"""Import and export: Hoister's own JSON, and MSR's promotion-policy API objects.

MSR administrators can export their policies with one ``curl`` per repository
(``GET /api/v0/repositories/{ns}/{repo}/promotionPolicies``); a JSON list of those
objects imports here unchanged. Everything MSR can express survives a round trip both
ways; Hoister's own format carries every field. An import is checked whole before
anything is saved, and every problem is reported with the policy and rule it is in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from hoister import jsonlimits
from hoister.policies.errors import PolicyError
from hoister.policies.fields import is_msr_expressible
from hoister.policies.model import OverwriteMode, Policy, Rule, TimeZoneMode
from hoister.policies.validation import describe_problem, policy_problems

FORMAT = "hoister.policies"
VERSION = 1
_GO_ZERO_TIME = "0001-01-01T00:00:00Z"
#: Times outside these are refused: shown in any time zone they must stay representable.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def _time_out(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _time_in(value: Any, where: str) -> datetime | None:
    if value in (None, "", _GO_ZERO_TIME):
        return None
    if not isinstance(value, str):
        raise PolicyError(f"{where}: a time must be a string such as 2026-11-30T09:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise PolicyError(f"{where}: '{value[:80]}' is not an ISO 8601 time") from None
    if not _EARLIEST <= moment <= _LATEST:
        raise PolicyError(f"{where}: '{value[:80]}' is not a time between 1970 and 9998")
    return moment


def export_hoister(policies: Iterable[Policy]) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "policies": [to_hoister(p) for p in policies]}


def to_hoister(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "sourceProfile": policy.source_profile,
        "sourceRepository": policy.source_repository,
        "targetProfile": policy.target_profile,
        "targetRepository": policy.target_repository,
        "tagTemplate": policy.tag_template,
        "enabled": policy.enabled,
        "rules": [r.to_json() for r in policy.rules],
        "overwrite": policy.overwrite.value,
        "timeZone": policy.time_zone.value,
        "applyExisting": policy.apply_existing,
        "copyReferrers": policy.copy_referrers,
        "recordProvenance": policy.record_provenance,
        "webhookUrl": policy.webhook_url,
        "createdAt": _time_out(policy.created_at),
        "updatedAt": _time_out(policy.updated_at),
        "lastPromotedAt": _time_out(policy.last_promoted_at),
    }


def export_msr(policies: Iterable[Policy]) -> tuple[list[dict[str, Any]], list[str]]:
    """MSR API objects, and warnings for rules MSR itself could not evaluate."""
    out, warnings = [], []
    for policy in policies:
        out.append(
            {
                "id": str(policy.id) if policy.id is not None else "",
                "sourceRepository": policy.source_repository,
                "targetRepository": policy.target_repository,
                "tagTemplate": policy.tag_template,
                "enabled": policy.enabled,
                "rules": [r.to_json() for r in policy.rules],
                "lastPromotedAt": _time_out(policy.last_promoted_at) or "",
            }
        )
        extra = [
            f"{r.field} {r.operator}"
            for r in policy.rules
            if not is_msr_expressible(r.field, r.operator)
        ]
        if extra:
            warnings.append(f"{policy.label} uses rules MSR does not know: {', '.join(extra)}")
        if policy.target_profile and policy.target_profile != policy.source_profile:
            warnings.append(
                f"{policy.label} promotes to another registry, which MSR cannot express"
            )
    return out, warnings


def _expect(
    obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...
) -> Any:
    if key not in obj or obj[key] is None:
        if default is ...:
            raise PolicyError(f"{where}: '{key}' is missing")
        return default
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise PolicyError(f"{where}: '{key}' must be a {names}, not {type(value).__name__}")
    return value


def _rules_in(value: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        raise PolicyError(f"{where}: 'rules' must be a list")
    rules = []
    for index, item in enumerate(value, start=1):
        here = f"{where}, rule {index}"
        if not isinstance(item, dict):
            raise PolicyError(f"{here}: must be an object with field, operator and values")
        values = _expect(item, "values", list, here)
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            raise PolicyError(f"{here}: 'values' must be a list of strings")
        rules.append(
            Rule(_expect(item, "field", str, here), _expect(item, "operator", str, here), values)
        )
    return tuple(rules)


def _from_msr(obj: dict[str, Any], where: str, profile: str) -> Policy:
    return Policy(
        source_profile=profile,
        source_repository=_expect(obj, "sourceRepository", str, where),
        target_repository=_expect(obj, "targetRepository", str, where),
        tag_template=_expect(obj, "tagTemplate", str, where),
        enabled=_expect(obj, "enabled", bool, where, True),
        rules=_rules_in(obj.get("rules", []), where),
        last_promoted_at=_time_in(obj.get("lastPromotedAt"), where),
    )


def _enum(enum: type, value: str, where: str, key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise PolicyError(f"{where}: '{key}' must be one of {allowed}, not '{value}'") from None


def _from_hoister(obj: dict[str, Any], where: str, profile: str | None) -> Policy:
    source_profile = obj.get("sourceProfile") or profile
    if not source_profile:
        raise PolicyError(f"{where}: 'sourceProfile' is missing (or give --profile)")
    return Policy(
        source_profile=str(source_profile),
        source_repository=_expect(obj, "sourceRepository", str, where),
        target_profile=_expect(obj, "targetProfile", str, where, None),
        target_repository=_expect(obj, "targetRepository", str, where),
        tag_template=_expect(obj, "tagTemplate", str, where),
        name=_expect(obj, "name", str, where, ""),
        description=_expect(obj, "description", str, where, ""),
        enabled=_expect(obj, "enabled", bool, where, True),
        rules=_rules_in(obj.get("rules", []), where),
        overwrite=_enum(
            OverwriteMode, _expect(obj, "overwrite", str, where, "skip"), where, "overwrite"
        ),
        time_zone=_enum(
            TimeZoneMode, _expect(obj, "timeZone", str, where, "utc"), where, "timeZone"
        ),
        apply_existing=_expect(obj, "applyExisting", bool, where, False),
        copy_referrers=_expect(obj, "copyReferrers", bool, where, True),
        record_provenance=_expect(obj, "recordProvenance", bool, where, True),
        webhook_url=_expect(obj, "webhookUrl", str, where, None),
        created_at=_time_in(obj.get("createdAt"), where),
        updated_at=_time_in(obj.get("updatedAt"), where),
        last_promoted_at=_time_in(obj.get("lastPromotedAt"), where),
    )


def parse_import(text: str, *, profile: str | None) -> list[Policy]:
    """Policies from Hoister JSON or a list of MSR objects; all valid, or one error listing all."""
    try:
        data = jsonlimits.loads(text, what="the file")
    except jsonlimits.InvalidJSON as exc:
        raise PolicyError(str(exc)) from None
    if isinstance(data, dict) and "policies" in data:
        if data.get("format") not in (None, FORMAT):
            raise PolicyError(f"the file's format is '{data.get('format')}', not {FORMAT}")
        version = data.get("version", VERSION)
        if not isinstance(version, int) or version > VERSION:
            raise PolicyError(f"the file is format version {version}; this Hoister reads {VERSION}")
        items, msr = data["policies"], False
    elif isinstance(data, list):
        items, msr = data, True
    elif isinstance(data, dict) and "targetRepository" in data:
        items, msr = [data], True  # a single MSR object
    else:
        raise PolicyError(
            "the file holds neither Hoister policies (an object with 'policies') "
            "nor a list of MSR policies"
        )
    if not isinstance(items, list):
        raise PolicyError("'policies' must be a list")
    if msr and profile is None:
        raise PolicyError("MSR policies do not name a registry; give --profile for their source")
    policies, problems = [], []
    for index, item in enumerate(items, start=1):
        where = f"policy {index}"
        try:
            if not isinstance(item, dict):
                raise PolicyError(f"{where}: must be an object")
            is_msr = msr and "sourceProfile" not in item
            policy = (
                _from_msr(item, where, profile or "")
                if is_msr
                else _from_hoister(item, where, profile)
            )
        except PolicyError as exc:
            problems.append(str(exc))
            continue
        policy = policy.with_changes(name=policy.name or "")
        found = policy_problems(policy)
        problems.extend(f"{where} ({describe_problem(policy, p)})" for p in found)
        policies.append(policy)
    if problems:
        raise PolicyError("nothing was imported: " + "; ".join(problems))
    return policies
