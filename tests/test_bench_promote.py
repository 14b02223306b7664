"""The promote and poll benchmarks' pure parts: lane order, the peers' commands, sizes.

The order matters for fairness (each tool takes each place in turn; a warm cache lane
must follow its cold one), and the skopeo commands must point where the lanes' checks
look, or a fast lane would be a wrong one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bench.__main__ import parse_args, promote_settings
from bench.poll import PollSettings, policies
from bench.promote import CROSS, LANES, SAME, PromoteSettings, order
from bench.promotelanes import ROOT_CACHE, cache_wrapper, sync_command, target_name

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
    assert target_name("sync-cold", "dev/app-07") == "sync-cold/app-07"


def test_sync_reads_every_source_from_one_and_writes_into_the_namespace(tmp_path: Path) -> None:
    one, two = RegistryServer(tmp_path / "one"), RegistryServer(tmp_path / "two")
    one.port, two.port = 5001, 5002
    command = sync_command(one, two, ["dev/app-01", "dev/app-02"], "sync-cold", tmp_path)
    assert command[-1] == "127.0.0.1:5002/sync-cold"
    assert command[3:7] == ["--src", "yaml", "--dest", "docker"]
    yaml = Path(command[-2]).read_text()
    assert yaml.startswith("127.0.0.1:5001:\n  tls-verify: false\n  images:\n")
    assert '    dev/app-01: ["1.0"]\n    dev/app-02: ["1.0"]\n' in yaml


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
