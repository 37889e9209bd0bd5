"""Cluster profiles (`slurm/clusters/*.yaml`): where jobs run, separate from what they do.

A profile holds what changes from one supercomputer to the next (partition, account, QoS,
container image, set-up lines); a job's `resources` say how much it needs. Together they
become submitit/sbatch parameters in `executor.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mothertongue.config import ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class ClusterProfile:
    name: str = "local"
    executor: str = "slurm"  # "slurm", or "local" (submitit's local executor, no Slurm needed)
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    gpus_per_node: int = 0  # what a node has; jobs ask for up to this many
    cpus_per_gpu: int | None = None
    mem_gb_per_node: float | None = None
    max_time_min: int | None = None
    container_image: str | None = None  # pyxis/enroot: --container-image
    container_mounts: str | None = None
    python: str | None = None  # interpreter on the compute nodes (default: the one submitting)
    mail_user: str | None = None
    mail_type: str | None = None
    signal_delay_s: int = 90  # USR2 this long before the time limit: time to checkpoint
    max_requeues: int = 20
    sbatch_extra: dict[str, str] = field(default_factory=dict)  # any other #SBATCH --key=value ("" = flag)
    setup: list[str] = field(default_factory=list)  # shell lines before srun (modules, venv)
    env: dict[str, str] = field(default_factory=dict)  # exported to jobs (never secrets)


def clusters_dir() -> Path:
    return Path(os.environ.get("MOTHERTONGUE_CLUSTERS", REPO_ROOT / "slurm" / "clusters"))


def load_profile(name_or_path: str = "local") -> ClusterProfile:
    """A profile by name (`slurm/clusters/<name>.yaml`) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = clusters_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in clusters_dir().glob("*.yaml"))
        raise ConfigError("--cluster", f"no cluster profile {name_or_path!r}; known: {', '.join(known)}")
    profile = load_config(ClusterProfile, path)
    for key in profile.env:
        if any(word in key.upper() for word in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
            raise ConfigError(f"env.{key}", "secrets must come from the environment, not a profile", path)
    return profile
