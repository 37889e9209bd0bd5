"""Exact + character n-gram MinHash/LSH dedup on CPU; NeMo Curator's GPU workflows on GPU nodes."""

from mothertongue.curate.dedup.minhash import DedupSignatures, DuplicateResolver, char_shingles, jaccard

__all__ = ["DedupSignatures", "DuplicateResolver", "char_shingles", "jaccard"]
