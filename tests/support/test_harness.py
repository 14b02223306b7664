"""Self-tests: the harness behaves like the real registry says it should.

Each test drives the real ``docker-registry`` binary, so a passing run also documents
what distribution 2.8 does (e.g. which status a denied push gets).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.fixtures import RegistryFactory, TokenRegistry
from tests.support.images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MANIFEST_TYPES,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Format,
    build_artifact,
    build_image,
    build_index,
    diff_id,
    populate_repos,
    push_image,
    push_tags,
    random_layer,
    skopeo_copy_layout,
    skopeo_inspect,
    write_oci_layout,
)
from tests.support.notifications import NotificationSink, is_tagged_push
from tests.support.registry import RegistryServer
from tests.support.tokenserver import (
    TokenAuth,
    TokenServer,
    decode_jwt_claims,
    parse_challenge,
    parse_scope,
)

ACCEPT = {"Accept": ", ".join(MANIFEST_TYPES)}


def _child_pids() -> set[int]:
    """Direct children of this process, read from /proc (no psutil dependency)."""
    me = os.getpid()
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            children.add(int(entry.name))
    return children


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Autouse, so set up first and torn down last: after every harness fixture stopped."""
    threads_before = set(threading.enumerate())
    children_before = _child_pids()
    yield
    leaked_threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert not leaked_threads, f"threads left running: {leaked_threads}"
    assert _child_pids() <= children_before, "a registry process outlived its test"


def _scope_key(scope: str) -> tuple[str, str, tuple[str, ...]]:
    """distribution lists challenge actions in Go map order (push,pull or pull,push)."""
    kind, name, actions = parse_scope(scope)
    return kind, name, tuple(sorted(actions))


def _get_manifest(
    server: RegistryServer, repo: str, ref: str, auth: httpx.Auth | None = None
) -> httpx.Response:
    response = httpx.get(f"{server.url}/v2/{repo}/manifests/{ref}", headers=ACCEPT, auth=auth)
    response.raise_for_status()
    return response


# -- images without a registry ---------------------------------------------------------


def test_seeded_images_are_reproducible_and_layers_are_real_tars() -> None:
    assert random_layer(300, seed=7) == random_layer(300, seed=7)
    assert random_layer(300) != random_layer(300)
    one = build_image(seed=3, labels={"a": "b"})
    assert one.digest == build_image(seed=3, labels={"a": "b"}).digest
    layer = one.blobs[1].data
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        assert [m.name for m in tar.getmembers()] == ["data/file-0.bin", "data/file-1.bin"]
    assert one.config["rootfs"]["diff_ids"][0] == diff_id(layer)
    assert one.manifest_json["config"]["digest"] == one.blobs[0].digest
    assert one.config["config"]["Labels"] == {"a": "b"}


# -- anonymous registry ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_push_then_skopeo_sees_identical_bytes(registry: RegistryServer, fmt: Format) -> None:
    image = build_image(fmt=fmt)
    push_image(registry.url, "dev/website", "1.0", image)

    raw = skopeo_inspect(registry.host, "dev/website", "1.0", raw=True)
    assert raw == image.manifest
    assert image.media_type == (DOCKER_MANIFEST if fmt == "docker" else OCI_MANIFEST)
    info = skopeo_inspect(registry.host, "dev/website", "1.0")
    assert isinstance(info, dict)
    assert info["Digest"] == image.digest
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_index_push_children_first(registry: RegistryServer, fmt: Format) -> None:
    children = [
        build_image(fmt=fmt, platform=("linux", "amd64")),
        build_image(fmt=fmt, platform=("linux", "arm64", "v8")),
    ]
    index = build_index(children, fmt=fmt)
    push_image(registry.url, "multi", "latest", index)

    response = _get_manifest(registry, "multi", "latest")
    assert response.content == index.manifest
    assert response.headers["Content-Type"] == (OCI_INDEX if fmt == "oci" else DOCKER_LIST)
    assert response.headers["Docker-Content-Digest"] == index.digest
    platforms = [entry["platform"] for entry in index.manifest_json["manifests"]]
    assert platforms[1] == {"architecture": "arm64", "os": "linux", "variant": "v8"}
    for child in children:
        assert _get_manifest(registry, "multi", child.digest).content == child.manifest


def test_push_tags_and_restart_keeps_storage_and_port(registry: RegistryServer) -> None:
    image = build_image(layers=1, layer_size=64)
    tags = [f"t{i:03d}" for i in range(60)]
    push_tags(registry.url, "many", image, tags)
    port = registry.port

    registry.restart()

    assert registry.port == port
    listed = httpx.get(f"{registry.url}/v2/many/tags/list", params={"n": 1000}).json()
    assert sorted(listed["tags"]) == tags


def test_populate_repos_shows_in_catalog(registry: RegistryServer) -> None:
    names = [f"team/app-{i:02d}" for i in range(30)]
    populate_repos(registry.url, names, build_image(layers=1, layer_size=128))

    catalog = httpx.get(f"{registry.url}/v2/_catalog", params={"n": 100}).json()
    assert catalog["repositories"] == sorted(names)


