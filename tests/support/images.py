"""Real container images built in memory, and independent ways to push and inspect them.

Tests need images whose every byte is known: real gzip'd tar layers, a config with
diff_ids, Docker schema 2 or OCI manifests, indexes and referrer artifacts. They are
pushed with plain httpx (never Hoister's client, which is what is under test) or
written as an OCI layout for ``skopeo``, a second independent client. Manifests are
serialised with a three-space indent, as Docker does, so that any client that
re-serialises JSON instead of keeping the bytes gets a different digest and fails.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import httpx

Format = Literal["oci", "docker"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"

#: Every manifest type, for Accept headers.
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

DEFAULT_CREATED = "2024-01-01T00:00:00Z"
_TAR_MTIME = 1_704_067_200  # DEFAULT_CREATED, so seeded layers are byte-for-byte stable
_WORKERS = 4
SKOPEO_TIMEOUT = 120.0


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of exact bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=3).encode("utf-8")


# -- layers ----------------------------------------------------------------------------


def random_layer(size: int = 1024, seed: int | None = None) -> bytes:
    """A gzip'd tar of one or two regular files holding ``size`` random bytes in total.

    Random content keeps distinct layers distinct (no accidental blob sharing between
    "different" images); a seed makes the bytes, and therefore the digest, repeatable.
    """
    rng = random.Random(seed) if seed is not None else random.Random(os.urandom(16))
    sizes = [size] if size < 64 else [size - size // 4, size // 4]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for index, file_size in enumerate(sizes):
            info = tarfile.TarInfo(f"data/file-{index}.bin")
            info.size = file_size
            info.mtime = _TAR_MTIME
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(rng.randbytes(file_size)))
    return gzip.compress(raw.getvalue(), mtime=0)


def diff_id(layer: bytes) -> str:
    """Digest of the uncompressed tar, which the image config lists in ``rootfs.diff_ids``."""
    return sha256_digest(gzip.decompress(layer))


# -- data model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """Bytes plus the media type its descriptor will carry."""

    data: bytes
    media_type: str

    @cached_property
    def digest(self) -> str:
        """Content address of ``data``."""
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        """Length in bytes, as descriptors declare it."""
        return len(self.data)

    def descriptor(self) -> dict[str, Any]:
        """OCI descriptor for this blob."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Image:
    """A manifest (exact bytes), the blobs it needs and, for an index, its children."""

    manifest: bytes
    media_type: str
    blobs: list[Blob] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    children: list[Image] = field(default_factory=list)

    @cached_property
    def digest(self) -> str:
        """sha256 of the exact manifest bytes, what ``Docker-Content-Digest`` must say."""
        return sha256_digest(self.manifest)

    @property
    def size(self) -> int:
        """Manifest length, for descriptors that point at this image."""
        return len(self.manifest)

    @cached_property
    def manifest_json(self) -> dict[str, Any]:
        """The manifest parsed, for assertions."""
        return json.loads(self.manifest)

    @property
    def is_index(self) -> bool:
        """Whether this is an OCI index or Docker manifest list."""
        return self.media_type in INDEX_TYPES

    def descriptor(self) -> dict[str, Any]:
        """Descriptor of the manifest itself (for indexes, subjects, layouts)."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    def platform(self) -> dict[str, str]:
        """Platform of an image manifest, from its config (what index entries need)."""
        platform = {"architecture": self.config["architecture"], "os": self.config["os"]}
        if self.config.get("variant"):
            platform["variant"] = self.config["variant"]
        return platform

    def all_blobs(self) -> list[Blob]:
        """Blobs of this image and of every child, deduplicated, children first."""
        seen: dict[str, Blob] = {}
        for child in self.children:
            for blob in child.all_blobs():
                seen.setdefault(blob.digest, blob)
        for blob in self.blobs:
            seen.setdefault(blob.digest, blob)
        return list(seen.values())


# -- builders --------------------------------------------------------------------------


def build_image(
    *,
    layers: int = 2,
    layer_size: int = 1024,
    labels: dict[str, str] | None = None,
    created: str | None = None,
    platform: tuple[str, str] | tuple[str, str, str] = ("linux", "amd64"),
    fmt: Format = "oci",
    seed: int | None = None,
    annotations: dict[str, str] | None = None,
) -> Image:
    """A runnable-looking single-platform image; platform is (os, arch[, variant]).

    ``created`` defaults to a fixed time so seeded builds are reproducible; pass one
    for age-based policy tests. Docker schema 2 has no annotations, so asking for them
    with ``fmt="docker"`` is an error rather than a silently different manifest.
    """
    if fmt == "docker" and annotations:
        raise ValueError("Docker schema 2 manifests have no annotations; use fmt='oci'")
    created = created or DEFAULT_CREATED
    rng = random.Random(seed) if seed is not None else None
    layer_blobs = []
    for _ in range(layers):
        layer_seed = rng.getrandbits(64) if rng is not None else None
        data = random_layer(layer_size, seed=layer_seed)
        layer_blobs.append(Blob(data, OCI_LAYER if fmt == "oci" else DOCKER_LAYER))
    os_name, arch = platform[0], platform[1]
    config: dict[str, Any] = {
        "architecture": arch,
        "os": os_name,
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": ["/bin/hoister-test"],
            "Labels": dict(labels or {}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id(b.data) for b in layer_blobs]},
        "history": [
            {"created": created, "created_by": f"hoister-test: add layer {index}"}
            for index in range(layers)
        ],
    }
    if len(platform) > 2:
        config["variant"] = platform[2]
    config_blob = Blob(
        json.dumps(config, sort_keys=True).encode("utf-8"),
        OCI_CONFIG if fmt == "oci" else DOCKER_CONFIG,
    )
    media_type = OCI_MANIFEST if fmt == "oci" else DOCKER_MANIFEST
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config_blob.descriptor(),
        "layers": [b.descriptor() for b in layer_blobs],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    return Image(_dumps(manifest), media_type, [config_blob, *layer_blobs], config, [])


def build_index(
    images: list[Image], fmt: Format = "oci", annotations: dict[str, str] | None = None
) -> Image:
    """OCI index or Docker manifest list over ``images``, platforms taken from each child."""
    media_type = OCI_INDEX if fmt == "oci" else DOCKER_LIST
    entries = [{**child.descriptor(), "platform": child.platform()} for child in images]
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    if annotations:
        if fmt == "docker":
            raise ValueError("Docker manifest lists have no annotations; use fmt='oci'")
        document["annotations"] = dict(annotations)
    return Image(_dumps(document), media_type, [], {}, list(images))


def build_artifact(
    subject: Image,
    artifact_type: str,
    payload: bytes,
    payload_media_type: str,
    annotations: dict[str, str] | None = None,
) -> Image:
    """OCI 1.1 artifact manifest (empty config, one payload layer) that refers to subject."""
    empty = Blob(b"{}", OCI_EMPTY)
    layer = Blob(payload, payload_media_type)
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
        "subject": subject.descriptor(),
    }
    if annotations:
        document["annotations"] = dict(annotations)
    return Image(_dumps(document), OCI_MANIFEST, [empty, layer], {}, [])


# -- pushing with raw httpx ------------------------------------------------------------


class PushError(RuntimeError):
    """The registry refused a step of a push; carries the response for the test report."""

    def __init__(self, step: str, response: httpx.Response) -> None:
        super().__init__(
            f"{step}: {response.request.method} {response.request.url} -> "
            f"{response.status_code} {response.text[:500]}"
        )
        self.response = response


def _client(base_url: str, client: httpx.Client | None, auth: httpx.Auth | None) -> httpx.Client:
    if client is not None:
        return client
    limits = httpx.Limits(max_connections=_WORKERS * 2, max_keepalive_connections=_WORKERS * 2)
    return httpx.Client(base_url=base_url, auth=auth, timeout=30.0, limits=limits)


def _expect(response: httpx.Response, step: str, *ok: int) -> httpx.Response:
    if response.status_code not in ok:
        raise PushError(step, response)
    return response


def _finish_upload(
    client: httpx.Client, base_url: str, repo: str, blob: Blob, location: str
) -> None:
    # Location may be relative or absolute and already carry a query (state tokens).
    url = httpx.URL(base_url).join(location).copy_merge_params({"digest": blob.digest})
    response = client.put(
        url, content=blob.data, headers={"Content-Type": "application/octet-stream"}
    )
    _expect(response, f"upload {blob.digest} to {repo}", 201)


def push_blob(
    client: httpx.Client,
    base_url: str,
    repo: str,
    blob: Blob,
    *,
    mount_from: str | None = None,
) -> None:
    """Put one blob into repo: mount when asked, else HEAD and a monolithic upload."""
    base = base_url.rstrip("/")
    if mount_from is not None:
        response = client.post(
            f"{base}/v2/{repo}/blobs/uploads/",
            params={"mount": blob.digest, "from": mount_from},
        )
        if _expect(response, f"mount {blob.digest} into {repo}", 201, 202).status_code == 201:
            return
        _finish_upload(client, base, repo, blob, response.headers["Location"])
        return
    head = client.head(f"{base}/v2/{repo}/blobs/{blob.digest}")
    if head.status_code == 200:
        return
    started = _expect(client.post(f"{base}/v2/{repo}/blobs/uploads/"), f"start upload {repo}", 202)
    _finish_upload(client, base, repo, blob, started.headers["Location"])


def put_manifest(client: httpx.Client, base_url: str, repo: str, ref: str, image: Image) -> None:
    """PUT the exact manifest bytes and check the registry computed the same digest."""
    response = client.put(
        f"{base_url.rstrip('/')}/v2/{repo}/manifests/{ref}",
        content=image.manifest,
        headers={"Content-Type": image.media_type},
    )
    _expect(response, f"put manifest {repo}:{ref}", 201)
    returned = response.headers.get("Docker-Content-Digest")
    if returned != image.digest:
        raise AssertionError(f"registry says {returned} for {repo}:{ref}, built {image.digest}")


def _push_into(
    client: httpx.Client,
    base_url: str,
    repo: str,
    ref: str,
    image: Image,
    mount_from: str | None = None,
) -> None:
    for blob in image.all_blobs():
        push_blob(client, base_url, repo, blob, mount_from=mount_from)
    for child in image.children:
        _push_manifests(client, base_url, repo, child)
    put_manifest(client, base_url, repo, ref, image)


def _push_manifests(client: httpx.Client, base_url: str, repo: str, image: Image) -> None:
    for child in image.children:
        _push_manifests(client, base_url, repo, child)
    put_manifest(client, base_url, repo, image.digest, image)


def push_image(
    base_url: str,
    repo: str,
    ref: str,
    image: Image,
    *,
    client: httpx.Client | None = None,
    auth: httpx.Auth | None = None,
) -> None:
    """Push blobs, then (for an index) children by digest, then the manifest under ref."""
    own = _client(base_url, client, auth)
    try:
        _push_into(own, base_url, repo, ref, image)
    finally:
        if own is not client:
            own.close()


def _in_pool(calls: Iterable[Any], work: Any) -> None:
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="push") as pool:
        for future in [pool.submit(work, item) for item in calls]:
            future.result()


def push_tags(
    base_url: str,
    repo: str,
    image: Image,
    tags: list[str],
    *,
    client: httpx.Client | None = None,
    auth: httpx.Auth | None = None,
) -> None:
    """Push once, then PUT the same manifest bytes under every other tag, 4 at a time."""
    if not tags:
        return
    own = _client(base_url, client, auth)
    try:
        _push_into(own, base_url, repo, tags[0], image)
        _in_pool(tags[1:], lambda tag: put_manifest(own, base_url, repo, tag, image))
    finally:
        if own is not client:
            own.close()


def populate_repos(
    base_url: str,
    names: list[str],
    image: Image,
    *,
    tag: str = "latest",
    client: httpx.Client | None = None,
    auth: httpx.Auth | None = None,
) -> None:
    """Put ``image`` under ``tag`` in every repository: upload once, mount elsewhere."""
    if not names:
        return
    own = _client(base_url, client, auth)
    first = names[0]
    try:
        _push_into(own, base_url, first, tag, image)
        _in_pool(
            names[1:],
            lambda name: _push_into(own, base_url, name, tag, image, mount_from=first),
        )
    finally:
        if own is not client:
            own.close()


# -- OCI layout and skopeo -------------------------------------------------------------


def write_oci_layout(directory: Path, image: Image, tag: str) -> Path:
    """Add ``image`` as ``tag`` to an OCI image layout (created if needed) for skopeo."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def store(data: bytes) -> None:
        path = blobs / sha256_digest(data).removeprefix("sha256:")
        if not path.exists():
            path.write_bytes(data)

    def store_image(node: Image) -> None:
        for child in node.children:
            store_image(child)
        for blob in node.blobs:
            store(blob.data)
        store(node.manifest)

    store_image(image)
    index_path = directory / "index.json"
    if index_path.exists():
        index = json.loads(index_path.read_text())
    else:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    index["manifests"] = [
        entry for entry in index["manifests"] if entry.get("annotations", {}).get(REF_NAME) != tag
    ]
    index["manifests"].append({**image.descriptor(), "annotations": {REF_NAME: tag}})
    index_path.write_text(json.dumps(index, indent=2))
    return directory


