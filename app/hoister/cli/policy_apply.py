"""``hoister policy apply FILE``: make the store hold exactly the policies a file declares.

The file is what ``hoister policy export --format yaml`` (or JSON) writes, kept in git
and reviewed like code. Applying it is idempotent: a second run changes nothing and says
so. The plan is made from the store as read inside the write transaction, and every
write goes through the editor's check, all in one transaction.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import print_json
from hoister.errors import InvalidInput
from hoister.policies import Policy, policy_check
from hoister.policies.declarative import MAX_TEXT, Plan, check_plan, make_plan, parse_document

HELP = """\
Create, update and (with --prune) remove policies so the store holds what FILE says.
FILE has the shape `hoister policy export --format yaml` (or JSON) writes. Policies are
identified by their name, which each must have, unique in the file: an 'id' in the file
is ignored, as are 'msrId', 'createdAt', 'updatedAt' and 'lastPromotedAt'. Nothing is written if
anything in the file is wrong; all changes are written in one transaction.
"""


def register(actions: Any) -> None:
    apply = actions.add_parser(
        "apply",
        help="make the policies match a YAML or JSON file (policies as code)",
        description=HELP,
    )
    apply.add_argument("file", metavar="FILE", help="a YAML or JSON file, or - for standard input")
    apply.add_argument(
        "--prune", action="store_true", help="also remove policies whose name the file lacks"
    )
    apply.add_argument(
        "--dry-run", action="store_true", help="say what would change; change nothing"
    )
    apply.add_argument("--json", action="store_true", help="print the changes as JSON")
    apply.set_defaults(handler=apply_policies)


def read_text(name: str) -> str:
    """The file (or standard input for ``-``), refused past the size limit unread."""
    try:
        if name == "-":
            text = sys.stdin.read(MAX_TEXT + 1)
        else:
            with Path(name).open(encoding="utf-8") as stream:
                text = stream.read(MAX_TEXT + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {name}: {exc}") from None
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{name} is larger than {MAX_TEXT // (1024 * 1024)} MiB")
    return text


def _route(policy: Policy) -> str:
    target = policy.target_repository
    if policy.target_profile and policy.target_profile != policy.source_profile:
        target = f"{policy.target_profile}:{target}"
    return f"{policy.source_profile}:{policy.source_repository} -> {target}"


def _named(policy: Policy) -> str:
    number = f"policy {policy.id}" if policy.id is not None else "policy"
    return f'{number} "{policy.name}"' if policy.name else f"{number} ({_route(policy)})"


def _lines(plan: Plan, created: list[Policy], removed: list[Policy], dry_run: bool) -> list[str]:
    verbs = (
        ("would create", "would update", "would remove")
        if dry_run
        else (
            "created ",
            "updated ",
            "removed ",
        )
    )
    lines = [f"{verbs[0]} {_named(p)} ({_route(p)})" for p in created]
    lines += [f"{verbs[1]} {_named(u.before)}: {', '.join(u.fields)}" for u in plan.updates]
    lines += [f"{verbs[2]} {_named(p)}" for p in removed]
    return lines


def _summary(plan: Plan, dry_run: bool) -> str:
    counts = (len(plan.creates), len(plan.updates), len(plan.removes), len(plan.unchanged))
    if dry_run:
        text = "{} to create, {} to update, {} to remove, {} unchanged".format(*counts)
    else:
        text = "{} created, {} updated, {} removed, {} unchanged".format(*counts)
    return text + _kept(plan) + (" (dry run: nothing was written)" if dry_run else "")


def _kept(plan: Plan) -> str:
    if not plan.kept:
        return ""
    noun = "policy" if len(plan.kept) == 1 else "policies"
    return f"; {len(plan.kept)} {noun} not in the file left alone (--prune removes them)"


def _brief(policy: Policy) -> dict[str, Any]:
    return {"id": policy.id, "name": policy.name}


def _as_json(plan: Plan, created: list[Policy], removed: list[Policy], dry_run: bool) -> Any:
    return {
        "dryRun": dry_run,
        "created": [_brief(p) for p in created],
        "updated": [_brief(u.before) | {"fields": list(u.keys)} for u in plan.updates],
        "removed": [_brief(p) for p in removed],
        "unchanged": [_brief(p) for p in plan.unchanged],
        "kept": [_brief(p) for p in plan.kept],
    }


def apply_policies(args: argparse.Namespace, ctx: Context) -> int:
    text = read_text(args.file)
    wanted = parse_document(text, profiles={p.name for p in ctx.profiles.list()})
    check = policy_check(ctx.profiles.identities())
    if args.dry_run:
        stored = ctx.policies.list()
        plan = make_plan(wanted, stored, prune=args.prune)
        check_plan(plan, stored, check)
        created, removed = list(plan.creates), list(plan.removes)
    else:
        plans: list[Plan] = []

        def changes(stored: list[Policy]) -> tuple[list[Policy], list[Policy], list[Policy]]:
            plans.append(make_plan(wanted, stored, prune=args.prune))
            return plans[-1].changes()

        created, _, removed = ctx.policies.apply(changes, check=check)
        plan = plans[-1]
    if args.json:
        print_json(_as_json(plan, created, removed, args.dry_run))
        return 0
    if not plan.changes_anything:
        count = len(plan.unchanged)
        noun = "policy matches" if count == 1 else "policies match"
        print(f"nothing to change: {count} {noun} the file{_kept(plan)}")
        return 0
    for line in _lines(plan, created, removed, args.dry_run):
        print(line)
    print(_summary(plan, args.dry_run))
    return 0
