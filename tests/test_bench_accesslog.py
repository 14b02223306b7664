"""The benchmarks count requests from the registry's access log: the counting must be right.

A miscounted window would put one tool's requests on another's line, or count a mount
as bytes moved; these tests pin the parsing on real log lines (and on a real registry's
log) so the benchmarks' figures can be trusted.
"""

from __future__ import annotations

import pytest
from bench import accesslog
from bench.accesslog import Request

from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def _line(method: str, path: str, status: int, agent: str = "skopeo/1.9.3") -> str:
    return (
        f'127.0.0.1 - - [02/Dec/2026:06:07:48 +0000] "{method} {path} HTTP/1.1" '
        f'{status} 0 "" "{agent}"'
    )


def _marker(label: str) -> str:
    return _line("GET", f"/v2/hoister-bench-marker/{label}/tags/list", 404, accesslog.MARKER_AGENT)


def test_parse_keeps_access_lines_and_skips_the_registry_s_own_messages() -> None:
    lines = [
        _line("GET", "/v2/", 200),
        'time="2026-12-02T06:07:48Z" level=error msg="response completed with error" '
        'http.request.method=HEAD http.request.uri="/v2/dev/app/blobs/x"',
        _line("HEAD", f"/v2/dev/app/blobs/{DIGEST}", 404, "python-httpx/0.28.1"),
    ]
    assert accesslog.parse(lines) == [
        Request("GET", "/v2/", 200, "skopeo/1.9.3"),
        Request("HEAD", f"/v2/dev/app/blobs/{DIGEST}", 404, "python-httpx/0.28.1"),
    ]


def test_windows_split_at_markers_and_leave_out_idle_time() -> None:
    lines = [
        _line("GET", "/v2/before/tags/list", 200),  # before any marker: idle
        _marker("one-hoister"),
        _line("GET", "/v2/dev/app/tags/list", 200),
        _line("HEAD", "/v2/dev/app/manifests/1.0", 200),
        _marker("idle"),
        _line("HEAD", "/v2/qa/app/manifests/1.0", 200),  # a check between lanes
        _marker("one-copy-cold"),
        _line("GET", "/v2/dev/app/manifests/1.0", 200),
        _marker("idle"),
    ]
    found = accesslog.windows(accesslog.parse(lines))
    assert sorted(found) == ["one-copy-cold", "one-hoister"]
    assert [r.path for r in found["one-hoister"]] == [
        "/v2/dev/app/tags/list",
        "/v2/dev/app/manifests/1.0",
    ]
    assert [r.method for r in found["one-copy-cold"]] == ["GET"]


def test_a_marker_needs_the_marker_agent() -> None:
    lines = [
        _line("GET", "/v2/hoister-bench-marker/lane/tags/list", 404, "someone-else"),
        _line("GET", "/v2/dev/app/tags/list", 200),
    ]
    assert accesslog.windows(accesslog.parse(lines)) == {}


def test_traffic_counts_uploads_by_size_and_mounts_as_no_bytes() -> None:
    uploads = "/v2/qa/app/blobs/uploads/"
    requests = accesslog.parse(
        [
            _line("POST", f"{uploads}?mount={DIGEST}&from=dev/app", 201),
            _line("POST", f"{uploads}?mount={DIGEST}&from=dev/app", 202),  # not mounted
            _line("POST", uploads, 202),
            _line("PATCH", f"{uploads}uuid?_state=x", 202),
            _line("PUT", f"{uploads}uuid?_state=x&digest=sha256%3A{'a' * 64}", 201),
            _line("PUT", f"{uploads}uuid?_state=x&digest=sha256%3A{'c' * 64}", 201),
            _line("PUT", f"{uploads}uuid?_state=x&digest={OTHER}", 400),  # refused
            _line("PUT", "/v2/qa/app/manifests/1.0", 201),
        ]
    )
    counted = accesslog.traffic(requests, {DIGEST: 2_000_000, OTHER: 5})
    assert counted == accesslog.Traffic(
        requests=8,
        uploads=2,
        uploaded_bytes=2_000_000,
        unknown_uploads=1,
        mounts=1,
        failed_mounts=1,
    )
    total = accesslog.Traffic()
    total += counted
    total += counted
    assert total.uploaded_bytes == 4_000_000
    assert total.requests == 16


@pytest.mark.parametrize(
    ("method", "path", "kind", "repository"),
    [
        ("GET", "/v2/", "GET /v2/", ""),
        ("GET", "/v2/team/dev/app/tags/list?n=1000", "GET tags list", "team/dev/app"),
        ("HEAD", "/v2/dev/app/manifests/1.0", "HEAD manifest", "dev/app"),
        ("HEAD", f"/v2/dev/app/blobs/{DIGEST}", "HEAD blob", "dev/app"),
        ("POST", f"/v2/qa/app/blobs/uploads/?mount={DIGEST}", "POST blob mount", "qa/app"),
        ("POST", "/v2/qa/app/blobs/uploads/", "POST blob upload start", "qa/app"),
        ("PUT", "/v2/qa/app/blobs/uploads/u?digest=x", "PUT blob upload", "qa/app"),
        ("GET", f"/v2/dev/app/referrers/{DIGEST}", "GET referrers", "dev/app"),
        ("GET", "/v2/_catalog", "GET other", ""),
    ],
)
def test_kind_and_repository_of_a_request(
    method: str, path: str, kind: str, repository: str
) -> None:
    request = Request(method, path, 200, "x")
    assert request.kind == kind
    assert request.repository == repository


def test_mark_refuses_a_label_that_is_no_path_segment() -> None:
    with pytest.raises(ValueError, match="path segment"):
        accesslog.mark("http://127.0.0.1:1", "Has Space")


def test_a_real_registry_s_log_splits_into_the_marked_windows(registry: RegistryServer) -> None:
    image = build_image(layers=2, layer_size=1024, seed=3)
    accesslog.mark(registry.url, "push")
    push_image(registry.url, "dev/app", "1.0", image)
    accesslog.mark(registry.url, accesslog.IDLE)
    push_image(registry.url, "dev/other", "1.0", image)  # not in any window
    registry.stop()
    found = accesslog.windows(accesslog.read(registry.log_path))
    assert list(found) == ["push"]
    window = found["push"]
    assert {r.repository for r in window} - {""} == {"dev/app"}
    sizes = {blob.digest: blob.size for blob in image.all_blobs()}
    counted = accesslog.traffic(window, sizes)
    assert counted.uploads == len(sizes)
    assert counted.uploaded_bytes == sum(sizes.values())
    assert counted.mounts == 0
    assert accesslog.kinds(window)["PUT manifest"] == 1
