"""Loss curves of a pretrain run as a PNG, with spikes, rollbacks, skips and resumes marked.

Reads only `metrics.jsonl` and `events.jsonl`, so it works on a finished, running or
offline run. Steps replayed after a rollback show as a new segment; the abandoned segment
stays visible, faded.
"""

from __future__ import annotations

import os
from pathlib import Path

from mothertongue.io import read_jsonl


def _segments(records: list[dict]) -> list[list[dict]]:
    """Split the train-loss records wherever the step does not increase (rollback, resume)."""
    segs: list[list[dict]] = []
    for r in records:
        if not segs or r["step"] <= segs[-1][-1]["step"]:
            segs.append([])
        segs[-1].append(r)
    return segs


def plot_run(pretrain_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pretrain_dir = Path(pretrain_dir)
    metrics = read_jsonl(pretrain_dir / "metrics.jsonl")
    events = read_jsonl(pretrain_dir / "events.jsonl")
    train = [m for m in metrics if "loss" in m and not m.get("spike")]
    spikes = [m for m in metrics if m.get("spike")]
    val = [m for m in metrics if "val_loss" in m]
    fig, ax = plt.subplots(figsize=(9, 5))
    segs = _segments(train)
    final: dict[int, float] = {r["step"]: r["loss"] for r in train}  # the last record of a step wins
    steps = sorted(final)
    ax.plot(steps, [final[x] for x in steps], color="tab:blue", lw=1.2, label="train loss")
    for i, seg in enumerate(segs[:-1]):  # steps later replayed after a rollback: faded
        replayed = [r for r in seg if r["step"] >= segs[i + 1][0]["step"]]
        if replayed:
            ax.plot(
                [r["step"] for r in replayed],
                [r["loss"] for r in replayed],
                color="tab:blue",
                lw=1,
                alpha=0.35,
                ls="--",
                label="abandoned (rolled back)" if i == 0 else None,
            )
    if val:
        ax.plot(
            [r["step"] for r in val],
            [r["val_loss"] for r in val],
            "o-",
            color="tab:green",
            ms=3,
            label="validation loss",
        )
    finite = [r["loss"] for r in train] or [1.0]
    top = max(finite) * 1.15
    for j, s in enumerate(spikes):
        ax.scatter(
            [s["step"]],
            [min(s["loss"], top)],
            marker="x",
            color="red",
            s=60,
            zorder=5,
            label="spike (loss clipped to axis)" if j == 0 else None,
        )
        ax.annotate(
            f"{s['loss']:.3g}",
            (s["step"], min(s["loss"], top)),
            textcoords="offset points",
            xytext=(6, -12),
            color="red",
            fontsize=8,
        )
    seen: set[str] = set()
    styles = {
        "rollback": ("red", "--", "to_step"),
        "resume": ("tab:purple", ":", "step"),
        "preempted": ("tab:orange", "-.", "step"),
        "skip_step": ("tab:orange", ":", "step"),
    }
    for e in events:
        kind = e.get("event")
        if kind in styles and e.get(styles[kind][2]) is not None:
            color, ls, key = styles[kind]
            ax.axvline(e[key], color=color, ls=ls, lw=1, label=kind if kind not in seen else None)
            seen.add(kind)
    ax.set_ylim(top=top)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats / token)")
    ax.set_title(f"pretrain: {pretrain_dir.resolve().parent.name}/{pretrain_dir.name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    path = Path(out) if out else pretrain_dir / "loss.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
