"""What happened to a run's jobs: states from Slurm accounting, attempts, logs, cancel."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mothertongue.io import read_jsonl
from mothertongue.launcher.stage import ATTEMPTS
from mothertongue.rundir import RunDir
from rich.console import Console
from rich.table import Table

FINAL_OK = {"COMPLETED"}
FINAL_BAD = {"FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"}


@dataclass
class JobState:
    job: str
    slurm_id: str
    kind: str
    state: str
    attempts: int
    elapsed: str
    node: str

    @property
    def finished(self) -> bool:
        return self.state in FINAL_OK or self.state.split()[0] in FINAL_BAD


def sacct_rows(job_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Every accounting record (requeued attempts included, `-D`) per job id, oldest first."""
    if not job_ids:
        return {}
    fields = ["JobID", "State", "Elapsed", "NodeList", "Start"]
    try:
        out = subprocess.run(
            ["sacct", "-D", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", ",".join(fields)],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    rows: dict[str, list[dict[str, str]]] = {}
    for line in out.splitlines():
        values = dict(zip(fields, line.split("|"), strict=False))
        job_id = values["JobID"].split("_")[0] if "[" in values["JobID"] else values["JobID"]
        rows.setdefault(job_id, []).append(values)
        if "_" in values["JobID"]:
            rows.setdefault(values["JobID"].split("_")[0], []).append(values)
    return rows


def run_status(run: RunDir) -> list[JobState]:
    """The latest submission of each job in the run, with its Slurm state and attempt count."""
    latest: dict[tuple[str, str], dict] = {}
    for record in read_jsonl(run.jobs_file):
        latest[(record["job"], record["kind"])] = record
    rows = sacct_rows([r["slurm_id"] for r in latest.values()])
    states = []
    for (job, kind), record in latest.items():
        history = rows.get(record["slurm_id"], [])
        attempts_log = [
            a
            for a in read_jsonl(run.stage(job) / ATTEMPTS)
            if str(a.get("slurm_job", "")).startswith(record["slurm_id"])
        ]
        last = history[-1] if history else {"State": "PENDING?", "Elapsed": "", "NodeList": ""}
        if kind == "array" and history:
            by_task = {h["JobID"]: h["State"] for h in history if "_" in h["JobID"]}
            done = sum(1 for s in by_task.values() if s == "COMPLETED")
            last = {
                **last,
                "State": "COMPLETED" if done == len(by_task) == record.get("shards") else last["State"],
            }
        attempts = max(
            len(attempts_log),
            sum(1 for h in history if h["State"] in ("REQUEUED", "PREEMPTED")) + 1 if history else 0,
        )
        states.append(
            JobState(
                job, record["slurm_id"], kind, last["State"], attempts, last["Elapsed"], last["NodeList"]
            )
        )
    return states


def status_table(run: RunDir) -> Table:
    table = Table(title=f"run {run.root}")
    for column in ("job", "slurm id", "kind", "state", "attempts", "elapsed", "node"):
        table.add_column(column)
    colour = {"COMPLETED": "green", "RUNNING": "cyan", "PENDING": "yellow"}
    for s in run_status(run):
        style = colour.get(s.state, "red" if s.finished else "")
        table.add_row(
            s.job,
            s.slurm_id,
            s.kind,
            f"[{style}]{s.state}[/]" if style else s.state,
            str(s.attempts),
            s.elapsed,
            s.node,
        )
    return table


def log_files(run: RunDir, job: str) -> list[Path]:
    """submitit's stdout/stderr files of a job, newest submission last."""
    folder = run.job_logs(job)
    return sorted(folder.glob("*/*_log.*"), key=lambda p: p.stat().st_mtime)


def follow(paths: list[Path], console: Console, until_done: callable | None = None) -> None:
    """Print the files as they grow (like tail -f), until interrupted or `until_done()`."""
    offsets = {p: 0 for p in paths}
    while True:
        for p in paths:
            if p.exists():
                with open(p, encoding="utf-8", errors="replace") as f:
                    f.seek(offsets[p])
                    chunk = f.read()
                    offsets[p] = f.tell()
                if chunk:
                    console.out(chunk, end="")
        if until_done is not None and until_done():
            return
        time.sleep(1.0)


def cancel(run: RunDir, job: str | None = None) -> list[str]:
    ids = [s.slurm_id for s in run_status(run) if (job is None or s.job == job) and not s.finished]
    if ids:
        subprocess.run(["scancel", *ids], check=True, timeout=60)
    return ids
