"""Registry identity: every spelling of one registry gives one key, and keys are stable."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hoister.profiles import Profile, parse_registry_url
from hoister.registry.identity import profile_identities, registry_identity

LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
HOST = st.lists(LABEL, min_size=1, max_size=4).map(".".join).filter(lambda h: h != "localhost")
PORT = st.integers(1, 65535).filter(lambda p: p not in (80, 443))
SCHEME = st.sampled_from(["", "http://", "https://", "HTTPS://"])
TAIL = st.sampled_from(["", "/", "//", "/v2", "/v2/", "/some/path?x=1#frag"])


def _spell(host: str, draw: st.DrawFn) -> str:
    """``host`` in one of the ways a person may type it."""
    upper = draw(st.lists(st.booleans(), min_size=len(host), max_size=len(host)))
    return "".join(c.upper() if u else c for c, u in zip(host, upper, strict=True))


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A host:port and a URL naming the same registry, differently written."""
    host, port = draw(HOST), draw(PORT)
    dot = draw(st.sampled_from(["", "."]))
    url = f"{draw(SCHEME)}{_spell(host, draw)}{dot}:{port}{draw(TAIL)}"
    return f"{host}:{port}", url


@given(st.text())
@example("¡..")  # IDNA refuses the empty label, and would accept what is left of it
@example("¡ .")
@example("a\uff1a443")  # IDNA maps a full-width colon to ':', which would make a port
@example("\uff11\uff12\uff17.0.0.1")  # full-width digits spell a loopback address
@example("[::1]:a:443")
def test_identity_is_idempotent_on_any_text(text: str) -> None:
    once = registry_identity(text)
    assert registry_identity(once) == once


@given(spellings())
def test_case_scheme_trailing_dot_and_path_do_not_matter(pair: tuple[str, str]) -> None:
    plain, url = pair
    assert registry_identity(url) == registry_identity(plain) == plain
    assert registry_identity(registry_identity(url)) == plain


@given(HOST, st.sampled_from(["http", "https"]), st.sampled_from(["", ":80", ":443"]), TAIL)
def test_web_ports_and_the_scheme_are_one_registry(
    host: str, scheme: str, port: str, tail: str
) -> None:
    """Documented choice: http://h and https://h are the same storage."""
    assert registry_identity(f"{scheme}://{host}{port}{tail}") == host


@given(HOST, PORT, PORT)
def test_other_ports_are_other_registries(host: str, one: int, two: int) -> None:
    assert (registry_identity(f"{host}:{one}") == registry_identity(f"{host}:{two}")) == (
        one == two
    )
    assert registry_identity(f"http://{host}:{one}") == registry_identity(f"https://{host}:{one}")


@given(HOST, HOST)
def test_other_hosts_are_other_registries(one: str, two: str) -> None:
    assert (registry_identity(one) == registry_identity(two)) == (one == two)


@given(st.ip_addresses(v=4, network="127.0.0.0/8"), PORT, SCHEME)
def test_every_loopback_address_is_localhost(address: object, port: int, scheme: str) -> None:
    assert registry_identity(f"{scheme}{address}:{port}") == f"localhost:{port}"


@pytest.mark.parametrize(
    "url",
    [
        "localhost:5000",
        "LOCALHOST:5000/",
        "localhost.:5000",
        "http://127.0.0.1:5000",
        "https://127.1.2.3:5000/v2/",
        "[::1]:5000",
        "http://[0:0:0:0:0:0:0:1]:5000",
        "[::ffff:127.0.0.1]:5000",
    ],
)
def test_loopback_names(url: str) -> None:
    assert registry_identity(url) == "localhost:5000"


@pytest.mark.parametrize(
    "url",
    [
        "docker.io",
        "https://index.docker.io/v2/",
        "registry-1.docker.io:443",
        "http://Docker.IO",
        parse_registry_url("docker.io"),
    ],
)
def test_docker_hub_aliases_are_one_registry(url: str) -> None:
    assert registry_identity(url) == "docker.io"


def test_docker_hub_on_another_port_is_not_docker_hub() -> None:
    assert registry_identity("docker.io:5000") == "docker.io:5000"


@pytest.mark.parametrize(
    ("url", "identity"),
    [
        ("https://Bücher.example:8443/", "xn--bcher-kva.example:8443"),
        ("xn--bcher-kva.example:8443", "xn--bcher-kva.example:8443"),
        ("https://[2001:DB8:0:0::1]:5000", "[2001:db8::1]:5000"),
        ("2001:db8::1", "[2001:db8::1]"),
        ("https://alice:secret@registry.example.com/v2/", "registry.example.com"),
        ("registry.example.com:05000", "registry.example.com:5000"),
        ("registry.example.com:", "registry.example.com"),
        ("10.0.0.7:5000", "10.0.0.7:5000"),
    ],
)
def test_spellings(url: str, identity: str) -> None:
    assert registry_identity(url) == identity


@given(HOST, PORT, SCHEME, st.sampled_from(["", "/", "/v2", "/v2/"]))
def test_what_a_profile_saves_has_the_identity_of_what_was_typed(
    host: str, port: int, scheme: str, tail: str
) -> None:
    typed = f"{scheme}{host.upper()}:{port}{tail}"
    assert registry_identity(parse_registry_url(typed)) == registry_identity(typed)
    assert registry_identity(typed) == f"{host}:{port}"


def test_profile_identities_map_names_to_keys() -> None:
    profiles = [
        Profile("prod", "https://localhost:5000"),
        Profile("prod-alias", "http://127.0.0.1:5000/"),
        Profile("hub", "docker.io"),
    ]
    assert profile_identities(profiles) == {
        "prod": "localhost:5000",
        "prod-alias": "localhost:5000",
        "hub": "docker.io",
    }
