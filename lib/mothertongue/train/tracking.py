"""Where the numbers go: `metrics.jsonl`, `events.jsonl` and a W&B run (rank 0 only).

W&B runs offline by default into `<output_dir>/wandb/`; online only when the config says so
AND `WANDB_API_KEY` is in the environment (never read from or written to a file here).
Offline W&B does not continue a run by itself, so the run id lives in every checkpoint and
is passed back on resume: a requeued job logs into the same run.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from mothertongue.io import append_jsonl
from mothertongue.train.config import TrackingConfig

log = logging.getLogger(__name__)

# dense bf16 peak TFLOP/s per device (no sparsity), for MFU
PEAK_TFLOPS = {
    "H100": 989.0,
    "H200": 989.0,
    "GH200": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
    "L4": 121.0,
    "B200": 2250.0,
    "MI300X": 1307.0,
}


def peak_tflops() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    for key in sorted(PEAK_TFLOPS, key=len, reverse=True):
        if key in name:
            return PEAK_TFLOPS[key]
    return None


class Tracker:
    def __init__(self, output_dir: Path, tc: TrackingConfig, is_main: bool, run_id: str | None, config: dict):
        self.output_dir, self.is_main = output_dir, is_main
        self.metrics_path, self.events_path = output_dir / "metrics.jsonl", output_dir / "events.jsonl"
        self.run = None
        self.run_id = run_id
        if not is_main or tc.wandb == "disabled":
            return
        import wandb

        mode = "online" if tc.wandb == "online" and os.environ.get("WANDB_API_KEY") else "offline"
        if tc.wandb == "online" and mode == "offline":
            log.warning("tracking.wandb=online but WANDB_API_KEY is not set: logging offline")
        self.run_id = run_id or uuid.uuid4().hex[:8]
        (output_dir / "wandb").mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=tc.project,
            name=tc.run_name or output_dir.parent.name,
            id=self.run_id,
            resume="allow",
            dir=str(output_dir),
            mode=mode,
            config=config,
            settings=wandb.Settings(console="off", x_disable_stats=True),
        )

    def metrics(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        append_jsonl(self.metrics_path, {**record, "time": time.time()})
        if self.run is not None:
            # no explicit W&B step: after a rollback the trainer's step goes back, W&B's may not
            self.run.log({k: v for k, v in record.items() if isinstance(v, int | float)})

    def event(self, kind: str, **fields: Any) -> None:
        if not self.is_main:
            return
        log.warning("event %s %s", kind, fields)
        append_jsonl(self.events_path, {"event": kind, **fields, "time": time.time()})
        if self.run is not None:
            self.run.log({f"events/{kind}": 1, "step": fields.get("step", -1)})
            self.run.summary[f"last_event/{kind}"] = str(fields)

    def close(self, exit_code: int = 0) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None
