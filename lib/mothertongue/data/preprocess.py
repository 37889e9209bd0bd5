"""The preprocess job's flow: plan work units, tokenize the unfinished ones in worker
processes, merge the partial datasets into one Megatron prefix per dataset and split, write
`blend.json` and the quarantine, and refuse to finish with an empty dataset.

Layout of `output_dir`:
    <name>_<split>.{bin,idx}   Megatron mmap indexed datasets (read by Megatron-LM, NeMo, ...)
    blend.json                 weights and prefixes per split, for the pretraining job
    quarantine.jsonl           records that could not be used: dataset, file, line, reason
    parts/<name>/<unit>...     partial datasets and unit manifests (removed after the merge)
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mothertongue.config import ConfigError
from mothertongue.data.blend import BLEND_FORMAT
from mothertongue.data.config import PreprocessConfig
from mothertongue.data.split import SPLITS, split_bounds
from mothertongue.data.tokenize import Settings, UnitTokenizer
from mothertongue.data.units import Unit, plan_units
from mothertongue.io import atomic_write_json, read_jsonl

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ----------------------------------------------------------------------------- config checks
def check_config(cfg: PreprocessConfig) -> None:
    """Checks that need no input files (they may not exist yet at submit time)."""
    if not cfg.datasets:
        raise ConfigError("datasets", "give at least one {name, paths} entry")
    names = [d.name for d in cfg.datasets]
    for i, d in enumerate(cfg.datasets):
        if not _NAME.match(d.name or ""):
            raise ConfigError(
                f"datasets.{i}.name", f"{d.name!r} must be a plain file-name part (letters, digits, ._-)"
            )
        if not d.paths:
            raise ConfigError(f"datasets.{i}.paths", "is empty")
    if len(set(names)) != len(names):
        raise ConfigError("datasets", f"dataset names must be unique, got {names}")
    if cfg.blend:
        if set(cfg.blend) != set(names):
            raise ConfigError(
                "blend", f"weights must name exactly the datasets {names}, got {sorted(cfg.blend)}"
            )
        if any(w < 0 for w in cfg.blend.values()) or not any(w > 0 for w in cfg.blend.values()):
            raise ConfigError("blend", f"weights must be >= 0 and not all 0, got {cfg.blend}")
    try:
        split_bounds(cfg.split.train, cfg.split.valid, cfg.split.test)
    except ValueError as exc:
        raise ConfigError("split", str(exc)) from None
    if cfg.split.train <= 0:
        raise ConfigError("split.train", "the training split must get some documents")
    for key in ("array_tasks", "batch_docs"):
        if getattr(cfg, key) < 1:
            raise ConfigError(key, "must be >= 1")
    if cfg.workers < 0:
        raise ConfigError("workers", "must be >= 0 (0: the CPUs this task may use)")
    if cfg.chunk_mb <= 0:
        raise ConfigError("chunk_mb", "must be > 0")


def settings_for(cfg: PreprocessConfig) -> Settings:
    from mothertongue.manifest import fingerprint

    tok = Path(cfg.tokenizer)
    if not tok.is_dir():
        raise ConfigError("tokenizer", f"{tok} is not a Hugging Face tokenizer folder")
    return Settings(
        tokenizer_dir=str(tok.resolve()),
        tokenizer_fingerprint=fingerprint(tok),
        id_key=cfg.id_key,
        split_salt=cfg.split_salt,
        split_bounds=split_bounds(cfg.split.train, cfg.split.valid, cfg.split.test),
        append_eod=cfg.append_eod,
        add_special_tokens=cfg.add_special_tokens,
        batch_docs=cfg.batch_docs,
    )


def worker_count(cfg: PreprocessConfig) -> int:
    if cfg.workers > 0:
        return cfg.workers
    return max(1, len(os.sched_getaffinity(0)))


def parts_dir(cfg: PreprocessConfig, dataset: str) -> Path:
    return Path(cfg.output_dir) / "parts" / dataset


def finished(unit: Unit, settings: Settings, folder: Path) -> dict | None:
    """The unit's manifest when it finished with the same inputs and settings, else None."""
    import json

    path = folder / f"{unit.key}.json"
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("signature") != settings.signature(unit):
        return None
    for prefix in manifest["prefixes"].values():
        if not (folder / f"{prefix}.bin").is_file() or not (folder / f"{prefix}.idx").is_file():
            return None
    return manifest


