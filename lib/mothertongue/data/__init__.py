"""Tokenized training data: Megatron mmap indexed datasets, splits and blends.

`preprocess` (tokenize shards -> `<name>_<split>.{bin,idx}` + `blend.json`), `blend`
(the pretraining job's reader: `read_blend`, `build_gpt_datasets`) and `inspect`
(`mothertongue inspect-data PREFIX`).
"""
