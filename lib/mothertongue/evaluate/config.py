"""Typed config of the evaluate job: which models, which texts, which tasks and probes."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from mothertongue.config import ConfigError, Resources, as_input_path


@dataclass
class ModelSpec:
    """One model to evaluate. `path`: HF dir, .gguf file, `asset:models/...`, or a DCP step dir."""

    name: str = MISSING
    path: str = MISSING
    step: int | None = None  # x position in per-step plots (DCP step dirs fill it in themselves)
    tokenizer: str | None = None  # where the tokenizer is when not beside the weights


@dataclass
class TextSet:
    """Held-out text. kind: builtin (corpus + heldout/limit), file (path), megatron (prefix)."""

    name: str = MISSING
    kind: str = "builtin"  # builtin | file | megatron
    corpus: str = ""  # builtin: ctcpc | hkcancor | kjv | swc
    heldout: int = 0  # builtin: the last N texts by stable hash (0: take `limit` from the start)
    path: str = ""  # file: .txt (one doc per line) or .jsonl; megatron: dataset prefix
    text_key: str = "text"
    tokenizer: str = ""  # megatron: the tokenizer that encoded the dataset (HF dir)
    limit: int | None = None  # at most this many documents
    role: str = "target"  # target | english (forgetting) | other: groups the report


@dataclass
class Baselines:
    """Character unigram/bigram models trained on the training side of a built-in corpus."""

    enabled: bool = True
    train_corpus: str = "ctcpc"
    heldout: int = 2000  # must match the target TextSet's `heldout` so train and test never overlap
    apply_to: list[str] = field(default_factory=list)  # text-set names to score (default: role target)


@dataclass
class Task:
    name: str = MISSING
    path: str = MISSING  # JSONL file, or asset:tasks/<file> for a shipped task
    limit: int | None = None
    max_new_tokens: int = 64
    tokenize: str = "zh"  # sacrebleu tokenizer for BLEU: zh, 13a, char, ...


@dataclass
class EvaluateConfig:
    output_dir: str = MISSING
    resources: Resources = field(default_factory=Resources)
    models: list[ModelSpec] = field(default_factory=list)
    checkpoints_from: str | None = None  # <run>/pretrain: add every complete checkpoint step
    max_checkpoints: int | None = None  # evenly thinned if there are more
    texts: list[TextSet] = field(default_factory=list)
    baselines: Baselines = field(default_factory=Baselines)
    tasks: list[Task] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)  # JSONL files, or asset:probes/<file>
    max_length: int | None = None  # context window for scoring (default: the model's own)
    stride: int | None = None  # striding for long documents (default: max_length // 2)
    batch_tokens: int = 8192
    generation_batch_size: int = 8
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "float32"  # float32 | bfloat16
    seed: int = 0
    wandb_run_dir: str | None = None  # <run>/pretrain (or its wandb/ folder): log there, offline
    wandb_mode: str = "offline"  # offline | online | disabled
    progress: bool = True
    lm_eval_export: bool = False  # also write <output_dir>/lm_eval_tasks/ (lm-evaluation-harness tasks)


def check(cfg: EvaluateConfig) -> None:
    """Cheap checks that need no model: raise ConfigError naming the key."""
    if not cfg.models and not cfg.checkpoints_from:
        raise ConfigError("models", "list at least one model or set checkpoints_from")
    names = [m.name for m in cfg.models]
    if len(set(names)) != len(names):
        raise ConfigError("models", f"model names must be unique, got {names}")
    for i, t in enumerate(cfg.texts):
        key = f"texts.{i}"
        if t.kind not in ("builtin", "file", "megatron"):
            raise ConfigError(f"{key}.kind", "choose builtin, file or megatron")
        if t.kind == "builtin" and t.corpus not in ("ctcpc", "hkcancor", "kjv", "swc"):
            raise ConfigError(f"{key}.corpus", "choose ctcpc, hkcancor, kjv or swc")
        if t.kind in ("file", "megatron") and not t.path:
            raise ConfigError(f"{key}.path", f"a {t.kind} text set needs a path")
        if t.kind == "megatron" and not t.tokenizer:
            raise ConfigError(f"{key}.tokenizer", "a megatron test split needs the tokenizer that encoded it")
    b = cfg.baselines
    for i, t in enumerate(cfg.texts):
        if b.enabled and t.kind == "builtin" and t.corpus == b.train_corpus and t.heldout != b.heldout:
            raise ConfigError(
                f"texts.{i}.heldout",
                f"scores {b.train_corpus} held-out {t.heldout} but baselines train on all but the last "
                f"{b.heldout}: set both to the same number so test text is never trained on",
            )
    files = [(f"tasks.{i}.path", t.path) for i, t in enumerate(cfg.tasks)]
    files += [(f"probes.{i}", p) for i, p in enumerate(cfg.probes)]
    for key, p in files:
        try:
            if not as_input_path(p).is_file():
                raise FileNotFoundError(p)
        except FileNotFoundError:
            raise ConfigError(key, f"file {p} does not exist") from None
    if cfg.lm_eval_export and not cfg.tasks and not cfg.probes:
        raise ConfigError("lm_eval_export", "there are no tasks or probes to export")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError("device", "choose auto, cpu or cuda")
    if cfg.dtype not in ("float32", "bfloat16"):
        raise ConfigError("dtype", "choose float32 or bfloat16")
    if cfg.wandb_mode not in ("offline", "online", "disabled"):
        raise ConfigError("wandb_mode", "choose offline, online or disabled")
