"""Multiple-choice language probes scored by log-likelihood (no generation: works on tiny models).

Each item gives a context and options; the model's score for an option is

    log p(context + option) - log p(context)     (nats, BOS-conditioned, see intrinsic.py)

i.e. the log-probability of the option's text given the context, computed on strings so it
does not depend on where a tokenizer puts the token boundary between context and option.
Two accuracies are reported: by the summed log-likelihood (`acc`), and by log-likelihood per
UTF-8 byte of the option (`acc_norm`, which removes the bias toward short options). The file
format is documented in `mothertongue/assets/probes/README.md`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mothertongue.evaluate.intrinsic import text_logprobs


@dataclass
class ProbeItem:
    id: str
    context: str
    options: list[str]
    answer: int
    category: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)


_REQUIRED = ("id", "context", "options", "answer", "source")


def read_probes(path: str | Path) -> list[ProbeItem]:
    """Read and check a probe JSONL file; errors name the file, line and key."""
    items: list[ProbeItem] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not JSON: {exc}") from exc
            for key in _REQUIRED:
                if key not in rec:
                    raise ValueError(f"{where}: missing key {key!r}")
            options = rec["options"]
            if (
                not isinstance(options, list)
                or len(options) < 2
                or not all(isinstance(o, str) and o for o in options)
            ):
                raise ValueError(f"{where}: 'options' must be a list of at least two non-empty strings")
            if not isinstance(rec["answer"], int) or not 0 <= rec["answer"] < len(options):
                raise ValueError(f"{where}: 'answer' must be an index into options (0..{len(options) - 1})")
            if rec["id"] in seen:
                raise ValueError(f"{where}: duplicate id {rec['id']!r}")
            seen.add(rec["id"])
            extra = {k: v for k, v in rec.items() if k not in (*_REQUIRED, "category")}
            items.append(
                ProbeItem(
                    str(rec["id"]),
                    rec["context"],
                    options,
                    rec["answer"],
                    rec.get("category", ""),
                    rec["source"],
                    extra,
                )
            )
    if not items:
        raise ValueError(f"{path}: no probe items")
    return items


@torch.no_grad()
def score_probes(
    model: torch.nn.Module, tokenizer, items: Sequence[ProbeItem], max_length: int, batch_tokens: int = 8192
) -> tuple[dict[str, float], list[dict]]:
    """Accuracies (overall and per category) and per-item option scores."""
    contexts = sorted({it.context for it in items})
    full = sorted({it.context + o for it in items for o in it.options})
    lps = text_logprobs(model, tokenizer, contexts + full, max_length, batch_tokens)
    lp = dict(zip(contexts + full, lps, strict=True))
    details: list[dict] = []
    by_cat: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for it in items:
        summed = [lp[it.context + o] - lp[it.context] for o in it.options]
        normed = [s / len(o.encode("utf-8")) for s, o in zip(summed, it.options, strict=True)]
        pick = max(range(len(summed)), key=summed.__getitem__)
        pick_norm = max(range(len(normed)), key=normed.__getitem__)
        ok, ok_norm = pick == it.answer, pick_norm == it.answer
        by_cat[it.category or "all"].append((ok, ok_norm))
        details.append({"id": it.id, "logprobs": summed, "correct": ok, "correct_norm": ok_norm})
    n = len(items)
    metrics: dict[str, float] = {
        "acc": sum(d["correct"] for d in details) / n,
        "acc_norm": sum(d["correct_norm"] for d in details) / n,
        "items": n,
        "chance": sum(1 / len(it.options) for it in items) / n,
    }
    if len(by_cat) > 1:
        for cat, res in sorted(by_cat.items()):
            metrics[f"{cat}/acc"] = sum(a for a, _ in res) / len(res)
            metrics[f"{cat}/acc_norm"] = sum(b for _, b in res) / len(res)
    return metrics, details
