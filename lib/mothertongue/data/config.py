"""Typed config of the preprocess job (YAML in configs/preprocess/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from mothertongue.config import Resources, input_path


@dataclass
class DatasetInput:
    """One named source: files or folders of JSONL (`.jsonl`/`.json`), Parquet or plain text.

    Folders are searched (not recursively) for those extensions. Plain text has one document
    per line. `name` becomes the output prefix `<name>_<split>`.
    """

    name: str = MISSING
    paths: list[str] = input_path([])
    text_key: str | None = None  # None: the job-wide `text_key`


@dataclass
class SplitFractions:
    """Fractions of documents per split, assigned by a hash of the document id (or text)."""

    train: float = 0.98
    valid: float = 0.01
    test: float = 0.01


@dataclass
class PreprocessConfig:
    output_dir: str = MISSING
    tokenizer: str = input_path(MISSING)  # a Hugging Face tokenizer folder (AutoTokenizer)
    datasets: list[DatasetInput] = field(default_factory=list)
    # blend weights per dataset name (all datasets, same weights for every split); empty:
    # weights proportional to each dataset's training tokens
    blend: dict[str, float] = field(default_factory=dict)
    text_key: str = "text"
    id_key: str | None = "id"  # hashed for the split when present, else the text is hashed
    split: SplitFractions = field(default_factory=SplitFractions)
    split_salt: str = "mothertongue"  # change to draw a different (still deterministic) split
    append_eod: bool = True
    add_special_tokens: bool = True  # as Megatron's HuggingFaceTokenizer (e.g. BOS for Llama)
    workers: int = 0  # worker processes per task; 0: the CPUs this task may use
    array_tasks: int = 1  # Slurm array tasks before the merge (1: main() does everything)
    chunk_mb: float = 64.0  # large text files are cut into chunks of about this size (work units)
    batch_docs: int = 1024  # documents tokenized per batch
    keep_parts: bool = False  # keep per-unit partial datasets after the merge
    resources: Resources = field(default_factory=lambda: Resources(cpus_per_task=2, time_min=120))
