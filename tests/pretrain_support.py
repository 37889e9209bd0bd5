"""Shared pieces of the pretrain tests: a real tiny tokenizer + megatron token files + blend,
and a torchrun-like launcher that starts N real processes of the pretrain job."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.preprocess_support import write_indexed_dataset

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "pretrain" / "tiny.yaml"


def make_tokenizer(out: Path, texts: list[str], vocab_size: int = 384) -> Path:
    """A byte-level BPE trained on the test text (small vocab keeps the tiny model fast)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>")
    tok.save_pretrained(out)
    return out


def make_pretrain_data(root: Path) -> tuple[Path, Path]:
    """(tokenizer dir, blend.json): Cantonese + English replay, train and valid splits."""
    from mothertongue.corpora import cantonese_sentences, english_lines
    from transformers import AutoTokenizer

    yue, en = list(cantonese_sentences()[:3000]), list(english_lines()[:1000])
    tok_dir = make_tokenizer(root / "tokenizer", yue + en)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    for name, texts, n_valid in (("yue", yue, 300), ("en", en, 100)):
        for split, part in (("train", texts[:-n_valid]), ("valid", texts[-n_valid:])):
            write_indexed_dataset(root / f"{name}_{split}", tok, part)
    blend = {
        "format": "mothertongue-blend/1",
        "splits": {"train": [[0.8, "yue_train"], [0.2, "en_train"]], "valid": [[1.0, "yue_valid"]]},
    }
    (root / "blend.json").write_text(json.dumps(blend))
    return tok_dir, root / "blend.json"


# Each test module imports these fixtures, which makes pytest register them once per module;
# the cache keeps the data and the reference run to one build per session.
_SESSION: dict[str, object] = {}


@pytest.fixture(scope="session", name="pretrain_data")
def pretrain_data_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if "data" not in _SESSION:
        _SESSION["data"] = make_pretrain_data(tmp_path_factory.mktemp("pretrain-data"))
    return _SESSION["data"]  # type: ignore[return-value]


def base_overrides(data: tuple[Path, Path], out: Path, **extra) -> list[str]:
    """A random-init tiny Llama on the test blend (fast enough for several processes on 2 cores)."""
    tok_dir, blend = data
    values = {
        "output_dir": out,
        "model.path": "null",
        "model.tokenizer": tok_dir,
        "model.vocab_size": 384,
        "model.hidden_size": 64,
        "model.intermediate_size": 128,
        "model.num_layers": 2,
        "model.num_heads": 4,
        "model.num_kv_heads": 2,
        "data.blend": blend,
        "seq_length": 64,
        "micro_batch_size": 2,
        "global_batch_size": 8,
        "steps": 20,
        "optim.lr": 3e-3,
        "optim.warmup_steps": 4,
        "val_every": 10,
        "val_batches": 1,
        "checkpoint.every": 5,
        "checkpoint.keep_last": 10,
        "fault.spike_at_step": "null",
        "tracking.wandb": "disabled",
        "export_final": False,
        "plot": False,
    }
    values.update(extra)
    return [f"{k}={v}" for k, v in values.items()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(nproc: int, overrides: list[str], log_dir: Path) -> list[subprocess.Popen]:
    """Start `nproc` ranks of `python -m mothertongue.jobs.pretrain` with the env Slurm/torchrun export."""
    port = str(_free_port())
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for rank in range(nproc):
        env = {
            **os.environ,
            "RANK": str(rank),
            "WORLD_SIZE": str(nproc),
            "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(nproc),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "OMP_NUM_THREADS": "1",
            "WANDB_SILENT": "true",
            "PYTHONWARNINGS": "ignore",
        }
        env.pop("SLURM_JOB_ID", None)
        log = open(log_dir / f"rank{rank}.log", "ab")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "mothertongue.jobs.pretrain", str(TINY), *overrides],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        )
    return procs


def wait_all(procs: list[subprocess.Popen], timeout: float, log_dir: Path | None = None) -> list[int]:
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(0.1, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        kill_all(procs)
        logs = "".join(f.read_text()[-3000:] for f in sorted(log_dir.glob("*.log"))) if log_dir else ""
        raise AssertionError(f"pretrain ranks did not finish in {timeout}s\n{logs}") from None


def kill_all(procs: list[subprocess.Popen], sig: int = signal.SIGKILL) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    for p in procs:
        p.wait(timeout=30)


def run_ranks(nproc: int, overrides: list[str], log_dir: Path, timeout: float = 120) -> None:
    codes = wait_all(launch(nproc, overrides, log_dir), timeout, log_dir)
    if any(codes):
        logs = "".join(f.read_text()[-4000:] for f in sorted(log_dir.glob("*.log")))
        raise AssertionError(f"pretrain exit codes {codes}\n{logs}")


def train_losses(out: Path) -> dict[int, float]:
    """Per-step loss of the run as it stands (the last record of each step wins: replays after a rollback)."""
    from mothertongue.io import read_jsonl

    return {
        r["step"]: r["loss"] for r in read_jsonl(out / "metrics.jsonl") if "loss" in r and not r.get("spike")
    }


def events(out: Path, kind: str | None = None) -> list[dict]:
    from mothertongue.io import read_jsonl

    return [e for e in read_jsonl(out / "events.jsonl") if kind is None or e["event"] == kind]


CLEAN_STEPS = 20


@pytest.fixture(scope="session", name="clean_run")
def clean_run_fixture(pretrain_data: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted 2-process FSDP2 run (checkpoints every 5 steps, HF export, plot): the reference."""
    if "clean" not in _SESSION:
        out = tmp_path_factory.mktemp("clean") / "pretrain"
        run_ranks(2, base_overrides(pretrain_data, out, export_final="true", plot="true"), out / "logs")
        _SESSION["clean"] = out
    return _SESSION["clean"]  # type: ignore[return-value]
