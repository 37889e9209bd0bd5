"""Evaluate models (base, extended, every pretrain checkpoint) on held-out text, tasks and probes;
write results.json, report.md and PNG plots, and log to the pretraining's W&B run when linked."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from mothertongue.config import ConfigError, will_exist
from mothertongue.evaluate.config import EvaluateConfig as Config
from mothertongue.evaluate.config import check
from mothertongue.evaluate.lmeval import export_lm_eval_tasks
from mothertongue.evaluate.models import checkpoint_specs, load
from mothertongue.evaluate.report import write_plots, write_report
from mothertongue.evaluate.runner import evaluate_model, gather_inputs, run_baselines
from mothertongue.evaluate.tracking import log_to_wandb
from mothertongue.io import atomic_write_json

__all__ = ["Config", "validate", "main"]


def validate(cfg: Config) -> None:
    check(cfg)
    for i, m in enumerate(cfg.models):
        if not will_exist(m.path):
            raise ConfigError(f"models.{i}.path", f"{m.path} does not exist")


def main(cfg: Config) -> dict:
    check(cfg)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = (
        "cuda" if cfg.device == "auto" and torch.cuda.is_available() else cfg.device.replace("auto", "cpu")
    )

    # 1. what to evaluate: listed models, then every complete checkpoint of a pretrain run
    specs = list(cfg.models)
    if cfg.checkpoints_from:
        specs += checkpoint_specs(cfg.checkpoints_from, cfg.max_checkpoints)
    if not specs:
        raise ValueError(
            f"no models to evaluate (checkpoints_from={cfg.checkpoints_from} has no complete checkpoint)"
        )

    # 2. the same inputs for every model, and the character n-gram yardsticks
    inputs = gather_inputs(cfg)
    if cfg.lm_eval_export:  # the same items for lm-eval's tooling; cheap, fails before any model runs
        export_lm_eval_tasks(out / "lm_eval_tasks", probes=cfg.probes, tasks=cfg.tasks)
    results: dict = {
        "texts": {n: {"role": inputs.roles[n], "documents": len(d)} for n, d in inputs.texts.items()},
        "baselines": run_baselines(cfg, inputs),
        "models": [],
    }

    # 3. every metric, one model in memory at a time
    for spec in specs:
        loaded = load(spec, device=device, dtype=cfg.dtype)
        results["models"].append(evaluate_model(loaded, cfg, inputs))
        del loaded

    # 4. report, plots, W&B
    results["plots"] = write_plots(results, out)
    generations = {m["name"]: m.pop("generations") for m in results["models"]}
    atomic_write_json(out / "generations.json", generations)
    atomic_write_json(out / "results.json", results)
    write_report(results, out)
    wandb_run = log_to_wandb(results, cfg.wandb_run_dir, cfg.wandb_mode) if cfg.wandb_run_dir else None
    summary = {m["name"]: {k: v for k, v in m["texts"].items()} for m in results["models"]}
    print(
        json.dumps({n: {t: round(s["bits_per_byte"], 3) for t, s in v.items()} for n, v in summary.items()})
    )
    return {
        "models": [m["name"] for m in results["models"]],
        "outputs": [
            "results.json",
            "report.md",
            "generations.json",
            *[Path(p).name for p in results["plots"]],
            *(["lm_eval_tasks/"] if cfg.lm_eval_export else []),
        ],
        "wandb_run_id": wandb_run,
        "metrics": {m["name"]: _headline(m) for m in results["models"]},
    }


def _headline(m: dict) -> dict:
    out = {f"{t}/bits_per_byte": s["bits_per_byte"] for t, s in m["texts"].items()}
    out.update({f"{t}/chrf": s["chrf"] for t, s in m["tasks"].items()})
    out.update({f"{p}/acc": s["acc"] for p, s in m["probes"].items()})
    return out
