"""Components, licenses and vulnerabilities of one image, from the best source there is.

Order of trust: what was published about the image (an SBOM or a scan report attached
to it) comes first, then what the image itself holds (its package databases), then a
scanner the admin configured, then Harbor's own scan. Each answer carries its source in
words ("Trivy report attached 2026-11-30"); with none, the fact stays unknown with the
reason, and a policy that needs it waits rather than guesses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hoister.errors import HoisterError
from hoister.facts.attached import Attached, best_report, best_sbom, find_attached
from hoister.facts.layers import layer_files
from hoister.facts.model import Vulnerabilities
from hoister.facts.packages import is_package_path, packages_of
from hoister.facts.sbom import split_license_expression
from hoister.facts.scanner import harbor_overview, run_scanner
from hoister.registry import Manifest, RegistryClient, RegistryError
from hoister.store.facts import FactsCache

log = logging.getLogger(__name__)

LICENSE_LABEL = "org.opencontainers.image.licenses"
DEFAULT_PLATFORM = "linux/amd64"


@dataclass
class Contents:
    """What :class:`ContentsReader` learnt; ``None`` values are unknown (see ``missing``)."""

    components: tuple[str, ...] | None = None
    licenses: tuple[str, ...] | None = None
    vulnerabilities: Vulnerabilities | None = None
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    signed: bool | None = None
    has_sbom: bool | None = None


class ContentsReader:
    def __init__(
        self, client: RegistryClient, cache: FactsCache | None = None, scanner: str | None = None
    ) -> None:
        self.client = client
        self.cache = cache
        self.scanner = scanner

    def read(
        self,
        repository: str,
        digest: str,
        wanted: set[str],
        *,
        labels: dict[str, str] | None = None,
        platform: str | None = None,
    ) -> Contents:
        out = Contents()
        try:
            attached = find_attached(self.client, repository, digest)
        except RegistryError as exc:
            attached = Attached([], [], [f"attachments could not be listed: {exc}"])
        out.has_sbom = bool(attached.sboms)
        if wanted & {"components", "licenses"}:
            self._components(out, repository, digest, attached, labels or {}, platform)
        if "vulnerabilities" in wanted:
            self._vulnerabilities(out, repository, digest, attached)
        return out

    # -- components and licenses -------------------------------------------------------

    def _components(
        self,
        out: Contents,
        repository: str,
        digest: str,
        attached: Attached,
        labels: dict[str, str],
        platform: str | None,
    ) -> None:
        label_licenses = tuple(split_license_expression(labels.get(LICENSE_LABEL, "")))
        sbom_words = "no SBOM is attached"
        try:
            found = best_sbom(self.client, repository, attached)
        except HoisterError as exc:
            found = None
            log.info("SBOM of %s@%s unusable: %s", repository, digest, exc)
            out.missing["components"] = f"the attached SBOM cannot be read: {exc}"
            sbom_words = "the attached SBOM cannot be read"
        else:
            # candidates were only possible SBOMs (a JSON document): none turned out one
            out.has_sbom = found is not None
        if found is not None:
            sbom, words = found
            out.components = sbom.components
            out.licenses = tuple(sorted({*sbom.licenses, *label_licenses}))
            out.sources["components"] = out.sources["licenses"] = words
            return
        packages_words = "the image's package databases record no licenses"
        try:
            packages = self._packages(repository, digest, platform)
        except HoisterError as exc:
            out.missing.setdefault("components", f"the image's packages cannot be read: {exc}")
            packages = None
            packages_words = "the image's packages cannot be read"
        if packages is not None:
            out.components = tuple(packages["components"])
            out.sources["components"] = packages["source"]
            if packages["licenses_complete"] or packages["licenses"]:
                out.licenses = tuple(sorted({*packages["licenses"], *label_licenses}))
                out.sources["licenses"] = packages["source"]
        if out.licenses is None and label_licenses:
            out.licenses = label_licenses
            out.sources["licenses"] = f"the {LICENSE_LABEL} label"
        if out.licenses is None:
            out.missing["licenses"] = (
                f"{sbom_words}, {packages_words}, and it has no {LICENSE_LABEL} label"
            )

    def _packages(
        self, repository: str, digest: str, platform: str | None
    ) -> dict[str, Any] | None:
        """Packages from the layers (cached by the image's digest: they cannot change)."""
        manifest = self._platform_image(repository, digest, platform)
        if self.cache is not None:
            cached = self.cache.get(manifest.digest, "packages")
            if cached is not None:
                return cached[0]  # type: ignore[no-any-return]
        files = layer_files(self.client, repository, manifest.layers, is_package_path)
        report = packages_of(files.files)
        if not report.sources:
            raise HoisterError("no package database (dpkg, apk, rpm, Python) was found in it")
        if not files.complete or report.problems:
            raise HoisterError("; ".join([*files.notes, *report.problems]))
        value = {
            "components": list(report.components),
            "licenses": list(report.licenses),
            "licenses_complete": report.licenses_complete,
            "source": "the image's " + ", ".join(report.sources),
        }
        if self.cache is not None:
            self.cache.put(manifest.digest, "packages", value, value["source"])  # only successes
        return value

    def _platform_image(self, repository: str, digest: str, platform: str | None) -> Manifest:
        manifest = self.client.get_manifest(repository, digest)
        if not manifest.is_index:
            return manifest
        wanted = platform or DEFAULT_PLATFORM
        for child in manifest.manifests:
            if child.platform is not None and str(child.platform) == wanted:
                return self.client.get_manifest(repository, child.digest)
        raise HoisterError(f"the index has no {wanted} image")

    # -- vulnerabilities ---------------------------------------------------------------

    def _vulnerabilities(
        self, out: Contents, repository: str, digest: str, attached: Attached
    ) -> None:
        reasons = []
        try:
            found = best_report(self.client, repository, attached)
        except HoisterError as exc:
            found = None
            reasons.append(f"the attached scan report cannot be read: {exc}")
        if found is None and self.scanner:
            reference = f"{self.client.host}/{repository}@{digest}"
            try:
                report = run_scanner(self.scanner, reference)
                found = (report, f"{report.scanner} scan run by Hoister")
            except HoisterError as exc:
                reasons.append(f"the configured scanner failed: {exc}")
        if found is None:
            try:
                harbor = harbor_overview(self.client, repository, digest)
            except HoisterError as exc:
                harbor = None
                reasons.append(str(exc))
            if harbor is not None:
                found = (harbor, "Harbor's scan")
        if found is None:
            out.missing["vulnerabilities"] = "; ".join(reasons) or (
                "no scan report is attached to the image and no scanner is configured for "
                "this registry"
            )
            return
        report, words = found
        out.vulnerabilities = report.vulnerabilities
        out.sources["vulnerabilities"] = words
