"""Model I/O shared by every job: GGUF conversion and the one safe loader."""

from mothertongue.models.gguf import gguf_to_hf, gguf_vocab
from mothertongue.models.loading import load_causal_lm, load_tokenizer, resolve_model_path

__all__ = ["gguf_to_hf", "gguf_vocab", "load_causal_lm", "load_tokenizer", "resolve_model_path"]
