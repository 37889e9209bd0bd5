"""Tokenizer extension for a new language: train, merge into the base vocabulary, grow the model."""
