"""GGUF Llama checkpoints -> standard Hugging Face directories.

GGUF is how small and quantised Llama models are shared (llama.cpp); the rest of the pipeline
speaks HF safetensors. transformers loads GGUF weights, but two things in real files break it:
a padding id of 2^32-1 (llama2.c exports "no pad" that way) and, for the same reason, its
GGUF tokenizer conversion. So weights go through transformers with a valid pad id, and the
tokenizer is rebuilt from the file's own `tokenizer.ggml.*` fields.
"""

from __future__ import annotations

import json
from pathlib import Path

from mothertongue.io import atomic_dir
from mothertongue.tokenizer.spm import SpmVocab, spm_bpe_tokenizer

_NO_ID = (1 << 32) - 1


def _field(reader, key: str, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


def _valid_id(value, size: int) -> int | None:
    return int(value) if value is not None and 0 <= int(value) < size and int(value) != _NO_ID else None


def gguf_vocab(gguf_path: str | Path) -> SpmVocab:
    """The SentencePiece vocabulary stored in a GGUF file (`tokenizer.ggml.model == "llama"`)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    kind = _field(reader, "tokenizer.ggml.model")
    if kind != "llama":
        raise ValueError(
            f"{gguf_path}: tokenizer.ggml.model is {kind!r}; only SentencePiece ('llama') vocabularies are supported"
        )
    pieces = list(_field(reader, "tokenizer.ggml.tokens"))
    scores = [float(s) for s in _field(reader, "tokenizer.ggml.scores", [0.0] * len(pieces))]
    types = [int(t) for t in _field(reader, "tokenizer.ggml.token_type", [1] * len(pieces))]
    size = len(pieces)
    unk = _valid_id(_field(reader, "tokenizer.ggml.unknown_token_id", 0), size)
    return SpmVocab(
        pieces=pieces,
        scores=scores,
        types=types,
        add_dummy_prefix=bool(_field(reader, "tokenizer.ggml.add_space_prefix", True)),
        unk_id=0 if unk is None else unk,
        bos_id=_valid_id(_field(reader, "tokenizer.ggml.bos_token_id"), size),
        eos_id=_valid_id(_field(reader, "tokenizer.ggml.eos_token_id"), size),
    )


def save_spm_tokenizer(vocab: SpmVocab, out_dir: str | Path, pad_id: int | None = None) -> None:
    """Write `vocab` as an HF tokenizer directory (tokenizer.json + tokenizer_config.json)."""
    from transformers import PreTrainedTokenizerFast

    def piece(i: int | None) -> str | None:
        return None if i is None else vocab.pieces[i]

    fast = PreTrainedTokenizerFast(
        tokenizer_object=spm_bpe_tokenizer(vocab),
        bos_token=piece(vocab.bos_id),
        eos_token=piece(vocab.eos_id),
        unk_token=piece(vocab.unk_id),
        pad_token=piece(pad_id),
        add_bos_token=vocab.bos_id is not None,
    )
    fast.save_pretrained(str(out_dir))


def _plain_copy(model):
    """The same weights in a model transformers will serialise (GGUF-loaded models refuse to)."""
    import copy

    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.generation_config = copy.deepcopy(model.generation_config)
    return plain


def gguf_to_hf(gguf_path: str | Path, out_dir: str | Path) -> Path:
    """Convert a GGUF Llama file into `out_dir` (config.json, model.safetensors, tokenizer.json).

    The pad id becomes the unknown id (0) when the file has none, so generation and batching
    work; the weights are written in the file's precision (dequantised when quantised).
    """
    from transformers import AutoModelForCausalLM

    gguf_path, out_dir = Path(gguf_path).resolve(), Path(out_dir)
    if not gguf_path.is_file():
        raise FileNotFoundError(f"GGUF file {gguf_path} does not exist")
    vocab = gguf_vocab(gguf_path)
    pad_id = vocab.unk_id
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, pad_token_id=pad_id, trust_remote_code=False
    )
    model = _plain_copy(model)
    model.config.bos_token_id = vocab.bos_id
    model.config.eos_token_id = vocab.eos_id
    if model.generation_config is not None:
        model.generation_config.pad_token_id = pad_id
        model.generation_config.bos_token_id = vocab.bos_id
        model.generation_config.eos_token_id = vocab.eos_id
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        save_spm_tokenizer(vocab, tmp, pad_id=pad_id)
        (tmp / "source.json").write_text(json.dumps({"converted_from": str(gguf_path)}, indent=2) + "\n")
    return out_dir
