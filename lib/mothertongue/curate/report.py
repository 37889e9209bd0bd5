"""The curation report: per dataset, read = kept + removed by each step + quarantined, shown as an
equation, with counts per step, examples removed per filter, and length / language-score plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mothertongue.curate.base import QUARANTINE
from mothertongue.curate.pipeline import DatasetResult
from mothertongue.io import atomic_write_json, atomic_write_text


def dataset_report(result: DatasetResult, samples: int) -> dict[str, Any]:
    df = result.rows
    read = len(df)
    quarantined = int((df["dropped_by"] == QUARANTINE).sum())
    kept = int((df["dropped_by"] == "").sum())
    remaining = read - quarantined
    steps = []
    for name in result.steps:
        removed = df[df["dropped_by"] == name]
        steps.append(
            {
                "step": name,
                "in": remaining,
                "removed": len(removed),
                "out": remaining - len(removed),
                "examples": [
                    {"id": r.id, "reason": r.drop_reason, "text": str(r.text)[:200]}
                    for r in removed.head(samples).itertuples()
                ],
            }
        )
        remaining -= len(removed)
    removed_total = sum(s["removed"] for s in steps)
    kept_df = df[df["dropped_by"] == ""]
    labels = kept_df["language_label"].value_counts().to_dict() if "language_label" in df else {}
    return {
        "dataset": result.name,
        "language": result.language.code,
        "read": read,
        "kept": kept,
        "removed": removed_total,
        "quarantined": quarantined,
        "reconciles": read == kept + removed_total + quarantined,
        "equation": f"{read} read = {kept} kept + {removed_total} removed + {quarantined} quarantined",
        "steps": steps,
        "kept_language_labels": {str(k): int(v) for k, v in labels.items()},
        "kept_chars": int(kept_df["text"].str.len().sum()) if kept else 0,
    }


def _plots(results: list[DatasetResult], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        kept = r.rows[r.rows["dropped_by"] == ""]
        if len(kept):
            ax.hist(kept["text"].str.len().clip(upper=2000), bins=50, alpha=0.6, label=r.name)
    ax.set(
        xlabel="characters per kept document (clipped at 2000)", ylabel="documents", title="Document length"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "length_hist.png", dpi=100)
    plt.close(fig)
    paths.append(str(out / "length_hist.png"))
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        if "language_score" not in r.rows:
            continue
        scored = r.rows[r.rows["language_score"].notna()]
        for what, part in (
            ("kept", scored[scored["dropped_by"] == ""]),
            ("removed", scored[scored["dropped_by"] != ""]),
        ):
            if len(part):
                ax.hist(part["language_score"].astype(float), bins=40, alpha=0.5, label=f"{r.name} {what}")
    ax.set(xlabel="language score", ylabel="documents", title="Language ID scores")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "language_score_hist.png", dpi=100)
    plt.close(fig)
    paths.append(str(out / "language_score_hist.png"))
    return paths


def _markdown(reports: list[dict[str, Any]], plots: list[str]) -> str:
    lines = ["# Curation report", ""]
    for rep in reports:
        lines += [f"## {rep['dataset']} ({rep['language']})", "", f"**{rep['equation']}**"]
        lines += ["" if rep["reconciles"] else "**COUNTS DO NOT RECONCILE**", ""]
        lines += ["| step | in | removed | out |", "|---|---:|---:|---:|"]
        lines += [f"| {s['step']} | {s['in']} | {s['removed']} | {s['out']} |" for s in rep["steps"]]
        lines += ["", f"Kept language labels: {rep['kept_language_labels']}", ""]
        for s in rep["steps"]:
            if s["examples"]:
                lines += [f"### removed by `{s['step']}` (first {len(s['examples'])})", ""]
                for ex in s["examples"]:
                    text = ex["text"].replace("\n", " ").replace("|", "\\|")[:120]
                    lines.append(f"- `{ex['reason']}`: {text}")
                lines.append("")
    lines += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_report(results: list[DatasetResult], output_dir: Path, samples: int, extra: dict[str, Any]) -> dict:
    reports = [dataset_report(r, samples) for r in results]
    plots = _plots(results, output_dir)
    data = {"datasets": reports, "plots": plots, **extra}
    atomic_write_json(output_dir / "report.json", data)
    atomic_write_text(output_dir / "report.md", _markdown(reports, plots))
    return data


def summary_table(reports: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="curate")
    for col in ("dataset", "read", "kept", "removed", "quarantined", "reconciles"):
        table.add_column(col)
    for r in reports:
        table.add_row(
            r["dataset"], *(str(r[k]) for k in ("read", "kept", "removed", "quarantined", "reconciles"))
        )
    return table


__all__ = ["dataset_report", "pd", "summary_table", "write_report"]
