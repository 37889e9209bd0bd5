"""What the tokenizer job reports: fertility before and after, and whether English survived.

Fertility is tokens per character (the primary, script-neutral measure) and tokens per word
(whitespace words, each Han character counted as a word since Chinese scripts have no spaces).
The English check runs base and grown model on the same English text (identical ids by
construction) and measures KL(base || grown) of the next-token distributions: hidden states are
unchanged, so any drift is probability mass the new rows take from the old ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

_WORD = re.compile(
    r"[\u3400-\u9fff\U00020000-\U0003ffff\uf900-\ufaff]|[^\s\u3400-\u9fff\U00020000-\U0003ffff\uf900-\ufaff]+"
)


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def fertility(tok: Tokenizer, texts: list[str]) -> dict[str, float]:
    tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
    chars = sum(len(t) for t in texts)
    words = sum(count_words(t) for t in texts)
    return {
        "texts": len(texts),
        "tokens": tokens,
        "chars": chars,
        "words": words,
        "tokens_per_char": tokens / max(chars, 1),
        "tokens_per_word": tokens / max(words, 1),
    }


@torch.no_grad()
def english_drift(
    base_model, grown_model, tok: Tokenizer, texts: list[str], max_len: int = 64
) -> dict[str, float]:
    """Next-token KL(base || grown) and top-1 agreement on English text, per position."""
    base_rows = base_model.get_output_embeddings().weight.shape[0]
    kls, agree, new_mass, positions = [], 0, [], 0
    for text in texts:
        ids = tok.encode(text).ids[:max_len]
        if len(ids) < 2:
            continue
        x = torch.tensor([ids])
        p = torch.log_softmax(base_model(input_ids=x).logits[0].double(), dim=-1)
        q = torch.log_softmax(grown_model(input_ids=x).logits[0].double(), dim=-1)
        kl = (p.exp() * (p - q[:, :base_rows])).sum(-1)
        kls.append(kl)
        new_mass.append(q[:, base_rows:].exp().sum(-1))
        agree += int((p.argmax(-1) == q.argmax(-1)).sum())
        positions += len(ids)
    kl_all = torch.cat(kls) if kls else torch.zeros(1)
    mass = torch.cat(new_mass) if new_mass else torch.zeros(1)
    return {
        "texts": len(kls),
        "positions": positions,
        "kl_mean": float(kl_all.mean()),
        "kl_max": float(kl_all.max()),
        "top1_agreement": agree / max(positions, 1),
        "new_token_mass_mean": float(mass.mean()),
    }


def render_markdown(report: dict[str, Any]) -> str:
    f = report["fertility"]
    lines = [
        f"# Tokenizer report: {report['base_model']}",
        "",
        f"Family **{report['family']}**; trained a {report['trained_vocab_size']}-token vocabulary on "
        f"{report['train_texts']} texts; added **{report['tokens_added']} tokens** "
        f"({report['merges_added']} merges) to {report['base_vocab_size']} -> {report['merged_vocab_size']}.",
        f"Embedding rows {report['grow']['original_rows']} -> {report['grow']['total_rows']} "
        f"(+{report['grow']['new_rows']}, divisible by {report['make_vocab_size_divisible_by']}), "
        f"init `{report['grow']['init']}`, head {'tied' if report['grow']['tied'] else 'untied'}.",
        "",
        "| text | tokenizer | tokens/char | tokens/word | tokens |",
        "|---|---|---|---|---|",
    ]
    for split in ("target", "english"):
        for which in ("base", "merged"):
            row = f[split][which]
            lines.append(
                f"| {split} | {which} | {row['tokens_per_char']:.3f} | {row['tokens_per_word']:.3f} | {row['tokens']} |"
            )
    e = report["english_check"]
    lines += [
        "",
        f"Held-out target fertility ratio (merged / base tokens per char): **{f['target']['ratio']:.3f}**; "
        f"English ids identical: **{report['english_ids_identical']}**.",
        "",
        f"English next-token check on {e['texts']} lines ({e['positions']} positions): mean KL(base||grown) "
        f"{e['kl_mean']:.2e} nats, max {e['kl_max']:.2e}, top-1 agreement {e['top1_agreement']:.3f}, "
        f"mass on new tokens {e['new_token_mass_mean']:.2e}; tolerance mean KL <= {e['tolerance']} -> "
        f"**{'PASS' if e['passed'] else 'FAIL'}**.",
        "",
    ]
    return "\n".join(lines)


def plot_fertility(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = report["fertility"]
    fig, ax = plt.subplots(figsize=(4.5, 3))
    xs = range(2)
    ax.bar(
        [x - 0.2 for x in xs],
        [f[s]["base"]["tokens_per_char"] for s in ("target", "english")],
        0.4,
        label="base",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [f[s]["merged"]["tokens_per_char"] for s in ("target", "english")],
        0.4,
        label="merged",
    )
    ax.set_xticks(list(xs), ["target (held-out)", "English"])
    ax.set_ylabel("tokens per character")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
