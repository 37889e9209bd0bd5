"""The reader as a Curator stage: one `SourceTask` (a file or corpus) -> `DocumentBatch`es.

Quarantined records and skipped records (wiki redirects, non-HTML WARC payloads) become rows
already marked `dropped_by` = "quarantine" / "reader", so the report's equation covers them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from nemo_curator.stages.base import ProcessingStage
from nemo_curator.tasks import DocumentBatch, Task

from mothertongue.curate.base import QUARANTINE
from mothertongue.curate.readers.sources import Bad, Record, Skip, read_source


@dataclass
class SourceTask(Task[dict]):
    """One unit of reading: {'kind', 'path' | 'corpus', 'source', 'language', ...}."""

    data: dict = field(default_factory=dict)

    @property
    def num_items(self) -> int:
        return 1

    def validate(self) -> bool:
        return True

    def get_deterministic_id(self) -> str | None:
        return hashlib.md5(repr(sorted(self.data.items())).encode()).hexdigest()[:12]


class ReadSource(ProcessingStage[SourceTask, DocumentBatch]):
    name = "read"

    def __init__(self, docs_per_batch: int = 2000):
        self.docs_per_batch = docs_per_batch

    def inputs(self) -> tuple[list[str], list[str]]:
        return [], []

    def outputs(self) -> tuple[list[str], list[str]]:
        return ["data"], ["id", "text", "source", "language", "dropped_by", "drop_reason"]

    def process(self, task: SourceTask) -> list[DocumentBatch]:
        spec = task.data
        rows: list[dict[str, Any]] = []
        batches: list[DocumentBatch] = []
        max_docs = spec.get("max_docs")
        n_docs = 0
        for item in read_source(spec["kind"], spec):
            if isinstance(item, Record):
                if max_docs is not None and n_docs >= max_docs:
                    break
                n_docs += 1
                rows.append(self._row(spec, item.file, item.offset, item.text, "", "", item.meta))
            elif isinstance(item, Bad):
                rows.append(
                    self._row(spec, item.file, item.offset, item.snippet, QUARANTINE, item.reason, {})
                )
            elif isinstance(item, Skip):
                rows.append(self._row(spec, item.file, item.offset, item.snippet, "reader", item.reason, {}))
            if len(rows) >= self.docs_per_batch:
                batches.append(self._batch(task, rows))
                rows = []
        if rows or not batches:
            batches.append(self._batch(task, rows))
        return batches

    @staticmethod
    def _row(spec: dict, file: str, offset: int, text: str, dropped: str, reason: str, meta: dict) -> dict:
        source = spec["source"]
        return {
            "id": f"{source}:{hashlib.md5(f'{file}:{offset}'.encode()).hexdigest()[:10]}:{offset}",
            "text": text,
            "source": source,
            "language": spec["language"],
            "file": file,
            "offset": int(offset),
            "title": str(meta.get("title", meta.get("url", ""))),
            "dropped_by": dropped,
            "drop_reason": reason,
        }

    @staticmethod
    def _batch(task: SourceTask, rows: list[dict]) -> DocumentBatch:
        cols = ["id", "text", "source", "language", "file", "offset", "title", "dropped_by", "drop_reason"]
        return DocumentBatch(dataset_name=task.dataset_name, data=pd.DataFrame(rows, columns=cols))
