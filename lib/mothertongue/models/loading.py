"""The one place that opens a model or tokenizer: safetensors only, never remote code.

Every job loads base models through here, so the safety rules (`trust_remote_code=False`,
`use_safetensors=True`) and GGUF conversion are decided once. A `.gguf` file is converted into
a cache folder keyed by its content fingerprint, so repeated loads are cheap and a changed file
is never served stale.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from mothertongue.models.gguf import gguf_to_hf


def cache_root() -> Path:
    """Where converted models live: $MOTHERTONGUE_CACHE, else ~/.cache/mothertongue."""
    return Path(os.environ.get("MOTHERTONGUE_CACHE", Path.home() / ".cache" / "mothertongue"))


def resolve_model_path(path: str | Path) -> Path:
    """An HF directory for `path`: the directory itself, or a GGUF file converted once and cached.

    `asset:<relative>` names a model shipped in `mothertongue/assets/` (the demo's stories260K).
    """
    text = str(path)
    if text.startswith("asset:"):
        from mothertongue.corpora import asset_path

        path = asset_path(text.removeprefix("asset:"))
    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is not a Hugging Face model directory (no config.json)")
        return path
    if path.suffix == ".gguf" and path.is_file():
        from mothertongue.manifest import fingerprint

        target = cache_root() / "gguf" / f"{path.stem}-{fingerprint(path)[:16]}"
        if not (target / "config.json").is_file():
            gguf_to_hf(path, target)
        return target
    raise FileNotFoundError(f"model {path} is neither a Hugging Face directory nor a .gguf file")


def load_causal_lm(path: str | Path, dtype: torch.dtype | str = torch.float32, device: str | None = None):
    """A causal LM from an HF directory or .gguf file, safetensors weights only."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(resolve_model_path(path)), dtype=dtype, trust_remote_code=False, use_safetensors=True
    )
    if device is not None:
        model = model.to(device)
    return model.eval()


def load_tokenizer(path: str | Path):
    """The tokenizer saved beside a model (HF directory or .gguf file), fast backend only."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(resolve_model_path(path)), trust_remote_code=False)
