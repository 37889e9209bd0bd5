"""Batches by sample index: the global batch of step s is samples [p, p + global_batch).

`p` (consumed_samples, plus any windows the spike guard skipped) is the only data state, so
a resumed run (also at another world size) reads exactly the next samples, and a rollback
can skip a window. Each data-parallel rank reads its own slice; TP peers read the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mothertongue.train.config import PretrainConfig


@dataclass
class Batch:
    tokens: torch.Tensor  # [micro, seq]
    labels: torch.Tensor
    loss_mask: torch.Tensor
    position_ids: torch.Tensor


def build_datasets(cfg: PretrainConfig, tokenizer_dir: Path, extra_train_batches: int = 0) -> dict:
    """megatron-core GPT datasets of the preprocess job's blend, sized for the whole run."""
    from mothertongue.data.blend import build_gpt_datasets

    gb = cfg.global_batch_size
    train = (cfg.steps + extra_train_batches) * gb
    valid = cfg.val_batches * gb if cfg.val_every > 0 and cfg.val_batches > 0 else 0
    cache = cfg.data.cache_dir or str(Path(cfg.output_dir) / "data_cache")
    return build_gpt_datasets(
        cfg.data.blend,
        seq_length=cfg.seq_length,
        seed=cfg.seed,
        num_samples={"train": train, "valid": valid},
        tokenizer_dir=str(tokenizer_dir),
        cache_dir=cache,
        eod_mask_loss=cfg.data.eod_mask_loss,
    )


def micro_batches(
    dataset, start: int, global_batch: int, micro: int, dp_rank: int, dp_size: int
) -> list[Batch]:
    """This rank's micro-batches of the global batch that begins at sample `start`.

    Sample order inside the global batch is rank-major per micro-step, so the same global
    batch is read whatever the data-parallel size.
    """
    per_rank = global_batch // dp_size
    out = []
    for m in range(per_rank // micro):
        first = start + m * dp_size * micro + dp_rank * micro
        items = [dataset[i] for i in range(first, first + micro)]
        out.append(
            Batch(
                *(
                    torch.stack([torch.as_tensor(it[k]) for it in items])
                    for k in ("tokens", "labels", "loss_mask", "position_ids")
                )
            )
        )
    return out
