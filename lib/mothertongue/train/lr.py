"""Linear warmup then cosine decay to `min_lr_ratio * lr`: a pure function of the step.

Being stateless, the schedule resumes exactly from the step counter alone; the spike guard
multiplies it by a temporary factor after a rollback.
"""

from __future__ import annotations

import math

from mothertongue.train.config import OptimConfig


def lr_at(step: int, oc: OptimConfig, total_steps: int) -> float:
    """LR for optimizer step `step` (1-based)."""
    if oc.warmup_steps > 0 and step <= oc.warmup_steps:
        return oc.lr * step / oc.warmup_steps
    decay = max(1, total_steps - oc.warmup_steps)
    progress = min(1.0, (step - oc.warmup_steps) / decay)
    floor = oc.lr * oc.min_lr_ratio
    return floor + (oc.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))
