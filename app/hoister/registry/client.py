"""The OCI Distribution client: catalog, tags, manifests, delete, referrers.

Blob transfer lives in :mod:`hoister.registry.blobs`, referrers in
:mod:`hoister.registry.referrers` and the access check (:meth:`can_push`) in
:mod:`hoister.registry.access`; all are mixed in, so this class is
the one object the rest of Hoister talks to for a registry. It never imports Qt and
holds no global state: the GUI, the CLI, the engine and the tests each create their own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from hoister import jsonlimits
from hoister.credentials import Credential
from hoister.registry import mediatypes
from hoister.registry.access import AccessOps
from hoister.registry.auth import CATALOG_SCOPE, repository_scope
from hoister.registry.blobs import BlobOps
from hoister.registry.cache import RegistryCache
from hoister.registry.errors import (
    BeyondLimits,
    DigestMismatch,
    NotFound,
    PaginationLoop,
    ProtocolError,
    RegistryError,
    body_error,
    content_length,
)
from hoister.registry.manifest import Descriptor, Manifest
from hoister.registry.reference import is_digest, sha256_digest
from hoister.registry.referrers import ReferrerOps, fallback_tag  # noqa: F401 (re-exported)
from hoister.registry.session import RegistrySession

log = logging.getLogger(__name__)

#: distribution's ``maxentries`` default; registries with a lower limit answer 400
#: PAGINATION_NUMBER_INVALID and the client steps down to :data:`FALLBACK_PAGE_SIZE`.
DEFAULT_PAGE_SIZE = 1000
FALLBACK_PAGE_SIZE = 100
#: distribution refuses manifests over 4 MiB; reading more would only waste memory.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
#: A manifest PUT refused because a blob it names looks missing, although the blob was
#: just mounted or uploaded: distribution rewrites a blob's link file in place (truncate,
#: then write) on every mount or upload of it, so a manifest check that reads the link
#: while another request re-links the same blob finds it empty ("DIGEST_INVALID ...
#: blob unknown to registry"). Promotions in flight at once share base layers, so this
#: happens; asked again a moment later, the PUT passes. A blob that is really missing
#: is still refused after the last pause.
RELINK_CODES = frozenset({"DIGEST_INVALID", "BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"})
RELINK_PAUSES = (0.05, 0.25, 1.0)
#: A listing stops with a ProtocolError after this many pages or names: a registry whose
#: ``Link`` headers never end would otherwise keep a listing (and ``hoister tags``) going
#: forever. At distribution's 1000 per page, the page cap is ten million names; the
#: names cap is what bounds memory (the names already seen are kept to refuse repeats).
MAX_LISTING_PAGES = 10_000
MAX_LISTING_ENTRIES = 1_000_000
_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;[^,<]*)*)")


@dataclass(frozen=True)
class ApiInfo:
    """What a ping tells: the API version and how the registry authenticates."""

    url: str
    api_version: str | None
    auth_scheme: str | None
    user: str


@dataclass(frozen=True)
class Page:
    """One page of a listing; ``next_url`` is an opaque cursor for the next one."""

    items: list[str]
    next_url: str | None


class RegistryClient(ReferrerOps, BlobOps, AccessOps):
    """A client for one registry and one set of credentials."""

    def __init__(self, url: str, credential: Credential | None = None, **options: Any) -> None:
        self.session = RegistrySession(url, credential, **options)
        self.page_size = DEFAULT_PAGE_SIZE
        self.cache = RegistryCache()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    @property
    def host(self) -> str:
        return self.session.host

    # -- ping ------------------------------------------------------------------------

    def ping(self) -> ApiInfo:
        """Check that this is a v2 registry and that the credentials are accepted."""
        what = "checking the registry API at /v2/"
        try:
            response = self.session.send("GET", "/v2/", scopes=[], what=what)
        except NotFound as exc:
            raise ProtocolError(
                f"{self.host} has no registry API at /v2/ (404); is the URL the registry's "
                "address rather than a web page?",
                host=self.host,
                status=404,
            ) from exc
        version = response.headers.get("docker-distribution-api-version")
        if version is None and "html" in response.headers.get("content-type", ""):
            raise ProtocolError(
                f"{self.host} answered /v2/ with an HTML page, not a registry API; check the URL",
                host=self.host,
                status=response.status_code,
            )
        if version is not None and not version.startswith("registry/2"):
            raise ProtocolError(
                f"{self.host} speaks registry API '{version}'; Hoister needs registry/2.0",
                host=self.host,
            )
        return ApiInfo(
            self.session.base_url, version, self.session.auth.scheme, self.session.auth.user
        )

    # -- listings --------------------------------------------------------------------

    def catalog_page(self, next_url: str | None = None) -> Page:
        """One page of repository names, in the registry's (lexical) order."""
        return self._page(
            "/v2/_catalog", "repositories", [CATALOG_SCOPE], "listing repositories", next_url
        )

    def catalog(self) -> Iterator[str]:
        """Every repository name, following ``Link`` pagination to the end."""
        return self._walk("/v2/_catalog", "repositories", [CATALOG_SCOPE], "listing repositories")

    def tags_page(self, repository: str, next_url: str | None = None) -> Page:
        """One page of tags; a first page that is also the last is a whole listing,
        remembered as :meth:`tags` would."""
        at = self.cache.clock()
        page = self._page(
            f"/v2/{repository}/tags/list",
            "tags",
            [repository_scope(repository, "pull")],
            f"listing tags of {repository}",
            next_url,
        )
        if next_url is None and page.next_url is None:
            self.cache.keep_tags(repository, page.items, at)
        return page

    def tags(self, repository: str) -> Iterator[str]:
        """Every tag; a listing read to its end is remembered (see :meth:`recent_tags`).

        A repository that does not exist raises NotFound and is remembered as empty.
        """
        at = self.cache.clock()  # before the first page: the listing is at least this old
        names: list[str] = []
        try:
            for name in self._walk(
                f"/v2/{repository}/tags/list",
                "tags",
                [repository_scope(repository, "pull")],
                f"listing tags of {repository}",
            ):
                names.append(name)
                yield name
        except NotFound:
            self.cache.keep_tags(repository, (), at)
            raise
        self.cache.keep_tags(repository, names, at)

    def recent_tags(self, repository: str, max_age: float) -> list[str] | None:
        """The last complete listing of ``repository`` if younger than ``max_age`` seconds.

        Tags Hoister wrote through this client since are in it; a delete forgets it.
        """
        tags = self.cache.recent_tags(repository, max_age)
        return None if tags is None else sorted(tags)

    def listed(self, repository: str, tag: str, max_age: float) -> bool | None:
        """Whether a listing younger than ``max_age`` has ``tag``; None when there is none."""
        tags = self.cache.recent_tags(repository, max_age)
        return None if tags is None else tag in tags

    def list_tags(self, repository: str) -> list[str]:
        """Every tag as a list; a repository that does not exist has none."""
        try:
            return list(self.tags(repository))
        except NotFound:
            return []

    def _walk(self, path: str, key: str, scopes: list[str], what: str) -> Iterator[str]:
        seen_urls: set[str] = set()
        seen_items: set[str] = set()
        page = self._page(path, key, scopes, what, None)
        pages = 1
        while True:
            fresh = [item for item in page.items if item not in seen_items]
            if page.items and not fresh:
                raise PaginationLoop(
                    f"{self.host} sent a page of results already seen while {what}; "
                    "its Link header loops",
                    host=self.host,
                )
            seen_items.update(fresh)
            if len(seen_items) > MAX_LISTING_ENTRIES:
                raise ProtocolError(
                    f"{self.host} listed more than {MAX_LISTING_ENTRIES:,} {key} while {what}; "
                    "Hoister stops there",
                    host=self.host,
                )
            yield from fresh
            if page.next_url is None:
                return
            if page.next_url in seen_urls:
                raise PaginationLoop(
                    f"{self.host} sent a Link header back to a page already read while {what}",
                    host=self.host,
                )
            if pages >= MAX_LISTING_PAGES:
                raise BeyondLimits(
                    f"{self.host} sent more than {MAX_LISTING_PAGES:,} pages while {what}; "
                    "its Link headers do not end, Hoister stops there",
                    host=self.host,
                )
            seen_urls.add(page.next_url)
            page = self._page(path, key, scopes, what, page.next_url)
            pages += 1

    def _page(
        self, path: str, key: str, scopes: list[str], what: str, next_url: str | None
    ) -> Page:
        if next_url is not None and not self.session.same_origin(self.session.url(next_url)):
            raise ProtocolError(
                f"{self.host} sent a Link to another host ({next_url}) while {what}; not followed",
                host=self.host,
            )
        while True:
            params = None if next_url else {"n": self.page_size} if self.page_size else None
            try:
                response = self.session.send(
                    "GET", next_url or path, scopes=scopes, what=what, params=params
                )
            except RegistryError as exc:
                if exc.code == "PAGINATION_NUMBER_INVALID" and self.page_size:
                    self.page_size = (
                        FALLBACK_PAGE_SIZE if self.page_size > FALLBACK_PAGE_SIZE else 0
                    )
                    continue
                raise
            break
        body = self.session.json(response, what)
        items = body.get(key) if isinstance(body, dict) else None
        if items is None and isinstance(body, dict) and key in body:
            items = []  # distribution answers {"tags": null} for a repository without tags
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ProtocolError(
                f"{self.host} answered without a list of {key} while {what}", host=self.host
            )
        return Page(items, _next_link(response))

    # -- manifests -------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """Fetch a manifest or index by tag or digest, verifying its digest.

        By digest, a manifest this client already read or wrote in ``repository`` is
        answered from memory (the digest is its identity); by tag, the answer is
        remembered under its digest, since what a tag points to may change but what a
        digest names cannot.
        """
        if is_digest(reference):
            cached = self.cache.manifest(repository, reference)
            if cached is not None:
                return cached
        manifest = self._fetch_manifest(repository, reference)
        self.cache.keep_manifest(repository, manifest)
        return manifest

    def cached_manifest(self, repository: str, digest: str) -> Manifest | None:
        """The manifest if this client read or wrote it in ``repository``; no request."""
        return self.cache.manifest(repository, digest)

    def _fetch_manifest(self, repository: str, reference: str) -> Manifest:
        what = f"reading manifest {repository}:{reference}"
        response = self.session.send(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scopes=[repository_scope(repository, "pull")],
            what=what,
            headers={"Accept": mediatypes.MANIFEST_ACCEPT},
            stream=True,
        )
        try:
            data = _read_limited(response, MAX_MANIFEST_BYTES, what, self.host)
        finally:
            response.close()
        actual = sha256_digest(data)
        announced = response.headers.get("docker-content-digest")
        expected = reference if is_digest(reference) else announced
        if expected and expected.startswith("sha256:") and expected != actual:
            raise DigestMismatch(
                f"the manifest {repository}:{reference} from {self.host} does not match its "
                f"digest: expected {expected}, the bytes hash to {actual}. The registry or a "
                "proxy altered it; nothing was used.",
                host=self.host,
            )
        try:
            return Manifest.parse(data, actual, response.headers.get("content-type"))
        except ProtocolError as exc:
            raise ProtocolError(
                f"{self.host} served a broken manifest for {repository}:{reference}: {exc}",
                host=self.host,
            ) from exc

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        """Digest, type and size of a manifest without its body; None when absent."""
        try:
            response = self.session.send(
                "HEAD",
                f"/v2/{repository}/manifests/{reference}",
                scopes=[repository_scope(repository, "pull")],
                what=f"checking manifest {repository}:{reference}",
                headers={"Accept": mediatypes.MANIFEST_ACCEPT},
            )
        except NotFound:
            return None
        digest = response.headers.get("docker-content-digest")
        if not digest:
            # Some registries omit the header on HEAD; the body is authoritative.
            return self.get_manifest(repository, reference).descriptor()
        media_type = response.headers.get("content-type", "").split(";")[0]
        size = content_length(response) or 0
        return Descriptor(media_type, digest, size)

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """Store manifest bytes exactly as given; return the digest the registry reports."""
        return self.put_manifest_indexed(repository, reference, data, media_type)[0]

    def put_manifest_indexed(
        self, repository: str, reference: str, data: bytes, media_type: str
    ) -> tuple[str, bool]:
        """:meth:`put_manifest`, also telling whether the registry indexed the subject.

        The ``OCI-Subject`` header is the only way to learn that the registry keeps the
        referrers index itself; whether a manifest with a subject got it is remembered
        (:attr:`needs_fallback_index`). Reads do not conclude from a missing header that
        the API is missing: only a 404 of the API itself says so.
        """
        expected = sha256_digest(data)
        what = f"writing manifest {repository}:{reference}"
        for pause in (*RELINK_PAUSES, None):
            try:
                response = self.session.send(
                    "PUT",
                    f"/v2/{repository}/manifests/{reference}",
                    scopes=[repository_scope(repository, "pull", "push")],
                    what=what,
                    ok=(200, 201, 202),
                    headers={"Content-Type": media_type},
                    content=data,
                )
                break
            except RegistryError as exc:
                if pause is None or exc.status != 400 or exc.code not in RELINK_CODES:
                    raise
                log.info("%s: %s; asking again in %.2f s", what, exc, pause)
                self.session.sleep(pause)
        reported = response.headers.get("docker-content-digest") or expected
        if reported != expected:
            raise DigestMismatch(
                f"{self.host} stored {repository}:{reference} as {reported}, but the bytes sent "
                f"hash to {expected}; the registry rewrote the manifest",
                host=self.host,
            )
        indexed = bool(response.headers.get("oci-subject"))
        if not is_digest(reference):
            self.cache.tag_written(repository, reference)
        try:
            manifest = Manifest.parse(data, reported, media_type)
        except ProtocolError:
            return reported, indexed  # stored as sent; only not worth remembering
        self.cache.keep_manifest(repository, manifest)
        if manifest.subject is not None:
            self.cache.indexes_subjects = indexed
            if indexed:
                self.cache.referrers_api = True
        return reported, indexed

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest; every tag pointing at it goes with it."""
        self.session.send(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scopes=[repository_scope(repository, "delete")],
            what=f"deleting {repository}@{digest}",
            ok=(200, 202),
        )
        self.cache.forget_manifest(repository, digest)
        self.cache.forget_tags(repository)  # the tags that pointed at it went with it

    def get_config(self, repository: str, manifest: Manifest) -> dict[str, Any]:
        """The image configuration (labels, env, history...) of an image manifest."""
        if manifest.config is None:
            raise ProtocolError(f"{repository}@{manifest.digest} has no config", host=self.host)
        data = self.get_blob(repository, manifest.config.digest, max_size=MAX_MANIFEST_BYTES)
        try:
            value = jsonlimits.loads(data, what=f"the config of {repository}@{manifest.digest}")
        except jsonlimits.InvalidJSON as exc:
            raise ProtocolError(f"{exc} (from {self.host})", host=self.host) from exc
        if not isinstance(value, dict):
            raise ProtocolError(f"the config of {repository}@{manifest.digest} is not an object")
        return value


def _next_link(response: httpx.Response) -> str | None:
    """The URL of ``rel="next"`` in a ``Link`` header, if any."""
    for url, params in _LINK_RE.findall(response.headers.get("link", "")):
        if re.search(r'rel\s*=\s*"?next"?', params):
            return str(url)
    return None


def _read_limited(response: httpx.Response, limit: int, what: str, host: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                raise ProtocolError(
                    f"{host} sent more than {limit // (1024 * 1024)} MiB while {what}; refused",
                    host=host,
                )
            chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise body_error(exc, f"the answer of {host} was cut off while {what}", host) from exc
    data = b"".join(chunks)
    declared = content_length(response)
    if declared is not None and declared != len(data):
        raise ProtocolError(
            f"{host} announced {declared} bytes but sent {len(data)} while {what}", host=host
        )
    return data
