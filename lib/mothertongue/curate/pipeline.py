"""Wire the curation steps for one dataset, run them, resolve duplicates, write the outputs.

Per dataset: read -> unicode repair -> whitespace -> PII -> URL removal -> language cleaner ->
heuristic filters -> language ID -> dedup signatures (all Curator stages, any executor), then the
global duplicate resolution over every signature, then shards / removed / quarantine files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from nemo_curator.pipeline import Pipeline
from nemo_curator.tasks import DocumentBatch

from mothertongue.curate.base import QUARANTINE, CurateStep
from mothertongue.curate.cleaners import ScriptCleaner, unicode_repair, url_removal, whitespace_normalisation
from mothertongue.curate.config import CurateConfig, DatasetConfig, LanguageConfig, load_language
from mothertongue.curate.dedup import DedupSignatures, DuplicateResolver
from mothertongue.curate.filters import build_filter
from mothertongue.curate.langid import build_identifier
from mothertongue.curate.pii import PiiRedactor
from mothertongue.curate.readers import ReadSource, SourceTask, expand_paths
from mothertongue.io import atomic_dir

SHARD_ROWS = 50_000
SIGNAL_COLUMNS = [
    "char_count",
    "top_char_ngram_ratio",
    "punct_ratio",
    "boilerplate_line_ratio",
    "repeated_line_fraction",
    "digit_ratio",
    "non_alnum_ratio",
    "word_count",
    "top_ngram_ratio",
]


def build_steps(lang: LanguageConfig) -> list[CurateStep]:
    """The language's steps, in order (the report lists them in this order)."""
    steps: list[CurateStep] = [unicode_repair(lang.unicode_normalization), whitespace_normalisation()]
    if lang.pii.enabled:
        steps.append(PiiRedactor(lang.pii.kinds))
    if lang.remove_urls:
        steps.append(url_removal())
    if lang.cleaner.enabled:
        steps.append(ScriptCleaner(lang.cleaner.keep_scripts, lang.cleaner.extra_chars))
    steps += [build_filter(f.kind, f.params, lang.word_splitter) for f in lang.filters if f.enabled]
    identifier = build_identifier(lang.langid)
    if identifier is not None:
        steps.append(identifier)
    if lang.dedup.exact or lang.dedup.fuzzy:
        steps.append(DedupSignatures(lang.dedup))
    return steps


def source_tasks(ds: DatasetConfig, lang: LanguageConfig) -> list[SourceTask]:
    tasks = []
    for src in ds.sources:
        kind = src.kind.value
        base = {
            "kind": kind,
            "language": lang.code,
            "text_field": src.text_field,
            "lines_per_doc": src.lines_per_doc,
            "max_docs": src.max_docs,
            "exclude_heldout": src.exclude_heldout,
        }
        if kind in ("pycantonese", "asset"):
            name = src.name or f"{kind}:{src.corpus}"
            tasks.append(
                SourceTask(dataset_name=ds.name, data={**base, "corpus": src.corpus, "source": name})
            )
        else:
            for path in expand_paths(src.paths):
                name = src.name or f"{kind}:{path.name}"
                tasks.append(
                    SourceTask(dataset_name=ds.name, data={**base, "path": str(path), "source": name})
                )
    return tasks


@dataclass
class DatasetResult:
    name: str
    language: LanguageConfig
    steps: list[str]
    rows: pd.DataFrame  # every row read, kept or dropped (with dropped_by / drop_reason)


