"""Evaluation data for ``services.ingest.pii``: a generator, the generated sets, their scoring."""
