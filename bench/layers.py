"""``python -m bench layers``: package facts from a 1 GiB layer, in bounded memory.

The promise: reading an image's package databases from a 1 GB layer keeps the process's
peak memory under 200 MB. The layer here is a tar of 1 GiB of zeros followed by a dpkg
status file, gzip'd at level 1 (about 5 MB): the database sits behind the gigabyte, so
every byte must be inflated and walked, and zeros are the worst case for memory, since
a megabyte of download inflates to about a gigabyte. The layer is generated as a stream
while it is uploaded, so the benchmark itself stays small too.

Each reader runs in a fresh process, so a peak RSS (``ru_maxrss``) is that reader's
alone (see :data:`MEASURE` for how; Hoister's reader also carries the benchmark's own
imports, about 4 MB, so its figure errs high). The peer gets the same answer without
streaming: ``skopeo copy`` the image to an OCI layout on disk, then read the downloaded
layer with Python's ``tarfile``. skopeo alone would be no peer: it moves the compressed
bytes and never inflates them, which is most of the work here. Every reader is timed as
a whole process, start-up and imports included.
"""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from bench.common import MB, Workspace, heading, median, progress, ratio, table
from hoister.facts.layers import layer_files
from hoister.facts.packages import is_package_path, packages_of
from hoister.registry import RegistryClient

MiB = 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_SIZE = 1 << 30
LIMIT_MB = 200
REPO, TAG = "bench/layer", "1.0"
BIG_FILE = "data/zeros.bin"
STATUS_PATH = "var/lib/dpkg/status"
STATUS = b"".join(
    b"Package: %s\nStatus: install ok installed\nVersion: %s\n\n" % (name, version)
    for name, version in [(b"base-files", b"12.4"), (b"libc6", b"2.36-9"), (b"bash", b"5.2.15")]
)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
#: Starts a command as its own child and writes that child's rusage to a file. Linux counts
#: the high-water mark of the process that forked a child into the child's ru_maxrss, so a
#: child of the benchmark itself would report the benchmark's size; a child of this small
#: process carries only its ~10 MB, below any reader's own start-up size.
MEASURE = """
import json, os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"status": os.waitstatus_to_exitcode(status), "peak_kib": usage.ru_maxrss}, out)
"""
#: What the peer runs on the downloaded blob: the obvious tarfile loop, gzip from disk.
PEER_READ = """
import json, resource, sys, tarfile, time
start = time.perf_counter()
found = []
with tarfile.open(sys.argv[1], "r:gz") as tar:
    for member in tar:
        if member.name.lstrip("./") == sys.argv[2]:
            found.append(len(tar.extractfile(member).read()))
print(json.dumps({"seconds": time.perf_counter() - start, "found": found,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 1_704_067_200
    return info.tobuf(tarfile.PAX_FORMAT)


def layer_chunks(size: int = LAYER_SIZE) -> Iterator[bytes]:
    """The gzip'd tar as it is generated, 8 MiB of zeros at a time."""
    packer = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    yield packer.compress(_header(BIG_FILE, size))
    zeros = bytes(8 * MiB)
    for start in range(0, size, len(zeros)):
        if out := packer.compress(zeros[: min(len(zeros), size - start)]):
            yield out
    tail = bytes(-size % tarfile.BLOCKSIZE) + _header(STATUS_PATH, len(STATUS)) + STATUS
    tail += bytes(-len(STATUS) % tarfile.BLOCKSIZE) + bytes(2 * tarfile.BLOCKSIZE)
    yield packer.compress(tail) + packer.flush()


def _digest(chunks: Iterable[bytes]) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return "sha256:" + hasher.hexdigest(), size


def push_layer_image(url: str, source: Callable[[], Iterator[bytes]] = layer_chunks) -> int:
    """Upload the generated layer (hashed in a first pass), a config and a manifest."""
    digest, size = _digest(source())
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest,
                "size": size,
            }
        ],
    }
    with RegistryClient(url) as client:
        client.upload_blob(REPO, digest, source, chunk_size=8 * MiB)
        client.upload_blob(REPO, config_digest, config)
        client.put_manifest(REPO, TAG, json.dumps(manifest).encode(), OCI_MANIFEST)
    return size


def read_with_hoister(url: str) -> dict[str, Any]:
    """In a fresh process: read the image's package files; RSS before and after the read."""
    with RegistryClient(url) as client:
        layers = client.get_manifest(REPO, TAG).layers
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        found = layer_files(client, REPO, layers, is_package_path)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "baseline_kib": baseline,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "files": sorted(found.files),
        "components": list(packages_of(found.files).components),
        "notes": list(found.notes),
    }


