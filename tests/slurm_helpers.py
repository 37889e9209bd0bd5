"""Shared by the tests that submit real jobs to the embedded Slurm cluster (slurm/local/)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def ensure_cluster() -> None:
    """Start the embedded cluster if it is not up; fail (not skip) when it cannot start."""
    if subprocess.run([str(REPO / "slurm/local/status.sh")], capture_output=True).returncode == 0:
        return
    up = subprocess.run([str(REPO / "slurm/local/up.sh")], capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, f"slurm/local/up.sh failed:\n{up.stdout}\n{up.stderr}"


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def sacct_states(job_id: str) -> list[str]:
    """All accounting states of a job, requeued attempts included, oldest first."""
    out = subprocess.run(
        ["sacct", "-D", "-X", "-n", "-P", "-j", job_id, "-o", "State"], capture_output=True, text=True
    ).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def squeue_state(job_id: str) -> str:
    out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T %r"], capture_output=True, text=True).stdout
    return out.strip()
