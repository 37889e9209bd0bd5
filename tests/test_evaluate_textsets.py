"""Held-out text sources: the preprocess job's Megatron test split, files, stable held-out slices."""

from __future__ import annotations

import numpy as np
import pytest
from mothertongue.corpora import asset_path, cantonese_sentences, heldout_split
from mothertongue.evaluate.textsets import read_megatron_split, read_text_file
from mothertongue.models import gguf_to_hf, load_tokenizer


def test_megatron_test_split_decodes_back_to_the_documents(tmp_path):
    from megatron.core.datasets.indexed_dataset import DType, IndexedDatasetBuilder

    gguf_to_hf(asset_path("models/stories260K.gguf"), tmp_path / "hf")
    tok = load_tokenizer(tmp_path / "hf")
    docs = ["Once upon a time, there was a cat.", "佢哋喺度食緊飯。", "Lily said hi."]
    builder = IndexedDatasetBuilder(str(tmp_path / "yue_test.bin"), dtype=DType.optimal_dtype(len(tok)))
    for ids in tok(docs, add_special_tokens=False)["input_ids"]:
        ids = [*ids, tok.eos_token_id]  # --append-eod
        builder.add_document(np.array(ids), [len(ids)])
    builder.finalize(str(tmp_path / "yue_test.idx"))
    assert read_megatron_split(tmp_path / "yue_test", tok) == docs
    assert read_megatron_split(tmp_path / "yue_test", tok, limit=2) == docs[:2]


def test_text_files_and_bad_jsonl_lines(tmp_path):
    (tmp_path / "a.txt").write_text("一\n\n二\n", encoding="utf-8")
    assert read_text_file(tmp_path / "a.txt") == ["一", "二"]
    (tmp_path / "b.jsonl").write_text('{"text": "x"}\n{"body": "y"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"b\.jsonl:2"):
        read_text_file(tmp_path / "b.jsonl")


def test_heldout_slice_is_stable_and_disjoint_from_training():
    sents = cantonese_sentences("ctcpc")
    train, test = heldout_split(sents, 500)
    train2, test2 = heldout_split(tuple(reversed(sents)), 500)
    assert test == test2 and len(test) == 500
    assert not set(train) & set(test)
