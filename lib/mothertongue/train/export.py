"""Checkpoint -> Hugging Face safetensors directory (with the tokenizer), in one process.

The evaluation job and researchers load the result with `AutoModelForCausalLM` /
`AutoTokenizer`; no process group and no trainer code are needed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from mothertongue.io import atomic_dir
from mothertongue.train.checkpoint import HF_META, latest_complete, load_model_from_checkpoint
from mothertongue.train.model import TOKENIZER_FILES

__all__ = ["export_hf", "load_model_from_checkpoint", "latest_checkpoint"]


def latest_checkpoint(pretrain_dir: str | os.PathLike) -> Path | None:
    """The newest complete `checkpoints/step-N` of a pretrain output folder."""
    return latest_complete(Path(pretrain_dir) / "checkpoints", checksums=False)


def export_hf(
    checkpoint_dir: str | os.PathLike, out_dir: str | os.PathLike, dtype: torch.dtype = torch.bfloat16
) -> Path:
    """Write `out_dir` (atomically): config.json, model.safetensors, tokenizer files."""
    checkpoint_dir, out_dir = Path(checkpoint_dir), Path(out_dir)
    model = load_model_from_checkpoint(checkpoint_dir, dtype=dtype)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        for name in TOKENIZER_FILES:
            src = checkpoint_dir / HF_META / name
            if src.is_file():
                shutil.copy2(src, tmp / name)
    return out_dir
