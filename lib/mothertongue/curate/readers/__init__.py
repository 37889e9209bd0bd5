"""Readers: JSONL/Parquet/text, MediaWiki dumps, WARC, pycantonese corpora, shipped assets."""

from mothertongue.curate.readers.sources import Bad, Record, Skip, expand_paths, read_source
from mothertongue.curate.readers.stage import ReadSource, SourceTask

__all__ = ["Bad", "ReadSource", "Record", "Skip", "SourceTask", "expand_paths", "read_source"]
