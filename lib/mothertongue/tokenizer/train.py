"""Train a vocabulary for the new language in the base tokenizer's own family.

A new vocabulary only helps if its tokens can fire inside the base tokenizer's pipeline, so
it is trained the way the base splits text: byte-level BPE with the base's pre-tokenizer
(GPT-2, Llama 3, Qwen) through HF `tokenizers`, or SentencePiece BPE with the base's
whitespace convention (Llama 2, Mistral, llama2.c) through sentencepiece itself.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections import Counter
from typing import Any

from tokenizers import Tokenizer, pre_tokenizers, trainers

BYTE_LEVEL, SENTENCEPIECE = "byte_level", "sentencepiece"
log = logging.getLogger(__name__)


def tokenizer_family(tokenizer_json: dict[str, Any]) -> str:
    """`byte_level` or `sentencepiece`, from a tokenizer.json; anything else is refused."""
    model = tokenizer_json.get("model") or {}
    if model.get("type") != "BPE":
        raise ValueError(
            f"base tokenizer model is {model.get('type')!r}; only BPE vocabularies can be extended"
        )
    if model.get("byte_fallback"):
        return SENTENCEPIECE
    if "ByteLevel" in json.dumps(tokenizer_json.get("pre_tokenizer")):
        return BYTE_LEVEL
    raise ValueError("base BPE tokenizer is neither byte-level nor SentencePiece-style (byte fallback)")


def adds_dummy_prefix(tokenizer_json: dict[str, Any]) -> bool:
    """Whether a SentencePiece-style tokenizer puts `▁` before the text (Llama 2, Mistral do)."""
    text = json.dumps([tokenizer_json.get("normalizer"), tokenizer_json.get("pre_tokenizer")])
    return '"Prepend"' in text or ('"Metaspace"' in text and '"never"' not in text)


def train_byte_level(
    texts: list[str], base_json: dict[str, Any], vocab_size: int, min_frequency: int
) -> Tokenizer:
    """Byte-level BPE trained behind the base's own normaliser and pre-tokenizer."""
    skeleton = {
        "version": base_json.get("version", "1.0"),
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": base_json.get("normalizer"),
        "pre_tokenizer": base_json.get("pre_tokenizer"),
        "post_processor": None,
        "decoder": base_json.get("decoder"),
        "model": {"type": "BPE", "vocab": {}, "merges": [], "dropout": None, "unk_token": None},
    }
    tok = Tokenizer.from_str(json.dumps(skeleton))
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def train_sentencepiece(
    texts: list[str],
    vocab_size: int,
    min_frequency: int,
    add_dummy_prefix: bool = True,
    character_coverage: float = 0.9995,
    seed: int = 0,
) -> Tokenizer:
    """SentencePiece BPE (byte fallback, identity normaliser) as a `tokenizers` BPE.

    sentencepiece has no minimum frequency, so pieces seen fewer than `min_frequency` times
    when the training text is encoded are dropped afterwards.
    """
    import sentencepiece as spm

    from mothertongue.tokenizer.spm import NORMAL, SpmVocab, spm_bpe_tokenizer

    def run(size: int) -> bytes:
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=buf,
            model_type="bpe",
            vocab_size=size,
            hard_vocab_limit=False,
            byte_fallback=True,
            character_coverage=character_coverage,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=add_dummy_prefix,
            split_digits=True,
            allow_whitespace_only_pieces=True,
            max_sentencepiece_length=16,
            num_threads=2,
            minloglevel=2,
        )
        return buf.getvalue()

    try:
        proto = run(vocab_size)
    except RuntimeError as exc:
        # a logographic script needs one piece per covered character before any merge
        found = re.search(r"required_chars\. \d+ vs (\d+)", str(exc))
        if not found:
            raise
        raised = int(found.group(1)) + max(256, vocab_size // 4)
        log.warning(
            "vocab_size %d cannot hold the %s covered characters; training %d",
            vocab_size,
            found.group(1),
            raised,
        )
        proto = run(raised)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "new.model"
        model.write_bytes(proto)
        vocab = SpmVocab.from_model_file(model)
    tok = spm_bpe_tokenizer(vocab)
    if min_frequency > 1:
        counts = Counter(i for enc in tok.encode_batch(texts, add_special_tokens=False) for i in enc.ids)
        keep = [
            kind != NORMAL or counts[i] >= min_frequency or len(piece) == 1
            for i, (piece, kind) in enumerate(zip(vocab.pieces, vocab.types, strict=True))
        ]
        vocab = SpmVocab(
            pieces=[p for p, k in zip(vocab.pieces, keep, strict=True) if k],
            scores=[s for s, k in zip(vocab.scores, keep, strict=True) if k],
            types=[t for t, k in zip(vocab.types, keep, strict=True) if k],
            add_dummy_prefix=vocab.add_dummy_prefix,
            unk_id=vocab.unk_id,
            bos_id=vocab.bos_id,
            eos_id=vocab.eos_id,
        )
        tok = spm_bpe_tokenizer(vocab)
    return tok


def train_new_vocabulary(
    texts: list[str],
    base_json: dict[str, Any],
    vocab_size: int,
    min_frequency: int = 2,
    character_coverage: float = 0.9995,
    seed: int = 0,
) -> Tokenizer:
    """A monolingual tokenizer for `texts` in the family of `base_json`."""
    if not texts:
        raise ValueError("no training text")
    family = tokenizer_family(base_json)
    if family == BYTE_LEVEL:
        return train_byte_level(texts, base_json, vocab_size, min_frequency)
    return train_sentencepiece(
        texts, vocab_size, min_frequency, adds_dummy_prefix(base_json), character_coverage, seed
    )
