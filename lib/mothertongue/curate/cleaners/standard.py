"""Language-neutral cleaners, built from NeMo Curator's own modifiers where they exist."""

from __future__ import annotations

import re

from nemo_curator.stages.text.modifiers.string.newline_normalizer import NewlineNormalizer
from nemo_curator.stages.text.modifiers.string.url_remover import UrlRemover
from nemo_curator.stages.text.modifiers.unicode.unicode_reformatter import UnicodeReformatter

from mothertongue.curate.base import CuratorModifier

_SPACES = re.compile(r"[ \t\u00a0\u3000\u200b\u200e\u200f\ufeff]+")
_TRAILING = re.compile(r" *\n *")


def unicode_repair(normalization: str | None = "NFC") -> CuratorModifier:
    """ftfy through Curator's UnicodeReformatter: mojibake, HTML entities, control characters."""
    return CuratorModifier(UnicodeReformatter(normalization=normalization, explain=False), "unicode_repair")


def _whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING.sub("\n", _SPACES.sub(" ", text))
    return NewlineNormalizer().modify_document(text).strip()


def whitespace_normalisation() -> CuratorModifier:
    """Curator's NewlineNormalizer (3+ newlines -> 2) plus collapsing runs of (ideographic) spaces."""
    return CuratorModifier(_whitespace, "whitespace")


def url_removal() -> CuratorModifier:
    """Curator's UrlRemover (http(s)://... and www....)."""
    return CuratorModifier(UrlRemover(), "url_removal")
