"""Merge a new-language vocabulary into a base tokenizer without disturbing the base.

Tokens and merges are appended after everything the base has, so every original id is kept
and every original merge outranks every new one: a new merge can only fire where no base merge
applies. Dropping new tokens made only of ASCII (the default) makes that exact for English:
a merge whose result holds a non-ASCII byte needs a non-ASCII input, so ASCII text never sees
one. Special and added tokens are carried over untouched.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from tokenizers import Tokenizer

from mothertongue.tokenizer.spm import SPACE
from mothertongue.tokenizer.train import BYTE_LEVEL, tokenizer_family


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte <-> printable-character table (bytes_to_unicode), inverted."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    n, table = 0, {}
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + n)] = b
            n += 1
    return table


_BYTE_DECODER = _byte_decoder()


def token_bytes(token: str, family: str) -> bytes:
    """The text bytes a vocabulary entry stands for."""
    if family == BYTE_LEVEL:
        return bytes(_BYTE_DECODER[c] for c in token)
    return token.replace(SPACE, " ").encode("utf-8")


def _pairs(merges: list) -> list[tuple[str, str]]:
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else (m[0], m[1]) for m in merges]


@dataclass
class MergeResult:
    tokenizer: Tokenizer
    family: str
    added_tokens: list[str]
    added_merges: int
    skipped_ascii: int
    skipped_known: int
    base_size: int  # ids below this are the base's (vocabulary and added tokens)


def merge_vocabularies(base: Tokenizer, new: Tokenizer, protect_ascii: bool = True) -> MergeResult:
    """Append `new`'s tokens and merges that `base` lacks; original ids and merges unchanged."""
    base_json = json.loads(base.to_str())
    new_json = json.loads(new.to_str())
    family = tokenizer_family(base_json)
    if tokenizer_family(new_json) != family:
        raise ValueError("new vocabulary is not in the base tokenizer's family")
    merged = copy.deepcopy(base_json)
    vocab: dict[str, int] = merged["model"]["vocab"]
    base_vocab = set(vocab)
    base_merges = _pairs(merged["model"]["merges"])
    known_merges = set(base_merges)
    taken = list(vocab.values()) + [t["id"] for t in merged.get("added_tokens", [])]
    base_size = max(taken) + 1
    next_id = base_size
    added: list[str] = []
    new_merges: list[tuple[str, str]] = []
    skipped_ascii = skipped_known = 0

    def wanted(token: str) -> bool:
        nonlocal skipped_ascii
        if protect_ascii and token_bytes(token, family).isascii():
            skipped_ascii += 1
            return False
        return True

    def add(token: str) -> None:
        nonlocal next_id
        vocab[token] = next_id
        added.append(token)
        next_id += 1

    new_vocab = new_json["model"]["vocab"]
    # characters a SentencePiece vocabulary knows whole (the base falls back to bytes for them)
    for token in sorted(new_vocab, key=new_vocab.get):
        if len(token) == 1 and token not in vocab and wanted(token):
            add(token)
    for left, right in _pairs(new_json["model"]["merges"]):
        token = left + right
        if left not in vocab or right not in vocab or (left, right) in known_merges:
            continue
        if token in base_vocab:
            skipped_known += 1
            continue
        if not wanted(token):
            continue
        if token not in vocab:
            add(token)
        new_merges.append((left, right))
        known_merges.add((left, right))
    merged["model"]["merges"] = [list(m) for m in base_merges + new_merges]
    return MergeResult(
        tokenizer=Tokenizer.from_str(json.dumps(merged)),
        family=family,
        added_tokens=added,
        added_merges=len(new_merges),
        skipped_ascii=skipped_ascii,
        skipped_known=skipped_known,
        base_size=base_size,
    )


def base_pieces(base: Tokenizer, token: str) -> list[int]:
    """Ids of the base-vocabulary pieces that spell `token` (base BPE run on the raw token)."""
    return [t.id for t in base.model.tokenize(token)]


def tokenizer_json(tok: Tokenizer) -> dict[str, Any]:
    return json.loads(tok.to_str())
