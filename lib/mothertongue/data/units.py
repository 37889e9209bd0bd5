"""Work units: the pieces of input that workers and Slurm array tasks tokenize independently.

A unit is a byte range of a JSONL / text file (cut at line boundaries) or one row group of a
Parquet file. Units depend only on the input files and `chunk_mb`, never on the number of
workers or array tasks, and the merge concatenates them in a fixed order (dataset, file path,
offset), so any parallel layout produces the same bytes as a single process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mothertongue.config import ConfigError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
TEXT_SUFFIXES = (".txt", ".text")
PARQUET_SUFFIXES = (".parquet",)
ALL_SUFFIXES = JSONL_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES


@dataclass(frozen=True)
class Unit:
    dataset: str
    path: str  # absolute
    kind: str  # "jsonl" | "text" | "parquet"
    chunk: int  # index within the file
    start: int  # byte offset (jsonl/text) or row group (parquet)
    end: int  # byte offset, exclusive (jsonl/text) or row group + 1 (parquet)
    first_row: int  # parquet: rows before this row group (line numbers); text: unknown, 0
    text_key: str
    file_size: int
    file_mtime_ns: int

    @property
    def key(self) -> str:
        """Stable name of the unit's partial files: a hash of the file path plus the chunk."""
        digest = hashlib.sha1(self.path.encode()).hexdigest()[:12]
        return f"{Path(self.path).stem[:40]}-{digest}-{self.chunk:05d}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def discover_files(paths: list[str], key: str) -> list[Path]:
    """Input files of one dataset, sorted, so the order in the config does not matter."""
    found: set[Path] = set()
    for i, raw in enumerate(paths):
        p = Path(raw)
        if p.is_dir():
            found.update(c.resolve() for c in p.iterdir() if c.is_file() and _kind(c))
        elif p.is_file():
            if _kind(p) is None:
                raise ConfigError(f"{key}.{i}", f"{p}: unsupported file type; expected one of {ALL_SUFFIXES}")
            found.add(p.resolve())
        else:
            raise ConfigError(f"{key}.{i}", f"input path {p} does not exist")
    if not found:
        raise ConfigError(key, f"no input files ({', '.join(ALL_SUFFIXES)}) in {paths}")
    return sorted(found, key=str)


def _byte_chunks(path: Path, chunk_bytes: int) -> list[tuple[int, int]]:
    size = path.stat().st_size
    if size == 0:
        return [(0, 0)]
    bounds = list(range(0, size, max(1, chunk_bytes))) + [size]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def plan_units(datasets: list[Any], default_text_key: str, chunk_mb: float) -> list[Unit]:
    """All units of all datasets, in merge order."""
    units: list[Unit] = []
    chunk_bytes = int(chunk_mb * (1 << 20))
    for d_index, ds in enumerate(datasets):
        text_key = ds.text_key or default_text_key
        for path in discover_files(list(ds.paths), f"datasets.{d_index}.paths"):
            stat = path.stat()
            kind = _kind(path)
            common = dict(
                dataset=ds.name,
                path=str(path),
                kind=kind,
                text_key=text_key,
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
            )
            if kind == "parquet":
                import pyarrow.parquet as pq

                meta = pq.ParquetFile(path).metadata
                rows = 0
                for g in range(meta.num_row_groups):
                    units.append(Unit(chunk=g, start=g, end=g + 1, first_row=rows, **common))
                    rows += meta.row_group(g).num_rows
            else:
                for c, (start, end) in enumerate(_byte_chunks(path, chunk_bytes)):
                    units.append(Unit(chunk=c, start=start, end=end, first_row=0, **common))
    return units


def _lines(unit: Unit) -> Iterator[bytes]:
    """The lines whose first byte lies in [start, end): each line belongs to exactly one chunk."""
    with open(unit.path, "rb") as f:
        if unit.start > 0:
            f.seek(unit.start - 1)
            f.readline()  # finish the line that started in the previous chunk
        pos = f.tell()
        if pos >= unit.end and unit.end > unit.start:
            return
        data = f.read(max(0, unit.end - pos))
        if data and not data.endswith(b"\n"):
            data += f.readline()
    if not data:
        return
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    yield from lines


# What a unit yields per input line: (local line number, text, split key) or a problem.
Record = tuple[int, str | None, str | None, str | None]  # line, text, id, quarantine reason


def _not_text(key: str, value: Any) -> str | None:
    """Why a record's text field cannot be tokenized (None when it is a string)."""
    return None if isinstance(value, str) else f"{key!r} is {type(value).__name__}, not a string"


def read_records(unit: Unit, id_key: str | None) -> Iterator[Record]:
    """Yield (line, text, id, reason) for every record; text is None when `reason` says why.

    Blank lines in JSONL are not records (JSON Lines allows none): they come back with reason
    "" so line numbers still count them; in plain text a blank line is an empty document.
    """
    key = unit.text_key
    if unit.kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(unit.path)
        names = set(pf.schema_arrow.names)
        n_rows = pf.metadata.row_group(unit.start).num_rows
        columns = [c for c in (key, id_key) if c and c in names]
        table = pf.read_row_group(unit.start, columns=columns)
        texts = table.column(key).to_pylist() if key in names else None
        ids = table.column(id_key).to_pylist() if id_key and id_key in names else None
        for i in range(n_rows):
            line = unit.first_row + i + 1
            if texts is None:
                yield line, None, None, f"missing key {key!r}"
                continue
            text = texts[i]
            problem = _not_text(key, text)
            yield (
                line,
                None if problem else text,
                None if ids is None or ids[i] is None else str(ids[i]),
                problem,
            )
        return

    for n, raw in enumerate(_lines(unit), start=1):
        if unit.kind == "text":
            yield n, raw.decode("utf-8", errors="replace").rstrip("\r"), None, None
            continue
        if not raw.strip():
            yield n, None, None, ""
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield n, None, None, f"invalid JSON: {exc}"
            continue
        if not isinstance(record, dict):
            yield n, None, None, f"record is {type(record).__name__}, not a JSON object"
            continue
        if key not in record:
            yield n, None, None, f"missing key {key!r}"
            continue
        text, problem = record[key], _not_text(key, record[key])
        doc_id = record.get(id_key) if id_key else None
        yield n, None if problem else text, None if doc_id is None else str(doc_id), problem
