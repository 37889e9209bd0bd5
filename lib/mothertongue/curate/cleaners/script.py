"""The language cleaner: keep the scripts a language is written in, drop the rest.

For Cantonese that is Han (including CJK Extension B, where characters such as 𡃉 and 𠮶
live), Latin letters and digits (code-switching: 噉放假係relax), CJK and ASCII punctuation,
plus any extra characters the language config names.  Everything else (emoji, box drawing,
other scripts, stray symbols) becomes a space; runs of spaces collapse, and a space between
two Han characters (an artefact of the removal or of segmented corpora) is removed.
"""

from __future__ import annotations

import re

from mothertongue.curate.base import TextModifier

SCRIPT_RANGES: dict[str, str] = {
    # CJK Unified + Ext A + compatibility + Ext B..H (U+20000-U+323AF) + radicals, strokes
    "han": r"\u2e80-\u2fdf\u31c0-\u31ef\u3005-\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\U00020000-\U000323af",
    "latin": r"A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "digit": r"0-9",
    "cyrillic": r"\u0400-\u04ff",
    "cjk_punct": r"\u3000-\u3004\u3008-\u3020\u30fb\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    r"\u2010-\u2027\u2030-\u205e\ufe30-\ufe4f",
    "fullwidth_alnum": r"\uff10-\uff19\uff21-\uff3a\uff41-\uff5a",
    "ascii_punct": r"!-/:-@\[-`{-~",
}

_HAN = SCRIPT_RANGES["han"]
_SPACE_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}]) +(?=[{_HAN}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20])")
_SPACE_BEFORE_HAN = re.compile(rf"(?<=[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]) +(?=[{_HAN}])")
_SPACES = re.compile(r"[ \t]+")


def build_keep_pattern(scripts: list[str], extra_chars: str = "") -> re.Pattern[str]:
    """A regex matching every character NOT kept (so `sub(' ', text)` cleans)."""
    unknown = [s for s in scripts if s not in SCRIPT_RANGES]
    if unknown:
        raise ValueError(f"unknown scripts {unknown}; known: {sorted(SCRIPT_RANGES)}")
    ranges = "".join(SCRIPT_RANGES[s] for s in scripts) + re.escape(extra_chars)
    return re.compile(rf"[^{ranges}\s]")


class ScriptCleaner(TextModifier):
    """Config-driven: `keep_scripts` from SCRIPT_RANGES plus `extra_chars`."""

    def __init__(self, keep_scripts: list[str], extra_chars: str = "", name: str = "script_cleaner"):
        self.keep_scripts = list(keep_scripts)
        self.extra_chars = extra_chars
        self.name = name
        self._drop = build_keep_pattern(self.keep_scripts, extra_chars)

    def modify(self, text: str) -> str:
        text = self._drop.sub(" ", text)
        lines = []
        for line in text.split("\n"):
            line = _SPACES.sub(" ", line).strip()
            line = _SPACE_BETWEEN_HAN.sub("", line)
            line = _SPACE_BEFORE_HAN.sub("", line)
            lines.append(line)
        return "\n".join(lines).strip()
