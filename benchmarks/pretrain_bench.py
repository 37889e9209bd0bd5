"""Pretrain throughput: tokens/s per device and MFU of the real trainer (FSDP2, bf16, SDPA).

GPU (the number that matters; run it on one H100):
    python benchmarks/pretrain_bench.py --model 1b --seq 4096 --micro-batch 2 --steps 30
CPU smoke run (checks the script, numbers meaningless):
    python benchmarks/pretrain_bench.py --tiny --steps 8

The model is a Llama-3.2-1B-shaped Llama (hidden 2048, 16 layers, 32 heads / 8 KV heads,
MLP 8192, vocab 128,256; 1.24 B parameters) with random weights, trained through the same
`Trainer` the pretrain job uses, on random tokens written as a real megatron-core dataset.
Reported: the median over steps after warm-up. MFU counts 6N + attention FLOPs per token
(torchtitan's formula) against the dense bf16 peak of the device (989 TFLOP/s for H100 SXM).
References, side by side as ratios: torchtitan Llama 3.1 8B FSDP bf16 on 8 x H100 (power-
capped) 33-39% MFU; Megatron-LM 41-47%; our aim >= 45%.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

REFERENCE_MFU = {
    "torchtitan Llama3-8B FSDP bf16 (H100, published)": 0.36,
    "Megatron-LM (published, small)": 0.41,
    "mothertongue aim": 0.45,
}
SIZES = {
    "1b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_layers": 16,
        "num_heads": 32,
        "num_kv_heads": 8,
        "vocab_size": 128256,
        "rope_theta": 500000.0,
    },
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 176,
        "num_layers": 2,
        "num_heads": 4,
        "num_kv_heads": 2,
        "vocab_size": 512,
    },
}


def make_data(root: Path, vocab: int, tokens: int, seed: int = 0) -> Path:
    """Random-token documents as a megatron-core dataset plus a minimal tokenizer for EOD."""
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["benchmark text only"] * 10, vocab_size=260, special_tokens=["<|endoftext|>"])
    PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>").save_pretrained(
        root / "tok"
    )
    rng = np.random.default_rng(seed)
    builder = IndexedDatasetBuilder(str(root / "rand.bin"), dtype=np.int32)
    doc = 8192
    for _ in range(max(1, tokens // doc)):
        builder.add_document(rng.integers(0, vocab, doc, dtype=np.int32), [doc])
    builder.finalize(str(root / "rand.idx"))
    (root / "blend.json").write_text(json.dumps({"splits": {"train": [[1.0, "rand"]]}}))
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(SIZES), default="1b")
    ap.add_argument("--tiny", action="store_true", help="CPU smoke run: tiny model, seq 128, fp32")
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--micro-batch", type=int, default=2)
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5, help="steps left out of the median")
    ap.add_argument("--ac", choices=["none", "full", "selective"], default="none")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the run folder here")
    args = ap.parse_args()
    if args.tiny:
        args.model, args.seq = "tiny", min(args.seq, 128)

    from mothertongue.config import load_config
    from mothertongue.train.config import PretrainConfig
    from mothertongue.train.trainer import Trainer

    world = int(os.environ.get("WORLD_SIZE", "1"))
    work = Path(tempfile.mkdtemp(prefix="mt-bench-"))
    out = args.out or work / "run"
    size = SIZES[args.model]
    dp = world // args.tp
    gb = args.micro_batch * args.grad_accum * dp
    data = make_data(work, size["vocab_size"], tokens=(args.steps + 4) * gb * (args.seq + 1) * 2)
    overrides = [f"model.{k}={v}" for k, v in size.items()] + [
        f"output_dir={out}",
        "model.path=null",
        f"model.tokenizer={data / 'tok'}",
        f"data.blend={data / 'blend.json'}",
        f"seq_length={args.seq}",
        f"micro_batch_size={args.micro_batch}",
        f"global_batch_size={gb}",
        f"steps={args.steps}",
        "val_every=0",
        f"checkpoint.every={10**9}",
        "checkpoint.resume=false",
        "checkpoint.save_final=false",
        "spike.enabled=false",
        "tracking.wandb=disabled",
        "optim.warmup_steps=2",
        f"parallel.tp={args.tp}",
        f"parallel.activation_checkpoint={args.ac}",
        f"parallel.compile={str(args.compile).lower()}",
        "export_final=false",
        "plot=false",
        f"model.max_position_embeddings={max(4096, args.seq)}",
    ]
    if args.tiny:
        overrides += ["parallel.param_dtype=float32", "device=cpu"]
    else:
        overrides += ["model.attn_implementation=sdpa"]
    cfg = load_config(PretrainConfig, None, overrides)
    trainer = Trainer(cfg)
    try:
        trainer.train()
    finally:
        trainer.close()
    if int(os.environ.get("RANK", "0")) != 0:
        return
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "tokens_per_s" in r][args.warmup :]
    tps = statistics.median(r["tokens_per_s_per_device"] for r in rows)
    tflops = statistics.median(r["tflops_per_device"] for r in rows)
    mfu = statistics.median(r["mfu"] for r in rows) if "mfu" in rows[0] else None
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    result = {
        "device": device,
        "world_size": world,
        "model": args.model,
        "params": trainer.n_params,
        "seq": args.seq,
        "micro_batch": args.micro_batch,
        "global_batch": gb,
        "ac": args.ac,
        "compile": args.compile,
        "tp": args.tp,
        "steps_timed": len(rows),
        "tokens_per_s_per_device": round(tps, 1),
        "tflops_per_device": round(tflops, 2),
        "mfu": round(mfu, 4) if mfu is not None else None,
        "peak_memory_gb": round(max(r.get("memory_gb", 0) for r in rows), 2),
        "command": " ".join([sys.executable, *sys.argv]),
    }
    print(json.dumps(result, indent=2))
    if mfu is not None:
        for name, ref in REFERENCE_MFU.items():
            print(f"MFU ratio vs {name} ({ref:.0%}): {mfu / ref:.2f}")
    else:
        print("no MFU on this device (no bf16 peak known): run on a GPU for the real number")


if __name__ == "__main__":
    main()
