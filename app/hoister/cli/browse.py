"""``hoister repos``, ``tags`` and ``inspect``: read-only views of a registry.

``tags`` hides the bookkeeping tags the app hides (referrer indexes ``sha256-…``, cosign
artifacts, Hoister's backup tags; :func:`hoister.engine.tags.is_internal_tag`): they are
not images anyone pushed, and a script looping over the output would otherwise act on
them. ``--all`` lists them too. ``inspect`` adds where a promoted image came from, read
from the provenance records in the registry itself, so it answers on any machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import human_size, print_json, print_table
from hoister.engine.provenance import ProvenanceRecord, read_provenance
from hoister.engine.tags import is_internal_tag
from hoister.registry import Denied, Manifest, NotFound, RegistryClient, Unauthorized, Unsupported
from hoister.registry.mediatypes import short_name
from hoister.registry.reference import parse_reference, validate_repository


def register(commands: Any) -> None:
    repos = commands.add_parser("repos", help="list the repositories of a registry")
    repos.add_argument("--profile", required=True, help="saved connection to use")
    repos.add_argument("--json", action="store_true", help="machine-readable output")
    repos.set_defaults(handler=list_repositories)

    tags = commands.add_parser("tags", help="list the tags of a repository")
    tags.add_argument("repository", metavar="REPO")
    tags.add_argument("--profile", required=True)
    tags.add_argument("--json", action="store_true")
    tags.add_argument(
        "--all",
        action="store_true",
        help="also list internal tags (referrer indexes sha256-..., cosign artifacts, backups)",
    )
    tags.set_defaults(handler=list_tags)

    inspect = commands.add_parser(
        "inspect", help="show an image: digest, platforms, config, layers"
    )
    inspect.add_argument("reference", metavar="REPO:TAG")
    inspect.add_argument("--profile", required=True)
    inspect.add_argument("--json", action="store_true")
    inspect.set_defaults(handler=inspect_image)


def list_repositories(args: argparse.Namespace, ctx: Context) -> int:
    profile = ctx.profiles.get(args.profile)
    client = ctx.client_for(profile)
    remembered = list(profile.repositories)
    try:
        names = list(client.catalog())
    except (Unauthorized, Denied, NotFound, Unsupported) as exc:
        if not remembered:
            raise
        print(
            f"hoister: the catalog is not available ({exc}); "
            "showing the repositories added by name",
            file=sys.stderr,
        )
        names = []
    names = sorted(set(names) | set(remembered))
    if args.json:
        print_json(names)
    else:
        for name in names:
            print(name)
    return 0


def list_tags(args: argparse.Namespace, ctx: Context) -> int:
    repository = validate_repository(args.repository)
    client = ctx.client_for(ctx.profiles.get(args.profile))
    tags = list(client.tags(repository))
    shown = tags if args.all else [tag for tag in tags if not is_internal_tag(tag)]
    if args.json:
        print_json(shown)
        return 0
    for tag in shown:
        print(tag)
    hidden = len(tags) - len(shown)
    if hidden:
        print(
            f"{hidden} internal tag{'s' if hidden != 1 else ''} (referrers, signatures, "
            "backups) not shown; --all lists them",
            file=sys.stderr,
        )
    return 0


def describe_image(client: RegistryClient, repository: str, manifest: Manifest) -> dict[str, Any]:
    """Everything ``inspect`` shows about one image manifest (not an index)."""
    info: dict[str, Any] = {
        "digest": manifest.digest,
        "mediaType": manifest.media_type,
        "size": manifest.size,
        "layers": [
            {"digest": d.digest, "size": d.size, "mediaType": d.media_type} for d in manifest.layers
        ],
    }
    if manifest.artifact_type:
        info["artifactType"] = manifest.artifact_type
        return info
    config = client.get_config(repository, manifest)
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    info.update(
        {
            "platform": f"{config.get('os', '?')}/{config.get('architecture', '?')}"
            + (f"/{config['variant']}" if config.get("variant") else ""),
            "created": config.get("created"),
            "labels": inner.get("Labels") or {},
            "env": inner.get("Env") or [],
            "entrypoint": inner.get("Entrypoint"),
            "cmd": inner.get("Cmd"),
            "history": [
                {
                    "created": h.get("created"),
                    "createdBy": h.get("created_by"),
                    "empty": bool(h.get("empty_layer")),
                }
                for h in config.get("history") or []
                if isinstance(h, dict)
            ],
        }
    )
    return info


def inspect_image(args: argparse.Namespace, ctx: Context) -> int:
    ref = parse_reference(args.reference)
    client = ctx.client_for(ctx.profiles.get(args.profile))
    manifest = client.get_manifest(ref.repository, ref.reference)
    result: dict[str, Any] = {
        "repository": ref.repository,
        "reference": ref.reference,
        "digest": manifest.digest,
        "mediaType": manifest.media_type,
    }
    if manifest.is_index:
        result["manifests"] = []
        for child in manifest.manifests:
            entry: dict[str, Any] = {
                "digest": child.digest,
                "mediaType": child.media_type,
                "platform": str(child.platform) if child.platform else None,
            }
            if child.media_type and not child.media_type.endswith("index.v1+json"):
                child_manifest = client.get_manifest(ref.repository, child.digest)
                entry.update(describe_image(client, ref.repository, child_manifest))
            result["manifests"].append(entry)
        result["size"] = len(manifest.data) + sum(m.get("size", 0) for m in result["manifests"])
    else:
        result.update(describe_image(client, ref.repository, manifest))
    result["referrers"] = [
        {"digest": d.digest, "artifactType": d.artifact_type, "mediaType": d.media_type}
        for d in client.referrers(ref.repository, manifest.digest)
    ]
    records = read_provenance(client, ref.repository, manifest.digest)
    result["provenance"] = [json.loads(record.to_json()) for record in records]
    if args.json:
        print_json(result)
    else:
        _print_inspection(result, records)
    return 0


def _print_inspection(result: dict[str, Any], records: list[ProvenanceRecord]) -> None:
    print(f"{result['repository']}:{result['reference']}")
    print(f"  digest      {result['digest']}")
    print(f"  type        {short_name(result['mediaType'])}")
    print(f"  size        {human_size(result.get('size'))}")
    for record in records:
        print(f"  {describe_provenance(record)}")
    images = result.get("manifests") or [result]
    for image in images:
        if "manifests" in result:
            print(f"\n  {image.get('platform') or '(no platform)'}  {image['digest']}")
        _print_image(image)
    if result["referrers"]:
        print("\n  referrers")
        for ref in result["referrers"]:
            print(f"    {ref['artifactType'] or ref['mediaType']}  {ref['digest']}")


def describe_provenance(record: ProvenanceRecord) -> str:
    """One sentence: where this image came from, by which policy, when and by whom."""
    how = f'policy "{record.policy_name}"' if record.policy_id is not None else "hand"
    when = record.promoted_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"promoted from {record.source_registry}/{record.source_repository}:"
        f"{record.source_tag} ({record.source_digest}) by {how} on {when} "
        f"by {record.promoted_by}"
    )


def _print_image(image: dict[str, Any]) -> None:
    if "platform" in image and "created" in image:
        print(f"  platform    {image['platform']}")
        print(f"  created     {image.get('created') or '-'}")
    if image.get("artifactType"):
        print(f"  artifact    {image['artifactType']}")
    for key, value in sorted((image.get("labels") or {}).items()):
        print(f"  label       {key}={value}")
    if image.get("entrypoint") or image.get("cmd"):
        print(
            f"  runs        {' '.join((image.get('entrypoint') or []) + (image.get('cmd') or []))}"
        )
    layers = image.get("layers") or []
    if layers:
        print_table(
            ("    LAYER", "SIZE"),
            [(f"    {layer['digest']}", human_size(layer["size"])) for layer in layers],
        )