# ----------------------------------------------------------------------------- running units
_WORKER: UnitTokenizer | None = None
_QUEUE: Any = None


def _init_worker(q: Any) -> None:
    global _QUEUE
    _QUEUE = q
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per core already


def _run_in_worker(unit: Unit, folder: str) -> dict:
    assert _WORKER is not None
    return _WORKER.process(unit, Path(folder), lambda d, t, b: _QUEUE.put((d, t, b)))


class _Progress:
    """A rich progress bar over units with documents/s, tokens/s and MB/s of text."""

    def __init__(self, total_units: int, label: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.start = time.perf_counter()
        self.docs = self.tokens = self.bytes = 0
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("units  {task.fields[stats]}"),
            TimeElapsedColumn(),
        )
        self.task = self.bar.add_task(label, total=total_units, stats="")

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def add(self, docs: int, tokens: int, nbytes: int) -> None:
        self.docs += docs
        self.tokens += tokens
        self.bytes += nbytes
        dt = max(time.perf_counter() - self.start, 1e-9)
        stats = f"{self.docs:,} docs  {self.docs / dt:,.0f} docs/s  {self.tokens / dt:,.0f} tokens/s  {self.bytes / dt / 1e6:.1f} MB/s"
        self.bar.update(self.task, stats=stats)

    def unit_done(self) -> None:
        self.bar.advance(self.task)


def run_units(cfg: PreprocessConfig, units: list[Unit], settings: Settings, label: str) -> list[dict]:
    """Tokenize `units` (skipping finished ones) with `cfg.workers` processes; their manifests."""
    global _WORKER
    manifests: dict[int, dict] = {}
    todo: list[tuple[int, Unit]] = []
    for i, unit in enumerate(units):
        done = finished(unit, settings, parts_dir(cfg, unit.dataset))
        if done is not None:
            manifests[i] = done
        else:
            todo.append((i, unit))
    if len(manifests):
        log.info("%s: %d of %d units already finished, skipping them", label, len(manifests), len(units))
    if not todo:
        return [manifests[i] for i in range(len(units))]
    _WORKER = UnitTokenizer(settings)  # loaded once; forked workers inherit it
    workers = min(worker_count(cfg), len(todo))
    with _Progress(len(todo), label) as progress:
        if workers == 1:
            for i, unit in todo:
                manifests[i] = _WORKER.process(unit, parts_dir(cfg, unit.dataset), progress.add)
                progress.unit_done()
        else:
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            with ctx.Pool(workers, initializer=_init_worker, initargs=(q,)) as pool:
                pending = {
                    i: pool.apply_async(_run_in_worker, (unit, str(parts_dir(cfg, unit.dataset))))
                    for i, unit in todo
                }
                while pending:
                    _drain(q, progress.add, timeout=0.2)
                    for i in [i for i, r in pending.items() if r.ready()]:
                        manifests[i] = pending.pop(i).get()  # re-raises a worker's error here
                        progress.unit_done()
                _drain(q, progress.add, timeout=0)
    log.info(
        "%s: %d docs, %d tokens in %.1f s",
        label,
        progress.docs,
        progress.tokens,
        time.perf_counter() - progress.start,
    )
    return [manifests[i] for i in range(len(units))]


def _drain(q: Any, add: Callable[[int, int, int], None], timeout: float) -> None:
    try:
        item = q.get(timeout=timeout) if timeout else q.get_nowait()
        while True:
            add(*item)
            item = q.get_nowait()
    except queue.Empty:
        return


# ----------------------------------------------------------------------------- merge
def _dataset_totals(manifests: list[dict]) -> dict[str, Any]:
    t: dict[str, Any] = {"read": 0, "empty": 0, "quarantined": 0}
    t["written"] = dict.fromkeys(SPLITS, 0)
    t["tokens"] = dict.fromkeys(SPLITS, 0)
    for m in manifests:
        for k in ("read", "empty", "quarantined"):
            t[k] += m[k]
        for split in SPLITS:
            t["written"][split] += m["written"][split]
            t["tokens"][split] += m["tokens"][split]
    t["files"] = len({m["unit"]["path"] for m in manifests})
    t["units"] = len(manifests)
    return t


