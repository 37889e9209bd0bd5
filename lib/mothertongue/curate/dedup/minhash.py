"""CPU dedup in two steps, the way Curator's GPU fuzzy dedup splits it.

1. `DedupSignatures` (parallel, per batch): a normalised-text hash for exact dedup and a MinHash
   signature over *character* n-grams.  Word 5-gram MinHash sees nothing in a 12-character
   Cantonese sentence; character 5-grams do.
2. `DuplicateResolver` (global, once over all signatures): exact groups first, then LSH bands
   propose candidate pairs, each verified against the true n-gram Jaccard; union-find builds
   clusters, the first document of a cluster is kept and the rest are dropped with the id of
   the document they duplicate.  Every kept document gets a `dedup_cluster` id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections import defaultdict

import numpy as np
import pandas as pd

from mothertongue.curate.base import CurateStep
from mothertongue.curate.config import DedupConfig

_PRIME = np.uint64(4294967291)  # largest prime below 2**32: a*h + b stays inside uint64
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def char_shingles(text: str, n: int) -> set[str]:
    t = normalise(text)
    if len(t) <= n:
        return {t} if t else set()
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, int(_PRIME), size=num_perm, dtype=np.uint64)
    b = rng.integers(0, int(_PRIME), size=num_perm, dtype=np.uint64)
    return a, b


def minhash(shingles: set[str], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    h = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles))
    return ((np.outer(h, a) + b) % _PRIME).min(axis=0).astype(np.uint32)


class DedupSignatures(CurateStep):
    """Adds `exact_hash` and `minhash` (list of uint32) to live rows; never drops."""

    def __init__(self, cfg: DedupConfig, name: str = "dedup_signatures"):
        self.cfg, self.name = cfg, name
        self._a, self._b = _permutations(cfg.num_perm, cfg.seed)

    def apply(self, df: pd.DataFrame, live: pd.Series) -> None:
        texts = df.loc[live, "text"]
        df["exact_hash"] = df.get("exact_hash", pd.Series([""] * len(df), index=df.index, dtype=object))
        df.loc[live, "exact_hash"] = [hashlib.md5(normalise(t).encode()).hexdigest() for t in texts]
        sigs: list[list[int] | None] = []
        for t in texts:
            sh = char_shingles(t, self.cfg.ngram)
            use = self.cfg.fuzzy and len(normalise(t)) >= self.cfg.min_chars and sh
            sigs.append(minhash(sh, self._a, self._b).tolist() if use else None)
        col = pd.Series([None] * len(df), index=df.index, dtype=object)
        col.loc[texts.index] = pd.Series(sigs, index=texts.index, dtype=object)
        df["minhash"] = col


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self.parent[max(rx, ry)] = min(rx, ry)  # the earliest document stays the representative


class DuplicateResolver(CurateStep):
    """Global step over ALL rows of a dataset (run once on the concatenated batch)."""

    def __init__(self, cfg: DedupConfig, name: str = "dedup"):
        self.cfg, self.name = cfg, name

    def apply(self, df: pd.DataFrame, live: pd.Series) -> None:
        idx = list(df.index[live])
        pos = {i: k for k, i in enumerate(idx)}
        ids = df.loc[idx, "id"].tolist()
        texts = df.loc[idx, "text"].tolist()
        uf = _UnionFind(len(idx))
        reason: dict[int, tuple[str, str]] = {}
        if self.cfg.exact:
            first: dict[str, int] = {}
            for i, h in zip(idx, df.loc[idx, "exact_hash"], strict=True):
                k = pos[i]
                if h in first:
                    uf.union(first[h], k)
                    reason[k] = ("exact_dedup", f"exact duplicate of {ids[first[h]]}")
                else:
                    first[h] = k
        if self.cfg.fuzzy:
            rows = self.cfg.num_perm // self.cfg.bands
            buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
            for i, sig in zip(idx, df.loc[idx, "minhash"], strict=True):
                if sig is None or pos[i] in reason:
                    continue
                arr = np.asarray(sig, dtype=np.uint32)
                for band in range(self.cfg.bands):
                    buckets[(band, arr[band * rows : (band + 1) * rows].tobytes())].append(pos[i])
            shingles: dict[int, set[str]] = {}

            def sh(k: int) -> set[str]:
                if k not in shingles:
                    shingles[k] = char_shingles(texts[k], self.cfg.ngram)
                return shingles[k]

            for members in buckets.values():
                if len(members) < 2:
                    continue
                head = members[0]
                for k in members[1:]:
                    if uf.find(k) == uf.find(head):
                        continue
                    sim = jaccard(sh(head), sh(k))
                    if sim >= self.cfg.jaccard_threshold:
                        uf.union(head, k)
                        if k not in reason:
                            reason[k] = ("fuzzy_dedup", f"near-duplicate of {ids[head]} (jaccard={sim:.2f})")
        clusters = [ids[uf.find(k)] for k in range(len(idx))]
        df["dedup_cluster"] = df.get("dedup_cluster", pd.Series([""] * len(df), index=df.index, dtype=object))
        df.loc[idx, "dedup_cluster"] = clusters
        for k, (step, why) in reason.items():
            df.loc[idx[k], "dropped_by"] = step
            df.loc[idx[k], "drop_reason"] = why
