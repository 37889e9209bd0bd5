"""results.json -> report.md (tables, before/after deltas) and PNG plots.

The first model listed is the reference ("before"); every other row shows its delta to it.
Lower is better for bits per byte and perplexity; higher for BLEU, chrF, ROUGE-L, accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mothertongue.io import atomic_write_text


def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) < 1e5 else f"{v:.3g}"
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _delta(v: float | None, ref: float | None) -> str:
    if v is None or ref is None:
        return ""
    return f"{v - ref:+.3f}"


def flat_metrics(model: dict[str, Any]) -> dict[str, float]:
    """{"text/<set>/bits_per_byte": ..., "task/<t>/bleu": ..., "probe/<p>/acc": ...} for logging."""
    out: dict[str, float] = {}
    for group in ("texts", "tasks", "probes"):
        for name, metrics in model.get(group, {}).items():
            for k, v in metrics.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out[f"{group[:-1]}/{name}/{k}"] = float(v)
    return out


def write_report(results: dict[str, Any], out_dir: Path) -> Path:
    models = results["models"]
    ref = models[0]
    lines = [f'# Evaluation report\n\nReference model ("before"): **{ref["name"]}**. Deltas are to it.\n']
    text_sets = list(results.get("texts", {}))
    if text_sets:
        lines.append("## Bits per byte (lower is better; comparable across tokenizers)\n")
        header = ["model", *[f"{t} ({results['texts'][t]['role']})" for t in text_sets]]
        rows = []
        for m in models:
            row: list[Any] = [m["name"]]
            for t in text_sets:
                v = m["texts"][t]["bits_per_byte"]
                d = "" if m is ref else f" ({_delta(v, ref['texts'][t]['bits_per_byte'])})"
                row.append(f"{v:.3f}{d}")
            rows.append(row)
        for name, base in results.get("baselines", {}).items():
            rows.append(
                [
                    f"_char {name} baseline_",
                    *[_fmt(base[t]["bits_per_byte"]) if t in base else "" for t in text_sets],
                ]
            )
        lines += [_table(header, rows), ""]
        lines.append("## Bits per character and perplexity per token\n")
        header = ["model", "text set", "bits/char", "ppl/token", "tokens", "bytes", "docs"]
        rows = [
            [
                m["name"],
                t,
                s["bits_per_char"],
                s["perplexity_per_token"],
                s["tokens"],
                s["bytes"],
                s["documents"],
            ]
            for m in models
            for t, s in m["texts"].items()
        ]
        lines += [_table(header, rows), ""]
    tasks = list(ref.get("tasks", {}))
    if tasks:
        lines.append(
            "## Generation (greedy; BLEU/chrF by sacrebleu, ROUGE-L on characters; higher is better)\n"
        )
        header = ["model", "task", "BLEU", "chrF", "ROUGE-L", "Δ BLEU", "Δ chrF", "Δ ROUGE-L", "items"]
        rows = []
        for m in models:
            for t in tasks:
                s, r = m["tasks"][t], ref["tasks"][t]
                deltas = (
                    ["", "", ""] if m is ref else [_delta(s[k], r[k]) for k in ("bleu", "chrf", "rouge_l")]
                )
                rows.append([m["name"], t, s["bleu"], s["chrf"], s["rouge_l"], *deltas, s["items"]])
                for key in sorted(k for k in s if k.endswith("/bleu")):
                    d = key.rsplit("/", 1)[0]
                    rows.append(
                        [
                            m["name"],
                            f"{t} {d}",
                            s[f"{d}/bleu"],
                            s[f"{d}/chrf"],
                            s[f"{d}/rouge_l"],
                            "",
                            "",
                            "",
                            s[f"{d}/items"],
                        ]
                    )
        lines += [_table(header, rows), ""]
    probes = list(ref.get("probes", {}))
    if probes:
        lines.append(
            "## Language probes (log-likelihood multiple choice; acc by summed, acc_norm by per-byte)\n"
        )
        header = ["model", "probe set", "acc", "acc_norm", "Δ acc", "Δ acc_norm", "chance", "items"]
        rows = []
        for m in models:
            for p in probes:
                s, r = m["probes"][p], ref["probes"][p]
                deltas = (
                    ["", ""]
                    if m is ref
                    else [_delta(s["acc"], r["acc"]), _delta(s["acc_norm"], r["acc_norm"])]
                )
                rows.append([m["name"], p, s["acc"], s["acc_norm"], *deltas, s["chance"], s["items"]])
        lines += [_table(header, rows), ""]
    plots = results.get("plots", [])
    if plots:
        lines.append("## Plots\n")
        lines += [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return atomic_write_text(out_dir / "report.md", "\n".join(lines) + "\n")


def write_plots(results: dict[str, Any], out_dir: Path) -> list[str]:
    """bits_per_byte.png (bars, baselines dashed) and metrics_per_step.png (when steps exist)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[str] = []
    models = results["models"]
    text_sets = list(results.get("texts", {}))
    if text_sets:
        fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(text_sets) * max(1, len(models)) / 2), 4))
        width = 0.8 / max(1, len(models))
        for i, m in enumerate(models):
            xs = [j + i * width for j in range(len(text_sets))]
            ax.bar(xs, [m["texts"][t]["bits_per_byte"] for t in text_sets], width, label=m["name"])
        for name, base in results.get("baselines", {}).items():
            for j, t in enumerate(text_sets):
                if t in base:
                    ax.hlines(
                        base[t]["bits_per_byte"],
                        j - width / 2,
                        j + 0.8 - width / 2,
                        linestyles="--",
                        colors="k",
                    )
                    ax.annotate(f"char {name}", (j + 0.8 - width / 2, base[t]["bits_per_byte"]), fontsize=7)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(text_sets))], text_sets)
        ax.set_ylabel("bits per byte (lower is better)")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "bits_per_byte.png", dpi=120)
        plt.close(fig)
        written.append(str(out_dir / "bits_per_byte.png"))
    stepped = sorted((m for m in models if m.get("step") is not None), key=lambda m: m["step"])
    if stepped:
        series: dict[str, list[tuple[int, float]]] = {}
        for m in stepped:
            for k, v in flat_metrics(m).items():
                if k.endswith(("/bits_per_byte", "/acc", "/chrf", "/bleu")) and k.count("/") == 2:
                    series.setdefault(k, []).append((m["step"], v))
        panels = sorted(series)
        fig, axes = plt.subplots(len(panels), 1, figsize=(6, 2.2 * len(panels)), squeeze=False)
        for ax, k in zip(axes[:, 0], panels, strict=True):
            xs, ys = zip(*series[k], strict=True)
            ax.plot(xs, ys, marker="o")
            ax.set_title(k, fontsize=9)
            ax.set_xlabel("step")
        fig.tight_layout()
        fig.savefig(out_dir / "metrics_per_step.png", dpi=110)
        plt.close(fig)
        written.append(str(out_dir / "metrics_per_step.png"))
    return written