def run_dataset(ds: DatasetConfig, executor: Any, docs_per_batch: int) -> DatasetResult:
    lang = load_language(ds.language, ds.overrides)
    steps = build_steps(lang)
    pipeline = Pipeline(name=f"curate-{ds.name}", stages=[ReadSource(docs_per_batch), *steps])
    out = pipeline.run(executor, initial_tasks=source_tasks(ds, lang)) or []
    frames = [t.to_pandas() for t in out if isinstance(t, DocumentBatch)]
    df = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "text", "dropped_by"])
    )
    names = ["reader", *[s.name for s in steps]]
    if lang.dedup.gpu and _gpu_dedup_available():
        raise NotImplementedError(
            "dedup.gpu=true on a node with cuDF: identification is written (curate/dedup/gpu.py) but mapping "
            "Curator's duplicate ids back onto rows is not wired yet; set dedup.gpu=false"
        )
    if (lang.dedup.exact or lang.dedup.fuzzy) and len(df):
        resolver = DuplicateResolver(lang.dedup)
        df = resolver.process(DocumentBatch(dataset_name=ds.name, data=df)).to_pandas()
        names += [n for n, on in (("exact_dedup", lang.dedup.exact), ("fuzzy_dedup", lang.dedup.fuzzy)) if on]
    return DatasetResult(ds.name, lang, names, df.reset_index(drop=True))


def _gpu_dedup_available() -> bool:
    """cuDF present -> Curator's GPU dedup can run; otherwise warn and use the CPU resolver."""
    try:
        import cudf  # noqa: F401
    except ImportError:
        from loguru import logger

        logger.warning("dedup.gpu=true but cuDF is not installed here: using the CPU dedup stages")
        return False
    return True


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in df.columns]
    return json.loads(df[present].to_json(orient="records", force_ascii=False))


def write_dataset(result: DatasetResult, output_dir: Path) -> dict[str, Any]:
    """Kept shards, every removed row under removed/<step>/, quarantine rows; returns file lists."""
    df = result.rows
    kept = df[df["dropped_by"] == ""].copy()
    signals = [c for c in SIGNAL_COLUMNS if c in kept.columns]
    kept["quality"] = [
        {k: v for k, v in zip(signals, row, strict=True) if v is not None and v == v}
        for row in kept[signals].itertuples(index=False)
    ] if signals else [{} for _ in range(len(kept))]  # fmt: skip
    for col in ("language_score", "language_label", "dedup_cluster"):
        if col not in kept.columns:
            kept[col] = None
    files: dict[str, Any] = {"shards": [], "removed": [], "quarantine": []}
    with atomic_dir(output_dir / "datasets" / result.name) as tmp:
        fields = [
            "id",
            "text",
            "source",
            "language",
            "language_label",
            "language_score",
            "quality",
            "dedup_cluster",
        ]
        for i in range(0, max(len(kept), 1), SHARD_ROWS):
            part = tmp / f"part-{i // SHARD_ROWS:05d}.jsonl"
            rows = _records(kept.iloc[i : i + SHARD_ROWS], fields)
            part.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            files["shards"].append(str(output_dir / "datasets" / result.name / part.name))
    removed = df[(df["dropped_by"] != "") & (df["dropped_by"] != QUARANTINE)]
    for step, group in removed.groupby("dropped_by", sort=False):
        path = output_dir / "removed" / str(step) / f"{result.name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = _records(group, ["id", "source", "file", "offset", "drop_reason", "text"])
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        files["removed"].append(str(path))
    bad = df[df["dropped_by"] == QUARANTINE]
    if len(bad):
        path = output_dir / "quarantine" / f"{result.name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "file": r["file"],
                "line_or_offset": int(r["offset"]),
                "reason": r["drop_reason"],
                "snippet": r["text"],
            }
            for r in _records(bad, ["file", "offset", "drop_reason", "text"])
        ]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        files["quarantine"].append(str(path))
    return files


def curate(cfg: CurateConfig) -> list[DatasetResult]:
    """Run every dataset on the configured executor (one Ray cluster shared by all datasets)."""
    from mothertongue.curate.executors import executor_for

    results = []
    with executor_for(cfg.executor, cfg.num_workers, cfg.ray_address) as executor:
        for ds in cfg.datasets:
            results.append(run_dataset(ds, executor, cfg.docs_per_batch))
    return results
