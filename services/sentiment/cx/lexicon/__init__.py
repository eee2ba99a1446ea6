"""Data package: the CX lexicon files (``*.yaml``), loaded by ``services.sentiment.cx.lexicon``.

A package (not a bare directory) so the YAML files ship as package data.
"""
