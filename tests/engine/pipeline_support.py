"""Helpers of the pipeline tests: a transport that holds chosen requests, and an engine
run on a thread of its own (the engine's stores belong to the thread that runs it)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from hoister.credentials import Credential
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.store.queue import QueueEntry, QueueStore
from tests.engine.harness import EngineHarness
from tests.support.images import build_image, push_image

#: How long a test waits for a condition before it fails (never slept).
PATIENCE = 60.0
_MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")


def tag_put(repository: str) -> Callable[[httpx.Request], bool]:
    """The last write of a promotion: the PUT of its target tag."""

    def match(request: httpx.Request) -> bool:
        found = _MANIFEST.match(request.url.path)
        return (
            request.method == "PUT"
            and found is not None
            and found["repo"] == repository
            and not found["ref"].startswith("sha256")
        )

    return match


def blob_mount(repository: str, digests: set[str]) -> Callable[[httpx.Request], bool]:
    """The mount of one of ``digests`` into ``repository``: a copy under way, its tag not
    written yet (within one registry there is no PUT by digest to hold instead).
    ``digests`` may be filled after the transport is made (:func:`queue_images`)."""

    def match(request: httpx.Request) -> bool:
        return (
            request.method == "POST"
            and request.url.path == f"/v2/{repository}/blobs/uploads/"
            and request.url.params.get("mount") in digests
        )

    return match


class Hold(httpx.BaseTransport):
    """A real HTTP transport that holds the requests ``match`` picks until
    :meth:`release`, counting how many are held at once."""

    def __init__(self, match: Callable[[httpx.Request], bool]) -> None:
        self._inner = httpx.HTTPTransport()
        self._match = match
        self._changed = threading.Condition()
        self._released = threading.Event()
        self.held = 0
        self.peak = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._match(request):
            with self._changed:
                self.held += 1
                self.peak = max(self.peak, self.held)
                self._changed.notify_all()
            try:
                assert self._released.wait(PATIENCE), "the test never released the request"
            finally:
                with self._changed:
                    self.held -= 1
        return self._inner.handle_request(request)

    def wait_held(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.held >= count, PATIENCE), (
                f"{self.held} requests held, {count} expected"
            )

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._inner.close()


def holding(holds: dict[str, Hold]) -> Callable[[Profile, Credential | None], RegistryClient]:
    """A client factory whose clients of the named profiles go through their hold."""

    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(
            profile.url, credential, sleep=lambda _s: None, transport=holds.get(profile.name)
        )

    return factory


@dataclass
class Background:
    """``run_due`` of an engine on a thread of its own, which closes the engine after."""

    harness: EngineHarness
    thread: threading.Thread | None = None
    result: dict[str, Any] = field(default_factory=dict)
    threads: list[str] = field(default_factory=list)

    def start(self) -> Background:
        def run() -> None:
            self.threads.append(threading.current_thread().name)
            try:
                self.result["counts"] = self.harness.engine.runner.run_due()
                pipeline = self.harness.engine.runner.pipeline
                self.result["peak"] = pipeline.peak if pipeline is not None else 1
            except BaseException as exc:
                self.result["error"] = exc
            finally:
                self.harness.engine.close()

        self.thread = threading.Thread(target=run, name="test-engine", daemon=True)
        self.thread.start()
        return self

    def join(self) -> dict[str, int]:
        assert self.thread is not None
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "the engine did not return"
        if "error" in self.result:
            raise self.result["error"]
        return dict(self.result["counts"])


def queue_images(
    h: EngineHarness,
    policy_id: int,
    profile: str,
    count: int,
    seed: int,
    url: str,
    first_blobs: set[str] | None = None,
) -> dict[str, str]:
    """Push ``count`` images to dev/web and queue their promotions as a poll would;
    returns tag -> digest. ``first_blobs`` gains each image's first blob (one request
    per promotion for :func:`blob_mount` to hold)."""
    pushed = {}
    with QueueStore(h.database, h.clock) as store:
        for n in range(count):
            image = build_image(seed=seed + n)
            tag = f"{n}-stable"
            push_image(url, "dev/web", tag, image)
            pushed[tag] = image.digest
            if first_blobs is not None:
                first_blobs.add(image.blobs[0].digest)
            store.enqueue(
                QueueEntry(
                    None, policy_id, profile, "dev/web", tag, image.digest, profile, "qa/web"
                )
            )
    return pushed


def states(h: EngineHarness) -> dict[str, int]:
    with QueueStore(h.database, h.clock) as store:
        counted: dict[str, int] = {}
        for entry in store.entries():
            counted[entry.state] = counted.get(entry.state, 0) + 1
        return counted
