"""The provenance record of one promotion, attached exactly once.

A promotion is finished only with its record, so a failure to attach that may pass
raises (the entry is retried); one that will not (a registry that refuses artifacts)
becomes a note in the history row. An entry that runs again after a crash or a
takeover may find the record its earlier attempt attached before the process died: it
looks first and does not write a second one.
"""

from __future__ import annotations

import logging

from hoister.engine.provenance import ProvenanceRecord, attach_provenance, read_provenance
from hoister.engine.routes import is_transient
from hoister.errors import HoisterError
from hoister.registry import RegistryClient

log = logging.getLogger(__name__)


def same_promotion(found: ProvenanceRecord, record: ProvenanceRecord) -> bool:
    """Whether ``found`` records the promotion ``record`` describes (time and actor aside)."""
    return (
        found.policy_id == record.policy_id
        and found.source_digest == record.source_digest
        and found.source_tag == record.source_tag
        and found.source_repository == record.source_repository
        and found.target_tag == record.target_tag
    )


def record_once(
    target: RegistryClient,
    repository: str,
    digest: str,
    record: ProvenanceRecord,
    resumed: bool,
) -> list[str]:
    """Attach ``record`` to ``digest`` unless an earlier attempt did; returns notes."""
    try:
        if resumed:
            for found in read_provenance(target, repository, digest):
                if same_promotion(found, record):
                    return ["provenance recorded by an earlier attempt"]
        # The promotion just wrote the image through this client: its descriptor is known.
        cached = target.cached_manifest(repository, digest)
        subject = cached.descriptor() if cached is not None else None
        if subject is None:
            subject = target.head_manifest(repository, digest)
        if subject is None:
            raise HoisterError(f"{digest} is not in {repository}")
        attach_provenance(target, repository, subject, record)
    except HoisterError as exc:
        if is_transient(exc):
            raise
        log.warning("provenance for %s not recorded: %s", repository, exc)
        return [f"provenance not recorded: {exc}"]
    return []
