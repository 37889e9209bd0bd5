"""Submit a job: load and validate its config on the login node, then hand it to Slurm.

Everything that can be wrong with a config fails here, before sbatch, with the key named:
types and unknown keys (config loader), missing inputs, the job's own `validate`, and
resources the cluster cannot give.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import submitit
from mothertongue.config import ConfigError, check_inputs_exist, load_config, upstream_outputs
from mothertongue.io import append_jsonl
from mothertongue.launcher.clusters import ClusterProfile
from mothertongue.launcher.executor import check_resources, make_executor, sbatch_script
from mothertongue.launcher.stage import StageJob, job_module
from mothertongue.manifest import stale_reason
from mothertongue.rundir import JOBS, RunDir

log = logging.getLogger(__name__)


@dataclass
class Submission:
    job: str
    cfg: Any
    stage_dir: Path
    jobs: list[submitit.Job] = field(default_factory=list)  # array tasks first, the main job last
    skipped: bool = False
    script: str | None = None  # sbatch script (dry runs)
    stale_reason: str | None = None  # why the stage (re)runs

    @property
    def job_id(self) -> str | None:
        return self.jobs[-1].job_id if self.jobs else None

    def result(self) -> Any:
        """Wait for the main job; rank 0's result for multi-task (distributed) jobs."""
        return self.jobs[-1].results()[0] if self.jobs else None


def prepare(
    job: str,
    config_path: str | Path | None,
    overrides: list[str],
    run: RunDir,
    profile: ClusterProfile,
    produced: set[Path] | None = None,
    settings: dict[str, Any] | None = None,
    strict_inputs: bool = True,
) -> Any:
    """Load and validate a job config for `run`; the launcher owns `output_dir`.

    With `strict_inputs=False` (dry runs on a laptop) missing input files are reported, not fatal.
    """
    if job not in JOBS:
        raise ConfigError("JOB", f"unknown job {job!r}; choose one of {', '.join(JOBS)}")
    module = job_module(job)
    settings = dict(settings or {})
    if not any(o.split("=", 1)[0] == "output_dir" for o in overrides):
        settings["output_dir"] = str(run.stage(job))
    cfg = load_config(module.Config, config_path, overrides, settings)
    with upstream_outputs(produced or set(), lenient=not strict_inputs):
        check_inputs_exist(cfg, config_path, produced)
        if hasattr(module, "validate"):
            try:
                module.validate(cfg)
            except ConfigError as exc:
                raise ConfigError(exc.key, str(exc).split(": ", 1)[-1], config_path) from None
    check_resources(cfg.resources, profile)
    return cfg


def submit(
    job: str,
    cfg: Any,
    run: RunDir,
    profile: ClusterProfile,
    dependency: str | None = None,
    dry_run: bool = False,
    skip_if_done: bool = True,
) -> Submission:
    """Submit `job` (an array of shards first when the job shards) into the run directory."""
    stage_dir = Path(cfg.output_dir)
    sub = Submission(job, cfg, stage_dir)
    if skip_if_done and not dry_run:
        sub.stale_reason = stale_reason(stage_dir, cfg)
        if sub.stale_reason is None:
            sub.skipped = True
            return sub
    module = job_module(job)
    shards = module.array_size(cfg) if hasattr(module, "array_size") else 1
    folder = run.job_logs(job) / "%j"
    if shards > 1:
        array_ex = make_executor(folder, cfg.resources, profile, f"{job}-shard", dependency)
        if dry_run:
            sub.script = sbatch_script(array_ex)
        else:
            with array_ex.batch():
                for i in range(shards):
                    sub.jobs.append(array_ex.submit(StageJob(job, cfg, shard=i)))
            if profile.executor == "local":  # no scheduler to honour afterok: the shards finish first
                for shard_job in sub.jobs:
                    shard_job.results()
            dependency = f"afterok:{sub.jobs[0].job_id.split('_')[0]}"
            _record(run, job, sub.jobs[0].job_id.split("_")[0], "array", dependency=None, shards=shards)
    executor = make_executor(folder, cfg.resources, profile, job, dependency)
    if dry_run:
        sub.script = (sub.script or "") + sbatch_script(executor)
        return sub
    main_job = executor.submit(StageJob(job, cfg))
    sub.jobs.append(main_job)
    _record(run, job, main_job.job_id, "main", dependency=dependency)
    return sub


def _record(run: RunDir, job: str, slurm_id: str, kind: str, dependency: str | None, **extra: Any) -> None:
    append_jsonl(
        run.jobs_file,
        {
            "job": job,
            "slurm_id": slurm_id,
            "kind": kind,
            "dependency": dependency,
            "submitted": time.time(),
            **extra,
        },
    )
