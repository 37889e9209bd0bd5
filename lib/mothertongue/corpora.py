"""Real text that ships with the project or its dependencies (for demos, tests, probes).

Nothing here downloads: Cantonese comes from the pycantonese wheel (CTCPC, CC0; HKCanCor,
CC BY 4.0, Luke & Wong 2015), the rest from `mothertongue/assets/` (licences beside each file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

ASSETS = Path(str(resources.files("mothertongue") / "assets"))


def asset_path(relative: str) -> Path:
    path = ASSETS / relative
    if not path.exists():
        raise FileNotFoundError(f"shipped asset {relative} is missing from {ASSETS}")
    return path


@cache
def cantonese_sentences(corpus: str = "ctcpc") -> tuple[str, ...]:
    """Written (CTCPC, 121k sentences) or conversational (HKCanCor, 16k utterances) Cantonese."""
    if corpus == "ctcpc":
        path = Path(str(resources.files("pycantonese") / "data" / "ctcpc" / "sents.json"))
        sents = json.loads(path.read_text(encoding="utf-8"))
    elif corpus == "hkcancor":
        import pycantonese

        sents = ["".join(words) for words in pycantonese.hkcancor().words(by_utterance=True)]
    else:
        raise ValueError(f"unknown Cantonese corpus {corpus!r}; choose ctcpc or hkcancor")
    return tuple(s.strip() for s in sents if s.strip())


@cache
def english_lines() -> tuple[str, ...]:
    """The King James Bible (public domain), one verse line each: English replay and forgetting."""
    text = asset_path("english/kjv.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@cache
def standard_chinese_sentences() -> tuple[str, ...]:
    """2,000 Standard Written Chinese sentences, Traditional script (UD GSD + PUD, CC BY-SA)."""
    lines: list[str] = []
    for name in ("chinese/ud_gsd_swc_sents.txt", "chinese/ud_pud_swc_sents.txt"):
        lines += [s.strip() for s in asset_path(name).read_text(encoding="utf-8").splitlines() if s.strip()]
    return tuple(lines)


@cache
def ud_hk_pairs() -> tuple[tuple[str, str], ...]:
    """1,004 aligned (Cantonese, Standard Written Chinese) pairs (UD-HK, CC BY-SA 4.0): evaluation only."""
    yue = asset_path("parallel/ud_hk.yue").read_text(encoding="utf-8").splitlines()
    zh = asset_path("parallel/ud_hk.zh").read_text(encoding="utf-8").splitlines()
    return tuple(zip(yue, zh, strict=True))


def heldout_split(texts: Sequence[str], n_heldout: int) -> tuple[list[str], list[str]]:
    """(train, heldout): held-out = the n distinct texts with the largest sha1, so the choice does
    not depend on corpus order. Evaluation scores the held-out; curation excludes exactly it."""
    unique = sorted(set(texts), key=lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest())
    heldout = unique[len(unique) - n_heldout :] if n_heldout else []
    held = set(heldout)
    return [t for t in texts if t not in held], heldout
