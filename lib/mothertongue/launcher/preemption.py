"""Preemption and time limits: save at a safe point, requeue, resume from the checkpoint.

Slurm sends USR2 (submitit's `--signal=USR2@90`, or `scancel --signal=USR2`) before a time
limit or preemption, and SIGTERM when it kills a job. submitit's own handler requeues a
*fresh unpickled* copy of the callable, which cannot see a live trainer's state, so
long-running jobs install this watcher instead: the signal only sets a flag; the job checks
`requested` at a safe point (between steps), saves, then calls `requeue_and_exit()`.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from types import FrameType

log = logging.getLogger(__name__)


class PreemptionWatcher:
    """Turns USR2/SIGTERM into a flag that a training loop polls between steps."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    @classmethod
    def install(
        cls, signals: tuple[signal.Signals, ...] = (signal.SIGUSR2, signal.SIGTERM)
    ) -> PreemptionWatcher:
        watcher = cls()
        for sig in signals:
            signal.signal(sig, watcher._on_signal)
        return watcher

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        log.warning("caught %s: will checkpoint and requeue at the next safe point", self.signal_name)

    @property
    def requested(self) -> bool:
        return self.signal_name is not None


def under_slurm() -> bool:
    return "SLURM_JOB_ID" in os.environ


def _job_id() -> str | None:
    if os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def send_usr2_to_own_job(global_rank: int = 0) -> None:
    """Fault injection: a real preemption notice. Under Slurm rank 0 asks Slurm to signal every
    task of this job (`scancel --signal=USR2`, the path a real preemption takes); elsewhere each
    process signals itself."""
    job_id = _job_id()
    if job_id:
        if global_rank == 0:
            subprocess.check_call(["scancel", "--signal=USR2", job_id], timeout=60)
    else:
        os.kill(os.getpid(), signal.SIGUSR2)


def requeue_and_exit(global_rank: int = 0) -> None:
    """Rank 0 asks Slurm to requeue this job; every rank then exits without a result.

    Exiting with SystemExit (not an exception) keeps submitit from writing a result file, so
    the client keeps waiting for the requeued attempt, as with submitit's own requeue.
    """
    job_id = _job_id()
    if global_rank == 0 and job_id:
        subprocess.check_call(["scontrol", "requeue", job_id], timeout=60)
        log.warning("requeued Slurm job %s", job_id)
    sys.exit(-1)
