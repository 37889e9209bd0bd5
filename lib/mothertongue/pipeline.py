"""`mothertongue run PIPELINE.yaml`: every stage as a Slurm job, chained with afterok.

A pipeline YAML names, per stage, the job's config file and the keys to set, where `{run}`
stands for the run directory (so a stage can read what the stage before it wrote):

    name: demo-cantonese
    cluster: local
    stages:
      curate:    {config: configs/curate/tiny.yaml}
      tokenizer: {config: configs/tokenizer/tiny.yaml, set: {train_files: ["{run}/curate/datasets/yue"]}}

Every stage is validated on the login node before the first job is submitted. A stage whose
manifest matches is skipped; once one stage runs, every stage after it is submitted too (its
job still skips itself on the node if its inputs turn out unchanged).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from mothertongue.config import ConfigError, load_config, parse_override
from mothertongue.io import atomic_write_json
from mothertongue.launcher.clusters import load_profile
from mothertongue.launcher.executor import slurm_available
from mothertongue.launcher.status import FINAL_BAD, cancel, log_files, run_status, status_table
from mothertongue.launcher.submit import Submission, prepare, submit
from mothertongue.rundir import JOBS, RunDir

console = Console()


@dataclass
class StageSpec:
    config: str
    set: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass
class PipelineConfig:
    name: str
    cluster: str = "local"
    run_dir: str | None = None
    stages: dict[str, StageSpec] = field(default_factory=dict)


def _substitute(value: Any, run: RunDir) -> Any:
    """Replace `{run}` by the run directory in every string of a (nested) setting."""
    if isinstance(value, str):
        return value.replace("{run}", str(run.root))
    if isinstance(value, list):
        return [_substitute(v, run) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, run) for k, v in value.items()}
    return value


def load_pipeline(path: str | Path, overrides: list[str]) -> PipelineConfig:
    """Load a pipeline; overrides are `stage.key=value` (stage keys) or `name=...`/`cluster=...`."""
    own, per_stage = [], []
    for o in overrides:
        (per_stage if o.split(".", 1)[0] in JOBS else own).append(o)
    pipeline = load_config(PipelineConfig, path, own)
    for job in pipeline.stages:
        if job not in JOBS:
            raise ConfigError(f"stages.{job}", f"unknown stage; choose from {', '.join(JOBS)}", path)
    for o in per_stage:
        job, rest = o.split(".", 1)
        if job not in pipeline.stages:
            raise ConfigError(
                job, "override for a stage the pipeline does not have", "command-line overrides"
            )
        key, value = parse_override(rest)
        pipeline.stages[job].set[key] = value
    return pipeline


def prepare_stages(
    pipeline: PipelineConfig, path: Path, run: RunDir, cluster: str, strict_inputs: bool = True
) -> list[tuple[str, Any]]:
    """Validate every enabled stage now, in order; a later stage may read what earlier ones make."""
    profile = load_profile(cluster)
    produced: set[Path] = set()
    prepared = []
    base = path.parent
    for job in (j for j in JOBS if j in pipeline.stages and pipeline.stages[j].enabled):
        spec = pipeline.stages[job]
        config = Path(spec.config)
        if not config.is_absolute() and not config.exists():
            config = (base / config) if (base / config).exists() else Path.cwd() / config
        settings = {k: _substitute(v, run) for k, v in spec.set.items()}
        cfg = prepare(job, config, [], run, profile, produced, settings, strict_inputs)
        produced.add(run.stage(job))
        prepared.append((job, cfg))
    return prepared


def run_pipeline(
    path: str | Path,
    overrides: list[str],
    cluster: str | None = None,
    detach: bool = False,
    dry_run: bool = False,
    run: str | None = None,
) -> int:
    path = Path(path)
    pipeline = load_pipeline(path, overrides)
    cluster = cluster or pipeline.cluster
    rundir = RunDir(Path(run or pipeline.run_dir or Path("runs") / pipeline.name))
    stages = prepare_stages(pipeline, path, rundir, cluster, strict_inputs=not dry_run)
    profile = load_profile(cluster)
    if dry_run:
        for job, cfg in stages:
            sub = submit(job, cfg, rundir, profile, dependency="afterok:<previous stage>", dry_run=True)
            console.rule(f"{job} -> {sub.stage_dir}")
            console.out(sub.script or "")
        console.print(f"[green]all {len(stages)} stages are valid[/]; nothing submitted (dry run)")
        return 0
    if profile.executor == "slurm" and not slurm_available():
        console.print("[red]Slurm does not answer.[/] Start the embedded cluster with `slurm/local/up.sh`.")
        return 2

    if profile.executor == "local":
        return run_locally(stages, rundir, profile)
    submissions = submit_stages(stages, rundir, profile)
    console.print(f"run directory: {rundir.root}")
    if detach:
        console.print(f"submitted; follow with `mothertongue status {rundir.root}`")
        return 0
    return watch(rundir, submissions)


def submit_stages(stages: list[tuple[str, Any]], run: RunDir, profile: Any) -> list[Submission]:
    """Submit the chain; stages before the first out-of-date one are skipped."""
    run.root.mkdir(parents=True, exist_ok=True)
    dependency: str | None = None
    started = False
    submissions = []
    record: dict[str, Any] = {"submitted": time.time(), "stages": {}}
    for job, cfg in stages:
        sub = submit(job, cfg, run, profile, dependency=dependency, skip_if_done=not started)
        submissions.append(sub)
        record["stages"][job] = {
            "skipped": sub.skipped,
            "slurm_ids": [j.job_id for j in sub.jobs],
            "dependency": dependency,
            "output_dir": str(sub.stage_dir),
            "reason": sub.stale_reason or ("upstream stage reruns" if started else None),
        }
        if not sub.skipped:
            started = True
            dependency = f"afterok:{sub.job_id}"
            after = record["stages"][job]["dependency"]
            console.print(
                f"  {job:<10} submitted as {sub.job_id}{f' ({after})' if after else ''}: "
                f"{record['stages'][job]['reason']}"
            )
        else:
            console.print(f"  {job:<10} [green]up to date[/], skipped")
    atomic_write_json(run.pipeline_file, record)
    return submissions


def run_locally(stages: list[tuple[str, Any]], run: RunDir, profile: Any) -> int:
    """No Slurm: each stage runs as local processes (submitit's LocalExecutor), one after another."""
    console.print(f"[yellow]no Slurm[/] (cluster '{profile.name}'): stages run here, one after another")
    for job, cfg in stages:
        started = time.monotonic()
        sub = submit(job, cfg, run, profile)
        if sub.skipped:
            console.print(f"  {job:<10} [green]up to date[/], skipped")
            continue
        try:
            sub.result()
        except Exception as exc:  # noqa: BLE001 - report any job failure the same way
            console.print(f"[red]stage {job} failed[/]: {str(exc).splitlines()[0]}")
            console.print(
                f"  its logs: {run.job_logs(job)}; fix the cause and run again: finished stages are skipped."
            )
            return 1
        console.print(f"  {job:<10} [green]done[/] in {time.monotonic() - started:.0f} s: {sub.stale_reason}")
    console.print(f"[green]pipeline finished[/]; outputs in {run.root}")
    return 0


def watch(run: RunDir, submissions: list[Submission], poll_s: float = 3.0) -> int:
    """Live table until every submitted stage finished or one failed; then a summary."""
    pending = [s for s in submissions if not s.skipped]
    with Live(status_table(run), console=console, refresh_per_second=1) as live:
        while True:
            states = {s.job: s for s in run_status(run) if s.kind == "main"}
            live.update(status_table(run))
            failed = [j for j, s in states.items() if s.state.split()[0] in FINAL_BAD]
            if failed or all(states.get(s.job) and states[s.job].state == "COMPLETED" for s in pending):
                break
            time.sleep(poll_s)
    if failed:
        job = failed[0]
        cancelled = cancel(run)  # dependants would wait forever where Slurm keeps them pending
        logs = log_files(run, job)
        console.print(
            f"[red]stage {job} failed[/] ({states[job].state}); later stages will not run"
            + (f" (cancelled {', '.join(cancelled)})." if cancelled else ".")
        )
        if logs:
            console.print(f"  its log: {logs[-1].with_suffix('.err')}")
        console.print(
            "  fix the cause, then run the same `mothertongue run` again: finished stages are skipped."
        )
        return 1
    console.print("\n[green]pipeline finished[/]")
    for report in (
        run.stage("evaluate") / "report.md",
        run.stage("pretrain") / "loss.png",
        run.stage("curate") / "report.md",
    ):
        if report.exists():
            console.print(f"  {report}")
    return 0
