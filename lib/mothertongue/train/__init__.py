"""Continued pretraining: FSDP2 + DTensor TP on Hugging Face Llama-family models.

One concern per module, read in this order:
    config.py       the typed job config (PretrainConfig) and its login-node checks
    distributed.py  process group + (dp_replicate, dp_shard, tp) device mesh from the env
    model.py        HF causal LM from a local dir (or random init), meta-device loading
    parallelize.py  TP plan with sequence-parallel norms, activation checkpointing, FSDP2
    data.py         batches by sample index from the preprocess job's megatron blend
    lr.py           warmup + cosine, a pure function of the step
    spike_guard.py  loss-spike detection, skip / roll back + skip data, bounded retries
    checkpoint.py   atomic DCP checkpoints with a checksum marker, resharding on resume
    tracking.py     metrics.jsonl, events.jsonl, W&B (offline unless configured online)
    trainer.py      the loop that wires them together
    export.py       checkpoint -> HF safetensors dir;  plot.py: loss curves to PNG
"""
