"""``hoister policy import`` and ``export``: Hoister's JSON or YAML, and MSR's objects.

An import of a file that was imported before updates the policies it brought then (by
their MSR id) instead of adding them again; the plan is made from the store as read
inside the write transaction, and everything is written in one transaction or nothing
is. An MSR export says, one line on standard error per thing, what MSR would not do as
Hoister does (``--strict``: refuses, and writes nothing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import print_json
from hoister.errors import HoisterError, InvalidInput
from hoister.policies import Policy, policy_check
from hoister.policies.declarative import dump_yaml
from hoister.policies.exchange import ImportPlan, export_hoister, plan_import, read_import
from hoister.policies.msr import export_msr
from hoister.registry.reference import validate_repository


def register(actions: Any) -> None:
    imp = actions.add_parser(
        "import",
        help="import Hoister JSON or a list of MSR policies",
        description="Import policies; a policy imported before (same MSR id) is updated, "
        "not added again.",
    )
    imp.add_argument("file", help="a JSON file, or - for standard input")
    imp.add_argument("--profile", help="registry of the source repositories (needed for MSR files)")
    imp.set_defaults(handler=import_policies)

    exp = actions.add_parser("export", help="print policies as JSON, YAML or MSR objects")
    exp.add_argument(
        "--format",
        choices=("json", "yaml", "hoister", "msr"),
        default="json",
        help="json (the default; 'hoister' is the same; `policy import` reads it) or yaml,"
        " one document `policy apply` reads either way; msr: a list of MSR API objects",
    )
    exp.add_argument("--profile", help="only policies whose source is on this registry")
    exp.add_argument("--repository", metavar="REPO", help="only policies watching REPO")
    exp.add_argument(
        "--strict",
        action="store_true",
        help="with --format msr: refuse (write nothing) if MSR cannot express a policy",
    )
    exp.set_defaults(handler=export_policies)


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {name}: {exc}") from None


def _ids(policies: list[Policy] | tuple[Policy, ...]) -> str:
    numbers = ", ".join(str(p.id) for p in policies)
    return f"id {numbers}" if len(policies) == 1 else f"ids {numbers}"


def _summary(plan: ImportPlan, created: list[Policy], updated: list[Policy]) -> str:
    total = len(created) + len(updated) + len(plan.unchanged)
    noun = "policy" if total == 1 else "policies"
    if not updated and not plan.unchanged:
        return f"imported {total} {noun}: ids {', '.join(str(p.id) for p in created)}"
    parts = [f"{len(created)} new" + (f" ({_ids(created)})" if created else "")]
    parts.append(f"{len(updated)} updated" + (f" ({_ids(updated)})" if updated else ""))
    if plan.unchanged:
        parts.append(f"{len(plan.unchanged)} unchanged ({_ids(plan.unchanged)})")
    return f"imported {total} {noun}: {', '.join(parts)}"


def import_policies(args: argparse.Namespace, ctx: Context) -> int:
    text = _read(args.file)
    if args.profile:
        ctx.require_profile(args.profile)
    items = read_import(text, profile=args.profile)
    for profile in sorted(
        {i.policy.source_profile for i in items}
        | {i.policy.effective_target_profile for i in items}
    ):
        ctx.require_profile(profile)
    plans: list[ImportPlan] = []

    def changes(stored: list[Policy]) -> tuple[list[Policy], list[Policy], list[Policy]]:
        plans.append(plan_import(items, stored))
        return plans[-1].changes()

    created, updated, _ = ctx.policies.apply(changes, check=policy_check(ctx.profiles.identities()))
    print(_summary(plans[-1], created, updated))
    return 0


def _chosen(args: argparse.Namespace, ctx: Context) -> list[Policy]:
    if args.profile:
        ctx.require_profile(args.profile)
    if args.repository:
        try:
            validate_repository(args.repository)
        except InvalidInput as exc:
            raise InvalidInput(f"--repository: {exc}") from None
    policies = [
        p
        for p in ctx.policies.list()
        if args.profile in (None, p.source_profile)
        and args.repository in (None, p.source_repository)
    ]
    if not policies and (args.profile or args.repository):
        where = " and ".join(
            text
            for text in (
                f"on {args.profile}" if args.profile else "",
                f"watching {args.repository}" if args.repository else "",
            )
            if text
        )
        print(f"hoister: note: no policy {where}", file=sys.stderr)
    return policies


def export_policies(args: argparse.Namespace, ctx: Context) -> int:
    if args.strict and args.format != "msr":
        raise InvalidInput("--strict is for --format msr: Hoister's formats express everything")
    policies = _chosen(args, ctx)
    if args.format == "msr":
        objects, warnings = export_msr(policies)
        if warnings and args.strict:
            raise HoisterError(
                f"nothing was exported: MSR cannot express {len(warnings)} "
                f"{'thing' if len(warnings) == 1 else 'things'} of these policies: "
                + "; ".join(warnings)
                + " (without --strict they are exported with a warning each)"
            )
        for warning in warnings:
            print(f"hoister: warning: {warning}", file=sys.stderr)
        print_json(objects)
    elif args.format == "yaml":
        sys.stdout.write(dump_yaml(export_hoister(policies)))
    else:
        print_json(export_hoister(policies))
    return 0
