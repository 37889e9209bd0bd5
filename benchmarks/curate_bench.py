"""Documents/s of our CPU curation chain vs datatrove's closest chain, same input, 2 workers.

    .venv/bin/python benchmarks/curate_bench.py --docs 20000 --workers 2

Input: the first N Cantonese sentences of pycantonese CTCPC + HKCanCor written as JSONL shards
(one per worker).  Both sides read JSONL, repair Unicode (ftfy), redact PII, run heuristic
filters and the same marker language ID, and deduplicate with 5-gram MinHash (14 bands x 8).
  ours:      our Curator stages via InProcessExecutor in one process per shard (Pool(workers)),
             then the global DuplicateResolver (exact + char-5-gram MinHash/LSH, verified).
  datatrove: LocalPipelineExecutor(tasks=workers, workers=workers): JsonlReader -> FTFYFormatter
             -> PIIFormatter -> GopherRepetitionFilter -> LambdaFilter(marker langid) ->
             MinhashDedupSignature(language=yue), then MinhashDedupBuckets -> Cluster -> Filter.
Not the same algorithms (datatrove's Gopher filters and MinHash work on words from its
tokenizer for yue; ours on characters), so the ratio is "our chain vs the closest datatrove
chain", not a like-for-like kernel benchmark.  Needs `pip install datatrove==0.10.1`
(env/requirements-bench.txt); it is not a runtime dependency.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import pandas as pd


def make_input(n_docs: int, workers: int, folder: Path) -> list[Path]:
    from mothertongue.corpora import cantonese_sentences

    texts = list(cantonese_sentences("ctcpc")) + list(cantonese_sentences("hkcancor"))
    texts = texts[:n_docs]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for w in range(workers):
        p = folder / f"shard-{w}.jsonl"
        with open(p, "w", encoding="utf-8") as f:
            for i in range(w, len(texts), workers):
                f.write(json.dumps({"id": str(i), "text": texts[i]}, ensure_ascii=False) + "\n")
        paths.append(p)
    return paths


def _ours_shard(path: str) -> pd.DataFrame:
    from mothertongue.curate.config import load_language
    from mothertongue.curate.executors import InProcessExecutor
    from mothertongue.curate.pipeline import build_steps
    from mothertongue.curate.readers import ReadSource, SourceTask

    lang = load_language("yue")
    stages = [ReadSource(5000), *build_steps(lang)]
    task = SourceTask(
        dataset_name="bench", data={"kind": "jsonl", "path": path, "source": "bench", "language": "yue"}
    )
    out = InProcessExecutor().execute(stages, [task])
    return pd.concat([t.to_pandas() for t in out], ignore_index=True)


def run_ours(paths: list[Path], workers: int) -> tuple[float, int]:
    from mothertongue.curate.config import load_language
    from mothertongue.curate.dedup import DuplicateResolver
    from nemo_curator.tasks import DocumentBatch

    start = time.perf_counter()
    with get_context("spawn").Pool(workers) as pool:
        frames = pool.map(_ours_shard, [str(p) for p in paths])
    df = pd.concat(frames, ignore_index=True)
    df = (
        DuplicateResolver(load_language("yue").dedup)
        .process(DocumentBatch(dataset_name="b", data=df))
        .to_pandas()
    )
    return time.perf_counter() - start, int((df["dropped_by"] == "").sum())


def _dt_langid(doc) -> bool:  # noqa: ANN001 - datatrove Document
    from mothertongue.curate.config import load_language
    from mothertongue.curate.langid import LanguageIdentifier

    global _LID
    if "_LID" not in globals():
        _LID = LanguageIdentifier(load_language("yue").langid)
    return _LID.judge(doc.text)[0]


def run_datatrove(folder: Path, workers: int, work: Path) -> tuple[float, int]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.filters import GopherRepetitionFilter, LambdaFilter
    from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    # sha1: datatrove 0.10.1 hands str to xxhash, which xxhash>=4 (installed here) refuses
    mh = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(hash_fc="sha1"))
    lang = "yue"
    start = time.perf_counter()
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(folder)),
            FTFYFormatter(),
            PIIFormatter(),
            GopherRepetitionFilter(language=lang),
            LambdaFilter(_dt_langid),
            JsonlWriter(str(work / "filtered")),
        ],
        tasks=workers, workers=workers, logging_dir=str(work / "logs1"),
    ).run()  # fmt: skip
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(work / "filtered")), MinhashDedupSignature(str(work / "sigs"), mh, language=lang)],
        tasks=workers, workers=workers, logging_dir=str(work / "logs2"),
    ).run()  # fmt: skip
    LocalPipelineExecutor(
        pipeline=[MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=mh)],
        tasks=mh.num_buckets, workers=workers, logging_dir=str(work / "logs3"),
    ).run()  # fmt: skip
    LocalPipelineExecutor(
        pipeline=[MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=mh)],
        tasks=1, workers=1, logging_dir=str(work / "logs4"),
    ).run()  # fmt: skip
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(work / "filtered")),
            MinhashDedupFilter(str(work / "remove")),
            JsonlWriter(str(work / "out")),
        ],
        tasks=workers, workers=workers, logging_dir=str(work / "logs5"),
    ).run()  # fmt: skip
    elapsed = time.perf_counter() - start
    kept = 0
    import gzip

    for p in (work / "out").glob("*.jsonl.gz"):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            kept += sum(1 for _ in f)
    return elapsed, kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="curate_bench"))
    try:
        paths = make_input(args.docs, args.workers, root / "input")
        ours_s, ours_kept = run_ours(paths, args.workers)
        dt_s, dt_kept = run_datatrove(root / "input", args.workers, root / "dt")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ours_rate, dt_rate = args.docs / ours_s, args.docs / dt_s
    print("| chain | docs | workers | seconds | docs/s | kept |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| mothertongue (Curator stages, in-process x{args.workers}) | {args.docs} | {args.workers} | {ours_s:.1f} | {ours_rate:.0f} | {ours_kept} |"
    )
    print(
        f"| datatrove 0.10.1 (LocalPipelineExecutor) | {args.docs} | {args.workers} | {dt_s:.1f} | {dt_rate:.0f} | {dt_kept} |"
    )
    print(f"\nratio ours/datatrove (docs/s): {ours_rate / dt_rate:.2f}x")


if __name__ == "__main__":
    main()
