"""Growing real models for a merged vocabulary: padding formula, exact original rows, init methods."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from mothertongue.corpora import asset_path, cantonese_sentences, english_lines
from mothertongue.models import gguf_to_hf, load_causal_lm
from mothertongue.tokenizer.config import InitMethod
from mothertongue.tokenizer.grow import grow_model, padded_rows
from mothertongue.tokenizer.merge import merge_vocabularies
from mothertongue.tokenizer.train import train_new_vocabulary
from tokenizers import ByteLevelBPETokenizer, Tokenizer
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

FIXTURES = Path(__file__).parent / "fixtures" / "tokenizer"
TEXTS = list(cantonese_sentences("ctcpc")[:2500])


@pytest.fixture(scope="module")
def stories(tmp_path_factory):
    """stories260K (untied head) as an HF dir, and its merged Cantonese vocabulary."""
    hf = gguf_to_hf(asset_path("models/stories260K.gguf"), tmp_path_factory.mktemp("s") / "base")
    base = Tokenizer.from_file(str(hf / "tokenizer.json"))
    new = train_new_vocabulary(TEXTS, json.loads(base.to_str()), vocab_size=3500, min_frequency=2)
    return hf, base, merge_vocabularies(base, new)


def test_padding_formula_matches_the_article() -> None:
    assert padded_rows(50257 + 3000, 50257, 128) == math.ceil(53257 / 128) * 128 - 50257
    assert padded_rows(4221, 512, 64) == 4224 - 512
    assert padded_rows(512, 512, 64) == 0
    assert padded_rows(500, 512, 1) == 0


@pytest.mark.parametrize("method", list(InitMethod))
def test_untied_growth_keeps_rows_and_inits_as_claimed(stories, method, tmp_path) -> None:
    hf, base, merged = stories
    model = load_causal_lm(hf)
    old_emb = model.get_input_embeddings().weight.detach().clone()
    old_head = model.get_output_embeddings().weight.detach().clone()
    result = grow_model(model, base, merged.tokenizer, merged.base_size, 64, method, seed=7)
    n = merged.tokenizer.get_vocab_size(with_added_tokens=True)
    assert result.total_rows == math.ceil(n / 64) * 64 and result.total_rows % 64 == 0
    assert result.new_rows == result.total_rows - 512 and not result.tied
    model.save_pretrained(str(tmp_path), safe_serialization=True)
    grown = AutoModelForCausalLM.from_pretrained(str(tmp_path), use_safetensors=True)
    emb, head = grown.get_input_embeddings().weight.detach(), grown.get_output_embeddings().weight.detach()
    assert emb.shape == (result.total_rows, 64) and head.shape == (result.total_rows, 64)
    assert grown.config.vocab_size == result.total_rows
    assert torch.equal(emb[:512], old_emb) and torch.equal(head[:512], old_head)  # bitwise
    new_id = merged.tokenizer.token_to_id(merged.added_tokens[-1])
    pieces = result.subtoken_pieces[new_id]
    assert len(pieces) >= 2
    if method is InitMethod.zeros:
        assert torch.count_nonzero(emb[512:]) == 0 and torch.count_nonzero(head[512:]) == 0
    elif method is InitMethod.mean:
        assert torch.allclose(emb[new_id], old_emb.double().mean(0).float(), atol=1e-7)
        assert torch.allclose(head[new_id], old_head.double().mean(0).float(), atol=1e-7)
    elif method is InitMethod.subtoken_mean:
        assert torch.allclose(emb[new_id], old_emb[pieces].double().mean(0).float(), atol=1e-7)
        assert torch.allclose(head[new_id], old_head[pieces].double().mean(0).float(), atol=1e-7)
        padding = emb[n:]  # rows past the vocabulary spell nothing: the mean
        assert padding.shape[0] == result.total_rows - n
        assert all(torch.allclose(r, old_emb.double().mean(0).float(), atol=1e-7) for r in padding)
    else:  # multivariate_normal: distinct samples close to the mean
        mean = old_emb.double().mean(0).float()
        assert not torch.equal(emb[new_id], emb[new_id - 1])
        assert torch.allclose(emb[512:], mean.expand_as(emb[512:]), atol=1e-3)


def test_subtoken_pieces_spell_the_new_token(stories) -> None:
    _, base, merged = stories
    model = load_causal_lm(stories[0])
    result = grow_model(model, base, merged.tokenizer, merged.base_size, 64)
    for token in merged.added_tokens[:200]:
        ids = result.subtoken_pieces[merged.tokenizer.token_to_id(token)]
        assert all(i < 512 for i in ids)
        assert (
            base.decode(ids).strip() == merged.tokenizer.decode([merged.tokenizer.token_to_id(token)]).strip()
        )


def test_tied_head_grows_once_and_stays_tied(tmp_path) -> None:
    bpe = ByteLevelBPETokenizer(str(FIXTURES / "gpt2" / "vocab.json"), str(FIXTURES / "gpt2" / "merges.txt"))
    base = bpe._tokenizer
    new = train_new_vocabulary(TEXTS, json.loads(base.to_str()), vocab_size=1500, min_frequency=2)
    merged = merge_vocabularies(base, new)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_embd=16, n_layer=1, n_head=2, n_positions=64))
    old = model.get_input_embeddings().weight.detach().clone()
    result = grow_model(model, base, merged.tokenizer, merged.base_size, 128, InitMethod.subtoken_mean)
    assert result.tied and result.total_rows == math.ceil((50257 + len(merged.added_tokens)) / 128) * 128
    model.save_pretrained(str(tmp_path), safe_serialization=True)
    grown = AutoModelForCausalLM.from_pretrained(str(tmp_path), use_safetensors=True)
    emb = grown.get_input_embeddings().weight
    assert grown.get_output_embeddings().weight.data_ptr() == emb.data_ptr()
    assert torch.equal(emb[:50257].detach(), old)
    new_id = merged.tokenizer.token_to_id(merged.added_tokens[-1])
    pieces = result.subtoken_pieces[new_id]
    assert torch.allclose(emb[new_id].detach(), old[pieces].double().mean(0).float(), atol=1e-7)


def test_grown_model_answers_english_like_the_base(stories) -> None:
    hf, base, merged = stories
    model = load_causal_lm(hf)
    grow_model(model, base, merged.tokenizer, merged.base_size, 64)
    reference = load_causal_lm(hf)
    ids = torch.tensor([[1, *merged.tokenizer.encode("Once upon a time", add_special_tokens=False).ids]])
    a = reference.generate(ids, max_new_tokens=20, do_sample=False)
    b = model.generate(ids, max_new_tokens=20, do_sample=False)
    assert torch.equal(a, b)
    lines = list(english_lines()[:4])
    for line in lines:
        x = torch.tensor([merged.tokenizer.encode(line).ids[:48]])
        with torch.no_grad():
            assert torch.equal(reference(input_ids=x).logits, model(input_ids=x).logits[..., :512])
