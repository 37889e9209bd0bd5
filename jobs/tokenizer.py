"""Train a vocabulary for the new language, merge it into the base tokenizer, grow the model.

Writes <output_dir>/base (the base as an HF dir), <output_dir>/model (grown model + merged
tokenizer), <output_dir>/new_tokenizer (the monolingual vocabulary) and report.{json,md,png}.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import torch
from mothertongue.config import ConfigError, as_input_path, will_exist
from mothertongue.io import atomic_dir, atomic_write_json, atomic_write_text
from mothertongue.models import gguf_to_hf, load_causal_lm, load_tokenizer
from mothertongue.tokenizer.config import TokenizerConfig as Config
from mothertongue.tokenizer.grow import grow_model
from mothertongue.tokenizer.merge import merge_vocabularies
from mothertongue.tokenizer.report import english_drift, fertility, plot_fertility, render_markdown
from mothertongue.tokenizer.texts import TextStats, builtin_texts, expand_files, read_texts, split_heldout
from mothertongue.tokenizer.train import tokenizer_family, train_new_vocabulary
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

log = logging.getLogger("mothertongue.jobs.tokenizer")

__all__ = ["Config", "validate", "main"]


def validate(cfg: Config) -> None:
    """Login-node checks: something to train on, sane sizes, a base model we can read."""
    if not cfg.train_files and not cfg.builtin_corpus:
        raise ConfigError("train_files", "give curated JSONL shards (or builtin_corpus for a demo)")
    for key in ("train_files", "heldout_files"):
        entries = getattr(cfg, key)
        if entries and not all(will_exist(e) for e in entries):  # made by an upstream stage: fine
            expand_files(entries, key)
    if cfg.vocab_size < 300:
        raise ConfigError("vocab_size", "must be at least 300 (256 bytes plus real tokens)")
    if cfg.make_vocab_size_divisible_by < 1:
        raise ConfigError("make_vocab_size_divisible_by", "must be >= 1")
    if not cfg.heldout_files and not 0.0 < cfg.heldout_fraction < 0.5:
        raise ConfigError("heldout_fraction", "must be in (0, 0.5) when no heldout_files are given")
    base = as_input_path(cfg.base_model)
    if not base.exists() and will_exist(base):  # made upstream, or a dry run away from the cluster
        return
    if not (base.is_dir() and (base / "config.json").is_file()) and not (
        base.is_file() and base.suffix == ".gguf"
    ):
        raise ConfigError("base_model", f"{cfg.base_model} is neither an HF model directory nor a .gguf file")


def write_base(base_model: str, out_dir: Path) -> Path:
    """The base as an HF directory beside the grown one, so evaluation can compare the two."""
    source = as_input_path(base_model)
    if source.suffix == ".gguf":
        return gguf_to_hf(source, out_dir)
    with atomic_dir(out_dir) as tmp:
        for item in source.iterdir():
            if item.is_file() and not item.name.endswith((".bin", ".pt", ".pth", ".pkl")):
                shutil.copy2(item, tmp / item.name)
    return out_dir


def save_tokenizer(tok: Tokenizer, like, out_dir: Path) -> PreTrainedTokenizerFast:
    """Wrap `tok` with the base tokenizer's special tokens and chat template, and save it."""
    specials = {
        name: getattr(like, name)
        for name in ("bos_token", "eos_token", "unk_token", "pad_token")
        if getattr(like, name, None) is not None
    }
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **specials)
    if getattr(like, "chat_template", None):
        fast.chat_template = like.chat_template
    fast.save_pretrained(str(out_dir))
    return fast