def merge(
    cfg: PreprocessConfig, units: list[Unit], manifests: list[dict], settings: Settings
) -> dict[str, Any]:
    """Concatenate unit parts in plan order into `<name>_<split>` prefixes (megatron-core's
    `IndexedDatasetBuilder.add_index`), then write the quarantine, blend.json and a summary."""
    from mothertongue.data.indexed import BatchBuilder, DType

    out = Path(cfg.output_dir)
    by_dataset: dict[str, list[tuple[Unit, dict]]] = {d.name: [] for d in cfg.datasets}
    for unit, m in zip(units, manifests, strict=True):
        by_dataset[unit.dataset].append((unit, m))
    totals = {name: _dataset_totals([m for _, m in pairs]) for name, pairs in by_dataset.items()}

    for name, t in totals.items():
        written = sum(t["written"].values())
        if t["read"] != written + t["empty"] + t["quarantined"]:
            raise RuntimeError(f"dataset {name}: counts do not reconcile: {t}")
        if written == 0 or sum(t["tokens"].values()) == 0:
            reasons = _top_reasons(cfg, by_dataset[name])
            raise RuntimeError(
                f"refusing to write an empty dataset: {name} read {t['read']} records, wrote 0 documents "
                f"({t['empty']} empty, {t['quarantined']} quarantined; top reasons: {reasons}). "
                f"Check text_key, the input files and the tokenizer {cfg.tokenizer}."
            )
        if t["written"]["train"] == 0:
            raise RuntimeError(
                f"refusing to write dataset {name} with an empty training split: {t['written']}"
            )

    dtype = {m["dtype"] for m in manifests}
    if len(dtype) != 1:
        raise RuntimeError(f"units were written with different dtypes {dtype}; rerun from scratch")
    dtype_name = dtype.pop()
    np_dtype = DType.dtype_from_code(DType[dtype_name].value)

    outputs: dict[str, dict[str, str]] = {}
    for name, pairs in by_dataset.items():
        folder = parts_dir(cfg, name)
        outputs[name] = {}
        for split in SPLITS:
            parts = [folder / m["prefixes"][split] for _, m in pairs if m["written"][split] > 0]
            if not parts:
                log.warning(
                    "dataset %s has no %s documents; no %s_%s prefix written", name, split, name, split
                )
                continue
            prefix = f"{name}_{split}"
            tmp = out / f".{prefix}.tmp"
            builder = BatchBuilder(f"{tmp}.bin", dtype=np_dtype)
            for part in parts:
                builder.add_index(str(part))
            builder.finalize(f"{tmp}.idx")
            os.replace(f"{tmp}.bin", out / f"{prefix}.bin")
            os.replace(f"{tmp}.idx", out / f"{prefix}.idx")
            outputs[name][split] = prefix

    n_quarantined = _write_quarantine(cfg, by_dataset, out / "quarantine.jsonl")

    weights = dict(cfg.blend) if cfg.blend else {n: float(t["tokens"]["train"]) for n, t in totals.items()}
    blend = {
        "format": BLEND_FORMAT,
        "tokenizer": settings.tokenizer_dir,
        "dtype": dtype_name,
        "append_eod": cfg.append_eod,
        "splits": {
            split: [
                [weights[n], outputs[n][split]] for n in by_dataset if split in outputs[n] and weights[n] > 0
            ]
            for split in SPLITS
        },
        "datasets": {
            n: {"documents": t["written"], "tokens": t["tokens"], "weight": weights[n]}
            for n, t in totals.items()
        },
    }
    blend["splits"] = {k: v for k, v in blend["splits"].items() if v}
    atomic_write_json(out / "blend.json", blend)
    if not cfg.keep_parts:
        shutil.rmtree(out / "parts", ignore_errors=True)
    _print_summary(totals, dtype_name)
    return {
        "datasets": totals,
        "documents": {s: sum(t["written"][s] for t in totals.values()) for s in SPLITS},
        "tokens": {s: sum(t["tokens"][s] for t in totals.values()) for s in SPLITS},
        "read": sum(t["read"] for t in totals.values()),
        "empty": sum(t["empty"] for t in totals.values()),
        "quarantined": n_quarantined,
        "dtype": dtype_name,
        "outputs": sorted(
            f"{p}.{ext}" for o in outputs.values() for p in o.values() for ext in ("bin", "idx")
        ),
        "blend": "blend.json",
        "quarantine": "quarantine.jsonl",
    }


