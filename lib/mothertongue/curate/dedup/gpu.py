"""GPU dedup through NeMo Curator's own workflows (cuDF/RAPIDS): for GPU nodes, `dedup.gpu: true`.

Written against Curator 1.4's `ExactDeduplicationWorkflow` / `FuzzyDeduplicationWorkflow`
signatures but UNTESTED here (no GPU on the development machines; both import cuDF).  The
workflows read the kept shards of a dataset, write the ids of duplicates to `output_path`, and
`TextDuplicatesRemovalWorkflow` removes them.  Curator's fuzzy dedup uses character n-grams too
(`char_ngrams`), so the CPU and GPU paths agree in what they consider a near-duplicate.
"""

from __future__ import annotations

from pathlib import Path

from mothertongue.curate.config import DedupConfig


def run_gpu_dedup(shard_dir: Path, work_dir: Path, cfg: DedupConfig) -> dict[str, str]:
    """Identify (exact, then fuzzy) duplicates in `shard_dir/*.jsonl`; returns the id-list folders."""
    from nemo_curator.backends.ray_actor_pool import RayActorPoolExecutor
    from nemo_curator.stages.deduplication.exact.workflow import ExactDeduplicationWorkflow
    from nemo_curator.stages.deduplication.fuzzy.workflow import FuzzyDeduplicationWorkflow

    out: dict[str, str] = {}
    executor = RayActorPoolExecutor()
    if cfg.exact:
        exact_out = work_dir / "exact"
        ExactDeduplicationWorkflow(
            output_path=str(exact_out), input_path=str(shard_dir), input_filetype="jsonl", text_field="text"
        ).run(executor=executor)
        out["exact"] = str(exact_out)
    if cfg.fuzzy:
        fuzzy_out = work_dir / "fuzzy"
        FuzzyDeduplicationWorkflow(
            cache_path=str(work_dir / "fuzzy_cache"),
            output_path=str(fuzzy_out),
            input_path=str(shard_dir),
            input_filetype="jsonl",
            text_field="text",
            seed=cfg.seed,
            char_ngrams=cfg.ngram,
            num_bands=cfg.bands,
            minhashes_per_band=cfg.num_perm // cfg.bands,
        ).run(executor=executor)
        out["fuzzy"] = str(fuzzy_out)
    return out
