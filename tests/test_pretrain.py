"""The pretrain job trains a tiny Llama with real torch.distributed (gloo) processes:
FSDP2, TP with sequence-parallel norms, and FSDP2 x TP; outputs are what the pipeline reads."""

from __future__ import annotations

from pathlib import Path

import torch
from mothertongue.io import read_jsonl
from mothertongue.train.export import load_model_from_checkpoint
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.pretrain_support import (
    CLEAN_STEPS,
    base_overrides,
    events,
    run_ranks,
    train_losses,
)


def _assert_learns(losses: dict[int, float], steps: int, drop: float) -> None:
    assert sorted(losses) == list(range(1, steps + 1))
    first = sum(losses[s] for s in (1, 2, 3)) / 3
    last = sum(losses[s] for s in (steps - 2, steps - 1, steps)) / 3
    assert last < first - drop, f"loss did not drop by {drop}: {first:.3f} -> {last:.3f}"


def test_fsdp2_run_learns_and_writes_every_output(clean_run: Path) -> None:
    losses = train_losses(clean_run)
    _assert_learns(losses, CLEAN_STEPS, drop=0.5)
    metrics = [m for m in read_jsonl(clean_run / "metrics.jsonl") if "loss" in m]
    for key in (
        "step",
        "loss",
        "lr",
        "grad_norm",
        "tokens_per_s",
        "step_time_s",
        "tflops_per_device",
        "memory_gb",
    ):
        assert key in metrics[-1], key
    assert [m["step"] for m in read_jsonl(clean_run / "metrics.jsonl") if "val_loss" in m] == [10, 20]
    assert [e["event"] for e in events(clean_run)][0] == "start"
    assert events(clean_run)[-1]["event"] == "finished"
    ckpts = sorted(p.name for p in (clean_run / "checkpoints").iterdir())
    assert ckpts == ["step-10", "step-15", "step-20", "step-5"]
    assert (clean_run / "loss.png").stat().st_size > 10_000


def test_exported_model_loads_with_transformers_and_generates(clean_run: Path) -> None:
    final = clean_run / "final"
    model = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(final)
    ids = tok("我哋今日", return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tok.eos_token_id)
    assert out.shape[1] == ids.shape[1] + 8
    # the export is the last checkpoint's weights (bf16 copy of the fp32 master weights)
    from_ckpt = load_model_from_checkpoint(clean_run / "checkpoints" / f"step-{CLEAN_STEPS}")
    with torch.no_grad():
        a, b = model(ids).logits, from_ckpt(ids).logits
    assert torch.allclose(a, b, atol=0.05), (a - b).abs().max()


def test_tensor_parallel_with_sequence_parallel_norms_learns(pretrain_data, tmp_path: Path) -> None:
    out = tmp_path / "pretrain"
    run_ranks(
        2,
        base_overrides(pretrain_data, out, **{"parallel.tp": 2, "steps": 12, "checkpoint.every": 100}),
        out / "logs",
    )
    _assert_learns(train_losses(out), 12, drop=0.3)
    state = (out / "checkpoints" / "step-12" / "trainer_state.json").read_text()
    assert '"tp": 2' in state and '"dp_shard": 1' in state


def test_fsdp2_times_tp_on_four_processes_learns(pretrain_data, tmp_path: Path) -> None:
    out = tmp_path / "pretrain"
    overrides = base_overrides(pretrain_data, out, **{"parallel.tp": 2, "steps": 10, "checkpoint.every": 100})
    run_ranks(4, overrides, out / "logs", timeout=180)
    _assert_learns(train_losses(out), 10, drop=0.2)
    assert '"dp_shard": 2' in (out / "checkpoints" / "step-10" / "trainer_state.json").read_text()


def test_new_embedding_rows_only_phase_freezes_everything_else(pretrain_data, tmp_path: Path) -> None:
    """Phase 1 after vocabulary extension: rows >= base_vocab_size learn, the base model does not."""
    from mothertongue.train.config import ModelConfig
    from mothertongue.train.model import build_model

    out = tmp_path / "pretrain"
    extra = {"steps": 3, "optim.new_embeddings_only_steps": 3, "model.base_vocab_size": 300, "val_every": 0}
    run_ranks(2, base_overrides(pretrain_data, out, **extra), out / "logs")
    before = build_model(
        ModelConfig(
            vocab_size=384, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2
        ),
        seed=1234,
    ).state_dict()
    after = load_model_from_checkpoint(out / "checkpoints" / "step-3").state_dict()
    for name, weight in after.items():
        if name in ("model.embed_tokens.weight", "lm_head.weight"):
            assert torch.equal(weight[:300], before[name][:300]), name
            assert not torch.equal(weight[300:], before[name][300:]), name
        else:
            assert torch.equal(weight, before[name]), name


def test_continued_pretraining_from_an_hf_directory_starts_where_the_base_ended(
    pretrain_data, clean_run: Path, tmp_path: Path
) -> None:
    """Rank 0 reads the base weights, the others build on the meta device and receive shards (TP here)."""
    out = tmp_path / "pretrain"
    extra = {"model.path": clean_run / "final", "parallel.tp": 2, "steps": 4, "val_every": 0}
    run_ranks(2, base_overrides(pretrain_data, out, **extra), out / "logs")
    losses, clean = train_losses(out), train_losses(clean_run)
    assert losses[1] < clean[1] - 0.5  # not a random init
    assert abs(losses[1] - clean[CLEAN_STEPS]) < 0.15  # the base's own loss level (bf16 export)


def test_job_validate_names_the_key_of_an_impossible_config(pretrain_data, tmp_path: Path) -> None:
    import pytest
    from mothertongue.config import ConfigError, load_config
    from mothertongue.jobs import pretrain

    tok_dir, blend = pretrain_data
    base = [f"output_dir={tmp_path}", f"data.blend={blend}", f"model.tokenizer={tok_dir}"]
    for name in ("tiny", "llama-1b-1xh100", "llama-7b-8xh100"):
        pretrain.validate(load_config(pretrain.Config, f"configs/pretrain/{name}.yaml", base))
    bad = {
        "global_batch_size": ["global_batch_size=12"],  # 12 not divisible by 8 x 2 ranks
        "parallel": ["parallel.tp=3"],
        "spike.policy": ["spike.policy=ignore"],
        "model.base_vocab_size": ["optim.new_embeddings_only_steps=5"],
    }
    for key, overrides in bad.items():
        cfg = load_config(pretrain.Config, "configs/pretrain/tiny.yaml", base + overrides)
        with pytest.raises(ConfigError) as err:
            pretrain.validate(cfg)
        assert err.value.key == key
