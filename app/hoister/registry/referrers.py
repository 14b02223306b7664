"""Referrers of a manifest: the OCI 1.1 API where the registry has it, else the
``sha256-<hex>`` index clients keep under a tag (distribution 2.8).

Mixed into :class:`~hoister.registry.client.RegistryClient`. What the registry supports
is remembered in the client's cache, so a registry without the API is asked once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoister.registry import mediatypes
from hoister.registry.auth import repository_scope
from hoister.registry.errors import NotFound, ProtocolError
from hoister.registry.manifest import Descriptor, Manifest

if TYPE_CHECKING:
    from hoister.registry.cache import RegistryCache
    from hoister.registry.session import RegistrySession


class ReferrerOps:
    """Referrer lookups; needs the client's session, cache and manifest reads."""

    session: RegistrySession
    cache: RegistryCache

    if TYPE_CHECKING:  # provided by RegistryClient

        def get_manifest(self, repository: str, reference: str) -> Manifest: ...

        def listed(self, repository: str, tag: str, max_age: float) -> bool | None: ...

    def referrers(
        self,
        repository: str,
        digest: str,
        artifact_type: str | None = None,
        listing_age: float = 0.0,
    ) -> list[Descriptor]:
        """Artifacts whose subject is ``digest``: referrers API, else the tag fallback.

        A registry with the API must not answer 404 (OCI distribution 1.1), so a 404 is
        remembered: this client does not ask again and goes to the fallback index
        directly. A listing of ``repository`` younger than ``listing_age`` seconds that
        lacks the fallback tag answers "none" without a request.
        """
        found: list[Descriptor] | None = None
        if self.cache.referrers_api is not False:
            found = self._referrers_api(repository, digest, artifact_type)
        if found is None:
            index = None
            if self.listed(repository, fallback_tag(digest), listing_age) is not False:
                index = self.referrers_tag_index(repository, digest)
            found = index.manifests if index is not None else []
        if artifact_type:
            found = [d for d in found if d.artifact_type == artifact_type]
        return found

    @property
    def needs_fallback_index(self) -> bool:
        """Whether a referrer written here must be listed in the ``sha256-<hex>`` index."""
        return self.cache.indexes_subjects is False or self.cache.referrers_api is False

    @property
    def has_referrers_api(self) -> bool | None:
        """Whether the registry keeps referrers itself; None until it has been asked."""
        return self.cache.referrers_api

    def _referrers_api(
        self, repository: str, digest: str, artifact_type: str | None
    ) -> list[Descriptor] | None:
        what = f"listing referrers of {repository}@{digest}"
        params = {"artifactType": artifact_type} if artifact_type else None
        try:
            response = self.session.send(
                "GET",
                f"/v2/{repository}/referrers/{digest}",
                scopes=[repository_scope(repository, "pull")],
                what=what,
                params=params,
                headers={"Accept": mediatypes.OCI_INDEX},
            )
        except NotFound as exc:
            if exc.code is None:  # no such route: an error of the API itself has a code
                self.cache.referrers_api = False
            return None
        if "json" not in response.headers.get("content-type", ""):
            return None  # something answered that is not the API; not remembered
        self.cache.referrers_api = True
        body = self.session.json(response, what)
        manifests = body.get("manifests") if isinstance(body, dict) else None
        if not isinstance(manifests, list):
            host = self.session.host
            raise ProtocolError(f"{host} answered {what} without a list", host=host)
        return [Descriptor.from_json(m, "referrers index") for m in manifests]

    def referrers_tag_index(self, repository: str, digest: str) -> Manifest | None:
        """The ``sha256-<hex>`` index that clients maintain where the API is missing."""
        try:
            return self.get_manifest(repository, fallback_tag(digest))
        except NotFound:
            return None


def fallback_tag(digest: str) -> str:
    """The referrers fallback tag for a digest: ``sha256:abc`` -> ``sha256-abc``."""
    return digest.replace(":", "-", 1)
