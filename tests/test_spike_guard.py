"""The spike guard: detection rules and policies in isolation, then a real injected spike in
a 2-process FSDP2 run, detected and rolled back, ending near the clean run's loss.

Tolerance: after rolling back 4 steps and skipping one global batch, the final training and
validation losses are within 0.15 nats of the uninterrupted run's (measured: ~0.05).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from mothertongue.io import read_jsonl
from mothertongue.train.config import SpikeConfig
from mothertongue.train.spike_guard import SpikeGuard, SpikeGuardExhausted

from tests.pretrain_support import (
    CLEAN_STEPS,
    base_overrides,
    events,
    run_ranks,
    train_losses,
)


def _warm(guard: SpikeGuard, n: int = 20) -> None:
    for i in range(n):
        guard.accept(3.0 + 0.01 * (i % 3), 1.0 + 0.01 * (i % 2))


def test_detects_nan_sigma_outliers_and_grad_norm_outliers() -> None:
    guard = SpikeGuard(SpikeConfig(min_history=8, sigma=6, grad_sigma=10))
    assert guard.check(50.0, 1.0) is None  # no history yet: no sigma rule
    assert "non-finite" in guard.check(math.nan, 1.0)
    assert "non-finite" in guard.check(3.0, math.inf)
    _warm(guard)
    assert guard.check(3.02, 1.0) is None
    assert "loss" in guard.check(4.0, 1.0)
    assert "grad norm" in guard.check(3.0, 5.0)


def test_flat_curve_noise_is_not_a_spike() -> None:
    guard = SpikeGuard(SpikeConfig(min_history=4, min_rel_increase=0.1))
    for _ in range(10):
        guard.accept(2.0, 1.0)  # std = 0
    assert guard.check(2.05, 1.0) is None  # above mean + 6 sigma, but only 2.5% higher
    assert guard.check(2.5, 1.0) is not None


def test_rollback_records_a_skip_window_lowers_lr_and_is_bounded() -> None:
    guard = SpikeGuard(
        SpikeConfig(policy="rollback", skip_batches=2, lr_factor=0.5, lr_cooldown_steps=10, max_rollbacks=2)
    )
    d = guard.on_spike(step=14, batch_start=104, global_batch=8, can_roll_back=True)
    assert d == {"action": "rollback", "skip_window": [104, 120], "rollbacks": 1}
    assert guard.next_sample(96) == 96 and guard.next_sample(104) == 120 and guard.next_sample(112) == 120
    assert guard.lr_scale(20) == 0.5 and guard.lr_scale(25) == 1.0
    # counters, windows and faults survive loading the (older) checkpoint state
    guard.state.faults_fired.append("spike@14")
    old = SpikeGuard(SpikeConfig()).state_dict()
    guard.load_state_dict(old, keep_persistent=True)
    assert (
        guard.state.rollbacks == 1
        and guard.state.skip_ranges == [[104, 120]]
        and guard.state.faults_fired == ["spike@14"]
    )
    guard.on_spike(step=30, batch_start=200, global_batch=8, can_roll_back=True)
    with pytest.raises(SpikeGuardExhausted, match="max_rollbacks"):
        guard.on_spike(step=31, batch_start=208, global_batch=8, can_roll_back=True)


def test_skip_policy_and_missing_checkpoint_fall_back_to_skipping() -> None:
    guard = SpikeGuard(SpikeConfig(policy="rollback", max_skips=1))
    assert guard.on_spike(step=3, batch_start=16, global_batch=8, can_roll_back=False)["action"] == "skip"
    with pytest.raises(SpikeGuardExhausted, match="max_skips"):
        guard.on_spike(step=4, batch_start=24, global_batch=8, can_roll_back=False)
    assert SpikeGuard(SpikeConfig(policy="skip")).on_spike(5, 0, 8, True)["action"] == "skip"


def test_injected_spike_is_rolled_back_once_and_the_run_recovers(
    pretrain_data, clean_run, tmp_path: Path
) -> None:
    out = tmp_path / "pretrain"
    overrides = base_overrides(pretrain_data, out, **{"fault.spike_at_step": 14, "spike.skip_batches": 1})
    run_ranks(2, overrides, out / "logs")
    assert [e["step"] for e in events(out, "fault_injected")] == [14]
    (spike,) = events(out, "spike")
    assert spike["step"] == 14 and spike["loss"] > 10 * train_losses(clean_run)[13]
    (rollback,) = events(out, "rollback")
    assert rollback["to_step"] == 10 and rollback["skip_window"] == [13 * 8, 14 * 8]
    assert json.loads((out / "faults.json").read_text()) == ["spike@14"]
    losses, clean = train_losses(out), train_losses(clean_run)
    assert sorted(losses) == list(range(1, CLEAN_STEPS + 1))
    assert all(losses[s] == clean[s] for s in range(1, 11))  # identical until the rollback point
    assert abs(losses[CLEAN_STEPS] - clean[CLEAN_STEPS]) < 0.15
    val = [m["val_loss"] for m in read_jsonl(out / "metrics.jsonl") if "val_loss" in m]
    clean_val = [m["val_loss"] for m in read_jsonl(clean_run / "metrics.jsonl") if "val_loss" in m]
    assert abs(val[-1] - clean_val[-1]) < 0.15
    state = json.loads((out / "checkpoints" / "step-20" / "trainer_state.json").read_text())
    assert state["guard"]["rollbacks"] == 1 and state["consumed_samples"] == 168  # one batch skipped
