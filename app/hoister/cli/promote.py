"""``hoister promote``: promote one tag by hand, recorded like any promotion.

The promotion goes through the durable queue like the agent's, and the command reports
what that entry became, read back from the queue and from this entry's own history row,
so the message and the exit status say what really happened:

====  ==========================================================================
0     promoted, or the target tag already is that digest (nothing to do)
1     skipped (the target tag exists with another digest and ``--overwrite skip``),
      or failed for good (permissions, a missing image...), with the reason
2     bad usage or invalid input
75    queued for retry (EX_TEMPFAIL): a failure that may pass (the target did not
      answer, a 5xx); the entry stays in the queue and the agent (``hoister run``)
      retries it with backoff
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hoister.cli.context import Context
from hoister.engine.engine import Engine
from hoister.engine.routes import default_actor, manual_options
from hoister.errors import HoisterError, InvalidInput
from hoister.policies import OverwriteMode
from hoister.policies.model import Route as RepoRoute
from hoister.policies.template import TemplateContext, render, validate_template
from hoister.registry.reference import ImageReference, parse_reference, validate_repository
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry

#: The route name of promotions made by this command, in the queue and the history.
#: A transient failure: the entry waits in the queue (sysexits.h EX_TEMPFAIL).
EXIT_QUEUED = 75

EXIT_STATUS_HELP = """\
exit status:
  0   promoted, or the target tag already is that digest
  1   skipped (the target tag exists with another digest) or failed, with the reason
  2   bad usage or invalid input
  75  queued for retry: the target could not be reached or had a passing error; the
      entry stays in the queue and the agent (hoister run) retries it
"""


class PromotionFailed(HoisterError):
    """The promotion failed for good, or was skipped: exit 1 with the reason."""


class PromotionQueued(HoisterError):
    """The promotion hit a failure that may pass and waits in the queue for the agent."""

    exit_code = EXIT_QUEUED


def register(commands: Any) -> None:
    promote = commands.add_parser(
        "promote",
        help="promote one tag now",
        description="Promote one tag now, through the queue and history like the agent's.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    promote.add_argument("source", metavar="SRC_REPO:TAG")
    promote.add_argument("target", metavar="DST_REPO[:TAG]")
    promote.add_argument("--profile", required=True, help="registry of the source")
    promote.add_argument("--target-profile", help="registry of the target (default: the source's)")
    promote.add_argument(
        "--template", help="tag template when DST has no tag (default: the policy's, else %%n)"
    )
    promote.add_argument(
        "--overwrite", choices=[m.value for m in OverwriteMode], default=OverwriteMode.SKIP.value
    )
    promote.add_argument("--no-referrers", action="store_true")
    promote.add_argument("--no-provenance", action="store_true")
    promote.set_defaults(handler=promote_one)


def _target(text: str) -> tuple[str, str | None]:
    _, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        return validate_repository(text), None
    ref = parse_reference(text)
    return ref.repository, ref.reference


def promote_one(args: argparse.Namespace, ctx: Context) -> int:
    source = parse_reference(args.source, default_tag=None)
    if source.is_digest:
        raise InvalidInput("promote a tag (REPO:TAG), so the promotion can say where it came from")
    target_repository, tag = _target(args.target)
    source_profile = ctx.require_profile(args.profile)
    target_profile = (
        ctx.require_profile(args.target_profile) if args.target_profile else source_profile
    )
    client = ctx.client_for(source_profile)
    head = client.head_manifest(source.repository, source.reference)
    if head is None:
        raise HoisterError(f"{source} does not exist on {source_profile.host}")
    if tag is None:
        template = (
            args.template
            or _policy_template(ctx, args.profile, source.repository, target_repository)
            or "%n"
        )
        validate_template(template)
        when = datetime.now(UTC)
        tag = render(
            template, TemplateContext(source.reference, when, head.digest, source.repository)
        )
    engine = Engine(
        ctx.database,
        ctx.profiles,
        ctx.credential_for,
        actor=default_actor(agent=False),
        kind="cli",
    )
    engine.register()  # seen at work while it copies; its history rows say cli@host:pid
    try:
        entry = engine.queue.enqueue(
            QueueEntry(
                id=None,
                policy_id=None,
                source_profile=source_profile.name,
                source_repository=source.repository,
                source_tag=source.reference,
                source_digest=head.digest,
                target_profile=target_profile.name,
                target_repository=target_repository,
                target_tag=tag,
                manual_options=manual_options(
                    OverwriteMode(args.overwrite), not args.no_referrers, not args.no_provenance
                ),
            )
        )
        if entry is None or entry.id is None:
            raise HoisterError("the promotion could not be queued; try again")
        claimed = engine.runner.claim(entry.id)
        if claimed is None:
            raise HoisterError(
                f"queue entry {entry.id} was taken by another Hoister process before it "
                "started; `hoister history` shows what became of it"
            )
        engine.runner.execute(claimed)
        report = _report(engine, entry.id)
        if report.state == "done":
            engine.runner.run_due()  # policies of the target react, as to any push
    finally:
        engine.retire()
        engine.close()
    return _conclude(ctx, report, source, head.digest, target_profile.name)


@dataclass(frozen=True)
class _Report:
    """What one queue entry became: its state afterwards and its history row, if any."""

    entry: QueueEntry
    row: HistoryRow | None

    @property
    def state(self) -> str:
        return self.entry.state

    @property
    def reason(self) -> str:
        text = (self.row.reason if self.row else "") or self.entry.last_error or ""
        return text or "no reason was recorded"


def _report(engine: Engine, entry_id: int) -> _Report:
    """The entry as the queue now has it, and the history row that finished it (history
    rows name their entry, so an agent promoting at the same time is never mistaken for
    this one)."""
    entry = engine.queue.get(entry_id)
    rows = [row for row in engine.history.for_entry(entry_id) if row.outcome != "matched"]
    return _Report(entry, rows[-1] if rows else None)


def _conclude(
    ctx: Context,
    report: _Report,
    source: ImageReference,
    digest: str,
    target_profile: str,
) -> int:
    """Print the one outcome and return its exit status (see the module docstring)."""
    entry = report.entry
    target = f"{entry.target_repository}:{entry.target_tag}"
    if report.state == "done":
        print(f"promoted {source} -> {target} ({digest})")
        if report.row is not None:
            for note in report.row.reason.split("; ")[1:]:
                if note.startswith(("provenance not recorded", "webhook")):
                    print(f"hoister: warning: {note}", file=sys.stderr)
        return 0
    if report.state == "skipped":
        current = ctx.client_for(ctx.profiles.get(target_profile)).head_manifest(
            entry.target_repository, entry.target_tag or ""
        )
        if current is not None and current.digest == digest:
            print(f"{target} already is {digest}; nothing to do")
            return 0
        raise PromotionFailed(f"skipped: {report.reason}")
    if report.state == "failed":
        raise PromotionFailed(f"promotion of {source} to {target} failed: {report.reason}")
    if report.state in ("pending", "running"):
        raise PromotionQueued(
            f"queued for retry: {report.reason}; queue entry {entry.id} stays queued and "
            "the agent (`hoister run`) retries it with backoff, with the same options"
        )
    raise HoisterError(f"queue entry {entry.id} ended in the unknown state {report.state!r}")


def _policy_template(ctx: Context, profile: str, source: str, target: str) -> str | None:
    for policy in ctx.policies.list(source=RepoRoute(profile, source)):
        if policy.target_repository == target:
            return policy.tag_template
    return None
