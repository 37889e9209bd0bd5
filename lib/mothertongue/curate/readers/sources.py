"""Source readers: each yields `Record`s (a document) or `Bad`s (quarantine: file, offset, reason).

Readers never raise on bad input: a malformed JSON line, a missing text field, an undecodable
WARC payload or a broken XML tail becomes a quarantine entry naming the file and the line
(JSONL/text), row (Parquet), page index (MediaWiki) or byte offset (WARC).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mothertongue.curate.readers.wikitext import iter_pages, render_wikitext


@dataclass
class Record:
    text: str
    file: str
    offset: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bad:
    file: str
    offset: int
    reason: str
    snippet: str = ""


@dataclass
class Skip:
    """Read but not a document (e.g. a wiki redirect): counted and dropped with a reason."""

    file: str
    offset: int
    reason: str
    snippet: str = ""


Item = Record | Bad | Skip


def expand_paths(patterns: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in patterns:
        hits = sorted(glob.glob(p)) if any(c in p for c in "*?[") else [p]
        out += [Path(h) for h in hits]
    return out


def read_jsonl(path: Path, text_field: str = "text") -> Iterator[Item]:
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield Bad(str(path), line_no, f"malformed JSON: {exc}", raw[:200].decode("utf-8", "replace"))
                continue
            text = obj.get(text_field) if isinstance(obj, dict) else None
            if not isinstance(text, str):
                yield Bad(
                    str(path),
                    line_no,
                    f"no string field {text_field!r}",
                    raw[:200].decode("utf-8", "replace"),
                )
                continue
            meta = {k: v for k, v in obj.items() if k != text_field and isinstance(v, str | int | float)}
            yield Record(text, str(path), line_no, meta)


def read_parquet(path: Path, text_field: str = "text") -> Iterator[Item]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is quarantined, not fatal
        yield Bad(str(path), 0, f"unreadable parquet: {exc}")
        return
    if text_field not in table.column_names:
        yield Bad(str(path), 0, f"no column {text_field!r} (has {table.column_names})")
        return
    for row, text in enumerate(table.column(text_field).to_pylist()):
        if isinstance(text, str):
            yield Record(text, str(path), row)
        else:
            yield Bad(str(path), row, f"row {row}: {text_field!r} is {type(text).__name__}")


def without_heldout(lines: list[str], n_heldout: int) -> list[str]:
    """Blank out the lines an evaluation holds out (`corpora.heldout_split`), keeping line numbers."""
    if not n_heldout:
        return lines
    from mothertongue.corpora import heldout_split

    held = set(heldout_split([line.strip() for line in lines if line.strip()], n_heldout)[1])
    return ["" if line.strip() in held else line for line in lines]


def group_lines(lines: Iterator[str] | list[str], file: str, lines_per_doc: int) -> Iterator[Item]:
    """N non-empty lines per document; offset = 1-based line number of the document's first line."""
    buf: list[str] = []
    start = 1
    for line_no, line in enumerate(lines, start=1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if not buf:
            start = line_no
        buf.append(line)
        if lines_per_doc > 0 and len(buf) >= lines_per_doc:
            yield Record("\n".join(buf), file, start)
            buf = []
    if buf:
        yield Record("\n".join(buf), file, start)


def read_text(path: Path, lines_per_doc: int = 1) -> Iterator[Item]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        yield Bad(str(path), 0, f"not UTF-8: {exc}")
        return
    yield from group_lines(text.splitlines(), str(path), lines_per_doc)


def read_mediawiki(path: Path) -> Iterator[Item]:
    """Main-namespace articles rendered to prose; redirects and other namespaces are skipped."""
    index = -1
    try:
        for index, title, wikitext, redirect, ns in iter_pages(path):
            if redirect:
                yield Skip(str(path), index, "redirect", title)
            elif ns != 0:
                yield Skip(str(path), index, f"namespace {ns}", title)
            else:
                try:
                    text = render_wikitext(wikitext)
                except Exception as exc:  # noqa: BLE001 - one bad page must not stop a dump
                    yield Bad(str(path), index, f"wikitext parse error: {exc}", title)
                    continue
                yield Record(text, str(path), index, {"title": title})
    except Exception as exc:  # noqa: BLE001 - truncated / corrupt XML: keep what was read
        yield Bad(str(path), index + 1, f"XML error after page {index}: {exc}")


def read_source(kind: str, spec: dict[str, Any]) -> Iterator[Item]:
    """Dispatch on `kind` for one file (or one corpus)."""
    from mothertongue.curate.readers.warc import read_warc

    path = Path(spec.get("path", ""))
    if kind == "jsonl":
        yield from read_jsonl(path, spec.get("text_field", "text"))
    elif kind == "parquet":
        yield from read_parquet(path, spec.get("text_field", "text"))
    elif kind == "text":
        yield from read_text(path, spec.get("lines_per_doc", 1))
    elif kind == "mediawiki":
        yield from read_mediawiki(path)
    elif kind == "warc":
        yield from read_warc(path)
    elif kind == "pycantonese":
        from mothertongue.corpora import cantonese_sentences

        corpus = spec["corpus"]
        lines = without_heldout(list(cantonese_sentences(corpus)), spec.get("exclude_heldout", 0))
        yield from group_lines(lines, f"pycantonese:{corpus}", spec.get("lines_per_doc", 1))
    elif kind == "asset":
        from mothertongue.corpora import asset_path

        p = asset_path(spec["corpus"])
        lines = without_heldout(p.read_text(encoding="utf-8").splitlines(), spec.get("exclude_heldout", 0))
        yield from group_lines(lines, f"asset:{spec['corpus']}", spec.get("lines_per_doc", 1))
    else:
        raise ValueError(f"unknown source kind {kind!r}")
