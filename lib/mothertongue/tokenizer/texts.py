"""Reading training and evaluation text: curated JSONL shards, plain text, shipped corpora.

Malformed JSONL lines do not stop training; they are counted and reported with file and line
so the counts reconcile (read = used + quarantined).
"""

from __future__ import annotations

import glob
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from mothertongue.config import ConfigError, as_input_path

TEXT_SUFFIXES = (".jsonl", ".txt")


@dataclass
class TextStats:
    files: int = 0
    read: int = 0
    used: int = 0
    empty: int = 0
    quarantined: list[dict] = field(default_factory=list)


def expand_files(entries: list[str], key: str = "train_files") -> list[Path]:
    """Files named by `entries`: files, folders (all *.jsonl / *.txt below), globs, asset: paths."""
    files: list[Path] = []
    for entry in entries:
        path = as_input_path(entry)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file())
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise ConfigError(key, f"{entry} names no .jsonl or .txt file")
        files += found
    return files


def read_texts(files: list[Path], text_key: str = "text", stats: TextStats | None = None) -> list[str]:
    """Every non-empty text in `files` (JSONL: the `text_key` field; .txt: one line each)."""
    stats = stats if stats is not None else TextStats()
    texts: list[str] = []
    for path in files:
        stats.files += 1
        jsonl = path.suffix == ".jsonl"
        with open(path, encoding="utf-8", errors="strict") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                stats.read += 1
                if jsonl:
                    try:
                        record = json.loads(line)
                        text = record[text_key]
                        if not isinstance(text, str):
                            raise TypeError(f"field {text_key!r} is {type(text).__name__}, not a string")
                    except (ValueError, KeyError, TypeError) as exc:
                        reason = f"missing field {text_key!r}" if isinstance(exc, KeyError) else str(exc)
                        stats.quarantined.append({"file": str(path), "line": number, "reason": reason})
                        continue
                else:
                    text = line.rstrip("\n")
                text = text.strip()
                if not text:
                    stats.empty += 1
                    continue
                texts.append(text)
                stats.used += 1
    return texts


def builtin_texts(name: str) -> list[str]:
    """A corpus shipped with the package (no download): ctcpc, hkcancor, english, chinese."""
    from mothertongue import corpora

    if name in ("ctcpc", "hkcancor"):
        return list(corpora.cantonese_sentences(name))
    if name == "english":
        return list(corpora.english_lines())
    if name == "chinese":
        return list(corpora.standard_chinese_sentences())
    raise ConfigError(
        "builtin_corpus", f"unknown corpus {name!r}; choose ctcpc, hkcancor, english or chinese"
    )


def split_heldout(texts: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded (train, held-out) split; held-out text never trains the vocabulary."""
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_heldout = int(round(len(texts) * fraction))
    held = set(order[:n_heldout])
    return [t for i, t in enumerate(texts) if i not in held], [texts[i] for i in sorted(held)]