def main(cfg: Config) -> dict:
    validate(cfg)
    started = time.time()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)

    # 1. text: training shards, held-out target text, English
    stats = TextStats()
    texts = read_texts(expand_files(cfg.train_files), cfg.text_key, stats) if cfg.train_files else []
    if cfg.builtin_corpus:
        corpus = builtin_texts(cfg.builtin_corpus)
        texts += corpus
        stats.read += len(corpus)
        stats.used += len(corpus)
    if cfg.max_train_texts:
        texts = texts[: cfg.max_train_texts]
    if cfg.heldout_files:
        train, heldout = texts, read_texts(expand_files(cfg.heldout_files, "heldout_files"), cfg.text_key)
    else:
        train, heldout = split_heldout(texts, cfg.heldout_fraction, cfg.seed)
    heldout = heldout[: cfg.max_eval_texts]
    english = read_texts(expand_files(cfg.english_files, "english_files"))[: cfg.max_eval_texts]
    if not train or not heldout:
        raise ValueError(f"not enough text: {len(train)} training and {len(heldout)} held-out texts")
    log.info("training on %d texts, %d held out, %d English", len(train), len(heldout), len(english))

    # 2. the base, as an HF directory with its own tokenizer
    base_dir = write_base(cfg.base_model, out / "base")
    base_fast = load_tokenizer(base_dir)
    base_tok = base_fast.backend_tokenizer
    base_json = json.loads(base_tok.to_str())
    family = tokenizer_family(base_json)

    # 3. train a monolingual vocabulary in the base's family, then merge it in
    new_tok = train_new_vocabulary(
        train, base_json, cfg.vocab_size, cfg.min_frequency, cfg.character_coverage, cfg.seed
    )
    with atomic_dir(out / "new_tokenizer") as tmp:
        new_tok.save(str(tmp / "tokenizer.json"))
    merged = merge_vocabularies(base_tok, new_tok, protect_ascii=cfg.protect_ascii)
    english_identical = all(
        a.ids == b.ids
        for a, b in zip(
            base_tok.encode_batch(english, add_special_tokens=False),
            merged.tokenizer.encode_batch(english, add_special_tokens=False),
            strict=True,
        )
    )

    # 4. grow the model and save it with the merged tokenizer
    dtype = getattr(torch, cfg.dtype)
    model = load_causal_lm(base_dir, dtype=dtype)
    grown = grow_model(
        model,
        base_tok,
        merged.tokenizer,
        merged.base_size,
        cfg.make_vocab_size_divisible_by,
        cfg.init,
        cfg.seed,
    )
    with atomic_dir(out / "model") as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        save_tokenizer(merged.tokenizer, base_fast, tmp)

    # 5. report: fertility base vs merged, English drift
    base_model = load_causal_lm(base_dir, dtype=dtype)
    drift = english_drift(base_model, model, base_tok, english[: cfg.english_check_texts])
    drift["tolerance"] = cfg.english_kl_tolerance
    drift["passed"] = english_identical and drift["kl_mean"] <= cfg.english_kl_tolerance
    fert = {
        split: {"base": fertility(base_tok, data), "merged": fertility(merged.tokenizer, data)}
        for split, data in (("target", heldout), ("english", english))
    }
    for split in fert:
        fert[split]["ratio"] = (
            fert[split]["merged"]["tokens_per_char"] / fert[split]["base"]["tokens_per_char"]
        )
    report = {
        "base_model": cfg.base_model,
        "family": family,
        "train_texts": len(train),
        "heldout_texts": len(heldout),
        "text_stats": {k: v for k, v in vars(stats).items() if k != "quarantined"}
        | {"quarantined": len(stats.quarantined)},
        "quarantined": stats.quarantined[:100],
        "trained_vocab_size": new_tok.get_vocab_size(),
        "base_vocab_size": merged.base_size,
        "merged_vocab_size": merged.tokenizer.get_vocab_size(with_added_tokens=True),
        "tokens_added": len(merged.added_tokens),
        "merges_added": merged.added_merges,
        "skipped_ascii_tokens": merged.skipped_ascii,
        "sample_added_tokens": [
            merged.tokenizer.decode([merged.tokenizer.token_to_id(t)]) for t in merged.added_tokens[:40]
        ],
        "english_ids_identical": english_identical,
        "make_vocab_size_divisible_by": cfg.make_vocab_size_divisible_by,
        "grow": {k: v for k, v in vars(grown).items() if k != "subtoken_pieces"},
        "fertility": fert,
        "english_check": drift,
        "seconds": round(time.time() - started, 2),
    }
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", render_markdown(report))
    plot_fertility(report, out / "fertility.png")
    if cfg.fail_on_english_drift and not drift["passed"]:
        raise RuntimeError(
            f"English drift {drift['kl_mean']:.3g} exceeds tolerance {cfg.english_kl_tolerance}"
        )
    return {
        "outputs": {
            "model": str(out / "model"),
            "base": str(out / "base"),
            "report": str(out / "report.json"),
        },
        "counts": {
            "train_texts": len(train),
            "heldout_texts": len(heldout),
            "quarantined": len(stats.quarantined),
        },
        "metrics": {
            "tokens_added": len(merged.added_tokens),
            "target_fertility_ratio": fert["target"]["ratio"],
            "english_fertility_ratio": fert["english"]["ratio"],
            "english_kl_mean": drift["kl_mean"],
            "english_ids_identical": english_identical,
            "vocab_rows": grown.total_rows,
        },
    }
