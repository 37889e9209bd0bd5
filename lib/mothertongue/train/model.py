"""The model: a Hugging Face causal LM (Llama family) from a local directory, or random init.

Pretrained weights come through `mothertongue.models.load_causal_lm` (safetensors only, no
remote code). The optimizer keeps master weights in `model.master_dtype` (fp32 by default);
FSDP2's mixed-precision policy casts them to bf16 for compute.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from mothertongue.train.config import ModelConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "chat_template.jinja",
)


def tiny_llama_config(mc: ModelConfig):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=mc.vocab_size,
        hidden_size=mc.hidden_size,
        intermediate_size=mc.intermediate_size,
        num_hidden_layers=mc.num_layers,
        num_attention_heads=mc.num_heads,
        num_key_value_heads=mc.num_kv_heads,
        max_position_embeddings=mc.max_position_embeddings,
        rope_theta=mc.rope_theta,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=None,
    )


def build_model(mc: ModelConfig, seed: int) -> nn.Module:
    """Same weights on every rank (same seed / same files), before sharding."""
    dtype = DTYPES[mc.master_dtype]
    if mc.path:
        from mothertongue.models import load_causal_lm

        model = load_causal_lm(mc.path, dtype=dtype)
    else:
        from transformers import AutoModelForCausalLM

        torch.manual_seed(seed)
        config = tiny_llama_config(mc)
        config._attn_implementation = mc.attn_implementation
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.config._attn_implementation = mc.attn_implementation
    model.config.use_cache = False
    untie_embeddings(model)
    return model.train()


def build_model_on_meta(mc: ModelConfig, is_main: bool) -> tuple[nn.Module, dict | None]:
    """Pretrained weights without a full copy per rank: rank 0 reads them, every rank builds
    the architecture on the meta device; `load_full_state_from_rank0` fills the shards after
    parallelizing. CPU memory: one full copy per job instead of one per rank."""
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM

    from mothertongue.train.distributed import broadcast_object

    full_state, config = None, None
    if is_main:
        full = build_model(mc, seed=0)
        full_state, config = full.state_dict(), full.config
        del full
    config = broadcast_object(config)
    assert dist.is_initialized()
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=DTYPES[mc.master_dtype])
    model.config.use_cache = False
    untie_embeddings(model)
    return model.train(), full_state


def load_full_state_from_rank0(model: nn.Module, full_state: dict | None, device: torch.device) -> None:
    """Materialise a meta-built, parallelized model and receive rank 0's weights shard by shard."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    model.to_empty(device=device)
    options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
    set_model_state_dict(model, full_state or {}, options=options)
    # non-persistent buffers (rotary inv_freq) are not in any state dict: recompute them
    for module in model.modules():
        if hasattr(module, "inv_freq") and hasattr(module, "rope_type"):
            fresh = type(module)(config=module.config)
            for name, buf in fresh.named_buffers(recurse=False):
                getattr(module, name).copy_(buf.to(device))


def untie_embeddings(model: nn.Module) -> None:
    """FSDP2 and TP shard the input and output embeddings differently: give lm_head its own copy."""
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if out is not None and out.weight is inp.weight:
        out.weight = nn.Parameter(inp.weight.detach().clone())
        model.config.tie_word_embeddings = False


def save_model_meta(model: nn.Module, mc: ModelConfig, out_dir: Path) -> None:
    """What a single process needs to rebuild the model from a checkpoint: config + tokenizer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(out_dir)
    gen = getattr(model, "generation_config", None)
    if gen is not None and mc.path:
        try:
            gen.save_pretrained(out_dir)
        except Exception:  # noqa: BLE001 - generation config is a nicety, never fatal
            pass
    tok_dir = tokenizer_dir(mc)
    if tok_dir is not None:
        for name in TOKENIZER_FILES:
            if (tok_dir / name).is_file():
                shutil.copy2(tok_dir / name, out_dir / name)


def tokenizer_dir(mc: ModelConfig) -> Path | None:
    source = mc.tokenizer or mc.path
    if source is None:
        return None
    if Path(source).is_dir():
        return Path(source)
    from mothertongue.models import resolve_model_path

    return resolve_model_path(source)


def count_params(model: nn.Module) -> tuple[int, int]:
    """(all parameters, parameters outside the input embedding): the second drives FLOPs."""
    total = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings().weight.numel()
    return total, total - emb


def flops_per_token(model_config, n_params_no_emb: int, seq_length: int) -> float:
    """Training FLOPs per token: 6N plus attention (torchtitan's / PaLM's formula)."""
    layers, heads = model_config.num_hidden_layers, model_config.num_attention_heads
    head_dim = model_config.hidden_size // heads
    return 6 * n_params_no_emb + 12 * layers * heads * head_dim * seq_length
