"""A byte-level tokenizer for any model whose vocabulary holds the 256 byte tokens.

SentencePiece vocabularies with byte fallback (Llama 2, stories260K: `<0x00>`..`<0xFF>`)
can spell every string byte by byte. Encoding text that way is a valid, non-canonical
tokenization for the same model: the evaluation uses it to show that bits per byte is
normalised by the bytes of the text, not by how many tokens a tokenizer happens to produce,
and as a tokenizer of last resort for a model shipped without one.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from tokenizers.pre_tokenizers import ByteLevel
from transformers import PreTrainedTokenizerFast


def byte_tokenizer(
    first_byte_id: int = 3,
    specials: dict[str, int] | None = None,
) -> PreTrainedTokenizerFast:
    """Byte b -> id first_byte_id + b; `specials` maps bos/eos/unk/pad names to token ids."""
    specials = specials if specials is not None else {"unk": 0, "bos": 1, "eos": 2}
    alphabet = ByteLevel.alphabet()
    byte_to_char = {b: c for b, c in zip(range(256), _bytes_to_unicode(), strict=True)}
    assert set(byte_to_char.values()) == set(alphabet)
    vocab = {byte_to_char[b]: first_byte_id + b for b in range(256)}
    names = {"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<pad>"}
    for kind, tid in specials.items():
        vocab[names[kind]] = tid
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    kwargs = {f"{kind}_token": names[kind] for kind in specials}
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    wrapped.add_special_tokens({"additional_special_tokens": []})
    return wrapped


def _bytes_to_unicode() -> list[str]:
    """GPT-2's reversible byte -> printable character table, in byte order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs, strict=True))
    return [chr(table[b]) for b in range(256)]
