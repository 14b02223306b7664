"""Fuzzing Hoister's registry client and commands against a registry that answers anything.

A :class:`~tests.support.fakeregistry.FakeRegistry` serves generated answers for the tag
list, the catalog, manifests and their children, referrers and the token endpoint: random
and deeply nested JSON, indexes with empty, malformed, endless or self-referencing
children, and malformed ``Link`` and ``WWW-Authenticate`` headers. Driven through the real
``RegistryClient``, the promoter, the details reader and the ``hoister`` command line,
every case ends in a result or a typed error, never in "internal error" or a hang.
Statuses that make the client back off (429, 5xx) are left out: their retries sleep, and
they are covered by tests/registry/test_auth.py and friends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.errors import HoisterError
from hoister.facts.details import load_details
from hoister.registry import RegistryClient, RetryPolicy
from hoister.registry import client as client_module
from tests.conftest import CliResult
from tests.fuzz.support import FUZZ, deep, dumps, fuzz_timeout, json_values
from tests.support.fakeregistry import Answer, FakeRegistry

Cli = Callable[..., CliResult]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SUBJECT = "sha256:" + "c" * 64
#: Pages one listing may take here; the real cap (10,000) is checked in test_limits.py.
PAGE_CAP = 40

header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=80,
)
links = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            '<http://[::1/v2/_catalog?n=1>; rel="next"',
            '<http://127.0.0.1:notaport/v2/x>; rel="next"',
            '<https://elsewhere.test/v2/_catalog>; rel="next"',
            '</v2/dev/app/tags/list?last=a>; rel="next"',
            '</v2/_catalog?last=a>; rel="next"',
            "<//[>; rel=next",
            "<>; rel=next",
            '<../../../etc/passwd>; rel="next"',
        ]
    ),
    header_text.map(lambda t: f'<{t}>; rel="next"'),
    header_text,
)
digests = st.one_of(
    st.just(""),
    st.just("sha256:"),
    st.just(SUBJECT),
    st.integers(0, 3).map(lambda n: f"sha512:{n:0128x}"),
    st.text(max_size=70),
)
descriptors = st.one_of(
    st.fixed_dictionaries(
        {"digest": digests, "size": st.integers(-1, 2**70) | json_values},
        optional={
            "mediaType": st.sampled_from([OCI_INDEX, OCI_MANIFEST, ""]) | json_values,
            "platform": json_values,
            "annotations": json_values,
            "artifactType": json_values,
        },
    ),
    json_values,
)
manifest_docs = st.fixed_dictionaries(
    {"schemaVersion": st.just(2) | json_values},
    optional={
        "mediaType": st.sampled_from([OCI_INDEX, OCI_MANIFEST]) | json_values,
        "manifests": st.lists(descriptors, max_size=3) | json_values,
        "config": descriptors,
        "layers": st.lists(descriptors, max_size=3) | json_values,
        "subject": descriptors,
        "annotations": json_values,
    },
)
listing_docs = st.fixed_dictionaries(
    {},
    optional={
        "tags": st.lists(st.text(max_size=20), max_size=5) | json_values,
        "repositories": st.lists(st.text(max_size=20), max_size=5) | json_values,
        "manifests": st.lists(descriptors, max_size=3) | json_values,
        "token": st.text(max_size=40) | json_values,
        "expires_in": json_values,
        "errors": json_values,
    },
)
bodies = st.one_of(
    st.tuples(manifest_docs | listing_docs | json_values, st.booleans()).map(
        lambda p: dumps(p[0], p[1]).encode("utf-8", "surrogatepass")
    ),
    st.integers(1, 5000).map(lambda n: deep(n).encode()),
    st.integers(1, 3000).map(lambda n: b'{"tags": ' + deep(n).encode() + b"}"),
    st.sampled_from([b"9" * 5000, b'{"tags": [NaN]}', b'{"tags": ["\\ud800"]}', b"<html>"]),
    st.binary(max_size=200),
)
challenges = st.sampled_from(
    [
        'Bearer realm="{url}/token",service="fake"',
        'Bearer realm="http://[::1/token"',
        'Bearer realm="ftp://x/token"',
        'Bearer realm="{url}/token",scope="repository:dev/app:pull"',
        'Basic realm="x"',
        "Bearer",
        "",
    ]
)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    status = draw(st.sampled_from([200, 200, 200, 201, 202, 204, 400, 401, 403, 404, 405]))
    headers = {}
    if link := draw(links):
        headers["Link"] = link
    if draw(st.booleans()):
        digest = draw(digests)[:100]
        headers["Docker-Content-Digest"] = digest.encode("ascii", "replace").decode()
    if status == 401:
        headers["WWW-Authenticate"] = draw(challenges)
    content_type = draw(
        st.sampled_from(["application/json", OCI_INDEX, OCI_MANIFEST, "text/html", ""])
    )
    return Answer(status, draw(bodies), headers, content_type)


@dataclass
class Scenario:
    """What the fake registry answers for each path of interest, and whether pages end."""

    paths: dict[str, Answer] = field(default_factory=dict)
    endless: bool = False


PATHS = (
    "/v2/dev/app/tags/list",
    "/v2/_catalog",
    "/v2/dev/app/manifests/1",
    f"/v2/dev/app/manifests/{SUBJECT}",
    "/v2/dev/app/manifests/sha512:" + "0" * 128,
    "/v2/dev/app/manifests/sha512:" + "0" * 127 + "1",
    f"/v2/dev/app/referrers/{SUBJECT}",
    "/token",
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    chosen = draw(st.lists(st.sampled_from(PATHS), unique=True, min_size=1, max_size=len(PATHS)))
    return Scenario({path: draw(answers()) for path in chosen}, draw(st.booleans()))


def serve(fake: FakeRegistry, scenario: Scenario) -> None:
    fake.reset()
    for path, answer in scenario.paths.items():
        body = answer.body.replace(b"{url}", fake.url.encode())
        headers = {k: v.replace("{url}", fake.url) for k, v in answer.headers.items()}
        fake.set("GET", path, Answer(answer.status, body, headers, answer.content_type))
    if scenario.endless:

        def pages(method: str, target: str) -> Answer | None:
            if method != "GET" or not target.startswith(("/v2/_catalog", "/v2/dev/app/tags")):
                return None
            n = len(fake.requests)
            base = "/v2/_catalog" if target.startswith("/v2/_catalog") else "/v2/dev/app/tags/list"
            return Answer.json(
                {"tags": [f"t{n}"], "repositories": [f"r{n}"]},
                Link=f'<{base}?last={n}>; rel="next"',
            )

        fake.route = pages


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRegistry]:
    monkeypatch.setattr(client_module, "MAX_LISTING_PAGES", PAGE_CAP)
    with FakeRegistry() as server:
        yield server


OPERATIONS: dict[str, Callable[[RegistryClient], object]] = {
    "tags": lambda c: list(c.tags("dev/app")),
    "catalog": lambda c: list(c.catalog()),
    "tags_page": lambda c: c.tags_page("dev/app"),
    "manifest": lambda c: c.get_manifest("dev/app", "1"),
    "head": lambda c: c.head_manifest("dev/app", "1"),
    "referrers": lambda c: c.referrers("dev/app", SUBJECT),
    "details": lambda c: load_details(c, "dev/app", "1"),
    "promote": lambda c: Promoter().promote(
        PromotionRequest(c, "dev/app", "1", c, "prod/app", "1")
    ),
}


@fuzz_timeout
@FUZZ
@given(scenario=scenarios(), operation=st.sampled_from(sorted(OPERATIONS)))
def test_client_answers_or_raises_a_typed_error(
    fake: FakeRegistry, scenario: Scenario, operation: str
) -> None:
    serve(fake, scenario)
    # A client per case: a connection one case left odd must not change the next one.
    with RegistryClient(fake.url, retry=RetryPolicy(attempts=2), sleep=lambda _: None) as client:
        try:
            OPERATIONS[operation](client)
        except HoisterError as exc:
            assert str(exc)
            event(f"{operation}: {type(exc).__name__}")
        else:
            event(f"{operation}: ok")
    assert len(fake.requests) <= PAGE_CAP + 60  # bounded: no walk goes on and on


def _log_tail(err: str) -> str:
    """The traceback Hoister logged for an internal error, so a failure shows its cause."""
    path = err.rpartition("details are in ")[2].strip()
    try:
        return err + Path(path).read_text(encoding="utf-8")[-4000:]
    except OSError:
        return err


@pytest.fixture
def profile(cli: Cli, fake: FakeRegistry) -> str:
    code, _, err = cli("profile", "add", "fake", "--url", fake.url)
    assert code == 0, err
    return "fake"


COMMANDS = {
    "tags": ("tags", "dev/app"),
    "tags-json": ("tags", "dev/app", "--json"),
    "repos": ("repos",),
    "inspect": ("inspect", "dev/app:1"),
    "inspect-json": ("inspect", "dev/app:1", "--json"),
    "promote": ("promote", "dev/app:1", "prod/app:1"),
}


@fuzz_timeout
@FUZZ
@given(scenario=scenarios(), command=st.sampled_from(sorted(COMMANDS)))
def test_commands_exit_0_or_1_in_words(
    cli: Cli, fake: FakeRegistry, profile: str, scenario: Scenario, command: str
) -> None:
    serve(fake, scenario)
    code, _, err = cli(*COMMANDS[command], "--profile", profile)
    event(f"{command}: exit {code}")
    assert "internal error" not in err, _log_tail(err)
    assert code in (0, 1), err
    if code == 1:
        assert err.startswith("hoister: ")
