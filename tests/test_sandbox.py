"""The sandbox registry: a real registry process Hoister owns, on loopback only.

These tests start the real binary, because what matters (it answers, it keeps its port
and its storage across runs, it leaves no process behind) only shows with a real one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hoister import sandbox
from hoister.errors import HoisterError
from hoister.profiles import Profile, ProfileStore
from hoister.registry import RegistryClient, mediatypes
from hoister.registry.reference import sha256_digest
from hoister.sandbox import INSTALL_HINT, SandboxRegistry

pytestmark = pytest.mark.skipif(
    sandbox.find_binary() is None, reason="needs the registry binary (docker-registry)"
)

SandboxFactory = Callable[..., SandboxRegistry]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_sandbox(data_dir: Path) -> Iterator[SandboxFactory]:
    """Sandboxes on the test's data dir, every one stopped at teardown."""
    made: list[SandboxRegistry] = []

    def make(**options: object) -> SandboxRegistry:
        box = SandboxRegistry(data_dir, **options)  # type: ignore[arg-type]
        made.append(box)
        return box

    yield make
    for box in made:
        box.stop()


def _processes_using(config: Path) -> list[str]:
    """pids of processes whose command line names this sandbox's config file."""
    result = subprocess.run(
        ["pgrep", "-f", str(config)], capture_output=True, text=True, check=False
    )
    return result.stdout.split()


def _listening(pid: int) -> list[str]:
    """Local addresses of the TCP sockets ``pid`` listens on, as ``ss`` shows them."""
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to list listening sockets")
    lines = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in lines.splitlines() if f"pid={pid}," in line]


def _push_small_image(url: str) -> str:
    """An OCI image with an empty config and one tiny layer; returns its digest."""
    layer = b"not really a tar, but a registry does not look inside"
    config = b"{}"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256_digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    with RegistryClient(url) as client:
        for blob in (layer, config):
            client.upload_blob("keep/me", sha256_digest(blob), blob)
        return client.put_manifest("keep/me", "v1", manifest, mediatypes.OCI_MANIFEST)


def test_start_answers_on_loopback_and_stop_ends_the_process(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox()
    assert box.available
    box.start()
    assert box.running
    assert box.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{box.url}/v2/", trust_env=False).status_code == 200
    assert f'addr: "127.0.0.1:{box.port}"' in box.config_path.read_text()
    assert "enabled: true" in box.config_path.read_text()  # delete enabled
    assert box.storage == box.folder / "storage" and box.storage.is_dir()
    assert stat.S_IMODE(box.storage.stat().st_mode) == 0o700
    pid = box.process.pid if box.process else 0
    assert _processes_using(box.config_path) == [str(pid)]
    assert _listening(pid) == [f"127.0.0.1:{box.port}"]  # nothing on other interfaces

    box.stop()
    assert not box.running
    assert _processes_using(box.config_path) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    box.stop()  # idempotent


def test_restart_keeps_the_port_and_the_images(make_sandbox: SandboxFactory) -> None:
    with make_sandbox() as first:
        port = first.port
        digest = _push_small_image(first.url)
    assert json.loads((first.folder / "sandbox.json").read_text()) == {"port": port}

    again = make_sandbox()
    assert again.port == port  # known before starting: profiles can point at it
    with again:
        assert again.port == port
        with RegistryClient(again.url) as client:
            found = client.head_manifest("keep/me", "v1")
    assert found is not None and found.digest == digest


def test_a_taken_port_moves_the_sandbox_and_is_remembered(make_sandbox: SandboxFactory) -> None:
    with make_sandbox() as first:
        old_port = first.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        with make_sandbox() as second:
            assert second.port != old_port
            assert httpx.get(f"{second.url}/v2/", trust_env=False).status_code == 200
    assert make_sandbox().port == second.port


def test_registry_variables_of_the_shell_do_not_leak_in(
    make_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Were these honoured, the registry would listen on every interface, elsewhere.
    monkeypatch.setenv("REGISTRY_HTTP_ADDR", "0.0.0.0:1")
    monkeypatch.setenv("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", str(tmp_path / "elsewhere"))
    with make_sandbox() as box:
        assert httpx.get(f"{box.url}/v2/", trust_env=False).status_code == 200
        _push_small_image(box.url)
    assert not (tmp_path / "elsewhere").exists()
    assert any(box.storage.iterdir())


def test_a_missing_binary_is_explained_with_the_install_hint(
    make_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    named = make_sandbox(binary="no-such-registry-program")
    assert not named.available
    with pytest.raises(HoisterError, match="no-such-registry-program") as caught:
        named.start()
    assert INSTALL_HINT in str(caught.value)

    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert sandbox.find_binary() is None
    assert SandboxRegistry.find_binary() is None
    box = make_sandbox()
    assert not box.available
    with pytest.raises(HoisterError, match="sudo apt-get install docker-registry"):
        box.start()


def test_a_registry_that_dies_at_start_reports_its_log(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    fake = tmp_path / "broken-registry"
    fake.write_text("#!/bin/sh\necho 'configuration error: something is wrong' >&2\nexit 3\n")
    fake.chmod(0o755)
    box = make_sandbox(binary=str(fake))
    with pytest.raises(HoisterError, match="exit status 3") as caught:
        box.start()
    assert "configuration error: something is wrong" in str(caught.value)
    assert not box.running


def test_a_sandbox_left_by_a_crash_is_stopped_before_starting_again(
    make_sandbox: SandboxFactory,
) -> None:
    crashed = make_sandbox().start()
    port, orphan = crashed.port, crashed.process
    assert orphan is not None
    crashed.process = None  # as if Hoister had died without stopping it
    try:
        with make_sandbox() as box:
            assert orphan.wait(timeout=10) is not None
            assert box.port == port
            assert _processes_using(box.config_path) == [str(box.process.pid if box.process else 0)]
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_ensure_profile_adds_then_follows_the_port(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    store = ProfileStore(tmp_path / "profiles.json")
    box = make_sandbox(port=None)
    with pytest.raises(HoisterError, match="never been started"):
        box.ensure_profile(store)
    with box:
        profile = box.ensure_profile(store)
    assert profile == store.get("sandbox")
    assert profile.url == box.url

    remembered = Profile(name="sandbox", url="http://127.0.0.1:1", repositories=["dev/website"])
    store.update(remembered)
    updated = box.ensure_profile(store)
    assert updated.url == box.url
    assert updated.repositories == ["dev/website"]
    assert box.ensure_profile(store, name="play").url == box.url
    assert [p.name for p in store.list()] == ["play", "sandbox"]


def test_a_relative_data_dir_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry runs inside its folder, so a relative config path would miss."""
    monkeypatch.chdir(tmp_path)
    with SandboxRegistry(Path("relative-data")) as box:
        assert box.folder.is_absolute()
        assert httpx.get(f"{box.url}/v2/", trust_env=False).status_code == 200
