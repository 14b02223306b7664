"""Sample content for a new registry: a small website image with a few tags and a policy.

A newcomer's empty sandbox shows nothing worth browsing, so Hoister can fill it with
``dev/website``: real images (a gzip'd tar layer holding an ``index.html``, a config
with platform, creation time and OCI labels) that ``docker pull`` or ``skopeo`` accept.
Every byte is derived from fixed inputs, so loading twice gives the same digests and
pushes nothing new. Creation times are spread over days so sorting by age means
something, and ``1.3`` is a multi-platform index so the platform column does too.

:func:`push_stable_build` then plays the developer of the seed story: a new
``1.<n>-stable`` build, pushed from the app, for a policy to promote.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hoister.policies import Identities, Policy, Rule, policy_check
from hoister.policies.model import Route
from hoister.registry import NotFound, RegistryClient, mediatypes
from hoister.store import PolicyStore

REPOSITORY = "dev/website"
TARGET_REPOSITORY = "qa/website"
POLICY_NAME = "Stable builds to QA"
POLICY_RULE = Rule("tag", "ew", ("stable",))
POLICY_TEMPLATE = "%Y%m%d-%H%M%S"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

#: (tag, version shown in the page, days after the first build, platforms).
RELEASES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("1.0", "1.0", 0, ("amd64",)),
    ("1.1", "1.1", 3, ("amd64",)),
    ("1.2-rc1", "1.2-rc1", 6, ("amd64",)),
    ("1.2-stable", "1.2", 8, ("amd64",)),
    ("1.3", "1.3", 11, ("amd64", "arm64")),
)
_FIRST_BUILD = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
_VARIANTS = {"arm64": "v8"}

Progress = Callable[[str], None]
_MINOR = re.compile(r"1\.(\d+)(?:$|[-.])")


@dataclass
class SampleReport:
    """What was loaded, for the window to say and select; ``message`` is for people."""

    repository: str
    tags: list[str]
    policy_id: int | None
    message: str
    digests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleImage:
    """Manifest bytes plus every blob it needs; ``children`` for an index."""

    media_type: str
    data: bytes
    blobs: tuple[bytes, ...] = ()
    children: tuple[SampleImage, ...] = ()

    @property
    def digest(self) -> str:
        return _digest(self.data)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8")


def _descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _digest(data), "size": len(data), **extra}


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _layer(files: dict[str, bytes], when: datetime) -> tuple[bytes, str]:
    """A reproducible gzip'd tar (fixed owners, times and gzip header) and its diff_id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(when.timestamp())
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=9, mtime=0), _digest(tar_bytes)


def _page(version: str, arch: str, revision: str, when: datetime) -> bytes:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>website {version}</title></head>\n<body><h1>website {version}</h1>\n"
        f"<p>Built {_stamp(when)} for linux/{arch} from revision {revision[:12]}.</p>\n"
        "<p>Sample content loaded by Hoister.</p></body></html>\n"
    ).encode()


def _image(version: str, arch: str, when: datetime) -> SampleImage:
    """One single-platform image; the seeded revision makes it look like a real build."""
    revision = random.Random(f"website-{version}").getrandbits(160).to_bytes(20, "big").hex()
    files = {
        "srv/www/index.html": _page(version, arch, revision, when),
        "srv/www/VERSION": f"{version}\n".encode(),
    }
    layer, diff_id = _layer(files, when)
    labels = {
        "org.opencontainers.image.title": "website",
        "org.opencontainers.image.description": "A static web page; sample content of Hoister",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": _stamp(when),
        "org.opencontainers.image.licenses": "CC0-1.0",
    }
    config: dict[str, Any] = {
        "architecture": arch,
        "os": "linux",
        "created": _stamp(when),
        "config": {
            "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/srv/www"],
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": labels,
            "WorkingDir": "/srv/www",
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": _stamp(when), "created_by": f"COPY srv/www (website {version})"}],
    }
    if arch in _VARIANTS:
        config["variant"] = _VARIANTS[arch]
    config_bytes = _dumps(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": _descriptor(mediatypes.OCI_CONFIG, config_bytes),
        "layers": [_descriptor(OCI_LAYER, layer)],
        "annotations": {"org.opencontainers.image.created": _stamp(when)},
    }
    return SampleImage(mediatypes.OCI_MANIFEST, _dumps(manifest), (config_bytes, layer))


def _platform(arch: str) -> dict[str, str]:
    platform = {"architecture": arch, "os": "linux"}
    if arch in _VARIANTS:
        platform["variant"] = _VARIANTS[arch]
    return platform


