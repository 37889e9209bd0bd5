"""Heuristic quality filters, each a `DocFilter` with its threshold from the language config."""

from mothertongue.curate.filters.heuristics import FILTERS, build_filter

__all__ = ["FILTERS", "build_filter"]
