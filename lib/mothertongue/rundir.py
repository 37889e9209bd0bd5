"""The one place that knows the run-directory layout (see DESIGN.md).

runs/<name>/
  pipeline.json   job ids, states, dependencies
  curate/ tokenizer/ data/ pretrain/ eval/   one folder per stage, each ending with manifest.json
  logs/           submitit stdout/stderr per job and attempt
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# job name -> the folder its outputs go to
STAGE_DIRS = {
    "curate": "curate",
    "tokenizer": "tokenizer",
    "preprocess": "data",
    "pretrain": "pretrain",
    "evaluate": "eval",
}
JOBS = tuple(STAGE_DIRS)


@dataclass(frozen=True)
class RunDir:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())

    def stage(self, job: str) -> Path:
        return self.root / STAGE_DIRS.get(job, job)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def job_logs(self, job: str) -> Path:
        return self.logs / job

    @property
    def pipeline_file(self) -> Path:
        return self.root / "pipeline.json"

    @property
    def jobs_file(self) -> Path:
        """Every submission made into this run (job, Slurm id, time), one JSON line each."""
        return self.root / "jobs.jsonl"
