"""The demo pipeline end to end through the real local Slurm cluster (a faster variant of the YAML)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from mothertongue.cli import main as cli
from mothertongue.io import read_jsonl
from mothertongue.launcher.status import run_status
from mothertongue.manifest import read_manifest
from mothertongue.rundir import JOBS, RunDir

from tests.slurm_helpers import REPO, ensure_cluster, wait_for

pytestmark = pytest.mark.slurm

DEMO = REPO / "configs/pipeline/demo-cantonese.yaml"
# Same stages and settings as the demo, fewer steps: the spike, the requeue and the rollback stay.
FAST = [
    "curate.datasets.0.sources.0.max_docs=2000",
    "curate.datasets.0.sources.1.max_docs=500",
    "preprocess.array_tasks=2",
    "pretrain.steps=120",
    "pretrain.checkpoint.every=20",
    "pretrain.val_every=40",
    "pretrain.fault.preempt_at_step=50",
    "pretrain.fault.spike_at_step=90",
    "evaluate.texts.0.limit=150",
    "evaluate.texts.1.limit=100",
    "evaluate.texts.2.limit=100",
    "evaluate.tasks.0.limit=2",
]
MARGIN_BITS_PER_BYTE = 5.0  # stories260K starts near 38 bits/byte on Cantonese (byte fallback)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    ensure_cluster()
    run = RunDir(tmp_path_factory.mktemp("runs") / "demo-fast")
    assert cli(["run", str(DEMO), *FAST, "--run", str(run.root)]) == 0
    return run


def test_every_stage_completed_with_a_manifest(demo_run: RunDir) -> None:
    for job in JOBS:
        manifest = read_manifest(demo_run.stage(job))
        assert manifest is not None, f"{job} wrote no manifest"
        assert manifest["job"] == job and manifest["config"]["output_dir"] == str(demo_run.stage(job))
    assert all(s.state == "COMPLETED" for s in run_status(demo_run)), run_status(demo_run)
    curate = read_manifest(demo_run.stage("curate"))["result"]
    assert curate["reconciles"] is True
    preprocess = [r for r in read_jsonl(demo_run.jobs_file) if r["job"] == "preprocess"]
    array, merge = (next(r for r in preprocess if r["kind"] == k) for k in ("array", "main"))
    assert (
        array["shards"] == 2 and merge["dependency"] == f"afterok:{array['slurm_id']}"
    )  # shards, then merge


def test_trained_model_speaks_better_cantonese(demo_run: RunDir) -> None:
    results = json.loads((demo_run.stage("evaluate") / "results.json").read_text())
    models = {m["name"]: m for m in results["models"]}
    bpb = {m: models[m]["texts"]["ctcpc_heldout"]["bits_per_byte"] for m in ("base", "trained")}
    assert bpb["trained"] < bpb["base"] - MARGIN_BITS_PER_BYTE, bpb
    assert (demo_run.stage("evaluate") / "report.md").exists()
    assert (demo_run.stage("pretrain") / "loss.png").stat().st_size > 10_000


def test_spike_and_requeue_are_recorded_and_the_run_finished(demo_run: RunDir) -> None:
    events = read_jsonl(demo_run.stage("pretrain") / "events.jsonl")
    kinds = [e["event"] for e in events]
    assert "rollback" in kinds and "preempted" in kinds and kinds[-1] == "finished", kinds
    resumes = [e for e in events if e["event"] == "resume"]
    assert resumes and resumes[0]["attempt"] == 2
    starts = [e for e in events if e["event"] in ("start", "resume")]
    assert len({e["wandb_run_id"] for e in starts}) == 1  # one W&B run across the requeue
    pretrain = next(s for s in run_status(demo_run) if s.job == "pretrain")
    assert pretrain.attempts == 2


def test_resubmitting_the_pipeline_skips_every_stage(demo_run: RunDir) -> None:
    before = len(read_jsonl(demo_run.jobs_file))
    assert cli(["run", str(DEMO), *FAST, "--run", str(demo_run.root)]) == 0
    assert len(read_jsonl(demo_run.jobs_file)) == before  # nothing new was submitted
    record = json.loads(demo_run.pipeline_file.read_text())
    assert all(stage["skipped"] for stage in record["stages"].values())


def test_real_scale_pipeline_validates_with_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    config = REPO / "configs/pipeline/llama3-8b-cantonese.yaml"
    assert cli(["run", str(config), "--dry-run", "--run", "/tmp/mt-dry-run"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH --nodes=4" in out and "#SBATCH --gpus-per-node=8" in out
    assert not Path("/tmp/mt-dry-run").exists()  # a dry run writes nothing


def test_pretrain_sent_usr2_requeues_and_resumes_in_the_same_wandb_run(
    demo_run: RunDir, tmp_path: Path
) -> None:
    """A real preemption: `scancel --signal=USR2` from outside while the pretrain job runs."""
    from mothertongue.launcher.clusters import load_profile
    from mothertongue.launcher.submit import prepare, submit

    run = RunDir(tmp_path / "usr2")
    overrides = [
        f"model.path={demo_run.stage('tokenizer') / 'model'}",
        f"data.blend={demo_run.stage('preprocess') / 'blend.json'}",
        "steps=60",
        "checkpoint.every=1000",  # the only mid-run checkpoint is the one USR2 forces
        "fault.spike_at_step=null",
        "fault.step_delay_s=0.2",
        "val_every=1000",
    ]
    profile = load_profile("local")
    sub = submit(
        "pretrain",
        prepare("pretrain", REPO / "configs/pretrain/tiny.yaml", overrides, run, profile),
        run,
        profile,
    )
    metrics = run.stage("pretrain") / "metrics.jsonl"
    wait_for(lambda: any(r.get("step", 0) >= 10 for r in read_jsonl(metrics)), 300, "10 training steps")
    subprocess.run(["scancel", "--signal=USR2", sub.job_id], check=True)
    result = sub.result()
    assert result["steps"] == 60
    events = read_jsonl(run.stage("pretrain") / "events.jsonl")
    preempted = next(e for e in events if e["event"] == "preempted")
    assert preempted["signal"] == "SIGUSR2" and 10 <= preempted["step"] < 60
    resume = next(e for e in events if e["event"] == "resume")
    assert resume["step"] == preempted["step"] and resume["attempt"] == 2
    assert len({e["wandb_run_id"] for e in events if e["event"] in ("start", "resume")}) == 1
    assert events[-1]["event"] == "finished" and events[-1]["step"] == 60
    steps = [r["step"] for r in read_jsonl(metrics) if "loss" in r]
    assert sorted(set(steps)) == list(range(1, 61))  # every step trained once: none lost, none repeated
    assert next(s for s in run_status(run) if s.job == "pretrain").attempts == 2


def test_a_failed_stage_stops_its_dependants_and_a_rerun_resumes_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_cluster()
    run = RunDir(tmp_path / "failing")
    quick = ["curate.datasets.0.sources.0.max_docs=300", "curate.datasets.0.sources.1.max_docs=100"]
    breaks = ["tokenizer.fail_on_english_drift=true", "tokenizer.english_kl_tolerance=0.0"]
    assert cli(["run", str(DEMO), *quick, *breaks, "--run", str(run.root)]) == 1
    out = capsys.readouterr().out
    assert (
        "stage tokenizer failed" in out
        and "_log.err" in out
        and "run the same `mothertongue run` again" in out
    )

    def dependants_cancelled() -> dict[str, str] | None:
        states = {s.job: s.state for s in run_status(run)}
        later = ("preprocess", "pretrain", "evaluate")
        return states if all(states[j].startswith("CANCELLED") for j in later) else None

    states = wait_for(dependants_cancelled, 60, "the stages after the failed one to be cancelled")
    assert states["curate"] == "COMPLETED" and states["tokenizer"] == "FAILED"

    assert cli(["run", str(DEMO), *quick, "--run", str(run.root), "--detach"]) == 0
    record = json.loads(run.pipeline_file.read_text())["stages"]
    assert record["curate"]["skipped"] and not record["tokenizer"]["skipped"]
    assert record["tokenizer"]["reason"] == "no manifest yet"  # says why it reruns
    assert cli(["cancel", str(run.root)]) == 0
