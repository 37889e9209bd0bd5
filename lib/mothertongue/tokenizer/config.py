"""Configuration of the `tokenizer` job: which base, which text, how big, how to initialise."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from omegaconf import MISSING

from mothertongue.config import Resources, input_path


class InitMethod(StrEnum):
    """How the embedding rows of new tokens start (original rows are never touched)."""

    subtoken_mean = "subtoken_mean"  # mean of the base pieces that spell the token (default)
    mean = "mean"  # mean of all original rows
    multivariate_normal = "multivariate_normal"  # sample around the mean (transformers' default)
    zeros = "zeros"  # what the NeMo article does


@dataclass
class TokenizerConfig:
    output_dir: str = MISSING
    # HF directory or .gguf file; `asset:models/stories260K.gguf` is the shipped demo model
    base_model: str = input_path("asset:models/stories260K.gguf")
    # curated JSONL shards (files or folders of *.jsonl / *.txt); `text_key` names the text field
    train_files: list[str] = input_path([], optional=True)
    text_key: str = "text"
    # a corpus shipped with the package ("ctcpc", "hkcancor") for demos and tests without curate
    builtin_corpus: str | None = None
    max_train_texts: int = 0  # 0 = all
    # held-out target-language text for the report: explicit files, else a fraction of train_files
    heldout_files: list[str] = input_path([], optional=True)
    heldout_fraction: float = 0.05
    english_files: list[str] = input_path(["asset:english/kjv.txt"])
    max_eval_texts: int = 2000
    # training of the new-language vocabulary
    vocab_size: int = 4096
    min_frequency: int = 2
    character_coverage: float = 0.9995  # SentencePiece bases only
    # drop new tokens made only of ASCII, so English tokenizes exactly as before; turn off for
    # Latin-script languages (the report then shows how much English tokenization changed)
    protect_ascii: bool = True
    # model growth: rows = ceil(N / X) * X, new rows initialised by `init`
    make_vocab_size_divisible_by: int = 64
    init: InitMethod = InitMethod.subtoken_mean
    seed: int = 1234
    dtype: str = "float32"
    # English check: next-token KL(base || grown) on this many English lines must stay under tolerance
    english_check_texts: int = 32
    english_kl_tolerance: float = 0.05
    fail_on_english_drift: bool = False
    resources: Resources = field(default_factory=lambda: Resources(cpus_per_task=2, mem_gb=8, time_min=30))
