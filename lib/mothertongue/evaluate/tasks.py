"""Build few-shot rewrite tasks from aligned pairs (shipped: Cantonese <-> Standard Written Chinese).

A task file is JSONL, one item per line: {"id", "direction", "prompt", "reference"}. The
prompt carries the few-shot examples itself, so any model (and lm-eval-harness) sees exactly
the same text; nothing about the language is hard-wired here, the labels are arguments.

    .venv/bin/python -m mothertongue.evaluate.tasks   # rebuilds assets/tasks/yue_zh_rewrite.jsonl
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mothertongue.io import atomic_write_text


def few_shot_prompt(shots: Sequence[tuple[str, str]], source: str, src_label: str, tgt_label: str) -> str:
    lines = [f"{src_label}：{a}\n{tgt_label}：{b}\n" for a, b in shots]
    return "\n".join([*lines, f"{src_label}：{source}\n{tgt_label}："])


def rewrite_task(
    pairs: Sequence[tuple[str, str]],
    labels: tuple[str, str],
    codes: tuple[str, str],
    n_shots: int = 3,
) -> list[dict[str, str]]:
    """Both directions; the first `n_shots` pairs are the examples and are not evaluated."""
    shots, rest = list(pairs[:n_shots]), list(pairs[n_shots:])
    items: list[dict[str, str]] = []
    for flip in (False, True):
        src_label, tgt_label = labels[::-1] if flip else labels
        direction = f"{codes[1]}->{codes[0]}" if flip else f"{codes[0]}->{codes[1]}"
        ex = [(b, a) for a, b in shots] if flip else shots
        for i, (a, b) in enumerate(rest, start=n_shots):
            src, ref = (b, a) if flip else (a, b)
            items.append(
                {
                    "id": f"{direction}-{i}",
                    "direction": direction,
                    "prompt": few_shot_prompt(ex, src, src_label, tgt_label),
                    "reference": ref,
                }
            )
    return items


def write_task(items: Sequence[dict[str, str]], path: str | Path) -> Path:
    return atomic_write_text(path, "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))


def main() -> None:
    from mothertongue.corpora import ASSETS, ud_hk_pairs

    items = rewrite_task(ud_hk_pairs(), labels=("粵語", "書面語"), codes=("yue", "zh"), n_shots=3)
    path = write_task(items, ASSETS / "tasks" / "yue_zh_rewrite.jsonl")
    print(f"wrote {len(items)} items to {path}")


if __name__ == "__main__":
    main()