def test_catalog_maxentries(registry_factory: RegistryFactory) -> None:
    server = registry_factory(maxentries=5)
    populate_repos(server.url, [f"r{i}" for i in range(7)], build_image(layers=1))

    too_many = httpx.get(f"{server.url}/v2/_catalog", params={"n": 6})
    first = httpx.get(f"{server.url}/v2/_catalog", params={"n": 5})

    # distribution 2.8.2 (CVE-2023-2253 fix): n above maxentries is a 400.
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"
    assert first.json()["repositories"] == ["r0", "r1", "r2", "r3", "r4"]
    assert 'rel="next"' in first.headers["Link"]


def test_oci_layout_pushed_by_skopeo(registry: RegistryServer, tmp_path: Path) -> None:
    image = build_image(labels={"org.example.stage": "dev"})
    layout = write_oci_layout(tmp_path / "layout", image, "1.0")
    write_oci_layout(layout, build_image(layers=1), "other")  # a second tag in one layout

    skopeo_copy_layout(layout, "1.0", registry.host, "dev/website", "1.0-stable")

    response = _get_manifest(registry, "dev/website", "1.0-stable")
    assert response.headers["Docker-Content-Digest"] == image.digest
    assert response.content == image.manifest


def test_artifact_with_subject_is_accepted(registry: RegistryServer) -> None:
    subject = build_image()
    push_image(registry.url, "signed", "1.0", subject)
    artifact = build_artifact(
        subject, "application/vnd.example.sbom", b'{"sbom": true}', "application/json"
    )
    tag = subject.digest.replace(":", "-")
    push_image(registry.url, "signed", tag, artifact)

    stored = _get_manifest(registry, "signed", tag)
    assert stored.content == artifact.manifest
    assert stored.json()["subject"]["digest"] == subject.digest
    assert artifact.blobs[0].media_type == OCI_EMPTY
    # distribution 2.8 has no referrers API: clients must fall back to the digest tag.
    referrers = httpx.get(f"{registry.url}/v2/signed/referrers/{subject.digest}")
    assert referrers.status_code == 404


def test_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install docker-registry"):
        RegistryServer(tmp_path)


# -- basic auth ------------------------------------------------------------------------


def test_basic_auth(basic_registry: RegistryServer) -> None:
    anonymous = httpx.get(f"{basic_registry.url}/v2/")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert httpx.get(f"{basic_registry.url}/v2/", auth=("alice", "nope")).status_code == 401
    good = httpx.BasicAuth("alice", basic_registry.users["alice"])
    assert httpx.get(f"{basic_registry.url}/v2/", auth=good).status_code == 200
    push_image(basic_registry.url, "private", "1", build_image(layers=1), auth=good)

    # Python's bcrypt writes $2b$; Apache htpasswd writes $2y$. Go accepts both.
    assert basic_registry.htpasswd_path.read_text().startswith("alice:$2b$04$")
    text = basic_registry.htpasswd_path.read_text().replace("$2b$", "$2y$")
    basic_registry.htpasswd_path.write_text(text)
    basic_registry.restart()  # 2.8 reads htpasswd once, at startup
    assert httpx.get(f"{basic_registry.url}/v2/private/tags/list", auth=good).status_code == 200


# -- token auth ------------------------------------------------------------------------


def test_token_challenge_and_alice_push_pull(token_registry: TokenRegistry) -> None:
    server, tokens = token_registry.registry, token_registry.tokens
    ping = httpx.get(f"{server.url}/v2/")
    assert ping.status_code == 401
    scheme, params = parse_challenge(ping.headers["WWW-Authenticate"])
    assert (scheme, params["realm"], params["service"]) == ("bearer", tokens.realm, tokens.service)

    alice = TokenAuth("alice", "wonderland-42")
    image = build_image()
    push_image(server.url, "prod/api", "1.0", image, auth=alice)

    assert _get_manifest(server, "prod/api", "1.0", auth=alice).content == image.manifest
    assert all(r.username == "alice" and r.status == 200 for r in tokens.requests)
    assert ("repository", "prod/api", ("pull", "push")) in {
        _scope_key(s) for r in tokens.requests for s in r.scopes
    }
    claims = decode_jwt_claims(tokens.issued[-1])
    claims["access"][0]["actions"].sort()
    assert claims["aud"] == tokens.service
    assert claims["iss"] == tokens.issuer
    # TokenAuth caches per repository, so the pull reused the push token.
    assert claims["access"] == [
        {"type": "repository", "name": "prod/api", "actions": ["pull", "push"]}
    ]


