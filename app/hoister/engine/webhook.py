"""The optional outgoing webhook of a policy: MSR's PROMOTION event, plus the digest.

Best effort by design: a receiver that is down must not undo or block a promotion that
already happened; the failure is logged and shown in the history's reason.
"""

from __future__ import annotations

import logging

import httpx

from hoister import __version__
from hoister.engine.provenance import ProvenanceRecord

log = logging.getLogger(__name__)


def promotion_event(record: ProvenanceRecord) -> dict[str, object]:
    return {
        "type": "PROMOTION",
        "sourceRepository": record.source_repository,
        "sourceTag": record.source_tag,
        "targetRepository": record.target_repository,
        "targetTag": record.target_tag,
        "promotedAt": record.promoted_at.isoformat().replace("+00:00", "Z"),
        "digest": record.source_digest,
        "policyId": record.policy_id,
        "policyName": record.policy_name,
        "promotedBy": record.promoted_by,
    }


def send_webhook(
    url: str, record: ProvenanceRecord, transport: httpx.BaseTransport | None = None
) -> str | None:
    """POST the event; None on success, else a sentence saying why it failed."""
    try:
        with httpx.Client(transport=transport, timeout=10.0) as client:
            response = client.post(
                url,
                json=promotion_event(record),
                headers={"User-Agent": f"hoister/{__version__}"},
            )
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a bad URL
        log.warning("webhook %s failed: %s", url, exc)
        return f"webhook not delivered: {exc}"
    if response.status_code >= 300:
        log.warning("webhook %s answered %s", url, response.status_code)
        return f"webhook answered {response.status_code}"
    return None
