"""Log-likelihood of raw text under a causal LM: bits per byte, bits per character, perplexity.

Why bits per byte: the tokenizer job changes how many tokens a text has, so perplexity per
token of a base model and of its extended-vocabulary successor are not comparable. The
probability the model gives the *text* is. We therefore report

    bits_per_byte = sum over documents of NLL(document) [nats] / ln 2 / sum of UTF-8 bytes

where NLL(document) is the summed negative log-likelihood of every token of the document's
encoding, and the byte count comes from the document *text* (never from tokens), so the
normaliser is the same whichever tokenizer counts tokens. Conventions, explicitly:

- Each document is encoded on its own (`add_special_tokens=False`) and preceded by one
  context token that is not scored: the tokenizer's BOS when it has one, else its EOS (the
  GPT-2 habit: `<|endoftext|>` separates documents). The first real token of a document is
  therefore scored conditioned on BOS/EOS only. A tokenizer with neither is refused.
- No EOS is appended or scored: the score is that of the text, not of "text then stop".
- A document longer than the context window is scored with striding windows: windows of
  `max_length` tokens advance by `stride` tokens and each token is scored exactly once, in
  the first window that contains it as a target, with at least `max_length - stride` tokens
  of context (except at the start). With `stride >= document length` nothing changes.
- Per-token log-probs are taken from float32 log-softmax and summed in float64.

Windows from all documents are sorted by length and packed into batches under a token
budget, so batching changes speed, not results (up to float32 round-off of padded matmuls).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

LN2 = math.log(2.0)


@dataclass
class TextScore:
    """Totals for one set of documents; the derived metrics are properties."""

    nll_nats: float
    tokens: int
    bytes: int
    chars: int
    documents: int

    @property
    def bits_per_byte(self) -> float:
        return self.nll_nats / LN2 / self.bytes

    @property
    def bits_per_char(self) -> float:
        return self.nll_nats / LN2 / self.chars

    @property
    def perplexity_per_token(self) -> float:
        return math.exp(self.nll_nats / self.tokens)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "bits_per_byte": self.bits_per_byte,
            "bits_per_char": self.bits_per_char,
            "perplexity_per_token": self.perplexity_per_token,
            "nll_nats": self.nll_nats,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "chars": self.chars,
            "documents": self.documents,
        }


def context_token_id(tokenizer) -> int:
    """The unscored token every document is conditioned on: BOS, else EOS."""
    for name in ("bos_token_id", "eos_token_id"):
        tid = getattr(tokenizer, name, None)
        if tid is not None:
            return int(tid)
    raise ValueError(
        "the tokenizer has neither a BOS nor an EOS token, so the first token of a document "
        "cannot be scored; give the tokenizer a bos_token"
    )


def encode_documents(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """[context token] + encoding of each text (no special tokens added by the tokenizer)."""
    ctx = context_token_id(tokenizer)
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [[ctx, *ids] for ids in encoded]


def windows(n: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """Windows (begin, end, first_target) over a sequence of n tokens (position 0 is context).

    Tokens [begin, end) are fed to the model; targets first_target..end-1 are scored.
    Every position 1..n-1 is a target exactly once.
    """
    if max_length < 2:
        raise ValueError("max_length must be at least 2")
    stride = max(1, min(stride, max_length - 1))
    out: list[tuple[int, int, int]] = []
    end = min(max_length, n)
    out.append((0, end, 1))
    while end < n:
        new_end = min(end + stride, n)
        begin = max(0, new_end - max_length)
        out.append((begin, new_end, end))
        end = new_end
    return out


def _model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def sequence_nlls(
    model: torch.nn.Module,
    sequences: Sequence[Sequence[int]],
    max_length: int,
    stride: int | None = None,
    batch_tokens: int = 8192,
    progress: bool = False,
    desc: str = "scoring",
) -> list[tuple[float, int]]:
    """(summed NLL in nats, scored tokens) per token sequence; position 0 is never scored."""
    stride = stride or max_length
    device = _model_device(model)
    jobs: list[tuple[int, list[int], int]] = []  # (sequence index, window ids, targets scored from)
    for i, seq in enumerate(sequences):
        for begin, end, first in windows(len(seq), max_length, stride):
            if first < end:
                jobs.append((i, list(seq[begin:end]), first - begin))
    order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][1]), reverse=True)
    totals = [0.0] * len(sequences)
    counts = [0] * len(sequences)
    was_training = model.training
    model.eval()
    bar = tqdm(total=len(order), desc=desc, disable=not progress, unit="win")
    k = 0
    while k < len(order):
        longest = len(jobs[order[k]][1])
        size = max(1, batch_tokens // longest)
        batch = [jobs[j] for j in order[k : k + size]]
        k += len(batch)
        ids = torch.zeros(len(batch), longest, dtype=torch.long)
        mask = torch.zeros(len(batch), longest, dtype=torch.long)
        for r, (_, window, _) in enumerate(batch):
            ids[r, : len(window)] = torch.tensor(window)
            mask[r, : len(window)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target_lp = logp.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1).double().cpu()
        for r, (i, window, first) in enumerate(batch):
            # logits at position p predict token p+1: targets first..len-1 -> rows first-1..len-2
            lp = target_lp[r, first - 1 : len(window) - 1]
            totals[i] -= float(lp.sum())
            counts[i] += lp.numel()
        bar.update(len(batch))
    bar.close()
    model.train(was_training)
    return list(zip(totals, counts, strict=True))


def score_texts(
    model: torch.nn.Module,
    tokenizer,
    texts: Sequence[str],
    max_length: int,
    stride: int | None = None,
    batch_tokens: int = 8192,
    progress: bool = False,
    desc: str = "scoring",
) -> TextScore:
    """Bits per byte / per char and perplexity per token of `texts` (see module docstring)."""
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("no non-empty documents to score")
    seqs = encode_documents(tokenizer, texts)
    nlls = sequence_nlls(model, seqs, max_length, stride, batch_tokens, progress, desc)
    return TextScore(
        nll_nats=sum(n for n, _ in nlls),
        tokens=sum(c for _, c in nlls),
        bytes=sum(len(t.encode("utf-8")) for t in texts),
        chars=sum(len(t) for t in texts),
        documents=len(texts),
    )


def text_logprobs(
    model: torch.nn.Module,
    tokenizer,
    texts: Sequence[str],
    max_length: int,
    batch_tokens: int = 8192,
) -> list[float]:
    """log p(text) in nats for each text (BOS-conditioned, as above); empty text -> 0."""
    seqs = encode_documents(tokenizer, texts)
    return [-n for n, _ in sequence_nlls(model, seqs, max_length, None, batch_tokens)]


def model_max_length(model: torch.nn.Module, fallback: int = 2048) -> int:
    """The context the model was built for (max_position_embeddings), for window sizing."""
    cfg = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 1:
            return value
    return fallback


TextScorer = Callable[[Sequence[str]], TextScore]
