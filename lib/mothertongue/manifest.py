"""One manifest writer: every stage finishes with `manifest.json` (inputs with fingerprints,
config, versions, counts, outputs). A stage whose manifest matches its inputs and config is
done and is skipped on resubmission."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from mothertongue.config import input_paths, to_dict
from mothertongue.io import atomic_write_json

MANIFEST = "manifest.json"
_FULL_HASH_LIMIT = 64 << 20  # larger files are fingerprinted by size, mtime and their ends
_VERSIONED = ("mothertongue", "torch", "megatron-core", "nemo-curator", "transformers", "tokenizers")


def fingerprint(path: str | Path) -> str:
    """Content fingerprint of a file or folder (sha256; cheap head/tail form for large files)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
            h.update(str(child.relative_to(path)).encode())
            h.update(fingerprint(child).encode())
        return h.hexdigest()
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= _FULL_HASH_LIMIT:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            h.update(f"{size}:{path.stat().st_mtime_ns}".encode())
            h.update(f.read(1 << 20))
            f.seek(-(1 << 20), 2)
            h.update(f.read())
    return h.hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    """Hash of the parts of a config that change results (resources do not)."""
    relevant = {k: v for k, v in config.items() if k not in ("resources",)}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def input_fingerprints(cfg: Any) -> dict[str, str]:
    return {str(p): fingerprint(p) for paths in input_paths(cfg).values() for p in paths if p.exists()}


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def write_manifest(
    stage_dir: str | Path, cfg: Any, result: dict[str, Any] | None = None, **extra: Any
) -> Path:
    """Record a finished stage. `result` is what the job returned (counts, outputs, ...)."""
    config = to_dict(cfg)
    manifest = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": config,
        "config_hash": config_hash(config),
        "inputs": input_fingerprints(cfg),
        "versions": versions(),
        "result": result or {},
        **extra,
    }
    return atomic_write_json(Path(stage_dir) / MANIFEST, manifest)


def read_manifest(stage_dir: str | Path) -> dict[str, Any] | None:
    path = Path(stage_dir) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def stale_reason(stage_dir: str | Path, cfg: Any) -> str | None:
    """Why a stage must run again (None: its manifest matches its config and inputs)."""
    manifest = read_manifest(stage_dir)
    if manifest is None:
        return "no manifest yet"
    if manifest["config_hash"] != config_hash(to_dict(cfg)):
        old, new = manifest["config"], to_dict(cfg)
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k) and k != "resources")
        return f"config changed ({', '.join(changed)})"
    now = input_fingerprints(cfg)
    changed = sorted(p for p in set(now) | set(manifest["inputs"]) if now.get(p) != manifest["inputs"].get(p))
    return f"inputs changed ({', '.join(changed)})" if changed else None


def manifest_matches(stage_dir: str | Path, cfg: Any) -> bool:
    """True when the stage finished before with the same config and unchanged inputs."""
    return stale_reason(stage_dir, cfg) is None