def _child(command: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS in KiB and standard output of ``command``, started via MEASURE."""
    with tempfile.TemporaryDirectory(prefix="hoister-bench-rss-") as scratch:
        report = Path(scratch) / "rusage.json"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(report), *command],
            capture_output=True,
            cwd=REPO_ROOT,
            check=False,
        )
        seconds = time.perf_counter() - started
        measured = json.loads(report.read_text()) if report.exists() else {"status": -1}
    if done.returncode != 0 or measured["status"] != 0:
        raise RuntimeError(f"{command[:3]} failed: {done.stderr.decode(errors='replace')}")
    return seconds, int(measured["peak_kib"]), done.stdout.decode()


def run(repeats: int = 3) -> None:
    """Upload the layer once, then time each reader ``repeats`` times in fresh processes."""
    heading(f"layers: package facts from a {LAYER_SIZE / 2**30:.0f} GiB layer, {repeats} runs")
    with Workspace() as workspace:
        server = workspace.registry("layers")
        progress("generating and uploading the layer (streamed, hashed first)")
        size = push_layer_image(server.url)
        skopeo = shutil.which("skopeo")
        times: dict[str, list[float]] = {"hoister": [], "skopeo": [], "tarfile": []}
        peaks: dict[str, list[int]] = {"hoister": [], "skopeo": [], "tarfile": []}
        results: list[dict[str, Any]] = []
        for index in range(repeats):
            progress(f"run {index + 1} of {repeats}")
            seconds, peak, out = _child([sys.executable, "-m", "bench.layers", "read", server.url])
            results.append(json.loads(out))
            times["hoister"].append(seconds)
            peaks["hoister"].append(peak)
            if skopeo is None:
                continue
            layout = workspace.tempdir("oci")
            source = f"docker://{server.host}/{REPO}:{TAG}"
            copy = [skopeo, "--insecure-policy", "copy", "--src-tls-verify=false"]
            seconds, peak, _ = _child([*copy, source, f"oci:{layout}:{TAG}"])
            times["skopeo"].append(seconds)
            peaks["skopeo"].append(peak)
            blob = max((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
            seconds, peak, out = _child([sys.executable, "-c", PEER_READ, str(blob), STATUS_PATH])
            if json.loads(out)["found"] != [len(STATUS)]:
                raise RuntimeError(f"the peer did not find {STATUS_PATH}: {out}")
            times["tarfile"].append(seconds)
            peaks["tarfile"].append(peak)
    _report(times, peaks, results, size)


def _report(
    times: dict[str, list[float]],
    peaks: dict[str, list[int]],
    results: list[dict[str, Any]],
    size: int,
) -> None:
    print(
        f"layer: a {LAYER_SIZE / 2**30:.2f} GiB tar ({BIG_FILE}: zeros, then {STATUS_PATH}), "
        f"gzip level 1: {size / MB:.1f} MB in the registry"
    )
    labels = {
        "hoister": "hoister: layer_files, streamed",
        "skopeo": "peer: skopeo copy to an oci: dir",
        "tarfile": "peer: tarfile r:gz on the download",
    }
    rows = [
        [label, f"{median(times[key]):.2f}", f"{max(peaks[key]) * 1024 / MB:.1f}"]
        for key, label in labels.items()
        if times[key]
    ]
    print(table(["process", "seconds (median)", "peak RSS MB (max)"], rows, left=1))
    hoister = median(times["hoister"])
    if times["skopeo"]:
        peer = median(times["skopeo"]) + median(times["tarfile"])
        print(
            f"peer total (skopeo + tarfile): {peer:.2f} s; hoister / peer: {ratio(hoister, peer)}"
        )
    else:
        print("skopeo not found: no peer in this run")
    read = median([r["seconds"] for r in results])
    delta_mb = max(r["peak_kib"] - r["baseline_kib"] for r in results) * 1024 / MB
    peak_mb = max(peaks["hoister"]) * 1024 / MB
    verdict = "within" if peak_mb < LIMIT_MB else "OVER"
    print(
        f"hoister's read alone (in process, median): {read:.2f} s, "
        f"{LAYER_SIZE / MB / read:.0f} MB/s inflated and walked"
    )
    print(
        f"hoister reader peak RSS {peak_mb:.1f} MB (+{delta_mb:.1f} MB during the read): "
        f"{verdict} the {LIMIT_MB} MB limit"
    )
    result = results[-1]
    notes = "; ".join(result["notes"]) or "none"
    print(f"found: {', '.join(result['files'])}; components: {', '.join(result['components'])}")
    print(f"notes: {notes}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["read"] and len(sys.argv) == 3:
        print(json.dumps(read_with_hoister(sys.argv[2])))
    else:
        sys.exit(
            "usage: python -m bench.layers read URL (the reader process of python -m bench layers)"
        )
