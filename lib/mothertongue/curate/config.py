"""Typed config for the curate job: named datasets (sources + language) and the steps between.

A language is a YAML file in `languages/` (cleaner, filters, language ID markers, dedup); the
job config names datasets, each with its sources and a language, and may override any language
setting per dataset.  Everything is validated on the login node (`jobs.curate.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import MISSING

from mothertongue.config import ConfigError, Resources, load_config

LANGUAGES_DIR = Path(__file__).parent / "languages"


class SourceKind(Enum):
    jsonl = "jsonl"
    parquet = "parquet"
    text = "text"
    mediawiki = "mediawiki"
    warc = "warc"
    pycantonese = "pycantonese"
    asset = "asset"


@dataclass
class SourceConfig:
    """One input: files (jsonl/parquet/text/mediawiki/warc), a pycantonese corpus, or a shipped asset."""

    kind: SourceKind = SourceKind.jsonl
    paths: list[str] = field(default_factory=list)  # files or globs; checked at submit time
    corpus: str = ""  # pycantonese: ctcpc | hkcancor ; asset: path under mothertongue/assets
    text_field: str = "text"  # jsonl / parquet
    lines_per_doc: int = 1  # text / asset / pycantonese: group N lines into one document
    max_docs: int | None = None  # stop after this many documents (demos, tests)
    # pycantonese / asset: leave out the texts the evaluate job holds out from the same corpus
    # (`heldout: N` there), so test text is never trained on
    exclude_heldout: int = 0
    name: str = ""  # label written to each document's `source` field; default: kind[:corpus]


@dataclass
class CleanerConfig:
    """Which characters a language keeps; everything else becomes a space (then collapsed)."""

    enabled: bool = True
    keep_scripts: list[str] = field(
        default_factory=lambda: ["han", "latin", "digit", "cjk_punct", "ascii_punct"]
    )
    extra_chars: str = ""  # language-specific characters outside the scripts above


@dataclass
class FilterConfig:
    """One heuristic filter: `kind` picks the implementation, `params` its thresholds."""

    kind: str = MISSING
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass
class LangIdConfig:
    """Language ID: `markers` (weighted marker strings, see langid/markers.py) or `script` (letter ratio)."""

    kind: str = "markers"
    target: str = "yue"
    contrast: str = "zh"
    weights: dict[str, float] = field(default_factory=dict)
    threshold: float = 2.0
    min_script_ratio: float = 0.3
    script: str = "han"  # for kind=script: han | latin
    keep_labels: list[str] = field(default_factory=lambda: ["yue", "neutral"])
    enabled: bool = True


@dataclass
class DedupConfig:
    """Exact (normalised-text hash) and fuzzy (character n-gram MinHash + LSH) dedup."""

    exact: bool = True
    fuzzy: bool = True
    ngram: int = 5  # characters: word n-grams miss short Cantonese sentences entirely
    num_perm: int = 112
    bands: int = 14  # rows per band = num_perm / bands; threshold ~ (1/bands)^(1/rows)
    jaccard_threshold: float = 0.7  # candidates are verified against their true n-gram Jaccard
    min_chars: int = 12  # shorter texts are only exact-deduplicated (MinHash of 2 n-grams is noise)
    seed: int = 42
    gpu: bool = False  # use NeMo Curator's GPU exact/fuzzy dedup workflows (needs cuDF; untested here)


@dataclass
class PiiConfig:
    enabled: bool = True
    kinds: list[str] = field(
        default_factory=lambda: ["email", "url_secret", "credit_card", "hkid", "ip", "phone"]
    )


@dataclass
class LanguageConfig:
    """Everything language-specific. Loaded from languages/<code>.yaml, overridable per dataset."""

    code: str = MISSING
    name: str = ""
    word_splitter: str = "char"  # how Curator word-based filters split: char (CJK) | en | zh (jieba)
    unicode_normalization: str | None = "NFC"
    remove_urls: bool = True
    cleaner: CleanerConfig = field(default_factory=CleanerConfig)
    filters: list[FilterConfig] = field(default_factory=list)
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)


@dataclass
class DatasetConfig:
    """A named output dataset: `<output_dir>/datasets/<name>/part-*.jsonl`."""

    name: str = MISSING
    language: str = MISSING  # a file in curate/languages/ (yue, en, ...) or a path to a YAML file
    sources: list[SourceConfig] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)  # key=value into the language, e.g. dedup.ngram=4


@dataclass
class CurateConfig:
    output_dir: str = MISSING
    datasets: list[DatasetConfig] = field(default_factory=list)
    executor: str = "inprocess"  # inprocess | ray_data | xenna (batch mode)
    num_workers: int = 2  # Ray CPUs (local cluster) / in-process: ignored
    docs_per_batch: int = 2000  # DocumentBatch size emitted by readers
    removed_samples: int = 20  # examples per filter kept in report.md (all removed docs go to removed/)
    ray_address: str = ""  # connect to an existing cluster (multi-node: started by SlurmRayClient)
    seed: int = 0
    resources: Resources = field(default_factory=Resources)


def load_language(spec: str, overrides: list[str] | None = None) -> LanguageConfig:
    """A language by code (languages/<code>.yaml) or by YAML path, with `key=value` overrides."""
    path = Path(spec) if spec.endswith((".yaml", ".yml")) else LANGUAGES_DIR / f"{spec}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in LANGUAGES_DIR.glob("*.yaml"))
        raise ConfigError("language", f"unknown language {spec!r}: no {path} (known: {known})")
    return load_config(LanguageConfig, path, overrides)