def sample_images() -> dict[str, SampleImage]:
    """Tag -> image, built in memory (a few kilobytes in all)."""
    images: dict[str, SampleImage] = {}
    for tag, version, days, arches in RELEASES:
        when = _FIRST_BUILD + timedelta(days=days, hours=days % 5)
        children = [_image(version, arch, when) for arch in arches]
        if len(children) == 1:
            images[tag] = children[0]
            continue
        index = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [
                _descriptor(child.media_type, child.data, platform=_platform(arch))
                for child, arch in zip(children, arches, strict=True)
            ],
        }
        images[tag] = SampleImage(mediatypes.OCI_INDEX, _dumps(index), children=tuple(children))
    return images


def sample_policy(profile_name: str) -> Policy:
    """The seed's example: stable builds of dev/website go to qa/website, time-stamped."""
    return Policy(
        name=POLICY_NAME,
        description="Example from Hoister's sample content: every tag ending in 'stable' "
        "is copied to qa/website under a tag made of the promotion time.",
        source_profile=profile_name,
        source_repository=REPOSITORY,
        target_repository=TARGET_REPOSITORY,
        rules=(POLICY_RULE,),
        tag_template=POLICY_TEMPLATE,
        apply_existing=False,
    )


def next_stable_tag(tags: Iterable[str]) -> str:
    """``1.<n>-stable`` one minor version past every ``1.<m>…`` tag already there."""
    minors = [int(found.group(1)) for tag in tags if (found := _MINOR.match(tag))]
    return f"1.{max(minors, default=-1) + 1}-stable"


def push_stable_build(client: RegistryClient, now: datetime | None = None) -> tuple[str, str]:
    """Play the developer: push a new stable build of dev/website; (tag, digest).

    The image is made like the sample's own (a page and a VERSION file, OCI labels), built
    now, so its digest is new and a policy watching for tags ending in ``stable`` has
    something to promote. Talks to the registry: call it from a worker.
    """
    try:
        tags = list(client.tags(REPOSITORY))
    except NotFound:
        tags = []
    tag = next_stable_tag(tags)
    image = _image(tag.removesuffix("-stable"), "amd64", now or datetime.now(UTC))
    _push(client, image, tag)
    return tag, image.digest


def _push(client: RegistryClient, image: SampleImage, reference: str) -> None:
    """Children first, blobs the registry lacks, then the manifest: never a dangling link."""
    for child in image.children:
        _push(client, child, child.digest)
    for blob in image.blobs:
        digest = _digest(blob)
        if client.head_blob(REPOSITORY, digest) is None:
            client.upload_blob(REPOSITORY, digest, blob)
    current = client.head_manifest(REPOSITORY, reference)
    if current is None or current.digest != image.digest:
        client.put_manifest(REPOSITORY, reference, image.data, image.media_type)


def _same_policy(stored: Policy, wanted: Policy) -> bool:
    return (
        stored.name == wanted.name
        and stored.target_repository == wanted.target_repository
        and stored.effective_target_profile == wanted.effective_target_profile
        and stored.rules == wanted.rules
        and stored.tag_template == wanted.tag_template
    )


def _add_policy(
    store: PolicyStore, profile_name: str, identities: Identities | None
) -> tuple[int | None, str]:
    wanted = sample_policy(profile_name)
    for stored in store.list(source=Route(profile_name, REPOSITORY)):
        if _same_policy(stored, wanted):
            return stored.id, f"The example policy '{POLICY_NAME}' was already there."
    added = store.add(wanted, check=policy_check(identities))
    return added.id, (
        f"Added the example policy '{POLICY_NAME}': tags of {REPOSITORY} ending in 'stable' "
        f"are copied to {TARGET_REPOSITORY}. It leaves the 1.2-stable tag already there "
        "alone; to see a promotion, open the policy and choose Save & Apply, or push a new "
        "tag ending in 'stable'."
    )


def load_sample_content(
    client: RegistryClient,
    store: PolicyStore | None,
    profile_name: str,
    progress: Progress | None = None,
    identities: Identities | None = None,
) -> SampleReport:
    """Push dev/website and, given a store, add the example policy; safe to run twice.

    The policy is stored without *apply to existing tags* on purpose: promoting the
    stable tag the moment the sample arrives would hide the point of a policy, which is
    what happens when a new image is pushed. ``identities`` (profile name -> registry
    identity, ``ProfileStore.identities()``) lets the cycle check see other profiles that
    name the same registry.
    """
    report = progress or (lambda _text: None)
    digests: dict[str, str] = {}
    for tag, image in sample_images().items():
        report(f"pushing {REPOSITORY}:{tag}")
        _push(client, image, tag)
        digests[tag] = image.digest
    tags = list(digests)
    message = f"Pushed {REPOSITORY} with the tags {', '.join(tags)} (1.3 for amd64 and arm64)."
    policy_id: int | None = None
    if store is not None:
        report("adding the example policy")
        policy_id, policy_text = _add_policy(store, profile_name, identities)
        message = f"{message} {policy_text}"
    return SampleReport(REPOSITORY, tags, policy_id, message, digests)
