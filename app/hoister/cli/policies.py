"""``hoister policy ...``: promotion policies from the command line.

Rules use MSR's codes (``--rule "tag ew stable"``, ``--rule "vulnerability_critical lte 0"``)
so an MSR admin's habits carry over. Every write goes through the same check as the
editor (rules, template, cycles) inside the store's transaction.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from hoister.cli import policy_apply, policy_edit, policy_exchange
from hoister.cli.context import Context
from hoister.cli.output import print_json, print_table
from hoister.engine.dryrun import dry_run
from hoister.engine.earlier import earlier_entry, earlier_matches, earlier_text
from hoister.errors import InvalidInput
from hoister.policies import Policy, Rule, describe_rule, policy_check
from hoister.policies.exchange import to_hoister
from hoister.policies.fields import takes_several_values
from hoister.policies.model import OverwriteMode, TimeZoneMode
from hoister.policies.msr import exchange_id
from hoister.store.watch import WatchStore


def register(commands: Any) -> None:
    policy = commands.add_parser("policy", help="manage promotion policies")
    actions = policy.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create a promotion policy")
    add.add_argument("--profile", required=True, help="registry of the source repository")
    add.add_argument("--source", required=True, metavar="REPO", help="repository to watch")
    add.add_argument("--target", required=True, metavar="REPO", help="repository to promote to")
    add.add_argument("--target-profile", help="registry of the target (default: the source's)")
    add.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar='"FIELD OP VALUE[,VALUE...]"',
        help='a criterion, e.g. "tag ew stable"; repeat for more (all must hold)',
    )
    add.add_argument(
        "--template", required=True, help="tag template, e.g. %%Y%%m%%d-%%H%%M%%S or %%n"
    )
    add.add_argument("--name", default="", help="a name people will recognise")
    add.add_argument("--description", default="")
    add.add_argument("--disabled", action="store_true", help="save without activating it")
    add.add_argument(
        "--apply-existing", action="store_true", help="also promote matching tags already there"
    )
    add.add_argument(
        "--overwrite",
        choices=[m.value for m in OverwriteMode],
        default=OverwriteMode.SKIP.value,
        help="when the target tag exists: skip (default), overwrite, or backup then overwrite",
    )
    add.add_argument(
        "--local-time", action="store_true", help="render times in local time, not UTC"
    )
    add.add_argument("--no-referrers", action="store_true", help="do not copy signatures and SBOMs")
    add.add_argument(
        "--no-provenance", action="store_true", help="do not record provenance in the target"
    )
    add.add_argument("--webhook", metavar="URL", help="POST a PROMOTION event here")
    add.set_defaults(handler=add_policy)

    listing = actions.add_parser("list", help="list policies")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_policies)

    show = actions.add_parser("show", help="show one policy")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_policy)

    for name, handler, text in (
        ("enable", enable_policy, "activate a policy"),
        ("disable", disable_policy, "stop a policy without deleting it"),
        ("remove", remove_policy, "delete a policy"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("id", type=int)
        sub.set_defaults(handler=handler)

    test = actions.add_parser("test", help="dry run: what the policy would do to existing tags")
    test.add_argument("id", type=int)
    test.add_argument("--json", action="store_true")
    test.set_defaults(handler=test_policy)

    policy_exchange.register(actions)
    policy_edit.register(actions)
    policy_apply.register(actions)


def parse_rule_text(text: str) -> Rule:
    """``"tag ew stable"`` -> Rule; values split on commas where a rule takes several
    (``oo``/``noo``, and ``eq``/``sw``/``ew``/``c`` on text, which hold for any of them)."""
    parts = text.strip().split(None, 2)
    if len(parts) < 3:
        raise InvalidInput(
            f"rule '{text}' needs a field, an operator and a value, e.g. \"tag ew stable\""
        )
    field, operator, rest = parts
    several = takes_several_values(field, operator)
    values = [v.strip() for v in rest.split(",")] if several else [rest]
    return Rule(field, operator, values)


def add_policy(args: argparse.Namespace, ctx: Context) -> int:
    ctx.require_profile(args.profile)
    if args.target_profile:
        ctx.require_profile(args.target_profile)
    policy = Policy(
        source_profile=args.profile,
        source_repository=args.source,
        target_profile=args.target_profile,
        target_repository=args.target,
        tag_template=args.template,
        rules=tuple(parse_rule_text(r) for r in args.rule),
        name=args.name,
        description=args.description,
        enabled=not args.disabled,
        apply_existing=args.apply_existing,
        overwrite=OverwriteMode(args.overwrite),
        time_zone=TimeZoneMode.LOCAL if args.local_time else TimeZoneMode.UTC,
        copy_referrers=not args.no_referrers,
        record_provenance=not args.no_provenance,
        webhook_url=args.webhook,
    )
    stored = ctx.policies.add(policy, check=policy_check(ctx.profiles.identities()))
    if not policy.rules:
        print(
            "hoister: note: the policy has no criteria, so it promotes every push", file=sys.stderr
        )
    print(f"added policy {stored.id}: {_route(stored)}")
    return 0


def _route(policy: Policy) -> str:
    target = policy.target_repository
    if policy.target_profile and policy.target_profile != policy.source_profile:
        target = f"{policy.target_profile}:{target}"
    return f"{policy.source_profile}:{policy.source_repository} -> {target}"


def _criteria(policy: Policy) -> str:
    return "; ".join(describe_rule(r) for r in policy.rules) or "(every push)"


def list_policies(args: argparse.Namespace, ctx: Context) -> int:
    policies = ctx.policies.list()
    if args.json:
        print_json([to_hoister(p) for p in policies])
        return 0
    if not policies:
        print("no policies yet; add one with: hoister policy add ...", file=sys.stderr)
        return 0
    rows = [
        (
            p.id,
            "on" if p.enabled else "off",
            p.name or "-",
            _route(p),
            p.tag_template,
            _criteria(p),
            p.last_promoted_at.isoformat(timespec="seconds") if p.last_promoted_at else "never",
        )
        for p in policies
    ]
    print_table(("ID", "ON", "NAME", "ROUTE", "TEMPLATE", "CRITERIA", "LAST PROMOTED"), rows)
    return 0


def show_policy(args: argparse.Namespace, ctx: Context) -> int:
    policy = ctx.policies.get(args.id)
    if args.json:
        print_json(to_hoister(policy))
        return 0
    last = (
        policy.last_promoted_at.isoformat(timespec="seconds")
        if policy.last_promoted_at
        else "never"
    )
    zone = "UTC" if policy.time_zone is TimeZoneMode.UTC else "local time"
    fields = [
        ("route", _route(policy)),
        ("enabled", "yes" if policy.enabled else "no"),
        ("tag template", f"{policy.tag_template} ({zone})"),
        ("if tag exists", policy.overwrite.value),
        ("existing tags", "promoted on save" if policy.apply_existing else "left alone"),
        ("referrers", "copied" if policy.copy_referrers else "not copied"),
        ("provenance", "recorded" if policy.record_provenance else "off"),
        ("webhook", policy.webhook_url or "-"),
        ("description", policy.description or "-"),
        ("last promoted", last),
        ("msr id", exchange_id(policy) or "-"),
    ]
    lines = [f"policy {policy.id}{': ' + policy.name if policy.name else ''}"]
    lines += [f"  {label:<15}{value}" for label, value in fields]
    lines.append("  promote to target if")
    lines += [f"    {describe_rule(r)}" for r in policy.rules] or ["    (every push)"]
    print("\n".join(lines))
    return 0


def enable_policy(args: argparse.Namespace, ctx: Context) -> int:
    ctx.policies.set_enabled(args.id, True, check=policy_check(ctx.profiles.identities()))
    print(f"enabled policy {args.id}")
    return 0


def disable_policy(args: argparse.Namespace, ctx: Context) -> int:
    ctx.policies.set_enabled(args.id, False)
    print(f"disabled policy {args.id}")
    return 0


def remove_policy(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.policies.remove(args.id)
    print(f"removed policy {removed.id}: {_route(removed)}")
    return 0


def test_policy(args: argparse.Namespace, ctx: Context) -> int:
    policy = ctx.policies.get(args.id)
    profile = ctx.require_profile(policy.source_profile)
    client = ctx.client_for(profile)
    with WatchStore(ctx.database) as watch:  # push times the engine saw
        seen = watch.seen(policy.source_profile, policy.source_repository)
    rows = dry_run(policy, client, datetime.now(UTC), scanner=profile.scanner, seen=seen)
    # A match this policy queued before is never queued again (promote once): say what
    # became of it instead of counting it among the promotions.
    earlier = earlier_matches(ctx.database, policy)
    before = {row.tag: entry for row in rows if (entry := earlier_entry(row, earlier))}
    if args.json:
        print_json(
            [
                {
                    "tag": row.tag,
                    "digest": row.digest,
                    "verdict": row.evaluation.outcome.value,
                    "targetTag": row.target_tag,
                    "error": row.error,
                    "earlier": (
                        {
                            "state": before[row.tag].state,
                            "targetRepository": before[row.tag].target_repository,
                            "targetTag": before[row.tag].target_tag,
                        }
                        if row.tag in before
                        else None
                    ),
                    "rules": [
                        {
                            "rule": v.rule.to_json(),
                            "verdict": v.outcome.value,
                            "reason": v.reason,
                            "source": v.source,
                        }
                        for v in row.evaluation.verdicts
                    ],
                }
                for row in rows
            ]
        )
        return 0
    if not rows:
        print(f"{policy.source_repository} has no tags", file=sys.stderr)
        return 0
    table = []
    for row in rows:
        entry = before.get(row.tag)
        if entry is not None:
            table.append((row.tag, "earlier", "-", earlier_text(entry, row.target_tag)))
            continue
        verdict = "promote" if row.evaluation.matched else row.evaluation.outcome.value
        target = f"{policy.target_repository}:{row.target_tag}" if row.target_tag else "-"
        table.append((row.tag, verdict, target, row.error or row.evaluation.summary()))
    print_table(("TAG", "VERDICT", "WOULD BECOME", "WHY"), table)
    sources = sorted({v.source for row in rows for v in row.evaluation.verdicts if v.source})
    if sources:
        print(f"facts from: {'; '.join(sources)}", file=sys.stderr)
    matched = sum(1 for row in rows if row.evaluation.matched and row.tag not in before)
    again = f"; {len(before)} matched before, not promoted again" if before else ""
    print(
        f"\n{matched} of {len(rows)} tags would be promoted{again} (nothing was written)",
        file=sys.stderr,
    )
    return 0
