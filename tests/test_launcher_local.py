"""Without Slurm (no root, no apt): the same jobs through submitit's local executor."""

from __future__ import annotations

from pathlib import Path

import yaml
from mothertongue.cli import main as cli
from mothertongue.io import read_jsonl
from mothertongue.manifest import read_manifest
from mothertongue.rundir import RunDir

from tests.slurm_helpers import REPO


def test_pipeline_runs_stage_after_stage_without_slurm(tmp_path: Path) -> None:
    pipeline = tmp_path / "small.yaml"
    pipeline.write_text(
        yaml.safe_dump(
            {
                "name": "small",
                "cluster": "local-noslurm",
                "stages": {
                    "curate": {
                        "config": str(REPO / "configs/curate/tiny.yaml"),
                        "set": {
                            "datasets.0.sources.0.max_docs": 400,
                            "datasets.0.sources.1.max_docs": 50,
                            "datasets.1.sources.0.max_docs": 50,
                        },
                    },
                    "tokenizer": {
                        "config": str(REPO / "configs/tokenizer/tiny.yaml"),
                        "set": {
                            "builtin_corpus": None,
                            "train_files": ["{run}/curate/datasets/yue"],
                            "vocab_size": 600,
                        },
                    },
                    "preprocess": {
                        "config": str(REPO / "configs/preprocess/tiny.yaml"),
                        "set": {
                            "tokenizer": "{run}/tokenizer/model",
                            "datasets.0.paths": ["{run}/curate/datasets/yue"],
                            "datasets.1.paths": ["{run}/curate/datasets/en"],
                            "array_tasks": 2,
                        },
                    },
                },
            }
        )
    )
    run = RunDir(tmp_path / "run")
    assert cli(["run", str(pipeline), "--run", str(run.root)]) == 0
    for job in ("curate", "tokenizer", "preprocess"):
        assert read_manifest(run.stage(job)) is not None, job
    assert (run.stage("preprocess") / "yue_train.bin").stat().st_size > 0
    submitted = len(read_jsonl(run.jobs_file))
    assert cli(["run", str(pipeline), "--run", str(run.root)]) == 0  # everything is up to date
    assert len(read_jsonl(run.jobs_file)) == submitted
