"""Typed config of the pretrain job: one dataclass per concern, like torchtitan's job config.

Every number that changes results lives here (and so in the stage manifest); `resources`
only says what to ask Slurm for. Defaults are the realistic GPU ones (bf16, seq 4096); the
`configs/pretrain/tiny.yaml` file shrinks them for CPU demos and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from mothertongue.config import ConfigError, Resources, input_path


@dataclass
class ModelConfig:
    """A local HF causal-LM directory (or .gguf / `asset:` path), or random init when `path` is unset."""

    path: str | None = input_path(None, optional=True)
    tokenizer: str | None = input_path(None, optional=True)  # defaults to `path`
    # random-init architecture (Llama) when `path` is None
    vocab_size: int = 512
    hidden_size: int = 64
    intermediate_size: int = 176
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    rope_theta: float = 10000.0
    max_position_embeddings: int = 4096
    attn_implementation: str = "sdpa"  # sdpa (flash backend on GPU) | flash_attention_2 | eager
    master_dtype: str = "float32"  # dtype of the sharded parameters the optimizer updates
    # pretrained + several ranks: rank 0 reads the weights, the others build on the meta device
    init_on_meta: bool = True
    # vocabulary extension: rows below this are the base model's own
    base_vocab_size: int | None = None


@dataclass
class ParallelConfig:
    """Mesh (dp_replicate, dp_shard, tp); dp_shard=-1 takes what is left of the world."""

    dp_replicate: int = 1  # >1 = HSDP: replicate across this many groups (usually nodes)
    dp_shard: int = -1
    tp: int = 1
    sequence_parallel: bool = True
    param_dtype: str = "bfloat16"  # compute dtype; CPU runs may set float32
    reduce_dtype: str = "float32"  # gradient reduce-scatter dtype
    reshard_after_forward: bool = True
    activation_checkpoint: str = "none"  # none | full | selective (every `ac_every` layer)
    ac_every: int = 2
    compile: bool = False


@dataclass
class DataConfig:
    blend: str | None = input_path(None, optional=True)  # <run>/data/blend.json
    cache_dir: str | None = None  # defaults to <output_dir>/data_cache
    eod_mask_loss: bool = False


@dataclass
class OptimConfig:
    lr: float = 3e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0
    # optional first phase after vocabulary extension: only the new embedding rows train
    new_embeddings_only_steps: int = 0


@dataclass
class CheckpointConfig:
    every: int = 500
    keep_last: int = 2
    keep_every: int = 0  # also keep every M-th step (0 = none)
    async_save: bool = False
    verify_checksums: bool = True  # sha256 of every file against the marker before loading
    resume: bool = True
    save_final: bool = True  # checkpoint at the last step (the export reads it)


@dataclass
class SpikeConfig:
    """Loss-spike guard; see `spike_guard.py`."""

    enabled: bool = True
    window: int = 32  # rolling window of good steps
    min_history: int = 8  # no sigma check before this many good steps
    sigma: float = 6.0  # loss > mean + sigma * std
    min_rel_increase: float = 0.1  # ... and > mean * (1 + this): ignores noise on flat curves
    grad_sigma: float = 10.0  # grad norm > mean + grad_sigma * std (0 = off)
    policy: str = "rollback"  # skip | rollback
    skip_batches: int = 1  # rollback skips this many global batches from the offending one
    lr_factor: float = 0.5  # LR multiplier after a rollback ...
    lr_cooldown_steps: int = 0  # ... for this many steps (0 = keep LR)
    max_rollbacks: int = 3
    max_skips: int = 10


@dataclass
class FaultConfig:
    """Fault injection for tests and demos; fires once per run, across rollbacks and requeues."""

    spike_at_step: int | None = None
    kind: str = "scale_loss"  # scale_loss | corrupt_batch
    scale: float = 20.0
    preempt_at_step: int | None = None  # act as if USR2 arrived at this step (once)
    step_delay_s: float = 0.0  # a slow node: sleep after every step (lets tests kill mid-run)


@dataclass
class TrackingConfig:
    wandb: str = "offline"  # offline | online (needs WANDB_API_KEY in the environment) | disabled
    project: str = "mothertongue"
    run_name: str | None = None
    log_every: int = 1


@dataclass
class PretrainConfig:
    output_dir: str = MISSING
    resources: Resources = field(default_factory=Resources)
    model: ModelConfig = field(default_factory=ModelConfig)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    spike: SpikeConfig = field(default_factory=SpikeConfig)
    fault: FaultConfig = field(default_factory=FaultConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    steps: int = 1000
    seq_length: int = 4096
    micro_batch_size: int = 1
    global_batch_size: int = 8  # sequences per optimizer step, across all data-parallel ranks
    seed: int = 1234
    val_every: int = 200
    val_batches: int = 4  # global batches of the valid split per evaluation
    device: str = "auto"  # auto | cpu | cuda
    export_final: bool = True
    plot: bool = True


_DTYPES = ("float32", "bfloat16", "float16")


def check_config(cfg: PretrainConfig, world_size: int | None = None) -> None:
    """Impossible combinations fail on the login node, naming the key."""
    p = cfg.parallel
    for key, value in (
        ("parallel.param_dtype", p.param_dtype),
        ("parallel.reduce_dtype", p.reduce_dtype),
        ("model.master_dtype", cfg.model.master_dtype),
    ):
        if value not in _DTYPES:
            raise ConfigError(key, f"{value!r} is not one of {_DTYPES}")
    if p.activation_checkpoint not in ("none", "full", "selective"):
        raise ConfigError("parallel.activation_checkpoint", "choose none, full or selective")
    if cfg.spike.policy not in ("skip", "rollback"):
        raise ConfigError("spike.policy", "choose skip or rollback")
    if cfg.fault.kind not in ("scale_loss", "corrupt_batch"):
        raise ConfigError("fault.kind", "choose scale_loss or corrupt_batch")
    if cfg.tracking.wandb not in ("offline", "online", "disabled"):
        raise ConfigError("tracking.wandb", "choose offline, online or disabled")
    if cfg.data.blend is None:
        raise ConfigError("data.blend", "the pretrain job needs the preprocess job's blend.json")
    if cfg.model.path is None and cfg.model.tokenizer is None:
        raise ConfigError("model.tokenizer", "a random-init model still needs a tokenizer directory")
    if cfg.optim.new_embeddings_only_steps and cfg.model.base_vocab_size is None:
        raise ConfigError("model.base_vocab_size", "needed when optim.new_embeddings_only_steps > 0")
    if cfg.steps <= 0:
        raise ConfigError("steps", "must be positive")
    if cfg.global_batch_size % cfg.micro_batch_size:
        raise ConfigError("global_batch_size", "must be a multiple of micro_batch_size")
    if world_size is not None:
        dp = world_size // (p.tp * p.dp_replicate) if p.dp_shard == -1 else p.dp_shard
        if dp < 1 or p.dp_replicate * dp * p.tp != world_size:
            raise ConfigError(
                "parallel",
                f"dp_replicate={p.dp_replicate} x dp_shard={p.dp_shard} x tp={p.tp} "
                f"does not match {world_size} processes",
            )
        if cfg.global_batch_size % (cfg.micro_batch_size * dp * p.dp_replicate):
            raise ConfigError(
                "global_batch_size",
                f"{cfg.global_batch_size} is not divisible by micro_batch_size "
                f"x data-parallel size ({cfg.micro_batch_size} x {dp * p.dp_replicate})",
            )
