"""Where held-out text comes from: files, the preprocess job's test split, shipped corpora.

Built-in held-out slices are chosen by a stable hash (sha1 of the text), not by position, so
they do not depend on corpus order and a training job can exclude exactly the same items
with `mothertongue.corpora.heldout_split` (curate: `exclude_heldout`).
"""

from __future__ import annotations

import json
from pathlib import Path

from mothertongue import corpora


def builtin_texts(name: str) -> tuple[str, ...]:
    """All texts of a shipped corpus: ctcpc, hkcancor (Cantonese), kjv (English), swc (Chinese)."""
    if name in ("ctcpc", "hkcancor"):
        return corpora.cantonese_sentences(name)
    if name == "kjv":
        return corpora.english_lines()
    if name == "swc":
        return corpora.standard_chinese_sentences()
    raise ValueError(f"unknown built-in corpus {name!r}; choose ctcpc, hkcancor, kjv or swc")


def read_text_file(path: str | Path, text_key: str = "text") -> list[str]:
    """One document per line (.txt) or per JSON record (.jsonl, field `text_key`)."""
    path = Path(path)
    docs: list[str] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            if path.suffix in (".jsonl", ".json"):
                try:
                    record = json.loads(line)
                    docs.append(str(record[text_key]))
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path}:{lineno}: cannot read field {text_key!r}: {exc}") from exc
            else:
                docs.append(line.rstrip("\n"))
    return docs


def read_megatron_split(prefix: str | Path, tokenizer, limit: int | None = None) -> list[str]:
    """Decode the documents of a Megatron indexed dataset (`prefix`.bin/.idx), EOD tokens dropped."""
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    dataset = IndexedDataset(str(prefix), mmap=True)
    drop = {
        t for t in (tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.pad_token_id) if t is not None
    }
    n_docs = len(dataset.document_indices) - 1
    docs: list[str] = []
    for d in range(n_docs if limit is None else min(limit, n_docs)):
        lo, hi = int(dataset.document_indices[d]), int(dataset.document_indices[d + 1])
        ids = [int(t) for s in range(lo, hi) for t in dataset[s] if int(t) not in drop]
        text = tokenizer.decode(ids, skip_special_tokens=True)
        if text:
            docs.append(text)
    return docs