def skopeo(*args: str, timeout: float = SKOPEO_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run skopeo as an independent client; failures raise with its stderr attached.

    ``--insecure-policy`` is global so the host's signature policy file never matters.
    """
    binary = shutil.which("skopeo")
    if binary is None:
        raise RuntimeError("skopeo not found on PATH; install it: apt-get install skopeo")
    command = [binary, "--insecure-policy", *args]
    try:
        return subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(command)} failed ({exc.returncode}): {stderr}") from exc


def _reference(host: str, repo: str, ref: str) -> str:
    separator = "@" if ref.startswith("sha256:") else ":"
    return f"docker://{host}/{repo}{separator}{ref}"


def skopeo_inspect(
    host: str, repo: str, ref: str, raw: bool = False, creds: str | None = None
) -> dict[str, Any] | bytes:
    """``skopeo inspect`` over plain HTTP; raw returns the manifest bytes unparsed."""
    args = ["inspect", "--tls-verify=false"]
    if raw:
        args.append("--raw")
    if creds:
        args += ["--creds", creds]
    output = skopeo(*args, _reference(host, repo, ref)).stdout
    return output if raw else json.loads(output)


def skopeo_copy_layout(
    directory: Path, tag: str, host: str, repo: str, dest_tag: str, creds: str | None = None
) -> None:
    """Push a layout written by :func:`write_oci_layout` with skopeo, digests preserved."""
    args = ["copy", "--dest-tls-verify=false", "--preserve-digests"]
    if creds:
        args += ["--dest-creds", creds]
    skopeo(*args, f"oci:{directory}:{tag}", _reference(host, repo, dest_tag))
