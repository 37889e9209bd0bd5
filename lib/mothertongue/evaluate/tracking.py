"""Log evaluation metrics into the pretraining's W&B run (resumed by id, offline by default).

The pretrain job keeps its W&B files under `<run>/pretrain/wandb/` (`run-<time>-<id>/` folders,
the standard wandb layout). We resume that run id, so the eval curves sit next to the loss
curves; evaluation metrics get their own x axis `eval/step` because W&B drops rows logged at
a step lower than the run's current one. Models without a step go to the run summary.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mothertongue.evaluate.report import flat_metrics

_RUN_DIR = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-(?P<id>[a-z0-9]+)$")


def find_wandb_run(path: str | Path) -> tuple[Path, str] | None:
    """(folder that holds `wandb/`, run id) of the newest W&B run under `path`, or None."""
    path = Path(path)
    candidates = [path] if path.name == "wandb" else [path / "wandb", path]
    for wandb_dir in candidates:
        if not wandb_dir.is_dir():
            continue
        runs = sorted((p for p in wandb_dir.iterdir() if _RUN_DIR.match(p.name)), key=lambda p: p.name)
        if runs:
            return wandb_dir.parent, _RUN_DIR.match(runs[-1].name).group("id")  # type: ignore[union-attr]
    return None


def log_to_wandb(results: dict[str, Any], run_dir: str | Path, mode: str = "offline") -> str | None:
    """Append eval metrics to the linked run; returns the run id (None when no run is found)."""
    found = find_wandb_run(run_dir)
    if found is None or mode == "disabled":
        return None
    root, run_id = found
    import wandb

    run = wandb.init(
        id=run_id, resume="allow", dir=str(root), mode=mode, settings=wandb.Settings(silent=True)
    )
    try:
        run.define_metric("eval/step")
        run.define_metric("eval/*", step_metric="eval/step")
        for m in results["models"]:
            metrics = {f"eval/{k}": v for k, v in flat_metrics(m).items()}
            if m.get("step") is not None:
                run.log({"eval/step": m["step"], **metrics})
            else:
                run.summary.update(
                    {f"eval/{m['name']}/{k.removeprefix('eval/')}": v for k, v in metrics.items()}
                )
    finally:
        run.finish()
    return run_id
