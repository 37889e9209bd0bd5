"""The blend API the pretraining job reads: megatron-core GPT datasets from blend.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mothertongue.corpora import cantonese_sentences, english_lines
from mothertongue.data.blend import build_gpt_datasets, read_blend
from transformers import AutoTokenizer

from tests.preprocess_support import make_gpt2_tokenizer_dir, write_indexed_dataset


@pytest.fixture(scope="module")
def blend_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real token files per split (Cantonese, English) written with megatron-core's builder."""
    root = tmp_path_factory.mktemp("blend")
    tok_dir = make_gpt2_tokenizer_dir(root / "tokenizer")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    sources = {"yue": list(cantonese_sentences()[:1500]), "en": list(english_lines()[:1500])}
    for name, texts in sources.items():
        for split, part in (("train", texts[:1200]), ("valid", texts[1200:])):
            write_indexed_dataset(root / f"{name}_{split}", tok, part)
    blend = {
        "format": "mothertongue-blend/1",
        "splits": {
            "train": [[0.7, "yue_train"], [0.3, "en_train"]],
            "valid": [[0.5, "yue_valid"], [0.5, "en_valid"]],
        },
    }
    (root / "blend.json").write_text(json.dumps(blend))
    return root


def test_read_blend_resolves_prefixes_against_the_blend_file(blend_dir: Path) -> None:
    blend = read_blend(blend_dir / "blend.json")
    assert blend == {
        "train": [(0.7, str(blend_dir / "yue_train")), (0.3, str(blend_dir / "en_train"))],
        "valid": [(0.5, str(blend_dir / "yue_valid")), (0.5, str(blend_dir / "en_valid"))],
    }
    assert read_blend(blend_dir) == blend  # a folder means its blend.json
    assert read_blend({"train": [[1.0, str(blend_dir / "en_train")]]}) == {
        "train": [(1.0, str(blend_dir / "en_train"))]
    }


def test_blend_sample_counts_follow_weights(blend_dir: Path, tmp_path: Path) -> None:
    datasets = build_gpt_datasets(
        blend_dir / "blend.json",
        seq_length=32,
        seed=1234,
        num_samples={"train": 200, "valid": 40},
        tokenizer_dir=str(blend_dir / "tokenizer"),
        cache_dir=str(tmp_path / "cache"),
    )
    assert datasets["test"] is None
    train, valid = datasets["train"], datasets["valid"]
    assert len(train) == 200 and len(valid) == 40
    assert np.bincount(train.dataset_index).tolist() == [140, 60]
    assert np.bincount(valid.dataset_index).tolist() == [20, 20]
    item = train[7]
    assert {"tokens", "labels", "loss_mask", "position_ids"} <= set(item)
    assert item["tokens"].shape == (32,) and item["tokens"].dtype == torch.int64
    assert torch.equal(item["tokens"][1:], item["labels"][:-1])  # labels are the next tokens
    # Samples from the English file decode to English, from the Cantonese file to Han characters.
    tok = AutoTokenizer.from_pretrained(blend_dir / "tokenizer")
    for i in range(20):
        text = tok.decode(train[i]["tokens"].tolist())
        if train.dataset_index[i] == 1:
            assert sum(c.isascii() for c in text) > 0.9 * len(text)
        else:
            assert any("\u4e00" <= c <= "\u9fff" for c in text)
    assert not torch.distributed.is_initialized()  # the temporary process group was torn down


def test_sample_index_is_deterministic_across_rebuilds(blend_dir: Path, tmp_path: Path) -> None:
    """A resumed trainer rebuilds the datasets and must see the same sample at the same index."""
    kwargs = dict(
        seq_length=32, seed=7, num_samples={"train": 100}, tokenizer_dir=str(blend_dir / "tokenizer")
    )
    first = build_gpt_datasets(blend_dir / "blend.json", cache_dir=str(tmp_path / "c1"), **kwargs)["train"]
    cached = build_gpt_datasets(blend_dir / "blend.json", cache_dir=str(tmp_path / "c1"), **kwargs)["train"]
    fresh = build_gpt_datasets(blend_dir / "blend.json", cache_dir=str(tmp_path / "c2"), **kwargs)["train"]
    other_seed = build_gpt_datasets(
        blend_dir / "blend.json", cache_dir=str(tmp_path / "c3"), **{**kwargs, "seed": 8}
    )
    for i in range(100):
        assert torch.equal(first[i]["tokens"], cached[i]["tokens"])
        assert torch.equal(first[i]["tokens"], fresh[i]["tokens"])
    assert any(not torch.equal(first[i]["tokens"], other_seed["train"][i]["tokens"]) for i in range(100))


def test_missing_token_file_is_named(blend_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope_train.bin"):
        build_gpt_datasets(
            {"train": [[1.0, str(blend_dir / "nope_train")]]},
            seq_length=32,
            seed=1,
            num_samples={"train": 10},
            tokenizer_dir=str(blend_dir / "tokenizer"),
        )
