"""Blends: which token files the pretraining job reads, in what proportions, per split.

The preprocess job writes `blend.json` next to its `<name>_<split>.{bin,idx}` files; the
pretraining job turns it into megatron-core datasets here, through the same
`BlendedMegatronDatasetBuilder` + `GPTDataset` that Megatron-LM and NeMo use, so a blend of
target language plus English replay (article 001's fix for forgetting) samples exactly as
it would there. Sample `i` of a split is a pure function of (files, weights, seed,
seq_length, num_samples), so a trainer resumes at exactly the next sample by index.

blend.json:
    {"format": "mothertongue-blend/1",
     "splits": {"train": [[0.7, "yue_train"], [0.3, "en_train"]], "valid": [...], "test": [...]},
     ...}
Relative prefixes are resolved against the folder of the blend file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BLEND_FORMAT = "mothertongue-blend/1"
SPLITS = ("train", "valid", "test")
_SPLIT_ALIASES = {"validation": "valid", "val": "valid"}


def _normalise_splits(
    splits: dict[str, Any], base: Path | None, source: str
) -> dict[str, list[tuple[float, str]]]:
    out: dict[str, list[tuple[float, str]]] = {}
    for raw_name, entries in splits.items():
        name = _SPLIT_ALIASES.get(raw_name, raw_name)
        if name not in SPLITS:
            raise ValueError(f"{source}: unknown split {raw_name!r}; expected one of {SPLITS}")
        pairs: list[tuple[float, str]] = []
        for entry in entries or []:
            if isinstance(entry, dict):
                weight, prefix = entry.get("weight"), entry.get("prefix")
            else:
                weight, prefix = entry
            weight = float(weight)
            if weight < 0:
                raise ValueError(f"{source}: split {name}: negative weight {weight} for {prefix}")
            path = Path(prefix)
            if not path.is_absolute():
                if base is None:
                    raise ValueError(f"{source}: split {name}: relative prefix {prefix} needs a blend file")
                path = base / path
            pairs.append((weight, str(path.resolve())))
        if pairs:
            out[name] = pairs
    return out


def read_blend(path: str | os.PathLike | dict) -> dict[str, list[tuple[float, str]]]:
    """`split -> [(weight, absolute prefix)]` from a blend.json file (or an equivalent dict).

    A dict may be the whole blend.json content or just its `splits` mapping; in a dict,
    relative prefixes are resolved against the current folder.
    """
    if isinstance(path, dict):
        data, base, source = path, Path.cwd(), "blend dict"
    else:
        file = Path(path)
        if file.is_dir():
            file = file / "blend.json"
        if not file.is_file():
            raise FileNotFoundError(f"blend file {file} does not exist (the preprocess job writes it)")
        data, base, source = json.loads(file.read_text(encoding="utf-8")), file.parent.resolve(), str(file)
    splits = data.get("splits", data) if isinstance(data, dict) else None
    if not isinstance(splits, dict):
        raise ValueError(f"{source}: expected a mapping of split -> [[weight, prefix], ...]")
    splits = {k: v for k, v in splits.items() if k != "format"}
    return _normalise_splits(splits, base, source)


class HFTokenizerForMegatron:
    """The few attributes megatron-core's GPT datasets read from a tokenizer.

    `eod` ends documents (and, with `eod_mask_loss`, is masked), `pad` pads partial
    sequences, `vocab_size` picks the token dtype, and `unique_identifiers` goes into the
    hash that names the cached sample indices (so a different tokenizer never hits them).
    """

    def __init__(self, tokenizer_dir: str | os.PathLike):
        from transformers import AutoTokenizer

        self.path = str(Path(tokenizer_dir).resolve())
        tok = AutoTokenizer.from_pretrained(self.path, trust_remote_code=False)
        if tok.eos_token_id is None:
            raise ValueError(f"tokenizer {self.path} has no eos token; Megatron needs one as EOD")
        self.eod = int(tok.eos_token_id)
        self.eos = self.eod
        self.pad = int(tok.pad_token_id) if tok.pad_token_id is not None else -1
        self.vocab_size = len(tok)
        self.unique_identifiers = {
            "class": "HFTokenizerForMegatron",
            "path": self.path,
            "vocab_size": self.vocab_size,
            "eod": self.eod,
            "pad": self.pad,
        }


@contextlib.contextmanager
def _process_group() -> Iterator[None]:
    """Megatron's cached blends call `torch.distributed.get_rank()`: lend a one-process gloo
    group when the caller has none (a trainer normally has its own; then it is used as is)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        yield
        return
    with tempfile.TemporaryDirectory(prefix="mt-blend-pg-") as tmp:
        dist.init_process_group("gloo", init_method=f"file://{tmp}/store", rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


def build_gpt_datasets(
    blend: str | os.PathLike | dict,
    *,
    seq_length: int,
    seed: int,
    num_samples: dict[str, int],
    tokenizer_dir: str,
    cache_dir: str | None = None,
    eod_mask_loss: bool = False,
) -> dict[str, object]:
    """`{"train"|"valid"|"test": GPTDataset, BlendedDataset or None}` for a blend.

    Items are dicts of `tokens`, `labels`, `loss_mask`, `position_ids` (torch tensors of
    length `seq_length`). A split is None when the blend has no files for it or
    `num_samples` asks for no samples. With `cache_dir` the sample indices are cached there
    (rank 0 builds, the others wait at a barrier when a process group exists; without one a
    temporary single-process group is used); without it megatron-core caches GPT indices
    beside each prefix and rebuilds blend indices in memory.
    """
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    splits = read_blend(blend)
    for split, pairs in splits.items():
        for _, prefix in pairs:
            for ext in (".bin", ".idx"):
                if not os.path.isfile(prefix + ext):
                    raise FileNotFoundError(f"blend split {split}: {prefix}{ext} does not exist")
    unknown = set(num_samples) - set(SPLITS) - set(_SPLIT_ALIASES)
    if unknown:
        raise ValueError(f"num_samples has unknown splits {sorted(unknown)}; expected {SPLITS}")
    sizes = {_SPLIT_ALIASES.get(k, k): int(v) for k, v in num_samples.items()}

    blend_per_split: list[tuple[list[str], list[float] | None] | None] = []
    size_list: list[int | None] = []
    for split in SPLITS:
        pairs = [(w, p) for w, p in splits.get(split, []) if w > 0]
        n = sizes.get(split, 0)
        if not pairs or n <= 0:
            blend_per_split.append(None)
            size_list.append(0)
            continue
        weights = [w for w, _ in pairs] if len(pairs) > 1 else None
        blend_per_split.append(([p for _, p in pairs], weights))
        size_list.append(n)
    if all(b is None for b in blend_per_split):
        return dict.fromkeys(SPLITS)

    config = GPTDatasetConfig(
        random_seed=seed,
        sequence_length=seq_length,
        blend_per_split=blend_per_split,
        path_to_cache=str(cache_dir) if cache_dir else None,
        tokenizer=HFTokenizerForMegatron(tokenizer_dir),
        reset_position_ids=False,
        reset_attention_mask=False,
        eod_mask_loss=eod_mask_loss,
        create_attention_mask=False,
    )
    builder = BlendedMegatronDatasetBuilder(GPTDataset, size_list, lambda: True, config)
    with _process_group() if cache_dir else contextlib.nullcontext():
        built = builder.build()
    return {split: (built[i] if blend_per_split[i] is not None else None) for i, split in enumerate(SPLITS)}
