"""SentencePiece BPE vocabularies as Hugging Face `tokenizers` objects.

Llama 2, Mistral and llama2.c models ship SentencePiece BPE vocabularies (a `.model` proto or
GGUF `tokenizer.ggml.*` fields). SentencePiece BPE merges the adjacent pair whose union has the
highest piece score; a `tokenizers` BPE model with merges ranked by that score, a `▁` prefix and
byte fallback reproduces it exactly, and saves as a plain `tokenizer.json` that
`AutoTokenizer` loads without sentencepiece or remote code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, normalizers, processors
from tokenizers.models import BPE

SPACE = "\u2581"  # SentencePiece's visible space

# SentencePiece piece types (sentencepiece_model.proto)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


@dataclass
class SpmVocab:
    """The parts of a SentencePiece BPE model that decide how text is split."""

    pieces: list[str]
    scores: list[float]
    types: list[int]
    add_dummy_prefix: bool = True
    unk_id: int = 0
    bos_id: int | None = 1
    eos_id: int | None = 2

    def __post_init__(self) -> None:
        if not len(self.pieces) == len(self.scores) == len(self.types):
            raise ValueError("pieces, scores and types must have the same length")

    @classmethod
    def from_model_file(cls, path: str | Path) -> SpmVocab:
        """Read a SentencePiece `.model` file (a ModelProto) without running sentencepiece."""
        from sentencepiece import sentencepiece_model_pb2 as pb

        proto = pb.ModelProto()
        proto.ParseFromString(Path(path).read_bytes())
        if proto.trainer_spec.model_type != pb.TrainerSpec.BPE:
            raise ValueError(f"{path}: only SentencePiece BPE models are supported (found unigram/other)")
        if (
            proto.normalizer_spec.name not in ("identity", "")
            or proto.normalizer_spec.remove_extra_whitespaces
        ):
            raise ValueError(
                f"{path}: normalizer {proto.normalizer_spec.name!r} (remove_extra_whitespaces="
                f"{proto.normalizer_spec.remove_extra_whitespaces}) is not supported; Llama-style models use identity"
            )
        ts = proto.trainer_spec
        return cls(
            pieces=[p.piece for p in proto.pieces],
            scores=[p.score for p in proto.pieces],
            types=[int(p.type) for p in proto.pieces],
            add_dummy_prefix=proto.normalizer_spec.add_dummy_prefix,
            unk_id=ts.unk_id,
            bos_id=ts.bos_id if ts.bos_id >= 0 else None,
            eos_id=ts.eos_id if ts.eos_id >= 0 else None,
        )

    def merges(self) -> list[tuple[str, str]]:
        """Every (left, right) pair whose union is a normal piece, ranked like SentencePiece.

        SentencePiece picks the pair whose union has the highest score; ties go to the lower id.
        """
        ids = {p: i for i, p in enumerate(self.pieces)}
        mergeable = {p for p, t in zip(self.pieces, self.types, strict=True) if t == NORMAL}
        found: list[tuple[float, int, int, int, str, str]] = []
        for i, (piece, score, kind) in enumerate(zip(self.pieces, self.scores, self.types, strict=True)):
            if kind != NORMAL or len(piece) < 2:
                continue
            for cut in range(1, len(piece)):
                left, right = piece[:cut], piece[cut:]
                if left in mergeable and right in mergeable:
                    found.append((-score, i, ids[left], ids[right], left, right))
        found.sort()
        return [(left, right) for *_, left, right in found]

    def special_pieces(self) -> list[str]:
        return [p for p, t in zip(self.pieces, self.types, strict=True) if t in (UNKNOWN, CONTROL)]


def spm_bpe_tokenizer(vocab: SpmVocab) -> Tokenizer:
    """A `tokenizers.Tokenizer` that splits text exactly like the SentencePiece BPE model."""
    model = BPE(
        vocab={p: i for i, p in enumerate(vocab.pieces)},
        merges=vocab.merges(),
        unk_token=vocab.pieces[vocab.unk_id],
        fuse_unk=True,
        byte_fallback=True,
    )
    tok = Tokenizer(model)
    steps = [normalizers.Prepend(SPACE)] if vocab.add_dummy_prefix else []
    tok.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", SPACE)])
    dec = [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if vocab.add_dummy_prefix:
        dec.append(decoders.Strip(content=" ", left=1))
    tok.decoder = decoders.Sequence(dec)
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in vocab.special_pieces()])
    user = [p for p, t in zip(vocab.pieces, vocab.types, strict=True) if t == USER_DEFINED]
    if user:  # SentencePiece matches user-defined pieces whole, before BPE
        tok.add_tokens([AddedToken(p, special=False, normalized=True) for p in user])
    if vocab.bos_id is not None:
        bos = vocab.pieces[vocab.bos_id]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, vocab.bos_id)]
        )
    return tok


def to_model_proto(vocab: SpmVocab) -> bytes:
    """The vocabulary as a SentencePiece `.model` (identity normaliser, BPE, byte fallback).

    Lets sentencepiece itself serve as the reference tokenizer for vocabularies that arrive
    without a `.model` file (GGUF), and lets SentencePiece-based tools read a merged vocabulary.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.BPE
    proto.trainer_spec.vocab_size = len(vocab.pieces)
    proto.trainer_spec.byte_fallback = True
    proto.trainer_spec.unk_id = vocab.unk_id
    proto.trainer_spec.bos_id = -1 if vocab.bos_id is None else vocab.bos_id
    proto.trainer_spec.eos_id = -1 if vocab.eos_id is None else vocab.eos_id
    proto.trainer_spec.pad_id = -1
    proto.trainer_spec.unk_piece = vocab.pieces[vocab.unk_id]
    if vocab.bos_id is not None:
        proto.trainer_spec.bos_piece = vocab.pieces[vocab.bos_id]
    if vocab.eos_id is not None:
        proto.trainer_spec.eos_piece = vocab.pieces[vocab.eos_id]
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = vocab.add_dummy_prefix
    proto.normalizer_spec.remove_extra_whitespaces = False
    for piece, score, kind in zip(vocab.pieces, vocab.scores, vocab.types, strict=True):
        proto.pieces.add(piece=piece, score=score, type=kind)
    return proto.SerializeToString()
