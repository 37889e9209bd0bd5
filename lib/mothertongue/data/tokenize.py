"""Tokenize one work unit into partial Megatron datasets (one per split) plus a unit manifest.

Documents are tokenized in batches by the tokenizer's Rust backend (`encode_batch_fast`, no
offsets) and written with megatron-core's `IndexedDatasetBuilder`, whole batches at a time:
this is where the job beats Megatron's `tools/preprocess_data.py`, which tokenizes and writes
one document at a time. The unit manifest is written last (atomically), so a unit whose
manifest exists is finished and a rerun after a crash skips it.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mothertongue.data.split import SPLITS, assign_splits
from mothertongue.data.units import Unit, read_records
from mothertongue.io import atomic_write_json

QUARANTINE_TEXT_LIMIT = 500


@dataclass(frozen=True)
class Settings:
    """Everything (besides the unit) that changes the bytes a unit produces."""

    tokenizer_dir: str
    tokenizer_fingerprint: str
    id_key: str | None
    split_salt: str
    split_bounds: tuple[float, float]
    append_eod: bool
    add_special_tokens: bool
    batch_docs: int

    def signature(self, unit: Unit) -> dict[str, Any]:
        s = {k: v for k, v in self.__dict__.items() if k not in ("tokenizer_dir", "batch_docs")}
        return {**unit.to_dict(), **s, "split_bounds": list(self.split_bounds)}


class UnitTokenizer:
    """Holds the tokenizer once per worker process."""

    def __init__(self, settings: Settings):
        from transformers import AutoTokenizer

        self.settings = settings
        tok = AutoTokenizer.from_pretrained(settings.tokenizer_dir, trust_remote_code=False)
        self.vocab_size = len(tok)
        self.eod = tok.eos_token_id
        if settings.append_eod and self.eod is None:
            raise ValueError(f"tokenizer {settings.tokenizer_dir} has no eos token to append as EOD")
        from mothertongue.data.indexed import DType

        self.dtype = DType.optimal_dtype(self.vocab_size)
        self.backend = tok.backend_tokenizer if getattr(tok, "is_fast", False) else None
        self.slow = tok

    def encode(self, texts: list[str]) -> list[list[int]]:
        add = self.settings.add_special_tokens
        if self.backend is not None:
            return [e.ids for e in self.backend.encode_batch_fast(texts, add_special_tokens=add)]
        return self.slow(texts, add_special_tokens=add)["input_ids"]

    def process(
        self, unit: Unit, parts_dir: Path, progress: Callable[[int, int, int], None] | None = None
    ) -> dict:
        """Tokenize `unit` into `parts_dir/<key>_<split>.{bin,idx}`; return its manifest."""
        s = self.settings
        parts_dir.mkdir(parents=True, exist_ok=True)
        from mothertongue.data.indexed import BatchBuilder

        prefixes = {split: str(parts_dir / f"{unit.key}_{split}") for split in SPLITS}
        builders = {split: BatchBuilder(p + ".bin", dtype=self.dtype) for split, p in prefixes.items()}
        counts = {"lines": 0, "read": 0, "empty": 0, "quarantined": 0}
        docs = dict.fromkeys(SPLITS, 0)
        tokens = dict.fromkeys(SPLITS, 0)
        quarantine_path = parts_dir / f"{unit.key}.quarantine.jsonl"
        quarantine = open(quarantine_path, "w", encoding="utf-8")
        max_id = -1

        def flush(batch: list[tuple[int, str, str | None]]) -> None:
            nonlocal max_id
            if not batch:
                return
            ids = self.encode([t for _, t, _ in batch])
            lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            no_tokens = lengths == 0
            if no_tokens.any():
                for i in np.flatnonzero(no_tokens):
                    _quarantine(batch[i][0], "tokenizer produced no tokens", batch[i][1])
            if s.append_eod:
                ids = [[*x, self.eod] if x else x for x in ids]
                lengths = lengths + (~no_tokens)
            flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
            if flat.size:
                max_id = max(max_id, int(flat.max()))
            which = assign_splits(
                [k if k is not None else t for _, t, k in batch], s.split_salt, s.split_bounds
            )
            which[no_tokens] = -1
            token_split = np.repeat(which, lengths)
            for code, split in enumerate(SPLITS):
                keep = which == code
                n = int(keep.sum())
                if n:
                    builders[split].add_documents(flat[token_split == code], lengths[keep])
                    docs[split] += n
                    tokens[split] += int(lengths[keep].sum())
            if progress is not None:
                progress(len(batch), int(lengths.sum()), sum(len(t.encode()) for _, t, _ in batch))

        def _quarantine(line: int, reason: str, raw: str | None = None) -> None:
            counts["quarantined"] += 1
            record = {"file": unit.path, "local_line": line, "reason": reason}
            if raw is not None:
                record["text"] = raw[:QUARANTINE_TEXT_LIMIT]
            quarantine.write(json.dumps(record, ensure_ascii=False) + "\n")

        batch: list[tuple[int, str, str | None]] = []
        try:
            for line, text, doc_id, reason in read_records(unit, s.id_key):
                counts["lines"] = line
                if reason == "":
                    continue  # a blank line in JSONL: not a record
                counts["read"] += 1
                if reason is not None:
                    _quarantine(line, reason)
                elif not text.strip():
                    counts["empty"] += 1
                else:
                    batch.append((line, text, doc_id))
                    if len(batch) >= s.batch_docs:
                        flush(batch)
                        batch = []
            flush(batch)
        finally:
            quarantine.close()
            for split, b in builders.items():
                b.finalize(prefixes[split] + ".idx")
        if max_id >= np.iinfo(self.dtype).max + 1 and self.dtype != np.int32:
            raise ValueError(f"token id {max_id} does not fit {self.dtype.__name__}")
        manifest = {
            "unit": unit.to_dict(),
            "signature": s.signature(unit),
            "dtype": self.dtype.__name__,
            **counts,
            "written": docs,
            "tokens": tokens,
            "prefixes": {k: os.path.basename(v) for k, v in prefixes.items()},
            "quarantine_file": quarantine_path.name,
        }
        atomic_write_json(parts_dir / f"{unit.key}.json", manifest)
        return manifest
