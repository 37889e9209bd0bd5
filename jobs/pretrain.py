"""Continued pretraining (FSDP2 + TP) on the preprocess job's blend, surviving preemption and
loss spikes; writes checkpoints/, metrics.jsonl, events.jsonl, wandb/, final/ and loss.png."""

from __future__ import annotations

import sys
from pathlib import Path

from mothertongue.config import ConfigError, load_config, will_exist
from mothertongue.train.config import PretrainConfig as Config
from mothertongue.train.config import check_config


def validate(cfg: Config) -> None:
    """Login-node checks: impossible meshes and batch sizes fail here, naming the key."""
    r = cfg.resources
    check_config(cfg, world_size=r.nodes * r.tasks_per_node)
    if r.tasks_per_node % cfg.parallel.tp:
        raise ConfigError(
            "parallel.tp", f"{cfg.parallel.tp} must divide the {r.tasks_per_node} tasks (GPUs) of a node"
        )
    if cfg.data.blend and not will_exist(cfg.data.blend):
        raise ConfigError("data.blend", f"{cfg.data.blend} does not exist (run the preprocess job first)")


def main(cfg: Config) -> dict:
    from mothertongue.train.trainer import Trainer

    trainer = Trainer(cfg)
    try:
        result = trainer.train()
        if trainer.d.is_main:
            result.update(finish_outputs(cfg))
    finally:
        trainer.close()
    return result


def finish_outputs(cfg: Config) -> dict:
    """Rank 0: HF export of the last checkpoint and the loss plot."""
    from mothertongue.train.export import export_hf, latest_checkpoint
    from mothertongue.train.plot import plot_run

    out, outputs = Path(cfg.output_dir), {}
    last = latest_checkpoint(out)
    if cfg.export_final and last is not None:
        outputs["final"] = str(export_hf(last, out / "final"))
    if cfg.plot:
        outputs["plot"] = str(plot_run(out))
    return outputs


if (
    __name__ == "__main__"
):  # python -m mothertongue.jobs.pretrain CONFIG.yaml key=value ... (torchrun-style env)
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    print(main(load_config(Config, sys.argv[1], sys.argv[2:])))
