"""Apply TP, activation checkpointing, compile and FSDP2 to an HF Llama-family model.

The order follows torchtitan's `parallelize_llama`: tensor parallel first (DTensor plan with
sequence-parallel norms), then activation checkpointing and compile per decoder layer, then
FSDP2 `fully_shard` per layer, embeddings and head, and the root. Module names are the HF
Llama layout (`model.embed_tokens`, `model.layers.N.self_attn.q_proj`, ...), which Mistral
and Qwen2 share.
"""

from __future__ import annotations

from torch import nn
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import Replicate, Shard
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    PrepareModuleInput,
    RowwiseParallel,
    SequenceParallel,
    parallelize_module,
)

from mothertongue.train.config import ParallelConfig
from mothertongue.train.distributed import Dist
from mothertongue.train.model import DTYPES


def parallelize(model: nn.Module, pc: ParallelConfig, d: Dist) -> nn.Module:
    if d.tp > 1:
        apply_tp(model, d, sequence_parallel=pc.sequence_parallel)
    if pc.activation_checkpoint != "none":
        apply_ac(model, every=1 if pc.activation_checkpoint == "full" else pc.ac_every)
    if pc.compile:
        for layer in model.model.layers:
            layer.compile()  # in place: parameter names (and so checkpoints) do not change
    apply_fsdp(model, d, pc)
    return model


def apply_tp(model: nn.Module, d: Dist, sequence_parallel: bool = True) -> None:
    """Megatron-style TP: column-parallel q/k/v and gate/up, row-parallel o/down.

    With sequence parallelism the residual stream between blocks is sharded along the
    sequence (Shard(1)) and the RMSNorms run on their slice; each attention / MLP block
    all-gathers its input and reduce-scatters its output.
    """
    cfg = model.config
    if cfg.num_attention_heads % d.tp or cfg.num_key_value_heads % d.tp:
        raise ValueError(
            f"tp={d.tp} must divide attention heads ({cfg.num_attention_heads}) and kv heads ({cfg.num_key_value_heads})"
        )
    seq = Shard(1) if sequence_parallel else Replicate()
    norm_plan = SequenceParallel() if sequence_parallel else None
    root_plan = {
        "model.embed_tokens": RowwiseParallel(input_layouts=Replicate(), output_layouts=seq),
        "lm_head": ColwiseParallel(input_layouts=seq, output_layouts=Replicate()),
    }
    if norm_plan:
        root_plan["model.norm"] = SequenceParallel()
    parallelize_module(model, d.tp_mesh, root_plan)
    for layer in model.model.layers:
        plan = {
            "self_attn": PrepareModuleInput(
                input_kwarg_layouts={"hidden_states": seq},
                desired_input_kwarg_layouts={"hidden_states": Replicate()},
            ),
            "self_attn.q_proj": ColwiseParallel(),
            "self_attn.k_proj": ColwiseParallel(),
            "self_attn.v_proj": ColwiseParallel(),
            "self_attn.o_proj": RowwiseParallel(output_layouts=seq),
            "mlp": PrepareModuleInput(input_layouts=(seq,), desired_input_layouts=(Replicate(),)),
            "mlp.gate_proj": ColwiseParallel(),
            "mlp.up_proj": ColwiseParallel(),
            "mlp.down_proj": RowwiseParallel(output_layouts=seq),
        }
        if norm_plan:
            plan["input_layernorm"] = SequenceParallel()
            plan["post_attention_layernorm"] = SequenceParallel()
        parallelize_module(layer, d.tp_mesh, plan)


def apply_ac(model: nn.Module, every: int = 1) -> None:
    """Recompute every `every`-th decoder layer in backward (1 = full activation checkpointing)."""
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

    layers = model.model.layers
    for i in range(len(layers)):
        if i % every == 0:
            layers[i] = checkpoint_wrapper(layers[i], preserve_rng_state=False)


def apply_fsdp(model: nn.Module, d: Dist, pc: ParallelConfig) -> None:
    """FSDP2 per decoder layer, embeddings, final norm + head, then the root (the usual grouping)."""
    mp = MixedPrecisionPolicy(param_dtype=DTYPES[pc.param_dtype], reduce_dtype=DTYPES[pc.reduce_dtype])
    kw = {"mesh": d.dp_mesh, "mp_policy": mp}
    fully_shard(model.model.embed_tokens, reshard_after_forward=pc.reshard_after_forward, **kw)
    layers = model.model.layers
    for i, layer in enumerate(layers):
        # the last layer's parameters are needed again right away in backward
        fully_shard(layer, reshard_after_forward=pc.reshard_after_forward and i < len(layers) - 1, **kw)
    fully_shard([model.model.norm, model.lm_head], reshard_after_forward=False, **kw)
    fully_shard(model, reshard_after_forward=False, **kw)
