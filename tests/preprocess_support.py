"""Shared helpers for the preprocess and blend tests (no tests here).

The GPT-2 tokenizer is built the way BENCHMARKS.md says works with transformers 5:
`ByteLevelBPETokenizer(vocab, merges)` wrapped in `PreTrainedTokenizerFast`.
"""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def make_gpt2_tokenizer_dir(out: Path) -> Path:
    """Save the fixture GPT-2 BPE as a Hugging Face tokenizer folder (what the tokenizer job writes)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    src = FIXTURES / "tokenizer" / "gpt2"
    bpe = ByteLevelBPETokenizer(str(src / "vocab.json"), str(src / "merges.txt"))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>")
    tok.save_pretrained(out)
    return out


def write_indexed_dataset(prefix: Path, tok, texts: list[str]) -> Path:
    """A Megatron `<prefix>.bin/.idx` of `texts`, one document each, EOD appended (as the job does)."""
    import numpy as np
    from megatron.core.datasets.indexed_dataset import DType, IndexedDatasetBuilder

    builder = IndexedDatasetBuilder(f"{prefix}.bin", dtype=DType.optimal_dtype(len(tok)))
    for ids in tok(texts, add_special_tokens=False).input_ids:
        ids = [*ids, tok.eos_token_id]
        builder.add_document(np.array(ids), [len(ids)])
    builder.finalize(f"{prefix}.idx")
    return prefix


def write_jsonl(path: Path, texts: list[str], start_id: int = 0, prefix: str = "doc") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": f"{prefix}-{start_id + i}", "text": text}, ensure_ascii=False) + "\n")
    return path
