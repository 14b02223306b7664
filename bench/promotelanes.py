"""The tools the promote benchmark compares, each as the commands of one timed lane.

An image is named ``repository:tag``. The default layout is the issue's release line:
one repository ``dev/app`` whose 50 tags ``1.1`` … ``1.50`` are the images; the other,
``repositories``, gives every image a repository of its own (``dev/app-07:1.0``: 50
services pushing once each), which costs a promotion a listing more.

- **Hoister**: ``hoister run --once`` in a ``HOISTER_HOME`` of its own, set up only
  through its command line (``profile add``, ``policy apply FILE`` with one policy per
  source repository, and a first ``run --once`` before the push, its baseline), so the
  timed run is one poll that finds every image new and promotes them all.
- **skopeo copy**: one ``skopeo copy`` process per image, as a script would promote.
- **skopeo sync**: one ``skopeo sync --src yaml`` process over all the images.

skopeo keeps a blob-info cache of which repositories hold each blob and mounts a blob
only when that cache names one in the target registry. As root the cache is
``/var/lib/containers/cache`` and no option of skopeo 1.9 moves it, so a lane runs in a
mount namespace of its own with a private directory bind-mounted there (not root: the
cache follows ``$XDG_DATA_HOME``). **Cold** is that directory empty; **warm** is the
same directory again after the cold lane, so the cache knows where every blob is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.registry import RegistryServer

from bench import REPO_ROOT
from bench.soakhome import HoisterHome
from hoister.policies import Policy, Rule
from hoister.policies.exchange import export_hoister

TAG = "1.0"
SOURCE_NAMESPACE = "dev"
LAYOUTS = ("tags", "repositories")
#: Where skopeo keeps its blob-info cache when it runs as root.
ROOT_CACHE = Path("/var/lib/containers/cache")
SKOPEO_TLS = ("--src-tls-verify=false", "--dest-tls-verify=false")


def source_name(index: int) -> str:
    return f"{SOURCE_NAMESPACE}/app-{index:02d}"


def image_refs(count: int, layout: str = "tags") -> list[str]:
    """The images' ``repository:tag`` names in the source registry."""
    if layout == "tags":
        return [f"{SOURCE_NAMESPACE}/app:1.{index}" for index in range(1, count + 1)]
    return [f"{source_name(index)}:{TAG}" for index in range(1, count + 1)]


def split_ref(ref: str) -> tuple[str, str]:
    """``dev/app:1.7`` -> ``("dev/app", "1.7")``; a bare repository means tag 1.0."""
    repository, colon, tag = ref.rpartition(":")
    return (repository, tag) if colon and "/" not in tag else (ref, TAG)


def target_name(namespace: str, source: str) -> str:
    """``dev/app-07:1.0`` -> ``<namespace>/app-07:1.0``: skopeo sync keeps the last
    segment of the repository too."""
    return f"{namespace}/{source.rsplit('/', 1)[1]}"


def repositories_of(refs: Sequence[str]) -> dict[str, list[str]]:
    """Each source repository with its tags, in order."""
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        repository, tag = split_ref(ref)
        grouped.setdefault(repository, []).append(tag)
    return grouped


def hoister_parallel_flag() -> bool:
    """Whether this checkout's ``hoister run`` accepts ``--parallel``."""
    done = subprocess.run(
        [sys.executable, "-m", "hoister", "run", "--help"],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "--parallel" in done.stdout


@dataclass(frozen=True)
class HoisterLane:
    """A ``HOISTER_HOME`` whose policies promote every source into ``namespace``."""

    home: HoisterHome
    namespace: str

    @classmethod
    def prepare(
        cls,
        root: Path,
        one: RegistryServer,
        target: RegistryServer,
        sources: Sequence[str],
        namespace: str,
        *,
        lean: bool = False,
    ) -> HoisterLane:
        """Profiles, one policy per source repository (rule ``tag sw 1.``, template
        ``%n``), and the baseline ``run --once``; to be called before the sources are
        pushed.

        ``lean``: provenance and referrers off, the fewest requests a promotion needs.
        """
        home = HoisterHome(root)
        home.add_profile("one", one.url)
        target_profile = None
        if target is not one:
            home.add_profile("two", target.url)
            target_profile = "two"
        policies = [
            Policy(
                source_profile="one",
                source_repository=source,
                target_repository=target_name(namespace, source),
                target_profile=target_profile,
                tag_template="%n",
                rules=(Rule("tag", "sw", ("1.",)),),
                name=f"bench {source} -> {namespace}",
                copy_referrers=not lean,
                record_provenance=not lean,
            )
            for source in repositories_of(sources)
        ]
        policy_file = root / "policies.json"
        policy_file.write_text(json.dumps(export_hoister(policies)))
        home.cli("policy", "apply", str(policy_file))
        home.cli("run", "--once")  # the repositories do not exist yet: an empty baseline
        return cls(home, namespace)

    def command(self, parallel: int | None) -> list[str]:
        extra = ["--parallel", str(parallel)] if parallel else []
        return self.home.command("run", "--once", *extra)


def skopeo_binary() -> str:
    found = shutil.which("skopeo")
    if found is None:
        raise RuntimeError("skopeo not found on PATH; install it: apt-get install skopeo")
    return found


def copy_commands(
    one: RegistryServer, target: RegistryServer, sources: Sequence[str], namespace: str
) -> list[list[str]]:
    """One ``skopeo copy`` per image, digests preserved (as Hoister keeps them)."""
    skopeo = skopeo_binary()
    return [
        [
            skopeo,
            "--insecure-policy",
            "copy",
            *SKOPEO_TLS,
            "--preserve-digests",
            f"docker://{one.host}/{source}",
            f"docker://{target.host}/{target_name(namespace, source)}",
        ]
        for source in sources
    ]


def sync_command(
    one: RegistryServer,
    target: RegistryServer,
    sources: Sequence[str],
    namespace: str,
    workdir: Path,
) -> list[str]:
    """One ``skopeo sync`` of every image into ``namespace``."""
    yaml = workdir / f"sync-{namespace}.yaml"
    lines = [f"{one.host}:", "  tls-verify: false", "  images:"]
    for repository, tags in repositories_of(sources).items():
        lines.append(f"    {repository}: [{', '.join(json.dumps(tag) for tag in tags)}]")
    yaml.write_text("\n".join(lines) + "\n")
    return [
        skopeo_binary(),
        "--insecure-policy",
        "sync",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        "--preserve-digests",
        str(yaml),
        f"{target.host}/{namespace}",
    ]


def cache_wrapper(cache: Path) -> tuple[list[str], dict[str, str] | None]:
    """(wrapper, environment) that make skopeo use ``cache`` as its blob-info cache."""
    cache.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        env = {**os.environ, "XDG_DATA_HOME": str(cache / "data")}
        return [], env
    ROOT_CACHE.mkdir(parents=True, exist_ok=True)
    script = 'mount --bind "$0" ' + str(ROOT_CACHE) + ' && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(cache)], None


def cache_files(cache: Path) -> list[Path]:
    """What skopeo wrote into a private cache (proof that it used that one)."""
    return sorted(path for path in cache.rglob("*") if path.is_file())
