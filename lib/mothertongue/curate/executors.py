"""Where the stages run: in this process, on Ray Data, or on Xenna (batch) — same stage objects.

`inprocess` runs each stage through Curator's own `BaseStageAdapter` (task ids, perf stats)
one after another: no Ray start-up (~15 s on 2 cores), the right choice for tiny inputs and
CI.  `ray_data` starts a private single-node Ray head as a subprocess we own (its own temp
dir and port; PIDs recorded) unless `ray_address`/RAY_ADDRESS points at a running cluster,
and always stops it in a `finally`, so no `ray::` process outlives the job.

Multi-node on Slurm: launch the job with one task per node; on each node
`nemo_curator.core.client.SlurmRayClient(cleanup_on_start=False).start()` makes node 0 the
head (it writes its port to a shared file) and nodes > 0 workers that block until the head
stops; node 0 then runs the pipeline with `RAY_ADDRESS` set, which `RayCluster` below detects
and merely connects to.  (We never pass `cleanup_on_start=True`: it runs `ray stop --force`,
which would kill other users' Ray processes on a shared node.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import psutil
from nemo_curator.backends.base import BaseExecutor, BaseStageAdapter
from nemo_curator.stages.base import ProcessingStage
from nemo_curator.tasks import Task


class InProcessExecutor(BaseExecutor):
    """Runs the pipeline's stages sequentially in this process (same `process_batch` as Ray)."""

    def execute(self, stages: list[ProcessingStage], initial_tasks: list[Task] | None = None) -> list[Task]:
        tasks: list[Task] = list(initial_tasks or [])
        for stage in stages:
            stage.setup_on_node()
            stage.setup()
            adapter = BaseStageAdapter(stage)
            try:
                out: list[Task] = []
                for task in tasks:
                    out += adapter.process_batch([task])
                tasks = out
            finally:
                stage.teardown()
        return tasks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayCluster:
    """A private Ray head for one job; `pids` holds every process it started (for cleanup and tests)."""

    def __init__(self, num_cpus: int, address: str = ""):
        self.num_cpus, self.address = num_cpus, address or os.environ.get("RAY_ADDRESS", "")
        self.proc: subprocess.Popen | None = None
        self.temp_dir = ""
        self.pids: set[int] = set()
        self._old_address: str | None = None

    def start(self) -> None:
        if self.address:  # an existing cluster (multi-node, started by SlurmRayClient): connect only
            os.environ["RAY_ADDRESS"] = self.address
            return
        port = _free_port()
        self.temp_dir = tempfile.mkdtemp(prefix="mtray", dir="/tmp")
        cmd = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
            "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", str(self.num_cpus),
            "--num-gpus", "0", "--include-dashboard", "false", "--disable-usage-stats",
            "--temp-dir", self.temp_dir,
        ]  # fmt: skip
        log = open(os.path.join(self.temp_dir, "head.log"), "w")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pids.add(self.proc.pid)
        self._old_address = os.environ.get("RAY_ADDRESS")
        os.environ["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray head exited early; see {log.name}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(0.5)  # GCS listens slightly before the raylet registers
                self._record_children()
                return
            time.sleep(0.2)
        raise TimeoutError("ray head did not open its port within 120 s")

    def _record_children(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.pids.add(child.pid)
        # raylet-started workers share the session: find them by our temp dir on their command line
        for p in psutil.process_iter(["pid", "cmdline"]):
            with contextlib.suppress(psutil.Error, TypeError):
                if self.temp_dir and any(self.temp_dir in part for part in p.info["cmdline"] or []):
                    self.pids.add(p.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        self._record_children()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        procs = []
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(pid)
                p.terminate()
                procs.append(p)
        _, alive = psutil.wait_procs(procs, timeout=10)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self._old_address is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = self._old_address
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.proc = None


@contextlib.contextmanager
def executor_for(kind: str, num_workers: int, ray_address: str = "") -> Iterator[Any]:
    """Yield an executor; any Ray cluster it needed is stopped on exit, error or not."""
    if kind == "inprocess":
        yield InProcessExecutor()
        return
    if kind not in ("ray_data", "xenna"):
        raise ValueError(f"unknown executor {kind!r}: inprocess | ray_data | xenna")
    cluster = RayCluster(num_workers, ray_address)
    cluster.start()
    try:
        if kind == "ray_data":
            from nemo_curator.backends.ray_data import RayDataExecutor

            yield RayDataExecutor()
        else:
            from nemo_curator.backends.xenna import XennaExecutor

            yield XennaExecutor(config={"execution_mode": "batch"})  # streaming refuses 2 cores
    finally:
        cluster.stop()
