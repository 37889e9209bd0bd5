"""Train + merge on both tokenizer families with real vocabularies (GPT-2, Mistral)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mothertongue.corpora import cantonese_sentences, english_lines
from mothertongue.jobs.tokenizer import save_tokenizer
from mothertongue.tokenizer.merge import merge_vocabularies, token_bytes
from mothertongue.tokenizer.report import fertility
from mothertongue.tokenizer.spm import SpmVocab, spm_bpe_tokenizer
from mothertongue.tokenizer.texts import split_heldout
from mothertongue.tokenizer.train import BYTE_LEVEL, SENTENCEPIECE, tokenizer_family, train_new_vocabulary
from tokenizers import ByteLevelBPETokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerFast

FIXTURES = Path(__file__).parent / "fixtures" / "tokenizer"
TEXTS = list(cantonese_sentences("ctcpc")[:4000])
TRAIN, HELDOUT = split_heldout(TEXTS, 0.1, seed=0)
ENGLISH = list(english_lines()[:1500])


def gpt2_base() -> PreTrainedTokenizerFast:
    bpe = ByteLevelBPETokenizer(str(FIXTURES / "gpt2" / "vocab.json"), str(FIXTURES / "gpt2" / "merges.txt"))
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>")


def mistral_base() -> PreTrainedTokenizerFast:
    vocab = SpmVocab.from_model_file(FIXTURES / "mistral" / "tokenizer.model.v1")
    return PreTrainedTokenizerFast(
        tokenizer_object=spm_bpe_tokenizer(vocab), bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


@pytest.fixture(scope="module", params=["gpt2", "mistral"])
def family_case(request, tmp_path_factory):
    base = gpt2_base() if request.param == "gpt2" else mistral_base()
    base_tok = base.backend_tokenizer
    new = train_new_vocabulary(TRAIN, json.loads(base_tok.to_str()), vocab_size=3000, min_frequency=2)
    merged = merge_vocabularies(base_tok, new)
    out = tmp_path_factory.mktemp(request.param)
    save_tokenizer(merged.tokenizer, base, out)
    return request.param, base, merged, out


def test_families_are_detected() -> None:
    assert tokenizer_family(json.loads(gpt2_base().backend_tokenizer.to_str())) == BYTE_LEVEL
    assert tokenizer_family(json.loads(mistral_base().backend_tokenizer.to_str())) == SENTENCEPIECE


def test_mistral_vocabulary_splits_exactly_like_sentencepiece() -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(FIXTURES / "mistral" / "tokenizer.model.v1"))
    tok = mistral_base()
    for text in [*ENGLISH[:300], *HELDOUT[:300], "  spaces   and\ttabs ", "哋攰"]:
        assert tok.encode(text, add_special_tokens=False) == sp.encode(text), text
    assert tok.convert_ids_to_tokens(tok.encode("攰", add_special_tokens=False))[-3:] == [
        "<0xE6>",
        "<0x94>",
        "<0xB0>",
    ]


def test_merged_tokenizer_loads_with_autotokenizer_and_keeps_original_ids(family_case) -> None:
    name, base, merged, out = family_case
    loaded = AutoTokenizer.from_pretrained(str(out))
    base_vocab = base.get_vocab()
    loaded_vocab = loaded.get_vocab()
    assert all(loaded_vocab[tok] == i for tok, i in base_vocab.items())
    assert len(loaded) == len(base) + len(merged.added_tokens)
    assert sorted(loaded_vocab.values()) == list(range(len(loaded)))
    assert len(merged.added_tokens) > 500
    assert loaded.eos_token == base.eos_token
    if name == "mistral":
        assert loaded.bos_token == "<s>" and loaded("你好").input_ids[0] == 1


def test_english_ids_identical_before_and_after(family_case) -> None:
    _, base, _, out = family_case
    loaded = AutoTokenizer.from_pretrained(str(out))
    for text in ENGLISH:
        assert loaded.encode(text) == base.encode(text), text


def test_heldout_cantonese_fertility_drops_and_round_trips(family_case) -> None:
    name, base, merged, out = family_case
    loaded = AutoTokenizer.from_pretrained(str(out))
    before = fertility(base.backend_tokenizer, HELDOUT)["tokens_per_char"]
    after = fertility(loaded.backend_tokenizer, HELDOUT)["tokens_per_char"]
    ratio = after / before
    print(f"{name}: held-out Cantonese tokens/char {before:.3f} -> {after:.3f} (ratio {ratio:.3f})")
    assert ratio < 0.75
    for text in HELDOUT[:200]:
        assert loaded.decode(loaded.encode(text, add_special_tokens=False)) == text


def test_gpt2_needs_fewer_tokens_for_the_issue_sentence(tmp_path: Path) -> None:
    base = gpt2_base()
    new = train_new_vocabulary(
        TRAIN, json.loads(base.backend_tokenizer.to_str()), vocab_size=3000, min_frequency=2
    )
    save_tokenizer(merge_vocabularies(base.backend_tokenizer, new).tokenizer, base, tmp_path)
    sentence = "你好，我係香港人"
    assert len(base.encode(sentence)) == 18
    assert len(AutoTokenizer.from_pretrained(str(tmp_path)).encode(sentence)) < 10


def test_ascii_tokens_are_kept_out_unless_asked() -> None:
    base = gpt2_base().backend_tokenizer
    mixed = TRAIN[:1500] + [f"Kowloon Tong MTR station {i}" for i in range(300)]
    new = train_new_vocabulary(mixed, json.loads(base.to_str()), vocab_size=1500, min_frequency=2)
    guarded = merge_vocabularies(base, new, protect_ascii=True)
    assert guarded.skipped_ascii > 0
    assert not any(token_bytes(t, BYTE_LEVEL).isascii() for t in guarded.added_tokens)
    loose = merge_vocabularies(base, new, protect_ascii=False)
    assert b"Kowloon" in {token_bytes(t, BYTE_LEVEL).strip() for t in loose.added_tokens}
