"""``hoister profile add|list|remove``: saved registry connections.

``add`` checks the connection before saving anything, so a typo in the URL or password
is reported at once instead of at 3 a.m. by the agent; ``--no-verify`` saves an
unreachable profile on purpose. The password goes to the keyring, never to the file,
under the profile's own entry: another profile for the same registry and user keeps its
password, and ``add`` says so (a ``note:`` on standard error) so nobody expects that
changing one changes the other. ``remove`` forgets only the removed profile's password.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import print_json, print_table
from hoister.credentials import Credential
from hoister.credentials.secrets import same_login
from hoister.errors import HoisterError, InvalidInput
from hoister.profiles import Profile, parse_registry_url
from hoister.registry import RegistryClient


def register(commands: Any) -> None:
    profile = commands.add_parser("profile", help="manage saved registry connections")
    actions = profile.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="save a registry connection")
    add.add_argument("name", help="a short name, e.g. prod")
    add.add_argument(
        "--url", required=True, help="registry address, e.g. https://registry.example.com"
    )
    add.add_argument("--username", help="user to log in as")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password or token from standard input",
    )
    add.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    add.add_argument(
        "--ca-file", help="CA certificate (PEM) that signed the registry's certificate"
    )
    add.add_argument(
        "--scanner",
        metavar="COMMAND",
        help="vulnerability scanner to run for policies that need scan results, "
        "e.g. 'trivy image --format json {ref}'",
    )
    add.add_argument("--replace", action="store_true", help="overwrite a profile of the same name")
    add.add_argument(
        "--no-verify", action="store_true", help="save without contacting the registry"
    )
    add.set_defaults(handler=add_profile)

    listing = actions.add_parser("list", help="show saved connections")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_profiles)

    remove = actions.add_parser("remove", help="forget a connection and its stored password")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_profile)


def _read_password() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise InvalidInput("--password-stdin needs the password piped in (echo ... | hoister ...)")
    secret = sys.stdin.read().rstrip("\r\n")
    if not secret:
        raise InvalidInput("--password-stdin was given but standard input was empty")
    return secret


def add_profile(args: argparse.Namespace, ctx: Context) -> int:
    if args.password_stdin and not args.username:
        raise InvalidInput("--password-stdin needs --username")
    if args.ca_file and args.insecure:
        raise InvalidInput("--ca-file and --insecure contradict each other; choose one")
    profile = Profile(
        name=args.name,
        url=parse_registry_url(args.url),
        username=args.username,
        insecure=args.insecure,
        ca_file=args.ca_file,
        scanner=args.scanner,
    )
    if args.scanner:
        from hoister.facts.scanner import scanner_arguments

        scanner_arguments(args.scanner, "registry.example.com/repo@sha256:" + "0" * 64)
    saved = {p.name: p for p in ctx.profiles.list()}
    if profile.name in saved and not args.replace:
        raise InvalidInput(
            f"a profile named '{profile.name}' exists; add --replace to overwrite it"
        )
    replaced = saved.get(profile.name)
    secret = _read_password() if args.password_stdin else None

    if not args.no_verify:
        credential = Credential(args.username, secret) if secret and args.username else None
        if credential is None:
            from hoister.credentials import resolve_credential

            credential = resolve_credential(profile, ctx.secrets, ctx.docker_config)
        with RegistryClient(
            profile.url, credential, verify=not profile.insecure, ca_file=profile.ca_file
        ) as client:
            info = client.ping()
        print(f"connected to {profile.host} as {info.user}", file=sys.stderr)

    previous = ctx.secrets.get(profile) if secret is not None and replaced else None
    if secret is not None:
        ctx.secrets.set(profile, secret)
        if not ctx.secrets.persistent:
            print(f"hoister: warning: {ctx.secrets.warning}", file=sys.stderr)
    others = [p for p in saved.values() if p.name != profile.name]
    try:
        ctx.profiles.add(profile, replace=args.replace)
    except HoisterError:
        if previous is not None:
            ctx.secrets.set(profile, previous)
        elif secret is not None:
            ctx.secrets.delete(profile, remaining=saved.values())
        raise
    if replaced is not None and replaced.username and not _same_key(replaced, profile):
        ctx.secrets.delete(replaced, remaining=[*others, profile])  # its login changed
    print(f"saved profile {profile.name} ({profile.url})")
    for other in others:
        if same_login(profile, other):
            print(
                f"note: profile {other.name} uses the same registry and user; "
                "its password is kept separately",
                file=sys.stderr,
            )
    return 0


def _same_key(one: Profile, other: Profile) -> bool:
    return same_login(one, other) and one.name == other.name


def list_profiles(args: argparse.Namespace, ctx: Context) -> int:
    profiles = ctx.profiles.list()
    if args.json:
        print_json(
            [
                {
                    "name": p.name,
                    "url": p.url,
                    "username": p.username,
                    "insecure": p.insecure,
                    "caFile": p.ca_file,
                    "repositories": list(p.repositories),
                }
                for p in profiles
            ]
        )
        return 0
    if not profiles:
        print("no profiles yet; add one with: hoister profile add NAME --url URL", file=sys.stderr)
        return 0
    rows = [(p.name, p.url, p.username or "(anonymous)", tls_summary(p)) for p in profiles]
    print_table(("NAME", "URL", "USER", "TLS"), rows)
    return 0


def tls_summary(profile: Profile) -> str:
    """How the connection is protected, in words: never "verified" for plain HTTP."""
    if profile.is_plain_http:
        return "plain HTTP"
    if profile.insecure:
        return "TLS not verified (--insecure)"
    if profile.ca_file:
        return f"TLS verified with CA {profile.ca_file}"
    return "TLS verified"


def remove_profile(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.profiles.remove(args.name)
    if removed.username:
        ctx.secrets.delete(removed, remaining=ctx.profiles.list())
    print(f"removed profile {removed.name}")
    return 0
