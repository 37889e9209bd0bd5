"""Bad configs fail on the login node with the key and the file named."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mothertongue.config import ConfigError, Resources, check_inputs_exist, input_path, load_config
from mothertongue.launcher.clusters import load_profile
from mothertongue.launcher.executor import check_resources
from omegaconf import MISSING


@dataclass
class Inner:
    rate: float = 0.1


@dataclass
class Example:
    output_dir: str = MISSING
    steps: int = 10
    data: str = input_path("")
    inner: Inner = field(default_factory=Inner)
    resources: Resources = field(default_factory=Resources)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_yaml_and_overrides_build_the_dataclass(tmp_path: Path) -> None:
    cfg = load_config(
        Example, write(tmp_path, "steps: 3\ninner:\n  rate: 0.5\n"), ["output_dir=/x", "steps=4"]
    )
    assert isinstance(cfg, Example) and cfg.steps == 4 and cfg.inner.rate == 0.5 and cfg.output_dir == "/x"


@pytest.mark.parametrize(
    ("yaml_text", "overrides", "key"),
    [
        ("stpes: 3\n", ["output_dir=/x"], "stpes"),  # unknown key (typo)
        ("steps: many\n", ["output_dir=/x"], "steps"),  # wrong type
        ("inner:\n  rate: fast\n", ["output_dir=/x"], "inner.rate"),  # nested wrong type
        ("steps: 3\n", [], "output_dir"),  # required and missing
    ],
)
def test_bad_config_names_the_key_and_the_file(
    tmp_path: Path, yaml_text: str, overrides: list[str], key: str
) -> None:
    path = write(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as err:
        load_config(Example, path, overrides)
    assert err.value.key == key
    assert key in str(err.value) and str(path) in str(err.value)


def test_bad_override_is_blamed_on_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inner.rate.*command-line"):
        load_config(Example, write(tmp_path, "steps: 3\n"), ["output_dir=/x", "inner.rate=fast"])


def test_missing_input_path_fails_unless_an_upstream_stage_makes_it(tmp_path: Path) -> None:
    cfg = load_config(Example, None, ["output_dir=/x", f"data={tmp_path}/curate/data.jsonl"])
    with pytest.raises(ConfigError, match="'data'.*does not exist"):
        check_inputs_exist(cfg)
    check_inputs_exist(cfg, produced={tmp_path / "curate"})  # made by an earlier stage: fine


def test_impossible_layouts_fail_before_sbatch() -> None:
    local, gpu = load_profile("local"), load_profile("example-gpu")
    with pytest.raises(ConfigError, match="resources.gpus_per_node"):
        check_resources(Resources(gpus_per_node=1), local)
    with pytest.raises(ConfigError, match="resources.tasks_per_node"):
        check_resources(Resources(gpus_per_node=8, tasks_per_node=4), gpu)
    with pytest.raises(ConfigError, match="resources.time_min"):
        check_resources(Resources(gpus_per_node=8, tasks_per_node=8, time_min=10_000), gpu)
    check_resources(Resources(nodes=4, gpus_per_node=8, tasks_per_node=8), gpu)


def test_profiles_refuse_secrets(tmp_path: Path) -> None:
    path = tmp_path / "leaky.yaml"
    path.write_text("name: leaky\nenv:\n  WANDB_API_KEY: abc\n")
    with pytest.raises(ConfigError, match="env.WANDB_API_KEY"):
        load_profile(str(path))


@dataclass
class Listy:
    output_dir: str = "/x"
    items: list[Inner] = field(default_factory=lambda: [Inner(), Inner()])


@pytest.mark.parametrize("override", ["stpes=3", "inner.rat=0.2", "nowhere.deep=1"])
def test_unknown_override_keys_are_named(override: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(Example, None, ["output_dir=/x", override])
    assert err.value.key == override.split("=")[0]


def test_overrides_and_settings_can_index_lists() -> None:
    cfg = load_config(Listy, None, ["items.1.rate=0.5"], settings={"items.0.rate": 0.25})
    assert [i.rate for i in cfg.items] == [0.25, 0.5]
    with pytest.raises(ConfigError, match="'data'.*not Optional"):
        load_config(Example, None, ["output_dir=/x", "data=null"])
