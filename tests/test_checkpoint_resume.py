"""Checkpoints survive what clusters do: SIGKILL mid-run, preemption (USR2 -> save -> requeue),
a truncated checkpoint on disk, and a restart on a different number of processes.

Tolerance: a restart on the same mesh reproduces the uninterrupted run's per-step losses
bitwise (same gloo reductions, same data by sample index, same RNG and optimizer state).
On another world size the reduction order changes, so losses agree to 1e-3 absolute.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from mothertongue.io import read_jsonl
from mothertongue.train.checkpoint import MARKER, latest_complete, verify, write_marker

from tests.pretrain_support import (
    CLEAN_STEPS,
    base_overrides,
    events,
    kill_all,
    launch,
    run_ranks,
    train_losses,
)


def _copy_checkpoints(clean_run: Path, out: Path, steps: list[int]) -> None:
    for s in steps:
        shutil.copytree(clean_run / "checkpoints" / f"step-{s}", out / "checkpoints" / f"step-{s}")


def test_sigkill_mid_run_then_restart_reproduces_the_losses_bitwise(
    pretrain_data, clean_run, tmp_path: Path
) -> None:
    out = tmp_path / "pretrain"
    overrides = base_overrides(pretrain_data, out, **{"fault.step_delay_s": 0.25})
    procs = launch(2, overrides, out / "logs")
    deadline = time.monotonic() + 120
    while max(train_losses(out) or {0: 0}) < 12:  # wait for step 12, then kill -9 every rank
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), (
            "run ended before the kill"
        )
        time.sleep(0.05)
    kill_all(procs)
    killed_at = max(train_losses(out))
    assert killed_at < CLEAN_STEPS
    run_ranks(2, overrides, out / "logs")
    resume = events(out, "resume")
    assert len(resume) == 1 and resume[0]["step"] in (10, 15) and resume[0]["step"] <= killed_at
    assert resume[0]["consumed_samples"] == resume[0]["step"] * 8
    assert train_losses(out) == train_losses(clean_run)  # bitwise, every step


def test_preempted_run_saves_requeues_and_resumes_in_the_same_wandb_run(
    pretrain_data, clean_run, tmp_path: Path
) -> None:
    out = tmp_path / "pretrain"
    overrides = base_overrides(
        pretrain_data, out, **{"fault.preempt_at_step": 7, "tracking.wandb": "offline"}
    )
    procs = launch(2, overrides, out / "logs")
    codes = [p.wait(timeout=120) for p in procs]
    assert all(c != 0 for c in codes), codes  # exits without a result: Slurm requeues it
    (preempted,) = events(out, "preempted")
    assert preempted["step"] == 7 and verify(out / "checkpoints" / "step-7") is None
    run_ranks(2, overrides, out / "logs")  # the requeued attempt
    start, resume = events(out, "start")[0], events(out, "resume")[0]
    assert resume["step"] == 7 and resume["wandb_run_id"] == start["wandb_run_id"]
    assert len(events(out, "preempted")) == 1  # the injected preemption fires once per run
    runs = list((out / "wandb").glob(f"offline-run-*-{start['wandb_run_id']}"))
    assert len(runs) == 2 and all(any(r.glob("*.wandb")) for r in runs)  # both attempts logged to one run id
    assert train_losses(out) == train_losses(clean_run)


def test_truncated_checkpoint_is_skipped_for_the_previous_complete_one(
    pretrain_data, clean_run, tmp_path: Path
) -> None:
    out = tmp_path / "pretrain"
    _copy_checkpoints(clean_run, out, [15, 20])
    shard = next((out / "checkpoints" / "step-20").glob("*.distcp"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    run_ranks(2, base_overrides(pretrain_data, out), out / "logs")
    (skipped,) = events(out, "checkpoint_skipped")
    assert skipped["path"].endswith("step-20") and "bytes" in skipped["reason"]
    assert events(out, "resume")[0]["step"] == 15
    clean = train_losses(clean_run)
    assert train_losses(out) == {s: clean[s] for s in range(16, CLEAN_STEPS + 1)}
    assert verify(out / "checkpoints" / "step-20") is None  # re-saved whole


def test_resume_on_a_different_world_size_continues(pretrain_data, clean_run, tmp_path: Path) -> None:
    out = tmp_path / "pretrain"
    _copy_checkpoints(clean_run, out, [10])
    run_ranks(1, base_overrides(pretrain_data, out), out / "logs")  # 2 processes -> 1 (DCP reshards)
    resume = events(out, "resume")[0]
    assert resume["step"] == 10 and resume["world_size"] == 1
    losses, clean = train_losses(out), train_losses(clean_run)
    assert sorted(losses) == list(range(11, CLEAN_STEPS + 1))
    for s in losses:
        assert abs(losses[s] - clean[s]) < 1e-3, (s, losses[s], clean[s])
    state = json.loads((out / "checkpoints" / "step-20" / "trainer_state.json").read_text())
    assert state["consumed_samples"] == 160 and state["world_size"] == 1


def test_marker_detects_missing_truncated_and_corrupt_files(tmp_path: Path) -> None:
    ckpts = tmp_path / "checkpoints"
    for step in (1, 2):
        folder = ckpts / f"step-{step}"
        folder.mkdir(parents=True)
        (folder / "__0_0.distcp").write_bytes(bytes(range(256)) * 4)
        (folder / ".metadata").write_bytes(b"meta")
        write_marker(folder, step)
    assert latest_complete(ckpts) == ckpts / "step-2"
    shard = ckpts / "step-2" / "__0_0.distcp"
    data = bytearray(shard.read_bytes())
    data[10] ^= 0xFF  # same size, different content
    shard.write_bytes(bytes(data))
    assert "checksum" in verify(ckpts / "step-2")
    assert verify(ckpts / "step-2", checksums=False) is None
    assert latest_complete(ckpts) == ckpts / "step-1"
    (ckpts / "step-1" / ".metadata").unlink()
    assert "missing" in verify(ckpts / "step-1")
    (ckpts / "step-3").mkdir()  # a save that never finished
    assert "marker" in verify(ckpts / "step-3")
    assert latest_complete(ckpts) is None
    assert not read_jsonl(tmp_path / "none.jsonl") and MARKER == "COMPLETE.json"


def test_real_usr2_signal_checkpoints_at_the_next_step_and_exits_for_requeue(
    pretrain_data, tmp_path: Path
) -> None:
    """What Slurm does before a time limit (`--signal=USR2@90`): every task gets USR2."""
    import signal

    out = tmp_path / "pretrain"
    procs = launch(2, base_overrides(pretrain_data, out, **{"fault.step_delay_s": 0.25}), out / "logs")
    deadline = time.monotonic() + 120
    while max(train_losses(out) or {0: 0}) < 3:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), (
            "run ended before the signal"
        )
        time.sleep(0.05)
    for p in procs:
        p.send_signal(signal.SIGUSR2)
    codes = [p.wait(timeout=60) for p in procs]
    assert all(c != 0 for c in codes), codes
    (preempted,) = events(out, "preempted")
    assert preempted["signal"] == "SIGUSR2" and 3 <= preempted["step"] < CLEAN_STEPS
    assert verify(out / "checkpoints" / f"step-{preempted['step']}") is None
