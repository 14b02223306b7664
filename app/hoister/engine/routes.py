"""What a promotion needs beyond its queue entry: the route (from its policy, or what a
person asked for a manual one), who promotes, and which failures are worth retrying."""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass

import httpx

from hoister.policies import OverwriteMode, Policy
from hoister.registry import ProtocolError, ServerError, TooManyRequests, Unreachable
from hoister.registry.errors import BeyondLimits, DigestMismatch


def default_actor(agent: bool) -> str:
    """Who promotes: recorded in provenance so QA knows which workstation or agent did."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{'hoister-agent' if agent else user}@{socket.gethostname()}"


def is_transient(exc: BaseException) -> bool:
    """Failures worth retrying later: the network, overload, a registry's bad moment.

    The registry client maps transport errors to :class:`Unreachable`; a raw one that
    still got through (a connection reset read deep in a stream) is the network too, and
    must not fail a promotion for good.
    """
    if isinstance(exc, (DigestMismatch, BeyondLimits)):
        return False
    return isinstance(
        exc,
        (
            Unreachable,
            ServerError,
            TooManyRequests,
            ProtocolError,
            httpx.TransportError,
            ConnectionError,
            TimeoutError,
        ),
    )


@dataclass(frozen=True)
class Route:
    """What a promotion needs beyond the queue entry: from the policy, or a manual request."""

    policy_id: int | None
    policy_name: str
    overwrite: OverwriteMode
    copy_referrers: bool
    record_provenance: bool
    webhook_url: str | None


MANUAL = "manual promotion"


def manual_options(
    overwrite: OverwriteMode, copy_referrers: bool = True, record_provenance: bool = True
) -> str:
    """What a manual promotion asked for, stored with its queue entry."""
    return json.dumps(
        {
            "overwrite": overwrite.value,
            "copyReferrers": copy_referrers,
            "recordProvenance": record_provenance,
        },
        sort_keys=True,
    )


def manual_route(options: str | None) -> Route:
    """The route of a manual promotion from its stored options (defaults when absent)."""
    try:
        data = json.loads(options) if options else {}
        overwrite = OverwriteMode(data.get("overwrite", OverwriteMode.SKIP.value))
    except (ValueError, TypeError, AttributeError):
        data, overwrite = {}, OverwriteMode.SKIP
    return Route(
        None,
        MANUAL,
        overwrite,
        bool(data.get("copyReferrers", True)),
        bool(data.get("recordProvenance", True)),
        None,
    )


def route_of(policy: Policy) -> Route:
    return Route(
        policy.id,
        policy.name,
        policy.overwrite,
        policy.copy_referrers,
        policy.record_provenance,
        policy.webhook_url,
    )