def test_token_acl_bob(token_registry: TokenRegistry) -> None:
    server, tokens = token_registry.registry, token_registry.tokens
    image = build_image(layers=1)
    push_image(server.url, "dev/tool", "1", image, auth=TokenAuth("alice", "wonderland-42"))
    bob = TokenAuth("bob", "builder-7")

    assert _get_manifest(server, "dev/tool", "1", auth=bob).content == image.manifest
    denied_pull = httpx.get(f"{server.url}/v2/prod/x/tags/list", auth=bob)
    with httpx.Client(auth=bob) as client:
        denied_push = client.post(f"{server.url}/v2/dev/tool/blobs/uploads/")

    # distribution answers a token without the needed action with 401 + insufficient_scope
    # (never 403), and the token server still issued a token (200) granting only pull.
    assert denied_pull.status_code == 401
    assert denied_push.status_code == 401
    assert 'error="insufficient_scope"' in denied_push.headers["WWW-Authenticate"]
    last = tokens.requests[-1]
    assert (last.username, last.status) == ("bob", 200)
    assert [_scope_key(s) for s in last.scopes] == [("repository", "dev/tool", ("pull", "push"))]
    assert last.granted == [{"type": "repository", "name": "dev/tool", "actions": ["pull"]}]


def test_token_server_flows(token_registry: TokenRegistry) -> None:
    tokens = token_registry.tokens
    scope = "repository:dev/a:pull"
    wrong = httpx.get(tokens.realm, params={"service": tokens.service}, auth=("bob", "x"))
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic realm=")

    anonymous = httpx.get(tokens.realm, params={"service": tokens.service, "scope": scope})
    assert anonymous.status_code == 200
    assert decode_jwt_claims(anonymous.json()["token"])["access"] == []

    form = {
        "grant_type": "password",
        "username": "bob",
        "password": "builder-7",
        "service": tokens.service,
        "scope": f"{scope} repository:prod/b:pull",
    }
    issued = httpx.post(tokens.realm, data=form).json()
    assert issued["token"] == issued["access_token"]
    assert issued["expires_in"] == tokens.token_ttl
    assert decode_jwt_claims(issued["token"])["access"] == [
        {"type": "repository", "name": "dev/a", "actions": ["pull"]}
    ]
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    refreshed = httpx.post(tokens.realm, data={**refresh, "service": tokens.service})
    assert decode_jwt_claims(refreshed.json()["token"])["sub"] == "bob"
    bad = httpx.post(tokens.realm, data={**refresh, "refresh_token": "forged"})
    assert bad.status_code == 401
    assert [r.method for r in tokens.requests] == ["GET", "GET", "POST", "POST", "POST"]
    tokens.clear()
    assert tokens.requests == [] and tokens.issued == []


def test_invalid_next_token_is_rejected_by_registry(token_registry: TokenRegistry) -> None:
    server, tokens = token_registry.registry, token_registry.tokens
    params = {"service": tokens.service, "scope": "registry:catalog:*"}

    def catalog_with_fresh_token() -> httpx.Response:
        token = httpx.get(tokens.realm, params=params, auth=("alice", "wonderland-42"))
        bearer = {"Authorization": f"Bearer {token.json()['token']}"}
        return httpx.get(f"{server.url}/v2/_catalog", headers=bearer)

    tokens.invalid_next = 1
    rejected = catalog_with_fresh_token()
    accepted = catalog_with_fresh_token()

    assert rejected.status_code == 401
    assert 'error="invalid_token"' in rejected.headers["WWW-Authenticate"]
    assert accepted.status_code == 200
    assert tokens.invalid_next == 0


def test_registry_needs_running_token_server(tmp_path: Path) -> None:
    tokens = TokenServer(workdir=tmp_path / "tokens")
    with pytest.raises(RuntimeError, match="start the TokenServer"):
        RegistryServer(tmp_path / "registry", auth="token", token_server=tokens).start()


# -- notifications ---------------------------------------------------------------------


def test_notification_for_tagged_push(
    notify_registry: RegistryServer, notification_sink: NotificationSink
) -> None:
    image = build_image(layers=1)
    push_image(notify_registry.url, "dev/website", "1.0-stable", image)

    event = notification_sink.wait_for_event(
        lambda e: is_tagged_push(e, "dev/website", "1.0-stable")
    )
    assert event["target"]["digest"] == image.digest
    assert event["target"]["mediaType"] == image.media_type
    headers = next(h for h, body in notification_sink.received if event in body["events"])
    assert headers["authorization"] == f"Bearer {notification_sink.token}"
    # distribution 2.8 labels envelopes v1 (the shared reference page says v2).
    assert headers["content-type"].startswith("application/vnd.docker.distribution.events.v1")
    assert json.dumps(event)  # plain JSON all the way down


@pytest.mark.parametrize(
    "location",
    ["/v2/r/blobs/uploads/u1?_state=abc", "http://127.0.0.1:9/v2/r/blobs/uploads/u1?_state=abc"],
)
def test_upload_location_relative_or_absolute_keeps_query(location: str) -> None:
    """distribution always answers absolute; other registries answer relative paths."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": location})
        if request.method == "PUT" and "/manifests/" in request.url.path:
            return httpx.Response(201, headers={"Docker-Content-Digest": image.digest})
        return httpx.Response(201)

    image = build_image(layers=0)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        push_image("http://127.0.0.1:9", "r", "1", image, client=client)

    put = next(url for url in seen if url.path == "/v2/r/blobs/uploads/u1")
    assert (put.host, put.port) == ("127.0.0.1", 9)
    assert put.params["_state"] == "abc"
    assert put.params["digest"] == image.blobs[0].digest
