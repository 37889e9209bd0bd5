"""One contract for every curation step: act on live rows, mark dropped rows with step and reason.

Like datatrove's `PipelineStep`/`BaseFilter`, a step never counts anything by hand: a filter
returns keep-or-drop with a reason, and the base class marks the row (`dropped_by`,
`drop_reason`) instead of deleting it.  Dropped rows ride along to the end, where the writer
puts them in `removed/<step>/` and the report counts them, so
read = kept + removed by each step + quarantined holds by construction, on any executor
(in-process, Ray Data, Xenna) and across any number of workers.  Readers mark unreadable
records the same way with `dropped_by = "quarantine"`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from nemo_curator.stages.base import ProcessingStage
from nemo_curator.stages.resources import Resources
from nemo_curator.stages.text.filters.doc_filter import DocumentFilter
from nemo_curator.stages.text.modifiers.doc_modifier import DocumentModifier
from nemo_curator.tasks import DocumentBatch

QUARANTINE = "quarantine"
#: columns every batch carries from the reader on
BASE_COLUMNS = ["id", "text", "source", "language", "file", "offset", "dropped_by", "drop_reason"]


def live_mask(df: pd.DataFrame) -> pd.Series:
    return df["dropped_by"] == ""


class CurateStep(ProcessingStage[DocumentBatch, DocumentBatch]):
    """Base of our steps: subclasses implement `apply(df, live)` and touch only `live` rows."""

    name = "curate_step"
    resources = Resources(cpus=1.0)
    batch_size = 1

    def inputs(self) -> tuple[list[str], list[str]]:
        return ["data"], ["text", "dropped_by", "drop_reason"]

    def outputs(self) -> tuple[list[str], list[str]]:
        return ["data"], ["text", "dropped_by", "drop_reason"]

    def apply(self, df: pd.DataFrame, live: pd.Series) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def process(self, batch: DocumentBatch) -> DocumentBatch:
        df = batch.to_pandas().copy()
        live = live_mask(df)
        if live.any():
            self.apply(df, live)
        return DocumentBatch(
            dataset_name=batch.dataset_name, data=df, _metadata=batch._metadata, _stage_perf=batch._stage_perf
        )

    def drop(self, df: pd.DataFrame, index: Any, reasons: Any) -> None:
        df.loc[index, "dropped_by"] = self.name
        df.loc[index, "drop_reason"] = reasons


class TextModifier(CurateStep):
    """A step that rewrites text; a document left empty is dropped with reason 'empty after <step>'."""

    def modify(self, text: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, df: pd.DataFrame, live: pd.Series) -> None:
        new = df.loc[live, "text"].map(self.modify)
        df.loc[live, "text"] = new
        empty = new.index[new.str.strip() == ""]
        if len(empty):
            self.drop(df, empty, f"empty after {self.name}")


class DocFilter(CurateStep):
    """A step that judges each document: `judge(text) -> (keep, reason, signals)`.

    Signals (numbers) are written to columns `signal_names` so kept documents carry their
    quality signals into the output shards.
    """

    signal_names: tuple[str, ...] = ()

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, df: pd.DataFrame, live: pd.Series) -> None:
        idx = df.index[live]
        verdicts = [self.judge(t) for t in df.loc[idx, "text"]]
        for col in self.signal_names:
            if col not in df.columns:
                df[col] = None
            df.loc[idx, col] = pd.Series([v[2].get(col) for v in verdicts], index=idx, dtype=object)
        dropped = [i for i, v in zip(idx, verdicts, strict=True) if not v[0]]
        if dropped:
            reasons = [v[1] for v in verdicts if not v[0]]
            self.drop(df, dropped, reasons)


class CuratorModifier(TextModifier):
    """Runs a NeMo Curator `DocumentModifier` (UnicodeReformatter, NewlineNormalizer, UrlRemover...)."""

    def __init__(self, modifier: DocumentModifier | Callable[[str], str], name: str):
        self.modifier = modifier
        self.name = name

    def modify(self, text: str) -> str:
        fn = self.modifier.modify_document if isinstance(self.modifier, DocumentModifier) else self.modifier
        return fn(text)


class CuratorFilter(DocFilter):
    """Runs a NeMo Curator `DocumentFilter` (score_document + keep_document) under our contract."""

    def __init__(self, doc_filter: DocumentFilter, name: str, signal: str):
        self.doc_filter = doc_filter
        self.name = name
        self.signal_names = (signal,)

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:
        score = self.doc_filter.score_document(text)
        keep = bool(self.doc_filter.keep_document(score))
        value = round(float(score), 4) if isinstance(score, int | float) else score
        return keep, f"{self.signal_names[0]}={value}", {self.signal_names[0]: value}
