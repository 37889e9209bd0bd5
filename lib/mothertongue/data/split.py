"""Deterministic train / valid / test assignment by document.

A document's split is a function of its id (or its text when it has none) and a salt, so it
does not change when shards are re-ordered, re-chunked or processed by more workers, and the
same document never lands in two splits within a run.
"""

from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("train", "valid", "test")
_SCALE = float(1 << 64)


def split_bounds(train: float, valid: float, test: float) -> tuple[float, float]:
    """Cumulative upper bounds of train and valid in [0, 1) (test takes the rest)."""
    total = train + valid + test
    if min(train, valid, test) < 0 or total <= 0:
        raise ValueError(f"split fractions must be >= 0 and not all 0, got {train}/{valid}/{test}")
    return train / total, (train + valid) / total


def assign_splits(keys: list[str], salt: str, bounds: tuple[float, float]) -> np.ndarray:
    """Split index (0 train, 1 valid, 2 test) per key: blake2b(key, salt) as a uniform in [0, 1)."""
    salt_bytes = salt.encode()[:16]
    u = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8, salt=salt_bytes).digest(), "little")
            / _SCALE
            for k in keys
        ),
        dtype=np.float64,
        count=len(keys),
    )
    return (u >= bounds[0]).astype(np.int8) + (u >= bounds[1]).astype(np.int8)
