"""Translation between :class:`~hoister.policies.model.Policy` and a row of ``policies``.

Kept apart from the store so the mapping (the one place that knows column names and
encodings) can be read, and tested for exact round trips, on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from hoister.errors import HoisterError, InvalidInput
from hoister.policies.model import OverwriteMode, Policy, Rule, TimeZoneMode
from hoister.policies.rfc3339 import exact_for
from hoister.store.times import from_db_time, to_db_time

#: Every column but ``id``, in table order; also the named parameters of INSERT/UPDATE.
COLUMNS: Final = (
    "name",
    "description",
    "source_profile",
    "source_repository",
    "target_profile",
    "target_repository",
    "tag_template",
    "enabled",
    "rules",
    "overwrite",
    "time_zone",
    "apply_existing",
    "copy_referrers",
    "record_provenance",
    "webhook_url",
    "created_at",
    "updated_at",
    "last_promoted_at",
    "version",
    "updated_by",
    "msr_id",
    "last_promoted_exact",
)

INSERT_SQL: Final = (
    f"INSERT INTO policies ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
)
UPDATE_SQL: Final = (
    f"UPDATE policies SET {', '.join(f'{c} = :{c}' for c in COLUMNS)} WHERE id = :id"
)


def rules_to_json(rules: tuple[Rule, ...]) -> str:
    """MSR's rule shape, so the column reads the same as an export and needs no decoder."""
    return json.dumps([rule.to_json() for rule in rules], ensure_ascii=False)


def rules_from_json(text: str) -> tuple[Rule, ...]:
    items = json.loads(text)
    return tuple(Rule(item["field"], item["operator"], tuple(item["values"])) for item in items)


def policy_to_row(policy: Policy) -> dict[str, Any]:
    """Named parameters for :data:`INSERT_SQL` / :data:`UPDATE_SQL`.

    Text with a NUL character is refused here as well as by validation: PostgreSQL
    cannot store it, and a policy must be storable on either backend or on none.
    """
    row = _row(policy)
    for column, value in row.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"{policy.label}: the {column} contains a NUL character")
    return row


def _row(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "source_profile": policy.source_profile,
        "source_repository": policy.source_repository,
        "target_profile": policy.target_profile,
        "target_repository": policy.target_repository,
        "tag_template": policy.tag_template,
        "enabled": int(policy.enabled),
        "rules": rules_to_json(policy.rules),
        "overwrite": policy.overwrite.value,
        "time_zone": policy.time_zone.value,
        "apply_existing": int(policy.apply_existing),
        "copy_referrers": int(policy.copy_referrers),
        "record_provenance": int(policy.record_provenance),
        "webhook_url": policy.webhook_url,
        "created_at": to_db_time(policy.created_at),
        "updated_at": to_db_time(policy.updated_at),
        "last_promoted_at": to_db_time(policy.last_promoted_at),
        "version": policy.version,
        "updated_by": policy.updated_by,
        "msr_id": policy.msr_id,
        # Only while it names the stored time: a stale text must never be exported.
        "last_promoted_exact": exact_for(policy.last_promoted_exact, policy.last_promoted_at),
    }


def policy_from_row(row: Mapping[str, Any]) -> Policy:
    """The policy a row holds; a row damaged outside Hoister is reported, not guessed."""
    try:
        return Policy(
            id=int(row["id"]),
            name=row["name"],
            description=row["description"],
            source_profile=row["source_profile"],
            source_repository=row["source_repository"],
            target_profile=row["target_profile"],
            target_repository=row["target_repository"],
            tag_template=row["tag_template"],
            enabled=bool(row["enabled"]),
            rules=rules_from_json(row["rules"]),
            overwrite=OverwriteMode(row["overwrite"]),
            time_zone=TimeZoneMode(row["time_zone"]),
            apply_existing=bool(row["apply_existing"]),
            copy_referrers=bool(row["copy_referrers"]),
            record_provenance=bool(row["record_provenance"]),
            webhook_url=row["webhook_url"],
            created_at=from_db_time(row["created_at"]),
            updated_at=from_db_time(row["updated_at"]),
            last_promoted_at=from_db_time(row["last_promoted_at"]),
            version=int(row["version"]),
            updated_by=row["updated_by"],
            msr_id=row["msr_id"],
            last_promoted_exact=row["last_promoted_exact"],
        )
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise HoisterError(
            f"policy {row['id']} in the database cannot be read ({exc}); "
            "remove it with `hoister policy remove` and add it again"
        ) from exc
