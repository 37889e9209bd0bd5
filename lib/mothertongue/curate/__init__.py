"""Curation: raw sources -> clean, deduplicated, de-identified text with a report that reconciles.

Steps are NeMo Curator `ProcessingStage`s over `DocumentBatch` (see `base.py` for the contract),
grouped by kind: readers/, cleaners/, filters/, langid/, pii/, dedup/.  `pipeline.py` wires them
per dataset and runs them on an executor; `report.py` turns the rows into the equation
read = kept + removed per step + quarantined.
"""
