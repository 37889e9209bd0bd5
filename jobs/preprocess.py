"""Tokenize curated text into Megatron mmap indexed datasets (one prefix per dataset and split)
and write the blend the pretraining job reads. Slurm arrays tokenize shards; `main` merges."""

from __future__ import annotations

from mothertongue.data import preprocess
from mothertongue.data.config import PreprocessConfig as Config

__all__ = ["Config", "validate", "array_size", "main_shard", "main"]


def validate(cfg: Config) -> None:
    """Login-node checks (inputs may not exist yet: an upstream stage may produce them)."""
    preprocess.check_config(cfg)


def array_size(cfg: Config) -> int:
    """How many Slurm array tasks tokenize before the merge (1: no array, `main` does it all)."""
    return cfg.array_tasks


def main_shard(cfg: Config, index: int) -> dict:
    """Array task `index`: tokenize its share of the work units into partial datasets."""
    return preprocess.run_shard(cfg, index)


def main(cfg: Config) -> dict:
    """Finish any units no shard did, merge into `<name>_<split>.{bin,idx}`, write blend.json."""
    return preprocess.run_all(cfg)
