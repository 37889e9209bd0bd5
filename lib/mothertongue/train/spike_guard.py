"""Loss-spike guard: detect a spike, then skip the step or roll back and skip the data.

Taiwan-LLM fixed its loss spikes by hand: roll back, skip the data that caused them. OLMo-core
skips the optimizer step when the loss is 6 sigma over a 128-step window; PaLM restarted ~100
steps earlier and skipped 200-500 batches. This does either automatically:

- detection: NaN/Inf loss or grad norm; loss > mean + sigma*std of the last `window` good
  steps (and > mean*(1+min_rel_increase), so a flat curve's tiny std does not trigger);
  grad norm > mean + grad_sigma*std.
- policy `skip`: no optimizer step for that batch (its data counts as consumed).
- policy `rollback`: the trainer reloads the last complete checkpoint, this guard records a
  skip window starting at the offending batch, and the LR is scaled for a while.
- bounded: more than `max_rollbacks` rollbacks or `max_skips` skips raises `SpikeGuardExhausted`.

The guard's counters and skip windows survive the rollback (they are not rewound with the
model) and are stored in every checkpoint, so a requeued run keeps skipping the same data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from mothertongue.train.config import SpikeConfig


class SpikeGuardExhausted(RuntimeError):
    """Too many spikes: the run stops loudly instead of burning compute on a broken model."""


@dataclass
class GuardState:
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    rollbacks: int = 0
    skips: int = 0
    skip_ranges: list[list[int]] = field(default_factory=list)  # [start, end) sample windows
    lr_factor: float = 1.0
    lr_factor_until: int = 0  # optimizer step up to which lr_factor applies
    faults_fired: list[str] = field(default_factory=list)


def _mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / max(1, len(xs) - 1))


class SpikeGuard:
    def __init__(self, sc: SpikeConfig, state: GuardState | None = None):
        self.sc = sc
        self.state = state or GuardState()

    # -- detection -------------------------------------------------------------------------
    def check(self, loss: float, grad_norm: float) -> str | None:
        """Why this step is a spike, or None."""
        if not self.sc.enabled:
            return None
        if not math.isfinite(loss):
            return f"non-finite loss {loss}"
        if not math.isfinite(grad_norm):
            return f"non-finite grad norm {grad_norm}"
        s = self.state
        if len(s.losses) >= self.sc.min_history:
            m, sd = _mean_std(s.losses)
            if loss > m + self.sc.sigma * sd and loss > m * (1 + self.sc.min_rel_increase):
                return f"loss {loss:.4f} > mean {m:.4f} + {self.sc.sigma:g} x std {sd:.4f}"
        if self.sc.grad_sigma > 0 and len(s.grad_norms) >= self.sc.min_history:
            m, sd = _mean_std(s.grad_norms)
            if grad_norm > m + self.sc.grad_sigma * sd and grad_norm > m * (1 + self.sc.min_rel_increase):
                return f"grad norm {grad_norm:.4f} > mean {m:.4f} + {self.sc.grad_sigma:g} x std {sd:.4f}"
        return None

    def accept(self, loss: float, grad_norm: float) -> None:
        """A good step joins the rolling window."""
        s = self.state
        s.losses = (s.losses + [loss])[-self.sc.window :]
        s.grad_norms = (s.grad_norms + [grad_norm])[-self.sc.window :]

    # -- policy ----------------------------------------------------------------------------
    def on_spike(self, step: int, batch_start: int, global_batch: int, can_roll_back: bool) -> dict:
        """Decide what to do about a spike at `step` (whose batch begins at sample `batch_start`)."""
        s = self.state
        if self.sc.policy == "rollback" and can_roll_back:
            s.rollbacks += 1
            if s.rollbacks > self.sc.max_rollbacks:
                raise SpikeGuardExhausted(
                    f"loss spike at step {step} after {self.sc.max_rollbacks} rollbacks (spike.max_rollbacks): giving up"
                )
            window = [batch_start, batch_start + self.sc.skip_batches * global_batch]
            s.skip_ranges.append(window)
            if self.sc.lr_cooldown_steps > 0:
                s.lr_factor = self.sc.lr_factor
                s.lr_factor_until = step + self.sc.lr_cooldown_steps
            return {"action": "rollback", "skip_window": window, "rollbacks": s.rollbacks}
        s.skips += 1
        if s.skips > self.sc.max_skips:
            raise SpikeGuardExhausted(
                f"loss spike at step {step} after {self.sc.max_skips} skipped steps (spike.max_skips)"
            )
        return {"action": "skip", "skips": s.skips}

    def next_sample(self, pointer: int) -> int:
        """The first sample at or after `pointer` that is outside every skip window."""
        moved = True
        while moved:
            moved = False
            for start, end in self.state.skip_ranges:
                if start <= pointer < end:
                    pointer, moved = end, True
        return pointer

    def lr_scale(self, step: int) -> float:
        return self.state.lr_factor if step <= self.state.lr_factor_until else 1.0

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return asdict(self.state)

    def load_state_dict(self, d: dict, keep_persistent: bool = False) -> None:
        """Restore from a checkpoint; on rollback keep this run's counters, windows and faults."""
        loaded = GuardState(**d)
        if keep_persistent:
            cur = self.state
            loaded.rollbacks, loaded.skips = cur.rollbacks, cur.skips
            loaded.skip_ranges, loaded.faults_fired = cur.skip_ranges, cur.faults_fired
            loaded.lr_factor, loaded.lr_factor_until = cur.lr_factor, cur.lr_factor_until
        else:
            loaded.faults_fired = sorted(set(loaded.faults_fired) | set(self.state.faults_fired))
        self.state = loaded
