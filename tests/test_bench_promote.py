"""The promote and poll benchmarks' pure parts: lane order, the peers' commands, sizes.

The order matters for fairness (each tool takes each place in turn; a warm cache lane
must follow its cold one), and the skopeo commands must point where the lanes' checks
look, or a fast lane would be a wrong one.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from bench import accesslog
from bench.__main__ import parse_args, promote_settings
from bench.poll import PollSettings, policies
from bench.promote import CROSS, LANES, SAME, STARTUP, PromoteSettings, Sample, order
from bench.promotelanes import (
    ROOT_CACHE,
    cache_wrapper,
    image_refs,
    split_ref,
    sync_command,
    target_name,
)
from bench.promotereport import per_promotion, report

from tests.support.registry import RegistryServer


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_every_lane_runs_once_and_warm_right_after_cold(number: int) -> None:
    lanes = order(number)
    assert sorted(lane.key for lane in lanes) == sorted(lane.key for lane in LANES)
    for index, lane in enumerate(lanes):
        if lane.warm:
            before = lanes[index - 1]
            assert (before.kind, before.cross, before.warm) == (lane.kind, lane.cross, False)
    same = [lane for lane in lanes if not lane.cross]
    assert same == [lane for lane in lanes[: len(same)]]  # one scenario, then the other


def test_each_group_comes_first_in_turn() -> None:
    for groups in (SAME, CROSS):
        firsts = set()
        for number in range(len(groups)):
            lanes = [lane for lane in order(number) if lane.cross == groups[0][0].cross]
            firsts.add(lanes[0].key)
        assert firsts == {group[0].key for group in groups}


def test_targets_keep_the_last_segment_as_skopeo_sync_does() -> None:
    assert target_name("sync-cold", "dev/app-07:1.0") == "sync-cold/app-07:1.0"
    assert target_name("qa", "dev/app:1.7") == "qa/app:1.7"


def test_both_layouts_name_one_image_per_ref() -> None:
    assert image_refs(3) == ["dev/app:1.1", "dev/app:1.2", "dev/app:1.3"]
    assert image_refs(2, "repositories") == ["dev/app-01:1.0", "dev/app-02:1.0"]
    assert split_ref("dev/app:1.7") == ("dev/app", "1.7")
    assert split_ref("127.0.0.1:5000/dev/app") == ("127.0.0.1:5000/dev/app", "1.0")


def test_sync_reads_every_source_from_one_and_writes_into_the_namespace(tmp_path: Path) -> None:
    one, two = RegistryServer(tmp_path / "one"), RegistryServer(tmp_path / "two")
    one.port, two.port = 5001, 5002
    refs = ["dev/app-01:1.0", "dev/app-02:1.0", "dev/app:1.1", "dev/app:1.2"]
    command = sync_command(one, two, refs, "sync-cold", tmp_path)
    assert command[-1] == "127.0.0.1:5002/sync-cold"
    assert command[3:7] == ["--src", "yaml", "--dest", "docker"]
    yaml = Path(command[-2]).read_text()
    assert yaml.startswith("127.0.0.1:5001:\n  tls-verify: false\n  images:\n")
    assert '    dev/app-01: ["1.0"]\n    dev/app-02: ["1.0"]\n    dev/app: ["1.1", "1.2"]\n' in yaml


@pytest.mark.skipif(os.geteuid() != 0, reason="the bind mount is what root gets")
def test_as_root_the_cache_is_bind_mounted_in_a_mount_namespace(tmp_path: Path) -> None:
    wrapper, env = cache_wrapper(tmp_path / "cache")
    assert env is None
    assert wrapper[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert f'mount --bind "$0" {ROOT_CACHE}' in wrapper[-2]
    assert wrapper[-1] == str(tmp_path / "cache")
    assert (tmp_path / "cache").is_dir()


def test_quick_and_explicit_sizes() -> None:
    quick = promote_settings(parse_args(["promote", "--quick"]))
    assert quick == PromoteSettings.quick()
    assert quick.images < PromoteSettings().images
    chosen = promote_settings(
        parse_args(["promote", "--images", "7", "--layer-mib", "0.5", "--parallel", "4"])
    )
    assert (chosen.images, chosen.layer_size, chosen.parallel) == (7, 512 * 1024, 4)
    assert chosen.repeats == PromoteSettings().repeats
    with pytest.raises(SystemExit):
        parse_args(["promote", "--images", "0"])


def test_poll_watches_every_repository_with_one_policy_each() -> None:
    settings = PollSettings.make(quick=True)
    assert settings.repositories < PollSettings().repositories
    made = policies(settings)
    assert len(made) == settings.repositories + 1
    assert len({p.source_repository for p in made}) == len(made)
    assert len({p.target_repository for p in made}) == len(made)
    assert PollSettings.make(quick=False, repositories=20).repositories == 20
    assert PollSettings.make(quick=True, cycles=9).cycles == 9
    assert parse_args(["poll", "--cycles", "7"]).cycles == 7


def _sample(seconds: float, requests: int, moved: int = 0, peak_mib: int = 20) -> Sample:
    traffic = accesslog.Traffic(requests=requests, uploaded_bytes=moved, mounts=0)
    return Sample(seconds, peak_mib * 1024, 1, traffic, Counter({"GET manifest": requests}))


def test_the_report_divides_by_hoister_s_median_and_states_the_goals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = PromoteSettings(images=2, layers=5, repeats=2)
    seconds = {"one-hoister": 2.0, "two-hoister": 4.0, "one-copy-cold": 10.0}
    runs = []
    for _ in range(settings.repeats):
        run = {lane.key: _sample(seconds.get(lane.key, 3.0), 16) for lane in LANES}
        run["two-hoister"] = _sample(4.0, 16, moved=10_000_000, peak_mib=30)
        run[STARTUP] = _sample(0.5, 0)
        runs.append(run)
    report(settings, runs, (1.0, 1.0, 1.0), (2.0, 2.0, 2.0))
    out = capsys.readouterr().out
    lines = {line.split("  ")[0] + "|" + line[16:50].strip(): line for line in out.splitlines()}
    copy_cold = lines["same registry|skopeo copy loop, cache cold"]
    assert "5.00x" in copy_cold  # 10 s / 2 s
    assert " 8.0 " in copy_cold  # 16 requests / 2 images
    assert "10.0" in lines["two registries|hoister run --once"]  # MB moved
    goals = [line for line in out.splitlines() if line.startswith("same registry vs skopeo copy")]
    assert goals and goals[0].split()[-1] == "yes"
    sync = [line for line in out.splitlines() if line.startswith("same registry vs skopeo sync")]
    assert sync[0].split()[-2:] == ["1.50x", "no"]  # 3 s / 2 s against >= 3x
    assert "+10.0 MiB" in out  # 30 MiB against skopeo's 20
    prose = " ".join(out.split())  # paragraphs are wrapped
    assert "starting Hoister" in prose and "0.50 s, 25% of its same-registry run" in prose


def test_a_promotion_s_requests_leave_out_only_what_a_run_makes_once() -> None:
    """The poll's listings, one referrers probe and the empty blob once per repository
    are left out; the same kinds made for every image count in full beyond that."""
    once = Counter({"GET tags list": 3, "GET referrers": 1, "HEAD blob": 1})
    once.update({"POST blob upload start": 1, "PUT blob upload": 1})
    per_image = Counter({"GET manifest": 1, "POST blob mount": 6, "PUT manifest": 3})
    sample = Sample(1.0, 0, 1)
    sample.kinds = once + Counter({kind: 50 * n for kind, n in per_image.items()})
    sample.traffic.requests = sum(sample.kinds.values())
    assert per_promotion([sample], images=50, repositories=1) == 10.0
    # an upload of the empty blob for every image is no longer "once"
    sample.kinds.update({"HEAD blob": 49, "POST blob upload start": 49, "PUT blob upload": 49})
    sample.traffic.requests = sum(sample.kinds.values())
    assert per_promotion([sample], images=50, repositories=1) == pytest.approx(12.94)
    # one repository per image: once per repository is once per image
    assert per_promotion([sample], images=50, repositories=50) == 10.0
