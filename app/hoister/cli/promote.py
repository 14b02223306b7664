"""``hoister promote``: promote one tag by hand, recorded like any promotion."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from hoister.cli.context import Context
from hoister.engine.engine import Engine
from hoister.engine.runner import Route, default_actor
from hoister.errors import HoisterError, InvalidInput
from hoister.policies import OverwriteMode
from hoister.policies.model import Route as RepoRoute
from hoister.policies.template import TemplateContext, render, validate_template
from hoister.registry.reference import parse_reference, validate_repository
from hoister.store.queue import QueueEntry


def register(commands: Any) -> None:
    promote = commands.add_parser("promote", help="promote one tag now")
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
        ctx.database, ctx.profiles, ctx.credential_for, actor=default_actor(agent=False)
    )
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
            )
        )
        assert entry is not None and entry.id is not None
        claimed = engine.queue.claim(entry.id)
        assert claimed is not None
        route = Route(
            None,
            "manual promotion",
            OverwriteMode(args.overwrite),
            not args.no_referrers,
            not args.no_provenance,
            None,
        )
        result = engine.runner.execute(claimed, route)
        if result == "retry":
            # A passing failure (network, a registry's bad answer): this command is the
            # only one that would retry a manual promotion, so it ends here, in words.
            message = engine.queue.get(entry.id).last_error or "the promotion failed"
            engine.queue.finish(entry.id, "failed", message)
            raise HoisterError(f"{message}; run the command again to retry")
        [row] = engine.history.recent(1)
        engine.runner.run_due()  # policies of the target react, as to any push
    finally:
        engine.close()
    if result == "failed":
        raise HoisterError(row.reason)
    if result == "skipped":
        current = ctx.client_for(target_profile).head_manifest(target_repository, tag)
        if current is not None and current.digest == head.digest:
            print(f"{target_repository}:{tag} already is {head.digest}; nothing to do")
            return 0
        print(f"skipped: {row.reason}", file=sys.stderr)
        return 1
    print(f"promoted {source} -> {target_repository}:{tag} ({head.digest})")
    return 0


def _policy_template(ctx: Context, profile: str, source: str, target: str) -> str | None:
    for policy in ctx.policies.list(source=RepoRoute(profile, source)):
        if policy.target_repository == target:
            return policy.tag_template
    return None
