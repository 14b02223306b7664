"""Catalog and tag listings: pagination over real registries, and broken answers."""

from __future__ import annotations

import httpx
import pytest

from hoister.registry import NotFound, PaginationLoop, ProtocolError
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory
from tests.support.images import build_image, populate_repos, push_tags
from tests.support.registry import RegistryServer


def test_catalog_pages_through_more_than_a_thousand_repositories(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    server = registry_factory(maxentries=200)
    names = sorted(f"team{i % 7}/service-{i:04d}" for i in range(1050))
    populate_repos(server.url, names, build_image(layers=1, seed=10))
    client = make_client(server)
    assert list(client.catalog()) == names
    # The registry allows 200 per page: the client stepped down instead of failing.
    assert client.page_size <= 200
    first = client.catalog_page()
    assert first.items == names[: len(first.items)]
    assert first.next_url is not None
    second = client.catalog_page(first.next_url)
    assert second.items[0] == names[len(first.items)]


def test_tags_of_a_repository_with_more_than_a_thousand_tags(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    tags = [f"1.{i}.0" for i in range(1100)] + ["latest", "1.4-stable"]
    push_tags(registry.url, "dev/website", build_image(seed=11), tags)
    assert sorted(make_client(registry).tags("dev/website")) == sorted(tags)


def test_tags_of_unknown_repository(registry: RegistryServer, make_client: ClientFactory) -> None:
    with pytest.raises(
        NotFound, match=r"404 NAME_UNKNOWN from .* while listing tags of dev/nothing"
    ):
        list(make_client(registry).tags("dev/nothing"))


def _mock(handler) -> httpx.MockTransport:  # type: ignore[no-untyped-def]
    return httpx.MockTransport(handler)


def test_link_header_that_loops_is_refused(make_client: ClientFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"repositories": ["a", "b"]},
            headers={"Link": '</v2/_catalog?last=b&n=2>; rel="next"'},
        )

    client = make_client("https://registry.test", transport=_mock(handler))
    with pytest.raises(PaginationLoop, match=r"loops|already read"):
        list(client.catalog())


def test_link_to_another_host_is_not_followed(make_client: ClientFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"repositories": ["a"]},
            headers={"Link": '<https://evil.test/v2/_catalog?last=a>; rel="next"'},
        )

    client = make_client("https://registry.test", transport=_mock(handler))
    with pytest.raises(ProtocolError, match="Link to another host"):
        list(client.catalog())


def test_html_answer_is_explained(make_client: ClientFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, text="<html><body>Sign in</body></html>", headers={"Content-Type": "text/html"}
        )

    client = make_client("https://registry.test", transport=_mock(handler))
    with pytest.raises(ProtocolError, match="HTML page instead of JSON"):
        list(client.catalog())
    with pytest.raises(ProtocolError, match="HTML page, not a registry API"):
        client.ping()


def test_truncated_json_is_explained(make_client: ClientFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b'{"name": "dev/website", "tags": ["1.0", "1.',
            headers={"Content-Type": "application/json"},
        )

    client = make_client("https://registry.test", transport=_mock(handler))
    with pytest.raises(
        ProtocolError, match="invalid or truncated JSON while listing tags of dev/website"
    ):
        list(client.tags("dev/website"))


def test_page_size_invalid_steps_down(make_client: ClientFactory) -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        n = request.url.params.get("n")
        seen.append(n)
        if n is not None and int(n) > 100:
            return httpx.Response(
                400,
                json={
                    "errors": [
                        {
                            "code": "PAGINATION_NUMBER_INVALID",
                            "message": "invalid number of results requested",
                        }
                    ]
                },
            )
        return httpx.Response(200, json={"repositories": ["a", "b"]})

    client = make_client("https://registry.test", transport=_mock(handler))
    assert list(client.catalog()) == ["a", "b"]
    assert seen == ["1000", "100"]


def test_tag_pages_are_followed(make_client: ClientFactory) -> None:
    """distribution 2.8 returns every tag at once; newer registries page them like this."""
    pages = {
        None: (["a", "b"], "</v2/dev/website/tags/list?last=b&n=2>"),
        "b": (["c", "d"], "</v2/dev/website/tags/list?last=d&n=2>"),
        "d": (["e"], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        items, link = pages[request.url.params.get("last")]
        headers = {"Link": f'{link}; rel="next"'} if link else {}
        return httpx.Response(200, json={"name": "dev/website", "tags": items}, headers=headers)

    client = make_client("https://registry.test", transport=_mock(handler))
    assert list(client.tags("dev/website")) == ["a", "b", "c", "d", "e"]
