"""What runs on the compute node: one job's `main(cfg)` wrapped with the run-directory rules.

The wrapper (not each job) records attempts, exports the torch.distributed environment for
multi-task jobs, skips a stage whose manifest matches, and writes the manifest on success.
It is a submitit `Checkpointable`: on USR2/timeout a job without its own preemption handling
is requeued and starts again; its outputs are atomic, so a restart is safe.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import submitit
from mothertongue.io import append_jsonl, read_jsonl
from mothertongue.manifest import manifest_matches, read_manifest, write_manifest

ATTEMPTS = ".attempts.jsonl"


def job_module(job: str) -> ModuleType:
    return importlib.import_module(f"mothertongue.jobs.{job}")


def _slurm_id() -> str | None:
    if "SLURM_ARRAY_JOB_ID" in os.environ:
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def _setup_distributed() -> int:
    """Export RANK/WORLD_SIZE/... (Slurm or submitit's local executor) when the job has several
    tasks; return the rank."""
    if submitit.JobEnvironment().num_tasks > 1:
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False, overwrite=True)
    return int(os.environ.get("RANK", "0"))


def record_attempt(stage_dir: Path, job: str, shard: int | None = None) -> int:
    """Append this attempt to the stage's attempt log and return its number (1-based)."""
    attempts = [a for a in read_jsonl(stage_dir / ATTEMPTS) if a.get("shard") == shard]
    slurm_id = _slurm_id()
    number = 1 + sum(1 for a in attempts if slurm_id and a.get("slurm_job") == slurm_id)
    append_jsonl(
        stage_dir / ATTEMPTS,
        {
            "job": job,
            "shard": shard,
            "slurm_job": slurm_id,
            "attempt": number,
            "restart_count": int(os.environ.get("SLURM_RESTART_COUNT", "0")),
            "host": socket.gethostname(),
            "started": time.time(),
        },
    )
    return number


class StageJob(submitit.helpers.Checkpointable):
    """Run `mothertongue.jobs.<job>.main(cfg)` (or `main_shard(cfg, shard)`) on a compute node."""

    def __init__(self, job: str, cfg: Any, shard: int | None = None) -> None:
        self.job, self.cfg, self.shard = job, cfg, shard

    def __call__(self) -> dict[str, Any]:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        rank = _setup_distributed()
        stage_dir = Path(self.cfg.output_dir)
        stage_dir.mkdir(parents=True, exist_ok=True)
        if rank == 0:
            attempt = record_attempt(stage_dir, self.job, self.shard)
            logging.info(
                "job %s shard %s attempt %d on %s", self.job, self.shard, attempt, socket.gethostname()
            )
        module = job_module(self.job)
        if self.shard is not None:
            return module.main_shard(self.cfg, self.shard)
        if manifest_matches(stage_dir, self.cfg):
            logging.info("stage %s is up to date (manifest matches); skipping", self.job)
            return {"skipped": True, **(read_manifest(stage_dir) or {}).get("result", {})}
        result = module.main(self.cfg) or {}
        if rank == 0:
            write_manifest(stage_dir, self.cfg, result, job=self.job, slurm_job=_slurm_id())
            logging.info("stage %s finished: %s", self.job, json.dumps(result, default=str)[:2000])
        return result
