"""What to evaluate: model specs -> loaded (model, tokenizer) pairs, checkpoints included.

Three kinds of path, one loader each, decided here once:
- an HF directory, a `.gguf` file or `asset:...`: `mothertongue.models.load_causal_lm`;
- a pretrain DCP step directory (`checkpoints/step-N/`): the pretrain job's own
  `load_model_from_checkpoint`, single process. Only complete checkpoints (`COMPLETE.json`
  marker present and file sizes matching it) are ever listed or loaded.
The tokenizer comes from the spec, else beside the weights, else the run's `pretrain/final/`
or `tokenizer/` stage (DCP dirs carry no tokenizer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mothertongue.evaluate.config import ModelSpec

_STEP = re.compile(r"^step-(\d+)$")
# names the pretrain job may use for its "this checkpoint is whole" marker
_MARKERS = ("COMPLETE.json",)


def is_complete_checkpoint(step_dir: Path) -> bool:
    """True when the pretrain job finished writing `step_dir` (marker present, sizes match)."""
    try:
        from mothertongue.train.checkpoint import verify
    except ImportError:  # pretrain package absent: fall back to the marker's existence
        return any((step_dir / m).exists() for m in _MARKERS)
    return verify(step_dir, checksums=False) is None


def checkpoint_specs(pretrain_dir: str | Path, max_checkpoints: int | None = None) -> list[ModelSpec]:
    """A spec per complete `checkpoints/step-N/` under a pretrain stage dir, by step."""
    root = Path(pretrain_dir) / "checkpoints"
    found: list[tuple[int, Path]] = []
    if root.is_dir():
        for child in root.iterdir():
            m = _STEP.match(child.name)
            if m and child.is_dir() and is_complete_checkpoint(child):
                found.append((int(m.group(1)), child))
    found.sort()
    if max_checkpoints and len(found) > max_checkpoints:
        # evenly spaced, always ending at the newest (most trained) checkpoint
        n, k = len(found), max_checkpoints
        keep = sorted({n - 1 - round(i * (n - 1) / max(1, k - 1)) for i in range(k)})
        found = [found[i] for i in keep]
    return [ModelSpec(name=f"step-{s}", path=str(p), step=s) for s, p in found]


def is_dcp_dir(path: Path) -> bool:
    return path.is_dir() and not (path / "config.json").exists() and (path / ".metadata").exists()


def _step_of(path: Path) -> int | None:
    m = _STEP.match(path.name)
    return int(m.group(1)) if m else None


def _tokenizer_path(spec: ModelSpec, weights: Path) -> str:
    if spec.tokenizer:
        return spec.tokenizer
    if not is_dcp_dir(weights):
        return str(spec.path)
    # step-N/hf (the pretrain job stores the tokenizer there), <run>/pretrain/final, <run>/tokenizer
    pretrain = weights.parent.parent
    for candidate in (weights / "hf", pretrain / "final", pretrain.parent / "tokenizer"):
        if (candidate / "tokenizer_config.json").exists() or (candidate / "tokenizer.json").exists():
            return str(candidate)
    raise FileNotFoundError(
        f"no tokenizer for checkpoint {weights}: set `tokenizer:` on model {spec.name!r} "
        f"(looked in {weights / 'hf'}, {pretrain / 'final'} and {pretrain.parent / 'tokenizer'})"
    )


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: object
    tokenizer: object


def load(spec: ModelSpec, device: str = "cpu", dtype: str = "float32") -> LoadedModel:
    import torch

    from mothertongue.models import load_causal_lm, load_tokenizer

    torch_dtype = getattr(torch, dtype)
    path = Path(spec.path) if not str(spec.path).startswith("asset:") else None
    if path is not None and is_dcp_dir(path):
        try:
            from mothertongue.train.export import load_model_from_checkpoint
        except ImportError as exc:
            raise RuntimeError(
                f"model {spec.name!r} is a DCP checkpoint but mothertongue.train.export is not available"
            ) from exc
        model = load_model_from_checkpoint(path).to(device=device, dtype=torch_dtype).eval()
        if spec.step is None:
            spec.step = _step_of(path)
    else:
        model = load_causal_lm(spec.path, dtype=torch_dtype, device=device)
    tok_path = _tokenizer_path(spec, path) if path is not None else spec.path
    tokenizer = load_tokenizer(tok_path)
    return LoadedModel(spec, model, tokenizer)
