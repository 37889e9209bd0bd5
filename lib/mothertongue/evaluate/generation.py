"""Generation metrics on a task file of prompts and references: BLEU, chrF, ROUGE-L (chars).

BLEU and chrF are sacrebleu's own corpus scores (its `zh` tokenizer splits CJK characters,
chrF is character n-grams already), so numbers equal `sacrebleu -tok zh -m bleu chrf` on
the same files. ROUGE-L is the character-level LCS F1 per pair (whitespace ignored),
averaged over pairs; it is small enough to own.

Generation is greedy with a bound on new tokens; the continuation is cut at the first
newline because the few-shot prompts put one answer per line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sacrebleu
import torch
from tqdm import tqdm


@dataclass
class TaskItem:
    prompt: str
    reference: str
    id: str = ""
    direction: str = ""


def read_task(path: str | Path, limit: int | None = None) -> list[TaskItem]:
    """Task JSONL: one {"prompt", "reference", optional "id", "direction"} per line.

    `limit` keeps the first `limit` items of each direction, so a small slice still covers all.
    """
    items: list[TaskItem] = []
    per_direction: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                direction = str(rec.get("direction", ""))
                if limit is not None and per_direction.get(direction, 0) >= limit:
                    continue
                per_direction[direction] = per_direction.get(direction, 0) + 1
                items.append(
                    TaskItem(
                        str(rec["prompt"]),
                        str(rec["reference"]),
                        str(rec.get("id", lineno)),
                        direction,
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path}:{lineno}: not a task record with prompt and reference: {exc}"
                ) from exc
    if not items:
        raise ValueError(f"{path}: no task items")
    return items


def lcs_length(a: str, b: str) -> int:
    """Longest common subsequence length (O(len(a)·len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if ca == cb else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l_chars(hypothesis: str, reference: str) -> float:
    """Character-level ROUGE-L F1 (0..1), whitespace removed."""
    h = "".join(hypothesis.split())
    r = "".join(reference.split())
    lcs = lcs_length(h, r)
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(h), lcs / len(r)
    return 2 * p * rec / (p + rec)


def text_metrics(
    hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "zh"
) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu) and mean char ROUGE-L, all on a 0-100 scale."""
    hyps, refs = list(hypotheses), list(references)
    bleu = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize)
    chrf = sacrebleu.corpus_chrf(hyps, [refs])
    rouge = 100 * sum(rouge_l_chars(h, r) for h, r in zip(hyps, refs, strict=True)) / max(1, len(hyps))
    return {"bleu": bleu.score, "chrf": chrf.score, "rouge_l": rouge, "items": len(hyps)}


@torch.no_grad()
def greedy_generate(
    model: torch.nn.Module,
    tokenizer,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int = 8,
    progress: bool = False,
) -> list[str]:
    """Greedy continuations (first line only) of each prompt, left-padded batches."""
    device = next(model.parameters()).device
    bos = tokenizer.bos_token_id
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    limit = getattr(model.config, "max_position_embeddings", None)
    encoded = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    outputs: list[str] = []
    model.eval()
    for start in tqdm(range(0, len(encoded), batch_size), desc="generating", disable=not progress):
        chunk = [([bos] if bos is not None else []) + ids for ids in encoded[start : start + batch_size]]
        if limit:
            chunk = [ids[-(limit - max_new_tokens) :] for ids in chunk]
        width = max(len(ids) for ids in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, seq in enumerate(chunk):
            ids[r, width - len(seq) :] = torch.tensor(seq)
            mask[r, width - len(seq) :] = 1
        out = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
            eos_token_id=tokenizer.eos_token_id,
        )
        for row in out[:, width:].tolist():
            text = tokenizer.decode(row, skip_special_tokens=True)
            outputs.append(text.lstrip(" ").split("\n", 1)[0].strip())
    return outputs


def evaluate_task(
    model: torch.nn.Module,
    tokenizer,
    items: Sequence[TaskItem],
    max_new_tokens: int,
    batch_size: int = 8,
    tokenize: str = "zh",
    progress: bool = False,
) -> tuple[dict[str, float], list[str]]:
    """Metrics overall and per direction, plus the hypotheses (for the report and for checking)."""
    hyps = greedy_generate(
        model, tokenizer, [it.prompt for it in items], max_new_tokens, batch_size, progress
    )
    refs = [it.reference for it in items]
    metrics: dict[str, float] = text_metrics(hyps, refs, tokenize)
    for direction in sorted({it.direction for it in items if it.direction}):
        idx = [i for i, it in enumerate(items) if it.direction == direction]
        sub = text_metrics([hyps[i] for i in idx], [refs[i] for i in idx], tokenize)
        metrics.update({f"{direction}/{k}": v for k, v in sub.items()})
    return metrics, hyps
