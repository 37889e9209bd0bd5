"""The one place that talks to Slurm (through submitit): parameters, submission, dry runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import submitit
from mothertongue.config import ConfigError, Resources
from mothertongue.launcher.clusters import ClusterProfile
from submitit.slurm.slurm import SlurmExecutor


def slurm_available() -> bool:
    """True when sbatch exists and the controller answers."""
    if shutil.which("sbatch") is None:
        return False
    try:
        return subprocess.run(["scontrol", "ping"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def check_resources(res: Resources, profile: ClusterProfile) -> None:
    """Impossible layouts fail on the login node, with the key named."""
    if res.nodes < 1 or res.tasks_per_node < 1 or res.cpus_per_task < 1:
        raise ConfigError("resources", "nodes, tasks_per_node and cpus_per_task must be >= 1")
    if res.gpus_per_node > profile.gpus_per_node:
        raise ConfigError(
            "resources.gpus_per_node",
            f"asks for {res.gpus_per_node} GPUs but nodes of cluster '{profile.name}' have {profile.gpus_per_node}",
        )
    if res.gpus_per_node and res.tasks_per_node != res.gpus_per_node:
        raise ConfigError(
            "resources.tasks_per_node",
            f"must equal gpus_per_node ({res.gpus_per_node}): one task per GPU",
        )
    if profile.max_time_min and res.time_min > profile.max_time_min:
        raise ConfigError(
            "resources.time_min",
            f"{res.time_min} min exceeds the partition limit of {profile.max_time_min} min; "
            "jobs checkpoint and requeue, so a shorter limit loses nothing",
        )


def slurm_parameters(
    res: Resources, profile: ClusterProfile, job_name: str, dependency: str | None = None
) -> dict[str, Any]:
    extra: dict[str, Any] = {"requeue": True}
    extra.update({k: (True if v == "" else v) for k, v in profile.sbatch_extra.items()})  # "" = a flag
    if profile.container_image:
        extra["container-image"] = profile.container_image
        if profile.container_mounts:
            extra["container-mounts"] = profile.container_mounts
    params: dict[str, Any] = {
        "job_name": f"mt-{job_name}",
        "partition": profile.partition,
        "account": profile.account,
        "qos": profile.qos,
        "constraint": profile.constraint,
        "nodes": res.nodes,
        "ntasks_per_node": res.tasks_per_node,
        "cpus_per_task": res.cpus_per_task,
        "time": res.time_min,
        "signal_delay_s": profile.signal_delay_s,
        "array_parallelism": res.array_parallelism,
        "mail_user": profile.mail_user,
        "mail_type": profile.mail_type,
        "setup": [f"export {k}={v}" for k, v in profile.env.items()] + list(profile.setup),
        "dependency": dependency,
        "additional_parameters": extra,
    }
    if res.gpus_per_node:
        params["gpus_per_node"] = res.gpus_per_node
    if res.mem_gb:
        params["mem"] = f"{int(res.mem_gb * 1024)}M"
    elif profile.mem_gb_per_node:
        params["mem"] = f"{int(profile.mem_gb_per_node * 1024)}M"
    return {k: v for k, v in params.items() if v not in (None, [], {})}


def make_executor(
    folder: Path, res: Resources, profile: ClusterProfile, job_name: str, dependency: str | None = None
) -> submitit.Executor:
    """A submitit executor for one job: Slurm, or the local executor where there is no Slurm."""
    if profile.executor == "local":
        executor = submitit.LocalExecutor(folder, max_num_timeout=profile.max_requeues)
        executor.update_parameters(timeout_min=res.time_min, tasks_per_node=res.tasks_per_node)
        return executor
    executor = SlurmExecutor(folder, max_num_timeout=profile.max_requeues, python=profile.python)
    executor.update_parameters(**slurm_parameters(res, profile, job_name, dependency))
    return executor


def sbatch_script(executor: submitit.Executor) -> str:
    """The exact sbatch script submitit would submit (for --dry-run)."""
    if not isinstance(executor, SlurmExecutor):
        return "# local executor: no sbatch script (jobs run as local processes)\n"
    return executor._make_submission_file_text(executor._submitit_command_str, "dry-run")
