"""GGUF conversion and the shared loader, on the real shipped stories260K model."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from mothertongue.corpora import asset_path, cantonese_sentences, english_lines
from mothertongue.models import gguf_to_hf, gguf_vocab, load_causal_lm, load_tokenizer
from mothertongue.tokenizer.spm import to_model_proto
from safetensors.torch import load_file

GGUF = asset_path("models/stories260K.gguf")


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    return gguf_to_hf(GGUF, tmp_path_factory.mktemp("s260") / "hf")


@pytest.fixture(scope="module")
def reference() -> spm.SentencePieceProcessor:
    """sentencepiece itself, running the GGUF file's vocabulary: the ground truth."""
    return spm.SentencePieceProcessor(model_proto=to_model_proto(gguf_vocab(GGUF)))


def test_converted_directory_is_standard_hf(converted: Path) -> None:
    names = {p.name for p in converted.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".gguf")) for n in names)
    weights = load_file(converted / "model.safetensors")
    assert weights["model.embed_tokens.weight"].shape == (512, 64)
    # llama2.c trained with shared weights but the GGUF stores two tensors; HF keeps them untied
    assert torch.equal(weights["model.embed_tokens.weight"], weights["lm_head.weight"])
    model = load_causal_lm(converted)
    assert model.config.tie_word_embeddings is False
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    assert not any(p.name.startswith(".") for p in converted.parent.iterdir())  # atomic: no temp left


def test_converted_stories260k_tells_the_lily_story(converted: Path) -> None:
    model, tok = load_causal_lm(converted), load_tokenizer(converted)
    assert model.config.num_hidden_layers == 5 and model.config.num_key_value_heads == 4
    assert model.config.pad_token_id == 0
    inputs = tok("Once upon a time", return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=32, do_sample=False)
    text = tok.decode(out[0], skip_special_tokens=True)
    assert text.startswith(
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
    ), text


def test_tokenizer_matches_the_gguf_vocabulary(converted: Path, reference) -> None:
    tok = load_tokenizer(converted)
    assert tok("Once upon a time").input_ids == [1, *reference.encode("Once upon a time")]
    assert reference.encode("Once upon a time") == [403, 407, 261, 378]
    texts = [*english_lines()[:300], *cantonese_sentences()[:300], "  two  spaces\tand\nnewline ", "x"]
    mismatched = [t for t in texts if tok.encode(t, add_special_tokens=False) != reference.encode(t)]
    assert mismatched == []


def test_cantonese_falls_back_to_three_byte_pieces(converted: Path) -> None:
    tok = load_tokenizer(converted)
    ids = tok.encode("你", add_special_tokens=False)
    assert tok.convert_ids_to_tokens(ids) == ["▁", "<0xE4>", "<0xBD>", "<0xA0>"]
    ids = tok.encode("佢哋", add_special_tokens=False)
    assert len(ids) == 1 + 6 and all(tok.convert_ids_to_tokens(i).startswith("<0x") for i in ids[1:])
    assert tok.decode(ids) == "佢哋"


def test_gguf_path_loads_through_a_fingerprinted_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOTHERTONGUE_CACHE", str(tmp_path))
    model = load_causal_lm("asset:models/stories260K.gguf")
    tok = load_tokenizer(GGUF)
    cached = list((tmp_path / "gguf").iterdir())
    assert len(cached) == 1 and (cached[0] / "model.safetensors").is_file()
    assert model.get_input_embeddings().weight.shape == (512, 64) and len(tok) == 512


def test_loader_refuses_non_model_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_causal_lm(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither"):
        load_tokenizer(tmp_path / "missing.bin")
