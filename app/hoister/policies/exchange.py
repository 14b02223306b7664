"""Import and export: Hoister's own JSON, and MSR's promotion-policy API objects.

MSR administrators can export their policies with one ``curl`` per repository
(``GET /api/v0/repositories/{ns}/{repo}/promotionPolicies``); a JSON list of those
objects imports here unchanged (:mod:`hoister.policies.msr`). Everything MSR can express
survives a round trip both ways, its ids and times included; Hoister's own format carries
every field. An import is checked whole before anything is saved, and every problem is
reported with the policy and rule it is in.

Importing a file again updates the policies it brought the first time instead of adding
them twice: each object's ``id`` (MSR's) or ``msrId`` (Hoister's) names the policy, and
:func:`plan_import` matches it to the stored policy with that id. An MSR object updates
only what MSR says (route, template, enabled, rules, last promotion); what Hoister adds
(name, description, overwrite, webhooks...) is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hoister import jsonlimits
from hoister.policies.errors import PolicyError
from hoister.policies.model import OverwriteMode, Policy, TimeZoneMode, later_promotion
from hoister.policies.msr import exchange_id, export_msr, from_msr, last_promoted_text, msr_id_in
from hoister.policies.reading import enum_in, expect, precise_time_in, rules_in, time_in
from hoister.policies.validation import describe_problem, policy_problems

__all__ = ["export_hoister", "export_msr", "parse_import", "plan_import", "read_import"]

FORMAT = "hoister.policies"
VERSION = 1
#: What an MSR object says of a policy; a re-import replaces these and keeps the rest.
MSR_FIELDS = (
    "source_profile",
    "source_repository",
    "target_repository",
    "tag_template",
    "enabled",
    "rules",
)


def _time_out(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def export_hoister(policies: Iterable[Policy]) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "policies": [to_hoister(p) for p in policies]}


def to_hoister(policy: Policy) -> dict[str, Any]:
    last = last_promoted_text(policy) if policy.last_promoted_exact else None
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
        # What the store did, like the times: a re-import finds the policy by it.
        "msrId": exchange_id(policy),
        "createdAt": _time_out(policy.created_at),
        "updatedAt": _time_out(policy.updated_at),
        "lastPromotedAt": last or _time_out(policy.last_promoted_at),
    }


def _from_hoister(obj: dict[str, Any], where: str, profile: str | None) -> Policy:
    source_profile = obj.get("sourceProfile") or profile
    if not source_profile:
        raise PolicyError(f"{where}: 'sourceProfile' is missing (or give --profile)")
    last, exact = precise_time_in(obj.get("lastPromotedAt"), where)
    return Policy(
        source_profile=str(source_profile),
        source_repository=expect(obj, "sourceRepository", str, where),
        target_profile=expect(obj, "targetProfile", str, where, None),
        target_repository=expect(obj, "targetRepository", str, where),
        tag_template=expect(obj, "tagTemplate", str, where),
        name=expect(obj, "name", str, where, ""),
        description=expect(obj, "description", str, where, ""),
        enabled=expect(obj, "enabled", bool, where, True),
        rules=rules_in(obj.get("rules", []), where),
        overwrite=enum_in(
            OverwriteMode, expect(obj, "overwrite", str, where, "skip"), where, "overwrite"
        ),
        time_zone=enum_in(
            TimeZoneMode, expect(obj, "timeZone", str, where, "utc"), where, "timeZone"
        ),
        apply_existing=expect(obj, "applyExisting", bool, where, False),
        copy_referrers=expect(obj, "copyReferrers", bool, where, True),
        record_provenance=expect(obj, "recordProvenance", bool, where, True),
        webhook_url=expect(obj, "webhookUrl", str, where, None),
        created_at=time_in(obj.get("createdAt"), where),
        updated_at=time_in(obj.get("updatedAt"), where),
        last_promoted_at=last,
        last_promoted_exact=exact,
        msr_id=msr_id_in(obj, where, "msrId"),
    )


@dataclass(frozen=True)
class Imported:
    """One policy of an import file; ``msr``: it came as an MSR object (fewer fields)."""

    policy: Policy
    msr: bool


def _items(text: str, profile: str | None) -> tuple[list[Any], bool]:
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
    return items, msr


def read_import(text: str, *, profile: str | None) -> list[Imported]:
    """Policies from Hoister JSON or a list of MSR objects; all valid, or one error listing all."""
    items, msr = _items(text, profile)
    imported: list[Imported] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items, start=1):
        where = f"policy {index}"
        try:
            if not isinstance(item, dict):
                raise PolicyError(f"{where}: must be an object")
            is_msr = msr and "sourceProfile" not in item
            policy = (
                from_msr(item, where, profile or "")
                if is_msr
                else _from_hoister(item, where, profile)
            )
        except PolicyError as exc:
            problems.append(str(exc))
            continue
        if policy.msr_id is not None:
            if policy.msr_id in seen:
                problems.append(
                    f"policies {seen[policy.msr_id]} and {index} have the same id "
                    f"'{policy.msr_id}'; an id names one policy"
                )
            seen.setdefault(policy.msr_id, index)
        found = policy_problems(policy)
        problems.extend(f"{where} ({describe_problem(policy, p)})" for p in found)
        imported.append(Imported(policy, is_msr))
    if problems:
        raise PolicyError("nothing was imported: " + "; ".join(problems))
    return imported


def parse_import(text: str, *, profile: str | None) -> list[Policy]:
    """The policies of an import file (see :func:`read_import`)."""
    return [item.policy for item in read_import(text, profile=profile)]


@dataclass(frozen=True)
class ImportPlan:
    """What an import does: policies it creates, updates (before, after) and leaves as they are."""

    creates: tuple[Policy, ...]
    updates: tuple[tuple[Policy, Policy], ...]
    unchanged: tuple[Policy, ...]

    def changes(self) -> tuple[list[Policy], list[Policy], list[Policy]]:
        """(creates, updates, removes) in the shape ``PolicyStore.apply`` takes."""
        return list(self.creates), [after for _, after in self.updates], []


def _merged(before: Policy, item: Imported) -> Policy:
    new = item.policy
    if item.msr:
        after = before.with_changes(**{name: getattr(new, name) for name in MSR_FIELDS})
    else:
        after = new.with_changes(
            id=before.id,
            version=before.version,
            created_at=before.created_at,
            updated_at=before.updated_at,
            updated_by=before.updated_by,
            msr_id=before.msr_id,
        )
    last, exact = later_promotion(before, new)
    return after.with_changes(last_promoted_at=last, last_promoted_exact=exact)


def plan_import(items: Iterable[Imported], stored: Iterable[Policy]) -> ImportPlan:
    """Match each imported policy to the stored one with its id; the others are new.

    Several stored policies with one id (a team store two workstations copied the same
    import into) cannot tell which one the file means: refused, naming them.
    """
    by_id: dict[str, list[Policy]] = {}
    for policy in stored:
        key = exchange_id(policy)
        if key is not None:
            by_id.setdefault(key, []).append(policy)
    creates: list[Policy] = []
    updates: list[tuple[Policy, Policy]] = []
    unchanged: list[Policy] = []
    ambiguous: list[str] = []
    for item in items:
        matches = by_id.get(item.policy.msr_id or "", [])
        if len(matches) > 1:
            ids = ", ".join(str(p.id) for p in matches)
            ambiguous.append(f"'{item.policy.msr_id}' (policies {ids})")
        elif matches:
            after = _merged(matches[0], item)
            if after == matches[0]:
                unchanged.append(matches[0])
            else:
                updates.append((matches[0], after))
        else:
            creates.append(item.policy)
    if ambiguous:
        raise PolicyError(
            "nothing was imported: several stored policies have the id "
            f"{'; '.join(ambiguous)}, so the import cannot tell which one to update; "
            "remove the extra ones (`hoister policy remove ID`) and import again"
        )
    return ImportPlan(tuple(creates), tuple(updates), tuple(unchanged))
