"""The tag details pane's text: an image's configuration, layers and referrers as HTML.

Rendered as one rich-text document rather than dozens of widgets, so the pane stays
cheap to rebuild on every selection and its text stays selectable and copyable.
"""

from __future__ import annotations

import json
from html import escape

from hoister.engine.provenance import ProvenanceRecord
from hoister.facts.contents import Contents
from hoister.facts.details import ImageDetails, PlatformImage
from hoister.registry.mediatypes import short_name
from hoister.ui.browsing.tag_loading import Referrers
from hoister.ui.shared.format import human_size, local_time, short_digest

PLACEHOLDER, LOADING, FAILED, SHOWN = range(4)
_RAW_LIMIT = 20_000  # characters of raw manifest shown; the rest is one copy away


def _table(rows: list[tuple[str, ...]], right: int | None = None) -> str:
    cells = []
    for row in rows:
        tds = "".join(
            f"<td{' align=right' if i == right else ''}>{escape(v)}</td>" for i, v in enumerate(row)
        )
        cells.append(f"<tr>{tds}</tr>")
    return f"<table cellspacing=0 cellpadding=3>{''.join(cells)}</table>"


def _section(title: str, body: str) -> str:
    return f"<h4 style='margin-top:12px'>{escape(title)}</h4>{body}"


def none_html(text: str = "none") -> str:
    return f"<p style='color:gray'>{escape(text)}</p>"


def provenance_html(records: list[ProvenanceRecord]) -> str:
    """Each promotion that brought the image here, newest first, in a sentence."""
    lines = []
    for record in records:
        policy = f"policy '{record.policy_name}'" if record.policy_name else "a manual promotion"
        lines.append(
            f"Promoted to <b>{escape(record.target_repository)}:{escape(record.target_tag)}</b> "
            f"from <b>{escape(record.source_repository)}:{escape(record.source_tag)}</b> "
            f"on {escape(record.source_registry)} by {escape(policy)}, "
            f"{escape(local_time(record.promoted_at))}, by {escape(record.promoted_by)}."
        )
    return "<br>".join(lines)


def _facts(rows: list[tuple[str, str, str]]) -> str:
    """Name, value, and the source or reason in grey under the value: a third column
    would squeeze every word into a narrow strip when the pane is narrow."""
    cells = []
    for name, value, note in rows:
        below = f"<br><span style='color:gray'>{escape(note)}</span>" if note else ""
        cells.append(f"<tr><td><b>{escape(name)}</b></td><td>{escape(value)}{below}</td></tr>")
    return f"<table cellspacing=0 cellpadding=3>{''.join(cells)}</table>"


def contents_html(contents: Contents) -> str:
    """What the policies' component, license and vulnerability rules would read."""
    rows = []
    if contents.vulnerabilities is not None:
        v = contents.vulnerabilities
        rows.append(
            (
                "Vulnerabilities",
                f"{v.critical} critical · {v.major} major · {v.minor} minor · {v.all} in all",
                contents.sources.get("vulnerabilities", ""),
            )
        )
    else:
        rows.append(("Vulnerabilities", "unknown", contents.missing.get("vulnerabilities", "")))
    for name, label in (("components", "Components"), ("licenses", "Licenses")):
        value = getattr(contents, name)
        if value is None:
            rows.append((label, "unknown", contents.missing.get(name, "")))
            continue
        shown = ", ".join(value[:30]) + (f" and {len(value) - 30} more" if len(value) > 30 else "")
        rows.append((f"{label} ({len(value)})", shown or "none", contents.sources.get(name, "")))
    badges = []
    if contents.has_sbom:
        badges.append("SBOM attached")
    body = _facts(rows)
    return body + (f"<p>{' · '.join(badges)}</p>" if badges else "")


def image_html(details: ImageDetails, image: PlatformImage, referrers: Referrers | None) -> str:
    """One platform of the tag (or the image itself) as rich text."""
    parts = []
    if referrers is not None and referrers.provenance:
        parts.append(_section("Where this image came from", provenance_html(referrers.provenance)))
    if referrers is not None and referrers.contents is not None:
        parts.append(_section("Contents and security", contents_html(referrers.contents)))
    if details.is_index:
        rows = [
            (i.platform, short_digest(i.manifest.digest), human_size(i.size))
            for i in details.images
        ]
        parts.append(_section(f"Index of {len(rows)} platforms", _table(rows, right=2)))
    config = image.config
    if config is not None:
        facts = [
            ("Platform", image.platform),
            ("Created", local_time(config.created) or "unknown"),
            ("Entrypoint", json.dumps(config.entrypoint) if config.entrypoint else "—"),
            ("Command", json.dumps(config.cmd) if config.cmd else "—"),
            ("Working dir", config.workdir or "—"),
            ("User", config.user or "root (default)"),
        ]
        parts.append(_section("Configuration", _table(facts)))
        labels = sorted(config.labels.items())
        parts.append(_section("Labels", _table(labels) if labels else none_html()))
        env = [tuple(e.partition("=")[::2]) for e in config.env]
        parts.append(_section("Environment", _table(env) if env else none_html()))
    layers = [
        (
            str(n),
            short_digest(d.digest),
            short_name(d.media_type).rsplit(".", 1)[-1],
            human_size(d.size),
        )
        for n, d in enumerate(image.layers, 1)
    ]
    total = human_size(sum(d.size for d in image.layers))
    body = _table(layers, right=3) if layers else none_html("no layers")
    parts.append(_section(f"Layers ({len(layers)}, {total} compressed)", body))
    if config is not None and config.history:
        steps = "".join(
            f"<li{' style=color:gray' if s.empty_layer else ''}>"
            f"<code>{escape(s.created_by or '(no command recorded)')}</code></li>"
            for s in config.history
        )
        parts.append(_section("Build history", f"<ol>{steps}</ol>"))
    if referrers is None:
        body = none_html("looking for signatures and SBOMs…")
    else:
        rows = [(badge, kind, short_digest(digest)) for badge, kind, digest in referrers.rows]
        body = _table(rows) if rows else none_html(referrers.problem or "none")
    parts.append(_section("Referrers (signatures, SBOMs, attestations)", body))
    raw = json.dumps(image.manifest.json, indent=2)[:_RAW_LIMIT]
    parts.append(_section("Manifest", f"<pre>{escape(raw)}</pre>"))
    return "".join(parts)
