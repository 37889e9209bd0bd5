"""The evaluate job end to end: base model + every DCP checkpoint of a real pretrain run ->
results.json, report.md, PNGs, and the metrics appended to that run's offline W&B run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mothertongue.config import ConfigError, load_config
from mothertongue.jobs import evaluate as job

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "evaluate" / "tiny.yaml"


@pytest.fixture(scope="module")
def pretrain_run(tmp_path_factory) -> Path:
    """A real 10-step pretrain run (1 process, gloo) with DCP checkpoints at 5 and 10 and offline W&B."""
    from tests.pretrain_support import base_overrides, make_pretrain_data, run_ranks

    root = tmp_path_factory.mktemp("run")
    data = make_pretrain_data(root / "data")
    out = root / "pretrain"
    overrides = base_overrides(data, out, steps=10, **{"checkpoint.every": 5, "tracking.wandb": "offline"})
    run_ranks(1, overrides, root / "logs", timeout=240)
    return out


def _cfg(out: Path, *extra: str, **edits):
    """The tiny config, made smaller (list items cannot be overridden by `key=value`)."""
    cfg = load_config(job.Config, TINY, [f"output_dir={out}", "progress=false", *extra])
    for text, limit in zip(cfg.texts, (40, 30, 30), strict=True):
        text.limit = limit
    cfg.tasks[0].limit, cfg.tasks[0].max_new_tokens = 2, 4
    for dotted, value in edits.items():
        *path, leaf = dotted.split("__")
        obj = cfg
        for part in path:
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        setattr(obj, leaf, value)
    return cfg


def test_evaluate_base_and_every_checkpoint_writes_report_plots_and_wandb(tmp_path, pretrain_run):
    wandb_runs_before = sorted(p.name for p in (pretrain_run / "wandb").iterdir() if "run-" in p.name)
    cfg = _cfg(tmp_path / "eval", f"checkpoints_from={pretrain_run}", f"wandb_run_dir={pretrain_run}")
    job.validate(cfg)
    result = job.main(cfg)

    assert result["models"] == ["stories260K", "step-5", "step-10"]
    out = tmp_path / "eval"
    for name in (
        "results.json",
        "report.md",
        "generations.json",
        "bits_per_byte.png",
        "metrics_per_step.png",
    ):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    steps = [m["step"] for m in results["models"]]
    assert steps == [None, 5, 10]
    for m in results["models"]:
        for t in ("ctcpc_heldout", "hkcancor", "kjv_heldout"):
            assert 0 < m["texts"][t]["bits_per_byte"] < 60
        assert set(m["tasks"]["yue_zh_rewrite"]) >= {
            "bleu",
            "chrf",
            "rouge_l",
            "yue->zh/chrf",
            "zh->yue/chrf",
        }
        assert 0 <= m["probes"]["yue"]["acc"] <= 1
    # a model trained (a little) on Cantonese beats stories260K, which never saw Chinese
    yue = [m["texts"]["ctcpc_heldout"]["bits_per_byte"] for m in results["models"]]
    assert yue[2] < yue[0] / 2
    assert results["baselines"]["bigram"]["ctcpc_heldout"]["bits_per_byte"] < 3
    report = (out / "report.md").read_text()
    assert "| step-10 |" in report and "char bigram baseline" in report
    assert f"({yue[2] - yue[0]:+.3f})" in report  # delta to the reference model

    # the eval metrics went into the pretraining's own W&B run (same id, offline)
    run_id = result["wandb_run_id"]
    trainer_state = json.loads((pretrain_run / "checkpoints" / "step-10" / "trainer_state.json").read_text())
    assert run_id == trainer_state["wandb_run_id"]
    new = [
        p for p in (pretrain_run / "wandb").iterdir() if "run-" in p.name and p.name not in wandb_runs_before
    ]
    assert len(new) == 1 and new[0].name.endswith(run_id)
    assert _wait_for_bytes(new[0], b"eval/text/ctcpc_heldout/bits_per_byte", timeout=30)
    assert _wait_for_bytes(new[0], b"eval/step", timeout=5)


def _wait_for_bytes(run_folder: Path, needle: bytes, timeout: float) -> bool:
    """W&B's writer process may still be flushing the offline run file when finish() returns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(needle in f.read_bytes() for f in run_folder.glob("*.wandb")):
            return True
        time.sleep(0.2)
    sizes = {f.name: f.stat().st_size for f in run_folder.rglob("*") if f.is_file()}
    raise AssertionError(f"{needle!r} not in {run_folder} after {timeout}s: {sizes}")


def test_incomplete_checkpoints_are_never_evaluated(tmp_path, pretrain_run):
    from mothertongue.evaluate.models import checkpoint_specs

    fake = tmp_path / "pretrain"
    (fake / "checkpoints").mkdir(parents=True)
    for step in (5, 10):
        (fake / "checkpoints" / f"step-{step}").symlink_to(pretrain_run / "checkpoints" / f"step-{step}")
    half = fake / "checkpoints" / "step-15"
    half.mkdir()
    (half / ".metadata").write_bytes(b"partial")
    assert [s.step for s in checkpoint_specs(fake)] == [5, 10]
    assert [s.step for s in checkpoint_specs(fake, max_checkpoints=1)] == [10]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        ({"texts__0__heldout": 100}, "texts.0.heldout"),
        ({"texts__0__kind": "web"}, "texts.0.kind"),
        ({"probes": ["nowhere.jsonl"]}, "probes.0"),
        ({"device": "tpu"}, "device"),
        ({"models": []}, "models"),
    ],
)
def test_bad_configs_fail_at_submit_time_naming_the_key(tmp_path, edit, key):
    cfg = _cfg(tmp_path, **edit)
    with pytest.raises(ConfigError) as err:
        job.validate(cfg)
    assert err.value.key == key


def test_tiny_config_alone_runs(tmp_path):
    result = job.main(_cfg(tmp_path))
    assert result["models"] == ["stories260K"]
    assert 30 < result["metrics"]["stories260K"]["ctcpc_heldout/bits_per_byte"] < 45
    assert (tmp_path / "report.md").exists() and not (tmp_path / "metrics_per_step.png").exists()
