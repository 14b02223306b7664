"""The poll benchmark's registry: many watched repositories and one with many tags, built once.

Every watched repository ``watch/repo-NNNN`` gets one tiny image under ``1.0``, pushed
over HTTP to a real registry, and ``big/app`` gets one image under ``1.0`` … ``1.N``.
Pushing a thousand repositories takes a minute on two cores, so the storage is built
once into a temp dir beside the cache, renamed into place when complete, and copied for
each run (a run pushes and promotes into it). The cache is keyed by a layout version and
the sizes, so a change to either builds a new one instead of reusing an older one.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from tests.support.images import build_image, push_image, put_manifest
from tests.support.registry import RegistryServer

from bench.common import Workspace, progress

#: Bump when what is pushed changes: an older cache is then rebuilt, not reused.
LAYOUT_VERSION = 1
BIG_REPOSITORY = "big/app"
TAG = "1.0"
PUSH_WORKERS = 4


def watched(index: int) -> str:
    return f"watch/repo-{index:04d}"


def big_tags(count: int) -> list[str]:
    """``1.0`` … ``1.<count - 1>``: all match the big repository's policy (``tag sw 1.``)."""
    return [f"1.{number}" for number in range(count)]


def cache_root(repositories: int, tags: int) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hoister-bench" / f"poll-v{LAYOUT_VERSION}-{repositories}x{tags}"


def _populate(server: RegistryServer, repositories: int, tags: int) -> None:
    image = build_image(layers=1, layer_size=1024, seed=1)
    limits = httpx.Limits(max_connections=PUSH_WORKERS, max_keepalive_connections=PUSH_WORKERS)
    with (
        httpx.Client(base_url=server.url, timeout=60.0, limits=limits) as client,
        ThreadPoolExecutor(PUSH_WORKERS, thread_name_prefix="bench-poll-push") as pool,
    ):
        names = [watched(index) for index in range(repositories)]
        for done, _ in enumerate(
            pool.map(lambda name: push_image(server.url, name, TAG, image, client=client), names), 1
        ):
            if done % 250 == 0:
                progress(f"poll registry: {done:,} of {repositories:,} repositories pushed")
        first, *rest = big_tags(tags)
        push_image(server.url, BIG_REPOSITORY, first, image, client=client)
        list(
            pool.map(lambda tag: put_manifest(client, server.url, BIG_REPOSITORY, tag, image), rest)
        )
    progress(f"poll registry: {BIG_REPOSITORY} with {tags:,} tags pushed")


def ensure_storage(repositories: int, tags: int) -> Path:
    """The registry's storage directory, built on the first run and reused after."""
    root = cache_root(repositories, tags)
    storage, marker = root / "storage", root / "complete"
    if marker.exists() and storage.is_dir():
        progress(f"poll registry: reusing {storage}")
        return storage
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(storage, ignore_errors=True)
    progress(f"poll registry: pushing {repositories:,} repositories into {root} (once)")
    with Workspace() as workspace:
        server = workspace.registry("poll-build")
        _populate(server, repositories, tags)
        server.stop()
        shutil.move(server.storage, storage)
    marker.write_text(f"{repositories} repositories, {tags} tags in {BIG_REPOSITORY}\n")
    return storage


def serve_copy(workspace: Workspace, storage: Path) -> RegistryServer:
    """A registry serving a fresh copy of ``storage``; stopped when the workspace closes."""
    workdir = workspace.tempdir("poll-registry")
    shutil.copytree(storage, workdir / "storage", symlinks=True)
    server = RegistryServer(workdir)
    workspace.callback(server.stop)
    return server.start()
