"""Sharded, atomic checkpoints with torch.distributed.checkpoint (DCP).

Layout of one checkpoint, `<output_dir>/checkpoints/step-N/`:
    __*_*.distcp, .metadata   DCP shards: {"model": ..., "optim": ..., "extra": {rng}}
    trainer_state.json        step, consumed samples, spike-guard state, W&B run id, mesh
    hf/                       config.json + tokenizer files: rebuild the model with no trainer
    COMPLETE.json             the marker: size and sha256 of every other file

Every rank writes its shards into `.step-N.tmp/`; rank 0 then writes the state, the HF
metadata and the marker and renames the folder. A folder without a marker, or whose files
do not match it (truncated, corrupt), is never loaded: the previous complete one is. DCP
stores tensors by fully qualified name with their global shapes, so a checkpoint loads at
another world size or TP degree (resharding). Keeps the last K plus every M-th step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

from mothertongue.io import atomic_write_json
from mothertongue.train.config import CheckpointConfig
from mothertongue.train.distributed import barrier, broadcast_object

log = logging.getLogger(__name__)
MARKER = "COMPLETE.json"
STATE = "trainer_state.json"
HF_META = "hf"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def write_marker(folder: Path, step: int) -> None:
    files = {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MARKER
    }
    atomic_write_json(folder / MARKER, {"step": step, "files": files})


def verify(folder: Path, checksums: bool = True) -> str | None:
    """Why `folder` is not a complete checkpoint, or None when it is."""
    marker = folder / MARKER
    if not marker.is_file():
        return "no COMPLETE.json marker (unfinished save)"
    try:
        files = json.loads(marker.read_text())["files"]
    except (ValueError, KeyError) as exc:
        return f"unreadable marker: {exc}"
    for rel, meta in files.items():
        p = folder / rel
        if not p.is_file():
            return f"{rel} is missing"
        if p.stat().st_size != meta["size"]:
            return f"{rel} has {p.stat().st_size} bytes, marker says {meta['size']}"
        if checksums and _sha256(p) != meta["sha256"]:
            return f"{rel} checksum mismatch"
    return None


def step_dirs(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
    return sorted(found)


def latest_complete(
    root: Path,
    checksums: bool = True,
    max_step: int | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
) -> Path | None:
    """The newest checkpoint that verifies (single process; the trainer asks rank 0)."""
    for step, path in reversed(step_dirs(root)):
        if max_step is not None and step > max_step:
            continue
        problem = verify(path, checksums)
        if problem is None:
            return path
        log.warning("skipping checkpoint %s: %s", path, problem)
        if on_skip:
            on_skip(path, problem)
    return None


class Checkpointer:
    """Save / find / load the trainer's checkpoints; collective calls run on every rank."""

    def __init__(self, root: Path, cc: CheckpointConfig, is_main: bool):
        self.root, self.cc, self.is_main = root, cc, is_main
        self._pending: tuple | None = None  # (future, tmp, final, step, trainer_state, meta_writer)
        # async saves talk in a background thread: give them their own group, never the training one
        self._async_pg = None
        if cc.async_save and torch.distributed.is_initialized():
            self._async_pg = torch.distributed.new_group(backend="gloo")
        if is_main:
            root.mkdir(parents=True, exist_ok=True)
            for stale in root.glob(".step-*.tmp"):  # a crashed attempt's unfinished save
                shutil.rmtree(stale, ignore_errors=True)
        barrier()

    # -- save ------------------------------------------------------------------------------
    def save(
        self,
        step: int,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        trainer_state: dict,
        meta_writer: Callable[[Path], None],
    ) -> None:
        self.wait()
        tmp, final = self.root / f".step-{step}.tmp", self.root / f"step-{step}"
        if self.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
        barrier()
        msd, osd = get_state_dict(model, optimizer)
        state = {"model": msd, "optim": osd, "extra": {"cpu_rng": torch.get_rng_state()}}
        if self.cc.async_save:
            future = dcp.async_save(state, checkpoint_id=str(tmp), process_group=self._async_pg)
            self._pending = (future, tmp, final, step, trainer_state, meta_writer)
        else:
            dcp.save(state, checkpoint_id=str(tmp))
            self._finish(tmp, final, step, trainer_state, meta_writer)

    def wait(self) -> None:
        """Complete an asynchronous save (marker + rename) before anything reads the folder."""
        if self._pending is None:
            return
        future, *rest = self._pending
        self._pending = None
        done = getattr(future, "upload_completion", future)
        done.result()
        self._finish(*rest)

    def _finish(self, tmp: Path, final: Path, step: int, trainer_state: dict, meta_writer) -> None:
        barrier()  # every rank's shards are on disk
        if self.is_main:
            atomic_write_json(tmp / STATE, trainer_state)
            meta_writer(tmp / HF_META)
            write_marker(tmp, step)
            if final.exists():  # re-saving a step after a rollback
                shutil.rmtree(final)
            os.replace(tmp, final)
            self.prune()
        barrier()

    def prune(self) -> None:
        steps = [s for s, _ in step_dirs(self.root) if (self.root / f"step-{s}" / MARKER).is_file()]
        keep = set(steps[-self.cc.keep_last :]) if self.cc.keep_last > 0 else set(steps)
        if self.cc.keep_every > 0:
            keep |= {s for s in steps if s % self.cc.keep_every == 0}
        for s in steps:
            if s not in keep:
                shutil.rmtree(self.root / f"step-{s}", ignore_errors=True)

    # -- load ------------------------------------------------------------------------------
    def find(
        self, max_step: int | None = None, on_skip: Callable[[Path, str], None] | None = None
    ) -> Path | None:
        """Rank 0 picks the newest complete checkpoint; every rank gets the same answer."""
        self.wait()
        found = (
            latest_complete(self.root, self.cc.verify_checksums, max_step, on_skip) if self.is_main else None
        )
        found = broadcast_object(str(found) if found else None)
        return Path(found) if found else None

    def load(self, path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
        msd, osd = get_state_dict(model, optimizer)
        state = {"model": msd, "optim": osd, "extra": {"cpu_rng": torch.get_rng_state()}}
        dcp.load(state, checkpoint_id=str(path))
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
        torch.set_rng_state(state["extra"]["cpu_rng"])
        return json.loads((path / STATE).read_text())


def load_model_from_checkpoint(
    checkpoint_dir: str | os.PathLike, dtype: torch.dtype = torch.float32
) -> nn.Module:
    """The HF causal LM of one checkpoint, on CPU, in a single process (no process group)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = Path(checkpoint_dir)
    problem = verify(folder, checksums=False)
    if problem:
        raise ValueError(f"{folder} is not a complete checkpoint: {problem}")
    config = AutoConfig.from_pretrained(str(folder / HF_META), trust_remote_code=False)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    sd = model.state_dict()
    wanted = {"model": {k: v for k, v in sd.items()}}
    dcp.load(wanted, checkpoint_id=str(folder), no_dist=True)
    model.load_state_dict(wanted["model"])
    return model.to(dtype).eval()
