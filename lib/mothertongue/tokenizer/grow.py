"""Grow a model's embedding (and LM head) to a merged vocabulary, keeping original rows exact.

Padding follows the NeMo article: with merged vocabulary N, original rows O and
`make_vocab_size_divisible_by` X, the model gets `ceil(N / X) * X - O` new rows. Rows of
original tokens are copied bitwise; the rest start from `init`:
  subtoken_mean        mean of the base pieces that spell the token (input and output side)
  mean                 mean of the original rows
  multivariate_normal  a sample from N(mean, 1e-9 * covariance) of the original rows, as
                       transformers' resize_token_embeddings does
  zeros                zeros (the article)
Padding rows that spell nothing get the mean (zeros under `zeros`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tokenizers import Tokenizer

from mothertongue.tokenizer.config import InitMethod
from mothertongue.tokenizer.merge import base_pieces


def padded_rows(merged_size: int, original_rows: int, divisible_by: int) -> int:
    """Rows to add: ceil(N / X) * X - O (never negative)."""
    if divisible_by < 1:
        raise ValueError("make_vocab_size_divisible_by must be >= 1")
    return max(0, math.ceil(merged_size / divisible_by) * divisible_by - original_rows)


@dataclass
class GrowResult:
    original_rows: int
    new_rows: int
    total_rows: int
    tied: bool
    init: str
    subtoken_pieces: dict[int, list[int]]


def _init_rows(
    weight: torch.Tensor,
    keep: int,
    start: int,
    method: InitMethod,
    pieces: dict[int, list[int]],
    generator: torch.Generator,
) -> None:
    """Fill rows [start:] of `weight` from the statistics of rows [:keep]."""
    old = weight[:keep].to(torch.float64)
    mean = old.mean(dim=0)
    rows = weight.shape[0] - start
    if rows <= 0:
        return
    if method is InitMethod.zeros:
        fill = torch.zeros(rows, weight.shape[1], dtype=torch.float64)
    elif method is InitMethod.multivariate_normal:
        centred = old - mean
        cov = centred.T @ centred / old.shape[0]
        try:
            chol = torch.linalg.cholesky(1e-9 * cov)
            noise = torch.randn(rows, weight.shape[1], generator=generator, dtype=torch.float64)
            fill = mean + noise @ chol.T
        except torch.linalg.LinAlgError:  # covariance not positive definite: fall back to the mean
            fill = mean.expand(rows, -1).clone()
    else:
        fill = mean.expand(rows, -1).clone()
        if method is InitMethod.subtoken_mean:
            for token_id, ids in pieces.items():
                if ids and token_id >= start:
                    fill[token_id - start] = old[ids].mean(dim=0)
    weight[start:] = fill.to(weight.dtype)


def grow_model(
    model,
    base: Tokenizer,
    merged: Tokenizer,
    base_size: int,
    divisible_by: int,
    method: InitMethod = InitMethod.subtoken_mean,
    seed: int = 0,
) -> GrowResult:
    """Resize `model` in place for `merged`; rows below `base_size` (original tokens) unchanged."""
    method = InitMethod(method)
    emb = model.get_input_embeddings()
    original_rows = emb.weight.shape[0]
    merged_size = merged.get_vocab_size(with_added_tokens=True)
    new_rows = padded_rows(merged_size, original_rows, divisible_by)
    total = original_rows + new_rows
    keep = min(base_size, original_rows)
    vocab = merged.get_vocab(with_added_tokens=True)
    pieces = {i: base_pieces(base, tok) for tok, i in vocab.items() if i >= keep}
    before_in = emb.weight.detach()[:keep].clone()
    head = model.get_output_embeddings()
    tied = head is not None and head.weight.data_ptr() == emb.weight.data_ptr()
    before_out = None if head is None or tied else head.weight.detach()[:keep].clone()
    if new_rows:
        model.resize_token_embeddings(total, mean_resizing=False)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        _init_rows(model.get_input_embeddings().weight, keep, keep, method, pieces, generator)
        head = model.get_output_embeddings()
        if head is not None and not tied:
            _init_rows(head.weight, keep, keep, method, pieces, generator)
    model.config.vocab_size = total
    if not torch.equal(model.get_input_embeddings().weight[:keep], before_in):
        raise AssertionError("original input embedding rows changed while growing")
    if before_out is not None and not torch.equal(model.get_output_embeddings().weight[:keep], before_out):
        raise AssertionError("original LM head rows changed while growing")
    return GrowResult(original_rows, new_rows, total, tied, method.value, pieces)