def _unit_quarantine(cfg: PreprocessConfig, unit: Unit, m: dict) -> list[dict]:
    return read_jsonl(parts_dir(cfg, unit.dataset) / m["quarantine_file"])


def _top_reasons(cfg: PreprocessConfig, pairs: list[tuple[Unit, dict]]) -> str:
    from collections import Counter

    c: Counter[str] = Counter()
    for unit, m in pairs:
        c.update(r["reason"].split(":")[0] for r in _unit_quarantine(cfg, unit, m))
    return ", ".join(f"{r} x{n}" for r, n in c.most_common(3)) or "none"


def _write_quarantine(
    cfg: PreprocessConfig, by_dataset: dict[str, list[tuple[Unit, dict]]], path: Path
) -> int:
    """One quarantine file with absolute line numbers (chunk-local lines plus earlier chunks')."""
    import json

    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for name, pairs in by_dataset.items():
            lines_before: dict[str, int] = {}
            for unit, m in pairs:
                offset = 0 if unit.kind == "parquet" else lines_before.get(unit.path, 0)
                for r in _unit_quarantine(cfg, unit, m):
                    local = r.pop("local_line")
                    f.write(
                        json.dumps({"dataset": name, **r, "line": offset + local}, ensure_ascii=False) + "\n"
                    )
                    n += 1
                lines_before[unit.path] = offset + m["lines"]
    os.replace(tmp, path)
    return n


def _print_summary(totals: dict[str, dict], dtype: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"preprocess: documents and tokens per split ({dtype})")
    for col in (
        "dataset",
        "read",
        "empty",
        "quarantined",
        *(f"{s} docs" for s in SPLITS),
        *(f"{s} tokens" for s in SPLITS),
    ):
        table.add_column(col, justify="left" if col == "dataset" else "right")
    for name, t in totals.items():
        table.add_row(
            name,
            f"{t['read']:,}",
            f"{t['empty']:,}",
            f"{t['quarantined']:,}",
            *(f"{t['written'][s]:,}" for s in SPLITS),
            *(f"{t['tokens'][s]:,}" for s in SPLITS),
        )
    Console(stderr=True).print(table)


# ----------------------------------------------------------------------------- entry points
def plan(cfg: PreprocessConfig) -> list[Unit]:
    check_config(cfg)
    return plan_units(cfg.datasets, cfg.text_key, cfg.chunk_mb)


def run_shard(cfg: PreprocessConfig, index: int) -> dict[str, Any]:
    """Array task `index`: tokenize every `array_tasks`-th unit (round robin) into parts/."""
    if not 0 <= index < cfg.array_tasks:
        raise ValueError(f"shard index {index} outside 0..{cfg.array_tasks - 1}")
    units = plan(cfg)
    settings = settings_for(cfg)
    mine = units[index :: cfg.array_tasks]
    manifests = run_units(cfg, mine, settings, f"shard {index}/{cfg.array_tasks}")
    result = {
        "shard": index,
        "units": len(mine),
        "read": sum(m["read"] for m in manifests),
        "documents": sum(sum(m["written"].values()) for m in manifests),
        "tokens": sum(sum(m["tokens"].values()) for m in manifests),
    }
    atomic_write_json(Path(cfg.output_dir) / "parts" / f"shard-{index:05d}.json", result)
    return result


def run_all(cfg: PreprocessConfig) -> dict[str, Any]:
    """Tokenize whatever units no shard finished (all of them when no array ran), then merge."""
    units = plan(cfg)
    settings = settings_for(cfg)
    Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
    manifests = run_units(cfg, units, settings, "preprocess")
    return merge(cfg, units, manifests, settings)
