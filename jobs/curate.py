"""Curate: raw sources -> clean, deduplicated, de-identified JSONL per dataset, with a report
(read = kept + removed per step + quarantined), on NeMo Curator stages."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from mothertongue.config import ConfigError, will_exist
from mothertongue.curate.config import CurateConfig as Config
from mothertongue.curate.config import SourceKind, load_language
from mothertongue.curate.filters import FILTERS
from mothertongue.curate.pipeline import curate, write_dataset
from mothertongue.curate.readers import expand_paths
from mothertongue.curate.report import summary_table, write_report
from rich.console import Console

__all__ = ["Config", "main", "validate"]


def validate(cfg: Config) -> None:
    """Login-node checks: datasets, languages, filter kinds, input files, executor."""
    if not cfg.datasets:
        raise ConfigError("datasets", "at least one dataset is required")
    if cfg.executor not in ("inprocess", "ray_data", "xenna"):
        raise ConfigError("executor", f"{cfg.executor!r} is not one of inprocess | ray_data | xenna")
    names = [d.name for d in cfg.datasets]
    if len(set(names)) != len(names):
        raise ConfigError("datasets", f"dataset names must be unique: {names}")
    for i, ds in enumerate(cfg.datasets):
        lang = load_language(ds.language, ds.overrides)
        for j, f in enumerate(lang.filters):
            if f.kind not in FILTERS:
                raise ConfigError(f"datasets.{i}.language.filters.{j}.kind", f"unknown filter {f.kind!r}")
        if not ds.sources:
            raise ConfigError(f"datasets.{i}.sources", "a dataset needs at least one source")
        for j, src in enumerate(ds.sources):
            key = f"datasets.{i}.sources.{j}"
            if src.kind in (SourceKind.pycantonese, SourceKind.asset):
                if not src.corpus:
                    raise ConfigError(f"{key}.corpus", f"{src.kind.value} sources need a corpus")
            elif not src.paths:
                raise ConfigError(f"{key}.paths", f"{src.kind.value} sources need paths")
            else:
                missing = [p for p in expand_paths(src.paths) if not will_exist(p)]
                if missing or not (expand_paths(src.paths) or all(will_exist(p) for p in src.paths)):
                    raise ConfigError(f"{key}.paths", f"no such input: {missing or src.paths}")


def main(cfg: Config) -> dict:
    validate(cfg)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("removed", "quarantine"):
        shutil.rmtree(out / stale, ignore_errors=True)
    started = time.perf_counter()
    results = curate(cfg)
    files = {r.name: write_dataset(r, out) for r in results}
    seconds = round(time.perf_counter() - started, 2)
    report = write_report(results, out, cfg.removed_samples, {"executor": cfg.executor, "seconds": seconds})
    Console().print(summary_table(report["datasets"]))
    return {
        "counts": {
            d["dataset"]: {k: d[k] for k in ("read", "kept", "removed", "quarantined")}
            for d in report["datasets"]
        },
        "reconciles": all(d["reconciles"] for d in report["datasets"]),
        "outputs": {"report": str(out / "report.json"), "datasets": files},
        "metrics": {"seconds": seconds},
    }
